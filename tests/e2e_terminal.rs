//! The terminal is always given back: after `kill -INT/-QUIT/-TERM/-HUP`, an
//! abort (what an allocation failure or a stack overflow does) and a `SIGKILL`
//! of the TUI process, the screen is the main one, the cursor is visible and
//! mouse tracking, bracketed paste and raw mode are off. Checked on the bytes
//! the program wrote (the last set or reset of each mode wins) and on the
//! emulated screen.

#![cfg(unix)]

mod common;

use std::collections::HashMap;

use common::pty::PtySession;
use common::{OpsdeckEnv, TIMEOUT, expect_ok};

const ICANON: u64 = 0o000002;
const ECHO: u64 = 0o000010;

/// The first sample is on screen (the TUI is fully up).
fn running(screen: &str) -> bool {
    screen.contains("CPU") && screen.contains("Processes")
}

/// The last state each DEC private mode (`ESC [ ? N h` / `l`, several `;`-separated) was put in.
fn private_modes(raw: &[u8]) -> HashMap<u32, bool> {
    let mut modes = HashMap::new();
    let mut i = 0;
    while let Some(at) = raw[i..].windows(3).position(|w| w == b"\x1b[?") {
        let start = i + at + 3;
        let end =
            raw[start..].iter().position(|b| !(b.is_ascii_digit() || *b == b';')).map_or(raw.len(), |p| start + p);
        if let Some(&f) = raw.get(end)
            && (f == b'h' || f == b'l')
        {
            for p in String::from_utf8_lossy(&raw[start..end]).split(';') {
                if let Ok(n) = p.parse::<u32>() {
                    modes.insert(n, f == b'h');
                }
            }
        }
        i = end.max(start);
    }
    modes
}

#[test]
fn mode_parser_takes_the_last_set_or_reset() {
    let m = private_modes(b"\x1b[?1049h\x1b[?25l\x1b[?1000;1006hxx\x1b[?1006l\x1b[?25h\x1b[?1049l\x1b[?2004");
    assert_eq!(m.get(&1049), Some(&false));
    assert_eq!(m.get(&25), Some(&true));
    assert_eq!(m.get(&1000), Some(&true));
    assert_eq!(m.get(&1006), Some(&false));
    assert_eq!(m.get(&2004), None, "an unfinished sequence is not counted");
}

/// The terminal was entered (alternate screen, mouse) and then fully given back.
fn assert_given_back(app: &PtySession, what: &str) {
    let raw = app.raw_output();
    let tail = String::from_utf8_lossy(&raw[raw.len().saturating_sub(300)..]).into_owned();
    let modes = private_modes(&raw);
    let on = |n: u32| modes.get(&n).copied().unwrap_or(false);
    assert!(modes.contains_key(&1049), "{what}: the alternate screen was never entered; output ends {tail:?}");
    for (n, name) in [
        (1049, "alternate screen"),
        (1047, "alternate screen"),
        (47, "alternate screen"),
        (1000, "mouse tracking"),
        (1002, "mouse drag tracking"),
        (1003, "mouse motion tracking"),
        (1006, "SGR mouse reports"),
        (2004, "bracketed paste"),
        (1004, "focus events"),
    ] {
        assert!(!on(n), "{what}: {name} (mode {n}) left on; output ends {tail:?}");
    }
    assert!(modes.get(&25).copied().unwrap_or(true), "{what}: cursor left hidden; output ends {tail:?}");
    app.with_screen(|s| {
        assert!(!s.alternate_screen(), "{what}: back on the main screen");
        assert!(!s.hide_cursor(), "{what}: cursor visible");
        assert!(!s.bracketed_paste(), "{what}: bracketed paste off");
        assert_eq!(s.mouse_protocol_mode(), vt100::MouseProtocolMode::None, "{what}: mouse reporting off");
    });
    let flags = app.termios_local_flags().expect("reading the pty's termios");
    assert_eq!(flags & (ICANON | ECHO), ICANON | ECHO, "{what}: raw mode left on (lflag {flags:#o})");
}

fn kill(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill").args([&format!("-{sig}"), &pid.to_string()]).status();
    assert!(ok.is_ok_and(|s| s.success()), "kill -{sig} {pid}");
}

/// The supervisor's child (the TUI process).
fn tui_child(parent: u32) -> u32 {
    let text = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).expect("children of the pid");
    let kids: Vec<u32> = text.split_whitespace().filter_map(|p| p.parse().ok()).collect();
    assert_eq!(kids.len(), 1, "one TUI child under the supervisor: {kids:?}");
    kids[0]
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("a number")
}

#[test]
fn external_signals_quit_cleanly_and_give_the_terminal_back() {
    for sig in ["INT", "QUIT", "TERM", "HUP"] {
        let env = OpsdeckEnv::new();
        let mut app = env.pty(&[], 100, 30);
        expect_ok(app.wait_for("the TUI running", TIMEOUT, running));
        kill(app.pid().expect("pid"), sig);
        let status = expect_ok(app.wait_exit(TIMEOUT));
        assert!(status.success(), "SIG{sig} is a clean quit, got {status:?}");
        assert_given_back(&app, &format!("after kill -{sig}"));
    }
}

#[test]
fn signals_quit_cleanly_without_the_supervisor_too() {
    for sig in ["INT", "QUIT"] {
        let env = OpsdeckEnv::new();
        let mut app = env.pty_with(env!("CARGO_BIN_EXE_opsdeck"), &[], 100, 30, &[("OPSDECK_NO_SUPERVISOR", "1")]);
        expect_ok(app.wait_for("the TUI running", TIMEOUT, running));
        let pid = app.pid().expect("pid");
        let kids = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        assert!(!kids.split_whitespace().any(supervised), "no supervisor: the TUI runs in the first process");
        kill(pid, sig);
        let status = expect_ok(app.wait_exit(TIMEOUT));
        assert!(status.success(), "SIG{sig} is a clean quit, got {status:?}");
        assert_given_back(&app, &format!("after kill -{sig} without a supervisor"));
    }
}

/// A process started by a supervisor (its environment has the marker).
fn supervised(pid: &str) -> bool {
    let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    env.split(|b| *b == 0).any(|v| v.starts_with(b"OPSDECK_SUPERVISED="))
}

#[test]
fn an_abort_gives_the_terminal_back() {
    let env = OpsdeckEnv::new();
    let hooks = [("OPSDECK_TEST_HOOKS", "1"), ("OPSDECK_TEST_ABORT_AFTER_MS", "300")];
    let mut app = env.pty_with(env!("CARGO_BIN_EXE_opsdeck"), &[], 100, 30, &hooks);
    let status = expect_ok(app.wait_exit(TIMEOUT));
    assert_eq!(status.exit_code(), 128 + 6, "the child's SIGABRT as the exit status, got {status:?}");
    assert_given_back(&app, "after an abort");
    let screen = app.screen_text();
    assert!(screen.contains("ended abruptly") && screen.contains("restored"), "the user is told:\n{screen}");
}

#[test]
fn a_killed_tui_process_gives_the_terminal_back() {
    let env = OpsdeckEnv::new();
    let mut app = env.pty(&[], 100, 30);
    expect_ok(app.wait_for("the TUI running", TIMEOUT, running));
    let parent = app.pid().expect("pid");
    let child = tui_child(parent);
    // The waiting process is the small program next to opsdeck (exec'd, same
    // pid); the TUI child is opsdeck itself.
    let exe = |pid: u32| std::fs::read_link(format!("/proc/{pid}/exe")).expect("exe");
    assert!(exe(parent).ends_with("opsdeck-supervise"), "{:?}", exe(parent));
    assert!(exe(child).ends_with("opsdeck"), "{:?}", exe(child));
    let (parent_rss, child_rss) = (rss_kib(parent), rss_kib(child));
    eprintln!("supervisor RSS {parent_rss} KiB, TUI process RSS {child_rss} KiB");
    assert!(parent_rss < child_rss, "the supervisor is the small one: {parent_rss} KiB vs {child_rss} KiB");
    kill(child, "KILL");
    let status = expect_ok(app.wait_exit(TIMEOUT));
    assert_eq!(status.exit_code(), 128 + 9, "the child's SIGKILL as the exit status, got {status:?}");
    assert_given_back(&app, "after SIGKILL of the TUI process");
}

#[test]
fn without_the_small_supervisor_opsdeck_waits_itself() {
    // Only `opsdeck` copied somewhere: it supervises its TUI child itself.
    let dir = tempfile::tempdir().expect("tempdir");
    let alone = dir.path().join("opsdeck");
    std::fs::copy(env!("CARGO_BIN_EXE_opsdeck"), &alone).expect("copy");
    let env = OpsdeckEnv::new();
    let mut app = env.pty_with(alone.to_str().expect("utf-8 path"), &[], 100, 30, &[]);
    expect_ok(app.wait_for("the TUI running", TIMEOUT, running));
    let parent = app.pid().expect("pid");
    let child = tui_child(parent);
    let exe = |pid: u32| std::fs::read_link(format!("/proc/{pid}/exe")).expect("exe");
    assert_eq!((exe(parent), exe(child)), (alone.clone(), alone.clone()));
    assert!(supervised(&child.to_string()));
    common::quit_cleanly(&mut app);
}
