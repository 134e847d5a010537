//! Workflow runs as an engine stores and announces them (DESIGN.md §4,
//! issue 12): a run's header ([`Run`]), its steps ([`StepRun`], one record
//! each, so a change of one step writes and sends one small record), the
//! workflows the engine can start ([`WorkflowInfo`]) and the commands
//! ([`WorkflowsCommand`]).
//!
//! A run is numbered by its engine ([`RunId`], 1, 2, …); a rerun is a new
//! `attempt` of the same run (1, 2, …), and every attempt is kept.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Ts;

/// Milliseconds from `started` to `ended` (or to `now`), never negative;
/// `None` before it started.
fn span_ms(started: Option<Ts>, ended: Option<Ts>, now: Ts) -> Option<i64> {
    Some(ended.unwrap_or(now).saturating_sub(started?).max(0))
}

/// A run's number on its engine (1, 2, …; shown as `#12`).
pub type RunId = u64;

/// The state of a run or of one step (Prefect's and Temporal's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// Waiting for its turn (a step: its `needs` have not all ended).
    Queued,
    Running,
    /// An `approve` step waits for a person.
    Waiting,
    /// A failed attempt waits for the next (`next_attempt_at`).
    Retrying,
    Succeeded,
    Failed,
    Cancelled,
    /// It was in flight when the engine stopped (a crash, a kill): resume or abandon it.
    Interrupted,
    /// A step whose condition did not hold, or whose `needs` were skipped or failed.
    Skipped,
}

impl RunState {
    pub const ALL: [RunState; 9] = [
        RunState::Queued,
        RunState::Running,
        RunState::Waiting,
        RunState::Retrying,
        RunState::Succeeded,
        RunState::Failed,
        RunState::Cancelled,
        RunState::Interrupted,
        RunState::Skipped,
    ];

    /// It will not change again by itself (a person may still resume an
    /// interrupted run or rerun an ended one).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunState::Succeeded | RunState::Failed | RunState::Cancelled | RunState::Interrupted | RunState::Skipped
        )
    }

    /// In flight: the engine is working on it or waiting within it.
    pub fn is_active(self) -> bool {
        matches!(self, RunState::Queued | RunState::Running | RunState::Waiting | RunState::Retrying)
    }

    /// The word shown and parsed (`--state failed`).
    pub fn word(self) -> &'static str {
        match self {
            RunState::Queued => "queued",
            RunState::Running => "running",
            RunState::Waiting => "waiting",
            RunState::Retrying => "retrying",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
            RunState::Interrupted => "interrupted",
            RunState::Skipped => "skipped",
        }
    }

    /// The glyph shown beside the word (state is never colour alone).
    pub fn glyph(self) -> &'static str {
        match self {
            RunState::Queued => "·",
            RunState::Running => "▶",
            RunState::Waiting => "⏸",
            RunState::Retrying => "↻",
            RunState::Succeeded => "✓",
            RunState::Failed => "✗",
            RunState::Cancelled => "⊘",
            RunState::Interrupted => "!",
            RunState::Skipped => "–",
        }
    }

    /// The state named by `word`.
    pub fn parse(word: &str) -> Option<RunState> {
        RunState::ALL.into_iter().find(|s| s.word().eq_ignore_ascii_case(word.trim()))
    }
}

/// What started a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// A person, from the pane or `opsdeck run` (the start is their consent).
    Manual { by: String },
    /// The workflow's schedule, for the fire due at `fire_at` (Unix ms).
    Schedule { fire_at: Ts },
    /// An alert rule that fired; its labels are the run's inputs.
    Alert { rule: String },
}

impl Trigger {
    /// A person started it (mutating steps need no approval of their own).
    pub fn is_person(&self) -> bool {
        matches!(self, Trigger::Manual { .. })
    }
}

/// One attempt of a run, without its steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: RunId,
    /// 1 for the first; a rerun is the next attempt of the same run.
    pub attempt: u32,
    pub workflow: String,
    /// The definition's version this attempt ran (12 hex digits).
    pub version: String,
    /// Inputs as given and defaulted (a `secret-name` input holds the name, never a value).
    pub inputs: Map<String, Value>,
    pub trigger: Trigger,
    pub state: RunState,
    /// Unix ms.
    pub created: Ts,
    pub started: Option<Ts>,
    pub ended: Option<Ts>,
    /// Why it failed, or what it was on when interrupted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The steps' ids in the definition's order (their records are [`StepRun`]s).
    pub steps: Vec<String>,
    /// On a rerun's attempt: when the run's first attempt started (Unix ms).
    /// Absent on attempt 1 (its `started` is it) and from older engines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_started: Option<Ts>,
    /// A run of another orchestrator (a Prefect flow run): its own id, name
    /// and state name. Absent on opsdeck's own runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalRun>,
}

/// What another orchestrator calls a run (issue 14: Prefect flow runs in the
/// runs pane). `Run::id` is then a number made from `id` (see
/// `remote::prefect`), `Run::workflow` the flow's name (`flow/deployment` for
/// a deployment's run) and `Run::state` the nearest of opsdeck's states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalRun {
    /// Its id there (a Prefect flow run's UUID).
    pub id: String,
    /// Its name there (Prefect's generated `encouraging-elephant`).
    pub name: String,
    /// Its state's own name there (`Late`, `AwaitingRetry`, `Crashed`, `Cancelling` …).
    pub state_name: String,
    /// The deployment that made it (Prefect's id): only such a run can be
    /// retried or cancelled for real (something executes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
}

impl Run {
    /// How a run is named on screen: `#12` (`#12 ·2` for a rerun's
    /// attempt), or its name on another orchestrator.
    pub fn label(&self) -> String {
        match &self.external {
            Some(x) if self.attempt > 1 => format!("{} ·{}", x.name, self.attempt),
            Some(x) => x.name.clone(),
            None if self.attempt > 1 => format!("#{} ·{}", self.id, self.attempt),
            None => format!("#{}", self.id),
        }
    }

    /// The state as its source names it: opsdeck's word, or the other
    /// orchestrator's own state name (`Crashed`, `Late` …).
    pub fn state_name(&self) -> &str {
        match &self.external {
            Some(x) if !x.state_name.is_empty() => &x.state_name,
            _ => self.state.word(),
        }
    }

    /// Milliseconds from start to end (or to `now` while it runs).
    pub fn duration_ms(&self, now: Ts) -> Option<i64> {
        span_ms(self.started, self.ended, now)
    }

    /// When the run started: its first attempt's start (this attempt's when
    /// it is the first, or when an older engine did not say).
    pub fn run_started(&self) -> Option<Ts> {
        self.first_started.or(self.started)
    }
}

/// A person's answer to an `approve` step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub approved: bool,
    pub by: String,
    /// Unix ms.
    pub at: Ts,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// One step of one attempt of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRun {
    pub id: String,
    /// `shell`, `http`, `approve` or the tool's name.
    pub uses: String,
    pub state: RunState,
    /// Attempts made so far (0 before the first).
    pub attempt: u32,
    pub started: Option<Ts>,
    pub ended: Option<Ts>,
    /// While `retrying`: when the next attempt starts (Unix ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<Ts>,
    /// The last attempt's failure, or why it was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The arguments it ran with, rendered (secret values masked as `••••`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
    /// What it returned (capped), for `{{ steps.ID.output.… }}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Its named `outputs`, rendered.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub outputs: BTreeMap<String, Value>,
    /// An `approve` step's answer: who, when, which.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// Its outcome was taken from an earlier attempt of the run (resume, rerun).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reused: bool,
    /// With `reused` after a rerun: the attempt that ran it (absent from
    /// older engines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused_from: Option<u32>,
    /// It was started and did not end when the engine stopped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

impl StepRun {
    /// A step not yet reached.
    pub fn new(id: impl Into<String>, uses: impl Into<String>) -> Self {
        StepRun {
            id: id.into(),
            uses: uses.into(),
            state: RunState::Queued,
            attempt: 0,
            started: None,
            ended: None,
            next_attempt_at: None,
            error: None,
            args: None,
            output: None,
            outputs: BTreeMap::new(),
            decision: None,
            reused: false,
            reused_from: None,
            interrupted: false,
        }
    }

    /// Milliseconds from start to end (or to `now` while it runs).
    pub fn duration_ms(&self, now: Ts) -> Option<i64> {
        span_ms(self.started, self.ended, now)
    }
}

/// A run with its steps (what `opsdeck runs show` and the pane's detail read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetail {
    pub run: Run,
    pub steps: Vec<StepRun>,
}

/// An input of a workflow as a form shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputInfo {
    pub name: String,
    /// `string`, `integer`, `number`, `boolean`, `enum` or `secret-name`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    pub required: bool,
}

/// A step of a workflow as the pane lists it before a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepInfo {
    pub id: String,
    pub uses: String,
    pub needs: Vec<String>,
    /// It changes things outside opsdeck (shell, a non-GET request, a mutating tool).
    pub mutating: bool,
    /// The inputs its templates read (`inputs.NAME`); `None` from an engine
    /// that does not say (then any input may be read by any step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reads: Option<Vec<String>>,
}

/// A workflow an engine can start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowInfo {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub version: String,
    /// The file it was read from.
    pub path: String,
    pub inputs: Vec<InputInfo>,
    pub steps: Vec<StepInfo>,
    /// The next time its schedule fires (Unix ms), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_fire: Option<Ts>,
}

/// The workflows an engine has, and the problems of the files it left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct WorkflowsSnapshot {
    pub workflows: Vec<WorkflowInfo>,
    /// `path:line:col: what` of each file left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// The newest runs' headers (newest first; older ones are asked for with `list_runs`).
    pub runs: Vec<Run>,
    /// The steps of the runs in `runs` that are active.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub active_steps: Vec<(RunId, u32, Vec<StepRun>)>,
}

/// The ids of the steps a rerun `from` runs again, given the definition's
/// `steps` (id, needs) and the last attempt's steps (id, state): every step
/// (`All`); the steps that did not succeed and every step after them
/// (`Failed`); a step and every step after it (`Step`). "After" is through
/// `needs`, directly or not. Steps new to the definition always run. The
/// engine runs exactly these; the pane shows them before asking.
pub fn rerun_set(
    steps: &[(&str, &[String])],
    last: &[(&str, RunState)],
    from: &RerunFrom,
) -> Result<std::collections::BTreeSet<String>, String> {
    let mut set: std::collections::BTreeSet<String> = match from {
        RerunFrom::All => return Ok(steps.iter().map(|(id, _)| id.to_string()).collect()),
        RerunFrom::Failed => last
            .iter()
            .filter(|(_, s)| matches!(s, RunState::Failed | RunState::Cancelled | RunState::Interrupted))
            .map(|(id, _)| id.to_string())
            .collect(),
        RerunFrom::Step(id) => {
            if !steps.iter().any(|(s, _)| s == id) {
                return Err(format!("there is no step {id:?}"));
            }
            [id.clone()].into()
        }
    };
    if set.is_empty() {
        return Err("no step failed: rerun all steps or from a chosen step".into());
    }
    for (id, _) in steps {
        if !last.iter().any(|(old, _)| old == id) {
            set.insert(id.to_string());
        }
    }
    // Dependants, until no step is added (a step's needs may come after it in the file).
    loop {
        let before = set.len();
        for (id, needs) in steps {
            if needs.iter().any(|n| set.contains(n)) {
                set.insert(id.to_string());
            }
        }
        if set.len() == before {
            return Ok(set);
        }
    }
}

/// Which steps a rerun runs again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", content = "step", rename_all = "snake_case")]
pub enum RerunFrom {
    /// Every step.
    #[default]
    All,
    /// The steps that failed, were cancelled or interrupted, and those after them.
    Failed,
    /// This step and every step that needs it (directly or not); the others' outputs are reused.
    Step(String),
}

/// Commands of the workflow engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum WorkflowsCommand {
    /// Start a run of `workflow`; answers `{"run": ID}`.
    StartRun {
        workflow: String,
        #[serde(default)]
        inputs: Map<String, Value>,
        #[serde(default)]
        by: String,
    },
    /// Stop a run at once (running steps are killed); it ends `cancelled`.
    CancelRun { run: RunId },
    /// Go on with an interrupted run: ended steps are not run again.
    ResumeRun {
        run: RunId,
        /// Run steps marked `idempotent = false` again too (else the resume stops and asks).
        #[serde(default)]
        rerun_unsafe: bool,
    },
    /// End an interrupted run as `cancelled`, running nothing.
    AbandonRun { run: RunId },
    /// A new attempt of an ended run; answers `{"run": ID, "attempt": N}`.
    RerunRun {
        run: RunId,
        #[serde(default)]
        from: RerunFrom,
        /// Run the workflow's current definition (else the version the run ran).
        #[serde(default)]
        current: bool,
        /// Inputs to change (the others are the run's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        inputs: Option<Map<String, Value>>,
    },
    /// Answer a waiting `approve` step.
    Approve {
        run: RunId,
        step: String,
        #[serde(default)]
        by: String,
        #[serde(default)]
        note: String,
    },
    Reject {
        run: RunId,
        step: String,
        #[serde(default)]
        by: String,
        #[serde(default)]
        note: String,
    },
    /// Runs' headers, newest first (read-only): at most `limit` (≤ 1,000) older than `before`.
    ListRuns {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        workflow: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state: Option<RunState>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<RunId>,
        #[serde(default = "hundred")]
        limit: usize,
    },
    /// One run's attempt with its steps (read-only; the latest attempt when `attempt` is absent).
    ShowRun {
        run: RunId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attempt: Option<u32>,
    },
    /// A step's stored log lines (read-only).
    StepLog {
        run: RunId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attempt: Option<u32>,
        step: String,
    },
    /// The workflows the engine can start and the problems of the files it
    /// left out (read-only): `{workflows[…], problems[]}` as in the snapshot.
    ListWorkflows,
    /// The stored versions of a workflow, oldest first (read-only):
    /// `[{version, first_seen, current}]`.
    ListVersions { workflow: String },
    /// One stored version's text, and its line diff from `against` (another
    /// version; default: the current one) (read-only).
    ShowVersion {
        workflow: String,
        version: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        against: Option<String>,
    },
    /// Write a stored version back to the workflow's file (it is read again).
    Rollback { workflow: String, version: String },
}

fn hundred() -> usize {
    100
}

impl WorkflowsCommand {
    pub(super) const TYPES: &[&str] = &[
        "start_run",
        "cancel_run",
        "resume_run",
        "abandon_run",
        "rerun_run",
        "approve",
        "reject",
        "list_runs",
        "show_run",
        "step_log",
        "list_workflows",
        "list_versions",
        "show_version",
        "rollback",
    ];

    /// It only reads (answered, never stored, allowed read-only).
    pub fn reads_only(&self) -> bool {
        matches!(
            self,
            WorkflowsCommand::ListRuns { .. }
                | WorkflowsCommand::ShowRun { .. }
                | WorkflowsCommand::StepLog { .. }
                | WorkflowsCommand::ListWorkflows
                | WorkflowsCommand::ListVersions { .. }
                | WorkflowsCommand::ShowVersion { .. }
        )
    }

    pub fn describe(&self) -> &'static str {
        match self {
            WorkflowsCommand::StartRun { .. } => "starting a workflow run",
            WorkflowsCommand::CancelRun { .. } => "cancelling a run",
            WorkflowsCommand::ResumeRun { .. } => "resuming a run",
            WorkflowsCommand::AbandonRun { .. } => "abandoning a run",
            WorkflowsCommand::RerunRun { .. } => "rerunning a run",
            WorkflowsCommand::Approve { .. } => "approving a step",
            WorkflowsCommand::Reject { .. } => "rejecting a step",
            WorkflowsCommand::ListRuns { .. } => "listing runs",
            WorkflowsCommand::ShowRun { .. } => "showing a run",
            WorkflowsCommand::StepLog { .. } => "reading a step's log",
            WorkflowsCommand::ListWorkflows => "listing workflows",
            WorkflowsCommand::ListVersions { .. } => "listing a workflow's versions",
            WorkflowsCommand::ShowVersion { .. } => "showing a workflow's version",
            WorkflowsCommand::Rollback { .. } => "rolling a workflow back",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rerun_runs_the_chosen_or_failed_steps_their_dependants_and_new_steps() {
        let (a, b, c, d) = (vec![], vec!["c".to_string()], vec!["a".to_string()], vec![]);
        // b needs c, written before it; d is new to the definition.
        let defs: Vec<(&str, &[String])> = vec![("a", &a), ("b", &b), ("c", &c), ("d", &d)];
        let ok = RunState::Succeeded;
        let last = [("a", ok), ("b", RunState::Failed), ("c", ok)];
        let ids = |r: Result<std::collections::BTreeSet<String>, String>| r.unwrap().into_iter().collect::<Vec<_>>();
        assert_eq!(ids(rerun_set(&defs, &last, &RerunFrom::Step("a".into()))), ["a", "b", "c", "d"]);
        assert_eq!(ids(rerun_set(&defs, &last, &RerunFrom::Step("c".into()))), ["b", "c", "d"]);
        assert_eq!(ids(rerun_set(&defs, &last, &RerunFrom::Failed)), ["b", "d"]);
        let none_failed = [("a", ok), ("b", ok), ("c", ok)];
        assert!(rerun_set(&defs, &none_failed, &RerunFrom::Failed).is_err());
        assert!(rerun_set(&defs, &last, &RerunFrom::Step("x".into())).is_err());
    }

    #[test]
    fn states_read_back_from_their_words_and_have_glyphs() {
        for s in RunState::ALL {
            assert_eq!(RunState::parse(s.word()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.word());
            assert!(!s.glyph().is_empty());
            assert!(!(s.is_final() && s.is_active()), "{s:?}");
        }
        assert_eq!(RunState::parse(" FAILED "), Some(RunState::Failed));
        assert_eq!(RunState::parse("done"), None);
    }

    #[test]
    fn commands_have_their_documented_shapes() {
        let c: WorkflowsCommand =
            serde_json::from_str(r#"{"type":"rerun_run","run":7,"from":{"kind":"step","step":"probe"}}"#).unwrap();
        assert_eq!(
            c,
            WorkflowsCommand::RerunRun { run: 7, from: RerunFrom::Step("probe".into()), current: false, inputs: None }
        );
        let c: WorkflowsCommand = serde_json::from_str(r#"{"type":"list_runs"}"#).unwrap();
        assert!(c.reads_only());
        assert!(matches!(c, WorkflowsCommand::ListRuns { limit: 100, .. }));
        assert!(serde_json::from_str::<WorkflowsCommand>(r#"{"type":"cancel_run","run":1,"x":2}"#).is_err());
    }
}
