//! One subscriber's session, independent of the transport: text frames in,
//! text frames out (WebSocket messages or stdio lines).

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, watch};

use crate::engine::Engine;
use crate::protocol::wire::{
    ClientFrame, ErrorCode, MAX_BATCH, MAX_FRAME_BYTES, ServerFrame, Since, WireError, decode_client, encode,
    event_frames, welcome,
};
use crate::protocol::{Envelope, Topic};

/// Outcome of handling one inbound frame.
enum Next {
    Continue,
    Close,
}

/// Who is on the other end of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// A `/v1/stream` or stdio client: events and commands.
    Remote,
    /// The same user on the local control socket: also `store` frames.
    Control,
}

struct Session {
    engine: Engine,
    peer: Peer,
    out: mpsc::Sender<String>,
    live: Option<broadcast::Receiver<Arc<Envelope>>>,
    /// Highest seq sent (or covered by a snapshot).
    last_seq: u64,
    durable: watch::Receiver<u64>,
    /// What the client subscribed to (empty: every topic).
    topics: Vec<Topic>,
}

/// Serve one client until its inbound channel closes, it sends an oversized
/// frame, or the outbound side goes away.
pub async fn run(engine: Engine, peer: Peer, mut inbound: mpsc::Receiver<String>, out: mpsc::Sender<String>) {
    let durable = engine.durable();
    let mut s = Session { engine, peer, out, live: None, last_seq: 0, durable, topics: Vec::new() };
    loop {
        let next = match &mut s.live {
            None => match inbound.recv().await {
                Some(text) => s.on_frame(&text).await,
                None => Next::Close,
            },
            Some(live) => tokio::select! {
                m = inbound.recv() => match m {
                    Some(text) => s.on_frame(&text).await,
                    None => Next::Close,
                },
                ev = live.recv() => s.on_live(ev).await,
            },
        };
        if matches!(next, Next::Close) {
            return;
        }
    }
}

impl Session {
    async fn send(&self, frame: &ServerFrame) -> Next {
        if self.out.send(encode(frame)).await.is_err() { Next::Close } else { Next::Continue }
    }

    /// Send events; logged events only once they are on disk (a crash never
    /// takes back what a client saw). Snapshots are not in the log: no wait.
    async fn send_events(&mut self, events: &[Arc<Envelope>], logged: bool) -> Next {
        let Some(max) = events.iter().map(|e| e.seq).max() else { return Next::Continue };
        if logged && self.durable.wait_for(|d| *d >= max).await.is_err() {
            return Next::Close;
        }
        let frames = if self.topics.is_empty() || events.iter().all(|e| self.topics.contains(&e.topic)) {
            event_frames(events, MAX_FRAME_BYTES)
        } else {
            let wanted: Vec<_> = events.iter().filter(|e| self.topics.contains(&e.topic)).cloned().collect();
            event_frames(&wanted, MAX_FRAME_BYTES)
        };
        for frame in frames {
            if self.out.send(frame).await.is_err() {
                return Next::Close;
            }
        }
        Next::Continue
    }

    async fn error(&self, code: ErrorCode, message: String) -> Next {
        self.send(&ServerFrame::Error { code, message, id: None }).await
    }

    async fn on_frame(&mut self, text: &str) -> Next {
        match decode_client(text) {
            Err(e @ WireError::TooLarge(_)) => {
                let _ = self.error(e.code(), e.to_string()).await;
                Next::Close
            }
            Err(e) => self.error(e.code(), e.to_string()).await,
            Ok(ClientFrame::Ping { nonce }) => self.send(&ServerFrame::Pong { nonce }).await,
            Ok(ClientFrame::Subscribe { .. }) if self.live.is_some() => {
                self.error(ErrorCode::AlreadySubscribed, "this connection is already subscribed".into()).await
            }
            Ok(ClientFrame::Subscribe { topics, since }) => {
                self.topics = topics;
                self.subscribe(since, true).await
            }
            Ok(ClientFrame::Command { id, command }) => {
                let engine = self.engine.clone();
                let key = id.clone();
                let frame = match tokio::task::spawn_blocking(move || engine.handle(&key, command)).await {
                    Ok(Ok(result)) => ServerFrame::Ack { id, result },
                    Ok(Err(e)) => {
                        let code = match e {
                            crate::engine::CommandError::ReadOnly(_) => ErrorCode::ReadOnly,
                            _ => ErrorCode::CommandFailed,
                        };
                        ServerFrame::Error { code, message: e.to_string(), id: Some(id) }
                    }
                    Err(e) => ServerFrame::Error { code: ErrorCode::Internal, message: e.to_string(), id: Some(id) },
                };
                self.send(&frame).await
            }
            Ok(ClientFrame::Store { id, .. }) if self.peer != Peer::Control => {
                let message = "store frames are accepted on the local control socket only".to_string();
                self.send(&ServerFrame::Error { code: ErrorCode::NotAllowed, message, id: Some(id) }).await
            }
            Ok(ClientFrame::Store { id, op }) => {
                let engine = self.engine.clone();
                let frame = match tokio::task::spawn_blocking(move || super::control::apply(engine.store(), op)).await {
                    Ok(Ok(result)) => ServerFrame::Stored { id, result },
                    Ok(Err(message)) => ServerFrame::Error { code: ErrorCode::Internal, message, id: Some(id) },
                    Err(e) => ServerFrame::Error { code: ErrorCode::Internal, message: e.to_string(), id: Some(id) },
                };
                self.send(&frame).await
            }
        }
    }

    /// Start (or, after lagging, restart) the stream from `since`.
    async fn subscribe(&mut self, since: Option<Since>, greet: bool) -> Next {
        let engine = self.engine.clone();
        let start = match tokio::task::spawn_blocking(move || engine.open_stream(since)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return self.error(ErrorCode::Internal, format!("opening the stream: {e}")).await,
            Err(e) => return self.error(ErrorCode::Internal, format!("opening the stream: {e}")).await,
        };
        if greet && let Next::Close = self.send(&welcome(&self.engine_source(), start.epoch, start.head_seq)).await {
            return Next::Close;
        }
        if start.reset
            && let Next::Close = self.send(&ServerFrame::Reset { epoch: start.epoch, head_seq: start.head_seq }).await
        {
            return Next::Close;
        }
        for chunk in start.backlog.chunks(MAX_BATCH) {
            let logged = !(start.reset || since.is_none());
            if let Next::Close = self.send_events(chunk, logged).await {
                return Next::Close;
            }
        }
        self.last_seq = start.backlog.iter().map(|e| e.seq).max().unwrap_or(0).max(start.head_seq);
        self.live = Some(start.live);
        Next::Continue
    }

    fn engine_source(&self) -> String {
        crate::protocol::LOCAL_SOURCE.to_string()
    }

    async fn on_live(&mut self, ev: Result<Arc<Envelope>, broadcast::error::RecvError>) -> Next {
        match ev {
            Ok(first) => {
                let mut batch = Vec::new();
                let mut next = Some(first);
                while let Some(e) = next.take() {
                    if e.seq > self.last_seq {
                        self.last_seq = e.seq;
                        batch.push(e);
                    }
                    if batch.len() < MAX_BATCH {
                        next = self.live.as_mut().and_then(|l| l.try_recv().ok());
                    }
                }
                self.send_events(&batch, true).await
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                // Fell behind the bus: catch up from the log so nothing is lost.
                tracing::warn!("subscriber lagged {n} events; replaying from the log");
                let since = Since { epoch: self.engine.epoch(), seq: self.last_seq };
                self.live = None;
                self.subscribe(Some(since), false).await
            }
            Err(broadcast::error::RecvError::Closed) => Next::Close,
        }
    }
}
