//! What the scheduler records and keeps, under tokio's paused clock: secrets
//! masked in records, events and logs, log reuse and the log cap, crash
//! recovery (interrupt, resume, abandon), the alerts runs raise and the
//! read-only engine. The world and scripted executor are service_tests.rs's.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::tests::*;
use crate::clock::TokioClock;
use crate::engine::store::Store;
use crate::engine::workflows::service::WorkflowService;
use crate::engine::{Engine, EngineConfig};
use crate::protocol::workflow::{RerunFrom, RunState, WorkflowsCommand};
use crate::protocol::{Command, Event};

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
