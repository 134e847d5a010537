//! The only place that owns tokio and terminal IO: the input thread, the
//! engine bridge, the effect executor and the update/render loop.

mod alerts;
pub mod backend;
mod jq_jobs;
mod local;
pub mod reload;
#[cfg(unix)]
pub mod supervisor;
pub mod terminal;
pub mod tools;

use std::sync::Arc;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event as TermEvent, MouseButton, MouseEventKind};
use ratatui::layout::Rect;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::app::{self, Action, AppState, Ctx, Effect, MouseInput, Overlay};
use crate::clock::{Clock, SystemClock};
use crate::config::keymap::Keymap;
use crate::config::settings::Config;
use crate::config::theme::Theme;
use crate::protocol::Envelope;
use crate::remote::client::{self, BackendSpec, ClientMsg};
use crate::remote::prometheus::{self, PromSpec};
pub use local::Local;

/// At most one frame per this interval (~60 fps).
const FRAME_GAP: Duration = Duration::from_millis(16);
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
}

enum Msg {
    Term(TermEvent),
    Backend(ClientMsg),
    /// Input ended, or SIGTERM/SIGHUP: quit cleanly.
    TermClosed,
    Tick,
    Events(Vec<Arc<Envelope>>),
    /// An action from a task (tool runs, effects that answer later).
    Action(Action),
    /// A `reload` finished reading files.
    Reloaded(Box<reload::Outcome>),
}

/// Run the TUI until the user quits. An in-process engine must already be started.
pub async fn run_tui(mut opts: TuiOptions, local: Local) -> std::io::Result<()> {
    let clock = SystemClock;
    let (tx, mut rx) = mpsc::channel::<Msg>(INBOX);
    spawn_input_thread(tx.clone());
    local.bridge(tx.clone(), Arc::new(SystemClock));
    let records = local.records();
    if let (Local::InProcess(engine), Some(dir)) = (&local, &opts.alerts_dir) {
        reload::watch_rules(engine, dir.clone(), tx.clone());
    }
    let mut kicks: std::collections::HashMap<String, mpsc::Sender<()>> = std::collections::HashMap::new();
    let mut reconnects: std::collections::HashMap<String, mpsc::Sender<client::Reconnect>> =
        std::collections::HashMap::new();
    for spec in &opts.backends {
        let (ctx, crx) = mpsc::channel::<ClientMsg>(64);
        let (kick_tx, kick) = mpsc::channel::<()>(16);
        let (reconnect_tx, reconnect) = mpsc::channel::<client::Reconnect>(1);
        // Read-only: commands queued by an earlier run stay queued (nothing is delivered).
        let outbox = (!opts.read_only).then(|| client::Outbox { records: records.clone(), kick });
        tokio::spawn(client::run_with_outbox(spec.clone(), Arc::new(SystemClock), ctx, outbox, Some(reconnect)));
        kicks.insert(spec.name.clone(), kick_tx);
        reconnects.insert(spec.name.clone(), reconnect_tx);
        forward(crx, tx.clone());
    }
    for spec in &opts.prometheus {
        let (ctx, crx) = mpsc::channel::<ClientMsg>(64);
        tokio::spawn(prometheus::run(spec.clone(), Arc::new(SystemClock), ctx));
        forward(crx, tx.clone());
    }
    // Tool runs report through their own channel, forwarded to the inbox.
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
    let mut runner = tools::Runner::new(builtins, servers, config_dir, records.clone(), atx.clone(), opts.read_only);
    let mut jq = jq_jobs::JqJobs::new(opts.jq.clone(), atx.clone());
    runner.start();
    let alertmanagers: std::collections::HashMap<String, crate::remote::alertmanager::AlertmanagerSpec> =
        opts.config.alertmanagers.iter().map(|c| (c.name.clone(), c.into())).collect();
    alerts::start(&alertmanagers.values().cloned().collect::<Vec<_>>(), atx.clone());
    // Kept for effects that answer later (commands on the local engine, outbox counts).
    let inbox = tx;

    let mut state = {
        let ctx = Ctx { now: clock.now_ms(), keymap: &opts.keymap, config: &opts.config };
        AppState::new(&ctx)
    };
    state.read_only = opts.read_only;
    state.refresh_hints(&opts.keymap);
    state.instance = instance_id();
    state.user = user_name();
    for name in opts.backends.iter().map(|b| &b.name).chain(opts.prometheus.iter().map(|p| &p.name)) {
        state.add_backend(name);
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
    let mut problems = opts.warnings.clone();
    // The preferences record, else the per-key ones of earlier builds; then user data.
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
                // The user's data: kept aside, never overwritten by the next save.
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
    if let Local::Attached(c) = &local {
        let text = format!(
            "attached to the opsdeck that holds the data directory (control socket {}): metrics, alerts and records are its",
            c.path().display()
        );
        state.notice = Some((clock.now_ms(), text));
    }
    if !problems.is_empty() {
        let title = if problems.len() == opts.warnings.len() {
            "Configuration problems: running on defaults"
        } else {
            "Problems at start"
        };
        state.warnings = problems.clone();
        state.overlay = Some(Overlay::message(title, problems));
        state.refresh_hints(&opts.keymap);
    }

    let (mut term, _guard) = terminal::init(opts.config.mouse)?;
    let size = term.size()?;
    state.size = (size.width, size.height);
    let mut last_frame: Option<Instant> = None;
    let mut quit = false;
    let mut signals = Signals::new()?;
    let mut first_frame = true;

    while !quit {
        if state.dirty {
            let due = last_frame.map_or(Instant::now(), |l| l + FRAME_GAP);
            if Instant::now() >= due {
                term.draw(|f| crate::ui::render(f, &state, &opts.theme))?;
                state.dirty = false;
                last_frame = Some(Instant::now());
                #[cfg(unix)]
                if std::mem::take(&mut first_frame) {
                    supervisor::test_hooks_after_first_frame();
                }
            }
        }
        let frame_due = state.dirty.then(|| last_frame.map_or(Instant::now(), |l| l + FRAME_GAP));
        let now_ms = clock.now_ms();
        let next_minute = Instant::now() + Duration::from_millis((60_000 - now_ms.rem_euclid(60_000)) as u64);

        let first = tokio::select! {
            m = rx.recv() => m,
            _ = tokio::time::sleep_until(frame_due.unwrap_or(next_minute)), if frame_due.is_some() => continue,
            _ = tokio::time::sleep_until(next_minute) => Some(Msg::Tick),
            _ = signals.recv() => Some(Msg::TermClosed),
        };
        let Some(first) = first else { break };
        let mut batch = vec![first];
        while let Ok(m) = rx.try_recv() {
            batch.push(m);
        }
        for m in batch {
            let screen = Rect::new(0, 0, state.size.0, state.size.1);
            let action = match m {
                Msg::TermClosed => {
                    quit = true;
                    continue;
                }
                Msg::Tick => Action::Tick,
                Msg::Backend(m) => backend_action(m),
                Msg::Events(evs) => Action::Events(evs),
                Msg::Action(a) => a,
                Msg::Reloaded(outcome) => reload::apply(&mut opts, *outcome),
                Msg::Term(ev) => match term_action(ev, screen, &state) {
                    Some(a) => a,
                    None => continue,
                },
            };
            let ctx = Ctx { now: clock.now_ms(), keymap: &opts.keymap, config: &opts.config };
            for effect in app::update(&mut state, action, &ctx) {
                match effect {
                    Effect::Quit => quit = true,
                    Effect::Suspend => {
                        terminal::suspend(&mut term)?;
                        state.dirty = true;
                    }
                    Effect::Redraw => {
                        terminal::repaint_all(&mut term)?;
                        state.dirty = true;
                    }
                    // The app refuses these already; the runtime never sends one either.
                    Effect::Command { source, id, command } if opts.read_only && command.changes_state() => {
                        let result =
                            Err(format!("read-only: {} is refused (opsdeck runs --read-only)", command.describe()));
                        let _ = atx.try_send(Action::CommandDone { source, id, result });
                    }
                    Effect::Command { source, id, command } => match alertmanagers.get(&source) {
                        Some(spec) => alerts::command(spec.clone(), id, command, atx.clone()),
                        None => run_command(&local, &inbox, &kicks, source, id, command),
                    },
                    Effect::Reload => reload::start(&opts, &local, &inbox),
                    Effect::Reconnect { source } => match reconnects.get(&source) {
                        Some(r) => reconnect(r.clone(), source, opts.config_dir.clone(), atx.clone()),
                        None => {
                            let text = format!("{source} is not a backend: only backends reconnect");
                            let _ = atx.try_send(Action::Notice(text));
                        }
                    },
                    Effect::RunTool { run, tool, args, confirmed } => runner.run(run, tool, args, confirmed),
                    Effect::CancelTool { run } => runner.cancel(run),
                    Effect::Jq { slot, job, filter, input, timeout_ms } => {
                        jq.start(slot, job, filter, input, Duration::from_millis(timeout_ms))
                    }
                    Effect::CancelJq { slot } => jq.cancel(slot),
                    Effect::Export { name, contents } => {
                        let (dir, atx) = (opts.exports_dir.clone(), atx.clone());
                        tokio::task::spawn_blocking(move || {
                            let text = match tools::write_export(&dir, &name, &contents) {
                                Ok(p) => format!("✓ exported to {}", p.display()),
                                Err(e) => {
                                    format!("✗ export to {}: {}", dir.join(&name).display(), crate::net::io_text(&e))
                                }
                            };
                            let _ = atx.blocking_send(Action::Notice(text));
                        });
                    }
                    Effect::Bell => {
                        use std::io::Write as _;
                        let mut out = std::io::stdout();
                        let _ = out.write_all(b"\x07").and_then(|_| out.flush());
                    }
                    Effect::Copy { text, name } => {
                        // The sequence goes out between frames; the file is
                        // written off the loop thread.
                        let sent = tools::send_osc52(&text);
                        let (dir, atx) = (opts.exports_dir.clone(), atx.clone());
                        tokio::task::spawn_blocking(move || {
                            let file = tools::write_export(&dir, &name, &text);
                            let notice = tools::copy_notice(sent, text.len(), &dir, file);
                            let _ = atx.blocking_send(Action::Notice(notice));
                        });
                    }
                    Effect::SaveUi { key, value } => {
                        let r = records.clone();
                        tokio::task::spawn_blocking(move || {
                            if let Err(err) = r.ui_put(&key, &value) {
                                tracing::warn!("saving ui preference {key}: {err}");
                            }
                        });
                    }
                }
            }
        }
    }
    drop(_guard);
    Ok(())
}

/// SIGTERM, SIGHUP (the SSH session went away), SIGINT and SIGQUIT (`kill -INT`;
/// the keys do not send them in raw mode) end the loop cleanly.
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
fn user_name() -> String {
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

/// Terminal events become actions; mouse positions are hit-tested here.
fn term_action(ev: TermEvent, screen: Rect, state: &AppState) -> Option<Action> {
    match ev {
        TermEvent::Key(k) => Some(Action::Key(k)),
        TermEvent::Paste(s) => Some(Action::Paste(s)),
        TermEvent::Resize(w, h) => Some(Action::Resize(w, h)),
        TermEvent::Mouse(m) => {
            let (target, item) = crate::ui::hit_test(screen, state, m.column, m.row)?;
            match m.kind {
                MouseEventKind::Down(MouseButton::Left) => Some(Action::Mouse(MouseInput::Click(target, item))),
                MouseEventKind::ScrollUp => Some(Action::Mouse(MouseInput::ScrollUp(target))),
                MouseEventKind::ScrollDown => Some(Action::Mouse(MouseInput::ScrollDown(target))),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A random prefix for this process's command ids.
fn instance_id() -> String {
    let mut b = [0u8; 6];
    let _ = getrandom::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Run a command: on the local engine directly; for a backend, through its
/// persisted outbox (sent now if connected, else on reconnect).
fn run_command(
    local: &Local,
    inbox: &mpsc::Sender<Msg>,
    kicks: &std::collections::HashMap<String, mpsc::Sender<()>>,
    source: String,
    id: String,
    command: crate::protocol::Command,
) {
    let (local, inbox, kick) = (local.clone(), inbox.clone(), kicks.get(&source).cloned());
    tokio::spawn(async move {
        let here = source == crate::protocol::LOCAL_SOURCE;
        let (l, s, i) = (local.clone(), source.clone(), id.clone());
        let done = tokio::task::spawn_blocking(move || {
            if here {
                Some(l.command(&i, command))
            } else {
                match l.records().outbox_push(&s, &i, &command) {
                    Ok(()) => None,
                    Err(err) => Some(Err(format!("queueing for {s}: {err}"))),
                }
            }
        })
        .await
        .unwrap_or_else(|err| Some(Err(err.to_string())));
        let msg = match done {
            Some(result) => ClientMsg::CommandDone { name: source, id, result },
            None => {
                if let Some(k) = kick {
                    let _ = k.try_send(());
                }
                let records = local.records();
                let name = source.clone();
                let count = tokio::task::spawn_blocking(move || records.outbox_list(&name).map_or(0, |l| l.len()))
                    .await
                    .unwrap_or(0);
                ClientMsg::Queued { name: source, count }
            }
        };
        let _ = inbox.send(Msg::Backend(msg)).await;
    });
}

/// Reconnect backend `name` now, with its token read again from the keyring
/// (so `opsdeck key set backend:NAME` in another terminal takes effect).
fn reconnect(
    to: mpsc::Sender<client::Reconnect>,
    name: String,
    config_dir: std::path::PathBuf,
    atx: mpsc::Sender<Action>,
) {
    tokio::spawn(async move {
        let key = format!("backend:{name}");
        let found = tokio::task::spawn_blocking(move || crate::secrets::get(&key, &config_dir)).await;
        let token = match found {
            Ok(Ok(found)) => found.map(|f| f.value),
            Ok(Err(e)) => {
                let _ = atx.send(Action::Notice(format!("{name}: cannot read its token: {e}"))).await;
                return;
            }
            Err(_) => return,
        };
        // A full channel means a reconnect is already on its way.
        let _ = to.try_send(client::Reconnect { token });
        let _ = atx.send(Action::Notice(format!("reconnecting {name}…"))).await;
    });
}

fn backend_action(m: ClientMsg) -> Action {
    use crate::app::Link;
    match m {
        ClientMsg::Connecting(n) => Action::Link(n, Link::Connecting),
        ClientMsg::Connected(n) => Action::Link(n, Link::Connected),
        ClientMsg::Retrying { name, at, attempt, error } => Action::Link(name, Link::Retrying { at, attempt, error }),
        ClientMsg::Refused { name, at, status, error } => Action::Link(name, Link::Refused { at, status, error }),
        ClientMsg::Reset(n) => Action::SourceReset(n),
        ClientMsg::Skipped { name, count, kinds } => Action::Notice(format!(
            "backend {name}: skipped {} of a kind this opsdeck cannot read ({}); a newer opsdeck shows them",
            crate::text::count(count as u64, "event", "events"),
            kinds.join(", ")
        )),
        ClientMsg::Events(evs) => Action::Events(evs),
        ClientMsg::Queued { name, count } => Action::Queued(name, count),
        ClientMsg::CommandDone { name, id, result } => Action::CommandDone { source: name, id, result },
    }
}

/// A backend's or poller's messages join the inbox.
fn forward(mut crx: mpsc::Receiver<ClientMsg>, tx: mpsc::Sender<Msg>) {
    tokio::spawn(async move {
        while let Some(m) = crx.recv().await {
            if tx.send(Msg::Backend(m)).await.is_err() {
                return;
            }
        }
    });
}

/// Terminal input on a plain thread: crossterm's read blocks.
fn spawn_input_thread(tx: mpsc::Sender<Msg>) {
    let spawned = std::thread::Builder::new().name("input".into()).spawn(move || {
        loop {
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
