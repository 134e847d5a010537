//! The workflows pane looking back: two runs compared side by side, and a
//! workflow's versions (text, diff, rollback). Actions become `show_run`,
//! `list_versions` and `show_version` reads (their answers come back through
//! `workflows_pane::answered`) and a `rollback` after a yes/no popup.

use serde_json::Value;

use super::panes::workflows::{Asked, Shown, Versions, WfPopup};
use super::{AppState, BoxId, Ctx, Effect, Overlay, UserAction, list};
use crate::protocol::Command;
use crate::protocol::workflow::{RunId, WorkflowsCommand};

fn notice(state: &mut AppState, ctx: &Ctx, text: impl Into<String>) -> bool {
    state.notice = Some((ctx.now, text.into()));
    true
}

/// The run an action in focus works on: the selected one in the runs
/// list, the open one in the detail and log boxes.
fn run_in_focus(state: &AppState) -> Option<(String, RunId)> {
    let w = &state.workflows;
    let r = match state.focus {
        BoxId::WfRuns => w.selected_run(),
        BoxId::WfDetail | BoxId::WfLog => w.opened(),
        _ => None,
    }?;
    Some((r.source.clone(), r.run.id))
}

/// Where Esc goes from a box this module opens.
fn back_from(state: &AppState) -> BoxId {
    match state.focus {
        BoxId::WfCompare => state.workflows.compare.as_ref().map_or(BoxId::WfRuns, |c| c.back),
        BoxId::WfVersions => state.workflows.versions.as_ref().map_or(BoxId::WfList, |v| v.back),
        f => f,
    }
}

/// An action of this module, or any action while its boxes have focus:
/// `Some(changed)` when it was handled here.
pub(super) fn on_user(state: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> Option<bool> {
    use UserAction as U;
    Some(match (a, state.focus) {
        (U::MarkCompare, BoxId::WfVersions) => mark_version(state, ctx),
        (U::MarkCompare, _) => mark_run(state, ctx),
        (U::CompareWorkflowRuns, _) => compare(state, ctx, effects),
        (U::WorkflowVersions, _) => open_versions(state, ctx, effects),
        (U::VersionDiff | U::RollbackVersion, f) if f != BoxId::WfVersions => {
            notice(state, ctx, "open a workflow's versions first (select it and press the versions key)")
        }
        (U::VersionDiff, _) => diff(state, ctx, effects),
        (U::RollbackVersion, _) => rollback(state, ctx),
        (U::Confirm, BoxId::WfVersions) => show_text(state, ctx, effects),
        (U::Close, BoxId::WfCompare) => {
            state.focus = back_from(state);
            state.workflows.compare = None;
            true
        }
        (U::Close, BoxId::WfVersions) => {
            state.focus = back_from(state);
            state.workflows.versions = None;
            true
        }
        (_, BoxId::WfCompare) => compare_motion(state, a, ctx),
        (_, BoxId::WfVersions) => versions_motion(state, a),
        _ => return None,
    })
}

fn compare_motion(state: &mut AppState, a: UserAction, ctx: &Ctx) -> bool {
    use UserAction as U;
    let page = state.workflows.page.max(1) as i64 * 2;
    let d = match a {
        U::Up => -1,
        U::Down => 1,
        U::PageUp => -page,
        U::PageDown => page,
        U::Top => i64::MIN / 2,
        U::Bottom => i64::MAX / 2,
        _ => return false,
    };
    state.workflows.compare_scroll(d, ctx.now)
}

fn versions_motion(state: &mut AppState, a: UserAction) -> bool {
    use UserAction as U;
    let page = state.workflows.page.max(1);
    let Some(v) = &mut state.workflows.versions else { return false };
    match a {
        // Page keys scroll the text shown below the list.
        U::PageUp | U::PageDown if v.shown.is_some() => {
            v.scroll(if a == U::PageUp { -(page as i64) } else { page as i64 })
        }
        // ←/→ scroll it sideways: a version's long lines are never lost.
        U::Left | U::Right => v.scroll_sideways(if a == U::Left { -1 } else { 1 }),
        _ => list::apply(a, &mut v.sel, v.rows.len(), page).unwrap_or(false),
    }
}

/// Mouse wheel over the compare or versions box.
pub(super) fn scroll(state: &mut AppState, b: BoxId, rows: i32, now: i64) -> Option<bool> {
    match b {
        BoxId::WfCompare => Some(state.workflows.compare_scroll(i64::from(rows), now)),
        BoxId::WfVersions => Some(state.workflows.versions.as_mut().is_some_and(|v| v.scroll(i64::from(rows)))),
        _ => None,
    }
}

fn mark_run(state: &mut AppState, ctx: &Ctx) -> bool {
    let Some(key) = run_in_focus(state) else {
        return notice(state, ctx, "select a run in the runs list (or open one) to mark it");
    };
    let id = state.workflows.run_name(&key.0, key.1);
    let text = if state.workflows.toggle_mark(key) {
        format!("run {id} marked: select another run and compare it with this one")
    } else {
        format!("run {id} unmarked")
    };
    notice(state, ctx, text)
}

fn compare(state: &mut AppState, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    let Some(this) = run_in_focus(state) else {
        return notice(state, ctx, "select a run in the runs list (or open one) to compare it");
    };
    let Some(other) = state.workflows.compare_partner(&this) else {
        let text =
            format!("nothing to compare run #{} with: mark another run first, or run its workflow again", this.1);
        return notice(state, ctx, text);
    };
    let back = back_from(state);
    state.workflows.open_compare(this, other, back);
    state.focus = BoxId::WfCompare;
    read_compared(state, effects);
    true
}

/// Ask for the steps of a compared run the pane has not read (once).
fn read_compared(state: &mut AppState, effects: &mut Vec<Effect>) {
    for (source, run) in state.workflows.compare_unread() {
        let asked = state
            .workflows
            .asked
            .values()
            .any(|a| matches!(a, Asked::Show { source: s, run: r, attempt: None } if *s == source && *r == run));
        if asked {
            continue;
        }
        let command = Command::Workflows(WorkflowsCommand::ShowRun { run, attempt: None });
        if let Some(id) = state.send_command(source.clone(), command, "reading a run", effects) {
            state.workflows.asked.insert(id, Asked::Show { source, run, attempt: None });
        }
    }
}

fn open_versions(state: &mut AppState, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    let w = &state.workflows;
    let (source, workflow, prefer) = match state.focus {
        BoxId::WfList => match w.selected_workflow() {
            Some((src, wf)) => (src.clone(), wf.name.clone(), None),
            None => return notice(state, ctx, "select a workflow to see its versions"),
        },
        BoxId::WfVersions => match &w.versions {
            Some(v) => (v.source.clone(), v.workflow.clone(), v.selected().map(|r| r.version.clone())),
            None => return false,
        },
        _ => {
            let run = match state.focus {
                BoxId::WfRuns => w.selected_run(),
                BoxId::WfDetail | BoxId::WfLog => w.opened(),
                _ => None,
            };
            match run {
                Some(r) => (r.source.clone(), r.run.workflow.clone(), Some(r.run.version.clone())),
                None => return notice(state, ctx, "select a workflow or a run to see its workflow's versions"),
            }
        }
    };
    let back = back_from(state);
    let mut v = Versions::new(&source, &workflow, back, prefer);
    let command = Command::Workflows(WorkflowsCommand::ListVersions { workflow: workflow.clone() });
    let what = format!("listing the versions of {workflow}");
    if let Some(id) = state.send_command(source, command, &what, effects) {
        state.workflows.asked.insert(id.clone(), Asked::Versions);
        v.loading = Some(id);
    }
    state.workflows.versions = Some(v);
    state.focus = BoxId::WfVersions;
    true
}

fn mark_version(state: &mut AppState, ctx: &Ctx) -> bool {
    let Some(v) = &mut state.workflows.versions else { return false };
    let Some(sel) = v.selected().map(|r| r.version.clone()) else { return false };
    let text = if v.mark.as_ref() == Some(&sel) {
        v.mark = None;
        format!("version {sel} unmarked")
    } else {
        v.mark = Some(sel.clone());
        format!("version {sel} marked: select another and diff the two")
    };
    notice(state, ctx, text)
}

/// Ask for `version`'s text (`against: None`) or its diff from `against`.
fn ask_version(
    state: &mut AppState,
    version: String,
    against: Option<String>,
    rollback_preview: bool,
    effects: &mut Vec<Effect>,
) {
    let Some(v) = &state.workflows.versions else { return };
    let (source, workflow) = (v.source.clone(), v.workflow.clone());
    let command = Command::Workflows(WorkflowsCommand::ShowVersion {
        workflow: workflow.clone(),
        version: version.clone(),
        against: against.clone(),
    });
    let what = format!("showing version {version} of {workflow}");
    let id = state.send_command(source, command, &what, effects);
    if let Some(id) = &id {
        state.workflows.asked.insert(id.clone(), Asked::Version);
    }
    if let Some(v) = &mut state.workflows.versions {
        v.shown = Some(Shown::asked(version, against, id, rollback_preview));
    }
}

fn show_text(state: &mut AppState, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    let Some(sel) = state.workflows.versions.as_ref().and_then(|v| v.selected()).map(|r| r.version.clone()) else {
        return notice(state, ctx, "no version to show yet");
    };
    ask_version(state, sel, None, false, effects);
    true
}

fn diff(state: &mut AppState, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    match state.workflows.diff_pair() {
        Ok((version, against, preview)) => {
            ask_version(state, version, Some(against), preview, effects);
            true
        }
        Err(e) => notice(state, ctx, e),
    }
}

fn rollback(state: &mut AppState, ctx: &Ctx) -> bool {
    let cur = state.workflows.current_version();
    let w = &state.workflows;
    let Some(v) = &w.versions else { return false };
    let Some(sel) = v.selected() else { return notice(state, ctx, "no version to roll back to yet") };
    if cur.as_ref() == Some(&sel.version) {
        let text = format!("{} is already at version {}", v.workflow, sel.version);
        return notice(state, ctx, text);
    }
    let path = w.workflow_of(&v.source, &v.workflow).map_or_else(|| "its file".to_string(), |i| i.path.clone());
    let (workflow, version) = (v.workflow.clone(), sel.version.clone());
    let question = format!("Roll {workflow} back to version {version}?");
    let lines = vec![
        format!("{path} is overwritten with that version's text and read again."),
        format!(
            "The version it has now ({}) stays in the list: you can roll forward to it the same way.",
            cur.as_deref().unwrap_or("unknown")
        ),
    ];
    let command = WorkflowsCommand::Rollback { workflow, version };
    state.overlay =
        Some(Overlay::Workflows(Box::new(WfPopup::Confirm { source: v.source.clone(), command, question, lines })));
    true
}

/// The answer of a `list_versions` or `show_version` asked by this module:
/// taken only while it is the latest one asked.
pub(super) fn answered(state: &mut AppState, id: &str, asked: &Asked, result: Result<Value, String>) {
    let Some(v) = &mut state.workflows.versions else { return };
    match asked {
        Asked::Versions if v.loading.as_deref() == Some(id) => v.listed(result),
        Asked::Version if v.shown.as_ref().is_some_and(|s| s.pending.as_deref() == Some(id)) => v.version_shown(result),
        _ => {}
    }
}
