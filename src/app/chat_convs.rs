//! The chat pane's conversations: the search across them (`filter`, `/`),
//! renaming one (`chat_rename`), the model picker (`chat_model_pick`) and
//! the stored input history. chat_pane.rs hands these keys and outcomes here.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::panes::chat::{ChatAction, ModelPicker};
use super::{AppState, BoxId, Ctx, Effect, Overlay, UserAction};

/// Keys the list's prompts (search, rename) leave to the keymap: Enter
/// opens or saves, Esc closes, the arrows and pages move through the hits,
/// Tab leaves the box. Every other key is typed.
fn leaves_prompt(key: &KeyEvent) -> bool {
    matches!(
        key.code,
        KeyCode::Enter
            | KeyCode::Esc
            | KeyCode::Up
            | KeyCode::Down
            | KeyCode::PageUp
            | KeyCode::PageDown
            | KeyCode::Tab
            | KeyCode::BackTab
    )
}

/// A key while the list's search or rename prompt takes keys.
pub(super) fn capture(s: &mut AppState, key: KeyEvent) -> Option<bool> {
    if s.focus != BoxId::ChatList || leaves_prompt(&key) {
        return None;
    }
    if let Some(r) = s.chat.rename.as_mut() {
        return Some(r.input.input(key));
    }
    if s.chat.search.as_ref().is_some_and(|x| x.editing) {
        return Some(s.chat.search_key(key));
    }
    None
}

/// Pasted text for the list's prompt (`None`: no prompt takes it).
pub(super) fn paste(s: &mut AppState, text: &str) -> Option<bool> {
    if s.focus != BoxId::ChatList {
        return None;
    }
    if let Some(r) = s.chat.rename.as_mut() {
        return Some(r.input.paste(text));
    }
    s.chat.search.as_ref().is_some_and(|x| x.editing).then(|| s.chat.search_paste(text))
}

/// Bound actions of this module: `Some(changed)` when handled here.
pub(super) fn on_user(s: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> Option<bool> {
    use UserAction as U;
    let in_list = s.focus == BoxId::ChatList;
    match a {
        U::Filter => {
            s.chat.search_start();
            s.focus = BoxId::ChatList;
            Some(true)
        }
        U::ChatRename => {
            if s.chat.rename_start(in_list) {
                s.focus = BoxId::ChatList;
            } else {
                s.notice = Some((ctx.now, "nothing to rename: select a conversation, or ask a question first".into()));
            }
            Some(true)
        }
        U::ChatModelPick => {
            if s.chat.models.is_empty() {
                s.notice = Some((ctx.now, "no models: add a [[provider]] with models to config.toml".into()));
            } else {
                s.overlay = Some(Overlay::ChatModels(Box::new(ModelPicker::new(&s.chat))));
            }
            Some(true)
        }
        U::ChatModelNext => {
            let text = match s.chat.model_next().cloned() {
                Some(m) => {
                    s.chat.choose_model(Some(m.clone()), effects);
                    format!("{m} is asked first in this conversation")
                }
                None => "no models: add a [[provider]] with models to config.toml".into(),
            };
            s.notice = Some((ctx.now, text));
            Some(true)
        }
        _ if in_list && s.chat.rename.is_some() => match a {
            U::Confirm => {
                match s.chat.rename_save(effects) {
                    Ok(title) => s.notice = Some((ctx.now, format!("renamed “{}”", crate::text::fit(&title, 40)))),
                    Err(why) => s.notice = Some((ctx.now, why)),
                }
                Some(true)
            }
            U::Close => {
                s.chat.rename = None;
                Some(true)
            }
            // Moving away from the row being renamed ends the prompt.
            _ if super::list::is_motion(a) => Some(false),
            _ => None,
        },
        _ if in_list && s.chat.search.is_some() => match a {
            U::Confirm => {
                if let Err(why) = s.chat.search_open(effects) {
                    s.notice = Some((ctx.now, why));
                }
                Some(true)
            }
            U::Close => Some(s.chat.search_close()),
            U::Up | U::Down => Some(s.chat.search_step(if a == U::Up { -1 } else { 1 })),
            U::PageUp | U::PageDown => Some(s.chat.search_step(if a == U::PageUp { -10 } else { 10 })),
            U::Top | U::Bottom => Some(s.chat.search_step(if a == U::Top { i64::MIN / 2 } else { i64::MAX / 2 })),
            // The hits are not conversations: delete needs the list.
            U::DeleteEntry => {
                s.notice = Some((ctx.now, "Esc closes the search; delete from the list".into()));
                Some(true)
            }
            _ => None,
        },
        _ => None,
    }
}

/// A bound action while the model picker is open (`None`: another popup).
pub(super) fn on_popup(s: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> Option<bool> {
    let Some(Overlay::ChatModels(p)) = s.overlay.as_mut() else { return None };
    if let Some(moved) = super::list::apply(a, &mut p.selected, p.shown.len(), super::list::PAGE) {
        return Some(moved);
    }
    match a {
        UserAction::Confirm => {
            let Some(m) = p.selected_model().cloned() else { return Some(false) };
            s.overlay = None;
            s.chat.choose_model(Some(m.clone()), effects);
            s.notice = Some((ctx.now, format!("{m} is asked first in this conversation (the fallback chain follows)")));
            Some(true)
        }
        UserAction::Close | UserAction::Quit => {
            s.overlay = None;
            Some(true)
        }
        _ => Some(false),
    }
}

/// Outcomes of this module's effects (a search's hits, the stored input
/// history); whether anything changed.
pub(super) fn on_action(s: &mut AppState, a: ChatAction) -> bool {
    match a {
        ChatAction::Found { query, result } => s.chat.search_found(query, result),
        ChatAction::History(stored) => {
            // Questions sent before the history was read stay, newest last.
            let mine = std::mem::take(&mut s.chat.history);
            let mut all = stored;
            all.retain(|h| !mine.contains(h));
            all.extend(mine);
            let extra = all.len().saturating_sub(super::panes::chat::INPUT_HISTORY);
            all.drain(..extra);
            s.chat.history = all;
            s.chat.history_pos = None;
            false
        }
        _ => false,
    }
}

/// After a conversation was opened: select the search hit's message, and
/// ask its model first.
pub(super) fn opened(s: &mut AppState, ctx: &Ctx) {
    if let Some((id, at)) = s.chat.open_at.take()
        && id == s.chat.conv.meta.id
    {
        let n = s.chat.conv.messages.len();
        s.chat.sel = at.map(|i| i as usize).filter(|i| *i < n);
    }
    if let Some(notice) = s.chat.restore_model() {
        s.notice = Some((ctx.now, notice));
    }
}

/// After every update: the search asks the store for what is typed.
pub(super) fn schedule_search(s: &mut AppState, effects: &mut Vec<Effect>) -> bool {
    s.chat.schedule_search(effects)
}
