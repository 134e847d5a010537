use std::time::Duration;

use super::*;
use crate::config::alerting::{NotifierKind, Target};
use crate::protocol::alerts::Ack;

const S: i64 = 1000;
const M: i64 = 60 * S;

fn alert(rule: &str, instance: &str, state: AlertState) -> Alert {
    let mut labels = BTreeMap::new();
    labels.insert("instance".to_string(), instance.to_string());
    Alert {
        id: Alert::make_id(rule, &labels),
        rule: rule.into(),
        origin: "rule".into(),
        labels,
        severity: Severity::Critical,
        state,
        summary: format!("{rule} on {instance}"),
        value: Some(95.5),
        value_text: None,
        active_since: 0,
        firing_since: (state != AlertState::Pending).then_some(0),
        resolved_at: (state == AlertState::Resolved).then_some(10 * M),
        ack: None,
        silenced_by: Vec::new(),
        series: Some("cpu.total".into()),
    }
}

/// A notifier that sends at once (group wait and interval 0): the waits have tests of their own.
fn hook() -> NotifierConfig {
    NotifierConfig {
        repeat: Duration::from_secs(3600),
        group_wait: Duration::ZERO,
        group_interval: Duration::ZERO,
        ..NotifierConfig::new("ops", NotifierKind::Webhook, Target::Url("http://h/".into()))
    }
}

/// (status, reason, group key, alert ids) of each message (withdrawals,
/// which are not messages, have their own test).
fn sent(p: &mut Policy, alerts: &[Alert], now: Ts) -> Vec<(Status, Reason, String, Vec<String>)> {
    p.decide(alerts, now)
        .into_iter()
        .filter(|n| n.reason != Reason::Withdraw)
        .map(|n| (n.status, n.reason, n.group_key, n.alerts.iter().map(|a| a.id.clone()).collect()))
        .collect()
}

#[test]
fn firing_groups_repeat_and_resolve() {
    let mut p = Policy::new(vec![hook()]);
    let (a, b) = (alert("hot", "db1", AlertState::Firing), alert("hot", "db2", AlertState::Pending));
    let first = sent(&mut p, &[a.clone(), b.clone()], 0);
    assert_eq!(first, vec![(Status::Firing, Reason::New, "alertname=hot".into(), vec!["hot{instance=db1}".into()])]);
    assert!(sent(&mut p, &[a.clone(), b.clone()], S).is_empty(), "nothing new, repeat not due");
    // The second one fires: one message for the group, listing both.
    let b = alert("hot", "db2", AlertState::Firing);
    let both = sent(&mut p, &[a.clone(), b.clone()], 2 * S);
    assert_eq!(both[0].3, ["hot{instance=db1}", "hot{instance=db2}"]);
    assert!(sent(&mut p, &[a.clone(), b.clone()], 2 * S + 59 * M).is_empty());
    let again = sent(&mut p, &[a.clone(), b.clone()], 2 * S + 60 * M);
    assert_eq!((again.len(), again[0].1), (1, Reason::Repeat));
    // One resolves: the message says so and still lists the firing one.
    let a = alert("hot", "db1", AlertState::Resolved);
    let r = sent(&mut p, &[a.clone(), b.clone()], 70 * M);
    assert_eq!(r, vec![(Status::Firing, Reason::Resolved, "alertname=hot".into(), vec![b.id.clone(), a.id.clone()])]);
    let b = alert("hot", "db2", AlertState::Resolved);
    let r = sent(&mut p, &[a.clone(), b.clone()], 71 * M);
    assert_eq!(r, vec![(Status::Resolved, Reason::Resolved, "alertname=hot".into(), vec![b.id.clone()])]);
    assert!(sent(&mut p, &[a, b], 300 * M).is_empty(), "resolved once, then quiet");
}

#[test]
fn acknowledged_and_silenced_alerts_are_not_notified() {
    let mut p = Policy::new(vec![hook()]);
    let mut a = alert("hot", "db1", AlertState::Firing);
    a.ack = Some(Ack { by: "ana".into(), note: "on it".into(), at: 0 });
    let mut b = alert("hot", "db2", AlertState::Firing);
    b.silenced_by = vec!["s1".into()];
    assert!(sent(&mut p, &[a.clone(), b.clone()], 0).is_empty());
    assert!(sent(&mut p, &[a.clone(), b.clone()], 500 * M).is_empty(), "no repeats either");
    // The silence ends: now it is news.
    b.silenced_by.clear();
    assert_eq!(sent(&mut p, &[a.clone(), b.clone()], 501 * M)[0].3, vec![b.id.clone()]);
    // An acknowledged alert that resolves without ever being notified stays quiet.
    let a = alert("hot", "db1", AlertState::Resolved);
    assert!(sent(&mut p, &[a, b], 502 * M).is_empty());
}

#[test]
fn an_ack_stops_repeats_but_the_resolve_is_still_told() {
    let mut p = Policy::new(vec![hook()]);
    let mut a = alert("hot", "db1", AlertState::Firing);
    assert_eq!(sent(&mut p, std::slice::from_ref(&a), 0).len(), 1);
    a.ack = Some(Ack { by: "ana".into(), note: String::new(), at: S });
    assert!(sent(&mut p, std::slice::from_ref(&a), 300 * M).is_empty(), "acknowledged: no repeat");
    let a = alert("hot", "db1", AlertState::Resolved); // resolving clears the ack
    let r = sent(&mut p, &[a], 301 * M);
    assert_eq!((r[0].0, r[0].1), (Status::Resolved, Reason::Resolved));
}

#[test]
fn silenced_after_notifying_means_no_resolved_message() {
    let mut p = Policy::new(vec![hook()]);
    let mut a = alert("hot", "db1", AlertState::Firing);
    assert_eq!(sent(&mut p, std::slice::from_ref(&a), 0).len(), 1);
    a.silenced_by = vec!["s1".into()];
    assert!(sent(&mut p, std::slice::from_ref(&a), S).is_empty());
    a.state = AlertState::Resolved;
    assert!(sent(&mut p, &[a], 2 * S).is_empty());
}

#[test]
fn filters_grouping_and_send_resolved() {
    let mut only_warn = NotifierConfig { severities: vec![Severity::Warning], ..hook() };
    only_warn.name = "warn".into();
    let per_instance = NotifierConfig {
        name: "each".into(),
        group_by: vec!["alertname".into(), "instance".into()],
        send_resolved: false,
        ..hook()
    };
    let all = NotifierConfig { name: "all".into(), group_by: vec![], ..hook() };
    let mut p = Policy::new(vec![only_warn, per_instance, all]);
    let a = alert("hot", "db1", AlertState::Firing);
    let b = alert("disk", "db2", AlertState::Firing);
    let out = p.decide(&[a.clone(), b.clone()], 0);
    let got: Vec<(&str, &str, usize)> =
        out.iter().map(|n| (n.notifier.as_str(), n.group_key.as_str(), n.alerts.len())).collect();
    assert_eq!(
        got,
        [("each", "alertname=disk,instance=db2", 1), ("each", "alertname=hot,instance=db1", 1), ("all", "", 2)]
    );
    assert_eq!(out[0].group.get("instance").map(String::as_str), Some("db2"));
    let (a, b) = (alert("hot", "db1", AlertState::Resolved), alert("disk", "db2", AlertState::Resolved));
    let out: Vec<Notification> = p.decide(&[a, b], S).into_iter().filter(|n| n.reason != Reason::Withdraw).collect();
    assert_eq!(out.len(), 1, "send_resolved = false: only `all` says it: {out:?}");
    assert_eq!((out[0].notifier.as_str(), out[0].status), ("all", Status::Resolved));
}

#[test]
fn the_log_survives_a_restart() {
    let mut p = Policy::new(vec![hook()]);
    let a = alert("hot", "db1", AlertState::Firing);
    assert_eq!(sent(&mut p, std::slice::from_ref(&a), 0).len(), 1);
    let saved = p.save();
    let mut q = Policy::default();
    q.restore(&saved);
    q.configure(vec![hook()]);
    assert!(sent(&mut q, std::slice::from_ref(&a), S).is_empty(), "no second page after a restart");
    assert_eq!(sent(&mut q, &[alert("hot", "db1", AlertState::Resolved)], 2 * S).len(), 1);
    // A notifier that is no longer configured loses its log.
    let mut r = Policy::default();
    r.restore(&saved);
    r.configure(vec![]);
    assert_eq!(r.save(), serde_json::json!({}));
}

fn note(status: Status, alerts: Vec<Alert>) -> Notification {
    let mut group = BTreeMap::new();
    group.insert("alertname".to_string(), "hot".to_string());
    Notification {
        notifier: "ops".into(),
        status,
        reason: Reason::New,
        group_key: "alertname=hot".into(),
        group,
        alerts,
        at: 1_700_000_000_000,
    }
}

#[test]
fn json_body_schema() {
    let mut a = alert("hot", "db1", AlertState::Firing);
    a.firing_since = Some(1_700_000_000_000);
    let body = json_body(&note(Status::Firing, vec![a]));
    assert_eq!(
        body,
        json!({
            "version": "1",
            "status": "firing",
            "reason": "new",
            "notifier": "ops",
            "group": {"key": "alertname=hot", "labels": {"alertname": "hot"}},
            "alerts": [{
                "id": "hot{instance=db1}",
                "rule": "hot",
                "origin": "rule",
                "state": "firing",
                "severity": "critical",
                "labels": {"instance": "db1"},
                "summary": "hot on db1",
                "value": 95.5,
                "value_text": null,
                "active_since": "1970-01-01T00:00:00.000Z",
                "firing_since": "2023-11-14T22:13:20.000Z",
                "resolved_at": null,
                "series": "cpu.total",
            }],
            "sent_at": "2023-11-14T22:13:20.000Z",
        })
    );
}

#[test]
fn slack_body_is_escaped_mrkdwn_with_glyphs() {
    let mut a = alert("hot", "db1", AlertState::Firing);
    a.summary = "p99 > 2s & rising <fast>".into();
    let b = alert("hot", "db2", AlertState::Resolved);
    let body = slack_body(&note(Status::Firing, vec![a, b]));
    assert_eq!(body["text"], "🔴 FIRING (1): hot");
    let blocks = body["blocks"].as_array().unwrap();
    assert_eq!(blocks[0]["text"]["text"], "*🔴 FIRING (1): hot*\n`alertname=hot`");
    assert_eq!(
        blocks[1]["text"]["text"],
        "🔴 `critical` *hot{instance=db1}* — p99 &gt; 2s &amp; rising &lt;fast&gt; (value 95.5)\n\
         ✅ `critical` *hot{instance=db2}* — hot on db2 (value 95.5)"
    );
    let many: Vec<Alert> = (0..30).map(|i| alert("hot", &format!("h{i}"), AlertState::Firing)).collect();
    let body = slack_body(&note(Status::Firing, many));
    assert!(body["blocks"][1]["text"]["text"].as_str().unwrap().ends_with("…and 10 more"));
}

/// A prediction is told as when the disk fills, not as its raw percentage.
#[test]
fn predictions_are_told_in_operator_terms() {
    let mut a = alert("disk_filling", "/data", AlertState::Firing);
    (a.value, a.value_text) = (Some(229.05), Some("full in 3 h 10 min".into()));
    let n = note(Status::Firing, vec![a]);
    let text = slack_body(&n)["blocks"][1]["text"]["text"].as_str().unwrap().to_string();
    assert!(text.ends_with("(full in 3 h 10 min)") && !text.contains("229"), "{text}");
    assert_eq!(json_body(&n)["alerts"][0]["value_text"], "full in 3 h 10 min");
}

#[test]
fn desktop_arguments() {
    let args = desktop_args(&note(Status::Resolved, vec![alert("hot", "db1", AlertState::Resolved)]));
    assert_eq!(
        args,
        [
            "--app-name=opsdeck",
            "--urgency=low",
            "--",
            "opsdeck: resolved: hot",
            "✅ critical hot{instance=db1} — hot on db1 (value 95.5)"
        ]
    );
}

#[test]
fn deliveries_are_announced_once_and_kept_for_new_subscribers() {
    let mut st = NotifyState::default();
    let d = |i| Delivery { alert: format!("a{i}"), channel: "bell".into(), at: i, attempt: 1, error: None };
    st.delivered((0..250).map(d).collect());
    assert!(st.has_fresh());
    let fresh = st.take_fresh();
    assert_eq!((fresh.len(), fresh[0].at), (200, 50), "bounded, newest kept");
    assert!(!st.has_fresh() && st.take_fresh().is_empty());
    assert_eq!(st.recent().len(), 200);
    // Without an outbox (no notifiers running) deciding still keeps the log.
    st.policy.configure(vec![hook()]);
    st.after_update(&[alert("hot", "db1", AlertState::Firing)], 0);
    assert_ne!(st.policy.save(), serde_json::json!({}));
}

/// A notifier with Alertmanager-like waits: group wait 10 s, group interval 30 s.
fn grouped() -> NotifierConfig {
    NotifierConfig { group_wait: Duration::from_secs(10), group_interval: Duration::from_secs(30), ..hook() }
}

/// The times (s) at which messages went out, and what they listed, deciding every second to `until`.
fn run(p: &mut Policy, script: &dyn Fn(i64) -> Vec<Alert>, until: i64) -> Vec<(i64, Reason, Vec<String>)> {
    let mut out = Vec::new();
    for t in 0..=until {
        for n in p.decide(&script(t), t * S).into_iter().filter(|n| n.reason != Reason::Withdraw) {
            out.push((t, n.reason, n.alerts.iter().map(|a| a.id.clone()).collect()));
        }
    }
    out
}

#[test]
fn alerts_firing_close_together_wait_for_their_group_and_go_out_as_one() {
    let mut p = Policy::new(vec![grouped()]);
    // Three alerts of one rule fire 2 s apart; a fourth at 20 s; db1 resolves at 50 s.
    let script = |t: i64| -> Vec<Alert> {
        let mut v = Vec::new();
        for (i, at) in [(1, 0), (2, 2), (3, 4), (4, 20)] {
            if t >= at {
                let state = if i == 1 && t >= 50 { AlertState::Resolved } else { AlertState::Firing };
                v.push(alert("hot", &format!("db{i}"), state));
            }
        }
        v
    };
    let id = |i: u32| format!("hot{{instance=db{i}}}");
    let got = run(&mut p, &script, 120);
    assert_eq!(
        got,
        vec![
            // group_wait: 10 s after the first alert, all three together.
            (10, Reason::New, vec![id(1), id(2), id(3)]),
            // The fourth fired at 20 s: it waits for group_interval after the last message (10 + 30).
            (40, Reason::New, vec![id(1), id(2), id(3), id(4)]),
            // db1 resolved at 50 s: told at 40 + 30.
            (70, Reason::Resolved, vec![id(2), id(3), id(4), id(1)]),
        ]
    );
}

#[test]
fn the_next_due_time_is_known_and_a_wait_survives_a_restart() {
    let mut p = Policy::new(vec![grouped()]);
    let a = alert("hot", "db1", AlertState::Firing);
    assert!(p.next_due().is_none());
    assert!(sent(&mut p, std::slice::from_ref(&a), 3 * S).is_empty(), "waiting for the group");
    assert_eq!(p.next_due(), Some(13 * S));
    // Quit during the wait and start again: the wait goes on from where it was.
    let saved = p.save();
    let mut q = Policy::new(vec![grouped()]);
    q.restore(&saved);
    assert_eq!(q.next_due(), Some(13 * S));
    assert!(sent(&mut q, std::slice::from_ref(&a), 12 * S).is_empty());
    assert_eq!(sent(&mut q, std::slice::from_ref(&a), 13 * S).len(), 1, "sent at its due time");
    assert!(q.next_due().is_none());
    assert!(sent(&mut q, std::slice::from_ref(&a), 14 * S).is_empty(), "and once");
    // An alert that fires and resolves within the wait is never told.
    let mut r = Policy::new(vec![grouped()]);
    assert!(sent(&mut r, &[alert("cold", "db1", AlertState::Firing)], 0).is_empty());
    assert!(sent(&mut r, &[alert("cold", "db1", AlertState::Resolved)], 5 * S).is_empty());
    assert!(r.next_due().is_none() && sent(&mut r, &[alert("cold", "db1", AlertState::Resolved)], 60 * S).is_empty());
    // An acknowledgement during the wait cancels it.
    let mut b = alert("warm", "db1", AlertState::Firing);
    assert!(sent(&mut r, std::slice::from_ref(&b), 100 * S).is_empty());
    b.ack = Some(Ack { by: "ana".into(), note: String::new(), at: 101 * S });
    assert!(sent(&mut r, std::slice::from_ref(&b), 120 * S).is_empty() && r.next_due().is_none());
}

#[test]
fn a_clock_stepping_back_neither_stalls_nor_floods_the_group() {
    let mut p = Policy::new(vec![grouped()]);
    let a = alert("hot", "db1", AlertState::Firing);
    assert!(sent(&mut p, std::slice::from_ref(&a), 1000 * S).is_empty());
    // The clock steps back an hour during the wait: the wait counts from the new time.
    assert!(sent(&mut p, std::slice::from_ref(&a), 1000 * S - 3600 * S).is_empty());
    assert_eq!(sent(&mut p, std::slice::from_ref(&a), 1000 * S - 3590 * S).len(), 1);
    // And a repeat is measured from the new time too (hook repeats every hour).
    assert!(sent(&mut p, std::slice::from_ref(&a), 1000 * S - 3590 * S + 59 * M).is_empty());
    assert_eq!(sent(&mut p, std::slice::from_ref(&a), 1000 * S - 3590 * S + 60 * M)[0].1, Reason::Repeat);
}

#[test]
fn a_log_written_by_an_earlier_build_still_reads() {
    // Earlier builds wrote `last_sent` as a bare number and no `waiting_since`.
    let saved = json!({"ops": {"alertname=hot": {"sent": ["hot{instance=db1}"], "last_sent": 5000}}});
    let mut p = Policy::new(vec![grouped()]);
    p.restore(&saved);
    let a = alert("hot", "db1", AlertState::Firing);
    assert!(sent(&mut p, std::slice::from_ref(&a), 6 * S).is_empty(), "already notified: no page after the upgrade");
    let r = sent(&mut p, &[alert("hot", "db1", AlertState::Resolved)], 60 * S);
    assert_eq!(r.len(), 1, "its resolve is told (5 s + group interval has passed)");
}

/// Alerts paged for and then acknowledged, silenced or resolved are
/// withdrawn at once (a message still retrying must not page for them);
/// nothing is withdrawn while they still fire.
#[test]
fn paged_alerts_that_stop_firing_are_withdrawn_at_once() {
    let mut p = Policy::new(vec![grouped()]);
    let (a, b) = (alert("hot", "db1", AlertState::Firing), alert("hot", "db2", AlertState::Firing));
    assert!(p.decide(&[a.clone(), b.clone()], 0).is_empty());
    let sent = p.decide(&[a.clone(), b.clone()], 10 * S);
    assert_eq!((sent.len(), sent[0].reason), (1, Reason::New));
    assert!(p.decide(&[a.clone(), b.clone()], 11 * S).is_empty(), "still firing: nothing");
    let mut acked = a.clone();
    acked.ack = Some(Ack { by: "ana".into(), note: String::new(), at: 12 * S });
    let w = p.decide(&[acked.clone(), b.clone()], 12 * S);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(
        (w[0].reason, w[0].alerts.iter().map(|a| a.id.as_str()).collect::<Vec<_>>()),
        (Reason::Withdraw, vec!["hot{instance=db2}"])
    );
    assert!(p.decide(&[acked.clone(), b.clone()], 13 * S).is_empty(), "withdrawn once");
    // The other resolves: withdrawn at once (its resolved message waits for the group interval).
    let w = p.decide(&[acked.clone(), alert("hot", "db2", AlertState::Resolved)], 14 * S);
    assert_eq!((w.len(), w[0].reason, w[0].alerts.len()), (1, Reason::Withdraw, 0));
    let later = p.decide(&[acked, alert("hot", "db2", AlertState::Resolved)], 40 * S);
    assert_eq!((later.len(), later[0].reason), (1, Reason::Resolved));
}
