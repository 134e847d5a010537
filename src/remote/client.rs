//! A backend connection: WebSocket (`ws://`, `wss://`) or `ssh://` (running
//! `opsdeck serve --stdio` on the host). Subscribes, resumes from the last
//! seq after any drop, reconnects with exponential backoff and jitter, and
//! detects dead peers with keepalives. Emits [`ClientMsg`]s; the runtime turns
//! them into app actions.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::clock::Clock;
use crate::protocol::wire::{ClientFrame, MAX_FRAME_BYTES, ServerFrame, Since, decode_server, encode};
use crate::protocol::{Envelope, Topic, Ts};

/// Keepalive: ping this often; a backend silent for `DEAD_AFTER` is dropped.
pub const PING_EVERY: Duration = Duration::from_secs(15);
pub const DEAD_AFTER: Duration = Duration::from_secs(45);
/// Reconnect delays: `BASE * 2^attempt`, capped, times a random factor in [0.5, 1).
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);

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
    /// The backend's history no longer matches ours: forget it (a snapshot follows).
    Reset(String),
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
    let exp = BACKOFF_BASE.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    exp.min(BACKOFF_MAX).mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
}

fn jitter() -> f64 {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX)
}

/// Run the connection until `tx` closes.
pub async fn run(spec: BackendSpec, clock: Arc<dyn Clock>, tx: mpsc::Sender<ClientMsg>) {
    run_with_outbox(spec, clock, tx, None).await
}

/// The same, also delivering queued commands from `outbox`.
pub async fn run_with_outbox(
    spec: BackendSpec,
    clock: Arc<dyn Clock>,
    tx: mpsc::Sender<ClientMsg>,
    mut outbox: Option<Outbox>,
) {
    let mut cursor: Option<Since> = None;
    let mut attempt = 0u32;
    loop {
        if tx.send(ClientMsg::Connecting(spec.name.clone())).await.is_err() {
            return;
        }
        let error = match Conn::open(&spec).await {
            Ok(mut conn) => {
                let r = session(&spec, &mut conn, &mut cursor, &tx, &mut attempt, outbox.as_mut()).await;
                conn.close().await;
                match r {
                    Ok(()) => return, // the app went away
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        attempt = attempt.saturating_add(1);
        let delay = backoff(attempt, jitter());
        tracing::info!(backend = %spec.name, "disconnected ({error}); retry {attempt} in {delay:?}");
        let at = clock.now_ms() + delay.as_millis() as i64;
        if tx.send(ClientMsg::Retrying { name: spec.name.clone(), at, attempt, error }).await.is_err() {
            return;
        }
        tokio::time::sleep(delay).await;
    }
}

/// One connected session. `Ok` only when the app side has gone away.
async fn session(
    spec: &BackendSpec,
    conn: &mut Conn,
    cursor: &mut Option<Since>,
    tx: &mpsc::Sender<ClientMsg>,
    attempt: &mut u32,
    mut outbox: Option<&mut Outbox>,
) -> Result<(), String> {
    let mut sent: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut welcomed = false;
    conn.send(encode(&ClientFrame::Subscribe { topics: vec![Topic::Metrics], since: *cursor })).await?;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.reset();
    let mut last_heard = tokio::time::Instant::now();
    let mut nonce = 0u64;
    loop {
        tokio::select! {
            frame = conn.recv() => {
                let text = frame.ok_or("the backend closed the connection")??;
                last_heard = tokio::time::Instant::now();
                let frame = decode_server(&text).map_err(|e| format!("protocol: {e}"))?;
                match frame {
                    ServerFrame::Welcome { epoch, .. } => {
                        *attempt = 0;
                        welcomed = true;
                        if cursor.is_some_and(|c| c.epoch != epoch) {
                            *cursor = None;
                        }
                        if tx.send(ClientMsg::Connected(spec.name.clone())).await.is_err() {
                            return Ok(());
                        }
                        flush_outbox(spec, conn, outbox.as_deref(), &mut sent).await?;
                    }
                    ServerFrame::Reset { epoch, head_seq } => {
                        *cursor = Some(Since { epoch, seq: head_seq });
                        if tx.send(ClientMsg::Reset(spec.name.clone())).await.is_err() {
                            return Ok(());
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
                            return Ok(());
                        }
                    }
                    ServerFrame::Pong { .. } | ServerFrame::Stored { .. } => {}
                    ServerFrame::Ack { id, result } => answered(spec, outbox.as_deref(), tx, id, Ok(result)).await,
                    ServerFrame::Error { message, id: Some(id), .. } => answered(spec, outbox.as_deref(), tx, id, Err(message)).await,
                    ServerFrame::Error { code, message, .. } => tracing::warn!(backend = %spec.name, ?code, "backend error: {message}"),
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > DEAD_AFTER {
                    return Err(format!("no answer for {}s", DEAD_AFTER.as_secs()));
                }
                nonce += 1;
                conn.ping(nonce).await?;
            }
            Some(()) = async { match outbox.as_mut() { Some(o) => o.kick.recv().await, None => std::future::pending().await } } => {
                if welcomed {
                    flush_outbox(spec, conn, outbox.as_deref(), &mut sent).await?;
                }
            }
            _ = tx.closed() => return Ok(()),
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

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct SshConn {
    child: Child,
    stdin: ChildStdin,
    lines: tokio::io::Lines<BufReader<ChildStdout>>,
}

enum Conn {
    Ws(Box<Ws>),
    Ssh(Box<SshConn>),
}

impl Conn {
    async fn open(spec: &BackendSpec) -> Result<Conn, String> {
        if let Some(rest) = spec.url.strip_prefix("ssh://") {
            return Self::ssh(rest, &spec.ssh);
        }
        if !(spec.url.starts_with("ws://") || spec.url.starts_with("wss://")) {
            return Err(format!("{}: unsupported URL (use ws://, wss:// or ssh://)", spec.url));
        }
        let url = format!("{}/v1/stream", spec.url.trim_end_matches('/').trim_end_matches("/v1/stream"));
        let mut req = url.as_str().into_client_request().map_err(|e| format!("{url}: {e}"))?;
        if let Some(t) = &spec.token {
            let v = format!("Bearer {t}")
                .parse()
                .map_err(|_| "the token has characters a header cannot carry".to_string())?;
            req.headers_mut().insert("Authorization", v);
        }
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME_BYTES));
        let connector = if url.starts_with("wss://") { Some(tls_connector(spec.ca_file.as_deref())?) } else { None };
        let fut = tokio_tungstenite::connect_async_tls_with_config(req, Some(config), false, connector);
        match tokio::time::timeout(Duration::from_secs(15), fut).await {
            Err(_) => Err("connect timed out".into()),
            Ok(Err(tokio_tungstenite::tungstenite::Error::Http(resp))) if resp.status() == 401 => {
                Err(format!("401 unauthorized: set the token with `opsdeck key set backend:{}`", spec.name))
            }
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok((ws, _))) => Ok(Conn::Ws(Box::new(ws))),
        }
    }

    /// `ssh://[user@]host[:port]`: runs `opsdeck serve --stdio` there with `program`.
    fn ssh(rest: &str, program: &str) -> Result<Conn, String> {
        let target = rest.trim_end_matches('/');
        let (host, port) = match target.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => (h, Some(p)),
            _ => (target, None),
        };
        if host.is_empty() || host.starts_with('-') {
            return Err(format!("ssh://{rest}: not a host"));
        }
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(["-T", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=15"]);
        if let Some(p) = port {
            cmd.args(["-p", p]);
        }
        cmd.arg("--").arg(host).args(["opsdeck", "serve", "--stdio"]);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        cmd.kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| format!("starting {program}: {}", crate::net::io_text(&e)))?;
        let stdin = child.stdin.take().ok_or("ssh: no stdin")?;
        let stdout = child.stdout.take().ok_or("ssh: no stdout")?;
        Ok(Conn::Ssh(Box::new(SshConn { child, stdin, lines: BufReader::new(stdout).lines() })))
    }

    async fn send(&mut self, text: String) -> Result<(), String> {
        match self {
            Conn::Ws(ws) => ws.send(Message::Text(text.into())).await.map_err(|e| e.to_string()),
            Conn::Ssh(c) => {
                let stdin = &mut c.stdin;
                stdin.write_all(text.as_bytes()).await.map_err(|e| e.to_string())?;
                stdin.write_all(b"\n").await.map_err(|e| e.to_string())?;
                stdin.flush().await.map_err(|e| e.to_string())
            }
        }
    }

    /// The next text frame; `None` when the peer closed.
    async fn recv(&mut self) -> Option<Result<String, String>> {
        match self {
            Conn::Ws(ws) => loop {
                match ws.next().await? {
                    Ok(Message::Text(t)) => return Some(Ok(t.to_string())),
                    Ok(Message::Close(_)) => return None,
                    Ok(_) => continue,
                    Err(e) => return Some(Err(e.to_string())),
                }
            },
            Conn::Ssh(c) => match c.lines.next_line().await {
                Ok(Some(l)) if l.len() > MAX_FRAME_BYTES => Some(Err("frame over the size limit".into())),
                Ok(Some(l)) => Some(Ok(l)),
                Ok(None) => None,
                Err(e) => Some(Err(e.to_string())),
            },
        }
    }

    async fn ping(&mut self, nonce: u64) -> Result<(), String> {
        match self {
            Conn::Ws(ws) => {
                ws.send(Message::Ping(nonce.to_be_bytes().to_vec().into())).await.map_err(|e| e.to_string())
            }
            Conn::Ssh(_) => self.send(encode(&ClientFrame::Ping { nonce })).await,
        }
    }

    async fn close(&mut self) {
        match self {
            Conn::Ws(ws) => {
                // The inherent close (sends a Close frame), not SinkExt::close on the Box.
                let _ = Ws::close(ws, None).await;
            }
            Conn::Ssh(c) => {
                let _ = c.child.kill().await;
            }
        }
    }
}

fn tls_connector(ca_file: Option<&std::path::Path>) -> Result<tokio_tungstenite::Connector, String> {
    Ok(tokio_tungstenite::Connector::Rustls(Arc::new(crate::net::tls_client_config(ca_file)?)))
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
