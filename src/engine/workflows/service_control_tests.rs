//! The scheduler's run control under tokio's paused clock: approvals (asked
//! for and automatic), cancel, reruns of the failed steps, typed inputs and
//! replayed start commands. The world and scripted executor are service_tests.rs's.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};

use super::tests::*;
use crate::protocol::Command;
use crate::protocol::workflow::{RerunFrom, RunState, Trigger, WorkflowsCommand};

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
