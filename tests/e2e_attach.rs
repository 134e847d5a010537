//! E23 in a real terminal: `opsdeck` started while `opsdeck serve` holds the
//! data directory attaches to it through its control socket, instead of
//! refusing to start.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{OpsdeckEnv, TIMEOUT, expect_ok, quit_cleanly};

/// The server, killed however the test ends: a failed assertion must not
/// leave it running (holding the data directory, and whatever the test
/// runner's parent had open, such as a build lock).
fn last_line(screen: &str) -> &str {
    screen.trim_end().lines().last().unwrap_or("")
}

#[test]
fn a_tui_started_beside_serve_attaches_to_it() {
    let env = OpsdeckEnv::new();
    let mut serve = env.command(&["--refresh", "200ms", "serve", "--no-auth", "--listen", "127.0.0.1:0"]);
    let mut server =
        common::KillOnDrop(serve.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn serve"));
    let stderr = server.0.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("listening on") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(TIMEOUT).expect("serve is listening");

    let mut app = env.pty(&[], 140, 40);
    expect_ok(app.wait_for("the attach notice and the holder's samples", TIMEOUT, |s| {
        s.contains("attached to the opsdeck that holds the data directory") && s.contains("CPU")
    }));
    expect_ok(app.wait_for("the local source live", TIMEOUT, |s| last_line(s).contains("local")));
    assert!(!app.screen_text().contains("another opsdeck is already using"));

    // The holder stops: the TUI keeps running and says the link is down.
    server.0.kill().expect("kill serve");
    server.0.wait().expect("reap");
    expect_ok(app.wait_for("the lost link", TIMEOUT, |s| last_line(s).contains("retry")));
    assert!(app.is_alive(), "the TUI survives its holder going away");
    quit_cleanly(&mut app);
}
