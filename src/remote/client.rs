//! A backend connection: WebSocket (`ws://`, `wss://`) or `ssh://` (running
//! `opsdeck serve --stdio` on the host). Subscribes, resumes from the last
//! seq after any drop, reconnects with exponential backoff and jitter, and
//! detects dead peers with keepalives. Emits [`ClientMsg`]s; the runtime turns
//! them into app actions.

mod conn;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use self::conn::Conn;
use crate::clock::Clock;
use crate::protocol::PROTOCOL_VERSION;
use crate::protocol::wire::{ClientFrame, ErrorCode, ServerFrame, Since, decode_server_skipping, encode};
use crate::protocol::{Envelope, Topic, Ts};

/// Keepalive: ping this often; a backend silent for `DEAD_AFTER` is dropped.
pub const PING_EVERY: Duration = Duration::from_secs(15);
pub const DEAD_AFTER: Duration = Duration::from_secs(45);
/// Reconnect delays: `BASE * 2^attempt`, capped, times a random factor in [0.5, 1).
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A link counts as stable (and the attempt count restarts) only after being
/// up this long: a backend that welcomes and then drops us still backs off.
pub const STABLE_AFTER: Duration = Duration::from_secs(30);
/// After 401/403 the token is wrong: retry slowly (`REFUSED_BASE * 2^n`, up to
/// `REFUSED_MAX`, with jitter) until the user fixes it and reconnects.
pub const REFUSED_BASE: Duration = Duration::from_secs(60);
pub const REFUSED_MAX: Duration = Duration::from_secs(600);

/// A configured backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSpec {
    pub name: String,
    pub url: String,
    pub token: Option<String>,
    /// The ssh program for `ssh://` URLs (`OPSDECK_SSH`, default `ssh`).
    pub ssh: String,
    /// Extra PEM CA certificates to trust for `wss://` (`OPSDECK_CA_FILE`).
    pub ca_file: Option<std::path::PathBuf>,
}

impl BackendSpec {
    pub fn new(name: impl Into<String>, url: impl Into<String>, token: Option<String>) -> Self {
        let ssh = std::env::var("OPSDECK_SSH").unwrap_or_else(|_| "ssh".into());
        let ca_file = std::env::var_os("OPSDECK_CA_FILE").filter(|v| !v.is_empty()).map(Into::into);
        BackendSpec { name: name.into(), url: url.into(), token, ssh, ca_file }
    }
}

/// What a backend connection reports.
#[derive(Debug, Clone)]
pub enum ClientMsg {
    Connecting(String),
    Connected(String),
    /// Disconnected (`error` says why); next attempt at `at`.
    Retrying {
        name: String,
        at: Ts,
        attempt: u32,
        error: String,
    },
    /// The backend refused our token (HTTP `status`, 401 or 403); the fix is
    /// `opsdeck key set backend:NAME`. The next (slow) attempt is at `at`.
    Refused {
        name: String,
        at: Ts,
        status: u16,
        error: String,
    },
    /// The backend's history no longer matches ours: forget it (a snapshot follows).
    Reset(String),
    /// Events of kinds this build cannot read were stepped over (a newer
    /// backend): how many, and their `type`s.
    Skipped {
        name: String,
        count: usize,
        kinds: Vec<String>,
    },
    /// Events, `source` already renamed to the backend's name.
    Events(Vec<Arc<Envelope>>),
    /// Commands waiting in the outbox for this backend.
    Queued {
        name: String,
        count: usize,
    },
    /// A queued command was answered (and left the outbox).
    CommandDone {
        name: String,
        id: String,
        result: Result<serde_json::Value, String>,
    },
}

/// The persisted outbox of a backend: commands are written to the store first,
/// then the task is kicked; it sends them after every `welcome` and drops each
/// on its `ack` (the server's idempotency makes resending safe).
pub struct Outbox {
    /// Where the queue is kept: the local store, or the data dir's holder.
    pub records: super::control::Records,
    pub kick: mpsc::Receiver<()>,
}

/// Delay before reconnect attempt `attempt` (1-based), with `jitter` in [0, 1).
pub fn backoff(attempt: u32, jitter: f64) -> Duration {
    scaled(BACKOFF_BASE, BACKOFF_MAX, attempt, jitter)
}

/// Delay before attempt `attempt` (1-based) after the token was refused.
pub fn refused_backoff(attempt: u32, jitter: f64) -> Duration {
    scaled(REFUSED_BASE, REFUSED_MAX, attempt, jitter)
}

fn scaled(base: Duration, max: Duration, attempt: u32, jitter: f64) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    exp.min(max).mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
}

/// Ask a backend's connection to reconnect now (skipping any wait), with the
/// token read again from the keyring (`None`: send none).
#[derive(Debug, Clone)]
pub struct Reconnect {
    pub token: Option<String>,
}

/// Why a connection ended.
#[derive(Debug)]
enum Failure {
    /// Dropped, timed out, unreadable: retry with the normal backoff.
    Lost(String),
    /// HTTP 401/403 on the upgrade: retry slowly, say how to fix it.
    Refused { status: u16, text: String },
}

impl From<String> for Failure {
    fn from(e: String) -> Self {
        Failure::Lost(e)
    }
}

impl From<&str> for Failure {
    fn from(e: &str) -> Self {
        Failure::Lost(e.to_string())
    }
}

/// How a session ended without a failure.
enum Exit {
    /// The app side went away.
    AppGone,
    /// The user asked to reconnect now.
    Reconnect,
}

/// Reconnect attempts so far; each counter restarts only on evidence: a
/// welcome for `refused`, [`STABLE_AFTER`] of link for `lost`.
#[derive(Debug, Default)]
struct Attempts {
    lost: u32,
    refused: u32,
}

/// A random factor in [0, 1) for backoff jitter.
pub fn jitter() -> f64 {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX)
}

/// Run the connection until `tx` closes.
pub async fn run(spec: BackendSpec, clock: Arc<dyn Clock>, tx: mpsc::Sender<ClientMsg>) {
    run_with_outbox(spec, clock, tx, None, None).await
}

/// The same, also delivering queued commands from `outbox` and reconnecting
/// at once when `reconnect` asks.
pub async fn run_with_outbox(
    mut spec: BackendSpec,
    clock: Arc<dyn Clock>,
    tx: mpsc::Sender<ClientMsg>,
    mut outbox: Option<Outbox>,
    mut reconnect: Option<mpsc::Receiver<Reconnect>>,
) {
    let mut cursor: Option<Since> = None;
    let mut attempts = Attempts::default();
    loop {
        if tx.send(ClientMsg::Connecting(spec.name.clone())).await.is_err() {
            return;
        }
        let outcome = match Conn::open(&spec).await {
            Ok(mut conn) => {
                let links = (&mut cursor, &mut attempts, outbox.as_mut(), reconnect.as_mut());
                let r = session(&mut spec, &mut conn, &tx, links).await;
                conn.close().await;
                r
            }
            Err(e) => Err(e),
        };
        let (msg, delay) = match outcome {
            Ok(Exit::AppGone) => return,
            Ok(Exit::Reconnect) => continue,
            Err(Failure::Lost(error)) => {
                attempts.lost = attempts.lost.saturating_add(1);
                let delay = backoff(attempts.lost, jitter());
                tracing::info!(backend = %spec.name, "disconnected ({error}); retry {} in {delay:?}", attempts.lost);
                let at = clock.now_ms().saturating_add(delay.as_millis() as i64);
                (ClientMsg::Retrying { name: spec.name.clone(), at, attempt: attempts.lost, error }, delay)
            }
            Err(Failure::Refused { status, text }) => {
                attempts.refused = attempts.refused.saturating_add(1);
                let delay = refused_backoff(attempts.refused, jitter());
                tracing::warn!(backend = %spec.name, "token refused (HTTP {status}); retry in {delay:?}");
                let at = clock.now_ms().saturating_add(delay.as_millis() as i64);
                (ClientMsg::Refused { name: spec.name.clone(), at, status, error: text }, delay)
            }
        };
        if tx.send(msg).await.is_err() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            Some(r) = next_reconnect(reconnect.as_mut()) => spec.token = r.token,
            _ = tx.closed() => return,
        }
    }
}

async fn next_reconnect(rx: Option<&mut mpsc::Receiver<Reconnect>>) -> Option<Reconnect> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// One connected session. `Ok` only when the app side has gone away.
async fn session(
    spec: &mut BackendSpec,
    conn: &mut Conn,
    tx: &mpsc::Sender<ClientMsg>,
    links: (&mut Option<Since>, &mut Attempts, Option<&mut Outbox>, Option<&mut mpsc::Receiver<Reconnect>>),
) -> Result<Exit, Failure> {
    let (cursor, attempts, mut outbox, mut reconnect) = links;
    let mut sent: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut welcomed = false;
    let mut welcomed_at: Option<tokio::time::Instant> = None;
    let mut asked = vec![Topic::Metrics, Topic::Alerts, Topic::Workflows];
    conn.send(encode(&ClientFrame::Subscribe { topics: asked.clone(), since: *cursor })).await?;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.reset();
    let mut last_heard = tokio::time::Instant::now();
    let mut nonce = 0u64;
    loop {
        tokio::select! {
            frame = conn.recv() => {
                let text = frame.ok_or("the backend closed the connection")??;
                last_heard = tokio::time::Instant::now();
                if welcomed_at.is_some_and(|t| t.elapsed() >= STABLE_AFTER) {
                    attempts.lost = 0;
                }
                let decoded = decode_server_skipping(&text).map_err(|e| format!("protocol: {e}"))?;
                match decoded.frame {
                    ServerFrame::Welcome { protocol, .. } if protocol != PROTOCOL_VERSION => {
                        return Err(format!(
                            "the backend speaks protocol {protocol} and this opsdeck {PROTOCOL_VERSION}: \
                             run the same opsdeck version on both ends (`opsdeck --version`)"
                        )
                        .into());
                    }
                    ServerFrame::Welcome { epoch, .. } => {
                        // The token was accepted; the link is not yet proven stable.
                        attempts.refused = 0;
                        welcomed = true;
                        welcomed_at.get_or_insert_with(tokio::time::Instant::now);
                        if cursor.is_some_and(|c| c.epoch != epoch) {
                            *cursor = None;
                        }
                        if tx.send(ClientMsg::Connected(spec.name.clone())).await.is_err() {
                            return Ok(Exit::AppGone);
                        }
                        flush_outbox(spec, conn, outbox.as_deref(), &mut sent).await?;
                    }
                    ServerFrame::Reset { epoch, head_seq } => {
                        *cursor = Some(Since { epoch, seq: head_seq });
                        if tx.send(ClientMsg::Reset(spec.name.clone())).await.is_err() {
                            return Ok(Exit::AppGone);
                        }
                    }
                    ServerFrame::Events { events } => {
                        let mut fresh = Vec::with_capacity(events.len());
                        // A snapshot batch (stored history, then the current alert state)
                        // is stamped with the head seq: keep all of it even if that seq
                        // was seen, or a reset would drop the alert state.
                        let snapshot = events.first().is_some_and(|e| matches!(e.event, crate::protocol::Event::MetricsHistory(_)));
                        for mut e in events {
                            let seen = cursor.is_some_and(|c| c.epoch == e.epoch && e.seq <= c.seq);
                            if seen && !snapshot {
                                continue;
                            }
                            *cursor = Some(Since { epoch: e.epoch, seq: cursor.map_or(e.seq, |c| c.seq.max(e.seq)) });
                            e.source = spec.name.clone();
                            fresh.push(Arc::new(e));
                        }
                        if !fresh.is_empty() && tx.send(ClientMsg::Events(fresh)).await.is_err() {
                            return Ok(Exit::AppGone);
                        }
                    }
                    ServerFrame::Pong { .. } | ServerFrame::Stored { .. } => {}
                    ServerFrame::Ack { id, result } => answered(spec, outbox.as_deref(), tx, id, Ok(result)).await,
                    ServerFrame::Error { message, id: Some(id), .. } => answered(spec, outbox.as_deref(), tx, id, Err(message)).await,
                    ServerFrame::Error { code: ErrorCode::BadFrame, message, id: None }
                        if let Some(known) = crate::protocol::wire::known_to_server(&asked, &message) =>
                    {
                        // A serve of an earlier opsdeck refuses a topic it does
                        // not know: take what it has.
                        tracing::info!(backend = %spec.name, ?known, "an earlier opsdeck serve: {message}");
                        asked = known;
                        conn.send(encode(&ClientFrame::Subscribe { topics: asked.clone(), since: *cursor })).await?;
                    }
                    ServerFrame::Error { code, message, .. } => tracing::warn!(backend = %spec.name, ?code, "backend error: {message}"),
                }
                if !decoded.skipped.is_empty() {
                    // Kinds a newer backend sends: stepped over (after the
                    // known events of the frame), so a resume does not ask
                    // for them again, and said once a frame.
                    crate::protocol::wire::step_over(&decoded.skipped, cursor);
                    let mut kinds: Vec<String> = decoded.skipped.iter().map(|k| k.kind.clone()).collect();
                    kinds.sort();
                    kinds.dedup();
                    let msg = ClientMsg::Skipped { name: spec.name.clone(), count: decoded.skipped.len(), kinds };
                    if tx.send(msg).await.is_err() {
                        return Ok(Exit::AppGone);
                    }
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > DEAD_AFTER {
                    return Err(format!("no answer for {}s", DEAD_AFTER.as_secs()).into());
                }
                if welcomed_at.is_some_and(|t| t.elapsed() >= STABLE_AFTER) {
                    attempts.lost = 0;
                }
                nonce += 1;
                conn.ping(nonce).await?;
            }
            Some(()) = async { match outbox.as_mut() { Some(o) => o.kick.recv().await, None => std::future::pending().await } } => {
                if welcomed {
                    flush_outbox(spec, conn, outbox.as_deref(), &mut sent).await?;
                }
            }
            Some(r) = next_reconnect(reconnect.as_deref_mut()) => {
                spec.token = r.token;
                return Ok(Exit::Reconnect);
            }
            _ = tx.closed() => return Ok(Exit::AppGone),
        }
    }
}

/// Send every queued command not yet sent on this connection.
async fn flush_outbox(
    spec: &BackendSpec,
    conn: &mut Conn,
    outbox: Option<&Outbox>,
    sent: &mut std::collections::HashSet<String>,
) -> Result<(), String> {
    let Some(o) = outbox else { return Ok(()) };
    let (records, name) = (o.records.clone(), spec.name.clone());
    let queued = tokio::task::spawn_blocking(move || records.outbox_list(&name))
        .await
        .map_err(|e| format!("outbox: {e}"))?
        .map_err(|e| format!("outbox: {e}"))?;
    for (id, command) in queued {
        if sent.insert(id.clone()) {
            conn.send(encode(&ClientFrame::Command { id, command })).await?;
        }
    }
    Ok(())
}

/// A command was answered: drop it from the outbox and report.
async fn answered(
    spec: &BackendSpec,
    outbox: Option<&Outbox>,
    tx: &mpsc::Sender<ClientMsg>,
    id: String,
    result: Result<serde_json::Value, String>,
) {
    let Some(o) = outbox else { return };
    let (records, name, key) = (o.records.clone(), spec.name.clone(), id.clone());
    let count = tokio::task::spawn_blocking(move || {
        if let Err(e) = records.outbox_remove(&name, &key) {
            tracing::warn!(backend = %name, "outbox: {e}");
        }
        records.outbox_list(&name).map_or(0, |l| l.len())
    })
    .await
    .unwrap_or(0);
    let _ = tx.send(ClientMsg::CommandDone { name: spec.name.clone(), id, result }).await;
    let _ = tx.send(ClientMsg::Queued { name: spec.name.clone(), count }).await;
}

/// One connection to a backend for a headless command (`opsdeck run
/// --backend`): subscribe to the `workflows` topic, send commands, and
/// receive frames. No reconnect, no outbox: the command fails if the link does.
pub struct Link(Conn);

impl Link {
    /// Connect and subscribe to `topics` (errors say what and how to fix).
    pub async fn open(spec: &BackendSpec, topics: Vec<Topic>) -> Result<Link, String> {
        let mut conn = Conn::open(spec).await.map_err(|f| match f {
            Failure::Lost(e) => format!("backend {} ({}): {e}", spec.name, spec.url),
            Failure::Refused { text, .. } => format!("backend {}: {text}", spec.name),
        })?;
        conn.send(encode(&ClientFrame::Subscribe { topics, since: None })).await?;
        Ok(Link(conn))
    }

    /// Send a command frame.
    pub async fn command(&mut self, id: &str, command: crate::protocol::Command) -> Result<(), String> {
        self.0.send(encode(&ClientFrame::Command { id: id.to_string(), command })).await
    }

    /// The next frame this build can read (others are stepped over); `None` when the backend closed.
    pub async fn recv(&mut self) -> Option<Result<crate::protocol::wire::ServerFrame, String>> {
        loop {
            let text = match self.0.recv().await? {
                Ok(t) => t,
                Err(e) => return Some(Err(e)),
            };
            match crate::protocol::wire::decode_server_skipping(&text) {
                Ok(d) => return Some(Ok(d.frame)),
                Err(e) => tracing::warn!("backend: skipped a frame: {e}"),
            }
        }
    }

    pub async fn close(mut self) {
        self.0.close().await;
    }
}

/// A backend from `--backend URL` or `NAME=URL`: the name defaults to the host.
pub fn parse_backend_arg(arg: &str) -> Result<(String, String), String> {
    let (name, url) = match arg.split_once('=') {
        Some((n, u)) if !n.contains("://") => (n.trim().to_string(), u.trim().to_string()),
        _ => {
            let after =
                arg.split_once("://").map(|x| x.1).ok_or_else(|| format!("{arg}: expected ws://, wss:// or ssh://"))?;
            let host = after.split('/').next().unwrap_or("");
            let host = host.rsplit_once('@').map_or(host, |x| x.1);
            let host = host.split(':').next().unwrap_or(host);
            (host.to_string(), arg.to_string())
        }
    };
    if name.is_empty() || !(url.starts_with("ws://") || url.starts_with("wss://") || url.starts_with("ssh://")) {
        return Err(format!("{arg}: expected [NAME=]ws://HOST:PORT, wss://… or ssh://[USER@]HOST"));
    }
    Ok((name, url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        assert_eq!(backoff(1, 1.0), Duration::from_millis(500));
        assert_eq!(backoff(1, 0.0), Duration::from_millis(250));
        assert_eq!(backoff(3, 1.0), Duration::from_millis(2000));
        assert_eq!(backoff(30, 1.0), BACKOFF_MAX);
        assert!(backoff(30, 0.0) >= BACKOFF_MAX / 2);
    }

    #[test]
    fn backend_args() {
        assert_eq!(parse_backend_arg("ws://10.0.0.5:7317").unwrap(), ("10.0.0.5".into(), "ws://10.0.0.5:7317".into()));
        assert_eq!(parse_backend_arg("prod=wss://a.example").unwrap(), ("prod".into(), "wss://a.example".into()));
        assert_eq!(parse_backend_arg("ssh://ops@db-1:2222").unwrap(), ("db-1".into(), "ssh://ops@db-1:2222".into()));
        assert!(parse_backend_arg("http://x").is_err());
        assert!(parse_backend_arg("nonsense").is_err());
    }
}
