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

/// The plan of a run of `def` with `inputs`, as lines: the steps in run
/// order with their arguments rendered (secrets masked), whether each
/// changes things, and conditions — evaluated where they read only inputs,
/// else "decided at run time". Runs nothing.
pub fn dry_run(
    def: &Workflow,
    inputs: &serde_json::Map<String, serde_json::Value>,
    secrets: std::sync::Arc<dyn super::render::Secrets>,
    exec: &dyn super::exec::StepExecutor,
) -> Vec<String> {
    use super::definition::Uses;
    use super::render::{Renderer, Scope, mask, mask_value};
    let r = Renderer::new(secrets);
    let scope = Scope { inputs, steps: &[], run: None };
    let mut out = vec![format!(
        "plan of {} (version {}) with inputs {}",
        def.name,
        def.version,
        serde_json::Value::Object(inputs.clone())
    )];
    let later = |e: &str| e.contains("steps");
    for (n, id) in def.order().into_iter().enumerate() {
        let Some(s) = def.steps.iter().find(|s| s.id == id) else { continue };
        let uses = super::service::uses_word(&s.uses);
        let changes = !matches!(s.uses, Uses::Approve) && exec.mutating(&s.uses, &s.with);
        let mut head = format!("{:>3}. {:<18} {uses}", n + 1, s.id);
        if !s.needs.is_empty() {
            head.push_str(&format!("  needs {}", s.needs.join(", ")));
        }
        if changes {
            head.push_str("  [changes things]");
        }
        out.push(head);
        if let Some(c) = &s.condition {
            let verdict = match r.condition(c, &scope) {
                Ok(true) => "holds: runs".to_string(),
                Ok(false) => "does not hold: skipped".to_string(),
                Err(e) if later(&e) || c.contains("steps.") => "decided at run time (reads an earlier step)".into(),
                Err(e) => format!("error: {e}"),
            };
            out.push(format!("       if {} → {verdict}", c.trim()));
        }
        if let Some(m) = &s.message {
            match r.text(m, &scope) {
                Ok(t) => out.push(format!("       asks {:?}", mask(&t, &r.secrets_read()))),
                Err(_) => out.push(format!("       asks {m:?} (decided at run time)")),
            }
        }
        if s.with.as_object().is_some_and(|o| !o.is_empty()) {
            match r.with(&s.with, &scope) {
                Ok(v) => out.push(format!("       with {}", mask_value(&v, &r.secrets_read()))),
                Err(e) if later(&e) || s.with.to_string().contains("steps.") => {
                    out.push(format!("       with {} (rendered at run time: reads an earlier step)", s.with))
                }
                Err(e) => out.push(format!("       with: error: {e}")),
            }
        }
    }
    out
}
