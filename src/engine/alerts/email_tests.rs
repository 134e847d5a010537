use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::config::email::TlsMode;
use crate::engine::alerts::notify::Reason;

const T0: i64 = 1_700_000_000_000;

fn alert(id: &str, state: AlertState) -> Alert {
    Alert {
        id: id.into(),
        rule: "disk".into(),
        origin: "rule".into(),
        labels: BTreeMap::from([("instance".to_string(), "db1".to_string())]),
        severity: Severity::Critical,
        state,
        summary: "disk almost full".into(),
        value: Some(93.5),
        value_text: None,
        active_since: T0 - 60_000,
        firing_since: Some(T0),
        resolved_at: (state == AlertState::Resolved).then_some(T0 + 3_725_000),
        ack: None,
        silenced_by: Vec::new(),
        series: None,
    }
}

fn note(status: Status, alerts: Vec<Alert>) -> Notification {
    Notification {
        notifier: "mail".into(),
        status,
        reason: if status == Status::Firing { Reason::New } else { Reason::Resolved },
        group_key: "alertname=disk".into(),
        group: BTreeMap::from([("alertname".to_string(), "disk".to_string())]),
        alerts,
        at: T0 + 300_000,
    }
}

fn target(subject: &str) -> EmailTarget {
    EmailTarget {
        host: "127.0.0.1".into(),
        port: 25,
        tls: TlsMode::None,
        from: "opsdeck <ops@example.com>".parse().unwrap(),
        to: vec!["oncall@example.com".parse().unwrap(), "Lead <lead@example.com>".parse().unwrap()],
        username: None,
        password_secret: None,
        subject: subject.into(),
        ca_file: None,
    }
}

#[test]
fn the_subject_follows_the_template() {
    let n = note(Status::Firing, vec![alert("disk{instance=db1}", AlertState::Firing)]);
    assert_eq!(subject(DEFAULT_SUBJECT, &n), "[FIRING] disk (1)");
    let t = "{{ severity }} {{ labels.instance }} {{ group }} via {{ notifier }}{{ labels.nothing }}";
    assert_eq!(subject(t, &n), "critical db1 alertname=disk via mail");
    let r = note(Status::Resolved, vec![alert("disk{instance=db1}", AlertState::Resolved)]);
    assert_eq!(subject(DEFAULT_SUBJECT, &r), "[RESOLVED] disk (1)");
    // A label cannot add a header line.
    let mut evil = n.clone();
    evil.group.insert("alertname".into(), "x\r\nBcc: victim@example.com\u{0}\u{2028}y".into());
    assert_eq!(subject(DEFAULT_SUBJECT, &evil), "[FIRING] x  Bcc: victim@example.com  y (1)");
    let long = "é".repeat(500);
    evil.group.insert("alertname".into(), long);
    assert_eq!(subject(DEFAULT_SUBJECT, &evil).chars().count(), SUBJECT_CHARS + 1);
}

#[test]
fn a_firing_message_lists_what_fired_and_how_to_acknowledge() {
    let mut a = alert("disk{instance=db1}", AlertState::Firing);
    a.value_text = Some("full in 3 h 10 min".into());
    let n = note(Status::Firing, vec![a]);
    let p = plain(&n);
    assert!(p.starts_with("FIRING: 1 alert of disk\n\nFIRING critical disk{instance=db1}\n"), "{p}");
    for want in [
        "  rule     disk (rule)\n",
        "  summary  disk almost full\n",
        "  value    full in 3 h 10 min (value 93.5)\n",
        "  labels   instance=db1\n",
        "  since    2023-11-14T22:13:20.000Z (for 5m 00s)\n",
        ACK_HINT,
        "opsdeck notifier mail, group alertname=disk, sent 2023-11-14T22:18:20.000Z",
    ] {
        assert!(p.contains(want), "{want:?} in\n{p}");
    }
    let h = html(&n);
    assert!(h.contains("<h2>FIRING: 1 alert of disk</h2>"), "{h}");
    assert!(h.contains("<tr><th align=\"left\">value</th><td>full in 3 h 10 min (value 93.5)</td></tr>"), "{h}");
    assert!(h.contains("press a (the default key of &quot;acknowledge&quot;)"), "{h}");
}

#[test]
fn a_resolved_message_says_how_long_it_lasted() {
    let n = note(Status::Resolved, vec![alert("disk{instance=db1}", AlertState::Resolved)]);
    let p = plain(&n);
    assert!(p.starts_with("RESOLVED: disk (1 alert, all resolved)"), "{p}");
    assert!(p.contains("  lasted   2023-11-14T22:13:20.000Z → 2023-11-14T23:15:25.000Z (1h 02m)\n"), "{p}");
    assert!(!p.contains("To acknowledge"), "{p}");
    assert!(html(&n).contains("(1h 02m)"));
}

#[test]
fn html_escapes_everything_from_alerts() {
    let mut a = alert("<script>alert(1)</script>", AlertState::Firing);
    a.summary = "a & b <img src=x onerror=y> \"q\" 'r'".into();
    a.labels.insert("k<".into(), "v>".into());
    let h = html(&note(Status::Firing, vec![a]));
    assert!(!h.contains("<script>") && !h.contains("<img"), "{h}");
    assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{h}");
    assert!(h.contains("a &amp; b &lt;img src=x onerror=y&gt; &quot;q&quot; &#39;r&#39;"), "{h}");
    assert!(h.contains("k&lt;=v&gt;"), "{h}");
}

#[test]
fn long_lists_are_cut() {
    let alerts: Vec<Alert> = (0..60).map(|i| alert(&format!("disk{{i={i}}}"), AlertState::Firing)).collect();
    let n = note(Status::Firing, alerts);
    assert!(plain(&n).contains("…and 10 more"));
    assert_eq!(subject(DEFAULT_SUBJECT, &n), "[FIRING] disk (60)");
}

#[test]
fn the_message_has_both_parts_and_the_headers() {
    let n = note(Status::Firing, vec![alert("disk{instance=db1}", AlertState::Firing)]);
    let m = message(&target(DEFAULT_SUBJECT), &n).unwrap();
    let raw = String::from_utf8(m.formatted()).unwrap();
    for want in [
        "From: opsdeck <ops@example.com>\r\n",
        "To: oncall@example.com, Lead <lead@example.com>\r\n",
        "Subject: [FIRING] disk (1)\r\n",
        "Message-ID: <",
        "Date: ",
        "Content-Type: multipart/alternative;",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Type: text/html; charset=utf-8",
    ] {
        assert!(raw.contains(want), "{want:?} in\n{raw}");
    }
    assert_eq!(m.envelope().to().len(), 2);
}

/// The header block of a formatted message (up to the first empty line).
fn headers(raw: &str) -> Vec<&str> {
    raw.split("\r\n\r\n").next().unwrap_or("").split("\r\n").collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn any_label_text_builds_a_message_without_injected_headers(
        name in "\\PC*|[\\x00-\\x7f]{0,40}",
        value in any::<String>(),
        summary in any::<String>(),
    ) {
        let mut a = alert("x", AlertState::Firing);
        a.labels.insert(name.clone(), value.clone());
        a.summary = summary;
        a.rule = name.clone();
        let mut n = note(Status::Firing, vec![a]);
        n.group.insert("alertname".into(), format!("{name}\r\nX-Injected: {value}"));
        let t = target("{{ alertname }} {{ labels.alertname }} {{ status }}");
        let m = message(&t, &n).expect("lettre builds it");
        let raw = String::from_utf8_lossy(&m.formatted()).to_string();
        let hs = headers(&raw);
        for h in &hs {
            // Every line is a header or a folded continuation of one.
            prop_assert!(h.starts_with(' ') || h.starts_with('\t') || h.contains(':'), "{h:?}");
            prop_assert!(!h.to_ascii_lowercase().starts_with("x-injected"), "{raw}");
            prop_assert!(!h.contains('\r') && !h.contains('\n'), "{h:?}");
            prop_assert!(h.is_ascii(), "{h:?}");
        }
        let names: Vec<String> = hs
            .iter()
            .filter(|h| !h.starts_with(' ') && !h.starts_with('\t'))
            .filter_map(|h| h.split(':').next())
            .map(|s| s.to_ascii_lowercase())
            .collect();
        let mut want = vec!["from", "to", "subject", "message-id", "user-agent", "date", "mime-version", "content-type"];
        want.sort();
        let mut got = names.clone();
        got.sort();
        prop_assert_eq!(got, want);
    }
}
