//! Process actions on the real binary in a pseudo-terminal: a child process
//! this test started is found, its details shown, and a signal chosen and
//! confirmed in the TUI ends it.

mod common;

use std::time::{Duration, Instant};

use common::{OpsdeckEnv, TIMEOUT, expect_ok, quit_cleanly};

#[test]
fn a_signal_sent_from_the_tui_ends_the_process() {
    let mut child = common::KillOnDrop(std::process::Command::new("sleep").arg("600").spawn().expect("sleep"));
    let pid = child.id().to_string();
    let env = OpsdeckEnv::new();
    let mut app = env.pty(&[], 160, 40);
    expect_ok(app.wait_for("the process list", TIMEOUT, |s| s.contains("▶ Processes")));
    // Filter by its pid (an exact pid matches), then its details.
    expect_ok(app.send(&format!("/{pid}\r")));
    expect_ok(app.wait_for("only the sleep process", TIMEOUT, |s| s.contains("Processes 1/") && s.contains("sleep")));
    expect_ok(app.send("\r"));
    expect_ok(app.wait_for("its details", TIMEOUT, |s| {
        s.contains(&format!("Process {pid} sleep on local")) && s.contains("sleep 600") && s.contains("started")
    }));
    expect_ok(app.send_key(common::pty::Key::Esc));
    // Wait for the popup to close: an Esc followed at once by K reads as Alt-K.
    expect_ok(app.wait_for("the details closed", TIMEOUT, |s| !s.contains(&format!("Process {pid} sleep on local"))));
    // K: the signals, TERM first; Enter asks; y sends.
    expect_ok(app.send("K"));
    expect_ok(app.wait_for("the signal list", TIMEOUT, |s| s.contains("Send a signal to") && s.contains("▸ TERM")));
    expect_ok(app.send("\r"));
    expect_ok(app.wait_for("the question", TIMEOUT, |s| s.contains(&format!("Send TERM to process {pid} (sleep)"))));
    assert!(child.try_wait().expect("try_wait").is_none(), "nothing is sent before the answer");
    expect_ok(app.send("y"));
    expect_ok(
        app.wait_for("the outcome", TIMEOUT, |s| s.contains(&format!("✓ TERM to process {pid} (sleep) on local"))),
    );
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        assert!(Instant::now() < deadline, "the process still runs after TERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success(), "ended by the signal: {status:?}");
    quit_cleanly(&mut app);
}
