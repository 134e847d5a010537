//! What starts runs without a person, and what keeps the store bounded:
//!
//! - schedules: each workflow's `[schedule]` fires at its cron times
//!   (schedule.rs), under its `overlap` policy (skip, queue one, or cancel
//!   the previous run); at start, a fire missed while opsdeck was down starts
//!   one run under `catch_up = "once"`. When a schedule was last looked at
//!   is kept in the store, so "missed" survives restarts. A clock that jumps
//!   forward fires once, not once per missed time.
//! - alert triggers: a workflow with `[trigger] alert = "RULE"` starts when
//!   an alert of that rule starts firing, with the alert's labels as inputs
//!   (those the workflow declares).
//! - the folder: its files are looked at every 2 s and read again when one
//!   changed (each new content kept as a version).
//! - retention: every hour (and at start) runs older than `keep_days` that
//!   are not among the `keep_runs` newest of their workflow are deleted with
//!   their steps and logs.
//!
//! Runs started here are not started by a person: their mutating steps wait
//! for an approval unless the workflow is `unattended` (driver.rs).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::broadcast;

use super::schedule::{CatchUp, FireDecision, decide};
use super::service::{WorkflowService, typed_inputs};
use crate::protocol::alerts::AlertState;
use crate::protocol::workflow::Trigger;
use crate::protocol::{Envelope, Event, Ts};

/// Longest the schedule loop sleeps before it looks at the clock again (a
/// wall clock can jump while a timer sleeps).
const LOOK_EVERY: Duration = Duration::from_secs(30);
/// How often old runs are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// How often the workflows folder is looked at for changed files.
const WATCH_EVERY: Duration = Duration::from_secs(2);

/// What the folder's `*.toml` files look like (names, sizes, modification
/// times): a change means read them again. Blocking.
pub fn folder_signature(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64, Option<std::time::SystemTime>)> {
    let mut sig: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .map(|e| {
            let m = e.metadata().ok();
            (e.path(), m.as_ref().map_or(0, |m| m.len()), m.and_then(|m| m.modified().ok()))
        })
        .collect();
    sig.sort();
    sig
}

/// Read the folder again whenever its files change (new versions are kept,
/// the new list announced).
async fn watch_loop(svc: Arc<WorkflowService>) {
    let Some(dir) = svc.dir().map(std::path::Path::to_path_buf) else { return };
    let d = dir.clone();
    let mut last = tokio::task::spawn_blocking(move || folder_signature(&d)).await.unwrap_or_default();
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        let d = dir.clone();
        let Ok(now) = tokio::task::spawn_blocking(move || folder_signature(&d)).await else { continue };
        if now != last {
            last = now;
            let s = svc.clone();
            let _ = tokio::task::spawn_blocking(move || s.load()).await;
            tracing::info!(dir = %dir.display(), "workflow files changed: read again");
        }
    }
}

/// Start the schedule, alert-trigger and retention tasks of `svc`.
pub(crate) fn spawn(
    svc: Arc<WorkflowService>,
    alerts: broadcast::Receiver<Arc<Envelope>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    vec![
        tokio::spawn(schedule_loop(svc.clone())),
        tokio::spawn(alert_loop(svc.clone(), alerts)),
        tokio::spawn(prune_loop(svc.clone())),
        tokio::spawn(watch_loop(svc)),
    ]
}

/// The schedules' state between fires.
#[derive(Default)]
pub(crate) struct Schedules {
    /// Fires waiting for the running run to end (`overlap = "queue"`; at most one each).
    queued: HashMap<String, Ts>,
    started: bool,
}

impl Schedules {
    /// Fire what is due at `now`; returns when to look again (Unix ms), if ever.
    pub(crate) fn tick(&mut self, svc: &WorkflowService, now: Ts) -> Option<Ts> {
        let first = !self.started;
        self.started = true;
        let mut next: Option<Ts> = None;
        for def in svc.definitions() {
            let Some(sched) = &def.schedule else { continue };
            let store = svc.store();
            let seen = store.schedule_seen(&def.name).ok().flatten();
            let due = match seen {
                // First sight of this schedule: nothing was missed.
                None => None,
                Some(last) if first && sched.catch_up == CatchUp::Once => sched.missed(last, now),
                // catch_up = "none": what was missed while opsdeck was down is not run.
                Some(_) if first => None,
                Some(last) => sched.next_fire(last).filter(|&t| t <= now),
            };
            if let Err(e) = store.put_schedule_seen(&def.name, now) {
                tracing::warn!("storing workflow {}'s schedule: {e}", def.name);
            }
            let running = svc.active_of(&def.name);
            if running.is_empty()
                && let Some(at) = self.queued.remove(&def.name)
            {
                start(svc, &def.name, Trigger::Schedule { fire_at: at });
            }
            if let Some(at) = due {
                let running = svc.active_of(&def.name);
                let queued = usize::from(self.queued.contains_key(&def.name));
                match decide(sched.overlap, running.len(), queued) {
                    FireDecision::Start => start(svc, &def.name, Trigger::Schedule { fire_at: at }),
                    FireDecision::Skip => {
                        tracing::info!(workflow = def.name, "a scheduled fire was skipped: a run is in flight")
                    }
                    FireDecision::Queue => {
                        self.queued.insert(def.name.clone(), at);
                    }
                    FireDecision::CancelPreviousThenStart => {
                        for r in running {
                            svc.cancel(r);
                        }
                        // It starts when the cancelled runs have ended.
                        self.queued.insert(def.name.clone(), at);
                    }
                }
            }
            if let Some(t) = sched.next_fire(now) {
                next = Some(next.map_or(t, |n: Ts| n.min(t)));
            }
        }
        self.queued.retain(|name, _| svc.definition(name).is_some());
        next
    }
}

fn start(svc: &WorkflowService, name: &str, trigger: Trigger) {
    start_with(svc, name, Map::new(), trigger);
}

fn start_with(svc: &WorkflowService, name: &str, given: Map<String, Value>, trigger: Trigger) {
    let Some(def) = svc.definition(name) else { return };
    let inputs = match typed_inputs(&def, given) {
        Ok(i) => i,
        Err(e) => return tracing::warn!(workflow = name, "an automatic run could not start: {e}"),
    };
    match svc.start(def, inputs, trigger) {
        Ok(run) => tracing::info!(workflow = name, run, "started automatically"),
        Err(e) => tracing::warn!(workflow = name, "an automatic run could not start: {e}"),
    }
}

async fn schedule_loop(svc: Arc<WorkflowService>) {
    let mut s = Schedules::default();
    loop {
        let now = svc.now();
        let next = s.tick(&svc, now);
        let wait =
            next.map_or(LOOK_EVERY, |t| Duration::from_millis((t - now).clamp(0, i64::MAX) as u64).min(LOOK_EVERY));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = svc.changed.notified() => {}
        }
    }
}

/// Start the workflows triggered by alerts that start firing.
async fn alert_loop(svc: Arc<WorkflowService>, mut sub: broadcast::Receiver<Arc<Envelope>>) {
    loop {
        let env = match sub.recv().await {
            Ok(e) => e,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!("alert triggers missed {n} events");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Event::Alerts(u) = &env.event else { continue };
        for t in &u.transitions {
            if t.to != AlertState::Firing || t.from == Some(AlertState::Firing) {
                continue;
            }
            let Some(alert) = u.alerts.iter().find(|a| a.id == t.alert) else { continue };
            for def in svc.definitions().into_iter().filter(|d| d.trigger_alert.as_deref() == Some(alert.rule.as_str()))
            {
                let given: Map<String, Value> = alert
                    .labels
                    .iter()
                    .filter(|(k, _)| def.inputs.iter().any(|i| &i.name == *k))
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                start_with(&svc, &def.name, given, Trigger::Alert { rule: alert.rule.clone() });
            }
        }
    }
}

async fn prune_loop(svc: Arc<WorkflowService>) {
    loop {
        let s = svc.clone();
        match tokio::task::spawn_blocking(move || prune(&s)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(runs = n, "pruned old workflow runs"),
            Ok(Err(e)) => tracing::warn!("pruning workflow runs: {e}"),
            Err(e) => tracing::warn!("pruning workflow runs: {e}"),
        }
        tokio::time::sleep(PRUNE_EVERY).await;
    }
}

/// Delete ended runs that are old and not among the newest of their workflow. Blocking.
pub fn prune(svc: &WorkflowService) -> Result<usize, crate::engine::store::StoreError> {
    prune_with(svc, svc.retention)
}

/// [`prune`] under a given policy.
pub fn prune_with(
    svc: &WorkflowService,
    keep: crate::config::settings::WorkflowsConfig,
) -> Result<usize, crate::engine::store::StoreError> {
    let cutoff = svc.now() - i64::from(keep.keep_days) * 86_400_000;
    let mut seen: HashMap<String, usize> = HashMap::new();
    svc.store().prune_runs(|r| {
        let n = seen.entry(r.workflow.clone()).or_default();
        *n += 1;
        *n > keep.keep_runs && r.created < cutoff
    })
}

#[cfg(test)]
#[path = "triggers_tests.rs"]
mod tests;
