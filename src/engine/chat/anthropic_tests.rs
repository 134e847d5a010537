use serde_json::json;

use super::*;
use crate::protocol::chat::{Finish, ToolCall, ToolDef};

fn fold(d: &mut StreamDecoder, events: &[(&str, &str)]) -> ChatMessage {
    let mut m = ChatMessage::new(Role::Assistant, "", 0);
    for (name, data) in events {
        for delta in d.decode(Some(name), data).unwrap() {
            assert!(m.apply(&delta));
        }
    }
    m
}

#[test]
fn the_request_has_a_top_level_system_tool_use_and_merged_tool_results() {
    let mut asked = ChatMessage::new(Role::Assistant, "Let me look.", 0);
    for (id, args, state) in [
        ("t1", r#"{"path":"/"}"#, ToolCallState::Done { ok: true }),
        ("t2", "not json", ToolCallState::Refused { reason: "no".into() }),
    ] {
        asked.tool_calls.push(ToolCall { state, ..ToolCall::new(id, "df", args) });
    }
    let result = |id: &str, text: &str| {
        let mut m = ChatMessage::new(Role::Tool, text, 0);
        m.tool_call_id = Some(id.into());
        m
    };
    let req = Request {
        system: "be brief".into(),
        messages: vec![
            ChatMessage::new(Role::User, "disk?", 0),
            asked,
            result("t1", "95%"),
            result("t2", "refused"),
            ChatMessage::new(Role::Assistant, "", 0),
            ChatMessage::new(Role::System, "extra", 0),
        ],
        tools: vec![ToolDef { name: "df".into(), description: "disk".into(), parameters: json!({"type": "object"}) }],
        temperature: Some(0.0),
    };
    let body = request_body("claude", &req, 512);
    assert_eq!(
        body,
        json!({
            "model": "claude", "max_tokens": 512, "stream": true, "system": "be brief\n\nextra", "temperature": 0.0,
            "tools": [{"name": "df", "description": "disk", "input_schema": {"type": "object"}}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "disk?"}]},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "t1", "name": "df", "input": {"path": "/"}},
                    {"type": "tool_use", "id": "t2", "name": "df", "input": {}},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": "95%"},
                    {"type": "tool_result", "tool_use_id": "t2", "content": "refused", "is_error": true},
                ]},
            ],
        })
    );
}

#[test]
fn a_stream_with_text_and_tool_use() {
    let mut d = StreamDecoder::new();
    let m = fold(
        &mut d,
        &[
            (
                "message_start",
                r#"{"type":"message_start","message":{"id":"msg_1","content":[],"stop_reason":null,"usage":{"input_tokens":25,"output_tokens":1}}}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            ),
            ("ping", r#"{"type":"ping"}"#),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking"}}"#,
            ),
            ("content_block_stop", r#"{"type":"content_block_stop","index":0}"#),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"df","input":{}}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"path\":"}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"/\"}"}}"#,
            ),
            ("content_block_stop", r#"{"type":"content_block_stop","index":1}"#),
            (
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":40}}"#,
            ),
            ("message_stop", r#"{"type":"message_stop"}"#),
        ],
    );
    assert_eq!(m.content, "Checking");
    let calls: Vec<_> = m.tool_calls.iter().map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str())).collect();
    assert_eq!(calls, [("toolu_1", "df", r#"{"path":"/"}"#)], "numbered among tool_use blocks, not content blocks");
    assert_eq!(m.usage, Some(Usage { input: 25, output: 40, estimated: false }));
    assert_eq!(m.finish, Some(Finish::ToolCalls));
    assert!(d.is_done() && d.is_finished());
}

#[test]
fn errors_nulls_and_unknown_events() {
    let mut d = StreamDecoder::new();
    let e = d.decode(Some("error"), r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#);
    assert_eq!(e.unwrap_err(), StreamFault("overloaded_error: Overloaded".into()));
    assert_eq!(d.decode(Some("error"), "not json").unwrap_err(), StreamFault("not json".into()));
    for data in [
        r#"{"type":null}"#,
        r#"{"type":"message_start","message":null}"#,
        r#"{"type":"message_start","message":{"usage":null}}"#,
        r#"{"type":"content_block_start","index":null,"content_block":null}"#,
        r#"{"type":"content_block_delta","index":7,"delta":{"type":"input_json_delta","partial_json":"x"}}"#,
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#,
        r#"{"type":"message_delta","delta":{"stop_reason":null},"usage":null}"#,
        r#"{"type":"something_new"}"#,
    ] {
        assert_eq!(d.decode(None, data).unwrap(), [], "{data}");
    }
    assert!(!d.is_finished());
}

#[test]
fn a_whole_message_decodes_like_a_stream() {
    let body = br#"{"type":"message","content":[{"type":"text","text":"ok"},{"type":"tool_use","id":"t","name":"df","input":{"a":1}}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":4}}"#;
    let mut m = ChatMessage::new(Role::Assistant, "", 0);
    for d in decode_whole(body).unwrap() {
        m.apply(&d);
    }
    assert_eq!(m.content, "ok");
    assert_eq!(m.tool_calls[0].arguments, r#"{"a":1}"#);
    assert_eq!(m.finish, Some(Finish::Stop));
    assert_eq!(m.usage.unwrap().total(), 7);
    assert_eq!(decode_whole(br#"{"type":"error","error":{"message":"x"}}"#), None);
}
