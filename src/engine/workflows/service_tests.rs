//! The scheduler under tokio's paused clock: DAG order, limits, conditions
//! and skips, retries and timeouts. Steps are carried out by a scripted
//! executor; the world it runs in (and the fixtures) are shared with
//! service_control_tests.rs (approvals, cancel, reruns, inputs) and
//! service_records_tests.rs (secrets, logs, crash recovery, alerts, read-only).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::clock::TokioClock;
use crate::engine::store::Store;
use crate::engine::workflows::definition::{Uses, Workflow, parse};
use crate::engine::workflows::exec::{Attempt, Failure, StepExecutor};
use crate::engine::workflows::render::Secrets;
use crate::engine::workflows::service::WorkflowService;
use crate::engine::{Engine, EngineConfig};
use crate::protocol::workflow::{Run, RunDetail, RunId, RunState, WorkflowsCommand};
use crate::protocol::{Command, Event};

/// Tools: `ok` (returns its args), `fail` (fails with `msg`, `fatal` if
/// asked), `flaky` (fails `times` times per `key`, then succeeds), `sleep`
/// (`ms` of tokio time), `echo` (prints `lines` lines). `m_*` tools and
/// shell mutate. Counts every start per step key (`key` or the tool's name).
#[derive(Default)]
pub(crate) struct Script {
    pub starts: Mutex<HashMap<String, usize>>,
    pub(super) now: AtomicUsize,
    peak: AtomicUsize,
}

pub(super) struct Exec(pub(super) Arc<Script>);

/// Counts an attempt running until it ends or is dropped.
struct Running(Arc<Script>);
impl Drop for Running {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::SeqCst);
    }
}

impl StepExecutor for Exec {
    fn start(&self, uses: &Uses, args: Value, out: mpsc::Sender<String>) -> Attempt {
        let script = self.0.clone();
        let tool = match uses {
            Uses::Tool(t) => t.trim_start_matches("m_").to_string(),
            other => format!("{other:?}"),
        };
        let key = args.get("key").and_then(Value::as_str).unwrap_or(&tool).to_string();
        let n = {
            let mut s = script.starts.lock().unwrap();
            let c = s.entry(key).or_default();
            *c += 1;
            *c
        };
        Box::pin(async move {
            let now = script.now.fetch_add(1, Ordering::SeqCst) + 1;
            script.peak.fetch_max(now, Ordering::SeqCst);
            let _running = Running(script.clone());
            match tool.as_str() {
                "ok" => Ok(json!({ "args": args })),
                "fail" => {
                    let msg = args["msg"].as_str().unwrap_or("boom").to_string();
                    if args["fatal"].as_bool() == Some(true) {
                        Err(Failure::fatal(msg))
                    } else {
                        Err(Failure::new(msg))
                    }
                }
                "flaky" if n as u64 <= args["times"].as_u64().unwrap_or(0) => Err(Failure::new(format!("flake {n}"))),
                "flaky" => Ok(json!({ "attempts": n })),
                "sleep" => {
                    tokio::time::sleep(Duration::from_millis(args["ms"].as_u64().unwrap_or(0))).await;
                    Ok(json!({}))
                }
                "echo" => {
                    for i in 0..args["lines"].as_u64().unwrap_or(0) {
                        let text = args["text"].as_str().unwrap_or("line");
                        let _ = out.send(format!("{text} {i}")).await;
                    }
                    Ok(json!({}))
                }
                other => Err(Failure::fatal(format!("no tool {other}"))),
            }
        })
    }

    fn mutating(&self, uses: &Uses, _args: &Value) -> bool {
        matches!(uses, Uses::Shell) || matches!(uses, Uses::Tool(t) if t.starts_with("m_"))
    }
}

pub(super) struct Keys;
impl Secrets for Keys {
    fn get(&self, name: &str) -> Result<String, String> {
        (name == "db").then(|| "hunter2-secret".to_string()).ok_or_else(|| format!("secret {name:?} is not set"))
    }
}

pub(crate) struct World {
    pub engine: Engine,
    pub svc: Arc<WorkflowService>,
    pub script: Arc<Script>,
}

fn half() -> f64 {
    0.5
}

pub(crate) fn world_on(store: Store, defs: &[&str]) -> World {
    world_at(store, defs, 1_000_000)
}

/// A world whose clock starts at `base` (Unix ms) and follows tokio's.
pub(crate) fn world_at(store: Store, defs: &[&str], base: crate::protocol::Ts) -> World {
    let clock = Arc::new(TokioClock::at(base));
    let engine = Engine::new(store, EngineConfig::default(), clock).unwrap();
    let script = Arc::new(Script::default());
    let svc = WorkflowService::new(engine.clone(), None, Arc::new(Exec(script.clone())), Arc::new(Keys))
        .unwrap()
        .with_random(half);
    svc.set_definitions(defs.iter().map(|d| wf(d)).collect());
    engine.start_workflows(svc);
    let svc = engine.workflows().unwrap();
    World { engine, svc, script }
}

pub(crate) fn world(defs: &[&str]) -> World {
    world_on(Store::temporary().unwrap(), defs)
}

pub(crate) fn wf(src: &str) -> Workflow {
    parse("test.toml", src)
        .unwrap_or_else(|e| panic!("{}", e.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")))
}

impl World {
    pub fn cmd(&self, c: WorkflowsCommand) -> Result<Value, String> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let id = format!("t{}", N.fetch_add(1, Ordering::SeqCst));
        self.engine.handle(&id, Command::Workflows(c)).map_err(|e| e.to_string())
    }

    pub fn start(&self, name: &str, inputs: Value) -> RunId {
        let inputs = inputs.as_object().cloned().unwrap_or_default();
        let v = self.cmd(WorkflowsCommand::StartRun { workflow: name.into(), inputs, by: "ops".into() }).unwrap();
        v["run"].as_u64().unwrap()
    }

    pub fn show(&self, run: RunId) -> RunDetail {
        self.svc.detail(run, None).unwrap()
    }

    pub fn step(&self, run: RunId, id: &str) -> crate::protocol::workflow::StepRun {
        self.show(run).steps.into_iter().find(|s| s.id == id).unwrap()
    }

    pub fn starts(&self, key: &str) -> usize {
        self.script.starts.lock().unwrap().get(key).copied().unwrap_or(0)
    }

    /// Wait (on tokio's paused clock) until the run's latest attempt is in `states`.
    pub async fn until(&self, run: RunId, states: &[RunState]) -> Run {
        for _ in 0..100_000 {
            let r = self.show(run).run;
            if states.contains(&r.state) {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("run #{run} never reached {states:?}: {:?}", self.show(run));
    }

    pub async fn ended(&self, run: RunId) -> Run {
        self.until(run, &[RunState::Succeeded, RunState::Failed, RunState::Cancelled]).await
    }
}

#[tokio::test(start_paused = true)]
async fn steps_run_in_dag_order_within_the_concurrency_limit() {
    let w = world(&[r#"
name = "fan"
concurrency = 2
[[step]]
id = "a"
uses = "ok"
[[step]]
id = "b"
uses = "sleep"
with = { ms = 1000, key = "b" }
needs = ["a"]
[[step]]
id = "c"
uses = "sleep"
with = { ms = 1000, key = "c" }
needs = ["a"]
[[step]]
id = "d"
uses = "sleep"
with = { ms = 1000, key = "d" }
needs = ["a"]
[[step]]
id = "e"
uses = "ok"
needs = ["b", "c", "d"]
"#]);
    let run = w.start("fan", json!({}));
    let r = w.ended(run).await;
    assert_eq!(r.state, RunState::Succeeded, "{:?}", w.show(run));
    assert_eq!(w.script.peak.load(Ordering::SeqCst), 2, "never more than concurrency = 2 at once");
    let d = w.show(run);
    let get = |id: &str| d.steps.iter().find(|s| s.id == id).unwrap().clone();
    let (a, e) = (get("a"), get("e"));
    for mid in ["b", "c", "d"] {
        let m = get(mid);
        assert!(m.started >= a.ended, "{mid} starts after a ends");
        assert!(e.started >= m.ended, "e starts after {mid} ends");
        assert_eq!(m.duration_ms(0), Some(1000));
    }
    assert_eq!(r.duration_ms(0), Some(2000), "two waves of 1 s under the limit of 2");
}

#[tokio::test(start_paused = true)]
async fn a_failed_step_skips_its_dependants_unless_their_condition_reads_its_state() {
    let w = world(&[r#"
name = "skips"
[[step]]
id = "a"
uses = "fail"
with = { msg = "disk full" }
[[step]]
id = "b"
uses = "ok"
needs = ["a"]
[[step]]
id = "cleanup"
uses = "ok"
needs = ["a"]
if = "{{ steps.a.state == 'failed' }}"
[[step]]
id = "never"
uses = "ok"
if = "1 == 2"
[[step]]
id = "after_never"
uses = "ok"
needs = ["never"]
[[step]]
id = "free"
uses = "ok"
"#]);
    let run = w.start("skips", json!({}));
    let r = w.ended(run).await;
    assert_eq!(r.state, RunState::Failed);
    assert_eq!(r.error.as_deref(), Some("failed: a"));
    let state = |id: &str| w.step(run, id).state;
    assert_eq!(state("a"), RunState::Failed);
    assert_eq!(w.step(run, "a").error.as_deref(), Some("disk full"));
    assert_eq!(state("b"), RunState::Skipped);
    assert!(w.step(run, "b").error.unwrap().contains("needs a, which did not succeed"));
    assert_eq!(state("cleanup"), RunState::Succeeded, "its condition reads a's state");
    assert_eq!(state("never"), RunState::Skipped);
    assert_eq!(state("after_never"), RunState::Skipped, "a skipped step's dependants are skipped");
    assert_eq!(state("free"), RunState::Succeeded, "an independent branch goes on");
}

#[tokio::test(start_paused = true)]
async fn retries_wait_the_backoff_and_stop_at_non_retryable_errors() {
    let w = world(&[r#"
name = "retry"
[[step]]
id = "flaky"
uses = "flaky"
with = { times = 2 }
retry = { max_attempts = 3, initial_interval = "1s", backoff_coefficient = 2.0, max_interval = "10s", jitter = 0.5 }
[[step]]
id = "gone"
uses = "fail"
with = { msg = "404 Not Found", key = "gone" }
retry = { max_attempts = 5, non_retryable = ["404"] }
[[step]]
id = "out"
uses = "fail"
with = { msg = "500", key = "out" }
retry = { max_attempts = 2, initial_interval = "1s" }
"#]);
    let mut sub = w.engine.subscribe();
    let run = w.start("retry", json!({}));
    w.ended(run).await;
    let f = w.step(run, "flaky");
    assert_eq!((f.state, f.attempt), (RunState::Succeeded, 3));
    // random = 0.5, jitter 0.5: each wait is 75 % of 1 s, then of 2 s.
    assert_eq!(f.duration_ms(0), Some(750 + 1500));
    let mut retrying = Vec::new();
    while let Ok(env) = sub.try_recv() {
        if let Event::StepChanged { step, .. } = &env.event
            && step.id == "flaky"
            && step.state == RunState::Retrying
        {
            retrying.push((step.attempt, step.next_attempt_at.unwrap() - env.ts));
        }
    }
    assert_eq!(retrying, [(1, 750), (2, 1500)], "attempt and next-attempt time are announced");
    let g = w.step(run, "gone");
    assert_eq!((g.state, g.attempt), (RunState::Failed, 1), "404 is not retried");
    assert_eq!(w.starts("gone"), 1);
    let o = w.step(run, "out");
    assert_eq!((o.state, o.attempt), (RunState::Failed, 2));
    assert_eq!(o.error.as_deref(), Some("500 (attempt 2)"));
}

#[tokio::test(start_paused = true)]
async fn a_step_that_runs_too_long_times_out() {
    let w = world(&[r#"
name = "slow"
[[step]]
id = "s"
uses = "sleep"
with = { ms = 60000 }
timeout = "2s"
"#]);
    let run = w.start("slow", json!({}));
    let r = w.ended(run).await;
    assert_eq!(r.state, RunState::Failed);
    let s = w.step(run, "s");
    assert_eq!(s.error.as_deref(), Some("timed out after 2s"));
    assert_eq!(s.duration_ms(0), Some(2000));
}

/// Three chained steps; `b` fails with the `what` input's text.
pub(super) const TWO: &str = r#"
name = "two"
[inputs.what]
type = "string"
default = "boom"
[[step]]
id = "a"
uses = "ok"
[[step]]
id = "b"
uses = "fail"
with = { msg = "{{ inputs.what }}", key = "b" }
needs = ["a"]
[[step]]
id = "c"
uses = "ok"
with = { key = "c" }
needs = ["b"]
"#;

/// Two stores over one in-memory database (a restart on the same data).
pub(crate) fn store_share(store: &Arc<Store>) -> Store {
    store.reopen().unwrap()
}
