use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use super::*;
use crate::clock::FixedClock;
use crate::engine::store::Store;
use crate::engine::tools::Registry;
use crate::engine::tools::service::RunLog;
use crate::protocol::chain::{Link, Step};

const T0: i64 = 1_800_000_000_000;

/// A chain runner over the built-ins whose runs are recorded in `store`.
fn runner(store: &Arc<Store>) -> ChainRunner {
    let jq = JqRunner::in_process();
    let (_tx, registry) = watch::channel(Registry::with_builtins(jq.clone()));
    let log: Arc<dyn RunLog> = store.clone();
    ChainRunner::new(ToolService::new(registry, Some(log), Arc::new(FixedClock(T0))), jq)
}

fn step(tool: &str, args: Value, link: Option<(&str, &str)>) -> Step {
    let link = link.map(|(filter, arg)| Link { filter: filter.into(), arg: arg.into() });
    Step { tool: tool.into(), args, link }
}

fn request(id: &str, steps: Vec<Step>) -> ChainRequest {
    let opts = RunOptions { confirmed: true, read_only: false };
    ChainRequest { id: id.into(), chain: Chain { name: "probe".into(), steps }, opts, origin: RunOrigin::Pane }
}

/// Every event of a chain, up to and with its `Ended`.
async fn events(rx: &mut mpsc::Receiver<ChainEvent>) -> Vec<ChainEvent> {
    let mut all = Vec::new();
    while let Some(e) = rx.recv().await {
        let end = matches!(e, ChainEvent::Ended { .. });
        all.push(e);
        if end {
            return all;
        }
    }
    panic!("the chain ended without an Ended event: {all:?}");
}

/// The steps started: (step, run, tool, args).
fn started(events: &[ChainEvent]) -> Vec<(usize, String, String, Value)> {
    events
        .iter()
        .filter_map(|e| match e {
            ChainEvent::StepStarted { step, run, tool, args, .. } => {
                Some((*step, run.clone(), tool.clone(), args.clone()))
            }
            _ => None,
        })
        .collect()
}

fn ended(events: &[ChainEvent]) -> Result<usize, String> {
    match events.last() {
        Some(ChainEvent::Ended { result, .. }) => result.clone(),
        other => panic!("{other:?}"),
    }
}

/// text_stats → data_query (its top terms) → text_stats (the joined terms).
fn three_steps() -> Vec<Step> {
    vec![
        step("text_stats", json!({"text":"error one\nerror two\nwarn error"}), None),
        step("data_query", json!({"filter":"[.[].term] | join(\" \")"}), Some((".top_terms", "input"))),
        step("text_stats", json!({}), Some((".results[0]", "text"))),
    ]
}

#[tokio::test]
async fn steps_run_in_order_with_the_linked_values_each_recorded_once() {
    let store = Arc::new(Store::temporary().unwrap());
    let chains = runner(&store);
    let (tx, mut rx) = mpsc::channel(64);
    chains.run(request("c1", three_steps()), tx).unwrap();
    let all = events(&mut rx).await;
    assert_eq!(ended(&all), Ok(3), "{all:?}");
    let steps = started(&all);
    let runs: Vec<_> = steps.iter().map(|s| (s.0, s.1.as_str(), s.2.as_str())).collect();
    assert_eq!(runs, vec![(1, "c1.1", "text_stats"), (2, "c1.2", "data_query"), (3, "c1.3", "text_stats")]);
    let terms: Value = serde_json::from_str(steps[1].3["input"].as_str().expect("typed as text")).unwrap();
    assert_eq!(terms[0], json!({"term":"error","count":3}), "{terms}");
    assert_eq!(steps[1].3["filter"], json!("[.[].term] | join(\" \")"), "the fixed arguments are kept");
    assert_eq!(steps[2].3, json!({"text":"error one two warn"}));
    let selecting: Vec<_> = all
        .iter()
        .filter_map(|e| match e {
            ChainEvent::Selecting { step, filter, .. } => Some((*step, filter.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(selecting, vec![(2, ".top_terms"), (3, ".results[0]")]);
    // Each step's Finished comes after its start and before the next one.
    let order: Vec<String> = all
        .iter()
        .filter_map(|e| match e {
            ChainEvent::StepStarted { step, .. } => Some(format!("start {step}")),
            ChainEvent::Step { step, event: ToolEvent::Finished { run, .. }, .. } => Some(format!("end {step} {run}")),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["start 1", "end 1 c1.1", "start 2", "end 2 c1.2", "start 3", "end 3 c1.3"]);
    let recorded = store.tool_runs(10).unwrap();
    let tools: Vec<_> = recorded.iter().rev().map(|r| r.tool.as_str()).collect();
    assert_eq!(tools, ["text_stats", "data_query", "text_stats"], "every step recorded once");
    assert_eq!(recorded[0].outcome["words"], 4);
    assert_eq!(chains.in_flight(), 0);
}

#[tokio::test]
async fn a_failing_middle_step_stops_the_chain_and_says_why() {
    let store = Arc::new(Store::temporary().unwrap());
    let chains = runner(&store);
    let mut steps = three_steps();
    steps[1].args = json!({"filter":"error(\"boom\")"});
    let (tx, mut rx) = mpsc::channel(64);
    chains.run(request("c2", steps), tx).unwrap();
    let all = events(&mut rx).await;
    let why = ended(&all).unwrap_err();
    assert!(why.starts_with("✗ chain probe stopped at step 2/3 (data_query): "), "{why}");
    assert!(why.contains("boom"), "{why}");
    assert_eq!(started(&all).len(), 2, "step 3 never starts");
    assert_eq!(store.tool_runs(10).unwrap().len(), 2);
}

#[tokio::test]
async fn an_unreadable_link_stops_the_chain_before_its_step() {
    let store = Arc::new(Store::temporary().unwrap());
    let chains = runner(&store);
    let mut steps = three_steps();
    steps[1].link = Some(Link { filter: ".[".into(), arg: "input".into() });
    let (tx, mut rx) = mpsc::channel(64);
    chains.run(request("c3", steps), tx).unwrap();
    let all = events(&mut rx).await;
    let why = ended(&all).unwrap_err();
    assert!(why.starts_with("✗ chain probe stopped at step 2/3 (data_query): "), "{why}");
    assert!(why.contains("cannot parse"), "{why}");
    assert_eq!(started(&all).len(), 1);
    assert_eq!(store.tool_runs(10).unwrap().len(), 1);
}

#[tokio::test]
async fn cancel_stops_the_step_in_flight_and_starts_no_other() {
    let store = Arc::new(Store::temporary().unwrap());
    let chains = runner(&store);
    let steps = vec![
        step("shell", json!({"command":"echo started; sleep 30"}), None),
        step("text_stats", json!({"text":"never"}), None),
    ];
    let (tx, mut rx) = mpsc::channel(64);
    chains.run(request("c4", steps), tx).unwrap();
    // Cancelled once the step is known to run (its first line arrived).
    let mut all = Vec::new();
    while let Some(e) = rx.recv().await {
        let printed = matches!(&e, ChainEvent::Step { event: ToolEvent::Output { .. }, .. });
        all.push(e);
        if printed {
            break;
        }
    }
    assert!(chains.cancel("c4"));
    assert!(!chains.cancel("c4"), "once");
    all.extend(events(&mut rx).await);
    assert_eq!(ended(&all), Err("✗ chain probe stopped at step 1/2 (shell): cancelled".into()));
    assert_eq!(started(&all).len(), 1, "no further step starts");
    let recorded = store.tool_runs(10).unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].outcome, json!(CANCELLED));
    assert!(!chains.cancel("c4"), "an ended chain is forgotten");
}

#[tokio::test]
async fn a_chain_id_runs_once_at_a_time_and_an_empty_chain_is_refused() {
    let store = Arc::new(Store::temporary().unwrap());
    let chains = runner(&store);
    let (tx, mut rx) = mpsc::channel(64);
    let slow = vec![step("shell", json!({"command":"sleep 30"}), None)];
    chains.run(request("c5", slow.clone()), tx.clone()).unwrap();
    assert_eq!(chains.run(request("c5", slow), tx.clone()), Err(ChainError::Busy("c5".into())));
    assert_eq!(chains.run(request("c6", Vec::new()), tx), Err(ChainError::Empty));
    assert!(chains.cancel("c5"));
    assert!(ended(&events(&mut rx).await).is_err());
}

#[tokio::test]
async fn a_step_the_service_cannot_start_stops_the_chain_unstarted() {
    let store = Arc::new(Store::temporary().unwrap());
    let chains = runner(&store);
    // The id of the chain's first step is taken by a run in flight.
    let (rtx, mut rrx) = mpsc::channel(16);
    let opts = RunOptions { confirmed: true, read_only: false };
    let busy = RunRequest {
        run: "c7.1".into(),
        tool: "shell".into(),
        args: json!({"command":"sleep 30"}),
        opts,
        origin: RunOrigin::Cli,
    };
    chains.service().run(busy, rtx).unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    chains.run(request("c7", vec![step("text_stats", json!({"text":"a"}), None)]), tx).unwrap();
    let all = events(&mut rx).await;
    assert!(started(&all).is_empty(), "never said started: {all:?}");
    assert_eq!(
        ended(&all),
        Err("✗ chain probe stopped at step 1/1 (text_stats): a tool run with id \"c7.1\" is already running".into())
    );
    assert!(chains.service().cancel("c7.1"));
    assert!(matches!(rrx.recv().await, Some(ToolEvent::Finished { .. })));
}
