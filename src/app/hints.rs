//! Status-bar key hints, generated from the active keymap for the focused box.

use super::overlay::AlertPopup;
use super::pane::{self, Hint};
use super::{AppState, BoxId, Overlay, UserAction};
use crate::config::keymap::{Keymap, format_keys};

impl AppState {
    /// Rebuild status-bar hints from the active keymap.
    pub fn refresh_hints(&mut self, keymap: &Keymap) {
        let ctxs = self.contexts();
        use UserAction as U;
        let wanted: Vec<Hint> = match &self.overlay {
            // Forms say what Enter does and how to move between their fields.
            Some(Overlay::Alert(p)) => match &**p {
                AlertPopup::Silence(d) => {
                    let mut v = vec![
                        Hint::Bound(U::Close, Some("cancel")),
                        Hint::Bound(U::Confirm, Some("create")),
                        Hint::Bound(U::FocusNext, Some("next field")),
                    ];
                    if d.field == crate::app::panes::silence::SilenceField::Duration {
                        v.push(Hint::Fixed("←/→", "duration"));
                    }
                    v
                }
                AlertPopup::Ack { .. } => {
                    vec![Hint::Bound(U::Close, Some("cancel")), Hint::Bound(U::Confirm, Some("record"))]
                }
            },
            // A message has nothing to run or move through.
            Some(Overlay::Message(_)) => vec![Hint::Bound(U::Close, Some("close"))],
            Some(Overlay::Signal(p)) if p.confirming => {
                vec![Hint::Fixed("y", "send"), Hint::Fixed("n/Esc", "back to the list")]
            }
            Some(Overlay::Signal(_)) => vec![
                Hint::Bound(U::Confirm, Some("choose")),
                Hint::Bound(U::Close, Some("cancel")),
                Hint::Bound(U::Down, None),
                Hint::Bound(U::Up, None),
            ],
            Some(_) => vec![
                Hint::Bound(U::Close, None),
                Hint::Bound(U::Confirm, Some("run")),
                Hint::Bound(U::Down, None),
                Hint::Bound(U::Up, None),
            ],
            None => (pane::spec_of(self.focus).hints)(self, self.focus),
        };
        let read_only = self.read_only;
        self.hints = wanted
            .into_iter()
            .filter_map(|h| match h {
                Hint::Bound(a, _)
                    if read_only && (a.changes_state() || (a == U::Confirm && self.focus == BoxId::AlertRules)) =>
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
