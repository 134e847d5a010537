//! More of the workflows pane's glue: opening a definition in the user's
//! editor (`edit_workflow`), and reading older runs as the runs list is
//! scrolled to its end (`list_runs` pages).

use serde_json::Value;

use super::panes::workflows::Asked;
use super::panes::workflows::older::OLDER_PAGE;
use super::{AppState, Ctx, Effect};
use crate::protocol::Command;
use crate::protocol::workflow::{Run, WorkflowsCommand};

/// `edit_workflow`: the definition file of the workflow shown goes to the
/// editor (the loop hands it the terminal), or the status line says why not.
pub(super) fn edit_definition(state: &mut AppState, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    match state.workflows.definition_to_edit(state.focus) {
        Ok(path) => {
            let editor = state.workflows.editor().to_string();
            effects.push(Effect::EditFile { path: path.into(), editor });
            false
        }
        Err(why) => {
            state.notice = Some((ctx.now, format!("✗ {why}")));
            true
        }
    }
}

/// Ask each source that may have older runs for the page before its oldest,
/// once the runs list's last row is selected.
pub(super) fn ask_older(state: &mut AppState, effects: &mut Vec<Effect>) {
    for (source, before) in state.workflows.older_wanted(state.focus) {
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
