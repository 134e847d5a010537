//! `opsdeck chat` headless, the real binary: against a real llama.cpp
//! server with SmolLM2 (tests/peers/llama.rs, installed by `bash .ci/test`)
//! the answer streams to stdout, the conversation is saved and goes on with
//! `--conversation ID`; without a usable provider the exit code and the
//! message say what to do. Temporary config, data, state and runtime
//! directories; keys only from the file store (`OPSDECK_KEYRING=file`).

mod peers;
#[path = "support/scripted_http.rs"]
mod scripted_http;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use opsdeck::engine::store::Store;
use opsdeck::protocol::chat::{Finish, ModelRef, Role};
use peers::llama::LlamaServer;

/// A failure bound, never a measure: each answer is at most 24 tokens, but
/// the default system prompt is read at about 50 tokens a second.
const LIMIT: Duration = Duration::from_secs(180);

/// One opsdeck user's temporary directories.
struct Home {
    root: tempfile::TempDir,
}

impl Home {
    fn new(config: &str) -> Home {
        let root = tempfile::Builder::new().prefix("opsdeck-chat-").tempdir().expect("tempdir");
        for d in ["config", "data", "state", "run", "home"] {
            std::fs::create_dir_all(root.path().join(d)).expect("mkdir");
        }
        std::fs::write(root.path().join("config/config.toml"), config).expect("config.toml");
        Home { root }
    }

    fn dir(&self, d: &str) -> PathBuf {
        self.root.path().join(d)
    }

    /// `opsdeck ARGS` with `stdin` piped in (`None`: no stdin at all), to
    /// its end (within [`LIMIT`]).
    fn opsdeck(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
        cmd.args(args).current_dir(self.dir("home"));
        for k in ["XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS", "OPSDECK_CA_FILE", "OPSDECK_SECRET_PROVIDER_LOCAL"] {
            cmd.env_remove(k);
        }
        cmd.env("OPSDECK_CONFIG_DIR", self.dir("config"))
            .env("OPSDECK_DATA_DIR", self.dir("data"))
            .env("OPSDECK_STATE_DIR", self.dir("state"))
            .env("OPSDECK_RUNTIME_DIR", self.dir("run"))
            .env("OPSDECK_KEYRING", "file")
            .env("HOME", self.dir("home"))
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn opsdeck");
        if let (Some(mut pipe), Some(text)) = (child.stdin.take(), stdin) {
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        match rx.recv_timeout(LIMIT) {
            Ok(out) => out.expect("wait"),
            Err(_) => {
                if let Some(p) = rustix::process::Pid::from_raw(pid as i32) {
                    let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
                }
                panic!("opsdeck {args:?} did not finish within {LIMIT:?}");
            }
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Provider `local` at `base_url` (24 tokens an answer, temperature 0).
fn config_for(base_url: &str) -> String {
    format!(
        "[[provider]]\nname = \"local\"\nkind = \"openai\"\nbase_url = \"{base_url}\"\nmodels = [\"smollm2\"]\n\
         max_tokens = 24\nfirst_token_timeout = \"180s\"\nidle_timeout = \"180s\"\n\n[chat]\ntemperature = 0.0\n"
    )
}

/// `http://127.0.0.1:PORT/v1` on a port nothing listens on (bound, then closed).
fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    format!("http://127.0.0.1:{port}/v1")
}

/// The id in stderr's `conversation ID (opsdeck chat --conversation ID "…" goes on)`.
fn conversation_id(stderr: &str) -> String {
    let line = stderr.lines().find(|l| l.starts_with("conversation ")).unwrap_or_else(|| panic!("{stderr}"));
    let id = line.split_whitespace().nth(1).expect("an id");
    assert!(line.contains(&format!("--conversation {id}")), "{line}");
    id.to_string()
}

#[test]
fn asks_with_stdin_then_goes_on_with_the_conversation() {
    let llm = LlamaServer::start(None);
    // A dead provider first in the fallback chain: skipped, said so, recorded.
    let config = format!(
        "{}\n[[provider]]\nname = \"dead\"\nkind = \"openai\"\nbase_url = \"{}\"\nmodels = [\"m\"]\n",
        config_for(llm.base_url()).replace("[chat]\n", "[chat]\nfallback = [\"dead/m\", \"local/smollm2\"]\n"),
        dead_url()
    );
    let home = Home::new(&config);

    let first = home.opsdeck(&["chat", "why did nginx restart?"], Some("nginx: worker process exited on signal 9\n"));
    let (out, err) = (text(&first.stdout), text(&first.stderr));
    assert_eq!(first.status.code(), Some(0), "stdout: {out}\nstderr: {err}\n{}", llm.log());
    assert!(!out.trim().is_empty(), "the answer is on stdout; stderr: {err}");
    assert!(out.ends_with('\n'), "stdout ends its last line: {out:?}");
    assert!(!out.contains("conversation "), "notes stay off stdout: {out}");
    assert!(err.contains("local/smollm2"), "which model answered: {err}");
    assert!(err.lines().any(|l| l.starts_with("↷ skipped dead/m: ") && l.contains("refused")), "{err}");
    let id = conversation_id(&err);

    let second = home.opsdeck(&["chat", "--conversation", &id, "and now?"], None);
    let (out2, err2) = (text(&second.stdout), text(&second.stderr));
    assert_eq!(second.status.code(), Some(0), "stdout: {out2}\nstderr: {err2}\n{}", llm.log());
    assert!(!out2.trim().is_empty(), "stderr: {err2}");
    assert_eq!(conversation_id(&err2), id, "the same conversation goes on");

    // Both processes have ended: the store is free to open.
    let store = Store::open(&home.dir("data"), 1 << 20).expect("the data directory");
    let conv = store.load_conversation(&id).expect("readable").expect("saved");
    let roles: Vec<Role> = conv.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::User, Role::Assistant]);
    let (q1, a1, q2, a2) = (&conv.messages[0], &conv.messages[1], &conv.messages[2], &conv.messages[3]);
    assert_eq!(q1.content, "why did nginx restart?");
    assert_eq!(q1.attachments.len(), 1, "stdin is attached: {q1:?}");
    assert_eq!(q1.attachments[0].kind, "stdin");
    assert_eq!(q1.attachments[0].text, "nginx: worker process exited on signal 9\n");
    assert_eq!(q2.content, "and now?");
    assert!(q2.attachments.is_empty(), "no stdin, no attachment: {q2:?}");
    assert_eq!(a1.content.trim(), out.trim(), "what was printed is what was saved");
    assert_eq!(a2.content.trim(), out2.trim());
    let local = ModelRef::parse("local/smollm2");
    assert_eq!(a1.skipped.len(), 1, "{a1:?}");
    assert_eq!(a1.skipped[0].model, ModelRef::parse("dead/m").expect("model"));
    for a in [a1, a2] {
        assert_eq!(a.model, local);
        assert!(matches!(a.finish, Some(Finish::Stop | Finish::Length)), "{a:?}");
        assert!(a.usage.is_some_and(|u| !u.estimated && u.output > 0), "the server's usage: {a:?}");
    }
    // The second request carried the first turn (and its stdin) along.
    let (u1, u2) = (a1.usage.expect("usage"), a2.usage.expect("usage"));
    assert!(u2.input > u1.input + u1.output, "{u1:?} then {u2:?}");
    assert_eq!(conv.meta.title, "why did nginx restart?");
    assert_eq!(conv.meta.messages, 4);
}

#[test]
fn no_provider_configured_exits_2_with_an_example() {
    let home = Home::new("");
    let out = home.opsdeck(&["chat", "hello"], None);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty());
    for part in ["no LLM provider is configured", "[[provider]]", "kind = \"openai\"", "base_url = ", "models = ["] {
        assert!(err.contains(part), "{part:?} in {err}");
    }
    assert!(err.contains(&home.dir("config").join("config.toml").display().to_string()), "{err}");
    assert!(err.contains("opsdeck key set provider:"), "{err}");
    assert!(!home.dir("data").join("db").exists(), "nothing was stored");
}

#[test]
fn an_unknown_provider_exits_2_naming_the_configured_ones() {
    let config = "[[provider]]\nname = \"local\"\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\n\
                  models = [\"m\"]\n\n[[provider]]\nname = \"claude\"\nkind = \"anthropic\"\n\
                  base_url = \"https://api.anthropic.com/v1\"\nmodels = [\"c\"]\n";
    let home = Home::new(config);
    let out = home.opsdeck(&["chat", "--provider", "nope", "hello"], None);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no provider \"nope\"; configured: local, claude"), "{err}");
    assert!(out.stdout.is_empty());
}

/// A provider that is not listening: exit 1 with why, and the question is
/// kept in the conversation (to ask again with `--conversation`).
#[test]
fn an_unreachable_provider_exits_1_saying_why() {
    let home = Home::new(&config_for(&dead_url()));
    let out = home.opsdeck(&["chat", "hello"], None);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("local/smollm2") && err.contains("refused"), "{err}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let id = conversation_id(&err);
    let store = Store::open(&home.dir("data"), 1 << 20).expect("the data directory");
    let conv = store.load_conversation(&id).expect("readable").expect("saved");
    assert_eq!(conv.messages[0].content, "hello");
    let answer = &conv.messages[1];
    assert!(matches!(&answer.finish, Some(Finish::Cut { error }) if error.contains("refused")), "{answer:?}");
    assert_eq!(answer.skipped.len(), 1, "why the model was skipped is recorded: {answer:?}");
    assert_eq!(answer.skipped[0].model, ModelRef::parse("local/smollm2").expect("model"));
}

/// `git diff | opsdeck chat`: with no words, what was piped is the question
/// (not an attachment); with neither, exit 2 saying how to give one.
#[test]
fn piped_stdin_without_words_is_the_question() {
    let home = Home::new(&config_for(&dead_url()));
    let out = home.opsdeck(&["chat"], Some("why is / full?\nit grew overnight\n"));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "the provider is dead: {err}");
    let id = conversation_id(&err);
    let store = Store::open(&home.dir("data"), 1 << 20).expect("the data directory");
    let conv = store.load_conversation(&id).expect("readable").expect("saved");
    assert_eq!(conv.messages[0].content, "why is / full?\nit grew overnight\n");
    assert!(conv.messages[0].attachments.is_empty(), "{:?}", conv.messages[0].attachments);
    assert_eq!(conv.meta.title, "why is / full?");

    for stdin in [None, Some(" \n")] {
        let out = home.opsdeck(&["chat"], stdin);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("no question") && err.contains("pipe it on stdin"), "{err}");
    }
}

/// `--model` names a model of the provider: one not among its configured
/// `models` is refused like an unknown `--provider` (exit 2, the configured
/// ones listed), before anything is asked or stored.
#[test]
fn a_model_the_provider_does_not_have_exits_2_naming_its_models() {
    let config = "[[provider]]\nname = \"local\"\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\n\
                  models = [\"smollm2\", \"qwen\"]\n";
    let home = Home::new(config);
    for args in [&["chat", "--provider", "local", "--model", "nosuch", "hi"][..], &["chat", "--model", "nosuch", "hi"]]
    {
        let out = home.opsdeck(args, None);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err, "error: no model \"nosuch\" at provider local; configured: smollm2, qwen\n");
        assert!(out.stdout.is_empty());
    }
    assert!(!home.dir("data").join("db").exists(), "nothing was stored");
}

/// A provider with no `models` (its server lists them): `--model` is
/// checked against the listing — refused (exit 2) when absent, asked when
/// present; a listing that fails is said on stderr and the model asked anyway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_is_checked_against_the_servers_listing_when_none_are_configured() {
    use scripted_http::{Reply, Server, Step, events};
    let listing = r#"{"object":"list","data":[{"id":"smollm2"},{"id":"qwen"}]}"#;
    let answer = events(&[r#"{"choices":[{"delta":{"content":"hello"},"finish_reason":"stop"}]}"#, "[DONE]"]);
    let server = Server::start(vec![
        Reply::json(200, listing),
        Reply::json(200, listing),
        Reply::sse(vec![Step::Bytes(answer)]),
    ])
    .await;
    let config = format!("[[provider]]\nname = \"local\"\nkind = \"openai\"\nbase_url = \"{}\"\n", server.base_url());
    let home = std::sync::Arc::new(Home::new(&config));
    let run = |args: &'static [&'static str]| {
        let home = home.clone();
        tokio::task::spawn_blocking(move || home.opsdeck(args, None))
    };

    let out = run(&["chat", "--provider", "local", "--model", "nosuch", "hi"]).await.expect("ran");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err, "error: no model \"nosuch\" at provider local; its server lists: smollm2, qwen\n");
    let paths: Vec<String> = server.requests().iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    assert_eq!(paths, ["GET /v1/models"], "listed, never asked");

    let out = run(&["chat", "--provider", "local", "--model", "qwen", "hi"]).await.expect("ran");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(text(&out.stdout), "hello\n");
    assert!(err.contains("— local/qwen"), "{err}");
    assert_eq!(server.requests().len(), 3, "listed, then asked");
    assert_eq!(server.requests()[2].json()["model"], "qwen");

    let dead = format!("[[provider]]\nname = \"local\"\nkind = \"openai\"\nbase_url = \"{}\"\n", dead_url());
    let home = Home::new(&dead);
    let out =
        tokio::task::spawn_blocking(move || home.opsdeck(&["chat", "--model", "qwen", "hi"], None)).await.expect("ran");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "asked anyway, and the server is down: {err}");
    let warning =
        err.lines().find(|l| l.starts_with("warning: cannot list the models")).unwrap_or_else(|| panic!("{err}"));
    assert!(warning.contains("connection refused") && warning.ends_with("asking it anyway"), "{warning}");
}
