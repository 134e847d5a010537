use serde_json::json;

use super::*;
use crate::protocol::chat::{Attachment, ToolCall, ToolDef};

fn req(messages: Vec<ChatMessage>, tools: Vec<ToolDef>) -> Request {
    Request { system: "be brief".into(), messages, tools, temperature: None }
}

fn fold(d: &mut StreamDecoder, events: &[&str]) -> ChatMessage {
    let mut m = ChatMessage::new(Role::Assistant, "", 0);
    for e in events {
        for delta in d.decode(e).unwrap() {
            assert!(m.apply(&delta));
        }
    }
    m
}

fn calls(m: &ChatMessage) -> Vec<(&str, &str, &str)> {
    m.tool_calls.iter().map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str())).collect()
}

#[test]
fn the_request_maps_every_role_and_sends_tools_only_when_there_are_some() {
    let mut user = ChatMessage::new(Role::User, "why?", 0);
    user.attachments.push(Attachment { kind: "alert".into(), title: "DiskFilling".into(), text: "95%".into() });
    let mut asked = ChatMessage::new(Role::Assistant, "", 0);
    asked.tool_calls.push(ToolCall {
        id: "c1".into(),
        name: "df".into(),
        arguments: String::new(),
        state: Default::default(),
        model_arguments: None,
    });
    let mut result = ChatMessage::new(Role::Tool, "/ 95%", 0);
    result.tool_call_id = Some("c1".into());
    let body = request_body("m", &req(vec![user.clone(), asked, result], Vec::new()), 100);
    assert_eq!(
        body,
        json!({
            "model": "m", "stream": true, "stream_options": {"include_usage": true}, "max_tokens": 100,
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "why?\n\n[attached alert: DiskFilling]\n95%"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "df", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "/ 95%"},
            ],
        })
    );
    let tool = ToolDef { name: "df".into(), description: "disk usage".into(), parameters: json!({"type": "object"}) };
    let mut r = req(vec![user], vec![tool]);
    r.temperature = Some(0.5);
    r.system.clear();
    let body = request_body("m", &r, 100);
    assert_eq!(
        body["tools"],
        json!([{"type": "function", "function": {"name": "df", "description": "disk usage", "parameters": {"type": "object"}}}])
    );
    assert_eq!(body["temperature"], json!(0.5));
    assert_eq!(body["messages"][0]["role"], "user", "no empty system message");
}

#[test]
fn tool_calls_split_over_many_deltas_with_an_index() {
    let mut d = StreamDecoder::new();
    let m = fold(
        &mut d,
        &[
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":null}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"dns_lookup","arguments":""}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"ho"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"call_b","function":{"name":"df","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"st\":\"a\"}"}}]}}]}"#,
            r#"{"choices":[{"delta":{},"finish_reason":"tool_calls"}]}"#,
            "[DONE]",
        ],
    );
    assert_eq!(calls(&m), [("call_a", "dns_lookup", r#"{"host":"a"}"#), ("call_b", "df", "{}")]);
    assert_eq!(m.finish, Some(Finish::ToolCalls));
    assert!(d.is_done() && d.is_finished());
}

#[test]
fn tool_calls_without_an_index_follow_their_id_or_the_open_call() {
    let mut d = StreamDecoder::new();
    let m = fold(
        &mut d,
        &[
            r#"{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"one","arguments":"{\"x\""}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":":1}"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"id":"b","function":{"name":"two","arguments":null}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"arguments":""}},{"id":"b","function":{"arguments":{"y":2}}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"id":null,"function":{"name":null,"arguments":" "}}]}}]}"#,
        ],
    );
    assert_eq!(calls(&m), [("a", "one", r#"{"x":1}"#), ("b", "two", r#"{"y":2} "#)]);
}

#[test]
fn every_call_numbered_zero_is_told_apart_by_its_id() {
    let mut d = StreamDecoder::new();
    let m = fold(
        &mut d,
        &[
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"one","arguments":"{}"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"b","function":{"name":"two","arguments":"{"}}]}}]}"#,
            r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"}"}}]}}]}"#,
        ],
    );
    assert_eq!(calls(&m), [("a", "one", "{}"), ("b", "two", "{}")]);
}

#[test]
fn usage_in_the_last_chunk_finish_reasons_and_nulls_everywhere() {
    let mut d = StreamDecoder::new();
    let m = fold(
        &mut d,
        &[
            r#"{"id":null,"object":null,"choices":null,"usage":null}"#,
            r#"{"choices":[null,{"delta":null}],"usage":null}"#,
            r#"{"choices":[{"index":null,"delta":{"role":null,"content":null,"reasoning_content":"hmm","tool_calls":null},"finish_reason":null,"logprobs":null}]}"#,
            r#"{"choices":[{"delta":{"content":"Hi"},"finish_reason":"stop"}],"usage":null}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":null,"total_tokens":9}}"#,
            r#"{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2}}"#,
        ],
    );
    assert_eq!(m.content, "Hi");
    assert_eq!(m.usage, Some(Usage { input: 9, output: 2, estimated: false }));
    assert_eq!(m.finish, Some(Finish::Stop));
    assert!(!d.is_done());
    for (reason, f) in [
        ("length", Finish::Length),
        ("function_call", Finish::ToolCalls),
        ("content_filter", Finish::Other { name: "content_filter".into() }),
    ] {
        assert_eq!(finish(reason), f);
    }
}

#[test]
fn an_error_object_mid_stream_and_data_that_is_no_chunk() {
    let mut d = StreamDecoder::new();
    assert_eq!(d.decode("not json").unwrap(), []);
    assert_eq!(d.decode(r#"{"error":null,"choices":[]}"#).unwrap(), []);
    let e = d.decode(r#"{"error":{"message":"upstream overloaded","code":502}}"#).unwrap_err();
    assert_eq!(e, StreamFault("upstream overloaded".into()));
    assert_eq!(d.decode(r#"{"error":{"code":1}}"#).unwrap_err().0, "the server reported an error");
}

#[test]
fn a_whole_answer_decodes_like_a_stream() {
    let body = br#"{"choices":[{"message":{"role":"assistant","content":"ok","tool_calls":[{"id":"c","type":"function","function":{"name":"df","arguments":"{}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#;
    let mut m = ChatMessage::new(Role::Assistant, "", 0);
    for d in decode_whole(body).unwrap() {
        m.apply(&d);
    }
    assert_eq!((m.content.as_str(), calls(&m)), ("ok", vec![("c", "df", "{}")]));
    assert_eq!(m.finish, Some(Finish::ToolCalls));
    assert_eq!(decode_whole(br#"{"error":{"message":"x"}}"#), None);
    assert_eq!(decode_whole(b"nope"), None);
}

#[test]
fn error_bodies_become_one_line() {
    assert_eq!(
        error_message(r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#),
        "Incorrect API key provided"
    );
    assert_eq!(
        error_message(r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#),
        "invalid x-api-key"
    );
    assert_eq!(error_message(r#"{"error":"model 'x' not found"}"#), "model 'x' not found");
    assert_eq!(error_message(r#"{"detail":"Not Found"}"#), "Not Found");
    assert_eq!(error_message("  Bad\n  Gateway \n"), "Bad Gateway");
    assert_eq!(error_message(""), "");
    assert!(error_message(&"x".repeat(1000)).len() <= 304);
}
