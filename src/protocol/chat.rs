//! Chat as the engine, the store and the UI see it: conversations, messages,
//! tool calls, token usage, and the pieces a streamed answer arrives in.
//!
//! The names follow the OpenAI Chat Completions and Anthropic Messages APIs
//! (`role`, `content`, `tool_calls`, `tool_call_id`, `usage`, `finish_reason`);
//! the provider adapters in `engine::chat` map both APIs onto these types.
//! No IO here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Ts;

/// A conversation's id: milliseconds since the epoch at creation followed by
/// a random suffix, so ids sort by creation time (`"1764999000123-7f3a"`).
pub type ConversationId = String;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The system prompt (operations work; editable in config).
    System,
    User,
    Assistant,
    /// A tool's result, answering the assistant's call with `tool_call_id`.
    Tool,
}

/// A tool call the model asked for (OpenAI `tool_calls[]`, Anthropic `tool_use`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's call id (`call_…`, `toolu_…`); made up when a server sends none.
    pub id: String,
    /// The tool's name as the model gave it (may name no tool in the registry).
    pub name: String,
    /// The arguments as the model sent them: a JSON text, possibly invalid.
    pub arguments: String,
    /// What became of the call.
    #[serde(default)]
    pub state: ToolCallState,
    /// The arguments as the model sent them, when the user edited them in
    /// the tool's form before the run: `arguments` then holds what ran (so
    /// the saved conversation tells the model what was used) and this the
    /// model's own text (for the transcript's `✎ edited` line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_arguments: Option<String>,
}

impl ToolCall {
    /// A call `id` of tool `name` with `arguments` (JSON text), waiting for consent.
    pub fn new(id: impl Into<String>, name: impl Into<String>, arguments: impl Into<String>) -> Self {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
            state: ToolCallState::Asked,
            model_arguments: None,
        }
    }
}

/// The life of one tool call in the transcript.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ToolCallState {
    /// Shown with its arguments, waiting for the user's `y`/`n`.
    #[default]
    Asked,
    /// Allowed (by the user, or by the conversation's read-only auto-allow) and running.
    Running,
    /// Ran; its (capped) result was sent back to the model.
    Done { ok: bool },
    /// Refused by the user, by `--read-only`, or because the tool is unknown or
    /// the arguments are invalid; `reason` went back to the model.
    Refused { reason: String },
}

/// Token counts for one answer, as the server reported them (`estimated`
/// when it reported none and opsdeck counted about 4 bytes per token).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the request (`prompt_tokens`, `input_tokens`).
    pub input: u64,
    /// Tokens of the answer (`completion_tokens`, `output_tokens`).
    pub output: u64,
    #[serde(default)]
    pub estimated: bool,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.input.saturating_add(self.output)
    }
}

/// Why an answer ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Finish {
    /// The model finished (`stop`, `end_turn`).
    Stop,
    /// The model hit `max_tokens` (`length`, `max_tokens`).
    Length,
    /// The model asked for tools (`tool_calls`, `tool_use`).
    ToolCalls,
    /// The stream ended without saying why (no `finish_reason`, or `[DONE]`
    /// after an unfinished answer): what arrived is kept and marked cut.
    Unfinished,
    /// The connection broke or timed out mid-answer; what arrived is kept.
    Cut { error: String },
    /// The user stopped it.
    Cancelled,
    /// A reason this client does not know, as the server spelled it.
    Other { name: String },
}

impl Finish {
    /// The answer is whole: nothing to continue.
    pub fn is_complete(&self) -> bool {
        matches!(self, Finish::Stop | Finish::ToolCalls)
    }
}

/// Something attached to a user message as context, shown and removable
/// before sending; its `text` is what the model reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    /// `alert`, `run`, `tool_result` or `metrics`.
    pub kind: String,
    /// One line naming it (`alert DiskFilling{mount="/"}`).
    pub title: String,
    pub text: String,
}

/// One message of a conversation, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    /// Markdown text (an assistant's answer may be empty when it only calls tools).
    pub content: String,
    /// Unix ms when it was written (an answer: when its first token arrived).
    pub ts: Ts,
    /// `provider/model` that answered (assistant messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The call this tool message answers (role `tool`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// How the answer ended (assistant messages; `None` while streaming).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish: Option<Finish>,
    /// Fallback entries tried before the one that answered, with why each was skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<Skipped>,
}

impl ChatMessage {
    /// A message of `role` with `content` written at `ts`, nothing else set.
    pub fn new(role: Role, content: impl Into<String>, ts: Ts) -> Self {
        ChatMessage {
            role,
            content: content.into(),
            ts,
            model: None,
            tool_calls: Vec::new(),
            tool_call_id: None,
            attachments: Vec::new(),
            usage: None,
            finish: None,
            skipped: Vec::new(),
        }
    }
}

/// Questions the chat input keeps for recall (newest last), in the pane
/// and in the store.
pub const INPUT_HISTORY: usize = 200;

/// A provider and one of its models (`local/smollm2`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModelRef {
    /// The `[[provider]]`'s name.
    pub provider: String,
    pub model: String,
}

impl ModelRef {
    /// Parse `provider/model`; the model part may itself hold slashes
    /// (`openrouter/meta-llama/llama-3-8b`). `None` without a `/` or with an
    /// empty side.
    pub fn parse(s: &str) -> Option<ModelRef> {
        let (provider, model) = s.split_once('/')?;
        (!provider.is_empty() && !model.is_empty())
            .then(|| ModelRef { provider: provider.to_string(), model: model.to_string() })
    }
}

impl std::fmt::Display for ModelRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.provider, self.model)
    }
}

/// A fallback entry that did not answer, and why (`connection refused`,
/// `401 Unauthorized: invalid api key`, `429 Too Many Requests`, `no first
/// token within 30s`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub model: ModelRef,
    pub reason: String,
}

/// A conversation as listed: no messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationMeta {
    pub id: ConversationId,
    /// From the first user message (its first line, cut), or set by rename.
    pub title: String,
    pub created: Ts,
    pub updated: Ts,
    pub messages: u32,
    /// Tokens used over all answers.
    #[serde(default)]
    pub usage: Usage,
    /// Tools offered to the model in this conversation (names); `None`: the
    /// default, every read-only tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
    /// Read-only tools run without asking in this conversation.
    #[serde(default)]
    pub auto_allow_read_only: bool,
    /// The model asked first in this conversation (the model picker's or
    /// `chat_model_next`'s choice); `None`: the `[chat] fallback` chain as
    /// configured. Records written before it existed load with `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelRef>,
}

impl ConversationMeta {
    /// An untitled conversation `id` created at `now`: no messages, no
    /// usage, the default tools (read-only), every call asking.
    pub fn new(id: ConversationId, now: Ts) -> Self {
        ConversationMeta {
            id,
            title: String::new(),
            created: now,
            updated: now,
            messages: 0,
            usage: Usage::default(),
            tools: None,
            auto_allow_read_only: false,
            model: None,
        }
    }
}

/// A whole conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub meta: ConversationMeta,
    pub messages: Vec<ChatMessage>,
}

impl ConversationMeta {
    /// The title to show: [`UNTITLED`] until the first user message names it.
    pub fn shown_title(&self) -> &str {
        if self.title.is_empty() { UNTITLED } else { &self.title }
    }
}

impl ConversationMeta {
    /// Does the conversation offer the tool `name` to the model: named in its
    /// `tools`, or by default (`None`) when it is read-only (`mutating`
    /// false). Whether the tool exists now is the caller's to know.
    pub fn offers(&self, name: &str, mutating: bool) -> bool {
        match &self.tools {
            Some(names) => names.iter().any(|n| n == name),
            None => !mutating,
        }
    }
}

/// Most cells a title made from a message takes ([`title_from`]).
pub const TITLE_CELLS: usize = 60;

/// What a conversation without a title is shown as.
pub const UNTITLED: &str = "New conversation";

/// A conversation's id from its creation time and a random number:
/// `"{now_ms:013}-{rand:04x}"`, so ids sort by creation time until the year
/// 2286 (a time before the epoch counts as 0).
pub fn new_conversation_id(now_ms: Ts, rand: u16) -> ConversationId {
    format!("{:013}-{rand:04x}", now_ms.max(0))
}

/// Is `s` usable as a conversation id: 1 to 64 ASCII letters, digits, `-`
/// and `_` (what [`new_conversation_id`] makes, and what `--conversation`
/// accepts). No `/`, so the store's keys of two conversations never overlap.
pub fn is_conversation_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A title from a message: its first line with something visible, cleaned
/// of control characters ([`crate::text::clean`]), trimmed, and cut to
/// [`TITLE_CELLS`] cells with `…`. Empty when the message shows nothing.
pub fn title_from(text: &str) -> String {
    for line in text.lines() {
        let cleaned = crate::text::clean(line);
        let line = cleaned.trim();
        if !line.is_empty() {
            return crate::text::truncate(line, TITLE_CELLS).into_owned();
        }
    }
    String::new()
}

/// One place a search over the conversations found the query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub id: ConversationId,
    /// The conversation's title ([`ConversationMeta::shown_title`]).
    pub title: String,
    /// The message that holds the query; `None` for a match of the title.
    pub message_index: Option<u32>,
    /// One line around the match, cleaned for a terminal, `…` where cut (the
    /// title itself for a title match).
    pub snippet: String,
    /// The match within `snippet`, as a byte range (on char boundaries).
    pub highlight: std::ops::Range<usize>,
}

/// What a search over the conversations found: title matches first (best
/// ranked first), then message matches (newest conversation first, then in
/// message order).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatSearch {
    pub hits: Vec<SearchHit>,
    /// The search stopped before reading everything: it found as many hits
    /// as asked for, or read as many bytes as it may. There may be more.
    pub cut: bool,
    /// Messages that could not be read and were skipped.
    pub unreadable: usize,
}

/// A function the model is offered (from a registry tool).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDef {
    pub name: String,
    pub description: String,
    /// JSON Schema (object) of the arguments.
    pub parameters: Value,
}

/// One piece of a streamed answer, in arrival order, as both adapters decode
/// it from their server-sent events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatDelta {
    /// More answer text.
    Text { text: String },
    /// The model starts tool call number `index` (0-based, in the answer).
    ToolCallStart { index: usize, id: String, name: String },
    /// More of call `index`'s JSON arguments.
    ToolCallArgs { index: usize, fragment: String },
    /// Token counts (the last report wins).
    Usage { usage: Usage },
    /// The server said why the answer ended.
    Finish { finish: Finish },
}

/// A tool result as the model reads it: a string as is, anything else as
/// JSON text, cut at `max` bytes on a char boundary with a note saying how
/// much there was.
pub fn cap_tool_result(v: &Value, max: usize) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(other).unwrap_or_default(),
    };
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n[cut: the result was {} bytes; only the first {end} are shown]", &text[..end], text.len())
}

/// Most a streamed answer's text or one call's arguments may grow to (bytes);
/// what arrives beyond is dropped and the answer is marked cut, so a server
/// that never stops cannot exhaust memory.
pub const MAX_ANSWER_BYTES: usize = 1 << 20;

impl ChatMessage {
    /// Fold one streamed piece into this assistant message: text appended,
    /// tool calls opened and their arguments appended by `index`, the last
    /// usage kept, the finish recorded. A call's args for an index never
    /// opened open a call with an empty name (servers that send the name
    /// late fill it in through a later `ToolCallStart` for the same index).
    /// Returns `false` when something was dropped at [`MAX_ANSWER_BYTES`].
    pub fn apply(&mut self, delta: &ChatDelta) -> bool {
        match delta {
            ChatDelta::Text { text } => push_capped(&mut self.content, text),
            ChatDelta::ToolCallStart { index, id, name } => {
                let call = self.call_at(*index);
                if !id.is_empty() {
                    call.id.clone_from(id);
                }
                if !name.is_empty() {
                    call.name.clone_from(name);
                }
                true
            }
            ChatDelta::ToolCallArgs { index, fragment } => push_capped(&mut self.call_at(*index).arguments, fragment),
            ChatDelta::Usage { usage } => {
                self.usage = Some(*usage);
                true
            }
            ChatDelta::Finish { finish } => {
                self.finish = Some(finish.clone());
                true
            }
        }
    }

    /// The tool call at stream index `index`, opened (with a made-up id) when
    /// it is not there yet. At most 128 calls per answer: a larger index
    /// lands on the last.
    fn call_at(&mut self, index: usize) -> &mut ToolCall {
        let index = index.min(127);
        while self.tool_calls.len() <= index {
            let n = self.tool_calls.len();
            self.tool_calls.push(ToolCall::new(format!("call_{n}"), "", ""));
        }
        &mut self.tool_calls[index]
    }
}

fn push_capped(buf: &mut String, more: &str) -> bool {
    let room = MAX_ANSWER_BYTES.saturating_sub(buf.len());
    if more.len() <= room {
        buf.push_str(more);
        return true;
    }
    let mut end = room;
    while !more.is_char_boundary(end) {
        end -= 1;
    }
    buf.push_str(&more[..end]);
    false
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_conversation_offers_its_chosen_tools_or_the_read_only_ones() {
        let mut m = super::ConversationMeta::new("c".into(), 0);
        assert!(m.offers("dns_lookup", false) && !m.offers("restart", true), "the default");
        m.tools = Some(vec!["restart".into()]);
        assert!(m.offers("restart", true) && !m.offers("dns_lookup", false), "the choice");
        m.tools = Some(Vec::new());
        assert!(!m.offers("dns_lookup", false), "none at all");
    }

    use super::*;

    #[test]
    fn ids_sort_by_creation_time_and_are_valid() {
        let a = new_conversation_id(1_764_999_000_123, 0x7f3a);
        assert_eq!(a, "1764999000123-7f3a");
        assert_eq!(new_conversation_id(5, 0), "0000000000005-0000");
        assert_eq!(new_conversation_id(-5, 0xffff), "0000000000000-ffff");
        assert!(new_conversation_id(999, 0xffff) < new_conversation_id(1000, 0));
        assert!(is_conversation_id(&a));
        for bad in ["", "a/b", "a b", "é", &"x".repeat(65), "a\0"] {
            assert!(!is_conversation_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_title_is_the_first_visible_line_cleaned_and_cut() {
        assert_eq!(title_from("\n  \n\u{200B}\n  why is /var full?\nsecond"), "why is /var full?");
        assert_eq!(title_from("a\tb\u{1b}[31m"), "a       b␛[31m");
        assert_eq!(title_from(" \n\t"), "");
        let long = "é".repeat(100);
        let t = title_from(&long);
        assert_eq!(crate::text::width(&t), TITLE_CELLS);
        assert!(t.ends_with('…'));
        let wide = title_from(&"界".repeat(40));
        assert!(crate::text::width(&wide) <= TITLE_CELLS && wide.ends_with('…'));
        let meta = ConversationMeta {
            id: "x".into(),
            title: String::new(),
            created: 0,
            updated: 0,
            messages: 0,
            usage: Usage::default(),
            tools: None,
            auto_allow_read_only: false,
            model: None,
        };
        assert_eq!(meta.shown_title(), UNTITLED);
    }

    #[test]
    fn a_large_tool_result_is_cut_on_a_char_boundary_and_says_so() {
        let big = Value::String("é".repeat(10_000));
        let s = cap_tool_result(&big, 16_001);
        assert!(s.starts_with("éé") && s.contains("[cut: the result was 20000 bytes; only the first 16000 are shown]"));
        assert_eq!(cap_tool_result(&serde_json::json!({"a":1}), 100), "{\"a\":1}");
    }

    #[test]
    fn model_ref_keeps_slashes_in_the_model() {
        let m = ModelRef::parse("openrouter/meta-llama/llama-3-8b").unwrap();
        assert_eq!((m.provider.as_str(), m.model.as_str()), ("openrouter", "meta-llama/llama-3-8b"));
        assert_eq!(ModelRef::parse("nomodel"), None);
        assert_eq!(ModelRef::parse("/m"), None);
        assert_eq!(ModelRef::parse("p/"), None);
    }

    #[test]
    fn deltas_fold_into_text_calls_usage_and_finish() {
        let mut m = ChatMessage::new(Role::Assistant, "", 0);
        let deltas = [
            ChatDelta::Text { text: "Checking ".into() },
            ChatDelta::Text { text: "disk".into() },
            ChatDelta::ToolCallStart { index: 1, id: "b".into(), name: "df".into() },
            ChatDelta::ToolCallArgs { index: 0, fragment: "{\"h".into() },
            ChatDelta::ToolCallStart { index: 0, id: "a".into(), name: "dns_lookup".into() },
            ChatDelta::ToolCallArgs { index: 0, fragment: "ost\":1}".into() },
            ChatDelta::Usage { usage: Usage { input: 3, output: 4, estimated: false } },
            ChatDelta::Finish { finish: Finish::ToolCalls },
        ];
        for d in &deltas {
            assert!(m.apply(d));
        }
        assert_eq!(m.content, "Checking disk");
        let calls: Vec<_> =
            m.tool_calls.iter().map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str())).collect();
        assert_eq!(calls, [("a", "dns_lookup", "{\"host\":1}"), ("b", "df", "")]);
        assert_eq!(m.usage.unwrap().total(), 7);
        assert_eq!(m.finish, Some(Finish::ToolCalls));
    }

    #[test]
    fn an_endless_answer_is_capped_on_a_char_boundary() {
        let mut m = ChatMessage::new(Role::Assistant, "", 0);
        let chunk = "é".repeat(1000);
        let mut dropped = false;
        for _ in 0..(MAX_ANSWER_BYTES / chunk.len() + 2) {
            dropped |= !m.apply(&ChatDelta::Text { text: chunk.clone() });
        }
        assert!(dropped);
        assert!(m.content.len() <= MAX_ANSWER_BYTES && m.content.len() > MAX_ANSWER_BYTES - 4);
        // A huge index opens no more than 128 calls.
        m.apply(&ChatDelta::ToolCallStart { index: usize::MAX, id: "x".into(), name: "n".into() });
        assert_eq!(m.tool_calls.len(), 128);
    }
}

/// What a question's stream reports to whoever shows it, in order: which
/// fallback entry is tried, which were skipped and why, how many old
/// messages the context budget left out, and the answer's pieces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatProgress {
    /// The request goes to `model` now.
    Trying {
        model: ModelRef,
    },
    /// A fallback entry did not answer.
    Skipped {
        skipped: Skipped,
    },
    /// The oldest `dropped` messages were left out of the request to fit the
    /// model's context (never out of the record).
    Trimmed {
        dropped: usize,
    },
    Delta {
        delta: ChatDelta,
    },
}

/// How a question's stream ended: who answered, why it stopped, the tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub model: ModelRef,
    pub finish: Finish,
    pub usage: Option<Usage>,
}
