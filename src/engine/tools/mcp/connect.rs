//! Our client handler, and the stdio transport: a child process with the
//! environment minus opsdeck's secrets, stderr to the log, its own process group.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{ClientCapabilities, ClientConfig, Implementation, ProgressNotificationParam};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use tokio::io::AsyncReadExt;
use tokio::process::{Child, ChildStderr};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::call::Progress;

/// Longest stderr line kept whole (the rest is cut).
const STDERR_LINE_MAX: usize = 4096;

/// Why connecting failed: `Fatal` is not retried.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ConnectError {
    Fatal(String),
    Retry(String),
}

/// Our side of the session: routes progress to calls, signals list changes.
#[derive(Clone)]
pub(super) struct Handler {
    pub progress: Arc<Progress>,
    pub list_changed: Arc<Notify>,
}

impl ClientHandler for Handler {
    async fn on_progress(&self, params: ProgressNotificationParam, _context: NotificationContext<RoleClient>) {
        self.progress.dispatch(params);
    }

    async fn on_tool_list_changed(&self, _context: NotificationContext<RoleClient>) {
        self.list_changed.notify_one();
    }

    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(ClientCapabilities::default(), Implementation::new("opsdeck", env!("CARGO_PKG_VERSION")))
    }
}

pub(super) type Service = RunningService<RoleClient, Handler>;

/// A stdio child: killed (with its process group) when dropped.
/// Largest JSON-RPC message (one line) rmcp's stdio transport takes.
pub(crate) const MAX_MESSAGE_BYTES: usize = rmcp::transport::async_rw::DEFAULT_MAX_LINE_LENGTH;

/// The child's stdout as rmcp reads it, watched for lines over
/// [`MAX_MESSAGE_BYTES`]: rmcp drops such a message without a word (so a call
/// would wait for its whole timeout); this counts them so calls fail at once.
pub(super) struct LineWatch<R> {
    inner: R,
    line: usize,
    over: watch::Sender<u64>,
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for LineWatch<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if polled.is_ready() {
            let me = &mut *self;
            for b in &buf.filled()[before..] {
                if *b == b'\n' {
                    me.line = 0;
                } else {
                    me.line = me.line.saturating_add(1);
                    if me.line == MAX_MESSAGE_BYTES + 1 {
                        me.over.send_modify(|n| *n += 1);
                    }
                }
            }
        }
        polled
    }
}

pub(super) struct ChildProc {
    pub child: Child,
    /// The last stderr line, when the reader has finished.
    pub stderr: Option<JoinHandle<String>>,
    /// How many messages over [`MAX_MESSAGE_BYTES`] the server sent (and rmcp dropped).
    pub oversized: watch::Receiver<u64>,
}

impl ChildProc {
    /// Wait for the child to exit (it has, or is about to) and describe how.
    pub async fn exit_detail(&mut self, wait: Duration) -> String {
        let status = match tokio::time::timeout(wait, self.child.wait()).await {
            Ok(Ok(s)) => s.to_string(),
            Ok(Err(e)) => format!("wait failed: {e}"),
            Err(_) => {
                self.kill();
                "closed its stdout but kept running; killed".into()
            }
        };
        let tail = match self.stderr.take() {
            Some(h) => tokio::time::timeout(Duration::from_millis(500), h).await.ok().and_then(Result::ok),
            None => None,
        };
        match tail.filter(|t| !t.is_empty()) {
            Some(t) => format!("{status}; stderr: {t}"),
            None => status,
        }
    }

    fn kill(&mut self) {
        #[cfg(unix)]
        // id() is None once the child was reaped: its group id may belong to someone else by then.
        let pid = self.child.id().filter(|p| *p > 1).and_then(|p| rustix::process::Pid::from_raw(p as i32));
        if let Some(pid) = pid {
            // The whole group: a wrapper (npx, sh -c) may have started the real server.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.child.start_kill();
    }
}

impl Drop for ChildProc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Start a stdio server and complete the MCP handshake.
pub(super) async fn stdio(
    name: &str,
    handler: Handler,
    command: &str,
    args: &[String],
    env: &BTreeMap<String, String>,
    cwd: Option<&PathBuf>,
    timeout: Duration,
) -> Result<(Service, ChildProc), ConnectError> {
    let mut cmd = tokio::process::Command::new(command);
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    crate::secrets::scrub_child_env(&mut cmd);
    cmd.envs(env);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd.spawn().map_err(|e| {
        let msg = format!("cannot start {command:?}: {}", crate::net::io_text(&e));
        match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => ConnectError::Fatal(msg),
            _ => ConnectError::Retry(msg),
        }
    })?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(ConnectError::Retry("the child's stdin/stdout were not piped".into()));
    };
    let stderr = child.stderr.take().map(|e| tokio::spawn(log_stderr(name.to_string(), e)));
    let (over, oversized) = watch::channel(0);
    let mut proc = ChildProc { child, stderr, oversized };
    let stdout = LineWatch { inner: stdout, line: 0, over };
    match tokio::time::timeout(timeout, handler.serve((stdout, stdin))).await {
        Ok(Ok(service)) => Ok((service, proc)),
        Ok(Err(e)) => {
            let detail = match proc.child.try_wait() {
                Ok(Some(_)) => format!("exited ({})", proc.exit_detail(Duration::from_millis(100)).await),
                _ => match tokio::time::timeout(Duration::from_millis(500), proc.child.wait()).await {
                    Ok(_) => format!("exited ({})", proc.exit_detail(Duration::from_millis(100)).await),
                    Err(_) => format!("handshake failed: {}", super::http::init_error(&e)),
                },
            };
            Err(ConnectError::Retry(detail))
        }
        Err(_) => Err(ConnectError::Retry(format!("no answer to initialize within {timeout:?}"))),
    }
}

/// Read the child's stderr line by line into the log; return the last line.
async fn log_stderr(server: String, mut err: ChildStderr) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut last = String::new();
    let emit = |line: &[u8], last: &mut String| {
        let text = String::from_utf8_lossy(line);
        let text = super::sanitize(text.trim_end_matches('\r'), false);
        if !text.trim().is_empty() {
            tracing::info!(target: "mcp", server = %server, "{text}");
            *last = text.chars().take(300).collect();
        }
    };
    loop {
        let n = match err.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in &chunk[..n] {
            if b == b'\n' {
                emit(&buf, &mut last);
                buf.clear();
            } else if buf.len() < STDERR_LINE_MAX {
                buf.push(b);
            }
        }
    }
    emit(&buf, &mut last);
    last
}

#[cfg(test)]
mod tests {
    #[test]
    fn opsdeck_secrets_are_not_for_children() {
        assert!(crate::secrets::is_secret_var("OPSDECK_SECRET_BACKEND_PROD"));
        assert!(crate::secrets::is_secret_var("OPSDECK_TOKEN"));
        assert!(!crate::secrets::is_secret_var("OPSDECK_LOG"));
        assert!(!crate::secrets::is_secret_var("PATH"));
    }
}
