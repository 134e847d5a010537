//! Tool runs for the TUI: a thin adapter over the engine's tools service
//! (`engine::tools::service::ToolService`) and its chain executor
//! (`engine::tools::chains::ChainRunner`), whose run and chain events become
//! `ToolsAction`s; the catalog, the history and the MCP servers' states are
//! forwarded to the tools pane. Also exports and the OSC 52 clipboard.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::app::Action;
use crate::app::panes::tools::{ChainUpdate, ToolsAction};
use crate::clock::SystemClock;
use crate::config::mcp::McpServerConfig;
use crate::engine::tools::chains::{ChainEvent, ChainRequest, ChainRunner};
use crate::engine::tools::service::{RunLog, RunRequest, ToolEvent, ToolService};
use crate::engine::tools::{Registry, RunOptions, ToolSpec};
use crate::jq::JqRunner;
use crate::protocol::chain::Chain;
use crate::protocol::tools::RunOrigin;
use crate::remote::control::Records;

/// Runs loaded into the pane at start.
const HISTORY_SHOWN: usize = 300;
/// Larger clipboard payloads are only written to the file (terminals cap OSC 52).
const OSC52_MAX: usize = 100_000;
/// Run events waiting to become actions (runs wait beyond: output is never dropped).
const EVENT_QUEUE: usize = 256;

/// The TUI's tool runs, by the pane's run id, through its own tools
/// service; its saved chains, by the pane's chain id, through the service's
/// chain executor.
pub struct Runner {
    service: ToolService,
    chains: ChainRunner,
    records: Records,
    inbox: mpsc::Sender<Action>,
    events: mpsc::Sender<ToolEvent>,
    chain_events: mpsc::Sender<ChainEvent>,
    read_only: bool,
}

impl Runner {
    /// A tools service over `builtins` and the tools of `servers` (started
    /// now, on the current tokio runtime; stopped with the runner), whose runs
    /// are recorded through `records` and reported to `inbox`; chains' links
    /// are evaluated by `jq`.
    pub fn new(
        builtins: Registry,
        servers: &[McpServerConfig],
        config_dir: &Path,
        records: Records,
        jq: JqRunner,
        inbox: mpsc::Sender<Action>,
        read_only: bool,
    ) -> Self {
        let log: Arc<dyn RunLog> = Arc::new(records.clone());
        let service = ToolService::start(builtins, servers, config_dir, Some(log), Arc::new(SystemClock));
        let (events, mut rx) = mpsc::channel::<ToolEvent>(EVENT_QUEUE);
        let to_app = inbox.clone();
        tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                if let Some(action) = action_of(e)
                    && to_app.send(Action::Tools(action)).await.is_err()
                {
                    break;
                }
            }
        });
        let (chain_events, mut rx) = mpsc::channel::<ChainEvent>(EVENT_QUEUE);
        let to_app = inbox.clone();
        tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                if let Some(action) = chain_action(e)
                    && to_app.send(Action::Tools(action)).await.is_err()
                {
                    break;
                }
            }
        });
        let chains = ChainRunner::new(service.clone(), jq);
        Runner { service, chains, records, inbox, events, chain_events, read_only }
    }

    /// The runner's tools service (the chat's tool calls run through it too).
    pub fn service(&self) -> ToolService {
        self.service.clone()
    }

    /// The registry of the runner's tools service (it changes as MCP servers come and go).
    pub fn registry(&self) -> tokio::sync::watch::Receiver<Registry> {
        self.service.registry()
    }

    /// Send the catalog now and whenever the registry changes, and the MCP
    /// servers' states as they change; load the history.
    pub fn start(&self) {
        let mut rx = self.service.registry();
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
            // Runs this build cannot read are set aside as the history is
            // read, and said at once.
            let runs = tokio::task::spawn_blocking(move || {
                let runs = records.tool_runs(HISTORY_SHOWN)?;
                Ok::<_, crate::remote::control::RecordsError>((runs, records.unreadable_report()?))
            })
            .await;
            match runs {
                Ok(Ok((runs, unreadable))) => {
                    let _ = inbox.send(Action::Tools(ToolsAction::History(runs))).await;
                    if !unreadable.is_empty() {
                        let _ = inbox.send(Action::Notice(unreadable.join("; "))).await;
                    }
                }
                Ok(Err(e)) => tracing::warn!("reading the tool history: {e}"),
                Err(e) => tracing::warn!("reading the tool history: {e}"),
            }
        });
        if let Some(status) = self.service.mcp_status() {
            forward_servers(status, self.inbox.clone());
        }
    }

    /// Start run `run` of the pane; a run the service cannot start ends at once, failed.
    pub fn run(&mut self, run: u64, tool: String, args: Value, confirmed: bool) {
        let opts = RunOptions { confirmed, read_only: self.read_only };
        let req = RunRequest { run: run.to_string(), tool, args, opts, origin: RunOrigin::Pane };
        let failed = req.clone();
        if let Err(e) = self.service.run(req, self.events.clone()) {
            tracing::warn!(run, "starting a tool run: {e}");
            let spec = ToolSpec {
                name: failed.tool,
                description: String::new(),
                schema: Value::Null,
                mutating: false,
                source: String::new(),
                timeout: std::time::Duration::ZERO,
            };
            let error = Err(crate::engine::tools::ToolError::Failed(e.to_string()));
            let record = crate::engine::tools::ToolRun::new(
                &spec,
                failed.args,
                chrono::Utc::now().timestamp_millis(),
                std::time::Duration::ZERO,
                &error,
                Default::default(),
            );
            let inbox = self.inbox.clone();
            tokio::spawn(async move { inbox.send(Action::Tools(ToolsAction::Finished { run, record })).await });
        }
    }

    /// Cancel run `run` (nothing if it already ended).
    pub fn cancel(&mut self, run: u64) {
        self.service.cancel(&run.to_string());
    }

    /// Run saved chain `chain` as the pane's chain `chain_run`; one that
    /// cannot start ends at once, saying why.
    pub fn run_chain(&mut self, chain_run: u64, chain: Chain, confirmed: bool) {
        let opts = RunOptions { confirmed, read_only: self.read_only };
        let name = chain.name.clone();
        let req = ChainRequest { id: chain_id(chain_run), chain, opts, origin: RunOrigin::Pane };
        if let Err(e) = self.chains.run(req, self.chain_events.clone()) {
            tracing::warn!(chain_run, "starting a chain: {e}");
            let event = ChainUpdate::Ended(Err(format!("✗ chain {name} cannot start: {e}")));
            let inbox = self.inbox.clone();
            tokio::spawn(async move { inbox.send(Action::Tools(ToolsAction::Chain { chain_run, event })).await });
        }
    }

    /// Cancel chain `chain_run` (nothing if it already ended).
    pub fn cancel_chain(&mut self, chain_run: u64) {
        self.chains.cancel(&chain_id(chain_run));
    }
}

/// The executor's id of the pane's chain `chain_run` (its steps' runs are
/// `chain-N.STEP`, never a number, so they never meet the pane's own runs).
fn chain_id(chain_run: u64) -> String {
    format!("chain-{chain_run}")
}

/// The pane's action for a chain event.
fn chain_action(event: ChainEvent) -> Option<ToolsAction> {
    let of = |chain: &str| chain.strip_prefix("chain-")?.parse::<u64>().ok();
    let (chain_run, event) = match event {
        ChainEvent::StepStarted { chain, step, steps, tool, args, .. } => {
            (of(&chain)?, ChainUpdate::Step { step, steps, tool, args })
        }
        ChainEvent::Step { chain, step, event: ToolEvent::Output { lines, .. } } => {
            (of(&chain)?, ChainUpdate::Output { step, lines })
        }
        ChainEvent::Step { chain, step, event: ToolEvent::Finished { record, .. } } => {
            (of(&chain)?, ChainUpdate::Finished { step, record: *record })
        }
        ChainEvent::Selecting { chain, step, steps, tool, filter } => {
            (of(&chain)?, ChainUpdate::Selecting { step, steps, tool, filter })
        }
        ChainEvent::Ended { chain, result } => (of(&chain)?, ChainUpdate::Ended(result)),
    };
    Some(ToolsAction::Chain { chain_run, event })
}

/// The pane's action for a run event (its runs' ids are numbers).
fn action_of(event: ToolEvent) -> Option<ToolsAction> {
    match event {
        ToolEvent::Output { run, lines } => Some(ToolsAction::Output { run: run.parse().ok()?, lines }),
        ToolEvent::Finished { run, record, .. } => {
            Some(ToolsAction::Finished { run: run.parse().ok()?, record: *record })
        }
    }
}

/// Report the MCP servers' states to the tools pane as they change.
fn forward_servers(
    mut status: tokio::sync::watch::Receiver<Vec<crate::engine::tools::mcp::McpStatus>>,
    inbox: mpsc::Sender<Action>,
) {
    use crate::app::panes::tools::ServerLine;
    use crate::engine::tools::mcp::McpState;
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
}

/// Write `contents` to `dir/name`, replacing it; returns the path (the
/// copy kept beside a clipboard copy: the last one is what matters).
pub fn write_export(dir: &Path, name: &str, contents: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    std::fs::write(&path, contents)?;
    Ok(path)
}

/// Write an export to a new file in `dir`: `name`, else `stem-2.ext`,
/// `stem-3.ext`… (an earlier export, perhaps edited since, is never
/// replaced); returns the path. Fails when 999 names are taken.
pub fn write_export_new(dir: &Path, name: &str, contents: &str) -> std::io::Result<PathBuf> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir)?;
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (name, String::new()),
    };
    for n in 1..=999 {
        let path = if n == 1 { dir.join(name) } else { dir.join(format!("{stem}-{n}{ext}")) };
        // `create_new` fails on a file that is there: nothing is replaced.
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                f.write_all(contents.as_bytes())?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!("{name} and {stem}-2{ext} to {stem}-999{ext} all exist: tidy the exports folder"),
    ))
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
    #[test]
    fn an_export_never_replaces_an_earlier_one() {
        let dir = tempfile::tempdir().unwrap();
        let first = super::write_export_new(dir.path(), "chat-1.md", "one").unwrap();
        let second = super::write_export_new(dir.path(), "chat-1.md", "two").unwrap();
        let third = super::write_export_new(dir.path(), "chat-1.md", "three").unwrap();
        assert_eq!(first, dir.path().join("chat-1.md"));
        assert_eq!(second, dir.path().join("chat-1-2.md"));
        assert_eq!(third, dir.path().join("chat-1-3.md"));
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "one");
        let bare = super::write_export_new(dir.path(), "notes", "x").unwrap();
        assert_eq!(super::write_export_new(dir.path(), "notes", "y").unwrap(), dir.path().join("notes-2"));
        assert_eq!(bare, dir.path().join("notes"));
    }

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
        let builtins = Registry::with_builtins(crate::jq::JqRunner::in_process());
        let (inbox, mut rx) = mpsc::channel(64);
        let jq = crate::jq::JqRunner::in_process();
        let records = Records::Engine(engine.clone());
        let mut runner = Runner::new(builtins, &[], Path::new("."), records, jq, inbox, false);
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
                assert_eq!(record.outcome, serde_json::json!(crate::app::panes::tools::runs::CANCELLED));
                assert_eq!(crate::engine::tools::service::CANCELLED, crate::app::panes::tools::runs::CANCELLED);
                break;
            }
        }
        let stored = engine.store().tool_runs(10).unwrap();
        assert_eq!(stored.len(), 2);
    }

    #[tokio::test]
    async fn a_chain_runs_in_the_engine_and_reports_as_pane_actions() {
        use crate::protocol::chain::{Link, Step};
        let store = crate::engine::store::Store::temporary().unwrap();
        let engine = crate::engine::Engine::new(store, Default::default(), std::sync::Arc::new(SystemClock)).unwrap();
        let jq = crate::jq::JqRunner::in_process();
        let builtins = Registry::with_builtins(jq.clone());
        let (inbox, mut rx) = mpsc::channel(64);
        let mut runner = Runner::new(builtins, &[], Path::new("."), Records::Engine(engine.clone()), jq, inbox, false);
        let steps = vec![
            Step { tool: "text_stats".into(), args: serde_json::json!({"text":"alpha beta alpha"}), link: None },
            Step {
                tool: "text_stats".into(),
                args: serde_json::json!({}),
                link: Some(Link { filter: ".top_terms[0].term".into(), arg: "text".into() }),
            },
        ];
        runner.run_chain(7, Chain { name: "c".into(), steps }, false);
        let mut seen = Vec::new();
        while let Some(a) = rx.recv().await {
            let Action::Tools(ToolsAction::Chain { chain_run, event }) = a else { continue };
            assert_eq!(chain_run, 7);
            let end = matches!(event, ChainUpdate::Ended(_));
            seen.push(match event {
                ChainUpdate::Step { step, args, .. } => format!("step {step} {args}"),
                ChainUpdate::Output { step, .. } => format!("output {step}"),
                ChainUpdate::Finished { step, record } => format!("finished {step} {}", record.outcome["words"]),
                ChainUpdate::Selecting { step, filter, .. } => format!("selecting {step} {filter}"),
                ChainUpdate::Ended(r) => format!("ended {r:?}"),
            });
            if end {
                break;
            }
        }
        assert_eq!(
            seen,
            [
                r#"step 1 {"text":"alpha beta alpha"}"#,
                "output 1",
                "finished 1 3",
                "selecting 2 .top_terms[0].term",
                r#"step 2 {"text":"alpha"}"#,
                "output 2",
                "finished 2 1",
                "ended Ok(2)",
            ]
        );
        assert_eq!(engine.store().tool_runs(10).unwrap().len(), 2, "each step recorded once");
    }
}
