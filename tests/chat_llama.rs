//! The chat engine (`engine::chat::ask`) against a real OpenAI-compatible
//! server: llama.cpp with SmolLM2-135M (tests/peers/llama.rs, installed by
//! `bash .ci/test`), at temperature 0 with a few tokens per answer. What a
//! small model cannot be made to do reliably is in tests/chat_stream.rs
//! (a scripted loopback server).

#[path = "support/asked.rs"]
mod asked;
mod peers;

use std::time::Duration;

use asked::Asked;
use opsdeck::config::chat::{ChatConfig, ProviderConfig, ProviderKind};
use opsdeck::engine::chat::{ChatError, Progress, Providers, Request, ask, http_client};
use opsdeck::protocol::chat::{ChatDelta, ChatMessage, Finish, ModelRef, Role, ToolDef};
use peers::llama::LlamaServer;
use serde_json::{Value, json};
use tokio::sync::mpsc;

const KEY: &str = "opsdeck-test-key";
/// A failure bound, never a measure: on a loaded 2-core machine the model
/// reads about 50 prompt tokens a second and writes about 40.
const LIMIT: Duration = Duration::from_secs(180);

/// The llama.cpp server as provider `name`, model `smollm2`, answers of at
/// most `max_tokens` tokens.
fn provider(name: &str, base_url: &str, max_tokens: u32) -> ProviderConfig {
    let mut p = ProviderConfig::new(name, ProviderKind::Openai, base_url, &["smollm2"]);
    p.max_tokens = max_tokens;
    p.first_token_timeout = LIMIT;
    p.idle_timeout = LIMIT;
    p
}

fn providers(configs: &[ProviderConfig], key: Option<&str>) -> Providers {
    Providers::new(configs, &ChatConfig::default(), |_| key.map(str::to_string))
}

fn model(s: &str) -> ModelRef {
    ModelRef::parse(s).expect("provider/model")
}

fn question(text: &str) -> Request {
    Request {
        system: "Answer briefly.".into(),
        messages: vec![ChatMessage::new(Role::User, text, 0)],
        tools: Vec::new(),
        temperature: Some(0.0),
    }
}

/// One ask against the peer, to its end; no piece is dropped folding it.
async fn run(providers: &Providers, chain: &[ModelRef], req: &Request) -> Asked {
    let a = asked::run_within(providers, chain, req, LIMIT).await;
    assert!(!a.dropped, "nothing is dropped");
    a
}

/// An answer that the model finished or stopped at `max_tokens`, with
/// text, and the token counts the server reported.
fn assert_answered(a: &Asked, llm: &LlamaServer) {
    let done = a.result.as_ref().unwrap_or_else(|e| panic!("{e}\n{}", llm.log()));
    assert!(matches!(done.finish, Finish::Stop | Finish::Length), "{:?}", done.finish);
    assert!(!a.answer.content.trim().is_empty(), "{:?}", a.progress);
    let usage = done.usage.expect("usage");
    assert!(!usage.estimated && usage.input > 0 && usage.output > 0, "{usage:?}");
    assert_eq!(a.answer.usage, Some(usage), "the usage delta is the one reported");
    assert_eq!(a.answer.finish.as_ref(), Some(&done.finish));
}

/// Lines of the server's log holding `what`.
fn log_lines(llm: &LlamaServer, what: &str) -> Vec<String> {
    llm.log().lines().filter(|l| l.contains(what)).map(str::to_string).collect()
}

/// The server's log once it holds `n` lines with `what` (llama.cpp writes
/// its log from a thread of its own, a moment after the fact); [`LIMIT`] is
/// a failure bound.
fn log_with(llm: &LlamaServer, what: &str, n: usize) -> String {
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let log = llm.log();
        if log.lines().filter(|l| l.contains(what)).count() >= n {
            return log;
        }
        assert!(std::time::Instant::now() < deadline, "no {n} lines with {what:?} in the log:\n{log}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A port nothing listens on: bound, then closed.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[tokio::test]
async fn a_streamed_answer_arrives_in_pieces_with_the_servers_usage() {
    let llm = LlamaServer::start(None);
    let ps = providers(&[provider("local", llm.base_url(), 24)], None);
    let a = run(&ps, &[model("local/smollm2")], &question("What does the uptime command show?")).await;
    assert_answered(&a, &llm);
    assert!(a.text_deltas() >= 2, "one delta per token: {:?}", a.progress);
    let done = a.result.as_ref().expect("answered");
    assert_eq!((&done.model, done.skipped.as_slice()), (&model("local/smollm2"), &[][..]));
    assert!(done.usage.expect("usage").output <= 24, "{:?}", done.usage);
    assert!(matches!(&a.progress[0], Progress::Trying { model: m } if *m == model("local/smollm2")));
    // The marker the cancel test looks for is not written for a request that ran to its end.
    let log = log_with(&llm, "stop processing", 1);
    assert!(log_lines(&llm, "cancel task").is_empty(), "{log}");
}

/// Cancel mid-stream: the ask future is dropped after the first piece of
/// text. The server has one slot and `max_tokens` 400, so had the request
/// gone on, the next one would have waited for it. What proves the abort is
/// the server's own log: llama.cpp writes `cancel task` only for a task
/// whose client went away before it ended (a request that ran to its end
/// writes none, see the test above), and the second request's task is
/// launched only after that line. The second question is then answered.
#[tokio::test]
async fn cancel_mid_stream_frees_the_server_at_once() {
    let llm = LlamaServer::start(None);
    let long = providers(&[provider("local", llm.base_url(), 400)], None);
    let client = http_client().expect("client");
    let (tx, mut rx) = mpsc::channel(1024);
    let (chain, req) = ([model("local/smollm2")], question("Write a long story about a cat who runs a data center."));
    let mut asking = Box::pin(ask(&client, &long, &chain, &req, &tx));
    let first = tokio::time::timeout(LIMIT, async {
        loop {
            tokio::select! {
                r = &mut asking => panic!("the answer ended before it was cancelled: {r:?}"),
                p = rx.recv() => if let Some(Progress::Delta(ChatDelta::Text { text })) = p { break text },
            }
        }
    })
    .await
    .expect("a first piece of text");
    assert!(!first.is_empty());
    drop(asking);

    let short = providers(&[provider("local", llm.base_url(), 24)], None);
    let a = run(&short, &chain, &question("Say hello.")).await;
    assert_answered(&a, &llm);

    // Both tasks were launched before the second answer arrived.
    let log = log_with(&llm, "processing task", 2);
    let cancelled = log_lines(&llm, "cancel task");
    assert_eq!(cancelled.len(), 1, "the first request was cancelled:\n{log}");
    let launched = log_lines(&llm, "processing task");
    assert_eq!(launched.len(), 2, "{log}");
    let at = |line: &str| log.find(line).expect("in the log");
    assert!(at(&launched[0]) < at(&cancelled[0]) && at(&cancelled[0]) < at(&launched[1]), "{log}");
}

#[tokio::test]
async fn a_wrong_key_is_refused_with_401_and_how_to_set_it() {
    let llm = LlamaServer::start(Some(KEY));
    let ps = providers(&[provider("local", llm.base_url(), 24)], Some("not-the-key"));
    let a = run(&ps, &[model("local/smollm2")], &question("Say hello.")).await;
    let Err(ChatError::AllFailed { skipped }) = &a.result else { panic!("{:?}", a.result) };
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].model, model("local/smollm2"));
    let reason = &skipped[0].reason;
    assert!(reason.starts_with("401 Unauthorized: Invalid API Key"), "{reason}");
    assert!(reason.contains("opsdeck key set provider:local"), "{reason}");
    let shown = a.result.as_ref().expect_err("refused").to_string();
    assert!(shown.contains("401") && shown.contains("`opsdeck key set provider:local`"), "{shown}");
    assert!(!shown.contains("not-the-key"), "the key is never shown: {shown}");
    assert!(a.progress.iter().all(|p| !matches!(p, Progress::Delta(_))), "{:?}", a.progress);
    // The same server answers with the right key.
    let ps = providers(&[provider("local", llm.base_url(), 24)], Some(KEY));
    assert_answered(&run(&ps, &[model("local/smollm2")], &question("Say hello.")).await, &llm);
}

#[tokio::test]
async fn a_dead_endpoint_falls_back_to_the_live_one() {
    let llm = LlamaServer::start(None);
    let dead = format!("http://127.0.0.1:{}/v1", closed_port());
    let configs = [provider("dead", &dead, 24), provider("live", llm.base_url(), 24)];
    let chat = ChatConfig { fallback: vec!["dead/smollm2".into(), "live/smollm2".into()], ..Default::default() };
    let ps = Providers::new(&configs, &chat, |_| None);
    let chain = ps.chain(None);
    assert_eq!(chain, [model("dead/smollm2"), model("live/smollm2")]);
    let a = run(&ps, &chain, &question("Say hello.")).await;
    assert_answered(&a, &llm);
    let done = a.result.as_ref().expect("answered");
    assert_eq!(done.model, model("live/smollm2"));
    assert_eq!(done.skipped.len(), 1, "{:?}", done.skipped);
    assert_eq!(done.skipped[0].model, model("dead/smollm2"));
    let reason = &done.skipped[0].reason;
    // Where, as host:port (never the URL's path).
    let host_port = dead.trim_start_matches("http://").split('/').next().expect("host:port");
    assert!(reason.contains("connection refused") && reason.contains(host_port), "{reason}");
    let kinds: Vec<&str> = a
        .progress
        .iter()
        .map(|p| match p {
            Progress::Trying { .. } => "trying",
            Progress::Skipped(_) => "skipped",
            Progress::Delta(_) => "delta",
        })
        .collect();
    assert_eq!(kinds[..4], ["trying", "skipped", "trying", "delta"], "{kinds:?}");
}

/// Two conversations ask at once: the one-slot server queues the second,
/// and both answers arrive whole.
#[tokio::test]
async fn two_conversations_asking_at_once_both_get_answers() {
    let llm = LlamaServer::start(None);
    let ps = providers(&[provider("local", llm.base_url(), 24)], None);
    let chain = [model("local/smollm2")];
    let (q1, q2) = (question("What is a load balancer?"), question("What is DNS?"));
    let (a, b) = tokio::join!(run(&ps, &chain, &q1), run(&ps, &chain, &q2));
    assert_answered(&a, &llm);
    assert_answered(&b, &llm);
    assert_ne!(a.answer.content, b.answer.content);
    let log = log_with(&llm, "stop processing", 2);
    assert_eq!(log_lines(&llm, "processing task").len(), 2, "{log}");
    assert!(log_lines(&llm, "cancel task").is_empty(), "neither was cut short: {log}");
}

/// With the tool template the model calls the first tool offered: the call
/// streams (name first, arguments in pieces) and folds into one tool call
/// with JSON arguments; its result goes back and the model answers in text.
#[tokio::test]
async fn a_tool_call_round_trip() {
    let llm = LlamaServer::start_with_tools(None);
    let ps = providers(&[provider("local", llm.base_url(), 64)], None);
    let chain = [model("local/smollm2")];
    let mut req = question("What is the weather in Paris?");
    req.tools = vec![
        ToolDef {
            name: "get_weather".into(),
            description: "Get the current weather for a city".into(),
            parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        },
        ToolDef {
            name: "dns_lookup".into(),
            description: "Resolve a host name".into(),
            parameters: json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
        },
    ];
    let a = run(&ps, &chain, &req).await;
    let done = a.result.as_ref().unwrap_or_else(|e| panic!("{e}\n{}", llm.log()));
    assert_eq!(done.finish, Finish::ToolCalls, "{:?}", a.progress);
    assert_eq!(a.answer.tool_calls.len(), 1, "{:?}", a.answer);
    let call = &a.answer.tool_calls[0];
    assert_eq!(call.name, "get_weather");
    assert!(!call.id.is_empty());
    let args: Value = serde_json::from_str(&call.arguments).expect("the arguments are JSON");
    assert_eq!(args, json!({"city": "Paris"}));
    let pieces = a.progress.iter().filter(|p| matches!(p, Progress::Delta(ChatDelta::ToolCallArgs { .. }))).count();
    assert!(pieces >= 2, "the arguments arrive in pieces: {:?}", a.progress);
    assert!(!done.usage.expect("usage").estimated);

    let mut result = ChatMessage::new(Role::Tool, r#"{"city":"Paris","temperature_c":18,"sky":"clear"}"#, 0);
    result.tool_call_id = Some(call.id.clone());
    req.messages.extend([a.answer.clone(), result]);
    let b = run(&ps, &chain, &req).await;
    let done = b.result.as_ref().unwrap_or_else(|e| panic!("{e}\n{}", llm.log()));
    // This model echoes the result (`<tool_response>\n{…}`) as its text answer.
    assert!(matches!(done.finish, Finish::Stop | Finish::Length), "{:?}", b.progress);
    assert!(b.answer.tool_calls.is_empty() && b.answer.content.contains("Paris"), "{:?}", b.answer);
}
