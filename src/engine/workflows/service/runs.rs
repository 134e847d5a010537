//! Run control of the workflow service: starting a run (and launching its
//! driver task), resuming or abandoning an interrupted one, and reruns of an
//! ended one from the definition it ran or the current one.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use super::{WorkflowService, typed_inputs, uses_word};
use crate::engine::workflows::definition::Workflow;
use crate::engine::workflows::driver::Driver;
use crate::protocol::workflow::{RerunFrom, Run, RunId, RunState, StepRun, Trigger};

impl WorkflowService {
    /// Start a new run of `def` (inputs already typed). Returns its number.
    pub fn start(&self, def: Arc<Workflow>, inputs: Map<String, Value>, trigger: Trigger) -> Result<RunId, String> {
        let id = {
            let mut n = self.next_id.lock().unwrap_or_else(|p| p.into_inner());
            let id = *n;
            *n += 1;
            id
        };
        let run = Run {
            id,
            attempt: 1,
            workflow: def.name.clone(),
            version: def.version.clone(),
            inputs,
            trigger,
            state: RunState::Queued,
            created: self.ctx.clock.now_ms(),
            started: None,
            ended: None,
            error: None,
            steps: def.steps.iter().map(|s| s.id.clone()).collect(),
            first_started: None,
            external: None,
        };
        let steps: Vec<StepRun> = def.steps.iter().map(|s| StepRun::new(&s.id, uses_word(&s.uses))).collect();
        self.launch(def, run, steps);
        Ok(id)
    }

    /// Write the run and its steps, then hand it to its own task.
    pub(super) fn launch(&self, def: Arc<Workflow>, run: Run, steps: Vec<StepRun>) {
        self.ctx.save_run(&run);
        for (i, s) in steps.iter().enumerate() {
            self.ctx.save_step(&run, i, s);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let id = run.id;
        self.active.lock().unwrap_or_else(|p| p.into_inner()).insert(id, (def.name.clone(), tx));
        let driver = Driver::new(self.ctx.clone(), def, run, steps, rx);
        let (active, changed) = (self.active.clone(), self.changed.clone());
        let task = self.runtime.spawn(async move {
            driver.drive().await;
            active.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
            changed.notify_one();
        });
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(task.abort_handle());
    }

    /// The definition a run ran: the current one when its version is the
    /// file's, else the stored text of that version.
    pub(super) fn definition_of(&self, run: &Run, current: bool) -> Result<Arc<Workflow>, String> {
        let now = self.find(&run.workflow);
        if current {
            return now;
        }
        if let Ok(w) = &now
            && w.version == run.version
        {
            return now;
        }
        let stored = self
            .ctx
            .engine
            .store()
            .workflow_version(&run.workflow, &run.version)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| {
                format!(
                    "version {} of workflow {} is not stored: rerun it with the current definition",
                    run.version, run.workflow
                )
            })?;
        let path = format!("{} (version {})", run.workflow, run.version);
        crate::engine::workflows::definition::parse(&path, &stored.text)
            .map(Arc::new)
            .map_err(|e| e.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
    }

    pub(super) fn resume(&self, id: RunId, rerun_unsafe: bool) -> Result<Value, String> {
        let d = self.detail(id, None)?;
        if d.run.state != RunState::Interrupted {
            return Err(format!("run #{id} is {}: only an interrupted run can be resumed", d.run.state.word()));
        }
        let def = self.definition_of(&d.run, false)?;
        let unsafe_steps: Vec<&str> = d
            .steps
            .iter()
            .zip(&def.steps)
            .filter(|(s, st)| s.state == RunState::Interrupted && s.interrupted && !st.idempotent)
            .map(|(s, _)| s.id.as_str())
            .collect();
        if !unsafe_steps.is_empty() && !rerun_unsafe {
            return Err(format!(
                "step {} of run #{id} was running when opsdeck stopped and is marked idempotent = false: \
                 running it again may repeat what it did. Resume with --rerun-unsafe (in the pane: confirm) to run it again",
                unsafe_steps.join(", ")
            ));
        }
        let mut run = d.run;
        let mut steps = d.steps;
        for s in &mut steps {
            if !s.state.is_final() || s.state == RunState::Interrupted {
                s.state = RunState::Queued;
                s.ended = None;
                s.next_attempt_at = None;
            }
        }
        run.state = RunState::Queued;
        run.ended = None;
        run.error = None;
        self.launch(def, run, steps);
        Ok(json!({ "run": id, "resumed": true }))
    }

    pub(super) fn abandon(&self, id: RunId) -> Result<Value, String> {
        let d = self.detail(id, None)?;
        if d.run.state != RunState::Interrupted {
            return Err(format!("run #{id} is {}: only an interrupted run can be abandoned", d.run.state.word()));
        }
        let now = self.ctx.clock.now_ms();
        let mut run = d.run;
        for (i, mut s) in d.steps.into_iter().enumerate() {
            if !s.state.is_final() || s.state == RunState::Interrupted {
                s.state = RunState::Cancelled;
                s.ended.get_or_insert(now);
                self.ctx.save_step(&run, i, &s);
            }
        }
        run.state = RunState::Cancelled;
        // An interrupted run ended when it was found stopped; the abandon only decides its state.
        run.ended = run.ended.or(Some(now));
        run.error = Some("abandoned after an interruption".into());
        self.ctx.save_run(&run);
        Ok(json!({ "run": id, "abandoned": true }))
    }

    pub(super) fn rerun(
        &self,
        id: RunId,
        from: RerunFrom,
        current: bool,
        inputs: Option<Map<String, Value>>,
    ) -> Result<Value, String> {
        let d = self.detail(id, None)?;
        if d.run.state.is_active() {
            return Err(format!("run #{id} is {}: wait for it to end or cancel it first", d.run.state.word()));
        }
        let def = self.definition_of(&d.run, current)?;
        let inputs = match inputs {
            Some(given) => {
                let mut merged = d.run.inputs.clone();
                merged.extend(given);
                typed_inputs(&def, merged)?
            }
            None => typed_inputs(&def, d.run.inputs.clone())?,
        };
        let again =
            crate::engine::workflows::plan::rerun_set(&def, &d.steps, &from).map_err(|e| format!("run #{id}: {e}"))?;
        let steps: Vec<StepRun> = def
            .steps
            .iter()
            .map(|st| match d.steps.iter().find(|s| s.id == st.id) {
                Some(old) if !again.contains(&st.id) => {
                    let mut s = old.clone();
                    // The attempt that ran it: the one before, or the one it was reused from there.
                    s.reused_from = if old.reused { old.reused_from } else { Some(d.run.attempt) };
                    s.reused = true;
                    s
                }
                _ => StepRun::new(&st.id, uses_word(&st.uses)),
            })
            .collect();
        let run = Run {
            attempt: d.run.attempt + 1,
            version: def.version.clone(),
            inputs,
            state: RunState::Queued,
            created: self.ctx.clock.now_ms(),
            started: None,
            ended: None,
            error: None,
            steps: def.steps.iter().map(|s| s.id.clone()).collect(),
            first_started: d.run.run_started(),
            external: None,
            ..d.run
        };
        let attempt = run.attempt;
        self.launch(def, run, steps);
        Ok(json!({ "run": id, "attempt": attempt }))
    }
}
