//! Reducer tests of the time filter, the attempts shown, older runs read
//! page by page, `edit_workflow`, and starts under `--read-only`.

use super::*;
use crate::app::UserAction;

fn ids(s: &AppState) -> Vec<u64> {
    s.workflows.run_rows().iter().map(|i| s.workflows.runs[*i].run.id).collect()
}

#[test]
fn the_time_filter_cycles_and_follows_the_clock() {
    let mut fx = Fx::new();
    let mut s = fx.state();
    assert_eq!(ids(&s), [4, 3, 2, 1]);
    fx.chars(&mut s, "T");
    assert_eq!(s.focus, BoxId::WfRuns, "from the workflows list it shows the runs");
    assert_eq!(s.workflows.time_filter, TimeFilter::Hour);
    assert_eq!(ids(&s), [4, 3, 2], "#2 started exactly an hour ago; #1 two hours ago");
    // Half an hour later the same filter keeps less.
    fx.now += 1_800_000;
    fx.act(&mut s, Action::Tick);
    assert_eq!(ids(&s), [4, 3]);
    fx.chars(&mut s, "T");
    assert_eq!((s.workflows.time_filter, ids(&s)), (TimeFilter::Day, vec![4, 3, 2, 1]));
    fx.chars(&mut s, "TT");
    assert_eq!(s.workflows.time_filter, TimeFilter::All);
}

/// A snapshot whose runs are #250 … #201 (older ones are on the engine).
fn paged_state(fx: &Fx) -> AppState {
    let mut s = AppState::new(&fx.ctx());
    let mut snap = snapshot();
    snap.runs = (201..=250)
        .rev()
        .map(|id| run(id, 1, "backup", RunState::Succeeded, NOW - (251 - id as i64) * 60_000, Some(1_000)))
        .collect();
    snap.active_steps.clear();
    fx.event(&mut s, Event::Workflows(Box::new(snap)));
    fx.chars(&mut s, "2");
    fx.key(&mut s, KeyCode::Tab);
    assert_eq!(s.focus, BoxId::WfRuns);
    s
}

fn older_page(from: u64, n: u64) -> Value {
    let runs: Vec<Run> = (0..n)
        .map(|k| run(from - k, 1, "backup", RunState::Failed, NOW - 10_000_000 - k as i64 * 1000, Some(5)))
        .collect();
    serde_json::to_value(runs).unwrap()
}

#[test]
fn older_runs_are_read_a_page_at_a_time_at_the_end_of_the_list_until_a_short_page() {
    let fx = Fx::new();
    let mut s = paged_state(&fx);
    assert!(commands(&fx.key(&mut s, KeyCode::Down)).is_empty(), "not at the end yet");
    let sent = commands(&fx.key(&mut s, KeyCode::End));
    let [(id, WorkflowsCommand::ListRuns { workflow: None, state: None, before: Some(201), limit: 100 })] = &sent[..]
    else {
        panic!("{sent:?}")
    };
    assert!(s.workflows.loading_older());
    assert!(commands(&fx.key(&mut s, KeyCode::End)).is_empty(), "one page at a time");
    answer(&fx, &mut s, id, Ok(older_page(200, 100)));
    assert!(!s.workflows.loading_older());
    assert_eq!(s.workflows.runs.len(), 150);
    assert_eq!(s.workflows.runs.last().map(|r| r.run.id), Some(101), "appended oldest last");
    assert_eq!(s.workflows.runs_sel, 49, "the selection stays on the row it was on");
    let sent = commands(&fx.key(&mut s, KeyCode::End));
    let [(id, WorkflowsCommand::ListRuns { before: Some(101), .. })] = &sent[..] else { panic!("{sent:?}") };
    answer(&fx, &mut s, id, Ok(older_page(100, 30)));
    assert_eq!(s.workflows.runs.len(), 180);
    assert!(commands(&fx.key(&mut s, KeyCode::End)).is_empty(), "a short page: there are no older runs");
    assert!(!s.workflows.loading_older());
}

#[test]
fn a_failed_page_says_why_and_asks_no_more() {
    let fx = Fx::new();
    let mut s = paged_state(&fx);
    let sent = commands(&fx.key(&mut s, KeyCode::End));
    answer(&fx, &mut s, &sent[0].0, Err("store closed".into()));
    assert!(!s.workflows.loading_older());
    assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains("older runs") && n.contains("store closed")));
    fx.key(&mut s, KeyCode::Up);
    assert!(commands(&fx.key(&mut s, KeyCode::End)).is_empty());
}

#[test]
fn older_runs_stop_at_the_runs_kept() {
    let fx = Fx::new();
    let mut s = paged_state(&fx);
    let sent = commands(&fx.key(&mut s, KeyCode::End));
    // A page far larger than asked would go past the cap: the rest is left out.
    let mut big = older_page(200, 200).as_array().unwrap().clone();
    big.extend(older_page(2_000, 1_000).as_array().unwrap().iter().cloned());
    answer(&fx, &mut s, &sent[0].0, Ok(Value::Array(big)));
    assert_eq!(s.workflows.runs.len(), RUNS_KEPT);
    assert!(commands(&fx.key(&mut s, KeyCode::End)).is_empty(), "no more is asked once the pane is full");
}

#[test]
fn e_opens_the_definition_of_the_workflow_shown_in_the_editor() {
    let fx = Fx::new();
    let mut s = fx.state();
    s.workflows.editor = "nvim -p".into();
    let effects = fx.chars(&mut s, "E");
    assert_eq!(
        effects,
        [Effect::EditFile { path: "/cfg/workflows/backup.toml".into(), editor: "nvim -p".into(), then: None }],
        "the selected workflow's file"
    );
    // A run's detail edits its workflow's file.
    open_failed_run(&fx, &mut s);
    let effects = fx.chars(&mut s, "E");
    assert!(matches!(&effects[..], [Effect::EditFile { path, .. }] if path.ends_with("deploy.toml")), "{effects:?}");
}

#[test]
fn e_says_why_when_there_is_no_file_to_edit_and_read_only_refuses_it() {
    let fx = Fx::new();
    let mut s = fx.state();
    s.workflows.workflows.retain(|(_, w)| w.name != "backup");
    s.focus = BoxId::WfRuns;
    fx.key(&mut s, KeyCode::Down);
    fx.key(&mut s, KeyCode::Down);
    assert_eq!(s.workflows.selected_run().map(|r| r.run.id), Some(2), "backup's run");
    assert!(fx.chars(&mut s, "E").is_empty());
    assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains("backup is no longer among")), "{:?}", s.notice);
    s.read_only = true;
    s.focus = BoxId::WfList;
    assert!(fx.chars(&mut s, "E").is_empty());
    assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains("read-only")), "{:?}", s.notice);
}

#[test]
fn read_only_starts_a_workflow_none_of_whose_steps_change_things() {
    let fx = Fx::new();
    let mut s = fx.state();
    s.read_only = true;
    s.refresh_hints(&fx.keymap);
    assert!(s.hints.iter().any(|(k, d)| k == "s" && d == "start"), "start is offered for backup: {:?}", s.hints);
    assert!(s.applies(UserAction::StartWorkflow));
    fx.chars(&mut s, "s");
    assert!(matches!(s.overlay, Some(Overlay::Workflows(_))), "the start form opens: {:?}", s.notice);
    let sent = commands(&fx.key(&mut s, KeyCode::Enter));
    assert_eq!(
        sent.iter().map(|(_, c)| c.clone()).collect::<Vec<_>>(),
        [WorkflowsCommand::StartRun { workflow: "backup".into(), inputs: Map::new(), by: "ana".into() }]
    );
    // deploy changes things: not offered, refused with its steps.
    fx.key(&mut s, KeyCode::Down);
    assert!(!s.applies(UserAction::StartWorkflow));
    assert!(fx.chars(&mut s, "s").is_empty());
    assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains("build, roll")), "{:?}", s.notice);
}

#[test]
fn the_log_search_counts_and_steps_through_every_hit_not_every_line() {
    let fx = Fx::new();
    let mut s = fx.state();
    fx.key(&mut s, KeyCode::Tab);
    fx.key(&mut s, KeyCode::Enter);
    assert_eq!(s.workflows.open, Some((LOCAL_SOURCE.to_string(), 4)));
    let lines = vec!["ok".to_string(), "error here, error there".into(), "no".into(), "ERROR again".into()];
    s.workflows.log_answered(LOCAL_SOURCE, 4, 1, "approve", lines);
    fx.chars(&mut s, "/error");
    fx.key(&mut s, KeyCode::Enter);
    let hits: Vec<(usize, std::ops::Range<usize>)> =
        s.workflows.log_hits().into_iter().map(|h| (h.line, h.range)).collect();
    assert_eq!(hits, [(1, 0..5), (1, 12..17), (3, 0..5)], "two hits on one line count twice");
    assert_eq!(s.workflows.log.hit, 0);
    fx.chars(&mut s, "n");
    assert_eq!(s.workflows.log.hit, 1, "n goes to the second hit of the same line");
    fx.chars(&mut s, "n");
    assert_eq!(s.workflows.log.hit, 2);
    fx.chars(&mut s, "n");
    assert_eq!(s.workflows.log.hit, 0, "and wraps");
}

#[test]
fn a_problem_row_is_selectable_shown_whole_and_opened_in_the_editor() {
    let fx = Fx::new();
    let mut s = fx.state();
    assert_eq!(s.workflows.problem_sel, None, "a workflow is selected first");
    fx.key(&mut s, KeyCode::Up);
    assert_eq!(s.workflows.selected_problem().map(|(src, _)| src.as_str()), Some(LOCAL_SOURCE));
    assert!(s.workflows.selected_workflow().is_none(), "a problem row is not a workflow");
    fx.key(&mut s, KeyCode::Enter);
    let Some(Overlay::Message(m)) = &s.overlay else { panic!("the message expected: {:?}", s.overlay) };
    assert!(m.lines[0].contains("/cfg/workflows/bad.toml:3:1: unknown field"), "{:?}", m.lines);
    fx.key(&mut s, KeyCode::Esc);
    let effects = fx.chars(&mut s, "E");
    let edited: Vec<&std::path::PathBuf> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::EditFile { path, .. } => Some(path),
            _ => None,
        })
        .collect();
    assert_eq!(edited, [&std::path::PathBuf::from("/cfg/workflows/bad.toml")]);
    fx.key(&mut s, KeyCode::Down);
    assert_eq!((s.workflows.problem_sel, s.workflows.wf_sel), (None, 0), "down again to the first workflow");
}

#[test]
fn start_on_a_problem_row_says_the_row_is_a_file_left_out() {
    let fx = Fx::new();
    let mut s = fx.state();
    fx.key(&mut s, KeyCode::Up);
    assert!(s.workflows.selected_problem().is_some());
    fx.chars(&mut s, "s");
    assert!(s.overlay.is_none(), "nothing to start: {:?}", s.overlay);
    let said = s.notice.as_ref().map(|(_, n)| n.as_str()).unwrap_or_default();
    assert!(said.contains("file left out") && said.contains("Enter shows why, E opens it"), "{said}");
    assert!(!said.contains("select a workflow"), "the list is focused: {said}");
}
