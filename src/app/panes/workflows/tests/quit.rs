//! `quit` while the in-process engine has runs in flight asks first (they
//! would be left interrupted); attached to another opsdeck, or with nothing
//! in flight, it quits at once.

use super::*;
use crate::app::UserAction;

fn ctrl_c(fx: &Fx, s: &mut AppState) -> Vec<Effect> {
    fx.act(s, Action::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)))
}

fn quits(effects: &[Effect]) -> bool {
    effects.iter().any(|e| matches!(e, Effect::Quit))
}

/// The seeded state (run #4 waiting for an approval, on the local engine).
fn local(fx: &Fx) -> AppState {
    let mut s = fx.state();
    s.local_engine = true;
    s
}

#[test]
fn q_asks_first_while_the_local_engine_has_runs_in_flight() {
    let fx = Fx::new();
    let mut s = local(&fx);
    assert!(!quits(&fx.chars(&mut s, "q")), "not at once");
    let Some(Overlay::QuitConfirm { runs, lines }) = &s.overlay else { panic!("{:?}", s.overlay) };
    assert_eq!(*runs, 1);
    let text = lines.join("\n");
    assert!(text.contains("1 workflow run is in flight"), "{text}");
    assert!(text.contains("marked interrupted") && text.contains("`u` in the workflows pane (2)"), "{text}");
    assert!(text.contains("opsdeck runs resume RUN"), "{text}");
    // n and Esc stay.
    fx.chars(&mut s, "n");
    assert!(s.overlay.is_none());
    fx.chars(&mut s, "q");
    assert!(!quits(&fx.key(&mut s, KeyCode::Esc)));
    assert!(s.overlay.is_none());
    // y quits; so does Enter.
    fx.chars(&mut s, "q");
    assert!(quits(&fx.chars(&mut s, "y")));
    let mut s = local(&fx);
    fx.chars(&mut s, "q");
    assert!(quits(&fx.key(&mut s, KeyCode::Enter)));
}

#[test]
fn ctrl_c_is_quit_it_asks_too_and_a_second_one_quits() {
    let fx = Fx::new();
    let mut s = local(&fx);
    assert!(!quits(&ctrl_c(&fx, &mut s)));
    assert!(matches!(s.overlay, Some(Overlay::QuitConfirm { .. })));
    assert!(quits(&ctrl_c(&fx, &mut s)), "Ctrl-C again quits");
}

#[test]
fn attached_or_with_nothing_in_flight_q_quits_at_once() {
    let fx = Fx::new();
    // Attached to `opsdeck serve` (or another TUI): its runs go on after this quits.
    let mut s = fx.state();
    assert!(!s.local_engine);
    assert!(quits(&fx.chars(&mut s, "q")));
    assert!(s.overlay.is_none());
    // A backend's runs in flight do not stop when this opsdeck quits either.
    let mut s = local(&fx);
    s.workflows.runs.iter_mut().for_each(|r| r.source = "prod".into());
    assert!(quits(&fx.chars(&mut s, "q")));
    // Only ended runs.
    let mut s = local(&fx);
    s.workflows.runs.iter_mut().for_each(|r| {
        if r.run.state.is_active() {
            r.run.state = RunState::Succeeded;
        }
    });
    assert!(quits(&fx.act(&mut s, Action::User(UserAction::Quit))));
}

#[test]
fn running_and_retrying_runs_are_counted_as_in_flight() {
    let fx = Fx::new();
    let mut s = local(&fx);
    for (r, state) in s.workflows.runs.iter_mut().zip([RunState::Running, RunState::Retrying, RunState::Waiting]) {
        r.run.state = state;
    }
    assert_eq!(crate::app::lifecycle::local_runs_in_flight(&s), 3);
    fx.chars(&mut s, "q");
    let Some(Overlay::QuitConfirm { lines, .. }) = &s.overlay else { panic!("{:?}", s.overlay) };
    assert!(lines[0].starts_with("3 workflow runs are in flight"), "{lines:?}");
}
