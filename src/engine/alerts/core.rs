//! The alert engine's state: rules and checks with their evaluator, silences,
//! acknowledgements, and persistence. Synchronous; the service task feeds it
//! samples, check outcomes and the time, and publishes what it returns.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::checks::{CheckState, Outcome};
use super::eval::{Evaluator, Observation, Samples};
use super::persist::Persist;
use super::rules::{Probe, RuleSet};
use crate::engine::store::Store;
use crate::protocol::alerts::{Ack, Alert, AlertState, AlertsUpdate, RuleStatus, Silence, Transition};
use crate::protocol::{AlertsCommand, Ts};

/// Resolved alerts stay on screen this long.
pub const KEEP_RESOLVED: Duration = Duration::from_secs(3600);
/// Transitions kept in the store.
pub const TRANSITIONS_KEPT: usize = 10_000;
/// Delivery attempts kept in the store.
pub const DELIVERIES_KEPT: usize = 2_000;
/// Transitions sent with the first update (the timeline after a restart).
pub const TIMELINE_LOADED: usize = 500;
/// Longest silence.
const MAX_SILENCE_MIN: u32 = 60 * 24 * 30;

pub struct AlertCore {
    pub rules: RuleSet,
    disabled: BTreeSet<String>,
    pub eval: Evaluator,
    pub samples: Samples,
    pub checks: BTreeMap<String, CheckState>,
    pub silences: Vec<Silence>,
    fresh: Vec<Transition>,
    next_silence: u64,
    /// Notifications (notify.rs): the policy, persisted with the state; its
    /// outbox; delivery attempts to announce.
    pub notify: super::notify::NotifyState,
    /// Each health check's up/down history (uptime.rs).
    pub uptime: super::uptime::UptimeBook,
    /// SLOs: their events, figures and burn-rate alerts (slo_engine.rs).
    pub slo: super::slo_engine::SloState,
    /// The state record's encoding last handed over for writing.
    saved: Option<Vec<u8>>,
    /// What went wrong restoring the saved state (said once at start).
    pub restore_problems: Vec<String>,
}

/// Version of [`StateRecord`] this build writes.
pub const STATE_VERSION: u32 = 1;

/// The alert engine's persisted state (store tree `alerts`, key `state`):
/// what must survive a restart. Decoded whole or not at all: a record that
/// does not decode is set aside and reported, never replaced field by field
/// with defaults.
///
/// Versions: 0 (no `version` field) is the untyped record of earlier builds,
/// the same fields: read as 1. A version above [`STATE_VERSION`] was written
/// by a newer opsdeck: set aside.
#[derive(Debug, Deserialize)]
struct StateRecord {
    #[serde(default)]
    version: u32,
    alerts: Vec<Alert>,
    silences: Vec<Silence>,
    disabled: BTreeSet<String>,
    next_silence: u64,
    #[serde(default)]
    notify: Value,
}

/// [`StateRecord`] as written, borrowing the core's state.
#[derive(Serialize)]
struct StateRecordRef<'a> {
    version: u32,
    alerts: Vec<&'a Alert>,
    silences: &'a [Silence],
    disabled: &'a BTreeSet<String>,
    next_silence: u64,
    notify: Value,
}

/// The record in `bytes`, migrated to [`STATE_VERSION`], or why not.
fn read_state(bytes: &[u8]) -> Result<StateRecord, String> {
    let mut rec: StateRecord = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    match rec.version {
        0 => rec.version = 1,
        STATE_VERSION => {}
        v => return Err(format!("version {v} was written by a newer opsdeck (this one reads {STATE_VERSION})")),
    }
    Ok(rec)
}

fn silence_matches(s: &Silence, labels: &BTreeMap<String, String>, now: Ts) -> bool {
    s.active(now) && s.matchers.iter().all(|m| m.matches(labels.get(&m.name).map_or("", String::as_str)))
}

/// The labels a silence sees: the alert's own, plus `alertname` and `severity`.
pub fn match_labels(a: &Alert) -> BTreeMap<String, String> {
    a.match_labels()
}

impl AlertCore {
    /// A core for `rules`, with the state persisted in `store` (if any) restored.
    pub fn new(rules: RuleSet, store: Option<&Store>) -> AlertCore {
        let mut core = AlertCore {
            rules,
            disabled: BTreeSet::new(),
            eval: Evaluator::default(),
            samples: Samples::new(Duration::from_secs(10), Duration::from_secs(2 * 3600)),
            checks: BTreeMap::new(),
            silences: Vec::new(),
            fresh: Vec::new(),
            next_silence: 1,
            notify: Default::default(),
            uptime: Default::default(),
            slo: Default::default(),
            saved: None,
            restore_problems: Vec::new(),
        };
        let Some(store) = store else { return core };
        core.uptime = super::uptime::UptimeBook::load(store, &mut core.restore_problems);
        core.slo.offer(super::slo_engine::restore(store, &core.rules.slos));
        match store.deliveries(super::notify::RECENT_DELIVERIES) {
            Ok(d) => core.notify.restore_recent(d),
            Err(e) => tracing::warn!("reading the stored delivery attempts: {e}"),
        }
        let bytes = match store.alerts_state_raw() {
            Ok(Some(b)) => b,
            Ok(None) => return core,
            Err(e) => {
                core.restore_problems.push(format!("the saved alert state cannot be read from the store: {e}"));
                return core;
            }
        };
        match read_state(&bytes) {
            Ok(rec) => {
                core.eval.alerts = rec.alerts.into_iter().map(|a| (a.id.clone(), a)).collect();
                core.silences = rec.silences;
                core.disabled = rec.disabled;
                core.next_silence = rec.next_silence.max(1);
                core.notify.policy.restore(&rec.notify);
            }
            Err(why) => {
                let kept = store.set_aside_alerts_state(&bytes).unwrap_or_else(|e| format!("nowhere ({e})"));
                tracing::error!(kept, "the saved alert state is unreadable: {why}");
                core.restore_problems.push(format!(
                    "the saved alert state (silences, acknowledgements, disabled rules) cannot be read: {why}; \
                     it is kept as {kept} in the data directory and alerting starts without it"
                ));
            }
        }
        core
    }

    pub fn enabled(&self, name: &str) -> bool {
        !self.disabled.contains(name)
            && (self.rules.rules.iter().find(|r| r.name == name).map(|r| r.enabled))
                .or(self.rules.checks.iter().find(|c| c.name == name).map(|c| c.enabled))
                .or(self.rules.slos.iter().find(|s| s.name == name).map(|s| s.enabled))
                .unwrap_or(false)
    }

    pub fn ingest(&mut self, ts: Ts, values: &[(String, f32)]) {
        self.samples.push(ts, values);
        self.slo.ingest(&self.rules.slos, ts, values);
    }

    /// Evaluate every enabled rule at `now`.
    pub fn evaluate(&mut self, now: Ts) {
        self.samples.expire(now);
        let rules: Vec<_> = self.rules.rules.iter().filter(|r| self.enabled(&r.name)).cloned().collect();
        for r in &rules {
            let t = self.eval.eval_rule(r, &self.samples, now);
            self.fresh.extend(t);
        }
        let t = super::slo_engine::evaluate(self, now);
        self.fresh.extend(t);
        // A disabled (or removed) rule's or check's alerts resolve; those of
        // workflow runs are not rules: a later run resolves them.
        let off: Vec<Alert> = self
            .eval
            .alerts
            .values()
            .filter(|a| a.state != AlertState::Resolved && matches!(a.origin.as_str(), "rule" | "check" | "slo"))
            .filter(|a| !self.enabled(&a.rule))
            .cloned()
            .collect();
        for a in off {
            let o = Observation {
                rule: &a.rule,
                origin: &a.origin,
                labels: a.labels.clone(),
                severity: a.severity,
                summary: &a.summary,
                series: a.series.clone(),
                holds: false,
                value: a.value,
                value_text: a.value_text.clone(),
                for_: Duration::ZERO,
                keep_firing_for: Duration::ZERO,
            };
            self.fresh.extend(self.eval.observe(o, now));
        }
        self.eval.forget_resolved(now - KEEP_RESOLVED.as_millis() as i64);
        self.silences.retain(|s| s.ends > now - KEEP_RESOLVED.as_millis() as i64);
    }

    /// A health check's probe came back.
    pub fn check_outcome(&mut self, name: &str, o: Outcome, now: Ts) {
        let Some(check) = self.rules.checks.iter().find(|c| c.name == name).cloned() else { return };
        self.slo.check_outcome(&self.rules.slos, name, o.ok, now);
        let enabled = self.enabled(name);
        let st = self.checks.entry(name.to_string()).or_default();
        st.record(o.clone());
        if !enabled {
            return;
        }
        let failing = st.failing(check.retries);
        self.uptime.record(name, now, !failing, o.error.as_deref());
        let summary = match (&o.error, failing) {
            (Some(e), true) => format!("{name}: {e}"),
            _ => format!("{name}: healthy"),
        };
        let series = match &check.probe {
            Probe::Http { url, .. } => url.clone(),
            Probe::Tcp { addr } => addr.clone(),
            Probe::Dns { name } => name.clone(),
        };
        let obs = Observation {
            rule: name,
            origin: "check",
            labels: check.labels.clone(),
            severity: check.severity,
            summary: &summary,
            series: Some(format!("check:{series}")),
            holds: failing,
            value: o.latency_ms,
            value_text: None,
            for_: Duration::ZERO,
            keep_firing_for: Duration::ZERO,
        };
        self.fresh.extend(self.eval.observe(obs, now));
    }

    /// Apply a command from the pane (or a remote client).
    pub fn command(&mut self, cmd: AlertsCommand, now: Ts) -> Result<Value, String> {
        match cmd {
            AlertsCommand::Ack { alert, note, by, at } => {
                let a = self.eval.alerts.get_mut(&alert).ok_or(format!("no alert {alert:?}"))?;
                if a.state == AlertState::Resolved {
                    return Err(format!("{alert} is resolved already"));
                }
                a.ack = Some(Ack {
                    by,
                    note: note.trim().chars().take(500).collect(),
                    at: crate::protocol::made_at(at, now),
                });
                Ok(json!({"acknowledged": alert}))
            }
            AlertsCommand::Unack { alert } => {
                let a = self.eval.alerts.get_mut(&alert).ok_or(format!("no alert {alert:?}"))?;
                a.ack = None;
                Ok(json!({"unacknowledged": alert}))
            }
            AlertsCommand::Silence { matchers, minutes, comment, by } => {
                crate::protocol::matchers::check_set(&matchers)?;
                if minutes == 0 || minutes > MAX_SILENCE_MIN {
                    return Err(format!("a silence lasts 1 to {MAX_SILENCE_MIN} minutes"));
                }
                let id = format!("s{}", self.next_silence);
                self.next_silence += 1;
                self.silences.push(Silence {
                    id: id.clone(),
                    matchers,
                    starts: now,
                    ends: now + i64::from(minutes) * 60_000,
                    created_by: by,
                    comment,
                    origin: "local".into(),
                });
                Ok(json!({"silence": id}))
            }
            AlertsCommand::Unsilence { id } => {
                let s = self.silences.iter_mut().find(|s| s.id == id).ok_or(format!("no silence {id:?}"))?;
                s.ends = s.ends.min(now);
                Ok(json!({"expired": id}))
            }
            AlertsCommand::SetRuleEnabled { name, enabled } => {
                if !self.rules.rules.iter().any(|r| r.name == name)
                    && !self.rules.checks.iter().any(|c| c.name == name)
                    && !self.rules.slos.iter().any(|s| s.name == name)
                {
                    return Err(format!("no rule, check or SLO named {name:?}"));
                }
                if enabled {
                    self.disabled.remove(&name);
                } else {
                    self.disabled.insert(name.clone());
                }
                self.evaluate(now);
                Ok(json!({"rule": name, "enabled": enabled}))
            }
        }
    }

    /// Which silences mute which alerts, now.
    fn apply_silences(&mut self, now: Ts) {
        for a in self.eval.alerts.values_mut() {
            let labels = match_labels(a);
            a.silenced_by =
                self.silences.iter().filter(|s| silence_matches(s, &labels, now)).map(|s| s.id.clone()).collect();
        }
    }

    pub fn rule_statuses(&self) -> Vec<RuleStatus> {
        let mut v: Vec<RuleStatus> = self
            .rules
            .rules
            .iter()
            .map(|r| RuleStatus {
                name: r.name.clone(),
                kind: "rule".into(),
                detail: r.expr.clone(),
                severity: r.severity,
                enabled: self.enabled(&r.name),
                latency_ms: Vec::new(),
                last_error: None,
                uptime: None,
            })
            .collect();
        for c in &self.rules.checks {
            let st = self.checks.get(&c.name);
            v.push(RuleStatus {
                name: c.name.clone(),
                kind: "check".into(),
                detail: match &c.probe {
                    Probe::Http { url, .. } => format!("http {url}"),
                    Probe::Tcp { addr } => format!("tcp {addr}"),
                    Probe::Dns { name } => format!("dns {name}"),
                },
                severity: c.severity,
                enabled: self.enabled(&c.name),
                latency_ms: st
                    .map(|s| {
                        s.history
                            .iter()
                            .map(|o| if o.ok { o.latency_ms.unwrap_or(0.0) as f32 } else { f32::NAN })
                            .collect()
                    })
                    .unwrap_or_default(),
                last_error: st.and_then(|s| s.last()).and_then(|o| o.error.clone()),
                uptime: Some(self.uptime.status(&c.name)),
            });
        }
        v.extend(self.slo.rule_rows(&self.rules.slos, |n| self.enabled(n)));
        v
    }

    /// The state to announce, and what of it to write: the new transitions,
    /// and the state record only if it changed since the last call
    /// (persist.rs). No IO.
    pub fn update(&mut self, now: Ts) -> (AlertsUpdate, Persist) {
        self.apply_silences(now);
        self.uptime.advance(now);
        let alerts: Vec<Alert> = self.eval.alerts.values().cloned().collect();
        self.notify.after_update(&alerts, now);
        let fresh = std::mem::take(&mut self.fresh);
        let state = StateRecordRef {
            version: STATE_VERSION,
            alerts: self.eval.alerts.values().collect(),
            silences: &self.silences,
            disabled: &self.disabled,
            next_silence: self.next_silence,
            notify: self.notify.policy.save(),
        };
        let bytes = serde_json::to_vec(&state).unwrap_or_default();
        let changed = self.saved.as_ref() != Some(&bytes);
        let (transitions, uptime) = (fresh.clone(), self.uptime.take_writes());
        let deliveries = self.notify.take_fresh();
        let persist = Persist {
            transitions,
            state: changed.then(|| bytes.clone()),
            uptime,
            slo: self.slo.take_writes(),
            deliveries: deliveries.clone(),
        };
        self.slo.take_fresh();
        if changed {
            self.saved = Some(bytes);
        }
        let update = AlertsUpdate {
            alerts,
            transitions: fresh,
            silences: self.silences.clone(),
            rules: self.rule_statuses(),
            deliveries,
            slos: self.slo.statuses(),
        };
        (update, persist)
    }

    /// The whole state for a new subscriber, with the stored timeline
    /// `transitions` (read by the caller: a store read, off the core's task).
    pub fn snapshot(&self, transitions: Vec<crate::protocol::alerts::Transition>) -> AlertsUpdate {
        AlertsUpdate {
            alerts: self.eval.alerts.values().cloned().collect(),
            transitions,
            silences: self.silences.clone(),
            rules: self.rule_statuses(),
            deliveries: self.notify.recent(),
            slos: self.slo.statuses(),
        }
    }

    /// What decides whether an update is worth announcing.
    pub fn signature(&self) -> Vec<(String, AlertState, usize, bool)> {
        self.eval.alerts.values().map(|a| (a.id.clone(), a.state, a.silenced_by.len(), a.ack.is_some())).collect()
    }

    /// Transitions (or delivery attempts) not yet announced.
    pub fn has_fresh(&self) -> bool {
        !self.fresh.is_empty() || self.notify.has_fresh() || self.slo.has_fresh()
    }

    pub fn prune(store: &Store, now: Ts) {
        if let Err(e) = store.prune_transitions(TRANSITIONS_KEPT) {
            tracing::warn!("pruning alert transitions: {e}");
        }
        if let Err(e) = store.prune_deliveries(DELIVERIES_KEPT) {
            tracing::warn!("pruning delivery attempts: {e}");
        }
        if let Err(e) = store.prune_uptime(now) {
            tracing::warn!("pruning the health checks' uptime history: {e}");
        }
    }
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;

#[path = "run_alerts.rs"]
pub mod run_alerts;
