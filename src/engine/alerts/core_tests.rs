//! Tests of the alert core (core.rs).

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
    c.command(AlertsCommand::Ack { alert: id.clone(), note: "on it".into(), by: "ana".into(), at: None }, S).unwrap();
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
        c.command(AlertsCommand::Ack { alert: id, note: String::new(), by: String::new(), at: None }, 701 * S).is_err()
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

/// Whether a page went out survives a restart: the delivery attempts are
/// written with the update that announces them and shown to new subscribers
/// after a restart (not announced again).
#[test]
fn delivery_attempts_survive_a_restart() {
    use crate::protocol::alerts::Delivery;
    let store = Store::temporary().unwrap();
    let mut c = core_with("", Some(&store));
    let d = |alert: &str, error: Option<&str>| Delivery {
        alert: alert.into(),
        channel: "email:mail".into(),
        at: 5 * S,
        attempt: 1,
        error: error.map(String::from),
    };
    c.notify.delivered(vec![d("api", Some("SMTP 421 busy")), d("api", None)]);
    let (u, persist) = c.update(6 * S);
    assert_eq!(u.deliveries.len(), 2, "announced once");
    persist.write(&store).unwrap();
    assert!(c.update(7 * S).0.deliveries.is_empty());
    let again = core_with("", Some(&store.reopen().unwrap()));
    let snap = again.snapshot(Vec::new());
    assert_eq!(snap.deliveries, vec![d("api", Some("SMTP 421 busy")), d("api", None)]);
    assert!(!again.has_fresh(), "shown to new subscribers, not announced again");
}
