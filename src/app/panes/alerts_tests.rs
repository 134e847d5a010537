//! The alerts pane's reducer tests: sorting and counts, acknowledge and
//! silence (with their commands), the filter, read-only refusals and the bell.

use std::sync::Arc;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::app::{Action, AppState, Ctx, Effect, Overlay, update};
use crate::config::keymap::Keymap;
use crate::config::settings::Config;
use crate::protocol::alerts::{Ack, RuleStatus, Severity};
use crate::protocol::{LOCAL_SOURCE, Topic};

const NOW: i64 = 1_700_000_000_000;

fn alert(rule: &str, state: AlertState, sev: Severity, since: i64) -> Alert {
    Alert {
        id: rule.into(),
        rule: rule.into(),
        origin: "rule".into(),
        labels: [("team".to_string(), "db".to_string())].into(),
        severity: sev,
        state,
        summary: format!("{rule} summary"),
        value: Some(1.0),
        value_text: None,
        active_since: since,
        firing_since: None,
        resolved_at: None,
        ack: None,
        silenced_by: Vec::new(),
        series: Some("mem.used_pct".into()),
    }
}

fn update_env(alerts: Vec<Alert>, transitions: Vec<Transition>) -> Action {
    let rules = vec![RuleStatus {
        name: "hot".into(),
        kind: "rule".into(),
        detail: "cpu.total > 90".into(),
        severity: Severity::Warning,
        enabled: true,
        latency_ms: vec![],
        last_error: None,
        uptime: None,
    }];
    let silences = vec![crate::protocol::alerts::Silence {
        id: "s1".into(),
        matchers: vec![crate::protocol::alerts::Matcher {
            name: "alertname".into(),
            op: crate::protocol::alerts::MatchOp::Eq,
            value: "muted".into(),
        }],
        starts: NOW - 1000,
        ends: NOW + 60_000,
        created_by: "bo".into(),
        comment: "batch".into(),
        origin: "local".into(),
    }];
    let u = AlertsUpdate { alerts, transitions, silences, rules, deliveries: vec![], slos: vec![] };
    Action::Events(vec![Arc::new(Envelope {
        epoch: 1,
        seq: 1,
        ts: NOW,
        source: LOCAL_SOURCE.into(),
        topic: Topic::Alerts,
        event: Event::Alerts(Box::new(u)),
    })])
}

struct Fx(Keymap, Config);
impl Fx {
    fn ctx(&self) -> Ctx<'_> {
        Ctx { now: NOW, keymap: &self.0, config: &self.1 }
    }
    fn key(&self, s: &mut AppState, c: KeyCode) -> Vec<Effect> {
        update(s, Action::Key(KeyEvent::new(c, KeyModifiers::NONE)), &self.ctx())
    }
    fn text(&self, s: &mut AppState, t: &str) -> Vec<Effect> {
        t.chars().flat_map(|c| self.key(s, KeyCode::Char(c))).collect()
    }
}

fn setup() -> (Fx, AppState) {
    let fx = Fx(Keymap::fallback(), Config::default());
    let mut s = AppState::new(&fx.ctx());
    s.user = "ana".into();
    let mut acked = alert("acked", AlertState::Firing, Severity::Critical, NOW - 50_000);
    acked.ack = Some(Ack { by: "bo".into(), note: "on it".into(), at: NOW });
    let mut silenced = alert("muted", AlertState::Firing, Severity::Critical, NOW - 60_000);
    silenced.silenced_by = vec!["s1".into()];
    let alerts = vec![
        alert("old_resolved", AlertState::Resolved, Severity::Critical, NOW - 90_000),
        alert("warn_old", AlertState::Firing, Severity::Warning, NOW - 80_000),
        alert("crit_new", AlertState::Firing, Severity::Critical, NOW - 10_000),
        alert("waiting", AlertState::Pending, Severity::Critical, NOW - 5_000),
        acked,
        silenced,
    ];
    let tr = vec![Transition {
        alert: "crit_new".into(),
        from: None,
        to: AlertState::Firing,
        at: NOW,
        value: None,
        value_text: None,
    }];
    update(&mut s, update_env(alerts, tr), &fx.ctx());
    fx.text(&mut s, "5");
    (fx, s)
}

fn command(effects: &[Effect]) -> Option<Command> {
    effects.iter().find_map(|e| match e {
        Effect::Command { command, .. } => Some(command.clone()),
        _ => None,
    })
}

#[test]
fn sorted_by_state_severity_and_age_with_counts() {
    let (_, s) = setup();
    let ids: Vec<&str> = s.alerts.rows.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(ids, ["crit_new", "warn_old", "waiting", "acked", "muted", "old_resolved"]);
    assert_eq!(s.alerts.counts(), (2, 1, 1));
    assert_eq!(s.focus, BoxId::AlertList);
    assert_eq!(s.alerts.timeline.len(), 1);
}

#[test]
fn acknowledge_with_a_note_and_take_it_back() {
    let (fx, mut s) = setup();
    fx.text(&mut s, "a");
    assert!(matches!(&s.overlay, Some(Overlay::Alert(_))));
    fx.text(&mut s, "db restart");
    let e = fx.key(&mut s, KeyCode::Enter);
    assert_eq!(
        command(&e),
        Some(Command::Alerts(AlertsCommand::Ack {
            alert: "crit_new".into(),
            note: "db restart".into(),
            by: "ana".into(),
            at: Some(NOW)
        }))
    );
    // On an acknowledged alert, `a` takes it back.
    s.alerts.selected = 3;
    assert_eq!(command(&fx.text(&mut s, "a")), Some(Command::Alerts(AlertsCommand::Unack { alert: "acked".into() })));
}

#[test]
fn silence_for_a_chosen_duration_and_unsilence() {
    let (fx, mut s) = setup();
    // Opened on an alert: its matchers, focus on the duration.
    fx.text(&mut s, "s");
    fx.key(&mut s, KeyCode::Right);
    fx.key(&mut s, KeyCode::Down);
    fx.text(&mut s, "maint");
    let e = fx.key(&mut s, KeyCode::Enter);
    let Some(Command::Alerts(AlertsCommand::Silence { matchers, minutes, comment, by })) = command(&e) else {
        panic!("{e:?}")
    };
    assert_eq!((minutes, comment.as_str(), by.as_str()), (120, "maint", "ana"));
    assert_eq!(matchers, s.alerts.alert(LOCAL_SOURCE, "crit_new").unwrap().matchers());
    // Edited matchers: "silence team=db for 1 hour"; a mistake keeps the dialog open.
    fx.text(&mut s, "s");
    fx.key(&mut s, KeyCode::Up);
    let Some(Overlay::Alert(p)) = &mut s.overlay else { panic!("{:?}", s.overlay) };
    let crate::app::overlay::AlertPopup::Silence(d) = &mut **p else { panic!() };
    d.matchers = LineInput::new("");
    fx.text(&mut s, "team~db");
    assert!(command(&fx.key(&mut s, KeyCode::Enter)).is_none());
    assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains("has no operator")), "{:?}", s.notice);
    assert!(s.overlay.is_some(), "still open to fix it");
    fx.key(&mut s, KeyCode::Left);
    fx.key(&mut s, KeyCode::Left);
    fx.key(&mut s, KeyCode::Backspace);
    fx.text(&mut s, "=");
    let e = fx.key(&mut s, KeyCode::Enter);
    let Some(Command::Alerts(AlertsCommand::Silence { matchers, minutes, .. })) = command(&e) else { panic!("{e:?}") };
    assert_eq!(minutes, 60);
    assert_eq!(matchers, crate::protocol::matchers::parse("team=db").unwrap());
    assert!(s.overlay.is_none());
    s.alerts.selected = 4;
    assert_eq!(command(&fx.text(&mut s, "S")), Some(Command::Alerts(AlertsCommand::Unsilence { id: "s1".into() })));
    s.alerts.selected = 0;
    assert!(command(&fx.text(&mut s, "S")).is_none());
    assert!(s.notice.as_ref().unwrap().1.contains("not silenced"));
}

#[test]
fn filter_by_label_hide_resolved_toggle_rules_and_jump() {
    let (fx, mut s) = setup();
    fx.text(&mut s, "/team=web");
    fx.key(&mut s, KeyCode::Enter);
    assert!(s.alerts.rows.is_empty());
    fx.key(&mut s, KeyCode::Esc);
    assert_eq!(s.alerts.rows.len(), 6);
    fx.text(&mut s, "r");
    assert_eq!(s.alerts.rows.len(), 5, "resolved hidden");
    // Rules box: Enter turns a rule off after "are you sure?"; Esc keeps it.
    s.focus = BoxId::AlertRules;
    let confirming = |s: &AppState| match &s.overlay {
        Some(Overlay::Alert(p)) => match &**p {
            crate::app::overlay::AlertPopup::Confirm { question, .. } => question.clone(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    assert!(command(&fx.key(&mut s, KeyCode::Enter)).is_none(), "not at once");
    assert!(confirming(&s).starts_with("Turn rule hot off on local?"), "{}", confirming(&s));
    assert!(command(&fx.key(&mut s, KeyCode::Esc)).is_none() && s.overlay.is_none(), "Esc keeps it");
    fx.key(&mut s, KeyCode::Enter);
    let e = fx.key(&mut s, KeyCode::Enter);
    assert_eq!(
        command(&e),
        Some(Command::Alerts(AlertsCommand::SetRuleEnabled { name: "hot".into(), enabled: false }))
    );
    assert!(s.overlay.is_none());
    // A silence row under the rules: Enter ends it, after saying which.
    assert_eq!(s.alerts.muted_by(LOCAL_SOURCE, "s1"), 1);
    fx.key(&mut s, KeyCode::Down);
    assert!(command(&fx.key(&mut s, KeyCode::Enter)).is_none(), "not at once");
    assert!(confirming(&s).starts_with("End silence s1 ("), "{}", confirming(&s));
    let e = fx.key(&mut s, KeyCode::Enter);
    assert_eq!(command(&e), Some(Command::Alerts(AlertsCommand::Unsilence { id: "s1".into() })));
    // Jump to the metric: memory.
    s.focus = BoxId::AlertList;
    fx.key(&mut s, KeyCode::Enter);
    assert_eq!(s.focus, BoxId::Memory);
}

#[test]
fn read_only_refuses_every_state_change_with_a_reason() {
    let (fx, mut s) = setup();
    s.read_only = true;
    let refused = |s: &AppState, what: &str| {
        let n = s.notice.as_ref().map(|n| n.1.clone()).unwrap_or_default();
        assert!(n.starts_with("✗ read-only: ") && n.contains(what), "{n:?}");
    };
    let e = fx.text(&mut s, "a");
    assert!(command(&e).is_none() && s.overlay.is_none());
    refused(&s, "acknowledging an alert");
    s.alerts.selected = 3;
    assert!(command(&fx.text(&mut s, "a")).is_none(), "no unack");
    refused(&s, "taking back an acknowledgement");
    s.alerts.selected = 0;
    assert!(command(&fx.text(&mut s, "s")).is_none() && s.overlay.is_none());
    refused(&s, "silencing alerts");
    s.alerts.selected = 4;
    assert!(command(&fx.text(&mut s, "S")).is_none());
    refused(&s, "ending a silence");
    s.focus = BoxId::AlertRules;
    assert!(command(&fx.key(&mut s, KeyCode::Enter)).is_none());
    refused(&s, "disabling a rule");
    s.refresh_hints(&fx.0);
    assert!(s.hints.iter().all(|(_, d)| d != "on/off"), "{:?}", s.hints);
    // Annotations too, and the palette leaves these actions out.
    s.focus = BoxId::Cpu;
    fx.text(&mut s, "a");
    assert!(s.overlay.is_none());
    refused(&s, "recording an annotation");
    fx.text(&mut s, ":");
    let Some(Overlay::Palette(p)) = &s.overlay else { panic!("palette: {:?}", s.overlay.is_some()) };
    assert!(p.items.iter().all(|i| !i.action.changes_state()));
    // Whatever builds a command, it is not sent.
    let mut effects = Vec::new();
    s.send_command(LOCAL_SOURCE.into(), Command::Alerts(AlertsCommand::Unack { alert: "x".into() }), "x", &mut effects);
    assert!(effects.is_empty());
}

#[test]
fn a_bell_delivery_rings_once_and_repeated_deliveries_are_kept_once() {
    let (fx, mut s) = setup();
    let a = alert("fresh", AlertState::Firing, Severity::Warning, NOW);
    let bell = Delivery { alert: "fresh".into(), channel: "bell".into(), at: NOW + 1, attempt: 1, error: None };
    let with = |d: Vec<Delivery>| {
        let Action::Events(mut v) = update_env(vec![a.clone()], vec![]) else { unreachable!() };
        if let Some(env) = Arc::get_mut(&mut v[0])
            && let Event::Alerts(u) = &mut env.event
        {
            u.deliveries = d;
        }
        Action::Events(v)
    };
    let e = update(&mut s, with(vec![bell.clone()]), &fx.ctx());
    assert!(e.contains(&Effect::Bell));
    let e = update(&mut s, with(vec![bell]), &fx.ctx());
    assert!(!e.contains(&Effect::Bell), "the same delivery again (a reconnect) does not ring");
    assert_eq!(s.alerts.deliveries.len(), 1);
}

#[test]
fn firing_and_resolved_in_the_same_millisecond_are_both_on_the_timeline() {
    let (fx, mut s) = setup();
    let t = |to, from| Transition { alert: "flappy".into(), from, to, at: NOW + 7, value: None, value_text: None };
    let tr = vec![t(AlertState::Firing, None), t(AlertState::Resolved, Some(AlertState::Firing))];
    update(
        &mut s,
        update_env(vec![alert("flappy", AlertState::Resolved, Severity::Warning, NOW)], tr.clone()),
        &fx.ctx(),
    );
    // The same update again (a full state after a reconnect) adds nothing.
    update(&mut s, update_env(vec![alert("flappy", AlertState::Resolved, Severity::Warning, NOW)], tr), &fx.ctx());
    let of: Vec<AlertState> =
        s.alerts.timeline.iter().filter(|(_, t)| t.alert == "flappy").map(|(_, t)| t.to).collect();
    assert_eq!(of, [AlertState::Firing, AlertState::Resolved]);
}
