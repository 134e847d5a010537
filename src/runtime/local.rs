//! The TUI's local source: the engine in this process, or — when another
//! opsdeck (e.g. `opsdeck serve`) holds the data directory — that process,
//! followed through its control socket (see `remote::control`).

use std::sync::Arc;

use tokio::sync::mpsc;

use super::Msg;
use crate::app::{Action, Link};
use crate::clock::Clock;
use crate::engine::Engine;
use crate::protocol::{Command, LOCAL_SOURCE};
use crate::remote::control::{ControlClient, Followed, Records};

/// Where the TUI's local source lives.
#[derive(Clone)]
pub enum Local {
    /// This process holds the data directory and runs the engine.
    InProcess(Engine),
    /// Another opsdeck holds it; its engine's events and records are used.
    Attached(Arc<ControlClient>),
}

impl Local {
    /// Where tool runs, UI preferences and outboxes are kept.
    pub fn records(&self) -> Records {
        match self {
            Local::InProcess(e) => Records::Engine(e.clone()),
            Local::Attached(c) => Records::Control(c.clone()),
        }
    }

    /// Run a command on the local engine (blocking: call off the loop).
    pub fn command(&self, id: &str, command: Command) -> Result<serde_json::Value, String> {
        match self {
            Local::InProcess(e) => e.handle(id, command).map_err(|err| err.to_string()),
            Local::Attached(c) => c.command(id, command),
        }
    }

    /// Feed the local source's events (history and alert state first) to the inbox.
    pub(super) fn bridge(&self, tx: mpsc::Sender<Msg>, clock: Arc<dyn Clock>) {
        match self {
            Local::InProcess(e) => super::spawn_bridge(e.clone(), tx),
            Local::Attached(c) => {
                let (ftx, mut frx) = mpsc::channel::<Followed>(64);
                tokio::spawn(crate::remote::control::follow(c.path().to_path_buf(), ftx));
                tokio::spawn(async move {
                    let mut attempt = 0u32;
                    while let Some(f) = frx.recv().await {
                        let msg = match f {
                            Followed::Attached => {
                                attempt = 0;
                                Msg::Action(Action::Link(LOCAL_SOURCE.into(), Link::Connected))
                            }
                            Followed::Events(evs) => Msg::Events(evs),
                            Followed::Reset => Msg::Action(Action::SourceReset(LOCAL_SOURCE.into())),
                            Followed::Lost { error, retry_in } => {
                                attempt = attempt.saturating_add(1);
                                let at = clock.now_ms().saturating_add(retry_in.as_millis() as i64);
                                let error = format!("the opsdeck holding the data directory: {error}");
                                Msg::Action(Action::Link(LOCAL_SOURCE.into(), Link::Retrying { at, attempt, error }))
                            }
                        };
                        if tx.send(msg).await.is_err() {
                            return;
                        }
                    }
                });
            }
        }
    }
}
