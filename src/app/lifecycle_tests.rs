//! Start-up notices: an informational popup never eats the key pressed
//! over it; the runs found interrupted are their own status-bar label (no
//! popup, not a "config problem"), gone once the workflows pane is opened.

use ratatui::crossterm::event::KeyCode;

use super::tests::Fixture;
use super::*;

#[test]
fn a_key_pressed_over_a_message_closes_it_and_does_what_it_does() {
    let f = Fixture::new();
    let mut s = f.state();
    s.overlay = Some(Overlay::message("Problems at start", vec!["saved tools.chains cannot be read".into()]));
    f.key(&mut s, KeyCode::Char('2'));
    assert!(s.overlay.is_none(), "closed");
    assert_eq!(s.focus.pane(), Pane::Workflows, "and the key went on to the pane switch");
    // Esc and Enter only close it.
    for code in [KeyCode::Esc, KeyCode::Enter] {
        s.overlay = Some(Overlay::message("Reloaded", vec!["theme: a → b".into()]));
        let focus = s.focus;
        let e = f.key(&mut s, code);
        assert!(s.overlay.is_none() && s.focus == focus && e.is_empty(), "{code:?}: {e:?}");
    }
    // `q` closes a popup, as everywhere; it does not quit from under it.
    s.overlay = Some(Overlay::message("Reloaded", vec![]));
    assert!(f.key(&mut s, KeyCode::Char('q')).is_empty());
    assert!(s.overlay.is_none());
}

#[test]
fn popups_that_take_keys_still_take_them() {
    let f = Fixture::new();
    let mut s = f.state();
    update(&mut s, Action::User(UserAction::Help), &f.ctx());
    f.key(&mut s, KeyCode::Char('2'));
    assert!(matches!(s.overlay, Some(Overlay::Help(_))), "typed into help's filter");
    assert_eq!(s.focus.pane(), Pane::Metrics);
}

#[test]
fn interrupted_runs_are_labelled_as_such_until_the_workflows_pane_is_opened() {
    let f = Fixture::new();
    let mut s = f.state();
    s.start = lifecycle::StartNotices { problems: vec![], interrupted: 2, workflows_key: "2".into() };
    assert_eq!(s.start.interrupted_label().as_deref(), Some("2 runs interrupted — 2 to see them"));
    s.start.interrupted = 1;
    assert_eq!(s.start.interrupted_label().as_deref(), Some("1 run interrupted — 2 to see them"));
    f.key(&mut s, KeyCode::Char('3'));
    assert!(s.start.interrupted_label().is_some(), "another pane: still said");
    f.key(&mut s, KeyCode::Char('2'));
    assert_eq!(s.start.interrupted_label(), None, "seen");
    assert!(s.warnings.is_empty(), "never counted as a config problem");
}
