//! Snapshots of the workflows pane on `TestBackend` with a fixed clock: the
//! workflows and runs lists, a run's detail with its gantt and a failed
//! step, the step log with a search hit, and the approval prompt.

mod support;

use opsdeck::app::{Action, AppState, BoxId, UserAction, update};
use opsdeck::protocol::LOCAL_SOURCE;
use opsdeck::protocol::workflow::{RunDetail, RunState, WorkflowsCommand};
use ratatui::crossterm::event::KeyCode;
use serde_json::json;

use support::workflows::*;
use support::{NOW, Seed};

#[test]
fn workflows_and_runs_80x24() {
    let seed = Seed::new();
    let s = state(&seed);
    let t = draw(&s, 80, 24);
    let text = screen(&t);
    assert!(text.contains("⏸ waiting") && text.contains("✗ failed"), "state by glyph and word");
    assert!(text.contains("▶1 running") && text.contains("⏸1 waiting"), "counts in the status bar");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn workflows_and_runs_120x40() {
    let seed = Seed::new();
    let s = state(&seed);
    insta::assert_snapshot!(draw(&s, 120, 40).backend());
}

#[test]
fn run_detail_with_gantt_and_failed_step_80x24() {
    let seed = Seed::new();
    let s = failed_run_open(&seed);
    assert_eq!(s.workflows.selected_step().map(|st| st.id.as_str()), Some("roll"), "the failed step first");
    let t = draw(&s, 80, 24);
    assert!(screen(&t).contains("↻3"), "retries marked");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn run_detail_with_gantt_and_failed_step_120x40() {
    let seed = Seed::new();
    let s = failed_run_open(&seed);
    insta::assert_snapshot!(draw(&s, 120, 40).backend());
}

/// Run #5 open, then `[`: its first attempt, read and shown.
fn first_attempt_open(seed: &Seed) -> AppState {
    let mut s = failed_run_open(seed);
    let effects = update(&mut s, Action::User(UserAction::AttemptPrev), &seed.ctx());
    let show = effects.iter().find_map(|e| match e {
        opsdeck::app::Effect::Command { id, command, .. } => {
            assert!(
                matches!(
                    command,
                    opsdeck::protocol::Command::Workflows(WorkflowsCommand::ShowRun { run: 5, attempt: Some(1) })
                ),
                "{command:?}"
            );
            Some(id.clone())
        }
        _ => None,
    });
    let done = Action::CommandDone {
        source: LOCAL_SOURCE.into(),
        id: show.expect("show_run of attempt 1 asked"),
        result: Ok(serde_json::to_value(first_attempt_detail()).expect("json")),
    };
    update(&mut s, done, &seed.ctx());
    s
}

#[test]
fn an_earlier_attempt_shown_80x24() {
    let seed = Seed::new();
    let s = first_attempt_open(&seed);
    let text = screen(&draw(&s, 80, 24));
    assert!(text.contains("attempt 1 of 2"), "the header says which attempt of how many");
    assert!(!text.contains("reused"), "attempt 1 ran every step itself");
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

#[test]
fn reused_steps_are_marked_never_drawn_at_their_old_times_120x40() {
    let seed = Seed::new();
    let s = failed_run_open(&seed);
    let text = screen(&draw(&s, 120, 40));
    assert_eq!(text.matches("↺ reused (attempt 1)").count(), 2, "build and test, each with the word and the attempt");
    assert!(text.contains("attempt 2 of 2 · started 15m ago"), "the latest attempt's start in the header");
    insta::assert_snapshot!(draw(&s, 120, 40).backend());
}

fn log_with_search(seed: &Seed) -> AppState {
    let mut s = failed_run_open(seed);
    key(seed, &mut s, KeyCode::Enter);
    chars(seed, &mut s, "/deadline");
    key(seed, &mut s, KeyCode::Enter);
    s
}

#[test]
fn step_log_with_a_search_hit_80x24() {
    let seed = Seed::new();
    let s = log_with_search(&seed);
    assert_eq!(s.workflows.log_hits().iter().map(|h| h.line).collect::<Vec<_>>(), [12]);
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

/// `available` ends each rollout line, past the right edge of an 80-column
/// box: the current hit's line is drawn from a little before it.
#[test]
fn step_log_hit_past_the_right_edge_80x24() {
    let seed = Seed::new();
    let mut s = failed_run_open(&seed);
    key(&seed, &mut s, KeyCode::Enter);
    chars(&seed, &mut s, "/available");
    key(&seed, &mut s, KeyCode::Enter);
    chars(&seed, &mut s, "n");
    assert_eq!(s.workflows.log.hit, 1);
    let text = screen(&draw(&s, 80, 24));
    assert!(text.contains(" 2/12"), "hits counted, the second current");
    assert!(
        text.contains("┃…") && text.contains("are available…┃"),
        "the current hit's line is drawn from before it: {text}"
    );
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

#[test]
fn step_log_with_a_search_hit_120x40() {
    let seed = Seed::new();
    let s = log_with_search(&seed);
    insta::assert_snapshot!(draw(&s, 120, 40).backend());
}

fn approval(seed: &Seed) -> AppState {
    let mut s = state(seed);
    s.focus = BoxId::WfRuns;
    key(seed, &mut s, KeyCode::Down);
    assert_eq!(s.workflows.selected_run().map(|r| r.run.id), Some(7));
    update(&mut s, Action::User(UserAction::ApproveStep), &seed.ctx());
    chars(seed, &mut s, "checked the canary");
    s
}

#[test]
fn approval_prompt_80x24() {
    let seed = Seed::new();
    let s = approval(&seed);
    let t = draw(&s, 80, 24);
    assert!(screen(&t).contains("Traffic shifts"), "the step's message");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn approval_prompt_120x40() {
    let seed = Seed::new();
    let s = approval(&seed);
    insta::assert_snapshot!(draw(&s, 120, 40).backend());
}

/// The start form: the inputs, the steps with those that change things marked.
#[test]
fn start_form_80x24() {
    let seed = Seed::new();
    let mut s = state(&seed);
    key(&seed, &mut s, KeyCode::Down);
    update(&mut s, Action::User(UserAction::StartWorkflow), &seed.ctx());
    let t = draw(&s, 80, 24);
    let text = screen(&t);
    assert!(text.contains("build, roll") && text.contains("version"), "mutating steps and the input");
    insta::assert_snapshot!(t.backend());
}

/// The runs list of the last hour with run #5's steps read (roll tried
/// three times) and a page of older runs on its way.
#[test]
fn runs_of_the_last_hour_with_attempts_and_older_runs_loading_80x24() {
    let seed = Seed::new();
    let mut s = failed_run_open(&seed);
    update(&mut s, Action::User(UserAction::Close), &seed.ctx());
    assert_eq!(s.focus, BoxId::WfRuns);
    update(&mut s, Action::User(UserAction::RunTimeFilter), &seed.ctx());
    s.workflows.older.insert(LOCAL_SOURCE.into(), opsdeck::app::panes::workflows::Older { asking: true, done: false });
    let t = draw(&s, 80, 24);
    let text = screen(&t);
    assert!(text.contains("last 1h") && text.contains("loading older runs…"), "{text}");
    assert!(text.contains("2 roll×3"), "the run's attempt and the step tried three times: {text}");
    assert!(!text.contains("#3 "), "run #3 (2h ago) is out of the last hour: {text}");
    insta::assert_snapshot!(t.backend());
}
/// Run #3 (deploy, succeeded) with its steps and outputs.
fn succeeded_detail() -> RunDetail {
    let t0 = NOW - 7_200_000;
    let mut r = run(3, 1, "deploy", RunState::Succeeded, 7_200_000, Some(120_000));
    r.version = "1b2c3d4e5f60".into();
    r.inputs.insert("version".into(), json!("v2.4.0"));
    r.inputs.insert("hosts".into(), json!(12));
    let mut build = step("build", "shell", RunState::Succeeded, Some(t0), Some(28_000));
    build.output = Some(json!({"image": "web:v2.4.0"}));
    let test = step("test", "shell", RunState::Succeeded, Some(t0 + 28_000), Some(22_000));
    let approve = step("approve", "approve", RunState::Succeeded, Some(t0 + 50_000), Some(30_000));
    let mut roll = step("roll", "shell", RunState::Succeeded, Some(t0 + 80_000), Some(32_000));
    roll.outputs.insert("replicas".into(), json!(12));
    let verify = step("verify", "http_check", RunState::Succeeded, Some(t0 + 112_000), Some(8_000));
    RunDetail { run: r, steps: vec![build, test, approve, roll, verify] }
}

/// Run #3 marked, #5 selected and compared, both `show_run`s answered.
fn compared(seed: &Seed) -> AppState {
    let mut s = state(seed);
    s.focus = BoxId::WfRuns;
    let at = |s: &AppState, id: u64| s.workflows.run_rows().iter().position(|i| s.workflows.runs[*i].run.id == id);
    s.workflows.runs_sel = at(&s, 3).expect("run #3");
    update(&mut s, Action::User(UserAction::MarkCompare), &seed.ctx());
    s.workflows.runs_sel = at(&s, 5).expect("run #5");
    let effects = update(&mut s, Action::User(UserAction::CompareWorkflowRuns), &seed.ctx());
    for e in effects {
        let opsdeck::app::Effect::Command { id, command, .. } = e else { continue };
        let opsdeck::protocol::Command::Workflows(WorkflowsCommand::ShowRun { run, .. }) = command else { continue };
        let detail = if run == 3 {
            succeeded_detail()
        } else {
            let mut d = failed_detail();
            d.run.inputs.insert("version".into(), json!("v2.4.1"));
            d.run.inputs.insert("hosts".into(), json!(12));
            d.steps[0].output = Some(json!({"image": "web:v2.4.1"}));
            d
        };
        let result = Ok(serde_json::to_value(detail).expect("json"));
        update(&mut s, Action::CommandDone { source: LOCAL_SOURCE.into(), id, result }, &seed.ctx());
    }
    s
}

#[test]
fn compare_two_runs_80x24() {
    let seed = Seed::new();
    let s = compared(&seed);
    assert_eq!(s.focus, BoxId::WfCompare);
    let t = draw(&s, 80, 24);
    let text = screen(&t);
    assert!(text.contains("≠ roll") && text.contains("✗ failed"), "the failed step marked, by glyph and word");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn compare_two_runs_120x40() {
    let seed = Seed::new();
    let s = compared(&seed);
    let t = draw(&s, 120, 40);
    assert!(screen(&t).contains("(+27s)"), "roll's duration change");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn version_list_80x24() {
    let seed = Seed::new();
    let s = versions(&seed);
    assert_eq!(s.focus, BoxId::WfVersions);
    let t = draw(&s, 80, 24);
    assert!(screen(&t).contains("● current"), "the current version said in words");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn version_diff_80x24() {
    let seed = Seed::new();
    let s = version_diff(&seed);
    let t = draw(&s, 80, 24);
    assert!(screen(&t).contains("-timeout = \"120s\""), "removed lines keep their prefix");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn version_diff_120x40() {
    let seed = Seed::new();
    let s = version_diff(&seed);
    insta::assert_snapshot!(draw(&s, 120, 40).backend());
}
/// Rerun with edited inputs (`I`) on the failed step of run #5, which ran
/// an older version: the start form filled with the run's inputs, what
/// reruns, and that the file changed since.
#[test]
fn rerun_with_inputs_form_80x24() {
    let seed = Seed::new();
    let mut s = failed_run_open(&seed);
    let r5 = s.workflows.runs.iter_mut().find(|r| r.run.id == 5).expect("run #5");
    r5.run.inputs.insert("version".into(), json!("v2.4.0"));
    r5.run.version = "aa11bb22cc33".into();
    update(&mut s, Action::User(UserAction::RerunWithInputs), &seed.ctx());
    let t = draw(&s, 80, 24);
    let text = screen(&t);
    assert!(text.contains("Rerun #5 deploy on local"), "{text}");
    assert!(text.contains("from step roll") && text.contains("v2.4.0"), "{text}");
    assert!(text.contains("aa11bb22cc33"), "the version it ran: {text}");
    insta::assert_snapshot!(t.backend());
}
