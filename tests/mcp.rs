//! MCP servers as tool sources, against the real reference servers from npm
//! (`@modelcontextprotocol/server-everything` and `server-filesystem`, installed
//! by `.ci/run` into `$OPSDECK_MCP_DIR`) and a small fixture server of ours
//! (tests/fixtures/mcp/fixture-server.js) that dies, changes its tool list and
//! waits to be cancelled.

mod peers;

use peers::{Proc, free_port};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use opsdeck::config::mcp::{McpServerConfig, McpTransport};
use opsdeck::engine::tools::mcp::{McpHub, McpState, McpStatus};
use opsdeck::engine::tools::{Registry, RunOptions, ToolError};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

/// A failure bound, not a synchronisation.
const LIMIT: Duration = Duration::from_secs(60);

/// Where `.ci/run` installs the npm servers.
fn mcp_dir() -> PathBuf {
    let dir = std::env::var_os("OPSDECK_MCP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/opsdeck-mcp"));
    for pkg in ["server-everything", "server-filesystem"] {
        let entry = dir.join(format!("node_modules/@modelcontextprotocol/{pkg}/dist/index.js"));
        assert!(
            entry.exists(),
            "{} is missing: run .ci/run, or npm install --prefix {} @modelcontextprotocol/server-everything @modelcontextprotocol/server-filesystem",
            entry.display(),
            dir.display()
        );
    }
    dir
}

fn server_js(pkg: &str) -> String {
    mcp_dir().join(format!("node_modules/@modelcontextprotocol/{pkg}/dist/index.js")).display().to_string()
}

fn fixture_js() -> String {
    format!("{}/tests/fixtures/mcp/fixture-server.js", env!("CARGO_MANIFEST_DIR"))
}

fn everything() -> McpServerConfig {
    McpServerConfig::stdio("everything", "node", &[&server_js("server-everything"), "stdio"])
}

fn fixture() -> McpServerConfig {
    let mut cfg = McpServerConfig::stdio("fixture", "node", &[&fixture_js()]);
    if let McpTransport::Stdio { env, .. } = &mut cfg.transport {
        env.insert("FIXTURE_VAR".into(), "from config".into());
    }
    cfg
}

struct Hub {
    hub: McpHub,
    registry: watch::Receiver<Registry>,
    _dir: tempfile::TempDir,
}

fn start(servers: &[McpServerConfig]) -> Hub {
    let dir = tempfile::tempdir().expect("tempdir");
    let (tx, registry) =
        watch::channel(Registry::with_builtins(opsdeck::jq::JqRunner::new(env!("CARGO_BIN_EXE_opsdeck"))));
    let hub = McpHub::start(servers, tx, dir.path());
    Hub { hub, registry, _dir: dir }
}

impl Hub {
    /// Wait (bounded) until server `name` is in a state `ok` accepts.
    async fn wait_state(&self, name: &str, ok: impl Fn(&McpState) -> bool) -> McpState {
        let mut rx = self.hub.status();
        let found = tokio::time::timeout(
            LIMIT,
            rx.wait_for(|v: &Vec<McpStatus>| v.iter().any(|s| s.name == name && ok(&s.state))),
        )
        .await
        .is_ok_and(|r| r.is_ok());
        let now = rx.borrow().clone();
        assert!(found, "{name} never reached the state; now {now:?}");
        now.into_iter().find(|s| s.name == name).map(|s| s.state).expect("listed")
    }

    async fn ready(&self, name: &str) -> usize {
        match self.wait_state(name, |s| matches!(s, McpState::Ready { .. })).await {
            McpState::Ready { tools } => tools,
            s => panic!("{s:?}"),
        }
    }

    /// Run a tool (confirmed), collecting its output lines.
    async fn run(&self, name: &str, args: Value) -> (Result<Value, ToolError>, Vec<String>) {
        let registry = self.registry.borrow().clone();
        let (tx, mut rx) = mpsc::channel(256);
        let opts = RunOptions { confirmed: true, read_only: false };
        let collect = tokio::spawn(async move {
            let mut lines = Vec::new();
            while let Some(l) = rx.recv().await {
                lines.push(l);
            }
            lines
        });
        let r = tokio::time::timeout(LIMIT, registry.run_with(name, args, tx, opts)).await.expect("bounded");
        (r, collect.await.unwrap_or_default())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_tools_are_listed_and_called() {
    let h = start(&[everything()]);
    assert!(h.ready("everything").await >= 10);
    let reg = h.registry.borrow().clone();
    let specs = reg.specs();
    let echo = specs.iter().find(|s| s.name == "everything/echo").expect("everything/echo listed");
    assert_eq!(echo.source, "everything");
    assert_eq!(echo.schema["required"], json!(["message"]));
    assert!(!echo.mutating, "echo declares readOnlyHint");
    assert!(specs.iter().any(|s| s.name == "everything/get-sum"));
    assert!(specs.iter().any(|s| s.name == "tcp_check" && s.source == "builtin"), "builtins stay");

    let (r, lines) = h.run("everything/get-sum", json!({"a": 2, "b": 3})).await;
    let v = r.expect("get-sum");
    assert!(v[0]["text"].as_str().is_some_and(|t| t.contains('5')), "{v}");
    assert!(lines.iter().any(|l| l.contains('5')), "text content is streamed: {lines:?}");

    let (r, _) = h.run("everything/get-structured-content", json!({"location": "Chicago"})).await;
    let v = r.expect("structured");
    assert!(v["temperature"].is_number(), "structured content is the result: {v}");

    let (r, _) = h.run("everything/get-sum", json!({"a": 2})).await;
    assert!(matches!(r, Err(ToolError::BadArgument { .. })), "the schema is enforced: {r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_notifications_become_output_lines() {
    let h = start(&[everything()]);
    h.ready("everything").await;
    let (r, lines) = h.run("everything/trigger-long-running-operation", json!({"duration": 0.6, "steps": 3})).await;
    let v = r.expect("long running operation");
    assert!(v[0]["text"].as_str().is_some_and(|t| t.contains("completed")), "{v}");
    assert!(lines.iter().any(|l| l == "progress 1/3"), "{lines:?}");
    let progress: Vec<&String> = lines.iter().filter(|l| l.starts_with("progress ")).collect();
    assert!(progress.windows(2).all(|w| w[0] < w[1]), "in order: {progress:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_result_is_a_failure() {
    let allowed = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, "nope").expect("write");
    let allowed_path = allowed.path().display().to_string();
    let fs = McpServerConfig::stdio("fs", "node", &[&server_js("server-filesystem"), &allowed_path]);
    let h = start(&[fs]);
    h.ready("fs").await;
    let (r, _) = h.run("fs/read_text_file", json!({"path": secret.display().to_string()})).await;
    match r {
        Err(ToolError::Failed(msg)) => assert!(msg.contains("denied") || msg.contains("outside"), "{msg}"),
        r => panic!("expected a tool error, got {r:?}"),
    }
    std::fs::write(allowed.path().join("ok.txt"), "fine").expect("write");
    let (r, lines) =
        h.run("fs/read_text_file", json!({"path": allowed.path().join("ok.txt").display().to_string()})).await;
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(lines, vec!["fine".to_string()]);
    let spec = h.registry.borrow().get("fs/write_file").map(|t| t.spec().clone()).expect("write_file");
    assert!(spec.mutating, "a server is mutating unless a tool says it is read-only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_runs_only_tools_marked_read_only_hint() {
    // Even a server configured `mutating = false` (no confirmation asked) runs
    // under --read-only only the tools that declare readOnlyHint.
    let mut cfg = fixture();
    cfg.mutating = false;
    let h = start(&[cfg]);
    h.ready("fixture").await;
    let registry = h.registry.borrow().clone();
    let ro = RunOptions { confirmed: true, read_only: true };
    let (tx, _rx) = mpsc::channel(16);
    let r = tokio::time::timeout(LIMIT, registry.run_with("fixture/add_tool", json!({}), tx.clone(), ro)).await;
    match r.expect("bounded") {
        Err(ToolError::Refused(m)) => assert!(m.starts_with("read-only: ") && m.contains("readOnlyHint"), "{m}"),
        r => panic!("expected a refusal, got {r:?}"),
    }
    assert!(registry.get("fixture/extra").is_err(), "the tool did not run");
    let r = tokio::time::timeout(LIMIT, registry.run_with("fixture/env", json!({}), tx, ro)).await;
    assert!(r.expect("bounded").is_ok(), "a readOnlyHint tool runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_change_refreshes_the_registry_and_pages_are_all_read() {
    let h = start(&[fixture()]);
    assert_eq!(h.ready("fixture").await, 7, "seven tools over four pages");
    let mut reg = h.registry.clone();
    let (r, _) = h.run("fixture/add_tool", json!({})).await;
    assert!(r.is_ok(), "{r:?}");
    let found = tokio::time::timeout(LIMIT, reg.wait_for(|r| r.get("fixture/extra").is_ok())).await;
    assert!(matches!(found, Ok(Ok(_))), "fixture/extra never appeared");
    let (r, _) = h.run("fixture/extra", json!({})).await;
    assert_eq!(r.expect("extra")[0]["text"], "extra");
    h.ready("fixture").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_over_the_transport_limit_fails_the_call_at_once_with_the_reason() {
    let h = start(&[fixture()]);
    h.ready("fixture").await;
    // The fixture's calls time out after a minute: the run helper's bound is far shorter.
    let (r, _) = h.run("fixture/huge", json!({})).await;
    let e = r.expect_err("no answer can be read").to_string();
    assert!(e.contains("sent a message over 16 MiB"), "{e}");
    assert!(!e.contains("timed out"), "the reason, not a timeout: {e}");
    // The server stays usable.
    let (r, _) = h.run("fixture/env", json!({})).await;
    assert!(r.is_ok(), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemas_with_refs_and_any_of_get_typed_arguments() {
    let h = start(&[fixture()]);
    h.ready("fixture").await;
    let schema = h.registry.borrow().get("fixture/search").expect("listed").spec().schema.clone();
    assert_eq!(schema["properties"]["query"]["type"], "object", "$ref resolved: {schema}");
    assert_eq!(schema["properties"]["limit"]["type"], "integer", "first non-null branch: {schema}");
    let pairs = [r#"query={"text":"disk","limit":3}"#.to_string(), "limit=5".into(), "note=[1,2]".into()];
    let args = opsdeck::engine::tools::parse_args(&schema, &pairs, &mut || Ok(String::new())).expect("args");
    assert_eq!(args, json!({"query": {"text": "disk", "limit": 3}, "limit": 5, "note": [1, 2]}));
    let (r, _) = h.run("fixture/search", args.clone()).await;
    assert_eq!(r.expect("search"), args, "the server got objects and numbers, not strings");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_child_gets_its_env_and_no_opsdeck_secrets() {
    let h = start(&[fixture()]);
    h.ready("fixture").await;
    let (r, _) = h.run("fixture/env", json!({})).await;
    let v = r.expect("env");
    assert_eq!(v["fixture_var"], "from config");
    assert_eq!(v["secrets"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_run_cancels_the_request() {
    let h = start(&[fixture()]);
    h.ready("fixture").await;
    let registry = h.registry.borrow().clone();
    let (tx, mut rx) = mpsc::channel(16);
    let opts = RunOptions { confirmed: true, read_only: false };
    let run = tokio::spawn(async move { registry.run_with("fixture/slow", json!({}), tx, opts).await });
    let first = tokio::time::timeout(LIMIT, rx.recv()).await.expect("bounded");
    assert_eq!(first.as_deref(), Some("progress 1: started"), "the server has the request");
    run.abort();
    let (r, _) = h.run("fixture/wait_cancelled", json!({})).await;
    let text = r.expect("wait_cancelled")[0]["text"].as_str().unwrap_or_default().to_string();
    assert!(text.starts_with("cancelled "), "notifications/cancelled reached the server: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_dies_mid_call_fails_the_call_at_once_and_is_restarted() {
    let h = start(&[fixture()]);
    h.ready("fixture").await;
    let started = Instant::now();
    let (r, _) = h.run("fixture/die", json!({})).await;
    match &r {
        Err(ToolError::Failed(msg)) => {
            assert!(msg.starts_with("MCP server fixture exited during the call"), "{msg}");
            assert!(msg.contains("exit status: 3") && msg.contains("dying on purpose"), "{msg}");
        }
        r => panic!("expected Failed, got {r:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(30), "prompt, not at the 60 s timeout");
    let state = h.wait_state("fixture", |s| matches!(s, McpState::Restarting { .. })).await;
    assert!(
        matches!(&state, McpState::Restarting { attempt: 1, error, .. } if error.contains("exit status: 3")),
        "{state:?}"
    );
    // Meanwhile its tools stay listed, and calls say why they cannot run.
    assert!(h.registry.borrow().get("fixture/env").is_ok());
    h.ready("fixture").await;
    let (r, _) = h.run("fixture/env", json!({})).await;
    assert!(r.is_ok(), "works again after the restart: {r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamable_http_lists_and_calls() {
    let port = free_port();
    let _server = Proc(
        Command::new("node")
            .args([&server_js("server-everything"), "streamableHttp"])
            .env("PORT", port.to_string())
            .env_clear_secrets()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node"),
    );
    // Until the server listens, the hub retries with backoff: that is the wait.
    let h = start(&[McpServerConfig::http("web", format!("http://127.0.0.1:{port}/mcp"))]);
    assert!(h.ready("web").await >= 10);
    let (r, lines) = h.run("web/echo", json!({"message": "hello over http"})).await;
    assert!(r.is_ok(), "{r:?}");
    assert!(lines.iter().any(|l| l.contains("hello over http")), "{lines:?}");
    let (r, lines) = h.run("web/trigger-long-running-operation", json!({"duration": 0.4, "steps": 2})).await;
    assert!(r.is_ok(), "{r:?}");
    assert!(lines.iter().any(|l| l == "progress 1/2"), "{lines:?}");
}

trait NoSecrets {
    fn env_clear_secrets(&mut self) -> &mut Self;
}

impl NoSecrets for Command {
    /// server-everything's get-env tool echoes its environment: keep opsdeck's secrets out.
    fn env_clear_secrets(&mut self) -> &mut Self {
        for (k, _) in std::env::vars_os() {
            if k.to_str().is_some_and(|k| k.starts_with("OPSDECK_SECRET_") || k == "OPSDECK_TOKEN") {
                self.env_remove(k);
            }
        }
        self
    }
}

// ---- the real binary ----

fn write_config(home: &Path, servers: &str) {
    let dir = home.join("config");
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::write(dir.join("config.toml"), servers).expect("config");
}

fn opsdeck(home: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .env("OPSDECK_CONFIG_DIR", home.join("config"))
        .env("OPSDECK_DATA_DIR", home.join("data"))
        .env("OPSDECK_STATE_DIR", home.join("state"))
        .env_clear_secrets()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run opsdeck")
}

fn toml_str(s: &str) -> String {
    serde_json::to_string(s).expect("string")
}

#[test]
fn cli_lists_mcp_tools_and_warns_about_a_broken_server() {
    let home = tempfile::tempdir().expect("tempdir");
    write_config(
        home.path(),
        &format!(
            "[[mcp_server]]\nname = \"everything\"\ncommand = \"node\"\nargs = [{}, \"stdio\"]\n\n\
             [[mcp_server]]\nname = \"broken\"\ncommand = \"/nonexistent/mcp-server\"\n",
            toml_str(&server_js("server-everything"))
        ),
    );
    let out = opsdeck(home.path(), &["tool", "--list"], &[]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    let echo = stdout.lines().find(|l| l.starts_with("everything/echo ")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(echo.split_whitespace().nth(1) == Some("everything"), "source column: {echo}");
    assert!(stdout.lines().any(|l| l.starts_with("tcp_check ") && l.contains("builtin")), "{stdout}");
    assert!(stderr.contains("warning: MCP server broken") && stderr.contains("cannot start"), "{stderr}");
    let json = opsdeck(home.path(), &["tool", "--list", "--json"], &[]);
    let v: Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert!(
        v.as_array().expect("array").iter().any(|t| t["name"] == "everything/get-sum" && t["source"] == "everything")
    );
}

#[test]
fn cli_runs_mcp_tools_with_exit_codes() {
    let home = tempfile::tempdir().expect("tempdir");
    write_config(
        home.path(),
        &format!(
            "[[mcp_server]]\nname = \"everything\"\ncommand = \"node\"\nargs = [{}, \"stdio\"]\n\n\
             [[mcp_server]]\nname = \"fixture\"\ncommand = \"node\"\nargs = [{}]\nmutating = false\n",
            toml_str(&server_js("server-everything")),
            toml_str(&fixture_js())
        ),
    );
    let out = opsdeck(home.path(), &["tool", "everything/get-sum", "--arg", "a=2", "--arg", "b=3", "--json"], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON result");
    assert!(v[0]["text"].as_str().is_some_and(|t| t.contains('5')), "{v}");
    // opsdeck's own secrets never reach a server.
    let out = opsdeck(home.path(), &["tool", "fixture/env", "--json"], &[("OPSDECK_SECRET_DEMO", "s3cret")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["secrets"], json!([]), "{v}");
    let out = opsdeck(home.path(), &["tool", "fixture/die"], &[]);
    assert_eq!(out.status.code(), Some(1), "the tool failed");
    assert!(String::from_utf8_lossy(&out.stderr).contains("exited during the call"));
    let out = opsdeck(home.path(), &["tool", "everything/nope"], &[]);
    assert_eq!(out.status.code(), Some(2), "no such tool: {}", String::from_utf8_lossy(&out.stderr));
}

/// server-everything over streamable HTTP on `port`, once it listens.
fn http_server(port: u16) -> Proc {
    use std::io::BufRead;
    let mut child = Command::new("node")
        .args([&server_js("server-everything"), "streamableHttp"])
        .env("PORT", port.to_string())
        .env_clear_secrets()
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node");
    let stderr = child.stderr.take().expect("piped");
    let proc = Proc(child);
    let mut lines = std::io::BufReader::new(stderr).lines();
    assert!(
        lines.by_ref().map_while(Result::ok).any(|l| l.contains("listening on port")),
        "server-everything did not start"
    );
    // Keep draining its stderr so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    proc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http_server_that_restarts_gets_a_new_session() {
    let port = free_port();
    let server = http_server(port);
    let h = start(&[McpServerConfig::http("web", format!("http://127.0.0.1:{port}/mcp"))]);
    h.ready("web").await;
    assert!(h.run("web/echo", json!({"message": "one"})).await.0.is_ok());
    drop(server);
    let (r, _) = h.run("web/echo", json!({"message": "down"})).await;
    match r {
        Err(ToolError::Failed(msg)) => assert!(msg.starts_with("MCP server web cannot be reached: "), "{msg}"),
        r => panic!("expected a failure while the server is down, got {r:?}"),
    }
    let _server = http_server(port);
    // The new process does not know our session: a new one is made and the call goes through.
    let (r, lines) = h.run("web/echo", json!({"message": "two"})).await;
    assert!(r.is_ok(), "{r:?}");
    assert!(lines.iter().any(|l| l.contains("two")), "{lines:?}");
}
