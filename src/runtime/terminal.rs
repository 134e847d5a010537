//! Terminal setup and teardown: raw mode, alternate screen, mouse, bracketed
//! paste. Restored on quit, on error (guard) and on panic (chained hook).

use std::io::{self, Stdout, Write, stdout};
use std::sync::atomic::{AtomicBool, Ordering};

use ratatui::Terminal;
use ratatui::crossterm::cursor::{MoveTo, Show};
use ratatui::crossterm::event::{DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::style::{Attribute, SetAttribute};

use super::backend::LeanBackend;
use ratatui::crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

/// The TUI's terminal: ratatui over [`LeanBackend`] on stdout.
pub type Term = Terminal<LeanBackend<Stdout>>;

static MOUSE: AtomicBool = AtomicBool::new(false);
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Restores the terminal when dropped.
pub struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // Errors cannot be reported from Drop; restore does its best.
        let _ = restore();
    }
}

/// Enter the TUI terminal state and install the panic hook (once).
pub fn init(mouse: bool) -> io::Result<(Term, TerminalGuard)> {
    install_panic_hook();
    MOUSE.store(mouse, Ordering::SeqCst);
    enter()?;
    let term = Terminal::new(LeanBackend::new(stdout()))?;
    Ok((term, TerminalGuard))
}

fn enter() -> io::Result<()> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut out = stdout();
    execute!(out, EnterAlternateScreen, EnableBracketedPaste)?;
    if MOUSE.load(Ordering::SeqCst) {
        execute!(out, EnableMouseCapture)?;
    }
    Ok(())
}

/// Leave the TUI state. Safe to call more than once.
pub fn restore() -> io::Result<()> {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return Ok(());
    }
    let mut out = stdout();
    if MOUSE.load(Ordering::SeqCst) {
        let _ = execute!(out, DisableMouseCapture);
    }
    // The backend keeps its pen between frames: leave with the default one.
    let r = execute!(out, SetAttribute(Attribute::Reset), DisableBracketedPaste, LeaveAlternateScreen, Show);
    let r2 = disable_raw_mode();
    let _ = out.flush();
    r.and(r2)
}

fn install_panic_hook() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        match on_panic(thread.name(), ACTIVE.load(Ordering::SeqCst)) {
            OnPanic::Restore => {
                let _ = restore();
                tracing::error!("panic: {info}");
                previous(info);
            }
            OnPanic::LogOnly => {
                tracing::error!(thread = thread.name().unwrap_or("unnamed"), "panic in a background task: {info}");
            }
        }
    }));
}

/// What the panic hook does.
#[derive(Debug, PartialEq, Eq)]
enum OnPanic {
    /// Give the terminal back and print the panic: the program is ending.
    Restore,
    /// Only log it: a task of the runtime's workers panicked, tokio catches
    /// it and the TUI goes on — giving the terminal back (or printing over
    /// the screen) would leave a running TUI on a cooked terminal.
    LogOnly,
}

/// The main thread runs the TUI's loop: a panic there ends the program.
/// Elsewhere, while the TUI holds the terminal, a panic is logged only.
fn on_panic(thread: Option<&str>, tui_active: bool) -> OnPanic {
    if tui_active && thread != Some("main") { OnPanic::LogOnly } else { OnPanic::Restore }
}

/// Ctrl-Z: give the terminal back, stop, and take it again on `fg`.
///
/// The whole process group stops, as a Ctrl-Z from the terminal would stop it:
/// under the supervisor the shell waits for the parent, which must stop too
/// for the shell to see the job stopped. `fg` continues the group (SIGCONT).
pub fn suspend(term: &mut Term) -> io::Result<()> {
    restore()?;
    #[cfg(unix)]
    rustix::process::kill_current_process_group(rustix::process::Signal::TSTP)?;
    // Execution continues here after SIGCONT.
    enter()?;
    repaint_all(term)
}

/// Clear the screen and forget what was drawn, so the next frame paints every
/// cell. (The backend answers `Terminal::clear`'s cursor question itself; the
/// terminal is never asked, as its reply would go to the input thread.)
pub fn repaint_all(term: &mut Term) -> io::Result<()> {
    term.backend_mut().forget_terminal();
    term.clear()
}

/// Give the terminal to a child process (an editor): the input thread stops
/// reading it, raw mode, mouse reports and bracketed paste are off, the
/// cursor shows. The alternate screen stays (cleared): whatever the child
/// prints outside its own full-screen mode is wiped when the TUI takes the
/// terminal back, and never left behind after opsdeck quits.
pub fn hand_over() -> io::Result<()> {
    super::input_gate::pause(2 * super::input_gate::SLICE);
    let mut out = stdout();
    if MOUSE.load(Ordering::SeqCst) {
        let _ = execute!(out, DisableMouseCapture);
    }
    let r =
        execute!(out, SetAttribute(Attribute::Reset), DisableBracketedPaste, Clear(ClearType::All), MoveTo(0, 0), Show);
    let r2 = disable_raw_mode();
    let _ = out.flush();
    r.and(r2)
}

/// Take the terminal back after [`hand_over`]: the TUI state again, input
/// read again, every cell painted by the next frame. Returns its size (it
/// may have changed meanwhile).
pub fn take_back(term: &mut Term) -> io::Result<(u16, u16)> {
    let entered = enter();
    super::input_gate::resume();
    entered?;
    repaint_all(term)?;
    let size = term.size()?;
    Ok((size.width, size.height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_panic_of_the_main_thread_gives_the_terminal_back_while_the_tui_runs() {
        assert_eq!(on_panic(Some("main"), true), OnPanic::Restore);
        assert_eq!(on_panic(Some("tokio-runtime-worker"), true), OnPanic::LogOnly);
        assert_eq!(on_panic(None, true), OnPanic::LogOnly);
        // No TUI (a headless command): every panic is printed as usual.
        assert_eq!(on_panic(Some("tokio-runtime-worker"), false), OnPanic::Restore);
    }
}
