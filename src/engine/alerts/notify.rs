//! Notifications: which to send after each alerts update (a pure policy with
//! injected time, persisted with the alert state), and their bodies (generic
//! JSON, Slack, desktop). Delivery is in [`super::deliver`].
//!
//! Policy, per notifier and group (the values of its `group_by` labels):
//! - a message when an alert of the group starts firing, and again every
//!   `repeat` while any still fires; it lists every firing alert of the group;
//! - acknowledged and silenced alerts are left out, and never cause a message
//!   (an acknowledgement stops the notifying);
//! - when an alert that was notified as firing resolves, a resolved message
//!   (with `send_resolved`), also if it was acknowledged meanwhile: whoever got
//!   the page learns it is over. An alert silenced after it was notified is
//!   forgotten instead: nothing more is said about it, as in Alertmanager.
//! - pending alerts are never notified.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::core::match_labels;
use super::deliver::Outbox;
use crate::config::alerting::NotifierConfig;
use crate::protocol::Ts;
use crate::protocol::alerts::{Alert, AlertState, Delivery, Severity};

/// Deliveries kept for new subscribers (and read back from the store at start).
pub const RECENT_DELIVERIES: usize = 200;
/// Alerts listed in one Slack or desktop message.
const LISTED: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// At least one alert of the group fires.
    Firing,
    /// Every alert listed has resolved.
    Resolved,
}

/// Why a message goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// An alert of the group started firing (or came out of a silence or acknowledgement).
    New,
    /// The group still fires after `repeat`.
    Repeat,
    /// Notified alerts resolved.
    Resolved,
    /// Not a message: alerts handed over as firing stopped firing, or were
    /// acknowledged or silenced, before a message about them went out; a
    /// message still waiting for its retry drops them (deliver.rs). `alerts`
    /// lists the group's alerts still to be paged for.
    Withdraw,
}

/// One message for one notifier about one group of alerts (persisted while
/// it waits for a retry: deliver.rs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub notifier: String,
    pub status: Status,
    pub reason: Reason,
    /// `alertname=hot,instance=db1` (the `group_by` labels in order).
    pub group_key: String,
    pub group: BTreeMap<String, String>,
    /// The firing alerts of the group, then the resolved ones.
    pub alerts: Vec<Alert>,
    pub at: Ts,
}

/// What was sent for one group: the alerts notified as firing (not yet as
/// resolved), and a change waiting for its group wait or interval.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct GroupLog {
    sent: BTreeSet<String>,
    /// When the last message went out (a bare number in records of earlier
    /// builds reads as `Some`).
    #[serde(default)]
    last_sent: Option<Ts>,
    /// Since when something is waiting to be said (a new firing alert, a
    /// resolved one) that was not sent yet; persisted, so a restart during a
    /// group wait still sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    waiting_since: Option<Ts>,
    /// The alerts handed over as firing (to a delivery that may still be
    /// retrying) that still fire unmuted; one that drops out is withdrawn.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    paged: BTreeSet<String>,
}

impl GroupLog {
    /// When the change waiting in this group may go out: a group never
    /// notified waits `group_wait` from its first alert; a notified one waits
    /// until `group_interval` after its last message (Alertmanager's rules).
    fn due(&self, n: &NotifierConfig) -> Option<Ts> {
        let since = self.waiting_since?;
        Some(match self.last_sent {
            None => since.saturating_add(n.group_wait.as_millis() as i64),
            Some(last) => since.max(last.saturating_add(n.group_interval.as_millis() as i64)),
        })
    }
}

/// Decides what to send; its log survives restarts (so a restart does not
/// page again, and a message waiting for its group is still sent).
#[derive(Debug, Default)]
pub struct Policy {
    notifiers: Vec<NotifierConfig>,
    /// notifier → group key → log.
    log: BTreeMap<String, BTreeMap<String, GroupLog>>,
}

fn muted(a: &Alert) -> bool {
    a.ack.is_some() || !a.silenced_by.is_empty()
}

impl Policy {
    pub fn new(notifiers: Vec<NotifierConfig>) -> Policy {
        let mut p = Policy::default();
        p.configure(notifiers);
        p
    }

    /// Use `notifiers`; the log of notifiers no longer configured is dropped.
    pub fn configure(&mut self, notifiers: Vec<NotifierConfig>) {
        self.log.retain(|name, _| notifiers.iter().any(|n| &n.name == name));
        self.notifiers = notifiers;
    }

    pub fn notifiers(&self) -> &[NotifierConfig] {
        &self.notifiers
    }

    /// The log, to persist.
    pub fn save(&self) -> Value {
        serde_json::to_value(&self.log).unwrap_or(Value::Null)
    }

    /// Restore a saved log (anything unreadable is ignored).
    pub fn restore(&mut self, saved: &Value) {
        if let Ok(log) = serde_json::from_value(saved.clone()) {
            self.log = log;
        }
        let names: Vec<String> = self.notifiers.iter().map(|n| n.name.clone()).collect();
        if !names.is_empty() {
            self.log.retain(|name, _| names.contains(name));
        }
    }

    /// The earliest time (Unix ms) a message waiting for its group wait or
    /// interval is due: when [`Policy::decide`] should run next (besides
    /// every change of the alerts). `None` when nothing waits.
    pub fn next_due(&self) -> Option<Ts> {
        self.notifiers
            .iter()
            .filter_map(|n| Some((n, self.log.get(&n.name)?)))
            .flat_map(|(n, groups)| groups.values().filter_map(|g| g.due(n)))
            .min()
    }

    /// The messages to send now, given every alert (after silences were applied).
    pub fn decide(&mut self, alerts: &[Alert], now: Ts) -> Vec<Notification> {
        let mut out = Vec::new();
        for n in &self.notifiers {
            let mut groups: BTreeMap<String, (BTreeMap<String, String>, Vec<&Alert>)> = BTreeMap::new();
            for a in alerts.iter().filter(|a| n.severities.is_empty() || n.severities.contains(&a.severity)) {
                let (key, labels) = group_of(&n.group_by, a);
                groups.entry(key).or_insert_with(|| (labels, Vec::new())).1.push(a);
            }
            let log = self.log.entry(n.name.clone()).or_default();
            let keys: BTreeSet<String> = groups.keys().chain(log.keys()).cloned().collect();
            for key in keys {
                let (labels, members) = groups.remove(&key).unwrap_or_default();
                let entry = log.entry(key.clone()).or_default();
                // A clock that stepped back: count the waits from the new time.
                entry.last_sent = entry.last_sent.map(|l| l.min(now));
                entry.waiting_since = entry.waiting_since.map(|w| w.min(now));
                let find = |id: &String| members.iter().copied().find(|a| &a.id == id);
                // Gone or silenced alerts are forgotten: nothing more is said about them.
                entry.sent.retain(|id| find(id).is_some_and(|a| a.silenced_by.is_empty()));
                let firing: Vec<&Alert> =
                    members.iter().copied().filter(|a| a.state == AlertState::Firing && !muted(a)).collect();
                let resolved: Vec<&Alert> =
                    entry.sent.iter().filter_map(find).filter(|a| a.state != AlertState::Firing).collect();
                let new = firing.iter().any(|a| !entry.sent.contains(&a.id));
                let say_resolved = n.send_resolved && !resolved.is_empty();
                // A change waits for its group (wait or interval); a repeat does not.
                entry.waiting_since = if new || say_resolved { Some(entry.waiting_since.unwrap_or(now)) } else { None };
                let change_due = entry.due(n).is_some_and(|due| now >= due);
                let repeat = !firing.is_empty()
                    && entry.waiting_since.is_none()
                    && entry.last_sent.is_some_and(|l| now - l >= n.repeat.as_millis() as i64);
                if change_due || repeat {
                    let reason = match (new, repeat) {
                        (true, _) => Reason::New,
                        (false, true) => Reason::Repeat,
                        _ => Reason::Resolved,
                    };
                    let mut listed: Vec<Alert> = firing.iter().map(|a| (*a).clone()).collect();
                    if n.send_resolved {
                        listed.extend(resolved.iter().map(|a| (*a).clone()));
                    }
                    out.push(Notification {
                        notifier: n.name.clone(),
                        status: if firing.is_empty() { Status::Resolved } else { Status::Firing },
                        reason,
                        group_key: key.clone(),
                        group: labels,
                        alerts: listed,
                        at: now,
                    });
                    entry.last_sent = Some(now);
                    entry.waiting_since = None;
                    entry.paged = firing.iter().map(|a| a.id.clone()).collect();
                    for a in &resolved {
                        entry.sent.remove(&a.id);
                    }
                    entry.sent.extend(firing.iter().map(|a| a.id.clone()));
                } else {
                    if !n.send_resolved {
                        // Nothing will be said about these: they are done.
                        for a in &resolved {
                            entry.sent.remove(&a.id);
                        }
                    }
                    // Paged alerts acknowledged, silenced or resolved since: a
                    // message still retrying must not page for them.
                    let still: BTreeSet<String> =
                        entry.paged.iter().filter(|id| firing.iter().any(|a| &&a.id == id)).cloned().collect();
                    if still.len() < entry.paged.len() {
                        out.push(Notification {
                            notifier: n.name.clone(),
                            status: Status::Firing,
                            reason: Reason::Withdraw,
                            group_key: key.clone(),
                            group: labels,
                            alerts: firing.iter().filter(|a| still.contains(&a.id)).map(|a| (*a).clone()).collect(),
                            at: now,
                        });
                        entry.paged = still;
                    }
                }
                if entry.sent.is_empty() && entry.waiting_since.is_none() && entry.paged.is_empty() {
                    log.remove(&key);
                }
            }
        }
        out
    }
}

/// The group key and labels of `a` for `group_by`.
fn group_of(group_by: &[String], a: &Alert) -> (String, BTreeMap<String, String>) {
    let all = match_labels(a);
    let labels: BTreeMap<String, String> =
        group_by.iter().filter_map(|k| all.get(k).map(|v| (k.clone(), v.clone()))).collect();
    let key: Vec<String> = group_by.iter().map(|k| format!("{k}={}", all.get(k).map_or("", String::as_str))).collect();
    (key.join(","), labels)
}

/// The notification side of the alert core: the policy, where its messages go,
/// and the delivery attempts to announce.
#[derive(Debug, Default)]
pub struct NotifyState {
    pub policy: Policy,
    pub outbox: Option<Outbox>,
    fresh: Vec<Delivery>,
    recent: VecDeque<Delivery>,
}

impl NotifyState {
    /// Decide on `alerts` and hand the messages to the delivery tasks.
    pub fn after_update(&mut self, alerts: &[Alert], now: Ts) {
        let decided = self.policy.decide(alerts, now);
        if let Some(outbox) = &self.outbox {
            for n in decided {
                outbox.send(n);
            }
        }
    }

    /// Delivery attempts came back.
    pub fn delivered(&mut self, d: Vec<Delivery>) {
        self.recent.extend(d.iter().cloned());
        let extra = self.recent.len().saturating_sub(RECENT_DELIVERIES);
        self.recent.drain(..extra);
        self.fresh.extend(d);
        let extra = self.fresh.len().saturating_sub(RECENT_DELIVERIES);
        self.fresh.drain(..extra);
    }

    pub fn has_fresh(&self) -> bool {
        !self.fresh.is_empty()
    }

    /// The attempts of an earlier run (from the store), oldest first: shown to
    /// new subscribers, not announced again.
    pub fn restore_recent(&mut self, earlier: Vec<Delivery>) {
        let mut all: VecDeque<Delivery> = earlier.into();
        all.extend(self.recent.drain(..));
        let extra = all.len().saturating_sub(RECENT_DELIVERIES);
        all.drain(..extra);
        self.recent = all;
    }

    /// When a message waiting for its group is due (Unix ms): the alert task
    /// wakes up then.
    pub fn next_due(&self) -> Option<Ts> {
        self.policy.next_due()
    }

    /// Deliveries not yet announced.
    pub fn take_fresh(&mut self) -> Vec<Delivery> {
        std::mem::take(&mut self.fresh)
    }

    /// The latest deliveries, for a new subscriber.
    pub fn recent(&self) -> Vec<Delivery> {
        self.recent.iter().cloned().collect()
    }
}

/// RFC 3339 in UTC with milliseconds.
pub use crate::decode::rfc3339;

fn state_name(s: AlertState) -> &'static str {
    match s {
        AlertState::Pending => "pending",
        AlertState::Firing => "firing",
        AlertState::Resolved => "resolved",
    }
}

fn glyph(s: AlertState) -> &'static str {
    match s {
        AlertState::Pending => "🟡",
        AlertState::Firing => "🔴",
        AlertState::Resolved => "✅",
    }
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Firing => "firing",
        Status::Resolved => "resolved",
    }
}

/// The generic webhook body (schema in docs/alerts.md).
pub fn json_body(n: &Notification) -> Value {
    let alerts: Vec<Value> = n
        .alerts
        .iter()
        .map(|a| {
            json!({
                "id": a.id,
                "rule": a.rule,
                "origin": a.origin,
                "state": state_name(a.state),
                "severity": a.severity.name(),
                "labels": a.labels,
                "summary": a.summary,
                "value": a.value.filter(|v| v.is_finite()),
                "value_text": a.value_text,
                "active_since": rfc3339(a.active_since),
                "firing_since": a.firing_since.map(rfc3339),
                "resolved_at": a.resolved_at.map(rfc3339),
                "series": a.series,
            })
        })
        .collect();
    json!({
        "version": "1",
        "status": status_word(n.status),
        "reason": n.reason,
        "notifier": n.notifier,
        "group": { "key": n.group_key, "labels": n.group },
        "alerts": alerts,
        "sent_at": rfc3339(n.at),
    })
}

/// Slack mrkdwn escaping (`&`, `<`, `>`).
fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn title(n: &Notification) -> String {
    let firing = n.alerts.iter().filter(|a| a.state == AlertState::Firing).count();
    let name = n
        .group
        .get("alertname")
        .cloned()
        .unwrap_or_else(|| if n.group_key.is_empty() { "alerts".into() } else { n.group_key.clone() });
    match n.status {
        Status::Firing => format!("FIRING ({firing}): {name}"),
        Status::Resolved => format!("resolved: {name}"),
    }
}

/// The value in operator terms when it has them ("full in 3 h 10 min"), else the number.
fn value_text(a: &Alert) -> String {
    match &a.value_text {
        Some(t) => format!(" ({t})"),
        None => a
            .value
            .filter(|v| v.is_finite())
            .map(|v| format!(" (value {})", crate::text::units::number(v)))
            .unwrap_or_default(),
    }
}

fn line(a: &Alert) -> String {
    format!("{} {} {} — {}{}", glyph(a.state), a.severity.name(), a.id, a.summary, value_text(a))
}

/// A Slack-compatible incoming-webhook body: `text` (the fallback) and mrkdwn `blocks`.
pub fn slack_body(n: &Notification) -> Value {
    let head = format!("{} {}", if n.status == Status::Firing { "🔴" } else { "✅" }, title(n));
    let mut lines: Vec<String> = n
        .alerts
        .iter()
        .take(LISTED)
        .map(|a| {
            let (g, sev) = (glyph(a.state), a.severity.name());
            format!("{g} `{sev}` *{}* — {}{}", esc(&a.id), esc(&a.summary), value_text(a))
        })
        .collect();
    if n.alerts.len() > LISTED {
        lines.push(format!("…and {} more", n.alerts.len() - LISTED));
    }
    let mut body = lines.join("\n");
    if body.chars().count() > 2900 {
        body = body.chars().take(2900).collect::<String>() + "…";
    }
    let group = if n.group_key.is_empty() { String::new() } else { format!("\n`{}`", esc(&n.group_key)) };
    json!({
        "text": esc(&head),
        "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": format!("*{}*{group}", esc(&head)) } },
            { "type": "section", "text": { "type": "mrkdwn", "text": body } },
        ],
    })
}

/// `notify-send` arguments: urgency, title and body.
pub fn desktop_args(n: &Notification) -> Vec<String> {
    let critical = n.alerts.iter().any(|a| a.state == AlertState::Firing && a.severity == Severity::Critical);
    let urgency = match n.status {
        Status::Resolved => "low",
        Status::Firing if critical => "critical",
        Status::Firing => "normal",
    };
    let mut lines: Vec<String> = n.alerts.iter().take(5).map(line).collect();
    if n.alerts.len() > 5 {
        lines.push(format!("…and {} more", n.alerts.len() - 5));
    }
    vec![
        "--app-name=opsdeck".into(),
        format!("--urgency={urgency}"),
        "--".into(),
        format!("opsdeck: {}", title(n)),
        lines.join("\n"),
    ]
}

#[cfg(test)]
#[path = "notify_tests.rs"]
mod tests;
