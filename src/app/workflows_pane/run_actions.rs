//! The workflows pane's actions on one run (cancel, resume, abandon,
//! rerun, approve, reject): what each asks first, and what it refuses on a
//! run of another orchestrator (a Prefect flow run only retries whole).

use super::{AppState, Asked, BoxId, Ctx, Effect, UserAction, WfPopup, notice, open_popup, target};
use serde_json::Value;

use crate::app::input::LineInput;
use crate::protocol::Command;
use crate::protocol::workflow::{RerunFrom, RunState, WorkflowsCommand};

pub(super) fn run_action(state: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    use UserAction as U;
    let Some((source, run)) = target(state) else {
        return notice(state, ctx, "select a run in the runs list (or open one) first");
    };
    let (id, st, name) = (run.id, run.state, run.workflow.clone());
    let of = format!("run {} ({name})", run.label());
    let run_label = run.label();
    let external = run.external.clone();
    match a {
        // Another orchestrator's run: only what it offers.
        U::RerunFromStep | U::RerunWithInputs if external.is_some() => {
            notice(state, ctx, format!("{source} retries whole runs only: f retries {}", run_label))
        }
        U::RerunFailed if external.as_ref().is_some_and(|x| x.deployment.is_none()) => {
            notice(state, ctx, format!("{run_label}: no deployment on {source} would run a retry"))
        }
        U::ResumeRun | U::AbandonRun if external.is_some() => {
            notice(state, ctx, format!("{run_label} is {source}'s: it is never interrupted here"))
        }
        U::CancelWorkflowRun if !st.is_active() => {
            notice(state, ctx, format!("{of} is {}: nothing to cancel", st.word()))
        }
        U::CancelWorkflowRun => open_popup(
            state,
            WfPopup::Confirm {
                source,
                command: WorkflowsCommand::CancelRun { run: id },
                question: format!("Cancel {of}?"),
                lines: vec![match &external {
                    None => "Its running steps are stopped at once and it ends cancelled.".into(),
                    Some(x) if x.deployment.is_some() => {
                        "Prefect marks it Cancelling; the runner of its deployment stops it and it ends Cancelled."
                            .into()
                    }
                    Some(_) => "Prefect marks it Cancelling, but no deployment runs it: nothing stops its \
                                process, and Prefect ends it Cancelled when its cancellation times out."
                        .into(),
                }],
            },
        ),
        U::ResumeRun | U::AbandonRun if st != RunState::Interrupted => {
            let verb = if a == U::ResumeRun { "resumed" } else { "abandoned" };
            notice(state, ctx, format!("{of} is {}: only an interrupted run can be {verb}", st.word()))
        }
        U::ResumeRun => {
            let command = Command::Workflows(WorkflowsCommand::ResumeRun { run: id, rerun_unsafe: false });
            if let Some(cid) = state.send_command(source.clone(), command, &format!("{of} resumed"), effects) {
                state.workflows.asked.insert(cid, Asked::Resume { source, run: id });
            }
            true
        }
        U::AbandonRun => open_popup(
            state,
            WfPopup::Confirm {
                source,
                command: WorkflowsCommand::AbandonRun { run: id },
                question: format!("Abandon {of}?"),
                lines: vec!["It ends cancelled where it stopped; nothing more of it runs.".into()],
            },
        ),
        U::RerunFailed | U::RerunFromStep if st.is_active() => {
            notice(state, ctx, format!("{of} is {}: rerun it once it has ended", st.word()))
        }
        U::RerunFailed => {
            let command = rerun(id, RerunFrom::Failed);
            state.send_command(source, command, &format!("{of}: its failed steps rerun as a new attempt"), effects);
            true
        }
        U::RerunFromStep => {
            let step = (state.focus == BoxId::WfDetail || state.focus == BoxId::WfLog)
                .then(|| state.workflows.selected_step().map(|s| s.id.clone()))
                .flatten();
            let Some(step) = step else {
                return notice(state, ctx, "open the run (Enter) and select the step to rerun from");
            };
            let what = format!("{of}: rerun from step {step} as a new attempt");
            state.send_command(source, rerun(id, RerunFrom::Step(step)), &what, effects);
            true
        }
        _ => decide(state, source, a == U::ApproveStep, ctx),
    }
}

fn rerun(run: u64, from: RerunFrom) -> Command {
    Command::Workflows(WorkflowsCommand::RerunRun { run, from, current: false, inputs: None })
}

/// Approve or reject: the selected step when it waits, else the run's waiting step.
fn decide(state: &mut AppState, source: String, approve: bool, ctx: &Ctx) -> bool {
    let w = &state.workflows;
    let run = match state.focus {
        BoxId::WfDetail | BoxId::WfLog => w.opened_latest(),
        _ => w.selected_run(),
    };
    let Some(r) = run else { return false };
    // Only the latest attempt has steps that wait.
    let in_detail = matches!(state.focus, BoxId::WfDetail | BoxId::WfLog) && w.past.is_none();
    let step = in_detail
        .then(|| w.selected_step().filter(|s| s.state == RunState::Waiting))
        .flatten()
        .or_else(|| r.waiting_step());
    let Some(step) = step else {
        let text = format!("run #{} has no step waiting for an approval", r.run.id);
        return notice(state, ctx, text);
    };
    let message = step
        .args
        .as_ref()
        .and_then(|a| a.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("(the step gives no message)")
        .to_string();
    let p = WfPopup::Decide {
        source,
        run: r.run.id,
        step: step.id.clone(),
        approve,
        message,
        note: Box::new(LineInput::new(if approve { "a note (optional)" } else { "why (optional)" })),
    };
    open_popup(state, p)
}
