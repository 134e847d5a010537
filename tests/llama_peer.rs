//! The harness for the chat tests: a real llama.cpp server with SmolLM2
//! (tests/peers/llama.rs, installed by .ci/test into `$OPSDECK_LLM_DIR`)
//! streams an OpenAI-style answer, refuses a wrong API key and, with the
//! tool template, answers with a tool call.

mod peers;

use peers::llama::LlamaServer;

use std::time::Duration;

use serde_json::{Value, json};

const KEY: &str = "opsdeck-test-key";
/// A failure bound, not a synchronisation: the tool-template prompt is about
/// 250 tokens, read at about 50 tokens/s on one thread when the machine is idle.
const LIMIT: Duration = Duration::from_secs(120);

/// An HTTP client on the project's TLS setup (`net::http_client` bounds a
/// request to 10 s, too short on a loaded machine).
fn client() -> reqwest::Client {
    let tls = opsdeck::net::tls_client_config(None).expect("TLS config");
    reqwest::Client::builder().tls_backend_preconfigured((*tls).clone()).timeout(LIMIT).build().expect("client")
}

fn ask(max_tokens: u32) -> Value {
    json!({
        "model": "smollm2",
        "messages": [{"role": "user", "content": "Say hello."}],
        "stream": true,
        "temperature": 0,
        "max_tokens": max_tokens,
        "stream_options": {"include_usage": true},
    })
}

/// The `data:` payloads of an SSE body, in order.
fn data_lines(body: &str) -> Vec<&str> {
    body.lines().filter_map(|l| l.strip_prefix("data: ")).collect()
}

#[tokio::test]
async fn a_streamed_answer_has_chunks_a_finish_reason_usage_and_done() {
    let llm = LlamaServer::start(Some(KEY));
    let http = client();
    let url = format!("{}/chat/completions", llm.base_url());
    let mut resp = http.post(&url).bearer_auth(KEY).json(&ask(16)).send().await.expect("request");
    assert_eq!(resp.status(), 200, "{}", llm.log());
    let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert!(ctype.starts_with("text/event-stream"), "{ctype}");
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.expect("stream") {
        body.extend_from_slice(&chunk);
    }
    let body = String::from_utf8(body).expect("utf-8");
    let data = data_lines(&body);

    assert_eq!(data.last(), Some(&"[DONE]"), "{body}");
    let chunks: Vec<Value> =
        data[..data.len() - 1].iter().map(|d| serde_json::from_str(d).expect("a JSON chunk")).collect();
    assert!(chunks.len() >= 3, "{body}");
    assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk"), "{body}");
    let text: String =
        chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect::<Vec<_>>().concat();
    assert!(!text.trim().is_empty(), "{body}");
    let finish: Vec<&str> = chunks.iter().filter_map(|c| c["choices"][0]["finish_reason"].as_str()).collect();
    assert!(matches!(finish.as_slice(), ["stop"] | ["length"]), "{body}");
    // With include_usage the last chunk has no choices and the token counts.
    let usage = &chunks.last().expect("chunks")["usage"];
    let completion = usage["completion_tokens"].as_u64().expect("completion_tokens");
    assert!((1..=16).contains(&completion), "{body}");
}

#[tokio::test]
async fn a_wrong_or_missing_key_is_refused_with_401() {
    let llm = LlamaServer::start(Some(KEY));
    let http = client();
    let url = format!("{}/chat/completions", llm.base_url());
    for req in [http.post(&url).bearer_auth("wrong"), http.post(&url)] {
        let resp = req.json(&ask(4)).send().await.expect("request");
        assert_eq!(resp.status(), 401);
        let body: Value = resp.json().await.expect("JSON body");
        assert_eq!(body["error"]["type"], "authentication_error", "{body}");
    }
}

#[tokio::test]
async fn the_server_is_gone_once_dropped() {
    let llm = LlamaServer::start(None);
    let models = format!("{}/models", llm.base_url());
    let http = client();
    let body: Value = http.get(&models).send().await.expect("request").json().await.expect("JSON");
    assert_eq!(body["data"][0]["id"], "smollm2", "{body}");
    drop(llm);
    assert!(http.get(&models).send().await.is_err(), "still answering after the drop");
}

#[tokio::test]
async fn with_the_tool_template_a_required_tool_is_called_in_the_stream() {
    let llm = LlamaServer::start_with_tools(None);
    let http = client();
    let weather = json!({"type": "function", "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }});
    let req = json!({
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
        "tools": [weather], "tool_choice": "required",
        "stream": true, "temperature": 0, "max_tokens": 64,
    });
    let resp = http.post(format!("{}/chat/completions", llm.base_url())).json(&req).send().await.expect("request");
    assert_eq!(resp.status(), 200, "{}", llm.log());
    let body = resp.text().await.expect("body");
    let data = data_lines(&body);
    assert_eq!(data.last(), Some(&"[DONE]"), "{body}");
    let chunks: Vec<Value> = data[..data.len() - 1].iter().map(|d| serde_json::from_str(d).expect("JSON")).collect();
    // The name comes once, in the first tool_calls delta; the arguments in pieces.
    let calls: Vec<&Value> = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["tool_calls"].get(0)).collect();
    assert_eq!(calls.first().map(|c| &c["function"]["name"]), Some(&json!("get_weather")), "{body}");
    let args: String = calls.iter().filter_map(|c| c["function"]["arguments"].as_str()).collect();
    let args: Value = serde_json::from_str(&args).expect("the arguments are JSON");
    assert_eq!(args, json!({"city": "Paris"}), "{body}");
    let finish: Vec<&str> = chunks.iter().filter_map(|c| c["choices"][0]["finish_reason"].as_str()).collect();
    assert_eq!(finish, ["tool_calls"], "{body}");
}
