//! An MCP server's tool as a [`Tool`]: `tools/call` with a progress token,
//! progress and text content streamed as output lines, `isError` as a failure,
//! and `notifications/cancelled` when the run is dropped (cancel or timeout).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResult, CancelledNotificationParam, ClientRequest, CustomResult,
    ProgressNotificationParam, ProgressToken, RequestId, ServerResult,
};
use rmcp::service::PeerRequestOptions;
use rmcp::{Peer, RoleClient, ServiceError};
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::{Ended, Link, Server};
use crate::engine::tools::{RunFuture, Tool, ToolError, ToolSpec};

/// Progress notifications buffered per call before older ones are dropped.
const PROGRESS_QUEUE: usize = 64;
/// Notifications kept for a token nobody has subscribed to yet.
const ORPHANS: usize = 16;
/// How long a failed call waits for the supervisor to say why the connection ended.
const ENDED_WAIT: Duration = Duration::from_secs(5);

/// Routes `notifications/progress` to the call that owns the token.
#[derive(Default)]
pub(crate) struct Progress {
    inner: Mutex<ProgressInner>,
}

#[derive(Default)]
struct ProgressInner {
    subs: HashMap<ProgressToken, mpsc::Sender<ProgressNotificationParam>>,
    /// Arrived before their call subscribed (a race the SDK allows).
    orphans: VecDeque<ProgressNotificationParam>,
}

impl Progress {
    pub fn dispatch(&self, p: ProgressNotificationParam) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match inner.subs.get(&p.progress_token) {
            // Full: the reader is behind; progress is advisory, so drop it.
            Some(tx) => drop(tx.try_send(p)),
            None => {
                if inner.orphans.len() >= ORPHANS {
                    inner.orphans.pop_front();
                }
                inner.orphans.push_back(p);
            }
        }
    }

    fn subscribe(self: &Arc<Self>, token: ProgressToken) -> Subscription {
        let (tx, rx) = mpsc::channel(PROGRESS_QUEUE);
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let (mine, rest): (VecDeque<_>, VecDeque<_>) =
            std::mem::take(&mut inner.orphans).into_iter().partition(|p| p.progress_token == token);
        inner.orphans = rest;
        for p in mine {
            let _ = tx.try_send(p);
        }
        inner.subs.insert(token.clone(), tx);
        Subscription { progress: self.clone(), token, rx }
    }
}

struct Subscription {
    progress: Arc<Progress>,
    token: ProgressToken,
    rx: mpsc::Receiver<ProgressNotificationParam>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.progress.inner.lock().unwrap_or_else(PoisonError::into_inner).subs.remove(&self.token);
    }
}

/// Sends `notifications/cancelled` for a request whose caller stopped waiting.
struct CancelOnDrop {
    peer: Option<Peer<RoleClient>>,
    id: RequestId,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let (Some(peer), Ok(rt)) = (self.peer.take(), tokio::runtime::Handle::try_current()) else { return };
        let param =
            CancelledNotificationParam::new(Some(self.id.clone()), Some("cancelled by the opsdeck user".into()));
        rt.spawn(async move {
            let _ = peer.notify_cancelled(param).await;
        });
    }
}

/// One tool of an MCP server.
pub(crate) struct McpTool {
    pub spec: ToolSpec,
    /// The tool's name on the server (without `SERVER/`).
    pub remote: String,
    pub server: Arc<Server>,
    /// The server marked the tool `readOnlyHint: true`.
    pub read_only_hint: bool,
}

impl Tool for McpTool {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn run(&self, args: Value, out: mpsc::Sender<String>) -> RunFuture {
        Box::pin(call(self.server.clone(), self.remote.clone(), args, out))
    }

    /// Under `--read-only` only tools the server marks `readOnlyHint: true` run,
    /// whatever the server's `mutating` setting says about confirmation.
    fn changes_state(&self, _args: &Value) -> bool {
        !self.read_only_hint
    }
}

async fn call(server: Arc<Server>, tool: String, args: Value, out: mpsc::Sender<String>) -> Result<Value, ToolError> {
    let (peer, progress, mut ended, mut oversized) = match server.link() {
        Link::Up { peer, progress, ended, oversized } => (peer, progress, ended, oversized),
        Link::Down(why) => return Err(ToolError::Failed(format!("MCP server {} {why}", server.name))),
    };
    let arguments = match args {
        Value::Object(m) => Some(m),
        Value::Null => None,
        _ => return Err(ToolError::BadArgument { field: "(arguments)".into(), problem: "must be an object".into() }),
    };
    let mut params = CallToolRequestParams::new(tool);
    params.arguments = arguments;
    let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
    let handle = match peer.send_request_with_option(request, PeerRequestOptions::no_options()).await {
        Ok(h) => h,
        Err(e) => return Err(call_error(&server, e, &mut ended).await),
    };
    let mut guard = CancelOnDrop { peer: Some(peer), id: handle.id.clone() };
    // Only messages dropped from now on concern this call.
    if let Some(o) = oversized.as_mut() {
        o.borrow_and_update();
    }
    let mut sub = progress.subscribe(handle.progress_token.clone());
    let response = handle.await_response();
    tokio::pin!(response);
    let mut last = f64::NEG_INFINITY;
    let too_big = async {
        let dropped = match oversized.as_mut() {
            Some(o) => o.changed().await.is_ok(),
            None => false,
        };
        if !dropped {
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(too_big);
    let result = loop {
        tokio::select! {
            r = &mut response => break r,
            Some(p) = sub.rx.recv() => forward(&p, &out, &mut last).await,
            () = &mut too_big => {
                // The answer (most likely this call's) was over the limit and dropped by the transport.
                return Err(ToolError::Failed(format!(
                    "MCP server {} sent a message over {} MiB, which opsdeck does not read; the call cannot get its answer\n  hint: ask for less (a narrower query, a smaller file or page)",
                    server.name,
                    super::connect::MAX_MESSAGE_BYTES >> 20
                )));
            }
        }
    };
    guard.peer = None;
    // Notifications are handled on their own tasks: let those already in flight land.
    tokio::task::yield_now().await;
    while let Ok(p) = sub.rx.try_recv() {
        forward(&p, &out, &mut last).await;
    }
    match result {
        Ok(ServerResult::CallToolResult(r)) => finish(&server.name, r, &out).await,
        Ok(ServerResult::InputRequiredResult(_)) => Err(ToolError::Failed(format!(
            "MCP server {} asked for input during the call; opsdeck cannot answer that yet",
            server.name
        ))),
        Ok(ServerResult::CreateTaskResult(_)) => Err(ToolError::Failed(format!(
            "MCP server {} turned the call into a background task; opsdeck does not follow tasks yet",
            server.name
        ))),
        // A result the SDK's types refuse (a null, an unknown content block): read block by block.
        Ok(ServerResult::CustomResult(CustomResult(v))) => match super::lenient::call_result(v) {
            Ok((r, skipped)) => {
                if skipped > 0 {
                    let what = crate::decode::plural(skipped, "content block", "content blocks");
                    let _ = out.send(format!("({what} of the result could not be read and were skipped)")).await;
                }
                finish(&server.name, r, &out).await
            }
            Err(e) => Err(ToolError::Failed(format!("MCP server {}: {e}", server.name))),
        },
        Ok(_) => Err(ToolError::Failed(format!("MCP server {} answered tools/call with something else", server.name))),
        Err(e) => Err(call_error(&server, e, &mut ended).await),
    }
}

/// `3`, `2.5`: progress figures without a useless `.0`.
fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{}", x as i64) } else { format!("{x}") }
}

/// `progress 3/10: message`; progress that goes backwards (a late straggler) is skipped.
pub(crate) fn progress_line(p: &ProgressNotificationParam, last: &mut f64) -> Option<String> {
    if p.progress < *last {
        return None;
    }
    *last = p.progress;
    let mut line = format!("progress {}", num(p.progress));
    if let Some(t) = p.total {
        line.push_str(&format!("/{}", num(t)));
    }
    if let Some(m) = p.message.as_deref().filter(|m| !m.is_empty()) {
        line.push_str(": ");
        line.push_str(&super::sanitize(m, false));
    }
    Some(line)
}

async fn forward(p: &ProgressNotificationParam, out: &mpsc::Sender<String>, last: &mut f64) {
    if let Some(line) = progress_line(p, last) {
        let _ = out.send(line).await;
    }
}

/// The text of a result's content blocks.
fn text_of(r: &CallToolResult) -> String {
    r.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.as_str()).collect::<Vec<_>>().join("\n")
}

/// Stream the text, then the structured content (or the content array) as the result.
pub(crate) async fn finish(server: &str, r: CallToolResult, out: &mpsc::Sender<String>) -> Result<Value, ToolError> {
    let text = text_of(&r);
    if r.is_error == Some(true) {
        let msg = if text.trim().is_empty() {
            serde_json::to_string(&r.content).unwrap_or_else(|_| "(no message)".into())
        } else {
            text
        };
        return Err(ToolError::Failed(super::sanitize(msg.trim(), true)));
    }
    for line in text.lines() {
        let _ = out.send(super::sanitize(line, false)).await;
    }
    match r.structured_content {
        Some(v) => Ok(v),
        None => serde_json::to_value(&r.content)
            .map_err(|e| ToolError::Failed(format!("MCP server {server}: the result is not JSON: {e}"))),
    }
}

/// Say what went wrong, naming the server; a dead child gets "exited during the call".
async fn call_error(server: &Server, e: ServiceError, ended: &mut watch::Receiver<Option<Ended>>) -> ToolError {
    let name = &server.name;
    match e {
        ServiceError::McpError(d) => ToolError::Failed(format!("MCP server {name}: {} (code {})", d.message, d.code.0)),
        ServiceError::TransportClosed | ServiceError::Cancelled { .. } | ServiceError::TransportSend(_)
            if server.stdio || matches!(e, ServiceError::TransportClosed) =>
        {
            let why = match tokio::time::timeout(ENDED_WAIT, ended.wait_for(Option::is_some)).await {
                Ok(Ok(v)) => v.clone(),
                _ => None,
            };
            match why {
                Some(Ended { exited: true, detail }) => {
                    ToolError::Failed(format!("MCP server {name} exited during the call ({detail})"))
                }
                Some(Ended { detail, .. }) => {
                    ToolError::Failed(format!("MCP server {name}: the connection closed during the call ({detail})"))
                }
                None => ToolError::Failed(format!("MCP server {name}: the connection closed during the call ({e})")),
            }
        }
        ServiceError::TransportSend(t) => {
            ToolError::Failed(format!("MCP server {name} cannot be reached: {}", super::http::root_cause(&t)))
        }
        e => ToolError::Failed(format!("MCP server {name}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::{ContentBlock as Content, NumberOrString};

    fn p(progress: f64, total: Option<f64>, message: Option<&str>) -> ProgressNotificationParam {
        let mut n = ProgressNotificationParam::new(ProgressToken(NumberOrString::Number(1)), progress);
        n.total = total;
        n.message = message.map(String::from);
        n
    }

    #[test]
    fn progress_lines() {
        let mut last = f64::NEG_INFINITY;
        assert_eq!(
            progress_line(&p(3.0, Some(10.0), Some("copying")), &mut last).as_deref(),
            Some("progress 3/10: copying")
        );
        assert_eq!(progress_line(&p(2.0, Some(10.0), None), &mut last), None, "backwards is a straggler");
        assert_eq!(progress_line(&p(4.5, None, Some("")), &mut last).as_deref(), Some("progress 4.5"));
    }

    #[tokio::test]
    async fn results_and_errors() {
        let (tx, mut rx) = mpsc::channel(8);
        let ok = CallToolResult::success(vec![Content::text("a\nb")]);
        let v = finish("s", ok, &tx).await.unwrap();
        assert_eq!(v, serde_json::json!([{"type": "text", "text": "a\nb"}]));
        assert_eq!((rx.recv().await.as_deref(), rx.recv().await.as_deref()), (Some("a"), Some("b")));
        let mut structured = CallToolResult::success(vec![Content::text("{}")]);
        structured.structured_content = Some(serde_json::json!({"t": 21}));
        assert_eq!(finish("s", structured, &tx).await.unwrap(), serde_json::json!({"t": 21}));
        let bad = CallToolResult::error(vec![Content::text("Access denied - path outside allowed directories")]);
        assert_eq!(
            finish("s", bad, &tx).await,
            Err(ToolError::Failed("Access denied - path outside allowed directories".into()))
        );
    }

    #[tokio::test]
    async fn progress_before_subscribing_is_kept() {
        let progress = Arc::new(Progress::default());
        progress.dispatch(p(1.0, Some(2.0), None));
        let mut sub = progress.subscribe(ProgressToken(NumberOrString::Number(1)));
        assert_eq!(sub.rx.recv().await.map(|n| n.progress), Some(1.0));
        progress.dispatch(p(2.0, Some(2.0), None));
        assert_eq!(sub.rx.recv().await.map(|n| n.progress), Some(2.0));
        drop(sub);
        assert!(progress.inner.lock().unwrap().subs.is_empty());
    }
}
