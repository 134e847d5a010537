//! Glue for the chat pane's tool popups: opening the tool choice (`T`) and
//! a waiting call's argument form (`o`), their keys, and their hints.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::chat_pane::with_out;
use super::pane::Hint;
use super::panes::chat::{ChatToolsPopup, Submitted, ToolChoice};
use super::{AppState, Ctx, Effect, Overlay, UserAction, list};

/// Open the choice of tools offered in the open conversation.
pub(super) fn open_choice(s: &mut AppState, ctx: &Ctx) -> bool {
    let choice = ToolChoice::new(&s.chat.conv.meta, &s.tools.catalog, s.read_only);
    if choice.rows.is_empty() && choice.missing().is_empty() {
        s.notice = Some((ctx.now, "the tool registry is empty: no tool to offer (see the tools pane, 3)".into()));
        return true;
    }
    s.overlay = Some(Overlay::ChatTools(Box::new(ChatToolsPopup::Choice(Box::new(choice)))));
    s.refresh_hints(ctx.keymap);
    true
}

/// Open the form of the call waiting for consent, filled with its arguments.
pub(super) fn open_call_form(s: &mut AppState, ctx: &Ctx) -> bool {
    match s.chat.call_form(&s.tools.catalog) {
        Ok(f) => {
            s.overlay = Some(Overlay::ChatTools(Box::new(ChatToolsPopup::EditCall(Box::new(f)))));
            s.refresh_hints(ctx.keymap);
        }
        Err(why) => s.notice = Some((ctx.now, why)),
    }
    true
}

/// A bound action while a chat tool popup is open.
pub(super) fn on_popup(s: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> Option<bool> {
    use UserAction as U;
    if !matches!(s.overlay, Some(Overlay::ChatTools(_))) {
        return None;
    }
    let Some(Overlay::ChatTools(mut p)) = s.overlay.take() else { return None };
    // Enter and Esc end the edit of a form field first.
    if matches!(a, U::Confirm | U::Close) && p.finish_edit() {
        s.overlay = Some(Overlay::ChatTools(p));
        return Some(true);
    }
    let keep = match &mut *p {
        ChatToolsPopup::Choice(c) => match a {
            _ if list::apply(a, &mut c.selected, c.shown.len(), list::PAGE).is_some() => {
                c.problem = None;
                true
            }
            U::ChatToolsDefault => c.reset(),
            U::Confirm => {
                let choice = c.clone();
                with_out(s, ctx, effects, |chat, o| chat.set_tools(&choice, o));
                false
            }
            U::Close => {
                s.notice = Some((ctx.now, "tools: nothing changed".into()));
                false
            }
            _ => true,
        },
        ChatToolsPopup::EditCall(f) => {
            // While a field is edited: ←/→ (and ↑/↓ in a multi-line field)
            // move its cursor; ↑/↓/Tab leave it, keeping and checking its text.
            if f.form.editing.is_some() {
                let multiline = f.form.current().is_some_and(|fd| fd.multiline());
                let code = match a {
                    U::Left => Some(KeyCode::Left),
                    U::Right => Some(KeyCode::Right),
                    U::Up if multiline => Some(KeyCode::Up),
                    U::Down if multiline => Some(KeyCode::Down),
                    _ => None,
                };
                if let Some(code) = code {
                    f.form.edit_key(KeyEvent::new(code, KeyModifiers::NONE));
                    s.overlay = Some(Overlay::ChatTools(p));
                    return Some(true);
                }
                if matches!(a, U::Up | U::Down | U::FocusPrev | U::FocusNext) {
                    f.form.finish_edit();
                }
            }
            match a {
                // Back to the consent prompt: the call still waits.
                U::Close => false,
                U::Up | U::FocusPrev => {
                    if f.on_run {
                        f.on_run = f.form.fields.is_empty();
                    } else {
                        f.form.move_by(-1);
                    }
                    true
                }
                U::Down | U::FocusNext => {
                    if !f.form.move_by(1) {
                        f.on_run = true;
                    }
                    true
                }
                U::Left | U::Right if !f.on_run => {
                    f.form.step(if a == U::Left { -1 } else { 1 });
                    true
                }
                U::Confirm if !f.on_run => {
                    f.form.activate();
                    true
                }
                U::Confirm => {
                    let mut submitted = None;
                    with_out(s, ctx, effects, |chat, o| {
                        submitted = Some(chat.submit_call_form(f, o));
                        true
                    });
                    submitted == Some(Submitted::Invalid)
                }
                _ => true,
            }
        }
    };
    if keep {
        s.overlay = Some(Overlay::ChatTools(p));
    }
    s.refresh_hints(ctx.keymap);
    Some(true)
}

/// Status-bar hints while a chat tool popup is open.
pub fn hints(p: &ChatToolsPopup) -> Vec<Hint> {
    use UserAction as U;
    match p {
        ChatToolsPopup::Choice(_) => vec![
            Hint::Fixed("Space", "toggle"),
            Hint::Bound(U::ChatToolsDefault, Some("default")),
            Hint::Bound(U::Confirm, Some("keep")),
            Hint::Bound(U::Close, Some("cancel")),
            Hint::Bound(U::Down, None),
        ],
        ChatToolsPopup::EditCall(f) if f.form.editing.is_some() => {
            vec![Hint::Fixed("editing", ""), Hint::Fixed("Enter/Esc", "done")]
        }
        ChatToolsPopup::EditCall(f) if f.on_run => vec![
            Hint::Bound(U::Confirm, Some("run with these")),
            Hint::Bound(U::Up, Some("arguments")),
            Hint::Bound(U::Close, Some("back to y/N")),
        ],
        ChatToolsPopup::EditCall(_) => vec![
            Hint::Bound(U::Confirm, Some("edit")),
            Hint::Bound(U::Down, Some("next (last: run)")),
            Hint::Bound(U::Close, Some("back to y/N")),
        ],
    }
}
