//! A tiny supervisor that gives the terminal back whatever happens to the TUI.
//!
//! A panic hook and drop guards restore the terminal on a panic or an error,
//! but nothing in a process runs after an abort (allocation failure, stack
//! overflow), `SIGSEGV` or `SIGKILL`. So when the TUI starts on a terminal,
//! opsdeck runs itself again as a child (marked by [`CHILD_ENV`]) and the
//! parent only waits:
//!
//! - `SIGINT`, `SIGQUIT`, `SIGTERM` and `SIGHUP` sent to the parent are
//!   forwarded to the child, which quits cleanly through its loop; the parent
//!   itself does not die of them.
//! - If the child dies of a signal while the terminal is still in raw mode, the
//!   parent writes [`LEAVE`] (main screen, cursor shown, mouse tracking,
//!   bracketed paste and focus events off, attributes reset), puts back the
//!   terminal attributes it saved before starting the child, and says so.
//! - It exits with the child's status (`128 + signal` for a signal).
//!
//! `OPSDECK_NO_SUPERVISOR=1` runs the TUI in the first process instead.
//!
//! The waiting is done by a small program, `opsdeck-supervise`, installed next
//! to `opsdeck` (a second binary of this package): `opsdeck` replaces itself
//! with it (`exec`, same pid), so the process that waits holds a few hundred
//! KiB of its own instead of the pages of the whole opsdeck binary it touched
//! at start. Without it (only `opsdeck` copied somewhere), `opsdeck` waits
//! itself, as before.

use std::io::{IsTerminal, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitCode};

use rustix::process::{Pid, Signal};
use rustix::termios::{LocalModes, OptionalActions, Termios, tcgetattr, tcsetattr};
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};

/// Set in the TUI child's environment to the supervisor's pid (a process whose
/// parent is not that pid, e.g. an `opsdeck` started from a tool, is not a child).
pub const CHILD_ENV: &str = "OPSDECK_SUPERVISED";
/// `1` runs the TUI without a supervisor.
pub const DISABLE_ENV: &str = "OPSDECK_NO_SUPERVISOR";
/// The small supervisor program, looked for next to the running `opsdeck`.
pub const SUPERVISOR_BIN: &str = "opsdeck-supervise";
/// Tells `opsdeck-supervise` which program is the TUI (set by `opsdeck`).
pub const TUI_EXE_ENV: &str = "OPSDECK_TUI_EXE";

/// What gives a terminal back, whatever state a TUI left it in.
pub const LEAVE: &str = concat!(
    "\x1b[0m",                                                 // reset colours and attributes
    "\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1015l\x1b[?1006l", // mouse tracking and its encodings off
    "\x1b[?2004l",                                             // bracketed paste off
    "\x1b[?1004l",                                             // focus events off
    "\x1b[?1049l",                                             // leave the alternate screen (cursor back)
    "\x1b[?25h",                                               // show the cursor
);

/// Whether this process is the TUI child of a supervisor.
pub fn is_child() -> bool {
    std::env::var(CHILD_ENV).ok().and_then(|v| v.parse::<u32>().ok()) == Some(std::os::unix::process::parent_id())
}

/// Whether the TUI should run under a supervisor: on a terminal, not turned
/// off, and not already the child.
pub fn wanted() -> bool {
    !is_child()
        && std::env::var_os(DISABLE_ENV).is_none_or(|v| v != "1")
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal()
}

/// Supervise the TUI if [`wanted`]: the exit code to end with, or `None` to run
/// the TUI in this process.
pub fn take_over() -> Option<ExitCode> {
    if !wanted() {
        return None;
    }
    let exe = std::env::current_exe().ok()?;
    if let Some(small) = exe.parent().map(|d| d.join(SUPERVISOR_BIN)).filter(|p| p.is_file()) {
        use std::os::unix::process::CommandExt;
        // Only returns if the exec failed: then this process waits itself.
        let _failed = Command::new(small).args(std::env::args_os().skip(1)).env(TUI_EXE_ENV, &exe).exec();
    }
    supervise(&exe)
}

/// Run `exe` (opsdeck, with this process's arguments) as the TUI child and
/// wait for it. `None` if the child could not be started: the caller then
/// runs the TUI itself.
pub fn supervise(exe: &std::path::Path) -> Option<ExitCode> {
    let saved = tcgetattr(std::io::stdin()).ok();
    // Before the child exists, so no signal can kill the parent in between.
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGQUIT, SIGTERM, SIGHUP]).ok()?;
    let mut child = Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(CHILD_ENV, std::process::id().to_string())
        .env_remove(TUI_EXE_ENV)
        .spawn()
        .ok()?;
    let pid = Pid::from_child(&child);
    let handle = signals.handle();
    let forwarder = std::thread::Builder::new().name("forward-signals".into()).stack_size(64 * 1024).spawn(move || {
        for sig in signals.forever() {
            if let Some(sig) = Signal::from_named_raw(sig) {
                let _ = rustix::process::kill_process(pid, sig);
            }
        }
    });
    let status = loop {
        match child.wait() {
            Ok(s) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // Cannot happen for our own child; nothing better to do than report it.
            Err(e) => {
                let _ = writeln!(std::io::stderr(), "opsdeck: lost track of the TUI process: {e}");
                return Some(ExitCode::FAILURE);
            }
        }
    };
    handle.close();
    if let Ok(t) = forwarder {
        let _ = t.join();
    }
    Some(match (status.code(), status.signal()) {
        (Some(code), _) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        (None, Some(sig)) => {
            if let Some(saved) = saved {
                give_back(&saved, sig);
            }
            ExitCode::from(u8::try_from(128 + sig).unwrap_or(255))
        }
        (None, None) => ExitCode::FAILURE,
    })
}

/// The child died of `sig`: restore the terminal if it was left in raw mode
/// (a child that restored it first, e.g. its panic hook, is left alone, so the
/// panic message stays on screen).
fn give_back(saved: &Termios, sig: i32) {
    let stdin = std::io::stdin();
    let echo = LocalModes::ICANON | LocalModes::ECHO;
    let left_raw = tcgetattr(&stdin).is_ok_and(|now| (now.local_modes & echo) != (saved.local_modes & echo));
    if !left_raw {
        return;
    }
    let mut out = std::io::stdout();
    let _ = out.write_all(LEAVE.as_bytes()).and_then(|()| out.flush());
    let _ = tcsetattr(&stdin, OptionalActions::Now, saved);
    use signal_hook::consts::{SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGKILL, SIGSEGV};
    let name = match sig {
        SIGABRT => "SIGABRT, an abort: out of memory or a stack overflow".to_string(),
        SIGSEGV => "SIGSEGV".to_string(),
        SIGKILL => "SIGKILL, e.g. the out-of-memory killer".to_string(),
        SIGBUS => "SIGBUS".to_string(),
        SIGILL => "SIGILL".to_string(),
        SIGFPE => "SIGFPE".to_string(),
        other => format!("signal {other}"),
    };
    let _ = writeln!(
        std::io::stderr(),
        "opsdeck: the TUI process ended abruptly ({name}); the terminal was restored.\n  hint: the log (see `opsdeck paths`) has what it did last"
    );
}

/// Test hooks (only with `OPSDECK_TEST_HOOKS=1`): `OPSDECK_TEST_ABORT_AFTER_MS=N`
/// aborts the process N ms after the TUI's first frame, as an allocation failure would.
pub fn test_hooks_after_first_frame() {
    if std::env::var_os("OPSDECK_TEST_HOOKS").is_none_or(|v| v != "1") {
        return;
    }
    if let Some(ms) = std::env::var("OPSDECK_TEST_ABORT_AFTER_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
        let _ = std::thread::Builder::new().name("test-abort".into()).spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(ms));
            std::process::abort();
        });
    }
}
