//! Glue between the app and the chat pane: its boxes, keys, hints, and the
//! outcomes of its effects.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::pane::{Hint, PaneSpec};
use super::panes::chat::{ChatAction, ChatEffect, Out};
use super::{AppState, BoxId, Ctx, Effect, KeyContext, Pane, UserAction};
use crate::config::keymap::{KeyPress, Keymap, Lookup};

pub(super) static SPEC: PaneSpec = PaneSpec {
    pane: Pane::Chat,
    number: 4,
    title: "Chat",
    boxes: &[(BoxId::ChatList, "Conversations"), (BoxId::ChatTranscript, "Chat"), (BoxId::ChatInput, "Ask")],
    start: BoxId::ChatInput,
    context: KeyContext::Chat,
    capture,
    on_user,
    on_popup,
    select: |s, b, i| match b {
        BoxId::ChatList if i < s.chat.list.len() => {
            let moved = s.chat.list_sel != i;
            s.chat.list_sel = i;
            moved
        }
        _ => false,
    },
    paste: |s, text| match super::chat_convs::paste(s, text) {
        Some(changed) => changed,
        None => s.focus == BoxId::ChatInput && s.chat.input.paste(text),
    },
    scroll: |s, b, rows| match b {
        BoxId::ChatList => {
            let n = s.chat.list.len();
            let before = s.chat.list_sel;
            s.chat.list_sel = (before as i64 + rows as i64).clamp(0, n.saturating_sub(1) as i64) as usize;
            before != s.chat.list_sel
        }
        _ => s.chat.scroll_by(rows),
    },
    resize: |s, _, h| s.chat.page = h.saturating_sub(10).max(3),
    hints,
};

/// In the input every key is typed but those bound in `[chat_input]`, Esc,
/// Tab and BackTab (the keymap has those).
fn capture(s: &mut AppState, key: KeyEvent, keymap: &Keymap) -> Option<bool> {
    if let Some(changed) = super::chat_convs::capture(s, key) {
        return Some(changed);
    }
    if s.focus != BoxId::ChatInput || matches!(key.code, KeyCode::Esc | KeyCode::Tab | KeyCode::BackTab) {
        return None;
    }
    if !matches!(keymap.lookup(&[KeyContext::ChatInput], &[KeyPress::from_event(&key)]), Lookup::NoMatch) {
        return None;
    }
    let changed = s.chat.input.input(key);
    s.chat.pending_delete = None;
    Some(changed)
}

fn hints(s: &AppState, focus: BoxId) -> Vec<Hint> {
    use UserAction as U;
    let mut v = Vec::new();
    if s.chat.asked_call().is_some() {
        v.extend([
            Hint::Bound(U::ChatAllowCall, Some("run tool")),
            Hint::Bound(U::ChatRefuseCall, Some("refuse")),
            Hint::Bound(U::ChatEditCall, Some("edit args")),
        ]);
    }
    if s.chat.streaming() {
        // In the input `s` is a letter: name Ctrl-C there.
        let stop = if focus == BoxId::ChatInput { U::ChatInterrupt } else { U::ChatStop };
        v.push(Hint::Bound(stop, Some("stop")));
    }
    if let Some(p) = &s.chat.proposal {
        if p.problems.is_none() {
            v.push(Hint::Bound(U::ChatDraftSave, Some("save workflow")));
        }
        v.extend([
            Hint::Bound(U::ChatDraftEdit, Some("edit draft")),
            Hint::Bound(U::ChatDraftDrop, Some("drop draft")),
        ]);
    }
    v.extend(match focus {
        BoxId::ChatInput if !s.chat.attach.items.is_empty() => vec![
            Hint::Bound(U::ChatSend, Some("send")),
            Hint::Bound(U::ChatDetachLast, Some("drop attachment")),
            Hint::Bound(U::ChatNewline, Some("new line")),
            Hint::Fixed("Esc", "transcript"),
        ],
        BoxId::ChatInput => vec![
            Hint::Bound(U::ChatSend, Some("send")),
            Hint::Bound(U::ChatNewline, Some("new line")),
            Hint::Bound(U::ChatHistoryPrev, Some("recall")),
            Hint::Fixed("Esc", "transcript"),
        ],
        BoxId::ChatList if s.chat.rename.is_some() => {
            vec![Hint::Fixed("Enter", "save title"), Hint::Fixed("Esc", "cancel")]
        }
        BoxId::ChatList if s.chat.search.is_some() => vec![
            Hint::Fixed("Enter", "open hit"),
            Hint::Fixed("↑/↓", "hits"),
            Hint::Bound(U::Filter, Some("edit search")),
            Hint::Fixed("Esc", "back to the list"),
        ],
        BoxId::ChatList => vec![
            Hint::Bound(U::Confirm, Some("open")),
            Hint::Bound(U::Filter, Some("search")),
            Hint::Bound(U::ChatRename, Some("rename")),
            Hint::Bound(U::ChatNew, Some("new")),
            Hint::Bound(U::DeleteEntry, None),
            Hint::Bound(U::ChatListToggle, Some("hide")),
        ],
        _ => vec![
            Hint::Bound(U::Help, None),
            Hint::Bound(U::ChatRegenerate, Some("regenerate")),
            Hint::Bound(U::ChatEditLast, Some("edit & resend")),
            Hint::Bound(U::ChatContinue, Some("continue")),
            Hint::Bound(U::CopyResult, Some("copy")),
            Hint::Bound(U::ChatCopyCode, Some("copy code")),
            Hint::Bound(U::ChatModelPick, Some("model")),
            Hint::Bound(U::ChatTools, Some("tools")),
            Hint::Bound(U::Export, None),
        ],
    });
    if focus != BoxId::ChatInput && !s.chat.attach.items.is_empty() {
        v.insert(0, Hint::Bound(U::ChatDetachAll, Some("drop attachments")));
    }
    v
}

fn out<'a>(s: &'a AppState, ctx: &Ctx, effects: &'a mut Vec<Effect>) -> Out<'a> {
    Out {
        effects,
        notice: None,
        now: ctx.now,
        read_only: s.read_only,
        catalog: &s.tools.catalog,
        max_rounds: ctx.config.chat.max_tool_rounds,
        instance: &s.instance,
    }
}

/// Run `f` on the chat state with an [`Out`]; its notice goes to the status bar.
pub(super) fn with_out(
    s: &mut AppState,
    ctx: &Ctx,
    effects: &mut Vec<Effect>,
    f: impl FnOnce(&mut super::panes::chat::ChatState, &mut Out) -> bool,
) -> bool {
    let mut chat = std::mem::take(&mut s.chat);
    let (changed, notice) = {
        let mut o = out(s, ctx, effects);
        let changed = f(&mut chat, &mut o);
        (changed, o.notice)
    };
    s.chat = chat;
    if let Some(n) = notice {
        s.notice = Some((ctx.now, n));
    }
    changed
}

fn on_user(s: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    use UserAction as U;
    // A delete is armed for the next key only.
    if a != U::DeleteEntry {
        s.chat.pending_delete = None;
    }
    if let Some(changed) = super::chat_convs::on_user(s, a, ctx, effects) {
        return changed;
    }
    match a {
        U::ChatSend => with_out(s, ctx, effects, |c, o| c.send(o)),
        U::ChatNewline => s.chat.input.input(KeyEvent::from(KeyCode::Enter)),
        U::ChatHistoryPrev | U::ChatHistoryNext => recall(s, a == U::ChatHistoryPrev),
        U::ChatStop | U::ChatInterrupt if s.chat.busy() => with_out(s, ctx, effects, |c, o| c.stop(o)),
        // `s` only ever stops: pressed just after an answer ended, it must
        // not quit the program (the tester's lost draft).
        U::ChatStop => {
            s.notice = Some((ctx.now, "nothing is being answered: nothing to stop".into()));
            true
        }
        // Ctrl-C with nothing to stop: a draft in the input is cleared first (as in a shell).
        U::ChatInterrupt if s.focus == BoxId::ChatInput && !s.chat.input.text().is_empty() => {
            s.chat.input = super::input::TextInput::new("");
            (s.chat.history_pos, s.chat.editing) = (None, None);
            s.notice = Some((ctx.now, "draft cleared (again: quit)".into()));
            true
        }
        // Nothing to stop nor clear: Ctrl-C keeps its global meaning.
        U::ChatInterrupt => {
            super::lifecycle::quit(s, ctx, effects);
            true
        }
        U::ChatDetachLast | U::ChatDetachAll => detach(s, ctx, a == U::ChatDetachAll),
        U::ChatAllowCall => with_out(s, ctx, effects, |c, o| c.consent(true, o)),
        U::ChatEditCall => super::chat_tools::open_call_form(s, ctx),
        U::ChatTools => super::chat_tools::open_choice(s, ctx),
        U::ChatDraftSave => with_out(s, ctx, effects, |c, o| c.save_draft(o)),
        U::ChatDraftEdit => with_out(s, ctx, effects, |c, o| c.edit_draft(o)),
        U::ChatDraftDrop => with_out(s, ctx, effects, |c, o| c.drop_draft(o)),
        U::ChatRefuseCall => with_out(s, ctx, effects, |c, o| c.consent(false, o)),
        U::ChatRegenerate => with_out(s, ctx, effects, |c, o| c.regenerate(o)),
        U::ChatContinue => with_out(s, ctx, effects, |c, o| c.continue_answer(o)),
        U::ChatEditLast => {
            let changed = with_out(s, ctx, effects, |c, o| c.edit_last(o));
            if changed {
                s.focus = BoxId::ChatInput;
            }
            changed
        }
        U::ChatNew => {
            let changed = s.chat.new_conversation(ctx.now);
            if changed {
                s.focus = BoxId::ChatInput;
            } else {
                s.notice = Some((ctx.now, "an answer is still coming: stop it first".into()));
            }
            true
        }
        U::ChatListToggle => {
            s.chat.show_list = !s.chat.show_list;
            if !s.chat.show_list && s.focus == BoxId::ChatList {
                s.focus = BoxId::ChatTranscript;
            }
            true
        }
        U::ChatDiscover => {
            s.chat.looking = true;
            effects.push(Effect::Chat(ChatEffect::Discover));
            s.notice = Some((ctx.now, "looking for local servers on 11434, 8080, 1234 and 8000…".into()));
            true
        }
        U::ChatAddFound => match s.chat.found.as_ref().and_then(|f| f.first()) {
            Some(found) if !s.read_only => {
                effects.push(Effect::Chat(ChatEffect::AddProvider(found.clone())));
                s.notice = Some((ctx.now, format!("adding {} ({}) to config.toml…", found.name, found.base_url)));
                s.chat.found = None;
                true
            }
            Some(_) => {
                s.notice = Some((ctx.now, "read-only: config.toml is not changed (opsdeck --read-only)".into()));
                true
            }
            None => false,
        },
        U::ChatAutoAllow => {
            let on = !s.chat.conv.meta.auto_allow_read_only;
            s.chat.conv.meta.auto_allow_read_only = on;
            let text = if on {
                "read-only tools run without asking in this conversation"
            } else {
                "every tool call asks first in this conversation"
            };
            s.notice = Some((ctx.now, text.into()));
            true
        }
        U::CopyResult => match selected_or_last_answer(s) {
            Some(text) => {
                effects.push(Effect::Copy { text, name: "chat-message.md".into() });
                true
            }
            None => false,
        },
        U::ChatCopyCode => match selected_or_last_answer(s) {
            Some(text) => {
                effects.push(Effect::Chat(ChatEffect::CopyCode { text }));
                true
            }
            None => false,
        },
        U::Export if !s.chat.conv.messages.is_empty() => {
            let name = format!("chat-{}.md", s.chat.conv.meta.id);
            effects.push(Effect::Export { name, contents: crate::protocol::chat_export::to_markdown(&s.chat.conv) });
            true
        }
        U::Up | U::Down | U::PageUp | U::PageDown | U::Top | U::Bottom if s.focus == BoxId::ChatList => {
            super::list::apply(a, &mut s.chat.list_sel, s.chat.list.len(), super::list::PAGE).unwrap_or(false)
        }
        U::Confirm if s.focus == BoxId::ChatList => match s.chat.list.get(s.chat.list_sel) {
            Some(m) if !s.chat.busy() => {
                effects.push(Effect::Chat(ChatEffect::Load(m.id.clone())));
                true
            }
            _ => false,
        },
        U::DeleteEntry if s.focus == BoxId::ChatList => delete(s, ctx, effects),
        U::Up | U::Down => s.chat.select_step(if a == U::Up { -1 } else { 1 }),
        U::PageUp | U::PageDown => {
            let page = i32::from(s.chat.page);
            s.chat.scroll_by(if a == U::PageUp { -page } else { page })
        }
        U::Top => {
            let changed = s.chat.sel != Some(0) && !s.chat.conv.messages.is_empty();
            if changed {
                s.chat.sel = Some(0);
                s.chat.scroll = 0;
            }
            changed
        }
        U::Bottom => {
            let changed = s.chat.sel.is_some() || s.chat.scroll != 0;
            (s.chat.sel, s.chat.scroll) = (None, 0);
            changed
        }
        U::Confirm if s.focus == BoxId::ChatTranscript => {
            s.focus = BoxId::ChatInput;
            true
        }
        U::Close if s.focus == BoxId::ChatInput => {
            s.focus = BoxId::ChatTranscript;
            true
        }
        _ => false,
    }
}

/// Remove the last attachment waiting (or all of them), saying what went.
fn detach(s: &mut AppState, ctx: &Ctx, all: bool) -> bool {
    let a = &mut s.chat.attach;
    let text = match (all, a.items.len()) {
        (_, 0) => "no attachment waits for the next question (attach_to_chat adds one from another pane)".to_string(),
        (true, _) => format!(
            "removed {} from the next question",
            crate::text::count(a.clear() as u64, "attachment", "attachments")
        ),
        (false, _) => {
            let title = a.remove_last().unwrap_or_default();
            format!("removed {} from the next question ({} left)", crate::text::fit(&title, 50), a.items.len())
        }
    };
    s.notice = Some((ctx.now, text));
    true
}

/// `d` twice on the same conversation deletes it (the first press says so).
fn delete(s: &mut AppState, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    let Some(m) = s.chat.list.get(s.chat.list_sel).cloned() else { return false };
    // Armed by the press before, on this row, within 5 s (any other key disarms it).
    let armed = s.chat.pending_delete.as_ref().is_some_and(|(id, at)| id == &m.id && ctx.now - at <= 5_000);
    if !armed {
        s.chat.pending_delete = Some((m.id.clone(), ctx.now));
        let title = crate::text::fit(&m.title, 30);
        s.notice = Some((ctx.now, format!("{} again deletes “{title}”", s.chat.keys[7])));
        return true;
    }
    s.chat.pending_delete = None;
    if s.chat.conv.meta.id == m.id {
        if s.chat.busy() {
            s.notice = Some((ctx.now, "an answer is still coming: stop it first".into()));
            return true;
        }
        s.chat.new_conversation(ctx.now);
    }
    effects.push(Effect::Chat(ChatEffect::Delete(m.id.clone())));
    s.notice = Some((ctx.now, format!("deleted “{}”", crate::text::fit(&m.title, 40))));
    true
}

/// The selected message's text, or the last answer's.
fn selected_or_last_answer(s: &AppState) -> Option<String> {
    let c = &s.chat;
    let i = c.sel.or_else(|| c.last_of(crate::protocol::chat::Role::Assistant))?;
    c.conv.messages.get(i).map(|m| m.content.clone()).filter(|t| !t.is_empty())
}

/// Put an earlier (or later) question in the input.
fn recall(s: &mut AppState, older: bool) -> bool {
    let c = &mut s.chat;
    let n = c.history.len();
    if n == 0 {
        return false;
    }
    let pos = match (c.history_pos, older) {
        (None, true) => {
            // What was being written comes back past the newest entry.
            c.draft = c.input.text();
            n - 1
        }
        (None, false) => return false,
        (Some(p), true) => p.saturating_sub(1),
        (Some(p), false) if p + 1 >= n => {
            c.history_pos = None;
            c.input = super::input::TextInput::new(&std::mem::take(&mut c.draft));
            return true;
        }
        (Some(p), false) => p + 1,
    };
    c.history_pos = Some(pos);
    c.input = super::input::TextInput::new(&c.history[pos]);
    true
}

pub(super) fn on_action(s: &mut AppState, a: ChatAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    match a {
        ChatAction::Found { .. } | ChatAction::History(_) => super::chat_convs::on_action(s, a),
        ChatAction::Listed(list) => {
            s.chat.list = list;
            s.chat.list_sel = s.chat.list_sel.min(s.chat.list.len().saturating_sub(1));
            true
        }
        ChatAction::Opened(conv) => {
            if s.chat.busy() {
                return false;
            }
            s.chat.conv = *conv;
            (s.chat.sel, s.chat.scroll, s.chat.problem, s.chat.editing) = (None, 0, None, None);
            s.focus = BoxId::ChatTranscript;
            super::chat_convs::opened(s, ctx);
            true
        }
        ChatAction::Models { models, providers, prices } => {
            s.chat.models = models;
            s.chat.providers = providers;
            s.chat.prices = prices;
            if s.chat.chosen.as_ref().is_some_and(|c| !s.chat.models.contains(c)) {
                s.chat.chosen = None;
            }
            true
        }
        ChatAction::Progress { turn, items } => s.chat.progress(turn, items),
        ChatAction::Discovered(found) => {
            s.chat.looking = false;
            s.chat.found = Some(found);
            true
        }
        ChatAction::Answered { turn, result } => {
            let changed = with_out(s, ctx, effects, |c, o| c.answered(turn, result, o));
            // Focus stays where the user types (a `y` meant for the input never
            // runs a tool); the status bar says how to answer.
            if s.chat.asked_call().is_some() && s.focus == BoxId::ChatInput {
                let esc = "Esc";
                s.notice = Some((
                    ctx.now,
                    format!(
                        "a tool call waits for your answer: {esc}, then {} runs it, {} refuses",
                        s.chat.keys[0], s.chat.keys[1]
                    ),
                ));
            }
            changed
        }
        ChatAction::ToolDone { turn, call, result } => {
            with_out(s, ctx, effects, |c, o| c.tool_done(turn, &call, result, o))
        }
        ChatAction::Draft(d) => {
            let editor = s.workflows.editor().to_string();
            with_out(s, ctx, effects, |c, o| c.on_draft(d, &editor, o))
        }
    }
}

/// The chat pane's popups: the tool choice and call form (chat_tools.rs),
/// the model picker (chat_convs.rs); `None` when neither is open.
fn on_popup(s: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> Option<bool> {
    super::chat_tools::on_popup(s, a, ctx, effects).or_else(|| super::chat_convs::on_popup(s, a, ctx, effects))
}

/// Before the program quits: an answer being streamed is stopped as `s`
/// would stop it, so what arrived is saved (marked stopped, `c` continues it
/// after the next start) instead of lost with the process.
pub(super) fn settle_before_quit(s: &mut AppState, ctx: &Ctx, effects: &mut Vec<Effect>) {
    if s.chat.busy() {
        with_out(s, ctx, effects, |c, o| c.stop(o));
    }
}
