//! Tool runs for the TUI: each run is a task that streams its output lines to
//! the app in batches, can be cancelled, and is recorded in the history.
//! Also exports and the OSC 52 clipboard.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use crate::app::Action;
use crate::app::panes::tools::ToolsAction;
use crate::clock::{Clock, SystemClock};
use crate::engine::tools::{OutputCapture, Registry, RunOptions, ToolError, ToolRun, ToolSpec};
use crate::remote::control::Records;

/// Runs recorded before the history is pruned again.
const PRUNE_EVERY: u64 = 100;
/// Runs loaded into the pane at start.
const HISTORY_SHOWN: usize = 300;
/// Larger clipboard payloads are only written to the file (terminals cap OSC 52).
const OSC52_MAX: usize = 100_000;

/// Runs in flight, by the pane's run id.
pub struct Runner {
    registry: watch::Receiver<Registry>,
    records: Records,
    inbox: mpsc::Sender<Action>,
    read_only: bool,
    cancels: HashMap<u64, oneshot::Sender<()>>,
    done_rx: mpsc::UnboundedReceiver<u64>,
    done_tx: mpsc::UnboundedSender<u64>,
    recorded: u64,
}

impl Runner {
    pub fn new(
        registry: watch::Receiver<Registry>,
        records: Records,
        inbox: mpsc::Sender<Action>,
        read_only: bool,
    ) -> Self {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Runner { registry, records, inbox, read_only, cancels: HashMap::new(), done_rx, done_tx, recorded: 0 }
    }

    /// Send the catalog now and whenever the registry changes; load the history.
    pub fn start(&self) {
        let mut rx = self.registry.clone();
        let inbox = self.inbox.clone();
        tokio::spawn(async move {
            loop {
                let infos = rx.borrow_and_update().specs().into_iter().map(ToolSpec::info).collect();
                if inbox.send(Action::Tools(ToolsAction::Catalog(infos))).await.is_err() || rx.changed().await.is_err()
                {
                    break;
                }
            }
        });
        let (records, inbox) = (self.records.clone(), self.inbox.clone());
        tokio::spawn(async move {
            let runs = tokio::task::spawn_blocking(move || records.tool_runs(HISTORY_SHOWN)).await;
            match runs {
                Ok(Ok(runs)) => {
                    let _ = inbox.send(Action::Tools(ToolsAction::History(runs))).await;
                }
                Ok(Err(e)) => tracing::warn!("reading the tool history: {e}"),
                Err(e) => tracing::warn!("reading the tool history: {e}"),
            }
        });
    }

    pub fn run(&mut self, run: u64, tool: String, args: Value, confirmed: bool) {
        while let Ok(id) = self.done_rx.try_recv() {
            self.cancels.remove(&id);
        }
        let (cancel_tx, cancel_rx) = oneshot::channel();
        self.cancels.insert(run, cancel_tx);
        let registry = self.registry.borrow().clone();
        let opts = RunOptions { confirmed, read_only: self.read_only };
        let (records, inbox, done) = (self.records.clone(), self.inbox.clone(), self.done_tx.clone());
        self.recorded += 1;
        let prune = self.recorded.is_multiple_of(PRUNE_EVERY);
        tokio::spawn(async move {
            let (record, ran) = execute(&registry, run, &tool, args, opts, cancel_rx, &inbox).await;
            // A usage error or a refusal is shown, not kept: it did not run.
            if ran {
                let rec = record.clone();
                let stored = tokio::task::spawn_blocking(move || records.record_tool_run(&rec, prune)).await;
                if let Ok(Err(e)) = stored {
                    tracing::warn!(tool, "recording a tool run: {e}");
                }
            }
            let _ = inbox.send(Action::Tools(ToolsAction::Finished { run, record })).await;
            let _ = done.send(run);
        });
    }

    pub fn cancel(&mut self, run: u64) {
        if let Some(tx) = self.cancels.remove(&run) {
            let _ = tx.send(());
        }
    }
}

/// Run one tool, forwarding output in batches; ends with the history record
/// and whether the tool ran (see [`ToolRun::ran`]).
async fn execute(
    registry: &Registry,
    run: u64,
    tool: &str,
    args: Value,
    opts: RunOptions,
    mut cancel: oneshot::Receiver<()>,
    inbox: &mpsc::Sender<Action>,
) -> (ToolRun, bool) {
    let clock = SystemClock;
    let started = clock.now_ms();
    let t0 = Instant::now();
    let spec = registry.get(tool).map(|t| t.spec().clone()).unwrap_or_else(|_| ToolSpec {
        name: tool.into(),
        description: String::new(),
        schema: Value::Null,
        mutating: false,
        source: String::new(),
        timeout: std::time::Duration::ZERO,
    });
    let (otx, mut orx) = mpsc::channel::<String>(1024);
    let fut = registry.run_with(tool, args.clone(), otx, opts);
    tokio::pin!(fut);
    let mut captured = OutputCapture::default();
    let forward = |batch: Vec<String>| {
        let inbox = inbox.clone();
        async move {
            if !batch.is_empty() {
                let _ = inbox.send(Action::Tools(ToolsAction::Output { run, lines: batch })).await;
            }
        }
    };
    let mut cancelled = false;
    let result = loop {
        tokio::select! {
            biased;
            _ = &mut cancel => {
                cancelled = true;
                break Err(ToolError::Failed(crate::app::panes::tools::runs::CANCELLED.into()));
            }
            r = &mut fut => break r,
            Some(first) = orx.recv() => {
                let mut batch = vec![first];
                while let Ok(l) = orx.try_recv() {
                    batch.push(l);
                    if batch.len() >= 512 { break; }
                }
                batch.iter().for_each(|l| captured.push(l));
                forward(batch).await;
            }
        }
    };
    // Lines sent just before the end.
    let mut tail = Vec::new();
    while let Ok(l) = orx.try_recv() {
        tail.push(l);
    }
    tail.iter().for_each(|l| captured.push(l));
    forward(tail).await;
    if cancelled {
        tracing::info!(tool, run, "tool run cancelled");
    }
    (ToolRun::new(&spec, args, started, t0.elapsed(), &result, captured), ToolRun::ran(&result))
}

/// Start the configured MCP servers; their tools join the registry and their
/// state is reported to the tools pane. Dropping the hub stops them.
pub fn start_mcp(
    servers: &[crate::config::settings::McpServerConfig],
    registry: watch::Sender<Registry>,
    config_dir: &Path,
    inbox: mpsc::Sender<Action>,
) -> Option<crate::engine::tools::mcp::McpHub> {
    use crate::app::panes::tools::ServerLine;
    use crate::engine::tools::mcp::{McpHub, McpState};
    if servers.is_empty() {
        return None;
    }
    let hub = McpHub::start(servers, registry, config_dir);
    let mut status = hub.status();
    tokio::spawn(async move {
        loop {
            let lines: Vec<ServerLine> = status
                .borrow_and_update()
                .iter()
                .map(|s| {
                    let (state, ok) = match &s.state {
                        McpState::Starting => ("starting".to_string(), false),
                        McpState::Ready { tools } => (crate::text::count(*tools as u64, "tool", "tools"), true),
                        McpState::Restarting { attempt, error, .. } => {
                            (format!("restarting (attempt {attempt}): {error}"), false)
                        }
                        McpState::Failed { error } => (format!("failed: {error}"), false),
                    };
                    ServerLine { name: s.name.clone(), state, ok }
                })
                .collect();
            if inbox.send(Action::Tools(ToolsAction::Servers(lines))).await.is_err() || status.changed().await.is_err()
            {
                break;
            }
        }
    });
    Some(hub)
}

/// Write `contents` to `dir/name`; returns the path.
pub fn write_export(dir: &Path, name: &str, contents: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    std::fs::write(&path, contents)?;
    Ok(path)
}

/// The OSC 52 sequence that sets the clipboard, wrapped for tmux when inside it.
pub fn osc52(text: &str, tmux: bool) -> Option<String> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    if b64.len() > OSC52_MAX {
        return None;
    }
    let seq = format!("\x1b]52;c;{b64}\x07");
    Some(if tmux { format!("\x1bPtmux;{}\x1b\\", seq.replace('\x1b', "\x1b\x1b")) } else { seq })
}

/// Set the clipboard through OSC 52 (works over SSH). On the loop thread,
/// between frames: false when `text` is too large for the sequence or the
/// terminal cannot be written.
pub fn send_osc52(text: &str) -> bool {
    match osc52(text, std::env::var_os("TMUX").is_some()) {
        Some(seq) => {
            let mut out = std::io::stdout();
            out.write_all(seq.as_bytes()).and_then(|_| out.flush()).is_ok()
        }
        None => false,
    }
}

/// What a copy of `len` bytes did: sent through OSC 52 or not, and the copy
/// kept in `dir` (written on a blocking thread).
pub fn copy_notice(sent: bool, len: usize, dir: &Path, file: std::io::Result<PathBuf>) -> String {
    let size = crate::ui::widgets::fmt::bytes(len as f64);
    match (sent, file) {
        (true, Ok(p)) => format!("✓ copied {size} (OSC 52, if the terminal allows it); also in {}", p.display()),
        (true, Err(_)) => format!("✓ copied {size} (OSC 52, if the terminal allows it)"),
        (false, Ok(p)) => format!("{size} is too large for the clipboard: saved to {}", p.display()),
        (false, Err(e)) => {
            format!("✗ cannot copy: too large for OSC 52, and {}: {}", dir.display(), crate::net::io_text(&e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_encodes_and_wraps_for_tmux() {
        assert_eq!(osc52("hi", false).unwrap(), "\x1b]52;c;aGk=\x07");
        assert_eq!(osc52("hi", true).unwrap(), "\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\");
        assert!(osc52(&"x".repeat(OSC52_MAX), false).is_none());
    }

    #[tokio::test]
    async fn a_run_streams_records_and_can_be_cancelled() {
        let store = crate::engine::store::Store::temporary().unwrap();
        let engine = crate::engine::Engine::new(store, Default::default(), std::sync::Arc::new(SystemClock)).unwrap();
        let (_tx, reg) = watch::channel(Registry::with_builtins(crate::jq::JqRunner::in_process()));
        let (inbox, mut rx) = mpsc::channel(64);
        let mut runner = Runner::new(reg, Records::Engine(engine.clone()), inbox, false);
        runner.run(1, "text_stats".into(), serde_json::json!({"text":"a b a"}), false);
        let mut finished = None;
        while let Some(a) = rx.recv().await {
            if let Action::Tools(ToolsAction::Finished { run, record }) = a {
                finished = Some((run, record));
                break;
            }
        }
        let (run, record) = finished.unwrap();
        assert_eq!(run, 1);
        assert!(record.ok, "{record:?}");
        assert_eq!(record.outcome["words"], 3);
        // Cancelled before it could finish (the test runtime has one thread).
        let mut runner2 = runner;
        runner2.run(2, "tcp_check".into(), serde_json::json!({"host":"127.0.0.1","port":9,"timeout_ms":60000}), false);
        runner2.cancel(2);
        while let Some(a) = rx.recv().await {
            if let Action::Tools(ToolsAction::Finished { run, record }) = a {
                assert_eq!(run, 2);
                assert_eq!(record.outcome, serde_json::json!("cancelled"));
                break;
            }
        }
        let stored = engine.store().tool_runs(10).unwrap();
        assert_eq!(stored.len(), 2);
    }
}
