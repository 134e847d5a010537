use serde_json::json;

use super::*;
use crate::protocol::workflow::Trigger;

fn st(t: &str, n: &str) -> State {
    State { r#type: t.into(), name: n.into(), ..State::default() }
}

#[test]
fn every_prefect_state_has_an_opsdeck_state_and_keeps_its_name() {
    let cases = [
        ("SCHEDULED", "Scheduled", RunState::Queued),
        ("SCHEDULED", "Late", RunState::Queued),
        ("SCHEDULED", "AwaitingRetry", RunState::Retrying),
        ("PENDING", "Pending", RunState::Queued),
        ("RUNNING", "Running", RunState::Running),
        ("RUNNING", "Retrying", RunState::Retrying),
        ("COMPLETED", "Completed", RunState::Succeeded),
        ("FAILED", "Failed", RunState::Failed),
        ("CRASHED", "Crashed", RunState::Failed),
        ("CANCELLED", "Cancelled", RunState::Cancelled),
        ("CANCELLING", "Cancelling", RunState::Running),
        ("PAUSED", "Paused", RunState::Waiting),
        ("SOMETHING_NEW", "Odd", RunState::Queued),
    ];
    for (t, n, want) in cases {
        assert_eq!(run_state(&st(t, n)), want, "{t}/{n}");
        let fr = FlowRun { id: "0190-aa".into(), state: Some(st(t, n)), ..FlowRun::default() };
        let run = run_of(&fr, "f", None);
        assert_eq!(run.state_name(), n, "the screen shows Prefect's own name");
    }
}

#[test]
fn run_numbers_are_stable_exact_in_json_and_never_zero() {
    let a = run_number("187fd26c-b115-45a1-a070-752e5a6444ef");
    assert_eq!(a, 0x187fd26cb1154);
    assert!(a < 1 << 53);
    assert_eq!(run_number("187fd26c-b115-45a1-a070-752e5a6444ef"), a);
    for odd in ["", "not-a-uuid", "ééééééééééééééé", "\0\0\0", "00000000-0000-0000-0000-000000000000"] {
        let n = run_number(odd);
        assert!((1..1 << 53).contains(&n), "{odd:?} → {n}");
    }
    assert_ne!(run_number("zz"), run_number("zy"));
}

#[test]
fn a_flow_run_reads_leniently_and_maps_to_a_run() {
    // As a real 3.9.1 server answers (trimmed), with nulls where it sends them.
    let v = json!({"id":"187fd26c-b115-45a1-a070-752e5a6444ef","name":"encouraging-elephant","flow_id":"06c3",
        "deployment_id":null,"parameters":null,"created":"2026-12-06T19:43:36.551019Z",
        "expected_start_time":"2026-12-06T19:43:36.550730Z","start_time":"2026-12-06T19:43:36.588371Z",
        "end_time":"2026-12-06T19:43:37.734531Z","run_count":1,"auto_scheduled":false,"tags":[],
        "state_type":"FAILED","state_name":"Failed","flow_version":null,
        "state":{"type":"FAILED","name":"Failed","timestamp":"2026-12-06T19:43:37.734531Z",
            "message":"Flow run encountered an exception: ValueError: kaboom","data":{"x":1}}});
    let fr: FlowRun = serde_json::from_value(v).unwrap();
    let r = run_of(&fr, "fail-flow", None);
    assert_eq!(r.workflow, "fail-flow");
    assert_eq!(r.state, RunState::Failed);
    assert_eq!(r.error.as_deref(), Some("Flow run encountered an exception: ValueError: kaboom"));
    assert_eq!(r.started, ms("2026-12-06T19:43:36.588371Z"));
    assert_eq!(r.ended, ms("2026-12-06T19:43:37.734531Z"));
    assert_eq!(r.label(), "encouraging-elephant");
    assert_eq!(r.external.as_ref().unwrap().deployment, None);
    assert_eq!(r.trigger, Trigger::Manual { by: "script".into() }, "a flow run by a script");
    let dep =
        run_of(&FlowRun { deployment_id: Some("d1".into()), run_count: 3, ..fr.clone() }, "fail-flow", Some("nightly"));
    assert_eq!(dep.workflow, "fail-flow/nightly");
    assert_eq!(dep.label(), "encouraging-elephant ·3");
    assert_eq!(dep.trigger, Trigger::Manual { by: "prefect".into() }, "a deployment's run started through Prefect");
    let mine = FlowRun { tags: vec!["opsdeck".into(), "by:ana".into()], ..fr.clone() };
    assert_eq!(run_of(&mine, "f", None).trigger, Trigger::Manual { by: "ana".into() });
    let cron = FlowRun { auto_scheduled: true, ..fr.clone() };
    assert!(matches!(run_of(&cron, "f", None).trigger, Trigger::Schedule { .. }));
    // Hostile answers: wrong types are errors for the item, never a panic.
    for bad in [json!({"id": 5}), json!({"run_count": -1}), json!([]), json!("x")] {
        let _ = serde_json::from_value::<FlowRun>(bad);
    }
    // An end before the start (a lying clock) is not shown as a negative duration.
    let back = FlowRun { end_time: Some("2026-12-06T19:43:30Z".into()), ..fr };
    let r = run_of(&back, "f", None);
    assert!(r.duration_ms(0).unwrap() >= 0);
}

#[test]
fn log_records_become_lines_with_time_level_and_task() {
    let l = LogRecord {
        id: "1".into(),
        level: 40,
        message: "boom\nTraceback:\n  File \"x\"\u{0}\u{1b}[31m".into(),
        timestamp: "2026-12-06T19:43:36.623247Z".into(),
        task_run_id: None,
    };
    let lines = log_lines(&l, Some("boom-726"));
    // In the local time zone, as the rest of the screen.
    let local =
        chrono::DateTime::parse_from_rfc3339("2026-12-06T19:43:36.623247Z").unwrap().with_timezone(&chrono::Local);
    assert_eq!(lines[0], format!("{} ERROR [boom-726] boom", local.format("%H:%M:%S%.3f")));
    assert_eq!(lines[1], "    Traceback:");
    assert!(!lines[2].chars().any(|c| c.is_control()), "{:?}", lines[2]);
    let l = LogRecord { level: 20, message: String::new(), timestamp: "garbage".into(), ..l };
    assert_eq!(log_lines(&l, None), ["--:--:--.--- INFO  "]);
}

#[test]
fn a_deployment_is_a_workflow_whose_inputs_come_from_its_schema() {
    let d: Deployment = serde_json::from_value(json!({"id":"9ae8","name":"ok-deploy","flow_id":"f1",
        "parameters":{"n":2},"paused":false,"status":"READY",
        "parameter_openapi_schema":{"type":"object","required":["who"],"properties":{
            "n":{"default":3,"position":1,"title":"n","type":"integer"},
            "who":{"position":0,"title":"who","type":"string","description":"whom to greet"},
            "mode":{"position":2,"enum":["a","b"],"default":"a"}}}}))
    .unwrap();
    let w = workflow_of(&d, "ok-flow");
    assert_eq!(w.name, "ok-flow/ok-deploy");
    let names: Vec<&str> = w.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["who", "n", "mode"], "in the flow's argument order");
    assert!(w.inputs[0].required && w.inputs[0].description == "whom to greet");
    assert_eq!(
        (w.inputs[1].kind.as_str(), w.inputs[1].default.clone()),
        ("integer", Some(json!(2))),
        "the deployment's default wins"
    );
    assert_eq!(
        (w.inputs[2].kind.as_str(), w.inputs[2].values.clone()),
        ("enum", vec!["a".to_string(), "b".to_string()])
    );
    let not_ready = Deployment { status: "NOT_READY".into(), parameter_openapi_schema: json!(null), ..d };
    let w = workflow_of(&not_ready, "");
    assert!(w.description.starts_with("not ready"), "{}", w.description);
    assert!(w.inputs.is_empty());
}

#[test]
fn a_crashed_task_says_so_in_its_error() {
    let tr = |name: &str, msg: &str| TaskRun {
        id: "t".into(),
        state: Some(State {
            r#type: if name == "Crashed" { "CRASHED" } else { "FAILED" }.into(),
            name: name.into(),
            message: msg.into(),
            ..State::default()
        }),
        ..TaskRun::default()
    };
    assert_eq!(
        step_of(&tr("Crashed", "Execution was aborted"), "s").error.as_deref(),
        Some("Crashed: Execution was aborted")
    );
    assert_eq!(step_of(&tr("Failed", "boom"), "s").error.as_deref(), Some("boom"));
    assert_eq!(step_of(&tr("Crashed", ""), "s").error.as_deref(), Some("Crashed"));
    assert_eq!(step_of(&tr("Failed", ""), "s").error, None);
}

#[test]
fn an_earlier_attempt_is_rebuilt_from_the_state_history() {
    let at = |s: &str| format!("2026-12-06T19:{s}Z");
    let st = |t: &str, n: &str, when: &str, msg: &str| State {
        r#type: t.into(),
        name: n.into(),
        timestamp: at(when),
        message: msg.into(),
    };
    let states = [
        st("SCHEDULED", "Scheduled", "40:00", ""),
        st("PENDING", "Pending", "40:01", ""),
        st("RUNNING", "Running", "40:02", ""),
        st("FAILED", "Failed", "40:05", "kaboom"),
        st("SCHEDULED", "AwaitingRetry", "45:00", "Retry from opsdeck"),
        st("PENDING", "Pending", "45:01", ""),
        st("RUNNING", "Running", "45:02", ""),
        st("CRASHED", "Crashed", "45:09", "killed"),
    ];
    let fr = FlowRun {
        id: "0190aa".into(),
        name: "n".into(),
        run_count: 2,
        state: Some(states[7].clone()),
        ..FlowRun::default()
    };
    let latest = run_of(&fr, "f", Some("d"));
    let one = past_attempt(&latest, &states, 1).unwrap();
    assert_eq!((one.attempt, one.state, one.state_name()), (1, RunState::Failed, "Failed"));
    assert_eq!(one.duration_ms(0), Some(3_000));
    assert_eq!(one.error.as_deref(), Some("kaboom"));
    let two = past_attempt(&latest, &states, 2).unwrap();
    assert_eq!((two.state_name(), two.duration_ms(0)), ("Crashed", Some(7_000)));
    assert!(past_attempt(&latest, &states, 3).is_none());
    assert!(past_attempt(&latest, &states, 0).is_none());
    assert!(past_attempt(&latest, &[], 1).is_none());
}
