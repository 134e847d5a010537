//! How a run's steps and the run end: an approval decided, a cancel, the
//! run's final state and the alerts it raises or resolves.

use serde_json::json;

use super::Driver;
use crate::engine::alerts::core::run_alerts::RunAlert;
use crate::protocol::workflow::{Decision, RunState};

impl Driver {
    pub(super) fn decide(&mut self, step: &str, decision: Decision) -> Result<(), String> {
        let Some(i) = self.index(step) else { return Err(format!("run #{} has no step {step:?}", self.run.id)) };
        if self.steps[i].state != RunState::Waiting {
            return Err(format!("step {step} of run #{} is {}, not waiting", self.run.id, self.steps[i].state.word()));
        }
        let approved = decision.approved;
        let who = decision.by.clone();
        self.steps[i].decision = Some(decision);
        if self.gated[i] {
            self.gated[i] = false;
            if approved {
                self.steps[i].state = RunState::Queued;
                self.save_step(i);
                self.ready.push_back(i);
            } else {
                self.fail(i, format!("rejected by {who}"));
            }
            return Ok(());
        }
        if approved {
            let now = self.now();
            let s = &mut self.steps[i];
            s.state = RunState::Succeeded;
            s.attempt = 1;
            s.ended = Some(now);
            s.output = Some(json!({ "approved": true, "by": who }));
            self.save_step(i);
        } else {
            self.fail(i, format!("rejected by {who}"));
        }
        Ok(())
    }

    pub(super) fn cancel(&mut self) {
        let now = self.now();
        for i in 0..self.steps.len() {
            if !self.steps[i].state.is_final() {
                let s = &mut self.steps[i];
                let was_started = s.started.is_some();
                s.state = RunState::Cancelled;
                s.next_attempt_at = None;
                if was_started {
                    s.ended = Some(now);
                }
                self.save_step(i);
            }
        }
        self.flush_logs();
        self.run.state = RunState::Cancelled;
        self.run.ended = Some(now);
        self.run.error = Some("cancelled".into());
        self.save_run();
        self.ended_alerts();
    }

    /// A slow run's alert resolves when it ends.
    pub(super) fn ended_alerts(&self) {
        if self.slow_raised {
            self.ctx.run_alert(RunAlert::Ended { workflow: self.run.workflow.clone(), run: self.run.id });
        }
    }

    pub(super) fn finish(&mut self) {
        let failed: Vec<&str> = self
            .steps
            .iter()
            .zip(&self.def.steps)
            .filter(|(s, d)| s.state == RunState::Failed && !d.continue_on_error)
            .map(|(s, _)| s.id.as_str())
            .collect();
        self.run.state = if failed.is_empty() { RunState::Succeeded } else { RunState::Failed };
        self.run.error = (!failed.is_empty()).then(|| format!("failed: {}", failed.join(", ")));
        self.run.ended = Some(self.now());
        self.save_run();
        self.ended_alerts();
        let (workflow, run) = (self.run.workflow.clone(), self.run.id);
        self.ctx.run_alert(match &self.run.error {
            Some(why) => RunAlert::Failed { workflow, run, why: why.clone() },
            None => RunAlert::Succeeded { workflow, run },
        });
    }
}
