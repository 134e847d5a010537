//! A real Prefect 3 server (prefect 3.9.1, SQLite) for the Prefect tests, on
//! 127.0.0.1 with a free port, from the venv `.ci/test` installs into
//! `$OPSDECK_PREFECT_DIR/venv` (default `~/.cache/opsdeck-prefect`), plus the
//! flow scripts of `tests/peers/prefect_flows/` run against it.
//!
//! ```ignore
//! let prefect = PrefectServer::start();
//! let out = prefect.run_flow("ok_flow.py", &[]);           // one ok-flow run, waited for
//! let long = prefect.spawn_flow("long_flow.py", &["20"]); // a run in the background
//! let runner = prefect.serve("serve_flows.py");           // ok-deploy, long-deploy, fail-deploy
//! // POST {prefect.api_url()}/flow_runs/filter ...
//! ```
//!
//! Everything lives in one temporary directory: the server's PREFECT_HOME
//! (its SQLite database), the flows' own PREFECT_HOME and the logs. Every
//! process runs in a process group of its own and the whole group is killed
//! when its guard drops: a `serve` runner starts each flow run as a child
//! process, and a runner left behind would keep executing runs. Each group
//! is led by `tests/peers/prefect_guard.py`, which kills the group when its
//! stdin (a pipe this side holds) closes: a test process killed before its
//! drops ran (Ctrl-C on `cargo test`) leaves nothing behind either. Inherited
//! `PREFECT_*` variables are removed so that a developer's profile or
//! `PREFECT_API_URL` never leaks in. docs/testing.md has the timings.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// A failure bound for the server to answer `GET /api/health` (4-12 s when
/// idle, the first start in a new home runs the database migrations), not a
/// synchronisation.
const START_LIMIT: Duration = Duration::from_secs(90);
/// A failure bound for the server to exit after SIGTERM (about 1.5 s).
const STOP_LIMIT: Duration = Duration::from_secs(30);
/// A failure bound for [`PrefectServer::run_flow`] (a short flow takes 2-4 s).
const FLOW_LIMIT: Duration = Duration::from_secs(120);
/// A failure bound for a `serve` runner to register its deployments (2-3 s).
const SERVE_LIMIT: Duration = Duration::from_secs(60);
/// How often the waits look again.
const POLL: Duration = Duration::from_millis(100);

/// A running Prefect server, killed (its whole process group) when dropped.
pub struct PrefectServer {
    /// None between [`stop`](Self::stop) and [`start_again`](Self::start_again).
    child: Option<Child>,
    /// The guard's stdin: closing it kills the server's group.
    watch: Option<ChildStdin>,
    port: u16,
    dir: tempfile::TempDir,
}

impl PrefectServer {
    /// Starts `prefect server start` with a new, empty database (analytics
    /// and the UI off) and returns once `GET /api/health` answers `true`.
    /// Panics (failing the test) when the venv is missing or the server does
    /// not come up within 90 s, with the tail of its log.
    pub fn start() -> PrefectServer {
        let bin = venv().join("bin/prefect");
        assert!(
            bin.exists() && venv().join("bin/python").exists(),
            "{} is missing: run `bash .ci/test` (it installs prefect==3.9.1 into $OPSDECK_PREFECT_DIR/venv)",
            bin.display()
        );
        let dir = tempfile::tempdir().expect("tempdir");
        for sub in ["server-home", "client-home"] {
            std::fs::create_dir(dir.path().join(sub)).expect("mkdir");
        }
        let mut server = PrefectServer { child: None, watch: None, port: super::free_port(), dir };
        server.start_again();
        server
    }

    /// Starts the server again after [`stop`](Self::stop): the same home (so
    /// the same database) and port; returns once healthy. Panics as
    /// [`start`](Self::start) does, or when the server is running.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "the Prefect server is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("log file");
        let mut child = guarded(&venv().join("bin/prefect"))
            .args(["server", "start", "--host", "127.0.0.1", "--port", &self.port.to_string()])
            .env("PREFECT_HOME", self.dir.path().join("server-home"))
            .env("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
            .env("PREFECT_SERVER_UI_ENABLED", "false")
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("prefect server start: {e} (run `bash .ci/test`)"));
        // From here on a panic drops the guard, which kills the server.
        self.watch = child.stdin.take();
        self.child = Some(child);
        let deadline = Instant::now() + START_LIMIT;
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                (self.child, self.watch) = (None, None);
                panic!("the Prefect server exited ({status}) before it was healthy:\n{}", tail(&self.log()));
            }
            if self.healthy() {
                return;
            }
            if Instant::now() > deadline {
                panic!("the Prefect server was not healthy within {START_LIMIT:?}:\n{}", tail(&self.log()));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Stops the server as a service manager would (SIGTERM to its process
    /// group; it exits in 1.5-4 s, a WebSocket client gets close code
    /// 1012) and waits until it has exited (SIGKILL after 30 s). The database
    /// stays for [`start_again`](Self::start_again).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        // The guard ignores SIGTERM and exits when the server has.
        signal_group(&child, rustix::process::Signal::TERM);
        let exited = wait_limited(&mut child, STOP_LIMIT);
        self.watch = None;
        if exited.is_none() {
            signal_group(&child, rustix::process::Signal::KILL);
            let _ = child.wait();
            panic!("the Prefect server did not exit within {STOP_LIMIT:?} of SIGTERM:\n{}", tail(&self.log()));
        }
    }

    /// `http://127.0.0.1:PORT/api`: append `/health`, `/flow_runs/filter`, …
    pub fn api_url(&self) -> String {
        format!("http://127.0.0.1:{}/api", self.port)
    }

    /// The server's log (stdout and stderr of every start) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// Whether `GET /api/health` answers 200 `true` now (one request, 2 s bound).
    pub fn healthy(&self) -> bool {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else { return false };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
        let request = format!("GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n", self.port);
        if stream.write_all(request.as_bytes()).is_err() {
            return false;
        }
        let mut answer = Vec::new();
        let _ = stream.take(64 * 1024).read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        answer.starts_with("HTTP/1.1 200") && answer.trim_end().ends_with("true")
    }

    /// Runs `tests/peers/prefect_flows/SCRIPT ARGS…` with the venv's python
    /// against this server and returns its output once it exits (a failing
    /// flow exits non-zero: that is not a panic). Panics when it runs longer
    /// than 120 s (the process group is killed first).
    pub fn run_flow(&self, script: &str, args: &[&str]) -> Output {
        let mut flow = self.spawn_flow(script, args);
        let Some(status) = flow.wait(FLOW_LIMIT) else {
            panic!("{script} {args:?} ran longer than {FLOW_LIMIT:?}:\n{}", tail(&flow.log()));
        };
        let read = |name: &str| std::fs::read(flow.dir.path().join(name)).unwrap_or_default();
        Output { status, stdout: read("stdout"), stderr: read("stderr") }
    }

    /// Starts `tests/peers/prefect_flows/SCRIPT ARGS…` in the background (a
    /// flow run the test cancels, or a server restart happens under);
    /// killed with its process group when the guard drops.
    pub fn spawn_flow(&self, script: &str, args: &[&str]) -> FlowProcess {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = |name: &str| std::fs::File::create(dir.path().join(name)).expect("output file");
        let mut child = guarded(&venv().join("bin/python"))
            .arg(flows_dir().join(script))
            .args(args)
            .current_dir(flows_dir())
            .env("PREFECT_HOME", self.dir.path().join("client-home"))
            .env("PREFECT_API_URL", self.api_url())
            // A served deployment's run starts within about a second (default 10 s).
            .env("PREFECT_RUNNER_POLL_FREQUENCY", "1")
            .env("PYTHONUNBUFFERED", "1")
            .stdout(file("stdout"))
            .stderr(file("stderr"))
            .spawn()
            .unwrap_or_else(|e| panic!("{script}: {e} (run `bash .ci/test`)"));
        let watch = child.stdin.take();
        FlowProcess { child, _watch: watch, exited: None, dir }
    }

    /// Starts a runner serving the deployments `SCRIPT` defines (e.g.
    /// `serve_flows.py`: ok-deploy, long-deploy, fail-deploy) and returns once
    /// they are registered; the runner polls every second, so a flow run
    /// created from one starts within 1-2 s. Killed with its process group
    /// (the runs it started, Python's resource_tracker) when the guard drops.
    /// Panics when the runner exits or has not registered within 60 s.
    pub fn serve(&self, script: &str) -> FlowProcess {
        let mut runner = self.spawn_flow(script, &[]);
        let deadline = Instant::now() + SERVE_LIMIT;
        // The runner prints this once every deployment is registered, then polls.
        while !runner.log().contains("being served and polling") {
            if let Some(status) = runner.try_wait() {
                panic!("{script} exited ({status}) before serving:\n{}", tail(&runner.log()));
            }
            if Instant::now() > deadline {
                panic!("{script} did not serve within {SERVE_LIMIT:?}:\n{}", tail(&runner.log()));
            }
            std::thread::sleep(POLL);
        }
        runner
    }
}

impl Drop for PrefectServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal_group(&child, rustix::process::Signal::KILL);
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A flow script or `serve` runner in its own process group, killed (the
/// whole group) when dropped.
pub struct FlowProcess {
    child: Child,
    /// The guard's stdin: closing it kills the group.
    _watch: Option<ChildStdin>,
    /// Set once the leader has been reaped (and its group killed).
    exited: Option<ExitStatus>,
    /// stdout and stderr files.
    dir: tempfile::TempDir,
}

impl FlowProcess {
    /// The process id of its guard (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its stdout then stderr so far (Prefect's log lines and tracebacks go to
    /// stderr, the `serve` banner to stdout).
    pub fn log(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!("{}{}", read("stdout"), read("stderr"))
    }

    /// Its exit status if it has exited (does not block).
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            // Whatever it left in its group goes with it.
            signal_group(&self.child, rustix::process::Signal::KILL);
            self.exited = Some(status);
        }
        self.exited
    }

    /// Waits up to `limit` for it to exit; None when it is still running.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for FlowProcess {
    fn drop(&mut self) {
        if self.exited.is_none() {
            signal_group(&self.child, rustix::process::Signal::KILL);
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Sends `signal` to the process group `child` leads (process_group(0)).
fn signal_group(child: &Child, signal: rustix::process::Signal) {
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process_group(pid, signal);
    }
}

/// Waits up to `limit` for `child` to exit.
fn wait_limited(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// `PROGRAM` under `prefect_guard.py`, leading a new process group, stdin a
/// pipe (closing it kills the group), inherited `PREFECT_*` variables (a
/// profile, an API URL or key) removed.
fn guarded(program: &Path) -> Command {
    let mut cmd = Command::new(venv().join("bin/python"));
    cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/prefect_guard.py"))
        .arg(program)
        .stdin(Stdio::piped())
        .process_group(0);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PREFECT_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// The last 60 lines of a log, for failure messages.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// `tests/peers/prefect_flows`.
fn flows_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/prefect_flows")
}

/// Where `.ci/test` installs the venv.
fn venv() -> PathBuf {
    std::env::var_os("OPSDECK_PREFECT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/opsdeck-prefect"))
        .join("venv")
}
