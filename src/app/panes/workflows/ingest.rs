//! Events of the `workflows` topic and answers of `show_run` / `step_log`
//! into the pane's state.

use super::{LOG_LINES_KEPT, RUNS_KEPT, WfRun, WorkflowsState};
use crate::protocol::workflow::{Run, RunDetail, RunId, StepRun, WorkflowsSnapshot};
use crate::protocol::{Envelope, Event};

impl WorkflowsState {
    /// Take one event; whether it was a workflows event.
    pub fn ingest(&mut self, env: &Envelope) -> bool {
        let src = env.source.as_str();
        match &env.event {
            Event::Workflows(snap) => self.snapshot(src, snap),
            Event::RunChanged(run) => self.run_changed(src, run),
            Event::StepChanged { run, attempt, step } => self.step_changed(src, *run, *attempt, step),
            Event::StepOutput { run, attempt, step, lines } => {
                if let Some(r) = self.find_mut(src, *run)
                    && r.run.attempt == *attempt
                {
                    let log = r.logs.entry(step.clone()).or_default();
                    log.extend(lines.iter().cloned());
                    if log.len() > LOG_LINES_KEPT {
                        log.drain(..log.len() - LOG_LINES_KEPT);
                    }
                }
            }
            _ => return false,
        }
        self.clamp();
        true
    }

    /// A source's history was reset: forget its workflows and runs.
    pub fn reset_source(&mut self, source: &str) {
        self.workflows.retain(|(s, _)| s != source);
        self.problems.retain(|(s, _)| s != source);
        self.runs.retain(|r| r.source != source);
        self.seen.remove(source);
        self.older.remove(source);
        if self.open.as_ref().is_some_and(|(s, _)| s == source) {
            self.open = None;
        }
        self.clamp();
    }

    fn snapshot(&mut self, src: &str, snap: &WorkflowsSnapshot) {
        self.seen.insert(src.to_string());
        // The snapshot's runs replace the source's: older pages are read again.
        self.older.remove(src);
        self.workflows.retain(|(s, _)| s != src);
        self.workflows.extend(snap.workflows.iter().map(|w| (src.to_string(), w.clone())));
        self.workflows.sort_by(|a, b| a.1.name.cmp(&b.1.name).then(a.0.cmp(&b.0)));
        self.problems.retain(|(s, _)| s != src);
        self.problems.extend(snap.problems.iter().map(|p| (src.to_string(), p.clone())));
        // What is known of a run the snapshot also has (its steps, its logs) stays.
        let mut old: Vec<WfRun> = Vec::new();
        self.runs.retain(|r| {
            if r.source == src {
                old.push(r.clone());
                false
            } else {
                true
            }
        });
        for run in &snap.runs {
            let mut r = match old.iter().position(|o| o.run.id == run.id && o.run.attempt == run.attempt) {
                Some(i) => old.swap_remove(i),
                None => WfRun::new(src, run.clone()),
            };
            r.run = run.clone();
            r.steps = order(&r.run, std::mem::take(&mut r.steps));
            if let Some((_, _, steps)) = snap.active_steps.iter().find(|(id, a, _)| *id == run.id && *a == run.attempt)
            {
                r.steps = order(&r.run, steps.clone());
                r.steps_loaded = true;
            }
            self.insert(r);
        }
    }

    pub(super) fn insert(&mut self, r: WfRun) {
        // Newest first: by when the run started (its first attempt, not a
        // rerun's; when it was created while queued), then by number.
        let key = |r: &WfRun| (r.run.run_started().unwrap_or(r.run.created), r.run.id);
        let at = self.runs.iter().position(|o| key(o) < key(&r)).unwrap_or(self.runs.len());
        self.runs.insert(at, r);
        if self.runs.len() > RUNS_KEPT {
            // The oldest run that is not in flight nor open goes.
            let open = self.open.clone();
            if let Some(i) = self.runs.iter().rposition(|r| {
                !r.run.state.is_active() && open.as_ref().is_none_or(|(s, id)| !(s == &r.source && *id == r.run.id))
            }) {
                self.runs.remove(i);
            }
        }
    }

    fn run_changed(&mut self, src: &str, run: &Run) {
        match self.find_mut(src, run.id) {
            Some(r) if run.attempt < r.run.attempt => {}
            Some(r) => {
                if run.attempt > r.run.attempt {
                    new_attempt(r);
                }
                r.run = run.clone();
                let steps = std::mem::take(&mut r.steps);
                r.steps = order(&r.run, steps);
            }
            None => {
                let mut r = WfRun::new(src, run.clone());
                // A run seen from its start: its steps come as they change.
                r.steps_loaded = run.attempt == 1 && run.started.is_none();
                r.steps = order(run, Vec::new());
                self.insert(r);
            }
        }
    }

    fn step_changed(&mut self, src: &str, run: RunId, attempt: u32, step: &StepRun) {
        let Some(r) = self.find_mut(src, run) else { return };
        if attempt < r.run.attempt {
            return;
        }
        if attempt > r.run.attempt {
            // The step of an attempt whose header is still on its way.
            new_attempt(r);
            r.run.attempt = attempt;
        }
        match r.steps.iter_mut().find(|s| s.id == step.id) {
            Some(s) => *s = step.clone(),
            None => {
                let mut steps = std::mem::take(&mut r.steps);
                steps.push(step.clone());
                r.steps = order(&r.run, steps);
            }
        }
    }

    /// A `show_run` answer: the run's header and every step.
    pub fn show_answered(&mut self, src: &str, d: RunDetail) {
        match self.find_mut(src, d.run.id) {
            Some(r) if d.run.attempt < r.run.attempt => return self.past_answered(src, d),
            Some(r) => {
                if d.run.attempt > r.run.attempt {
                    new_attempt(r);
                }
                r.run = d.run.clone();
                r.steps = order(&d.run, d.steps);
                r.steps_loaded = true;
            }
            None => {
                let mut r = WfRun::new(src, d.run.clone());
                r.steps = order(&d.run, d.steps);
                r.steps_loaded = true;
                self.insert(r);
            }
        }
        self.clamp();
    }

    /// A `step_log` answer: the stored log replaces what was streamed.
    pub fn log_answered(&mut self, src: &str, run: RunId, attempt: u32, step: &str, mut lines: Vec<String>) {
        if let Some(r) = self.attempt_mut(src, run, attempt) {
            if lines.len() > LOG_LINES_KEPT {
                lines.drain(..lines.len() - LOG_LINES_KEPT);
            }
            r.logs.insert(step.to_string(), lines);
        }
    }
}

/// A new attempt starts empty.
fn new_attempt(r: &mut WfRun) {
    r.steps.clear();
    r.steps_loaded = false;
    r.logs.clear();
    r.logs_asked.clear();
}

/// Steps in the run's order (the definition's), a step not heard of yet
/// as queued; unknown ids last.
pub(super) fn order(run: &Run, mut steps: Vec<StepRun>) -> Vec<StepRun> {
    for id in &run.steps {
        if !steps.iter().any(|s| &s.id == id) {
            steps.push(StepRun::new(id.clone(), ""));
        }
    }
    let pos = |id: &str| run.steps.iter().position(|s| s == id).unwrap_or(usize::MAX);
    steps.sort_by_key(|s| pos(&s.id));
    steps
}
