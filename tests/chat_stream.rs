//! The chat adapters against a loopback scripted server
//! (`support/scripted_http.rs`): every test here talks to a server that
//! writes scripted bytes, for what a real small model cannot be made to do
//! reliably (split tool calls, drops, rate limits, cut streams, silence).

#[path = "support/asked.rs"]
mod asked;
#[path = "support/scripted_http.rs"]
mod scripted_http;

use std::time::Duration;

use asked::{Asked, skipped};
use opsdeck::config::chat::{ChatConfig, ProviderConfig, ProviderKind};
use opsdeck::engine::chat::discover::discover_on;
use opsdeck::engine::chat::{ChatError, Progress, Providers, Request, ask, http_client, list_models};
use opsdeck::protocol::chat::{ChatDelta, ChatMessage, Finish, ModelRef, Role, ToolDef, Usage};
use scripted_http::{Reply, Server, Step, closed_port, events, named_events};
use serde_json::json;
use tokio::sync::mpsc;

fn openai(name: &str, base_url: &str) -> ProviderConfig {
    ProviderConfig::new(name, ProviderKind::Openai, base_url, &["m"])
}

fn chain(s: &[&str]) -> Vec<ModelRef> {
    s.iter().map(|s| ModelRef::parse(s).unwrap()).collect()
}

fn question(text: &str) -> Request {
    Request {
        system: "be brief".into(),
        messages: vec![ChatMessage::new(Role::User, text, 0)],
        tools: Vec::new(),
        temperature: None,
    }
}

/// A test's bound on one ask (a failure bound, never a measure).
async fn run(providers: &Providers, chain: &[ModelRef], req: &Request) -> Asked {
    asked::run_within(providers, chain, req, Duration::from_secs(60)).await
}

fn calls(m: &ChatMessage) -> Vec<(&str, &str, &str)> {
    m.tool_calls.iter().map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str())).collect()
}

fn tool_call_stream(with_index: bool) -> Vec<u8> {
    let idx = |i: u32| if with_index { format!("\"index\":{i},") } else { String::new() };
    let tc = |i: u32, rest: &str| format!(r#"{{"choices":[{{"delta":{{"tool_calls":[{{{}{rest}}}]}}}}]}}"#, idx(i));
    let chunks = [
        r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#.to_string(),
        r#"{"choices":[{"delta":{"content":"Looking "}}]}"#.to_string(),
        r#"{"choices":[{"delta":{"content":"it up."}}]}"#.to_string(),
        tc(0, r#""id":"call_1","type":"function","function":{"name":"dns_lookup","arguments":""}"#),
        tc(0, r#""function":{"arguments":"{\"na"}"#),
        tc(0, r#""function":{"arguments":"me\": \"exa"}"#),
        tc(0, r#""function":{"arguments":"mple.org\"}"}"#),
        tc(1, r#""id":"call_2","type":"function","function":{"name":"http_check","arguments":"{\"url\""}"#),
        tc(1, r#""function":{"arguments":": \"https://example.org\"}"}"#),
        r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#.to_string(),
        r#"{"choices":[],"usage":{"prompt_tokens":120,"completion_tokens":30}}"#.to_string(),
        "[DONE]".to_string(),
    ];
    events(&chunks.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Scripted server: a tool call split over many deltas, trickled a byte per
/// chunk, then the answer to the tool's result; with and without `index`.
#[tokio::test]
async fn a_tool_call_round_trip_split_over_many_deltas() {
    for with_index in [true, false] {
        let answer =
            events(&[r#"{"choices":[{"delta":{"content":"It resolves."},"finish_reason":"stop"}]}"#, "[DONE]"]);
        let server = Server::start(vec![
            Reply::sse(vec![Step::Trickle(tool_call_stream(with_index))]),
            Reply::sse(vec![Step::Bytes(answer)]),
        ])
        .await;
        let providers = Providers::new(&[openai("local", &server.base_url())], &ChatConfig::default(), |_| None);
        let mut req = question("does example.org resolve?");
        req.tools = vec![ToolDef {
            name: "dns_lookup".into(),
            description: "resolve a name".into(),
            parameters: json!({"type": "object", "properties": {"name": {"type": "string"}}}),
        }];
        let first = run(&providers, &chain(&["local/m"]), &req).await;
        let done = first.result.unwrap();
        assert_eq!(done.finish, Finish::ToolCalls);
        assert_eq!(done.usage, Some(Usage { input: 120, output: 30, estimated: false }));
        assert_eq!(first.answer.content, "Looking it up.");
        assert_eq!(
            calls(&first.answer),
            [
                ("call_1", "dns_lookup", r#"{"name": "example.org"}"#),
                ("call_2", "http_check", r#"{"url": "https://example.org"}"#)
            ],
            "with_index: {with_index}"
        );

        // The round trip: the calls and their results go back.
        let mut asked = first.answer.clone();
        asked.tool_calls.truncate(1);
        let mut result = ChatMessage::new(Role::Tool, "93.184.215.14", 0);
        result.tool_call_id = Some("call_1".into());
        req.messages.extend([asked, result]);
        let second = run(&providers, &chain(&["local/m"]), &req).await;
        assert_eq!(second.answer.content, "It resolves.");
        assert_eq!(second.result.unwrap().finish, Finish::Stop);

        let sent = server.requests();
        assert_eq!((sent[0].method.as_str(), sent[0].path.as_str()), ("POST", "/v1/chat/completions"));
        assert_eq!(sent[0].header("authorization"), None, "no key, no Authorization");
        let body = sent[0].json();
        assert_eq!(body["stream"], json!(true));
        assert_eq!(body["tools"][0]["function"]["name"], "dns_lookup");
        let body = sent[1].json();
        assert_eq!(body["messages"][2]["tool_calls"][0]["function"]["arguments"], r#"{"name": "example.org"}"#);
        assert_eq!(body["messages"][3], json!({"role": "tool", "tool_call_id": "call_1", "content": "93.184.215.14"}));
    }
}

/// Scripted server: an Anthropic Messages stream with text and a tool_use
/// block, trickled; the key goes in `x-api-key` with `anthropic-version`.
#[tokio::test]
async fn an_anthropic_messages_stream_with_text_and_tool_use() {
    let stream = named_events(&[
        (
            "message_start",
            r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude","stop_reason":null,"usage":{"input_tokens":50,"output_tokens":1}}}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        ),
        ("ping", r#"{"type": "ping"}"#),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking the disk."}}"#,
        ),
        ("content_block_stop", r#"{"type":"content_block_stop","index":0}"#),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01","name":"df","input":{}}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"mount\": "}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"/var\"}"}}"#,
        ),
        ("content_block_stop", r#"{"type":"content_block_stop","index":1}"#),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":22}}"#,
        ),
        ("message_stop", r#"{"type":"message_stop"}"#),
    ]);
    let server = Server::start(vec![Reply::sse(vec![Step::Trickle(stream)])]).await;
    let cfg = ProviderConfig::new("claude", ProviderKind::Anthropic, server.base_url(), &["claude-x"]);
    let providers = Providers::new(&[cfg], &ChatConfig::default(), |_| Some("sk-ant-test".into()));
    let a = run(&providers, &chain(&["claude/claude-x"]), &question("disk?")).await;
    let done = a.result.unwrap();
    assert_eq!(done.finish, Finish::ToolCalls);
    assert_eq!(done.usage, Some(Usage { input: 50, output: 22, estimated: false }));
    assert_eq!(a.answer.content, "Checking the disk.");
    assert_eq!(calls(&a.answer), [("toolu_01", "df", r#"{"mount": "/var"}"#)]);
    let sent = &server.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some("sk-ant-test"));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("authorization"), None);
    let body = sent.json();
    assert_eq!((body["system"].as_str(), body["max_tokens"].as_u64()), (Some("be brief"), Some(2048)));
}

fn hello() -> Vec<u8> {
    events(&[r#"{"choices":[{"delta":{"content":"hello"},"finish_reason":"stop"}]}"#, "[DONE]"])
}

/// Scripted server: 429 from the first entry, an answer from the second.
#[tokio::test]
async fn a_429_falls_back_to_the_next_entry() {
    let limited = Server::start(vec![
        Reply::json(429, r#"{"error":{"message":"Rate limit reached"}}"#).header("retry-after", "7"),
    ])
    .await;
    let ok = Server::start(vec![Reply::sse(vec![Step::Bytes(hello())])]).await;
    let providers = Providers::new(
        &[openai("cloud", &limited.base_url()), openai("local", &ok.base_url())],
        &ChatConfig { fallback: vec!["local/m".into()], ..Default::default() },
        |_| None,
    );
    let a = run(&providers, &providers.chain(Some(&ModelRef::parse("cloud/m").unwrap())), &question("hi")).await;
    let done = a.result.unwrap();
    assert_eq!(done.model, ModelRef::parse("local/m").unwrap());
    assert_eq!(done.skipped.len(), 1);
    assert_eq!(done.skipped[0].reason, "429 Too Many Requests (retry-after 7): Rate limit reached");
    assert_eq!(skipped(&a.progress), ["cloud/m 429 Too Many Requests (retry-after 7): Rate limit reached"]);
    assert_eq!(a.answer.content, "hello");
    assert!(matches!(&a.progress[0], Progress::Trying { model } if model.provider == "cloud"));
}

/// Scripted server: 401 gives the server's reason and the command that fixes it.
#[tokio::test]
async fn a_401_says_why_and_how_to_set_the_key() {
    let server = Server::start(vec![
        Reply::json(401, r#"{"error":{"message":"invalid api key","type":"invalid_request_error"}}"#),
        Reply::json(503, "upstream down"),
    ])
    .await;
    let providers =
        Providers::new(&[openai("openrouter", &server.base_url())], &ChatConfig::default(), |_| Some("bad".into()));
    let a = run(&providers, &chain(&["openrouter/m"]), &question("hi")).await;
    let err = a.result.unwrap_err().to_string();
    assert_eq!(
        err,
        "no model answered: openrouter/m — 401 Unauthorized: invalid api key — check the key — set it again with \
         `opsdeck key set provider:openrouter`"
    );
    assert_eq!(server.requests()[0].header("authorization"), Some("Bearer bad"));
    let a = run(&providers, &chain(&["openrouter/m"]), &question("hi")).await;
    assert!(a.result.unwrap_err().to_string().ends_with("503 Service Unavailable: upstream down"));
}

/// Scripted server: a closed port is skipped for the live entry.
#[tokio::test]
async fn connection_refused_falls_back() {
    let dead = format!("http://127.0.0.1:{}/v1", closed_port().await);
    let ok = Server::start(vec![Reply::sse(vec![Step::Bytes(hello())])]).await;
    let providers =
        Providers::new(&[openai("dead", &dead), openai("live", &ok.base_url())], &ChatConfig::default(), |_| None);
    let a = run(&providers, &chain(&["dead/m", "live/m"]), &question("hi")).await;
    assert_eq!(a.result.unwrap().model.provider, "live");
    let reasons = skipped(&a.progress);
    assert_eq!(reasons.len(), 1);
    let port = dead.trim_start_matches("http://127.0.0.1:").trim_end_matches("/v1");
    assert_eq!(reasons, [format!("dead/m connection refused (127.0.0.1:{port})")]);
    assert_eq!(a.answer.content, "hello");
}

/// Scripted server: the connection drops mid-answer; what arrived is kept
/// and the answer is cut, and no other entry is tried.
#[tokio::test]
async fn a_drop_mid_answer_keeps_the_text_and_cuts() {
    let server = Server::start(vec![Reply::sse(vec![
        Step::Bytes(events(&[r#"{"choices":[{"delta":{"content":"Disk / is "}}]}"#])),
        Step::Trickle(b"data: {\"choices\":[{\"delta\":{\"content\":\"95% full\"}}]}\n\ndata: {\"cho".to_vec()),
        Step::Drop,
    ])])
    .await;
    let other = Server::start(vec![Reply::sse(vec![Step::Bytes(hello())])]).await;
    let providers = Providers::new(
        &[openai("a", &server.base_url()), openai("b", &other.base_url())],
        &ChatConfig::default(),
        |_| None,
    );
    let a = run(&providers, &chain(&["a/m", "b/m"]), &question("disk?")).await;
    let done = a.result.unwrap();
    assert_eq!(done.model.provider, "a");
    assert!(matches!(&done.finish, Finish::Cut { .. }), "{:?}", done.finish);
    assert_eq!(a.answer.content, "Disk / is 95% full");
    assert_eq!(a.answer.finish, Some(done.finish.clone()));
    assert!(other.requests().is_empty());
    let usage = done.usage.unwrap();
    assert!(usage.estimated && usage.output > 0 && usage.input > 0, "{usage:?}");
}

/// Scripted server: `[DONE]` with no finish_reason (llama-cpp-python cutting
/// a stream when a second request arrives), and a stream that just ends.
#[tokio::test]
async fn a_stream_without_finish_reason_is_unfinished() {
    for tail in [&["[DONE]"][..], &[]] {
        let mut script = vec![r#"{"choices":[{"delta":{"content":"partial"},"finish_reason":null}]}"#];
        script.extend_from_slice(tail);
        let server = Server::start(vec![Reply::sse(vec![Step::Bytes(events(&script))])]).await;
        let providers = Providers::new(&[openai("a", &server.base_url())], &ChatConfig::default(), |_| None);
        let a = run(&providers, &chain(&["a/m"]), &question("hi")).await;
        assert_eq!(a.result.unwrap().finish, Finish::Unfinished, "tail {tail:?}");
        assert_eq!((a.answer.content.as_str(), a.answer.finish.clone()), ("partial", Some(Finish::Unfinished)));
    }
}

fn slow(name: &str, base_url: &str) -> ProviderConfig {
    let mut c = openai(name, base_url);
    c.first_token_timeout = Duration::from_millis(300);
    c.connect_timeout = Duration::from_millis(300);
    c.idle_timeout = Duration::from_millis(300);
    c
}

/// Scripted server: headers and a role-only chunk, then silence: past the
/// (small, configured) first-token timeout the next entry answers, and the
/// silent request is closed.
#[tokio::test]
async fn no_first_token_in_time_tries_the_next_entry() {
    let mut silent = Server::start(vec![Reply::sse(vec![
        Step::Bytes(events(&[r#"{"choices":[{"delta":{"role":"assistant","content":""}}]}"#])),
        Step::Hang,
    ])])
    .await;
    let ok = Server::start(vec![Reply::sse(vec![Step::Bytes(hello())])]).await;
    let providers = Providers::new(
        &[slow("slow", &silent.base_url()), openai("ok", &ok.base_url())],
        &ChatConfig::default(),
        |_| None,
    );
    let a = run(&providers, &chain(&["slow/m", "ok/m"]), &question("hi")).await;
    assert_eq!(a.result.unwrap().model.provider, "ok");
    assert_eq!(skipped(&a.progress), ["slow/m no first token within 300ms"]);
    tokio::time::timeout(Duration::from_secs(30), silent.closed.recv()).await.expect("the silent request is closed");
}

/// Scripted server: silence after the first token past the idle timeout
/// cuts the answer (what arrived is kept).
#[tokio::test]
async fn silence_mid_answer_cuts_it() {
    let server = Server::start(vec![Reply::sse(vec![
        Step::Bytes(events(&[r#"{"choices":[{"delta":{"content":"so far"}}]}"#])),
        Step::Hang,
    ])])
    .await;
    let providers = Providers::new(&[slow("a", &server.base_url())], &ChatConfig::default(), |_| None);
    let a = run(&providers, &chain(&["a/m"]), &question("hi")).await;
    assert_eq!(a.result.unwrap().finish, Finish::Cut { error: "no data for 300ms".into() });
    assert_eq!(a.answer.content, "so far");
}

/// Scripted server: dropping the `ask` future mid-stream closes the request
/// at once (the server's read sees the connection closed).
#[tokio::test]
async fn cancel_mid_stream_closes_the_connection() {
    let mut server = Server::start(vec![Reply::sse(vec![
        Step::Bytes(events(&[r#"{"choices":[{"delta":{"content":"first words"}}]}"#])),
        Step::Hang,
    ])])
    .await;
    let providers = Providers::new(&[openai("a", &server.base_url())], &ChatConfig::default(), |_| None);
    let client = http_client().unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let (chain, req) = (chain(&["a/m"]), question("hi"));
    let mut fut = Box::pin(ask(&client, &providers, &chain, &req, &tx));
    loop {
        tokio::select! {
            r = &mut fut => panic!("the answer ended on its own: {r:?}"),
            p = rx.recv() => if matches!(p, Some(Progress::Delta(ChatDelta::Text { .. }))) { break },
        }
    }
    drop(fut);
    tokio::time::timeout(Duration::from_secs(30), server.closed.recv())
        .await
        .expect("the server sees the connection closed")
        .expect("a close");
}

/// Scripted server: usage only in the last chunk (`choices: []`) is kept;
/// with none the usage is estimated; nulls everywhere are accepted.
#[tokio::test]
async fn usage_in_the_last_chunk_or_estimated_and_nulls_everywhere() {
    let with_usage = events(&[
        r#"{"id":null,"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":null},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"choices":[{"delta":{"content":"ok"},"finish_reason":null}],"usage":null}"#,
        r#"{"choices":[{"delta":{"content":null},"finish_reason":"length"}],"usage":null}"#,
        r#"{"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":1,"total_tokens":12}}"#,
        "[DONE]",
    ]);
    let server = Server::start(vec![
        Reply::sse(vec![Step::Trickle(with_usage)]),
        Reply::sse(vec![Step::Bytes(events(&[
            r#"{"choices":[{"delta":{"content":"abcdefgh"},"finish_reason":"stop"}]}"#,
        ]))]),
    ])
    .await;
    let providers = Providers::new(&[openai("a", &server.base_url())], &ChatConfig::default(), |_| None);
    let a = run(&providers, &chain(&["a/m"]), &question("hi")).await;
    let done = a.result.unwrap();
    assert_eq!((done.finish, done.usage), (Finish::Length, Some(Usage { input: 11, output: 1, estimated: false })));
    assert_eq!(a.answer.content, "ok");
    let a = run(&providers, &chain(&["a/m"]), &question("hi")).await;
    let usage = a.result.unwrap().usage.unwrap();
    assert_eq!((usage.output, usage.estimated), (2, true), "8 bytes ≈ 2 tokens");
    assert_eq!(a.answer.usage, Some(usage));
}

/// Scripted server: a server that ignores `stream: true` and answers JSON.
#[tokio::test]
async fn a_non_streamed_json_answer_is_taken() {
    let server = Server::start(vec![
        Reply::json(200, r#"{"choices":[{"message":{"role":"assistant","content":"whole"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#),
        Reply::json(200, r#"{"error":{"message":"model not loaded"}}"#),
    ])
    .await;
    let providers = Providers::new(&[openai("a", &server.base_url())], &ChatConfig::default(), |_| None);
    let a = run(&providers, &chain(&["a/m"]), &question("hi")).await;
    assert_eq!(a.result.unwrap().finish, Finish::Stop);
    assert_eq!(a.answer.content, "whole");
    let a = run(&providers, &chain(&["a/m"]), &question("hi")).await;
    assert!(a.result.unwrap_err().to_string().contains("not an answer: model not loaded"));
}

/// Scripted server: an error event before the first token skips the entry;
/// after it (llama.cpp's `error: {…}` line), it cuts the answer.
#[tokio::test]
async fn error_events_skip_before_and_cut_after_the_first_token() {
    let server = Server::start(vec![
        Reply::sse(vec![Step::Bytes(events(&[r#"{"error":{"message":"Provider returned error","code":502}}"#]))]),
        Reply::sse(vec![Step::Bytes(
            [
                events(&[r#"{"choices":[{"delta":{"content":"half"}}]}"#]),
                b"error: {\"code\":500,\"message\":\"slot unavailable\",\"type\":\"server_error\"}\n\n".to_vec(),
            ]
            .concat(),
        )]),
    ])
    .await;
    let providers = Providers::new(&[openai("a", &server.base_url())], &ChatConfig::default(), |_| None);
    let a = run(&providers, &chain(&["a/m"]), &question("hi")).await;
    assert!(a.result.unwrap_err().to_string().contains("the server reported an error: Provider returned error"));
    let a = run(&providers, &chain(&["a/m"]), &question("hi")).await;
    assert_eq!(
        a.result.unwrap().finish,
        Finish::Cut { error: "the server reported an error: slot unavailable".into() }
    );
    assert_eq!(a.answer.content, "half");
}

/// Scripted server: an event over the 1 MiB bound cuts the answer.
#[tokio::test]
async fn an_oversized_event_cuts_the_answer() {
    let huge = format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"{}\"}}}}]}}\n\n", "x".repeat(2 << 20));
    let server = Server::start(vec![Reply::sse(vec![
        Step::Bytes(events(&[r#"{"choices":[{"delta":{"content":"start"}}]}"#])),
        Step::Bytes(huge.into_bytes()),
    ])])
    .await;
    let providers = Providers::new(&[openai("a", &server.base_url())], &ChatConfig::default(), |_| None);
    let a = run(&providers, &chain(&["a/m"]), &question("hi")).await;
    let finish = a.result.unwrap().finish;
    assert!(matches!(&finish, Finish::Cut { error } if error.contains("larger than 1024 KiB")), "{finish:?}");
    assert_eq!(a.answer.content, "start");
}

/// Scripted server: an unknown provider in the chain and an empty chain.
#[tokio::test]
async fn chain_problems_are_named() {
    let providers = Providers::new(&[], &ChatConfig::default(), |_| None);
    let a = run(&providers, &[], &question("hi")).await;
    assert!(matches!(a.result, Err(ChatError::NoProviders)));
    let a = run(&providers, &chain(&["ghost/m"]), &question("hi")).await;
    assert_eq!(
        a.result.unwrap_err().to_string(),
        "no model answered: ghost/m — no [[provider]] named \"ghost\" in config.toml"
    );
}

/// Scripted server: model lists in both shapes, with their headers, and local discovery.
#[tokio::test]
async fn models_are_listed_and_local_servers_found() {
    let body = r#"{"object":"list","data":[{"id":"smollm2","object":"model"},{"id":null},null,{"id":"qwen"}]}"#;
    let server = Server::start(vec![Reply::json(200, body)]).await;
    let client = http_client().unwrap();
    let p = Providers::new(&[openai("local", &server.base_url())], &ChatConfig::default(), |_| Some("k".into()));
    assert_eq!(list_models(&client, &p.list()[0]).await.unwrap(), ["smollm2", "qwen"]);
    let a = ProviderConfig::new("claude", ProviderKind::Anthropic, server.base_url(), &[]);
    let p = Providers::new(&[a], &ChatConfig::default(), |_| Some("sk-ant".into()));
    assert_eq!(list_models(&client, &p.list()[0]).await.unwrap().len(), 2);
    let reqs = server.requests();
    assert_eq!((reqs[0].path.as_str(), reqs[0].header("authorization")), ("/v1/models", Some("Bearer k")));
    assert_eq!(
        (reqs[1].header("x-api-key"), reqs[1].header("anthropic-version")),
        (Some("sk-ant"), Some("2023-06-01"))
    );

    let bad = Server::start(vec![Reply::json(401, r#"{"error":{"message":"no"}}"#)]).await;
    let p = Providers::new(&[openai("x", &bad.base_url())], &ChatConfig::default(), |_| None);
    let e = list_models(&client, &p.list()[0]).await.unwrap_err().to_string();
    assert!(e.starts_with(&format!("x ({}/models): 401 Unauthorized: no", bad.base_url())), "{e}");

    let dead = closed_port().await;
    let found = discover_on(&client, &[(dead, "ollama"), (server.port, "llama-cpp")]).await;
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].name.as_str(), found[0].base_url.clone()), ("llama-cpp", server.base_url()));
    assert_eq!(found[0].models, ["smollm2", "qwen"]);
}

/// Scripted server: an entry that timed out rests — the next question goes
/// straight to the entry that answered (the silent server sees no second
/// request) and says why the first was passed over; an entry that rests is
/// still asked when nothing else is left, and with no rest period it is
/// asked every time.
#[tokio::test]
async fn a_failed_entry_rests_instead_of_costing_every_question_its_timeout() {
    let silent = Server::start(vec![Reply::sse(vec![Step::Hang])]).await;
    let ok = Server::start(vec![Reply::sse(vec![Step::Bytes(hello())])]).await;
    let configs = [slow("slow", &silent.base_url()), openai("ok", &ok.base_url())];
    let providers = Providers::new(&configs, &ChatConfig::default(), |_| None);
    let both = chain(&["slow/m", "ok/m"]);
    let first = run(&providers, &both, &question("hi")).await;
    assert_eq!(first.result.unwrap().model.provider, "ok");
    assert_eq!(skipped(&first.progress), ["slow/m no first token within 300ms"]);
    let second = run(&providers, &both, &question("again")).await;
    assert_eq!(second.result.unwrap().model.provider, "ok");
    let why = skipped(&second.progress);
    assert_eq!(why.len(), 1, "{why:?}");
    assert!(
        why[0].starts_with("slow/m no first token within 300ms (rested: skipped without asking, it failed ")
            && why[0].ends_with("s before)")
            && !why[0].contains("again for"),
        "{why:?}"
    );
    assert!(!second.progress.iter().any(|p| matches!(p, Progress::Trying { model } if model.provider == "slow")));
    assert_eq!(silent.requests().len(), 1, "the resting entry was not asked");
    // Alone in the chain, the resting entry is asked all the same.
    let alone = run(&providers, &chain(&["slow/m"]), &question("only you")).await;
    assert!(alone.result.is_err());
    assert_eq!(silent.requests().len(), 2);
    // Rebuilt providers (a reload) start with no entry resting.
    let mut rebuilt = Providers::new(&configs, &ChatConfig::default(), |_| None);
    rebuilt.resting = opsdeck::engine::chat::rest::Resting::with_period(Duration::ZERO);
    for _ in 0..2 {
        let a = run(&rebuilt, &both, &question("hi")).await;
        assert_eq!(skipped(&a.progress), ["slow/m no first token within 300ms"]);
    }
    assert_eq!(silent.requests().len(), 4);
}

/// Scripted server: llama.cpp refuses a request longer than its context
/// (400, `exceed_context_size_error`): the reason says to set
/// `context_tokens` to the size the server gave, under that provider.
#[tokio::test]
async fn a_request_past_the_context_says_to_set_context_tokens() {
    let body = r#"{"error":{"code":400,"message":"request (2070 tokens) exceeds the available context size (2048 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":2070,"n_ctx":2048}}"#;
    let server = Server::start(vec![Reply::json(400, body)]).await;
    let providers = Providers::new(&[openai("local", &server.base_url())], &ChatConfig::default(), |_| None);
    let a = run(&providers, &chain(&["local/m"]), &question("hi")).await;
    assert_eq!(
        skipped(&a.progress),
        ["local/m 400 Bad Request: request (2070 tokens) exceeds the available context size (2048 tokens), try \
          increasing it — the conversation no longer fits the model's context: set context_tokens = 2048 and max_tokens \
          = 512 (below it; now 2048) under the [[provider]] named \"local\" in config.toml, so older turns are left out of the request (docs/chat.md, \
          \"The context budget\")"]
    );
}
