//! The one interface every pane gives the loop.
//!
//! Each pane has a glue module (`metrics_pane`, `workflows_pane`, `tools_pane`, `alerts_pane`)
//! with a `SPEC`: its boxes, keymap context, how it takes keys while one of
//! its text inputs is active, bound actions, paste, mouse wheel, resize and
//! status-bar hints. [`PANES`] registers them; `update`, key handling, hints
//! and the view dispatch through it, so a new pane is its own module plus one
//! entry here (and its `Pane`, `BoxId` and `KeyContext` variants).

use ratatui::crossterm::event::KeyEvent;

use super::{AppState, BoxId, Ctx, Effect, KeyContext, Pane, UserAction};

/// What the loop needs from a pane (plain function pointers: every entry gets
/// the whole [`AppState`], so a pane can open popups, send commands and move
/// focus without the loop knowing how).
pub struct PaneSpec {
    pub pane: Pane,
    /// Number key and tab title (numbers follow DESIGN.md's pane order).
    pub number: u8,
    pub title: &'static str,
    /// Boxes in focus (Tab) order with their titles; focus lands on the one
    /// at `start` when the pane is shown the first time.
    pub boxes: &'static [(BoxId, &'static str)],
    pub start: BoxId,
    /// Keymap context looked up (before `[global]`) while the pane has focus.
    pub context: KeyContext,
    /// A key while one of the pane's text inputs (filter, search, form field)
    /// takes keys: `Some(changed)` when it took the key, `None` to look the
    /// key up in the keymap. Ctrl-C never reaches it.
    pub capture: fn(&mut AppState, KeyEvent, &crate::config::keymap::Keymap) -> Option<bool>,
    /// A bound action while one of its boxes has focus and no popup is open;
    /// whether anything changed.
    pub on_user: fn(&mut AppState, UserAction, &Ctx, &mut Vec<Effect>) -> bool,
    /// A bound action while a popup is open: `Some(changed)` when the popup
    /// is this pane's own (it handled the action), `None` otherwise.
    pub on_popup: fn(&mut AppState, UserAction, &Ctx, &mut Vec<Effect>) -> Option<bool>,
    /// Bracketed paste while one of its boxes has focus.
    pub paste: fn(&mut AppState, &str) -> bool,
    /// Select item `index` of a box's list (a click on its row); whether
    /// the selection changed.
    pub select: fn(&mut AppState, BoxId, usize) -> bool,
    /// Mouse wheel over one of its boxes (`rows`: negative up).
    pub scroll: fn(&mut AppState, BoxId, i32) -> bool,
    /// The terminal is now `width` × `height` cells.
    pub resize: fn(&mut AppState, u16, u16),
    /// Status-bar hints for the focused box in its present mode (a filter
    /// being typed says how to leave it, a frozen chart `unfreeze`, …).
    pub hints: fn(&AppState, BoxId) -> Vec<Hint>,
}

/// One status-bar hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// A bound action shown with its key from the keymap (left out when
    /// unbound) and a word (`None`: the action's short word).
    Bound(UserAction, Option<&'static str>),
    /// A key a text input handles itself (`Enter`, `Esc`), and what it does.
    Fixed(&'static str, &'static str),
}

/// Bound actions with their short words.
pub fn bound(actions: &[UserAction]) -> Vec<Hint> {
    actions.iter().map(|a| Hint::Bound(*a, None)).collect()
}

/// Hints while a filter or search line takes the keys.
pub fn editing_line() -> Vec<Hint> {
    vec![Hint::Fixed("Enter", "keep"), Hint::Fixed("Esc", "clear")]
}

/// Every pane, in tab order.
pub static PANES: [&PaneSpec; 5] = [
    &super::metrics_pane::SPEC,
    &super::workflows_pane::SPEC,
    &super::tools_pane::SPEC,
    &super::chat_pane::SPEC,
    &super::alerts_pane::SPEC,
];

/// The spec of `pane`.
pub fn spec(pane: Pane) -> &'static PaneSpec {
    PANES.iter().find(|s| s.pane == pane).copied().unwrap_or(PANES[0])
}

/// The spec of the pane a box belongs to.
pub fn spec_of(b: BoxId) -> &'static PaneSpec {
    PANES.iter().find(|s| s.boxes.iter().any(|(id, _)| *id == b)).copied().unwrap_or(PANES[0])
}

/// The pane whose number key is `n`.
pub fn by_number(n: u8) -> Option<&'static PaneSpec> {
    PANES.iter().find(|s| s.number == n).copied()
}

/// A spec entry for panes without text inputs of their own.
pub fn no_capture(_: &mut AppState, _: KeyEvent, _: &crate::config::keymap::Keymap) -> Option<bool> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_box_belongs_to_exactly_one_pane_and_numbers_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for s in PANES {
            assert!(s.boxes.iter().any(|(b, _)| *b == s.start), "{:?} starts on a box it has", s.pane);
            for (b, _) in s.boxes {
                assert!(seen.insert(*b), "{b:?} is in two panes");
                assert_eq!(spec_of(*b).pane, s.pane);
            }
            assert_eq!(by_number(s.number).map(|x| x.pane), Some(s.pane));
            assert_eq!(spec(s.pane).number, s.number);
        }
        assert_eq!(PANES.map(|s| s.pane), Pane::ALL, "Pane::ALL is the tab order of PANES");
    }
}
