//! Chat with LLM providers: OpenAI-compatible Chat Completions and Anthropic
//! Messages streamed over SSE (adapters on reqwest + sse-stream), a fallback
//! chain, and the conversations' store. No terminal code; streams are
//! cancelled by dropping their task (which drops the HTTP response).

pub mod anthropic;
pub mod context;
pub mod discover;
pub mod error;
pub mod openai;
pub mod overflow;
pub mod provider;
pub mod rest;
pub mod sse;
pub mod stream;

pub use context::{Fitted, estimate_tokens, fit};
pub use error::ChatError;
pub use provider::{Provider, Providers, list_models};
pub use stream::{Answered, Progress, Request, ask};

/// The HTTP client for providers: rustls on the ring provider with the
/// system's roots and the CAs of `OPSDECK_CA_FILE` (as every opsdeck
/// client), a 10 s connect timeout, and no overall timeout (an answer streams
/// as long as it streams; the providers' first-token and idle timeouts bound it).
pub fn http_client() -> Result<reqwest::Client, ChatError> {
    let ca_file = std::env::var_os("OPSDECK_CA_FILE").filter(|v| !v.is_empty()).map(std::path::PathBuf::from);
    let tls = crate::net::tls_client_config(ca_file.as_deref()).map_err(ChatError::Client)?;
    reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .connect_timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| ChatError::Client(e.to_string()))
}

#[cfg(test)]
mod props_tests;
