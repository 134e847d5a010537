//! `attach_to_chat` (issue 13): the focused pane's selection becomes an
//! attachment of the chat's next question, and focus stays where it is.
//!
//! Alerts (with their series' recent values), metrics snapshots and tool
//! results are in app state and attach at once. A workflow run whose steps
//! or failed steps' stored logs the pane has not read yet is a *gather*: the
//! reads go out as commands (`show_run`, `step_log`) and the attachment is
//! made when their answers (`Action::CommandDone`) are all in. The text
//! itself is made by `protocol::attach`.

use serde_json::Value;

use super::panes::chat::attach::{MAX_GATHERS, RunGather, Want, added_notice};
use super::{AppState, BoxId, Ctx, Effect, KeyContext, Pane, UserAction};
use crate::config::keymap::format_keys;
use crate::protocol::attach::{
    ALERT_POINTS, ToolResult, alert_attachment, log_steps, metrics_attachment, run_attachment, tool_attachment,
};
use crate::protocol::chat::Attachment;
use crate::protocol::workflow::{RunDetail, StepRun, WorkflowsCommand};
use crate::protocol::{Command, Ts};
use crate::series::TieredSeries;

/// How far before an alert became active its values start (as its detail chart).
const BEFORE_ACTIVE_MS: Ts = 15 * 60_000;
/// A gather whose reads are unanswered this long is given up (the source
/// went away mid-read) when the next run is attached.
pub const GATHER_TIMEOUT_MS: Ts = 30_000;

/// The focused pane's selection, attached (or its gather started).
pub(super) fn attach(s: &mut AppState, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    let made = match s.focus.pane() {
        Pane::Alerts => alert(s, ctx),
        Pane::Metrics => metrics(s),
        Pane::Tools => tool(s, ctx),
        Pane::Workflows => return run(s, ctx, effects),
        Pane::Chat => Err("attach_to_chat takes the selection of the metrics, workflows, tools or alerts pane".into()),
    };
    match made {
        Ok((key, a)) => add(s, ctx, key, a),
        Err(why) => s.notice = Some((ctx.now, why)),
    }
    true
}

/// Add `a` to the chat's attachments and say so (with the key that shows the chat).
fn add(s: &mut AppState, ctx: &Ctx, key: String, a: Attachment) {
    let title = a.title.clone();
    let added = s.chat.attach.add(key, a);
    let to_chat = ctx
        .keymap
        .binding_for(&[KeyContext::Global], UserAction::FocusPane4)
        .map_or_else(|| UserAction::FocusPane4.name().to_string(), |b| format_keys(&b.keys));
    s.notice = Some((ctx.now, added_notice(&title, added, &to_chat)));
}

type Made = Result<(String, Attachment), String>;

fn alert(s: &AppState, ctx: &Ctx) -> Made {
    if s.focus == BoxId::AlertRules {
        return Err("rules and checks are not attached: select an alert in the alerts list".into());
    }
    let (source, a) = s.alerts.selected_alert().ok_or("no alert is selected: nothing to attach")?;
    let points = match (&a.series, s.metrics.sources.iter().find(|d| d.name == source)) {
        (Some(series), Some(data)) => recent_points(&data.series, series, a.active_since - BEFORE_ACTIVE_MS, ctx.now),
        _ => Vec::new(),
    };
    let key = format!("alert:{source}:{}", a.id);
    Ok((key, alert_attachment(source, a, &points, ctx.now)))
}

/// Up to [`ALERT_POINTS`] values of `series` from `from` to `now`: the mean
/// of each of as many equal spans, stamped with the span's start, gaps left
/// out.
pub fn recent_points(series: &TieredSeries, name: &str, from: Ts, now: Ts) -> Vec<(Ts, f32)> {
    let Some(col) = series.col(name) else { return Vec::new() };
    let span = now.saturating_sub(from).clamp(60_000, 31 * 86_400_000);
    let Some(tier) = series.tier_for_window(span) else { return Vec::new() };
    let step = tier.spec.step_ms.max(1);
    let to = tier.slot_of(now) + 1;
    let first = to - (span / step).max(1);
    let slots = to - first;
    let n = (ALERT_POINTS as i64).min(slots).max(1) as usize;
    tier.resample(col, first, to, n)
        .into_iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(b, v)| (first.saturating_add(slots * b as i64 / n as i64).saturating_mul(step), v))
        .collect()
}

fn metrics(s: &AppState) -> Made {
    let source = &s.metrics.cur().name;
    let snap = s.metrics.shown().ok_or_else(|| format!("no sample from {source} yet: nothing to attach"))?;
    Ok((format!("metrics:{source}"), metrics_attachment(source, snap)))
}

fn tool(s: &AppState, ctx: &Ctx) -> Made {
    let t = &s.tools;
    let r = if s.focus == BoxId::ToolHistory { t.runs.get(t.hist_sel) } else { t.shown_run() };
    let r = r.ok_or("no tool run is selected: run a tool or select one in the history")?;
    if r.running() {
        return Err(format!("{} #{} is still running: attach it once it ends", r.tool, r.id));
    }
    use super::panes::tools::runs::RunState as S;
    let (ok, duration_ms) = match r.state {
        S::Done { ok, duration_ms } => (Some(ok), Some(duration_ms)),
        S::Cancelled { duration_ms } => (None, Some(duration_ms)),
        S::Running => (None, None),
    };
    let result = ToolResult {
        tool: &r.tool,
        source: &r.source,
        args: &r.args,
        started: r.started,
        duration_ms,
        ok,
        outcome: r.outcome.as_ref(),
        output: &r.output,
        key_arg: r.key_arg(),
    };
    let key = format!("tool_result:{}:{}:{}", r.source, r.tool, r.started);
    Ok((key, tool_attachment(&result, ctx.config.chat.tool_result_bytes)))
}

/// The run the workflows pane points at: the open one in its detail, log or
/// comparison, else the one selected in the runs list; and the step selected
/// in the detail (its log is wanted too).
fn run(s: &mut AppState, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    let w = &s.workflows;
    let in_detail = matches!(s.focus, BoxId::WfDetail | BoxId::WfLog);
    let r = match s.focus {
        BoxId::WfRuns => w.selected_run(),
        _ => w.opened().or_else(|| w.selected_run()),
    };
    let Some(r) = r else {
        s.notice = Some((ctx.now, "no run is selected: select one in the runs list (or open it) to attach it".into()));
        return true;
    };
    let selected = in_detail.then(|| w.selected_step().map(|st| st.id.clone())).flatten();
    let mut g = RunGather {
        source: r.source.clone(),
        run: r.run.id,
        attempt: r.run.attempt,
        header: r.run.clone(),
        steps: r.steps_loaded.then(|| r.steps.clone()),
        selected,
        logs: Vec::new(),
        waiting: Default::default(),
        since: ctx.now,
    };
    s.chat.attach.gathers.retain(|o| ctx.now.saturating_sub(o.since) < GATHER_TIMEOUT_MS);
    let busy = s.chat.attach.gathers.iter().any(|o| (&o.source, o.run, o.attempt) == (&g.source, g.run, g.attempt));
    if busy {
        s.notice = Some((ctx.now, format!("run #{} is being read for the chat already", g.run)));
        return true;
    }
    if s.chat.attach.gathers.len() >= MAX_GATHERS {
        s.notice = Some((ctx.now, "runs are being read for the chat already: try again when they are attached".into()));
        return true;
    }
    if g.steps.is_none() {
        let command = Command::Workflows(WorkflowsCommand::ShowRun { run: g.run, attempt: Some(g.attempt) });
        match s.send_command(g.source.clone(), command, "reading a run for the chat", effects) {
            Some(id) => {
                g.waiting.insert(id, Want::Steps);
            }
            // Offline: send_command said so. The pane's own copy is attached as it is.
            None => g.steps = Some(r_steps(s, &g)),
        }
    }
    if g.steps.is_some() {
        ask_logs(s, &mut g, effects);
    }
    finish_or_wait(s, ctx, g);
    true
}

/// The steps the pane has of the gather's run (maybe only those that changed).
fn r_steps(s: &AppState, g: &RunGather) -> Vec<StepRun> {
    s.workflows
        .find(&g.source, g.run)
        .filter(|r| r.run.attempt == g.attempt)
        .or_else(|| s.workflows.past.as_ref().filter(|p| p.source == g.source && p.run.id == g.run))
        .map(|r| r.steps.clone())
        .unwrap_or_default()
}

/// Take the logs the pane has of the wanted steps; ask the source for the others.
fn ask_logs(s: &mut AppState, g: &mut RunGather, effects: &mut Vec<Effect>) {
    let steps = g.steps.clone().unwrap_or_default();
    for id in log_steps(&steps, g.selected.as_deref()) {
        let state = steps.iter().find(|st| st.id == id).map(|st| st.state);
        let had = s
            .workflows
            .find(&g.source, g.run)
            .into_iter()
            .chain(s.workflows.past.as_ref())
            .find(|r| r.source == g.source && r.run.id == g.run && r.run.attempt == g.attempt);
        // A live step's lines are all there; an ended one's once its stored log was read.
        let have = had.and_then(|r| {
            let live = state.is_some_and(|st| !st.is_final());
            r.logs.get(&id).filter(|_| live || r.logs_asked.contains(&id)).cloned()
        });
        g.logs.push((id.clone(), have.clone().unwrap_or_default()));
        if have.is_some() {
            continue;
        }
        let command =
            Command::Workflows(WorkflowsCommand::StepLog { run: g.run, attempt: Some(g.attempt), step: id.clone() });
        if let Some(cid) = s.send_command(g.source.clone(), command, "reading a step's log for the chat", effects) {
            g.waiting.insert(cid, Want::Log(id));
        }
    }
}

/// Attach the run when nothing is unanswered, else keep waiting.
fn finish_or_wait(s: &mut AppState, ctx: &Ctx, g: RunGather) {
    if !g.waiting.is_empty() {
        let text = format!("reading run #{} from {} for the chat…", g.run, g.source);
        s.notice = Some((ctx.now, text));
        s.chat.attach.gathers.push(g);
        return;
    }
    let steps = g.steps.unwrap_or_default();
    let logs: Vec<(String, Vec<String>)> = g.logs.into_iter().filter(|(_, l)| !l.is_empty()).collect();
    let a = run_attachment(&g.source, &g.header, &steps, &logs, ctx.now);
    let key = format!("run:{}:{}:{}", g.source, g.run, g.attempt);
    add(s, ctx, key, a);
}

/// An answer to a read of a gather (`id` is one it waits for).
pub(super) fn answered(
    s: &mut AppState,
    id: &str,
    source: &str,
    result: Result<Value, String>,
    ctx: &Ctx,
    effects: &mut Vec<Effect>,
) -> bool {
    s.pending_commands.remove(id);
    let Some(i) = s.chat.attach.gathers.iter().position(|g| g.waiting.contains_key(id)) else { return false };
    let mut g = s.chat.attach.gathers.remove(i);
    let Some(want) = g.waiting.remove(id) else { return false };
    match (want, result) {
        (Want::Steps, Ok(v)) => match serde_json::from_value::<RunDetail>(v) {
            Ok(d) => {
                let order = |st: &StepRun| d.run.steps.iter().position(|x| x == &st.id).unwrap_or(usize::MAX);
                let mut steps = d.steps.clone();
                steps.sort_by_key(order);
                g.header = d.run;
                g.steps = Some(steps);
                ask_logs(s, &mut g, effects);
            }
            Err(e) => {
                let text =
                    format!("✗ run #{} from {source} could not be read for the chat: {e} — nothing attached", g.run);
                s.notice = Some((ctx.now, text));
                return true;
            }
        },
        (Want::Steps, Err(e)) => {
            let text = format!("✗ run #{} from {source} could not be read for the chat: {e} — nothing attached", g.run);
            s.notice = Some((ctx.now, text));
            return true;
        }
        (Want::Log(step), result) => {
            let lines = match result {
                Ok(v) => v
                    .get("lines")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(|l| l.as_str().map_or_else(|| l.to_string(), str::to_string)).collect())
                    .unwrap_or_default(),
                Err(e) => vec![format!("(the stored log could not be read: {e})")],
            };
            if let Some(slot) = g.logs.iter_mut().find(|(id, _)| *id == step) {
                slot.1 = lines;
            }
        }
    }
    finish_or_wait(s, ctx, g);
    true
}

#[cfg(test)]
#[path = "attach_tests.rs"]
mod tests;
