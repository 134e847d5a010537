//! "The request is longer than the model's context", as servers say it, and
//! how to fix it: the provider's `context_tokens` (docs/chat.md, "The context
//! budget") makes opsdeck leave older turns out of the request.
//!
//! Recognised: llama.cpp (`request (2070 tokens) exceeds the available
//! context size (2048 tokens)`, its `exceed_context_size_error` type and
//! `n_ctx` field), OpenAI and vLLM (`context_length_exceeded`, `This model's
//! maximum context length is 8192 tokens`), Anthropic (`prompt is too long:
//! 210000 tokens > 200000 maximum`).

use serde_json::Value;

use crate::config::chat::ProviderConfig;

/// Largest window believed (a bigger number in an error is not a size).
const MAX_WINDOW: u64 = 100_000_000;

/// Whether `text` (an error body or message) says the request did not fit
/// the model's context: `None` when it does not; `Some(window)` when it
/// does, with the window in tokens when the server gave it.
pub fn recognise(text: &str) -> Option<Option<u64>> {
    let lower = text.to_ascii_lowercase();
    const SIGNS: [&str; 6] = [
        "exceeds the available context size",
        "exceed_context_size_error",
        "context_length_exceeded",
        "maximum context length",
        "prompt is too long",
        "context size has been exceeded",
    ];
    if !SIGNS.iter().any(|s| lower.contains(s)) {
        return None;
    }
    let from_json = serde_json::from_str::<Value>(text.trim()).ok().and_then(|v| find_n_ctx(&v, 0));
    let from_text = [("available context size (", false), ("maximum context length is ", false), (" > ", true)]
        .iter()
        .find_map(|(marker, anthropic)| {
            lower.match_indices(marker).find_map(|(i, _)| {
                let rest = &lower[i + marker.len()..];
                let n = leading_number(rest)?;
                // Anthropic's `> 200000 maximum`: only a number that is the maximum.
                let after = rest.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start();
                (!anthropic || after.starts_with("maximum")).then_some(n)
            })
        });
    Some(from_json.or(from_text).filter(|n| (1..=MAX_WINDOW).contains(n)))
}

/// What to do, for the provider `p`: set `context_tokens` to the window the
/// server gave (and `max_tokens` below it), or to the model's window.
pub fn hint(p: &ProviderConfig, window: Option<u64>) -> String {
    let fix = match window {
        Some(n) if u64::from(p.max_tokens) >= n => format!(
            "set context_tokens = {n} and max_tokens = {} (below it; now {}) under the [[provider]] named {:?} in \
             config.toml",
            (n / 4).max(1),
            p.max_tokens,
            p.name
        ),
        Some(n) => format!("set context_tokens = {n} under the [[provider]] named {:?} in config.toml", p.name),
        None => format!(
            "set context_tokens to the model's context size (now {}) under the [[provider]] named {:?} in config.toml",
            p.context_tokens, p.name
        ),
    };
    format!(
        "the conversation no longer fits the model's context: {fix}, so older turns are left out of the request \
         (docs/chat.md, \"The context budget\")"
    )
}

/// `reason` with [`hint`] added when `text` (the server's body or message)
/// says the request did not fit.
pub fn explain(p: &ProviderConfig, reason: String, text: &str) -> String {
    match recognise(text) {
        Some(window) => format!("{reason} — {}", hint(p, window)),
        None => reason,
    }
}

/// llama.cpp's `"n_ctx": 2048` anywhere in an error body (a few levels deep).
fn find_n_ctx(v: &Value, depth: u8) -> Option<u64> {
    match v {
        Value::Object(o) if depth < 4 => {
            o.get("n_ctx").and_then(Value::as_u64).or_else(|| o.values().find_map(|v| find_n_ctx(v, depth + 1)))
        }
        _ => None,
    }
}

/// The digits `s` starts with (after spaces), as a number.
fn leading_number(s: &str) -> Option<u64> {
    let s = s.trim_start();
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::chat::ProviderKind;

    #[test]
    fn each_servers_wording_is_recognised_with_its_window() {
        let cases: [(&str, Option<u64>); 7] = [
            (
                r#"{"error":{"code":400,"message":"request (2070 tokens) exceeds the available context size (2048 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":2070,"n_ctx":2048}}"#,
                Some(2048),
            ),
            ("request (2070 tokens) exceeds the available context size (2048 tokens), try increasing it", Some(2048)),
            (
                r#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error"}}"#,
                None,
            ),
            (
                r#"{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
                Some(128000),
            ),
            (r#"{"error":{"message":"Input too long","code":"context_length_exceeded"}}"#, None),
            (
                r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 210000 tokens > 200000 maximum"}}"#,
                Some(200000),
            ),
            (
                "This model's maximum context length is 2048 tokens. However, you requested 2100 tokens (2000 in the messages, 100 in the completion).",
                Some(2048),
            ),
        ];
        for (text, window) in cases {
            assert_eq!(recognise(text), Some(window), "{text}");
        }
    }

    #[test]
    fn other_errors_and_garbage_are_not_taken_for_it() {
        for text in [
            "",
            "503 Service Unavailable: upstream down",
            r#"{"error":{"message":"invalid api key","code":401}}"#,
            "model \"nosuch\" not found",
            "context",
            "\u{0}\u{feff}maximum",
        ] {
            assert_eq!(recognise(text), None, "{text:?}");
        }
        // A window no model has is not given as one.
        assert_eq!(recognise("maximum context length is 99999999999999999999999 tokens"), Some(None));
        assert_eq!(recognise("maximum context length is 0 tokens"), Some(None));
        assert_eq!(recognise("prompt is too long: 5 tokens > 4 apples"), Some(None));
    }

    #[test]
    fn the_hint_names_the_number_and_the_provider() {
        let mut p = ProviderConfig::new("local", ProviderKind::Openai, "http://127.0.0.1:8080/v1", &["smollm2"]);
        p.max_tokens = 512;
        let body = "request (2070 tokens) exceeds the available context size (2048 tokens), try increasing it";
        assert_eq!(
            explain(&p, "400 Bad Request: x".into(), body),
            "400 Bad Request: x — the conversation no longer fits the model's context: set context_tokens = 2048 \
             under the [[provider]] named \"local\" in config.toml, so older turns are left out of the request \
             (docs/chat.md, \"The context budget\")"
        );
        p.max_tokens = 4096;
        assert!(
            hint(&p, Some(2048)).contains("set context_tokens = 2048 and max_tokens = 512 (below it; now 4096) under")
        );
        assert!(hint(&p, None).contains("set context_tokens to the model's context size (now 8192)"));
        assert_eq!(explain(&p, "503".into(), "busy"), "503");
    }
}
