//! The workflow engine's service: the definitions it can run, the runs in
//! flight (one task each, driver.rs) and the commands of
//! [`WorkflowsCommand`]. Every change of a run or step is written to the
//! store, then announced on the `workflows` topic; the engine's group commit
//! makes both durable together.
//!
//! At start-up ([`WorkflowService::recover`]) every run that was in flight
//! when the engine stopped is marked `interrupted`, with the steps it was
//! on; `resume_run` goes on with it (ended steps are not run again),
//! `abandon_run` ends it.

mod inputs;
mod runs;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};

use super::definition::{InputKind, Uses, Workflow};
use super::driver::Control;
use super::exec::StepExecutor;
use super::render::Secrets;
use crate::clock::Clock;
use crate::engine::Engine;
use crate::protocol::workflow::{
    Decision, InputInfo, Run, RunDetail, RunId, RunState, StepInfo, StepRun, Trigger, WorkflowInfo, WorkflowsCommand,
    WorkflowsSnapshot,
};
use crate::protocol::{Event, Topic};

pub use self::inputs::{typed_inputs, uses_word};

/// Steps running at once across all runs of an engine.
pub const GLOBAL_CONCURRENCY: usize = 32;
/// Run headers a snapshot carries (older ones are listed on demand).
pub const SNAPSHOT_RUNS: usize = 200;

/// What a run's task needs from the engine.
pub struct Ctx {
    pub engine: Engine,
    pub clock: Arc<dyn Clock>,
    pub exec: Arc<dyn StepExecutor>,
    pub secrets: Arc<dyn Secrets>,
    pub global: Arc<Semaphore>,
    /// Jitter's random numbers in [0, 1).
    pub random: fn() -> f64,
}

impl Ctx {
    /// Write a run's header, then announce it.
    pub fn save_run(&self, run: &Run) {
        if let Err(e) = self.engine.store().put_run(run) {
            tracing::error!(run = run.id, "storing a run: {e}");
        }
        self.engine.publish(Topic::Workflows, self.clock.now_ms(), Event::RunChanged(Box::new(run.clone())));
    }

    /// Write a step, then announce it. Returns the announcement's seq (see
    /// [`Engine::durable_through`]).
    pub fn save_step(&self, run: &Run, index: usize, step: &StepRun) -> u64 {
        let i = u16::try_from(index).unwrap_or(u16::MAX);
        if let Err(e) = self.engine.store().put_step(run.id, run.attempt, i, step) {
            tracing::error!(run = run.id, step = step.id, "storing a step: {e}");
        }
        let ev = Event::StepChanged { run: run.id, attempt: run.attempt, step: Box::new(step.clone()) };
        self.engine.publish(Topic::Workflows, self.clock.now_ms(), ev).seq
    }

    /// Announce lines a step printed.
    pub fn output(&self, run: &Run, step: &str, lines: Vec<String>) {
        let ev = Event::StepOutput { run: run.id, attempt: run.attempt, step: step.into(), lines };
        self.engine.publish(Topic::Workflows, self.clock.now_ms(), ev);
    }

    /// Tell the alert engine (runs that fail or take too long raise alerts).
    pub fn run_alert(&self, ev: crate::engine::alerts::core::run_alerts::RunAlert) {
        self.engine.run_alert(ev);
    }

    /// How long a run of `def` may take before it counts as slow: its
    /// `expected_duration`, else three times the median duration of its last
    /// 20 successful runs (when it has at least 3), else no limit.
    pub fn slow_limit(&self, def: &Workflow, run: RunId) -> Option<std::time::Duration> {
        if let Some(d) = def.expected_duration {
            return Some(d);
        }
        let recent = self
            .engine
            .store()
            .list_runs(Some(run), 20, |r| r.workflow == def.name && r.state == RunState::Succeeded)
            .ok()?;
        let mut ms: Vec<i64> = recent.iter().filter_map(|r| r.duration_ms(r.ended.unwrap_or(0))).collect();
        if ms.len() < 3 {
            return None;
        }
        ms.sort_unstable();
        let median = ms[ms.len() / 2];
        Some(std::time::Duration::from_millis((median.max(1) * 3) as u64))
    }

    /// Write a step's log (capped by the driver).
    pub fn save_log(&self, run: &Run, index: usize, lines: &[String]) {
        let i = u16::try_from(index).unwrap_or(u16::MAX);
        if let Err(e) = self.engine.store().put_step_log(run.id, run.attempt, i, lines) {
            tracing::error!(run = run.id, "storing a step's log: {e}");
        }
    }
}

/// Runs in flight: their workflow and their task's mailbox.
type Active = HashMap<RunId, (String, mpsc::UnboundedSender<Control>)>;

/// A definition as loaded: the workflow and the file it came from.
#[derive(Clone)]
pub struct Loaded {
    pub workflow: Arc<Workflow>,
    pub path: String,
}

#[derive(Default)]
struct Defs {
    list: Vec<Loaded>,
    problems: Vec<String>,
}

/// The workflow engine of one [`Engine`].
pub struct WorkflowService {
    ctx: Arc<Ctx>,
    dir: Option<PathBuf>,
    defs: Mutex<Defs>,
    /// Runs in flight in this process: their workflow and their task's mailbox.
    active: Arc<Mutex<Active>>,
    /// Signalled when a run ends or the definitions change (the schedule loop waits on it).
    pub(super) changed: Arc<tokio::sync::Notify>,
    /// Runs kept (triggers.rs prunes the rest).
    pub(super) retention: crate::config::settings::WorkflowsConfig,
    next_id: Mutex<RunId>,
    runtime: tokio::runtime::Handle,
    /// The runs' tasks: aborted when the service goes (the engine stops),
    /// so a run is left as a kill leaves it, and interrupted at the next start.
    tasks: Mutex<Vec<tokio::task::AbortHandle>>,
}

impl Drop for WorkflowService {
    fn drop(&mut self) {
        for t in self.tasks.get_mut().unwrap_or_else(|p| p.into_inner()).drain(..) {
            t.abort();
        }
    }
}

impl WorkflowService {
    /// A service over `engine`'s store and bus, reading `dir` (None: no
    /// files; tests give definitions with [`WorkflowService::set_definitions`]).
    /// Must be made inside a tokio runtime (runs are its tasks).
    pub fn new(
        engine: Engine,
        dir: Option<PathBuf>,
        exec: Arc<dyn StepExecutor>,
        secrets: Arc<dyn Secrets>,
    ) -> Result<Self, crate::engine::store::StoreError> {
        let next = engine.store().next_run_id()?;
        let clock = engine.clock();
        let ctx = Ctx {
            engine,
            clock,
            exec,
            secrets,
            global: Arc::new(Semaphore::new(GLOBAL_CONCURRENCY)),
            random: super::exec::random01,
        };
        Ok(WorkflowService {
            ctx: Arc::new(ctx),
            dir,
            defs: Mutex::default(),
            active: Arc::default(),
            changed: Arc::default(),
            retention: Default::default(),
            next_id: Mutex::new(next),
            runtime: tokio::runtime::Handle::current(),
            tasks: Mutex::default(),
        })
    }

    /// Same, keeping runs as `retention` says.
    pub fn with_retention(mut self, retention: crate::config::settings::WorkflowsConfig) -> Self {
        self.retention = retention;
        self
    }

    /// Same, with jitter from `random` (tests: a fixed number).
    pub fn with_random(mut self, random: fn() -> f64) -> Self {
        if let Some(ctx) = Arc::get_mut(&mut self.ctx) {
            ctx.random = random;
        }
        self
    }

    /// The workflows folder, if it reads one.
    pub fn dir(&self) -> Option<&std::path::Path> {
        self.dir.as_deref()
    }

    /// Read the workflows folder (blocking file reads) and remember each
    /// definition's content as a version; announce the new list.
    pub fn load(&self) {
        let Some(dir) = &self.dir else { return };
        let (found, errors) = super::definition::load_dir(dir);
        let problems: Vec<String> = errors.iter().map(ToString::to_string).collect();
        for p in &problems {
            tracing::warn!("workflow file left out: {p}");
        }
        let now = self.ctx.clock.now_ms();
        let mut list = Vec::new();
        for w in found {
            let path = w.path.clone();
            if let Ok(text) = crate::text::file::read(std::path::Path::new(&path))
                && super::definition::version_of(&text) == w.version
                && let Err(e) = self.ctx.engine.store().put_workflow_version(&w.name, &w.version, &text, now)
            {
                tracing::warn!("storing a version of workflow {}: {e}", w.name);
            }
            list.push(Loaded { workflow: Arc::new(w), path });
        }
        self.set(list, problems);
    }

    /// Use these definitions (tests, or definitions read elsewhere).
    pub fn set_definitions(&self, defs: Vec<Workflow>) {
        let list = defs.into_iter().map(|w| Loaded { path: w.path.clone(), workflow: Arc::new(w) }).collect();
        self.set(list, Vec::new());
    }

    fn set(&self, list: Vec<Loaded>, problems: Vec<String>) {
        *self.defs.lock().unwrap_or_else(|p| p.into_inner()) = Defs { list, problems };
        self.changed.notify_one();
        let snap = self.snapshot();
        self.ctx.engine.publish(Topic::Workflows, self.ctx.clock.now_ms(), Event::Workflows(Box::new(snap)));
    }

    /// The loaded definition named `name`.
    pub fn definition(&self, name: &str) -> Option<Arc<Workflow>> {
        self.find(name).ok()
    }

    fn find(&self, name: &str) -> Result<Arc<Workflow>, String> {
        let defs = self.defs.lock().unwrap_or_else(|p| p.into_inner());
        defs.list.iter().find(|l| l.workflow.name == name).map(|l| l.workflow.clone()).ok_or_else(|| {
            let names: Vec<&str> = defs.list.iter().map(|l| l.workflow.name.as_str()).collect();
            if names.is_empty() {
                format!("no workflow named {name:?}: there are none (put workflow files in the workflows folder)")
            } else {
                format!("no workflow named {name:?} (there are: {})", names.join(", "))
            }
        })
    }

    /// Mark every run that was in flight when the engine stopped
    /// `interrupted` (with the steps it was on). Returns how many.
    pub fn recover(&self) -> Result<usize, crate::engine::store::StoreError> {
        let store = self.ctx.engine.store();
        let runs = store.active_runs()?;
        let now = self.ctx.clock.now_ms();
        for mut run in runs.iter().cloned() {
            let mut on = Vec::new();
            for (i, mut s) in store.steps(run.id, run.attempt)? {
                if matches!(s.state, RunState::Running | RunState::Retrying | RunState::Waiting) {
                    s.interrupted = s.state != RunState::Waiting;
                    s.state = RunState::Interrupted;
                    s.next_attempt_at = None;
                    s.ended = Some(now);
                    on.push(s.id.clone());
                    self.ctx.save_step(&run, usize::from(i), &s);
                }
            }
            run.state = RunState::Interrupted;
            run.ended = Some(now);
            run.error = Some(if on.is_empty() {
                "interrupted: opsdeck stopped before the run ended".into()
            } else {
                format!("interrupted while on {}: opsdeck stopped", on.join(", "))
            });
            tracing::warn!(
                run = run.id,
                workflow = run.workflow,
                "marked interrupted: {}",
                run.error.as_deref().unwrap_or("")
            );
            self.ctx.save_run(&run);
        }
        Ok(runs.len())
    }

    /// What a new subscriber is sent: the workflows and the newest runs.
    pub fn snapshot(&self) -> WorkflowsSnapshot {
        let defs = self.defs.lock().unwrap_or_else(|p| p.into_inner());
        let workflows = defs.list.iter().map(|l| self.info(l)).collect();
        let problems = defs.problems.clone();
        drop(defs);
        let store = self.ctx.engine.store();
        let runs = store.list_runs(None, SNAPSHOT_RUNS, |_| true).unwrap_or_default();
        let active_steps = runs
            .iter()
            .filter(|r| r.state.is_active())
            .map(|r| {
                let steps = store.steps(r.id, r.attempt).unwrap_or_default().into_iter().map(|(_, s)| s).collect();
                (r.id, r.attempt, steps)
            })
            .collect();
        WorkflowsSnapshot { workflows, problems, runs, active_steps }
    }

    fn info(&self, l: &Loaded) -> WorkflowInfo {
        let w = &l.workflow;
        let names: Vec<String> = w.inputs.iter().map(|i| i.name.clone()).collect();
        WorkflowInfo {
            name: w.name.clone(),
            description: w.description.clone(),
            version: w.version.clone(),
            path: l.path.clone(),
            inputs: w
                .inputs
                .iter()
                .map(|i| InputInfo {
                    name: i.name.clone(),
                    kind: i.kind.name().into(),
                    values: match &i.kind {
                        InputKind::Enum(v) => v.clone(),
                        _ => Vec::new(),
                    },
                    description: i.description.clone(),
                    default: i.default.clone(),
                    required: i.required,
                })
                .collect(),
            steps: w
                .steps
                .iter()
                .map(|s| StepInfo {
                    id: s.id.clone(),
                    uses: uses_word(&s.uses),
                    needs: s.needs.clone(),
                    mutating: !matches!(s.uses, Uses::Approve) && self.ctx.exec.mutating(&s.uses, &s.with),
                    reads: Some(s.input_reads(&names)),
                })
                .collect(),
            next_fire: w.schedule.as_ref().and_then(|s| s.next_fire(self.ctx.clock.now_ms())),
        }
    }

    /// Carry out a command (never blocks on a run's task).
    pub fn command(&self, c: WorkflowsCommand) -> Result<Value, String> {
        match c {
            WorkflowsCommand::StartRun { workflow, inputs, by } => {
                let def = self.find(&workflow)?;
                let inputs = typed_inputs(&def, inputs)?;
                let by = if by.trim().is_empty() { "someone".to_string() } else { by };
                let run = self.start(def, inputs, Trigger::Manual { by })?;
                Ok(json!({ "run": run }))
            }
            WorkflowsCommand::CancelRun { run } => {
                let sent = self.send(run, Control::Cancel);
                if !sent {
                    let r = self.latest(run)?;
                    return Err(format!("run #{run} is {}: there is nothing to cancel", r.state.word()));
                }
                Ok(json!({ "run": run, "cancelled": true }))
            }
            WorkflowsCommand::Approve { run, step, by, note } => self.decide(run, step, true, by, note),
            WorkflowsCommand::Reject { run, step, by, note } => self.decide(run, step, false, by, note),
            WorkflowsCommand::ResumeRun { run, rerun_unsafe } => self.resume(run, rerun_unsafe),
            WorkflowsCommand::AbandonRun { run } => self.abandon(run),
            WorkflowsCommand::RerunRun { run, from, current, inputs } => self.rerun(run, from, current, inputs),
            WorkflowsCommand::ListRuns { workflow, state, before, limit } => {
                let runs = self
                    .ctx
                    .engine
                    .store()
                    .list_runs(before, limit.clamp(1, 1000), |r| {
                        workflow.as_ref().is_none_or(|w| &r.workflow == w) && state.is_none_or(|s| r.state == s)
                    })
                    .map_err(|e| e.to_string())?;
                serde_json::to_value(runs).map_err(|e| e.to_string())
            }
            WorkflowsCommand::ShowRun { run, attempt } => {
                let d = self.detail(run, attempt)?;
                serde_json::to_value(d).map_err(|e| e.to_string())
            }
            WorkflowsCommand::ListWorkflows => {
                let s = self.snapshot();
                Ok(json!({ "workflows": s.workflows, "problems": s.problems }))
            }
            WorkflowsCommand::ListVersions { workflow } => self.versions(&workflow),
            WorkflowsCommand::ShowVersion { workflow, version, against } => {
                self.version(&workflow, &version, against.as_deref())
            }
            WorkflowsCommand::Rollback { workflow, version } => self.rollback(&workflow, &version),
            WorkflowsCommand::StepLog { run, attempt, step } => {
                let d = self.detail(run, attempt)?;
                let i = d.steps.iter().position(|s| s.id == step).ok_or_else(|| no_step(run, &step))?;
                // A step whose outcome a rerun reused printed in the attempt that ran it.
                let (mut at, mut i, mut reused) = (d.run.attempt, i, d.steps[i].reused);
                let mut lines = self.ctx.engine.store().step_log(run, at, i as u16).map_err(|e| e.to_string())?;
                while lines.is_empty() && reused && at > 1 {
                    at -= 1;
                    let earlier = self.detail(run, Some(at))?;
                    let Some(j) = earlier.steps.iter().position(|s| s.id == step) else { break };
                    (i, reused) = (j, earlier.steps[j].reused);
                    lines = self.ctx.engine.store().step_log(run, at, i as u16).map_err(|e| e.to_string())?;
                }
                Ok(json!({ "run": run, "attempt": d.run.attempt, "step": step, "lines": lines, "printed_in": at }))
            }
        }
    }

    fn latest(&self, run: RunId) -> Result<Run, String> {
        self.ctx.engine.store().latest_attempt(run).map_err(|e| e.to_string())?.ok_or_else(|| no_run(run))
    }

    /// One attempt with its steps (the latest when `attempt` is None).
    pub fn detail(&self, run: RunId, attempt: Option<u32>) -> Result<RunDetail, String> {
        let store = self.ctx.engine.store();
        let r = match attempt {
            None => self.latest(run)?,
            Some(a) => {
                store.run(run, a).map_err(|e| e.to_string())?.ok_or_else(|| format!("run #{run} has no attempt {a}"))?
            }
        };
        let steps = store.steps(run, r.attempt).map_err(|e| e.to_string())?.into_iter().map(|(_, s)| s).collect();
        Ok(RunDetail { run: r, steps })
    }

    fn send(&self, run: RunId, c: Control) -> bool {
        let active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        active.get(&run).is_some_and(|(_, tx)| tx.send(c).is_ok())
    }

    fn decide(&self, run: RunId, step: String, approved: bool, by: String, note: String) -> Result<Value, String> {
        let d = self.detail(run, None)?;
        let s = d.steps.iter().find(|s| s.id == step).ok_or_else(|| no_step(run, &step))?;
        if s.state != RunState::Waiting {
            return Err(format!("step {step} of run #{run} is {}, not waiting for approval", s.state.word()));
        }
        let by = if by.trim().is_empty() { "someone".to_string() } else { by };
        let decision = Decision { approved, by, at: self.ctx.clock.now_ms(), note };
        let (reply, _) = tokio::sync::oneshot::channel();
        if !self.send(run, Control::Decide { step: step.clone(), decision, reply }) {
            return Err(format!("run #{run} is not running here (it is {}): resume it first", d.run.state.word()));
        }
        Ok(json!({ "run": run, "step": step, "approved": approved }))
    }

    /// Runs in flight in this process.
    pub fn active(&self) -> usize {
        self.active.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Runs of `workflow` in flight in this process.
    pub fn active_of(&self, workflow: &str) -> Vec<RunId> {
        let active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        active.iter().filter(|(_, (w, _))| w == workflow).map(|(id, _)| *id).collect()
    }

    /// Cancel a run in flight here (false if it is not).
    pub fn cancel(&self, run: RunId) -> bool {
        self.send(run, Control::Cancel)
    }

    /// The steps of workflow `name` that change things (None: no such workflow).
    pub fn mutating_steps(&self, name: &str) -> Option<Vec<String>> {
        let def = self.definition(name)?;
        Some(
            def.steps
                .iter()
                .filter(|s| !matches!(s.uses, Uses::Approve) && self.ctx.exec.mutating(&s.uses, &s.with))
                .map(|s| s.id.clone())
                .collect(),
        )
    }

    /// Every loaded definition.
    pub fn definitions(&self) -> Vec<Arc<Workflow>> {
        self.defs.lock().unwrap_or_else(|p| p.into_inner()).list.iter().map(|l| l.workflow.clone()).collect()
    }

    /// The engine's clock.
    pub fn now(&self) -> crate::protocol::Ts {
        self.ctx.clock.now_ms()
    }

    pub(super) fn store(&self) -> &crate::engine::store::Store {
        self.ctx.engine.store()
    }
}

fn no_run(run: RunId) -> String {
    format!("there is no run #{run} (opsdeck runs lists them)")
}

fn no_step(run: RunId, step: &str) -> String {
    format!("run #{run} has no step {step:?}")
}

#[cfg(test)]
#[path = "service_tests.rs"]
pub(super) mod tests;

#[cfg(test)]
#[path = "service_control_tests.rs"]
mod control_tests;

#[cfg(test)]
#[path = "service_records_tests.rs"]
mod records_tests;
