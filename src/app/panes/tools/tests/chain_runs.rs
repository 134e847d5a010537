//! Saved chains run in the engine: the pane asks with one effect, shows each
//! step's run as the engine reports it, and says how the chain went.

use super::*;

/// An app with saved chain `c` (tcp_check → data_query over `.body`) selected.
fn with_chain(fx: &Fx, first: &str) -> AppState {
    let mut s = fx.state();
    let link = chain::Link { filter: ".body".into(), arg: "input".into() };
    let steps = vec![
        chain::Step { tool: first.into(), args: json!({"host":"a","port":80}), link: None },
        chain::Step { tool: "data_query".into(), args: json!({"filter":"."}), link: Some(link) },
    ];
    s.tools.restore("tools.chains", &chain::write_chains(&[Chain { name: "c".into(), steps }])).unwrap();
    s.tools.list_sel = s.tools.rows.iter().position(|r| r.target == list::Target::Chain(0)).unwrap();
    s.tools.form = None;
    s
}

/// `r`: the chain's id in the one effect it gives.
fn run_chain(fx: &Fx, s: &mut AppState) -> u64 {
    match &fx.chars(s, "r")[..] {
        [Effect::RunChain { chain_run, .. }] => *chain_run,
        other => panic!("{other:?} {:?}", s.notice),
    }
}

fn report(fx: &Fx, s: &mut AppState, chain_run: u64, event: ChainUpdate) -> Vec<Effect> {
    fx.act(s, Action::Tools(ToolsAction::Chain { chain_run, event }))
}

fn started(fx: &Fx, s: &mut AppState, chain_run: u64, step: usize, tool: &str) -> u64 {
    report(fx, s, chain_run, ChainUpdate::Step { step, steps: 2, tool: tool.into(), args: json!({}) });
    s.tools.shown.expect("the step's run is shown")
}

#[test]
fn x_on_a_running_step_cancels_the_chain_in_the_engine() {
    let fx = Fx::new();
    let mut s = with_chain(&fx, "tcp_check");
    let id = run_chain(&fx, &mut s);
    let r1 = started(&fx, &mut s, id, 1, "tcp_check");
    assert!(s.tools.run(r1).unwrap().running());
    assert_eq!(fx.chars(&mut s, "x"), vec![Effect::CancelChain { chain_run: id }], "not the step's run alone");
    assert_eq!(s.notice.as_ref().unwrap().1, "cancelling chain c");
    let cancelled = record("tcp_check", json!({}), false, json!(runs::CANCELLED));
    report(&fx, &mut s, id, ChainUpdate::Finished { step: 1, record: cancelled });
    assert!(!s.tools.run(r1).unwrap().running());
    let why = "✗ chain c stopped at step 1/2 (tcp_check): cancelled";
    report(&fx, &mut s, id, ChainUpdate::Ended(Err(why.into())));
    assert_eq!(s.notice.as_ref().unwrap().1, why);
    assert!(s.tools.chain_runs.is_empty());
    // Nothing runs any more.
    assert!(fx.chars(&mut s, "x").is_empty());
    assert_eq!(s.notice.as_ref().unwrap().1, "no run in progress");
}

#[test]
fn x_while_the_engine_selects_the_next_input_cancels_the_chain() {
    let fx = Fx::new();
    let mut s = with_chain(&fx, "tcp_check");
    let id = run_chain(&fx, &mut s);
    let r1 = started(&fx, &mut s, id, 1, "tcp_check");
    report(&fx, &mut s, id, ChainUpdate::Finished { step: 1, record: record("tcp_check", json!({}), true, json!({})) });
    let selecting = ChainUpdate::Selecting { step: 2, steps: 2, tool: "data_query".into(), filter: ".body".into() };
    report(&fx, &mut s, id, selecting);
    assert!(s.tools.run(r1).unwrap().ok());
    assert_eq!(fx.chars(&mut s, "x"), vec![Effect::CancelChain { chain_run: id }]);
}

#[test]
fn a_link_that_fails_stops_the_chain_with_the_engines_sentence() {
    let fx = Fx::new();
    let mut s = with_chain(&fx, "tcp_check");
    let id = run_chain(&fx, &mut s);
    assert_eq!(s.notice.as_ref().unwrap().1, "chain c: starting (tcp_check → data_query)");
    started(&fx, &mut s, id, 1, "tcp_check");
    report(&fx, &mut s, id, ChainUpdate::Finished { step: 1, record: record("tcp_check", json!({}), true, json!({})) });
    let why = "✗ chain c stopped at step 2/2 (data_query): filter failed: recursion too deep";
    let effects = report(&fx, &mut s, id, ChainUpdate::Ended(Err(why.into())));
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(s.notice.as_ref().unwrap().1, why);
    assert_eq!(s.tools.runs.len(), 1, "step 2 never ran");
}

#[test]
fn a_chain_with_a_mutating_step_is_confirmed_first_and_refused_read_only() {
    let fx = Fx::new();
    let mut s = with_chain(&fx, "shell");
    let effects = fx.chars(&mut s, "r");
    assert!(effects.is_empty(), "{effects:?}");
    assert!(matches!(&s.overlay, Some(Overlay::Tools(p)) if matches!(**p, ToolsPopup::Confirm { .. })));
    let effects = fx.key(&mut s, KeyCode::Enter);
    assert!(matches!(&effects[..], [Effect::RunChain { confirmed: true, .. }]), "{effects:?}");
    s.read_only = true;
    assert!(fx.chars(&mut s, "r").is_empty());
    assert!(s.notice.as_ref().unwrap().1.contains("--read-only"), "{:?}", s.notice);
}

#[test]
fn reports_go_to_their_own_chain_and_unknown_ones_are_dropped() {
    let fx = Fx::new();
    let mut s = with_chain(&fx, "tcp_check");
    let (a, b) = (run_chain(&fx, &mut s), run_chain(&fx, &mut s));
    assert_ne!(a, b);
    let ra = started(&fx, &mut s, a, 1, "tcp_check");
    let rb = started(&fx, &mut s, b, 1, "tcp_check");
    report(&fx, &mut s, a, ChainUpdate::Output { step: 1, lines: vec!["from a".into()] });
    report(&fx, &mut s, b, ChainUpdate::Output { step: 1, lines: vec!["from b".into()] });
    assert_eq!(s.tools.run(ra).unwrap().output, vec!["from a".to_string()]);
    assert_eq!(s.tools.run(rb).unwrap().output, vec!["from b".to_string()]);
    let runs = s.tools.runs.len();
    assert!(
        report(&fx, &mut s, 99, ChainUpdate::Step { step: 1, steps: 1, tool: "x".into(), args: json!({}) }).is_empty()
    );
    assert!(report(&fx, &mut s, a, ChainUpdate::Output { step: 7, lines: vec!["?".into()] }).is_empty());
    assert_eq!(s.tools.runs.len(), runs, "no run for a chain the pane does not follow");
}
