//! `rerun_with_inputs`: the start form of a run's workflow filled with the
//! run's inputs; submitting it sends `rerun_run` with the edited inputs
//! (the failed steps, or from the step selected in the run box).

use serde_json::Value;

use super::{notice, open_popup, target};
use crate::app::panes::tools::form::Form;
use crate::app::panes::workflows::Asked;
use crate::app::panes::workflows::WfPopup;
use crate::app::panes::workflows::rerun::{RerunOf, rerun_from};
use crate::app::{AppState, BoxId, Ctx, Effect};
use crate::protocol::Command;
use crate::protocol::workflow::{RerunFrom, RunDetail, RunId, WorkflowsCommand};

/// Open the form for the run the action works on (see `target`).
pub(super) fn open(state: &mut AppState, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
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
    let from = rerun_from(&run, step);
    // Which steps failed decides what reruns (and so which inputs matter):
    // read them first rather than open a form that cannot say.
    if from == RerunFrom::Failed && !r.steps_loaded && !state.source_down(&source) {
        let command = Command::Workflows(WorkflowsCommand::ShowRun { run: run.id, attempt: None });
        let what = format!("reading {of}'s steps for the rerun form");
        if let Some(id) = state.send_command(source.clone(), command, &what, effects) {
            state.workflows.asked.insert(id, Asked::ShowForRerun { source, run: run.id });
            return notice(state, ctx, format!("{what}…"));
        }
        return true;
    }
    let p = WfPopup::rerun(&source, workflow, r, from);
    open_popup(state, p)
}

/// The steps of a run asked for its rerun form: taken in, then the form
/// opens — unless another popup opened meanwhile (then a notice says how
/// to open it).
pub(super) fn answered(state: &mut AppState, source: &str, run: RunId, result: Result<Value, String>, ctx: &Ctx) {
    let detail = match result.and_then(|v| serde_json::from_value::<RunDetail>(v).map_err(|e| e.to_string())) {
        Ok(d) => d,
        Err(e) => {
            notice(state, ctx, format!("✗ run #{run} from {source} could not be read for its rerun: {e}"));
            return;
        }
    };
    state.workflows.show_answered(source, detail);
    if state.overlay.is_some() {
        notice(state, ctx, format!("run #{run}'s steps are read: press the rerun-with-inputs key again"));
        return;
    }
    let w = &state.workflows;
    let Some(r) = w.find(source, run) else { return };
    let Some(workflow) = w.workflow_of(source, &r.run.workflow) else { return };
    let p = WfPopup::rerun(source, workflow, r, rerun_from(&r.run, None));
    open_popup(state, p);
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
