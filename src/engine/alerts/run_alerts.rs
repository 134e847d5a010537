//! Workflow runs as alerts (issue 12): a failed run fires
//! `workflow_failed` (labels `workflow`, `run`) until a later run of the
//! same workflow succeeds; a run that takes longer than its limit fires
//! `workflow_slow` (labels `workflow`, `run`) until it ends. They go through
//! the same evaluator, silences, acknowledgements and notifiers as rules.

use std::collections::BTreeMap;
use std::time::Duration;

use super::AlertCore;
use crate::engine::alerts::eval::Observation;
use crate::protocol::Ts;
use crate::protocol::alerts::{AlertState, Severity};

/// The rule name of a failed run's alert.
pub const FAILED_RULE: &str = "workflow_failed";
/// The rule name of a run that takes too long.
pub const SLOW_RULE: &str = "workflow_slow";

/// What a run tells the alert engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAlert {
    /// Run `run` of `workflow` failed (`why`: the failed steps).
    Failed { workflow: String, run: u64, why: String },
    /// A run of `workflow` succeeded: its earlier failures resolve.
    Succeeded { workflow: String, run: u64 },
    /// Run `run` has been running longer than `limit_ms`.
    Slow { workflow: String, run: u64, limit_ms: i64 },
    /// Run `run` ended (after being slow, or not).
    Ended { workflow: String, run: u64 },
    /// A run of another orchestrator (a Prefect flow run, issue 14) ended
    /// while watched: failed (or crashed) fires `workflow_failed` with labels
    /// `workflow`, `run` (its name there) and `source`; succeeded resolves
    /// the earlier failures of the same workflow on the same source.
    External { source: String, workflow: String, run: String, failed: bool, why: String },
}

fn labels(workflow: &str, run: u64) -> BTreeMap<String, String> {
    BTreeMap::from([("workflow".to_string(), workflow.to_string()), ("run".to_string(), run.to_string())])
}

fn obs<'a>(
    rule: &'a str,
    labels: BTreeMap<String, String>,
    summary: &'a str,
    holds: bool,
    severity: Severity,
) -> Observation<'a> {
    Observation {
        rule,
        origin: "workflow",
        labels,
        severity,
        summary,
        series: None,
        holds,
        value: None,
        value_text: None,
        for_: Duration::ZERO,
        keep_firing_for: Duration::ZERO,
    }
}

impl AlertCore {
    /// Resolve the open `workflow_failed` alerts whose labels `matches`
    /// (a later run of their workflow succeeded), with `summary`.
    fn resolve_failed(&mut self, matches: impl Fn(&BTreeMap<String, String>) -> bool, summary: &str, now: Ts) {
        let open: Vec<BTreeMap<String, String>> = self
            .eval
            .alerts
            .values()
            .filter(|a| a.rule == FAILED_RULE && a.state != AlertState::Resolved && matches(&a.labels))
            .map(|a| a.labels.clone())
            .collect();
        for l in open {
            let o = obs(FAILED_RULE, l, summary, false, Severity::Warning);
            self.fresh.extend(self.eval.observe(o, now));
        }
    }

    /// Apply what a run reported (on the core's task).
    pub fn workflow_event(&mut self, ev: RunAlert, now: Ts) {
        match ev {
            RunAlert::Failed { workflow, run, why } => {
                let summary = format!("workflow {workflow}: run #{run} failed ({why}); opsdeck runs show {run}");
                let o = obs(FAILED_RULE, labels(&workflow, run), &summary, true, Severity::Warning);
                self.fresh.extend(self.eval.observe(o, now));
            }
            RunAlert::Succeeded { workflow, run } => {
                let summary = format!("workflow {workflow}: run #{run} succeeded");
                // Not another source's workflow of the same name.
                let same =
                    |l: &BTreeMap<String, String>| l.get("workflow") == Some(&workflow) && !l.contains_key("source");
                self.resolve_failed(same, &summary, now);
            }
            RunAlert::Slow { workflow, run, limit_ms } => {
                let summary = format!(
                    "workflow {workflow}: run #{run} has run longer than {} (expected_duration, or 3× the median of its last successful runs)",
                    crate::engine::workflows::driver::short(std::time::Duration::from_millis(limit_ms.max(0) as u64))
                );
                let o = obs(SLOW_RULE, labels(&workflow, run), &summary, true, Severity::Warning);
                self.fresh.extend(self.eval.observe(o, now));
            }
            RunAlert::External { source, workflow, run, failed, why } => {
                if failed {
                    let l = BTreeMap::from([
                        ("workflow".to_string(), workflow.clone()),
                        ("run".to_string(), run.clone()),
                        ("source".to_string(), source.clone()),
                    ]);
                    let summary = format!(
                        "{source}: flow run {run} of {workflow} failed ({why}); opsdeck runs show --source {source} {run}"
                    );
                    let o = obs(FAILED_RULE, l, &summary, true, Severity::Warning);
                    self.fresh.extend(self.eval.observe(o, now));
                    return;
                }
                let summary = format!("{source}: flow run {run} of {workflow} succeeded");
                let same = |l: &BTreeMap<String, String>| {
                    l.get("workflow") == Some(&workflow) && l.get("source") == Some(&source)
                };
                self.resolve_failed(same, &summary, now);
            }
            RunAlert::Ended { workflow, run } => {
                let id = crate::protocol::alerts::Alert::make_id(SLOW_RULE, &labels(&workflow, run));
                if self.eval.alerts.get(&id).is_some_and(|a| a.state != AlertState::Resolved) {
                    let summary = format!("workflow {workflow}: run #{run} ended");
                    let o = obs(SLOW_RULE, labels(&workflow, run), &summary, false, Severity::Warning);
                    self.fresh.extend(self.eval.observe(o, now));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::alerts::rules::RuleSet;

    fn state(core: &AlertCore, rule: &str, run: u64) -> Option<AlertState> {
        let id = crate::protocol::alerts::Alert::make_id(rule, &labels("backup", run));
        core.eval.alerts.get(&id).map(|a| a.state)
    }

    #[test]
    fn a_failed_run_fires_until_a_later_run_succeeds_and_a_slow_one_until_it_ends() {
        let mut core = AlertCore::new(RuleSet::default(), None);
        core.workflow_event(RunAlert::Failed { workflow: "backup".into(), run: 3, why: "failed: dump".into() }, 1000);
        assert_eq!(state(&core, FAILED_RULE, 3), Some(AlertState::Firing));
        // The rules' evaluation does not take it for a disabled rule's alert.
        core.evaluate(1500);
        assert_eq!(state(&core, FAILED_RULE, 3), Some(AlertState::Firing), "still firing after an evaluation");
        let a = core.eval.alerts.values().next().unwrap();
        assert_eq!(a.origin, "workflow");
        assert!(a.summary.contains("run #3 failed (failed: dump)"), "{}", a.summary);
        core.workflow_event(RunAlert::Succeeded { workflow: "other".into(), run: 4 }, 2000);
        assert_eq!(state(&core, FAILED_RULE, 3), Some(AlertState::Firing), "another workflow resolves nothing");
        core.workflow_event(RunAlert::Succeeded { workflow: "backup".into(), run: 5 }, 3000);
        assert_eq!(state(&core, FAILED_RULE, 3), Some(AlertState::Resolved));

        core.workflow_event(RunAlert::Ended { workflow: "backup".into(), run: 6 }, 3500);
        assert_eq!(state(&core, SLOW_RULE, 6), None, "an ended run that was not slow raises nothing");
        core.workflow_event(RunAlert::Slow { workflow: "backup".into(), run: 6, limit_ms: 60_000 }, 4000);
        assert_eq!(state(&core, SLOW_RULE, 6), Some(AlertState::Firing));
        core.workflow_event(RunAlert::Ended { workflow: "backup".into(), run: 6 }, 5000);
        assert_eq!(state(&core, SLOW_RULE, 6), Some(AlertState::Resolved));
    }

    #[test]
    fn a_prefect_run_that_fails_fires_with_its_source_until_the_flow_succeeds_there() {
        let mut core = AlertCore::new(RuleSet::default(), None);
        let ev = |source: &str, run: &str, failed| RunAlert::External {
            source: source.into(),
            workflow: "etl/nightly".into(),
            run: run.into(),
            failed,
            why: "Crashed: killed".into(),
        };
        core.workflow_event(ev("prefect", "brave-otter", true), 1000);
        core.evaluate(1500);
        let a = core.eval.alerts.values().next().unwrap().clone();
        assert_eq!(a.state, AlertState::Firing);
        assert_eq!(a.labels.get("source").map(String::as_str), Some("prefect"));
        assert_eq!(a.labels.get("run").map(String::as_str), Some("brave-otter"));
        assert!(a.summary.contains("opsdeck runs show --source prefect brave-otter"), "{}", a.summary);
        core.workflow_event(ev("other-prefect", "calm-owl", false), 2000);
        assert_eq!(core.eval.alerts[&a.id].state, AlertState::Firing, "a success elsewhere resolves nothing");
        core.workflow_event(RunAlert::Succeeded { workflow: "etl/nightly".into(), run: 9 }, 2500);
        assert_eq!(
            core.eval.alerts[&a.id].state,
            AlertState::Firing,
            "a local workflow of the same name resolves nothing"
        );
        core.workflow_event(ev("prefect", "calm-owl", false), 3000);
        assert_eq!(core.eval.alerts[&a.id].state, AlertState::Resolved);
    }
}
