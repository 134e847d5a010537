//! Status-bar key hints, generated from the active keymap for the focused box.

use super::{AppState, BoxId, Pane, UserAction};
use crate::config::keymap::{Keymap, format_keys};

impl AppState {
    /// Rebuild status-bar hints from the active keymap.
    pub fn refresh_hints(&mut self, keymap: &Keymap) {
        let ctxs = self.contexts();
        use UserAction as U;
        let wanted: &[UserAction] = if self.overlay.is_some() {
            &[U::Close, U::Confirm, U::Down, U::Up]
        } else if self.focus == BoxId::ToolList {
            &[U::Help, U::Confirm, U::RunTool, U::Filter, U::FavoriteToggle, U::FocusNext, U::FocusPane1, U::Quit]
        } else if self.focus == BoxId::ToolForm {
            &[U::Help, U::Confirm, U::Left, U::RunTool, U::CancelRun, U::FocusNext, U::Quit]
        } else if self.focus == BoxId::ToolOutput {
            &[U::Help, U::Filter, U::SearchNext, U::ChainNext, U::Export, U::CopyResult, U::CompareRuns, U::CancelRun]
        } else if self.focus == BoxId::AlertRules {
            &[U::Help, U::Confirm, U::FocusNext, U::FocusPane1, U::Quit]
        } else if self.focus.pane() == Pane::Alerts {
            &[
                U::Help,
                U::Acknowledge,
                U::SilenceAlert,
                U::Unsilence,
                U::JumpToMetric,
                U::Filter,
                U::ToggleResolved,
                U::FocusNext,
            ]
        } else if self.focus == BoxId::ToolHistory {
            &[U::Help, U::Confirm, U::Rerun, U::MarkRun, U::CompareRuns, U::Export, U::ChainNext, U::SaveChain]
        } else {
            &[
                UserAction::Help,
                UserAction::CommandPalette,
                UserAction::FocusNext,
                UserAction::ZoomToggle,
                UserAction::WindowNext,
                UserAction::FreezeToggle,
                UserAction::Filter,
                UserAction::SortNext,
                UserAction::Quit,
            ]
        };
        let read_only = self.read_only;
        self.hints = wanted
            .iter()
            .filter(|a| !(read_only && (a.changes_state() || (**a == U::Confirm && self.focus == BoxId::AlertRules))))
            .filter_map(|a| {
                let desc = match (a, self.focus) {
                    (U::Confirm, _) if self.overlay.is_some() => "run",
                    (U::Confirm, BoxId::ToolList) => "open",
                    (U::Confirm, BoxId::ToolForm) => "edit",
                    (U::Confirm, BoxId::ToolHistory) => "show",
                    (U::Confirm, BoxId::AlertRules) => "on/off",
                    _ => short_desc(*a),
                };
                keymap.binding_for(&ctxs, *a).map(|b| (format_keys(&b.keys), desc.to_string()))
            })
            .collect();
    }
}

fn short_desc(a: UserAction) -> &'static str {
    match a {
        UserAction::Help => "help",
        UserAction::CommandPalette => "commands",
        UserAction::FocusNext => "focus",
        UserAction::ZoomToggle => "zoom",
        UserAction::WindowNext => "window",
        UserAction::FreezeToggle => "freeze",
        UserAction::Filter => "filter",
        UserAction::SortNext => "sort",
        UserAction::Quit => "quit",
        UserAction::Close => "close",
        UserAction::Confirm => "run",
        UserAction::Down | UserAction::Up => "move",
        UserAction::FocusPane1 => "metrics",
        UserAction::RunTool => "run",
        UserAction::CancelRun => "cancel",
        UserAction::Rerun => "re-run",
        UserAction::FavoriteToggle => "favorite",
        UserAction::MarkRun => "mark",
        UserAction::CompareRuns => "compare",
        UserAction::Export => "export",
        UserAction::CopyResult => "copy",
        UserAction::ChainNext => "chain",
        UserAction::SaveChain => "save chain",
        UserAction::SearchNext => "next match",
        UserAction::Left => "choice",
        UserAction::Acknowledge => "ack",
        UserAction::SilenceAlert => "silence",
        UserAction::Unsilence => "unsilence",
        UserAction::JumpToMetric => "metric",
        UserAction::ToggleResolved => "resolved",
        other => other.name(),
    }
}
