//! The runs pane's commands done on a Prefect server, answered in the shapes
//! opsdeck's engine answers them (docs/protocol.md), so the pane and
//! `opsdeck runs` read both alike:
//!
//! | command | on Prefect |
//! |---|---|
//! | `start_run` | `POST /deployments/{id}/create_flow_run` with the inputs as parameters |
//! | `cancel_run` | `set_state` → `CANCELLING` (forced, as Prefect's UI) |
//! | `rerun_run` | `set_state` → `SCHEDULED`/`AwaitingRetry` (Prefect's UI's retry): deployment runs only |
//! | `approve` / `reject` of a paused run | `POST /flow_runs/{id}/resume` / `set_state` → `CANCELLING` |
//! | `show_run`, `step_log`, `list_runs` | the flow run, its task runs, its logs |
//!
//! Resume and abandon (of interrupted runs) are opsdeck's own and refused with why.

use serde_json::{Value, json};

use super::live::{Conn, merge};
use super::model::{self, FLOW_STEP};
use super::track::{Changes, log_by_step};
use crate::protocol::workflow::{RerunFrom, Run, RunDetail, RunId, RunState, WorkflowsCommand};

/// Times a resume is asked again while Prefect's record still lags its event.
const RESUME_TRIES: u32 = 8;

/// Log records read for a `step_log` answer.
const LOG_MAX: usize = 10_000;

pub(super) async fn answer(c: &mut Conn, cmd: WorkflowsCommand) -> Result<Value, String> {
    match cmd {
        WorkflowsCommand::StartRun { workflow, inputs, by } => {
            let dep =
                c.tr.deployments
                    .iter()
                    .find(|(_, (d, flow))| c.tr.flows.get(flow).is_some_and(|f| format!("{f}/{d}") == workflow))
                    .map(|(id, _)| id.clone())
                    .ok_or_else(|| format!("no deployment {workflow:?} there (a workflow is flow/deployment)"))?;
            let fr = c.api.create_flow_run(&dep, inputs, &by).await?;
            let ch = c.tr.flow_run(&fr, true);
            let _ = c.emit(ch).await;
            Ok(json!({ "run": model::run_number(&fr.id), "id": fr.id, "name": fr.name }))
        }
        WorkflowsCommand::CancelRun { run } => {
            let (uuid, r) = known(c, run)?;
            if r.state.is_final() {
                return Err(format!("{} is {}: there is nothing to cancel", r.label(), r.state_name()));
            }
            let state = json!({"type": "CANCELLING", "name": "Cancelling", "message": "cancelled from opsdeck"});
            c.api.set_state(&uuid, state).await?;
            let note = if r.external.as_ref().is_some_and(|x| x.deployment.is_none()) {
                "; it was not started by a deployment, so nothing stops its process: Prefect marks it cancelled \
                 when its cancellation times out"
            } else {
                ""
            };
            let name = r.external.as_ref().map(|x| x.name.clone()).unwrap_or_default();
            Ok(json!({ "run": run, "name": name, "cancelling": true, "note": note.trim_start_matches("; ") }))
        }
        WorkflowsCommand::RerunRun { run, from, current: _, inputs } => {
            let (uuid, r) = known(c, run)?;
            if r.external.as_ref().is_none_or(|x| x.deployment.is_none()) {
                return Err(format!(
                    "{} was not started by a deployment: Prefect would mark it for a retry that nothing runs; \
                     run its flow again where it ran",
                    r.label()
                ));
            }
            if matches!(from, RerunFrom::Step(_)) || inputs.is_some_and(|i| !i.is_empty()) {
                return Err("Prefect retries a whole flow run with its parameters: choose a plain rerun".into());
            }
            if !r.state.is_final() {
                return Err(format!("{} is {}: only an ended run is retried", r.label(), r.state_name()));
            }
            let state = json!({"type": "SCHEDULED", "name": "AwaitingRetry", "message": "Retry from opsdeck"});
            c.api.set_state(&uuid, state).await?;
            let name = r.external.as_ref().map(|x| x.name.clone()).unwrap_or_default();
            Ok(json!({ "run": run, "name": name, "attempt": r.attempt + 1, "retrying": true }))
        }
        // A paused run (Prefect's `pause_flow_run`) waits for a person: an
        // approval resumes it, a rejection cancels it (Prefect's UI offers both).
        WorkflowsCommand::Approve { run, .. } => answer_pause(c, run, true).await,
        WorkflowsCommand::Reject { run, .. } => answer_pause(c, run, false).await,
        WorkflowsCommand::ShowRun { run, attempt } => {
            let d = detail(c, run).await?;
            match attempt.filter(|a| *a != d.run.attempt) {
                Some(n) => {
                    let (d, _) = past_detail(c, &d.run, n, false).await?;
                    serde_json::to_value(d).map_err(|e| e.to_string())
                }
                None => serde_json::to_value(d).map_err(|e| e.to_string()),
            }
        }
        WorkflowsCommand::StepLog { run, attempt, step } => {
            let d = detail(c, run).await?;
            if let Some(n) = attempt.filter(|a| *a != d.run.attempt) {
                let (past, mut logs) = past_detail(c, &d.run, n, true).await?;
                if step != FLOW_STEP && !past.steps.iter().any(|s| s.id == step) {
                    return Err(format!("attempt {n} of {} has no task run {step:?}", d.run.label()));
                }
                let lines = logs.remove(&step).unwrap_or_default();
                return Ok(json!({ "run": run, "attempt": n, "step": step, "lines": lines, "printed_in": n }));
            }
            let uuid = c.tr.uuid(run).map(str::to_string).unwrap_or_default();
            let recs = c.api.logs(&uuid, None, LOG_MAX).await?;
            c.logs_read(&uuid, &recs);
            let t = c.tr.get(&uuid).ok_or_else(|| gone(run))?;
            if step != FLOW_STEP && !t.steps.iter().any(|s| s.id == step) {
                return Err(format!("{} has no task run {step:?}", d.run.label()));
            }
            let lines = log_by_step(t, &recs).remove(&step).unwrap_or_default();
            Ok(
                json!({ "run": run, "attempt": d.run.attempt, "step": step, "lines": lines, "printed_in": d.run.attempt }),
            )
        }
        WorkflowsCommand::ListRuns { workflow, state, before, limit } => {
            let limit = limit.clamp(1, 1000);
            // Not the runs scheduled ahead (as in the pane).
            let mut filter = json!({"expected_start_time": {"before_": model::rfc3339(c.now() + 60_000)}});
            if let Some(b) = before {
                let (_, r) = known(c, b)?;
                filter["expected_start_time"] = json!({"before_": model::rfc3339(r.created - 1)});
            }
            let mut out: Vec<Run> = Vec::new();
            let mut ch = Changes::default();
            let mut offset = 0;
            // Filters opsdeck's words name are applied here (Prefect has its own types).
            while out.len() < limit && offset < 5_000 {
                let page = c.api.flow_runs(super::api::PAGE, offset, filter.clone()).await?;
                let n = page.len();
                for fr in &page {
                    merge(&mut ch, c.tr.flow_run(fr, false));
                    if let Some(t) = c.tr.get(&fr.id)
                        && workflow
                            .as_ref()
                            .is_none_or(|w| &t.run.workflow == w || t.run.workflow.starts_with(&format!("{w}/")))
                        && state.is_none_or(|s| t.run.state == s)
                        && out.len() < limit
                    {
                        out.push(t.run.clone());
                    }
                }
                offset += n;
                if n < super::api::PAGE {
                    break;
                }
            }
            let _ = c.emit(Changes { ended: Vec::new(), ..ch }).await;
            serde_json::to_value(out).map_err(|e| e.to_string())
        }
        WorkflowsCommand::ListWorkflows => {
            let ds = c.api.deployments().await?;
            let workflows: Vec<_> = ds
                .iter()
                .map(|d| model::workflow_of(d, c.tr.flows.get(&d.flow_id).map_or("", String::as_str)))
                .collect();
            Ok(json!({ "workflows": workflows, "problems": [] }))
        }
        other => Err(format!("{} is opsdeck's own; Prefect has no such action", other.describe())),
    }
}

/// Resume (`approve`) or cancel a paused run.
async fn answer_pause(c: &mut Conn, run: RunId, approve: bool) -> Result<Value, String> {
    let (uuid, r) = known(c, run)?;
    if r.state != RunState::Waiting {
        return Err(format!("{} is {}: only a paused run waits for an answer", r.label(), r.state_name()));
    }
    if approve {
        // Prefect announces a Paused state a moment before the run's record
        // says so (seen under load: "Cannot resume a flow run that is not
        // paused" right after the event): ask again, a few times, briefly.
        let mut tries = 0;
        loop {
            match c.api.resume(&uuid).await {
                Err(e) if e.contains("not paused") && tries < RESUME_TRIES => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
                other => break other?,
            }
        }
    } else {
        let state = json!({"type": "CANCELLING", "name": "Cancelling", "message": "rejected from opsdeck"});
        c.api.set_state(&uuid, state).await?;
    }
    let name = r.external.as_ref().map(|x| x.name.clone()).unwrap_or_default();
    let done = if approve { "resumed" } else { "cancelling" };
    let mut v = json!({ "run": run, "name": name });
    v[done] = json!(true);
    Ok(v)
}

/// The Prefect id and header of a known run.
fn known(c: &Conn, run: RunId) -> Result<(String, Run), String> {
    let uuid = c.tr.uuid(run).ok_or_else(|| gone(run))?;
    let t = c.tr.get(uuid).ok_or_else(|| gone(run))?;
    Ok((uuid.to_string(), t.run.clone()))
}

fn gone(run: RunId) -> String {
    format!("no Prefect flow run numbered {run} is known here: list the runs again (`opsdeck runs --source NAME`)")
}

/// Attempt `n` of `run` (not its latest) rebuilt from Prefect's state
/// history and the task runs of that attempt; with `logs`, its log lines
/// by step.
async fn past_detail(
    c: &mut Conn,
    run: &Run,
    n: u32,
    logs: bool,
) -> Result<(RunDetail, std::collections::BTreeMap<String, Vec<String>>), String> {
    let (uuid, _) = known(c, run.id)?;
    let states = c.api.states(&uuid).await?;
    let past = model::past_attempt(run, &states, n)
        .ok_or_else(|| format!("{} has no attempt {n} in Prefect's state history", run.label()))?;
    let trs = c.api.task_runs(&uuid).await?;
    let recs = if logs { c.api.logs(&uuid, None, LOG_MAX).await? } else { Vec::new() };
    let (steps, by_step) = super::track::past(&uuid, past.clone(), &trs, &recs);
    Ok((RunDetail { run: past, steps }, by_step))
}

/// A run read again (its header and task runs) and announced.
async fn detail(c: &mut Conn, run: RunId) -> Result<RunDetail, String> {
    let (uuid, _) = known(c, run)?;
    let fr = c.api.flow_run(&uuid).await?;
    let trs = c.api.task_runs(&uuid).await?;
    let mut ch = c.tr.flow_run(&fr, true);
    merge(&mut ch, c.tr.task_runs(&uuid, &trs));
    let _ = c.emit(ch).await;
    let t = c.tr.get(&uuid).ok_or_else(|| gone(run))?;
    Ok(RunDetail { run: t.run.clone(), steps: t.steps.clone() })
}
