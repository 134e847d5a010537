//! D20 end to end: the `reload` action in the real TUI (config.toml, theme,
//! keymap, rules) keeps what is in force on an error and says where the error
//! is; a new file in the rules folder is picked up by itself; `opsdeck serve`
//! reloads its rules on SIGHUP and keeps serving.

mod common;

use std::io::{BufRead, BufReader};

use common::pty::Key;
use common::{OpsdeckEnv, TIMEOUT, expect_ok, quit_cleanly};

fn reload(app: &mut common::pty::PtySession) {
    expect_ok(app.send(":"));
    expect_ok(app.wait_for_text("Command palette", TIMEOUT));
    expect_ok(app.send("reload"));
    expect_ok(app.wait_for("reload selected in the palette", TIMEOUT, |s| s.contains("▸ reload")));
    expect_ok(app.send_key(Key::Enter));
}

#[test]
fn reload_keeps_the_config_in_force_on_an_error_and_applies_a_good_one() {
    let env = OpsdeckEnv::new();
    env.write_config("theme = \"default-dark\"\n");
    let mut app = env.pty(&[], 120, 40);
    expect_ok(app.wait_for_text("CPU", TIMEOUT));

    // A misspelt theme: nothing is applied, and the error points at config.toml's line.
    env.write_config("refresh = \"1s\"\ntheme = \"default-drak\"\n");
    reload(&mut app);
    expect_ok(app.wait_for("the reload refused with the error's location", TIMEOUT, |s| {
        s.contains("not everything was applied") && s.contains("config.toml:2:") && s.contains("in force stay")
    }));
    expect_ok(app.send_key(Key::Esc));
    // Closed before the next key: an Esc followed at once by `:` reads as Alt-:.
    expect_ok(app.wait_for("the message closed", TIMEOUT, |s| !s.contains("not everything was applied")));

    // Fixed: the theme changes now; the rules folder is read too.
    env.write_config("theme = \"high-contrast\"\nrefresh = \"2s\"\n");
    reload(&mut app);
    expect_ok(app.wait_for("the reload applied, saying what changed", TIMEOUT, |s| {
        s.contains("Reloaded")
            && s.contains("default-dark → high-contrast")
            && s.contains("next start: refresh")
            && s.contains("rules and checks")
    }));
    expect_ok(app.send_key(Key::Esc));
    expect_ok(app.wait_for("the message closed", TIMEOUT, |s| !s.contains("Reloaded")));

    // A new rules file is picked up without asking.
    let alerts = env.root().join("config/opsdeck/alerts");
    std::fs::create_dir_all(&alerts).expect("alerts dir");
    std::fs::write(alerts.join("extra.toml"), "[[rule]]\nname = \"cpu_very_high\"\ncondition = \"cpu.total > 99\"\n")
        .expect("write rules");
    expect_ok(app.wait_for("a notice naming the new rule", TIMEOUT, |s| s.contains("+rule cpu_very_high")));
    quit_cleanly(&mut app);
}

#[cfg(unix)]
#[test]
fn serve_reloads_its_rules_on_sighup_and_keeps_serving() {
    let env = OpsdeckEnv::new();
    let mut child = common::KillOnDrop(
        env.command(&["--refresh", "200ms", "serve", "--no-auth", "--listen", "127.0.0.1:0"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn opsdeck serve"),
    );
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let wait_line = |what: &str, pred: &dyn Fn(&str) -> bool| {
        let deadline = std::time::Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) if pred(&l) => return l,
                Ok(_) => {}
                Err(_) => panic!("no stderr line with {what}"),
            }
        }
    };
    wait_line("the address", &|l| l.contains("listening on"));
    // A broken rules file first: reported, and the server keeps its rules and runs on.
    let alerts = env.root().join("config/opsdeck/alerts");
    std::fs::create_dir_all(&alerts).expect("alerts dir");
    std::fs::write(alerts.join("mine.toml"), "[[rule]]\nname = \"x\"\ncondition = \"cpu.total >\"\n").expect("write");
    let pid = child.id().to_string();
    let hup = || assert!(std::process::Command::new("kill").args(["-HUP", &pid]).status().expect("kill").success());
    hup();
    // The rules folder is also watched, so the watcher may report first; the
    // SIGHUP answer comes either way.
    wait_line("the SIGHUP answer", &|l| l.starts_with("SIGHUP: rules not reloaded"));
    wait_line("the located error", &|l| l.contains("mine.toml:3:"));
    std::fs::write(alerts.join("mine.toml"), "[[rule]]\nname = \"cpu_very_high\"\ncondition = \"cpu.total > 99\"\n")
        .expect("write");
    hup();
    let mut added = false;
    let answer = wait_line("the SIGHUP answer", &|l| {
        l.starts_with("SIGHUP: rules and checks") || l.contains("+rule cpu_very_high")
    });
    added |= answer.contains("+rule cpu_very_high");
    if !answer.starts_with("SIGHUP:") {
        wait_line("the SIGHUP answer", &|l| l.starts_with("SIGHUP: rules and checks"));
    } else if !added {
        // SIGHUP came second: the watcher had applied the rule already.
        assert!(answer.contains("unchanged"), "{answer}");
    }
    assert!(child.try_wait().expect("status").is_none(), "SIGHUP does not stop serve");
    let _ = child.kill();
    let _ = child.wait();
}
