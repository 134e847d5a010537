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
                Hint::Bound(a, word) => keymap.binding_for(&ctxs, a).map(|b| {
                    // The hint's own word, else a short one, else the keymap's
                    // description of the binding: never an action's name.
                    let desc = match word.or_else(|| short_desc(a)) {
                        Some(w) => w.to_string(),
                        None if !b.desc.trim().is_empty() => b.desc.clone(),
                        None => a.name().replace('_', " "),
                    };
                    (format_keys(&b.keys), desc)
                }),
                Hint::Fixed(key, desc) => Some((key.to_string(), desc.to_string())),
            })
            .collect();
    }
}

fn short_desc(a: UserAction) -> Option<&'static str> {
    Some(match a {
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
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{Ctx, Pane};

    /// Every box of every pane, in both shipped keymaps: a hint says what a
    /// key does in words, never by an action's name (`D delete_entry`).
    #[test]
    fn no_hint_is_an_action_name() {
        let config = crate::config::settings::Config::default();
        for keymap in [Keymap::fallback(), Keymap::load("emacs", None).expect("the bundled emacs keymap")] {
            let ctx = Ctx { now: 0, keymap: &keymap, config: &config };
            for pane in Pane::ALL {
                for b in pane.boxes() {
                    let mut s = AppState::new(&ctx);
                    s.focus = b;
                    s.refresh_hints(&keymap);
                    assert!(!s.hints.is_empty(), "{b:?} shows hints");
                    for (key, desc) in &s.hints {
                        // Words like `help` are both; a name with `_` is never a word.
                        assert!(!desc.contains('_'), "{b:?}: `{key} {desc}` names an action");
                    }
                }
            }
        }
    }
}
