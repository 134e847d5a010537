//! MCP servers as tool sources, through the official Rust SDK (`rmcp`).
//!
//! One supervisor task per configured server connects (a child process on
//! stdio, or streamable HTTP), lists its tools (every page) and registers each
//! as `SERVER/TOOL` in the shared [`Registry`] (a `watch` channel, so the UI sees
//! changes). A `notifications/tools/list_changed` relists. A stdio server that
//! exits is restarted with backoff (0.5 s doubling to 30 s, reset after a
//! healthy minute); a call in flight ends at once with "exited during the call".
//!
//! While a server is down its tools **stay listed** (forms and history keep
//! working) and calling one fails at once with the reason, e.g. "MCP server fs
//! is restarting (attempt 2): exited (exit status: 1)". A server that cannot be
//! started at all (command not found, missing token secret) is `Failed` and
//! not retried; its tools are removed.
//!
//! stderr of a child goes line by line to the log (target `mcp`), never to the
//! terminal; children get opsdeck's environment minus `OPSDECK_SECRET_*` and
//! `OPSDECK_TOKEN`, plus the configured `env`.

mod call;
mod connect;
mod http;
mod lenient;
mod supervisor;

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::Registry;
use crate::config::mcp::McpServerConfig;
use crate::protocol::Ts;

/// One server's state, for the status bar and `opsdeck tool --list`.
#[derive(Debug, Clone, PartialEq)]
pub struct McpStatus {
    pub name: String,
    pub state: McpState,
}

#[derive(Debug, Clone, PartialEq)]
pub enum McpState {
    /// First connection under way.
    Starting,
    /// Connected, with this many tools registered.
    Ready { tools: usize },
    /// The connection failed or ended; attempt `attempt` starts at `at` (unix ms).
    Restarting { attempt: u32, error: String, at: Ts },
    /// Cannot be started (bad command, missing secret); not retried.
    Failed { error: String },
}

impl McpState {
    /// Ready, or failed at least once: what [`McpHub::wait_ready`] waits for.
    pub fn settled(&self) -> bool {
        !matches!(self, McpState::Starting)
    }
}

/// The running MCP servers. Dropping the hub stops them (children are killed).
pub struct McpHub {
    status: watch::Receiver<Vec<McpStatus>>,
    tasks: Vec<JoinHandle<()>>,
}

impl McpHub {
    /// Start one supervisor per server on the current tokio runtime. Their tools
    /// join `registry` as they are listed. `config_dir` is where secrets
    /// (`token_secret`) are looked up, as for backends.
    pub fn start(servers: &[McpServerConfig], registry: watch::Sender<Registry>, config_dir: &Path) -> McpHub {
        let initial: Vec<McpStatus> =
            servers.iter().map(|s| McpStatus { name: s.name.clone(), state: McpState::Starting }).collect();
        let (status_tx, status) = watch::channel(initial);
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            status_tx.send_modify(|v| {
                for s in v.iter_mut() {
                    s.state = McpState::Failed { error: "no async runtime to run MCP servers on".into() };
                }
            });
            return McpHub { status, tasks: Vec::new() };
        };
        let tasks = servers
            .iter()
            .enumerate()
            .map(|(index, cfg)| {
                let sup = supervisor::Supervisor {
                    cfg: cfg.clone(),
                    index,
                    registry: registry.clone(),
                    status: status_tx.clone(),
                    config_dir: config_dir.to_path_buf(),
                };
                rt.spawn(sup.run())
            })
            .collect();
        McpHub { status, tasks }
    }

    /// Every server's state, updated as it changes.
    pub fn status(&self) -> watch::Receiver<Vec<McpStatus>> {
        self.status.clone()
    }

    /// Wait until every server is ready or has failed once, at most `timeout`.
    /// True if all settled in time.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let mut rx = self.status.clone();
        matches!(tokio::time::timeout(timeout, rx.wait_for(|v| v.iter().all(|s| s.state.settled()))).await, Ok(Ok(_)))
    }
}

impl Drop for McpHub {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// What the tools of one server share with its supervisor.
pub(crate) struct Server {
    pub name: String,
    pub stdio: bool,
    link: Mutex<Link>,
}

/// The current connection, or why there is none.
#[derive(Clone)]
pub(crate) enum Link {
    Up {
        peer: rmcp::Peer<rmcp::RoleClient>,
        /// Progress notifications of this session (tokens restart at each session).
        progress: Arc<call::Progress>,
        ended: watch::Receiver<Option<Ended>>,
        /// Messages over the transport's size limit so far (stdio; `None` over HTTP).
        oversized: Option<watch::Receiver<u64>>,
    },
    Down(String),
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ended {
    /// The child process exited (else the connection closed).
    pub exited: bool,
    /// e.g. "exit status: 3; stderr: boom".
    pub detail: String,
}

impl Server {
    fn new(name: &str, stdio: bool) -> Self {
        Server { name: name.into(), stdio, link: Mutex::new(Link::Down("is starting".into())) }
    }

    pub fn link(&self) -> Link {
        self.link.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn set_link(&self, link: Link) {
        *self.link.lock().unwrap_or_else(PoisonError::into_inner) = link;
    }
}

/// Text from a server, made safe to print on a terminal: control characters
/// (escape sequences) become spaces; newlines and tabs are kept when `multiline`.
pub(crate) fn sanitize(s: &str, multiline: bool) -> String {
    s.chars().map(|c| if c.is_control() && !(multiline && (c == '\n' || c == '\t')) { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_strips_escape_sequences() {
        assert_eq!(sanitize("a\x1b[31mb\nc", false), "a [31mb c");
        assert_eq!(sanitize("a\x1b]0;x\x07\nb\tc", true), "a ]0;x \nb\tc");
    }

    #[test]
    fn settled_means_not_starting() {
        assert!(!McpState::Starting.settled());
        assert!(McpState::Ready { tools: 0 }.settled());
        assert!(McpState::Restarting { attempt: 1, error: String::new(), at: 0 }.settled());
        assert!(McpState::Failed { error: String::new() }.settled());
    }

    struct Dummy(crate::engine::tools::ToolSpec);

    impl crate::engine::tools::Tool for Dummy {
        fn spec(&self) -> &crate::engine::tools::ToolSpec {
            &self.0
        }
        fn run(&self, _: serde_json::Value, _: tokio::sync::mpsc::Sender<String>) -> crate::engine::tools::RunFuture {
            Box::pin(async { Ok(serde_json::Value::Null) })
        }
    }

    fn dummy(name: &str, source: &str) -> Arc<dyn crate::engine::tools::Tool> {
        Arc::new(Dummy(crate::engine::tools::ToolSpec {
            name: name.into(),
            description: String::new(),
            schema: serde_json::json!({"type": "object"}),
            mutating: false,
            source: source.into(),
            timeout: Duration::from_secs(1),
        }))
    }

    #[test]
    fn replace_source_swaps_one_sources_tools() {
        let mut r = Registry::with_builtins(crate::jq::JqRunner::in_process());
        let builtins = r.specs().len();
        r.replace_source("a", vec![dummy("a/x", "a"), dummy("a/y", "a")]);
        r.replace_source("b", vec![dummy("b/x", "b")]);
        r.replace_source("a", vec![dummy("a/z", "a")]);
        let names: Vec<&str> = r.specs().iter().filter(|s| s.source != "builtin").map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a/z", "b/x"]);
        r.replace_source("b", Vec::new());
        assert_eq!(r.specs().len(), builtins + 1);
    }

    #[tokio::test]
    async fn a_hub_without_servers_is_ready_at_once() {
        let (tx, _rx) = watch::channel(Registry::with_builtins(crate::jq::JqRunner::in_process()));
        let hub = McpHub::start(&[], tx, Path::new("/nonexistent"));
        assert!(hub.wait_ready(Duration::from_millis(1)).await);
    }

    #[tokio::test]
    async fn a_missing_command_fails_without_retrying() {
        let (tx, rx) = watch::channel(Registry::with_builtins(crate::jq::JqRunner::in_process()));
        let cfg = McpServerConfig::stdio("nope", "/nonexistent/opsdeck-no-such-server", &[]);
        let hub = McpHub::start(&[cfg], tx, Path::new("/nonexistent"));
        assert!(hub.wait_ready(Duration::from_secs(10)).await);
        let st = hub.status().borrow().clone();
        assert!(matches!(&st[0].state, McpState::Failed { error } if error.contains("cannot start")), "{st:?}");
        assert!(rx.borrow().specs().iter().all(|s| s.source != "nope"));
    }
}
