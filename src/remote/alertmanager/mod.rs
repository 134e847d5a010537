//! Alertmanager as an alerts source (API v2): its alerts and silences polled
//! into the same shapes as the local engine's, and the pane's commands turned
//! into silences there.
//!
//! - An alert's id is its fingerprint; it is `Pending` while Alertmanager
//!   has not processed it yet (`unprocessed`), else `Firing`. An alert that
//!   leaves Alertmanager is kept as `Resolved` for an hour, with a transition.
//! - Acknowledging creates a silence of the alert's exact labels for
//!   [`ACK_MINUTES`] with the comment `ack: NOTE` (what operators already do).
//!   An alert muted by such a silence shows as acknowledged, not silenced;
//!   taking the acknowledgement back expires those silences.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::clock::{Clock, SystemClock};
use crate::config::alerting::AlertmanagerConfig;
use crate::protocol::alerts::{Alert, AlertState, AlertsUpdate, MatchOp, Matcher, Transition};
use crate::protocol::{AlertsCommand, Ts};

mod read;

use read::{AmAlert, AmMatcher, AmSilence, ack_note, read_alerts, read_silences, rfc3339};
pub use read::{MAX_ITEMS, Polled, Unreadable, decode};

/// How long an acknowledgement (a silence) lasts.
pub const ACK_MINUTES: u32 = 120;
/// Longest silence (30 days), as for local silences.
const MAX_SILENCE_MIN: u32 = 60 * 24 * 30;
/// An alert that left Alertmanager stays on screen as resolved this long.
const KEEP_RESOLVED_MS: i64 = 3600 * 1000;
/// Characters of an error answer kept in the message.
const ERROR_BODY: usize = 300;
/// Largest answer read (bytes).
const MAX_BODY: usize = 64 << 20;

/// A configured Alertmanager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertmanagerSpec {
    pub name: String,
    /// Base URL, e.g. `http://127.0.0.1:9093` (a path prefix is kept).
    pub url: String,
    pub interval: Duration,
}

impl From<&AlertmanagerConfig> for AlertmanagerSpec {
    fn from(c: &AlertmanagerConfig) -> Self {
        AlertmanagerSpec { name: c.name.clone(), url: c.url.clone(), interval: c.interval }
    }
}

impl AlertmanagerSpec {
    /// `alertmanager:NAME`: the origin of its alerts and silences.
    pub fn origin(&self) -> String {
        format!("alertmanager:{}", self.name)
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.url.trim_end_matches('/'))
    }
}

/// What earlier polls saw: gives transitions, and keeps alerts that left
/// Alertmanager on screen as resolved for an hour.
#[derive(Debug, Default)]
pub struct Tracker {
    known: BTreeMap<String, Alert>,
}

impl Tracker {
    /// Merge a poll's update. After an incomplete poll (`complete` false:
    /// some alerts could not be read) an alert missing from it may be one of
    /// the unreadable ones, so it keeps its last state instead of resolving.
    pub fn merge(&mut self, mut u: AlertsUpdate, now: Ts, complete: bool) -> AlertsUpdate {
        let mut transitions = Vec::new();
        let seen: BTreeSet<String> = u.alerts.iter().map(|a| a.id.clone()).collect();
        for a in &u.alerts {
            let from = self.known.get(&a.id).map(|k| k.state);
            if from != Some(a.state) {
                let at = if from.is_none() { a.active_since } else { now };
                transitions.push(Transition {
                    alert: a.id.clone(),
                    from,
                    to: a.state,
                    at,
                    value: None,
                    value_text: None,
                });
            }
            self.known.insert(a.id.clone(), a.clone());
        }
        for (id, a) in self.known.iter_mut().filter(|(id, _)| !seen.contains(*id)) {
            if a.state != AlertState::Resolved && complete {
                transitions.push(Transition {
                    alert: id.clone(),
                    from: Some(a.state),
                    to: AlertState::Resolved,
                    at: now,
                    value: None,
                    value_text: None,
                });
                a.state = AlertState::Resolved;
                a.resolved_at = Some(now);
                a.ack = None;
                a.silenced_by.clear();
            }
        }
        self.known.retain(|_, a| a.resolved_at.is_none_or(|t| now - t < KEEP_RESOLVED_MS));
        u.alerts.extend(self.known.values().filter(|a| !seen.contains(&a.id)).cloned());
        u.transitions = transitions;
        u
    }
}

async fn checked(resp: Result<reqwest::Response, reqwest::Error>, what: &str) -> Result<reqwest::Response, String> {
    let resp = resp.map_err(|e| format!("{what}: {}", crate::net::error_text(e)))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let text = resp.text().await.unwrap_or_default();
    // Alertmanager's errors are {"code":…,"message":…} or plain text.
    let msg = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or(text);
    let msg: String = msg.trim().chars().take(ERROR_BODY).collect();
    Err(if msg.is_empty() { format!("{what}: HTTP {status}") } else { format!("{what}: HTTP {status}: {msg}") })
}

/// `GET path`: the answer's body, at most [`MAX_BODY`] bytes.
async fn get(http: &reqwest::Client, spec: &AlertmanagerSpec, path: &str) -> Result<Vec<u8>, String> {
    let what = format!("alertmanager {}: GET {path}", spec.name);
    let resp = checked(http.get(spec.endpoint(path)).send().await, &what).await?;
    crate::decode::body_limited(resp, MAX_BODY).await.map_err(|e| format!("{what}: {e}"))
}

/// One poll: the alerts and the active or pending silences (no transitions),
/// and what could not be read of them.
pub async fn poll(http: &reqwest::Client, spec: &AlertmanagerSpec) -> Result<Polled, String> {
    let silences = get(http, spec, "/api/v2/silences").await?;
    let alerts = get(http, spec, "/api/v2/alerts").await?;
    decode(&spec.origin(), &alerts, &silences).map_err(|e| format!("alertmanager {}: {e}", spec.name))
}

/// Poll every `interval` until `tx` closes, sending `(spec.name, poll or error)`.
/// Updates carry transitions since the previous poll; errors are not fatal.
pub async fn run(spec: AlertmanagerSpec, tx: mpsc::Sender<(String, Result<Polled, String>)>) {
    let http = match crate::net::http_client() {
        Ok(c) => c,
        Err(e) => {
            let _ = tx.send((spec.name.clone(), Err(e))).await;
            return;
        }
    };
    let mut tracker = Tracker::default();
    let mut tick = tokio::time::interval(spec.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tx.closed() => return,
        }
        let r = poll(&http, &spec).await.map(|mut p| {
            if let Some(why) = p.unreadable.describe() {
                tracing::warn!("alertmanager {}: {why}", spec.name);
            }
            p.update = tracker.merge(p.update, SystemClock.now_ms(), p.unreadable.alerts + p.unreadable.dropped == 0);
            p
        });
        if tx.send((spec.name.clone(), r)).await.is_err() {
            return;
        }
    }
}

async fn create_silence(
    http: &reqwest::Client,
    spec: &AlertmanagerSpec,
    matchers: &[Matcher],
    minutes: u32,
    comment: &str,
    by: &str,
) -> Result<(String, Ts), String> {
    if matchers.is_empty() {
        return Err("a silence needs at least one matcher".into());
    }
    if minutes == 0 || minutes > MAX_SILENCE_MIN {
        return Err(format!("a silence lasts 1 to {MAX_SILENCE_MIN} minutes"));
    }
    let now = SystemClock.now_ms();
    let ends = now + i64::from(minutes) * 60_000;
    // Alertmanager refuses a silence without an author or a comment.
    let by = if by.trim().is_empty() { "opsdeck" } else { by.trim() };
    let comment = if comment.trim().is_empty() { "silenced from opsdeck" } else { comment.trim() };
    let body = json!({
        "matchers": matchers.iter().map(AmMatcher::from).collect::<Vec<_>>(),
        "startsAt": rfc3339(now),
        "endsAt": rfc3339(ends),
        "createdBy": by,
        "comment": comment,
    });
    let what = format!("alertmanager {}: creating a silence", spec.name);
    let resp = checked(http.post(spec.endpoint("/api/v2/silences")).json(&body).send().await, &what).await?;
    let v: Value = resp.json().await.map_err(|e| format!("{what}: {}", crate::net::error_text(e)))?;
    let id = v["silenceID"].as_str().ok_or_else(|| format!("{what}: no silenceID in the answer"))?;
    Ok((id.to_string(), ends))
}

async fn expire_silence(http: &reqwest::Client, spec: &AlertmanagerSpec, id: &str) -> Result<(), String> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return Err(format!("{id:?} is not an Alertmanager silence id"));
    }
    let what = format!("alertmanager {}: expiring silence {id}", spec.name);
    checked(http.delete(spec.endpoint(&format!("/api/v2/silence/{id}"))).send().await, &what).await?;
    Ok(())
}

async fn alerts_now(http: &reqwest::Client, spec: &AlertmanagerSpec) -> Result<Vec<AmAlert>, String> {
    let body = get(http, spec, "/api/v2/alerts").await?;
    let v = serde_json::from_slice(&body).map_err(|e| format!("alertmanager {}: not JSON: {e}", spec.name))?;
    Ok(read_alerts(v)?.items)
}

async fn find_alert(http: &reqwest::Client, spec: &AlertmanagerSpec, id: &str) -> Result<AmAlert, String> {
    alerts_now(http, spec)
        .await?
        .into_iter()
        .find(|a| a.fingerprint == id)
        .ok_or_else(|| format!("no alert {id} in Alertmanager {} (resolved already?)", spec.name))
}

/// Apply a pane command to Alertmanager: `Silence` and `Unsilence` create and
/// expire silences; `Ack` silences the alert's exact labels for
/// [`ACK_MINUTES`] with the comment `ack: NOTE`; `Unack` expires those.
pub async fn command(spec: &AlertmanagerSpec, cmd: AlertsCommand) -> Result<Value, String> {
    let http = crate::net::http_client()?;
    match cmd {
        AlertsCommand::Silence { matchers, minutes, comment, by } => {
            let (id, _) = create_silence(&http, spec, &matchers, minutes, &comment, &by).await?;
            Ok(json!({ "silence": id }))
        }
        AlertsCommand::Unsilence { id } => {
            expire_silence(&http, spec, &id).await?;
            Ok(json!({ "expired": id }))
        }
        // Alertmanager has no acknowledgement: it is a silence that starts when it arrives.
        AlertsCommand::Ack { alert, note, by, .. } => {
            let a = find_alert(&http, spec, &alert).await?;
            let matchers: Vec<Matcher> =
                a.labels.iter().map(|(k, v)| Matcher { name: k.clone(), op: MatchOp::Eq, value: v.clone() }).collect();
            let note: String = note.trim().chars().take(500).collect();
            let comment = if note.is_empty() { "ack:".to_string() } else { format!("ack: {note}") };
            let (id, until) = create_silence(&http, spec, &matchers, ACK_MINUTES, &comment, &by).await?;
            Ok(json!({ "acknowledged": alert, "silence": id, "until": rfc3339(until) }))
        }
        AlertsCommand::Unack { alert } => {
            let a = find_alert(&http, spec, &alert).await?;
            let body = get(&http, spec, "/api/v2/silences").await?;
            let v = serde_json::from_slice(&body).map_err(|e| format!("alertmanager {}: not JSON: {e}", spec.name))?;
            let silences = read_silences(v)?.items;
            let acks: Vec<&AmSilence> = silences
                .iter()
                .filter(|s| a.status.silenced_by.contains(&s.id) && ack_note(&s.comment).is_some())
                .collect();
            if acks.is_empty() {
                return Err(format!("{alert} is not acknowledged in Alertmanager {}", spec.name));
            }
            for s in &acks {
                expire_silence(&http, spec, &s.id).await?;
            }
            Ok(json!({ "unacknowledged": alert, "expired": acks.iter().map(|s| &s.id).collect::<Vec<_>>() }))
        }
        AlertsCommand::SetRuleEnabled { .. } => {
            Err(format!("Alertmanager {} has no rules to turn on or off: they live in Prometheus", spec.name))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::read::*;
    use super::*;
    use crate::protocol::alerts::Severity;

    const ALERTS: &str = r#"[{"annotations":{"description":"for tests","summary":"always firing"},
        "endsAt":"2026-11-22T08:17:04.222Z","fingerprint":"350c43a0a0cb007f","receivers":[{"name":"null"}],
        "startsAt":"2026-11-22T08:16:46.222Z","status":{"inhibitedBy":[],"silencedBy":["s-1","a-1"],"state":"suppressed"},
        "updatedAt":"2026-11-22T08:17:00.225Z","labels":{"alertname":"AlwaysFiring","severity":"critical","team":"ops"}},
        {"fingerprint":"0b","labels":{"alertname":"New"},"startsAt":"2026-11-22T08:16:46.222Z",
        "status":{"state":"unprocessed"}}]"#;
    const SILENCES: &str = r#"[
        {"id":"s-1","status":{"state":"active"},"comment":"maint","createdBy":"ana","startsAt":"2026-11-22T08:17:01.106Z",
         "endsAt":"2026-11-22T08:27:01.000Z","matchers":[{"isEqual":true,"isRegex":false,"name":"team","value":"ops"},
         {"isEqual":false,"isRegex":true,"name":"env","value":"dev.*"}]},
        {"id":"a-1","status":{"state":"active"},"comment":"ack: looking at it","createdBy":"bo",
         "startsAt":"2026-11-22T08:17:02.000Z","endsAt":"2026-11-22T10:17:02.000Z","matchers":[]},
        {"id":"old","status":{"state":"expired"},"comment":"x","createdBy":"c","startsAt":"","endsAt":"","matchers":[]}]"#;

    fn update() -> AlertsUpdate {
        to_update("alertmanager:am", serde_json::from_str(ALERTS).unwrap(), serde_json::from_str(SILENCES).unwrap())
    }

    #[test]
    fn alerts_and_silences_from_the_api() {
        let u = update();
        assert_eq!(u.silences.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["s-1", "a-1"], "not expired ones");
        let s = &u.silences[0];
        assert_eq!((s.origin.as_str(), s.created_by.as_str(), s.ends - s.starts), ("alertmanager:am", "ana", 599_894));
        assert_eq!(s.matchers[1], Matcher { name: "env".into(), op: MatchOp::NotRe, value: "dev.*".into() });
        let a = &u.alerts[1];
        assert_eq!((a.id.as_str(), a.rule.as_str(), a.state), ("350c43a0a0cb007f", "AlwaysFiring", AlertState::Firing));
        assert_eq!((a.severity, a.summary.as_str()), (Severity::Critical, "always firing"));
        assert_eq!(a.labels.keys().collect::<Vec<_>>(), ["severity", "team"], "alertname is the rule");
        assert_eq!((a.active_since, a.firing_since), (1_795_335_406_222, Some(1_795_335_406_222)));
        assert_eq!(a.silenced_by, ["s-1"], "the ack silence shows as the acknowledgement");
        assert_eq!(a.ack.as_ref().map(|k| (k.by.as_str(), k.note.as_str())), Some(("bo", "looking at it")));
        let n = &u.alerts[0];
        assert_eq!(
            (n.state, n.severity, n.summary.as_str(), n.firing_since),
            (AlertState::Pending, Severity::Warning, "New", None)
        );
    }

    #[test]
    fn matchers_round_trip() {
        for op in [MatchOp::Eq, MatchOp::NotEq, MatchOp::Re, MatchOp::NotRe] {
            let m = Matcher { name: "a".into(), op, value: "b".into() };
            assert_eq!(Matcher::from(&AmMatcher::from(&m)), m);
        }
        let older: AmMatcher = serde_json::from_str(r#"{"name":"a","value":"b","isRegex":false}"#).unwrap();
        assert!(older.is_equal, "isEqual defaults to true (Alertmanager before 0.22)");
    }

    #[test]
    fn the_tracker_gives_transitions_and_keeps_resolved_alerts_an_hour() {
        let mut t = Tracker::default();
        let u = t.merge(update(), 1_000, true);
        let tr: Vec<_> = u.transitions.iter().map(|x| (x.alert.as_str(), x.from, x.to)).collect();
        assert_eq!(tr, [("0b", None, AlertState::Pending), ("350c43a0a0cb007f", None, AlertState::Firing)]);
        assert!(t.merge(update(), 2_000, true).transitions.is_empty());
        let mut later = update();
        later.alerts.retain(|a| a.id == "0b");
        later.alerts[0].state = AlertState::Firing;
        let u = t.merge(later.clone(), 3_000, true);
        let tr: Vec<_> = u.transitions.iter().map(|x| (x.alert.as_str(), x.from, x.to, x.at)).collect();
        assert_eq!(
            tr,
            [
                ("0b", Some(AlertState::Pending), AlertState::Firing, 3_000),
                ("350c43a0a0cb007f", Some(AlertState::Firing), AlertState::Resolved, 3_000)
            ]
        );
        let gone = u.alerts.iter().find(|a| a.id == "350c43a0a0cb007f").unwrap();
        assert_eq!((gone.state, gone.resolved_at, gone.ack.is_none()), (AlertState::Resolved, Some(3_000), true));
        assert_eq!(t.merge(later.clone(), 3_000 + KEEP_RESOLVED_MS - 1, true).alerts.len(), 2);
        assert_eq!(t.merge(later, 3_000 + KEEP_RESOLVED_MS, true).alerts.len(), 1, "forgotten after an hour");
    }

    /// The issue's alert: Alertmanager sends `null` where its spec says `[]`/`{}`.
    const NULL_LADEN: &str = r#"{"annotations":null,"endsAt":"2026-11-22T08:17:04.222Z","fingerprint":"4a",
        "receivers":null,"startsAt":"2026-11-22T08:16:46.222Z","updatedAt":null,
        "status":{"inhibitedBy":null,"silencedBy":null,"state":"active"},
        "labels":{"alertname":"DiskFull","severity":"critical"},"generatorURL":null}"#;

    #[test]
    fn decoders_accept_null_as_empty() {
        let alerts = format!("[{NULL_LADEN}]");
        let silences = r#"[{"id":"s-2","status":null,"comment":null,"createdBy":null,"startsAt":null,"endsAt":null,
            "matchers":[{"name":"a","value":"b","isRegex":null,"isEqual":null}]},
            {"id":"s-3","status":{"state":"active"},"matchers":null}]"#;
        let p = decode("alertmanager:am", alerts.as_bytes(), silences.as_bytes()).unwrap();
        assert!(p.unreadable.is_empty(), "{:?}", p.unreadable);
        let a = &p.update.alerts[0];
        assert_eq!((a.rule.as_str(), a.state, a.summary.as_str()), ("DiskFull", AlertState::Firing, "DiskFull"));
        assert!(a.silenced_by.is_empty() && a.ack.is_none());
        assert_eq!(p.update.silences.len(), 1, "s-2 has no state (not live); s-3 is active");
        let none = decode("alertmanager:am", b"null", b"null").unwrap();
        assert!(none.update.alerts.is_empty() && none.unreadable.is_empty());
        let m: AmMatcher = serde_json::from_str(r#"{"name":"a","value":"b","isEqual":null}"#).unwrap();
        assert!(m.is_equal && !m.is_regex);
    }

    #[test]
    fn one_unreadable_item_is_skipped_and_counted_not_the_whole_answer() {
        let alerts = format!(
            r#"[{NULL_LADEN}, {{"fingerprint":"5b","labels":{{"alertname":7}}}}, 3, {{"labels":{{}}}},
            {{"fingerprint":"6c","labels":{{"alertname":"Up"}},"status":{{"state":"unprocessed"}}}}]"#
        );
        let silences = r#"[{"id":"s","status":{"state":"active"},"matchers":[{"name":null,"value":"x"}]}]"#;
        let p = decode("alertmanager:am", alerts.as_bytes(), silences.as_bytes()).unwrap();
        let ids: Vec<&str> = p.update.alerts.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["4a", "6c"], "the readable alerts are kept");
        assert_eq!((p.unreadable.alerts, p.unreadable.silences), (3, 1));
        let text = p.unreadable.describe().unwrap();
        assert!(text.starts_with("3 alerts and 1 silence could not be read (alert item 2: invalid type"), "{text}");
        assert!(decode("alertmanager:am", b"{}", b"[]").unwrap_err().contains("expected a list"));
        assert!(decode("alertmanager:am", b"[", b"[]").unwrap_err().contains("not an Alertmanager answer"));
    }

    #[test]
    fn an_incomplete_poll_resolves_nothing() {
        let mut t = Tracker::default();
        t.merge(update(), 1_000, true);
        let mut partial = update();
        partial.alerts.retain(|a| a.id == "0b");
        let u = t.merge(partial, 2_000, false);
        assert!(u.transitions.is_empty(), "{:?}", u.transitions);
        let kept = u.alerts.iter().find(|a| a.id == "350c43a0a0cb007f").unwrap();
        assert_eq!(kept.state, AlertState::Firing, "it may be the unreadable one");
    }
}
