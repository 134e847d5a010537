//! `[[provider]]` (LLM endpoints the chat pane and `opsdeck chat` talk to)
//! and `[chat]` (the fallback chain, system prompt, tool-call rounds).
//!
//! Keys never live here: a provider's key is the secret `provider:NAME`
//! (`opsdeck key set provider:NAME`); a provider without one sends none.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

/// The system prompt used unless `[chat] system_prompt` replaces it.
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are the assistant inside opsdeck, a terminal control center used by \
site reliability engineers. Answer briefly and concretely, in Markdown. Prefer commands and checks the user can run \
over general advice; say what a command changes before suggesting it. When attached context (alerts, workflow runs, \
tool results, metrics) is given, base the answer on it and say when it is not enough. Use the offered tools to look \
things up instead of guessing; never claim to have run something you did not.";

/// Which HTTP API a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI Chat Completions (`POST {base_url}/chat/completions`): OpenAI,
    /// OpenRouter, Ollama, vLLM, llama.cpp, LM Studio.
    Openai,
    /// Anthropic Messages (`POST {base_url}/messages`).
    Anthropic,
}

/// One `[[provider]]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Unique; names the provider in `provider/model` and the key `provider:NAME`.
    pub name: String,
    pub kind: ProviderKind,
    /// API root, e.g. `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1`,
    /// `https://api.anthropic.com/v1`.
    pub base_url: String,
    /// Models offered in the picker; empty: listed from `GET {base_url}/models`.
    #[serde(default)]
    pub models: Vec<String>,
    /// Extra request headers (`HTTP-Referer` for OpenRouter, …); never secrets.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Longest wait for the connection and the response headers (of a model
    /// listing; a chat request's headers may take up to `first_token_timeout`
    /// when that is longer: a server may hold them until its model is loaded).
    #[serde(default = "default_connect_timeout", deserialize_with = "super::settings::de_duration")]
    pub connect_timeout: Duration,
    /// Longest wait for the first token once the request is sent; past it
    /// the next fallback entry is tried.
    #[serde(default = "default_first_token_timeout", deserialize_with = "super::settings::de_duration")]
    pub first_token_timeout: Duration,
    /// Longest silence between two pieces of a streaming answer; past it the
    /// answer is kept and marked cut.
    #[serde(default = "default_idle_timeout", deserialize_with = "super::settings::de_duration")]
    pub idle_timeout: Duration,
    /// The models' context window in tokens (default 8192): older turns are
    /// left out of a request that would not fit.
    #[serde(default = "default_context")]
    pub context_tokens: u32,
    /// Most tokens asked for per answer (`max_tokens`; Anthropic requires one).
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Price per million input / output tokens, for the cost shown per
    /// message and conversation (no currency: as the user writes it).
    #[serde(default)]
    pub price_input: Option<f64>,
    #[serde(default)]
    pub price_output: Option<f64>,
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_first_token_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_idle_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_context() -> u32 {
    8192
}
fn default_max_tokens() -> u32 {
    2048
}

impl ProviderConfig {
    /// A provider with the defaults (10 s connect, 60 s first token and idle,
    /// 8192-token context, 2048 max tokens, no headers, no prices).
    pub fn new(name: impl Into<String>, kind: ProviderKind, base_url: impl Into<String>, models: &[&str]) -> Self {
        ProviderConfig {
            name: name.into(),
            kind,
            base_url: base_url.into(),
            models: models.iter().map(|m| m.to_string()).collect(),
            headers: BTreeMap::new(),
            connect_timeout: default_connect_timeout(),
            first_token_timeout: default_first_token_timeout(),
            idle_timeout: default_idle_timeout(),
            context_tokens: default_context(),
            max_tokens: default_max_tokens(),
            price_input: None,
            price_output: None,
        }
    }

    /// The name of its key in the keyring.
    pub fn secret_name(&self) -> String {
        format!("provider:{}", self.name)
    }
}

/// `[chat]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatConfig {
    /// `provider/model` entries tried in order; empty: the first provider's
    /// first model alone.
    pub fallback: Vec<String>,
    /// Replaces [`DEFAULT_SYSTEM_PROMPT`].
    pub system_prompt: Option<String>,
    /// Most model → tools → model rounds for one question.
    pub max_tool_rounds: u32,
    /// Most bytes of one tool result sent back to the model (the rest is cut,
    /// and the model is told so).
    pub tool_result_bytes: usize,
    /// Sampling temperature sent with each request (`None`: the server's default).
    pub temperature: Option<f32>,
}

impl Default for ChatConfig {
    fn default() -> Self {
        ChatConfig {
            fallback: Vec::new(),
            system_prompt: None,
            max_tool_rounds: 8,
            tool_result_bytes: 16 * 1024,
            temperature: None,
        }
    }
}

impl ChatConfig {
    pub fn system_prompt(&self) -> &str {
        self.system_prompt.as_deref().unwrap_or(DEFAULT_SYSTEM_PROMPT)
    }
}
