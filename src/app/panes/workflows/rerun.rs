//! Rerun with changed inputs: the start form of a run's workflow, filled
//! with the inputs the run had; submitting it reruns the run (its failed
//! steps, or from a chosen step) as a new attempt with the edited inputs.
//!
//! The form is honest about what the rerun does: the consent names only the
//! steps that run again, and an input read only by steps whose outputs are
//! reused is shown fixed (editing it would change nothing).

use std::collections::BTreeSet;

use serde_json::Value;

use super::WfRun;
use super::popup::WfPopup;
use crate::protocol::workflow::{RerunFrom, Run, RunId, RunState, WorkflowInfo, rerun_set};

/// The run a start form reruns, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RerunOf {
    pub run: RunId,
    /// The attempt whose inputs fill the form.
    pub attempt: u32,
    pub from: RerunFrom,
    /// The definition's version the run ran (the rerun runs it again).
    pub version: String,
    /// The steps that run again (the others' outputs are reused); `None`
    /// when that is not known here (the run's steps were not read).
    pub again: Option<BTreeSet<String>>,
    /// Whether some step's earlier output is known to be reused (not so
    /// for a rerun from the first step).
    pub reused: bool,
}

impl RerunOf {
    /// Which steps run again, for the popup.
    pub fn steps_word(&self) -> String {
        match &self.from {
            RerunFrom::All => "all its steps".into(),
            RerunFrom::Failed => "its failed steps and those after them".into(),
            RerunFrom::Step(id) if self.reused => format!("from step {id} (earlier outputs reused)"),
            RerunFrom::Step(id) => format!("from step {id}"),
        }
    }

    /// Whether step `id` runs in this rerun (when unknown: it may).
    pub fn runs(&self, id: &str) -> bool {
        self.again.as_ref().is_none_or(|a| a.contains(id))
    }
}

/// What a rerun of `run` runs again: from `step` when one is chosen, else
/// the failed steps — or every step of a run where none failed.
pub fn rerun_from(run: &Run, step: Option<String>) -> RerunFrom {
    match step {
        Some(id) => RerunFrom::Step(id),
        None if run.state == RunState::Succeeded => RerunFrom::All,
        None => RerunFrom::Failed,
    }
}

/// The steps of `w` a rerun of `r` from `from` runs again, as the engine
/// picks them; `None` when the run's step states are needed and not read.
pub fn again(w: &WorkflowInfo, r: &WfRun, from: &RerunFrom) -> Option<BTreeSet<String>> {
    let defs: Vec<(&str, &[String])> = w.steps.iter().map(|s| (s.id.as_str(), s.needs.as_slice())).collect();
    let last: Vec<(&str, RunState)> = if r.steps_loaded {
        r.steps.iter().map(|s| (s.id.as_str(), s.state)).collect()
    } else if *from == RerunFrom::Failed {
        return None;
    } else {
        // Only which steps the run had matters here.
        r.run.steps.iter().map(|id| (id.as_str(), RunState::Succeeded)).collect()
    };
    rerun_set(&defs, &last, from).ok()
}

/// Why input `name` is fixed in a rerun that runs `again` of `w`, or `None`
/// when a step that runs reads it (or what reads it is not known).
pub fn fixed_because(w: &WorkflowInfo, again: &BTreeSet<String>, name: &str) -> Option<String> {
    let reads = |s: &crate::protocol::workflow::StepInfo| s.reads.as_ref().map(|r| r.iter().any(|i| i == name));
    let mut readers = Vec::new();
    for s in &w.steps {
        match reads(s) {
            None => return None,
            Some(true) if again.contains(&s.id) => return None,
            Some(true) => readers.push(s.id.as_str()),
            Some(false) => {}
        }
    }
    Some(match readers.as_slice() {
        [] => "fixed: no step reads it".to_string(),
        more => format!("fixed: read only by {} (reused)", more.join(", ")),
    })
}

impl WfPopup {
    /// The start form of `w` filled with `r`'s inputs, rerunning it from
    /// `from`: inputs only reused steps read are fixed.
    pub fn rerun(source: &str, w: &WorkflowInfo, r: &WfRun, from: RerunFrom) -> WfPopup {
        let mut p = WfPopup::start(source, w);
        if let WfPopup::Start { form, rerun, on_start, .. } = &mut p {
            let run = &r.run;
            form.fill(&Value::Object(run.inputs.clone()));
            let again = again(w, r, &from);
            // The reads are the current file's: for a run of another version they are not known.
            if let Some(a) = again.as_ref().filter(|_| run.version == w.version) {
                for i in &w.inputs {
                    if let Some(why) = fixed_because(w, a, &i.name)
                        && !form.fix(&i.name, &why)
                    {
                        *on_start = true;
                    }
                }
            }
            // The run's steps (the definition's when the run does not list them).
            let mut steps = run.steps.iter().map(String::as_str).peekable();
            let reused = match (&again, steps.peek().is_some()) {
                (Some(a), true) => steps.any(|id| !a.contains(id)),
                (Some(a), false) => w.steps.iter().any(|s| !a.contains(&s.id)),
                (None, _) => false,
            };
            *rerun =
                Some(RerunOf { run: run.id, attempt: run.attempt, from, version: run.version.clone(), again, reused });
        }
        p
    }
}
