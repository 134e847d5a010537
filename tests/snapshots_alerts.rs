//! Snapshots of the alerts pane on `TestBackend`: the list with every state,
//! the detail with timeline and deliveries, rules with a failing check, and
//! the silence popup.

mod support;

use support::draw;

use opsdeck::app::{Action, UserAction, update};
use support::Seed;

#[test]
fn alerts_pane_160x40() {
    let seed = Seed::new();
    let s = seed.alerts_state();
    insta::assert_snapshot!(draw(&s, 160, 40).backend());
}

/// Columns follow the width: at 100x30 the summaries keep their room beside
/// short alert names; at 80x24 the list drops its severity and age, whole,
/// and rule names stay readable.
#[test]
fn alerts_pane_100x30() {
    let seed = Seed::new();
    let s = seed.alerts_state();
    insta::assert_snapshot!(draw(&s, 100, 30).backend());
}

#[test]
fn alerts_pane_80x24() {
    let seed = Seed::new();
    let s = seed.alerts_state();
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

/// "Silence team=db": matchers edited in the dialog, with what they mute
/// now; a mistake is shown with its column.
#[test]
fn silence_dialog_with_edited_matchers_100x30() {
    use opsdeck::app::overlay::AlertPopup;
    let seed = Seed::new();
    let mut s = seed.alerts_state();
    update(&mut s, Action::User(UserAction::SilenceAlert), &seed.ctx());
    update(&mut s, Action::User(UserAction::Up), &seed.ctx());
    let set = |s: &mut opsdeck::app::AppState, text: &str| {
        let Some(opsdeck::app::Overlay::Alert(p)) = &mut s.overlay else { panic!("{:?}", s.overlay) };
        let AlertPopup::Silence(d) = &mut **p else { panic!() };
        d.matchers = opsdeck::app::input::LineInput::new("");
        d.matchers.paste(text);
    };
    set(&mut s, "team=~\"web|db\" severity!=info");
    insta::assert_snapshot!(draw(&s, 100, 30).backend());
    set(&mut s, "team=web owner~ana");
    let t = draw(&s, 100, 30);
    let screen: String = t.backend().buffer().content().iter().map(|c| c.symbol()).collect();
    assert!(screen.contains("✗ column 10: `owner~ana` has no operator"), "{screen}");
}

#[test]
fn alerts_pane_narrow_with_silence_popup_90x30() {
    let seed = Seed::new();
    let mut s = seed.alerts_state();
    update(&mut s, Action::User(UserAction::SilenceAlert), &seed.ctx());
    insta::assert_snapshot!(draw(&s, 90, 30).backend());
}

#[test]
fn alert_counts_in_the_status_bar_on_the_metrics_pane_100x24() {
    let seed = Seed::new();
    let mut s = seed.alerts_state();
    update(&mut s, Action::User(UserAction::FocusPane1), &seed.ctx());
    let t = draw(&s, 100, 24);
    let last: String = (0..100).map(|x| t.backend().buffer()[(x, 23)].symbol().to_string()).collect();
    assert!(last.contains("▲ 1 firing") && last.contains("△ 1 pending") && last.contains("✔ 1 acked"), "{last}");
}

/// A quiet host whose Alertmanager `am` cannot be read and whose `am2` was
/// read in part: no `✓ nothing is firing`; both are named with why, and the
/// status bar counts the unread source.
#[test]
fn an_unknown_source_never_shows_the_all_clear_100x24() {
    use opsdeck::app::panes::alerts::SourceRead;
    use opsdeck::protocol::{Envelope, Event, LOCAL_SOURCE, Topic};
    let seed = Seed::new();
    let ctx = seed.ctx();
    let mut s = seed.state();
    update(&mut s, Action::User(UserAction::FocusPane5), &ctx);
    let quiet = |source: &str| {
        Action::Events(vec![std::sync::Arc::new(Envelope {
            epoch: 1,
            seq: 1,
            ts: support::NOW,
            source: source.into(),
            topic: Topic::Alerts,
            event: Event::Alerts(Box::default()),
        })])
    };
    update(&mut s, quiet(LOCAL_SOURCE), &ctx);
    let failed = SourceRead::Failed("alertmanager am: GET /api/v2/silences: connection refused".into());
    update(&mut s, Action::AlertSource { name: "am".into(), read: failed }, &ctx);
    let partial = SourceRead::Partial("1 alert could not be read (alert item 2: invalid type: null)".into());
    update(&mut s, Action::AlertSource { name: "am2".into(), read: partial }, &ctx);
    update(&mut s, quiet("am2"), &ctx);
    let t = draw(&s, 100, 24);
    let screen: String = t.backend().buffer().content().iter().map(|c| c.symbol()).collect();
    assert!(!screen.contains("nothing is firing"), "an unknown source is no all-clear");
    insta::assert_snapshot!(t.backend());
}

/// A prediction's value reads in operator terms in the detail and its timeline,
/// not as the raw percentage it extrapolates to.
#[test]
fn predictions_show_when_the_disk_fills_not_a_percentage() {
    let seed = Seed::new();
    let mut s = seed.alerts_state();
    let (src, id) = s.alerts.rows[s.alerts.selected].clone();
    for a in s.alerts.sources.values_mut().flat_map(|u| u.alerts.iter_mut()).filter(|a| a.id == id) {
        (a.value, a.value_text) = (Some(229.05), Some("full in 3 h 10 min".into()));
    }
    for (_, tr) in s.alerts.timeline.iter_mut().filter(|(from, tr)| *from == src && tr.alert == id) {
        (tr.value, tr.value_text) = (Some(229.05), Some("full in 3 h 40 min".into()));
    }
    let t = draw(&s, 160, 40);
    let screen: String = (0..40)
        .map(|y| (0..160).map(|x| t.backend().buffer()[(x, y)].symbol().to_string()).collect::<String>() + "\n")
        .collect();
    assert!(screen.contains("full in 3 h 10 min"), "{screen}");
    assert!(screen.contains("(full in 3 h 40 min)"), "{screen}");
    assert!(!screen.contains("229"), "{screen}");
}

/// Enter on a silence row of the rules box asks first, naming the silence
/// and what ending it does.
#[test]
fn ending_a_silence_from_the_rules_box_asks_first_100x30() {
    let seed = Seed::new();
    let mut s = seed.alerts_state();
    s.focus = opsdeck::app::BoxId::AlertRules;
    let rules = s.alerts.rule_rows().len();
    s.alerts.rules_sel = rules;
    update(&mut s, Action::User(UserAction::Confirm), &seed.ctx());
    let Some(opsdeck::app::Overlay::Alert(p)) = &s.overlay else { panic!("a popup: {:?}", s.overlay.is_some()) };
    assert!(matches!(&**p, opsdeck::app::overlay::AlertPopup::Confirm { .. }));
    insta::assert_snapshot!(draw(&s, 100, 30).backend());
}

/// The rules box with a failing check selected: its uptime columns (below
/// 99 % in the warning colour) and, under the table, its newest outages —
/// the ongoing one first.
#[test]
fn outages_of_the_selected_check_120x40() {
    let seed = Seed::new();
    let mut s = seed.alerts_state();
    s.focus = opsdeck::app::BoxId::AlertRules;
    s.alerts.rules_sel = s
        .alerts
        .rule_rows()
        .iter()
        .position(|(src, k)| s.alerts.sources[src].rules[*k].name == "api_down")
        .expect("api_down");
    insta::assert_snapshot!(draw(&s, 120, 40).backend());
}

/// A failed delivery's answer (what to fix) is wrapped under its time in
/// the timeline, never cut: at 100 columns the whole SMTP reply shows.
#[test]
fn a_failed_delivery_is_wrapped_in_the_timeline_not_cut() {
    let seed = Seed::new();
    let mut s = seed.alerts_state();
    let (src, id) = s.alerts.rows[s.alerts.selected].clone();
    let long = "SMTP 535 5.7.8 Authentication credentials invalid (logging in to smtp.example.com:587 as \
                alerts@example.com: check username, and the password with opsdeck key set smtp:oncall) (not retried)";
    for (_, d) in s.alerts.deliveries.iter_mut().filter(|(from, d)| *from == src && d.alert == id) {
        d.error = Some(long.into());
    }
    let t = draw(&s, 100, 40);
    let screen: String = (0..40)
        .map(|y| (0..100).map(|x| t.backend().buffer()[(x, y)].symbol().to_string()).collect::<String>() + "\n")
        .collect();
    let flat: String = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("smtp:oncall) (not retried)"), "the end of the reply is on screen:\n{screen}");
}
