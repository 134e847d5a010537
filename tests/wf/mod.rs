//! A temp opsdeck home for workflow tests: workflow files, the real binary
//! run headless against it (`opsdeck run`, `opsdeck runs`), bounded polling.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use opsdeck::protocol::workflow::{Run, RunDetail, RunId};

/// A failure bound for anything a test waits for (the machine may be loaded).
pub const LIMIT: Duration = Duration::from_secs(30);

/// The user `opsdeck runs approve` records as the decider.
pub const USER: &str = "wf-tester";

/// One opsdeck user's directories: `config/opsdeck/workflows`, `data`,
/// `state`, and the runtime dir of the control socket (`run`).
pub struct Home {
    dir: tempfile::TempDir,
}

impl Default for Home {
    fn default() -> Self {
        Self::new()
    }
}

impl Home {
    pub fn new() -> Home {
        let dir = tempfile::Builder::new().prefix("opsdeck-wf-").tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("config/opsdeck/workflows")).expect("workflows dir");
        Home { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Where opsdeck keeps its store.
    pub fn data_dir(&self) -> PathBuf {
        self.path().join("data/opsdeck")
    }

    /// Where opsdeck keeps its logs.
    pub fn state_dir(&self) -> PathBuf {
        self.path().join("state/opsdeck")
    }

    /// Write `workflows/NAME.toml`.
    pub fn workflow(&self, name: &str, text: &str) {
        std::fs::write(self.path().join(format!("config/opsdeck/workflows/{name}.toml")), text).expect("workflow file");
    }

    /// The opsdeck binary on this home (stdin null, output piped); the same
    /// variables as `wire::envs`, so a `serve` started with `wire::start`
    /// holds the same data dir.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
        cmd.args(args).current_dir(self.path()).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let home = self.path();
        cmd.env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_STATE_HOME", home.join("state"))
            .env("OPSDECK_RUNTIME_DIR", home.join("run"))
            .env("HOME", home)
            .env("USER", USER)
            .env("LOGNAME", USER);
        for k in ["OPSDECK_TOKEN", "OPSDECK_CONFIG_DIR", "OPSDECK_DATA_DIR", "OPSDECK_STATE_DIR", "XDG_RUNTIME_DIR"] {
            cmd.env_remove(k);
        }
        cmd
    }

    /// Run to the end (failing the test if it takes longer than [`LIMIT`]).
    pub fn out(&self, args: &[&str]) -> Output {
        output_within(self.cmd(args), LIMIT)
    }

    /// Run, expecting exit 0; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.out(args);
        assert!(out.status.success(), "opsdeck {args:?}: {:?}\n{}", out.status, text(&out.stderr));
        text(&out.stdout)
    }

    /// `opsdeck runs --json --limit 1000`.
    pub fn runs(&self) -> Vec<Run> {
        let out = self.ok(&["runs", "--json", "--limit", "1000"]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("opsdeck runs --json: {e}\n{out}"))
    }

    /// `opsdeck runs show N --json`.
    pub fn show(&self, run: RunId) -> RunDetail {
        let n = run.to_string();
        let out = self.ok(&["runs", "show", &n, "--json"]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("opsdeck runs show {run} --json: {e}\n{out}"))
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Run a command to completion, with `limit` as a failure bound.
pub fn output_within(mut cmd: Command, limit: Duration) -> Output {
    let child = cmd.spawn().unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    wait_output(child, limit, &format!("{cmd:?}"))
}

/// Wait for a child's end and output, killing it (and failing) after `limit`.
pub fn wait_output(child: std::process::Child, limit: Duration, what: &str) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap_or_else(|e| panic!("waiting for {what}: {e}")),
        Err(_) => {
            signal(pid, rustix::process::Signal::KILL);
            panic!("{what} did not finish within {limit:?}");
        }
    }
}

/// Send `sig` to process `pid` (gone already: nothing).
pub fn signal(pid: u32, sig: rustix::process::Signal) {
    if let Some(p) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process(p, sig);
    }
}

/// Poll `f` until it gives a value; fail naming `what` after [`LIMIT`].
/// (A failure bound, not a synchronisation: `f` reads an observable fact.)
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up after {LIMIT:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The process is gone: no /proc entry, or a zombie (state Z) waiting for its parent.
pub fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // "pid (comm) S …": the state follows the last ')'.
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

/// Live processes whose command line contains `needle` (a test's temp path).
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
                && !gone(*pid)
        })
        .collect()
}

/// Live processes with a file under `dir` open (pid, state and command
/// line): who holds a data directory's lock.
pub fn processes_holding(dir: &Path) -> Vec<String> {
    let Ok(procs) = std::fs::read_dir("/proc") else { return Vec::new() };
    procs
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| {
            std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
                fds.filter_map(Result::ok).any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.starts_with(dir)))
            })
        })
        .map(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat.rsplit_once(')').map(|(_, r)| r.trim_start().chars().next().unwrap_or('?')).unwrap_or('?');
            format!("{pid} {state} {}", String::from_utf8_lossy(&cmd).replace('\0', " "))
        })
        .collect()
}

/// Every file under `dir` (recursively) whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t)
                    if t.is_file() && std::fs::read(&p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle)) =>
                {
                    found.push(p);
                }
                _ => {}
            }
        }
    }
    found
}

/// Files under `dir`, recursively (to show a grep had something to read).
pub fn file_count(dir: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.filter_map(Result::ok) {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => n += 1,
                _ => {}
            }
        }
    }
    n
}

/// A running `opsdeck serve --no-auth` on loopback; SIGKILLed and reaped when dropped.
pub struct Serve {
    pub child: std::process::Child,
    pub addr: std::net::SocketAddr,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Home {
    /// Start `opsdeck serve --listen 127.0.0.1:0 --no-auth` on this home and wait
    /// until it says where it listens (its control socket is bound before that);
    /// if it ends first, fail with what it printed.
    pub fn serve(&self) -> Serve {
        let mut cmd = self.cmd(&["serve", "--listen", "127.0.0.1:0", "--no-auth"]);
        cmd.stdout(Stdio::null());
        let mut child = cmd.spawn().expect("spawn opsdeck serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                let addr = line.strip_prefix("opsdeck serve: listening on ").map(|a| a.trim().to_string());
                let _ = tx.send((line, addr));
            }
        });
        let mut said = Vec::new();
        loop {
            match rx.recv_timeout(LIMIT) {
                Ok((_, Some(addr))) => {
                    return Serve { child, addr: addr.parse().expect("address") };
                }
                Ok((line, None)) => said.push(line),
                Err(e) => {
                    let _ = child.kill();
                    let status = child.wait();
                    panic!(
                        "opsdeck serve did not listen ({e:?}, {status:?}); it said:\n{}\nprocesses holding the data dir: {:?}",
                        said.join("\n"),
                        processes_holding(&self.data_dir())
                    );
                }
            }
        }
    }
}
