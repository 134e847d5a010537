//! What can go wrong talking to a provider, each message saying what, where
//! (provider, URL) and how to fix it. Keys never appear in these texts.

use crate::protocol::chat::Skipped;

/// A chat request or a model listing that did not work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// No `[[provider]]` at all.
    #[error(
        "no chat provider is configured: add a [[provider]] to config.toml (name, kind = \"openai\" or \"anthropic\", \
         base_url, models) and, if it needs one, its key with `opsdeck key set provider:NAME` (see docs/chat.md)"
    )]
    NoProviders,
    /// The fallback chain is empty (no model configured or chosen).
    #[error(
        "no model to ask: give the provider a `models` list or set `[chat] fallback = [\"provider/model\"]` in config.toml"
    )]
    NoModel,
    /// The HTTP client could not be built (TLS roots).
    #[error("cannot build the HTTP client for chat: {0}")]
    Client(String),
    /// The request did not get a response: connection refused, DNS, TLS, timeout.
    #[error("{provider} ({url}): {reason}")]
    Request { provider: String, url: String, reason: String },
    /// The server answered with an error status.
    #[error("{provider} ({url}): {reason}")]
    Status { provider: String, url: String, status: u16, reason: String },
    /// The server answered 2xx with something this client cannot read.
    #[error("{provider} ({url}): {reason}")]
    Decode { provider: String, url: String, reason: String },
    /// Every entry of the fallback chain was skipped.
    #[error("no model answered: {}", list(skipped))]
    AllFailed { skipped: Vec<Skipped> },
}

fn list(skipped: &[Skipped]) -> String {
    if skipped.is_empty() {
        return "the fallback chain is empty".into();
    }
    skipped.iter().map(|s| format!("{} — {}", s.model, s.reason)).collect::<Vec<_>>().join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::chat::ModelRef;

    #[test]
    fn all_failed_lists_every_reason() {
        let e = ChatError::AllFailed {
            skipped: vec![
                Skipped { model: ModelRef::parse("a/m").unwrap(), reason: "connection refused".into() },
                Skipped { model: ModelRef::parse("b/n").unwrap(), reason: "429 Too Many Requests".into() },
            ],
        };
        assert_eq!(e.to_string(), "no model answered: a/m — connection refused; b/n — 429 Too Many Requests");
    }
}
