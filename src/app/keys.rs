//! Keys and mouse input: text inputs first, then the keymap for the active contexts.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{AppState, Ctx, Effect, MouseInput, pane, user::on_user};
use crate::config::keymap::{KeyPress, Lookup};

pub(super) fn on_key(state: &mut AppState, key: KeyEvent, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    if key.kind == KeyEventKind::Release {
        return false;
    }
    let text_char =
        matches!(key.code, KeyCode::Char(_)) && !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    // Home/End move the cursor of a text field; in a list they go to its ends.
    let text_key = text_char || matches!(key.code, KeyCode::Home | KeyCode::End);
    if let Some(changed) = super::lifecycle::before_key(state, key, ctx, effects) {
        return changed;
    }
    // A focused text input gets first refusal of printable keys.
    if state.pending.is_empty() {
        if let Some(o) = &mut state.overlay
            && o.has_input()
            && text_key
        {
            return o.input(key, ctx.keymap);
        }
        // A pane's field, filter or search takes every key but Ctrl-C.
        let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if state.overlay.is_none()
            && !ctrl_c
            && let Some(changed) = (pane::spec_of(state.focus).capture)(state, key, ctx.keymap)
        {
            return changed;
        }
    }
    state.pending.push(KeyPress::from_event(&key));
    let ctxs = state.contexts();
    match ctx.keymap.lookup(&ctxs, &state.pending) {
        Lookup::Pending => true,
        Lookup::Matched(a) => {
            state.pending.clear();
            on_user(state, a, ctx, effects)
        }
        Lookup::NoMatch => {
            let was_chord = state.pending.len() > 1;
            state.pending.clear();
            // Unbound editing keys (Backspace, arrows, Home…) go to the focused input.
            if let Some(o) = &mut state.overlay
                && o.has_input()
            {
                return o.input(key, ctx.keymap);
            }
            was_chord
        }
    }
}

pub(super) fn on_mouse(state: &mut AppState, m: MouseInput) -> bool {
    if state.overlay.is_some() {
        return false;
    }
    match m {
        MouseInput::Click(b, item) => {
            let changed = state.focus != b;
            state.focus = b;
            let selected = item.is_some_and(|i| (pane::spec_of(b).select)(state, b, i));
            changed || selected
        }
        MouseInput::ScrollUp(b) => (pane::spec_of(b).scroll)(state, b, -3),
        MouseInput::ScrollDown(b) => (pane::spec_of(b).scroll)(state, b, 3),
    }
}
