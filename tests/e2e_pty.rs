//! End-to-end tests: the real opsdeck binary in a pseudo-terminal, its screen read
//! through a terminal emulator, as a person would see it.

mod common;

use std::time::Duration;

use common::pty::Key;
use common::{OpsdeckEnv, TIMEOUT, expect_ok, output_within, quit_cleanly};

/// `CPU <digits>%` somewhere on screen: a real measurement is shown.
fn shows_cpu_figure(screen: &str) -> bool {
    screen.match_indices("CPU ").any(|(i, m)| {
        let rest = &screen[i + m.len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        digits > 0 && rest[digits..].starts_with('%')
    })
}

fn is_braille_dot(c: char) -> bool {
    ('\u{2801}'..='\u{28FF}').contains(&c)
}

fn braille_count(text: &str) -> usize {
    text.chars().filter(|c| is_braille_dot(*c)).count()
}

/// Braille cells inside the CPU box: from its title row down to the row before the
/// next box's title (Memory), or to the bottom.
fn cpu_chart_braille(screen: &str) -> usize {
    let lines: Vec<&str> = screen.lines().collect();
    let Some(start) = lines.iter().position(|l| l.contains("CPU")) else { return 0 };
    lines[start..].iter().take_while(|l| !l.contains("Memory")).map(|l| braille_count(l)).sum()
}

/// How many screen columns of the CPU chart hold data (braille): the time
/// the drawn history spans, whatever its values (a flat line and a jagged one
/// of the same samples span the same columns, unlike their cell counts).
fn cpu_chart_columns(screen: &str) -> usize {
    let lines: Vec<&str> = screen.lines().collect();
    let Some(start) = lines.iter().position(|l| l.contains("CPU")) else { return 0 };
    let mut cols = std::collections::BTreeSet::new();
    for l in lines[start..].iter().take_while(|l| !l.contains("Memory")) {
        for (x, c) in l.chars().enumerate() {
            // Braille dots, not the blank braille cell.
            if ('\u{2801}'..='\u{28FF}').contains(&c) {
                cols.insert(x);
            }
        }
    }
    cols.len()
}

/// A process row as `<pid> <name>` where /proc/<pid>/comm really is that name.
/// Returns the first such (pid, name).
fn real_process_row(screen: &str) -> Option<(u32, String)> {
    for line in screen.lines() {
        let cleaned = line.replace(['│', '┃', '▸'], " ");
        let toks: Vec<&str> = cleaned.split_whitespace().collect();
        for (i, t) in toks.iter().enumerate() {
            let Ok(pid) = t.parse::<u32>() else { continue };
            let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) else { continue };
            let comm = comm.trim_end();
            let first_word = comm.split_whitespace().next().unwrap_or("");
            if !first_word.is_empty()
                && toks
                    .get(i + 1)
                    .is_some_and(|n| n.starts_with(first_word) || (first_word.starts_with(*n) && n.len() >= 4))
            {
                return Some((pid, comm.to_string()));
            }
        }
    }
    None
}

/// `M` of the Processes box title `Processes N/M`: processes in the last sample.
/// The title is drawn below the CPU and memory charts, so once it shows a count the
/// charts of that frame are on screen too (frames are written top to bottom).
fn processes_total(screen: &str) -> Option<usize> {
    let (_, rest) = screen.split_once("Processes ")?;
    let (_, rest) = rest.split_once('/')?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The first live sample is fully drawn: a CPU figure, and the process count below the charts.
fn sample_drawn(screen: &str) -> bool {
    shows_cpu_figure(screen) && processes_total(screen).is_some_and(|n| n > 0)
}

fn last_line(screen: &str) -> &str {
    screen.lines().last().unwrap_or("")
}

fn top_line(screen: &str) -> &str {
    screen.lines().next().unwrap_or("")
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(target_os = "linux")]
const ICANON: u64 = 0o000002;
#[cfg(target_os = "linux")]
const ECHO: u64 = 0o000010;

#[test]
fn shows_real_cpu_and_quits_cleanly() {
    let env = OpsdeckEnv::new();
    let mut app = env.pty(&[], 120, 40);

    let screen = expect_ok(app.wait_for("a CPU figure and a real process row", TIMEOUT, |s| {
        sample_drawn(s) && real_process_row(s).is_some()
    }));
    assert!(screen.contains("▶ Processes"), "the process list starts focused:\n{screen}");
    #[cfg(target_os = "linux")]
    {
        // While the TUI runs the terminal is in raw mode (no ICANON, no ECHO).
        let flags = app.termios_local_flags().expect("reading the pty's termios");
        assert_eq!(flags & (ICANON | ECHO), 0, "raw mode while running (lflag {flags:#o})");
    }

    // Help overlay: lists the keys; typing filters it.
    expect_ok(app.send("?"));
    expect_ok(app.wait_for("the help overlay listing quit and freeze_toggle", TIMEOUT, |s| {
        s.contains("Help")
            && s.contains("freeze_toggle")
            && s.lines().any(|l| l.contains("quit") && l.contains("global"))
    }));
    expect_ok(app.send("zoom"));
    expect_ok(app.wait_for("the help overlay filtered to zoom", TIMEOUT, |s| {
        s.contains("Help") && s.contains("/ zoom") && s.contains("zoom_toggle") && !s.contains("freeze_toggle")
    }));
    expect_ok(app.send_key(Key::Esc));
    expect_ok(
        app.wait_for("the help overlay to close", TIMEOUT, |s| !s.contains("Help") && !s.contains("zoom_toggle")),
    );

    // Focus starts on the process list; Tab moves it to the CPU box, then to the Memory box.
    expect_ok(app.send_key(Key::Tab));
    expect_ok(app.wait_for("focus on the CPU box", TIMEOUT, |s| s.contains("▶ CPU") && !s.contains("▶ Processes")));
    expect_ok(app.send_key(Key::Tab));
    expect_ok(app.wait_for("focus on the Memory box", TIMEOUT, |s| s.contains("▶ Memory") && !s.contains("▶ CPU")));

    quit_cleanly(&mut app);

    // The terminal was given back: alternate screen left, cursor shown, mouse and paste off.
    let raw = app.raw_output();
    let tail = String::from_utf8_lossy(&raw[raw.len().saturating_sub(200)..]).into_owned();
    let undone = |off: &[u8], on: &[u8]| match (find_last(&raw, off), find_last(&raw, on)) {
        (Some(o), Some(n)) => o > n,
        _ => false,
    };
    assert!(undone(b"\x1b[?1049l", b"\x1b[?1049h"), "left the alternate screen at exit; output ends {tail:?}");
    assert!(undone(b"\x1b[?25h", b"\x1b[?25l"), "showed the cursor at exit; output ends {tail:?}");
    assert!(undone(b"\x1b[?1000l", b"\x1b[?1000h"), "disabled mouse capture at exit; output ends {tail:?}");
    assert!(undone(b"\x1b[?1006l", b"\x1b[?1006h"), "disabled SGR mouse reporting at exit; output ends {tail:?}");
    assert!(undone(b"\x1b[?2004l", b"\x1b[?2004h"), "disabled bracketed paste at exit; output ends {tail:?}");
    app.with_screen(|s| {
        assert!(!s.alternate_screen(), "back on the main screen");
        assert!(!s.hide_cursor(), "cursor visible");
        assert!(!s.bracketed_paste(), "bracketed paste off");
        assert_eq!(s.mouse_protocol_mode(), vt100::MouseProtocolMode::None, "mouse reporting off");
    });
    #[cfg(target_os = "linux")]
    {
        let flags = app.termios_local_flags().expect("reading the pty's termios after exit");
        assert_eq!(flags & (ICANON | ECHO), ICANON | ECHO, "raw mode disabled at exit (lflag {flags:#o})");
    }
}

#[test]
fn command_palette_runs_an_action() {
    let env = OpsdeckEnv::new();
    let mut app = env.pty(&[], 120, 40);
    // Freezing needs a sample to freeze on.
    let screen = expect_ok(app.wait_for("the first sample", TIMEOUT, sample_drawn));
    assert!(!top_line(&screen).contains("FROZEN"), "not frozen at start:\n{screen}");

    for (round, frozen) in [(1, true), (2, false)] {
        expect_ok(app.send(":"));
        expect_ok(app.wait_for_text("Command palette", TIMEOUT));
        expect_ok(app.send("freeze"));
        expect_ok(app.wait_for("freeze_toggle selected in the palette", TIMEOUT, |s| {
            s.contains(": freeze") && s.contains("▸ freeze_toggle")
        }));
        expect_ok(app.send_key(Key::Enter));
        expect_ok(app.wait_for(
            &format!(
                "round {round}: the palette closed and FROZEN {} in the top bar",
                if frozen { "shown" } else { "gone" }
            ),
            TIMEOUT,
            |s| {
                !s.contains("Command palette")
                    && top_line(s).contains("window")
                    && top_line(s).contains("FROZEN") == frozen
            },
        ));
    }
    quit_cleanly(&mut app);
}

#[test]
fn resize_relayouts_and_tiny_sizes_render() {
    let env = OpsdeckEnv::new();
    let mut app = env.pty(&[], 100, 30);
    expect_ok(app.wait_for("all boxes at 100x30", TIMEOUT, |s| {
        sample_drawn(s) && s.contains("Memory") && last_line(s).contains("local")
    }));

    // The smallest size that still has boxes: top bar, the CPU box, status bar last.
    expect_ok(app.resize(20, 5));
    let screen = expect_ok(app.wait_for("the 20x5 layout", TIMEOUT, |s| {
        // A narrow top bar keeps the pane numbers whole rather than cut names.
        top_line(s).contains("│ 1 │ 2 │ 3 │ 4 │ 5") && s.contains("CPU") && last_line(s).contains("local")
    }));
    assert!(app.is_alive(), "opsdeck died at 20x5:\n{screen}");

    // Below the minimum: a summary line instead of boxes.
    expect_ok(app.resize(12, 3));
    let screen = expect_ok(app.wait_for("the summary at 12x3", TIMEOUT, |s| top_line(s).starts_with("CPU ")));
    assert!(app.is_alive(), "opsdeck died at 12x3:\n{screen}");

    expect_ok(app.resize(40, 12));
    let screen = expect_ok(app.wait_for("CPU and Processes at 40x12", TIMEOUT, |s| {
        top_line(s).contains("│ 1 │ 2 │ 3 │ 4 │ 5")
            && s.contains("CPU")
            && s.contains("Processes")
            && !s.contains("Memory")
            && last_line(s).contains("local")
    }));
    assert!(app.is_alive(), "opsdeck died at 40x12:\n{screen}");

    expect_ok(app.resize(160, 48));
    expect_ok(app.wait_for("every box back at 160x48", TIMEOUT, |s| {
        top_line(s).contains("window")
            && ["CPU", "Memory", "Network", "Disks", "Processes"].iter().all(|b| s.contains(b))
            && last_line(s).contains("local")
    }));
    quit_cleanly(&mut app);
}

#[test]
fn history_survives_restart() {
    let env = OpsdeckEnv::new();
    // A fresh start draws one sample: a single braille cell in the CPU chart.
    let mut first = env.pty(&["--refresh", "1s"], 120, 40);
    let screen = expect_ok(first.wait_for("the first sample", TIMEOUT, sample_drawn));
    let fresh = cpu_chart_braille(&screen);
    assert!(fresh <= 2, "a fresh data dir has no history: one sample draws at most 2 cells, got {fresh}:\n{screen}");
    // Record a few seconds of history: data across several columns.
    let mut recorded = 0;
    expect_ok(first.wait_for("a CPU chart of several samples", Duration::from_secs(60), |s| {
        recorded = cpu_chart_columns(s);
        recorded >= 5
    }));
    quit_cleanly(&mut first);
    drop(first);

    // Same data dir: the very first frame with a live sample already shows the stored line.
    // (History drawn before any sample, and history across a change of refresh
    // interval, are covered by the reducer and recorder tests.)
    let mut second = env.pty(&["--refresh", "1s"], 120, 40);
    let screen = expect_ok(second.wait_for("the first sample after the restart", TIMEOUT, sample_drawn));
    // The stored samples span as many columns as before quitting (give or
    // take the one a bucket boundary can move), where a fresh start spans 1–2.
    let n = cpu_chart_columns(&screen);
    assert!(
        n + 1 >= recorded,
        "the first chart after a restart shows the stored history ({recorded} columns before quitting), got {n}:\n{screen}"
    );
    quit_cleanly(&mut second);
}

/// The way a person does it: opsdeck started from an interactive shell with job
/// control, Ctrl-Z back to the shell, `fg` back to opsdeck.
#[cfg(unix)]
#[test]
fn ctrl_z_suspends_and_fg_resumes() {
    let env = OpsdeckEnv::new();
    let mut sh = env.pty_program("bash", &["--norc", "--noprofile", "-i"], 100, 30);
    expect_ok(sh.send("PS1='shell> '\r"));
    expect_ok(sh.wait_for("the shell prompt", TIMEOUT, |s| s.contains("shell> ")));
    expect_ok(sh.send(&format!("{}\r", env!("CARGO_BIN_EXE_opsdeck"))));
    expect_ok(sh.wait_for("opsdeck running", TIMEOUT, sample_drawn));
    expect_ok(sh.send_bytes(&[0x1a])); // Ctrl-Z
    let screen =
        expect_ok(sh.wait_for("the shell reporting a stopped job", TIMEOUT, |s| {
            s.contains("Stopped") && !s.contains("Processes")
        }));
    assert!(!sh.with_screen(|sc| sc.alternate_screen()), "the terminal is given back:\n{screen}");
    expect_ok(sh.send("fg\r"));
    expect_ok(sh.wait_for("opsdeck repainted after fg", TIMEOUT, |s| shows_cpu_figure(s) && s.contains("Processes")));
    assert!(sh.with_screen(|sc| sc.alternate_screen()), "alternate screen re-entered");
    // Ctrl-L clears and repaints everything, and keeps running.
    let before = sh.raw_output().len();
    expect_ok(sh.send_bytes(&[0x0c]));
    expect_ok(sh.wait_for_output("a screen clear after Ctrl-L", TIMEOUT, |out| {
        out.get(before..).is_some_and(|o| String::from_utf8_lossy(o).contains("\x1b[2J"))
    }));
    expect_ok(
        sh.wait_for("opsdeck repainted after Ctrl-L", TIMEOUT, |s| shows_cpu_figure(s) && s.contains("Processes")),
    );
    expect_ok(sh.send("q"));
    expect_ok(
        sh.wait_for("back at the prompt after quitting", TIMEOUT, |s| {
            !s.contains("Processes") && s.contains("shell> ")
        }),
    );
    expect_ok(sh.send("exit\r"));
}

#[test]
fn second_instance_on_same_data_dir_attaches_to_the_first() {
    let env = OpsdeckEnv::new();
    let mut first = env.pty(&[], 100, 30);
    expect_ok(first.wait_for("the first instance running", TIMEOUT, sample_drawn));

    // The data dir is held: the second one follows the first through its control socket.
    let mut second = env.pty(&[], 100, 30);
    expect_ok(second.wait_for("the second attached, showing the first's samples", TIMEOUT, |s| {
        s.contains("attached to the opsdeck that holds the data directory") && sample_drawn(s)
    }));
    assert!(!second.screen_text().contains("another opsdeck is already using"));
    quit_cleanly(&mut second);
    assert!(first.is_alive(), "the first instance keeps running");
    quit_cleanly(&mut first);
}

#[test]
fn broken_implicit_config_shows_error_and_runs_on_defaults() {
    let env = OpsdeckEnv::new();
    env.write_config("refresh = \"fast\"\n");
    let mut app = env.pty(&[], 120, 40);
    expect_ok(app.wait_for("the config problem popup over a running TUI", TIMEOUT, |s| {
        s.contains("Configuration problems") && s.contains("config.toml:1:") && shows_cpu_figure(s)
    }));
    expect_ok(app.send_key(Key::Esc));
    expect_ok(app.wait_for("the popup dismissed, a warning in the status bar", TIMEOUT, |s| {
        !s.contains("config.toml:1:")
            && !s.contains("Configuration problems")
            && last_line(s).contains("config problem")
    }));
    quit_cleanly(&mut app);
}

#[test]
fn explicit_broken_config_is_fatal() {
    let env = OpsdeckEnv::new();
    let file = env.write_config("refresh = \"fast\"\n");
    let file = file.to_str().expect("utf-8 temp path");
    let out = output_within(env.command(&["--config", file]), TIMEOUT);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an explicit broken config is fatal, got {:?}; stderr:\n{stderr}", out.status);
    assert!(
        stderr.contains("config.toml:1:11:"),
        "the error points at line 1, column 11 (the value); stderr:\n{stderr}"
    );
}

/// An SSH session that drops sends SIGHUP: opsdeck exits cleanly, logs no panic.
#[cfg(unix)]
#[test]
fn hangup_exits_cleanly() {
    let env = OpsdeckEnv::new();
    let mut app = env.pty(&[], 100, 30);
    expect_ok(app.wait_for("the first sample", TIMEOUT, sample_drawn));
    let pid = app.pid().expect("child pid");
    let hup = std::process::Command::new("kill").args(["-HUP", &pid.to_string()]).status().expect("kill -HUP");
    assert!(hup.success());
    let status = expect_ok(app.wait_exit(TIMEOUT));
    assert!(status.success(), "SIGHUP is a clean quit, got {status:?}");
    let logs = env.root().join("state/opsdeck");
    let text: String = std::fs::read_dir(&logs)
        .expect("log dir")
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    assert!(text.contains("opsdeck starting"), "the log is written to the state dir: {text}");
    assert!(!text.contains("panic"), "no panic on hangup: {text}");
}

/// `opsdeck serve` on `port` with its own data dir, as a plain child process.
fn serve_on(home: &std::path::Path, port: u16) -> common::KillOnDrop {
    common::KillOnDrop(
        std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"))
            .args(["--refresh", "200ms", "serve", "--no-auth", "--listen", &format!("127.0.0.1:{port}")])
            .env("XDG_CONFIG_HOME", home.join("c"))
            .env("XDG_DATA_HOME", home.join("d"))
            .env("XDG_STATE_HOME", home.join("s"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn opsdeck serve"),
    )
}

#[test]
fn backend_source_live_then_offline_then_back() {
    let env = OpsdeckEnv::new();
    let srv_home = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let mut server = serve_on(srv_home.path(), port);
    let mut app = env.pty(&["--backend", &format!("edge=ws://127.0.0.1:{port}")], 140, 40);
    expect_ok(app.wait_for("the backend live in the status bar", TIMEOUT, |s| last_line(s).contains("● edge live")));
    expect_ok(app.send(">"));
    expect_ok(app.wait_for("the metrics pane showing the backend", TIMEOUT, |s| {
        s.contains("⇄ edge (2/2)") && shows_cpu_figure(s)
    }));

    server.kill().expect("kill the server");
    server.wait().expect("reap");
    expect_ok(app.wait_for("the outage: retrying, offline since, data not live", TIMEOUT, |s| {
        last_line(s).contains("◌ edge retry in") && last_line(s).contains("offline since") && s.contains("not live")
    }));
    assert!(app.is_alive(), "the TUI keeps working while a backend is down");

    let mut server = serve_on(srv_home.path(), port);
    expect_ok(app.wait_for("the backend live again", Duration::from_secs(40), |s| {
        last_line(s).contains("● edge live") && !s.contains("not live")
    }));
    quit_cleanly(&mut app);
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
fn annotate_locally_and_queue_for_a_backend_that_is_down() {
    let env = OpsdeckEnv::new();
    let srv_home = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let mut app = env.pty(&["--backend", &format!("edge=ws://127.0.0.1:{port}")], 140, 40);
    expect_ok(app.wait_for("opsdeck running, the backend down", TIMEOUT, |s| {
        sample_drawn(s) && last_line(s).contains("◌ edge retry")
    }));

    // On the local engine: recorded at once, shown in the CPU title.
    expect_ok(app.send("a"));
    expect_ok(app.wait_for("the annotate prompt", TIMEOUT, |s| s.contains("Annotate local")));
    expect_ok(app.send("deploy v42\r"));
    expect_ok(app.wait_for("the note on the timeline", TIMEOUT, |s| {
        s.contains("✎ deploy v42") && s.contains("recorded on local")
    }));

    // On the backend that is down: queued, then sent when it comes up.
    expect_ok(app.send(">"));
    expect_ok(app.send("a"));
    expect_ok(app.wait_for("the annotate prompt for edge", TIMEOUT, |s| s.contains("Annotate edge")));
    expect_ok(app.send("failover\r"));
    expect_ok(app.wait_for("the command queued", TIMEOUT, |s| last_line(s).contains("⧗ 1 queued")));
    let mut server = serve_on(srv_home.path(), port);
    expect_ok(app.wait_for("the queue flushed on reconnect", Duration::from_secs(40), |s| {
        !last_line(s).contains("queued") && last_line(s).contains("● edge live") && s.contains("✎ failover")
    }));
    quit_cleanly(&mut app);
    let _ = server.kill();
    let _ = server.wait();
}
