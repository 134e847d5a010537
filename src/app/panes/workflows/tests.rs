//! Reducer tests of the workflows pane through the app: events and keys
//! in, state and commands out.

use std::sync::Arc;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Map, Value, json};

use super::*;
use crate::app::{Action, AppState, BoxId, Ctx, Effect, Overlay, update};
use crate::config::keymap::Keymap;
use crate::config::settings::Config;
use crate::protocol::workflow::{
    Decision, InputInfo, RerunFrom, StepInfo, Trigger, WorkflowsCommand, WorkflowsSnapshot,
};
use crate::protocol::{Command, Envelope, Event, LOCAL_SOURCE, Topic};

mod attempts;
mod offline;
mod prefect;
mod quit;
mod rerun;

const NOW: Ts = 1_700_000_000_000;

struct Fx {
    keymap: Keymap,
    config: Config,
    now: Ts,
}

impl Fx {
    fn new() -> Self {
        Fx { keymap: Keymap::fallback(), config: Config::default(), now: NOW }
    }
    fn ctx(&self) -> Ctx<'_> {
        Ctx { now: self.now, keymap: &self.keymap, config: &self.config }
    }
    fn act(&self, s: &mut AppState, a: Action) -> Vec<Effect> {
        update(s, a, &self.ctx())
    }
    fn key(&self, s: &mut AppState, code: KeyCode) -> Vec<Effect> {
        self.act(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }
    fn chars(&self, s: &mut AppState, text: &str) -> Vec<Effect> {
        text.chars().flat_map(|c| self.key(s, KeyCode::Char(c))).collect()
    }
    fn event(&self, s: &mut AppState, event: Event) {
        let env =
            Envelope { epoch: 1, seq: 1, ts: self.now, source: LOCAL_SOURCE.into(), topic: Topic::Workflows, event };
        self.act(s, Action::Events(vec![Arc::new(env)]));
    }
    /// The app on the workflows pane with the seeded snapshot.
    fn state(&self) -> AppState {
        let mut s = AppState::new(&self.ctx());
        s.user = "ana".into();
        self.event(&mut s, Event::Workflows(Box::new(snapshot())));
        self.chars(&mut s, "2");
        assert_eq!(s.focus, BoxId::WfList);
        s
    }
}

fn step_info(id: &str, uses: &str, mutating: bool) -> StepInfo {
    StepInfo { id: id.into(), uses: uses.into(), needs: Vec::new(), mutating, reads: None }
}

fn run(id: u64, attempt: u32, workflow: &str, state: RunState, started: Ts, took: Option<i64>) -> Run {
    let steps: &[&str] = if workflow == "deploy" { &["build", "approve", "roll"] } else { &["dump"] };
    Run {
        id,
        attempt,
        workflow: workflow.into(),
        version: "0123456789ab".into(),
        inputs: Map::new(),
        trigger: Trigger::Manual { by: "ana".into() },
        state,
        created: started,
        started: Some(started),
        ended: took.map(|d| started + d),
        error: (state == RunState::Failed).then(|| "step roll failed".into()),
        steps: steps.iter().map(|s| s.to_string()).collect(),
        first_started: None,
        external: None,
    }
}

fn step(id: &str, uses: &str, state: RunState, started: Option<Ts>, took: Option<i64>) -> StepRun {
    let mut s = StepRun::new(id, uses);
    s.state = state;
    s.attempt = u32::from(started.is_some());
    s.started = started;
    s.ended = started.zip(took).map(|(a, d)| a + d);
    s
}

/// deploy (inputs, a mutating build and roll, an approval) and backup;
/// runs #4 waiting (deploy), #3 ·2 failed (deploy), #2 succeeded (backup),
/// #1 succeeded (deploy).
fn snapshot() -> WorkflowsSnapshot {
    let deploy = WorkflowInfo {
        name: "deploy".into(),
        description: "Roll a version out".into(),
        version: "0123456789ab".into(),
        path: "/cfg/workflows/deploy.toml".into(),
        inputs: vec![
            InputInfo {
                name: "host".into(),
                kind: "string".into(),
                values: Vec::new(),
                description: "where".into(),
                default: None,
                required: true,
            },
            InputInfo {
                name: "version".into(),
                kind: "enum".into(),
                values: vec!["v1".into(), "v2".into()],
                description: String::new(),
                default: Some(json!("v1")),
                required: false,
            },
        ],
        steps: vec![
            step_info("build", "shell", true),
            step_info("approve", "approve", false),
            step_info("roll", "shell", true),
        ],
        next_fire: None,
    };
    let backup = WorkflowInfo {
        name: "backup".into(),
        description: "Dump the database".into(),
        version: "ba9876543210".into(),
        path: "/cfg/workflows/backup.toml".into(),
        inputs: Vec::new(),
        steps: vec![step_info("dump", "http", false)],
        next_fire: None,
    };
    let mut approve = step("approve", "approve", RunState::Waiting, Some(NOW - 30_000), None);
    approve.args = Some(json!({"message": "Roll v2 out to prod?"}));
    WorkflowsSnapshot {
        workflows: vec![deploy, backup],
        problems: vec!["/cfg/workflows/bad.toml:3:1: unknown field `stpe`".into()],
        runs: vec![
            run(4, 1, "deploy", RunState::Waiting, NOW - 60_000, None),
            run(3, 2, "deploy", RunState::Failed, NOW - 600_000, Some(90_000)),
            run(2, 1, "backup", RunState::Succeeded, NOW - 3_600_000, Some(20_000)),
            run(1, 1, "deploy", RunState::Succeeded, NOW - 7_200_000, Some(60_000)),
        ],
        active_steps: vec![(
            4,
            1,
            vec![
                step("build", "shell", RunState::Succeeded, Some(NOW - 60_000), Some(30_000)),
                approve,
                step("roll", "shell", RunState::Queued, None, None),
            ],
        )],
    }
}

fn commands(effects: &[Effect]) -> Vec<(String, WorkflowsCommand)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Command { id, command: Command::Workflows(c), .. } => Some((id.clone(), c.clone())),
            _ => None,
        })
        .collect()
}

fn answer(fx: &Fx, s: &mut AppState, id: &str, result: Result<Value, String>) -> Vec<Effect> {
    fx.act(s, Action::CommandDone { source: LOCAL_SOURCE.into(), id: id.into(), result })
}

/// Open run #3 (failed) and answer its `show_run` with its steps.
fn open_failed_run(fx: &Fx, s: &mut AppState) {
    s.focus = BoxId::WfList;
    s.workflows.runs_sel = 0;
    fx.key(s, KeyCode::Tab);
    fx.key(s, KeyCode::Down);
    let effects = fx.key(s, KeyCode::Enter);
    assert_eq!(s.focus, BoxId::WfDetail);
    let sent = commands(&effects);
    assert_eq!(sent[0].1, WorkflowsCommand::ShowRun { run: 3, attempt: None }, "{sent:?}");
    let mut roll = step("roll", "shell", RunState::Failed, Some(NOW - 560_000), Some(50_000));
    roll.attempt = 2;
    roll.error = Some("exit status 1".into());
    roll.args = Some(json!({"run": "kubectl rollout restart deploy/web"}));
    let detail = json!({
        "run": run(3, 2, "deploy", RunState::Failed, NOW - 600_000, Some(90_000)),
        "steps": [
            step("build", "shell", RunState::Succeeded, Some(NOW - 600_000), Some(20_000)),
            step("approve", "approve", RunState::Succeeded, Some(NOW - 580_000), Some(20_000)),
            roll,
        ]
    });
    let effects = answer(fx, s, &sent[0].0, Ok(detail));
    let sent = commands(&effects);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].1, WorkflowsCommand::StepLog { run: 3, attempt: Some(2), step: "roll".into() });
}

#[test]
fn a_snapshot_builds_the_workflows_and_runs_lists() {
    let fx = Fx::new();
    let s = fx.state();
    let w = &s.workflows;
    let names: Vec<&str> = w.workflows.iter().map(|(_, w)| w.name.as_str()).collect();
    assert_eq!(names, ["backup", "deploy"], "sorted by name");
    let ids: Vec<u64> = w.runs.iter().map(|r| r.run.id).collect();
    assert_eq!(ids, [4, 3, 2, 1], "newest first");
    assert_eq!(w.problems.len(), 1);
    let deploy = w.stats(LOCAL_SOURCE, "deploy");
    assert_eq!(deploy.last, Some(RunState::Waiting));
    assert_eq!(deploy.success, Some((1, 2)), "#3 failed, #1 succeeded; #4 is still running");
    assert_eq!(deploy.durations, [60_000, 90_000], "oldest first");
    assert!(w.find(LOCAL_SOURCE, 4).is_some_and(|r| r.steps_loaded && r.steps.len() == 3));
    assert_eq!(w.counts(NOW), (0, 1, 1), "one waiting, one failed in the last day");
}

#[test]
fn run_step_and_output_events_update_the_runs() {
    let fx = Fx::new();
    let mut s = fx.state();
    let mut r5 = run(5, 1, "backup", RunState::Queued, NOW, None);
    r5.started = None;
    fx.event(&mut s, Event::RunChanged(Box::new(r5.clone())));
    assert_eq!(s.workflows.runs[0].run.id, 5, "a new run goes on top");
    assert_eq!(s.workflows.runs[0].steps.len(), 1, "its steps are known by id, queued");
    let dump = step("dump", "http", RunState::Running, Some(NOW), None);
    fx.event(&mut s, Event::StepChanged { run: 5, attempt: 1, step: Box::new(dump) });
    let lines = vec!["GET /dump".to_string(), "200 OK".into()];
    fx.event(&mut s, Event::StepOutput { run: 5, attempt: 1, step: "dump".into(), lines });
    let r = s.workflows.find(LOCAL_SOURCE, 5).unwrap();
    assert_eq!(r.steps[0].state, RunState::Running);
    assert_eq!(r.logs["dump"], ["GET /dump", "200 OK"]);
    assert_eq!(s.workflows.counts(NOW), (1, 1, 1));
    // An older attempt's output is ignored; a new attempt starts empty.
    fx.event(&mut s, Event::StepOutput { run: 3, attempt: 1, step: "roll".into(), lines: vec!["old".into()] });
    assert!(s.workflows.find(LOCAL_SOURCE, 3).unwrap().logs.is_empty());
    let mut r5b = r5;
    r5b.attempt = 2;
    r5b.state = RunState::Running;
    fx.event(&mut s, Event::RunChanged(Box::new(r5b)));
    let r = s.workflows.find(LOCAL_SOURCE, 5).unwrap();
    assert_eq!((r.run.attempt, r.logs.len(), r.steps[0].state), (2, 0, RunState::Queued));
}

#[test]
fn enter_filters_runs_by_workflow_and_the_state_filter_cycles() {
    let fx = Fx::new();
    let mut s = fx.state();
    fx.key(&mut s, KeyCode::Down);
    fx.key(&mut s, KeyCode::Enter);
    assert_eq!(s.focus, BoxId::WfRuns);
    let ids = |s: &AppState| s.workflows.run_rows().iter().map(|i| s.workflows.runs[*i].run.id).collect::<Vec<_>>();
    assert_eq!(ids(&s), [4, 3, 1], "deploy's runs");
    fx.chars(&mut s, "t");
    assert_eq!((s.workflows.state_filter, ids(&s)), (StateFilter::Active, vec![4]));
    fx.chars(&mut s, "tt");
    assert_eq!((s.workflows.state_filter, ids(&s)), (StateFilter::Failed, vec![3]));
    fx.key(&mut s, KeyCode::Esc);
    assert_eq!(s.workflows.runs_of, None, "Esc shows every workflow's runs");
    for _ in 0..4 {
        fx.chars(&mut s, "t");
    }
    assert_eq!(s.workflows.state_filter, StateFilter::All, "it cycles back to all");
    assert_eq!(ids(&s), [4, 3, 2, 1]);
}

#[test]
fn opening_a_run_reads_its_steps_and_the_selected_step_log() {
    let fx = Fx::new();
    let mut s = fx.state();
    open_failed_run(&fx, &mut s);
    let r = s.workflows.opened().unwrap();
    assert!(r.steps_loaded);
    assert_eq!(
        r.steps.iter().map(|s| s.state).collect::<Vec<_>>(),
        [RunState::Succeeded, RunState::Succeeded, RunState::Failed]
    );
    // Moving to an ended step asks for its stored log, once.
    let effects = fx.key(&mut s, KeyCode::Up);
    let sent = commands(&effects);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].1, WorkflowsCommand::StepLog { run: 3, attempt: Some(2), step: "approve".into() });
    answer(&fx, &mut s, &sent[0].0, Ok(json!({"lines": ["approved by bo"]})));
    assert_eq!(s.workflows.opened().unwrap().logs["approve"], ["approved by bo"]);
    assert!(commands(&fx.key(&mut s, KeyCode::Down)).is_empty(), "roll's was read already");
    assert!(commands(&fx.key(&mut s, KeyCode::Up)).is_empty(), "and approve's");
    fx.key(&mut s, KeyCode::Esc);
    assert_eq!(s.focus, BoxId::WfRuns, "Esc goes back to the runs");
}

#[test]
fn the_log_searches_follows_and_shows_failed_steps_only() {
    let fx = Fx::new();
    let mut s = fx.state();
    open_failed_run(&fx, &mut s);
    // The failed step is selected first; its log is read.
    assert_eq!(s.workflows.selected_step().map(|s| s.id.as_str()), Some("roll"));
    let lines: Vec<String> = (0..40).map(|i| format!("line {i}")).chain(["error: rollout failed".into()]).collect();
    s.workflows.log_answered(LOCAL_SOURCE, 3, 2, "roll", lines);
    fx.key(&mut s, KeyCode::Enter);
    assert_eq!(s.focus, BoxId::WfLog);
    assert!(s.workflows.log.follow);
    fx.chars(&mut s, "/line 3");
    assert!(s.workflows.log.editing);
    let lines: Vec<usize> = s.workflows.log_hits().iter().map(|h| h.line).collect();
    assert_eq!(lines, [3, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39]);
    fx.key(&mut s, KeyCode::Enter);
    assert!(!s.workflows.log.editing && !s.workflows.log.follow, "a hit is shown, not the end");
    fx.chars(&mut s, "n");
    assert_eq!(s.workflows.log.hit, 1);
    fx.chars(&mut s, "NN");
    assert_eq!(s.workflows.log.hit, 10, "N wraps to the last hit");
    fx.chars(&mut s, "F");
    assert!(s.workflows.log.follow);
    fx.key(&mut s, KeyCode::Esc);
    assert!(s.workflows.log.search.is_none(), "Esc clears the search first");
    // Failed steps only: a header per failed step, then its lines.
    fx.chars(&mut s, "e");
    let shown = s.workflows.log_lines();
    assert_eq!(shown[0], LogLine::Header("── roll · ✗ failed ──".into()));
    assert_eq!(shown.last().map(LogLine::text), Some("error: rollout failed"));
}

#[test]
fn cancel_and_abandon_ask_first_then_send_their_command() {
    let fx = Fx::new();
    let mut s = fx.state();
    fx.key(&mut s, KeyCode::Tab);
    assert!(fx.chars(&mut s, "x").is_empty(), "asks first");
    assert!(matches!(&s.overlay, Some(Overlay::Workflows(p)) if matches!(**p, WfPopup::Confirm { .. })));
    let sent = commands(&fx.key(&mut s, KeyCode::Enter));
    assert_eq!(sent[0].1, WorkflowsCommand::CancelRun { run: 4 });
    assert!(s.overlay.is_none());
    // #3 is not running: nothing to cancel, said.
    fx.key(&mut s, KeyCode::Down);
    assert!(fx.chars(&mut s, "x").is_empty());
    assert!(s.overlay.is_none());
    assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains("nothing to cancel")), "{:?}", s.notice);
    // Abandon is only for interrupted runs.
    fx.chars(&mut s, "D");
    assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains("only an interrupted run")));
    let mut r3 = run(3, 2, "deploy", RunState::Interrupted, NOW - 600_000, Some(90_000));
    r3.error = Some("was on roll".into());
    fx.event(&mut s, Event::RunChanged(Box::new(r3)));
    fx.chars(&mut s, "D");
    let sent = commands(&fx.key(&mut s, KeyCode::Enter));
    assert_eq!(sent[0].1, WorkflowsCommand::AbandonRun { run: 3 });
}

#[test]
fn resume_refused_for_an_unsafe_step_offers_to_run_it_again() {
    let fx = Fx::new();
    let mut s = fx.state();
    let r3 = run(3, 2, "deploy", RunState::Interrupted, NOW - 600_000, Some(90_000));
    fx.event(&mut s, Event::RunChanged(Box::new(r3)));
    fx.key(&mut s, KeyCode::Tab);
    fx.key(&mut s, KeyCode::Down);
    let sent = commands(&fx.chars(&mut s, "u"));
    assert_eq!(sent[0].1, WorkflowsCommand::ResumeRun { run: 3, rerun_unsafe: false });
    let why = "step roll of run #3 was running when opsdeck stopped and is marked idempotent = false: running it again may repeat what it did";
    answer(&fx, &mut s, &sent[0].0, Err(why.into()));
    let Some(Overlay::Workflows(p)) = &s.overlay else { panic!("a question expected: {:?}", s.overlay) };
    let WfPopup::Confirm { lines, .. } = &**p else { panic!() };
    assert_eq!(lines, &[why.to_string()], "the engine's reason is shown");
    let sent = commands(&fx.key(&mut s, KeyCode::Enter));
    assert_eq!(sent[0].1, WorkflowsCommand::ResumeRun { run: 3, rerun_unsafe: true });
}

#[test]
fn reruns_go_from_the_failed_steps_or_the_selected_step() {
    let fx = Fx::new();
    let mut s = fx.state();
    fx.key(&mut s, KeyCode::Tab);
    fx.key(&mut s, KeyCode::Down);
    let sent = commands(&fx.chars(&mut s, "f"));
    let want = WorkflowsCommand::RerunRun { run: 3, from: RerunFrom::Failed, current: false, inputs: None };
    assert_eq!(sent[0].1, want);
    fx.chars(&mut s, "R");
    assert!(
        s.notice.as_ref().is_some_and(|(_, n)| n.contains("select the step")),
        "in the runs list no step is selected"
    );
    open_failed_run(&fx, &mut s);
    fx.key(&mut s, KeyCode::Up);
    let sent = commands(&fx.chars(&mut s, "R"));
    let want =
        WorkflowsCommand::RerunRun { run: 3, from: RerunFrom::Step("approve".into()), current: false, inputs: None };
    assert_eq!(sent.last().map(|c| &c.1), Some(&want));
}

#[test]
fn approve_and_reject_the_waiting_step_with_a_note() {
    let fx = Fx::new();
    let mut s = fx.state();
    fx.key(&mut s, KeyCode::Tab);
    assert!(fx.chars(&mut s, "a").is_empty());
    let Some(Overlay::Workflows(p)) = &s.overlay else { panic!("{:?}", s.overlay) };
    let WfPopup::Decide { message, step, approve: true, .. } = &**p else { panic!() };
    assert_eq!((message.as_str(), step.as_str()), ("Roll v2 out to prod?", "approve"));
    fx.chars(&mut s, "looks good");
    let sent = commands(&fx.key(&mut s, KeyCode::Enter));
    let want =
        WorkflowsCommand::Approve { run: 4, step: "approve".into(), by: "ana".into(), note: "looks good".into() };
    assert_eq!(sent[0].1, want);
    fx.chars(&mut s, "X");
    let sent = commands(&fx.key(&mut s, KeyCode::Enter));
    let want = WorkflowsCommand::Reject { run: 4, step: "approve".into(), by: "ana".into(), note: String::new() };
    assert_eq!(sent[0].1, want);
    // A run with no waiting step says so.
    fx.key(&mut s, KeyCode::Down);
    fx.chars(&mut s, "a");
    assert!(s.overlay.is_none());
    assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains("no step waiting")));
    let _ = Decision { approved: true, by: String::new(), at: 0, note: String::new() };
}

#[test]
fn start_builds_a_form_from_the_inputs_and_opens_the_new_run() {
    let fx = Fx::new();
    let mut s = fx.state();
    fx.key(&mut s, KeyCode::Down);
    assert!(fx.chars(&mut s, "s").is_empty());
    let Some(Overlay::Workflows(p)) = &s.overlay else { panic!("{:?}", s.overlay) };
    let WfPopup::Start { form, on_start: false, .. } = &**p else { panic!() };
    let labels: Vec<&str> = form.fields.iter().map(|f| f.label()).collect();
    assert_eq!(labels, ["host", "version"], "required first");
    // Down past the last field is the start row; the required host is empty.
    fx.key(&mut s, KeyCode::Down);
    fx.key(&mut s, KeyCode::Down);
    assert!(commands(&fx.key(&mut s, KeyCode::Enter)).is_empty(), "host is required");
    assert!(matches!(&s.overlay, Some(Overlay::Workflows(_))), "the form stays open");
    // Fill host: Up to it, Enter edits, type, Enter keeps.
    fx.key(&mut s, KeyCode::Up);
    fx.key(&mut s, KeyCode::Up);
    fx.key(&mut s, KeyCode::Enter);
    fx.chars(&mut s, "web-1");
    fx.key(&mut s, KeyCode::Enter);
    fx.key(&mut s, KeyCode::Down);
    fx.key(&mut s, KeyCode::Enter);
    fx.key(&mut s, KeyCode::Down);
    let sent = commands(&fx.key(&mut s, KeyCode::Enter));
    let mut inputs = Map::new();
    inputs.insert("host".into(), json!("web-1"));
    inputs.insert("version".into(), json!("v2"));
    assert_eq!(sent[0].1, WorkflowsCommand::StartRun { workflow: "deploy".into(), inputs, by: "ana".into() });
    assert!(s.overlay.is_none());
    answer(&fx, &mut s, &sent[0].0, Ok(json!({"run": 5})));
    assert_eq!(s.workflows.open, Some((LOCAL_SOURCE.to_string(), 5)));
    assert_eq!(s.focus, BoxId::WfDetail);
    assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains("run #5")));
}

#[test]
fn read_only_refuses_a_workflow_that_changes_things_naming_its_steps() {
    let fx = Fx::new();
    let mut s = fx.state();
    s.read_only = true;
    fx.key(&mut s, KeyCode::Down);
    assert!(fx.chars(&mut s, "s").is_empty());
    assert!(s.overlay.is_none());
    let (_, n) = s.notice.clone().expect("a refusal");
    assert!(n.contains("read-only") && n.contains("build, roll"), "{n}");
    fx.key(&mut s, KeyCode::Tab);
    assert!(fx.chars(&mut s, "xa").is_empty(), "cancel and approve are refused too");
    assert!(s.overlay.is_none());
}

#[test]
fn a_source_reset_forgets_its_workflows_and_runs() {
    let fx = Fx::new();
    let mut s = fx.state();
    fx.act(&mut s, Action::SourceReset(LOCAL_SOURCE.into()));
    assert!(s.workflows.workflows.is_empty() && s.workflows.runs.is_empty());
}

#[path = "tests_more.rs"]
mod more;
