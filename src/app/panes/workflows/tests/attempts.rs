//! Reducer tests of a run's attempts in the detail (`[`/`]`), the step that
//! needs attention selected until the user moves, the runs list's order by
//! the run's first start, and older runs read however the list's end is reached.

use super::*;
use crate::app::MouseInput;
use crate::protocol::workflow::RunDetail;

/// Attempt 1 of run #3: build ran, roll failed (at other times than attempt 2's).
fn attempt_1() -> Value {
    let mut roll = step("roll", "shell", RunState::Failed, Some(NOW - 3_000_000), Some(10_000));
    roll.error = Some("exit status 2".into());
    json!({
        "run": run(3, 1, "deploy", RunState::Failed, NOW - 3_060_000, Some(70_000)),
        "steps": [
            step("build", "shell", RunState::Succeeded, Some(NOW - 3_060_000), Some(30_000)),
            step("approve", "approve", RunState::Succeeded, Some(NOW - 3_030_000), Some(20_000)),
            roll,
        ]
    })
}

fn step_id(s: &AppState) -> Option<String> {
    s.workflows.selected_step().map(|st| st.id.clone())
}

#[test]
fn an_earlier_attempt_is_shown_with_its_own_steps_and_logs_then_the_latest_again() {
    let fx = Fx::new();
    let mut s = fx.state();
    open_failed_run(&fx, &mut s);
    assert_eq!(s.workflows.attempt_shown(), Some((2, 2)));
    // `[` goes to attempt 1: its steps are read for that attempt.
    let sent = commands(&fx.chars(&mut s, "["));
    let [(id, WorkflowsCommand::ShowRun { run: 3, attempt: Some(1) })] = &sent[..] else { panic!("{sent:?}") };
    assert_eq!(s.workflows.attempt_shown(), Some((1, 2)));
    assert!(s.workflows.opened().is_some_and(|r| r.steps.is_empty() && !r.steps_loaded), "nothing of attempt 2 shown");
    // Its answer shows its steps; the failed one is selected and its log of attempt 1 asked for.
    let sent = commands(&answer(&fx, &mut s, id, Ok(attempt_1())));
    assert_eq!(
        sent.iter().map(|(_, c)| c.clone()).collect::<Vec<_>>(),
        [WorkflowsCommand::StepLog { run: 3, attempt: Some(1), step: "roll".into() }]
    );
    assert_eq!(step_id(&s).as_deref(), Some("roll"));
    assert_eq!(s.workflows.selected_step().and_then(|st| st.error.clone()).as_deref(), Some("exit status 2"));
    answer(&fx, &mut s, &sent[0].0, Ok(json!({"lines": ["attempt one said this"]})));
    assert_eq!(s.workflows.log_lines(), [LogLine::Text("attempt one said this")]);
    // The latest attempt is untouched by what attempt 1 read.
    let latest = s.workflows.find(LOCAL_SOURCE, 3).unwrap();
    assert_eq!((latest.run.attempt, latest.steps[2].error.as_deref()), (2, Some("exit status 1")));
    assert!(latest.logs.is_empty());
    // `]` wraps to attempt 2 (the latest, the run's own record): nothing to read.
    let sent = commands(&fx.chars(&mut s, "]"));
    assert_eq!(s.workflows.attempt_shown(), Some((2, 2)));
    assert!(s.workflows.past.is_none());
    assert!(sent.iter().all(|(_, c)| !matches!(c, WorkflowsCommand::ShowRun { .. })), "{sent:?}");
    // A run of one attempt has nothing to cycle.
    fx.key(&mut s, KeyCode::Esc);
    s.workflows.open_run((LOCAL_SOURCE.into(), 4));
    s.focus = BoxId::WfDetail;
    assert!(commands(&fx.chars(&mut s, "[")).is_empty());
    assert_eq!(s.workflows.attempt_shown(), Some((1, 1)));
}

#[test]
fn the_step_the_user_chose_stays_across_attempts() {
    let fx = Fx::new();
    let mut s = fx.state();
    open_failed_run(&fx, &mut s);
    fx.key(&mut s, KeyCode::Up);
    assert_eq!(step_id(&s).as_deref(), Some("approve"));
    let sent = commands(&fx.chars(&mut s, "["));
    answer(&fx, &mut s, &sent[0].0, Ok(attempt_1()));
    assert_eq!(step_id(&s).as_deref(), Some("approve"), "not the failed step: the user chose approve");
}

#[test]
fn a_started_run_selects_the_step_that_needs_attention_until_the_user_moves() {
    let fx = Fx::new();
    let mut s = fx.state();
    // As the start form's answer does: the new run #5 opens before any of its steps is known.
    s.workflows.open_run((LOCAL_SOURCE.into(), 5));
    s.focus = BoxId::WfDetail;
    let mut r5 = run(5, 1, "deploy", RunState::Queued, NOW, None);
    r5.started = None;
    fx.event(&mut s, Event::RunChanged(Box::new(r5)));
    assert_eq!(step_id(&s).as_deref(), Some("build"), "nothing needs attention: the first");
    let change =
        |s: &mut AppState, st: StepRun| fx.event(s, Event::StepChanged { run: 5, attempt: 1, step: Box::new(st) });
    change(&mut s, step("build", "shell", RunState::Succeeded, Some(NOW), Some(1_000)));
    change(&mut s, step("approve", "approve", RunState::Waiting, Some(NOW + 1_000), None));
    assert_eq!(step_id(&s).as_deref(), Some("approve"), "waiting for the user");
    change(&mut s, step("approve", "approve", RunState::Succeeded, Some(NOW + 1_000), Some(500)));
    change(&mut s, step("roll", "shell", RunState::Running, Some(NOW + 2_000), None));
    assert_eq!(step_id(&s).as_deref(), Some("roll"), "running");
    // Once the user moves, their choice stays whatever happens next.
    fx.key(&mut s, KeyCode::Home);
    assert_eq!(step_id(&s).as_deref(), Some("build"));
    change(&mut s, step("roll", "shell", RunState::Failed, Some(NOW + 2_000), Some(1_000)));
    assert_eq!(step_id(&s).as_deref(), Some("build"));
}

#[test]
fn opening_a_run_prefers_waiting_then_failed_then_running() {
    let fx = Fx::new();
    let mut s = fx.state();
    let mut r5 = run(5, 1, "deploy", RunState::Running, NOW, None);
    r5.started = Some(NOW);
    let detail = RunDetail {
        run: r5,
        steps: vec![
            step("build", "shell", RunState::Running, Some(NOW), None),
            step("approve", "approve", RunState::Failed, Some(NOW), Some(1)),
            step("roll", "shell", RunState::Running, Some(NOW), None),
        ],
    };
    s.workflows.show_answered(LOCAL_SOURCE, detail.clone());
    s.workflows.open_run((LOCAL_SOURCE.into(), 5));
    assert_eq!(step_id(&s).as_deref(), Some("approve"), "failed before running");
    let mut d = detail;
    d.steps[2].state = RunState::Waiting;
    s.workflows.show_answered(LOCAL_SOURCE, d);
    assert_eq!(step_id(&s).as_deref(), Some("roll"), "waiting before failed");
}

#[test]
fn a_rerun_run_keeps_its_place_by_its_first_start() {
    let fx = Fx::new();
    let mut s = AppState::new(&fx.ctx());
    let mut snap = snapshot();
    // Run #1 was rerun a second ago: its attempt 2 was created and started then.
    let mut r1 = run(1, 2, "deploy", RunState::Running, NOW - 1_000, None);
    r1.first_started = Some(NOW - 7_200_000);
    snap.runs[3] = r1;
    fx.event(&mut s, Event::Workflows(Box::new(snap)));
    let ids: Vec<u64> = s.workflows.runs.iter().map(|r| r.run.id).collect();
    assert_eq!(ids, [4, 3, 2, 1], "sorted by when each run first started");
    assert_eq!(s.workflows.runs[3].run.run_started(), Some(NOW - 7_200_000));
}

#[test]
fn the_wheel_page_down_and_end_each_read_older_runs_at_the_end_of_the_list() {
    let fx = Fx::new();
    // The wheel over the runs list, with the focus elsewhere.
    let mut s = fx.state();
    let mut snap = snapshot();
    snap.runs = (201..=250).rev().map(|id| run(id, 1, "backup", RunState::Succeeded, NOW, Some(1))).collect();
    snap.active_steps.clear();
    fx.event(&mut s, Event::Workflows(Box::new(snap)));
    assert_eq!(s.focus, BoxId::WfList);
    let mut asked = Vec::new();
    for _ in 0..20 {
        asked.extend(commands(&fx.act(&mut s, Action::Mouse(MouseInput::ScrollDown(BoxId::WfRuns)))));
    }
    assert_eq!(s.workflows.runs_sel, 49);
    assert!(
        matches!(&asked[..], [(_, WorkflowsCommand::ListRuns { before: Some(201), .. })]),
        "one page, when the wheel reached the end: {asked:?}"
    );
    // Page down and End, from the keys.
    for key in [KeyCode::PageDown, KeyCode::End] {
        let mut s = fx.state();
        let mut snap = snapshot();
        snap.runs = (201..=205).rev().map(|id| run(id, 1, "backup", RunState::Succeeded, NOW, Some(1))).collect();
        snap.active_steps.clear();
        fx.event(&mut s, Event::Workflows(Box::new(snap)));
        fx.act(&mut s, Action::Resize(80, 24));
        fx.key(&mut s, KeyCode::Tab);
        let sent = commands(&fx.key(&mut s, key));
        assert!(matches!(&sent[..], [(_, WorkflowsCommand::ListRuns { before: Some(201), .. })]), "{key:?}: {sent:?}");
    }
}
