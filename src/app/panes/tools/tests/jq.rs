//! jq work stays off the UI thread: previews are effects whose answers may
//! come late (or never), and a chain step joins the chain only with the
//! arguments of its successful run.

use super::*;

/// An app showing run #1 (a tcp_check with a result) and its chain popup open.
fn chain_popup(fx: &Fx) -> (AppState, Vec<Effect>) {
    let mut s = fx.state();
    let r = record("tcp_check", json!({"host":"a","port":80}), true, json!({"body":"[{\"x\":1}]","n":3}));
    fx.act(&mut s, Action::Tools(ToolsAction::History(vec![r])));
    fx.act(&mut s, Action::User(UserAction::FocusPrev));
    fx.key(&mut s, KeyCode::Enter);
    let effects = fx.chars(&mut s, "p");
    assert!(matches!(&s.overlay, Some(Overlay::Tools(p)) if matches!(**p, ToolsPopup::ChainFilter { .. })));
    (s, effects)
}

fn preview(s: &AppState) -> Option<Preview> {
    match &s.overlay {
        Some(Overlay::Tools(p)) => match &**p {
            ToolsPopup::ChainFilter { preview, .. } => Some(preview.clone()),
            _ => None,
        },
        _ => None,
    }
}

#[test]
fn a_slow_preview_never_runs_in_update_and_esc_still_closes_the_popup() {
    let fx = Fx::new();
    let (mut s, _) = chain_popup(&fx);
    fx.key(&mut s, KeyCode::Backspace);
    // The filter that froze the TUI: update only asks for it.
    let effects = fx.chars(&mut s, "last(repeat(1))");
    let (slot, job, filter, _) = jq_effect(&effects).expect("the preview goes to a jq worker");
    assert_eq!((slot, filter.as_str()), (JqSlot::Preview, "last(repeat(1))"));
    assert_eq!(preview(&s), Some(Preview::Evaluating { job }));
    // Enter waits for the value instead of guessing.
    fx.key(&mut s, KeyCode::Enter);
    assert!(s.notice.as_ref().unwrap().1.contains("still being evaluated"), "{:?}", s.notice);
    assert!(s.overlay.is_some());
    // Esc closes the popup at once, and the evaluation is cancelled.
    let effects = fx.key(&mut s, KeyCode::Esc);
    assert!(s.overlay.is_none());
    assert_eq!(effects, vec![Effect::CancelJq { slot: JqSlot::Preview }]);
    // The late answer is ignored; nothing else is waiting.
    let before = s.notice.clone();
    let late = Err("too slow: still running after 2 s".to_string());
    assert!(fx.act(&mut s, Action::Tools(ToolsAction::Jq { job, result: late })).is_empty());
    assert!(s.overlay.is_none() && s.tools.picking.is_none());
    assert_eq!(s.notice, before);
    // Keys keep working: Ctrl-C quits.
    let quit = fx.act(&mut s, Action::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)));
    assert_eq!(quit, vec![Effect::Quit]);
}

#[test]
fn a_preview_that_is_too_slow_says_so_and_cannot_be_chained() {
    let fx = Fx::new();
    let (mut s, _) = chain_popup(&fx);
    let (_, job, ..) = jq_effect(&fx.chars(&mut s, "x")).expect("a preview");
    let slow = "too slow: still running after 2 s".to_string();
    fx.act(&mut s, Action::Tools(ToolsAction::Jq { job, result: Err(slow.clone()) }));
    assert_eq!(preview(&s), Some(Preview::Failed(slow)));
    assert_eq!(s.tools.preview_job, None);
    fx.key(&mut s, KeyCode::Enter);
    assert!(s.notice.as_ref().unwrap().1.contains("✗ filter: too slow"), "{:?}", s.notice);
    assert!(s.tools.picking.is_none());
    // Editing the filter asks again.
    let (_, again, filter, _) = jq_effect(&fx.key(&mut s, KeyCode::Backspace)).expect("a new preview");
    assert_eq!((again > job, filter.as_str()), (true, "."));
}

#[test]
fn typing_fast_keeps_only_the_latest_preview() {
    let fx = Fx::new();
    let (mut s, first) = chain_popup(&fx);
    let (_, j0, ..) = jq_effect(&first).expect("the first preview");
    let (_, j1, f1, i1) = jq_effect(&fx.chars(&mut s, "n")).expect("a preview");
    let (_, j2, f2, i2) = jq_effect(&fx.key(&mut s, KeyCode::Backspace)).expect("a preview");
    assert!(j0 < j1 && j1 < j2);
    assert_eq!(s.tools.preview_job, Some(j2), "one evaluation at a time per popup");
    // Answers to older jobs are dropped; the latest one shows.
    answer_jq(&fx, &mut s, j1, &f1, &i1);
    assert_eq!(preview(&s), Some(Preview::Evaluating { job: j2 }));
    answer_jq(&fx, &mut s, j2, &f2, &i2);
    let Some(Preview::Ready { value, .. }) = preview(&s) else { panic!("{:?}", preview(&s)) };
    assert_eq!(value, json!({"body":"[{\"x\":1}]","n":3}));
    // A paste is one more evaluation.
    let pasted = fx.act(&mut s, Action::Paste("n".into()));
    assert_eq!(jq_effect(&pasted).map(|j| j.2), Some(".n".into()));
}

/// Chain run #1's `.body` into data_query's `input`; the form is open and linked.
fn linked_form(fx: &Fx) -> AppState {
    let (mut s, _) = chain_popup(fx);
    let (_, job, filter, input) = jq_effect(&fx.chars(&mut s, "body")).expect("a preview");
    answer_jq(fx, &mut s, job, &filter, &input);
    fx.key(&mut s, KeyCode::Enter);
    select(fx, &mut s, "data_query");
    fx.key(&mut s, KeyCode::Enter);
    fx.key(&mut s, KeyCode::Down);
    fx.key(&mut s, KeyCode::Enter);
    assert_eq!(s.tools.form.as_ref().unwrap().tool, "data_query");
    assert!(s.tools.form_link.is_some());
    s
}

/// Replace the filter field's text and run the form; returns the run's id and args.
fn run_with_filter(fx: &Fx, s: &mut AppState, text: &str) -> (u64, Value) {
    let f = s.tools.form.as_mut().unwrap();
    f.selected = f.find("filter").unwrap();
    fx.key(s, KeyCode::Enter);
    for _ in 0..20 {
        fx.key(s, KeyCode::Backspace);
    }
    fx.chars(s, text);
    fx.key(s, KeyCode::Enter);
    let (run, _, args, _) = run_effect(&fx.chars(s, "r")).expect("a run");
    (run, args)
}

fn finish(fx: &Fx, s: &mut AppState, run: u64, args: &Value, ok: bool) -> Vec<Effect> {
    let outcome = if ok { json!(1) } else { json!("filter failed: cannot index number with \"x\"") };
    fx.act(s, Action::Tools(ToolsAction::Finished { run, record: record("data_query", args.clone(), ok, outcome) }))
}

fn saved_chain(fx: &Fx, s: &mut AppState) -> Vec<Chain> {
    fx.chars(s, "S");
    fx.chars(s, "probe");
    let effects = fx.key(s, KeyCode::Enter);
    let Some(Effect::SaveUi { key, value }) = effects.first() else { panic!("{effects:?} {:?}", s.notice) };
    assert_eq!(key, "tools.chains");
    crate::app::panes::tools::chain::read_chains(value).unwrap()
}

#[test]
fn a_saved_chain_step_keeps_the_arguments_of_its_successful_run() {
    let fx = Fx::new();
    let mut s = linked_form(&fx);
    // Wrong arguments: the run fails, and the step stays out of the chain.
    let (bad, bad_args) = run_with_filter(&fx, &mut s, ".x");
    finish(&fx, &mut s, bad, &bad_args, false);
    assert_eq!(s.tools.building.as_ref().unwrap().chain.summary(), "tcp_check");
    assert!(s.notice.as_ref().unwrap().1.contains("not in the chain"), "{:?}", s.notice);
    fx.chars(&mut s, "S");
    assert!(s.overlay.is_none(), "nothing to save yet");
    // Fixed: the good run is the step.
    let (good, good_args) = run_with_filter(&fx, &mut s, ".[0].x");
    assert_eq!(good_args, json!({"filter":".[0].x","input":"[{\"x\":1}]"}));
    finish(&fx, &mut s, good, &good_args, true);
    let saved = saved_chain(&fx, &mut s);
    assert_eq!(saved[0].summary(), "tcp_check → data_query");
    assert_eq!(saved[0].steps[1].args, json!({"filter":".[0].x"}), "the arguments of the run that succeeded");
    assert_eq!(saved[0].steps[1].link.as_ref().map(|l| l.filter.as_str()), Some(".body"));
}

#[test]
fn a_later_good_run_of_the_same_step_replaces_it() {
    let fx = Fx::new();
    let mut s = linked_form(&fx);
    let (first, a1) = run_with_filter(&fx, &mut s, ".");
    finish(&fx, &mut s, first, &a1, true);
    let (second, a2) = run_with_filter(&fx, &mut s, "length");
    // A run still in flight, or one that ends after a newer run started, is not the step.
    finish(&fx, &mut s, second, &a2, true);
    let saved = saved_chain(&fx, &mut s);
    assert_eq!(saved[0].steps.len(), 2, "{saved:?}");
    assert_eq!(saved[0].steps[1].args, json!({"filter":"length"}));
}
