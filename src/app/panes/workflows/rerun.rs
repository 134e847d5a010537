//! Rerun with changed inputs: the start form of a run's workflow, filled
//! with the inputs the run had; submitting it reruns the run (its failed
//! steps, or from a chosen step) as a new attempt with the edited inputs.

use serde_json::Value;

use super::popup::WfPopup;
use crate::protocol::workflow::{RerunFrom, Run, RunId, RunState, WorkflowInfo};

/// The run a start form reruns, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RerunOf {
    pub run: RunId,
    /// The attempt whose inputs fill the form.
    pub attempt: u32,
    pub from: RerunFrom,
    /// The definition's version the run ran (the rerun runs it again).
    pub version: String,
}

impl RerunOf {
    /// Which steps run again, for the popup.
    pub fn steps_word(&self) -> String {
        match &self.from {
            RerunFrom::All => "all its steps".into(),
            RerunFrom::Failed => "its failed steps and those after them".into(),
            RerunFrom::Step(id) => format!("from step {id} (earlier outputs reused)"),
        }
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

impl WfPopup {
    /// The start form of `w` filled with `run`'s inputs, rerunning it from `from`.
    pub fn rerun(source: &str, w: &WorkflowInfo, run: &Run, from: RerunFrom) -> WfPopup {
        let mut p = WfPopup::start(source, w);
        if let WfPopup::Start { form, rerun, .. } = &mut p {
            form.fill(&Value::Object(run.inputs.clone()));
            *rerun = Some(RerunOf { run: run.id, attempt: run.attempt, from, version: run.version.clone() });
        }
        p
    }
}
