//! Actions a person can bind to a key or pick from the command palette: the
//! vocabulary the keymap (config) and the reducer (app) share. A leaf module:
//! it imports nothing of ours, so neither depends on the other through it.
//!
//! The snake_case serde name is what keymap files use in `run = "…"`.

use serde::{Deserialize, Serialize};

/// Where a binding applies. Keymap files have one section per context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyContext {
    /// Everywhere unless a more specific context binds the key first.
    Global,
    /// The metrics pane has focus.
    Metrics,
    /// The workflows pane has focus.
    Workflows,
    /// The tools pane has focus.
    Tools,
    /// The alerts pane has focus.
    Alerts,
    /// The chat pane has focus (conversations, transcript, input).
    Chat,
    /// The chat pane's input takes the keys: looked up before [chat]; a key
    /// bound in neither is typed.
    ChatInput,
    /// A popup (help, command palette, message) is open.
    Popup,
}

impl KeyContext {
    pub const ALL: [KeyContext; 8] = [
        KeyContext::Global,
        KeyContext::Metrics,
        KeyContext::Workflows,
        KeyContext::Tools,
        KeyContext::Alerts,
        KeyContext::Chat,
        KeyContext::ChatInput,
        KeyContext::Popup,
    ];

    pub fn name(self) -> &'static str {
        match self {
            KeyContext::Global => "global",
            KeyContext::Metrics => "metrics",
            KeyContext::Workflows => "workflows",
            KeyContext::Tools => "tools",
            KeyContext::Alerts => "alerts",
            KeyContext::Chat => "chat",
            KeyContext::ChatInput => "chat_input",
            KeyContext::Popup => "popup",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s)
    }

    /// When the context's bindings apply (docs/keymaps.md's table is made from this).
    pub fn used_when(self) -> &'static str {
        match self {
            KeyContext::Global => "always, after the focused pane's context",
            KeyContext::Metrics => "the metrics pane has focus",
            KeyContext::Workflows => "the workflows pane has focus (lists, run detail, step log, compare, versions)",
            KeyContext::Tools => "the tools pane has focus (tool list, argument form, output, history)",
            KeyContext::Alerts => "the alerts pane has focus (alerts, detail, rules and checks)",
            KeyContext::Chat => "the chat pane has focus (conversations, transcript, input)",
            KeyContext::ChatInput => "the chat input takes the keys (before [chat]; unbound keys are typed)",
            KeyContext::Popup => "a popup is open (help, command palette, a message)",
        }
    }

    /// "[global], [metrics], … and [popup]": every context, for messages.
    pub fn list() -> String {
        let names: Vec<String> = Self::ALL.iter().map(|c| format!("[{}]", c.name())).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => names.concat(),
        }
    }
}

macro_rules! user_actions {
    ($( $variant:ident => $name:literal, $desc:literal; )*) => {
        /// A bindable, user-facing action.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum UserAction { $( #[serde(rename = $name)] $variant, )* }

        impl UserAction {
            /// Every user-facing action, in palette order.
            pub const ALL: &'static [UserAction] = &[ $( UserAction::$variant, )* ];

            /// The name used in keymap files and the command palette.
            pub fn name(self) -> &'static str {
                match self { $( UserAction::$variant => $name, )* }
            }

            /// One-line description for help and the palette.
            pub fn desc(self) -> &'static str {
                match self { $( UserAction::$variant => $desc, )* }
            }

            pub fn from_name(s: &str) -> Option<Self> {
                match s { $( $name => Some(UserAction::$variant), )* _ => None }
            }
        }
    };
}

user_actions! {
    Quit => "quit", "Quit opsdeck";
    Suspend => "suspend", "Suspend to the shell (fg to resume)";
    Help => "help", "Show keys for the focused pane";
    CommandPalette => "command_palette", "Run any action by name";
    FocusNext => "focus_next", "Focus the next box (in a form popup: the next field)";
    FocusPrev => "focus_prev", "Focus the previous box (in a form popup: the previous field)";
    FocusPane1 => "focus_pane_1", "Show the metrics pane";
    FocusPane2 => "focus_pane_2", "Show the workflows pane";
    FocusPane3 => "focus_pane_3", "Show the tools pane";
    FocusPane4 => "focus_pane_4", "Show the chat pane";
    FocusPane5 => "focus_pane_5", "Show the alerts pane";
    ZoomToggle => "zoom_toggle", "Zoom the focused box to full screen";
    Redraw => "redraw", "Redraw the whole screen";
    Up => "up", "Move the selection up";
    Down => "down", "Move the selection down";
    PageUp => "page_up", "Move the selection one page up";
    PageDown => "page_down", "Move the selection one page down";
    Top => "top", "Jump to the first row";
    Bottom => "bottom", "Jump to the last row";
    Close => "close", "Close the popup or clear the filter";
    Confirm => "confirm", "Run or accept the selected entry";
    WindowNext => "window_next", "Longer chart window (1m 5m 15m 1h 6h 24h)";
    WindowPrev => "window_prev", "Shorter chart window";
    FreezeToggle => "freeze_toggle", "Freeze or unfreeze the charts";
    MarkerCycle => "marker_cycle", "Chart glyphs: braille, block, ascii";
    Left => "left", "Previous choice (enum and boolean fields); scroll a workflow version's text left";
    Right => "right", "Next choice (enum and boolean fields); scroll a workflow version's text right";
    Filter => "filter", "Filter the list (processes, tools) or search the output";
    SortNext => "sort_next", "Sort processes by the next column";
    SortCpu => "sort_cpu", "Sort processes by CPU";
    SortMemory => "sort_memory", "Sort processes by memory";
    SortPid => "sort_pid", "Sort processes by pid";
    SortName => "sort_name", "Sort processes by name";
    SortReverse => "sort_reverse", "Reverse the process sort order";
    TreeToggle => "tree_toggle", "Show processes as a tree (children under their parent)";
    FilterUser => "filter_user", "Show only the processes of the selected process's user";
    SignalProcess => "signal_process", "Send a signal to the selected process (TERM, KILL, …), after asking";
    SourceNext => "source_next", "Show the next source (local engine, backends)";
    SourcePrev => "source_prev", "Show the previous source";
    Fleet => "fleet", "List every source with its headline figures";
    Reload => "reload", "Read config.toml, the theme, the keymap and the alert rules again";
    Reconnect => "reconnect", "Reconnect the shown backend now, reading its token again";
    Annotate => "annotate", "Note an event (e.g. a deploy) on the shown source's timeline";
    RunTool => "run_tool", "Run the tool with the form's arguments (or the selected chain)";
    CancelRun => "cancel_run", "Cancel the tool run in progress";
    Rerun => "rerun", "Run the selected run again with the same arguments";
    FavoriteToggle => "favorite_toggle", "Mark or unmark the selected tool as a favorite";
    MarkRun => "mark_run", "Mark a run to compare another run of the same tool with";
    CompareRuns => "compare_runs", "Compare the run with the marked one (or the one before) side by side";
    Export => "export", "Export the run's result (JSON, CSV, Markdown) or the conversation (Markdown) to a file";
    CopyResult => "copy_result", "Copy the run's result or the chat message to the clipboard (OSC 52, works over SSH)";
    ChainNext => "chain_next", "Feed the result (or a jq-selected part) into another tool";
    SaveChain => "save_chain", "Save the chain built from the last runs";
    DeleteEntry => "delete_entry", "Delete the selected saved chain or conversation (chat: press twice)";
    SearchNext => "search_next", "Next search match in the output";
    SearchPrev => "search_prev", "Previous search match in the output";
    Acknowledge => "acknowledge", "Acknowledge the alert with a note (again: take it back)";
    SilenceAlert => "silence_alert", "Silence the alert for a while";
    Unsilence => "unsilence", "End the silence that mutes the alert";
    JumpToMetric => "jump_to_metric", "Show the metric the alert watches";
    ToggleResolved => "toggle_resolved", "Show or hide resolved alerts";
    StartWorkflow => "start_workflow", "Start the selected workflow (a form of its inputs, saying which steps change things)";
    CancelWorkflowRun => "cancel_workflow_run", "Cancel the selected run (its running steps are stopped), after asking";
    ResumeRun => "resume_run", "Resume the selected interrupted run (ended steps are not run again)";
    AbandonRun => "abandon_run", "End the selected interrupted run as cancelled, running nothing, after asking";
    RerunFailed => "rerun_failed", "Rerun the selected run's failed steps (and those after them) as a new attempt";
    RerunFromStep => "rerun_from_step", "Rerun the run from the selected step (earlier outputs reused) as a new attempt";
    RerunWithInputs => "rerun_with_inputs", "Rerun the run with edited inputs: its start form, filled with the run's inputs (failed steps, or from the selected step)";
    ApproveStep => "approve_step", "Approve the waiting step of the run (with a note)";
    RejectStep => "reject_step", "Reject the waiting step of the run (with a note)";
    RunStateFilter => "run_state_filter", "Show runs in the next state (all, active, waiting, failed, …)";
    FollowLog => "follow_log", "Follow the step log at its end (new lines scroll in)";
    FailedLogsToggle => "failed_logs_toggle", "Show the logs of every failed step one after the other, or the selected step's";
    RunTimeFilter => "run_time_filter", "Show runs of the next time span (any time, last 1h, 24h, 7d)";
    EditWorkflow => "edit_workflow", "Open the workflow's definition file in $EDITOR (the TUI comes back when it exits)";
    SaveChainWorkflow => "save_chain_workflow", "Save the selected chain as a workflow file (one step per link)";
    MarkCompare => "mark_compare", "Mark the selected run (or version) to compare another one with";
    CompareWorkflowRuns => "compare_workflow_runs", "Compare the selected run with the marked one (or its workflow's previous run) side by side";
    WorkflowVersions => "workflow_versions", "List the selected workflow's (or run's) versions: text, diff, rollback";
    VersionDiff => "version_diff", "Diff the selected version against the current one (or against the marked version)";
    RollbackVersion => "rollback_version", "Write the selected version back to the workflow's file, after asking";
    AttemptPrev => "attempt_prev", "Show the open run's previous attempt (wraps to its latest)";
    AttemptNext => "attempt_next", "Show the open run's next attempt (wraps to its first)";
    ChatSend => "chat_send", "Send the message in the chat input";
    ChatNewline => "chat_newline", "Start a new line in the chat input";
    ChatHistoryPrev => "chat_history_prev", "Recall the message you sent before (chat input)";
    ChatHistoryNext => "chat_history_next", "Recall the message you sent after (chat input)";
    ChatStop => "chat_stop", "Stop the answer being streamed (the request is aborted); nothing else";
    ChatInterrupt => "chat_interrupt", "Ctrl-C in the chat: stop the answer being streamed; with none, clear the question being written; with neither, quit";
    ChatNew => "chat_new", "Start a new conversation";
    ChatListToggle => "chat_list_toggle", "Show or hide the conversation list";
    ChatRegenerate => "chat_regenerate", "Ask for the last answer again";
    ChatEditLast => "chat_edit_last", "Edit your last message and send it again (the answers after it are dropped)";
    ChatContinue => "chat_continue", "Ask the model to go on with an answer that was cut";
    ChatModelNext => "chat_model_next", "Ask the next model (provider/model) from now on";
    ChatAllowCall => "chat_allow_call", "Run the tool call the model asked for";
    ChatRefuseCall => "chat_refuse_call", "Refuse the tool call the model asked for (the model is told)";
    ChatAutoAllow => "chat_auto_allow", "Let read-only tools run without asking in this conversation (again: ask)";
    ChatCopyCode => "chat_copy_code", "Copy the selected answer's last code block (OSC 52 and a file)";
    ChatDiscover => "chat_discover", "Look for a local OpenAI-compatible server (Ollama, llama.cpp, LM Studio, vLLM) on loopback";
    ChatAddFound => "chat_add_found", "Add the local server found to config.toml as a [[provider]] (then reload)";
    AttachToChat => "attach_to_chat", "Attach the selection (alert, workflow run, tool result, metrics snapshot) to the chat's next question";
    ChatDetachLast => "chat_detach_last", "Remove the last attachment waiting for the next question";
    ChatDetachAll => "chat_detach_all", "Remove every attachment waiting for the next question";
    ChatTools => "chat_tools", "Choose the tools offered to the model in this conversation (type to filter, Space toggles)";
    ChatEditCall => "chat_edit_call", "Edit the waiting tool call's arguments in the tool's form, then run it with them";
    ChatToolsDefault => "chat_tools_default", "In the chat's tool choice: back to the default (every read-only tool)";
    ChatDraftSave => "chat_draft_save", "Save the workflow the assistant drafted into the workflows folder (a change only after its diff was shown)";
    ChatDraftEdit => "chat_draft_edit", "Open the assistant's workflow draft in $EDITOR (checked again when the editor exits)";
    ChatDraftDrop => "chat_draft_drop", "Drop the assistant's workflow draft (nothing is saved)";
    ChatRename => "chat_rename", "Rename the selected (or open) conversation";
    ChatModelPick => "chat_model_pick", "Pick the model asked first in this conversation (a list of the configured models)";
}

impl UserAction {
    /// The context an action belongs to: a pane's, or `Global` for actions
    /// that apply everywhere. The palette offers the focused pane's and the
    /// global ones.
    pub fn scope(self) -> KeyContext {
        use UserAction as U;
        match self {
            U::WindowNext
            | U::WindowPrev
            | U::FreezeToggle
            | U::MarkerCycle
            | U::SortNext
            | U::SortCpu
            | U::SortMemory
            | U::SortPid
            | U::SortName
            | U::SortReverse
            | U::TreeToggle
            | U::FilterUser
            | U::SignalProcess
            | U::SourceNext
            | U::SourcePrev
            | U::Fleet
            | U::Reconnect
            | U::Annotate => KeyContext::Metrics,
            U::RunTool
            | U::CancelRun
            | U::Rerun
            | U::FavoriteToggle
            | U::MarkRun
            | U::CompareRuns
            | U::Export
            | U::CopyResult
            | U::ChainNext
            | U::SaveChain
            | U::SaveChainWorkflow
            | U::DeleteEntry => KeyContext::Tools,
            U::StartWorkflow
            | U::CancelWorkflowRun
            | U::ResumeRun
            | U::AbandonRun
            | U::RerunFailed
            | U::RerunFromStep
            | U::RerunWithInputs
            | U::ApproveStep
            | U::RejectStep
            | U::RunStateFilter
            | U::FollowLog
            | U::FailedLogsToggle
            | U::RunTimeFilter
            | U::EditWorkflow
            | U::MarkCompare
            | U::CompareWorkflowRuns
            | U::WorkflowVersions
            | U::VersionDiff
            | U::RollbackVersion
            | U::AttemptPrev
            | U::AttemptNext => KeyContext::Workflows,
            U::Acknowledge | U::SilenceAlert | U::Unsilence | U::JumpToMetric | U::ToggleResolved => KeyContext::Alerts,
            U::ChatNew
            | U::ChatListToggle
            | U::ChatRegenerate
            | U::ChatEditLast
            | U::ChatContinue
            | U::ChatModelNext
            | U::ChatAllowCall
            | U::ChatRefuseCall
            | U::ChatAutoAllow
            | U::ChatCopyCode
            | U::ChatDiscover
            | U::ChatAddFound
            | U::ChatDetachLast
            | U::ChatDetachAll
            | U::ChatTools
            | U::ChatEditCall
            | U::ChatDraftSave
            | U::ChatDraftEdit
            | U::ChatDraftDrop
            | U::ChatRename
            | U::ChatModelPick
            | U::ChatStop
            | U::ChatInterrupt => KeyContext::Chat,
            // Only in the tool-choice popup, never from the palette.
            U::ChatToolsDefault => KeyContext::Popup,
            U::ChatSend | U::ChatNewline | U::ChatHistoryPrev | U::ChatHistoryNext => KeyContext::ChatInput,
            _ => KeyContext::Global,
        }
    }

    /// Keys that move a selection or a choice: bound to keys, never offered
    /// by the palette (it would close before anything moved).
    pub fn is_motion(self) -> bool {
        use UserAction as U;
        matches!(self, U::Up | U::Down | U::PageUp | U::PageDown | U::Top | U::Bottom | U::Left | U::Right)
    }

    /// Whether the action asks a source to change state, or writes a
    /// workflow file (refused, and left out
    /// of the palette and hints, under `--read-only`). Toggling a rule is
    /// `confirm` on the rules box; it is refused where it is turned into a command.
    pub fn changes_state(self) -> bool {
        matches!(
            self,
            UserAction::Annotate
                | UserAction::Acknowledge
                | UserAction::SilenceAlert
                | UserAction::Unsilence
                | UserAction::SignalProcess
                | UserAction::StartWorkflow
                | UserAction::CancelWorkflowRun
                | UserAction::ResumeRun
                | UserAction::AbandonRun
                | UserAction::RerunFailed
                | UserAction::RerunFromStep
                | UserAction::RerunWithInputs
                | UserAction::ApproveStep
                | UserAction::RejectStep
                | UserAction::EditWorkflow
                | UserAction::SaveChainWorkflow
                | UserAction::RollbackVersion
                | UserAction::ChatAddFound
                | UserAction::ChatDraftSave
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for a in UserAction::ALL {
            assert_eq!(UserAction::from_name(a.name()), Some(*a));
            let json = serde_json::to_string(a).unwrap();
            assert_eq!(json, format!("\"{}\"", a.name()));
        }
        assert_eq!(UserAction::from_name("nope"), None);
    }
}
