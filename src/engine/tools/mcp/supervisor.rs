//! One task per server: connect, list tools into the registry, relist on
//! `list_changed`, and restart with backoff when the connection ends.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::Tool as RemoteTool;
use rmcp::{Peer, RoleClient};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::call::{McpTool, Progress};
use super::connect::{self, ChildProc, ConnectError, Handler};
use super::http;
use super::lenient as list;
use super::{Ended, Link, McpState, McpStatus, Server};
use crate::config::mcp::{McpServerConfig, McpTransport};
use crate::engine::tools::{Registry, Tool, ToolSpec};

const BACKOFF_START: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A connection that lasted this long resets the backoff.
const HEALTHY: Duration = Duration::from_secs(60);
/// `tools/list` pages read before giving up on a server that never stops paging.
const MAX_PAGES: usize = 100;
/// How long a child that closed its stdout gets to exit before it is killed.
const EXIT_WAIT: Duration = Duration::from_secs(2);

pub(super) struct Supervisor {
    pub cfg: McpServerConfig,
    pub index: usize,
    pub registry: watch::Sender<Registry>,
    pub status: watch::Sender<Vec<McpStatus>>,
    pub config_dir: PathBuf,
}

enum Outcome {
    /// Cannot work without a change of config or system: stop.
    Fatal(String),
    /// The connection failed or ended; `healthy` if it had been up a while.
    Ended { error: String, healthy: bool },
}

impl Supervisor {
    pub async fn run(self) {
        let stdio = matches!(self.cfg.transport, McpTransport::Stdio { .. });
        let server = Arc::new(Server::new(&self.cfg.name, stdio));
        let mut attempt = 0u32;
        let mut delay = BACKOFF_START;
        loop {
            let (error, healthy) = match self.session(&server).await {
                Outcome::Fatal(error) => {
                    tracing::error!(target: "mcp", server = %self.cfg.name, "{error}; not retried");
                    server.set_link(Link::Down(format!("failed: {error}")));
                    self.registry.send_modify(|r| r.replace_source(&self.cfg.name, Vec::new()));
                    self.set_state(McpState::Failed { error });
                    return;
                }
                Outcome::Ended { error, healthy } => (error, healthy),
            };
            if healthy {
                attempt = 0;
                delay = BACKOFF_START;
            }
            attempt += 1;
            tracing::warn!(target: "mcp", server = %self.cfg.name, attempt, "{error}; restarting in {delay:?}");
            server.set_link(Link::Down(format!("is restarting (attempt {attempt}): {error}")));
            let at = chrono::Utc::now().timestamp_millis() + delay.as_millis() as i64;
            self.set_state(McpState::Restarting { attempt, error, at });
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(BACKOFF_MAX);
        }
    }

    fn set_state(&self, state: McpState) {
        self.status.send_modify(|v| {
            if let Some(s) = v.get_mut(self.index) {
                s.state = state;
            }
        });
    }

    /// One connection, from spawn to its end.
    async fn session(&self, server: &Arc<Server>) -> Outcome {
        let list_changed = Arc::new(Notify::new());
        let progress = Arc::new(Progress::default());
        let handler = Handler { progress: progress.clone(), list_changed: list_changed.clone() };
        let timeout = self.cfg.timeout;
        let connected = match &self.cfg.transport {
            McpTransport::Stdio { command, args, env, cwd } => {
                connect::stdio(&self.cfg.name, handler, command, args, env, cwd.as_ref(), timeout)
                    .await
                    .map(|(s, c)| (s, Some(c)))
            }
            McpTransport::Http { url, token_secret } => {
                http::connect(handler, url, token_secret.as_deref(), &self.config_dir, timeout).await.map(|s| (s, None))
            }
        };
        let (service, mut child) = match connected {
            Ok(c) => c,
            Err(ConnectError::Fatal(e)) => return Outcome::Fatal(e),
            Err(ConnectError::Retry(error)) => return Outcome::Ended { error, healthy: false },
        };
        let up_since = Instant::now();
        let peer = service.peer().clone();
        let cancel = service.cancellation_token();
        let mut done = std::pin::pin!(service.waiting());
        // Up before the tools are published: a caller that sees them can use them.
        let (ended_tx, ended) = watch::channel(None);
        let oversized = child.as_ref().map(|c| c.oversized.clone());
        server.set_link(Link::Up { peer: peer.clone(), progress, ended, oversized });
        match tokio::time::timeout(timeout, self.list(&peer, server)).await {
            Ok(Ok(tools)) => self.publish(tools),
            failed => {
                let exited = child.as_mut().is_some_and(|c| matches!(c.child.try_wait(), Ok(Some(_))));
                let error = match (child.as_mut(), failed) {
                    (Some(c), _) if exited => format!("exited ({})", c.exit_detail(EXIT_WAIT).await),
                    (_, Ok(Err(e))) => format!("listing its tools failed: {e}"),
                    _ => format!("listing its tools took over {timeout:?}"),
                };
                cancel.cancel();
                return Outcome::Ended { error, healthy: false };
            }
        }
        loop {
            let list_changed = tokio::select! {
                () = wait_exit(&mut child) => false,
                _ = &mut done => false,
                () = list_changed.notified() => true,
            };
            if !list_changed {
                break;
            }
            match tokio::time::timeout(timeout, self.list(&peer, server)).await {
                Ok(Ok(tools)) => self.publish(tools),
                Ok(Err(e)) => tracing::warn!(target: "mcp", server = %self.cfg.name, "relisting tools: {e}"),
                Err(_) => tracing::warn!(target: "mcp", server = %self.cfg.name, "relisting tools timed out"),
            }
        }
        let ended = match child.as_mut() {
            Some(c) => Ended { exited: true, detail: c.exit_detail(EXIT_WAIT).await },
            None => Ended { exited: false, detail: "the server ended the session".into() },
        };
        // Calls in flight learn why before the session is torn down under them.
        let _ = ended_tx.send(Some(ended.clone()));
        cancel.cancel();
        drop(child);
        let error = if ended.exited { format!("exited ({})", ended.detail) } else { ended.detail };
        Outcome::Ended { error, healthy: up_since.elapsed() >= HEALTHY }
    }

    /// Every page of `tools/list`, as registry tools: at most
    /// [`list::MAX_TOOLS`]; an unreadable tool is skipped (and logged), not the list.
    async fn list(&self, peer: &Peer<RoleClient>, server: &Arc<Server>) -> Result<Vec<Arc<dyn Tool>>, String> {
        let mut tools = Vec::new();
        let mut cursor = None;
        let (mut skipped, mut first_error) = (0, None);
        for _ in 0..MAX_PAGES {
            let page = list::page(peer, cursor).await?;
            skipped += page.skipped;
            first_error = first_error.or(page.first_error);
            let room = list::MAX_TOOLS.saturating_sub(tools.len());
            skipped += page.tools.len().saturating_sub(room);
            tools.extend(page.tools.into_iter().take(room).filter_map(|t| self.tool(t, server)));
            cursor = page.next_cursor;
            if cursor.is_none() {
                if skipped > 0 {
                    tracing::warn!(
                        target: "mcp", server = %self.cfg.name, skipped, first = ?first_error,
                        "skipped tools that could not be read (or past {})", list::MAX_TOOLS
                    );
                }
                return Ok(tools);
            }
        }
        Err(format!("more than {MAX_PAGES} pages of tools"))
    }

    fn tool(&self, t: RemoteTool, server: &Arc<Server>) -> Option<Arc<dyn Tool>> {
        let remote = t.name.to_string();
        if remote.is_empty() || remote.chars().any(|c| c.is_control() || c.is_whitespace()) {
            tracing::warn!(target: "mcp", server = %self.cfg.name, tool = ?remote, "skipping a tool with an unusable name");
            return None;
        }
        let read_only = t.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true);
        let spec = ToolSpec {
            name: format!("{}/{remote}", self.cfg.name),
            description: super::sanitize(t.description.as_deref().or(t.title.as_deref()).unwrap_or_default(), true),
            schema: crate::engine::tools::schema::normalize(&serde_json::Value::Object(
                t.input_schema.as_ref().clone(),
            )),
            mutating: self.cfg.mutating && !read_only,
            source: self.cfg.name.clone(),
            timeout: self.cfg.timeout,
        };
        Some(Arc::new(McpTool { spec, remote, server: server.clone(), read_only_hint: read_only }))
    }

    fn publish(&self, tools: Vec<Arc<dyn Tool>>) {
        let n = tools.len();
        tracing::info!(target: "mcp", server = %self.cfg.name, tools = n, "ready");
        self.registry.send_modify(|r| r.replace_source(&self.cfg.name, tools));
        self.set_state(McpState::Ready { tools: n });
    }
}

/// The child's exit; never, for a server without one (HTTP).
async fn wait_exit(child: &mut Option<ChildProc>) {
    match child {
        Some(c) => {
            let _ = c.child.wait().await;
        }
        None => std::future::pending().await,
    }
}
