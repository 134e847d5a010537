//! The Elm-style core: `update(&mut AppState, Action, &Ctx) -> Vec<Effect>`.
//!
//! Synchronous and IO-free. Each pane has its own state, action enum and
//! reducer under `panes/`; overlays (help, palette, messages) live in `overlay`.

mod alerts_pane;
mod attach;
mod chat_convs;
mod chat_pane;
mod chat_tools;
mod commands;
mod hints;
pub mod input;
mod keys;
pub mod lifecycle;
pub mod list;
mod metrics_pane;
mod msg;
pub mod overlay;
pub mod pane;
pub mod panes;
pub(crate) mod read_only;
mod source;
mod tools_pane;
mod user;
mod workflows_extra;
mod workflows_history;
mod workflows_pane;

pub use crate::actions::{KeyContext, UserAction};
use crate::config::keymap::{KeyPress, Keymap};
use crate::config::settings::Config;
use crate::protocol::{LOCAL_SOURCE, Ts};
pub use msg::{Action, Effect, MouseInput};
pub use overlay::Overlay;
use panes::alerts::{AlertsState, SourceRead};
use panes::metrics::MetricsState;
use panes::tools::ToolsState;
use panes::workflows::WorkflowsState;
pub use source::{Link, SourceStatus};

/// A box on screen that can take focus (a pane, or a part of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BoxId {
    Cpu,
    Memory,
    Network,
    Disks,
    Processes,
    ToolList,
    ToolForm,
    ToolOutput,
    ToolHistory,
    AlertList,
    AlertDetail,
    AlertRules,
    /// The workflows the sources can start.
    WfList,
    /// Runs, newest first.
    WfRuns,
    /// The open run: gantt, steps, the selected step's arguments and outputs.
    WfDetail,
    /// The selected step's log (or every failed step's).
    WfLog,
    /// Two runs side by side.
    WfCompare,
    /// A workflow's stored versions, one's text or a diff between two.
    WfVersions,
    /// Saved conversations.
    ChatList,
    /// The open conversation.
    ChatTranscript,
    /// The question being written.
    ChatInput,
}

/// The panes, each a screen of boxes (switched with the number keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    Metrics,
    Workflows,
    Tools,
    Chat,
    Alerts,
}

impl Pane {
    pub const ALL: [Pane; 5] = [Pane::Metrics, Pane::Workflows, Pane::Tools, Pane::Chat, Pane::Alerts];

    /// The number key and tab label (numbers follow DESIGN.md's pane order).
    pub fn label(self) -> (u8, &'static str) {
        let s = pane::spec(self);
        (s.number, s.title)
    }

    /// Focus order (Tab) of the pane's boxes.
    pub fn boxes(self) -> impl Iterator<Item = BoxId> {
        pane::spec(self).boxes.iter().map(|(b, _)| *b)
    }
}

impl BoxId {
    pub fn pane(self) -> Pane {
        pane::spec_of(self).pane
    }

    pub fn context(self) -> KeyContext {
        pane::spec_of(self).context
    }

    pub fn title(self) -> &'static str {
        let boxes = pane::spec_of(self).boxes;
        boxes.iter().find(|(b, _)| *b == self).map_or("", |(_, t)| t)
    }
}

/// Read-only context of an update: the clock, keymap and configuration.
pub struct Ctx<'a> {
    pub now: Ts,
    pub keymap: &'a Keymap,
    pub config: &'a Config,
}

/// The one owned application state.
pub struct AppState {
    pub focus: BoxId,
    /// Each pane's box that had focus last (restored when coming back).
    pub last_focus: std::collections::HashMap<Pane, BoxId>,
    pub zoomed: bool,
    pub overlay: Option<Overlay>,
    pub pending: Vec<KeyPress>,
    pub metrics: MetricsState,
    pub tools: ToolsState,
    pub alerts: AlertsState,
    pub workflows: WorkflowsState,
    pub chat: panes::chat::ChatState,
    pub sources: Vec<SourceStatus>,
    pub now: Ts,
    /// Problems met while loading config/theme/keymap; shown in the status bar.
    pub warnings: Vec<String>,
    /// What the start found besides configuration problems.
    pub start: lifecycle::StartNotices,
    /// The engine runs in this process (set by the runtime; not attached to
    /// another opsdeck): quitting interrupts its runs in flight.
    pub local_engine: bool,
    /// Key hints for the status bar: (keys, description), from the keymap.
    pub hints: Vec<(String, String)>,
    pub size: (u16, u16),
    pub read_only: bool,
    /// Prefix of command ids (unique per process) and the user's name; set by the runtime.
    pub instance: String,
    pub user: String,
    commands_sent: u64,
    /// What each command in flight does, for the message when it is answered.
    pending_commands: std::collections::HashMap<String, String>,
    /// Commands whose answer opens a process's details.
    details_pending: std::collections::HashSet<String>,
    /// A short message for the status bar and when it was set.
    pub notice: Option<(Ts, String)>,
    /// Local time offset for the clock (the runtime sets it; tests keep UTC).
    pub utc_offset_s: i32,
    /// Set by every update that changed what is on screen.
    pub dirty: bool,
}

impl AppState {
    pub fn new(ctx: &Ctx) -> AppState {
        let mut s = AppState {
            focus: pane::PANES[0].start,
            last_focus: Default::default(),
            zoomed: false,
            overlay: None,
            pending: Vec::new(),
            metrics: MetricsState::new(ctx.config),
            tools: ToolsState::default(),
            alerts: AlertsState::default(),
            workflows: WorkflowsState::default(),
            chat: Default::default(),
            sources: vec![SourceStatus::local()],
            now: ctx.now,
            warnings: Vec::new(),
            start: Default::default(),
            local_engine: false,
            hints: Vec::new(),
            size: (80, 24),
            read_only: false,
            instance: "opsdeck".into(),
            user: String::new(),
            commands_sent: 0,
            pending_commands: Default::default(),
            details_pending: Default::default(),
            notice: None,
            utc_offset_s: 0,
            dirty: true,
        };
        for am in &ctx.config.alertmanagers {
            s.alerts.health.expect(&am.name);
        }
        s.refresh_hints(ctx.keymap);
        s
    }

    /// Add a backend to the status bar before it connects.
    pub fn add_backend(&mut self, name: &str) {
        self.metrics.ensure_source(name);
        self.add_link(name, false);
    }

    /// Show a source's connection in the status bar (a Prefect server: it
    /// has no host metrics, and speaks only on change: `on_change`).
    pub fn add_link(&mut self, name: &str, on_change: bool) {
        if !self.sources.iter().any(|s| s.name == name) {
            self.sources.push(SourceStatus {
                name: name.into(),
                last_event: None,
                link: Link::Connecting,
                offline_since: None,
                queued: 0,
                on_change,
            });
        }
    }

    /// When a source counts as stale (three missed samples, at least 3 s).
    pub fn stale_after(&self) -> i64 {
        (self.metrics.refresh_ms * 3).max(3000)
    }

    /// Status of the source the metrics pane shows.
    pub fn current_source(&self) -> Option<&SourceStatus> {
        let name = &self.metrics.cur().name;
        self.sources.iter().find(|s| &s.name == name)
    }

    /// Whether action `a` can do something now: it belongs to the focused
    /// pane or everywhere, it changes nothing under `--read-only`, and what
    /// it works on is there (the command palette offers only these).
    pub fn applies(&self, a: UserAction) -> bool {
        use UserAction as U;
        let scope = a.scope();
        if scope != KeyContext::Global && scope != self.focus.context() {
            return false;
        }
        if self.read_only && a.changes_state() && !self.read_only_allows(a) {
            return false;
        }
        match a {
            U::Reconnect => self.metrics.cur().name != LOCAL_SOURCE,
            U::SourceNext | U::SourcePrev => self.metrics.sources.len() > 1,
            U::CancelRun => self.tools.runs.iter().any(|r| r.running()),
            U::SearchNext | U::SearchPrev => match self.focus.pane() {
                Pane::Tools => !self.tools.matches.is_empty(),
                Pane::Workflows => !self.workflows.log_hits().is_empty(),
                _ => false,
            },
            U::StartWorkflow => !self.workflows.workflows.is_empty(),
            U::AttachToChat => self.focus.pane() != Pane::Chat,
            U::ChatDetachLast | U::ChatDetachAll => !self.chat.attach.items.is_empty(),
            _ => true,
        }
    }

    /// Keymap contexts in priority order for the current focus.
    pub fn contexts(&self) -> Vec<KeyContext> {
        match (&self.overlay, self.focus) {
            (Some(_), _) => vec![KeyContext::Popup],
            (None, BoxId::ChatInput) => vec![KeyContext::ChatInput, KeyContext::Chat, KeyContext::Global],
            (None, f) => vec![f.context(), KeyContext::Global],
        }
    }
}

/// Apply one action. Sets `state.dirty` when the screen must be repainted.
pub fn update(state: &mut AppState, action: Action, ctx: &Ctx) -> Vec<Effect> {
    let minute_before = state.now.div_euclid(60_000);
    state.now = ctx.now;
    state.workflows.now = ctx.now;
    let mut effects = Vec::new();
    let (focus_before, overlay_before) = (state.focus, state.overlay.is_some());
    let changed = match action {
        Action::Key(key) => keys::on_key(state, key, ctx, &mut effects),
        Action::Paste(text) => match &mut state.overlay {
            Some(o) => o.paste(&text, ctx.keymap),
            None => (pane::spec_of(state.focus).paste)(state, &text),
        },
        Action::Mouse(m) => {
            let changed = keys::on_mouse(state, m);
            if state.overlay.is_none() {
                workflows_extra::after_mouse(state, m, &mut effects);
            }
            changed
        }
        Action::Resize(w, h) => {
            state.size = (w, h);
            for p in pane::PANES {
                (p.resize)(state, w, h);
            }
            true
        }
        Action::Tick => ctx.now.div_euclid(60_000) != minute_before,
        Action::Link(name, link) => {
            // A source first heard of here is a backend (a Prefect source was
            // added at start, and has no host metrics).
            if !state.sources.iter().any(|s| s.name == name) {
                state.add_backend(&name);
            }
            if let Some(src) = state.sources.iter_mut().find(|s| s.name == name) {
                match &link {
                    Link::Connected | Link::Local => src.offline_since = None,
                    Link::Retrying { .. } | Link::Refused { .. } => {
                        src.offline_since.get_or_insert(ctx.now);
                    }
                    Link::Connecting => {}
                }
                src.link = link.clone();
            }
            // Reads the workflows pane could not send while it was down.
            if link == Link::Connected {
                workflows_pane::read_what_is_shown(state, &mut effects);
            }
            // A backend's alerts are unknown while it is offline.
            if state.alerts.health.expected.contains(&name) {
                match link {
                    Link::Retrying { error, .. } => {
                        state.alerts.source_read(name, SourceRead::Failed(format!("offline: {error}")));
                    }
                    Link::Refused { error, .. } => {
                        state.alerts.source_read(name, SourceRead::Failed(format!("refused: {error}")));
                    }
                    Link::Connected if state.alerts.health.failed.contains_key(&name) => {
                        state.alerts.source_read(name, SourceRead::Whole);
                    }
                    _ => {}
                }
            }
            true
        }
        Action::SourceReset(name) => {
            state.metrics.reset_source(&name);
            state.workflows.reset_source(&name);
            true
        }
        Action::Queued(name, n) => {
            state.add_backend(&name);
            state.sources.iter_mut().filter(|s| s.name == name).for_each(|s| s.queued = n);
            true
        }
        Action::CommandDone { source, id, result } if state.details_pending.remove(&id) => {
            state.pending_commands.remove(&id);
            metrics_pane::details_answered(state, &source, result, ctx);
            true
        }
        Action::CommandDone { source, id, result } if state.chat.attach.waits_for(&id) => {
            attach::answered(state, &id, &source, result, ctx, &mut effects)
        }
        Action::CommandDone { source, id, result } if state.workflows.asked.contains_key(&id) => {
            workflows_pane::answered(state, &id, &source, result, ctx, &mut effects);
            true
        }
        Action::CommandDone { source, id, result } => {
            let what = state.pending_commands.remove(&id).unwrap_or_else(|| "command".into());
            let text = match result {
                Ok(_) => format!("✓ {what} on {source}"),
                Err(e) => format!("✗ {source} refused ({what}): {e}"),
            };
            state.notice = Some((ctx.now, text));
            true
        }
        Action::Events(batch) => {
            for env in &batch {
                // A history snapshot is not a sign of life; samples are.
                let live = !matches!(env.event, crate::protocol::Event::MetricsHistory(_));
                if let Some(src) = state.sources.iter_mut().find(|s| s.name == env.source)
                    && live
                {
                    src.last_event = Some(env.ts.max(src.last_event.unwrap_or(env.ts)));
                }
                state.metrics.ingest(env);
                state.alerts.ingest(env);
                state.workflows.ingest(env);
            }
            if std::mem::take(&mut state.alerts.bell) {
                effects.push(Effect::Bell);
            }
            !batch.is_empty()
        }
        Action::User(a) => user::on_user(state, a, ctx, &mut effects),
        Action::Metrics(m) => state.metrics.update(m, &mut effects),
        Action::Tools(a) => tools_pane::on_action(state, a, ctx, &mut effects),
        Action::Chat(a) => chat_pane::on_action(state, a, ctx, &mut effects),
        Action::AlertSource { name, read } => state.alerts.source_read(name, read),
        Action::Notice(text) => {
            state.notice = Some((ctx.now, text));
            true
        }
        Action::Message { title, lines } => {
            state.overlay = Some(Overlay::message(title, lines));
            true
        }
        Action::Reloaded { ok, lines, warnings } => {
            if let Some(w) = warnings {
                state.warnings = w;
                state.metrics.thresholds = ctx.config.metrics.thresholds;
            }
            let title = if ok { "Reloaded" } else { "Reload: not everything was applied" };
            state.overlay = Some(Overlay::message(title, lines));
            state.refresh_hints(ctx.keymap);
            true
        }
    };
    // jq previews are evaluated off the loop: ask for them (or cancel them) here.
    let changed = tools_pane::schedule_jq(state, &mut effects) || changed;
    // The chat search asks the store for what is typed (one search at a time).
    let changed = chat_convs::schedule_search(state, &mut effects) || changed;
    let changed = lifecycle::after_update(state) || changed;
    let moved = (focus_before, overlay_before) != (state.focus, state.overlay.is_some());
    if moved {
        state.last_focus.insert(state.focus.pane(), state.focus);
    }
    if changed || moved {
        // Hints follow the mode (a filter typed into, frozen, zoomed): a few keymap lookups.
        state.refresh_hints(ctx.keymap);
        state.dirty = true;
    }
    effects
}

#[cfg(test)]
mod feel_tests;
#[cfg(test)]
mod lifecycle_tests;
#[cfg(test)]
mod process_tests;
#[cfg(test)]
mod tests;
