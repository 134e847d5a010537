//! Snapshots of the workflows pane on `TestBackend` with a fixed clock: the
//! workflows and runs lists, a run's detail with its gantt and a failed
//! step, the step log with a search hit, and the approval prompt.

mod support;

use std::sync::Arc;

use opsdeck::app::{Action, AppState, BoxId, UserAction, update};
use opsdeck::config::theme::Theme;
use opsdeck::protocol::workflow::{
    InputInfo, Run, RunDetail, RunState, StepInfo, StepRun, Trigger, WorkflowInfo, WorkflowsCommand, WorkflowsSnapshot,
};
use opsdeck::protocol::{Envelope, Event, LOCAL_SOURCE, Topic, Ts};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Map, json};
use support::{NOW, Seed};

fn draw(s: &AppState, w: u16, h: u16) -> Terminal<TestBackend> {
    let theme = Theme::fallback(false);
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    t.draw(|f| opsdeck::ui::render(f, s, &theme)).expect("draw");
    t
}

fn screen(t: &Terminal<TestBackend>) -> String {
    t.backend().buffer().content().iter().map(|c| c.symbol()).collect()
}

fn run(id: u64, attempt: u32, workflow: &str, state: RunState, ago: Ts, took: Option<i64>) -> Run {
    let steps: &[&str] = match workflow {
        "deploy" => &["build", "test", "approve", "roll", "verify"],
        _ => &["dump", "upload"],
    };
    Run {
        id,
        attempt,
        workflow: workflow.into(),
        version: "3f9a0c21b7de".into(),
        inputs: Map::new(),
        trigger: if id == 6 { Trigger::Schedule { fire_at: NOW - ago } } else { Trigger::Manual { by: "ana".into() } },
        state,
        created: NOW - ago,
        started: Some(NOW - ago),
        ended: took.map(|d| NOW - ago + d),
        error: (state == RunState::Failed).then(|| "step roll failed: exit status 1".into()),
        steps: steps.iter().map(|s| s.to_string()).collect(),
        first_started: (id == 5 && attempt > 1).then_some(FIRST_5),
    }
}

fn step(id: &str, uses: &str, state: RunState, start: Option<Ts>, took: Option<i64>) -> StepRun {
    let mut s = StepRun::new(id, uses);
    s.state = state;
    s.attempt = u32::from(start.is_some());
    s.started = start;
    s.ended = start.zip(took).map(|(a, d)| a + d);
    s
}

fn info(id: &str, uses: &str, needs: &[&str], mutating: bool) -> StepInfo {
    StepInfo { id: id.into(), uses: uses.into(), needs: needs.iter().map(|s| s.to_string()).collect(), mutating }
}

fn snapshot() -> WorkflowsSnapshot {
    let deploy = WorkflowInfo {
        name: "deploy".into(),
        description: "Build, test and roll a version out to the web fleet".into(),
        version: "3f9a0c21b7de".into(),
        path: "/home/ana/.config/opsdeck/workflows/deploy.toml".into(),
        inputs: vec![InputInfo {
            name: "version".into(),
            kind: "string".into(),
            values: Vec::new(),
            description: "tag to roll out".into(),
            default: None,
            required: true,
        }],
        steps: vec![
            info("build", "shell", &[], true),
            info("test", "shell", &["build"], false),
            info("approve", "approve", &["test"], false),
            info("roll", "shell", &["approve"], true),
            info("verify", "http_check", &["roll"], false),
        ],
        next_fire: None,
    };
    let backup = WorkflowInfo {
        name: "backup".into(),
        description: "Dump the database and upload it".into(),
        version: "77c1e0d2aa90".into(),
        path: "/home/ana/.config/opsdeck/workflows/backup.toml".into(),
        inputs: Vec::new(),
        steps: vec![info("dump", "shell", &[], false), info("upload", "http", &["dump"], true)],
        next_fire: None,
    };
    let health = WorkflowInfo {
        name: "health-sweep".into(),
        description: "Probe every service".into(),
        version: "c0ffee123456".into(),
        path: "/home/ana/.config/opsdeck/workflows/health.toml".into(),
        inputs: Vec::new(),
        steps: vec![info("probe", "http_check", &[], false)],
        next_fire: Some(NOW + 240_000),
    };
    let mut approve = step("approve", "approve", RunState::Waiting, Some(NOW - 40_000), None);
    approve.args = Some(json!({"message": "Roll v2.4.1 out to the 12 web hosts? Traffic shifts host by host."}));
    WorkflowsSnapshot {
        workflows: vec![deploy, backup, health],
        problems: vec!["/home/ana/.config/opsdeck/workflows/cert.toml:4:9: unknown tool `certbot`".into()],
        runs: vec![
            run(7, 1, "deploy", RunState::Waiting, 95_000, None),
            run(6, 1, "backup", RunState::Running, 20_000, None),
            run(5, 2, "deploy", RunState::Failed, 900_000, Some(154_000)),
            run(4, 1, "backup", RunState::Succeeded, 3_600_000, Some(41_000)),
            run(3, 1, "deploy", RunState::Succeeded, 7_200_000, Some(120_000)),
            run(2, 1, "backup", RunState::Succeeded, 86_400_000, Some(37_000)),
            run(1, 1, "deploy", RunState::Cancelled, 90_000_000, Some(15_000)),
        ],
        active_steps: vec![
            (
                7,
                1,
                vec![
                    step("build", "shell", RunState::Succeeded, Some(NOW - 95_000), Some(35_000)),
                    step("test", "shell", RunState::Succeeded, Some(NOW - 60_000), Some(20_000)),
                    approve,
                    step("roll", "shell", RunState::Queued, None, None),
                    step("verify", "http_check", RunState::Queued, None, None),
                ],
            ),
            (
                6,
                1,
                vec![
                    step("dump", "shell", RunState::Running, Some(NOW - 20_000), None),
                    step("upload", "http", RunState::Queued, None, None),
                ],
            ),
        ],
    }
}

/// When run #5's first attempt started (its second, the rerun, 15 minutes ago).
const FIRST_5: Ts = NOW - 2_700_000;

/// Run #5 ·2 (failed): build and test reused from attempt 1 (at its times,
/// long before this attempt), roll failed on its 3rd try, verify skipped.
fn failed_detail() -> RunDetail {
    let t0 = NOW - 900_000;
    let mut build = step("build", "shell", RunState::Succeeded, Some(FIRST_5), Some(30_000));
    build.reused = true;
    build.reused_from = Some(1);
    let mut test = step("test", "shell", RunState::Succeeded, Some(FIRST_5 + 30_000), Some(25_000));
    test.reused = true;
    test.reused_from = Some(1);
    let mut approve = step("approve", "approve", RunState::Succeeded, Some(t0 + 55_000), Some(40_000));
    approve.args = Some(json!({"message": "Roll v2.4.0 out?"}));
    approve.decision = Some(opsdeck::protocol::workflow::Decision {
        approved: true,
        by: "bo".into(),
        at: t0 + 95_000,
        note: "go".into(),
    });
    let mut roll = step("roll", "shell", RunState::Failed, Some(t0 + 95_000), Some(59_000));
    roll.attempt = 3;
    roll.error = Some("exit status 1: deployment \"web\" exceeded its progress deadline".into());
    roll.args = Some(
        json!({"run": "kubectl rollout restart deploy/web && kubectl rollout status deploy/web", "timeout": "60s"}),
    );
    let mut verify = step("verify", "http_check", RunState::Skipped, None, None);
    verify.error = Some("needs roll, which failed".into());
    RunDetail {
        run: run(5, 2, "deploy", RunState::Failed, 900_000, Some(154_000)),
        steps: vec![build, test, approve, roll, verify],
    }
}

/// Run #5's first attempt: build and test ran, roll failed at once.
fn first_attempt_detail() -> RunDetail {
    let mut r = run(5, 1, "deploy", RunState::Failed, 2_700_000, Some(70_000));
    r.first_started = None;
    let mut roll = step("roll", "shell", RunState::Failed, Some(FIRST_5 + 55_000), Some(15_000));
    roll.error = Some("exit status 1: image v2.4.0 not found".into());
    let mut verify = step("verify", "http_check", RunState::Skipped, None, None);
    verify.error = Some("needs roll, which failed".into());
    let approve = step("approve", "approve", RunState::Skipped, None, None);
    RunDetail {
        run: r,
        steps: vec![
            step("build", "shell", RunState::Succeeded, Some(FIRST_5), Some(30_000)),
            step("test", "shell", RunState::Succeeded, Some(FIRST_5 + 30_000), Some(25_000)),
            approve,
            roll,
            verify,
        ],
    }
}

fn roll_log() -> Vec<String> {
    let mut v: Vec<String> = (1..=12)
        .map(|i| {
            format!("Waiting for deployment \"web\" rollout to finish: {i} of 12 updated replicas are available...")
        })
        .collect();
    v.push("error: deployment \"web\" exceeded its progress deadline".into());
    v.push("exit status 1".into());
    v
}

fn key(seed: &Seed, s: &mut AppState, code: KeyCode) {
    update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)), &seed.ctx());
}

fn chars(seed: &Seed, s: &mut AppState, text: &str) {
    text.chars().for_each(|c| key(seed, s, KeyCode::Char(c)));
}

/// The app on the workflows pane with the seeded workflows and runs.
fn state(seed: &Seed) -> AppState {
    let ctx = seed.ctx();
    let mut s = AppState::new(&ctx);
    s.user = "ana".into();
    let env = Envelope {
        epoch: 1,
        seq: 1,
        ts: NOW,
        source: LOCAL_SOURCE.into(),
        topic: Topic::Workflows,
        event: Event::Workflows(Box::new(snapshot())),
    };
    update(&mut s, Action::Events(vec![Arc::new(env)]), &ctx);
    update(&mut s, Action::User(UserAction::FocusPane2), &ctx);
    s
}

/// Run #5 open with its steps and roll's stored log answered.
fn failed_run_open(seed: &Seed) -> AppState {
    let mut s = state(seed);
    s.focus = BoxId::WfRuns;
    for _ in 0..2 {
        key(seed, &mut s, KeyCode::Down);
    }
    let effects = update(&mut s, Action::User(UserAction::Confirm), &seed.ctx());
    let show = effects.iter().find_map(|e| match e {
        opsdeck::app::Effect::Command { id, .. } => Some(id.clone()),
        _ => None,
    });
    let done = Action::CommandDone {
        source: LOCAL_SOURCE.into(),
        id: show.expect("show_run asked"),
        result: Ok(serde_json::to_value(failed_detail()).expect("json")),
    };
    let effects = update(&mut s, done, &seed.ctx());
    let log = effects.iter().find_map(|e| match e {
        opsdeck::app::Effect::Command { id, .. } => Some(id.clone()),
        _ => None,
    });
    let done = Action::CommandDone {
        source: LOCAL_SOURCE.into(),
        id: log.expect("step_log asked"),
        result: Ok(json!({"run": 5, "attempt": 2, "step": "roll", "lines": roll_log()})),
    };
    update(&mut s, done, &seed.ctx());
    s
}

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

/// deploy's versions listed (oldest first in the answer), the oldest selected.
fn versions(seed: &Seed) -> AppState {
    let mut s = state(seed);
    key(seed, &mut s, KeyCode::Down);
    assert_eq!(s.workflows.selected_workflow().map(|(_, w)| w.name.as_str()), Some("deploy"));
    let effects = update(&mut s, Action::User(UserAction::WorkflowVersions), &seed.ctx());
    let id = effects
        .into_iter()
        .find_map(|e| match e {
            opsdeck::app::Effect::Command { id, .. } => Some(id),
            _ => None,
        })
        .expect("list_versions asked");
    let list = json!([
        {"version": "0a1b2c3d4e5f", "first_seen": NOW - 30 * 86_400_000, "current": false},
        {"version": "1b2c3d4e5f60", "first_seen": NOW - 2 * 86_400_000, "current": false},
        {"version": "3f9a0c21b7de", "first_seen": NOW - 3_600_000, "current": true},
    ]);
    update(&mut s, Action::CommandDone { source: LOCAL_SOURCE.into(), id, result: Ok(list) }, &seed.ctx());
    key(seed, &mut s, KeyCode::Down);
    s
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

fn version_diff(seed: &Seed) -> AppState {
    let mut s = versions(seed);
    let effects = update(&mut s, Action::User(UserAction::VersionDiff), &seed.ctx());
    let id = effects
        .into_iter()
        .find_map(|e| match e {
            opsdeck::app::Effect::Command { id, .. } => Some(id),
            _ => None,
        })
        .expect("show_version asked");
    let diff = [
        "--- 3f9a0c21b7de",
        "+++ 1b2c3d4e5f60",
        "@@ -8,9 +8,8 @@",
        " [[step]]",
        " id = \"roll\"",
        " uses = \"shell\"",
        "-with.run = \"kubectl rollout restart deploy/web && kubectl rollout status deploy/web\"",
        "-timeout = \"120s\"",
        "+with.run = \"kubectl rollout restart deploy/web\"",
        "+timeout = \"60s\"",
        " retry.max_attempts = 3",
        "-retry.backoff = 2.0",
        " needs = [\"approve\"]",
    ]
    .map(|l| format!("{l}\n"))
    .concat();
    let answer = json!({"version": "1b2c3d4e5f60", "against": "3f9a0c21b7de", "text": "…", "diff": diff});
    update(&mut s, Action::CommandDone { source: LOCAL_SOURCE.into(), id, result: Ok(answer) }, &seed.ctx());
    s
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
