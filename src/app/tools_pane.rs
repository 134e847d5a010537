//! Glue between the app and the tools pane: runs its reducer with an [`Out`]
//! and applies what it asks for (notices, popups, focus).

use ratatui::crossterm::event::KeyEvent;

use super::pane::{self, Hint, PaneSpec};
use super::panes::tools::{Out, ToolsAction, popup};
use super::{AppState, BoxId, Ctx, Effect, KeyContext, Overlay, Pane, UserAction};

pub(super) static SPEC: PaneSpec = PaneSpec {
    pane: Pane::Tools,
    number: 3,
    title: "Tools",
    boxes: &[
        (BoxId::ToolList, "Tools"),
        (BoxId::ToolForm, "Arguments"),
        (BoxId::ToolOutput, "Output"),
        (BoxId::ToolHistory, "History"),
    ],
    start: BoxId::ToolList,
    context: KeyContext::Tools,
    capture,
    on_user,
    on_popup,
    select: |s, b, i| s.tools.select_row(b, i),
    paste: |s, text| s.tools.paste(text),
    scroll: |s, b, rows| s.tools.scroll_by(b, rows),
    // The output box is about half the body; paging moves by that much.
    resize: |s, _, h| s.tools.page = (h as usize).saturating_sub(6) / 2,
    hints,
};

/// A form field, the filter or the output search takes every key.
fn capture(s: &mut AppState, key: KeyEvent, _: &crate::config::keymap::Keymap) -> Option<bool> {
    s.tools.capturing().then(|| s.tools.text_key(key))
}

fn hints(s: &AppState, focus: BoxId) -> Vec<Hint> {
    use UserAction as U;
    if let Some(f) = s.tools.form.as_ref().filter(|f| f.editing.is_some()) {
        let enter = if f.current().is_some_and(|fd| fd.multiline()) { "new line" } else { "done" };
        return vec![Hint::Fixed("editing", ""), Hint::Fixed("Enter", enter), Hint::Fixed("Esc", "done")];
    }
    if s.tools.capturing() {
        return pane::editing_line();
    }
    let mut v = Vec::new();
    if s.zoomed {
        v.push(Hint::Bound(U::Close, Some("unzoom")));
    }
    v.extend(match focus {
        BoxId::ToolList => vec![
            Hint::Bound(U::Help, None),
            Hint::Bound(U::Confirm, Some("open")),
            Hint::Bound(U::RunTool, None),
            Hint::Bound(U::Filter, None),
            Hint::Bound(U::FavoriteToggle, None),
            Hint::Bound(U::FocusNext, None),
            Hint::Bound(U::FocusPane1, None),
            Hint::Bound(U::Quit, None),
        ],
        BoxId::ToolForm => vec![
            Hint::Bound(U::Help, None),
            Hint::Bound(U::Confirm, Some("edit")),
            Hint::Bound(U::Left, None),
            Hint::Bound(U::RunTool, None),
            Hint::Bound(U::CancelRun, None),
            Hint::Bound(U::FocusNext, None),
            Hint::Bound(U::Quit, None),
        ],
        BoxId::ToolHistory => vec![
            Hint::Bound(U::Help, None),
            Hint::Bound(U::Confirm, Some("show")),
            Hint::Bound(U::Rerun, None),
            Hint::Bound(U::MarkRun, None),
            Hint::Bound(U::CompareRuns, None),
            Hint::Bound(U::Export, None),
            Hint::Bound(U::ChainNext, None),
            Hint::Bound(U::SaveChain, None),
        ],
        _ => result_hint(s)
            .into_iter()
            .chain(pane::bound(&[
                U::Help,
                U::Filter,
                U::SearchNext,
                U::ChainNext,
                U::Export,
                U::CopyResult,
                U::CompareRuns,
                U::CancelRun,
            ]))
            .collect(),
    });
    // A saved chain can be written as a workflow file.
    if focus == BoxId::ToolList && matches!(s.tools.selected(), Some(crate::app::panes::tools::list::Target::Chain(_)))
    {
        v.insert(v.len().min(3), Hint::Bound(U::SaveChainWorkflow, Some("as workflow")));
    }
    v
}

/// `Enter result` while the shown run's result can be opened or folded.
fn result_hint(s: &AppState) -> Option<Hint> {
    let openable = |r: &&crate::app::panes::tools::runs::RunView| {
        s.tools.diff.is_none() && !r.output.is_empty() && !r.result_lines.is_empty()
    };
    let r = s.tools.shown_run().filter(openable)?;
    Some(Hint::Bound(UserAction::Confirm, Some(if r.result_open { "fold result" } else { "result" })))
}

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
fn on_popup(state: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> Option<bool> {
    if !matches!(state.overlay, Some(Overlay::Tools(_))) {
        return None;
    }
    let Some(Overlay::Tools(mut p)) = state.overlay.take() else { return None };
    let mut o = out(state, ctx, effects);
    let close = popup::on_action(&mut state.tools, &mut p, a, &mut o);
    let Out { notice, popup, focus, .. } = o;
    if !close {
        state.overlay = Some(Overlay::Tools(p));
    }
    apply(state, notice, popup, focus, ctx);
    Some(true)
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
