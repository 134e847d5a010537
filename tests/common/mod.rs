//! Shared helpers for end-to-end tests: a pty harness and an isolated opsdeck environment.
#![allow(dead_code)]

pub mod pty;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pty::{PtyCommand, PtySession};

/// Failure bound for anything a test waits for (generous: the machine may be loaded).
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Variables that would leak the developer's setup into a test.
const REMOVED_VARS: &[&str] = &[
    "NO_COLOR",
    "OPSDECK_CONFIG_DIR",
    "OPSDECK_DATA_DIR",
    "OPSDECK_STATE_DIR",
    "XDG_RUNTIME_DIR",
    "COLUMNS",
    "LINES",
    "COLORTERM",
];

/// Temporary XDG config/data/state directories and HOME for one opsdeck user.
pub struct OpsdeckEnv {
    root: tempfile::TempDir,
}

impl OpsdeckEnv {
    pub fn new() -> Self {
        let root = tempfile::Builder::new().prefix("opsdeck-e2e-").tempdir().expect("creating a temporary directory");
        for d in ["config", "data", "state", "home"] {
            std::fs::create_dir_all(root.path().join(d)).expect("creating the XDG directories");
        }
        OpsdeckEnv { root }
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `$XDG_CONFIG_HOME/opsdeck/config.toml`.
    pub fn config_file(&self) -> PathBuf {
        self.root.path().join("config/opsdeck/config.toml")
    }

    /// Write the implicit config file.
    pub fn write_config(&self, text: &str) -> PathBuf {
        let f = self.config_file();
        if let Some(dir) = f.parent() {
            std::fs::create_dir_all(dir).expect("creating the config directory");
        }
        std::fs::write(&f, text).expect("writing config.toml");
        f
    }

    pub fn vars(&self) -> Vec<(OsString, OsString)> {
        let p = |d: &str| self.root.path().join(d).into_os_string();
        vec![
            ("XDG_CONFIG_HOME".into(), p("config")),
            ("XDG_DATA_HOME".into(), p("data")),
            ("XDG_STATE_HOME".into(), p("state")),
            ("HOME".into(), p("home")),
            ("OPSDECK_RUNTIME_DIR".into(), p("run")),
            ("TERM".into(), "xterm-256color".into()),
        ]
    }

    /// The opsdeck binary in a pty of `cols` x `rows`.
    pub fn pty(&self, args: &[&str], cols: u16, rows: u16) -> PtySession {
        self.pty_program(env!("CARGO_BIN_EXE_opsdeck"), args, cols, rows)
    }

    /// Any program (e.g. an interactive shell) in a pty, with the same environment.
    pub fn pty_program(&self, program: &str, args: &[&str], cols: u16, rows: u16) -> PtySession {
        self.pty_with(program, args, cols, rows, &[])
    }

    /// A program in a pty with the same environment plus `extra` variables.
    pub fn pty_with(&self, program: &str, args: &[&str], cols: u16, rows: u16, extra: &[(&str, &str)]) -> PtySession {
        let mut cmd = PtyCommand::new(program).args(args).size(cols, rows).cwd(self.root.path().join("home"));
        for (k, v) in extra {
            cmd = cmd.env(*k, *v);
        }
        for k in REMOVED_VARS {
            cmd = cmd.env_remove(*k);
        }
        for (k, v) in self.vars() {
            cmd = cmd.env(k, v);
        }
        cmd.spawn().unwrap_or_else(|e| panic!("starting opsdeck {args:?}: {e}"))
    }

    /// The opsdeck binary without a terminal (stdin null, output captured).
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"));
        cmd.args(args).current_dir(self.root.path().join("home")).stdin(std::process::Stdio::null());
        for k in REMOVED_VARS {
            cmd.env_remove(k);
        }
        cmd.envs(self.vars());
        cmd
    }
}

/// Run a command to completion, with `timeout` as a failure bound.
pub fn output_within(mut cmd: std::process::Command, timeout: Duration) -> std::process::Output {
    cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(out) => out.unwrap_or_else(|e| panic!("waiting for {cmd:?}: {e}")),
        Err(_) => {
            #[cfg(unix)]
            if let Some(p) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) {
                let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
            }
            panic!("{cmd:?} did not finish within {timeout:?}");
        }
    }
}

/// Unwrap a harness result, failing the test with its message.
pub fn expect_ok<T>(r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// Press `q` and expect a clean exit (status 0).
pub fn quit_cleanly(app: &mut PtySession) {
    expect_ok(app.send("q"));
    let status = expect_ok(app.wait_exit(TIMEOUT));
    assert!(status.success(), "q must exit with status 0, got {status:?}\n{}", app.screen_text());
}

/// A child process killed and reaped when the test ends, however it ends (a
/// failed assertion too): nothing a test starts outlives it. Derefs to the
/// `Child`.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl std::ops::Deref for KillOnDrop {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}
