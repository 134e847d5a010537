//! The only place that owns tokio and terminal IO. `run_tui` wires the
//! parts together: the input thread, the [`sources`] registry (the local
//! engine, backends, Prometheus, Alertmanagers), the effect executor
//! ([`effects`]) and the update/render loop ([`event_loop`]), which runs
//! headless in tests.

pub mod backend;
mod backend_scroll;
mod chat;
mod chat_draft;
mod editor;
mod effects;
pub mod event_loop;
mod input_gate;
mod jq_jobs;
mod local;
mod prefect_source;
pub mod reload;
mod reload_chat;
pub mod sources;
#[cfg(unix)]
pub mod supervisor;
mod tasks;
pub mod terminal;
pub mod tools;
mod workflow_files;

use std::sync::Arc;

use ratatui::crossterm::event::{self, Event as TermEvent};
use tokio::sync::mpsc;

use crate::app::{Action, AppState, Ctx, Overlay};
use crate::clock::{Clock, SystemClock};
use crate::config::keymap::Keymap;
use crate::config::settings::Config;
use crate::config::theme::Theme;
use crate::protocol::Envelope;
use crate::remote::client::BackendSpec;
use crate::remote::control::Records;
use crate::remote::prometheus::PromSpec;
pub use local::Local;
use sources::{AlertmanagerSource, BackendSource, LocalSource, PrometheusSource, Sources};

/// Inbox bound: input and event batches; the bridge coalesces when it is full.
const INBOX: usize = 1024;

/// What the TUI runs with.
pub struct TuiOptions {
    pub config: Config,
    pub theme: Theme,
    pub keymap: Keymap,
    /// Problems with implicit config files, shown on start.
    pub warnings: Vec<String>,
    pub read_only: bool,
    /// Remote engines to connect to.
    pub backends: Vec<BackendSpec>,
    /// Prometheus servers to poll.
    pub prometheus: Vec<PromSpec>,
    /// Where exports and the clipboard fallback go.
    pub exports_dir: std::path::PathBuf,
    /// The config dir (MCP servers' token secrets are looked up from it).
    pub config_dir: std::path::PathBuf,
    /// Evaluates jq filters (`data_query`, chain previews and links) in worker processes.
    pub jq: crate::jq::JqRunner,
    /// Reads config.toml, the theme and the keymap again for `reload`.
    pub reload: Option<reload::Loader>,
    /// The alert rules folder: watched, and read again on `reload`, when this
    /// TUI runs the engine in-process.
    pub alerts_dir: Option<std::path::PathBuf>,
    /// Where workflow files are read (None: attached to another opsdeck, whose engine runs them).
    pub workflows_dir: Option<std::path::PathBuf>,
    /// The config.toml in force (`--config`, or the config dir's): a local
    /// server found by the chat pane is added to it.
    pub config_file: std::path::PathBuf,
}

/// What wakes the loop.
pub enum Msg {
    Term(TermEvent),
    /// Input ended, or SIGTERM/SIGHUP: quit cleanly.
    TermClosed,
    /// A minute of the clock passed (relative times on screen move on).
    Tick,
    /// The local engine's events.
    Events(Vec<Arc<Envelope>>),
    /// An action from a source or a task (events, link states, answers).
    Action(Action),
    /// A `reload` finished reading files.
    Reloaded(Box<reload::Outcome>),
}

/// The in-process engine's workflow service: steps run through the runner's
/// tools service (built-ins and MCP servers' tools). Returns how many runs
/// it found in flight from a stopped opsdeck (now interrupted), and the
/// problem if the service could not start.
fn start_workflows(engine: &crate::engine::Engine, runner: &tools::Runner, opts: &TuiOptions) -> (usize, Vec<String>) {
    use crate::engine::workflows::{registry_exec::RegistryExecutor, render::KeyringSecrets, service::WorkflowService};
    let exec = Arc::new(RegistryExecutor::watching(runner.registry()).owned_by(engine));
    let secrets = Arc::new(KeyringSecrets { config_dir: opts.config_dir.clone() });
    match WorkflowService::new(engine.clone(), opts.workflows_dir.clone(), exec, secrets) {
        Ok(svc) => (engine.start_workflows(svc.with_retention(opts.config.workflows)), Vec::new()),
        Err(e) => (0, vec![format!("workflows: {e}")]),
    }
}

/// Run the TUI until the user quits. An in-process engine must already be started.
pub async fn run_tui(opts: TuiOptions, local: Local) -> std::io::Result<()> {
    let clock = SystemClock;
    let (tx, mut rx) = mpsc::channel::<Msg>(INBOX);
    spawn_input_thread(tx.clone());
    spawn_signal_task(tx.clone())?;
    let records = local.records();
    if let (Local::InProcess(engine), Some(dir)) = (&local, &opts.alerts_dir) {
        reload::watch_rules(engine, dir.clone(), tx.clone());
    }
    let (mut sources, source_problems) = sources_of(&opts, &local, &records);
    sources.start(&tx, &(Arc::new(SystemClock) as Arc<dyn Clock>));
    // Tool runs and MCP status report as actions, forwarded to the inbox.
    let (atx, mut arx) = mpsc::channel::<Action>(256);
    {
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(a) = arx.recv().await {
                if tx.send(Msg::Action(a)).await.is_err() {
                    break;
                }
            }
        });
    }
    // Tool runs go through the tools service the runner owns (with the MCP servers' tools).
    let builtins = crate::engine::tools::Registry::with_builtins(opts.jq.clone());
    let (servers, config_dir) = (&opts.config.mcp_servers, &opts.config_dir);
    let jq = opts.jq.clone();
    let runner = tools::Runner::new(builtins, servers, config_dir, records.clone(), jq, atx.clone(), opts.read_only);
    let mut source_problems = source_problems;
    let mut interrupted = 0;
    if let Local::InProcess(engine) = &local {
        let (n, problems) = start_workflows(engine, &runner, &opts);
        interrupted = n;
        source_problems.extend(problems);
    }

    let mut state = initial_state(&opts, &local, &records, &sources, source_problems, &clock);
    state.start.interrupted = interrupted;
    // After the start-up problems were read: what the history load sets
    // aside is said as a notice.
    runner.start();
    // Saved chains become workflow files where the engine reads them (an
    // attached TUI's engine reads the same config dir's folder).
    let workflows_dir = opts.workflows_dir.clone().unwrap_or_else(|| opts.config_dir.join("workflows"));
    // Provider keys are read off the loop; the pane learns the models once they are.
    let (providers, key_problems) =
        crate::engine::chat::Providers::load(&opts.config.providers, &opts.config.chat, opts.config_dir.clone()).await;
    for p in key_problems {
        let _ = tx.try_send(Msg::Action(Action::Notice(format!("chat: {p}"))));
    }
    let chat = chat::ChatRunner::new(
        providers,
        &opts.config,
        (opts.config_dir.clone(), opts.config_file.clone()),
        records.clone(),
        runner.service(),
        atx.clone(),
        opts.read_only,
    );
    let chat = chat.with_drafts(chat_draft::DraftDesk {
        workflows_dir: workflows_dir.clone(),
        alerts_dir: opts.alerts_dir.clone().unwrap_or_else(|| opts.config_dir.join("alerts")),
        scratch_dir: chat_draft::scratch_dir(&opts.exports_dir),
        mcp_servers: opts.config.mcp_servers.iter().map(|m| m.name.clone()).collect(),
    });
    chat.start();
    let TuiOptions { config, theme, keymap, read_only, exports_dir, jq, reload, alerts_dir, .. } = opts;
    let mut looks = event_loop::Looks { config, theme, keymap };
    let mut executor = effects::Executor {
        read_only,
        sources,
        runner,
        jq,
        tasks: Default::default(),
        local,
        records,
        inbox: tx,
        exports_dir,
        reload,
        alerts_dir,
        workflows_dir,
        chat,
    };
    let (mut term, guard) = terminal::init(looks.config.mouse)?;
    let size = term.size()?;
    state.size = (size.width, size.height);
    let ended = event_loop::run(&mut state, &mut looks, &mut rx, &mut term, &mut executor, &clock).await;
    drop(guard);
    ended
}

/// Every source this TUI reads, and the problems of those that could not be
/// added.
fn sources_of(opts: &TuiOptions, local: &Local, records: &Records) -> (Sources, Vec<String>) {
    let mut sources = Sources::default();
    let mut all: Vec<Box<dyn sources::Source>> = vec![Box::new(LocalSource::new(local.clone()))];
    for spec in &opts.backends {
        let b = BackendSource::new(spec.clone(), records.clone(), opts.read_only, opts.config_dir.clone());
        all.push(Box::new(b));
    }
    all.extend(opts.prometheus.iter().map(|p| Box::new(PrometheusSource::new(p.clone())) as Box<dyn sources::Source>));
    for am in &opts.config.alertmanagers {
        all.push(Box::new(AlertmanagerSource::new(am.into())));
    }
    for p in &opts.config.prefect {
        let s = prefect_source::PrefectSource::new(p.clone(), opts.config_dir.clone(), opts.read_only, local.clone());
        all.push(Box::new(s));
    }
    let problems = all.into_iter().filter_map(|s| sources.add(s).err()).collect();
    (sources, problems)
}

/// The state the first frame shows: sources, queued commands, restored
/// preferences and user data, and the problems met on the way.
fn initial_state(
    opts: &TuiOptions,
    local: &Local,
    records: &Records,
    sources: &Sources,
    source_problems: Vec<String>,
    clock: &dyn Clock,
) -> AppState {
    use sources::SourceKind;
    let mut state = {
        let ctx = Ctx { now: clock.now_ms(), keymap: &opts.keymap, config: &opts.config };
        AppState::new(&ctx)
    };
    state.read_only = opts.read_only;
    state.local_engine = matches!(local, Local::InProcess(_));
    state.start.workflows_key = opts
        .keymap
        .binding_for(&[crate::app::KeyContext::Global], crate::app::UserAction::FocusPane2)
        .map(|b| crate::config::keymap::format_keys(&b.keys))
        .unwrap_or_default();
    state.workflows.editor = crate::app::panes::workflows::edit::editor_from(|k| std::env::var(k).ok());
    state.refresh_hints(&opts.keymap);
    state.instance = instance_id();
    state.user = user_name();
    for id in sources.ids() {
        match id.kind {
            SourceKind::Backend | SourceKind::Prometheus => state.add_backend(&id.name),
            SourceKind::Prefect => state.add_link(&id.name, true),
            SourceKind::Local | SourceKind::Alertmanager => {}
        }
    }
    // A backend's alerts must be known before the alerts pane says all is clear.
    for spec in &opts.backends {
        state.alerts.health.expect(&spec.name);
    }
    // Commands still queued from an earlier run.
    for spec in &opts.backends {
        let n = records.outbox_list(&spec.name).map_or(0, |l| l.len());
        state.sources.iter_mut().filter(|s| s.name == spec.name).for_each(|s| s.queued = n);
    }
    state.utc_offset_s = chrono::Local::now().offset().local_minus_utc();
    // Configuration problems (the status bar says "config problem") apart
    // from the other problems met at start.
    let mut problems = source_problems;
    problems.extend(restore_records(&mut state, records, clock));
    // Queued commands or history this build cannot read (set aside when read).
    match records.unreadable_report() {
        Ok(lines) => problems.extend(lines),
        Err(e) => tracing::warn!("listing unreadable records: {e}"),
    }
    if let Local::Attached(c) = local {
        let text = format!(
            "attached to the opsdeck that holds the data directory (control socket {}): metrics, alerts and records are its",
            c.path().display()
        );
        state.notice = Some((clock.now_ms(), text));
    }
    state.warnings = opts.warnings.clone();
    state.start.problems = problems.clone();
    if !opts.warnings.is_empty() || !problems.is_empty() {
        let title =
            if problems.is_empty() { "Configuration problems: running on defaults" } else { "Problems at start" };
        let mut lines = opts.warnings.clone();
        lines.extend(problems);
        state.overlay = Some(Overlay::message(title, lines));
        state.refresh_hints(&opts.keymap);
    }
    state
}

/// Restore the preferences record (else the per-key ones of earlier builds)
/// and the user's data; a record that cannot be read is kept aside, never
/// overwritten, and reported.
fn restore_records(state: &mut AppState, records: &Records, clock: &dyn Clock) -> Vec<String> {
    let mut problems = Vec::new();
    let prefs: Vec<&str> = match records.ui_get(crate::app::panes::metrics_prefs::PREFS_KEY) {
        Ok(Some(_)) => vec![crate::app::panes::metrics_prefs::PREFS_KEY],
        _ => crate::app::panes::metrics_prefs::LEGACY_KEYS.to_vec(),
    };
    for key in prefs.into_iter().chain(["tools.favorites", "tools.chains"]) {
        if let Ok(Some(v)) = records.ui_get(key) {
            let restored = match key.split_once('.') {
                Some(("tools", _)) => state.tools.restore(key, &v),
                _ => {
                    state.metrics.restore(key, &v);
                    Ok(())
                }
            };
            if let Err(why) = restored {
                let kept = format!("{key}.unreadable.{}", clock.now_ms());
                let where_ = match records.ui_put(&kept, &v) {
                    Ok(()) => format!("it is kept as {kept} in the data directory's ui records"),
                    Err(e) => format!("and it could not be kept aside ({e})"),
                };
                tracing::error!(key, "unreadable saved record: {why}");
                problems.push(format!("saved {key} cannot be read: {why}; {where_}"));
            }
        }
    }
    problems
}

/// SIGTERM, SIGHUP (the SSH session went away), SIGINT and SIGQUIT (`kill -INT`;
/// the keys do not send them in raw mode) end the loop cleanly.
fn spawn_signal_task(tx: mpsc::Sender<Msg>) -> std::io::Result<()> {
    let mut signals = Signals::new()?;
    tokio::spawn(async move {
        signals.recv().await;
        let _ = tx.send(Msg::TermClosed).await;
    });
    Ok(())
}

/// The signals that end the TUI.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hup: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    quit: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                hup: signal(SignalKind::hangup())?,
                int: signal(SignalKind::interrupt())?,
                quit: signal(SignalKind::quit())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {},
            _ = self.hup.recv() => {},
            _ = self.int.recv() => {},
            _ = self.quit.recv() => {},
        }
        #[cfg(not(unix))]
        std::future::pending::<()>().await
    }
}

/// Who acknowledges, silences and annotates: `$USER` or `$LOGNAME`, else
/// the name of this process's uid in /etc/passwd, else `uid N`.
pub(crate) fn user_name() -> String {
    if let Some(name) = ["USER", "LOGNAME"].iter().find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty())) {
        return name;
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    name_of_uid(&status, &passwd)
}

/// The user name of the real uid in `status` (/proc/self/status) looked up
/// in `passwd` (/etc/passwd lines `name:x:uid:…`); `uid N` when it is not
/// there, `unknown user` when there is no uid at all.
fn name_of_uid(status: &str, passwd: &str) -> String {
    let Some(uid) = status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|r| r.split_whitespace().next())
    else {
        return "unknown user".into();
    };
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[2] == uid && !f[0].is_empty())
        .map_or_else(|| format!("uid {uid}"), |f| f[0].to_string())
}

/// A random prefix for this process's command ids.
fn instance_id() -> String {
    let mut b = [0u8; 6];
    let _ = getrandom::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Terminal input on a plain thread: crossterm's read blocks. It waits in
/// short slices and parks while a child process has the terminal
/// ([`input_gate`]).
fn spawn_input_thread(tx: mpsc::Sender<Msg>) {
    let spawned = std::thread::Builder::new().name("input".into()).spawn(move || {
        loop {
            input_gate::wait_open();
            match event::poll(input_gate::SLICE) {
                Ok(false) => continue,
                Ok(true) => {}
                Err(e) => {
                    tracing::error!("terminal input failed: {e}");
                    let _ = tx.blocking_send(Msg::TermClosed);
                    return;
                }
            }
            match event::read() {
                Ok(ev) => {
                    if tx.blocking_send(Msg::Term(ev)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::error!("terminal input failed: {e}");
                    let _ = tx.blocking_send(Msg::TermClosed);
                    return;
                }
            }
        }
    });
    if let Err(e) = spawned {
        tracing::error!("cannot start the input thread: {e}");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_user_is_named_from_passwd_when_the_environment_does_not_say() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        let status = |uid: &str| format!("Name:\topsdeck\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n");
        assert_eq!(super::name_of_uid(&status("1000"), passwd), "alice");
        assert_eq!(super::name_of_uid(&status("0"), passwd), "root");
        assert_eq!(super::name_of_uid(&status("4242"), passwd), "uid 4242");
        assert_eq!(super::name_of_uid("Name:\tx\n", passwd), "unknown user");
    }
}
