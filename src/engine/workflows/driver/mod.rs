//! One run's task: it owns the run's state, starts steps as their `needs`
//! end (up to the workflow's `concurrency` and the engine's global limit),
//! evaluates conditions, retries with backoff, waits for approvals, and
//! writes every change to the store before announcing it (see
//! [`super::service::Ctx::save_step`]).
//!
//! Skips: a step whose `needs` did not all succeed (a failed step with
//! `continue_on_error` counts as succeeded) is skipped, unless its `if`
//! reads a needed step's `state` — then the condition decides. A step
//! whose condition is false is skipped.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::definition::{Step, Uses, Workflow};
use super::exec::{Failure, backoff, retry_allowed};
use super::output::mask;
use super::render::{Renderer, Scope, mask_value};
use super::service::Ctx;
use crate::engine::alerts::core::run_alerts::RunAlert;
use crate::protocol::workflow::{Decision, Run, RunState, StepRun};

mod ending;
mod logs;

use logs::Log;

/// How often a step's log is written while it prints.
const LOG_FLUSH: std::time::Duration = std::time::Duration::from_millis(250);
/// How long a step that changes things waits for the record of its start to
/// reach the disk before it fails instead of starting.
const DURABLE_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// What a run's task is told from outside.
pub enum Control {
    /// Stop now: running steps are dropped (killed), the run ends cancelled.
    Cancel,
    /// Answer a waiting step.
    Decide { step: String, decision: Decision, reply: oneshot::Sender<Result<(), String>> },
}

pub(super) struct Driver {
    pub ctx: Arc<Ctx>,
    pub def: Arc<Workflow>,
    pub run: Run,
    pub steps: Vec<StepRun>,
    pub ctl: mpsc::UnboundedReceiver<Control>,
    pub renderer: Renderer,
    /// Steps already decided (started, skipped, waiting, or final).
    admitted: Vec<bool>,
    /// Each step's `needs` as indices (resolved once, not on every pass).
    needs: Vec<Vec<usize>>,
    /// Waiting for a person before running (mutating step of an unattended-less automatic run).
    gated: Vec<bool>,
    ready: std::collections::VecDeque<usize>,
    retry_at: BTreeMap<(Instant, usize), ()>,
    running: usize,
    logs: Vec<Log>,
    permit_wanted: bool,
    secrets: Vec<String>,
    /// When the run counts as slow (an alert), if it has a limit; None once raised.
    slow_at: Option<Instant>,
    slow_raised: bool,
}

type Finished = (usize, Result<Value, Failure>, OwnedSemaphorePermit);

impl Driver {
    pub fn new(
        ctx: Arc<Ctx>,
        def: Arc<Workflow>,
        run: Run,
        steps: Vec<StepRun>,
        ctl: mpsc::UnboundedReceiver<Control>,
    ) -> Self {
        let n = steps.len();
        let renderer = Renderer::new(ctx.secrets.clone());
        let admitted = steps.iter().map(|s| s.state.is_final()).collect();
        let needs = def
            .steps
            .iter()
            .map(|st| st.needs.iter().filter_map(|n| def.steps.iter().position(|s| &s.id == n)).collect())
            .collect();
        Driver {
            ctx,
            def,
            run,
            steps,
            ctl,
            renderer,
            admitted,
            needs,
            gated: vec![false; n],
            ready: Default::default(),
            retry_at: BTreeMap::new(),
            running: 0,
            logs: (0..n).map(|_| Log::default()).collect(),
            permit_wanted: false,
            secrets: Vec::new(),
            slow_at: None,
            slow_raised: false,
        }
    }

    fn now(&self) -> crate::protocol::Ts {
        self.ctx.clock.now_ms()
    }

    fn save_step(&mut self, i: usize) -> u64 {
        self.ctx.save_step(&self.run, i, &self.steps[i])
    }

    fn save_run(&self) {
        self.ctx.save_run(&self.run);
    }

    /// Run to the end (or until cancelled).
    pub async fn drive(mut self) {
        if self.run.state != RunState::Running {
            self.run.state = RunState::Running;
            self.run.started.get_or_insert(self.now());
            self.run.error = None;
            self.save_run();
        }
        if let Some(limit) = self.ctx.slow_limit(&self.def, self.run.id) {
            let ran = self.now() - self.run.started.unwrap_or_else(|| self.now());
            let left = (limit.as_millis() as i64 - ran).max(0) as u64;
            self.slow_at = Some(Instant::now() + std::time::Duration::from_millis(left));
        }
        let mut join: JoinSet<Finished> = JoinSet::new();
        let (lines_tx, mut lines_rx) = mpsc::channel::<(usize, String)>(1024);
        let mut flush = tokio::time::interval(LOG_FLUSH);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            self.advance();
            self.start_ready(&mut join, &lines_tx, None);
            if self.running == 0 && self.ready.is_empty() && self.retry_at.is_empty() && self.all_decided_and_idle() {
                break;
            }
            self.sync_run_state();
            let next_retry = self.retry_at.keys().next().map(|(t, _)| *t);
            let global = self.ctx.global.clone();
            tokio::select! {
                Some(done) = join.join_next(), if !join.is_empty() => match done {
                    Ok((i, result, _permit)) => { self.running -= 1; self.attempt_done(i, result, &mut lines_rx); }
                    Err(e) => tracing::error!("a workflow step's task failed: {e}"),
                },
                _ = tokio::time::sleep_until(next_retry.unwrap_or_else(Instant::now)), if next_retry.is_some() => {
                    let now = Instant::now();
                    while let Some((&(t, i), _)) = self.retry_at.iter().next() {
                        if t > now { break; }
                        self.retry_at.remove(&(t, i));
                        self.ready.push_back(i);
                    }
                }
                permit = global.acquire_owned(), if self.permit_wanted && !self.ready.is_empty() => {
                    self.permit_wanted = false;
                    if let Ok(p) = permit { self.start_ready(&mut join, &lines_tx, Some(p)); }
                }
                ctl = self.ctl.recv() => match ctl {
                    Some(Control::Cancel) | None => {
                        join.abort_all();
                        while join.join_next().await.is_some() {}
                        self.drain_lines(&mut lines_rx);
                        self.cancel();
                        return;
                    }
                    Some(Control::Decide { step, decision, reply }) => {
                        let _ = reply.send(self.decide(&step, decision));
                    }
                },
                Some((i, line)) = lines_rx.recv() => {
                    self.line(i, line);
                    self.drain_lines(&mut lines_rx);
                }
                _ = flush.tick() => self.flush_logs(),
                _ = tokio::time::sleep_until(self.slow_at.unwrap_or_else(Instant::now)), if self.slow_at.is_some() => {
                    self.slow_at = None;
                    self.slow_raised = true;
                    let limit = self.ctx.slow_limit(&self.def, self.run.id).map_or(0, |d| d.as_millis() as i64);
                    self.ctx.run_alert(RunAlert::Slow { workflow: self.run.workflow.clone(), run: self.run.id, limit_ms: limit });
                }
            }
        }
        self.drain_lines(&mut lines_rx);
        self.flush_logs();
        self.finish();
    }

    fn all_decided_and_idle(&self) -> bool {
        self.steps.iter().all(|s| s.state.is_final())
    }

    /// The run's header follows its steps: running while one runs (or is
    /// about to), else waiting for a person, else waiting for a retry.
    fn sync_run_state(&mut self) {
        let has = |st: RunState| self.steps.iter().any(|s| s.state == st);
        let state = if self.running > 0 || !self.ready.is_empty() {
            RunState::Running
        } else if has(RunState::Waiting) {
            RunState::Waiting
        } else if has(RunState::Retrying) {
            RunState::Retrying
        } else {
            RunState::Running
        };
        if state != self.run.state {
            self.run.state = state;
            self.save_run();
        }
    }

    /// Decide every step whose needs have all ended: skip it, wait for a
    /// person, or queue it to start.
    fn advance(&mut self) {
        loop {
            let mut changed = false;
            for i in 0..self.steps.len() {
                if self.admitted[i] {
                    continue;
                }
                if !self.needs[i].iter().all(|&n| self.steps[n].state.is_final()) {
                    continue;
                }
                self.admitted[i] = true;
                changed = true;
                let needs = self.needs[i].clone();
                self.admit(i, &needs);
            }
            if !changed {
                break;
            }
        }
    }

    fn admit(&mut self, i: usize, needs: &[usize]) {
        let def = self.def.clone();
        let step = &def.steps[i];
        let ok = |s: &StepRun, d: &Step| {
            s.state == RunState::Succeeded || (s.state == RunState::Failed && d.continue_on_error)
        };
        let blocked: Vec<&str> = needs
            .iter()
            .filter(|&&n| !ok(&self.steps[n], &self.def.steps[n]))
            .map(|&n| self.steps[n].id.as_str())
            .collect();
        let reads_states = step.condition.as_deref().is_some_and(|c| reads_a_state(c, &step.needs));
        if !blocked.is_empty() && !reads_states {
            let why = format!("skipped: it needs {}, which did not succeed", blocked.join(", "));
            return self.skip(i, why);
        }
        if let Some(cond) = &step.condition {
            let holds = {
                let scope = Scope { inputs: &self.run.inputs, steps: &self.steps, run: Some(&self.run) };
                self.renderer.condition(cond, &scope)
            };
            match holds {
                Ok(true) => {}
                Ok(false) => return self.skip(i, format!("skipped: its condition is false ({})", cond.trim())),
                Err(e) => return self.fail(i, format!("its condition: {e}")),
            }
        }
        match &step.uses {
            Uses::Approve => {
                let message = step.message.clone().unwrap_or_default();
                let text = {
                    let scope = Scope { inputs: &self.run.inputs, steps: &self.steps, run: Some(&self.run) };
                    self.renderer.text(&message, &scope)
                };
                let text = match text {
                    Ok(t) => t,
                    Err(e) => return self.fail(i, format!("its message: {e}")),
                };
                self.note_secrets();
                let s = &mut self.steps[i];
                s.state = RunState::Waiting;
                s.started.get_or_insert(self.ctx.clock.now_ms());
                s.args = Some(json!({ "message": mask(&text, &self.secrets) }));
                self.save_step(i);
            }
            _ => {
                let needs_gate = !self.run.trigger.is_person()
                    && !self.def.unattended
                    && self.ctx.exec.mutating(&step.uses, &step.with)
                    && self.steps[i].decision.is_none();
                if needs_gate {
                    self.gated[i] = true;
                    let s = &mut self.steps[i];
                    s.state = RunState::Waiting;
                    s.args = Some(json!({ "message": format!(
                        "{} changes things and this run was not started by a person: approve to run it", step.id) }));
                    self.save_step(i);
                } else {
                    self.ready.push_back(i);
                }
            }
        }
    }

    fn index(&self, id: &str) -> Option<usize> {
        self.def.steps.iter().position(|s| s.id == id)
    }

    fn skip(&mut self, i: usize, why: String) {
        let now = self.now();
        let s = &mut self.steps[i];
        s.state = RunState::Skipped;
        s.error = Some(why);
        s.ended = Some(now);
        self.save_step(i);
    }

    fn fail(&mut self, i: usize, why: String) {
        let now = self.now();
        let s = &mut self.steps[i];
        s.state = RunState::Failed;
        s.error = Some(mask(&why, &self.secrets));
        s.started.get_or_insert(now);
        s.ended = Some(now);
        s.next_attempt_at = None;
        self.save_step(i);
    }

    fn note_secrets(&mut self) {
        for s in self.renderer.secrets_read() {
            if !self.secrets.contains(&s) {
                self.secrets.push(s);
            }
        }
    }

    /// Start queued steps while the run's and the engine's limits allow.
    fn start_ready(
        &mut self,
        join: &mut JoinSet<Finished>,
        lines: &mpsc::Sender<(usize, String)>,
        mut permit: Option<OwnedSemaphorePermit>,
    ) {
        while self.running < self.def.concurrency.max(1) && !self.ready.is_empty() {
            let p = match permit.take() {
                Some(p) => p,
                None => match self.ctx.global.clone().try_acquire_owned() {
                    Ok(p) => p,
                    Err(_) => {
                        self.permit_wanted = true;
                        return;
                    }
                },
            };
            let Some(i) = self.ready.pop_front() else { return };
            self.start(i, p, join, lines);
        }
    }

    fn start(
        &mut self,
        i: usize,
        permit: OwnedSemaphorePermit,
        join: &mut JoinSet<Finished>,
        lines: &mpsc::Sender<(usize, String)>,
    ) {
        let def = self.def.clone();
        let step = &def.steps[i];
        let args = {
            let scope = Scope { inputs: &self.run.inputs, steps: &self.steps, run: Some(&self.run) };
            self.renderer.with(&step.with, &scope)
        };
        self.note_secrets();
        let args = match args {
            Ok(a) => a,
            Err(e) => return self.fail(i, e),
        };
        let now = self.now();
        let s = &mut self.steps[i];
        s.state = RunState::Running;
        s.attempt += 1;
        s.started.get_or_insert(now);
        s.ended = None;
        s.next_attempt_at = None;
        s.args = Some(mask_value(&args, &self.secrets));
        let seq = self.save_step(i);
        self.running += 1;
        // A step that changes things starts only once the record that it
        // began is on disk: after a crash it is `interrupted` (resume asks
        // before running it again), never `queued` with its effect done.
        let durable = self.ctx.exec.mutating(&step.uses, &args).then(|| self.ctx.engine.clone());
        let (tx, mut rx) = mpsc::channel::<String>(256);
        let attempt = self.ctx.exec.start(&step.uses, args, tx);
        let lines = lines.clone();
        let timeout = step.timeout;
        join.spawn(async move {
            if let Some(engine) = durable
                && let Err(e) = engine.durable_through(seq, DURABLE_LIMIT).await
            {
                return (i, Err(Failure::new(e)), permit);
            }
            let forward = async {
                while let Some(l) = rx.recv().await {
                    if lines.send((i, l)).await.is_err() {
                        break;
                    }
                }
            };
            let run = async {
                match tokio::time::timeout(timeout, attempt).await {
                    Ok(r) => r,
                    Err(_) => Err(Failure::new(format!("timed out after {}", short(timeout)))),
                }
            };
            let (result, ()) = tokio::join!(run, forward);
            (i, result, permit)
        });
    }

    fn attempt_done(&mut self, i: usize, result: Result<Value, Failure>, lines: &mut mpsc::Receiver<(usize, String)>) {
        self.drain_lines(lines);
        let def = self.def.clone();
        let step = &def.steps[i];
        let now = self.now();
        match result {
            Ok(value) => {
                let value = mask_value(&value, &self.secrets);
                let outputs = {
                    let scope = Scope { inputs: &self.run.inputs, steps: &self.steps, run: Some(&self.run) };
                    self.renderer.outputs(&step.outputs, &value, &scope)
                };
                match outputs {
                    Ok(o) => {
                        let s = &mut self.steps[i];
                        s.state = RunState::Succeeded;
                        s.output = Some(value);
                        s.outputs = o.into_iter().map(|(k, v)| (k, mask_value(&v, &self.secrets))).collect();
                        s.error = None;
                        s.ended = Some(now);
                        self.save_step(i);
                    }
                    Err(e) => self.fail(i, e),
                }
            }
            Err(f) => {
                self.steps[i].output = f.output.as_ref().map(|o| mask_value(o, &self.secrets));
                let attempt = self.steps[i].attempt;
                if retry_allowed(&step.retry, attempt, &f) {
                    let wait = backoff(&step.retry, attempt + 1, (self.ctx.random)());
                    let s = &mut self.steps[i];
                    s.state = RunState::Retrying;
                    s.error = Some(mask(&f.message, &self.secrets));
                    s.next_attempt_at = Some(now + wait.as_millis() as i64);
                    self.save_step(i);
                    self.retry_at.insert((Instant::now() + wait, i), ());
                } else {
                    let why = if attempt > 1 { format!("{} (attempt {attempt})", f.message) } else { f.message };
                    self.fail(i, why);
                }
            }
        }
        self.flush_log(i);
    }
}

/// The condition reads `steps.N.state` of one of `needs`: it decides even
/// when a needed step did not succeed.
fn reads_a_state(cond: &str, needs: &[String]) -> bool {
    let src = if cond.contains("{{") { cond.to_string() } else { format!("{{{{ {cond} }}}}") };
    super::template::names(&src)
        .map(|names| names.iter().any(|n| needs.iter().any(|d| n == &format!("steps.{d}.state"))))
        .unwrap_or(false)
}

/// `2m`, `90s`, `1.5s`, `250ms`.
pub(crate) fn short(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0..1000 => format!("{ms}ms"),
        _ if ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
        _ if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ if ms.is_multiple_of(1000) => format!("{}s", ms / 1000),
        _ => format!("{:.1}s", d.as_secs_f64()),
    }
}
