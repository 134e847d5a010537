//! Status-bar key hints, generated from the active keymap for the focused box.

use super::pane::{self, Hint};
use super::{AppState, BoxId, UserAction};
use crate::config::keymap::{Keymap, format_keys};

impl AppState {
    /// Rebuild status-bar hints from the active keymap.
    pub fn refresh_hints(&mut self, keymap: &Keymap) {
        let ctxs = self.contexts();
        if self.focus.pane() == super::Pane::Chat {
            let key = |a| {
                keymap
                    .binding_for(&[super::KeyContext::Chat, super::KeyContext::Global], a)
                    .map_or_else(|| a.name().to_string(), |b| format_keys(&b.keys))
            };
            self.chat.keys = [
                U::ChatAllowCall,
                U::ChatRefuseCall,
                U::ChatContinue,
                U::ChatRegenerate,
                U::ChatDiscover,
                U::ChatAddFound,
                U::Reload,
                U::DeleteEntry,
                U::ChatEditCall,
            ]
            .map(key);
            self.chat.draft_keys = [U::ChatDraftSave, U::ChatDraftEdit, U::ChatDraftDrop].map(key);
        }
        use UserAction as U;
        let wanted: Vec<Hint> = match &self.overlay {
            Some(o) => o.hints(),
            None => (pane::spec_of(self.focus).hints)(self, self.focus),
        };
        let read_only = self.read_only;
        self.hints = wanted
            .into_iter()
            .filter_map(|h| match h {
                Hint::Bound(a, _)
                    if read_only
                        && ((a.changes_state() && !self.read_only_allows(a))
                            || (a == U::Confirm && self.focus == BoxId::AlertRules)) =>
                {
                    None
                }
                Hint::Bound(a, word) => {
                    let desc = word.unwrap_or_else(|| short_desc(a));
                    keymap.binding_for(&ctxs, a).map(|b| (format_keys(&b.keys), desc.to_string()))
                }
                Hint::Fixed(key, desc) => Some((key.to_string(), desc.to_string())),
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
        UserAction::FocusPane2 => "workflows",
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
        UserAction::TreeToggle => "tree",
        UserAction::FilterUser => "user",
        UserAction::SignalProcess => "signal",
        other => other.name(),
    }
}
