//! Workflow commands through a backend's outbox, over the wire to a real
//! `opsdeck serve` (issue 12, Tests: "the outbox path while the server is
//! down"): a `start_run` queued while the backend is down is delivered when
//! it comes up, and a redelivery of it (its ack lost) starts nothing more —
//! one run, one side effect. The TUI's side is in e2e_workflows.rs.

use std::sync::Arc;

use opsdeck::clock::SystemClock;
use opsdeck::engine::store::Store;
use opsdeck::engine::{Engine, EngineConfig};
use opsdeck::protocol::workflow::{RunState, WorkflowsCommand};
use opsdeck::protocol::{Command, Event};
use opsdeck::remote::client::{self, BackendSpec, ClientMsg};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio::time::timeout;

mod wire;

use wire::{LIMIT, start_at};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

async fn next_msg(rx: &mut mpsc::Receiver<ClientMsg>) -> ClientMsg {
    timeout(LIMIT, rx.recv()).await.expect("a client message within the limit").expect("client running")
}

/// The answer of command `id`, and whether the run it started was seen succeed on the way.
async fn answer_of(rx: &mut mpsc::Receiver<ClientMsg>, id: &str, succeeded: &mut bool) -> Result<Value, String> {
    loop {
        match next_msg(rx).await {
            ClientMsg::CommandDone { id: got, result, .. } if got == id => return result,
            ClientMsg::Events(evs) => *succeeded |= ran_once(&evs),
            _ => {}
        }
    }
}

fn ran_once(evs: &[Arc<opsdeck::protocol::Envelope>]) -> bool {
    evs.iter().any(|e| matches!(&e.event, Event::RunChanged(r) if r.id == 1 && r.state == RunState::Succeeded))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_queued_while_the_backend_is_down_runs_once_even_when_delivered_twice() {
    // Events keep coming (host samples): a bound on the whole, not only on each message.
    timeout(LIMIT * 3, queued_start_runs_once()).await.expect("the test finished within its bound");
}

async fn queued_start_runs_once() {
    let serve_home = tempfile::tempdir().expect("tempdir");
    let marks = serve_home.path().join("marks.txt");
    let dir = serve_home.path().join("config/opsdeck/workflows");
    std::fs::create_dir_all(&dir).expect("workflows dir");
    let ping = format!(
        "name = \"ping\"\n\n[[step]]\nid = \"mark\"\nuses = \"shell\"\nwith = {{ command = 'echo ran >> \"{}\"' }}\n",
        marks.display()
    );
    std::fs::write(dir.join("ping.toml"), ping).expect("ping.toml");
    let local = tempfile::tempdir().expect("tempdir");
    let engine =
        Engine::new(Store::open(local.path(), 1 << 20).expect("store"), EngineConfig::default(), Arc::new(SystemClock))
            .expect("engine");
    let listen = format!("127.0.0.1:{}", free_port());

    // Down: the start waits in the persisted outbox.
    let start = Command::Workflows(WorkflowsCommand::StartRun {
        workflow: "ping".into(),
        inputs: Map::new(),
        by: "ops".into(),
    });
    assert!(start.changes_state(), "a start is queued, not refused as a read");
    engine.store().outbox_push("edge", "q-1", &start).expect("queue");
    let (kick_tx, kick) = mpsc::channel(4);
    let (tx, mut rx) = mpsc::channel(256);
    let spec = BackendSpec::new("edge", format!("ws://{listen}"), None);
    let outbox = client::Outbox { records: opsdeck::remote::control::Records::Engine(engine.clone()), kick };
    let (reconnect_tx, reconnect) = mpsc::channel(1);
    tokio::spawn(client::run_with_outbox(spec, Arc::new(SystemClock), tx, Some(outbox), Some(reconnect)));
    while !matches!(next_msg(&mut rx).await, ClientMsg::Retrying { .. }) {}
    kick_tx.send(()).await.expect("kick");
    assert_eq!(engine.store().outbox_list("edge").expect("list").len(), 1, "still queued while down");

    // Up: delivered, answered with the new run, dropped from the outbox.
    let _server = start_at(serve_home.path(), &listen, &["--no-auth"]);
    let mut succeeded = false;
    let first = answer_of(&mut rx, "q-1", &mut succeeded).await;
    assert_eq!(first, Ok(json!({"run": 1})));
    while !succeeded {
        if let ClientMsg::Events(evs) = next_msg(&mut rx).await {
            succeeded = ran_once(&evs);
        }
    }
    assert!(engine.store().outbox_list("edge").expect("list").is_empty());

    // The same command again on a new connection (as after an ack lost
    // with the link): the backend answers the first run and starts nothing.
    engine.store().outbox_push("edge", "q-1", &start).expect("queue again");
    reconnect_tx.send(client::Reconnect { token: None }).await.expect("reconnect");
    let again = answer_of(&mut rx, "q-1", &mut succeeded).await;
    assert_eq!(again, first, "the first answer, replayed");
    let list = Command::Workflows(WorkflowsCommand::ListRuns { workflow: None, state: None, before: None, limit: 100 });
    assert!(!list.changes_state());
    engine.store().outbox_push("edge", "q-2", &list).expect("queue the listing");
    kick_tx.send(()).await.expect("kick");
    let runs = answer_of(&mut rx, "q-2", &mut succeeded).await.expect("runs listed");
    let ids: Vec<u64> = runs.as_array().expect("an array").iter().filter_map(|r| r["id"].as_u64()).collect();
    assert_eq!(ids, [1], "one run: {runs}");
    let text = std::fs::read_to_string(&marks).expect("marks");
    assert_eq!(text.lines().count(), 1, "the step ran once: {text:?}");
}
