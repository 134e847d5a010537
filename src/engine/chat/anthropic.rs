//! Anthropic Messages (`POST {base_url}/messages`): the request body and a
//! decoder of its streamed events (`message_start`, `content_block_start`,
//! `content_block_delta`, `message_delta`, `message_stop`, `ping`, `error`)
//! into [`ChatDelta`]s. Unknown events and blocks (thinking, server tools)
//! are skipped; `null` decodes as absent (DESIGN.md §10).

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::context::message_text;
use super::openai::{StreamFault, finish};
use super::stream::Request;
use crate::protocol::chat::{ChatDelta, ChatMessage, Role, ToolCallState, Usage};

/// The JSON body of a streamed Messages request for `model`: the system
/// prompt (and any system messages) at the top, tool results as
/// `tool_result` blocks of a user message, consecutive messages of one role
/// merged (the API wants user and assistant turns to alternate).
pub fn request_body(model: &str, req: &Request, max_tokens: u32) -> Value {
    let mut system = req.system.clone();
    let mut states: HashMap<&str, &ToolCallState> = HashMap::new();
    let mut messages: Vec<(Role, Vec<Value>)> = Vec::new();
    for m in &req.messages {
        let (role, blocks) = match m.role {
            Role::System => {
                if !system.is_empty() {
                    system.push_str("\n\n");
                }
                system.push_str(&m.content);
                continue;
            }
            Role::User => {
                let text = message_text(m);
                let text = if text.trim().is_empty() { "(no text)".into() } else { text.into_owned() };
                (Role::User, vec![json!({"type": "text", "text": text})])
            }
            Role::Assistant => {
                for c in &m.tool_calls {
                    states.insert(c.id.as_str(), &c.state);
                }
                (Role::Assistant, assistant_blocks(m))
            }
            Role::Tool => {
                let id = m.tool_call_id.as_deref().unwrap_or_default();
                let failed =
                    matches!(states.get(id), Some(ToolCallState::Done { ok: false } | ToolCallState::Refused { .. }));
                let mut block = json!({"type": "tool_result", "tool_use_id": id, "content": m.content});
                if failed {
                    block["is_error"] = json!(true);
                }
                (Role::User, vec![block])
            }
        };
        if blocks.is_empty() {
            continue;
        }
        match messages.last_mut() {
            Some((last, prev)) if *last == role => prev.extend(blocks),
            _ => messages.push((role, blocks)),
        }
    }
    let messages: Vec<Value> = messages
        .into_iter()
        .map(|(role, content)| json!({"role": if role == Role::User { "user" } else { "assistant" }, "content": content}))
        .collect();
    let mut body = json!({"model": model, "max_tokens": max_tokens, "stream": true, "messages": messages});
    if !system.is_empty() {
        body["system"] = json!(system);
    }
    if !req.tools.is_empty() {
        body["tools"] = req
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
            .collect();
    }
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    body
}

/// Text (when any) and a `tool_use` block per call, its `input` the parsed
/// arguments (`{}` when they are not a JSON object: the API wants one).
fn assistant_blocks(m: &ChatMessage) -> Vec<Value> {
    let mut blocks = Vec::new();
    if !m.content.trim().is_empty() {
        blocks.push(json!({"type": "text", "text": m.content}));
    }
    for c in &m.tool_calls {
        let input = match serde_json::from_str::<Value>(&c.arguments) {
            Ok(Value::Object(o)) => Value::Object(o),
            _ => Value::Object(Map::new()),
        };
        blocks.push(json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}));
    }
    blocks
}

/// Turns each event of a Messages stream into deltas. Tool calls are
/// numbered among the answer's `tool_use` blocks (the first is 0 even when a
/// text block comes before it). Pure: no IO, no clock.
#[derive(Debug, Default, Clone)]
pub struct StreamDecoder {
    /// Content block index → tool call index.
    blocks: Vec<(u64, usize)>,
    calls: usize,
    usage: Usage,
    done: bool,
    finished: bool,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<Message>,
    index: Option<u64>,
    content_block: Option<Block>,
    delta: Option<Delta>,
    usage: Option<WireUsage>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Message {
    usage: Option<WireUsage>,
    content: Option<Vec<Option<Block>>>,
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
    id: Option<String>,
    name: Option<String>,
    input: Option<Value>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
    partial_json: Option<String>,
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// `message_stop` arrived.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// A `stop_reason` arrived.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// One event: its name (`event:` line) and data. The data's `type`
    /// decides; the name stands in when the data has none.
    pub fn decode(&mut self, event: Option<&str>, data: &str) -> Result<Vec<ChatDelta>, StreamFault> {
        let Ok(ev) = serde_json::from_str::<Event>(data) else {
            return match event {
                Some("error") => Err(StreamFault(super::openai::error_message(data))),
                _ => Ok(Vec::new()),
            };
        };
        let mut out = Vec::new();
        match ev.kind.as_deref().or(event) {
            Some("message_start") => {
                if let Some(u) = ev.message.and_then(|m| m.usage) {
                    self.usage_from(u, &mut out);
                }
            }
            Some("content_block_start") => {
                if let Some(block) = ev.content_block {
                    self.block(ev.index, block, &mut out);
                }
            }
            Some("content_block_delta") => match ev.delta {
                Some(Delta { kind, text: Some(text), .. }) if kind.as_deref() != Some("thinking_delta") => {
                    out.extend((!text.is_empty()).then_some(ChatDelta::Text { text }));
                }
                Some(Delta { partial_json: Some(fragment), .. }) if !fragment.is_empty() => {
                    let found = self.blocks.iter().find(|(b, _)| Some(*b) == ev.index).map(|(_, c)| *c);
                    if let Some(index) = found {
                        out.push(ChatDelta::ToolCallArgs { index, fragment });
                    }
                }
                _ => {}
            },
            Some("message_delta") => {
                if let Some(reason) = ev.delta.and_then(|d| d.stop_reason).filter(|r| !r.is_empty()) {
                    self.finished = true;
                    out.push(ChatDelta::Finish { finish: finish(&reason) });
                }
                if let Some(u) = ev.usage {
                    self.usage_from(u, &mut out);
                }
            }
            Some("message_stop") => self.done = true,
            Some("error") => {
                let msg = ev.error.as_ref().map(error_text).unwrap_or_else(|| "the server reported an error".into());
                return Err(StreamFault(msg));
            }
            _ => {}
        }
        Ok(out)
    }

    fn block(&mut self, index: Option<u64>, block: Block, out: &mut Vec<ChatDelta>) {
        match block.kind.as_deref() {
            Some("text") => {
                if let Some(text) = block.text.filter(|t| !t.is_empty()) {
                    out.push(ChatDelta::Text { text });
                }
            }
            Some("tool_use") => {
                let at = self.calls;
                self.calls += 1;
                if let Some(b) = index {
                    self.blocks.push((b, at));
                }
                out.push(ChatDelta::ToolCallStart {
                    index: at,
                    id: block.id.filter(|i| !i.is_empty()).unwrap_or_else(|| format!("toolu_{at}")),
                    name: block.name.unwrap_or_default(),
                });
                // Streams start with `{}` and send the arguments as deltas;
                // a whole message carries them here.
                if let Some(Value::Object(o)) = block.input
                    && !o.is_empty()
                {
                    out.push(ChatDelta::ToolCallArgs { index: at, fragment: Value::Object(o).to_string() });
                }
            }
            _ => {}
        }
    }

    fn usage_from(&mut self, u: WireUsage, out: &mut Vec<ChatDelta>) {
        if u.input_tokens.is_none() && u.output_tokens.is_none() {
            return;
        }
        self.usage.input = u.input_tokens.unwrap_or(self.usage.input);
        self.usage.output = u.output_tokens.unwrap_or(self.usage.output);
        out.push(ChatDelta::Usage { usage: self.usage });
    }
}

/// `{"type":"overloaded_error","message":"Overloaded"}` → `overloaded_error: Overloaded`.
fn error_text(e: &Value) -> String {
    let kind = e.get("type").and_then(Value::as_str);
    let msg = super::openai::error_message(&e.to_string());
    match kind {
        Some(k) if !msg.contains(k) => format!("{k}: {msg}"),
        _ => msg,
    }
}

/// A whole (non-streamed) Messages answer as the deltas a stream would have
/// given. `None` when the body is not such an answer.
pub fn decode_whole(body: &[u8]) -> Option<Vec<ChatDelta>> {
    let m: Message = serde_json::from_slice(body).ok()?;
    let content = m.content?;
    let mut d = StreamDecoder::new();
    let mut out = Vec::new();
    for (i, block) in content.into_iter().enumerate() {
        if let Some(b) = block {
            d.block(Some(i as u64), b, &mut out);
        }
    }
    if let Some(u) = m.usage {
        d.usage_from(u, &mut out);
    }
    if let Some(r) = m.stop_reason.filter(|r| !r.is_empty()) {
        out.push(ChatDelta::Finish { finish: finish(&r) });
    }
    Some(out)
}

#[cfg(test)]
#[path = "anthropic_tests.rs"]
mod tests;
