//! The tools service: the one place tools run, for the TUI, `opsdeck tool`
//! and the engine's `run_tool` command alike.
//!
//! A [`ToolService`] owns the registry (a `watch` of [`Registry`] that the MCP
//! hub updates; the service can start the hub itself) and runs tools: each
//! [`ToolService::run`] is a task that streams the tool's output to the
//! caller's channel as [`ToolEvent::Output`] batches, keeps what the history
//! records through [`OutputCapture`] (capped where it is captured, so a long
//! run holds at most [`HISTORY_OUTPUT_CAP`](super::HISTORY_OUTPUT_CAP) bytes),
//! persists the record through the service's [`RunLog`] (on a blocking
//! thread) and ends with [`ToolEvent::Finished`]. A run in flight can be
//! cancelled by its id; a finished run is forgotten.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use super::mcp::{McpHub, McpStatus};
use super::{HISTORY_KEEP, OutputCapture, Registry, RunOptions, ToolError, ToolRun, ToolSpec};
use crate::clock::Clock;
use crate::config::mcp::McpServerConfig;
use crate::engine::Engine;
use crate::engine::store::Store;
use crate::protocol::tools::RunOrigin;

/// A run's id, chosen by the caller (unique among its runs in flight).
pub type RunId = String;

/// The outcome text of a cancelled run (the tools pane shows it as "cancelled").
pub const CANCELLED: &str = "cancelled";
/// Runs started between two prunings of the history (the first run of a
/// service prunes too, so a one-run `opsdeck tool` keeps the history bounded).
pub const PRUNE_EVERY: u64 = 100;
/// Most lines in one [`ToolEvent::Output`] batch.
pub const BATCH_LINES: usize = 512;
/// A batch is closed once its lines pass this many bytes (64 KiB).
pub const BATCH_BYTES: usize = 64 * 1024;
/// Lines a tool may send before its output is read (the tool waits beyond).
const OUTPUT_QUEUE: usize = 1024;

/// Where the service keeps the records of the runs that ran.
///
/// Implemented for the engine's [`Store`] and [`Engine`] here, and for the
/// records of a headless command (its own store, or the data directory's
/// holder through the control socket) in `remote::control`. Calls block
/// (disk or socket IO): the service makes them on a blocking thread.
pub trait RunLog: Send + Sync {
    /// Append `run` to the tool history; `prune` trims the history to its
    /// newest [`HISTORY_KEEP`] runs. The error is a sentence for the user.
    fn record(&self, run: &ToolRun, prune: bool) -> Result<(), String>;
}

impl RunLog for Store {
    fn record(&self, run: &ToolRun, prune: bool) -> Result<(), String> {
        self.record_tool_run(run).map_err(|e| e.to_string())?;
        if prune {
            self.prune_tool_runs(HISTORY_KEEP).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

impl RunLog for Engine {
    fn record(&self, run: &ToolRun, prune: bool) -> Result<(), String> {
        RunLog::record(self.store(), run, prune)
    }
}

/// One run to start.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRequest {
    /// The caller's id for the run; events and [`ToolService::cancel`] use it.
    pub run: RunId,
    /// The tool's name in the registry (`SERVER/TOOL` for an MCP server's).
    pub tool: String,
    /// Arguments, checked against the tool's schema before it runs.
    pub args: Value,
    /// Confirmation and `--read-only`.
    pub opts: RunOptions,
    /// Who started it, as the history records.
    pub origin: RunOrigin,
}

/// What a run reports to the caller's channel, in order: any number of
/// `Output` batches, then one `Finished`.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolEvent {
    /// Lines the tool printed, in order: at most [`BATCH_LINES`] lines, and
    /// closed once past [`BATCH_BYTES`] bytes.
    Output { run: RunId, lines: Vec<String> },
    /// The run ended (also when cancelled). Sent after the record was persisted.
    Finished {
        run: RunId,
        /// What the history keeps: output capped at 64 KiB, a result over
        /// 64 KiB replaced by a note.
        record: Box<ToolRun>,
        /// Whether the tool ran ([`ToolRun::ran`]): a usage error or a refusal
        /// did not, and is not recorded.
        ran: bool,
        /// The whole result (the record may hold a note instead of a large one).
        result: Result<Value, ToolError>,
        /// Why a run that ran could not be recorded (`None` when it was, or
        /// when it was not to be).
        unrecorded: Option<String>,
    },
}

/// Why a run could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("a tool run with id {0:?} is already running")]
    Busy(RunId),
    #[error("no async runtime to run tools on")]
    NoRuntime,
}

/// The tools service. Cheap to clone; clones share the runs, the registry
/// and the MCP servers (stopped when the last clone is dropped).
#[derive(Clone)]
pub struct ToolService {
    inner: Arc<Inner>,
}

struct Inner {
    registry: watch::Receiver<Registry>,
    log: Option<Arc<dyn RunLog>>,
    clock: Arc<dyn Clock>,
    /// Runs in flight, by id, with the way to cancel each (taken by
    /// [`ToolService::cancel`]); each run's task removes its entry as it ends.
    runs: super::in_flight::InFlight,
    /// Runs started (the record of every [`PRUNE_EVERY`]th prunes the history).
    started: AtomicU64,
    hub: Option<McpHub>,
}

impl ToolService {
    /// A service over a registry someone else keeps up to date. `log` keeps
    /// the records (`None`: not kept); `clock` stamps each run's start.
    pub fn new(registry: watch::Receiver<Registry>, log: Option<Arc<dyn RunLog>>, clock: Arc<dyn Clock>) -> Self {
        let inner = Inner { registry, log, clock, runs: Default::default(), started: AtomicU64::new(0), hub: None };
        ToolService { inner: Arc::new(inner) }
    }

    /// A service over `builtins` plus the tools of `servers`, whose MCP hub
    /// it starts on the current tokio runtime (secrets looked up with
    /// `config_dir`) and stops when the last clone is dropped. Give only the
    /// servers needed: `opsdeck tool SERVER/TOOL` starts just that one.
    pub fn start(
        builtins: Registry,
        servers: &[McpServerConfig],
        config_dir: &Path,
        log: Option<Arc<dyn RunLog>>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let (tx, registry) = watch::channel(builtins);
        let hub = (!servers.is_empty()).then(|| McpHub::start(servers, tx, config_dir));
        let inner = Inner { registry, log, clock, runs: Default::default(), started: AtomicU64::new(0), hub };
        ToolService { inner: Arc::new(inner) }
    }

    /// The registry, updated as MCP servers come, go and change their lists.
    pub fn registry(&self) -> watch::Receiver<Registry> {
        self.inner.registry.clone()
    }

    /// The MCP servers' states, when the service started any.
    pub fn mcp_status(&self) -> Option<watch::Receiver<Vec<McpStatus>>> {
        self.inner.hub.as_ref().map(McpHub::status)
    }

    /// Wait until every MCP server is ready or has failed once, at most
    /// `timeout`; true if all settled in time (or there are none).
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        match &self.inner.hub {
            Some(hub) => hub.wait_ready(timeout).await,
            None => true,
        }
    }

    /// Runs in flight.
    pub fn in_flight(&self) -> usize {
        self.inner.runs.len()
    }

    /// Start a run on the current tokio runtime; its events go to `events`
    /// (the run waits while the channel is full: output is never dropped).
    /// Errors: the id is already running, or there is no runtime.
    pub fn run(&self, req: RunRequest, events: mpsc::Sender<ToolEvent>) -> Result<(), ServiceError> {
        let rt = tokio::runtime::Handle::try_current().map_err(|_| ServiceError::NoRuntime)?;
        let Some((cancel_rx, forget)) = self.inner.runs.start(&req.run) else {
            return Err(ServiceError::Busy(req.run));
        };
        let prune = self.inner.started.fetch_add(1, Ordering::Relaxed).is_multiple_of(PRUNE_EVERY);
        let service = self.clone();
        rt.spawn(async move {
            let registry = service.inner.registry.borrow().clone();
            let started = service.inner.clock.now_ms();
            let run = req.run.clone();
            let (mut record, result) = execute(&registry, &req, started, cancel_rx, &events).await;
            record.origin = req.origin;
            let ran = ToolRun::ran(&result);
            let unrecorded = match (&service.inner.log, ran) {
                (Some(log), true) => persist(log.clone(), &record, prune).await.err(),
                _ => None,
            };
            if let Some(e) = &unrecorded {
                tracing::warn!(tool = record.tool, "recording a tool run: {e}");
            }
            drop(forget);
            let finished = ToolEvent::Finished { run, record: Box::new(record), ran, result, unrecorded };
            let _ = events.send(finished).await;
        });
        Ok(())
    }

    /// Cancel the run `run`: it ends at once as [`CANCELLED`] (and is
    /// recorded). False when no such run is in flight (or it was cancelled
    /// already).
    pub fn cancel(&self, run: &str) -> bool {
        self.inner.runs.cancel(run)
    }
}

/// Persist `record` on a blocking thread.
async fn persist(log: Arc<dyn RunLog>, record: &ToolRun, prune: bool) -> Result<(), String> {
    let rec = record.clone();
    match tokio::task::spawn_blocking(move || log.record(&rec, prune)).await {
        Ok(r) => r,
        Err(e) => Err(format!("the recording task failed: {e}")),
    }
}

/// A batch of output lines being gathered.
#[derive(Default)]
struct Batch {
    lines: Vec<String>,
    bytes: usize,
}

impl Batch {
    /// Add a line; true when the batch is full.
    fn push(&mut self, line: String) -> bool {
        self.bytes += line.len();
        self.lines.push(line);
        self.lines.len() >= BATCH_LINES || self.bytes >= BATCH_BYTES
    }
}

/// Run one tool, forwarding its output in batches and capturing what the
/// history keeps; ends with the record and the result.
async fn execute(
    registry: &Registry,
    req: &RunRequest,
    started: i64,
    mut cancel: oneshot::Receiver<()>,
    events: &mpsc::Sender<ToolEvent>,
) -> (ToolRun, Result<Value, ToolError>) {
    let t0 = tokio::time::Instant::now();
    let spec = registry.get(&req.tool).map(|t| t.spec().clone()).unwrap_or_else(|_| ToolSpec {
        name: req.tool.clone(),
        description: String::new(),
        schema: Value::Null,
        mutating: false,
        source: String::new(),
        timeout: Duration::ZERO,
    });
    let (otx, mut orx) = mpsc::channel::<String>(OUTPUT_QUEUE);
    let fut = registry.run_with(&req.tool, req.args.clone(), otx, req.opts);
    tokio::pin!(fut);
    let mut captured = OutputCapture::default();
    let result = loop {
        tokio::select! {
            biased;
            _ = &mut cancel => {
                tracing::info!(tool = req.tool, run = req.run, "tool run cancelled");
                break Err(ToolError::Failed(CANCELLED.into()));
            }
            r = &mut fut => break r,
            Some(first) = orx.recv() => {
                let mut batch = Batch::default();
                let mut full = batch.push(first);
                while !full && let Ok(l) = orx.try_recv() {
                    full = batch.push(l);
                }
                forward(&req.run, batch.lines, &mut captured, events).await;
            }
        }
    };
    // Lines sent just before the end, in batches of the same bounds.
    let mut batch = Batch::default();
    while let Ok(l) = orx.try_recv() {
        if batch.push(l) {
            forward(&req.run, std::mem::take(&mut batch).lines, &mut captured, events).await;
        }
    }
    forward(&req.run, batch.lines, &mut captured, events).await;
    (ToolRun::new(&spec, req.args.clone(), started, t0.elapsed(), &result, captured), result)
}

/// Capture `lines` and send them to the caller as one batch.
async fn forward(run: &RunId, lines: Vec<String>, captured: &mut OutputCapture, events: &mpsc::Sender<ToolEvent>) {
    if lines.is_empty() {
        return;
    }
    lines.iter().for_each(|l| captured.push(l));
    let _ = events.send(ToolEvent::Output { run: run.clone(), lines }).await;
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
