//! The TUI's local source: the engine in this process, or — when another
//! opsdeck (e.g. `opsdeck serve`) holds the data directory — that process,
//! followed through its control socket (see `remote::control`).

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc};

use super::Msg;
use crate::app::{Action, Link};
use crate::clock::Clock;
use crate::engine::Engine;
use crate::protocol::wire::Since;
use crate::protocol::{Command, Envelope, LOCAL_SOURCE};
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
            Local::InProcess(e) => spawn_bridge(e.clone(), tx),
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

/// Engine events to the inbox, batched: one message per burst, history first.
/// A bridge that falls behind the bus (a burst of more than its 4,096 events
/// while the loop was busy) replays what it missed from the engine's queue and
/// log, as a remote session does; only when even the log no longer holds them
/// does it take a fresh snapshot (history and alert state).
pub(super) fn spawn_bridge(engine: Engine, tx: mpsc::Sender<Msg>) {
    // Subscribed first, then the head read: what comes after the head is
    // either received or, after a lag, replayed.
    let sub = engine.subscribe();
    let head = Since { epoch: engine.epoch(), seq: engine.head_seq() };
    tokio::spawn(bridge(engine, sub, head, tx));
}

async fn bridge(engine: Engine, mut sub: broadcast::Receiver<Arc<Envelope>>, head: Since, tx: mpsc::Sender<Msg>) {
    let e = engine.clone();
    match tokio::task::spawn_blocking(move || e.history_event()).await {
        Ok(Ok(h)) => {
            if tx.send(Msg::Events(vec![Arc::new(h)])).await.is_err() {
                return;
            }
        }
        Ok(Err(err)) => tracing::warn!("loading metric history: {err}"),
        Err(err) => tracing::warn!("loading metric history: {err}"),
    }
    // The alert state and its timeline (later updates come from the bus).
    let e = engine.clone();
    if let Ok(Some(a)) = tokio::task::spawn_blocking(move || e.alerts_event()).await
        && tx.send(Msg::Events(vec![Arc::new(a)])).await.is_err()
    {
        return;
    }
    // The workflows and newest runs (later changes come from the bus).
    let e = engine.clone();
    if let Ok(Some(w)) = tokio::task::spawn_blocking(move || e.workflows_event()).await
        && tx.send(Msg::Events(vec![Arc::new(w)])).await.is_err()
    {
        return;
    }
    // The newest event passed on (the history covers up to the head).
    let mut last: Option<Since> = Some(head);
    loop {
        let batch = match sub.recv().await {
            Ok(first) => {
                let mut batch = vec![first];
                while let Ok(more) = sub.try_recv() {
                    batch.push(more);
                }
                batch
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!("the ui fell behind the engine by {n} events; replaying them");
                let (e, since) = (engine.clone(), last);
                match tokio::task::spawn_blocking(move || e.open_stream(since)).await {
                    Ok(Ok(start)) => {
                        sub = start.live;
                        start
                            .backlog
                            .into_iter()
                            .filter(|e| last.is_none_or(|l| e.seq > l.seq || start.reset))
                            .collect()
                    }
                    Ok(Err(err)) => {
                        tracing::error!("replaying missed events: {err}");
                        continue;
                    }
                    Err(err) => {
                        tracing::error!("replaying missed events: {err}");
                        continue;
                    }
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if let Some(newest) = batch.iter().max_by_key(|e| e.seq) {
            last = Some(Since { epoch: newest.epoch, seq: newest.seq });
        }
        if !batch.is_empty() && tx.send(Msg::Events(batch)).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::engine::EngineConfig;
    use crate::engine::store::Store;
    use crate::protocol::{Event, Topic};

    #[tokio::test]
    async fn a_bridge_that_falls_behind_the_bus_replays_what_it_missed() {
        let engine = Engine::new(Store::temporary().unwrap(), EngineConfig::default(), Arc::new(SystemClock)).unwrap();
        let (tx, mut rx) = mpsc::channel(64);
        spawn_bridge(engine.clone(), tx);
        // The bridge has not run yet: 5,000 events overflow its 4,096-event queue.
        for i in 0..5_000 {
            let note = Event::Annotation { text: format!("n{i}"), author: String::new() };
            engine.publish(Topic::Metrics, i, note);
        }
        let mut seqs = Vec::new();
        let all = async {
            while seqs.last() != Some(&5_000) {
                let Some(Msg::Events(evs)) = rx.recv().await else { panic!("the bridge stopped") };
                seqs.extend(evs.iter().filter(|e| matches!(e.event, Event::Annotation { .. })).map(|e| e.seq));
            }
        };
        let waited = tokio::time::timeout(std::time::Duration::from_secs(30), all).await;
        assert!(waited.is_ok(), "the bridge never passed seq 5,000 on");
        assert_eq!(seqs, (1..=5_000).collect::<Vec<_>>(), "every event, once, in order");
    }
}
