//! The messages of the update loop: [`Action`]s in (keys, mouse, events,
//! effects' outcomes), [`Effect`]s out (what only the runtime may do).

use std::sync::Arc;

use ratatui::crossterm::event::KeyEvent;

use super::panes;
use super::panes::metrics::MetricsAction;
use super::panes::tools::ToolsAction;
use super::{BoxId, Link, UserAction};
use crate::protocol::Envelope;

/// Mouse input after the runtime hit-tested it against the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MouseInput {
    /// A left click on a box, on the list item drawn there if any.
    Click(BoxId, Option<usize>),
    ScrollUp(BoxId),
    ScrollDown(BoxId),
}

/// Everything that can happen to the app.
#[derive(Debug, Clone)]
pub enum Action {
    Key(KeyEvent),
    Paste(String),
    Mouse(MouseInput),
    Resize(u16, u16),
    /// A backend's connection changed (from the client task).
    Link(String, Link),
    /// A backend's history was reset: forget what it sent.
    SourceReset(String),
    /// How many commands wait in a source's outbox.
    Queued(String, usize),
    /// A command was answered.
    CommandDone {
        source: String,
        id: String,
        result: Result<serde_json::Value, String>,
    },
    /// Time passed (the runtime ticks on the minute, for the clock).
    Tick,
    /// A batch of engine or backend events.
    Events(Vec<Arc<Envelope>>),
    /// A bound action, from a key, the palette or a test.
    User(UserAction),
    Metrics(MetricsAction),
    Tools(ToolsAction),
    Chat(panes::chat::ChatAction),
    /// A message for the status bar (an effect's outcome).
    Notice(String),
    /// An effect's outcome too long for the status bar (what went wrong and
    /// how to fix it): shown in a message popup.
    Message {
        title: String,
        lines: Vec<String>,
    },
    /// A `reload` finished: `lines` say what changed or why nothing did;
    /// `warnings` replace the configuration warnings when the config was applied.
    Reloaded {
        ok: bool,
        lines: Vec<String>,
        warnings: Option<Vec<String>>,
    },
    /// An alert source (an Alertmanager) was read whole, in part, or not at all.
    AlertSource {
        name: String,
        read: panes::alerts::SourceRead,
    },
}

/// What the runtime must do after an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Quit,
    Suspend,
    /// Clear the terminal and paint everything again.
    Redraw,
    /// Persist a small UI preference.
    SaveUi {
        key: String,
        value: String,
    },
    /// Read config.toml, the theme, the keymap and the alert rules again; the
    /// answer comes back as `Action::Reloaded`.
    Reload,
    /// Reconnect backend `source` now, re-reading its token.
    Reconnect {
        source: String,
    },
    /// Run a command on a source (the local engine, or a backend via its outbox).
    Command {
        source: String,
        id: String,
        command: crate::protocol::Command,
    },
    /// Run a tool; output and the end come back as `ToolsAction`s with `run`.
    RunTool {
        run: u64,
        tool: String,
        args: serde_json::Value,
        /// A person confirmed it (mutating tools).
        confirmed: bool,
    },
    CancelTool {
        run: u64,
    },
    /// Run a saved chain in the engine's chain executor; its steps' runs,
    /// their output and its end come back as `ToolsAction::Chain { chain_run, .. }`.
    RunChain {
        chain_run: u64,
        chain: crate::protocol::chain::Chain,
        /// A person confirmed its mutating steps.
        confirmed: bool,
    },
    /// Cancel the chain `chain_run`: its step in flight (or the link being
    /// evaluated) stops and no further step starts.
    CancelChain {
        chain_run: u64,
    },
    /// Evaluate a jq filter in a jq worker process (never on the loop), within
    /// `timeout_ms`; the answer comes back as `ToolsAction::Jq { job, .. }`. A
    /// new job in the same slot cancels the one before.
    Jq {
        slot: panes::tools::JqSlot,
        job: u64,
        filter: String,
        input: serde_json::Value,
        timeout_ms: u64,
    },
    /// Stop the evaluation in `slot` (nobody waits for its answer any more).
    CancelJq {
        slot: panes::tools::JqSlot,
    },
    /// Write `contents` to a file `name` in the exports directory.
    Export {
        name: String,
        contents: String,
    },
    /// Ring the terminal bell (a new alert fired).
    Bell,
    /// Copy to the clipboard through OSC 52, keeping a copy in the exports directory as `name`.
    Copy {
        text: String,
        name: String,
    },
    /// Open `path` in `editor` (a command line; the path is its last
    /// argument) with the terminal, the TUI handed over until it exits; the
    /// outcome comes back as a notice, and `then` (a chat workflow draft's
    /// next step, when given) after it. The loop's own.
    EditFile {
        path: std::path::PathBuf,
        editor: String,
        then: Option<panes::chat::DraftAction>,
    },
    /// Write a new workflow file `<stem>.toml` in the workflows folder, never
    /// over an existing file (`<stem>-2.toml`, …); its path, or the problem,
    /// comes back as a notice.
    SaveWorkflow {
        stem: String,
        contents: String,
    },
    /// The chat pane's streams, tool calls and store.
    Chat(panes::chat::ChatEffect),
}
