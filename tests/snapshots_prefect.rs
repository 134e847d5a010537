//! The runs pane with opsdeck's own runs and a Prefect server's together
//! (issue 14): Prefect's runs by their names, with Prefect's state names
//! beside the glyphs and a SOURCE column; a Prefect run open with its task
//! runs as steps on the gantt. The Prefect runs are made by the real
//! mapping (`remote::prefect`) from flow runs as a Prefect 3.9 server
//! answers them.

mod support;

use std::sync::Arc;

use opsdeck::app::{Action, AppState, BoxId, UserAction, update};
use opsdeck::protocol::workflow::{RunDetail, WorkflowsSnapshot};
use opsdeck::protocol::{Envelope, Event, Topic, Ts};
use opsdeck::remote::prefect::model::{self, Deployment, FlowRun, TaskRun};
use opsdeck::remote::prefect::track::Tracker;
use serde_json::json;

use support::workflows::*;
use support::{NOW, Seed};

fn at(ms_ago: Ts) -> String {
    model::rfc3339(NOW - ms_ago)
}

fn flow_run(
    id: &str,
    name: &str,
    flow: &str,
    state: (&str, &str, &str),
    started: Option<Ts>,
    ended: Option<Ts>,
) -> FlowRun {
    let (ty, nm, msg) = state;
    serde_json::from_value(json!({
        "id": id, "name": name, "flow_id": flow, "run_count": 1,
        "deployment_id": if flow == "f-etl" { json!("d-etl") } else { json!(null) },
        "parameters": if flow == "f-etl" { json!({"day": "2023-11-14"}) } else { json!({}) },
        "created": at(started.unwrap_or(60_000) + 1_000), "expected_start_time": at(started.unwrap_or(60_000)),
        "start_time": started.map(at), "end_time": ended.map(at),
        "state": {"type": ty, "name": nm, "message": msg, "timestamp": at(ended.or(started).unwrap_or(60_000))}
    }))
    .expect("a flow run")
}

fn task(id: &str, name: &str, state: (&str, &str), started: Ts, ended: Option<Ts>) -> TaskRun {
    serde_json::from_value(json!({
        "id": id, "name": name, "flow_run_id": "0000b0c1-0000-4000-8000-000000000001", "run_count": 1,
        "start_time": at(started), "end_time": ended.map(at),
        "state": {"type": state.0, "name": state.1, "timestamp": at(ended.unwrap_or(started))}
    }))
    .expect("a task run")
}

/// What the Prefect source sends at its start, through the real tracker.
fn prefect_snapshot() -> (WorkflowsSnapshot, RunDetail) {
    let mut tr = Tracker::default();
    tr.flows.insert("f-etl".into(), "etl".into());
    tr.flows.insert("f-sync".into(), "crm-sync".into());
    tr.deployments.insert("d-etl".into(), ("nightly".into(), "f-etl".into()));
    let running = "0000b0c1-0000-4000-8000-000000000001";
    tr.flow_run(&flow_run(running, "brave-otter", "f-etl", ("RUNNING", "Running", ""), Some(95_000), None), false);
    tr.task_runs(
        running,
        &[
            task("t1", "extract-0", ("COMPLETED", "Completed"), 94_000, Some(60_000)),
            task("t2", "transform-0", ("RUNNING", "Running"), 59_000, None),
        ],
    );
    let crashed = ("CRASHED", "Crashed", "Execution was aborted by a termination signal.");
    tr.flow_run(
        &flow_run("0000c0d1-0000-4000-8000-000000000002", "calm-owl", "f-sync", crashed, Some(900_000), Some(840_000)),
        false,
    );
    tr.flow_run(
        &flow_run("0000d0e1-0000-4000-8000-000000000003", "eager-lynx", "f-etl", ("SCHEDULED", "Late", ""), None, None),
        false,
    );
    tr.flow_run(
        &flow_run(
            "0000e0f1-0000-4000-8000-000000000004",
            "quiet-heron",
            "f-sync",
            ("COMPLETED", "Completed", ""),
            Some(7_200_000),
            Some(7_080_000),
        ),
        false,
    );
    let dep: Deployment =
        serde_json::from_value(json!({"id": "d-etl", "name": "nightly", "flow_id": "f-etl", "status": "READY",
        "parameter_openapi_schema": {"properties": {"day": {"type": "string", "position": 0}}}}))
        .expect("a deployment");
    let runs: Vec<_> = tr.runs().into_iter().map(|t| t.run.clone()).collect();
    let t = tr.get(running).expect("tracked");
    let detail = RunDetail { run: t.run.clone(), steps: t.steps.clone() };
    let snap = WorkflowsSnapshot {
        workflows: vec![model::workflow_of(&dep, "etl")],
        problems: vec![],
        runs,
        active_steps: vec![(detail.run.id, 1, detail.steps.clone())],
    };
    (snap, detail)
}

fn with_prefect(seed: &Seed) -> (AppState, RunDetail) {
    let mut s = state(seed);
    let (snap, detail) = prefect_snapshot();
    let env = Envelope {
        epoch: 1,
        seq: 1,
        ts: NOW,
        source: "prefect".into(),
        topic: Topic::Workflows,
        event: Event::Workflows(Box::new(snap)),
    };
    update(&mut s, Action::Events(vec![Arc::new(env)]), &seed.ctx());
    (s, detail)
}

#[test]
fn local_and_prefect_runs_together_120x40() {
    let seed = Seed::new();
    let (s, _) = with_prefect(&seed);
    let t = draw(&s, 120, 40);
    let text = screen(&t);
    assert!(
        text.contains("✗ Crashed") && text.contains("· Late") && text.contains("▶ Running"),
        "Prefect's state names"
    );
    assert!(text.contains("brave-otter") && text.contains("#5"), "Prefect runs by name, local ones by number");
    assert!(text.contains("SOURCE") && text.contains("prefect"), "a source column");
    assert!(text.contains("etl/nightly"), "the deployment as a workflow");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn local_and_prefect_runs_together_80x24() {
    let seed = Seed::new();
    let (s, _) = with_prefect(&seed);
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

#[test]
fn a_prefect_run_open_with_its_task_runs_120x40() {
    let seed = Seed::new();
    let (mut s, detail) = with_prefect(&seed);
    s.focus = BoxId::WfRuns;
    // brave-otter is third in the list (after #6 and eager-lynx).
    for _ in 0..2 {
        key(&seed, &mut s, ratatui::crossterm::event::KeyCode::Down);
    }
    // Its steps came with the snapshot (it is in flight); a read asked is answered.
    let effects = update(&mut s, Action::User(UserAction::Confirm), &seed.ctx());
    assert_eq!(s.workflows.open.as_ref().map(|(src, id)| (src.as_str(), *id)), Some(("prefect", detail.run.id)));
    for e in effects {
        if let opsdeck::app::Effect::Command { id, .. } = e {
            let result = Ok(serde_json::to_value(&detail).expect("json"));
            update(&mut s, Action::CommandDone { source: "prefect".into(), id, result }, &seed.ctx());
        }
    }
    let t = draw(&s, 120, 40);
    let text = screen(&t);
    assert!(text.contains("Run brave-otter etl/nightly"), "{text}");
    assert!(
        text.contains("flow-run") && text.contains("extract-0") && text.contains("transform-0"),
        "task runs as steps"
    );
    insta::assert_snapshot!(t.backend());
}

/// At every width the SOURCE column is whole, cut with `…`, or not shown:
/// never a cut name that reads as another (`pr`, `loca`).
#[test]
fn the_source_column_is_whole_or_marked_cut_at_every_width() {
    let seed = Seed::new();
    let (mut s, _) = with_prefect(&seed);
    // A long error and a long run name take the width first.
    if let Some(r) = s.workflows.runs.iter_mut().find(|r| r.source == "prefect") {
        r.run.error = Some("x".repeat(300));
        if let Some(x) = r.run.external.as_mut() {
            x.name = "a-very-long-flow-run-name-ñ-日本-that-goes-on-and-on".into();
        }
    }
    for w in 60..=220u16 {
        let t = draw(&s, w, 40);
        let rows: Vec<String> = (0..40u16)
            .map(|y| (0..w).map(|x| t.backend().buffer()[(x, y)].symbol().to_string()).collect::<String>())
            .collect();
        let Some(header) = rows.iter().position(|r| r.contains("RUN ") && r.contains("WORKFLOW")) else { continue };
        let Some(col) = rows[header].find("SOURCE") else { continue };
        let col = rows[header][..col].chars().count();
        for r in &rows[header + 1..] {
            let cell: String = r.chars().skip(col).take_while(|c| *c != '│' && *c != '┃').collect();
            let cell = cell.trim();
            assert!(
                cell.is_empty() || ["prefect", "local"].contains(&cell) || cell.ends_with('…'),
                "width {w}: SOURCE cell {cell:?} in {r:?}"
            );
        }
    }
}
