use crate::protocol::ToolsCommand;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use super::*;
use crate::clock::FixedClock;
use crate::engine::{CommandError, EngineConfig};
use crate::protocol::{Command, Event, Topic};

/// A log that keeps what it is given, with each call's `prune`.
#[derive(Default)]
struct Kept(Mutex<Vec<(ToolRun, bool)>>);

impl RunLog for Kept {
    fn record(&self, run: &ToolRun, prune: bool) -> Result<(), String> {
        self.0.lock().unwrap().push((run.clone(), prune));
        Ok(())
    }
}

impl Kept {
    fn runs(&self) -> Vec<(ToolRun, bool)> {
        self.0.lock().unwrap().clone()
    }
}

const T0: i64 = 1_800_000_000_000;

fn service(log: &Arc<Kept>) -> ToolService {
    let (_tx, registry) = watch::channel(Registry::with_builtins(crate::jq::JqRunner::in_process()));
    ToolService::new(registry, Some(log.clone() as Arc<dyn RunLog>), Arc::new(FixedClock(T0)))
}

fn request(run: &str, tool: &str, args: Value) -> RunRequest {
    let opts = RunOptions { confirmed: true, read_only: false };
    RunRequest { run: run.into(), tool: tool.into(), args, opts, origin: RunOrigin::Cli }
}

/// Every event of one run, up to and with its `Finished`.
async fn until_finished(rx: &mut mpsc::Receiver<ToolEvent>) -> (Vec<Vec<String>>, ToolEvent) {
    let mut batches = Vec::new();
    while let Some(e) = rx.recv().await {
        match e {
            ToolEvent::Output { lines, .. } => batches.push(lines),
            done @ ToolEvent::Finished { .. } => return (batches, done),
        }
    }
    panic!("the run ended without a Finished event");
}

#[tokio::test]
async fn a_run_streams_its_output_and_is_recorded_once() {
    let log = Arc::new(Kept::default());
    let svc = service(&log);
    let (tx, mut rx) = mpsc::channel(16);
    svc.run(request("r1", "shell", json!({"command": "printf 'one\\ntwo\\n'"})), tx).unwrap();
    let (batches, done) = until_finished(&mut rx).await;
    assert_eq!(batches.concat(), ["one", "two"]);
    let ToolEvent::Finished { run, record, ran, result, unrecorded } = done else { unreachable!() };
    assert_eq!((run.as_str(), ran, unrecorded), ("r1", true, None));
    assert_eq!(result.unwrap()["exit_code"], 0);
    assert!(record.ok, "{record:?}");
    assert_eq!((record.started, record.origin), (T0, RunOrigin::Cli), "stamped by the injected clock");
    assert_eq!(record.output, ["one", "two"]);
    let kept = log.runs();
    assert_eq!(kept.len(), 1, "recorded once");
    assert_eq!(kept[0], (*record, true), "the service's first run prunes the history");
    assert_eq!(svc.in_flight(), 0);
}

#[tokio::test]
async fn a_run_is_cancelled_by_its_id_and_recorded_as_cancelled() {
    let log = Arc::new(Kept::default());
    let svc = service(&log);
    let (tx, mut rx) = mpsc::channel(16);
    svc.run(request("slow", "shell", json!({"command": "echo started; exec sleep 60"})), tx.clone()).unwrap();
    let Some(ToolEvent::Output { lines, .. }) = rx.recv().await else { panic!("output first") };
    assert_eq!(lines, ["started"]);
    assert!(!svc.cancel("other"), "only the run named");
    let busy = svc.run(request("slow", "text_stats", json!({"text": "a"})), tx.clone());
    assert_eq!(busy, Err(ServiceError::Busy("slow".into())), "an id in flight is not reused");
    assert!(svc.cancel("slow"));
    assert!(!svc.cancel("slow"), "cancelled once");
    let (_, done) = until_finished(&mut rx).await;
    let ToolEvent::Finished { record, ran, .. } = done else { unreachable!() };
    assert!(ran, "a cancelled run ran");
    assert_eq!((record.ok, record.outcome.clone()), (false, json!(CANCELLED)));
    assert_eq!(log.runs().len(), 1);
    assert_eq!(svc.in_flight(), 0, "a finished run is forgotten");
    assert!(!svc.cancel("slow"));
}

#[tokio::test]
async fn usage_errors_and_refusals_are_not_recorded() {
    let log = Arc::new(Kept::default());
    let svc = service(&log);
    let (tx, mut rx) = mpsc::channel(16);
    let unconfirmed = RunRequest { opts: RunOptions::default(), ..request("c", "shell", json!({"command": "true"})) };
    for req in [
        request("a", "no_such_tool", json!({})),
        request("b", "tcp_check", json!({"hots": "x", "port": 1})),
        unconfirmed,
        RunRequest { opts: RunOptions { confirmed: true, read_only: true }, ..request("d", "shell", json!({})) },
    ] {
        svc.run(req, tx.clone()).unwrap();
        let (batches, done) = until_finished(&mut rx).await;
        let ToolEvent::Finished { ran, record, result, unrecorded, .. } = done else { unreachable!() };
        assert!(!ran, "{result:?}");
        assert!(batches.is_empty() && !record.ok && unrecorded.is_none());
    }
    assert!(log.runs().is_empty(), "nothing that did not run is kept");
}

/// A run printing far more than the history keeps: every line reaches the
/// caller, in batches of bounded size, and the record holds at most 64 KiB.
#[tokio::test]
async fn a_long_run_streams_every_line_and_records_at_most_the_cap() {
    let log = Arc::new(Kept::default());
    let svc = service(&log);
    let (tx, mut rx) = mpsc::channel(4);
    let line = "x".repeat(99);
    let cmd = format!("i=0; while [ $i -lt 6000 ]; do echo {line}; i=$((i+1)); done");
    svc.run(request("long", "shell", json!({ "command": cmd })), tx).unwrap();
    let (batches, done) = until_finished(&mut rx).await;
    assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 6000, "every line arrives");
    assert!(batches.iter().all(|b| b.len() <= BATCH_LINES && b.iter().map(String::len).sum::<usize>() <= BATCH_BYTES));
    assert!(batches.concat().iter().all(|l| *l == line));
    let ToolEvent::Finished { record, .. } = done else { unreachable!() };
    let kept: usize = record.output.iter().map(String::len).sum();
    assert!(kept <= crate::engine::tools::HISTORY_OUTPUT_CAP, "{kept}");
    assert_eq!(record.output.len(), crate::engine::tools::HISTORY_OUTPUT_CAP / 99);
    assert!(record.truncated);
    assert_eq!(log.runs()[0].0, *record);
}

/// 101 runs: none stays in the map once finished, and the history is
/// pruned on the first and the 101st.
#[tokio::test]
async fn finished_runs_are_forgotten_and_the_history_pruned_every_100() {
    let log = Arc::new(Kept::default());
    let svc = service(&log);
    let (tx, mut rx) = mpsc::channel(64);
    for i in 0..101 {
        svc.run(request(&format!("r{i}"), "text_stats", json!({"text": "a b"})), tx.clone()).unwrap();
    }
    let mut finished = 0;
    while finished < 101 {
        if let Some(ToolEvent::Finished { .. }) = rx.recv().await {
            finished += 1;
        }
    }
    assert_eq!(svc.in_flight(), 0);
    let kept = log.runs();
    assert_eq!(kept.len(), 101);
    assert_eq!(kept.iter().filter(|(_, prune)| *prune).count(), 2);
    svc.run(request("r0", "text_stats", json!({"text": "again"})), tx).unwrap();
    assert_eq!(svc.in_flight(), 1, "an id is free again once its run finished");
}

#[test]
fn long_lines_are_cut_for_the_bus_on_a_char_boundary() {
    let line = "é".repeat(100);
    let cut = super::super::commands::cut_line(line.clone(), 101);
    assert!(cut.len() <= 101 + 40, "{}", cut.len());
    assert!(cut.starts_with("éé") && cut.ends_with("bytes cut)"), "{cut}");
    assert_eq!(super::super::commands::cut_line("short".into(), 101), "short");
}

fn engine(read_only: bool) -> Engine {
    let cfg = EngineConfig { read_only, ..EngineConfig::default() };
    Engine::new(Store::temporary().unwrap(), cfg, Arc::new(FixedClock(T0))).unwrap()
}

fn start_tools(engine: &Engine) {
    let (_tx, registry) = watch::channel(Registry::with_builtins(crate::jq::JqRunner::in_process()));
    engine.start_tools(ToolService::new(registry, Some(Arc::new(engine.clone())), Arc::new(FixedClock(T0))));
}

fn run_tool(run: &str, command: &str) -> Command {
    Command::Tools(ToolsCommand::RunTool {
        run: run.into(),
        tool: "shell".into(),
        args: json!({ "command": command }),
        confirmed: true,
    })
}

/// The bus events of run `run` until its end: (output lines, record).
async fn on_the_bus(
    rx: &mut tokio::sync::broadcast::Receiver<Arc<crate::protocol::Envelope>>,
) -> (Vec<String>, ToolRun) {
    let mut lines = Vec::new();
    loop {
        let env = rx.recv().await.unwrap();
        assert_eq!(env.topic, Topic::Tools);
        match &env.event {
            Event::ToolOutput { lines: l, .. } => lines.extend(l.iter().cloned()),
            Event::ToolFinished { record, .. } => return (lines, (**record).clone()),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn run_tool_publishes_output_and_the_end_on_the_bus() {
    let engine = engine(false);
    start_tools(&engine);
    let mut rx = engine.subscribe();
    let answer = engine.handle("c-1", run_tool("r1", "printf 'one\\ntwo\\n'")).unwrap();
    assert_eq!(answer, json!({"run": "r1"}), "answered at once");
    let (lines, record) = on_the_bus(&mut rx).await;
    assert_eq!(lines, ["one", "two"]);
    assert!(record.ok, "{record:?}");
    assert_eq!(engine.handle("c-1", run_tool("r1", "printf 'one\\ntwo\\n'")).unwrap(), answer, "a replay");
    // Cancel by id over the bus.
    engine.handle("c-2", run_tool("r2", "echo started; exec sleep 60")).unwrap();
    let env = rx.recv().await.unwrap();
    assert_eq!(env.event, Event::ToolOutput { run: "r2".into(), lines: vec!["started".into()] });
    let cancel = engine.handle("c-3", Command::Tools(ToolsCommand::CancelTool { run: "r2".into() })).unwrap();
    assert_eq!(cancel, json!({"run": "r2", "cancelled": true}));
    let (_, record) = on_the_bus(&mut rx).await;
    assert_eq!(record.outcome, json!(CANCELLED));
    assert!(rx.try_recv().is_err(), "the replayed id ran nothing");
    assert_eq!(engine.store().tool_runs(10).unwrap().len(), 2, "both runs recorded by the service, once");
    // Usage errors are the command's error, not runs.
    let unknown = Command::Tools(ToolsCommand::RunTool {
        run: "r3".into(),
        tool: "nope".into(),
        args: Value::Null,
        confirmed: true,
    });
    let unconfirmed = Command::Tools(ToolsCommand::RunTool {
        run: "r4".into(),
        tool: "shell".into(),
        args: json!({"command": "true"}),
        confirmed: false,
    });
    for (i, c) in [unknown, unconfirmed].into_iter().enumerate() {
        let r = engine.handle(&format!("u-{i}"), c);
        assert!(matches!(r, Err(CommandError::Invalid(_))), "{r:?}");
    }
    assert_eq!(engine.tool_service().map(|s| s.in_flight()), Some(0));
}

#[tokio::test]
async fn a_read_only_engine_refuses_tool_runs_and_one_without_tools_says_so() {
    let engine = engine(true);
    start_tools(&engine);
    let mut rx = engine.subscribe();
    for (i, c) in [run_tool("r1", "echo hi"), Command::Tools(ToolsCommand::CancelTool { run: "r1".into() })]
        .into_iter()
        .enumerate()
    {
        assert!(c.changes_state());
        let r = engine.handle(&format!("c-{i}"), c);
        assert!(matches!(r, Err(CommandError::ReadOnly(_))), "{r:?}");
    }
    assert!(rx.try_recv().is_err(), "nothing ran, nothing published");
    let without = self::engine(false);
    let r = without.handle("c-1", run_tool("r1", "echo hi"));
    assert!(matches!(&r, Err(CommandError::Invalid(m)) if m.contains("runs no tools")), "{r:?}");
}
