//! Property tests of both stream decoders fed through `sse-stream`: a
//! scripted byte stream split at arbitrary points gives the same deltas as
//! its whole events, and arbitrary bytes never panic.

use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use proptest::prelude::*;
use serde_json::json;
use sse_stream::Sse;

use super::sse::{BodyError, Events};
use super::stream::Decoder;
use crate::config::chat::ProviderKind;
use crate::protocol::chat::ChatDelta;

/// The events of `chunks` as `sse-stream` parses them (all ready at once).
fn parse(chunks: Vec<Vec<u8>>) -> Vec<Result<Sse, String>> {
    let s = futures_util::stream::iter(chunks.into_iter().map(|c| Ok::<_, BodyError>(Bytes::from(c))));
    Events::new(s).collect::<Vec<_>>().now_or_never().expect("ready")
}

fn split(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    at.sort_unstable();
    at.dedup();
    let mut out = Vec::new();
    let mut prev = 0;
    for c in at.into_iter().chain([bytes.len()]) {
        out.push(bytes[prev..c].to_vec());
        prev = c;
    }
    out
}

fn decode_all(kind: ProviderKind, events: &[(Option<String>, String)]) -> Vec<Result<Vec<ChatDelta>, String>> {
    let mut d = Decoder::new(kind);
    events
        .iter()
        .map(|(event, data)| {
            let sse = Sse { event: event.clone(), data: Some(data.clone()), id: None, retry: None };
            d.decode(&sse).map_err(|e| e.0)
        })
        .collect()
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[a-z \"\\\\é{}:]{1,12}", Just("line\nbreak\r\n".to_string())]
}

/// One OpenAI chunk's data.
fn openai_event() -> impl Strategy<Value = String> {
    prop_oneof![
        text().prop_map(|t| json!({"choices": [{"delta": {"content": t}}]}).to_string()),
        (prop::option::of(0u64..3), prop::option::of("call_[a-c]"), prop::option::of("[a-z_]{1,8}"), text()).prop_map(
            |(index, id, name, args)| {
                json!({"choices": [{"delta": {"tool_calls": [{"index": index, "id": id, "function": {"name": name, "arguments": args}}]}}]})
                    .to_string()
            }
        ),
        prop::sample::select(vec!["stop", "length", "tool_calls", "weird"])
            .prop_map(|r| json!({"choices": [{"delta": {}, "finish_reason": r}]}).to_string()),
        (0u64..1000, prop::option::of(0u64..1000))
            .prop_map(|(p, c)| json!({"choices": [], "usage": {"prompt_tokens": p, "completion_tokens": c}}).to_string()),
        Just(r#"{"choices":null,"usage":null,"id":null}"#.to_string()),
        Just(r#"{"error":{"message":"boom"}}"#.to_string()),
        Just("[DONE]".to_string()),
    ]
}

/// One Anthropic event: (name, data).
fn anthropic_event() -> impl Strategy<Value = (String, String)> {
    prop_oneof![
        (0u64..1000).prop_map(|n| ("message_start".into(), json!({"type": "message_start", "message": {"usage": {"input_tokens": n}}}).to_string())),
        (0u64..4, text()).prop_map(|(i, t)| ("content_block_start".into(), json!({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": t}}).to_string())),
        (0u64..4, "toolu_[a-c]", "[a-z]{1,6}").prop_map(|(i, id, n)| ("content_block_start".into(), json!({"type": "content_block_start", "index": i, "content_block": {"type": "tool_use", "id": id, "name": n, "input": {}}}).to_string())),
        (0u64..4, text()).prop_map(|(i, t)| ("content_block_delta".into(), json!({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": t}}).to_string())),
        (0u64..4, text()).prop_map(|(i, t)| ("content_block_delta".into(), json!({"type": "content_block_delta", "index": i, "delta": {"type": "input_json_delta", "partial_json": t}}).to_string())),
        (prop::sample::select(vec!["end_turn", "tool_use", "max_tokens"]), 0u64..100).prop_map(|(r, n)| ("message_delta".into(), json!({"type": "message_delta", "delta": {"stop_reason": r}, "usage": {"output_tokens": n}}).to_string())),
        Just(("ping".to_string(), r#"{"type":"ping"}"#.to_string())),
        Just(("error".to_string(), r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.to_string())),
        Just(("message_stop".to_string(), r#"{"type":"message_stop"}"#.to_string())),
    ]
}

/// The wire form of events, each line ended by `eol`.
fn wire(events: &[(Option<String>, String)], eol: &str) -> Vec<u8> {
    let mut out = String::new();
    for (name, data) in events {
        if let Some(n) = name {
            out.push_str(&format!("event: {n}{eol}"));
        }
        out.push_str(&format!("data: {data}{eol}{eol}"));
    }
    out.into_bytes()
}

fn check_split(
    kind: ProviderKind,
    events: Vec<(Option<String>, String)>,
    eol: &str,
    cuts: Vec<usize>,
) -> Result<(), TestCaseError> {
    let whole = decode_all(kind, &events);
    let parsed: Vec<(Option<String>, String)> = parse(split(&wire(&events, eol), &cuts))
        .into_iter()
        .map(|e| e.map(|s| (s.event, s.data.unwrap_or_default())))
        .collect::<Result<_, _>>()
        .map_err(|e| TestCaseError::fail(format!("parse error: {e}")))?;
    prop_assert_eq!(&parsed, &events);
    prop_assert_eq!(decode_all(kind, &parsed), whole);
    Ok(())
}

proptest! {
    #[test]
    fn openai_streams_split_anywhere_decode_like_whole_events(
        events in prop::collection::vec(openai_event(), 0..20),
        crlf in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..40),
    ) {
        let events = events.into_iter().map(|d| (None, d)).collect();
        check_split(ProviderKind::Openai, events, if crlf { "\r\n" } else { "\n" }, cuts)?;
    }

    #[test]
    fn anthropic_streams_split_anywhere_decode_like_whole_events(
        events in prop::collection::vec(anthropic_event(), 0..20),
        crlf in any::<bool>(),
        cuts in prop::collection::vec(any::<usize>(), 0..40),
    ) {
        let events = events.into_iter().map(|(n, d)| (Some(n), d)).collect();
        check_split(ProviderKind::Anthropic, events, if crlf { "\r\n" } else { "\n" }, cuts)?;
    }

    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600), cuts in prop::collection::vec(any::<usize>(), 0..20)) {
        for kind in [ProviderKind::Openai, ProviderKind::Anthropic] {
            let mut d = Decoder::new(kind);
            for e in parse(split(&bytes, &cuts)).into_iter().flatten() {
                let _ = d.decode(&e);
            }
        }
    }

    #[test]
    fn json_shaped_garbage_never_panics(data in "[\\[\\]{}\":,a-z0-9 nul_-]{0,200}", name in prop::option::of("[a-z_]{0,20}")) {
        for kind in [ProviderKind::Openai, ProviderKind::Anthropic] {
            let mut d = Decoder::new(kind);
            let _ = d.decode(&Sse { event: name.clone(), data: Some(data.clone()), id: None, retry: None });
        }
        let _ = super::openai::decode_whole(data.as_bytes());
        let _ = super::anthropic::decode_whole(data.as_bytes());
        let _ = super::openai::error_message(&data);
    }
}

/// The deltas of a valid stream also fold: tool calls split with and
/// without index end up whole (one fixed case of the properties above,
/// trickled a byte per chunk).
#[test]
fn a_trickled_stream_parses_like_the_whole() {
    let events: Vec<(Option<String>, String)> = [
        r#"{"choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"df","arguments":"{\"x\""}}]}}]}"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":":1}"}}]}}]}"#,
        "[DONE]",
    ]
    .iter()
    .map(|d| (None, d.to_string()))
    .collect();
    let bytes = wire(&events, "\r\n");
    let cuts: Vec<usize> = (0..bytes.len()).collect();
    check_split(ProviderKind::Openai, events, "\r\n", cuts).unwrap();
}
