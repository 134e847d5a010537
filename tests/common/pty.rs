//! Run a real program in a pseudo-terminal and read its screen the way a person
//! would see it (through a `vt100` terminal emulator).
//!
//! A reader thread owns the terminal emulator: it feeds every byte the program
//! writes into it, keeps all raw bytes, answers terminal queries (cursor position,
//! device attributes, status) immediately so the program never blocks on them,
//! and then notifies the test through a channel. A waiter thread reports the exit
//! status on the same channel. Tests block on that channel (`recv_timeout`) until
//! what they expect is on screen; timeouts are failure bounds, never used to
//! synchronise.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use portable_pty::{ChildKiller, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

/// A key press, encoded as an xterm-compatible terminal sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Up,
    Down,
    Left,
    Right,
    Home,
    End,
    PageUp,
    PageDown,
    /// Ctrl + a letter, e.g. `Ctrl('c')`.
    Ctrl(char),
    Char(char),
}

impl Key {
    pub fn bytes(self) -> Vec<u8> {
        match self {
            Key::Enter => b"\r".to_vec(),
            Key::Esc => b"\x1b".to_vec(),
            Key::Tab => b"\t".to_vec(),
            Key::BackTab => b"\x1b[Z".to_vec(),
            Key::Backspace => b"\x7f".to_vec(),
            Key::Up => b"\x1b[A".to_vec(),
            Key::Down => b"\x1b[B".to_vec(),
            Key::Right => b"\x1b[C".to_vec(),
            Key::Left => b"\x1b[D".to_vec(),
            Key::Home => b"\x1b[H".to_vec(),
            Key::End => b"\x1b[F".to_vec(),
            Key::PageUp => b"\x1b[5~".to_vec(),
            Key::PageDown => b"\x1b[6~".to_vec(),
            Key::Ctrl(c) => vec![(c.to_ascii_lowercase() as u8) & 0x1f],
            Key::Char(c) => c.to_string().into_bytes(),
        }
    }
}

/// What to run and how.
pub struct PtyCommand {
    program: OsString,
    args: Vec<OsString>,
    cols: u16,
    rows: u16,
    env: Vec<(OsString, OsString)>,
    env_remove: Vec<OsString>,
    cwd: Option<PathBuf>,
}

impl PtyCommand {
    pub fn new(program: impl Into<OsString>) -> Self {
        PtyCommand {
            program: program.into(),
            args: Vec::new(),
            cols: 80,
            rows: 24,
            env: Vec::new(),
            env_remove: Vec::new(),
            cwd: None,
        }
    }

    pub fn arg(mut self, a: impl Into<OsString>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Terminal size in columns and rows.
    pub fn size(mut self, cols: u16, rows: u16) -> Self {
        self.cols = cols;
        self.rows = rows;
        self
    }

    pub fn env(mut self, k: impl Into<OsString>, v: impl Into<OsString>) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    pub fn env_remove(mut self, k: impl Into<OsString>) -> Self {
        self.env_remove.push(k.into());
        self
    }

    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    pub fn spawn(self) -> Result<PtySession, String> {
        let what = format!(
            "{} {}",
            self.program.to_string_lossy(),
            self.args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" ")
        );
        let (cols, rows) = (nz(self.cols, "cols")?, nz(self.rows, "rows")?);
        let pair = native_pty_system()
            .openpty(PtySize { rows: rows.get(), cols: cols.get(), pixel_width: 0, pixel_height: 0 })
            .map_err(|e| format!("opening a pty for `{what}`: {e}"))?;
        let mut cmd = CommandBuilder::new(&self.program);
        cmd.args(&self.args);
        for k in &self.env_remove {
            cmd.env_remove(k);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(d) = &self.cwd {
            cmd.cwd(d);
        }
        let mut child = pair.slave.spawn_command(cmd).map_err(|e| format!("spawning `{what}` in a pty: {e}"))?;
        // Only the child keeps the slave side open, so the reader sees EOF when it exits.
        drop(pair.slave);
        let pid = child.process_id();
        let killer = child.clone_killer();
        let master = pair.master;
        let reader = master.try_clone_reader().map_err(|e| format!("pty reader: {e}"))?;
        let writer = Arc::new(Mutex::new(master.take_writer().map_err(|e| format!("pty writer: {e}"))?));
        let shared = Arc::new(Mutex::new(Shared { parser: vt100::Parser::new(rows, cols, 0), raw: Vec::new() }));
        let (tx, rx) = channel();

        let (s, w, t) = (Arc::clone(&shared), Arc::clone(&writer), tx.clone());
        std::thread::Builder::new()
            .name("pty-reader".into())
            .spawn(move || read_loop(reader, s, w, t))
            .map_err(|e| format!("starting the pty reader thread: {e}"))?;
        std::thread::Builder::new()
            .name("pty-waiter".into())
            .spawn(move || {
                let status = child.wait().map_err(|e| e.to_string());
                let _ = tx.send(Msg::Exited(status));
            })
            .map_err(|e| format!("starting the pty waiter thread: {e}"))?;

        Ok(PtySession { what, master, writer, shared, rx, killer, pid, exit: None, eof: false })
    }
}

fn nz(v: u16, what: &str) -> Result<NonZeroU16, String> {
    NonZeroU16::new(v).ok_or_else(|| format!("terminal {what} must be at least 1"))
}

type Writer = Arc<Mutex<Box<dyn Write + Send>>>;

struct Shared {
    parser: vt100::Parser,
    /// Every byte the program wrote, in order.
    raw: Vec<u8>,
}

enum Msg {
    /// New output was processed into the screen.
    Output,
    /// The pty was closed: no more output.
    Eof,
    Exited(Result<ExitStatus, String>),
}

/// Terminal queries the program may send, and how a terminal answers them.
const QUERIES: &[(&[u8], Reply)] = &[
    (b"\x1b[6n", Reply::CursorPosition),
    (b"\x1b[?6n", Reply::CursorPosition),
    (b"\x1b[5n", Reply::Fixed(b"\x1b[0n")),
    (b"\x1b[c", Reply::Fixed(b"\x1b[?62;22c")),
    (b"\x1b[0c", Reply::Fixed(b"\x1b[?62;22c")),
];
const MAX_QUERY: usize = 5;

#[derive(Clone, Copy)]
enum Reply {
    CursorPosition,
    Fixed(&'static [u8]),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn read_loop(mut reader: Box<dyn Read + Send>, shared: Arc<Mutex<Shared>>, writer: Writer, tx: Sender<Msg>) {
    let mut buf = [0u8; 16 * 1024];
    // The last bytes of the previous chunk: a query may be split across reads.
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        let mut replies: Vec<Vec<u8>> = Vec::new();
        {
            let mut s = lock(&shared);
            s.raw.extend_from_slice(chunk);
            let mut window = carry.clone();
            window.extend_from_slice(chunk);
            let mut done = 0; // bytes of `chunk` already fed to the emulator
            let mut i = 0;
            while i < window.len() {
                let hit = QUERIES.iter().find(|(q, _)| window[i..].starts_with(q));
                if let Some((q, reply)) = hit {
                    let end = i + q.len();
                    if end > carry.len() {
                        // Feed the screen up to the query so the cursor position is the one asked about.
                        let upto = end - carry.len();
                        s.parser.process(&chunk[done..upto]);
                        done = upto;
                        replies.push(match reply {
                            Reply::CursorPosition => {
                                let (row, col) = s.parser.screen().cursor_position();
                                format!("\x1b[{};{}R", row + 1, col + 1).into_bytes()
                            }
                            Reply::Fixed(b) => b.to_vec(),
                        });
                    }
                    i = end;
                } else {
                    i += 1;
                }
            }
            s.parser.process(&chunk[done..]);
            let keep = window.len().min(MAX_QUERY - 1);
            carry = window[window.len() - keep..].to_vec();
        }
        if !replies.is_empty() {
            let mut w = lock(&writer);
            for r in replies {
                let _ = w.write_all(&r);
            }
            let _ = w.flush();
        }
        if tx.send(Msg::Output).is_err() {
            return;
        }
    }
    let _ = tx.send(Msg::Eof);
}

/// A program running in a pty. Killed (SIGHUP, then SIGKILL) when dropped.
pub struct PtySession {
    what: String,
    master: Box<dyn MasterPty + Send>,
    writer: Writer,
    shared: Arc<Mutex<Shared>>,
    rx: Receiver<Msg>,
    killer: Box<dyn ChildKiller + Send + Sync>,
    pid: Option<u32>,
    exit: Option<Result<ExitStatus, String>>,
    eof: bool,
}

impl PtySession {
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The visible screen as text, rows separated by newlines.
    pub fn screen_text(&self) -> String {
        lock(&self.shared).parser.screen().contents()
    }

    /// The visible screen, one string per row (trailing blanks trimmed).
    pub fn screen_lines(&self) -> Vec<String> {
        let s = lock(&self.shared);
        let (_, cols) = s.parser.screen().size();
        s.parser.screen().rows(0, cols.get()).collect()
    }

    /// (cols, rows) of the emulated terminal.
    pub fn size(&self) -> (u16, u16) {
        let s = lock(&self.shared);
        let (rows, cols) = s.parser.screen().size();
        (cols.get(), rows.get())
    }

    /// Every byte the program wrote so far.
    pub fn raw_output(&self) -> Vec<u8> {
        lock(&self.shared).raw.clone()
    }

    /// Run `f` on the emulated screen (colours, cursor, modes).
    pub fn with_screen<R>(&self, f: impl FnOnce(&vt100::Screen) -> R) -> R {
        f(lock(&self.shared).parser.screen())
    }

    /// The pty's current terminal attributes (they are the program's, e.g. raw mode).
    #[cfg(unix)]
    pub fn termios_local_flags(&self) -> Option<u64> {
        self.master.get_termios().map(|t| t.local_flags.bits() as u64)
    }

    pub fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut w = lock(&self.writer);
        w.write_all(bytes).and_then(|()| w.flush()).map_err(|e| format!("writing to `{}`: {e}", self.what))
    }

    /// Type text (each character as a key press).
    pub fn send(&mut self, text: &str) -> Result<(), String> {
        self.send_bytes(text.as_bytes())
    }

    pub fn send_key(&mut self, key: Key) -> Result<(), String> {
        self.send_bytes(&key.bytes())
    }

    /// Resize the terminal (the program gets SIGWINCH).
    pub fn resize(&mut self, cols: u16, rows: u16) -> Result<(), String> {
        let (c, r) = (nz(cols, "cols")?, nz(rows, "rows")?);
        lock(&self.shared).parser.screen_mut().set_size(r, c);
        self.master
            .resize(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
            .map_err(|e| format!("resizing the pty to {cols}x{rows}: {e}"))
    }

    fn handle(&mut self, m: Msg) {
        match m {
            Msg::Output => {}
            Msg::Eof => self.eof = true,
            Msg::Exited(s) => self.exit = Some(s),
        }
    }

    /// Take in whatever has arrived, without blocking.
    fn drain(&mut self) {
        while let Ok(m) = self.rx.try_recv() {
            self.handle(m);
        }
    }

    /// Whether the program is still running (as far as has been reported).
    pub fn is_alive(&mut self) -> bool {
        self.drain();
        self.exit.is_none()
    }

    fn exit_text(&self) -> String {
        match &self.exit {
            None => "still running".into(),
            Some(Ok(s)) => format!("exited with {s:?}"),
            Some(Err(e)) => format!("wait failed: {e}"),
        }
    }

    /// Block until `pred(screen text)` holds; `timeout` only bounds a failure.
    /// Returns the screen that satisfied it, or an error showing the last screen.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&str) -> bool,
    ) -> Result<String, String> {
        self.wait_until(what, timeout, |s| pred(&s.screen_text()))?;
        Ok(self.screen_text())
    }

    /// Block until `pred(all raw bytes read so far)` holds (escape sequences a
    /// screen does not show, e.g. a clear).
    pub fn wait_for_output(
        &mut self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), String> {
        self.wait_until(what, timeout, |s| pred(&s.raw_output()))
    }

    fn wait_until(&mut self, what: &str, timeout: Duration, mut cond: impl FnMut(&Self) -> bool) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            self.drain();
            if cond(self) {
                return Ok(());
            }
            if self.eof && self.exit.is_some() {
                return Err(self.failure(what, "the program ended first", &self.screen_text()));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(m) => self.handle(m),
                Err(RecvTimeoutError::Timeout) => {
                    self.drain();
                    if cond(self) {
                        return Ok(());
                    }
                    return Err(self.failure(what, &format!("not seen within {timeout:?}"), &self.screen_text()));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.eof = true;
                    if cond(self) {
                        return Ok(());
                    }
                    return Err(self.failure(what, "the pty closed first", &self.screen_text()));
                }
            }
        }
    }

    /// Block until `needle` is on screen.
    pub fn wait_for_text(&mut self, needle: &str, timeout: Duration) -> Result<String, String> {
        self.wait_for(&format!("{needle:?} on screen"), timeout, |s| s.contains(needle))
    }

    fn failure(&self, what: &str, why: &str, screen: &str) -> String {
        let (cols, rows) = self.size();
        format!(
            "waiting for {what} from `{}`: {why} (program {})\n--- screen {cols}x{rows} ---\n{screen}\n--- end of screen ---",
            self.what,
            self.exit_text()
        )
    }

    /// Wait for the program to exit, then for the rest of its output.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        let deadline = Instant::now() + timeout;
        while self.exit.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(m) => self.handle(m),
                Err(RecvTimeoutError::Timeout) => {
                    self.drain();
                    if self.exit.is_none() {
                        let screen = self.screen_text();
                        return Err(self.failure(
                            "the program to exit",
                            &format!("still running after {timeout:?}"),
                            &screen,
                        ));
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!(
                        "`{}`: lost track of the process (its waiter thread ended without a status)",
                        self.what
                    ));
                }
            }
        }
        // Collect all output written before the exit (bounded, in case a grandchild keeps the pty open).
        let eof_deadline = deadline.max(Instant::now() + Duration::from_secs(5));
        while !self.eof {
            match self.rx.recv_timeout(eof_deadline.saturating_duration_since(Instant::now())) {
                Ok(m) => self.handle(m),
                Err(_) => break,
            }
        }
        match &self.exit {
            Some(Ok(s)) => Ok(s.clone()),
            Some(Err(e)) => Err(format!("waiting for `{}`: {e}", self.what)),
            None => Err(format!("`{}`: no exit status", self.what)),
        }
    }
}

impl Drop for PtySession {
    fn drop(&mut self) {
        self.drain();
        if self.exit.is_some() {
            return;
        }
        // SIGHUP first (a terminal going away), then SIGKILL if it lingers.
        let _ = self.killer.kill();
        let deadline = Instant::now() + Duration::from_secs(3);
        while self.exit.is_none() {
            match self.rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(m) => self.handle(m),
                Err(_) => break,
            }
        }
        #[cfg(unix)]
        if self.exit.is_none()
            && let Some(pid) = self.pid.and_then(|p| i32::try_from(p).ok()).and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
}
