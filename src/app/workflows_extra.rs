//! More of the workflows pane's glue: opening a definition in the user's
//! editor (`edit_workflow`), and reading older runs as the runs list is
//! scrolled to its end (`list_runs` pages).

use serde_json::Value;

use super::panes::workflows::Asked;
use super::panes::workflows::older::OLDER_PAGE;
use super::{AppState, BoxId, Ctx, Effect, MouseInput};
use crate::protocol::Command;
use crate::protocol::workflow::{Run, WorkflowsCommand};

/// `edit_workflow`: the definition file of the workflow shown goes to the
/// editor (the loop hands it the terminal), or the status line says why not.
pub(super) fn edit_definition(state: &mut AppState, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    match state.workflows.definition_to_edit(state.focus) {
        Ok(path) => {
            let editor = state.workflows.editor().to_string();
            effects.push(Effect::EditFile { path: path.into(), editor, then: None });
            false
        }
        Err(why) => {
            state.notice = Some((ctx.now, format!("✗ {why}")));
            true
        }
    }
}

/// Ask each source that may have older runs for the page before its oldest,
/// once the last row of the runs list (box `at`) is selected.
pub(super) fn ask_older(state: &mut AppState, at: BoxId, effects: &mut Vec<Effect>) {
    for (source, before) in state.workflows.older_wanted(at) {
        let command = Command::Workflows(WorkflowsCommand::ListRuns {
            workflow: None,
            state: None,
            before: Some(before),
            limit: OLDER_PAGE,
        });
        if let Some(id) = state.send_command(source.clone(), command, "reading older runs", effects) {
            state.workflows.older_asked(&source);
            state.workflows.asked.insert(id, Asked::Older { source, limit: OLDER_PAGE });
        }
    }
}

/// A `list_runs` page came back from `source`.
pub(super) fn older_answered(
    state: &mut AppState,
    source: &str,
    limit: usize,
    result: Result<Value, String>,
    ctx: &Ctx,
) {
    let runs = result.and_then(|v| serde_json::from_value::<Vec<Run>>(v).map_err(|e| e.to_string()));
    match runs {
        Ok(runs) => state.workflows.older_answered(source, runs, limit),
        Err(e) => {
            state.workflows.older_failed(source);
            state.notice = Some((ctx.now, format!("✗ older runs from {source} could not be read: {e}")));
        }
    }
}

/// After the mouse moved something in the pane (the wheel over a list, a
/// click on a row): read what is shown now, as after a key — older runs when
/// the wheel brought the runs list to its end, a clicked step's log.
pub(super) fn after_mouse(state: &mut AppState, m: MouseInput, effects: &mut Vec<Effect>) {
    let (MouseInput::Click(b, _) | MouseInput::ScrollUp(b) | MouseInput::ScrollDown(b)) = m;
    if b.pane() != super::Pane::Workflows {
        return;
    }
    ask_older(state, b, effects);
    super::workflows_pane::read_what_is_shown(state, effects);
}
