//! `cargo bench --bench workflows`: the workflow engine on a real sled store
//! in a temp dir, with the engine's group commit running (`start_log_only`),
//! so every run and step transition is written and its event logged as in
//! the product.
//!
//! - `noop_steps_*`: no-op steps per second through the scheduler (a step
//!   executor whose attempts return at once): one run of 100 chained steps,
//!   one run of 100 independent steps (concurrency 32), 100 runs of 1 step.
//! - `recover_1000_runs`: marking 1,000 in-flight runs (3 steps each, left
//!   by a first engine that was dropped mid-run) interrupted at start, until
//!   the events that announce it are on disk.
//! - RSS (printed after the timings, not a divan bench): resident memory of a
//!   fresh process once it has opened a store, built the engine and the
//!   workflow service and taken its snapshot, with 10,000 stored runs against
//!   none. `cargo bench --bench workflows -- rss` prints only that.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use divan::Bencher;
use divan::counter::ItemsCount;
use opsdeck::clock::SystemClock;
use opsdeck::engine::store::Store;
use opsdeck::engine::workflows::definition::{Uses, Workflow, parse};
use opsdeck::engine::workflows::exec::{Attempt, StepExecutor};
use opsdeck::engine::workflows::render::Secrets;
use opsdeck::engine::workflows::service::WorkflowService;
use opsdeck::engine::{Engine, EngineConfig};
use opsdeck::protocol::Event;
use opsdeck::protocol::workflow::{RunId, Trigger};
use serde_json::{Map, Value};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

/// The product's default sled cache (`storage.cache_mb = 8`).
const CACHE_BYTES: u64 = 8 << 20;

fn main() {
    if let Ok(dir) = std::env::var("OPSDECK_BENCH_RSS_CHILD") {
        rss_child(Path::new(&dir));
        return;
    }
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let only_rss = filters.iter().any(|f| f == "rss");
    if !only_rss {
        divan::main();
    }
    if filters.is_empty() || only_rss {
        rss_report();
    }
}

/// `noop` returns at once; `hang` never ends (an in-flight step).
struct Exec;

impl StepExecutor for Exec {
    fn start(&self, uses: &Uses, _args: Value, _out: mpsc::Sender<String>) -> Attempt {
        match uses {
            Uses::Tool(t) if t == "hang" => Box::pin(std::future::pending()),
            _ => Box::pin(std::future::ready(Ok(Value::Null))),
        }
    }

    fn mutating(&self, _uses: &Uses, _args: &Value) -> bool {
        false
    }
}

struct NoSecrets;

impl Secrets for NoSecrets {
    fn get(&self, name: &str) -> Result<String, String> {
        Err(format!("secret {name:?} is not set"))
    }
}

/// A workflow of `n` steps using `tool`, each needing the one before it
/// when `chain`, at most `concurrency` at once.
fn workflow(name: &str, n: usize, chain: bool, concurrency: usize, tool: &str) -> Workflow {
    let mut src = format!("name = \"{name}\"\nconcurrency = {concurrency}\n");
    for i in 0..n {
        src.push_str(&format!("[[step]]\nid = \"s{i}\"\nuses = \"{tool}\"\n"));
        if chain && i > 0 {
            src.push_str(&format!("needs = [\"s{}\"]\n", i - 1));
        }
    }
    parse(&format!("{name}.toml"), &src).unwrap_or_else(|e| panic!("{name}: {}", e[0]))
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
}

/// An engine on a sled store in `dir` with its group commit running, and its
/// workflow service (recovered, as at start-up).
fn engine_on(rt: &Runtime, dir: &Path, defs: Vec<Workflow>) -> (Engine, Arc<WorkflowService>) {
    let store = Store::open(dir, CACHE_BYTES).expect("store");
    let engine = Engine::new(store, EngineConfig::default(), Arc::new(SystemClock)).expect("engine");
    let svc = rt.block_on(async {
        engine.start_log_only();
        let svc = WorkflowService::new(engine.clone(), None, Arc::new(Exec), Arc::new(NoSecrets)).expect("service");
        svc.set_definitions(defs);
        engine.start_workflows(svc);
        engine.workflows().expect("service")
    });
    (engine, svc)
}

/// Start `runs` runs of `name` and wait until every one has ended.
async fn run_all(engine: &Engine, svc: &WorkflowService, name: &str, runs: usize) {
    let def = svc.definition(name).expect("definition");
    let mut bus = engine.subscribe();
    let mut ids: Vec<RunId> = Vec::with_capacity(runs);
    for _ in 0..runs {
        let id = svc.start(def.clone(), Map::new(), Trigger::Manual { by: "bench".into() }).expect("start");
        ids.push(id);
    }
    let ids: HashSet<RunId> = ids.into_iter().collect();
    let mut ended: HashSet<RunId> = HashSet::with_capacity(runs);
    while ended.len() < runs {
        match bus.recv().await {
            Ok(env) => {
                if let Event::RunChanged(r) = &env.event
                    && r.state.is_final()
                    && ids.contains(&r.id)
                {
                    ended.insert(r.id);
                }
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                // Missed some events: ask the store.
                let store = engine.store();
                ended.extend(
                    ids.iter()
                        .filter(|&&id| store.latest_attempt(id).ok().flatten().is_some_and(|r| r.state.is_final())),
                );
            }
            Err(e) => panic!("bus: {e}"),
        }
    }
}

/// Steps per iteration of the throughput benches.
const STEPS: usize = 100;

fn noop_steps(b: Bencher, def: Workflow, runs: usize) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let name = def.name.clone();
    let (engine, svc) = engine_on(&rt, dir.path(), vec![def]);
    // Warm up (the first run's trees, pages, the flusher's thread).
    rt.block_on(run_all(&engine, &svc, &name, runs));
    b.counter(ItemsCount::new(STEPS)).bench_local(|| rt.block_on(run_all(&engine, &svc, &name, runs)));
    engine.shutdown();
}

/// One run of 100 steps, each needing the one before.
#[divan::bench(sample_count = 30, sample_size = 1)]
fn noop_steps_chain_of_100(b: Bencher) {
    noop_steps(b, workflow("chain", STEPS, true, 32, "noop"), 1);
}

/// One run of 100 independent steps, 32 at once.
#[divan::bench(sample_count = 30, sample_size = 1)]
fn noop_steps_100_parallel(b: Bencher) {
    noop_steps(b, workflow("wide", STEPS, false, 32, "noop"), 1);
}

/// 100 runs of one step each, started together.
#[divan::bench(sample_count = 30, sample_size = 1)]
fn noop_steps_100_runs_of_1(b: Bencher) {
    noop_steps(b, workflow("one", 1, false, 32, "noop"), STEPS);
}

/// Runs in flight when the first engine goes.
const IN_FLIGHT: usize = 1000;

/// A data dir holding `IN_FLIGHT` active runs of 3 chained steps (the
/// engine-wide limit of 32 lets 32 first steps run, the rest wait for a
/// slot), as a kill leaves them: the first engine is dropped mid-run.
fn crashed_store(dir: &Path) {
    let rt = runtime();
    let (engine, svc) = engine_on(&rt, dir, vec![workflow("deploy", 3, true, 1, "hang")]);
    let def = svc.definition("deploy").expect("definition");
    rt.block_on(async {
        for _ in 0..IN_FLIGHT {
            svc.start(def.clone(), Map::new(), Trigger::Manual { by: "bench".into() }).expect("start");
        }
        // Let every run's task reach its first step.
        tokio::time::sleep(Duration::from_millis(500)).await;
    });
    assert_eq!(svc.active(), IN_FLIGHT);
    drop(svc);
    engine.shutdown(); // tasks dropped mid-step, as by a kill; what was written is flushed
    drop(engine);
    drop(rt);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let dest = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).expect("copy");
        }
    }
}

/// `WorkflowService::recover` over 1,000 in-flight runs of 3 steps, until the
/// events announcing it are durable (the group commit wrote them).
#[divan::bench(sample_count = 10, sample_size = 1)]
fn recover_1000_runs(b: Bencher) {
    let template = tempfile::tempdir().expect("tempdir");
    crashed_store(template.path());
    let rt = runtime();
    b.counter(ItemsCount::new(IN_FLIGHT))
        .with_inputs(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            copy_dir(template.path(), dir.path());
            let store = Store::open(dir.path(), CACHE_BYTES).expect("store");
            let engine = Engine::new(store, EngineConfig::default(), Arc::new(SystemClock)).expect("engine");
            let svc = rt.block_on(async {
                engine.start_log_only();
                WorkflowService::new(engine.clone(), None, Arc::new(Exec), Arc::new(NoSecrets)).expect("service")
            });
            Recovering { engine, svc, _dir: dir }
        })
        .bench_local_values(|r| {
            let Recovering { engine, svc, .. } = &r;
            let n = svc.recover().expect("recover");
            assert_eq!(n, IN_FLIGHT);
            let head = engine.head_seq();
            rt.block_on(async {
                let mut durable = engine.durable();
                durable.wait_for(|&d| d >= head).await.expect("durable");
            });
            r
        });
}

/// One iteration's engine: shut down (its tasks stopped, the store
/// released) when divan drops it, outside the timing.
struct Recovering {
    engine: Engine,
    svc: WorkflowService,
    _dir: tempfile::TempDir,
}

impl Drop for Recovering {
    fn drop(&mut self) {
        self.engine.shutdown();
    }
}

/// Stored runs for the RSS figure.
const STORED: usize = 10_000;

/// Resident memory of fresh processes that open a store, build the engine
/// and the workflow service and take its snapshot: with `STORED` runs of 3
/// steps (written by real runs) against an empty store.
fn rss_report() {
    let empty = tempfile::tempdir().expect("tempdir");
    let full = tempfile::tempdir().expect("tempdir");
    {
        let rt = runtime();
        let (engine, svc) = engine_on(&rt, full.path(), vec![workflow("three", 3, true, 32, "noop")]);
        for _ in 0..STORED / 500 {
            rt.block_on(run_all(&engine, &svc, "three", 500));
        }
        assert_eq!(engine.store().run_count(), STORED);
        drop(svc);
        engine.shutdown();
    }
    let on_disk = |p: &Path| -> u64 {
        fn walk(p: &Path) -> u64 {
            std::fs::read_dir(p)
                .map(|d| {
                    d.flatten()
                        .map(|e| if e.path().is_dir() { walk(&e.path()) } else { e.metadata().map_or(0, |m| m.len()) })
                        .sum()
                })
                .unwrap_or(0)
        }
        walk(p)
    };
    let measure = |dir: &Path| -> (u64, u64, usize) {
        let out = std::process::Command::new(std::env::current_exe().expect("exe"))
            .env("OPSDECK_BENCH_RSS_CHILD", dir)
            .output()
            .expect("child");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut f = text.split_whitespace().map(|w| w.parse::<u64>().expect("figure"));
        (f.next().expect("before"), f.next().expect("after"), f.next().expect("runs") as usize)
    };
    let newest = opsdeck::engine::workflows::service::SNAPSHOT_RUNS;
    println!("\nRSS (fresh process: store + engine + workflow service + snapshot of the {newest} newest runs)");
    let mut rows = Vec::new();
    for (label, dir) in [("no runs", empty.path()), ("10,000 runs", full.path())] {
        let (before, after, in_snapshot) = measure(dir);
        println!(
            "  {label:>12}: {:>6} KiB before, {:>6} KiB after ({} runs in the snapshot; {} KiB on disk)",
            before,
            after,
            in_snapshot,
            on_disk(dir) / 1024
        );
        rows.push(after);
    }
    println!("  10,000 runs − no runs: {} KiB", rows[1] as i64 - rows[0] as i64);
}

/// VmRSS of this process in KiB.
fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// In a fresh process: RSS before and after building the service and its
/// snapshot on `dir`, and the runs the snapshot holds.
fn rss_child(dir: &Path) {
    let rt = runtime();
    let before = vm_rss_kib();
    let (engine, svc) = engine_on(&rt, dir, vec![workflow("three", 3, true, 32, "noop")]);
    let snap = svc.snapshot();
    let after = vm_rss_kib();
    println!("{before} {after} {}", snap.runs.len());
    drop(snap);
    drop(svc);
    engine.shutdown();
}
