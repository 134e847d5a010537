//! Following and printing runs: `--watch` (a line per step change, the
//! failed steps' log tails at the end), `opsdeck runs show` and the run list.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;

use super::refused;
use super::target::Target;
use crate::cli::{err_line, out_line};
use crate::protocol::workflow::{Run, RunDetail, RunId, RunState, StepRun, WorkflowsCommand};
use crate::protocol::{Envelope, Event};

/// Follow run `run` until it ends: a line per step change, the failed
/// steps' log tails at the end. Ctrl-C cancels the run.
pub(super) async fn watch(
    target: &Target,
    run: RunId,
    mut events: mpsc::Receiver<Arc<Envelope>>,
    json: bool,
) -> ExitCode {
    let mut seen: HashMap<String, (u32, u8)> = HashMap::new();
    let mut attempt = None;
    // What happened before the subscription took effect.
    if let Ok(d) = detail(target, run, None).await {
        attempt = Some(d.run.attempt);
        for s in &d.steps {
            print_step(run, s, &mut seen);
        }
        if d.run.state.is_final() && !matches!(d.run.state, RunState::Interrupted) && d.run.ended.is_some() {
            return finish(target, d, json).await;
        }
    }
    let mut cancelled = false;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            ev = events.recv() => {
                let Some(env) = ev else {
                    err_line!("error: the engine's events stopped");
                    return ExitCode::FAILURE;
                };
                match &env.event {
                    Event::StepChanged { run: r, attempt: a, step } if *r == run && attempt.is_none_or(|x| x <= *a) => {
                        attempt = Some(*a);
                        print_step(run, step, &mut seen);
                    }
                    Event::RunChanged(r) if r.id == run && attempt.is_none_or(|x| x <= r.attempt) => {
                        attempt = Some(r.attempt);
                        if r.state.is_final() {
                            let d = match detail(target, run, Some(r.attempt)).await {
                                Ok(d) => d,
                                Err(e) => return refused(e),
                            };
                            return finish(target, d, json).await;
                        }
                    }
                    _ => {}
                }
            }
            _ = &mut ctrl_c, if !cancelled => {
                cancelled = true;
                err_line!("cancelling run #{run}…");
                if let Err(e) = target.command(WorkflowsCommand::CancelRun { run }).await {
                    err_line!("error: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
}

/// How far a step has got: events that arrive late (the subscription
/// started before the first read of the run) never move it back.
fn progress(s: &StepRun) -> (u32, u8) {
    let phase = match s.state {
        RunState::Queued => 0,
        RunState::Waiting => 1,
        RunState::Running => 2,
        RunState::Retrying => 3,
        _ => 4,
    };
    (s.attempt, phase)
}

fn print_step(run: RunId, s: &StepRun, seen: &mut HashMap<String, (u32, u8)>) {
    if s.state == RunState::Queued && s.attempt == 0 {
        return;
    }
    if seen.get(&s.id).is_some_and(|&p| p >= progress(s)) {
        return;
    }
    seen.insert(s.id.clone(), progress(s));
    let mut line = format!("#{run} {:<16} {} {}", s.id, s.state.glyph(), s.state.word());
    if s.attempt > 1 {
        line.push_str(&format!(" (attempt {})", s.attempt));
    }
    if let Some(ms) = s.duration_ms(s.ended.unwrap_or(0)).filter(|_| s.ended.is_some()) {
        line.push_str(&format!(" {}", crate::ui::widgets::fmt::duration_ms(ms)));
    }
    if let Some(e) = &s.error {
        line.push_str(&format!(" — {e}"));
    }
    if s.state == RunState::Waiting
        && let Some(m) = s.args.as_ref().and_then(|a| a.get("message")).and_then(Value::as_str)
    {
        line.push_str(&format!(" — {m} (opsdeck runs approve {run} {})", s.id));
    }
    err_line!("{line}");
}

async fn detail(target: &Target, run: RunId, attempt: Option<u32>) -> Result<RunDetail, String> {
    let v = target.command(WorkflowsCommand::ShowRun { run, attempt }).await?;
    serde_json::from_value(v).map_err(|e| format!("an answer this build cannot read: {e}"))
}

async fn step_log(target: &Target, run: RunId, attempt: u32, step: &str) -> Result<Vec<String>, String> {
    let v = target.command(WorkflowsCommand::StepLog { run, attempt: Some(attempt), step: step.into() }).await?;
    Ok(serde_json::from_value(v["lines"].clone()).unwrap_or_default())
}

/// The run's end: its state line, the failed steps' log tails; exit 0 only on success.
async fn finish(target: &Target, d: RunDetail, json: bool) -> ExitCode {
    let r = &d.run;
    let took = r.duration_ms(r.ended.unwrap_or(0)).map(crate::ui::widgets::fmt::duration_ms).unwrap_or_default();
    let mut line = format!("#{} {} {} {took}", r.id, r.state.glyph(), r.state.word());
    if let Some(e) = &r.error {
        line.push_str(&format!(" — {e}"));
    }
    err_line!("{line}");
    for s in d.steps.iter().filter(|s| s.state == RunState::Failed) {
        if let Ok(lines) = step_log(target, r.id, r.attempt, &s.id).await
            && !lines.is_empty()
        {
            err_line!("── {} (last lines) ──", s.id);
            for l in lines.iter().rev().take(20).rev() {
                err_line!("{l}");
            }
        }
    }
    if json {
        out_line!("{}", serde_json::to_string_pretty(&d).unwrap_or_default());
    }
    if r.state == RunState::Succeeded { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// The runs of every source answered (source, `list_runs` answer), newest
/// first, at most `limit`; a SOURCE column when more than one source answered.
pub(super) fn list(answers: Vec<(String, Value)>, limit: usize, json: bool) -> ExitCode {
    let many = answers.len() > 1;
    let mut runs: Vec<(String, Run)> = answers
        .into_iter()
        .flat_map(|(src, v)| {
            serde_json::from_value::<Vec<Run>>(v).unwrap_or_default().into_iter().map(move |r| (src.clone(), r))
        })
        .collect();
    runs.sort_by_key(|(_, r)| std::cmp::Reverse(r.run_started().unwrap_or(r.created)));
    runs.truncate(limit);
    if json {
        let list: Vec<Value> = runs
            .iter()
            .map(|(src, r)| {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                v["source"] = Value::String(src.clone());
                v
            })
            .collect();
        out_line!("{}", serde_json::to_string_pretty(&list).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    if runs.is_empty() {
        err_line!("no runs");
        return ExitCode::SUCCESS;
    }
    let now = chrono::Utc::now().timestamp_millis();
    let run_w = runs.iter().map(|(_, r)| crate::text::width(&r.label())).max().unwrap_or(0).clamp(6, 28);
    let src = |s: &str| if many { format!("  {s}") } else { String::new() };
    out_line!(
        "{:>run_w$}  {:<24} {:<15} {:>7} {:>9}  {:<19}{}",
        "RUN",
        "WORKFLOW",
        "STATE",
        "ATTEMPT",
        "DURATION",
        "STARTED",
        src("SOURCE")
    );
    for (source, r) in runs {
        let started = r
            .started
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "—".into());
        let took = r.duration_ms(now).map(crate::ui::widgets::fmt::duration_ms).unwrap_or_else(|| "—".into());
        let label = match &r.external {
            Some(x) => x.name.clone(),
            None => format!("#{}", r.id),
        };
        out_line!(
            "{:>run_w$}  {:<24} {:<15} {:>7} {:>9}  {:<19}{}",
            label,
            r.workflow,
            format!("{} {}", r.state.glyph(), r.state_name()),
            r.attempt,
            took,
            started,
            src(&source)
        );
    }
    ExitCode::SUCCESS
}

pub(super) async fn show(
    target: &Target,
    run: RunId,
    attempt: Option<u32>,
    log: Option<&str>,
    log_failed: bool,
    json: bool,
) -> ExitCode {
    let d = match detail(target, run, attempt).await {
        Ok(d) => d,
        Err(e) => return refused(e),
    };
    if let Some(step) = log {
        if !d.steps.iter().any(|s| s.id == step) {
            return refused(format!("run {} has no step {step:?}", d.run.label()));
        }
        return match step_log(target, run, d.run.attempt, step).await {
            Ok(lines) => {
                lines.iter().for_each(|l| out_line!("{l}"));
                ExitCode::SUCCESS
            }
            Err(e) => refused(e),
        };
    }
    if log_failed {
        let failed: Vec<_> = d.steps.iter().filter(|s| s.state == RunState::Failed).collect();
        if failed.is_empty() {
            err_line!("no step of run #{run} (attempt {}) failed: it is {}", d.run.attempt, d.run.state.word());
        }
        for s in failed {
            out_line!("── {} ──", s.id);
            for l in step_log(target, run, d.run.attempt, &s.id).await.unwrap_or_default() {
                out_line!("{l}");
            }
            if let Some(e) = &s.error {
                out_line!("✗ {e}");
            }
        }
        return ExitCode::SUCCESS;
    }
    if json {
        out_line!("{}", serde_json::to_string_pretty(&d).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    let r = &d.run;
    let now = chrono::Utc::now().timestamp_millis();
    match &r.external {
        Some(x) => out_line!("run {} · attempt {} · {} · prefect flow run {}", x.name, r.attempt, r.workflow, x.id),
        None => out_line!("run #{} · attempt {} · {} (version {})", r.id, r.attempt, r.workflow, r.version),
    }
    out_line!("state    {} {}", r.state.glyph(), r.state_name());
    if let Some(e) = &r.error {
        out_line!("error    {e}");
    }
    out_line!("trigger  {}", serde_json::to_string(&r.trigger).unwrap_or_default());
    out_line!("inputs   {}", Value::Object(r.inputs.clone()));
    for s in &d.steps {
        let took = s.duration_ms(now).map(crate::ui::widgets::fmt::duration_ms).unwrap_or_else(|| "—".into());
        let mut line = format!("  {:<16} {} {:<11} {:>8}", s.id, s.state.glyph(), s.state.word(), took);
        if s.attempt > 1 {
            line.push_str(&format!("  attempt {}", s.attempt));
        }
        if s.reused {
            line.push_str("  (reused)");
        }
        if let Some(e) = &s.error {
            line.push_str(&format!("  {e}"));
        }
        out_line!("{line}");
    }
    ExitCode::SUCCESS
}
