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
        let persist =
            Persist { transitions, state: changed.then(|| bytes.clone()), uptime, slo: self.slo.take_writes() };
        self.slo.take_fresh();
        if changed {
            self.saved = Some(bytes);
        }
        let update = AlertsUpdate {
            alerts,
            transitions: fresh,
            silences: self.silences.clone(),
            rules: self.rule_statuses(),
            deliveries: self.notify.take_fresh(),
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
        if let Err(e) = store.prune_uptime(now) {
            tracing::warn!("pruning the health checks' uptime history: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::alerts::rules::parse;
    use crate::protocol::alerts::Matcher;

    const S: i64 = 1000;

    fn core_with(src: &str, store: Option<&Store>) -> AlertCore {
        AlertCore::new(parse("t.toml", src).unwrap(), store)
    }

    const RULE: &str = "[[rule]]\nname = \"hot\"\ncondition = \"cpu.total > 90\"\nlabels = { team = \"db\" }\n";

    #[test]
    fn ack_clears_on_resolve_and_silences_mute_by_labels() {
        let mut c = core_with(RULE, None);
        c.ingest(0, &[("cpu.total".into(), 95.0)]);
        c.evaluate(0);
        let u = c.update(0).0;
        assert_eq!((u.alerts.len(), u.transitions.len()), (1, 1));
        let id = u.alerts[0].id.clone();
        assert_eq!(id, "hot{team=db}");
        c.command(AlertsCommand::Ack { alert: id.clone(), note: "on it".into(), by: "ana".into(), at: None }, S)
            .unwrap();
        assert_eq!(c.eval.alerts[&id].ack.as_ref().map(|a| a.by.as_str()), Some("ana"));
        let sil = c
            .command(
                AlertsCommand::Silence {
                    matchers: c.eval.alerts[&id].matchers(),
                    minutes: 10,
                    comment: "maint".into(),
                    by: "ana".into(),
                },
                S,
            )
            .unwrap();
        assert_eq!(sil, json!({"silence":"s1"}));
        let u = c.update(2 * S).0;
        assert_eq!(u.alerts[0].silenced_by, vec!["s1".to_string()]);
        // The silence expires by time.
        let u = c.update(S + 601 * S).0;
        assert!(u.alerts[0].silenced_by.is_empty());
        // Resolving clears the acknowledgement.
        c.ingest(700 * S, &[("cpu.total".into(), 5.0)]);
        c.evaluate(700 * S);
        assert_eq!(c.eval.alerts[&id].state, AlertState::Resolved);
        assert!(c.eval.alerts[&id].ack.is_none());
        assert!(
            c.command(AlertsCommand::Ack { alert: id, note: String::new(), by: String::new(), at: None }, 701 * S)
                .is_err()
        );
    }

    #[test]
    fn regex_matchers_and_unsilence() {
        let mut c = core_with(RULE, None);
        c.ingest(0, &[("cpu.total".into(), 95.0)]);
        c.evaluate(0);
        let silence = |m: &str| AlertsCommand::Silence {
            matchers: crate::protocol::matchers::parse(m).unwrap(),
            minutes: 5,
            comment: String::new(),
            by: String::new(),
        };
        // Real regular expressions, anchored to the whole value as in Alertmanager.
        c.command(silence("team=~d[a-z]"), 0).unwrap();
        c.command(silence("team=~d"), 0).unwrap();
        c.command(silence("alertname=~\"h.t\" team!~web|ops"), 0).unwrap();
        assert_eq!(c.update(S).0.alerts[0].silenced_by, ["s1", "s3"]);
        for id in ["s1", "s3"] {
            c.command(AlertsCommand::Unsilence { id: id.into() }, 2 * S).unwrap();
        }
        assert!(c.update(3 * S).0.alerts[0].silenced_by.is_empty());
        // Refused: no matcher, a set that matches every alert, a bad pattern.
        assert!(c.command(silence(""), 0).unwrap_err().contains("at least one matcher"));
        assert!(c.command(silence("team=~.*"), 0).unwrap_err().contains("mute every alert"));
        let bad = AlertsCommand::Silence {
            matchers: vec![Matcher { name: "x".into(), op: crate::protocol::alerts::MatchOp::Re, value: "(".into() }],
            minutes: 5,
            comment: String::new(),
            by: String::new(),
        };
        assert!(c.command(bad, 0).unwrap_err().contains("not a regular expression"));
    }

    #[test]
    fn disabling_a_rule_resolves_its_alerts_and_state_survives_a_restart() {
        let store = Store::temporary().unwrap();
        let mut c = core_with(RULE, Some(&store));
        c.ingest(0, &[("cpu.total".into(), 95.0)]);
        c.evaluate(0);
        c.update(0).1.write(&store).unwrap();
        c.command(AlertsCommand::SetRuleEnabled { name: "hot".into(), enabled: false }, S).unwrap();
        let (u, persist) = c.update(S);
        persist.write(&store).unwrap();
        assert_eq!(u.alerts[0].state, AlertState::Resolved);
        assert!(!u.rules[0].enabled);
        drop(c);
        let mut again = core_with(RULE, Some(&store));
        again.update(2 * S);
        let u = again.snapshot(store.transitions(TIMELINE_LOADED).unwrap());
        assert_eq!(u.alerts[0].state, AlertState::Resolved);
        assert!(!u.rules[0].enabled, "disabled stays disabled");
        let tl: Vec<_> = u.transitions.iter().map(|t| (t.from, t.to)).collect();
        assert_eq!(tl, vec![(None, AlertState::Firing), (Some(AlertState::Firing), AlertState::Resolved)]);
    }

    /// A silence and a disabled rule, in the untyped shape earlier builds wrote.
    const OLD_SHAPE: &str = r#"{"alerts":[],"silences":[{"id":"s4","matchers":[{"name":"team","op":"eq","value":"db"}],
        "starts":0,"ends":9999999999999,"comment":"maint","created_by":"ana","origin":"local"}],"disabled":["hot"],"next_silence":5,
        "notify":null}"#;

    #[test]
    fn a_state_record_of_the_previous_shape_is_read() {
        let store = Store::temporary().unwrap();
        store.put_alerts_state(OLD_SHAPE.as_bytes()).unwrap();
        let c = core_with(RULE, Some(&store));
        assert!(c.restore_problems.is_empty(), "{:?}", c.restore_problems);
        assert_eq!(c.silences.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["s4"]);
        assert!(!c.enabled("hot"), "the disabled rule stays disabled");
        assert_eq!(c.next_silence, 5);
    }

    #[test]
    fn an_unreadable_state_record_is_set_aside_and_reported_never_overwritten() {
        for (bytes, why) in [
            (OLD_SHAPE.replace(r#""disabled":["hot"]"#, r#""disabled":"hot""#), "invalid type"),
            (OLD_SHAPE.replace(r#"{"alerts""#, r#"{"version":9,"alerts""#), "newer opsdeck"),
        ] {
            let store = Store::temporary().unwrap();
            store.put_alerts_state(bytes.as_bytes()).unwrap();
            let mut c = core_with(RULE, Some(&store));
            assert!(c.silences.is_empty() && c.enabled("hot"), "nothing half-restored");
            let [problem] = &c.restore_problems[..] else { panic!("{:?}", c.restore_problems) };
            assert!(problem.contains(why) && problem.contains("kept as alerts/state.unreadable."), "{problem}");
            c.update(0).1.write(&store).unwrap();
            let kept: Vec<_> = store_keys(&store).into_iter().filter(|k| k.starts_with("state.unreadable.")).collect();
            assert_eq!(kept.len(), 1, "set aside once");
            assert_ne!(store.alerts_state_raw().unwrap().unwrap(), bytes.as_bytes(), "the new state is written");
        }
    }

    fn store_keys(store: &Store) -> Vec<String> {
        store.alerts_keys().unwrap()
    }

    #[test]
    fn a_quiet_minute_hands_the_state_over_once_and_a_change_again() {
        let mut c = core_with(RULE, None);
        let mut writes = 0;
        for i in 0..60 {
            c.ingest(i * S, &[("cpu.total".into(), 20.0 + (i % 7) as f32)]);
            c.evaluate(i * S);
            let (_, persist) = c.update(i * S);
            writes += usize::from(persist.state.is_some());
            assert!(persist.transitions.is_empty());
        }
        assert_eq!(writes, 1, "only the first update differs from nothing saved");
        c.command(AlertsCommand::SetRuleEnabled { name: "hot".into(), enabled: false }, 60 * S).unwrap();
        assert!(c.update(60 * S).1.state.is_some(), "disabling a rule is saved");
        assert!(c.update(61 * S).1.state.is_none());
    }

    #[test]
    fn a_check_fails_after_its_retries() {
        let mut c = core_with("[[check]]\nname = \"api\"\ntcp = \"127.0.0.1:1\"\nretries = 2\n", None);
        let bad = |at| Outcome { at, ok: false, latency_ms: None, error: Some("refused".into()) };
        c.check_outcome("api", bad(0), 0);
        assert!(c.eval.alerts.is_empty());
        c.check_outcome("api", bad(S), S);
        let a = &c.eval.alerts["api"];
        assert_eq!((a.state, a.summary.as_str(), a.origin.as_str()), (AlertState::Firing, "api: refused", "check"));
        c.check_outcome("api", Outcome { at: 2 * S, ok: true, latency_ms: Some(3.0), error: None }, 2 * S);
        assert_eq!(c.eval.alerts["api"].state, AlertState::Resolved);
        let st = &c.rule_statuses()[0];
        assert_eq!((st.kind.as_str(), st.latency_ms.len()), ("check", 3));
        assert!(st.latency_ms[0].is_nan());
    }
}

#[path = "run_alerts.rs"]
pub mod run_alerts;
