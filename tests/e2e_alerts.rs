//! The alerts pane end to end: a health check against a port that stops
//! listening turns firing on screen; acknowledge it; it resolves when the port
//! listens again, and the acknowledgement goes with it.

mod common;

use common::{OpsdeckEnv, TIMEOUT, expect_ok, quit_cleanly};

fn last_line(screen: &str) -> &str {
    screen.lines().last().unwrap_or("")
}

/// The alert's row in the list (the line with its state word and name).
fn row<'a>(screen: &'a str, name: &str) -> &'a str {
    let states = ["▲ firing", "△ pending", "✔ acked", "⊘ silenced", "○ resolved"];
    screen.lines().find(|l| l.contains(&format!(" {name} ")) && states.iter().any(|w| l.contains(w))).unwrap_or("")
}

/// The bundled host rules (CPU, memory, disk, load), each turned off: they
/// watch this machine, and a full disk on the test host would fire one and
/// change the counts this test reads. Built from the bundled file, so a rule
/// added there is turned off here too.
fn bundled_rules_off() -> String {
    let bundled = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/alerts/default.toml"))
        .expect("the bundled rules");
    let off = bundled.replace("[[rule]]\n", "[[rule]]\nenabled = false\n");
    assert!(bundled.contains("\n[[rule]]\n"), "{bundled}");
    assert_eq!(off.matches("\n[[rule]]\nenabled = false\n").count(), bundled.matches("\n[[rule]]\n").count(), "{off}");
    off
}

#[test]
fn a_check_fires_is_acknowledged_and_resolves() {
    let env = OpsdeckEnv::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let dir = env.root().join("config/opsdeck/alerts");
    std::fs::create_dir_all(&dir).expect("alerts dir");
    std::fs::write(dir.join("00-host.toml"), bundled_rules_off()).expect("rule file");
    std::fs::write(
        dir.join("checks.toml"),
        format!(
            "[[check]]\nname = \"dbport\"\ntcp = \"{addr}\"\ninterval = \"500ms\"\ntimeout = \"1s\"\nretries = 2\n"
        ),
    )
    .expect("rule file");
    let mut app = env.pty(&[], 150, 40);
    expect_ok(app.wait_for("the first frame", TIMEOUT, |s| s.contains("1 Metrics")));
    expect_ok(app.send("5"));
    expect_ok(app.wait_for("the check healthy", TIMEOUT, |s| {
        s.lines().any(|l| l.contains("check dbport") && l.contains(" ms") && l.contains("100%"))
    }));
    // The port stops listening: after two failed probes the alert fires.
    drop(listener);
    expect_ok(app.wait_for("the alert firing", TIMEOUT, |s| {
        row(s, "dbport").contains("▲ firing") && last_line(s).contains("▲ 1 firing")
    }));
    expect_ok(app.send("a"));
    expect_ok(app.wait_for("the note prompt", TIMEOUT, |s| s.contains("Acknowledge dbport")));
    expect_ok(app.send("restarting the db\r"));
    expect_ok(app.wait_for("acknowledged", TIMEOUT, |s| {
        row(s, "dbport").contains("✔ acked") && s.contains("restarting the db") && !last_line(s).contains("firing")
    }));
    // Listening again: resolved, and the acknowledgement is gone.
    let _again = std::net::TcpListener::bind(addr).expect("bind the same port again");
    expect_ok(app.wait_for("resolved", TIMEOUT, |s| {
        row(s, "dbport").contains("○ resolved") && !s.contains("restarting the db") && !last_line(s).contains("acked")
    }));
    // Its down probes count in its uptime: no longer 100 % over 24 hours.
    expect_ok(app.wait_for("the uptime below 100 %", TIMEOUT, |s| {
        s.lines().any(|l| l.contains("check dbport") && l.contains('%') && !l.contains("100%"))
    }));
    quit_cleanly(&mut app);
}
