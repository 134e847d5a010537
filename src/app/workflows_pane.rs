//! Glue between the app and the workflows pane: its spec, the actions that
//! become commands to a run's source (after a popup where they ask), the
//! reads of a run's steps and a step's stored log, and their answers.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::Value;

use super::pane::{self, Hint, PaneSpec};
use super::panes::workflows::{Asked, WfPopup};
use super::{AppState, BoxId, Ctx, Effect, KeyContext, Overlay, Pane, UserAction};
use crate::protocol::Command;
use crate::protocol::workflow::{Run, RunDetail, RunState, WorkflowsCommand};

mod rerun_inputs;
mod run_actions;

use run_actions::run_action;

pub(super) static SPEC: PaneSpec = PaneSpec {
    pane: Pane::Workflows,
    number: 2,
    title: "Workflows",
    boxes: &[
        (BoxId::WfList, "Workflows"),
        (BoxId::WfRuns, "Runs"),
        (BoxId::WfDetail, "Run"),
        (BoxId::WfLog, "Log"),
        (BoxId::WfCompare, "Compare"),
        (BoxId::WfVersions, "Versions"),
    ],
    start: BoxId::WfList,
    context: KeyContext::Workflows,
    capture,
    on_user,
    on_popup,
    select: select_row,
    paste: |s, text| s.workflows.log.editing && s.workflows.search_paste(text),
    scroll: |s, b, rows| {
        if let Some(moved) = super::workflows_history::scroll(s, b, rows, s.now) {
            return moved;
        }
        let a = if rows < 0 { UserAction::Up } else { UserAction::Down };
        (0..rows.unsigned_abs()).fold(false, |acc, _| s.workflows.nav(a, b).is_some_and(|(c, _)| c) || acc)
    },
    // The detail and log boxes are each about half the body.
    resize: |s, _, h| s.workflows.page = (h as usize).saturating_sub(6) / 2,
    hints,
};

/// The log search, while it is typed into, takes every key.
fn capture(s: &mut AppState, key: KeyEvent, _: &crate::config::keymap::Keymap) -> Option<bool> {
    s.workflows.log.editing.then(|| s.workflows.search_key(key))
}

fn select_row(s: &mut AppState, b: BoxId, i: usize) -> bool {
    let w = &mut s.workflows;
    // A click on a workflow leaves a selected problem row.
    let left_problem = b == BoxId::WfList && i < w.workflows.len() && w.problem_sel.take().is_some();
    let (sel, len) = match b {
        BoxId::WfList => (&mut w.wf_sel, w.workflows.len()),
        BoxId::WfRuns => {
            let n = w.run_rows().len();
            (&mut w.runs_sel, n)
        }
        BoxId::WfDetail => {
            let n = w.opened().map_or(0, |r| r.steps.len());
            (&mut w.step_sel, n)
        }
        _ => return false,
    };
    let moved = i < len && *sel != i;
    if moved {
        *sel = i;
        if b == BoxId::WfDetail {
            w.step_chosen_here();
        }
    }
    moved || left_problem
}

fn hints(s: &AppState, focus: BoxId) -> Vec<Hint> {
    use UserAction as U;
    if s.workflows.log.editing {
        return pane::editing_line();
    }
    let mut v = Vec::new();
    if s.zoomed {
        v.push(Hint::Bound(U::Close, Some("unzoom")));
    }
    let run = target(s).map(|(_, r)| r.state);
    // Another orchestrator's run (Prefect): its retry needs a deployment.
    let external = target(s).and_then(|(_, r)| r.external.as_ref().map(|x| x.deployment.is_some()));
    v.push(Hint::Bound(U::Help, None));
    match focus {
        BoxId::WfList => v.extend([
            Hint::Bound(U::Confirm, Some("runs")),
            Hint::Bound(U::StartWorkflow, Some("start")),
            Hint::Bound(U::EditWorkflow, Some("edit")),
            Hint::Bound(U::RunStateFilter, Some("state")),
            Hint::Bound(U::RunTimeFilter, Some("time")),
            Hint::Bound(U::WorkflowVersions, Some("versions")),
        ]),
        BoxId::WfRuns => {
            v.push(Hint::Bound(U::Confirm, Some("open")));
            if s.workflows.runs_of.is_some() {
                v.push(Hint::Bound(U::Close, Some("all runs")));
            }
            v.push(Hint::Bound(U::RunStateFilter, Some("state")));
            v.push(Hint::Bound(U::RunTimeFilter, Some("time")));
            v.push(Hint::Bound(U::MarkCompare, Some("mark")));
            v.push(Hint::Bound(U::CompareWorkflowRuns, Some("compare")));
        }
        BoxId::WfCompare => {
            v.extend([Hint::Bound(U::PageDown, Some("scroll")), Hint::Bound(U::Close, Some("close"))]);
            return v;
        }
        BoxId::WfVersions => {
            v.extend([
                Hint::Bound(U::Confirm, Some("text")),
                Hint::Bound(U::VersionDiff, Some("diff")),
                Hint::Bound(U::MarkCompare, Some("mark")),
                Hint::Bound(U::RollbackVersion, Some("roll back")),
                Hint::Bound(U::Close, Some("close")),
            ]);
            return v;
        }
        BoxId::WfDetail => {
            v.push(Hint::Bound(U::Confirm, Some("log")));
            if s.workflows.attempt_shown().is_some_and(|(_, of)| of > 1) {
                v.push(Hint::Bound(U::AttemptPrev, Some("attempts")));
            }
            if external.is_none() {
                v.push(Hint::Bound(U::RerunFromStep, Some("rerun from here")));
            }
            v.push(Hint::Bound(U::PageDown, Some("scroll JSON")));
        }
        _ => v.extend([
            Hint::Bound(U::Filter, Some("search")),
            Hint::Bound(U::SearchNext, None),
            Hint::Bound(U::FollowLog, Some("follow")),
            Hint::Bound(
                U::FailedLogsToggle,
                Some(if s.workflows.log.failed_only { "this step" } else { "failed only" }),
            ),
        ]),
    }
    // What the selected run can do now.
    match run {
        Some(RunState::Failed | RunState::Cancelled) if external == Some(true) => {
            v.push(Hint::Bound(U::RerunFailed, Some("retry")))
        }
        Some(RunState::Failed | RunState::Cancelled) if external.is_some() => {}
        // A paused Prefect run: resume (approve) or cancel (reject).
        Some(RunState::Waiting) if external.is_some() => {
            v.extend([Hint::Bound(U::ApproveStep, Some("resume")), Hint::Bound(U::RejectStep, Some("cancel"))])
        }
        Some(RunState::Waiting) => {
            v.extend([Hint::Bound(U::ApproveStep, Some("approve")), Hint::Bound(U::RejectStep, Some("reject"))])
        }
        Some(st) if st.is_active() => v.push(Hint::Bound(U::CancelWorkflowRun, Some("cancel"))),
        Some(RunState::Interrupted) => {
            v.extend([Hint::Bound(U::ResumeRun, Some("resume")), Hint::Bound(U::AbandonRun, Some("abandon"))])
        }
        Some(RunState::Failed | RunState::Cancelled) => v.extend([
            Hint::Bound(U::RerunFailed, Some("rerun failed")),
            Hint::Bound(U::RerunWithInputs, Some("rerun, edit inputs")),
        ]),
        _ => {}
    }
    v.push(Hint::Bound(U::FocusNext, None));
    v
}

/// The run an action works on: the open one in the detail and log boxes,
/// the selected one in the runs list.
fn target(s: &AppState) -> Option<(String, &Run)> {
    let w = &s.workflows;
    // The run's latest attempt, whichever attempt the detail shows.
    let r = match s.focus {
        BoxId::WfDetail | BoxId::WfLog => w.opened_latest(),
        BoxId::WfRuns => w.selected_run(),
        _ => None,
    }?;
    Some((r.source.clone(), &r.run))
}

fn notice(state: &mut AppState, ctx: &Ctx, text: impl Into<String>) -> bool {
    state.notice = Some((ctx.now, text.into()));
    true
}

fn open_popup(state: &mut AppState, p: WfPopup) -> bool {
    state.overlay = Some(Overlay::Workflows(Box::new(p)));
    true
}

pub(super) fn on_user(state: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    use UserAction as U;
    if state.read_only && a.changes_state() && !state.read_only_allows(a) {
        let what = match a {
            U::StartWorkflow => return refuse_start(state),
            U::CancelWorkflowRun => "cancelling a run",
            U::ResumeRun => "resuming a run",
            U::AbandonRun => "abandoning a run",
            U::RerunFailed | U::RerunFromStep | U::RerunWithInputs => "rerunning a run",
            U::ApproveStep => "approving a step",
            U::EditWorkflow => "editing a workflow's definition",
            U::RollbackVersion => "rolling a workflow back",
            _ => "rejecting a step",
        };
        state.refuse_read_only(what);
        return true;
    }
    let changed = match a {
        U::StartWorkflow => match state.workflows.selected_workflow().filter(|_| state.focus == BoxId::WfList) {
            Some((src, w)) => {
                let p = WfPopup::start(src, w);
                open_popup(state, p)
            }
            None => notice(state, ctx, state.workflows.nothing_to_start(state.focus == BoxId::WfList)),
        },
        U::CancelWorkflowRun
        | U::ResumeRun
        | U::AbandonRun
        | U::RerunFailed
        | U::RerunFromStep
        | U::ApproveStep
        | U::RejectStep => run_action(state, a, ctx, effects),
        U::RerunWithInputs if target(state).is_some_and(|(_, r)| r.external.is_some()) => {
            run_action(state, a, ctx, effects)
        }
        U::RerunWithInputs => rerun_inputs::open(state, ctx, effects),
        // Enter on a problem row: the whole message, with its hint.
        U::Confirm if state.focus == BoxId::WfList && state.workflows.selected_problem().is_some() => {
            let (source, problem) = state.workflows.selected_problem().cloned().unwrap_or_default();
            let mut lines: Vec<String> = problem.lines().map(str::to_string).collect();
            lines.push(String::new());
            lines.push(format!("{source} left this file out; E opens it in the editor."));
            state.overlay = Some(Overlay::message("Workflow file left out", lines));
            true
        }
        U::EditWorkflow => super::workflows_extra::edit_definition(state, ctx, effects),
        _ => match super::workflows_history::on_user(state, a, ctx, effects) {
            Some(changed) => changed,
            None => match state.workflows.nav(a, state.focus) {
                Some((changed, focus)) => {
                    if let Some(f) = focus {
                        state.focus = f;
                    }
                    changed || focus.is_some()
                }
                None => false,
            },
        },
    };
    read_what_is_shown(state, effects);
    changed
}

/// Under `--read-only` only a workflow none of whose steps change things
/// starts; another is refused with the steps that do.
fn refuse_start(state: &mut AppState) -> bool {
    let mutating: Vec<String> = state
        .workflows
        .selected_workflow()
        .map(|(_, w)| w.steps.iter().filter(|s| s.mutating).map(|s| s.id.clone()).collect())
        .unwrap_or_default();
    if mutating.is_empty() {
        state.refuse_read_only("starting a workflow run");
    } else {
        let what = match mutating.as_slice() {
            [one] => format!("starting a workflow whose step changes things ({one})"),
            _ => format!("starting a workflow whose steps change things ({})", mutating.join(", ")),
        };
        state.refuse_read_only(&what);
    }
    true
}

/// Ask the source for what the pane shows and does not have: the open run's
/// steps, the stored logs of the ended steps shown.
pub(super) fn read_what_is_shown(state: &mut AppState, effects: &mut Vec<Effect>) {
    super::workflows_extra::ask_older(state, state.focus, effects);
    let w = &state.workflows;
    // Reads are not queued for a backend that is down: asked again once it is back.
    if w.opened().is_some_and(|r| state.source_down(&r.source)) {
        return;
    }
    // The open run's steps, of the attempt shown (`None`: the latest).
    let show = w.opened().filter(|r| !r.steps_loaded).map(|r| {
        let earlier = w.past.as_ref().is_some_and(|p| p.run.id == r.run.id && p.source == r.source);
        (r.source.clone(), r.run.id, earlier.then_some(r.run.attempt))
    });
    let show = show.filter(|(src, id, at)| {
        !w.asked
            .values()
            .any(|a| matches!(a, Asked::Show { source, run, attempt } if source == src && run == id && attempt == at))
    });
    if let Some((source, run, attempt)) = show {
        let command = Command::Workflows(WorkflowsCommand::ShowRun { run, attempt });
        if let Some(id) = state.send_command(source.clone(), command, "reading a run", effects) {
            state.workflows.asked.insert(id, Asked::Show { source, run, attempt });
        }
    }
    for (source, run, attempt, step) in state.workflows.logs_wanted() {
        if let Some(r) = state.workflows.attempt_mut(&source, run, attempt) {
            r.logs_asked.insert(step.clone());
        }
        let command = Command::Workflows(WorkflowsCommand::StepLog { run, attempt: Some(attempt), step: step.clone() });
        if let Some(id) = state.send_command(source.clone(), command, "reading a step's log", effects) {
            state.workflows.asked.insert(id, Asked::Log { source, run, attempt, step });
        }
    }
}

/// The answer of a command the pane asked for (`id` was in `asked`).
pub(super) fn answered(
    state: &mut AppState,
    id: &str,
    source: &str,
    result: Result<Value, String>,
    ctx: &Ctx,
    effects: &mut Vec<Effect>,
) {
    let Some(asked) = state.workflows.asked.remove(id) else { return };
    let what = state.pending_commands.remove(id).unwrap_or_default();
    if matches!(asked, Asked::Versions | Asked::Version) {
        super::workflows_history::answered(state, id, &asked, result);
        return;
    }
    match (asked, result) {
        (Asked::Older { limit, .. }, result) => {
            super::workflows_extra::older_answered(state, source, limit, result, ctx)
        }
        (Asked::Show { run, .. }, Ok(v)) => match serde_json::from_value::<RunDetail>(v) {
            Ok(d) => {
                // Its steps were not known when it was opened: the step that needs attention is selected now.
                state.workflows.show_answered(source, d);
                read_what_is_shown(state, effects);
            }
            Err(e) => {
                let name = state.workflows.run_name(source, run);
                notice(state, ctx, format!("✗ run {name} from {source} could not be read: {e}"));
            }
        },
        // An earlier attempt that cannot be read: back to the latest, saying why.
        (Asked::Show { run, attempt: Some(n), .. }, Err(e)) => {
            if state.workflows.past.as_ref().is_some_and(|p| p.source == source && p.run.id == run) {
                state.workflows.past = None;
            }
            let name = state.workflows.run_name(source, run);
            notice(state, ctx, format!("✗ attempt {n} of run {name} could not be read: {e}"));
        }
        (Asked::Log { run, attempt, step, .. }, Ok(v)) => {
            let lines = v
                .get("lines")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|l| l.as_str().map_or_else(|| l.to_string(), str::to_string)).collect())
                .unwrap_or_default();
            state.workflows.log_answered(source, run, attempt, &step, lines);
        }
        (Asked::Log { run, attempt, step, .. }, Err(e)) => {
            let line = format!("✗ the stored log could not be read: {e}");
            state.workflows.log_answered(source, run, attempt, &step, vec![line]);
        }
        (Asked::ShowForRerun { run, .. }, result) => rerun_inputs::answered(state, source, run, result, ctx),
        (Asked::Start { workflow, .. }, Ok(v)) => match v.get("run").and_then(Value::as_u64) {
            Some(run) => {
                // A Prefect flow run is named by Prefect.
                let label = v.get("name").and_then(Value::as_str).map_or_else(|| format!("#{run}"), str::to_string);
                notice(state, ctx, format!("✓ {workflow} started as run {label} on {source}"));
                state.workflows.open_run((source.to_string(), run));
                if state.focus.pane() == Pane::Workflows {
                    state.focus = BoxId::WfDetail;
                }
                read_what_is_shown(state, effects);
            }
            None => {
                notice(state, ctx, format!("✓ {workflow} started on {source}"));
            }
        },
        (Asked::Resume { source, run }, Err(e)) if e.contains("idempotent = false") => {
            open_popup(
                state,
                WfPopup::Confirm {
                    source,
                    command: WorkflowsCommand::ResumeRun { run, rerun_unsafe: true },
                    question: format!("Resume run #{run}, running its unsafe step again?"),
                    lines: vec![e],
                },
            );
        }
        (_, Ok(_)) => {
            notice(state, ctx, format!("✓ {what} on {source}"));
        }
        (_, Err(e)) => {
            notice(state, ctx, format!("✗ {source} refused ({what}): {e}"));
        }
    }
}

/// A bound action while a workflows popup is open.
fn on_popup(state: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> Option<bool> {
    use UserAction as U;
    if !matches!(state.overlay, Some(Overlay::Workflows(_))) {
        return None;
    }
    let Some(Overlay::Workflows(mut p)) = state.overlay.take() else { return None };
    // Enter and Esc end the edit of a form field first.
    if matches!(a, U::Confirm | U::Close) && p.finish_edit() {
        state.overlay = Some(Overlay::Workflows(p));
        return Some(true);
    }
    // While a field is edited: ←/→ (and ↑/↓ in a multi-line field) move its
    // cursor; ↑/↓/Tab leave it, keeping and checking its text.
    if let WfPopup::Start { form, .. } = &mut *p
        && form.editing.is_some()
    {
        let multiline = form.current().is_some_and(|f| f.multiline());
        let code = match a {
            U::Left => Some(KeyCode::Left),
            U::Right => Some(KeyCode::Right),
            U::Up if multiline => Some(KeyCode::Up),
            U::Down if multiline => Some(KeyCode::Down),
            _ => None,
        };
        if let Some(code) = code {
            form.edit_key(KeyEvent::new(code, KeyModifiers::NONE));
            state.overlay = Some(Overlay::Workflows(p));
            return Some(true);
        }
        if matches!(a, U::Up | U::Down | U::FocusPrev | U::FocusNext) {
            form.finish_edit();
        }
    }
    let by = state.user.clone();
    let keep = match (a, &mut *p) {
        (U::Close, _) => false,
        (U::Up | U::FocusPrev, WfPopup::Start { form, on_start, .. }) => {
            if *on_start {
                *on_start = form.fields.is_empty();
            } else {
                form.move_by(-1);
            }
            true
        }
        (U::Down | U::FocusNext, WfPopup::Start { form, on_start, .. }) => {
            if !form.move_by(1) {
                *on_start = true;
            }
            true
        }
        (U::Left | U::Right, WfPopup::Start { form, on_start: false, .. }) => {
            form.step(if a == U::Left { -1 } else { 1 });
            true
        }
        (U::Confirm, WfPopup::Start { form, on_start: false, .. }) => {
            form.activate();
            true
        }
        (U::Confirm, WfPopup::Start { source, form, rerun: Some(of), .. }) => {
            rerun_inputs::submit(state, source.clone(), form, of.clone(), ctx, effects)
        }
        (U::Confirm, WfPopup::Start { source, workflow, form, .. }) => match form.args() {
            Some(Value::Object(inputs)) => {
                let name = workflow.name.clone();
                let command = Command::Workflows(WorkflowsCommand::StartRun { workflow: name.clone(), inputs, by });
                let what = format!("starting {name}");
                // `--read-only` lets a workflow that changes nothing start.
                let sent = if state.read_only && workflow.steps.iter().all(|s| !s.mutating) {
                    Some(state.send_unchecked(source.clone(), command, &what, effects))
                } else {
                    state.send_command(source.clone(), command, &what, effects)
                };
                if let Some(id) = sent {
                    state.workflows.asked.insert(id, Asked::Start { source: source.clone(), workflow: name });
                }
                false
            }
            _ => {
                let n = form.error_count();
                notice(
                    state,
                    ctx,
                    format!("✗ {}: fix the inputs first", crate::text::count(n as u64, "field", "fields")),
                );
                true
            }
        },
        (U::Confirm, WfPopup::Confirm { source, command, .. }) => {
            let name = |run: &u64| state.workflows.run_name(source, *run);
            // Another orchestrator's run is cancelled when it says so.
            let external = |run: &u64| {
                state.workflows.runs.iter().any(|r| r.source == *source && r.run.id == *run && r.run.external.is_some())
            };
            let what = match &*command {
                WorkflowsCommand::CancelRun { run } if external(run) => format!("cancel of run {} asked", name(run)),
                WorkflowsCommand::CancelRun { run } => format!("run {} cancelled", name(run)),
                WorkflowsCommand::AbandonRun { run } => format!("run {} abandoned", name(run)),
                WorkflowsCommand::ResumeRun { run, .. } => format!("run {} resumed", name(run)),
                WorkflowsCommand::Rollback { workflow, version } => {
                    format!("{workflow} rolled back to version {version}")
                }
                other => other.describe().to_string(),
            };
            state.send_command(source.clone(), Command::Workflows(command.clone()), &what, effects);
            false
        }
        (U::Confirm, WfPopup::Decide { source, run, step, approve, note, .. }) => {
            let (run, step, note) = (*run, step.clone(), note.text().trim().to_string());
            let (command, what) = if *approve {
                (WorkflowsCommand::Approve { run, step: step.clone(), by, note }, "approved")
            } else {
                (WorkflowsCommand::Reject { run, step: step.clone(), by, note }, "rejected")
            };
            let name = state.workflows.run_name(source, run);
            // A paused Prefect run is resumed or cancelled as a whole.
            let what = match (name.starts_with('#'), *approve) {
                (true, _) => format!("step {step} of run {name} {what}"),
                (false, true) => format!("run {name} resumed"),
                (false, false) => format!("cancel of run {name} asked"),
            };
            state.send_command(source.clone(), Command::Workflows(command), &what, effects);
            false
        }
        _ => true,
    };
    if keep {
        state.overlay = Some(Overlay::Workflows(p));
    }
    state.refresh_hints(ctx.keymap);
    Some(true)
}
