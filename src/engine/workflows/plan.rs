//! Which steps a rerun runs again (the others' outcomes are reused).

use std::collections::BTreeSet;

use super::definition::Workflow;
use crate::protocol::workflow::{RerunFrom, RunState, StepRun};

/// The ids of the steps a rerun `from` runs again, given the last attempt's
/// `steps`: every step (`All`); the steps that did not succeed and every
/// step after them (`Failed`); a step and every step after it (`Step`).
/// "After" is through `needs`, directly or not. Steps new to the definition
/// always run.
pub fn rerun_set(def: &Workflow, steps: &[StepRun], from: &RerunFrom) -> Result<BTreeSet<String>, String> {
    let mut set: BTreeSet<String> = match from {
        RerunFrom::All => return Ok(def.steps.iter().map(|s| s.id.clone()).collect()),
        RerunFrom::Failed => steps
            .iter()
            .filter(|s| matches!(s.state, RunState::Failed | RunState::Cancelled | RunState::Interrupted))
            .map(|s| s.id.clone())
            .collect(),
        RerunFrom::Step(id) => {
            if !def.steps.iter().any(|s| &s.id == id) {
                return Err(format!("workflow {} has no step {id:?}", def.name));
            }
            BTreeSet::from([id.clone()])
        }
    };
    if set.is_empty() {
        return Err("no step failed: rerun all steps or from a chosen step".into());
    }
    for s in &def.steps {
        if !steps.iter().any(|old| old.id == s.id) {
            set.insert(s.id.clone());
        }
    }
    // Dependants, in run order (a step's needs come before it).
    for id in def.order() {
        let s = def.steps.iter().find(|s| s.id == id).expect("order names steps of the workflow");
        if s.needs.iter().any(|n| set.contains(n)) {
            set.insert(s.id.clone());
        }
    }
    Ok(set)
}
