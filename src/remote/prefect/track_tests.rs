use serde_json::{Value, json};

use super::*;
use crate::protocol::workflow::RunState;

const FR: &str = "187fd26c-b115-45a1-a070-752e5a6444ef";
const TR: &str = "01a24ce2-1cf6-7786-b25a-a1d2bb152a48";

fn flow_run(state: &str, name: &str, at: &str) -> FlowRun {
    serde_json::from_value(json!({"id": FR, "name": "encouraging-elephant", "flow_id": "f1", "run_count": 1,
        "created": "2026-12-06T19:43:36Z", "start_time": "2026-12-06T19:43:36.5Z",
        "state": {"type": state, "name": name, "timestamp": at}}))
    .unwrap()
}

fn flow_event(id: &str, state: &str, name: &str, at: &str) -> Value {
    json!({"id": id, "occurred": at, "event": format!("prefect.flow-run.{name}"),
        "resource": {"prefect.resource.id": format!("prefect.flow-run.{FR}"), "prefect.resource.name": "encouraging-elephant",
            "prefect.state-type": state, "prefect.state-name": name, "prefect.state-timestamp": at,
            "prefect.state-message": if state == "FAILED" { "kaboom" } else { "" }, "prefect.run-count": "1"},
        "related": [{"prefect.resource.id": "prefect.flow.f1", "prefect.resource.role": "flow", "prefect.resource.name": "fail-flow"}]})
}

fn task_event(id: &str, state: &str, at: &str) -> Value {
    json!({"id": id, "occurred": at, "event": format!("prefect.task-run.{state}"),
        "resource": {"prefect.resource.id": format!("prefect.task-run.{TR}"), "prefect.resource.name": "boom-726",
            "prefect.state-type": state, "prefect.state-name": state, "prefect.state-timestamp": at},
        "related": [{"prefect.resource.id": format!("prefect.flow-run.{FR}"), "prefect.resource.role": "flow-run"}],
        "payload": {"task_run": {"start_time": "2026-12-06T19:43:36.7Z", "run_count": 1, "flow_run_run_count": 1}}})
}

fn tracker() -> Tracker {
    let mut t = Tracker::default();
    t.flows.insert("f1".into(), "fail-flow".into());
    t
}

fn states(ch: &Changes) -> Vec<String> {
    ch.events
        .iter()
        .map(|e| match e {
            Event::RunChanged(r) => format!("run {}", r.state_name()),
            Event::StepChanged { step, .. } => format!("{} {}", step.id, step.state.word()),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn events_are_taken_once_and_an_older_state_never_replaces_a_newer_one() {
    let mut t = tracker();
    let ch = t.flow_run(&flow_run("RUNNING", "Running", "2026-12-06T19:43:36.5Z"), false);
    assert_eq!(states(&ch), ["run Running"]);
    assert!(ch.ended.is_empty());
    let done = flow_event("e2", "COMPLETED", "Completed", "2026-12-06T19:43:38Z");
    let ch = t.event(&done);
    assert_eq!(states(&ch), ["run Completed", "flow-run succeeded"]);
    assert!(matches!(&ch.ended[..], [Ended::Succeeded(r)] if r.workflow == "fail-flow"));
    // The same event again (a resubscription's backfill): nothing.
    assert!(t.event(&done).events.is_empty());
    // A late event of an earlier state (batched by the client): nothing.
    let late = flow_event("e1", "RUNNING", "Running", "2026-12-06T19:43:37Z");
    assert!(t.event(&late).events.is_empty());
    assert_eq!(t.get(FR).unwrap().run.state, RunState::Succeeded);
    assert_eq!(t.max_occurred, model::ms("2026-12-06T19:43:38Z"));
    // A REST read of the same state: nothing new either.
    assert!(t.flow_run(&flow_run("COMPLETED", "Completed", "2026-12-06T19:43:38Z"), true).events.is_empty());
}

#[test]
fn task_runs_are_steps_and_a_flow_runs_unknown_run_is_read_first() {
    let mut t = tracker();
    let ch = t.event(&task_event("t1", "RUNNING", "2026-12-06T19:43:36.7Z"));
    assert_eq!(ch.unknown, [FR.to_string()], "a task of a run not known: read the run");
    t.flow_run(&flow_run("RUNNING", "Running", "2026-12-06T19:43:36.5Z"), true);
    let ch = t.event(&task_event("t1b", "RUNNING", "2026-12-06T19:43:36.7Z"));
    assert_eq!(states(&ch), ["boom-726 running", "run Running"], "a new step, then the run's step list");
    assert_eq!(t.get(FR).unwrap().run.steps, [FLOW_STEP, "boom-726"]);
    let ch = t.event(&task_event("t2", "FAILED", "2026-12-06T19:43:36.9Z"));
    assert_eq!(states(&ch), ["boom-726 failed"]);
    // Out of order: the Running event of the task after its Failed.
    assert!(t.event(&task_event("t1c", "RUNNING", "2026-12-06T19:43:36.8Z")).events.is_empty());
    let ch = t.event(&flow_event("e9", "FAILED", "Failed", "2026-12-06T19:43:37Z"));
    assert!(matches!(&ch.ended[..], [Ended::Failed(r)] if r.error.as_deref() == Some("kaboom")));
}

#[test]
fn task_runs_still_in_flight_under_an_ended_flow_run_are_marked_interrupted() {
    // Seen on a real server restarted mid-run: the task's Completed event was
    // lost, so Prefect shows it Running forever under a Completed flow run.
    let mut t = tracker();
    t.flow_run(&flow_run("RUNNING", "Running", "2026-12-06T19:43:36.5Z"), true);
    t.event(&task_event("t1", "RUNNING", "2026-12-06T19:43:36.7Z"));
    let ch = t.flow_run(&flow_run("COMPLETED", "Completed", "2026-12-06T19:47:17Z"), true);
    let step = t.get(FR).unwrap().steps.iter().find(|s| s.id == "boom-726").unwrap().clone();
    assert_eq!(step.state, RunState::Interrupted);
    assert_eq!(step.error.as_deref(), Some(LOST_END));
    assert!(states(&ch).contains(&"boom-726 interrupted".to_string()), "{:?}", states(&ch));
}

#[test]
fn hostile_events_change_nothing_and_never_panic() {
    let mut t = tracker();
    t.flow_run(&flow_run("RUNNING", "Running", "2026-12-06T19:43:36.5Z"), true);
    for ev in [
        json!(null),
        json!({"id": "x1"}),
        json!({"id": "x2", "event": "prefect.flow-run.Running", "resource": {"prefect.resource.id": 7}}),
        json!({"id": "x3", "event": "prefect.task-run.Running", "resource": {"prefect.resource.id": "prefect.task-run.z"}}),
        json!({"id": "x4", "event": "prefect.flow-run.heartbeat", "resource": {"prefect.resource.id": format!("prefect.flow-run.{FR}")}}),
        json!({"id": "x5", "event": "prefect.deployment.created", "occurred": "not a time"}),
    ] {
        let ch = t.event(&ev);
        assert!(ch.events.is_empty() && ch.ended.is_empty(), "{ev}");
    }
    assert_eq!(t.get(FR).unwrap().run.state, RunState::Running);
}

#[test]
fn a_retry_is_a_new_attempt_with_fresh_steps() {
    let mut t = tracker();
    t.flow_run(&flow_run("FAILED", "Failed", "2026-12-06T19:43:37Z"), false);
    t.event(&task_event("t2", "FAILED", "2026-12-06T19:43:36.9Z"));
    let mut retry = flow_event("r1", "SCHEDULED", "AwaitingRetry", "2026-12-06T19:50:00Z");
    retry["resource"]["prefect.run-count"] = json!("1");
    let ch = t.event(&retry);
    assert_eq!(states(&ch)[0], "run AwaitingRetry");
    let mut running = flow_event("r2", "RUNNING", "Running", "2026-12-06T19:50:02Z");
    running["resource"]["prefect.run-count"] = json!("2");
    t.event(&running);
    let run = &t.get(FR).unwrap().run;
    assert_eq!((run.attempt, run.state), (2, RunState::Running));
    assert_eq!(t.get(FR).unwrap().steps.len(), 1, "only the flow run's own step until tasks of attempt 2 come");
}

#[test]
fn a_state_told_again_later_still_wins_over_an_older_one() {
    // Found by the property test: AwaitingRetry at 0 s and again at 322 s,
    // then Pending at 0 s: the shown state must stay AwaitingRetry.
    let mut t = tracker();
    t.flow_run(&flow_run("SCHEDULED", "Scheduled", "2026-12-06T19:00:00Z"), false);
    t.event(&flow_event("a", "SCHEDULED", "AwaitingRetry", "2026-12-06T19:43:00Z"));
    assert!(t.event(&flow_event("b", "SCHEDULED", "AwaitingRetry", "2026-12-06T19:48:22Z")).events.is_empty());
    assert!(t.event(&flow_event("c", "PENDING", "Pending", "2026-12-06T19:43:00Z")).events.is_empty());
    assert_eq!(t.get(FR).unwrap().run.state_name(), "AwaitingRetry");
}

#[test]
fn runs_scheduled_ahead_are_not_read_until_their_time() {
    let mut t = tracker();
    let mut ev = flow_event("s1", "SCHEDULED", "Scheduled", "2026-12-06T19:43:36Z");
    assert!(t.event(&ev).unknown.is_empty(), "a run the scheduler made ahead is not read");
    ev["id"] = json!("s2");
    ev["resource"]["prefect.state-name"] = json!("Late");
    assert_eq!(t.event(&ev).unknown, [FR.to_string()], "a late one is");
    let ahead = FlowRun {
        expected_start_time: "2026-12-07T00:00:00Z".into(),
        ..flow_run("SCHEDULED", "Scheduled", "2026-12-06T19:00:00Z")
    };
    let now = model::ms("2026-12-06T20:00:00Z").unwrap();
    assert!(model::upcoming(&ahead, now));
    assert!(!model::upcoming(&FlowRun { expected_start_time: "2026-12-06T20:00:30Z".into(), ..ahead.clone() }, now));
    assert!(!model::upcoming(&flow_run("SCHEDULED", "Late", "2026-12-06T19:00:00Z"), now));
}

#[test]
fn a_cancel_raises_no_alert_and_is_no_error() {
    let mut t = tracker();
    t.flow_run(&flow_run("RUNNING", "Running", "2026-12-06T19:43:36.5Z"), true);
    t.event(&flow_event("c1", "CANCELLING", "Cancelling", "2026-12-06T19:43:40Z"));
    let mut done = flow_event("c2", "CANCELLED", "Cancelled", "2026-12-06T19:43:42Z");
    done["resource"]["prefect.state-message"] = json!("Flow run was cancelled successfully.");
    let ch = t.event(&done);
    assert!(ch.ended.is_empty(), "a person's cancel is not a failure: {:?}", ch.ended);
    let run = &t.get(FR).unwrap().run;
    assert_eq!((run.state, run.error.as_deref()), (RunState::Cancelled, None));
}

#[test]
fn steps_are_named_by_their_task_so_runs_compare_and_other_attempts_stay_out() {
    let mut t = tracker();
    t.flow_run(&flow_run("RUNNING", "Running", "2026-12-06T19:43:36.5Z"), true);
    let tr = |id: &str, name: &str, attempt: u64| TaskRun {
        id: id.into(),
        name: name.into(),
        task_key: "load-1f8745e7".into(),
        flow_run_run_count: attempt,
        start_time: Some("2026-12-06T19:43:37Z".into()),
        state: Some(model::State {
            r#type: "COMPLETED".into(),
            name: "Completed".into(),
            timestamp: "2026-12-06T19:43:38Z".into(),
            ..Default::default()
        }),
        ..TaskRun::default()
    };
    t.task_runs(FR, &[tr("a", "load-3f2", 1), tr("b", "load-9c1", 1), tr("c", "load-000", 2)]);
    let ids: Vec<&str> = t.get(FR).unwrap().steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, [FLOW_STEP, "load", "load~2"], "attempt 2's task run is not attempt 1's step");
}

#[test]
fn a_retried_attempt_takes_its_own_time_and_a_renamed_run_its_new_name() {
    let mut t = tracker();
    t.flow_run(&flow_run("FAILED", "Failed", "2026-12-06T19:43:37Z"), false);
    let first = t.get(FR).unwrap().run.started;
    let mut running = flow_event("r2", "RUNNING", "Running", "2026-12-06T19:50:02Z");
    running["resource"]["prefect.run-count"] = json!("2");
    running["resource"]["prefect.resource.name"] = json!("nightly-ñ-2026-12-06");
    t.event(&running);
    let mut failed = flow_event("r3", "FAILED", "Failed", "2026-12-06T19:50:05Z");
    failed["resource"]["prefect.run-count"] = json!("2");
    failed["resource"]["prefect.resource.name"] = json!("nightly-ñ-2026-12-06");
    t.event(&failed);
    let run = &t.get(FR).unwrap().run;
    assert_eq!(run.attempt, 2);
    assert_eq!(run.first_started, first, "the run started with its first attempt");
    assert_eq!(run.duration_ms(0), Some(3_000), "attempt 2 took 3 s, not since the first start");
    assert_eq!(run.label(), "nightly-ñ-2026-12-06 ·2");
}
