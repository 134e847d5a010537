//! The workflows pane seeded for snapshots: deploy, backup and
//! health-sweep with their runs, run #5 failed with its log, deploy's versions.

use std::sync::Arc;

use opsdeck::app::{Action, AppState, BoxId, UserAction, update};
use opsdeck::protocol::workflow::{
    InputInfo, Run, RunDetail, RunState, StepInfo, StepRun, Trigger, WorkflowInfo, WorkflowsSnapshot,
};
use opsdeck::protocol::{Envelope, Event, LOCAL_SOURCE, Topic, Ts};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use serde_json::{Map, json};

use super::{NOW, Seed};

#[allow(unused_imports)] // not every test crate uses both
pub use super::{draw, key};

pub fn screen(t: &Terminal<TestBackend>) -> String {
    t.backend().buffer().content().iter().map(|c| c.symbol()).collect()
}

pub fn run(id: u64, attempt: u32, workflow: &str, state: RunState, ago: Ts, took: Option<i64>) -> Run {
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
        external: None,
    }
}

pub fn step(id: &str, uses: &str, state: RunState, start: Option<Ts>, took: Option<i64>) -> StepRun {
    let mut s = StepRun::new(id, uses);
    s.state = state;
    s.attempt = u32::from(start.is_some());
    s.started = start;
    s.ended = start.zip(took).map(|(a, d)| a + d);
    s
}

pub fn info(id: &str, uses: &str, needs: &[&str], mutating: bool) -> StepInfo {
    StepInfo {
        id: id.into(),
        uses: uses.into(),
        needs: needs.iter().map(|s| s.to_string()).collect(),
        mutating,
        reads: None,
    }
}

pub fn snapshot() -> WorkflowsSnapshot {
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
pub const FIRST_5: Ts = NOW - 2_700_000;

/// Run #5 ·2 (failed): build and test reused from attempt 1 (at its times,
/// long before this attempt), roll failed on its 3rd try, verify skipped.
pub fn failed_detail() -> RunDetail {
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
pub fn first_attempt_detail() -> RunDetail {
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

pub fn roll_log() -> Vec<String> {
    let mut v: Vec<String> = (1..=12)
        .map(|i| {
            format!("Waiting for deployment \"web\" rollout to finish: {i} of 12 updated replicas are available...")
        })
        .collect();
    v.push("error: deployment \"web\" exceeded its progress deadline".into());
    v.push("exit status 1".into());
    v
}

pub fn chars(seed: &Seed, s: &mut AppState, text: &str) {
    text.chars().for_each(|c| key(seed, s, KeyCode::Char(c)));
}

/// The app on the workflows pane with the seeded workflows and runs.
pub fn state(seed: &Seed) -> AppState {
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

/// The user's action `a`, and the id of the command it sent (`what` names
/// it when none was sent).
pub fn ask(seed: &Seed, s: &mut AppState, a: UserAction, what: &str) -> String {
    let effects = update(s, Action::User(a), &seed.ctx());
    command_id(&effects, what)
}

/// The id of the first command among `effects` (`what` names it when there
/// is none).
pub fn command_id(effects: &[opsdeck::app::Effect], what: &str) -> String {
    effects
        .iter()
        .find_map(|e| match e {
            opsdeck::app::Effect::Command { id, .. } => Some(id.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{what} asked"))
}

/// Command `id` answered by the local source; the effects that follow.
pub fn answer(seed: &Seed, s: &mut AppState, id: String, result: serde_json::Value) -> Vec<opsdeck::app::Effect> {
    update(s, Action::CommandDone { source: LOCAL_SOURCE.into(), id, result: Ok(result) }, &seed.ctx())
}

/// Run #5 open with its steps and roll's stored log answered.
pub fn failed_run_open(seed: &Seed) -> AppState {
    let mut s = state(seed);
    s.focus = BoxId::WfRuns;
    for _ in 0..2 {
        key(seed, &mut s, KeyCode::Down);
    }
    let show = ask(seed, &mut s, UserAction::Confirm, "show_run");
    let effects = answer(seed, &mut s, show, serde_json::to_value(failed_detail()).expect("json"));
    let log = command_id(&effects, "step_log");
    answer(seed, &mut s, log, json!({"run": 5, "attempt": 2, "step": "roll", "lines": roll_log()}));
    s
}

/// deploy's versions listed (oldest first in the answer), the oldest selected.
pub fn versions(seed: &Seed) -> AppState {
    let mut s = state(seed);
    key(seed, &mut s, KeyCode::Down);
    assert_eq!(s.workflows.selected_workflow().map(|(_, w)| w.name.as_str()), Some("deploy"));
    let id = ask(seed, &mut s, UserAction::WorkflowVersions, "list_versions");
    let list = json!([
        {"version": "0a1b2c3d4e5f", "first_seen": NOW - 30 * 86_400_000, "current": false},
        {"version": "1b2c3d4e5f60", "first_seen": NOW - 2 * 86_400_000, "current": false},
        {"version": "3f9a0c21b7de", "first_seen": NOW - 3_600_000, "current": true},
    ]);
    answer(seed, &mut s, id, list);
    key(seed, &mut s, KeyCode::Down);
    s
}

pub fn version_diff(seed: &Seed) -> AppState {
    let mut s = versions(seed);
    let id = ask(seed, &mut s, UserAction::VersionDiff, "show_version");
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
    answer(seed, &mut s, id, json!({"version": "1b2c3d4e5f60", "against": "3f9a0c21b7de", "text": "…", "diff": diff}));
    s
}
