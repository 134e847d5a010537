//! Snapshots of the tools pane on `TestBackend`: the list with a form, a form
//! with a validation error, a run streaming output with a search, and two runs
//! compared side by side.

mod support;

use support::{draw, key};

use opsdeck::app::panes::tools::{ToolsAction, ToolsPopup};
use opsdeck::app::{Action, AppState, BoxId, Overlay, UserAction, update};
use ratatui::crossterm::event::KeyCode;
use support::Seed;

fn text(seed: &Seed, s: &mut AppState, t: &str) {
    for c in t.chars() {
        key(seed, s, KeyCode::Char(c));
    }
}

/// Select a tool through the fuzzy filter.
fn pick(seed: &Seed, s: &mut AppState, name: &str) {
    text(seed, s, "/");
    text(seed, s, name);
    key(seed, s, KeyCode::Enter);
}

#[test]
fn list_with_favorite_recent_and_form_160x40() {
    let seed = Seed::new();
    let mut s = seed.tools_state();
    pick(&seed, &mut s, "tcp_check");
    text(&seed, &mut s, "f");
    key(&seed, &mut s, KeyCode::Esc);
    insta::assert_snapshot!(draw(&s, 160, 40).backend());
}

#[test]
fn form_with_a_validation_error_100x30() {
    let seed = Seed::new();
    let mut s = seed.tools_state();
    pick(&seed, &mut s, "http_check");
    key(&seed, &mut s, KeyCode::Enter);
    text(&seed, &mut s, "r");
    assert_eq!(s.focus, BoxId::ToolForm);
    insta::assert_snapshot!(draw(&s, 100, 30).backend());
}

#[test]
fn running_output_with_search_120x30() {
    let seed = Seed::new();
    let mut s = seed.tools_state();
    pick(&seed, &mut s, "file_search");
    key(&seed, &mut s, KeyCode::Enter);
    key(&seed, &mut s, KeyCode::Enter);
    text(&seed, &mut s, "timeout");
    key(&seed, &mut s, KeyCode::Enter);
    text(&seed, &mut s, "r");
    let run = s.tools.shown.expect("a run");
    let lines = (1..=30).map(|i| format!("src/svc{i}.rs:{}: let timeout = Duration::from_secs({i});", i * 3)).collect();
    update(&mut s, Action::Tools(ToolsAction::Output { run, lines }), &seed.ctx());
    update(&mut s, Action::User(UserAction::FocusNext), &seed.ctx());
    text(&seed, &mut s, "/svc2");
    key(&seed, &mut s, KeyCode::Enter);
    text(&seed, &mut s, "n");
    insta::assert_snapshot!(draw(&s, 120, 30).backend());
}

#[test]
fn two_runs_compared_side_by_side_120x30() {
    let seed = Seed::new();
    let mut s = seed.tools_state();
    update(&mut s, Action::User(UserAction::FocusPrev), &seed.ctx());
    assert_eq!(s.focus, BoxId::ToolHistory);
    key(&seed, &mut s, KeyCode::Enter);
    text(&seed, &mut s, "d");
    assert!(s.tools.diff.is_some());
    insta::assert_snapshot!(draw(&s, 120, 30).backend());
}

#[test]
fn chain_filter_popup_100x30() {
    let seed = Seed::new();
    let mut s = seed.tools_state();
    update(&mut s, Action::User(UserAction::FocusPrev), &seed.ctx());
    key(&seed, &mut s, KeyCode::Down);
    key(&seed, &mut s, KeyCode::Enter);
    text(&seed, &mut s, "p");
    text(&seed, &mut s, "results[0]");
    insta::assert_snapshot!("chain_filter_popup_evaluating_100x30", draw(&s, 100, 30).backend());
    // The worker's answer (computed here with the pure evaluation: a benign filter).
    let Some(Overlay::Tools(p)) = &s.overlay else { panic!("the chain popup") };
    let ToolsPopup::ChainFilter { result, input, .. } = &**p else { panic!("{p:?}") };
    let answer = opsdeck::jq::run_filter(input.text(), result).map_err(|e| e.to_string());
    let job = s.tools.preview_job.expect("a preview is evaluating");
    update(&mut s, Action::Tools(ToolsAction::Jq { job, result: answer }), &seed.ctx());
    insta::assert_snapshot!(draw(&s, 100, 30).backend());
}
