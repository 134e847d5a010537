//! Alertmanager sources for the TUI: each one's poller feeds the alerts pane
//! as a source of its own, and commands on its alerts (silence, unsilence,
//! acknowledge) go to its API.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::app::Action;
use crate::app::panes::alerts::SourceRead;
use crate::clock::{Clock, SystemClock};
use crate::protocol::{Command, Envelope, Event, Topic};
use crate::remote::alertmanager::{self, AlertmanagerSpec};

/// Start a poller per Alertmanager; updates arrive as alert events of source `NAME`.
pub fn start(specs: &[AlertmanagerSpec], inbox: mpsc::Sender<Action>) {
    for spec in specs {
        let (tx, mut rx) = mpsc::channel(8);
        tokio::spawn(alertmanager::run(spec.clone(), tx));
        let inbox = inbox.clone();
        tokio::spawn(async move {
            while let Some((name, r)) = rx.recv().await {
                let action = match r {
                    Ok(polled) => {
                        let read = polled.unreadable.describe().map_or(SourceRead::Whole, SourceRead::Partial);
                        let _ = inbox.send(Action::AlertSource { name: name.clone(), read }).await;
                        Action::Events(vec![Arc::new(Envelope {
                            epoch: 0,
                            seq: 0,
                            ts: SystemClock.now_ms(),
                            source: name,
                            topic: Topic::Alerts,
                            event: Event::Alerts(Box::new(polled.update)),
                        })])
                    }
                    Err(e) => Action::AlertSource { name, read: SourceRead::Failed(e) },
                };
                if inbox.send(action).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// Run a command against an Alertmanager's API; the answer comes back as `CommandDone`.
pub fn command(spec: AlertmanagerSpec, id: String, command: Command, inbox: mpsc::Sender<Action>) {
    tokio::spawn(async move {
        let result = alertmanager::command(&spec, command).await;
        let _ = inbox.send(Action::CommandDone { source: spec.name, id, result }).await;
    });
}
