//! The local control socket: how a second opsdeck shares a data directory.
//!
//! Only one process can open a data directory's store (sled locks it). That
//! process — the TUI or `opsdeck serve` — listens on a Unix socket
//! ([`Paths::control_socket`](crate::config::paths::Paths::control_socket),
//! mode 0600 in a 0700 directory, peers of another uid refused) speaking the
//! same JSON-lines protocol as `serve --stdio`, plus `store` frames
//! ([`StoreOp`]). A TUI started beside it attaches as its local source
//! ([`follow`]), and headless commands write their records through it
//! ([`Records::Control`]).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener as StdListener, UnixStream as StdStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::engine::Engine;
use crate::engine::store::{Store, StoreError};
use crate::engine::tools::HISTORY_KEEP;
use crate::protocol::control::StoreOp;
use crate::protocol::tools::ToolRun;
use crate::protocol::wire::{
    ClientFrame, MAX_FRAME_BYTES, ServerFrame, Since, decode_server, decode_server_skipping, encode,
};
use crate::protocol::{Command, Envelope, Topic};

use super::session::Peer;

/// At most this many control connections are served at once.
const MAX_CONNECTIONS: usize = 64;
/// A control request that gets no answer within this is an error.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the control socket could not be used. Messages name the path and a fix.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error(
        "{dir}: cannot create the runtime directory: {reason}\n  hint: set OPSDECK_RUNTIME_DIR to a private directory"
    )]
    Dir { dir: String, reason: String },
    #[error(
        "{dir}: the runtime directory belongs to another user or is open to others (mode {mode:o})\n  hint: set OPSDECK_RUNTIME_DIR to a directory only you can read"
    )]
    Unsafe { dir: String, mode: u32 },
    #[error("{path}: another opsdeck already answers on this control socket")]
    InUse { path: String },
    #[error("{path}: cannot listen: {reason}")]
    Bind { path: String, reason: String },
    #[error("{path}: cannot reach the opsdeck that holds the data directory: {reason}")]
    Connect { path: String, reason: String },
    #[error("control socket: {0}")]
    Protocol(String),
}

/// The bound socket; removes its file when dropped.
pub struct ControlSocket {
    listener: Option<StdListener>,
    path: PathBuf,
    ino: u64,
}

/// Listen on `path`: create its directory (0700, ours), replace a stale socket
/// left by a crash, refuse if a live process answers there, bind with mode 0600.
pub fn bind(path: &Path) -> Result<ControlSocket, ControlError> {
    let p = || path.display().to_string();
    let dir = path.parent().unwrap_or(Path::new("/"));
    let d = || dir.display().to_string();
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| ControlError::Dir { dir: d(), reason: crate::net::io_text(&e) })?;
    let meta = std::fs::metadata(dir).map_err(|e| ControlError::Dir { dir: d(), reason: crate::net::io_text(&e) })?;
    let me = rustix::process::getuid().as_raw();
    if meta.uid() != me {
        return Err(ControlError::Unsafe { dir: d(), mode: meta.mode() & 0o7777 });
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|_| ControlError::Unsafe { dir: d(), mode: meta.mode() & 0o7777 })?;
    }
    if std::fs::symlink_metadata(path).is_ok() {
        if StdStream::connect(path).is_ok() {
            return Err(ControlError::InUse { path: p() });
        }
        tracing::info!(path = %path.display(), "replacing a stale control socket");
        std::fs::remove_file(path).map_err(|e| ControlError::Bind { path: p(), reason: crate::net::io_text(&e) })?;
    }
    let listener =
        StdListener::bind(path).map_err(|e| ControlError::Bind { path: p(), reason: crate::net::io_text(&e) })?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| ControlError::Bind { path: p(), reason: crate::net::io_text(&e) })?;
    let ino = std::fs::metadata(path).map(|m| m.ino()).unwrap_or(0);
    Ok(ControlSocket { listener: Some(listener), path: path.to_path_buf(), ino })
}

impl ControlSocket {
    /// The socket file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serve connections on the current tokio runtime until the socket is
    /// dropped or the runtime stops. Each connection of the same uid gets a
    /// [`Peer::Control`] session on `engine`.
    pub fn serve(&mut self, engine: Engine) {
        let Some(std) = self.listener.take() else { return };
        let listener = match std.set_nonblocking(true).and_then(|()| tokio::net::UnixListener::from_std(std)) {
            Ok(l) => l,
            Err(e) => return tracing::warn!("control socket: {e}"),
        };
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
        tokio::spawn(async move {
            let me = rustix::process::getuid().as_raw();
            loop {
                let stream = match listener.accept().await {
                    Ok((s, _)) => s,
                    Err(e) => {
                        tracing::warn!("control socket accept: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                match stream.peer_cred() {
                    Ok(c) if c.uid() == me => {}
                    Ok(c) => {
                        tracing::warn!(uid = c.uid(), "control socket: refused a peer of another user");
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!("control socket: cannot read the peer's credentials: {e}");
                        continue;
                    }
                }
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    tracing::warn!("control socket: over {MAX_CONNECTIONS} connections; refused one");
                    continue;
                };
                let engine = engine.clone();
                tokio::spawn(async move {
                    let (r, w) = stream.into_split();
                    let _ = super::server::serve_lines(engine, Peer::Control, r, w).await;
                    drop(permit);
                });
            }
        });
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        // Only remove the file if it is still ours (not a successor's).
        if std::fs::metadata(&self.path).is_ok_and(|m| m.ino() == self.ino) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Run one store op on the holder's side.
pub fn apply(store: &Store, op: StoreOp) -> Result<Value, String> {
    let json = |v: Result<Value, serde_json::Error>| v.map_err(|e| e.to_string());
    let s = |e: StoreError| e.to_string();
    match op {
        StoreOp::ToolRuns { limit } => json(serde_json::to_value(store.tool_runs(limit.min(HISTORY_KEEP)).map_err(s)?)),
        StoreOp::RecordToolRun { run } => {
            store.record_tool_run(&run).map_err(s)?;
            store.prune_tool_runs(HISTORY_KEEP).map_err(s)?;
            Ok(Value::Null)
        }
        StoreOp::UiGet { key } => Ok(store
            .ui_get(&key)
            .map_err(s)?
            .map_or(Value::Null, |v| Value::String(String::from_utf8_lossy(&v).into()))),
        StoreOp::UiPut { key, value } => store.ui_put(&key, value.as_bytes()).map(|()| Value::Null).map_err(s),
        StoreOp::OutboxList { backend } => json(serde_json::to_value(store.outbox_list(&backend).map_err(s)?)),
        StoreOp::OutboxPush { backend, id, command } => {
            store.outbox_push(&backend, &id, &command).map(|()| Value::Null).map_err(s)
        }
        StoreOp::OutboxRemove { backend, id } => store.outbox_remove(&backend, &id).map(Value::Bool).map_err(s),
        StoreOp::UnreadableReport => json(serde_json::to_value(store.unreadable_report().map_err(s)?)),
        StoreOp::ChatList => json(serde_json::to_value(store.list_conversations().map_err(s)?)),
        StoreOp::ChatLoad { id } => json(serde_json::to_value(store.load_conversation(&id).map_err(s)?)),
        StoreOp::ChatSave { conversation } => store.save_conversation(&conversation).map(|()| Value::Null).map_err(s),
        StoreOp::ChatDelete { id } => store.delete_conversation(&id).map(Value::Bool).map_err(s),
        StoreOp::ChatSearch { query, limit } => {
            json(serde_json::to_value(store.search_conversations(&query, limit.min(1_000)).map_err(s)?))
        }
        StoreOp::ChatRename { id, title } => store.rename_conversation(&id, &title).map(Value::Bool).map_err(s),
        StoreOp::ChatSetModel { id, model } => {
            store.update_conversation(&id, |m| m.model = model).map(Value::Bool).map_err(s)
        }
        StoreOp::ChatHistory => json(serde_json::to_value(store.input_history().map_err(s)?)),
        StoreOp::ChatHistoryPush { text } => json(serde_json::to_value(store.push_input_history(&text).map_err(s)?)),
    }
}

/// A blocking request/answer client of a control socket (call it from
/// `spawn_blocking` or a plain thread). Reconnects once if the link broke.
pub struct ControlClient {
    path: PathBuf,
    conn: std::sync::Mutex<Option<(BufReader<StdStream>, StdStream)>>,
    next: AtomicU64,
}

impl ControlClient {
    /// Connect to the holder's socket at `path`.
    pub fn connect(path: &Path) -> Result<ControlClient, ControlError> {
        let c = ControlClient { path: path.to_path_buf(), conn: std::sync::Mutex::new(None), next: AtomicU64::new(1) };
        let conn = c.open()?;
        *c.conn.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn);
        Ok(c)
    }

    /// Whether a running opsdeck answers on `path`: a `ping` answered with
    /// its `pong` within `limit`. A socket file left by a killed holder
    /// refuses the connection; one whose listening fd a dying child still
    /// holds accepts it but never answers — neither is a holder.
    pub fn answers(path: &Path, limit: Duration) -> bool {
        let Ok(s) = StdStream::connect(path) else { return false };
        if s.set_read_timeout(Some(limit)).is_err() || s.set_write_timeout(Some(limit)).is_err() {
            return false;
        }
        let Ok(mut w) = s.try_clone() else { return false };
        let ping = format!("{}\n", encode(&ClientFrame::Ping { nonce: 1 }));
        if w.write_all(ping.as_bytes()).is_err() {
            return false;
        }
        let mut line = String::new();
        let mut r = BufReader::new(s.take(MAX_FRAME_BYTES as u64));
        r.read_line(&mut line).is_ok() && matches!(decode_server(line.trim_end()), Ok(ServerFrame::Pong { nonce: 1 }))
    }

    /// The socket this client talks to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(&self) -> Result<(BufReader<StdStream>, StdStream), ControlError> {
        let err = |e: std::io::Error| ControlError::Connect {
            path: self.path.display().to_string(),
            reason: crate::net::io_text(&e),
        };
        let s = StdStream::connect(&self.path).map_err(err)?;
        s.set_read_timeout(Some(ANSWER_TIMEOUT)).map_err(err)?;
        s.set_write_timeout(Some(ANSWER_TIMEOUT)).map_err(err)?;
        let w = s.try_clone().map_err(err)?;
        Ok((BufReader::new(s), w))
    }

    fn id(&self) -> String {
        format!("ctl-{}-{}", std::process::id(), self.next.fetch_add(1, Ordering::Relaxed))
    }

    /// Send `frame` and wait for the frame answering `id`.
    fn call(&self, id: &str, frame: &ClientFrame) -> Result<ServerFrame, ControlError> {
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        for attempt in 0..2 {
            if guard.is_none() {
                *guard = Some(self.open()?);
            }
            let Some((reader, writer)) = guard.as_mut() else { continue };
            match exchange(reader, writer, id, frame) {
                Ok(f) => return Ok(f),
                Err(e) if attempt == 0 && matches!(e, ControlError::Connect { .. }) => *guard = None,
                Err(e) => {
                    *guard = None;
                    return Err(e);
                }
            }
        }
        Err(ControlError::Protocol("no answer".into()))
    }

    /// Run a store op on the holder; the answer's `result` (see [`StoreOp`]).
    pub fn store(&self, op: StoreOp) -> Result<Value, ControlError> {
        let id = self.id();
        match self.call(&id, &ClientFrame::Store { id: id.clone(), op })? {
            ServerFrame::Stored { result, .. } => Ok(result),
            ServerFrame::Error { message, .. } => Err(ControlError::Protocol(message)),
            other => Err(ControlError::Protocol(format!("unexpected answer {other:?}"))),
        }
    }

    /// Run a command on the holder's engine (idempotent by `id`).
    pub fn command(&self, id: &str, command: Command) -> Result<Value, String> {
        let frame = ClientFrame::Command { id: id.to_string(), command };
        match self.call(id, &frame).map_err(|e| e.to_string())? {
            ServerFrame::Ack { result, .. } => Ok(result),
            ServerFrame::Error { message, .. } => Err(message),
            other => Err(format!("unexpected answer {other:?}")),
        }
    }
}

fn exchange(
    reader: &mut BufReader<StdStream>,
    writer: &mut StdStream,
    id: &str,
    frame: &ClientFrame,
) -> Result<ServerFrame, ControlError> {
    let broke = |e: std::io::Error| ControlError::Connect { path: String::new(), reason: crate::net::io_text(&e) };
    let mut line = encode(frame);
    line.push('\n');
    writer.write_all(line.as_bytes()).and_then(|()| writer.flush()).map_err(broke)?;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = (&mut *reader).take(MAX_FRAME_BYTES as u64 + 1).read_until(b'\n', &mut buf).map_err(broke)?;
        if n == 0 {
            return Err(broke(std::io::ErrorKind::UnexpectedEof.into()));
        }
        if buf.len() > MAX_FRAME_BYTES {
            return Err(ControlError::Protocol(format!("an answer over {MAX_FRAME_BYTES} bytes")));
        }
        let text = String::from_utf8_lossy(&buf);
        let frame = decode_server(text.trim_end()).map_err(|e| ControlError::Protocol(e.to_string()))?;
        let answers = match &frame {
            ServerFrame::Stored { id: i, .. } | ServerFrame::Ack { id: i, .. } => i == id,
            ServerFrame::Error { id: Some(i), .. } => i == id,
            ServerFrame::Error { id: None, message, .. } => {
                return Err(ControlError::Protocol(message.clone()));
            }
            _ => false,
        };
        if answers {
            return Ok(frame);
        }
    }
}

/// Where a process keeps the records it writes (tool history, UI preferences,
/// backends' outboxes): its own store, or the holder's through the socket.
#[derive(Clone)]
pub enum Records {
    /// The in-process engine's store.
    Engine(Engine),
    /// A store opened without an engine (headless commands).
    Store(Arc<Store>),
    /// The process that holds the data directory.
    Control(Arc<ControlClient>),
}

/// A record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error("control socket: unreadable answer: {0}")]
    Decode(String),
}

impl Records {
    /// The store to use directly, or the client to ask.
    pub(super) fn target(&self) -> Result<&Store, &ControlClient> {
        match self {
            Records::Engine(e) => Ok(e.store()),
            Records::Store(s) => Ok(s),
            Records::Control(c) => Err(c),
        }
    }

    pub(super) fn remote<T: serde::de::DeserializeOwned>(c: &ControlClient, op: StoreOp) -> Result<T, RecordsError> {
        serde_json::from_value(c.store(op)?).map_err(|e| RecordsError::Decode(e.to_string()))
    }

    /// Append a run to the tool history; `prune` trims it to [`HISTORY_KEEP`]
    /// (the holder always trims runs it records for others).
    pub fn record_tool_run(&self, run: &ToolRun, prune: bool) -> Result<(), RecordsError> {
        match self.target() {
            Ok(s) => {
                s.record_tool_run(run)?;
                if prune {
                    s.prune_tool_runs(HISTORY_KEEP)?;
                }
                Ok(())
            }
            Err(c) => {
                c.store(StoreOp::RecordToolRun { run: Box::new(run.clone()) })?;
                Ok(())
            }
        }
    }

    /// The newest `n` tool runs, newest first.
    pub fn tool_runs(&self, n: usize) -> Result<Vec<ToolRun>, RecordsError> {
        match self.target() {
            Ok(s) => Ok(s.tool_runs(n)?),
            Err(c) => Self::remote(c, StoreOp::ToolRuns { limit: n }),
        }
    }

    /// A saved UI preference.
    pub fn ui_get(&self, key: &str) -> Result<Option<String>, RecordsError> {
        match self.target() {
            Ok(s) => Ok(s.ui_get(key)?.map(|v| String::from_utf8_lossy(&v).into_owned())),
            Err(c) => Self::remote(c, StoreOp::UiGet { key: key.into() }),
        }
    }

    /// Save a UI preference.
    pub fn ui_put(&self, key: &str, value: &str) -> Result<(), RecordsError> {
        match self.target() {
            Ok(s) => Ok(s.ui_put(key, value.as_bytes())?),
            Err(c) => {
                c.store(StoreOp::UiPut { key: key.into(), value: value.into() })?;
                Ok(())
            }
        }
    }

    /// Commands queued for `backend`, oldest first.
    pub fn outbox_list(&self, backend: &str) -> Result<Vec<(String, Command)>, RecordsError> {
        match self.target() {
            Ok(s) => Ok(s.outbox_list(backend)?),
            Err(c) => Self::remote(c, StoreOp::OutboxList { backend: backend.into() }),
        }
    }

    /// Queue `command` for `backend`.
    pub fn outbox_push(&self, backend: &str, id: &str, command: &Command) -> Result<(), RecordsError> {
        match self.target() {
            Ok(s) => Ok(s.outbox_push(backend, id, command)?),
            Err(c) => {
                let op = StoreOp::OutboxPush { backend: backend.into(), id: id.into(), command: command.clone() };
                c.store(op)?;
                Ok(())
            }
        }
    }

    /// Records set aside as unreadable since the last report, one line each
    /// (see `Store::unreadable_report`).
    pub fn unreadable_report(&self) -> Result<Vec<String>, RecordsError> {
        match self.target() {
            Ok(s) => Ok(s.unreadable_report()?),
            Err(c) => Self::remote(c, StoreOp::UnreadableReport),
        }
    }

    /// Drop a delivered command; whether it was queued.
    pub fn outbox_remove(&self, backend: &str, id: &str) -> Result<bool, RecordsError> {
        match self.target() {
            Ok(s) => Ok(s.outbox_remove(backend, id)?),
            Err(c) => Self::remote(c, StoreOp::OutboxRemove { backend: backend.into(), id: id.into() }),
        }
    }
}

/// The tools service records runs through the same records as everything
/// else: the own store, or the data directory's holder (which prunes the
/// runs it records for others).
impl crate::engine::tools::service::RunLog for Records {
    fn record(&self, run: &ToolRun, prune: bool) -> Result<(), String> {
        self.record_tool_run(run, prune).map_err(|e| e.to_string())
    }
}

/// What a [`follow`] task reports.
#[derive(Debug)]
pub enum Followed {
    /// Subscribed (again): events follow.
    Attached,
    /// Events of the holder's engine, in seq order.
    Events(Vec<Arc<Envelope>>),
    /// The holder's history is not what we had: drop local-source state.
    Reset,
    /// The link broke; retrying in `retry_in`.
    Lost { error: String, retry_in: Duration },
}

/// Subscribe to the holder's events over its control socket and report them
/// to `tx` until `tx` closes; resume from the last seq after a broken link.
pub async fn follow(path: PathBuf, tx: mpsc::Sender<Followed>) {
    follow_topics(path, vec![Topic::Metrics, Topic::Alerts, Topic::Workflows], tx).await
}

/// [`follow`] for chosen topics (`opsdeck run --watch` needs only workflows).
pub async fn follow_topics(path: PathBuf, topics: Vec<Topic>, tx: mpsc::Sender<Followed>) {
    let mut since: Option<Since> = None;
    let mut attempt = 0u32;
    loop {
        let error = match follow_once(&path, &topics, &mut since, &tx, &mut attempt).await {
            Ok(()) => return,
            Err(e) => e,
        };
        attempt = attempt.saturating_add(1);
        let retry_in = Duration::from_millis(250u64.saturating_mul(1 << attempt.min(4)).min(5_000));
        if tx.send(Followed::Lost { error, retry_in }).await.is_err() {
            return;
        }
        tokio::time::sleep(retry_in).await;
    }
}

/// One connection; `Ok` when `tx` closed, `Err` with the reason when the link broke.
async fn follow_once(
    path: &Path,
    topics: &[Topic],
    since: &mut Option<Since>,
    tx: &mpsc::Sender<Followed>,
    attempt: &mut u32,
) -> Result<(), String> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let stream = tokio::net::UnixStream::connect(path).await.map_err(|e| crate::net::io_text(&e))?;
    let (r, mut w) = stream.into_split();
    let mut asked = topics.to_vec();
    let sub = ClientFrame::Subscribe { topics: asked.clone(), since: *since };
    w.write_all(format!("{}\n", encode(&sub)).as_bytes()).await.map_err(|e| crate::net::io_text(&e))?;
    let mut lines = tokio::io::BufReader::new(r).lines();
    loop {
        let line = match lines.next_line().await {
            Ok(Some(l)) => l,
            Ok(None) => return Err("the opsdeck holding the data directory closed the link".into()),
            Err(e) => return Err(crate::net::io_text(&e)),
        };
        let decoded = match decode_server_skipping(&line) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!("control socket: skipped a frame: {e}");
                continue;
            }
        };
        let msg = match decoded.frame {
            ServerFrame::Welcome { .. } => {
                *attempt = 0;
                Some(Followed::Attached)
            }
            ServerFrame::Reset { epoch, head_seq } => {
                *since = Some(Since { epoch, seq: head_seq });
                Some(Followed::Reset)
            }
            ServerFrame::Events { events } => {
                let snapshot =
                    events.first().is_some_and(|e| matches!(e.event, crate::protocol::Event::MetricsHistory(_)));
                let fresh: Vec<Arc<Envelope>> = events
                    .into_iter()
                    .filter(|e| snapshot || since.is_none_or(|s| s.epoch != e.epoch || e.seq > s.seq))
                    .map(Arc::new)
                    .collect();
                if let Some(max) = fresh.iter().map(|e| (e.epoch, e.seq)).max_by_key(|x| x.1) {
                    let seq = since.filter(|s| s.epoch == max.0).map_or(max.1, |s| s.seq.max(max.1));
                    *since = Some(Since { epoch: max.0, seq });
                }
                (!fresh.is_empty()).then_some(Followed::Events(fresh))
            }
            // A holder of an earlier opsdeck refuses a topic it does not know:
            // follow the others.
            ServerFrame::Error { id: None, message, .. } => {
                if let Some(known) = crate::protocol::wire::known_to_server(&asked, &message) {
                    tracing::info!(?known, "the data dir's holder is an earlier opsdeck: {message}");
                    asked = known;
                    let sub = ClientFrame::Subscribe { topics: asked.clone(), since: *since };
                    w.write_all(format!("{}\n", encode(&sub)).as_bytes()).await.map_err(|e| crate::net::io_text(&e))?;
                } else {
                    tracing::warn!("control socket: {message}");
                }
                None
            }
            _ => None,
        };
        // Events of kinds a newer holder sends: stepped over, after the rest.
        crate::protocol::wire::step_over(&decoded.skipped, since);
        let Some(msg) = msg else { continue };
        if tx.send(msg).await.is_err() {
            return Ok(());
        }
    }
}
