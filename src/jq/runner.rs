//! The parent side of the jq worker: start the opsdeck binary in its hidden
//! worker mode, send it the filter and the input, and read its answer within
//! the budget. Dropping the future kills the worker (`kill_on_drop`), so a
//! cancelled preview or tool run leaves nothing running.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Answer, JqError, MAX_OUTPUT_BYTES, MAX_OUTPUTS, Request};

/// The first argument that starts the opsdeck binary as a jq worker (checked
/// before the command line is parsed; not part of `--help`).
pub const WORKER_ARG: &str = "__jq-worker";

/// Most bytes of the worker's stderr kept (for the reason it stopped).
const STDERR_KEPT: u64 = 16 * 1024;
/// Room for the answer's envelope around the outputs.
const ANSWER_SLACK: usize = 64 * 1024;

/// The budget of one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time; the parent kills the worker after it.
    pub timeout: Duration,
    /// Address space of the worker (bytes), set by the worker on itself.
    pub memory_bytes: u64,
    /// Stack of the evaluating thread (bytes); deeper recursion is [`JqError::TooDeep`].
    pub stack_bytes: usize,
    pub max_outputs: usize,
    /// Bytes of JSON text all outputs may add up to.
    pub max_output_bytes: usize,
}

impl Default for Limits {
    /// 10 s, 1 GiB, a 64 MiB stack, [`MAX_OUTPUTS`] outputs of [`MAX_OUTPUT_BYTES`].
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(10),
            memory_bytes: 1 << 30,
            stack_bytes: 64 << 20,
            max_outputs: MAX_OUTPUTS,
            max_output_bytes: MAX_OUTPUT_BYTES,
        }
    }
}

#[derive(Debug, Clone)]
enum How {
    /// The opsdeck binary to start as a worker.
    Worker(Arc<Path>),
    /// No executable (why): every evaluation fails with that reason.
    Missing(String),
    /// Unit tests of the library: the pure evaluation, in this process, on a
    /// blocking thread. Only for benign filters; never built outside tests.
    #[cfg(test)]
    InProcess,
}

/// Evaluates jq filters in a worker process under [`Limits`]. Cheap to clone;
/// handed to whoever evaluates jq (the `data_query` tool, the TUI's runtime).
#[derive(Debug, Clone)]
pub struct JqRunner {
    how: How,
    limits: Limits,
}

impl JqRunner {
    /// Workers are `exe __jq-worker` (`exe` is an opsdeck binary).
    pub fn new(exe: impl Into<PathBuf>) -> Self {
        JqRunner { how: How::Worker(Arc::from(exe.into().as_path())), limits: Limits::default() }
    }

    /// Workers are this very program (`std::env::current_exe`). When it
    /// cannot be found, every evaluation fails and says why.
    pub fn for_this_program() -> Self {
        match std::env::current_exe() {
            Ok(exe) => JqRunner::new(exe),
            Err(e) => JqRunner {
                how: How::Missing(format!("cannot find the opsdeck executable: {}", crate::net::io_text(&e))),
                limits: Limits::default(),
            },
        }
    }

    /// The pure evaluation on a blocking thread of this process (unit tests only).
    #[cfg(test)]
    pub fn in_process() -> Self {
        JqRunner { how: How::InProcess, limits: Limits::default() }
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The same runner with another time budget.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.limits.timeout = timeout;
        self
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Every output of `filter` over `input`, or why there is none. Never
    /// takes longer than the time budget (plus the time to start a process).
    pub async fn run(&self, filter: &str, input: &Value) -> Result<Vec<Value>, JqError> {
        let exe = match &self.how {
            How::Worker(exe) => exe,
            How::Missing(why) => return Err(JqError::Worker(why.clone())),
            #[cfg(test)]
            How::InProcess => {
                let (f, i, l) = (filter.to_string(), input.clone(), self.limits);
                return tokio::task::spawn_blocking(move || {
                    super::run_filter_bounded(&f, &i, l.max_outputs, l.max_output_bytes)
                })
                .await
                .map_err(|e| JqError::Worker(e.to_string()))?;
            }
        };
        let l = self.limits;
        let request = Request {
            filter: filter.to_string(),
            input: input.clone(),
            max_outputs: l.max_outputs,
            max_output_bytes: l.max_output_bytes,
            memory_bytes: l.memory_bytes,
            stack_bytes: l.stack_bytes,
            cpu_seconds: l.timeout.as_secs() + 2,
        };
        let request = serde_json::to_vec(&request).map_err(|e| JqError::Input(e.to_string()))?;
        let mut cmd = tokio::process::Command::new(exe.as_ref());
        // No secrets for the worker: only what the loader may need to start it.
        cmd.env_clear();
        if let Some(v) = std::env::var_os("LD_LIBRARY_PATH") {
            cmd.env("LD_LIBRARY_PATH", v);
        }
        let mut child = cmd
            .arg(WORKER_ARG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| JqError::Worker(format!("cannot start {}: {}", exe.display(), crate::net::io_text(&e))))?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(JqError::Worker("the worker's pipes are missing".into()));
        };
        let cap = (l.max_output_bytes + ANSWER_SLACK) as u64;
        let exchange = async {
            let write = async move {
                // A worker that died early closes the pipe; its exit status says why.
                let _ = stdin.write_all(&request).await;
            };
            let read_out = async move {
                let mut buf = Vec::new();
                let _ = stdout.take(cap + 1).read_to_end(&mut buf).await;
                buf
            };
            let read_err = async move {
                let mut buf = Vec::new();
                let _ = stderr.take(STDERR_KEPT).read_to_end(&mut buf).await;
                buf
            };
            let ((), out, err) = tokio::join!(write, read_out, read_err);
            if out.len() as u64 > cap {
                return Err(JqError::TooLarge(l.max_output_bytes));
            }
            let status = child.wait().await.map_err(|e| JqError::Worker(crate::net::io_text(&e)))?;
            Ok((status, out, err))
        };
        let ended = tokio::time::timeout(l.timeout, exchange).await;
        match ended {
            Ok(Ok((status, out, err))) => judge(status, &out, &err, &l),
            Ok(Err(e)) => {
                let _ = child.kill().await;
                Err(e)
            }
            Err(_) => {
                let _ = child.kill().await;
                Err(JqError::TooSlow(l.timeout.as_millis() as u64))
            }
        }
    }
}

/// The worker's answer, or what its exit says about why there is none.
fn judge(status: ExitStatus, out: &[u8], err: &[u8], l: &Limits) -> Result<Vec<Value>, JqError> {
    if status.success() {
        return match serde_json::from_slice::<Answer>(out) {
            Ok(Answer::Ok(v)) => Ok(v),
            Ok(Answer::Err(e)) => Err(e),
            Err(e) => Err(JqError::Worker(format!("unreadable answer: {e}"))),
        };
    }
    let err = String::from_utf8_lossy(err);
    if err.contains("has overflowed its stack") {
        return Err(JqError::TooDeep);
    }
    if err.contains("memory allocation of") || err.contains("capacity overflow") || err.contains("out of memory") {
        return Err(JqError::OutOfMemory(l.memory_bytes));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        match status.signal() {
            // SIGXCPU: the worker's own CPU-time backstop.
            Some(24) => return Err(JqError::TooSlow(l.timeout.as_millis() as u64)),
            // SIGSEGV without the runtime's message (its handler was not the
            // one that ran): in safe Rust that is the stack's guard page.
            Some(11) => return Err(JqError::TooDeep),
            _ => {}
        }
    }
    let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message");
    Err(JqError::Worker(format!("stopped unexpectedly ({status}): {last}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_executable_is_an_error_that_says_which() {
        let r = JqRunner::new("/nonexistent/opsdeck").run(".", &Value::Null).await;
        let Err(JqError::Worker(m)) = r else { panic!("{r:?}") };
        assert!(m.contains("/nonexistent/opsdeck") && m.contains("no such file"), "{m}");
    }
}
