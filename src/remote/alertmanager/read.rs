//! Reading Alertmanager's API answers without trusting them: every field
//! reads `null` as empty (its API sends `"silencedBy": null` where its spec
//! says `[]`), alerts and silences are read one by one (an unreadable one is
//! skipped and counted, never the whole answer), and at most [`MAX_ITEMS`]
//! of each are read.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::decode::{self, Items, null_as_default, plural};
use crate::protocol::Ts;
use crate::protocol::alerts::{Ack, Alert, AlertState, AlertsUpdate, MatchOp, Matcher, Severity, Silence};

/// Alerts (and silences) read per poll, at most.
pub const MAX_ITEMS: usize = 50_000;

// Every field reads `null` as empty: Alertmanager's API sends
// `"silencedBy": null`, `"annotations": null` where its spec says `[]`/`{}`.
#[derive(Debug, Deserialize)]
pub(super) struct AmAlert {
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) fingerprint: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt", default, deserialize_with = "null_as_default")]
    pub(super) starts_at: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) status: AmAlertStatus,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct AmAlertStatus {
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) state: String,
    #[serde(rename = "silencedBy", default, deserialize_with = "null_as_default")]
    pub(super) silenced_by: Vec<String>,
    #[serde(rename = "inhibitedBy", default, deserialize_with = "null_as_default")]
    pub(super) inhibited_by: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct AmSilence {
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) id: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) status: AmSilenceStatus,
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) comment: String,
    #[serde(rename = "createdBy", default, deserialize_with = "null_as_default")]
    pub(super) created_by: String,
    #[serde(rename = "startsAt", default, deserialize_with = "null_as_default")]
    pub(super) starts_at: String,
    #[serde(rename = "endsAt", default, deserialize_with = "null_as_default")]
    pub(super) ends_at: String,
    /// A silence with an unreadable matcher is skipped whole: without it, it
    /// would look broader than it is.
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) matchers: Vec<AmMatcher>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct AmSilenceStatus {
    #[serde(default, deserialize_with = "null_as_default")]
    pub(super) state: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct AmMatcher {
    pub(super) name: String,
    pub(super) value: String,
    #[serde(rename = "isRegex", default, deserialize_with = "null_as_default")]
    pub(super) is_regex: bool,
    #[serde(rename = "isEqual", default = "yes", deserialize_with = "null_as_yes")]
    pub(super) is_equal: bool,
}

fn yes() -> bool {
    true
}

fn null_as_yes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(true))
}

impl From<&Matcher> for AmMatcher {
    fn from(m: &Matcher) -> Self {
        let (is_regex, is_equal) = match m.op {
            MatchOp::Eq => (false, true),
            MatchOp::NotEq => (false, false),
            MatchOp::Re => (true, true),
            MatchOp::NotRe => (true, false),
        };
        AmMatcher { name: m.name.clone(), value: m.value.clone(), is_regex, is_equal }
    }
}

impl From<&AmMatcher> for Matcher {
    fn from(m: &AmMatcher) -> Self {
        let op = match (m.is_regex, m.is_equal) {
            (false, true) => MatchOp::Eq,
            (false, false) => MatchOp::NotEq,
            (true, true) => MatchOp::Re,
            (true, false) => MatchOp::NotRe,
        };
        Matcher { name: m.name.clone(), op, value: m.value.clone() }
    }
}

/// Milliseconds since the epoch of an RFC 3339 time (0 if unreadable).
pub(super) fn ms(t: &str) -> Ts {
    crate::decode::unix_ms(t).unwrap_or(0)
}

pub(super) use crate::decode::rfc3339;

/// The note of an acknowledgement silence (`ack: NOTE`), if it is one.
pub(super) fn ack_note(comment: &str) -> Option<&str> {
    comment.strip_prefix("ack:").map(str::trim)
}

fn to_silence(origin: &str, s: &AmSilence) -> Silence {
    Silence {
        id: s.id.clone(),
        matchers: s.matchers.iter().map(Matcher::from).collect(),
        starts: ms(&s.starts_at),
        ends: ms(&s.ends_at),
        created_by: s.created_by.clone(),
        comment: s.comment.clone(),
        origin: origin.to_string(),
    }
}

fn to_alert(origin: &str, a: AmAlert, acks: &HashMap<&str, Ack>) -> Alert {
    let mut labels = a.labels;
    let rule = labels.remove("alertname").unwrap_or_else(|| "alertmanager".into());
    let severity =
        labels.get("severity").and_then(|s| Severity::from_name(&s.to_lowercase())).unwrap_or(Severity::Warning);
    let mut summary =
        (a.annotations.get("summary").or(a.annotations.get("description"))).cloned().unwrap_or_else(|| rule.clone());
    if !a.status.inhibited_by.is_empty() {
        summary.push_str(" (inhibited)");
    }
    let state = if a.status.state == "unprocessed" { AlertState::Pending } else { AlertState::Firing };
    let since = ms(&a.starts_at);
    let (ack_ids, silenced_by): (Vec<String>, Vec<String>) =
        a.status.silenced_by.into_iter().partition(|id| acks.contains_key(id.as_str()));
    Alert {
        id: a.fingerprint,
        rule,
        origin: origin.to_string(),
        labels,
        severity,
        state,
        summary,
        value: None,
        value_text: None,
        active_since: since,
        firing_since: (state == AlertState::Firing).then_some(since),
        resolved_at: None,
        ack: ack_ids.iter().find_map(|id| acks.get(id.as_str()).cloned()),
        silenced_by,
        series: None,
    }
}

/// What a poll could not read: items skipped (unreadable) or past [`MAX_ITEMS`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unreadable {
    pub alerts: usize,
    pub silences: usize,
    /// Items past the limit, not read.
    pub dropped: usize,
    /// Why the first unreadable item could not be read.
    pub first_error: Option<String>,
}

impl Unreadable {
    pub fn is_empty(&self) -> bool {
        self.alerts == 0 && self.silences == 0 && self.dropped == 0
    }

    /// `1 alert could not be read (alert item 3: …)`, if anything could not.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.alerts > 0 {
            parts.push(plural(self.alerts, "alert", "alerts"));
        }
        if self.silences > 0 {
            parts.push(plural(self.silences, "silence", "silences"));
        }
        let mut text =
            if parts.is_empty() { String::new() } else { format!("{} could not be read", parts.join(" and ")) };
        if let Some(e) = &self.first_error {
            text.push_str(&format!(" ({e})"));
        }
        if self.dropped > 0 {
            if !text.is_empty() {
                text.push_str("; ");
            }
            text.push_str(&format!("{} past the limit of {MAX_ITEMS} not read", plural(self.dropped, "item", "items")));
        }
        (!text.is_empty()).then_some(text)
    }
}

/// One poll: the update (no transitions: see [`Tracker`]) and what could not be read.
#[derive(Debug, Clone, Default)]
pub struct Polled {
    pub update: AlertsUpdate,
    pub unreadable: Unreadable,
}

/// Read the answers of `GET /api/v2/alerts` and `GET /api/v2/silences`
/// (JSON) into an update for `origin`: `null` reads as empty, an unreadable
/// alert or silence is skipped and counted, never the whole answer.
///
/// Errors: an answer that is not JSON, or not a list.
pub fn decode(origin: &str, alerts: &[u8], silences: &[u8]) -> Result<Polled, String> {
    let json = |b: &[u8], what: &str| {
        serde_json::from_slice::<Value>(b).map_err(|e| format!("{what}: not an Alertmanager answer: {e}"))
    };
    let alerts = read_alerts(json(alerts, "alerts")?)?;
    let silences = read_silences(json(silences, "silences")?)?;
    let unreadable = Unreadable {
        alerts: alerts.skipped,
        silences: silences.skipped,
        dropped: alerts.dropped + silences.dropped,
        first_error: alerts
            .first_error
            .as_ref()
            .map(|e| format!("alert {e}"))
            .or_else(|| silences.first_error.as_ref().map(|e| format!("silence {e}"))),
    };
    Ok(Polled { update: to_update(origin, alerts.items, silences.items), unreadable })
}

pub(super) fn read_alerts(v: Value) -> Result<Items<AmAlert>, String> {
    let mut r: Items<AmAlert> = decode::items(v, MAX_ITEMS, "alerts")?;
    let before = r.items.len();
    r.items.retain(|a| !a.fingerprint.is_empty());
    for _ in r.items.len()..before {
        r.skip(|| "with no fingerprint".into());
    }
    Ok(r)
}

pub(super) fn read_silences(v: Value) -> Result<Items<AmSilence>, String> {
    let mut r: Items<AmSilence> = decode::items(v, MAX_ITEMS, "silences")?;
    let before = r.items.len();
    r.items.retain(|s| !s.id.is_empty());
    for _ in r.items.len()..before {
        r.skip(|| "with no id".into());
    }
    Ok(r)
}

/// Turn the API's answers into an update (no transitions: see [`Tracker`]).
pub(super) fn to_update(origin: &str, alerts: Vec<AmAlert>, silences: Vec<AmSilence>) -> AlertsUpdate {
    let live: Vec<&AmSilence> =
        silences.iter().filter(|s| matches!(s.status.state.as_str(), "active" | "pending")).collect();
    let acks: HashMap<&str, Ack> = live
        .iter()
        .filter(|s| s.status.state == "active")
        .filter_map(|s| {
            let note = ack_note(&s.comment)?;
            Some((s.id.as_str(), Ack { by: s.created_by.clone(), note: note.to_string(), at: ms(&s.starts_at) }))
        })
        .collect();
    let mut alerts: Vec<Alert> = alerts.into_iter().map(|a| to_alert(origin, a, &acks)).collect();
    alerts.sort_by(|a, b| a.id.cmp(&b.id));
    alerts.dedup_by(|a, b| a.id == b.id);
    AlertsUpdate { alerts, silences: live.iter().map(|s| to_silence(origin, s)).collect(), ..Default::default() }
}
