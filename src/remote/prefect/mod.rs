//! Prefect 3 as a source of workflow runs (issue 14, docs/prefect.md): its
//! flow runs in the runs pane next to opsdeck's own, live over its events
//! WebSocket, with their task runs as steps and their logs, and the pane's
//! commands done through its REST API.
//!
//! - [`model`]: Prefect's JSON, read leniently, and its mapping to opsdeck's
//!   run shapes (a flow run is a [`Run`](crate::protocol::workflow::Run),
//!   a task run a step, a deployment a workflow that can be started);
//! - [`track`]: what is known of its runs, kept from REST answers and events
//!   (deduplicated, ordered by the states' own timestamps);
//! - [`api`]: the REST calls;
//! - [`live`]: the connection — a REST read of the newest runs, then the
//!   event stream, logs polled, reconnects with backoff resuming from the
//!   newest event seen — and the commands it answers.

pub mod api;
mod commands;
pub mod live;
pub mod model;
mod session;
pub mod track;

use std::time::Duration;

pub use api::Api;
pub use live::{Ask, run};
pub use session::Session;
pub use track::Ended;

/// A configured Prefect server (`[[prefect]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefectSpec {
    /// The source's name (runs' `source`, `--source NAME`).
    pub name: String,
    /// The API URL, e.g. `http://127.0.0.1:4200/api` (no trailing `/`).
    pub url: String,
    /// A bearer API key (Prefect Cloud style), read from the keyring.
    pub key: Option<String>,
    /// How often the logs of active runs are read (and the deployments,
    /// every 12th time).
    pub poll: Duration,
}

impl PrefectSpec {
    /// The events WebSocket's URL: the API URL's `http` → `ws` + `/events/out`.
    pub fn events_url(&self) -> Result<String, String> {
        let base = self.url.trim_end_matches('/');
        let ws = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            return Err(format!("prefect {}: {base} is not an http(s) URL", self.name));
        };
        Ok(format!("{ws}/events/out"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_events_url_follows_the_api_url() {
        let spec =
            |url: &str| PrefectSpec { name: "p".into(), url: url.into(), key: None, poll: Duration::from_secs(5) };
        assert_eq!(spec("http://127.0.0.1:4200/api").events_url().unwrap(), "ws://127.0.0.1:4200/api/events/out");
        assert_eq!(
            spec("https://api.prefect.cloud/api/accounts/a/workspaces/w/").events_url().unwrap(),
            "wss://api.prefect.cloud/api/accounts/a/workspaces/w/events/out"
        );
        assert!(spec("ftp://h/api").events_url().is_err());
    }
}
