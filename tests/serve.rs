//! `opsdeck serve` over loopback, as a real process: auth, subscribe, resume
//! across a killed server without gaps or duplicates, reset, malformed frames,
//! stdio, /healthz and /metrics.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use opsdeck::protocol::Event;
use opsdeck::protocol::wire::{ClientFrame, ErrorCode, ServerFrame, Since, decode_server, encode};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

mod wire;

use wire::{LIMIT, Ws, connect, envs, next_frame, send, start, start_at};

fn subscribe(since: Option<Since>) -> ClientFrame {
    // Every topic (an empty list): the seqs of all events must be gap-free, whatever publishes them.
    ClientFrame::Subscribe { topics: vec![], since }
}

/// Seqs of the logged events in one batch. A snapshot batch (stored history
/// first, then the current alert state stamped with the head seq) is not in the
/// log and yields nothing. Every logged event counts, whatever its kind: host
/// samples and alert changes share one sequence, so counting only samples
/// would see gaps wherever an alert changed (it does on a busy CI machine).
fn logged_seqs<E: std::borrow::Borrow<opsdeck::protocol::Envelope>>(events: &[E]) -> Vec<u64> {
    if events.first().is_some_and(|e| matches!(e.borrow().event, Event::MetricsHistory(_))) {
        return Vec::new();
    }
    events.iter().map(|e| e.borrow().seq).collect()
}

/// Collect the seqs of live logged events until `n` have arrived (or the stream ends).
async fn samples(ws: &mut Ws, n: usize, seqs: &mut Vec<u64>) {
    let goal = seqs.len().saturating_add(n);
    while seqs.len() < goal {
        match next_frame(ws).await {
            Some(ServerFrame::Events { events }) => seqs.extend(logged_seqs(&events)),
            Some(_) => {}
            None => return,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_wrong_token_is_401_before_the_upgrade() {
    let home = tempfile::tempdir().expect("tempdir");
    let server = start(home.path(), &["--token", "s3cret-token"]);
    for token in [None, Some("wrong-token!")] {
        match connect(server.addr, token).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401),
            other => panic!("expected 401 for {token:?}, got {:?}", other.map(|_| "a connection")),
        }
    }
    let mut ws = connect(server.addr, Some("s3cret-token")).await.expect("right token connects");
    send(&mut ws, &subscribe(None)).await;
    assert!(matches!(next_frame(&mut ws).await, Some(ServerFrame::Welcome { protocol: 1, .. })));
    // The log is written by a background thread: poll the file (the limit is a failure bound).
    let read_log = || -> String {
        std::fs::read_dir(home.path().join("state/opsdeck"))
            .map(|d| d.flatten().map(|e| std::fs::read_to_string(e.path()).unwrap_or_default()).collect())
            .unwrap_or_default()
    };
    let deadline = std::time::Instant::now() + LIMIT;
    let mut log = read_log();
    while !(log.contains("refused /v1/stream: no bearer token")
        && log.contains("refused /v1/stream: wrong bearer token"))
    {
        assert!(std::time::Instant::now() < deadline, "refusals not logged: {log}");
        tokio::time::sleep(Duration::from_millis(20)).await;
        log = read_log();
    }
    assert!(!log.contains("wrong-token!"), "the presented token is never logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_gets_welcome_snapshot_then_live_samples_in_order() {
    let home = tempfile::tempdir().expect("tempdir");
    let server = start(home.path(), &["--no-auth"]);
    let mut ws = connect(server.addr, None).await.expect("connect");
    send(&mut ws, &subscribe(None)).await;
    let Some(ServerFrame::Welcome { epoch, .. }) = next_frame(&mut ws).await else { panic!("welcome first") };
    assert!(epoch > 0);
    let Some(ServerFrame::Events { events }) = next_frame(&mut ws).await else { panic!("snapshot next") };
    assert!(matches!(events[0].event, Event::MetricsHistory(_)), "a fresh subscriber gets the stored history first");
    let mut seqs = Vec::new();
    samples(&mut ws, 5, &mut seqs).await;
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "consecutive: {seqs:?}");
    send(&mut ws, &subscribe(None)).await;
    loop {
        match next_frame(&mut ws).await {
            Some(ServerFrame::Error { code, .. }) => break assert_eq!(code, ErrorCode::AlreadySubscribed),
            Some(ServerFrame::Events { .. }) => continue,
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_across_a_killed_server_loses_and_duplicates_nothing() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut server = start(home.path(), &["--no-auth"]);
    let mut ws = connect(server.addr, None).await.expect("connect");
    send(&mut ws, &subscribe(None)).await;
    let Some(ServerFrame::Welcome { epoch, .. }) = next_frame(&mut ws).await else { panic!("welcome") };
    let mut seqs = Vec::new();
    samples(&mut ws, 8, &mut seqs).await;

    // Kill -9 mid-stream, keep reading whatever was in flight, restart on the same data dir.
    server.child.kill().expect("kill");
    server.child.wait().expect("reap");
    samples(&mut ws, usize::MAX, &mut seqs).await;
    drop(ws);
    let server = start(home.path(), &["--no-auth"]);
    let mut ws = connect(server.addr, None).await.expect("reconnect");
    let last = *seqs.last().expect("some samples");
    send(&mut ws, &subscribe(Some(Since { epoch, seq: last }))).await;
    match next_frame(&mut ws).await {
        Some(ServerFrame::Welcome { epoch: e2, head_seq, .. }) => {
            assert_eq!(e2, epoch, "same data dir, same epoch");
            assert!(head_seq >= last, "the log kept everything a client saw: head {head_seq} < seen {last}");
        }
        other => panic!("welcome expected, got {other:?}"),
    }
    samples(&mut ws, 8, &mut seqs).await;
    let first = seqs[0];
    let expect: Vec<u64> = (first..first + seqs.len() as u64).collect();
    assert_eq!(seqs, expect, "gap-free and without duplicates across the restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_events_are_replayed_and_unknown_history_resets() {
    let home = tempfile::tempdir().expect("tempdir");
    let server = start(home.path(), &["--no-auth"]);
    let mut ws = connect(server.addr, None).await.expect("connect");
    send(&mut ws, &subscribe(None)).await;
    let Some(ServerFrame::Welcome { epoch, .. }) = next_frame(&mut ws).await else { panic!("welcome") };
    let mut seqs = Vec::new();
    samples(&mut ws, 3, &mut seqs).await;
    drop(ws);
    // Wait (on the server's own clock) until it has published more than we saw.
    let last = *seqs.last().expect("samples");
    let mut probe = connect(server.addr, None).await.expect("probe");
    send(&mut probe, &subscribe(None)).await;
    let mut live = Vec::new();
    samples(&mut probe, 6, &mut live).await;
    assert!(*live.last().expect("live") >= last + 5, "events were published while we were away");

    let mut ws = connect(server.addr, None).await.expect("reconnect");
    send(&mut ws, &subscribe(Some(Since { epoch, seq: last }))).await;
    assert!(matches!(next_frame(&mut ws).await, Some(ServerFrame::Welcome { .. })));
    samples(&mut ws, 4, &mut seqs).await;
    assert_eq!(&seqs[3..7], &[last + 1, last + 2, last + 3, last + 4], "the missed events come first, from the log");

    let mut other = connect(server.addr, None).await.expect("connect");
    send(&mut other, &subscribe(Some(Since { epoch: epoch + 1, seq: 3 }))).await;
    assert!(matches!(next_frame(&mut other).await, Some(ServerFrame::Welcome { .. })));
    assert!(matches!(next_frame(&mut other).await, Some(ServerFrame::Reset { .. })), "another epoch: reset");
    let Some(ServerFrame::Events { events }) = next_frame(&mut other).await else { panic!("snapshot after reset") };
    assert!(matches!(events[0].event, Event::MetricsHistory(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_frames_never_crash_the_server() {
    let home = tempfile::tempdir().expect("tempdir");
    let server = start(home.path(), &["--no-auth"]);
    let mut ws = connect(server.addr, None).await.expect("connect");
    for bad in ["not json", r#"{"type":"launch"}"#, r#"{"type":"ping"}"#, "{\"type\":\"ping\",\"nonce\":1"] {
        ws.send(Message::Text(bad.into())).await.expect("send");
        assert!(
            matches!(next_frame(&mut ws).await, Some(ServerFrame::Error { code: ErrorCode::BadFrame, .. })),
            "{bad}"
        );
    }
    ws.send(Message::Binary(vec![1, 2, 3].into())).await.expect("send");
    assert!(matches!(next_frame(&mut ws).await, Some(ServerFrame::Error { code: ErrorCode::BinaryFrame, .. })));
    send(&mut ws, &ClientFrame::Ping { nonce: 77 }).await;
    assert_eq!(next_frame(&mut ws).await, Some(ServerFrame::Pong { nonce: 77 }), "the connection stays usable");

    let huge = format!(r#"{{"type":"ping","nonce":1,"pad":"{}"}}"#, "x".repeat(2 << 20));
    let _ = ws.send(Message::Text(huge.into())).await;
    let mut closed = false;
    while let Ok(Some(m)) = timeout(LIMIT, ws.next()).await {
        if matches!(m, Ok(Message::Close(_)) | Err(_)) {
            closed = true;
            break;
        }
    }
    assert!(
        closed || timeout(LIMIT, ws.next()).await.ok().flatten().is_none(),
        "an oversized frame closes the connection"
    );
    let mut again = connect(server.addr, None).await.expect("the server is still up");
    send(&mut again, &ClientFrame::Ping { nonce: 5 }).await;
    assert_eq!(next_frame(&mut again).await, Some(ServerFrame::Pong { nonce: 5 }));
}

#[test]
fn stdio_speaks_the_same_protocol_through_a_pipe() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    cmd.args(["--refresh", "100ms", "serve", "--stdio"]);
    envs(&mut cmd, home.path());
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{}", encode(&subscribe(None))).expect("write");
    writeln!(stdin, "garbage").expect("write");
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut frames = Vec::new();
    while frames.iter().filter(|f| matches!(f, ServerFrame::Events { .. })).count() < 3 {
        let line = rx.recv_timeout(LIMIT).expect("a line within the limit");
        frames.push(decode_server(&line).expect("each line is one frame"));
    }
    assert!(matches!(frames[0], ServerFrame::Welcome { .. }));
    assert!(frames.iter().any(|f| matches!(f, ServerFrame::Error { code: ErrorCode::BadFrame, .. })));
    drop(stdin); // EOF ends the session and the process
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status:?}");
}

fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(LIMIT)).expect("timeout");
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_prometheus_metrics() {
    let home = tempfile::tempdir().expect("tempdir");
    let server = start(home.path(), &["--token", "t"]);
    let h = http_get(server.addr, "/healthz");
    assert!(h.starts_with("HTTP/1.1 200") && h.contains("\"status\":\"ok\""), "{h}");
    // Once a sample has been streamed, /metrics has it.
    let mut ws = connect(server.addr, Some("t")).await.expect("connect");
    send(&mut ws, &subscribe(None)).await;
    samples(&mut ws, 1, &mut Vec::new()).await;
    let m = http_get(server.addr, "/metrics");
    assert!(m.contains("opsdeck_host_cpu_usage_percent "), "{m}");
    assert!(m.contains("# TYPE opsdeck_host_memory_bytes gauge"), "{m}");
    assert!(
        m.lines().any(|l| l.starts_with("opsdeck_host_memory_bytes{kind=\"total\"} ") && !l.ends_with(" 0")),
        "{m}"
    );
}

#[test]
fn no_auth_is_refused_off_loopback() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    cmd.args(["serve", "--listen", "0.0.0.0:0", "--no-auth"]);
    envs(&mut cmd, home.path());
    let out = cmd.output().expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only allowed on a loopback address"));
}

// ---- the client side: opsdeck::remote::client against a real server ----

use std::sync::Arc;

use opsdeck::clock::SystemClock;
use opsdeck::remote::client::{self, BackendSpec, ClientMsg};

/// A free loopback port (bound, then released for the server to take).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

async fn next_msg(rx: &mut tokio::sync::mpsc::Receiver<ClientMsg>) -> ClientMsg {
    timeout(LIMIT, rx.recv()).await.expect("a client message within the limit").expect("client running")
}

/// Collect logged event seqs (and check their source) until `n` more arrived.
async fn client_samples(rx: &mut tokio::sync::mpsc::Receiver<ClientMsg>, name: &str, n: usize, seqs: &mut Vec<u64>) {
    let goal = seqs.len() + n;
    while seqs.len() < goal {
        if let ClientMsg::Events(evs) = next_msg(rx).await {
            assert!(evs.iter().all(|e| e.source == name), "events carry the backend's name");
            seqs.extend(logged_seqs(&evs));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_reconnects_with_backoff_and_resumes_without_gaps() {
    let home = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut server = start_at(home.path(), &listen, &["--token", "tok"]);
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let spec = BackendSpec::new("edge", format!("ws://{listen}"), Some("tok".into()));
    let task = tokio::spawn(client::run(spec, Arc::new(SystemClock), tx));
    assert!(matches!(next_msg(&mut rx).await, ClientMsg::Connecting(n) if n == "edge"));
    assert!(matches!(next_msg(&mut rx).await, ClientMsg::Connected(_)));
    let mut seqs = Vec::new();
    client_samples(&mut rx, "edge", 5, &mut seqs).await;

    server.child.kill().expect("kill");
    server.child.wait().expect("reap");
    let retry = loop {
        match next_msg(&mut rx).await {
            ClientMsg::Events(evs) => seqs.extend(logged_seqs(&evs)),
            m @ ClientMsg::Retrying { .. } => break m,
            _ => {}
        }
    };
    let ClientMsg::Retrying { attempt, error, .. } = retry else { unreachable!() };
    assert_eq!(attempt, 1);
    assert!(!error.is_empty());

    let _server = start_at(home.path(), &listen, &["--token", "tok"]);
    loop {
        if let ClientMsg::Connected(_) = next_msg(&mut rx).await {
            break;
        }
    }
    client_samples(&mut rx, "edge", 5, &mut seqs).await;
    let first = seqs[0];
    assert_eq!(seqs, (first..first + seqs.len() as u64).collect::<Vec<_>>(), "gap-free, no duplicates");
    drop(rx);
    let _ = timeout(LIMIT, task).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_reports_a_wrong_token_clearly() {
    let home = tempfile::tempdir().expect("tempdir");
    let server = start(home.path(), &["--token", "right"]);
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let spec = BackendSpec::new("edge", format!("ws://{}", server.addr), Some("wrong".into()));
    tokio::spawn(client::run(spec, Arc::new(SystemClock), tx));
    loop {
        if let ClientMsg::Refused { status, error, .. } = next_msg(&mut rx).await {
            assert_eq!(status, 401);
            assert!(error.contains("401") && error.contains("opsdeck key set backend:edge"), "{error}");
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_backend_runs_serve_stdio_on_the_host() {
    let home = tempfile::tempdir().expect("tempdir");
    // A stand-in for ssh: checks it is asked to run `opsdeck serve --stdio`, then runs it here.
    let fake = home.path().join("fake-ssh");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\ncase \"$*\" in *\"-- ops@db-1 opsdeck serve --stdio\"*) ;; *) echo \"unexpected: $*\" >&2; exit 2;; esac\nexport XDG_CONFIG_HOME='{h}/c' XDG_DATA_HOME='{h}/d' XDG_STATE_HOME='{h}/s'\nexec '{bin}' --refresh 100ms serve --stdio\n",
            h = home.path().display(),
            bin = env!("CARGO_BIN_EXE_opsdeck")
        ),
    )
    .expect("write fake ssh");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let mut spec = BackendSpec::new("db-1", "ssh://ops@db-1", None);
    spec.ssh = fake.display().to_string();
    tokio::spawn(client::run(spec, Arc::new(SystemClock), tx));
    loop {
        if let ClientMsg::Connected(_) = next_msg(&mut rx).await {
            break;
        }
    }
    let mut seqs = Vec::new();
    client_samples(&mut rx, "db-1", 3, &mut seqs).await;
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_wss_to_clients_that_trust_the_certificate() {
    let home = tempfile::tempdir().expect("tempdir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let (cert_pem, key_pem) = (home.path().join("cert.pem"), home.path().join("key.pem"));
    std::fs::write(&cert_pem, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_pem, cert.signing_key.serialize_pem()).expect("write key");
    let server = start(
        home.path(),
        &[
            "--token",
            "tls-tok",
            "--tls-cert",
            &cert_pem.display().to_string(),
            "--tls-key",
            &key_pem.display().to_string(),
        ],
    );
    let url = format!("wss://localhost:{}", server.addr.port());
    // A peer that opens a TCP connection and never says hello. Handshakes
    // run side by side, so the real client below is served while this one's
    // handshake still waits (the server gives it 10 s, then closes it).
    let idle = std::net::TcpStream::connect(server.addr).expect("idle connection");

    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let mut spec = BackendSpec::new("secure", url.clone(), Some("tls-tok".into()));
    spec.ca_file = Some(cert_pem.clone());
    tokio::spawn(client::run(spec, Arc::new(SystemClock), tx));
    loop {
        if let ClientMsg::Connected(_) = next_msg(&mut rx).await {
            break;
        }
    }
    client_samples(&mut rx, "secure", 2, &mut Vec::new()).await;
    idle.set_nonblocking(true).expect("nonblocking");
    let mut byte = [0u8; 1];
    let waiting =
        matches!(std::io::Read::read(&mut &idle, &mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    assert!(waiting, "the client was served only after the silent peer's handshake ended");

    // A client that does not trust the certificate is refused, and says why.
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let mut untrusting = BackendSpec::new("untrusting", url, Some("tls-tok".into()));
    untrusting.ca_file = None;
    tokio::spawn(client::run(untrusting, Arc::new(SystemClock), tx));
    loop {
        if let ClientMsg::Retrying { error, .. } = next_msg(&mut rx).await {
            assert!(error.to_lowercase().contains("certificate"), "{error}");
            break;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_idempotent_by_id_even_across_a_restart() {
    use opsdeck::protocol::Command;
    let home = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut server = start_at(home.path(), &listen, &["--no-auth"]);
    let addr: SocketAddr = listen.parse().expect("addr");
    let annotate = ClientFrame::Command {
        id: "cmd-7".into(),
        command: Command::Metrics(opsdeck::protocol::MetricsCommand::Annotate {
            text: "deploy v42".into(),
            author: "ops".into(),
            at: None,
        }),
    };

    let mut ws = connect(addr, None).await.expect("connect");
    send(&mut ws, &subscribe(None)).await;
    send(&mut ws, &annotate).await;
    send(&mut ws, &annotate).await; // replayed, e.g. after a lost ack
    let (mut acks, mut notes) = (Vec::new(), 0);
    while acks.len() < 2 || notes < 1 {
        match next_frame(&mut ws).await.expect("frames") {
            ServerFrame::Ack { id, result } => acks.push((id, result)),
            ServerFrame::Events { events } => {
                notes += events.iter().filter(|e| matches!(e.event, Event::Annotation { .. })).count()
            }
            _ => {}
        }
    }
    assert_eq!(acks[0], acks[1], "the replay gets the first answer");
    assert_eq!(acks[0].0, "cmd-7");
    // Let a few samples pass: a second annotation would have shown up among them.
    samples(&mut ws, 3, &mut Vec::new()).await;
    assert_eq!(notes, 1, "the command ran once");

    server.child.kill().expect("kill");
    server.child.wait().expect("reap");
    let _server = start_at(home.path(), &listen, &["--no-auth"]);
    let mut ws = connect(addr, None).await.expect("reconnect");
    send(&mut ws, &annotate).await;
    loop {
        if let Some(ServerFrame::Ack { result, .. }) = next_frame(&mut ws).await {
            assert_eq!(result, acks[0].1, "remembered across a kill -9");
            break;
        }
    }
    let bad = ClientFrame::Command {
        id: String::new(),
        command: Command::Metrics(opsdeck::protocol::MetricsCommand::Annotate {
            text: "x".into(),
            author: String::new(),
            at: None,
        }),
    };
    send(&mut ws, &bad).await;
    assert!(matches!(
        next_frame(&mut ws).await,
        Some(ServerFrame::Error { code: ErrorCode::CommandFailed, id: Some(_), .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_commands_wait_for_the_backend_and_flush_on_reconnect() {
    use opsdeck::engine::store::Store;
    use opsdeck::engine::{Engine, EngineConfig};
    use opsdeck::protocol::Command;
    let home = tempfile::tempdir().expect("tempdir");
    let local = tempfile::tempdir().expect("tempdir");
    let engine =
        Engine::new(Store::open(local.path(), 1 << 20).expect("store"), EngineConfig::default(), Arc::new(SystemClock))
            .expect("engine");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");

    // The backend is down: the command waits in the persisted outbox.
    let note = Command::Metrics(opsdeck::protocol::MetricsCommand::Annotate {
        text: "deploy v42".into(),
        author: "ops".into(),
        at: None,
    });
    engine.store().outbox_push("edge", "q-1", &note).expect("queue");
    let (kick_tx, kick) = tokio::sync::mpsc::channel(4);
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let spec = BackendSpec::new("edge", format!("ws://{listen}"), None);
    let outbox = client::Outbox { records: opsdeck::remote::control::Records::Engine(engine.clone()), kick };
    tokio::spawn(client::run_with_outbox(spec, Arc::new(SystemClock), tx, Some(outbox), None));
    loop {
        if let ClientMsg::Retrying { .. } = next_msg(&mut rx).await {
            break;
        }
    }
    kick_tx.send(()).await.expect("kick");
    assert_eq!(engine.store().outbox_list("edge").expect("list").len(), 1, "still queued while down");

    // The backend comes up: the client sends it, the ack empties the outbox.
    let _server = start_at(home.path(), &listen, &["--no-auth"]);
    let mut annotated = false;
    let (mut done, mut emptied) = (None, false);
    while done.is_none() || !emptied || !annotated {
        match next_msg(&mut rx).await {
            ClientMsg::CommandDone { id, result, .. } => done = Some((id, result)),
            ClientMsg::Queued { count, .. } => emptied = count == 0,
            ClientMsg::Events(evs) => {
                annotated |=
                    evs.iter().any(|e| matches!(&e.event, Event::Annotation { text, .. } if text == "deploy v42"))
            }
            _ => {}
        }
    }
    let (id, result) = done.expect("answered");
    assert_eq!(id, "q-1");
    assert!(result.is_ok(), "{result:?}");
    assert!(engine.store().outbox_list("edge").expect("list").is_empty());
}
