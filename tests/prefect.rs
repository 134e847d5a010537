//! opsdeck's Prefect source against a real Prefect 3 server (issue 14):
//! flow runs made by real flow scripts appear live with their task runs and
//! logs; a failing flow shows failed with its message and raises an alert;
//! a deployment started from opsdeck runs and can be cancelled and retried;
//! the server stopped and started mid-run loses no state change and
//! duplicates none. The server and the flow scripts are tests/peers/prefect.rs.
//!
//! Waits are bounded by failure limits and wake on events, never on sleeps.

mod common;
mod peers;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use opsdeck::clock::{Clock, SystemClock};
use opsdeck::protocol::workflow::{Run, RunState, StepRun, WorkflowsCommand};
use opsdeck::protocol::{Envelope, Event};
use opsdeck::remote::client::ClientMsg;
use opsdeck::remote::prefect::model::FLOW_STEP;
use opsdeck::remote::prefect::{self, Api, Ended, PrefectSpec};
use peers::prefect::PrefectServer;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

/// A failure bound for what a flow run does (a short flow takes 2-4 s).
const LIMIT: Duration = Duration::from_secs(90);

/// One Prefect server at a time: five starting together (each migrating its
/// SQLite database, each with flow processes) on CI's two cores made the
/// servers answer 503 (database locked) and the runs slow.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What the source told so far, and the means to ask it.
struct Live {
    rx: mpsc::Receiver<ClientMsg>,
    asks: mpsc::Sender<prefect::Ask>,
    alerts: mpsc::Receiver<Ended>,
    answers: HashMap<String, oneshot::Sender<Result<Value, String>>>,
    /// Every run header announced, in order.
    runs: Vec<Run>,
    /// The latest of each step, by (run, step).
    steps: HashMap<(u64, String), StepRun>,
    /// Step output lines, by (run, step).
    output: HashMap<(u64, String), Vec<String>>,
    /// Workflow names of the last snapshot.
    workflows: Vec<String>,
    connected: bool,
    retrying: usize,
    next_id: u64,
}

impl Live {
    fn start(api_url: &str) -> Live {
        let spec = PrefectSpec { name: "pf".into(), url: api_url.into(), key: None, poll: Duration::from_secs(1) };
        let api = Api::new(spec).expect("client");
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let (tx, rx) = mpsc::channel(1024);
        let (asks, arx) = mpsc::channel(16);
        let (atx, alerts) = mpsc::channel(64);
        tokio::spawn(prefect::run(api, clock, tx, arx, Some(atx)));
        Live {
            rx,
            asks,
            alerts,
            answers: HashMap::new(),
            runs: Vec::new(),
            steps: HashMap::new(),
            output: HashMap::new(),
            workflows: Vec::new(),
            connected: false,
            retrying: 0,
            next_id: 0,
        }
    }

    /// [`start`](Self::start), then wait for the first connection.
    async fn connected(api_url: &str) -> Live {
        let mut live = Live::start(api_url);
        live.until("the first connection", |l| l.connected).await;
        live
    }

    fn take(&mut self, m: ClientMsg) {
        match m {
            ClientMsg::Connected(_) => self.connected = true,
            ClientMsg::Retrying { .. } => {
                self.connected = false;
                self.retrying += 1;
            }
            ClientMsg::Events(evs) => evs.iter().for_each(|e| self.event(e)),
            ClientMsg::CommandDone { id, result, .. } => {
                if let Some(tx) = self.answers.remove(&id) {
                    let _ = tx.send(result);
                }
            }
            _ => {}
        }
    }

    fn event(&mut self, env: &Envelope) {
        assert_eq!(env.source, "pf");
        match &env.event {
            Event::Workflows(s) => {
                self.workflows = s.workflows.iter().map(|w| w.name.clone()).collect();
                self.runs.extend(s.runs.iter().cloned());
                for (run, _, steps) in &s.active_steps {
                    for st in steps {
                        self.steps.insert((*run, st.id.clone()), st.clone());
                    }
                }
            }
            Event::RunChanged(r) => self.runs.push((**r).clone()),
            Event::StepChanged { run, step, .. } => {
                self.steps.insert((*run, step.id.clone()), (**step).clone());
            }
            Event::StepOutput { run, step, lines, .. } => {
                self.output.entry((*run, step.clone())).or_default().extend(lines.iter().cloned())
            }
            _ => {}
        }
    }

    /// The newest header of the run of `workflow` (the newest such run).
    fn latest(&self, workflow: &str) -> Option<&Run> {
        let id = self.runs.iter().rev().find(|r| r.workflow == workflow)?.id;
        self.runs.iter().rev().find(|r| r.id == id)
    }

    /// Take messages until `done` holds (panics after [`LIMIT`]).
    async fn until(&mut self, what: &str, done: impl Fn(&Live) -> bool) {
        let deadline = tokio::time::Instant::now() + LIMIT;
        while !done(self) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(m)) => self.take(m),
                Ok(None) => panic!("the source stopped while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}; runs seen: {:#?}", self.runs),
            }
        }
    }

    /// Ask a command and take messages until it is answered.
    async fn ask(&mut self, c: WorkflowsCommand) -> Result<Value, String> {
        self.next_id += 1;
        let id = format!("t{}", self.next_id);
        let (tx, mut rx) = oneshot::channel();
        self.answers.insert(id.clone(), tx);
        self.asks.send((id, c)).await.expect("the source takes commands");
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            if let Ok(r) = rx.try_recv() {
                return r;
            }
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(m)) => self.take(m),
                _ => panic!("no answer"),
            }
        }
    }
}

fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> tokio::task::JoinHandle<T> {
    tokio::task::spawn_blocking(f)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_runs_appear_live_with_task_runs_logs_and_failures() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = Arc::new(PrefectServer::start());
    let mut live = Live::connected(&server.api_url()).await;

    let s = server.clone();
    let ok = blocking(move || s.run_flow("ok_flow.py", &[]));
    live.until("ok-flow succeeded with its three tasks", |l| {
        l.latest("ok-flow").is_some_and(|r| r.state == RunState::Succeeded)
            && ["extract", "transform", "load"]
                .iter()
                .all(|t| l.steps.iter().any(|((_, id), st)| id.starts_with(t) && st.state == RunState::Succeeded))
    })
    .await;
    assert!(ok.await.unwrap().status.success());
    let run = live.latest("ok-flow").unwrap().clone();
    let x = run.external.clone().expect("a Prefect run says its own name");
    assert_eq!(x.state_name, "Completed");
    assert!(run.started.is_some() && run.ended >= run.started);

    // Its logs: the flow run's step has every line; a task's step its own.
    let v = live.ask(WorkflowsCommand::StepLog { run: run.id, attempt: None, step: FLOW_STEP.into() }).await.unwrap();
    let lines: Vec<String> = serde_json::from_value(v["lines"].clone()).unwrap();
    assert!(lines.iter().any(|l| l.contains("naïve ✓ 日本")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains("INFO") && l.contains("[extract")), "{lines:#?}");
    let d = live.ask(WorkflowsCommand::ShowRun { run: run.id, attempt: None }).await.unwrap();
    let steps: Vec<StepRun> = serde_json::from_value(d["steps"].clone()).unwrap();
    assert_eq!(steps[0].id, FLOW_STEP);
    let names: Vec<&str> = steps[1..].iter().map(|s| s.id.split('-').next().unwrap()).collect();
    assert_eq!(names, ["extract", "transform", "load"], "task runs in the order they started");

    let s = server.clone();
    let fail = blocking(move || s.run_flow("fail_flow.py", &[]));
    live.until("fail-flow failed", |l| l.latest("fail-flow").is_some_and(|r| r.state == RunState::Failed)).await;
    assert!(!fail.await.unwrap().status.success());
    let run = live.latest("fail-flow").unwrap().clone();
    assert!(run.error.as_deref().unwrap_or_default().contains("kaboom: intentional failure 42"), "{run:?}");
    let boom = live.steps.iter().find(|((r, id), _)| *r == run.id && id.starts_with("boom")).expect("the boom task").1;
    assert_eq!(boom.state, RunState::Failed);
    assert!(boom.error.as_deref().unwrap_or_default().contains("kaboom"), "{boom:?}");
    // Watched runs that ended go to the alert engine.
    let mut ended = Vec::new();
    while let Ok(e) = live.alerts.try_recv() {
        ended.push(e);
    }
    assert!(ended.iter().any(|e| matches!(e, Ended::Failed(r) if r.workflow == "fail-flow")), "{ended:?}");
    assert!(ended.iter().any(|e| matches!(e, Ended::Succeeded(r) if r.workflow == "ok-flow")), "{ended:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_is_started_cancelled_and_retried_from_opsdeck() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = Arc::new(PrefectServer::start());
    let _runner = server.serve("serve_flows.py");
    let mut live = Live::start(&server.api_url());
    live.until("the deployments", |l| l.workflows.iter().any(|w| w == "long-flow/long-deploy")).await;

    // Start with a parameter from the form; cancel while it runs.
    let mut inputs = serde_json::Map::new();
    inputs.insert("seconds".into(), json!(60));
    let c = WorkflowsCommand::StartRun { workflow: "long-flow/long-deploy".into(), inputs, by: "tester".into() };
    let v = live.ask(c).await.unwrap();
    let id = v["run"].as_u64().unwrap();
    live.until("the long run running", |l| l.runs.iter().any(|r| r.id == id && r.state == RunState::Running)).await;
    assert_eq!(live.runs.iter().rev().find(|r| r.id == id).unwrap().inputs["seconds"], json!(60));
    live.ask(WorkflowsCommand::CancelRun { run: id }).await.unwrap();
    live.until("the long run cancelled", |l| l.runs.iter().any(|r| r.id == id && r.state == RunState::Cancelled)).await;
    let refused = live.ask(WorkflowsCommand::CancelRun { run: id }).await.unwrap_err();
    assert!(refused.contains("nothing to cancel"), "{refused}");

    // A failing deployment run, retried as Prefect's UI retries: attempt 2 fails again.
    let c = WorkflowsCommand::StartRun {
        workflow: "fail-flow/fail-deploy".into(),
        inputs: Default::default(),
        by: String::new(),
    };
    let id = live.ask(c).await.unwrap()["run"].as_u64().unwrap();
    live.until("the failing run failed", |l| l.runs.iter().any(|r| r.id == id && r.state == RunState::Failed)).await;
    let c = WorkflowsCommand::RerunRun { run: id, from: Default::default(), current: false, inputs: None };
    live.ask(c).await.unwrap();
    live.until("attempt 2 failed", |l| {
        l.runs.iter().any(|r| r.id == id && r.attempt == 2 && r.state == RunState::Failed)
    })
    .await;
    // Its first attempt, rebuilt from Prefect's state history: failed, with its task run and log.
    let d = live.ask(WorkflowsCommand::ShowRun { run: id, attempt: Some(1) }).await.unwrap();
    let d: opsdeck::protocol::workflow::RunDetail = serde_json::from_value(d).unwrap();
    assert_eq!((d.run.attempt, d.run.state), (1, RunState::Failed), "{:?}", d.run);
    assert!(d.run.started.is_some() && d.run.ended >= d.run.started);
    assert!(d.steps.iter().any(|s| s.id == "boom" && s.state == RunState::Failed), "{:?}", d.steps);
    let v = live.ask(WorkflowsCommand::StepLog { run: id, attempt: Some(1), step: "boom".into() }).await.unwrap();
    let lines: Vec<String> = serde_json::from_value(v["lines"].clone()).unwrap();
    assert!(lines.iter().any(|l| l.contains("kaboom: intentional failure 42")), "{lines:#?}");
    let e = live.ask(WorkflowsCommand::ShowRun { run: id, attempt: Some(7) }).await.unwrap_err();
    assert!(e.contains("no attempt 7"), "{e}");
    // A wrong parameter type: Prefect's own words.
    let mut bad = serde_json::Map::new();
    bad.insert("seconds".into(), json!("soon"));
    let e = live
        .ask(WorkflowsCommand::StartRun { workflow: "long-flow/long-deploy".into(), inputs: bad, by: String::new() })
        .await
        .unwrap_err();
    assert!(e.contains("409") && e.contains("seconds"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_mid_run_loses_no_state_change_and_duplicates_none() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = Arc::new(std::sync::Mutex::new(PrefectServer::start()));
    let api_url = server.lock().unwrap().api_url();
    let mut live = Live::connected(&api_url).await;
    let _flow = server.lock().unwrap().spawn_flow("long_flow.py", &["15"]);
    live.until("long-flow running", |l| l.latest("long-flow").is_some_and(|r| r.state == RunState::Running)).await;
    let id = live.latest("long-flow").unwrap().id;

    let s = server.clone();
    blocking(move || s.lock().unwrap().stop()).await.unwrap();
    live.until("the source offline", |l| l.retrying > 0).await;
    let s = server.clone();
    blocking(move || s.lock().unwrap().start_again()).await.unwrap();
    live.until("long-flow completed", |l| l.latest("long-flow").is_some_and(|r| r.state == RunState::Succeeded)).await;

    // Every state change announced once, in order, never back (a header
    // announced again for a new task run keeps its state).
    let mut states: Vec<String> = live.runs.iter().filter(|r| r.id == id).map(|r| r.state_name().to_string()).collect();
    states.dedup();
    let mut once = states.clone();
    once.sort();
    once.dedup();
    assert_eq!(once.len(), states.len(), "a state came back: {states:?}");
    assert_eq!(states.last().map(String::as_str), Some("Completed"), "{states:?}");
    assert!(states.iter().any(|s| s == "Running"), "{states:?}");
    // The task's end may have been lost while the server was down: then it
    // is marked so, never left running under an ended flow run.
    let tick = live.steps.iter().find(|((r, s), _)| *r == id && s.starts_with("tick")).expect("the tick task").1;
    assert!(matches!(tick.state, RunState::Succeeded | RunState::Interrupted), "{tick:?}");
    eprintln!("states {states:?}; tick {:?} {:?}; reconnects {}", tick.state, tick.error, live.retrying);
}

/// `opsdeck runs` lists Prefect's runs beside the local ones (a SOURCE
/// column), `--source NAME` only those, `runs show` one by its name with its
/// task runs and `--log flow-run` its logs; the TUI shows them in the runs
/// pane with Prefect's state names, and the source in the status bar.
#[test]
fn opsdeck_runs_and_the_tui_show_prefect_runs() {
    let _one = ONE_AT_A_TIME.blocking_lock();
    let server = PrefectServer::start();
    assert!(server.run_flow("ok_flow.py", &[]).status.success());
    assert!(!server.run_flow("fail_flow.py", &[]).status.success());
    let env = common::OpsdeckEnv::new();
    env.write_config(&format!("[[prefect]]\nname = \"pf\"\nurl = \"{}\"\npoll = \"1s\"\n", server.api_url()));
    let run = |args: &[&str]| {
        let out = common::output_within(env.command(args), LIMIT);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, all, err) = run(&["runs"]);
    assert!(ok, "{err}");
    assert!(
        all.contains("SOURCE") && all.contains("fail-flow") && all.contains("✗ Failed") && all.contains(" pf"),
        "{all}"
    );
    let (ok, json, err) = run(&["runs", "--source", "pf", "--json"]);
    assert!(ok, "{err}");
    let v: Vec<Value> = serde_json::from_str(&json).expect("JSON");
    assert_eq!(v.len(), 2, "{json}");
    assert!(v.iter().all(|r| r["source"] == "pf"));
    let failed = v.iter().find(|r| r["workflow"] == "fail-flow").expect("the failed run");
    let name = failed["external"]["name"].as_str().expect("its Prefect name").to_string();
    let (ok, shown, err) = run(&["runs", "show", "--source", "pf", &name]);
    assert!(ok, "{err}");
    assert!(shown.contains(&format!("run {name}")) && shown.contains("boom") && shown.contains("kaboom"), "{shown}");
    let (ok, log, err) = run(&["runs", "show", "--source", "pf", &name, "--log", "flow-run"]);
    assert!(ok, "{err}");
    assert!(log.contains("ERROR") && log.contains("kaboom: intentional failure 42"), "{log}");
    let id = failed["external"]["id"].as_str().unwrap();
    let (ok, _, _) = run(&["runs", "show", "--source", "pf", id]);
    assert!(ok, "a run by its Prefect id too");
    let (ok, _, err) = run(&["runs", "show", "--source", "pf", "no-such-run"]);
    assert!(!ok && err.contains("no flow run named"), "{err}");
    let (ok, _, err) = run(&["runs", "cancel", "--source", "pf", &name]);
    assert!(!ok && err.contains("nothing to cancel"), "{err}");
    let (ok, _, err) = run(&["runs", "--source", "nope"]);
    assert!(!ok && err.contains("no source is named"), "{err}");

    let mut app = env.pty(&[], 120, 40);
    common::expect_ok(app.send("2"));
    // The whole list painted: both runs with their states, the source column, the source live.
    let screen = common::expect_ok(app.wait_for("both Prefect runs", LIMIT, |s| {
        s.contains("✗ Failed") && s.contains("✓ Completed") && s.contains(&name) && s.contains("● pf live")
    }));
    assert!(screen.contains("fail-flow") && screen.contains("SOURCE"), "{screen}");
    common::quit_cleanly(&mut app);
}

/// A flow that pauses itself waits for a person: it shows `⏸ Paused`, and an
/// approval from opsdeck resumes it (Prefect's resume); it then completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_flow_run_is_resumed_by_an_approval() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = Arc::new(PrefectServer::start());
    let mut live = Live::connected(&server.api_url()).await;
    let _flow = server.spawn_flow("pause_flow.py", &[]);
    live.until("pause-flow paused", |l| l.latest("pause-flow").is_some_and(|r| r.state == RunState::Waiting)).await;
    let run = live.latest("pause-flow").unwrap().clone();
    assert_eq!(run.state_name(), "Paused");
    let approve =
        |run| WorkflowsCommand::Approve { run, step: FLOW_STEP.into(), by: "tester".into(), note: String::new() };
    live.ask(approve(run.id)).await.unwrap();
    live.until("pause-flow completed", |l| l.latest("pause-flow").is_some_and(|r| r.state == RunState::Succeeded))
        .await;
    let again = live.ask(approve(run.id)).await.unwrap_err();
    assert!(again.contains("only a paused run"), "{again}");
}
