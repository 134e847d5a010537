//! Glue between the app and the tools pane: runs its reducer with an [`Out`]
//! and applies what it asks for (notices, popups, focus).

use super::panes::tools::{Out, ToolsAction, popup};
use super::{AppState, Ctx, Effect, Overlay, UserAction};

fn out<'a>(state: &AppState, ctx: &Ctx, effects: &'a mut Vec<Effect>) -> Out<'a> {
    Out { effects, notice: None, popup: None, focus: None, now: ctx.now, read_only: state.read_only }
}

fn apply(
    state: &mut AppState,
    notice: Option<String>,
    popup: Option<popup::ToolsPopup>,
    focus: Option<super::BoxId>,
    ctx: &Ctx,
) {
    if let Some(n) = notice {
        state.notice = Some((ctx.now, n));
    }
    if let Some(p) = popup {
        state.overlay = Some(Overlay::Tools(Box::new(p)));
    }
    if let Some(f) = focus {
        state.focus = f;
    }
}

pub(super) fn on_action(state: &mut AppState, a: ToolsAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    // The preview the open chain popup waits for (a stale one is dropped).
    let a = match a {
        ToolsAction::Jq { job, result } if state.tools.preview_job == Some(job) => {
            state.tools.preview_job = None;
            return match &mut state.overlay {
                Some(Overlay::Tools(p)) => p.preview_answered(job, result),
                _ => false,
            };
        }
        a => a,
    };
    let mut o = out(state, ctx, effects);
    let changed = state.tools.update(a, &mut o);
    let Out { notice, popup, focus, .. } = o;
    let shows = notice.is_some() || popup.is_some();
    apply(state, notice, popup, focus, ctx);
    changed || shows
}

pub(super) fn on_user(state: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    let mut o = out(state, ctx, effects);
    let focus = state.focus;
    let changed = state.tools.on_user(a, focus, &mut o);
    let Out { notice, popup, focus, .. } = o;
    apply(state, notice, popup, focus, ctx);
    changed
}

/// A bound action while a tools popup is open.
pub(super) fn on_popup(state: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    let Some(Overlay::Tools(mut p)) = state.overlay.take() else { return false };
    let mut o = out(state, ctx, effects);
    let close = popup::on_action(&mut state.tools, &mut p, a, &mut o);
    let Out { notice, popup, focus, .. } = o;
    if !close {
        state.overlay = Some(Overlay::Tools(p));
    }
    apply(state, notice, popup, focus, ctx);
    true
}

/// After every update: the open chain popup's preview is asked for when its
/// filter changed, and cancelled when the popup is gone.
pub(super) fn schedule_jq(state: &mut AppState, effects: &mut Vec<Effect>) -> bool {
    let popup = match &mut state.overlay {
        Some(Overlay::Tools(p)) => Some(&mut **p),
        _ => None,
    };
    state.tools.schedule_preview(popup, effects)
}
