//! Starting and quitting: what the start said besides configuration problems
//! (runs found interrupted, records set aside), informational popups that
//! never eat a key, and `quit` asking first while the in-process engine has
//! runs in flight.

use ratatui::crossterm::event::KeyEvent;

use super::{AppState, Ctx, Effect, KeyContext, Overlay, Pane, UserAction};
use crate::config::keymap::{KeyPress, Lookup, format_keys};
use crate::protocol::LOCAL_SOURCE;

/// What the start found that is not a configuration problem.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartNotices {
    /// Problems met at start (a source that could not be added, a saved
    /// record set aside): shown in the "Problems at start" popup.
    pub problems: Vec<String>,
    /// Runs the in-process engine found in flight from a stopped opsdeck
    /// and marked interrupted; said in the status bar until the workflows
    /// pane is opened (no popup: it is news, not a problem to acknowledge).
    pub interrupted: usize,
    /// The key that opens the workflows pane, for the status bar's words.
    pub workflows_key: String,
}

impl StartNotices {
    /// The status bar's words for the runs found interrupted, if any.
    pub fn interrupted_label(&self) -> Option<String> {
        let n = self.interrupted;
        (n > 0).then(|| {
            let runs = if n == 1 { "1 run interrupted".to_string() } else { format!("{n} runs interrupted") };
            match self.workflows_key.as_str() {
                "" => format!("{runs} at start"),
                key => format!("{runs} — {key} to see them"),
            }
        })
    }
}

/// The in-process engine's runs in flight (queued, running, waiting,
/// retrying): quitting leaves them interrupted.
pub fn local_runs_in_flight(state: &AppState) -> usize {
    if !state.local_engine {
        return 0;
    }
    state.workflows.runs.iter().filter(|r| r.source == LOCAL_SOURCE && r.run.state.is_active()).count()
}

/// `quit`: at once, unless the in-process engine has runs in flight — then
/// a popup asks first (attached to another opsdeck, quitting leaves its
/// runs alone, so it does not ask).
pub(super) fn quit(state: &mut AppState, ctx: &Ctx, effects: &mut Vec<Effect>) {
    match local_runs_in_flight(state) {
        0 => quit_now(state, ctx, effects),
        runs => {
            let key = |ctxs: &[KeyContext], a| ctx.keymap.binding_for(ctxs, a).map(|b| format_keys(&b.keys));
            let pane = key(&[KeyContext::Global], UserAction::FocusPane2)
                .map_or("the workflows pane".to_string(), |k| format!("the workflows pane ({k})"));
            let resume = key(&[KeyContext::Workflows, KeyContext::Global], UserAction::ResumeRun)
                .map_or("resume_run".to_string(), |k| format!("`{k}`"));
            let (what, them, they) = if runs == 1 {
                ("1 workflow run is", "it", "it is")
            } else {
                ("workflow runs are", "them", "they are")
            };
            let n = if runs == 1 { String::new() } else { format!("{runs} ") };
            let lines = vec![
                format!("{n}{what} in flight in this opsdeck's engine."),
                format!("Quitting stops {them}: {they} marked interrupted."),
                format!("Resume {them} after the next start with {resume} in {pane}, or `opsdeck runs resume RUN`."),
            ];
            state.overlay = Some(Overlay::QuitConfirm { runs, lines });
            state.refresh_hints(ctx.keymap);
        }
    }
}

/// Quit now: the chat's answer in flight is stopped and saved first.
fn quit_now(state: &mut AppState, ctx: &Ctx, effects: &mut Vec<Effect>) {
    super::chat_pane::settle_before_quit(state, ctx, effects);
    effects.push(Effect::Quit);
}

/// The quit question: `confirm` (y, Enter) quits, `close` (n, Esc, q)
/// stays. `None` when it is not open.
pub(super) fn on_quit_popup(state: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> Option<bool> {
    if !matches!(state.overlay, Some(Overlay::QuitConfirm { .. })) {
        return None;
    }
    match a {
        UserAction::Confirm | UserAction::Quit => quit_now(state, ctx, effects),
        UserAction::Close => {
            state.overlay = None;
            state.refresh_hints(ctx.keymap);
        }
        _ => return Some(false),
    }
    Some(true)
}

/// Before a key is looked up: a message popup (information) is closed by a
/// key it does not use (`close`, `confirm`), and the key goes on to do what
/// it does without the popup, so the first key pressed after start is not
/// lost. Over the quit question, a global `quit` key the popup does not
/// bind (Ctrl-C) quits. Returns `Some(changed)` when the key was used here.
pub(super) fn before_key(state: &mut AppState, key: KeyEvent, ctx: &Ctx, effects: &mut Vec<Effect>) -> Option<bool> {
    if !state.pending.is_empty() {
        return None;
    }
    let pressed = [KeyPress::from_event(&key)];
    let in_popup = ctx.keymap.lookup(&[KeyContext::Popup], &pressed);
    let popup_uses = matches!(in_popup, Lookup::Matched(UserAction::Close | UserAction::Confirm));
    match &state.overlay {
        Some(Overlay::Message(_)) if !popup_uses => {
            state.overlay = None;
            state.refresh_hints(ctx.keymap);
            None
        }
        Some(Overlay::QuitConfirm { .. })
            if in_popup == Lookup::NoMatch
                && ctx.keymap.lookup(&[KeyContext::Global], &pressed) == Lookup::Matched(UserAction::Quit) =>
        {
            quit_now(state, ctx, effects);
            Some(true)
        }
        _ => None,
    }
}

/// After every update: opening the workflows pane shows the interrupted
/// runs, so the status bar stops announcing them.
pub(super) fn after_update(state: &mut AppState) -> bool {
    if state.start.interrupted > 0 && state.focus.pane() == Pane::Workflows {
        state.start.interrupted = 0;
        return true;
    }
    false
}
