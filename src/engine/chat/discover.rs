//! Looking for a local OpenAI-compatible server on the usual loopback ports,
//! only when the user asks (the empty chat pane offers it).

use std::time::Duration;

use super::provider::{parse_models, read_capped};

/// The usual ports: Ollama, llama.cpp, LM Studio, vLLM.
pub const LOCAL_PORTS: [(u16, &str); 4] = [(11434, "ollama"), (8080, "llama-cpp"), (1234, "lm-studio"), (8000, "vllm")];
/// Longest wait for each port's answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(1);
/// Most bytes read of one model list.
const BODY_MAX: usize = 1 << 20;

/// A server that answered `GET /v1/models` in the OpenAI shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// A provider name to suggest (`ollama`, `llama-cpp`, …).
    pub name: String,
    /// `http://127.0.0.1:PORT/v1`.
    pub base_url: String,
    pub models: Vec<String>,
}

/// Probe [`LOCAL_PORTS`] on 127.0.0.1 at once, each for at most
/// [`PROBE_TIMEOUT`]; the ones that answered, in port order.
pub async fn discover_local(client: &reqwest::Client) -> Vec<Found> {
    discover_on(client, &LOCAL_PORTS).await
}

/// [`discover_local`] on the given ports (tests use free ones).
pub async fn discover_on(client: &reqwest::Client, ports: &[(u16, &str)]) -> Vec<Found> {
    let probes = ports.iter().map(|&(port, name)| async move {
        let base_url = format!("http://127.0.0.1:{port}/v1");
        let models = tokio::time::timeout(PROBE_TIMEOUT, probe(client, &base_url)).await.ok().flatten()?;
        Some(Found { name: name.to_string(), base_url, models })
    });
    futures_util::future::join_all(probes).await.into_iter().flatten().collect()
}

async fn probe(client: &reqwest::Client, base_url: &str) -> Option<Vec<String>> {
    let resp = client.get(format!("{base_url}/models")).send().await.ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let body = read_capped(resp, BODY_MAX).await.ok().filter(|b| !b.truncated)?;
    parse_models(&body.bytes).ok()
}
