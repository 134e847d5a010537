//! The context budget: what of a conversation is sent so that the request
//! fits the model's window, and the token estimate it is measured with.
//! Pure; the record keeps every message whatever is left out here.

use std::borrow::Cow;

use crate::protocol::chat::{ChatMessage, Role, ToolDef};

/// Tokens a message costs beyond its text (role, separators), roughly.
const PER_MESSAGE: u64 = 4;

/// About how many tokens `text` is: one per 4 bytes, rounded up. Tokenizers
/// of current models give 3.5–4.5 bytes per token for English and code, fewer
/// for other scripts; the server's `usage`, when it reports one, replaces
/// this estimate.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// What the model reads of a message: a user message's text followed by its
/// attachments, each under a line naming it.
pub fn message_text(m: &ChatMessage) -> Cow<'_, str> {
    if m.attachments.is_empty() {
        return Cow::Borrowed(&m.content);
    }
    let mut out = m.content.clone();
    for a in &m.attachments {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        out.push_str(&format!("[attached {}: {}]\n{}", a.kind, a.title, a.text));
    }
    Cow::Owned(out)
}

/// The estimated tokens of one message as sent (text, tool calls, overhead).
pub fn message_tokens(m: &ChatMessage) -> u64 {
    let calls: u64 =
        m.tool_calls.iter().map(|c| estimate_tokens(&c.name) + estimate_tokens(&c.arguments) + PER_MESSAGE).sum();
    estimate_tokens(&message_text(m)) + calls + PER_MESSAGE
}

/// What [`fit`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fitted {
    /// Index of the first message sent; the ones before are left out.
    pub start: usize,
    /// How many messages are left out (`start`).
    pub dropped: usize,
    /// Estimated tokens of the request: system prompt, tools and the kept messages.
    pub estimated_tokens: u64,
}

/// Leave out the oldest whole turns (a turn starts at a user message) until
/// the request's estimate fits `context_tokens - max_tokens`. An assistant's
/// tool calls are never separated from their results, and the last user
/// message is always kept, even when it alone does not fit (the server then
/// says so).
pub fn fit(messages: &[ChatMessage], system: &str, tools: &[ToolDef], context_tokens: u32, max_tokens: u32) -> Fitted {
    let budget = u64::from(context_tokens.saturating_sub(max_tokens));
    let fixed = estimate_tokens(system)
        + PER_MESSAGE
        + tools
            .iter()
            .map(|t| {
                estimate_tokens(&t.name) + estimate_tokens(&t.description) + estimate_tokens(&t.parameters.to_string())
            })
            .sum::<u64>();
    // suffix[i]: tokens of messages[i..].
    let mut suffix = vec![0u64; messages.len() + 1];
    for (i, m) in messages.iter().enumerate().rev() {
        suffix[i] = suffix[i + 1] + message_tokens(m);
    }
    let last_user = messages.iter().rposition(|m| m.role == Role::User);
    let mut starts = (0..messages.len()).filter(|&i| i == 0 || is_turn_start(&messages[i]));
    let limit = last_user.unwrap_or(0);
    let start = starts.by_ref().take_while(|&i| i <= limit).find(|&i| fixed + suffix[i] <= budget).unwrap_or(limit);
    Fitted { start, dropped: start, estimated_tokens: fixed + suffix[start] }
}

/// A message a request may begin with when older ones are left out.
pub fn is_turn_start(m: &ChatMessage) -> bool {
    m.role == Role::User
}

#[cfg(test)]
#[path = "context_tests.rs"]
mod tests;
