//! Property tests of the Prefect decoders and tracker (issue 14): any JSON
//! where Prefect's flow runs, task runs, logs, deployments and events go —
//! nulls, wrong types, huge numbers, odd Unicode, times that are not times —
//! is read without a panic; events in any order and repeated leave the
//! newest state (by its own timestamp) shown, never an older one; and what
//! the tracker keeps stays bounded. `PROPTEST_CASES=N` runs more cases.

use proptest::prelude::*;
use serde_json::{Value, json};

use opsdeck::protocol::workflow::RunState;
use opsdeck::remote::prefect::model::{self, Deployment, FlowRun, LogRecord, TaskRun};
use opsdeck::remote::prefect::track::Tracker;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,16}",
        Just("\u{212A}\u{130}\u{202E}\u{0}\u{FEFF}😀\u{1b}[2J".to_string()),
        Just("2026-12-06T19:43:36.551019Z".to_string()),
        Just("1900-01-01T00:00:00Z".to_string()),
        Just("9999-12-31T23:59:59Z".to_string()),
        Just("RUNNING".to_string()),
        Just("FAILED".to_string()),
        Just("prefect.flow-run.0000b0c1-0000-4000-8000-000000000001".to_string()),
        Just("prefect.flow-run.Running".to_string()),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        Just(json!(1e308)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const RUN: &str = "0000b0c1-0000-4000-8000-000000000001";
const STATES: [(&str, &str); 6] = [
    ("PENDING", "Pending"),
    ("RUNNING", "Running"),
    ("COMPLETED", "Completed"),
    ("FAILED", "Failed"),
    ("SCHEDULED", "AwaitingRetry"),
    ("CRASHED", "Crashed"),
];

/// A flow-run state event: state `k` at second `t`, with id `id`.
fn event(id: u32, k: usize, t: u32) -> Value {
    let (ty, name) = STATES[k % STATES.len()];
    let at = model::rfc3339(1_765_000_000_000 + i64::from(t) * 1000);
    json!({"id": format!("e{id}"), "occurred": at, "event": format!("prefect.flow-run.{name}"),
        "resource": {"prefect.resource.id": format!("prefect.flow-run.{RUN}"), "prefect.state-type": ty,
            "prefect.state-name": name, "prefect.state-timestamp": at, "prefect.run-count": "1"}})
}

proptest! {
    #[test]
    fn any_json_reads_as_prefect_items_without_a_panic(v in any_json()) {
        if let Ok(fr) = serde_json::from_value::<FlowRun>(v.clone()) {
            let r = model::run_of(&fr, "f", Some("d"));
            prop_assert!(r.id >= 1 && r.id < 1 << 53);
            prop_assert!(r.duration_ms(0).is_none_or(|d| d >= 0));
            prop_assert!(r.error.as_ref().is_none_or(|e| e.chars().count() <= 2_001));
        }
        if let Ok(tr) = serde_json::from_value::<TaskRun>(v.clone()) {
            let _ = model::step_of(&tr, "s");
        }
        if let Ok(l) = serde_json::from_value::<LogRecord>(v.clone()) {
            let lines = model::log_lines(&l, Some("t"));
            prop_assert!(!lines.is_empty() && lines.len() <= 200);
            prop_assert!(lines.iter().all(|l| !l.chars().any(|c| c.is_control() && c != '\t')));
        }
        if let Ok(d) = serde_json::from_value::<Deployment>(v.clone()) {
            let w = model::workflow_of(&d, "f");
            prop_assert!(w.inputs.len() <= 100);
        }
        let mut t = Tracker::default();
        let ch = t.event(&v);
        prop_assert!(ch.ended.is_empty());
    }

    #[test]
    fn events_in_any_order_and_repeated_leave_the_newest_state(
        evs in prop::collection::vec((0u32..40, 0usize..6, 0u32..1000), 1..40),
        order in prop::collection::vec(any::<prop::sample::Index>(), 0..80),
    ) {
        let mut t = Tracker::default();
        t.flows.insert("f1".into(), "flow".into());
        let fr: FlowRun = serde_json::from_value(json!({"id": RUN, "name": "n", "flow_id": "f1", "run_count": 1,
            "state": {"type": "SCHEDULED", "name": "Scheduled", "timestamp": model::rfc3339(1_764_999_999_000)}}))
            .unwrap();
        t.flow_run(&fr, false);
        // Distinct ids get distinct (time, state) pairs; repeats re-send the same event.
        let events: Vec<Value> = evs.iter().enumerate().map(|(i, (_, k, s))| event(i as u32, *k, *s)).collect();
        let mut sent: Vec<&Value> = events.iter().collect();
        for ix in &order {
            sent.push(&events[ix.index(events.len())]);
        }
        let mut announced = 0;
        for e in &sent {
            announced += t.event(e).events.len();
        }
        prop_assert!(announced <= events.len() * 2, "a repeated event announced nothing more");
        // What is shown is a state of the newest timestamp sent.
        let newest = evs.iter().map(|(_, _, s)| *s).max().unwrap();
        let shown = &t.get(RUN).unwrap().run;
        let candidates: Vec<RunState> = evs
            .iter()
            .filter(|(_, _, s)| *s == newest)
            .map(|(_, k, _)| {
                let (ty, name) = STATES[k % STATES.len()];
                model::run_state(&model::State { r#type: ty.into(), name: name.into(), ..Default::default() })
            })
            .collect();
        prop_assert!(candidates.contains(&shown.state), "{:?} not in {:?}", shown.state, candidates);
    }
}
