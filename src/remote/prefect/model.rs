//! Prefect's JSON (API 0.8, server 3.x) read without trusting it, and
//! turned into opsdeck's run shapes (`protocol::workflow`).
//!
//! - Every field is optional or defaults (`null` reads as empty): a server
//!   of another version, or one that lies, yields a thinner run, never an
//!   error for the whole list.
//! - A flow run's UUID becomes a [`RunId`] by [`run_number`] (stable, the
//!   same on every machine, below 2^53 so JSON readers keep it exact).
//! - States map to the nearest opsdeck state ([`run_state`]); Prefect's own
//!   state name is kept beside it (`ExternalRun::state_name`).

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::decode::null_as_default;
use crate::protocol::Ts;
use crate::protocol::workflow::{ExternalRun, InputInfo, Run, RunId, RunState, StepRun, Trigger, WorkflowInfo};

/// The id of the step that stands for the flow run itself: its log holds
/// every line of the run (the flow's and its task runs').
pub const FLOW_STEP: &str = "flow-run";

/// A state as Prefect reports it (`state` of a flow or task run).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct State {
    /// `SCHEDULED`, `PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, `CANCELLED`,
    /// `CRASHED`, `PAUSED`, `CANCELLING`.
    #[serde(deserialize_with = "null_as_default")]
    pub r#type: String,
    /// `Late`, `AwaitingRetry`, `Retrying`, `Crashed` … (free text).
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// RFC 3339.
    #[serde(deserialize_with = "null_as_default")]
    pub timestamp: String,
    #[serde(deserialize_with = "null_as_default")]
    pub message: String,
}

impl State {
    /// A run's `state` object, else its flat `state_type`/`state_name`
    /// (what an older or thinner answer gives).
    fn or_flat(state: &Option<State>, ty: &str, name: &str) -> State {
        state.clone().unwrap_or_else(|| State { r#type: ty.to_string(), name: name.to_string(), ..State::default() })
    }
}

/// A flow run (`POST /flow_runs/filter`, `GET /flow_runs/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct FlowRun {
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub flow_id: String,
    pub deployment_id: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub parameters: Map<String, Value>,
    #[serde(deserialize_with = "null_as_default")]
    pub created: String,
    #[serde(deserialize_with = "null_as_default")]
    pub expected_start_time: String,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub run_count: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub auto_scheduled: bool,
    /// opsdeck tags the runs it starts `opsdeck` and `by:USER`.
    #[serde(deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    /// Who made it (Prefect Cloud: `{type, display_value}`); `null` on a server.
    pub created_by: Option<Value>,
    pub state: Option<State>,
    #[serde(deserialize_with = "null_as_default")]
    pub state_type: String,
    #[serde(deserialize_with = "null_as_default")]
    pub state_name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub flow_version: String,
    #[serde(deserialize_with = "null_as_default")]
    pub deployment_version: String,
}

impl FlowRun {
    /// Its state (the `state` object, else the flat `state_type`/`state_name`).
    pub fn state(&self) -> State {
        State::or_flat(&self.state, &self.state_type, &self.state_name)
    }
}

/// A task run (`POST /task_runs/filter`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct TaskRun {
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub flow_run_id: String,
    /// `{task name}-{hash}`: the same for every run of the same task function.
    #[serde(deserialize_with = "null_as_default")]
    pub task_key: String,
    /// The attempt of its flow run it ran in (1, 2, …; 0 when not said).
    #[serde(deserialize_with = "null_as_default")]
    pub flow_run_run_count: u64,
    #[serde(deserialize_with = "null_as_default")]
    pub expected_start_time: String,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub run_count: u64,
    pub state: Option<State>,
    #[serde(deserialize_with = "null_as_default")]
    pub state_type: String,
    #[serde(deserialize_with = "null_as_default")]
    pub state_name: String,
}

impl TaskRun {
    pub fn state(&self) -> State {
        State::or_flat(&self.state, &self.state_type, &self.state_name)
    }
}

/// A log line (`POST /logs/filter`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct LogRecord {
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    /// Python's level number (10 DEBUG … 50 CRITICAL).
    #[serde(deserialize_with = "null_as_default")]
    pub level: i64,
    #[serde(deserialize_with = "null_as_default")]
    pub message: String,
    /// RFC 3339.
    #[serde(deserialize_with = "null_as_default")]
    pub timestamp: String,
    pub task_run_id: Option<String>,
}

/// A flow (`POST /flows/filter`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Flow {
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
}

/// A deployment (`POST /deployments/filter`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Deployment {
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(deserialize_with = "null_as_default")]
    pub flow_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub description: String,
    /// The deployment's own defaults (over the flow function's).
    #[serde(deserialize_with = "null_as_default")]
    pub parameters: Map<String, Value>,
    /// JSON Schema of the parameters (`properties`, `required`, each with
    /// `type`, `default`, `position`, `enum`, `description`).
    #[serde(deserialize_with = "null_as_default")]
    pub parameter_openapi_schema: Value,
    #[serde(deserialize_with = "null_as_default")]
    pub paused: bool,
    /// `READY` while something polls for its runs, else `NOT_READY`.
    #[serde(deserialize_with = "null_as_default")]
    pub status: String,
    #[serde(deserialize_with = "null_as_default")]
    pub version: String,
}

/// Unix ms of an RFC 3339 time; `None` when absent or unreadable.
pub use crate::decode::unix_ms as ms;

/// RFC 3339 (UTC, milliseconds) of Unix ms: what Prefect's filters take.
pub use crate::decode::rfc3339;

/// The run number shown for a Prefect UUID: its first 13 hex digits (52
/// bits, so exact in every JSON reader); an id that is not hex is hashed
/// (FNV-1a) into the same range. Never 0.
pub fn run_number(uuid: &str) -> RunId {
    let hex: String = uuid.chars().filter(|c| *c != '-').take(13).collect();
    let n = if hex.len() == 13 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        u64::from_str_radix(&hex, 16).unwrap_or(0)
    } else {
        uuid.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)) >> 12
    };
    n.max(1)
}

/// A run Prefect's scheduler made ahead of its time (state `Scheduled`,
/// expected to start after `now` + 1 minute): left out until its time comes
/// (a deployment with a schedule has up to 100 of them waiting). Its events
/// bring it in when it starts.
pub fn upcoming(fr: &FlowRun, now: Ts) -> bool {
    let st = fr.state();
    st.r#type.eq_ignore_ascii_case("SCHEDULED")
        && st.name == "Scheduled"
        && ms(&fr.expected_start_time).is_some_and(|t| t > now + 60_000)
}

/// opsdeck's state nearest to a Prefect state (`type`, `name`).
pub fn run_state(st: &State) -> RunState {
    match st.r#type.to_ascii_uppercase().as_str() {
        "SCHEDULED" if st.name == "AwaitingRetry" => RunState::Retrying,
        "SCHEDULED" | "PENDING" => RunState::Queued,
        "RUNNING" if st.name == "Retrying" => RunState::Retrying,
        // Cancelling: still in flight until something stops it.
        "RUNNING" | "CANCELLING" => RunState::Running,
        "PAUSED" => RunState::Waiting,
        "COMPLETED" => RunState::Succeeded,
        "FAILED" | "CRASHED" => RunState::Failed,
        "CANCELLED" => RunState::Cancelled,
        // An unknown state type (a newer Prefect): shown by its name, as queued.
        _ => RunState::Queued,
    }
}

/// A state's name for the screen (`Crashed`, `Late`), else its type's word.
fn state_name(st: &State) -> String {
    let name = safe(&crate::decode::cut(st.name.trim(), 40));
    if name.is_empty() { st.r#type.to_ascii_lowercase() } else { name }
}

/// Text from the server made safe to show: control and invisible format
/// characters (a right-to-left override, an escape) replaced, as every
/// text from a peer is before it reaches a terminal.
fn safe(s: &str) -> String {
    crate::text::clean(s).into_owned()
}

/// Longest error message kept on a run or step (characters).
const ERROR_CHARS: usize = 2_000;

/// The run a flow run is, with the flow's name (`flow`) and its
/// deployment's (`deployment`, when it has one).
pub fn run_of(fr: &FlowRun, flow: &str, deployment: Option<&str>) -> Run {
    let st = fr.state();
    let state = run_state(&st);
    let flow = if flow.is_empty() { "(unknown flow)" } else { flow };
    let workflow = safe(&match deployment {
        Some(d) => format!("{flow}/{d}"),
        None => flow.to_string(),
    });
    let created = ms(&fr.created).or_else(|| ms(&fr.expected_start_time)).unwrap_or(0);
    let started = fr.start_time.as_deref().and_then(ms);
    let ended = if state.is_final() { fr.end_time.as_deref().and_then(ms).or_else(|| ms(&st.timestamp)) } else { None };
    // A cancelled run's message ("was cancelled successfully") is no error.
    let error = (state == RunState::Failed && !st.message.trim().is_empty())
        .then(|| safe(&crate::decode::cut(st.message.trim(), ERROR_CHARS)));
    let version = if fr.deployment_version.is_empty() { &fr.flow_version } else { &fr.deployment_version };
    Run {
        id: run_number(&fr.id),
        attempt: fr.run_count.clamp(1, u64::from(u32::MAX)) as u32,
        workflow,
        version: version.chars().take(12).collect(),
        inputs: fr.parameters.clone(),
        trigger: trigger_of(fr, created),
        state,
        created,
        started,
        ended: ended.map(|e| started.map_or(e, |s| e.max(s))),
        error,
        steps: Vec::new(),
        first_started: None,
        external: Some(ExternalRun {
            id: fr.id.clone(),
            name: safe(&crate::decode::cut(if fr.name.is_empty() { &fr.id } else { &fr.name }, 120)),
            state_name: state_name(&st),
            deployment: fr.deployment_id.clone(),
        }),
    }
}

/// Attempt `n` (1-based) of a run whose state history is `states` (oldest
/// first): `run` with that attempt's state, start, end and error, or `None`
/// when the history has no such attempt. Each retry begins with
/// `AwaitingRetry` (Prefect's UI's retry and a flow's own `retries`).
pub fn past_attempt(run: &Run, states: &[State], n: u32) -> Option<Run> {
    let mut attempts: Vec<Vec<&State>> = vec![Vec::new()];
    for st in states {
        if st.r#type.eq_ignore_ascii_case("SCHEDULED")
            && st.name == "AwaitingRetry"
            && !attempts[attempts.len() - 1].is_empty()
        {
            attempts.push(Vec::new());
        }
        if let Some(last) = attempts.last_mut() {
            last.push(st);
        }
    }
    let seg = attempts.get(usize::try_from(n).ok()?.checked_sub(1)?)?;
    let last = seg.iter().rev().find(|s| run_state(s).is_final()).or(seg.last())?;
    let state = run_state(last);
    // It started when it ran (not when it was put back to wait: AwaitingRetry).
    let started = seg.iter().find(|s| s.r#type.eq_ignore_ascii_case("RUNNING")).and_then(|s| ms(&s.timestamp));
    let mut r = run.clone();
    r.attempt = n;
    r.state = state;
    r.started = started;
    r.ended = if state.is_final() { ms(&last.timestamp).map(|e| started.map_or(e, |s| e.max(s))) } else { None };
    r.error = (state == RunState::Failed && !last.message.trim().is_empty())
        .then(|| safe(&crate::decode::cut(last.message.trim(), ERROR_CHARS)));
    r.first_started = run.run_started();
    if let Some(x) = r.external.as_mut() {
        x.state_name = state_name(last);
    }
    Some(r)
}

/// What started a flow run: its deployment's schedule; the person opsdeck
/// or Prefect Cloud names; else a deployment's run started through
/// Prefect (its UI, API or CLI: `by prefect`) or a flow run by a script
/// (`by script`).
fn trigger_of(fr: &FlowRun, created: Ts) -> Trigger {
    if fr.auto_scheduled {
        return Trigger::Schedule { fire_at: ms(&fr.expected_start_time).unwrap_or(created) };
    }
    let person = fr
        .tags
        .iter()
        .find_map(|t| t.strip_prefix("by:"))
        .or_else(|| fr.created_by.as_ref().and_then(|c| c["display_value"].as_str()))
        .map(str::trim)
        .filter(|b| !b.is_empty());
    let by = match person {
        Some(p) => safe(&crate::decode::cut(p, 60)),
        None if fr.deployment_id.is_some() => "prefect".to_string(),
        None => "script".to_string(),
    };
    Trigger::Manual { by }
}

/// The step a task run is (`id`: its name, unique within the flow run).
pub fn step_of(tr: &TaskRun, id: &str) -> StepRun {
    let st = tr.state();
    let state = run_state(&st);
    let mut s = StepRun::new(id, "task");
    s.state = state;
    s.attempt = tr.run_count.min(u64::from(u32::MAX)) as u32;
    s.started = tr.start_time.as_deref().and_then(ms);
    s.ended = if state.is_final() { tr.end_time.as_deref().and_then(ms).or_else(|| ms(&st.timestamp)) } else { None };
    if state == RunState::Failed {
        // Prefect's own word when it is not opsdeck's (`Crashed`), then its message.
        let word = (!st.name.eq_ignore_ascii_case("failed") && !st.name.is_empty()).then(|| state_name(&st));
        let msg = safe(&crate::decode::cut(st.message.trim(), ERROR_CHARS));
        s.error = match (word, msg.is_empty()) {
            (Some(w), true) => Some(w),
            (Some(w), false) => Some(format!("{w}: {msg}")),
            (None, false) => Some(msg),
            (None, true) => None,
        };
    }
    s
}

/// The step id of a task run: its task's name (from `task_key`, the same
/// in every run of the flow, so two runs compare step by step), else its
/// run's name (`boom-726`: Prefect adds a random suffix).
pub fn task_name(tr: &TaskRun) -> String {
    match tr.task_key.rsplit_once('-') {
        Some((name, hash)) if !name.is_empty() && !hash.is_empty() && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            safe(&crate::decode::cut(name, 80))
        }
        _ if !tr.name.is_empty() => safe(&crate::decode::cut(&tr.name, 80)),
        _ => tr.id.chars().take(8).collect(),
    }
}

/// The step that stands for the flow run itself ([`FLOW_STEP`]).
pub fn flow_step(run: &Run) -> StepRun {
    let mut s = StepRun::new(FLOW_STEP, "flow");
    s.state = run.state;
    s.attempt = run.attempt;
    s.started = run.started;
    s.ended = run.ended;
    s.error = run.error.clone();
    s
}

/// A log record as lines: `HH:MM:SS.mmm LEVEL message` (a traceback's
/// lines follow, indented), control characters made visible.
pub fn log_lines(l: &LogRecord, task: Option<&str>) -> Vec<String> {
    let at = ms(&l.timestamp).and_then(chrono::DateTime::from_timestamp_millis).map_or_else(
        || "--:--:--.---".to_string(),
        |d| d.with_timezone(&chrono::Local).format("%H:%M:%S%.3f").to_string(),
    );
    let level = match l.level {
        i64::MIN..=14 => "DEBUG",
        15..=24 => "INFO",
        25..=34 => "WARN",
        35..=44 => "ERROR",
        _ => "CRIT",
    };
    let task = task.map_or(String::new(), |t| format!("[{t}] "));
    let mut out = Vec::new();
    for (i, line) in l.message.lines().take(LOG_RECORD_LINES).enumerate() {
        let line = safe(&crate::decode::cut(line, LOG_LINE_CHARS));
        out.push(if i == 0 { format!("{at} {level:<5} {task}{line}") } else { format!("    {line}") });
    }
    if out.is_empty() {
        out.push(format!("{at} {level:<5} {task}"));
    }
    out
}

/// Lines kept of one log record (a traceback is rarely longer).
const LOG_RECORD_LINES: usize = 200;
/// Characters kept of one log line.
const LOG_LINE_CHARS: usize = 4_000;

/// A deployment as a workflow the pane can start: its parameters (from its
/// JSON Schema, in `position` order) become the start form's inputs, with
/// the deployment's own defaults.
pub fn workflow_of(d: &Deployment, flow: &str) -> WorkflowInfo {
    let schema = &d.parameter_openapi_schema;
    let required: Vec<&str> =
        schema["required"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let mut params: Vec<(i64, String, &Value)> = schema["properties"]
        .as_object()
        .map(|p| {
            p.iter()
                .take(MAX_PARAMETERS)
                .map(|(k, v)| (v["position"].as_i64().unwrap_or(i64::MAX), k.clone(), v))
                .collect()
        })
        .unwrap_or_default();
    params.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let inputs = params
        .into_iter()
        .map(|(_, name, p)| {
            let values: Vec<String> = p["enum"]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).collect())
                .unwrap_or_default();
            let kind = if !values.is_empty() {
                "enum"
            } else {
                match p["type"].as_str() {
                    Some("integer") => "integer",
                    Some("number") => "number",
                    Some("boolean") => "boolean",
                    _ => "string",
                }
            };
            let default = d.parameters.get(&name).cloned().or_else(|| p.get("default").cloned());
            let description = p["description"].as_str().or(p["title"].as_str()).unwrap_or_default();
            InputInfo {
                required: required.contains(&name.as_str()) && default.is_none(),
                name,
                kind: kind.to_string(),
                values,
                description: safe(&crate::decode::cut(description, 200)),
                default,
            }
        })
        .collect();
    let flow = if flow.is_empty() { "(unknown flow)" } else { flow };
    WorkflowInfo {
        name: safe(&format!("{flow}/{}", d.name)),
        description: safe(
            crate::decode::cut(
                &match (d.paused, d.status.as_str()) {
                    (true, _) => format!("paused · {}", d.description.trim_start_matches("None")),
                    (false, "NOT_READY") => {
                        format!("not ready: nothing polls for its runs · {}", d.description.trim_start_matches("None"))
                    }
                    // Prefect stores a flow without a docstring as "None".
                    _ if d.description == "None" => String::new(),
                    _ => d.description.clone(),
                },
                300,
            )
            .trim_end_matches(" · "),
        ),
        version: d.version.chars().take(12).collect(),
        path: format!("deployment {}", d.id),
        inputs,
        steps: Vec::new(),
        next_fire: None,
    }
}

/// Parameters read of one deployment's schema.
const MAX_PARAMETERS: usize = 100;

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
