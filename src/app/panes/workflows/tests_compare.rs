//! Reducer tests of comparing two runs and of a workflow's versions, through
//! the app: keys and answers in, state, commands and status-line text out.

use std::sync::Arc;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Map, Value, json};

use super::*;
use crate::app::{Action, AppState, BoxId, Ctx, Effect, Overlay, update};
use crate::config::keymap::Keymap;
use crate::config::settings::Config;
use crate::protocol::workflow::{Trigger, WorkflowsCommand, WorkflowsSnapshot};
use crate::protocol::{Command, Envelope, Event, LOCAL_SOURCE, Topic};

const NOW: Ts = 1_700_000_000_000;
const V1: &str = "111111111111";
const V2: &str = "222222222222";
const V3: &str = "333333333333";

struct Fx {
    keymap: Keymap,
    config: Config,
}

impl Fx {
    fn new() -> Self {
        Fx { keymap: Keymap::fallback(), config: Config::default() }
    }
    fn ctx(&self) -> Ctx<'_> {
        Ctx { now: NOW, keymap: &self.keymap, config: &self.config }
    }
    fn act(&self, s: &mut AppState, a: Action) -> Vec<Effect> {
        update(s, a, &self.ctx())
    }
    fn key(&self, s: &mut AppState, code: KeyCode) -> Vec<Effect> {
        self.act(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }
    fn char(&self, s: &mut AppState, c: char) -> Vec<Effect> {
        self.key(s, KeyCode::Char(c))
    }
    fn answer(&self, s: &mut AppState, id: &str, result: Result<Value, String>) -> Vec<Effect> {
        self.act(s, Action::CommandDone { source: LOCAL_SOURCE.into(), id: id.into(), result })
    }
    /// The workflows pane with deploy (at version V3) and backup, and runs
    /// #4 deploy failed, #3 backup, #2 deploy succeeded (V2), #1 deploy (V1).
    fn state(&self) -> AppState {
        let mut s = AppState::new(&self.ctx());
        let env = Envelope {
            epoch: 1,
            seq: 1,
            ts: NOW,
            source: LOCAL_SOURCE.into(),
            topic: Topic::Workflows,
            event: Event::Workflows(Box::new(snapshot())),
        };
        self.act(&mut s, Action::Events(vec![Arc::new(env)]));
        self.char(&mut s, '2');
        s
    }
}

fn workflow(name: &str, version: &str) -> WorkflowInfo {
    WorkflowInfo {
        name: name.into(),
        description: String::new(),
        version: version.into(),
        path: format!("/cfg/workflows/{name}.toml"),
        inputs: Vec::new(),
        steps: Vec::new(),
        next_fire: None,
    }
}

fn run(id: u64, workflow: &str, version: &str, state: RunState, ago: Ts, took: i64) -> Run {
    let steps: &[&str] = if workflow == "deploy" { &["build", "roll"] } else { &["dump"] };
    let mut inputs = Map::new();
    inputs.insert("host".into(), json!("web-1"));
    inputs.insert("tag".into(), json!(format!("v{id}")));
    Run {
        id,
        attempt: 1,
        workflow: workflow.into(),
        version: version.into(),
        inputs,
        trigger: Trigger::Manual { by: "ana".into() },
        state,
        created: NOW - ago,
        started: Some(NOW - ago),
        ended: Some(NOW - ago + took),
        error: None,
        steps: steps.iter().map(|s| s.to_string()).collect(),
        first_started: None,
        external: None,
    }
}

fn snapshot() -> WorkflowsSnapshot {
    WorkflowsSnapshot {
        workflows: vec![workflow("backup", "bbbbbbbbbbbb"), workflow("deploy", V3)],
        problems: Vec::new(),
        runs: vec![
            run(4, "deploy", V3, RunState::Failed, 60_000, 40_000),
            run(3, "backup", "bbbbbbbbbbbb", RunState::Succeeded, 120_000, 5_000),
            run(2, "deploy", V2, RunState::Succeeded, 600_000, 30_000),
            run(1, "deploy", V1, RunState::Succeeded, 900_000, 30_000),
        ],
        active_steps: Vec::new(),
    }
}

fn step(id: &str, state: RunState, started: Ts, took: i64, attempt: u32) -> StepRun {
    let mut s = StepRun::new(id, "shell");
    s.state = state;
    s.attempt = attempt;
    s.started = Some(started);
    s.ended = Some(started + took);
    s
}

/// `show_run`'s answer for run #2 (both steps succeeded) or #4 (roll failed on its 2nd try).
fn detail(id: u64) -> Value {
    let r = if id == 4 {
        run(4, "deploy", V3, RunState::Failed, 60_000, 40_000)
    } else {
        run(2, "deploy", V2, RunState::Succeeded, 600_000, 30_000)
    };
    let t0 = r.started.unwrap_or(0);
    let mut build = step("build", RunState::Succeeded, t0, 10_000, 1);
    build.output = Some(json!({"image": format!("web:{}", r.inputs["tag"].as_str().unwrap_or(""))}));
    let mut roll = if id == 4 {
        step("roll", RunState::Failed, t0 + 10_000, 30_000, 2)
    } else {
        step("roll", RunState::Succeeded, t0 + 10_000, 20_000, 1)
    };
    if id == 4 {
        roll.error = Some("exit status 1".into());
    }
    roll.outputs.insert("replicas".into(), json!(3));
    json!({"run": r, "steps": [build, roll]})
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

fn notice(s: &AppState) -> String {
    s.notice.as_ref().map(|(_, t)| t.clone()).unwrap_or_default()
}

/// Select run `id` in the runs list (all runs shown).
fn select_run(s: &mut AppState, id: u64) {
    s.focus = BoxId::WfRuns;
    s.workflows.runs_sel = s.workflows.run_rows().iter().position(|i| s.workflows.runs[*i].run.id == id).unwrap();
}

fn field<'a>(rows: &'a [CmpRow], name: &str) -> (&'a Side, &'a Side, bool) {
    rows.iter()
        .find_map(|r| match r {
            CmpRow::Field { label, left, right, differs } if label == name => Some((left, right, *differs)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no row {name} in {rows:#?}"))
}

#[test]
fn a_marked_run_is_compared_with_the_selected_one_from_their_show_run_answers() {
    let fx = Fx::new();
    let mut s = fx.state();
    select_run(&mut s, 2);
    fx.char(&mut s, 'm');
    assert_eq!(s.workflows.mark, Some((LOCAL_SOURCE.to_string(), 2)));
    assert!(notice(&s).contains("run #2 marked"), "{}", notice(&s));
    select_run(&mut s, 4);
    let effects = fx.char(&mut s, 'c');
    assert_eq!(s.focus, BoxId::WfCompare);
    let c = s.workflows.compare.clone().expect("a comparison");
    assert_eq!((c.left.1, c.right.1, c.back), (2, 4, BoxId::WfRuns), "older left, newer right");
    // Neither run's steps were read: both are asked for, once each.
    let sent = commands(&effects);
    let shows: Vec<u64> = sent
        .iter()
        .filter_map(|(_, c)| match c {
            WorkflowsCommand::ShowRun { run, attempt: None } => Some(*run),
            _ => None,
        })
        .collect();
    assert_eq!(shows, [2, 4], "{sent:?}");
    let rows = s.workflows.compare_rows(NOW);
    assert_eq!(field(&rows, "roll").1, &Side::Reading, "steps wait for show_run");
    for (id, c) in &sent {
        let WorkflowsCommand::ShowRun { run, .. } = c else { continue };
        fx.answer(&mut s, id, Ok(detail(*run)));
    }
    let rows = s.workflows.compare_rows(NOW);
    // The header: same workflow, other version and state.
    assert!(!field(&rows, "workflow").2);
    assert!(field(&rows, "version").2);
    assert_eq!(field(&rows, "state"), (&Side::State(RunState::Succeeded), &Side::State(RunState::Failed), true));
    assert_eq!(field(&rows, "duration").1, &Side::Dur { ms: Some(40_000), delta: Some(10_000) });
    // Inputs: the same host, another tag.
    assert!(!field(&rows, "host").2);
    assert_eq!(field(&rows, "tag"), (&Side::Json(json!("v2")), &Side::Json(json!("v4")), true));
    // Steps: build alike, roll failed on its second try, 10 s longer.
    assert!(!field(&rows, "build").2);
    let (l, r, differs) = field(&rows, "roll");
    assert!(differs);
    assert!(matches!(l, Side::Step { state: RunState::Succeeded, attempt: 1, ms: Some(20_000), delta: None, .. }));
    assert!(
        matches!(r, Side::Step { state: RunState::Failed, attempt: 2, ms: Some(30_000), delta: Some(10_000), .. }),
        "{r:?}"
    );
    // Outputs: build's result differs, roll's named output is alike, its error is only on the right.
    assert!(field(&rows, "build result").2);
    assert!(!field(&rows, "roll.replicas").2);
    assert_eq!(field(&rows, "roll error"), (&Side::Absent, &Side::Json(json!("exit status 1")), true));
    // Scrolling stays inside the rows; Esc closes and goes back.
    fx.key(&mut s, KeyCode::End);
    let last = s.workflows.compare.as_ref().map(|c| c.scroll);
    assert_eq!(last, Some(rows.len() - 1));
    fx.key(&mut s, KeyCode::Down);
    assert_eq!(s.workflows.compare.as_ref().map(|c| c.scroll), last);
    fx.key(&mut s, KeyCode::Esc);
    assert_eq!(s.focus, BoxId::WfRuns);
    assert!(s.workflows.compare.is_none());
    assert!(s.workflows.mark.is_some(), "the mark stays for the next comparison");
}

#[test]
fn without_a_mark_a_run_is_compared_with_its_workflows_previous_run() {
    let fx = Fx::new();
    let mut s = fx.state();
    select_run(&mut s, 4);
    fx.char(&mut s, 'm');
    fx.char(&mut s, 'm');
    assert_eq!(s.workflows.mark, None, "m again unmarks");
    assert!(notice(&s).contains("unmarked"));
    fx.char(&mut s, 'c');
    let c = s.workflows.compare.clone().expect("a comparison");
    assert_eq!((c.left.1, c.right.1), (2, 4), "backup's #3 is skipped");
    fx.key(&mut s, KeyCode::Esc);
    // The first run of a workflow has no previous one.
    select_run(&mut s, 1);
    let effects = fx.char(&mut s, 'c');
    assert!(s.workflows.compare.is_none() && commands(&effects).is_empty());
    assert_eq!(s.focus, BoxId::WfRuns);
    assert!(notice(&s).contains("nothing to compare run #1 with"), "{}", notice(&s));
}

#[test]
fn a_run_already_read_is_not_asked_for_again() {
    let fx = Fx::new();
    let mut s = fx.state();
    select_run(&mut s, 4);
    let effects = fx.char(&mut s, 'c');
    let sent = commands(&effects);
    assert_eq!(sent.len(), 2);
    for (id, c) in &sent {
        let WorkflowsCommand::ShowRun { run, .. } = c else { continue };
        fx.answer(&mut s, id, Ok(detail(*run)));
    }
    fx.key(&mut s, KeyCode::Esc);
    let effects = fx.char(&mut s, 'c');
    assert!(commands(&effects).is_empty(), "both runs' steps are known");
    assert_eq!(s.focus, BoxId::WfCompare);
}

/// `v` on deploy in the workflows list, and the list answered (oldest first).
fn versions_open(fx: &Fx, s: &mut AppState) {
    s.focus = BoxId::WfList;
    s.workflows.wf_sel = 1;
    let effects = fx.char(s, 'v');
    assert_eq!(s.focus, BoxId::WfVersions);
    let sent = commands(&effects);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, WorkflowsCommand::ListVersions { workflow: "deploy".into() });
    let list = json!([
        {"version": V1, "first_seen": NOW - 86_400_000, "current": false},
        {"version": V2, "first_seen": NOW - 3_600_000, "current": false},
        {"version": V3, "first_seen": NOW - 60_000, "current": true},
    ]);
    fx.answer(s, &sent[0].0, Ok(list));
}

fn shown(s: &AppState) -> Shown {
    s.workflows.versions.as_ref().and_then(|v| v.shown.clone()).expect("something shown")
}

#[test]
fn versions_list_newest_first_with_the_current_selected_and_show_a_versions_text() {
    let fx = Fx::new();
    let mut s = fx.state();
    versions_open(&fx, &mut s);
    let v = s.workflows.versions.as_ref().expect("versions");
    let listed: Vec<&str> = v.rows.iter().map(|r| r.version.as_str()).collect();
    assert_eq!(listed, [V3, V2, V1]);
    assert_eq!(v.sel, 0, "the current version is selected");
    assert_eq!(s.workflows.current_version().as_deref(), Some(V3));
    assert_eq!((s.workflows.runs_of_version(V3), s.workflows.runs_of_version(V1)), (1, 1));
    // The current version has nothing to diff with until another is marked.
    let effects = fx.char(&mut s, 'd');
    assert!(commands(&effects).is_empty());
    assert!(notice(&s).contains("is the current version"), "{}", notice(&s));
    fx.key(&mut s, KeyCode::Down);
    let effects = fx.key(&mut s, KeyCode::Enter);
    let sent = commands(&effects);
    let want = WorkflowsCommand::ShowVersion { workflow: "deploy".into(), version: V2.into(), against: None };
    assert_eq!(sent[0].1, want);
    assert_eq!(shown(&s).pending.as_deref(), Some(sent[0].0.as_str()));
    fx.answer(&mut s, &sent[0].0, Ok(json!({"version": V2, "text": "name = \"deploy\"\n[[step]]\n", "diff": "x"})));
    let sh = shown(&s);
    assert_eq!((sh.pending, sh.against, sh.lines), (None, None, vec!["name = \"deploy\"".into(), "[[step]]".into()]));
    fx.key(&mut s, KeyCode::Esc);
    assert_eq!(s.focus, BoxId::WfList);
    assert!(s.workflows.versions.is_none());
}

#[test]
fn a_diff_goes_from_the_current_version_or_from_the_older_marked_one_and_only_the_latest_answer_counts() {
    let fx = Fx::new();
    let mut s = fx.state();
    versions_open(&fx, &mut s);
    fx.key(&mut s, KeyCode::Down);
    let text = commands(&fx.key(&mut s, KeyCode::Enter));
    let diff = commands(&fx.char(&mut s, 'd'));
    let want =
        WorkflowsCommand::ShowVersion { workflow: "deploy".into(), version: V2.into(), against: Some(V3.into()) };
    assert_eq!(diff[0].1, want, "from the current version to the selected one");
    // The text asked for before arrives late: it is dropped.
    fx.answer(&mut s, &text[0].0, Ok(json!({"text": "old"})));
    assert!(shown(&s).lines.is_empty() && shown(&s).pending.is_some());
    let unified = "--- 333333333333\n+++ 222222222222\n@@ -1,2 +1,2 @@\n name = \"deploy\"\n-timeout = \"5s\"\n+timeout = \"9s\"\n";
    fx.answer(&mut s, &diff[0].0, Ok(json!({"text": "…", "diff": unified})));
    let sh = shown(&s);
    assert_eq!(sh.against.as_deref(), Some(V3));
    assert_eq!(sh.lines.len(), 6);
    assert_eq!(sh.lines[4], "-timeout = \"5s\"");
    // Mark V2, select V1: the diff goes from the older (V1) to the newer (V2).
    fx.char(&mut s, 'm');
    fx.key(&mut s, KeyCode::Down);
    let sent = commands(&fx.char(&mut s, 'd'));
    let want =
        WorkflowsCommand::ShowVersion { workflow: "deploy".into(), version: V2.into(), against: Some(V1.into()) };
    assert_eq!(sent[0].1, want);
    fx.answer(&mut s, &sent[0].0, Ok(json!({"diff": ""})));
    assert_eq!(shown(&s).lines, ["(the two versions are the same)"]);
    fx.answer(&mut s, "nobody-asked", Ok(json!({"diff": "+x"})));
    assert_eq!(shown(&s).lines, ["(the two versions are the same)"]);
}

#[test]
fn a_rollback_asks_first_and_says_how_it_went() {
    let fx = Fx::new();
    let mut s = fx.state();
    versions_open(&fx, &mut s);
    // The current version is no rollback.
    fx.char(&mut s, 'B');
    assert!(s.overlay.is_none());
    assert!(notice(&s).contains("already at version 333333333333"), "{}", notice(&s));
    fx.key(&mut s, KeyCode::End);
    let effects = fx.char(&mut s, 'B');
    assert!(commands(&effects).is_empty(), "nothing is sent before the answer");
    let Some(Overlay::Workflows(p)) = &s.overlay else { panic!("a question expected: {:?}", s.overlay) };
    let WfPopup::Confirm { command, question, lines, .. } = &**p else { panic!("{p:?}") };
    assert_eq!(command, &WorkflowsCommand::Rollback { workflow: "deploy".into(), version: V1.into() });
    assert_eq!(question, "Roll deploy back to version 111111111111?");
    assert!(lines[0].contains("/cfg/workflows/deploy.toml"), "{lines:?}");
    // n: nothing happens.
    fx.char(&mut s, 'n');
    assert!(s.overlay.is_none());
    fx.char(&mut s, 'B');
    let sent = commands(&fx.char(&mut s, 'y'));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, WorkflowsCommand::Rollback { workflow: "deploy".into(), version: V1.into() });
    fx.answer(&mut s, &sent[0].0, Ok(json!({"workflow": "deploy", "version": V1})));
    assert_eq!(notice(&s), "✓ deploy rolled back to version 111111111111 on local");
    let sent = commands(&{
        fx.char(&mut s, 'B');
        fx.char(&mut s, 'y')
    });
    fx.answer(&mut s, &sent[0].0, Err("/cfg/workflows/deploy.toml: cannot write it: permission denied".into()));
    assert!(notice(&s).starts_with("✗ local refused") && notice(&s).contains("permission denied"), "{}", notice(&s));
}

#[test]
fn read_only_refuses_a_rollback_but_shows_versions() {
    let fx = Fx::new();
    let mut s = fx.state();
    s.read_only = true;
    versions_open(&fx, &mut s);
    fx.key(&mut s, KeyCode::Down);
    let effects = fx.char(&mut s, 'B');
    assert!(commands(&effects).is_empty() && s.overlay.is_none());
    assert!(notice(&s).contains("rolling a workflow back"), "{}", notice(&s));
}

#[test]
fn versions_from_a_run_select_the_version_it_ran() {
    let fx = Fx::new();
    let mut s = fx.state();
    select_run(&mut s, 2);
    let sent = commands(&fx.char(&mut s, 'v'));
    assert_eq!(sent[0].1, WorkflowsCommand::ListVersions { workflow: "deploy".into() });
    assert_eq!(s.workflows.versions.as_ref().map(|v| v.back), Some(BoxId::WfRuns));
    let list = json!([{"version": V1, "first_seen": 1, "current": false}, {"version": V2, "first_seen": 2, "current": false}, {"version": V3, "first_seen": 3, "current": true}]);
    fx.answer(&mut s, &sent[0].0, Ok(list));
    let v = s.workflows.versions.as_ref().expect("versions");
    assert_eq!(v.selected().map(|r| r.version.as_str()), Some(V2));
    // A refusal is shown in the box.
    let sent = commands(&fx.char(&mut s, 'v'));
    fx.answer(&mut s, &sent[0].0, Err("no stored versions of workflow \"deploy\"".into()));
    assert!(s.workflows.versions.as_ref().and_then(|v| v.error.as_deref()).is_some_and(|e| e.contains("no stored")));
}

/// A marked diff is never called a rollback preview, even when one side is
/// the current file (after a rollback); without a mark it is one.
#[test]
fn a_marked_diff_is_not_a_rollback_preview_even_after_a_rollback() {
    let fx = Fx::new();
    let mut s = fx.state();
    versions_open(&fx, &mut s);
    // The rollback to V1 landed: the source announces V1 as deploy's version.
    for (_, w) in s.workflows.workflows.iter_mut().filter(|(_, w)| w.name == "deploy") {
        w.version = V1.into();
    }
    fx.key(&mut s, KeyCode::Down);
    fx.key(&mut s, KeyCode::Down);
    fx.char(&mut s, 'm'); // V1 marked
    fx.key(&mut s, KeyCode::Up); // V2 selected
    let sent = commands(&fx.char(&mut s, 'd'));
    let want =
        WorkflowsCommand::ShowVersion { workflow: "deploy".into(), version: V2.into(), against: Some(V1.into()) };
    assert_eq!(sent[0].1, want, "first seen earlier on the - side");
    assert!(!shown(&s).rollback_preview, "a marked diff");
    fx.char(&mut s, 'm');
    fx.char(&mut s, 'm'); // V2 marked, then unmarked: no mark
    assert!(s.workflows.versions.as_ref().is_some_and(|v| v.mark.is_none()));
    let sent = commands(&fx.char(&mut s, 'd'));
    assert_eq!(
        sent[0].1,
        WorkflowsCommand::ShowVersion { workflow: "deploy".into(), version: V2.into(), against: Some(V1.into()) }
    );
    assert!(shown(&s).rollback_preview, "from the current file to the selected version");
}

#[test]
fn a_versions_long_lines_scroll_sideways_and_never_past_the_widest() {
    let fx = Fx::new();
    let mut s = fx.state();
    versions_open(&fx, &mut s);
    let sent = commands(&fx.key(&mut s, KeyCode::Enter));
    let long = format!("command = \"{}END\"", "x".repeat(100));
    fx.answer(&mut s, &sent[0].0, Ok(json!({"version": V3, "text": format!("name = \"deploy\"\n{long}\n")})));
    assert_eq!(shown(&s).widest, crate::text::width(&long));
    fx.key(&mut s, KeyCode::Right);
    assert_eq!(shown(&s).hscroll, SIDEWAYS_STEP);
    for _ in 0..20 {
        fx.key(&mut s, KeyCode::Right);
    }
    assert_eq!(shown(&s).hscroll, crate::text::width(&long) - 1, "no further than the widest line");
    for _ in 0..20 {
        fx.key(&mut s, KeyCode::Left);
    }
    assert_eq!(shown(&s).hscroll, 0);
    // A new answer starts at the left edge again.
    fx.key(&mut s, KeyCode::Right);
    let sent = commands(&fx.key(&mut s, KeyCode::Enter));
    fx.answer(&mut s, &sent[0].0, Ok(json!({"version": V3, "text": "a\n"})));
    assert_eq!((shown(&s).hscroll, shown(&s).widest), (0, 1));
}
