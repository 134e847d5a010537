//! The workflows pane end to end (issue 12, Tests): the real binary in a
//! pseudo-terminal, read through vt100. Starts a workflow from its form and
//! sees its steps succeed one after the other; starts it again with a bad
//! input, sees the step fail, reruns it with the input fixed (`I`) and sees
//! the run succeed as its attempt 2 — then reads the record with
//! `opsdeck runs show RUN --json`. And over the wire: a start made while
//! the `opsdeck serve` backend is down waits in the outbox and runs once
//! when it is back.

mod common;
mod wire;

use std::path::Path;

use common::{OpsdeckEnv, TIMEOUT, expect_ok, output_within, quit_cleanly};
use opsdeck::protocol::workflow::{RunDetail, RunState};

/// Three shell steps one after the other. `warmup` waits for the file
/// `go1` and `modecheck` for `go2` (the test creates them, so each step is
/// seen running before it ends); `modecheck` fails unless `mode` is `good`.
fn gate(dir: &Path) -> String {
    let (go1, go2) = (dir.join("go1"), dir.join("go2"));
    format!(
        r#"name = "gate"
description = "Checks the mode, one step at a time"

[inputs.mode]
type = "string"
description = "the mode to check"
required = true

[[step]]
id = "warmup"
uses = "shell"
with = {{ command = 'while [ ! -e "{go1}" ]; do sleep 0.05; done; echo warm' }}

[[step]]
id = "modecheck"
uses = "shell"
needs = ["warmup"]
with = {{ command = 'while [ ! -e "{go2}" ]; do sleep 0.05; done; test "{{{{ inputs.mode }}}}" = good && echo mode ok' }}

[[step]]
id = "report"
uses = "shell"
needs = ["modecheck"]
with = {{ command = 'echo reported' }}
"#,
        go1 = go1.display(),
        go2 = go2.display()
    )
}

/// A screen row shows `step` in `state` (its glyph and word, e.g. `✓ succeeded`).
fn step_is(screen: &str, step: &str, state: RunState) -> bool {
    let shown = format!("{} {}", state.glyph(), state.word());
    screen.lines().any(|l| l.contains(&shown) && l.split_whitespace().any(|w| w == step))
}

/// The run box's title says `run` is in `state`, at `attempt` (said from the second on).
fn run_is(screen: &str, run: u64, state: RunState, attempt: u32) -> bool {
    let shown = format!("{} {}", state.glyph(), state.word());
    screen.lines().any(|l| {
        let at = if attempt > 1 { l.contains(&format!("attempt {attempt}")) } else { !l.contains("attempt") };
        l.contains(&format!("Run #{run}")) && l.contains(&shown) && at
    })
}

fn touch(p: &Path) {
    std::fs::write(p, b"").unwrap_or_else(|e| panic!("creating {}: {e}", p.display()));
}

/// In the open start (or rerun) form with the `mode` field selected: type
/// `mode` in place of what it held, go down to the start row and press Enter.
fn fill_mode_and_submit(app: &mut common::pty::PtySession, held: &str, mode: &str) {
    expect_ok(app.send("\r"));
    expect_ok(app.wait_for("the field editor", TIMEOUT, |s| s.contains("Esc done")));
    expect_ok(app.send(&"\x7f".repeat(held.chars().count())));
    expect_ok(app.send(mode));
    expect_ok(app.send("\r"));
    expect_ok(app.wait_for("the field kept", TIMEOUT, |s| !s.contains("Esc done") && s.contains(mode)));
    expect_ok(app.send("\x1b[B"));
    expect_ok(app.wait_for("the start row selected", TIMEOUT, |s| {
        s.contains("▸ ▶ Start the run (Enter)") || s.contains("▸ ↻ Rerun with these inputs (Enter)")
    }));
    expect_ok(app.send("\r"));
}

#[test]
fn start_a_workflow_from_its_form_then_rerun_a_failed_step_with_its_input_fixed() {
    let env = OpsdeckEnv::new();
    let dir = env.root().join("config/opsdeck/workflows");
    std::fs::create_dir_all(&dir).expect("the workflows directory");
    std::fs::write(dir.join("gate.toml"), gate(env.root())).expect("gate.toml");

    let mut app = env.pty(&[], 140, 40);
    expect_ok(app.wait_for("the first frame", TIMEOUT, |s| s.contains("1 Metrics")));
    expect_ok(app.send("2"));
    expect_ok(app.wait_for("the workflow listed", TIMEOUT, |s| s.contains("never run") && s.contains("gate")));

    // Start it from its form with a good mode.
    expect_ok(app.send("s"));
    expect_ok(app.wait_for("the start form", TIMEOUT, |s| {
        s.contains("Start gate on local") && s.contains("mode*") && s.contains("Start the run")
    }));
    fill_mode_and_submit(&mut app, "", "good");
    expect_ok(app.wait_for("run #1 open, warmup running", TIMEOUT, |s| {
        run_is(s, 1, RunState::Running, 1)
            && step_is(s, "warmup", RunState::Running)
            && step_is(s, "modecheck", RunState::Queued)
    }));
    // Step by step: each gate opened shows the next step running.
    touch(&env.root().join("go1"));
    expect_ok(app.wait_for("warmup succeeded, modecheck running", TIMEOUT, |s| {
        step_is(s, "warmup", RunState::Succeeded)
            && step_is(s, "modecheck", RunState::Running)
            && step_is(s, "report", RunState::Queued)
    }));
    touch(&env.root().join("go2"));
    expect_ok(app.wait_for("every step succeeded", TIMEOUT, |s| {
        run_is(s, 1, RunState::Succeeded, 1)
            && ["warmup", "modecheck", "report"].iter().all(|id| step_is(s, id, RunState::Succeeded))
    }));

    // Again with a bad mode: modecheck fails and report is skipped.
    expect_ok(app.send("\x1b"));
    expect_ok(app.wait_for("the runs list focused", TIMEOUT, |s| s.contains("▶ Runs")));
    expect_ok(app.send("\x1b[Z"));
    expect_ok(app.wait_for("the workflows list focused", TIMEOUT, |s| s.contains("▶ Workflows")));
    expect_ok(app.send("s"));
    expect_ok(app.wait_for("the start form again", TIMEOUT, |s| s.contains("Start gate on local")));
    fill_mode_and_submit(&mut app, "", "bad");
    expect_ok(app.wait_for("run #2 failed at modecheck", TIMEOUT, |s| {
        run_is(s, 2, RunState::Failed, 1)
            && step_is(s, "warmup", RunState::Succeeded)
            && step_is(s, "modecheck", RunState::Failed)
            && step_is(s, "report", RunState::Skipped)
    }));

    // Select the failed step, rerun it with the mode fixed.
    expect_ok(app.send("\x1b[H\x1b[B"));
    expect_ok(app.wait_for("modecheck selected", TIMEOUT, |s| {
        s.lines().any(|l| l.contains("▸✗ failed") && l.contains("modecheck"))
    }));
    expect_ok(app.send("I"));
    expect_ok(app.wait_for("the form filled with the run's inputs", TIMEOUT, |s| {
        s.contains("Rerun #2 gate on local with edited inputs")
            && s.contains("from step modecheck")
            && s.lines().any(|l| l.contains("mode*") && l.contains("bad"))
    }));
    fill_mode_and_submit(&mut app, "bad", "good");
    expect_ok(app.wait_for("run #2 succeeded as attempt 2", TIMEOUT, |s| {
        run_is(s, 2, RunState::Succeeded, 2)
            && ["warmup", "modecheck", "report"].iter().all(|id| step_is(s, id, RunState::Succeeded))
    }));
    quit_cleanly(&mut app);

    // The record: attempt 2 ran with mode good, warmup's outcome reused.
    let out = output_within(env.command(&["runs", "show", "2", "--json"]), TIMEOUT);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let d: RunDetail =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!((d.run.attempt, d.run.state), (2, RunState::Succeeded), "{d:?}");
    assert_eq!(d.run.inputs.get("mode"), Some(&serde_json::json!("good")));
    let states: Vec<(&str, RunState, bool)> = d.steps.iter().map(|s| (s.id.as_str(), s.state, s.reused)).collect();
    assert_eq!(
        states,
        [
            ("warmup", RunState::Succeeded, true),
            ("modecheck", RunState::Succeeded, false),
            ("report", RunState::Succeeded, false)
        ]
    );
    let first = output_within(env.command(&["runs", "show", "2", "--attempt", "1", "--json"]), TIMEOUT);
    let d1: RunDetail = serde_json::from_slice(&first.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&first.stdout)));
    assert_eq!((d1.run.attempt, d1.run.state), (1, RunState::Failed), "attempt 1 is kept: {d1:?}");
    assert_eq!(d1.run.inputs.get("mode"), Some(&serde_json::json!("bad")));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// The TUI connected to `opsdeck serve --backend`: with the backend down, a
/// workflow started from the pane waits in the outbox (`⧗ 1 queued`); when
/// the backend is back it is delivered and runs once — one run, one side
/// effect, the outbox empty.
#[test]
fn a_start_queued_while_the_backend_is_down_runs_once_when_it_is_back() {
    let serve_home = tempfile::Builder::new().prefix("opsdeck-serve-").tempdir().expect("tempdir");
    let marks = serve_home.path().join("marks.txt");
    let dir = serve_home.path().join("config/opsdeck/workflows");
    std::fs::create_dir_all(&dir).expect("the workflows directory");
    let ping = format!(
        "name = \"ping\"\ndescription = \"Marks a file once per run\"\n\n[[step]]\nid = \"mark\"\nuses = \"shell\"\n\
         with = {{ command = 'echo ran >> \"{}\"' }}\n",
        marks.display()
    );
    std::fs::write(dir.join("ping.toml"), ping).expect("ping.toml");
    let listen = format!("127.0.0.1:{}", free_port());
    let server = wire::start_at(serve_home.path(), &listen, &["--no-auth"]);

    let env = OpsdeckEnv::new();
    let backend = format!("edge=ws://{listen}");
    let mut app = env.pty(&["--backend", &backend], 140, 40);
    expect_ok(app.wait_for("the first frame", TIMEOUT, |s| s.contains("1 Metrics")));
    expect_ok(app.send("2"));
    expect_ok(app.wait_for("edge's workflow, edge live", TIMEOUT, |s| s.contains("ping") && s.contains("● edge live")));

    // The backend goes down; the start waits in the outbox.
    drop(server);
    expect_ok(app.wait_for("edge offline", TIMEOUT, |s| s.contains("◌ edge retry in")));
    expect_ok(app.send("s"));
    expect_ok(app.wait_for("the start form", TIMEOUT, |s| {
        s.contains("Start ping on edge") && s.contains("▸ ▶ Start the run (Enter)")
    }));
    expect_ok(app.send("\r"));
    expect_ok(app.wait_for("the start queued", TIMEOUT, |s| s.contains("⧗ 1 queued")));
    assert!(!marks.exists(), "nothing ran while edge was down");

    // Back: delivered, answered (the new run opens), run once.
    let server = wire::start_at(serve_home.path(), &listen, &["--no-auth"]);
    expect_ok(app.wait_for("run #1 on edge succeeded, nothing queued", TIMEOUT, |s| {
        run_is(s, 1, RunState::Succeeded, 1) && step_is(s, "mark", RunState::Succeeded) && !s.contains("queued")
    }));
    quit_cleanly(&mut app);

    let marks_text = std::fs::read_to_string(&marks).expect("the run's mark");
    assert_eq!(marks_text.lines().count(), 1, "the step ran once: {marks_text:?}");
    let out = output_within(env.command(&["runs", "--json", "--backend", &format!("ws://{listen}")]), TIMEOUT);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let runs: Vec<opsdeck::protocol::workflow::Run> =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let ids: Vec<(u64, &str)> = runs.iter().map(|r| (r.id, r.workflow.as_str())).collect();
    assert_eq!(ids, [(1, "ping")], "the run appears once on edge");
    drop(server);
    let store =
        opsdeck::engine::store::Store::open(&env.root().join("data/opsdeck"), 1 << 20).expect("the TUI's store");
    assert!(store.outbox_list("edge").expect("the outbox").is_empty(), "delivered and dropped from the outbox");
}
