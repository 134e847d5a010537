//! A data source's connection state as the status bar shows it (the
//! in-process engine, or a backend reached over its WebSocket).

use crate::protocol::{LOCAL_SOURCE, Ts};

/// How a source is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    /// The in-process engine.
    Local,
    Connecting,
    Connected,
    /// Disconnected; the next attempt is at `at`.
    Retrying {
        at: Ts,
        attempt: u32,
        error: String,
    },
    /// The backend refused our token (HTTP `status`): retried slowly at `at`
    /// until the user sets it (`opsdeck key set backend:NAME`) and reconnects.
    Refused {
        at: Ts,
        status: u16,
        error: String,
    },
}

impl Link {
    /// Disconnected, whatever the reason.
    pub fn is_down(&self) -> bool {
        matches!(self, Link::Retrying { .. } | Link::Refused { .. })
    }
}

/// Connection state of a data source, as the status bar shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceStatus {
    pub name: String,
    pub last_event: Option<Ts>,
    pub link: Link,
    /// Since when the source is unreachable.
    pub offline_since: Option<Ts>,
    /// Commands waiting in the outbox for this source.
    pub queued: usize,
    /// It speaks only when something changes (a Prefect server's event
    /// stream): silence is no sign of staleness, the connection is.
    pub on_change: bool,
}

impl SourceStatus {
    pub fn local() -> Self {
        SourceStatus {
            name: LOCAL_SOURCE.into(),
            last_event: None,
            link: Link::Local,
            offline_since: None,
            queued: 0,
            on_change: false,
        }
    }

    /// Live: reachable and a sample arrived recently.
    pub fn is_live(&self, now: Ts, stale_after: i64) -> bool {
        matches!(self.link, Link::Local | Link::Connected)
            && (self.on_change || self.last_event.is_some_and(|t| now - t <= stale_after))
    }
}
