//! Quitting with runs in flight, and the start after it, end to end (the
//! real binary in a pseudo-terminal at 80x24): `q` asks first while the
//! in-process engine runs a workflow (`n` stays, `y` quits); the next start
//! says "1 run interrupted — 2 to see them" in the status bar, opens no
//! popup (so the first key pressed is not lost: `2` shows the workflows
//! pane at once), and counts it as no config problem.

mod common;

use common::{OpsdeckEnv, TIMEOUT, expect_ok, quit_cleanly};

fn last_line(screen: &str) -> &str {
    screen.lines().last().unwrap_or("")
}

#[test]
fn q_asks_while_a_run_is_in_flight_and_the_next_start_says_it_was_interrupted() {
    let env = OpsdeckEnv::new();
    let dir = env.root().join("config/opsdeck/workflows");
    std::fs::create_dir_all(&dir).expect("the workflows directory");
    let go = env.root().join("go");
    let hold = format!(
        "name = \"hold\"\ndescription = \"Waits for a file\"\n\n[[step]]\nid = \"wait\"\nuses = \"shell\"\nwith = {{ command = 'while [ ! -e \"{}\" ]; do sleep 0.05; done' }}\n",
        go.display()
    );
    std::fs::write(dir.join("hold.toml"), hold).expect("hold.toml");

    let mut app = env.pty(&[], 80, 24);
    expect_ok(app.wait_for("the first frame", TIMEOUT, |s| s.contains("1 Metrics")));
    expect_ok(app.send("2"));
    expect_ok(app.wait_for("the workflow listed", TIMEOUT, |s| s.contains("never run") && s.contains("hold")));
    expect_ok(app.send("s"));
    expect_ok(app.wait_for("the start form", TIMEOUT, |s| s.contains("Start the run")));
    expect_ok(app.send("\r"));
    expect_ok(app.wait_for("the run in flight", TIMEOUT, |s| last_line(s).contains("▶1 running")));

    expect_ok(app.send("q"));
    expect_ok(app.wait_for("the quit question", TIMEOUT, |s| {
        s.contains("Quit opsdeck?") && s.contains("1 workflow run is in flight") && s.contains("interrupted")
    }));
    expect_ok(app.send("n"));
    expect_ok(app.wait_for("n stays", TIMEOUT, |s| !s.contains("Quit opsdeck?")));
    assert!(app.is_alive(), "n does not quit");
    expect_ok(app.send("q"));
    expect_ok(app.wait_for("asked again", TIMEOUT, |s| s.contains("Quit opsdeck?")));
    expect_ok(app.send("y"));
    let status = expect_ok(app.wait_exit(TIMEOUT));
    assert!(status.success(), "y quits with status 0, got {status:?}");

    let mut app = env.pty(&[], 80, 24);
    expect_ok(app.wait_for("the interrupted run said in the status bar", TIMEOUT, |s| {
        last_line(s).contains("⏹ 1 run interrupted — 2 to see them") && s.contains("1 Metrics")
    }));
    let screen = app.screen_text();
    assert!(!screen.contains("config problem") && !screen.contains("Problems at start"), "{screen}");
    // No popup to eat it: the first key does what it says.
    expect_ok(app.send("2"));
    expect_ok(app.wait_for("the workflows pane, the label gone", TIMEOUT, |s| {
        s.contains("▶ Workflows") && s.contains("interrupted") && !last_line(s).contains("run interrupted")
    }));
    // Nothing in flight now: q quits at once.
    quit_cleanly(&mut app);
}
