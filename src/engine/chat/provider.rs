//! Providers as the chat engine uses them: each `[[provider]]` with its key
//! (read from the keyring, never logged or shown), the fallback chain, the
//! listing of a provider's models, and the HTTP plumbing both adapters share
//! (headers, bounded bodies, error statuses as one readable reason).

use std::path::PathBuf;

use serde::Deserialize;

use super::error::ChatError;
use crate::config::chat::{ChatConfig, ProviderConfig, ProviderKind};
use crate::protocol::chat::ModelRef;

/// The `anthropic-version` header every Anthropic request carries.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";
/// Most bytes read of a model listing (OpenRouter's is over 1 MB).
const MODELS_BODY_MAX: usize = 8 << 20;
/// Most models kept from one listing.
const MODELS_MAX: usize = 10_000;
/// Most bytes read of an error response's body.
pub(crate) const ERROR_BODY_MAX: usize = 64 << 10;

/// A `[[provider]]` and its key (`None`: the request carries no key, as a
/// local server wants). `Debug` shows whether a key is set, never the key.
#[derive(Clone)]
pub struct Provider {
    pub config: ProviderConfig,
    key: Option<String>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("config", &self.config)
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Provider {
    /// An empty key counts as none.
    pub fn new(config: ProviderConfig, key: Option<String>) -> Self {
        Provider { config, key: key.filter(|k| !k.is_empty()) }
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// `{base_url}/{path}` with one slash between.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.config.base_url.trim_end_matches('/'), path.trim_start_matches('/'))
    }

    /// A request to `path` with the configured headers and the key as the
    /// provider's API wants it (`Authorization: Bearer` for OpenAI-compatible
    /// servers; `x-api-key` and `anthropic-version` for Anthropic).
    pub(crate) fn request(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        let mut req = client.request(method, self.url(path));
        for (k, v) in &self.config.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        match self.config.kind {
            ProviderKind::Openai => {
                if let Some(key) = &self.key {
                    req = req.bearer_auth(key);
                }
            }
            ProviderKind::Anthropic => {
                if let Some(key) = &self.key {
                    req = req.header("x-api-key", key);
                }
                req = req.header("anthropic-version", ANTHROPIC_VERSION);
            }
        }
        req
    }

    /// A response's error status as one line: the status, the server's own
    /// message, and how to fix it (`401 Unauthorized: invalid api key — set
    /// it with `opsdeck key set provider:NAME``). `retry_after` is the
    /// `retry-after` header of a 429.
    pub fn status_reason(&self, status: u16, retry_after: Option<&str>, body: &str, model: &str) -> String {
        let canonical = reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
        let mut out = format!("{status} {canonical}").trim_end().to_string();
        if let Some(r) = retry_after.map(str::trim).filter(|r| !r.is_empty()) {
            out.push_str(&format!(" (retry-after {})", cut(r, 40)));
        }
        let msg = super::openai::error_message(body);
        if !msg.is_empty() {
            out.push_str(": ");
            out.push_str(&msg);
        }
        let secret = self.config.secret_name();
        let hint = match status {
            401 | 403 if self.key.is_none() => format!("no key is set — set it with `opsdeck key set {secret}`"),
            401 | 403 => format!("check the key — set it again with `opsdeck key set {secret}`"),
            404 => format!("check the model name {model:?} and base_url {}", self.config.base_url),
            _ => String::new(),
        };
        if !hint.is_empty() {
            out.push_str(" — ");
            out.push_str(&hint);
        }
        super::overflow::explain(&self.config, out, body)
    }
}

/// The configured providers and the fallback chain from `[chat] fallback`.
#[derive(Debug, Clone, Default)]
pub struct Providers {
    list: Vec<Provider>,
    fallback: Vec<ModelRef>,
    /// Entries that failed lately (shared by clones).
    pub resting: super::rest::Resting,
}

impl Providers {
    /// The providers of `configs` with the key `key` gives for each (the real
    /// lookup is [`lookup_key`]; tests pass their own). Fallback entries that
    /// are not `provider/model` are left out (`opsdeck check` reports them).
    pub fn new(
        configs: &[ProviderConfig],
        chat: &ChatConfig,
        mut key: impl FnMut(&ProviderConfig) -> Option<String>,
    ) -> Self {
        let list = configs.iter().map(|c| Provider::new(c.clone(), key(c))).collect();
        let fallback = chat.fallback.iter().filter_map(|s| ModelRef::parse(s)).collect();
        Providers { list, fallback, resting: Default::default() }
    }

    /// [`Providers::new`] with each key read from the keyring (or its
    /// fallbacks) in a blocking task. Also returns what to show the user:
    /// keys that could not be read and fallback-file warnings (never a key).
    pub async fn load(configs: &[ProviderConfig], chat: &ChatConfig, config_dir: PathBuf) -> (Self, Vec<String>) {
        let owned = configs.to_vec();
        let found = tokio::task::spawn_blocking(move || {
            owned.iter().map(|c| (c.name.clone(), lookup_key(c, &config_dir))).collect::<Vec<_>>()
        })
        .await
        .unwrap_or_default();
        let mut warnings = Vec::new();
        let mut keys = std::collections::HashMap::new();
        for (name, res) in found {
            match res {
                Ok((key, warning)) => {
                    warnings.extend(warning);
                    if let Some(k) = key {
                        keys.insert(name, k);
                    }
                }
                Err(e) => warnings.push(e),
            }
        }
        (Providers::new(configs, chat, |c| keys.remove(&c.name)), warnings)
    }

    pub fn get(&self, name: &str) -> Option<&Provider> {
        self.list.iter().find(|p| p.config.name == name)
    }

    pub fn list(&self) -> &[Provider] {
        &self.list
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Every configured model, provider by provider, in config order.
    pub fn models(&self) -> Vec<ModelRef> {
        self.list
            .iter()
            .flat_map(|p| {
                p.config.models.iter().map(|m| ModelRef { provider: p.config.name.clone(), model: m.clone() })
            })
            .collect()
    }

    /// The entries to try, in order: `chosen` first, then the `[chat]
    /// fallback` entries, each once. With no fallback configured, the first
    /// configured model (the first provider's first) stands in for it.
    pub fn chain(&self, chosen: Option<&ModelRef>) -> Vec<ModelRef> {
        let mut out: Vec<ModelRef> = chosen.into_iter().cloned().collect();
        let default = if self.fallback.is_empty() { self.models().into_iter().take(1).collect() } else { Vec::new() };
        for m in self.fallback.iter().chain(default.iter()) {
            if !out.contains(m) {
                out.push(m.clone());
            }
        }
        out
    }
}

/// A provider's key from the secret `provider:NAME` (environment, keyring,
/// 0600 file, as `crate::secrets::get` looks), plus the warning to show about
/// the file fallback. Blocking (the keyring talks D-Bus): call it from a
/// blocking task. The error text names the secret and the store, not the key.
pub fn lookup_key(
    cfg: &ProviderConfig,
    config_dir: &std::path::Path,
) -> Result<(Option<String>, Option<String>), String> {
    match crate::secrets::get(&cfg.secret_name(), config_dir) {
        Ok(Some(found)) => Ok((Some(found.value), found.warning)),
        Ok(None) => Ok((None, None)),
        Err(e) => Err(format!("provider {}: cannot read its key {}: {e}", cfg.name, cfg.secret_name())),
    }
}

/// The models a provider lists at `GET {base_url}/models` (OpenAI and
/// Anthropic both answer `{"data": [{"id": …}]}`), in the server's order.
/// The body is read up to 8 MiB; `null`s and entries without an id are skipped.
pub async fn list_models(client: &reqwest::Client, provider: &Provider) -> Result<Vec<String>, ChatError> {
    let path = match provider.config.kind {
        ProviderKind::Openai => "models",
        ProviderKind::Anthropic => "models?limit=1000",
    };
    let url = provider.url("models");
    let req_err = |reason: String| ChatError::Request { provider: provider.name().into(), url: url.clone(), reason };
    let send = provider.request(client, reqwest::Method::GET, path).send();
    let resp = match tokio::time::timeout(provider.config.connect_timeout, send).await {
        Err(_) => return Err(req_err(format!("no answer within {:?}", provider.config.connect_timeout))),
        Ok(Err(e)) => return Err(req_err(crate::net::error_text(e))),
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let cap = if status.is_success() { MODELS_BODY_MAX } else { ERROR_BODY_MAX };
    let body = tokio::time::timeout(provider.config.connect_timeout.saturating_mul(3), read_capped(resp, cap))
        .await
        .map_err(|_| req_err("the model list did not arrive in time".into()))?
        .map_err(req_err)?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body.bytes);
        return Err(ChatError::Status {
            provider: provider.name().into(),
            url,
            status: status.as_u16(),
            reason: provider.status_reason(status.as_u16(), retry_after.as_deref(), &text, ""),
        });
    }
    if body.truncated {
        return Err(ChatError::Decode {
            provider: provider.name().into(),
            url,
            reason: format!("the model list is larger than {} MiB", MODELS_BODY_MAX >> 20),
        });
    }
    parse_models(&body.bytes).map_err(|reason| ChatError::Decode { provider: provider.name().into(), url, reason })
}

/// `{"data": [{"id": "m"}, …]}` → `["m", …]`.
pub fn parse_models(body: &[u8]) -> Result<Vec<String>, String> {
    #[derive(Deserialize)]
    struct List {
        data: Option<Vec<Option<Item>>>,
    }
    #[derive(Deserialize)]
    struct Item {
        id: Option<String>,
    }
    let list: List = serde_json::from_slice(body)
        .map_err(|e| format!("the model list is not the expected JSON {{\"data\": [{{\"id\": …}}]}}: {e}"))?;
    Ok(list.data.unwrap_or_default().into_iter().flatten().filter_map(|i| i.id).take(MODELS_MAX).collect())
}

/// A body read up to a cap.
pub(crate) struct Capped {
    pub bytes: Vec<u8>,
    /// More followed than the cap allowed.
    pub truncated: bool,
}

/// Read `resp`'s body, at most `cap` bytes (a server sizes nothing here).
pub(crate) async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Result<Capped, String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(crate::net::error_text)? {
        let room = cap.saturating_sub(bytes.len());
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(Capped { bytes, truncated: true });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Capped { bytes, truncated: false })
}

/// `s` cut to at most `max` bytes on a char boundary, with `…` when cut.
pub(crate) fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(name: &str, models: &[&str]) -> ProviderConfig {
        ProviderConfig::new(name, ProviderKind::Openai, "http://127.0.0.1:1/v1", models)
    }

    #[test]
    fn debug_never_shows_the_key() {
        let p = Provider::new(cfg("p", &["m"]), Some("sk-very-secret".into()));
        let shown = format!(
            "{p:?} {:?}",
            Providers::new(&[cfg("p", &[])], &ChatConfig::default(), |_| Some("sk-very-secret".into()))
        );
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert!(shown.contains("<redacted>"));
        assert!(!Provider::new(cfg("p", &[]), Some(String::new())).has_key(), "an empty key is none");
    }

    #[test]
    fn chain_is_chosen_then_fallback_deduped_else_first_model() {
        let configs = [cfg("a", &["m1", "m2"]), cfg("b", &["n"])];
        let r = |s: &str| ModelRef::parse(s).unwrap();
        let none = Providers::new(&configs, &ChatConfig::default(), |_| None);
        assert_eq!(none.chain(None), [r("a/m1")]);
        assert_eq!(none.chain(Some(&r("b/n"))), [r("b/n"), r("a/m1")]);
        assert_eq!(none.chain(Some(&r("a/m1"))), [r("a/m1")]);
        let chat = ChatConfig {
            fallback: vec!["b/n".into(), "bad".into(), "a/m2".into(), "b/n".into()],
            ..Default::default()
        };
        let fb = Providers::new(&configs, &chat, |_| None);
        assert_eq!(fb.chain(None), [r("b/n"), r("a/m2")]);
        assert_eq!(fb.chain(Some(&r("a/m2"))), [r("a/m2"), r("b/n")]);
        assert_eq!(fb.models(), [r("a/m1"), r("a/m2"), r("b/n")]);
        assert!(Providers::new(&[], &ChatConfig::default(), |_| None).chain(None).is_empty());
    }

    #[test]
    fn model_lists_accept_nulls_and_reject_other_shapes() {
        let got = parse_models(br#"{"object":"list","data":[{"id":"a"},null,{"id":null},{"id":"b","owned_by":null}]}"#);
        assert_eq!(got.unwrap(), ["a", "b"]);
        assert_eq!(parse_models(br#"{"data":null}"#).unwrap(), Vec::<String>::new());
        assert!(parse_models(b"<html>").unwrap_err().contains("not the expected JSON"));
    }

    #[test]
    fn status_reasons_say_what_and_how_to_fix() {
        let p = Provider::new(cfg("openrouter", &[]), Some("k".into()));
        let r = p.status_reason(401, None, r#"{"error":{"message":"invalid api key","code":401}}"#, "m");
        assert_eq!(
            r,
            "401 Unauthorized: invalid api key — check the key — set it again with `opsdeck key set provider:openrouter`"
        );
        let nokey = Provider::new(cfg("openrouter", &[]), None);
        assert!(
            nokey
                .status_reason(401, None, "", "m")
                .ends_with("no key is set — set it with `opsdeck key set provider:openrouter`")
        );
        assert_eq!(
            p.status_reason(429, Some("20"), "slow down", "m"),
            "429 Too Many Requests (retry-after 20): slow down"
        );
        assert!(p.status_reason(404, None, "", "gpt-9").contains("check the model name \"gpt-9\""));
        assert_eq!(cut("ééé", 3), "é…");
    }
}
