//! OpenAI Chat Completions (`POST {base_url}/chat/completions`), as OpenAI,
//! OpenRouter, Ollama, vLLM, llama.cpp and LM Studio speak it: the request
//! body, a decoder of the streamed chunks into [`ChatDelta`]s, the
//! non-streamed answer some servers send anyway, and error bodies.
//!
//! Every field a real server has been seen to send as `null` (or leave out)
//! decodes as absent (DESIGN.md §10). Tool-call pieces are matched by their
//! `index`, and when a server sends none, by their `id`, else to the call
//! still open.

use serde::Deserialize;
use serde_json::{Value, json};

use super::context::message_text;
use super::stream::Request;
use crate::protocol::chat::{ChatDelta, ChatMessage, Finish, Role, Usage};

/// The JSON body of a streamed Chat Completions request for `model`.
/// `tools` is sent only when there are some (several servers reject an empty list).
pub fn request_body(model: &str, req: &Request, max_tokens: u32) -> Value {
    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    if !req.system.is_empty() {
        messages.push(json!({"role": "system", "content": req.system}));
    }
    messages.extend(req.messages.iter().map(message));
    let mut body = json!({
        "model": model,
        "messages": messages,
        "stream": true,
        "stream_options": {"include_usage": true},
        "max_tokens": max_tokens,
    });
    if !req.tools.is_empty() {
        body["tools"] = req
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "function": {
                    "name": t.name, "description": t.description, "parameters": t.parameters,
                }})
            })
            .collect();
    }
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    body
}

fn message(m: &ChatMessage) -> Value {
    match m.role {
        Role::System => json!({"role": "system", "content": m.content}),
        Role::User => json!({"role": "user", "content": message_text(m)}),
        Role::Tool => json!({
            "role": "tool",
            "tool_call_id": m.tool_call_id.as_deref().unwrap_or_default(),
            "content": m.content,
        }),
        Role::Assistant if m.tool_calls.is_empty() => json!({"role": "assistant", "content": m.content}),
        Role::Assistant => {
            let calls: Vec<Value> = m
                .tool_calls
                .iter()
                .map(|c| {
                    let args = if c.arguments.trim().is_empty() { "{}" } else { c.arguments.as_str() };
                    json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": args}})
                })
                .collect();
            let content = if m.content.is_empty() { Value::Null } else { Value::String(m.content.clone()) };
            json!({"role": "assistant", "content": content, "tool_calls": calls})
        }
    }
}

/// The server reported an error inside a stream (an `error` object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFault(pub String);

/// Turns each SSE event's `data` of a Chat Completions stream into deltas,
/// keeping which tool calls are open between events. Pure: no IO, no clock.
#[derive(Debug, Default, Clone)]
pub struct StreamDecoder {
    calls: Vec<OpenCall>,
    done: bool,
    finished: bool,
}

#[derive(Debug, Clone)]
struct OpenCall {
    /// The server's `index`, when it sends one.
    index: Option<u64>,
    /// The server's `id`, when it sent one.
    id: Option<String>,
    named: bool,
}

#[derive(Deserialize)]
struct Chunk {
    choices: Option<Vec<Option<Choice>>>,
    usage: Option<WireUsage>,
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Choice {
    delta: Option<Delta>,
    /// Non-streamed answers carry `message` instead of `delta`.
    message: Option<Delta>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    content: Option<String>,
    refusal: Option<String>,
    tool_calls: Option<Vec<Option<ToolCallDelta>>>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    index: Option<u64>,
    id: Option<String>,
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    name: Option<String>,
    /// A JSON text; a few servers send an object instead.
    arguments: Option<Value>,
}

#[derive(Deserialize)]
struct WireUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

impl StreamDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// `[DONE]` arrived.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// A `finish_reason` arrived.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// One event's data. Data that is not a chunk (not JSON, another shape)
    /// gives nothing; an `error` object gives the server's message.
    pub fn decode(&mut self, data: &str) -> Result<Vec<ChatDelta>, StreamFault> {
        let data = data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(Vec::new());
        }
        let Ok(chunk) = serde_json::from_str::<Chunk>(data) else { return Ok(Vec::new()) };
        if let Some(err) = chunk.error.filter(|e| !e.is_null()) {
            return Err(StreamFault(
                error_value_message(&err).unwrap_or_else(|| "the server reported an error".into()),
            ));
        }
        let mut out = Vec::new();
        let choice = chunk.choices.unwrap_or_default().into_iter().flatten().next();
        if let Some(choice) = choice {
            if let Some(delta) = choice.delta.or(choice.message) {
                self.delta(delta, &mut out);
            }
            if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
                self.finished = true;
                out.push(ChatDelta::Finish { finish: finish(&reason) });
            }
        }
        if let Some(u) = chunk.usage
            && (u.prompt_tokens.is_some() || u.completion_tokens.is_some())
        {
            let usage = Usage {
                input: u.prompt_tokens.unwrap_or(0),
                output: u.completion_tokens.unwrap_or(0),
                estimated: false,
            };
            out.push(ChatDelta::Usage { usage });
        }
        Ok(out)
    }

    fn delta(&mut self, delta: Delta, out: &mut Vec<ChatDelta>) {
        for text in [delta.content, delta.refusal].into_iter().flatten() {
            if !text.is_empty() {
                out.push(ChatDelta::Text { text });
            }
        }
        for tc in delta.tool_calls.unwrap_or_default().into_iter().flatten() {
            self.tool_call(tc, out);
        }
    }

    fn tool_call(&mut self, tc: ToolCallDelta, out: &mut Vec<ChatDelta>) {
        let id = tc.id.filter(|i| !i.is_empty());
        let (name, args) = match tc.function {
            Some(f) => (f.name.filter(|n| !n.is_empty()), f.arguments.map(args_text).unwrap_or_default()),
            None => (None, String::new()),
        };
        let found = match tc.index {
            Some(i) => self
                .calls
                .iter()
                .rposition(|c| c.index == Some(i))
                // Some servers number every call 0: a new id is a new call.
                .filter(|&at| !matches!((&id, &self.calls[at].id), (Some(new), Some(old)) if new != old)),
            None => match &id {
                Some(id) => self.calls.iter().position(|c| c.id.as_deref() == Some(id)),
                None => self.calls.len().checked_sub(1),
            },
        };
        let at = match found {
            Some(at) => {
                let call = &mut self.calls[at];
                let fill_id = id.is_some() && call.id.is_none();
                let fill_name = name.is_some() && !call.named;
                if fill_id || fill_name {
                    if fill_id {
                        call.id.clone_from(&id);
                    }
                    call.named |= fill_name;
                    out.push(ChatDelta::ToolCallStart {
                        index: at,
                        id: if fill_id { id.unwrap_or_default() } else { String::new() },
                        name: if fill_name { name.unwrap_or_default() } else { String::new() },
                    });
                }
                at
            }
            None => {
                let at = self.calls.len();
                self.calls.push(OpenCall { index: tc.index, id: id.clone(), named: name.is_some() });
                out.push(ChatDelta::ToolCallStart {
                    index: at,
                    id: id.unwrap_or_else(|| format!("call_{at}")),
                    name: name.unwrap_or_default(),
                });
                at
            }
        };
        if !args.is_empty() {
            out.push(ChatDelta::ToolCallArgs { index: at, fragment: args });
        }
    }
}

fn args_text(v: Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// A `finish_reason` (or Anthropic `stop_reason`) as a [`Finish`].
pub fn finish(reason: &str) -> Finish {
    match reason {
        "stop" | "end_turn" | "stop_sequence" | "eos" => Finish::Stop,
        "length" | "max_tokens" | "model_length" => Finish::Length,
        "tool_calls" | "function_call" | "tool_use" => Finish::ToolCalls,
        other => Finish::Other { name: super::provider::cut(other, 64) },
    }
}

/// A whole (non-streamed) Chat Completions answer as the deltas a stream
/// would have given. `None` when the body is not such an answer.
pub fn decode_whole(body: &[u8]) -> Option<Vec<ChatDelta>> {
    let text = std::str::from_utf8(body).ok()?;
    let chunk: Chunk = serde_json::from_str(text).ok()?;
    if chunk.choices.as_ref().is_none_or(|c| c.is_empty()) {
        return None;
    }
    StreamDecoder::new().decode(text).ok()
}

/// The message of an error body, as one line of at most 300 bytes:
/// `{"error":{"message":…}}` (OpenAI, Anthropic, OpenRouter), `{"error":"…"}`
/// (Ollama), `{"message":…}`, `{"detail":…}` (vLLM), else the text itself.
pub fn error_message(body: &str) -> String {
    let body = body.trim();
    let msg = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| error_value_message(&v))
        .unwrap_or_else(|| body.to_string());
    let line = msg.split_whitespace().collect::<Vec<_>>().join(" ");
    super::provider::cut(&line, 300)
}

fn error_value_message(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(o) => {
            ["error", "message", "detail", "msg"].iter().find_map(|k| o.get(*k).and_then(error_value_message))
        }
        Value::Array(a) => a.iter().find_map(error_value_message),
        _ => None,
    }
}

#[cfg(test)]
#[path = "openai_tests.rs"]
mod tests;
