//! Tests of one step attempt: real `sh` processes (their pids checked in
//! /proc), a loopback HTTP server, the built-in tools. Nothing sleeps to
//! synchronise: the tests wait on files and sockets, with bounds that only
//! turn a hang into a failure.

use std::path::Path;

use super::*;

/// The longest any wait here may take before the test fails (not a timing assert).
const BOUND: Duration = Duration::from_secs(30);

fn registry() -> Registry {
    Registry::with_builtins(crate::jq::JqRunner::in_process())
}

fn shell_action(command: &str) -> Action {
    Action::Shell { command: command.into(), cwd: None, env: BTreeMap::new() }
}

/// Run `action` to its end, with every output line it sent.
async fn run(action: Action) -> (Result<Value, StepFailure>, Vec<String>) {
    let (tx, mut rx) = mpsc::channel(16);
    let lines = tokio::spawn(async move {
        let mut lines = Vec::new();
        while let Some(l) = rx.recv().await {
            lines.push(l);
        }
        lines
    });
    let r = tokio::time::timeout(BOUND, execute(action, &registry(), tx)).await.expect("the step ends");
    (r, lines.await.unwrap())
}

/// The pids in `path` once the file exists (written with a rename, so whole).
async fn wait_for_pids(path: &Path) -> Vec<i32> {
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text.split_whitespace().map(|p| p.parse().unwrap()).collect();
        }
        assert!(tokio::time::Instant::now() < deadline, "{} never appeared", path.display());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A process that is still running: in /proc and not a zombie (a killed
/// process whose parent died may wait as a zombie for a container's init).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// Wait until none of `pids` runs; fail with those still alive.
async fn assert_all_gone(pids: &[i32]) {
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let left: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "still running: {left:?} of {pids:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn cancel_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // sh, two background sleeps, and a grandchild under a second sh.
    let command = format!(
        "sleep 300 & a=$!; sleep 300 & b=$!; sh -c 'sleep 300 & echo $! > {tmp}.g; wait' & c=$!; \
         while [ ! -s {tmp}.g ]; do :; done; \
         echo $$ $a $b $c $(cat {tmp}.g) > {tmp}; mv {tmp} {pids}; wait",
        tmp = dir.path().join("pids.tmp").display(),
        pids = pids.display()
    );
    let (tx, _rx) = mpsc::channel(16);
    let reg = registry();
    let mut step = Box::pin(execute(shell_action(&command), &reg, tx));
    let pids = tokio::select! {
        r = &mut step => panic!("the step ended by itself: {r:?}"),
        p = wait_for_pids(&pids) => p,
    };
    assert_eq!(pids.len(), 5, "{pids:?}");
    assert!(pids.iter().all(|p| alive(*p)), "all running before the cancel: {pids:?}");
    drop(step);
    assert_all_gone(&pids).await;
}

#[tokio::test]
async fn a_background_child_holding_stdout_does_not_keep_the_step_running() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let (r, lines) = run(shell_action(&format!("sleep 300 & echo $! > {}; echo done", pidfile.display()))).await;
    let v = r.unwrap();
    assert_eq!((v["exit_code"].as_i64(), v["stdout"].as_str()), (Some(0), Some("done")), "{v}");
    assert_eq!(lines, ["done"]);
    assert_all_gone(&wait_for_pids(&pidfile).await).await;
}

#[tokio::test]
async fn leftovers_that_do_not_hold_the_pipes_are_killed_too() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let (r, _) = run(shell_action(&format!("sleep 300 >/dev/null 2>&1 & echo $! > {}", pidfile.display()))).await;
    assert_eq!(r.unwrap()["exit_code"], 0);
    assert_all_gone(&wait_for_pids(&pidfile).await).await;
}

#[tokio::test]
async fn a_non_zero_exit_fails_with_its_status_and_last_stderr_line() {
    let (r, lines) = run(shell_action("echo one; echo warn >&2; echo two; echo 'it broke' >&2; exit 3")).await;
    let e = r.unwrap_err();
    assert!(e.message.contains("exit status 3") && e.message.contains("it broke"), "{}", e.message);
    assert!(e.retryable);
    assert_eq!(e.output["exit_code"], 3);
    assert_eq!(e.output["stdout"], "one\ntwo");
    assert_eq!(e.output["stderr"], "warn\nit broke");
    // Each stream's lines in their order (the two pipes interleave as they are read).
    let stdout: Vec<&str> = lines.iter().map(String::as_str).filter(|l| !l.starts_with("stderr: ")).collect();
    let stderr: Vec<&str> = lines.iter().map(String::as_str).filter(|l| l.starts_with("stderr: ")).collect();
    assert_eq!(stdout, ["one", "two"]);
    assert_eq!(stderr, ["stderr: warn", "stderr: it broke"]);
}

#[tokio::test]
async fn killed_by_a_signal_is_a_failure_that_says_so() {
    let (r, _) = run(shell_action("kill -9 $$")).await;
    let e = r.unwrap_err();
    assert!(e.message.contains("signal 9"), "{}", e.message);
    assert_eq!(e.output["exit_code"], Value::Null);
}

#[tokio::test]
async fn the_result_keeps_the_last_16_kib_and_one_trailing_newline_goes() {
    let (r, lines) = run(shell_action("printf 'a\\n\\nb\\n'")).await;
    assert_eq!(r.unwrap()["stdout"], "a\n\nb");
    assert_eq!(lines, ["a", "", "b"]);
    let (r, lines) = run(shell_action("seq 1 20000; printf 'no newline'")).await;
    let v = r.unwrap();
    let stdout = v["stdout"].as_str().unwrap();
    assert!(stdout.len() <= SHELL_KEEP && stdout.len() > SHELL_KEEP - 16, "{}", stdout.len());
    assert!(stdout.ends_with("19999\n20000\nno newline"), "{}", &stdout[stdout.len() - 30..]);
    assert_eq!(lines.len(), 20001);
    assert_eq!(lines.last().map(String::as_str), Some("no newline"));
}

#[tokio::test]
async fn a_slow_reader_of_the_output_still_gets_every_line() {
    // A reader slower than the grace after sh's exit: nothing in the pipes is lost.
    let (tx, mut rx) = mpsc::channel(1);
    let reader = tokio::spawn(async move {
        let mut lines = Vec::new();
        while let Some(l) = rx.recv().await {
            lines.push(l);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        lines
    });
    let r = tokio::time::timeout(BOUND, execute(shell_action("seq 1 400"), &registry(), tx)).await.unwrap();
    assert!(r.unwrap()["stdout"].as_str().unwrap().ends_with("399\n400"));
    let lines = reader.await.unwrap();
    assert_eq!(lines.len(), 400);
    assert_eq!(lines.last().map(String::as_str), Some("400"));
}

#[tokio::test]
async fn a_very_long_line_comes_in_pieces_split_between_chars() {
    // 16383 bytes of x, then `€` (3 bytes) across the 16 KiB mark.
    let (r, lines) = run(shell_action(r"head -c 16383 /dev/zero | tr '\0' x; printf '\342\202\254yz\n'")).await;
    r.unwrap();
    assert_eq!(lines.len(), 2, "{:?}", lines.iter().map(String::len).collect::<Vec<_>>());
    assert_eq!(lines[0], "x".repeat(16383));
    assert_eq!(lines[1], "€yz");
}

#[tokio::test]
async fn env_cwd_and_odd_output_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let action = Action::Shell {
        command: "echo \"$GREETING\"; pwd; printf 'caf\\303\\251 \\377\\r\\n'".into(),
        cwd: Some(dir.path().display().to_string()),
        env: BTreeMap::from([("GREETING".to_string(), "hello there".to_string())]),
    };
    let (r, lines) = run(action).await;
    r.unwrap();
    let cwd = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(lines, ["hello there".to_string(), cwd.display().to_string(), "café \u{fffd}".to_string()]);
    let (r, _) =
        run(Action::Shell { command: "true".into(), cwd: Some("/no/such/dir".into()), env: BTreeMap::new() }).await;
    let e = r.unwrap_err();
    assert!(e.message.contains("/no/such/dir") && !e.message.contains("os error"), "{}", e.message);
}

// ---- http ----

/// A loopback server: `/ok` answers JSON, `/missing` a 404 with a body,
/// `/empty` a 500 with none; `/hang` never answers and says on `hung`
/// when its connection is closed by the client.
async fn server() -> (std::net::SocketAddr, tokio::sync::mpsc::Receiver<&'static str>) {
    use axum::http::StatusCode;
    use axum::routing::{get, post};
    let (events, hung) = tokio::sync::mpsc::channel(4);
    let app = axum::Router::new()
        .route(
            "/ok",
            get(|| async { ([("content-type", "application/json"), ("x-Trace", "t1")], r#"{"a": 1, "b": [true]}"#) }),
        )
        .route("/missing", get(|| async { (StatusCode::NOT_FOUND, "no such\n  thing here") }))
        .route("/empty", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .route("/echo", post(|body: String| async move { body }))
        .route(
            "/hang",
            get(move || {
                let events = events.clone();
                async move {
                    // Dropped (cancelled) by axum when the client goes away.
                    struct Gone(tokio::sync::mpsc::Sender<&'static str>);
                    impl Drop for Gone {
                        fn drop(&mut self) {
                            let _ = self.0.try_send("closed");
                        }
                    }
                    let _gone = Gone(events.clone());
                    let _ = events.send("accepted").await;
                    std::future::pending::<()>().await;
                }
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    (addr, hung)
}

fn get_action(url: String) -> Action {
    Action::Http { method: "GET".into(), url, headers: BTreeMap::new(), body: None }
}

#[tokio::test]
async fn http_200_json_becomes_the_result() {
    let (addr, _) = server().await;
    let (r, lines) = run(get_action(format!("http://{addr}/ok"))).await;
    let v = r.unwrap();
    assert_eq!(v["status"], 200);
    assert_eq!(v["json"], json!({"a": 1, "b": [true]}));
    assert_eq!(v["headers"]["x-trace"], "t1", "header names lower case: {v}");
    assert_eq!(v["body"], r#"{"a": 1, "b": [true]}"#);
    assert!(lines[0].starts_with("HTTP 200 OK"), "{lines:?}");
    let with = json!({"method": "post", "url": format!("http://{addr}/echo"), "body": {"k": "v"}});
    let (r, _) = run(Action::from_step(&Uses::Http, &with).unwrap()).await;
    let v = r.unwrap();
    assert_eq!((&v["json"], &v["body"]), (&json!({"k": "v"}), &json!(r#"{"k":"v"}"#)));
}

#[tokio::test]
async fn http_errors_start_with_the_status_code() {
    let (addr, _) = server().await;
    let (r, _) = run(get_action(format!("http://{addr}/missing"))).await;
    let e = r.unwrap_err();
    assert_eq!(e.message, "404 Not Found: no such thing here");
    assert!(e.retryable, "a retry policy's non_retryable decides");
    assert_eq!(e.output["status"], 404);
    let (r, _) = run(get_action(format!("http://{addr}/empty"))).await;
    assert_eq!(r.unwrap_err().message, "500 Internal Server Error");
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let (r, _) = run(get_action(format!("http://user:pw@{closed}/secret-path?token=x"))).await;
    let e = r.unwrap_err();
    assert!(e.message.starts_with(&format!("GET http://{closed}: ")), "{}", e.message);
    assert!(e.message.contains("connection refused"), "{}", e.message);
    for hidden in ["os error", "secret-path", "token", "pw"] {
        assert!(!e.message.contains(hidden), "{hidden} in {}", e.message);
    }
}

#[tokio::test]
async fn dropping_an_http_step_aborts_its_request() {
    let (addr, mut events) = server().await;
    let (tx, _rx) = mpsc::channel(16);
    let reg = registry();
    let mut step = Box::pin(execute(get_action(format!("http://{addr}/hang")), &reg, tx));
    tokio::select! {
        r = &mut step => panic!("the step ended by itself: {r:?}"),
        e = events.recv() => assert_eq!(e, Some("accepted")),
    }
    drop(step);
    let e = tokio::time::timeout(BOUND, events.recv()).await.expect("the server sees the request go");
    assert_eq!(e, Some("closed"));
}

// ---- tools ----

#[tokio::test]
async fn a_registry_tool_runs_and_an_unknown_one_is_not_retried() {
    let (r, lines) = run(Action::Tool { name: "text_stats".into(), args: json!({"text": "hello tool world"}) }).await;
    assert_eq!(r.unwrap()["words"], 3);
    assert!(!lines.is_empty());
    let (r, _) = run(Action::Tool { name: "no_such_tool".into(), args: json!({}) }).await;
    let e = r.unwrap_err();
    assert!(!e.retryable && e.message.contains("no_such_tool"), "{e:?}");
    let (r, _) = run(Action::Tool { name: "text_stats".into(), args: json!({"text": 5}) }).await;
    let e = r.unwrap_err();
    assert!(!e.retryable && e.message.contains("text"), "bad arguments: {e:?}");
}

// ---- actions ----

#[test]
fn from_step_reads_each_kind() {
    let a = Action::from_step(&Uses::Shell, &json!({"command": "ls", "env": {"A": "1"}})).unwrap();
    assert_eq!(a, Action::Shell { command: "ls".into(), cwd: None, env: BTreeMap::from([("A".into(), "1".into())]) });
    let a = Action::from_step(&Uses::Http, &json!({"url": "https://x.example/h"})).unwrap();
    assert_eq!(a, get_action("https://x.example/h".into()));
    let a = Action::from_step(&Uses::Http, &json!({"url": "http://x/", "method": "post", "body": [1]})).unwrap();
    let Action::Http { method, headers, body, .. } = a else { panic!() };
    assert_eq!((method.as_str(), body.as_deref()), ("POST", Some("[1]")));
    assert_eq!(headers.get("content-type").map(String::as_str), Some("application/json"));
    let a = Action::from_step(&Uses::Tool("text_stats".into()), &Value::Null).unwrap();
    assert_eq!(a, Action::Tool { name: "text_stats".into(), args: json!({}) });
}

#[test]
fn from_step_says_which_argument_is_wrong() {
    let err = |uses: Uses, with: Value| Action::from_step(&uses, &with).unwrap_err();
    assert_eq!(err(Uses::Shell, json!({"command": 5})), "with.command must be a string, not 5");
    assert_eq!(err(Uses::Shell, json!({})), "a shell step needs with.command");
    assert!(err(Uses::Shell, json!({"comand": "ls"})).contains("did you mean `command`"));
    assert_eq!(err(Uses::Shell, json!({"command": "ls", "env": {"A": 1}})), "with.env.A must be a string, not 1");
    assert_eq!(err(Uses::Shell, json!("ls")), "with must be a table, not \"ls\"");
    assert_eq!(
        err(Uses::Http, json!({"url": "http://x/", "headers": ["a"]})),
        "with.headers must be a table of strings, not [\"a\"]"
    );
    assert_eq!(
        err(Uses::Http, json!({"url": "http://x/", "headers": {"x-n": 2}})),
        "with.headers.x-n must be a string, not 2"
    );
    assert!(err(Uses::Http, json!({"url": "http://x/", "headers": {"bad name": "v"}})).contains("not a header name"));
    assert!(err(Uses::Http, json!({"url": "http://x/", "method": "FETCH"})).contains("is not an HTTP method"));
    assert!(err(Uses::Http, json!({"url": "ftp://x/"})).contains("http:// or https://"));
    assert!(err(Uses::Http, json!({"url": "not a url"})).starts_with("with.url"));
    assert!(err(Uses::Http, json!({"url": "http://x/", "body": 3})).contains("with.body"));
    assert!(err(Uses::Approve, json!({})).contains("approve"));
    assert!(err(Uses::Tool("t".into()), json!([1])).contains("table"));
}

#[test]
fn what_counts_as_mutating() {
    let reg = registry();
    let http =
        |m: &str| Action::Http { method: m.into(), url: "http://x/".into(), headers: BTreeMap::new(), body: None };
    assert!(shell_action("true").mutating(&reg));
    assert!(!http("GET").mutating(&reg) && !http("HEAD").mutating(&reg) && !http("OPTIONS").mutating(&reg));
    assert!(http("POST").mutating(&reg) && http("DELETE").mutating(&reg));
    let tool = |name: &str, args: Value| Action::Tool { name: name.into(), args };
    assert!(!tool("text_stats", json!({})).mutating(&reg));
    assert!(tool("shell", json!({"command": "true"})).mutating(&reg));
    assert!(tool("http_check", json!({"url": "http://x/", "method": "POST"})).mutating(&reg));
    assert!(tool("no_such_tool", json!({})).mutating(&reg), "unknown: assume it changes things");
}
