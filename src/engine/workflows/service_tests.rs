//! The scheduler under tokio's paused clock: DAG order, limits, conditions
//! and skips, retries, timeouts, approvals, cancel, crash recovery, reruns,
//! secrets and the log cap. Steps are carried out by a scripted executor.

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
use crate::protocol::workflow::{RerunFrom, Run, RunDetail, RunId, RunState, Trigger, WorkflowsCommand};
use crate::protocol::{Command, Event};

/// Tools: `ok` (returns its args), `fail` (fails with `msg`, `fatal` if
/// asked), `flaky` (fails `times` times per `key`, then succeeds), `sleep`
/// (`ms` of tokio time), `echo` (prints `lines` lines). `m_*` tools and
/// shell mutate. Counts every start per step key (`key` or the tool's name).
#[derive(Default)]
pub(crate) struct Script {
    pub starts: Mutex<HashMap<String, usize>>,
    now: AtomicUsize,
    peak: AtomicUsize,
}

struct Exec(Arc<Script>);

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

struct Keys;
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

const GATED: &str = r#"
name = "gated"
[inputs.host]
type = "string"
default = "db1"
[[step]]
id = "ok"
uses = "approve"
message = "Restart {{ inputs.host }}?"
[[step]]
id = "restart"
uses = "m_ok"
needs = ["ok"]
"#;

#[tokio::test(start_paused = true)]
async fn an_approve_step_waits_for_a_person_and_records_who() {
    let w = world(&[GATED]);
    let run = w.start("gated", json!({}));
    let r = w.until(run, &[RunState::Waiting]).await;
    assert_eq!(r.state, RunState::Waiting);
    let ok = w.step(run, "ok");
    assert_eq!(ok.args, Some(json!({"message": "Restart db1?"})));
    let e = w.cmd(WorkflowsCommand::Approve { run, step: "restart".into(), by: "x".into(), note: String::new() });
    assert!(e.unwrap_err().contains("queued, not waiting"));
    w.cmd(WorkflowsCommand::Approve { run, step: "ok".into(), by: "alice".into(), note: "go".into() }).unwrap();
    assert_eq!(w.ended(run).await.state, RunState::Succeeded);
    let d = w.step(run, "ok").decision.unwrap();
    assert_eq!((d.approved, d.by.as_str(), d.note.as_str()), (true, "alice", "go"));
    assert_eq!(w.starts("ok"), 1, "restart ran once");

    let run = w.start("gated", json!({"host": "db2"}));
    w.until(run, &[RunState::Waiting]).await;
    w.cmd(WorkflowsCommand::Reject { run, step: "ok".into(), by: "bob".into(), note: String::new() }).unwrap();
    assert_eq!(w.ended(run).await.state, RunState::Failed);
    assert_eq!(w.step(run, "ok").error.as_deref(), Some("rejected by bob"));
    assert_eq!(w.step(run, "restart").state, RunState::Skipped);
}

#[tokio::test(start_paused = true)]
async fn a_mutating_step_of_an_automatic_run_needs_an_approval_unless_unattended() {
    let w = world(&[
        r#"
name = "auto"
[[step]]
id = "fix"
uses = "m_ok"
[[step]]
id = "look"
uses = "ok"
"#,
        r#"
name = "trusted"
unattended = true
[[step]]
id = "fix"
uses = "m_ok"
with = { key = "trusted" }
"#,
    ]);
    let def = |n: &str| w.svc.definition(n).unwrap();
    let run = w.svc.start(def("auto"), Default::default(), Trigger::Schedule { fire_at: 0 }).unwrap();
    w.until(run, &[RunState::Waiting]).await;
    assert_eq!(w.step(run, "look").state, RunState::Succeeded, "a read-only step runs");
    assert_eq!(w.step(run, "fix").state, RunState::Waiting);
    assert_eq!(w.starts("ok"), 1, "fix has not run");
    w.cmd(WorkflowsCommand::Approve { run, step: "fix".into(), by: "carol".into(), note: String::new() }).unwrap();
    assert_eq!(w.ended(run).await.state, RunState::Succeeded);
    assert_eq!(w.starts("ok"), 2);
    let run = w.svc.start(def("trusted"), Default::default(), Trigger::Alert { rule: "disk".into() }).unwrap();
    assert_eq!(w.ended(run).await.state, RunState::Succeeded, "unattended: no approval");
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_running_steps_at_once() {
    let w = world(&[r#"
name = "long"
[[step]]
id = "s"
uses = "sleep"
with = { ms = 600000 }
[[step]]
id = "after"
uses = "ok"
needs = ["s"]
"#]);
    let run = w.start("long", json!({}));
    w.until(run, &[RunState::Running]).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    w.cmd(WorkflowsCommand::CancelRun { run }).unwrap();
    let r = w.ended(run).await;
    assert_eq!(r.state, RunState::Cancelled);
    assert!(r.duration_ms(0).unwrap() < 6000, "{r:?}");
    assert_eq!(w.step(run, "s").state, RunState::Cancelled);
    assert_eq!(w.step(run, "after").state, RunState::Cancelled);
    assert_eq!(w.script.now.load(Ordering::SeqCst), 0, "the attempt was dropped");
    let e = w.cmd(WorkflowsCommand::CancelRun { run }).unwrap_err();
    assert!(e.contains("is cancelled: there is nothing to cancel"), "{e}");
}

const TWO: &str = r#"
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

#[tokio::test(start_paused = true)]
async fn a_rerun_of_the_failed_steps_reuses_the_others_and_keeps_the_attempts() {
    let w = world(&[TWO]);
    let run = w.start("two", json!({}));
    assert_eq!(w.ended(run).await.state, RunState::Failed);
    assert_eq!(w.step(run, "c").state, RunState::Skipped);
    let e = w.cmd(WorkflowsCommand::RerunRun { run, from: RerunFrom::Failed, current: false, inputs: None });
    assert_eq!(e.unwrap()["attempt"], 2);
    assert_eq!(w.ended(run).await.state, RunState::Failed, "still failing with the same input");
    assert_eq!(w.starts("ok"), 1, "a was reused, not run again");
    assert!(w.step(run, "a").reused);
    assert_eq!(w.starts("b"), 2);
    // Every attempt stays.
    let attempts = w.engine.store().attempts(run).unwrap();
    assert_eq!(attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(), [1, 2]);
    let e =
        w.cmd(WorkflowsCommand::RerunRun { run, from: RerunFrom::Step("nope".into()), current: false, inputs: None });
    assert!(e.unwrap_err().contains("has no step \"nope\""));
    let e = w.cmd(WorkflowsCommand::RerunRun {
        run,
        from: RerunFrom::All,
        current: false,
        inputs: Some(json!({"bad": 1}).as_object().cloned().unwrap()),
    });
    assert!(e.unwrap_err().contains("has no input \"bad\""));
}

#[tokio::test(start_paused = true)]
async fn inputs_are_typed_defaulted_and_refused_by_name() {
    let w = world(&[r#"
name = "typed"
[inputs.port]
type = "integer"
required = true
[inputs.dry]
type = "boolean"
default = true
[inputs.mode]
type = "enum"
values = ["soft", "hard"]
default = "soft"
[[step]]
id = "a"
uses = "ok"
with = { port = "{{ inputs.port }}", dry = "{{ inputs.dry }}", run = "{{ run.workflow }}#{{ run.id }}.{{ run.attempt }}" }
"#]);
    let start = |inputs: Value| {
        w.cmd(WorkflowsCommand::StartRun {
            workflow: "typed".into(),
            inputs: inputs.as_object().cloned().unwrap(),
            by: String::new(),
        })
    };
    assert!(start(json!({})).unwrap_err().contains("input port is required"));
    assert!(start(json!({"port": "x"})).unwrap_err().contains("input port: \"x\" is not an integer"));
    assert!(start(json!({"port": 1, "mode": "medium"})).unwrap_err().contains("is not one of soft, hard"));
    let e =
        w.cmd(WorkflowsCommand::StartRun { workflow: "nope".into(), inputs: Default::default(), by: String::new() });
    assert!(e.unwrap_err().contains("no workflow named \"nope\" (there are: typed)"));
    let run = start(json!({"port": "5432"})).unwrap()["run"].as_u64().unwrap();
    w.ended(run).await;
    let r = w.show(run).run;
    assert_eq!(serde_json::Value::Object(r.inputs), json!({"port": 5432, "dry": true, "mode": "soft"}));
    assert_eq!(w.step(run, "a").args, Some(json!({"port": 5432, "dry": true, "run": format!("typed#{run}.1")})));
}

#[tokio::test(start_paused = true)]
async fn a_replayed_start_command_answers_the_first_run() {
    let w = world(&[TWO]);
    let c = || {
        Command::Workflows(WorkflowsCommand::StartRun {
            workflow: "two".into(),
            inputs: Default::default(),
            by: String::new(),
        })
    };
    let first = w.engine.handle("same-id", c()).unwrap();
    let again = w.engine.handle("same-id", c()).unwrap();
    assert_eq!(first, again);
    assert_eq!(w.engine.store().list_runs(None, 10, |_| true).unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn secret_values_are_masked_in_records_events_and_logs() {
    let w = world(&[r#"
name = "sec"
[[step]]
id = "a"
uses = "echo"
with = { lines = 2, text = "password={{ secret('db') }}" }
[[step]]
id = "b"
uses = "ok"
with = { dsn = "postgres://u:{{ secret('db') }}@h" }
"#]);
    let mut sub = w.engine.subscribe();
    let run = w.start("sec", json!({}));
    assert_eq!(w.ended(run).await.state, RunState::Succeeded);
    w.engine.write_pending().unwrap();
    let mut seen = String::new();
    while let Ok(env) = sub.try_recv() {
        seen.push_str(&serde_json::to_string(&*env).unwrap());
    }
    assert!(seen.contains("password=•••• 1"), "{seen}");
    assert!(!seen.contains("hunter2"), "no event carries the value");
    let d = serde_json::to_string(&w.show(run)).unwrap();
    assert!(d.contains("postgres://u:••••@h") && !d.contains("hunter2"), "{d}");
    let log = w.cmd(WorkflowsCommand::StepLog { run, attempt: None, step: "a".into() }).unwrap();
    assert_eq!(log["lines"], json!(["password=•••• 0", "password=•••• 1"]));
}

#[tokio::test(start_paused = true)]
async fn a_reused_steps_log_is_the_one_it_printed_in_the_attempt_that_ran_it() {
    let w = world(&[r#"
name = "twice"
[[step]]
id = "a"
uses = "echo"
with = { lines = 2, text = "hello" }
[[step]]
id = "b"
uses = "fail"
needs = ["a"]
"#]);
    let run = w.start("twice", json!({}));
    assert_eq!(w.ended(run).await.state, RunState::Failed);
    for attempt in [2, 3] {
        w.cmd(WorkflowsCommand::RerunRun { run, from: RerunFrom::Failed, current: false, inputs: None }).unwrap();
        w.until(run, &[RunState::Queued, RunState::Running]).await;
        let r = w.ended(run).await;
        assert_eq!((r.attempt, r.state), (attempt, RunState::Failed));
    }
    assert!(w.step(run, "a").reused, "a is reused in attempt 3");
    assert_eq!(w.step(run, "a").reused_from, Some(1), "attempt 1 ran it, not attempt 2 that reused it");
    assert_eq!(w.step(run, "b").reused_from, None, "b ran again");
    // The run started when its first attempt did; each attempt keeps its own start.
    let attempts = w.engine.store().attempts(run).unwrap();
    let first = attempts[0].started;
    assert!(first.is_some());
    assert_eq!(attempts[0].first_started, None);
    assert!(attempts[1..].iter().all(|a| a.first_started == first && a.run_started() == first));
    let log = w.cmd(WorkflowsCommand::StepLog { run, attempt: None, step: "a".into() }).unwrap();
    assert_eq!(log["lines"], json!(["hello 0", "hello 1"]), "read from attempt 1, through attempt 2's reuse");
    assert_eq!((log["attempt"].as_u64(), log["printed_in"].as_u64()), (Some(3), Some(1)));
    assert_eq!(w.starts("echo"), 1, "a ran once");
}

#[tokio::test(start_paused = true)]
async fn a_long_log_keeps_its_head_and_tail_and_says_what_was_cut() {
    let w = world(&[r#"
name = "chatty"
[[step]]
id = "a"
uses = "echo"
with = { lines = 20000 }
"#]);
    let mut sub = w.engine.subscribe();
    let run = w.start("chatty", json!({}));
    w.ended(run).await;
    let log = w.cmd(WorkflowsCommand::StepLog { run, attempt: None, step: "a".into() }).unwrap();
    let lines: Vec<String> = serde_json::from_value(log["lines"].clone()).unwrap();
    assert_eq!(lines[0], "line 0");
    assert_eq!(lines.last().unwrap(), "line 19999");
    let marker = lines.iter().position(|l| l.starts_with("… ") && l.ends_with(" cut …")).expect("a marker");
    let kept: usize = lines.iter().map(|l| l.len() + 1).sum();
    assert!(kept <= super::super::output::HEAD_CAP + super::super::output::TAIL_CAP + 64, "{kept} bytes kept");
    let n = |l: &str| l.trim_start_matches("line ").parse::<usize>().unwrap();
    let cut = n(&lines[marker + 1]) - n(&lines[marker - 1]) - 1;
    assert!(lines[marker].starts_with(&format!("… {cut} lines")), "{} says {cut} lines", lines[marker]);
    let mut streamed = 0;
    while let Ok(env) = sub.try_recv() {
        if let Event::StepOutput { lines, .. } = &env.event {
            assert!(lines.len() <= 512);
            streamed += lines.len();
        }
    }
    assert_eq!(streamed, 20000, "every line is streamed, only the stored log is cut");
}

/// A run that was in flight when the engine died is interrupted at the next
/// start, and resuming it runs only what had not ended.
#[tokio::test(start_paused = true)]
async fn after_a_crash_runs_are_interrupted_and_resume_runs_only_what_had_not_ended() {
    let def = r#"
name = "deploy"
[[step]]
id = "a"
uses = "ok"
with = { key = "a" }
[[step]]
id = "b"
uses = "sleep"
with = { ms = 600000, key = "b" }
needs = ["a"]
idempotent = false
[[step]]
id = "c"
uses = "ok"
with = { key = "c" }
needs = ["b"]
"#;
    let store = Arc::new(Store::temporary().unwrap());
    // The first engine: b is running when it "dies" (its tasks are dropped, nothing more is written).
    let (run, shared) = {
        let w = world_on(store_share(&store), &[def]);
        let run = w.start("deploy", json!({}));
        for _ in 0..1000 {
            if w.step(run, "b").state == RunState::Running {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(w.starts("a"), 1);
        w.engine.shutdown(); // the run's task is dropped mid-step, as by a kill
        (run, w)
    };
    // A second engine on the same data, as after a restart.
    let w = world_on(store_share(&store), &[def]);
    drop(shared);
    let r = w.show(run).run;
    assert_eq!(r.state, RunState::Interrupted);
    assert_eq!(r.error.as_deref(), Some("interrupted while on b: opsdeck stopped"));
    assert_eq!(w.step(run, "a").state, RunState::Succeeded);
    let b = w.step(run, "b");
    assert!(b.state == RunState::Interrupted && b.interrupted);
    let e = w.cmd(WorkflowsCommand::ResumeRun { run, rerun_unsafe: false }).unwrap_err();
    assert!(e.contains("idempotent = false"), "{e}");
    w.cmd(WorkflowsCommand::ResumeRun { run, rerun_unsafe: true }).unwrap();
    w.until(run, &[RunState::Running]).await;
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(w.ended(run).await.state, RunState::Succeeded);
    assert_eq!(w.starts("a"), 0, "a ended before the crash and was not run again");
    assert_eq!((w.starts("b"), w.starts("c")), (1, 1));
    assert_eq!(
        w.cmd(WorkflowsCommand::AbandonRun { run }).unwrap_err(),
        format!("run #{run} is succeeded: only an interrupted run can be abandoned")
    );
}

#[tokio::test(start_paused = true)]
async fn abandoning_an_interrupted_run_later_keeps_when_it_ended() {
    let def = "name = \"slow\"\n[[step]]\nid = \"b\"\nuses = \"sleep\"\nwith = { ms = 600000 }\n";
    let store = Arc::new(Store::temporary().unwrap());
    let (run, first) = {
        let w = world_on(store_share(&store), &[def]);
        let run = w.start("slow", json!({}));
        w.until(run, &[RunState::Running]).await;
        w.engine.shutdown();
        (run, w)
    };
    let w = world_on(store_share(&store), &[def]);
    drop(first);
    let ended = w.show(run).run.ended;
    assert!(ended.is_some(), "an interrupted run has an end");
    tokio::time::sleep(Duration::from_secs(3600)).await; // an hour before anyone decides
    w.cmd(WorkflowsCommand::AbandonRun { run }).unwrap();
    let r = w.show(run).run;
    assert_eq!(r.state, RunState::Cancelled);
    assert_eq!(r.ended, ended, "the hour before the abandon is not the run's time");
}

/// Two stores over one in-memory database (a restart on the same data).
pub(crate) fn store_share(store: &Arc<Store>) -> Store {
    store.reopen().unwrap()
}

/// A failed run raises `workflow_failed` in the alert engine (a later
/// success resolving it is run_alerts.rs's test). A run longer than `expected_duration` raises
/// `workflow_slow` until it ends.
#[tokio::test(start_paused = true)]
async fn failed_and_slow_runs_raise_alerts() {
    use crate::protocol::alerts::AlertState;
    let w = world(&[
        TWO,
        r#"
name = "slowpoke"
expected_duration = "10s"
[[step]]
id = "s"
uses = "sleep"
with = { ms = 30000 }
"#,
    ]);
    w.engine.start_alerts(
        Default::default(),
        crate::engine::tools::Registry::default(),
        &[],
        std::path::Path::new("/nonexistent"),
    );
    let mut sub = w.engine.subscribe();
    let alert_state = |sub: &mut tokio::sync::broadcast::Receiver<Arc<crate::protocol::Envelope>>, rule: &str| {
        let mut last = None;
        while let Ok(env) = sub.try_recv() {
            if let Event::Alerts(u) = &env.event
                && let Some(a) = u.alerts.iter().find(|a| a.rule == rule)
            {
                last = Some((a.state, a.labels.get("workflow").cloned(), a.labels.get("run").cloned()));
            }
        }
        last
    };
    let run = w.start("two", json!({}));
    assert_eq!(w.ended(run).await.state, RunState::Failed);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let got = alert_state(&mut sub, "workflow_failed");
    assert_eq!(got, Some((AlertState::Firing, Some("two".into()), Some(run.to_string()))));
    let slow = w.start("slowpoke", json!({}));
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(alert_state(&mut sub, "workflow_slow").map(|s| s.0), Some(AlertState::Firing));
    assert_eq!(w.ended(slow).await.state, RunState::Succeeded);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(alert_state(&mut sub, "workflow_slow").map(|s| s.0), Some(AlertState::Resolved));
}

#[tokio::test(start_paused = true)]
async fn a_read_only_engine_runs_only_workflows_that_change_nothing() {
    let clock = Arc::new(TokioClock::at(1_000_000));
    let cfg = EngineConfig { read_only: true, ..EngineConfig::default() };
    let engine = Engine::new(Store::temporary().unwrap(), cfg, clock).unwrap();
    let script = Arc::new(Script::default());
    let svc = WorkflowService::new(engine.clone(), None, Arc::new(Exec(script)), Arc::new(Keys)).unwrap();
    svc.set_definitions(vec![
        wf("name = \"look\"\n[[step]]\nid = \"a\"\nuses = \"ok\"\n"),
        wf("name = \"fix\"\n[[step]]\nid = \"a\"\nuses = \"ok\"\n[[step]]\nid = \"b\"\nuses = \"m_ok\"\n"),
    ]);
    engine.start_workflows(svc);
    let start = |name: &str, id: &str| {
        let c = WorkflowsCommand::StartRun { workflow: name.into(), inputs: Default::default(), by: String::new() };
        engine.handle(id, Command::Workflows(c)).map_err(|e| e.to_string())
    };
    assert!(start("look", "r1").is_ok());
    let e = start("fix", "r2").unwrap_err();
    assert!(e.contains("workflow fix is refused: its step b changes things"), "{e}");
    let e = engine.handle("r3", Command::Workflows(WorkflowsCommand::CancelRun { run: 1 })).unwrap_err().to_string();
    assert!(e.starts_with("read-only: cancelling a run is refused"), "{e}");
}
