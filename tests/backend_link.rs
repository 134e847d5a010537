//! B7: how a backend connection behaves when the backend misbehaves — one
//! that welcomes and then drops us still backs off; a refused token is
//! reported as refused (with the fix) and retried slowly; a reconnect request
//! skips the wait and uses the token read again.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use opsdeck::clock::{Clock, SystemClock};
use opsdeck::protocol::wire::{ServerFrame, encode};
use opsdeck::remote::client::{self, BackendSpec, ClientMsg, REFUSED_BASE, Reconnect};
use tokio::sync::mpsc;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

mod wire;

use wire::{LIMIT, start};

async fn next_msg(rx: &mut mpsc::Receiver<ClientMsg>) -> ClientMsg {
    timeout(LIMIT, rx.recv()).await.expect("a client message within the limit").expect("client running")
}

/// The accepted side of a fake backend's WebSocket.
type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A fake backend on a loopback port: each connection is upgraded and handed
/// to `serve` with a sender for what the test should see (the `subscribe`
/// frames it got, as JSON). Returns the address and that receiver.
async fn fake_backend<F, Fut>(serve: F) -> (std::net::SocketAddr, mpsc::UnboundedReceiver<serde_json::Value>)
where
    F: Fn(Ws, mpsc::UnboundedSender<serde_json::Value>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (seen, rx) = mpsc::unbounded_channel();
    let serve = Arc::new(serve);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (serve, seen) = (serve.clone(), seen.clone());
            tokio::spawn(async move {
                let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else { return };
                serve(ws, seen).await;
            });
        }
    });
    (addr, rx)
}

/// A backend that accepts, says `welcome`, and closes at once — forever.
async fn welcome_then_drop() -> std::net::SocketAddr {
    let (addr, _seen) = fake_backend(|mut ws, _seen| async move {
        let _ = ws.next().await; // subscribe
        let welcome = ServerFrame::Welcome { protocol: 1, source: "local".into(), epoch: 7, head_seq: 0 };
        let _ = ws.send(Message::Text(encode(&welcome).into())).await;
        let _ = ws.close(None).await;
    })
    .await;
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_that_drops_right_after_welcome_still_backs_off() {
    let addr = welcome_then_drop().await;
    let (tx, mut rx) = mpsc::channel(64);
    tokio::spawn(client::run(BackendSpec::new("flappy", format!("ws://{addr}"), None), Arc::new(SystemClock), tx));
    let mut attempts = Vec::new();
    let mut welcomed = 0;
    while attempts.len() < 4 {
        match next_msg(&mut rx).await {
            ClientMsg::Retrying { attempt, .. } => attempts.push(attempt),
            ClientMsg::Connected(_) => welcomed += 1,
            _ => {}
        }
    }
    assert_eq!(welcomed, 4, "every attempt was welcomed");
    // Before the fix each welcome reset the count: 1, 1, 1, 1 — a reconnect
    // storm at the shortest delay.
    assert_eq!(attempts, vec![1, 2, 3, 4], "the count grows until the link has been stable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_shown_retried_slowly_and_fixed_by_a_reconnect() {
    let home = tempfile::tempdir().expect("tempdir");
    let server = start(home.path(), &["--token", "right-token"]);
    let (tx, mut rx) = mpsc::channel(64);
    let (reconnect_tx, reconnect) = mpsc::channel(1);
    let spec = BackendSpec::new("lab", format!("ws://{}", server.addr), Some("wrong-token".into()));
    tokio::spawn(client::run_with_outbox(spec, Arc::new(SystemClock), tx, None, Some(reconnect)));
    loop {
        match next_msg(&mut rx).await {
            ClientMsg::Refused { name, at, status, error } => {
                assert_eq!((name.as_str(), status), ("lab", 401));
                assert!(error.contains("opsdeck key set backend:lab"), "{error}");
                let wait = at - SystemClock.now_ms();
                assert!(wait >= (REFUSED_BASE / 2).as_millis() as i64 - 1000, "slow retry, not {wait} ms");
                break;
            }
            ClientMsg::Retrying { error, .. } => panic!("a refused token is not a lost link: {error}"),
            ClientMsg::Connected(_) => panic!("the wrong token connected"),
            _ => {}
        }
    }
    // The user sets the right token and presses the reconnect key: no wait.
    reconnect_tx.send(Reconnect { token: Some("right-token".into()) }).await.expect("client listening");
    loop {
        match next_msg(&mut rx).await {
            ClientMsg::Connected(name) => {
                assert_eq!(name, "lab");
                break;
            }
            ClientMsg::Refused { .. } | ClientMsg::Retrying { .. } => {
                panic!("the reconnect with the right token failed")
            }
            _ => {}
        }
    }
}

#[test]
fn refused_backoff_is_slow_and_capped() {
    assert!(client::refused_backoff(1, 0.0) >= REFUSED_BASE / 2);
    assert!(client::refused_backoff(1, 0.0) >= client::backoff(30, 1.0), "never faster than the slowest normal retry");
    assert_eq!(client::refused_backoff(40, 1.0), client::REFUSED_MAX);
}

/// The report of B7: a server with a failing health check sends `null` where
/// the check has no latency; the client must read it and stay connected —
/// not drop the link as a bad frame and reconnect forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_check_on_the_server_never_costs_the_connection() {
    let home = tempfile::tempdir().expect("tempdir");
    let alerts = home.path().join("config/opsdeck/alerts");
    std::fs::create_dir_all(&alerts).expect("alerts dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    std::fs::write(
        alerts.join("checks.toml"),
        format!("[[check]]\nname = \"closed_port\"\ntcp = \"127.0.0.1:{port}\"\ninterval = \"200ms\"\n"),
    )
    .expect("write rules");
    let server = start(home.path(), &["--token", "T"]);
    let (tx, mut rx) = mpsc::channel(64);
    let spec = BackendSpec::new("lab", format!("ws://{}", server.addr), Some("T".into()));
    tokio::spawn(client::run(spec, Arc::new(SystemClock), tx));
    let mut connected = 0;
    loop {
        match next_msg(&mut rx).await {
            ClientMsg::Connected(_) => connected += 1,
            ClientMsg::Retrying { error, .. } | ClientMsg::Refused { error, .. } => panic!("the link dropped: {error}"),
            ClientMsg::Events(evs) => {
                let firing = evs.iter().any(|e| match &e.event {
                    opsdeck::protocol::Event::Alerts(u) => u
                        .alerts
                        .iter()
                        .any(|a| a.rule == "closed_port" && a.state == opsdeck::protocol::alerts::AlertState::Firing),
                    _ => false,
                });
                if firing {
                    break;
                }
            }
            _ => {}
        }
    }
    assert_eq!(connected, 1, "one connection, never re-made");
}

/// A newer backend: `welcome` (with `protocol`), then one `events` frame
/// holding an event of a kind this build does not know, a known one, and
/// another unknown one last; then it closes. Each `subscribe` it gets is
/// passed on.
async fn newer_backend(protocol: u32) -> (std::net::SocketAddr, mpsc::UnboundedReceiver<serde_json::Value>) {
    fake_backend(move |mut ws, subs| async move {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            let _ = subs.send(serde_json::from_str(&t).unwrap_or_default());
        }
        let welcome = ServerFrame::Welcome { protocol, source: "local".into(), epoch: 7, head_seq: 7 };
        let _ = ws.send(Message::Text(encode(&welcome).into())).await;
        let env = |seq: u64, event: &str| {
            format!(
                r#"{{"epoch":7,"seq":{seq},"ts":1700000000000,"source":"local","topic":"metrics","event":{event}}}"#
            )
        };
        let frame = format!(
            r#"{{"type":"events","events":[{},{},{}]}}"#,
            env(5, r#"{"type":"workflow_run","run":"r1"}"#),
            env(6, r#"{"type":"annotation","text":"deploy","author":"ops"}"#),
            env(7, r#"{"type":"workflow_run","run":"r2"}"#),
        );
        let _ = ws.send(Message::Text(frame.into())).await;
        let _ = ws.close(None).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_unknown_kinds_are_skipped_counted_and_never_asked_for_again() {
    let (addr, mut subs) = newer_backend(opsdeck::protocol::PROTOCOL_VERSION).await;
    let (tx, mut rx) = mpsc::channel(64);
    tokio::spawn(client::run(BackendSpec::new("newer", format!("ws://{addr}"), None), Arc::new(SystemClock), tx));
    let first = timeout(LIMIT, subs.recv()).await.expect("subscribed").expect("backend running");
    assert_eq!(first["topics"], serde_json::json!(["metrics", "alerts", "workflows"]), "it asks for its topics");
    let (mut skipped, mut seqs) = (None, Vec::new());
    while skipped.is_none() || seqs.is_empty() {
        match next_msg(&mut rx).await {
            ClientMsg::Skipped { count, kinds, .. } => skipped = Some((count, kinds)),
            ClientMsg::Events(evs) => seqs.extend(evs.iter().map(|e| e.seq)),
            _ => {}
        }
    }
    assert_eq!(skipped, Some((2, vec!["workflow_run".to_string()])));
    assert_eq!(seqs, [6], "the known event arrives");
    // The link closes; the client resumes after the last event, unknown or not.
    let again = timeout(LIMIT, subs.recv()).await.expect("resubscribed").expect("backend running");
    assert_eq!(again["since"], serde_json::json!({"epoch": 7, "seq": 7}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_protocol_version_is_refused_with_what_to_do() {
    let (addr, _subs) = newer_backend(opsdeck::protocol::PROTOCOL_VERSION + 1).await;
    let (tx, mut rx) = mpsc::channel(64);
    tokio::spawn(client::run(BackendSpec::new("newer", format!("ws://{addr}"), None), Arc::new(SystemClock), tx));
    loop {
        match next_msg(&mut rx).await {
            ClientMsg::Retrying { error, .. } => {
                assert!(error.contains("speaks protocol 2") && error.contains("same opsdeck version"), "{error}");
                break;
            }
            ClientMsg::Events(_) | ClientMsg::Skipped { .. } => panic!("events of another protocol were taken"),
            _ => {}
        }
    }
}

/// A backend built before the `workflows` topic: it welcomes, answers a
/// subscribe naming a topic it lacks with serde's `bad_frame` (as the real
/// one did), and serves the first subscribe it can read with one event.
async fn older_backend() -> (std::net::SocketAddr, mpsc::UnboundedReceiver<serde_json::Value>) {
    fake_backend(|mut ws, subs| async move {
        let welcome = ServerFrame::Welcome { protocol: 1, source: "local".into(), epoch: 7, head_seq: 6 };
        let _ = ws.send(Message::Text(encode(&welcome).into())).await;
        while let Some(Ok(Message::Text(t))) = ws.next().await {
            let sub: serde_json::Value = serde_json::from_str(&t).unwrap_or_default();
            let _ = subs.send(sub.clone());
            let known = ["metrics", "alerts", "tools"];
            let unknown =
                sub["topics"].as_array().into_iter().flatten().find(|t| !known.contains(&t.as_str().unwrap_or_default()));
            let frame = match unknown {
                Some(t) => format!(
                    r#"{{"type":"error","code":"bad_frame","message":"bad frame: unknown variant `{}`, expected one of `metrics`, `alerts`, `tools` at line 1 column 50"}}"#,
                    t.as_str().unwrap_or_default()
                ),
                None => r#"{"type":"events","events":[{"epoch":7,"seq":6,"ts":1700000000000,"source":"local","topic":"metrics","event":{"type":"annotation","text":"deploy","author":"ops"}}]}"#.to_string(),
            };
            let _ = ws.send(Message::Text(frame.into())).await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_earlier_backend_without_the_workflows_topic_still_streams_the_rest() {
    let (addr, mut subs) = older_backend().await;
    let (tx, mut rx) = mpsc::channel(64);
    tokio::spawn(client::run(BackendSpec::new("older", format!("ws://{addr}"), None), Arc::new(SystemClock), tx));
    let first = timeout(LIMIT, subs.recv()).await.expect("subscribed").expect("backend running");
    assert_eq!(first["topics"], serde_json::json!(["metrics", "alerts", "workflows"]));
    let again = timeout(LIMIT, subs.recv()).await.expect("subscribed again").expect("backend running");
    assert_eq!(again["topics"], serde_json::json!(["metrics", "alerts"]), "the refused topic is left out");
    loop {
        match next_msg(&mut rx).await {
            ClientMsg::Events(evs) => {
                assert_eq!(evs.iter().map(|e| e.seq).collect::<Vec<_>>(), [6]);
                break;
            }
            ClientMsg::Retrying { error, .. } => panic!("the link was dropped: {error}"),
            _ => {}
        }
    }
}
