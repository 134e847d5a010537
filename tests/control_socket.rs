//! E23: the process holding a data directory shares it through its control
//! socket — a TUI started beside `opsdeck serve` attaches to it, `opsdeck tool`
//! records its runs through it, and nobody else may use it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use opsdeck::protocol::control::StoreOp;
use opsdeck::protocol::wire::{ClientFrame, ErrorCode, ServerFrame};
use opsdeck::remote::control::ControlClient;

mod wire;

use wire::{LIMIT, connect, envs, next_frame, send, start};

/// The socket `opsdeck paths` names for this home (the path the holder binds).
fn control_socket(home: &Path) -> PathBuf {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    cmd.arg("paths");
    envs(&mut cmd, home);
    let out = cmd.output().expect("opsdeck paths");
    let text = String::from_utf8_lossy(&out.stdout);
    let line =
        text.lines().find(|l| l.starts_with("control socket")).unwrap_or_else(|| panic!("no socket row: {text}"));
    let path = line["control socket".len()..].trim().trim_end_matches("(not present)").trim();
    PathBuf::from(path)
}

/// Poll (a failure bound, not a synchronisation) until the holder listens.
fn wait_for_socket(path: &Path) {
    let deadline = Instant::now() + LIMIT;
    while std::os::unix::net::UnixStream::connect(path).is_err() {
        assert!(Instant::now() < deadline, "{} never accepted a connection", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_data_dir_is_shared_through_a_private_control_socket() {
    let home = tempfile::tempdir().expect("tempdir");
    let server = start(home.path(), &["--no-auth"]);
    let sock = control_socket(home.path());
    assert!(sock.starts_with(home.path().join("run")), "in the runtime dir: {}", sock.display());
    wait_for_socket(&sock);
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode(&sock), 0o600, "socket only for its user");
    assert_eq!(mode(sock.parent().expect("dir")), 0o700, "directory only for its user");
    let s = sock.clone();
    let alive = tokio::task::spawn_blocking(move || ControlClient::answers(&s, LIMIT)).await.expect("join");
    assert!(alive, "the holder answers a ping on its control socket");

    // A headless tool run while serve holds the data dir lands in its history.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    cmd.args(["tool", "data_query", "--arg", "filter=.a + 1", "--arg", r#"input={"a":41}"#]);
    envs(&mut cmd, home.path());
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.expect("join").expect("run opsdeck tool");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("42"));
    assert!(!err.contains("not recorded"), "recorded through the socket: {err}");
    let s = sock.clone();
    let runs = tokio::task::spawn_blocking(move || {
        ControlClient::connect(&s).expect("connect").store(StoreOp::ToolRuns { limit: 10 }).expect("tool runs")
    })
    .await
    .expect("join");
    let runs: Vec<opsdeck::protocol::tools::ToolRun> = serde_json::from_value(runs).expect("runs");
    assert!(runs.iter().any(|r| r.tool == "data_query" && r.ok), "{runs:?}");

    // Store frames are for the control socket only, never the network.
    let mut ws = connect(server.addr, None).await.expect("connect");
    send(&mut ws, &ClientFrame::Store { id: "x1".into(), op: StoreOp::ToolRuns { limit: 1 } }).await;
    match tokio::time::timeout(LIMIT, next_frame(&mut ws)).await.expect("an answer") {
        Some(ServerFrame::Error { code, id, .. }) => {
            assert_eq!(code, ErrorCode::NotAllowed);
            assert_eq!(id.as_deref(), Some("x1"));
        }
        other => panic!("expected not_allowed, got {other:?}"),
    }
    drop(server);
}

#[test]
fn a_second_holder_is_refused_and_a_stale_socket_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A world-readable runtime dir of ours is tightened.
    let run = dir.path().join("run");
    std::fs::create_dir(&run).expect("mkdir");
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = run.join("control-test.sock");
    let first = opsdeck::remote::control::bind(&path).expect("bind");
    assert_eq!(std::fs::metadata(&run).expect("dir").permissions().mode() & 0o777, 0o700);
    let second = opsdeck::remote::control::bind(&path);
    assert!(
        matches!(second, Err(opsdeck::remote::control::ControlError::InUse { .. })),
        "a live socket is never taken over"
    );
    drop(first);
    assert!(!path.exists(), "the holder removes its socket on exit");
    // A crash leaves the file behind: the next holder replaces it.
    drop(std::os::unix::net::UnixListener::bind(&path).expect("stale"));
    assert!(path.exists());
    // Other tests of this binary spawn processes: one forked while the
    // listener was open holds a copy of it until its exec, and the socket
    // answers until then. A crashed holder's socket never does.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(&path).is_ok() {
        assert!(std::time::Instant::now() < deadline, "the dropped listener still answers");
        std::thread::yield_now();
    }
    let again = opsdeck::remote::control::bind(&path).expect("a stale socket is replaced");
    drop(again);
}

#[test]
fn a_tool_run_beside_a_holder_that_does_not_answer_says_why() {
    let home = tempfile::tempdir().expect("tempdir");
    // Hold the data dir with a serve process, then make its socket unreachable.
    let server = start(home.path(), &["--no-auth"]);
    let sock = control_socket(home.path());
    wait_for_socket(&sock);
    std::fs::remove_file(&sock).expect("remove socket");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    cmd.args(["tool", "data_query", "--arg", "filter=.", "--arg", "input=1"]);
    envs(&mut cmd, home.path());
    let out = cmd.output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the run itself works: {err}");
    assert!(err.contains("not recorded in the history"), "{err}");
    assert!(err.contains("another opsdeck is already using"), "names the cause: {err}");
    assert!(!err.contains("os error"), "no raw OS error: {err}");
    drop(server);
}

/// A socket file left by a killed holder, or one whose listening fd a dying
/// child still holds (it accepts but never answers), is not a holder: a
/// restart right after a crash must not attach to it or be refused by it.
#[test]
fn a_socket_nobody_serves_is_not_a_holder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("control.sock");
    assert!(!ControlClient::answers(&sock, Duration::from_millis(200)), "no socket file");
    let listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    assert!(!ControlClient::answers(&sock, Duration::from_millis(200)), "accepted, never answered");
    drop(listener);
    assert!(!ControlClient::answers(&sock, Duration::from_millis(200)), "a stale socket file");
}
