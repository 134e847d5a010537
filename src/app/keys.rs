//! Keys and mouse input: text inputs first, then the keymap for the active contexts.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{AppState, Ctx, Effect, MouseInput, Pane, on_user};
use crate::config::keymap::{KeyPress, Lookup};

pub(super) fn on_key(state: &mut AppState, key: KeyEvent, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    if key.kind == KeyEventKind::Release {
        return false;
    }
    let text_char =
        matches!(key.code, KeyCode::Char(_)) && !key.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    // A focused text input gets first refusal of printable keys.
    if state.pending.is_empty() {
        if let Some(o) = &mut state.overlay
            && o.has_input()
            && text_char
        {
            return o.input(key, ctx.keymap);
        }
        if state.overlay.is_none() && state.metrics.filter_editing() && text_char {
            return state.metrics.filter_input(key);
        }
        // A field, filter or search of the tools pane takes every key but Ctrl-C.
        let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if state.overlay.is_none() && state.focus.pane() == Pane::Tools && state.tools.capturing() && !ctrl_c {
            return state.tools.text_key(key);
        }
        if state.overlay.is_none() && state.focus.pane() == Pane::Alerts && state.alerts.filter_editing && !ctrl_c {
            return state.alerts.filter_key(key);
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
            if state.metrics.filter_editing() {
                return state.metrics.filter_input(key);
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
        MouseInput::Click(b) => {
            let changed = state.focus != b;
            state.focus = b;
            changed
        }
        MouseInput::ScrollUp(b) if b.pane() == Pane::Tools => state.tools.scroll_by(b, -3),
        MouseInput::ScrollDown(b) if b.pane() == Pane::Tools => state.tools.scroll_by(b, 3),
        MouseInput::ScrollUp(b) => state.metrics.scroll(b, -3),
        MouseInput::ScrollDown(b) => state.metrics.scroll(b, 3),
    }
}
