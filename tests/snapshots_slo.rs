//! SLOs in the alerts pane on `TestBackend`: an SLO's row in the rules box
//! (budget left and the hour's burn rate), and a firing burn-rate alert's
//! detail with its budget and the burndown chart down through the zero line.

mod support;

use std::collections::BTreeMap;

use opsdeck::app::{Action, AppState, BoxId, UserAction, update};
use opsdeck::protocol::alerts::{Alert, AlertState, RuleStatus, Severity};
use opsdeck::protocol::slo::SloStatus;
use opsdeck::protocol::{AlertsCommand, Command, LOCAL_SOURCE};
use support::{NOW, Seed, draw};

const H: i64 = 3_600_000;

/// The seeded alerts plus the SLO `api_avail` (99.9 % over 30 days of the
/// check `api_down`), paging: its budget fell from 100 % to −20 % over the
/// last two days of the window, and `web_errors`, with a budget left.
fn with_slos(seed: &Seed) -> AppState {
    let mut s = seed.alerts_state();
    let u = s.alerts.sources.get_mut(LOCAL_SOURCE).expect("the local source");
    let labels = BTreeMap::from([
        ("burn".to_string(), "page".to_string()),
        ("slo".to_string(), "api_avail".to_string()),
        ("window".to_string(), "1h".to_string()),
    ]);
    u.alerts.push(Alert {
        id: "api_avail{burn=page,slo=api_avail,window=1h}".into(),
        rule: "api_avail".into(),
        origin: "slo".into(),
        labels,
        severity: Severity::Critical,
        state: AlertState::Firing,
        summary: "api_avail: error budget burning 16.0× (1h) — budget spent (-20 % left)".into(),
        value: Some(16.0),
        value_text: Some("16.0× (1h) — budget spent (-20 % left)".into()),
        active_since: NOW - 20 * 60_000,
        firing_since: Some(NOW - 20 * 60_000),
        resolved_at: None,
        ack: None,
        silenced_by: vec![],
        series: None,
    });
    let row = |name: &str, detail: &str| RuleStatus {
        name: name.into(),
        kind: "slo".into(),
        detail: detail.into(),
        severity: Severity::Critical,
        enabled: true,
        latency_ms: vec![],
        last_error: None,
        uptime: None,
    };
    u.rules.push(row("api_avail", "99.9 % over 30d of check api_down"));
    u.rules.push(row("web_errors", "99 % over 7d of http.errors_ps / http.requests_ps"));
    // 720 hourly points: nothing the first 20 days, 100 % until two days
    // ago, then down to −20 % now.
    let burndown: Vec<f32> = (0..720)
        .map(|k| match k {
            0..480 => f32::NAN,
            480..672 => 1.0,
            _ => 1.0 - 1.2 * (k - 671) as f32 / 48.0,
        })
        .collect();
    u.slos = vec![
        SloStatus {
            name: "api_avail".into(),
            objective: 99.9,
            window_min: 30 * 1440,
            sli: "check api_down".into(),
            budget_left: Some(-0.2),
            burn_5m: Some(22.5),
            burn_30m: Some(18.0),
            burn_1h: Some(16.0),
            burn_6h: Some(7.3),
            burndown,
            burndown_step_min: 60,
            at: NOW - NOW % 60_000,
        },
        SloStatus {
            name: "web_errors".into(),
            objective: 99.0,
            window_min: 7 * 1440,
            sli: "http.errors_ps / http.requests_ps".into(),
            budget_left: Some(0.713),
            burn_5m: Some(0.2),
            burn_30m: Some(0.3),
            burn_1h: Some(0.41),
            burn_6h: None,
            burndown: vec![1.0; 168],
            burndown_step_min: 60,
            at: NOW - 5 * H,
        },
    ];
    s.alerts.resort();
    let at = s.alerts.rows.iter().position(|(_, id)| id.starts_with("api_avail")).expect("listed");
    s.alerts.selected = at;
    s
}

#[test]
fn an_slo_alert_shows_its_budget_and_burndown_160x40() {
    let seed = Seed::new();
    let s = with_slos(&seed);
    let t = draw(&s, 160, 40);
    let screen: String = t.backend().buffer().content().iter().map(|c| c.symbol()).collect();
    assert!(screen.contains("-20 % left · burn 5m 22.5× 30m 18.0× 1h 16.0× 6h 7.3×"), "{screen}");
    assert!(screen.contains("✗ -20 % budget left · 1h 16.0×"), "{screen}");
    assert!(screen.contains("✓ 71 % budget left · 1h 0.4×"), "{screen}");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn an_slo_alert_100x30() {
    let seed = Seed::new();
    let s = with_slos(&seed);
    insta::assert_snapshot!(draw(&s, 100, 30).backend());
}

/// An SLO's row toggles like a rule's: off asks first, then goes to the source.
#[test]
fn an_slo_row_turns_off_after_asking() {
    let seed = Seed::new();
    let mut s = with_slos(&seed);
    s.focus = BoxId::AlertRules;
    let rows = s.alerts.rule_rows();
    let i = rows.iter().position(|(src, k)| s.alerts.sources[src].rules[*k].name == "api_avail").unwrap();
    s.alerts.rules_sel = i;
    update(&mut s, Action::User(UserAction::Confirm), &seed.ctx());
    let Some(opsdeck::app::Overlay::Alert(p)) = &s.overlay else { panic!("a popup") };
    let opsdeck::app::overlay::AlertPopup::Confirm { command, question, .. } = &**p else { panic!() };
    assert_eq!(command, &Command::Alerts(AlertsCommand::SetRuleEnabled { name: "api_avail".into(), enabled: false }));
    assert!(question.contains("api_avail"), "{question}");
}
