//! `rerun_with_inputs`: the start form of a run's workflow filled with the
//! run's inputs; submitting it sends `rerun_run` with the edited inputs
//! (the failed steps, or from the step selected in the run box).

use serde_json::Value;

use super::{notice, open_popup, target};
use crate::app::panes::tools::form::Form;
use crate::app::panes::workflows::WfPopup;
use crate::app::panes::workflows::rerun::{RerunOf, rerun_from};
use crate::app::{AppState, BoxId, Ctx, Effect};
use crate::protocol::Command;
use crate::protocol::workflow::WorkflowsCommand;

/// Open the form for the run the action works on (see `target`).
pub(super) fn open(state: &mut AppState, ctx: &Ctx) -> bool {
    let Some((source, run)) = target(state) else {
        return notice(state, ctx, "select a run in the runs list (or open one) first");
    };
    let run = run.clone();
    let of = format!("run #{} ({})", run.id, run.workflow);
    if run.state.is_active() {
        return notice(state, ctx, format!("{of} is {}: rerun it once it has ended", run.state.word()));
    }
    let w = &state.workflows;
    let Some(workflow) = w.workflow_of(&source, &run.workflow) else {
        let say = format!("{of}: {source} no longer has workflow {}, so its inputs are unknown", run.workflow);
        return notice(state, ctx, say);
    };
    if workflow.inputs.is_empty() {
        return notice(state, ctx, format!("{of}: workflow {} takes no inputs", run.workflow));
    }
    let step = matches!(state.focus, BoxId::WfDetail | BoxId::WfLog)
        .then(|| w.selected_step().map(|s| s.id.clone()))
        .flatten();
    let Some(r) = w.find(&source, run.id) else { return false };
    let p = WfPopup::rerun(&source, workflow, r, rerun_from(&run, step));
    open_popup(state, p)
}

/// Enter on the form's start row: the rerun with the form's inputs, or the
/// form kept open with its errors marked. Whether the popup stays open.
pub(super) fn submit(
    state: &mut AppState,
    source: String,
    form: &mut Form,
    of: RerunOf,
    ctx: &Ctx,
    effects: &mut Vec<Effect>,
) -> bool {
    let Some(Value::Object(inputs)) = form.args() else {
        let n = form.error_count() as u64;
        notice(state, ctx, format!("✗ {}: fix the inputs first", crate::text::count(n, "field", "fields")));
        return true;
    };
    let what = format!("run #{}: {} rerun with the edited inputs as a new attempt", of.run, of.steps_word());
    let command = WorkflowsCommand::RerunRun { run: of.run, from: of.from, current: false, inputs: Some(inputs) };
    state.send_command(source, Command::Workflows(command), &what, effects);
    false
}
