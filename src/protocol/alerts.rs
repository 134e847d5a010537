//! Alerts as the engine announces them and the UI, notifiers and
//! Alertmanager see them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Ts;

/// How bad it is; ordered (`Critical` sorts first when sorting descending).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn from_name(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "critical" | "crit" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// The condition holds, not yet for the rule's `for`.
    Pending,
    Firing,
    Resolved,
}

/// "I'm on it": who, and a note. Cleared when the alert resolves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub by: String,
    pub note: String,
    pub at: Ts,
}

/// One alert: a rule (or health check) for one set of labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable: the rule name and its labels.
    pub id: String,
    pub rule: String,
    /// `rule`, `check`, `slo`, or `alertmanager:NAME`.
    pub origin: String,
    pub labels: BTreeMap<String, String>,
    pub severity: Severity,
    pub state: AlertState,
    pub summary: String,
    /// The value that made it pending/firing (or the last one seen).
    pub value: Option<f64>,
    /// `value` in operator terms, when it has such a form (`full in 3 h 10 min`
    /// for a prediction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_text: Option<String>,
    /// When the condition started to hold.
    pub active_since: Ts,
    pub firing_since: Option<Ts>,
    pub resolved_at: Option<Ts>,
    pub ack: Option<Ack>,
    /// Ids of the silences that mute it now.
    #[serde(default)]
    pub silenced_by: Vec<String>,
    /// The metric series the rule watches (for charts and "jump to metric").
    pub series: Option<String>,
}

impl Alert {
    /// Matchers that pick exactly this alert: its rule (`alertname`) and labels.
    pub fn matchers(&self) -> Vec<Matcher> {
        let mut m = vec![Matcher { name: "alertname".into(), op: MatchOp::Eq, value: self.rule.clone() }];
        m.extend(self.labels.iter().map(|(k, v)| Matcher { name: k.clone(), op: MatchOp::Eq, value: v.clone() }));
        m
    }

    /// The labels a silence sees: the alert's own, plus `alertname` (its
    /// rule) and `severity`.
    pub fn match_labels(&self) -> BTreeMap<String, String> {
        let mut l = self.labels.clone();
        l.insert("alertname".into(), self.rule.clone());
        l.insert("severity".into(), self.severity.name().into());
        l
    }

    /// `rule{k=v,…}`: how the alert is named on screen (for opsdeck's own alerts, its id).
    pub fn display_name(&self) -> String {
        Alert::make_id(&self.rule, &self.labels)
    }

    /// `rule{k=v,k2=v2}`: the id of a rule's alert for a label set.
    pub fn make_id(rule: &str, labels: &BTreeMap<String, String>) -> String {
        if labels.is_empty() {
            return rule.to_string();
        }
        let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{rule}{{{}}}", l.join(","))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchOp {
    /// `=`
    Eq,
    /// `!=`
    NotEq,
    /// `=~` (a regular expression over the whole value)
    Re,
    /// `!~`
    NotRe,
}

impl MatchOp {
    /// Every operator, in Alertmanager's order.
    pub const ALL: [MatchOp; 4] = [MatchOp::Eq, MatchOp::NotEq, MatchOp::Re, MatchOp::NotRe];

    /// How Alertmanager writes it: `=`, `!=`, `=~`, `!~`.
    pub fn symbol(self) -> &'static str {
        match self {
            MatchOp::Eq => "=",
            MatchOp::NotEq => "!=",
            MatchOp::Re => "=~",
            MatchOp::NotRe => "!~",
        }
    }
}

/// A label matcher of a silence, as in Alertmanager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matcher {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
}

/// Mutes the alerts whose labels all matchers match, from `starts` to `ends`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub starts: Ts,
    pub ends: Ts,
    pub created_by: String,
    pub comment: String,
    /// `local`, or `alertmanager:NAME`.
    pub origin: String,
}

impl Silence {
    pub fn active(&self, now: Ts) -> bool {
        self.starts <= now && now < self.ends
    }
}

/// A state change, as the timeline shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub alert: String,
    pub from: Option<AlertState>,
    pub to: AlertState,
    pub at: Ts,
    pub value: Option<f64>,
    /// `value` in operator terms, as on [`Alert::value_text`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_text: Option<String>,
}

/// One delivery attempt of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub alert: String,
    /// The notifier's name (`webhook:ops`, `slack:oncall`, `bell`, `desktop`).
    pub channel: String,
    pub at: Ts,
    pub attempt: u32,
    /// `None` when delivered.
    pub error: Option<String>,
}

/// A rule or health check as the pane lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleStatus {
    pub name: String,
    /// `rule`, `check` or `slo`.
    pub kind: String,
    /// The condition, or what the check probes.
    pub detail: String,
    pub severity: Severity,
    pub enabled: bool,
    /// Recent response times of a check, oldest first (ms; NaN = failed,
    /// `null` on the wire).
    #[serde(default, deserialize_with = "super::float::vec_f32_or_nan")]
    pub latency_ms: Vec<f32>,
    #[serde(default)]
    pub last_error: Option<String>,
    /// A check's availability and newest outages (`None` for a rule, and
    /// from peers that predate it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime: Option<super::uptime::Uptime>,
}

/// The alert engine's state after a change: every alert it still shows, the
/// transitions and deliveries since the last update, silences, rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertsUpdate {
    pub alerts: Vec<Alert>,
    #[serde(default)]
    pub transitions: Vec<Transition>,
    #[serde(default)]
    pub silences: Vec<Silence>,
    #[serde(default)]
    pub rules: Vec<RuleStatus>,
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
    /// Every SLO's budget and burn rates (added without a new version).
    #[serde(default)]
    pub slos: Vec<super::slo::SloStatus>,
}
