//! Which steps a rerun runs again (the others' outcomes are reused).

use std::collections::BTreeSet;

use super::definition::Workflow;
use crate::protocol::workflow::{RerunFrom, RunState, StepRun};

/// The ids of the steps a rerun `from` runs again, given the last attempt's
/// `steps` (see [`crate::protocol::workflow::rerun_set`], which the pane
/// uses to show them before asking).
pub fn rerun_set(def: &Workflow, steps: &[StepRun], from: &RerunFrom) -> Result<BTreeSet<String>, String> {
    if let RerunFrom::Step(id) = from
        && !def.steps.iter().any(|s| &s.id == id)
    {
        return Err(format!("workflow {} has no step {id:?}", def.name));
    }
    let defs: Vec<(&str, &[String])> = def.steps.iter().map(|s| (s.id.as_str(), s.needs.as_slice())).collect();
    let last: Vec<(&str, RunState)> = steps.iter().map(|s| (s.id.as_str(), s.state)).collect();
    crate::protocol::workflow::rerun_set(&defs, &last, from)
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
