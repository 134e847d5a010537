//! One attempt of one workflow step, for the scheduler: an [`Action`] made
//! from the step's kind and its rendered `with`, run by [`execute`].
//!
//! - `shell`: `sh -c COMMAND` in a process group of its own, stdin from
//!   `/dev/null`. Dropping the future kills the whole group (SIGKILL) at once.
//!   When `sh` ends, what it left running is killed too (as CI runners do),
//!   after a short grace to read the output still in the pipes, so a
//!   background child holding stdout open never keeps the step from ending.
//! - `http`: one request through [`crate::net::http_client`]; a status of 400
//!   or more is a failure that starts with the code (`404 Not Found: …`).
//!   Dropping the future aborts the request.
//! - a tool: run through the [`Registry`] (arguments checked against its
//!   schema); dropping the future drops the tool's run.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;

use super::definition::Uses;
use crate::engine::tools::{Registry, RunOptions, ToolError};

/// Bytes of stdout (and of stderr) kept in a shell step's result.
pub const SHELL_KEEP: usize = 16 * 1024;
/// Bytes of an HTTP response body read and kept in the result.
pub const HTTP_BODY_KEEP: usize = 64 * 1024;
/// How long output is still read after `sh` ended while something it started
/// holds the pipes open; then the group is killed.
pub const EXIT_GRACE: Duration = Duration::from_millis(200);
/// An output line longer than this is passed on in pieces.
const MAX_LINE: usize = 16 * 1024;
/// Characters of an error response's body in the failure message.
const FAILURE_BODY: usize = 200;
/// The longest an HTTP request may take on its own: the step's timeout (the
/// scheduler drops the attempt) is meant to end it sooner.
const HTTP_TIMEOUT: Duration = Duration::from_secs(3600);
/// Methods that do not change anything (RFC 9110 §9.2.1).
const SAFE_METHODS: [&str; 3] = ["GET", "HEAD", "OPTIONS"];
/// Methods an `http` step may use.
const METHODS: [&str; 7] = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"];

/// What one attempt of a step does, its `with` already rendered (no templates left).
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `sh -c command` in `cwd` (else opsdeck's), with `env` added to opsdeck's
    /// environment (minus opsdeck's own secrets: `OPSDECK_SECRET_*`, `OPSDECK_TOKEN`).
    Shell { command: String, cwd: Option<String>, env: BTreeMap<String, String> },
    /// One request; `method` is upper case and one of GET, HEAD, OPTIONS, POST,
    /// PUT, PATCH, DELETE; `url` is http(s).
    Http { method: String, url: String, headers: BTreeMap<String, String>, body: Option<String> },
    /// A tool of the registry with these arguments.
    Tool { name: String, args: Value },
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct StepFailure {
    /// One line for the user (and for a retry policy's `non_retryable` to match).
    pub message: String,
    /// Whether trying again could help at all: `false` for bad arguments or an
    /// unknown tool, whatever the retry policy says.
    pub retryable: bool,
    /// What the step produced anyway, in the shape of its result (a shell
    /// step's exit code and output, an HTTP error response), else null.
    pub output: Value,
}

impl StepFailure {
    /// A failure that another attempt may not have.
    pub fn retryable(message: impl Into<String>) -> Self {
        StepFailure { message: message.into(), retryable: true, output: Value::Null }
    }

    /// A failure every attempt would have (bad arguments, unknown tool).
    pub fn permanent(message: impl Into<String>) -> Self {
        StepFailure { message: message.into(), retryable: false, output: Value::Null }
    }

    fn with_output(mut self, output: Value) -> Self {
        self.output = output;
        self
    }
}

impl From<ToolError> for StepFailure {
    fn from(e: ToolError) -> Self {
        match e {
            ToolError::Failed(_) | ToolError::Timeout(_) => StepFailure::retryable(e.to_string()),
            ToolError::Unknown(_) | ToolError::BadArgument { .. } | ToolError::Refused(_) => {
                StepFailure::permanent(e.to_string())
            }
        }
    }
}

/// `with`'s object, or a sentence saying it is not one.
fn table(with: &Value) -> Result<serde_json::Map<String, Value>, String> {
    match with {
        Value::Null => Ok(Default::default()),
        Value::Object(m) => Ok(m.clone()),
        other => Err(format!("with must be a table, not {other}")),
    }
}

/// Refuse a key that is not one of `known` (a misspelt one is not ignored).
fn only(with: &serde_json::Map<String, Value>, kind: &str, known: &[&str]) -> Result<(), String> {
    for k in with.keys() {
        if !known.contains(&k.as_str()) {
            let near = crate::text::nearest(k, known.iter().copied());
            let hint = match near.first() {
                Some(n) => format!("; did you mean `{n}`?"),
                None => format!(" ({})", known.join(", ")),
            };
            return Err(format!("with.{k} is not an argument of {kind}{hint}"));
        }
    }
    Ok(())
}

fn string(with: &serde_json::Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match with.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("with.{key} must be a string, not {other}")),
    }
}

fn strings(with: &serde_json::Map<String, Value>, key: &str) -> Result<BTreeMap<String, String>, String> {
    match with.get(key) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(format!("with.{key}.{k} must be a string, not {other}")),
            })
            .collect(),
        Some(other) => Err(format!("with.{key} must be a table of strings, not {other}")),
    }
}

impl Action {
    /// From a step's kind and its rendered `with` object; `Err(sentence)` when
    /// an argument is missing, unknown or of the wrong type (`with.command`
    /// not a string, `headers` not a table of strings, `method` not an HTTP
    /// method, a URL that is not http(s)). An `approve` step is not an action.
    ///
    /// An `http` step's `body` may be a table or an array: it is sent as JSON
    /// (with `content-type: application/json` unless a header says otherwise).
    pub fn from_step(uses: &Uses, with: &Value) -> Result<Action, String> {
        match uses {
            Uses::Approve => Err("an approve step waits for a person; it is not run".into()),
            Uses::Tool(name) => match with {
                Value::Null => Ok(Action::Tool { name: name.clone(), args: json!({}) }),
                Value::Object(_) => Ok(Action::Tool { name: name.clone(), args: with.clone() }),
                other => Err(format!("with must be a table, not {other}")),
            },
            Uses::Shell => {
                let with = table(with)?;
                only(&with, "a shell step", &["command", "cwd", "env"])?;
                let command = string(&with, "command")?
                    .filter(|c| !c.trim().is_empty())
                    .ok_or("a shell step needs with.command")?;
                let env = strings(&with, "env")?;
                if let Some(k) = env.keys().find(|k| k.is_empty() || k.contains(['=', '\0'])) {
                    return Err(format!("with.env: {k:?} is not a variable name"));
                }
                Ok(Action::Shell { command, cwd: string(&with, "cwd")?, env })
            }
            Uses::Http => {
                let with = table(with)?;
                only(&with, "an http step", &["url", "method", "headers", "body"])?;
                let url = string(&with, "url")?.ok_or("an http step needs with.url")?;
                match url::Url::parse(&url) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
                    Ok(u) => {
                        return Err(format!("with.url {url:?}: use an http:// or https:// URL, not {}", u.scheme()));
                    }
                    Err(e) => return Err(format!("with.url {url:?}: {e}")),
                }
                let method = string(&with, "method")?.unwrap_or_else(|| "GET".into()).to_ascii_uppercase();
                if !METHODS.contains(&method.as_str()) {
                    return Err(format!("with.method {method:?} is not an HTTP method ({})", METHODS.join(", ")));
                }
                let mut headers = strings(&with, "headers")?;
                for (k, v) in &headers {
                    reqwest::header::HeaderName::from_bytes(k.as_bytes())
                        .map_err(|_| format!("with.headers: {k:?} is not a header name"))?;
                    reqwest::header::HeaderValue::from_str(v)
                        .map_err(|_| format!("with.headers.{k}: the value has a character a header cannot hold"))?;
                }
                let body = match with.get("body") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(v @ (Value::Object(_) | Value::Array(_))) => {
                        if !headers.keys().any(|k| k.eq_ignore_ascii_case("content-type")) {
                            headers.insert("content-type".into(), "application/json".into());
                        }
                        Some(v.to_string())
                    }
                    Some(other) => return Err(format!("with.body must be a string or a table, not {other}")),
                };
                Ok(Action::Http { method, url, headers, body })
            }
        }
    }

    /// Changes things outside opsdeck: a shell command always; an HTTP request
    /// unless its method is GET, HEAD or OPTIONS; a tool when its spec says
    /// `mutating` or it says these arguments may change something (an
    /// `http_check` POST). An unknown tool counts as mutating.
    pub fn mutating(&self, registry: &Registry) -> bool {
        match self {
            Action::Shell { .. } => true,
            Action::Http { method, .. } => !SAFE_METHODS.contains(&method.as_str()),
            Action::Tool { name, args } => {
                registry.get(name).map_or(true, |t| t.spec().mutating || t.changes_state(args))
            }
        }
    }
}

/// Runs one attempt. Lines of output go to `out` as they come (stdout plain,
/// stderr prefixed `stderr: ` as the shell tool does); a closed `out` is not
/// an error. `Ok(result)` on success, else a [`StepFailure`].
///
/// Cancellation is dropping the future: a shell step's process group is
/// killed, an HTTP request aborted, a tool's run dropped — at once.
///
/// A tool runs as confirmed (a run is its own confirmation, issue 12): the
/// caller refuses mutating steps under `--read-only` (see [`Action::mutating`]).
pub async fn execute(action: Action, registry: &Registry, out: mpsc::Sender<String>) -> Result<Value, StepFailure> {
    match action {
        Action::Shell { command, cwd, env } => shell(&command, cwd.as_deref(), &env, &out).await,
        Action::Http { method, url, headers, body } => http(&method, &url, &headers, body, &out).await,
        Action::Tool { name, args } => {
            let opts = RunOptions { confirmed: true, read_only: false };
            registry.run_with(&name, args, out, opts).await.map_err(StepFailure::from)
        }
    }
}

// ---- shell ----

/// A running `sh` and its process group. Dropped, it kills the whole group
/// with SIGKILL (then `sh` itself, should it not be in the group).
struct Group {
    child: tokio::process::Child,
    /// The group's id (`sh`'s pid); `None` once the group was killed.
    #[cfg(unix)]
    pgid: Option<rustix::process::Pid>,
}

impl Group {
    fn new(child: tokio::process::Child) -> Self {
        Group {
            #[cfg(unix)]
            pgid: child
                .id()
                .and_then(|p| i32::try_from(p).ok())
                .filter(|p| *p > 1)
                .and_then(rustix::process::Pid::from_raw),
            child,
        }
    }

    /// SIGKILL every process of the group, once.
    ///
    /// Also after `sh` was reaped: a group outlives its leader while any of
    /// its processes lives, and its id is not given to a new process until
    /// the group is empty (POSIX). Only an empty group whose id was reused by a
    /// new group leader in between (a wrap of the whole pid space within the
    /// grace) could be hit by mistake.
    fn kill(&mut self) {
        #[cfg(unix)]
        if let Some(pgid) = self.pgid.take() {
            let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
        let _ = self.child.start_kill();
    }
}

/// Lines of a pipe, read in a way that may be cancelled between any two
/// reads (the partial line stays here): lines longer than [`MAX_LINE`] bytes
/// come in pieces (split between chars), invalid UTF-8 is replaced, a
/// trailing `\r` is dropped.
struct Lines<R> {
    reader: BufReader<R>,
    partial: Vec<u8>,
    open: bool,
}

impl<R: AsyncRead + Unpin> Lines<R> {
    fn new(r: R) -> Self {
        Lines { reader: BufReader::new(r), partial: Vec::new(), open: true }
    }

    /// The next line and whether it ended with a newline; `None` at the end.
    async fn next(&mut self) -> Option<(String, bool)> {
        loop {
            let avail = match self.reader.fill_buf().await {
                Ok(b) => b,
                // A read error ends the pipe like its end does.
                Err(_) => &[],
            };
            if avail.is_empty() {
                self.open = false;
                return self.take_partial().map(|l| (l, false));
            }
            let room = MAX_LINE - self.partial.len();
            let scan = &avail[..avail.len().min(room)];
            if let Some(i) = scan.iter().position(|b| *b == b'\n') {
                self.partial.extend_from_slice(&scan[..i]);
                self.reader.consume(i + 1);
                return self.take_partial().map(|l| (l, true)).or(Some((String::new(), true)));
            }
            let n = scan.len();
            self.partial.extend_from_slice(scan);
            self.reader.consume(n);
            if self.partial.len() >= MAX_LINE {
                // A piece ends on a char boundary: a char split here goes with the next piece.
                let keep = match std::str::from_utf8(&self.partial) {
                    Err(e) if e.error_len().is_none() && e.valid_up_to() > 0 => self.partial.split_off(e.valid_up_to()),
                    _ => Vec::new(),
                };
                let piece = self.take_partial();
                self.partial = keep;
                return piece.map(|l| (l, false));
            }
        }
    }

    /// What was read of an unfinished line.
    fn take_partial(&mut self) -> Option<String> {
        if self.partial.is_empty() {
            return None;
        }
        let bytes = std::mem::take(&mut self.partial);
        let mut line = String::from_utf8_lossy(&bytes).into_owned();
        if line.ends_with('\r') {
            line.pop();
        }
        Some(line)
    }
}

/// The last `cap` bytes of a stream's text (amortised O(line) per push).
struct Tail {
    text: String,
    cap: usize,
}

impl Tail {
    fn new(cap: usize) -> Self {
        Tail { text: String::new(), cap }
    }

    fn push(&mut self, line: &str, newline: bool) {
        self.text.push_str(line);
        if newline {
            self.text.push('\n');
        }
        if self.text.len() > 2 * self.cap {
            let cut = ceil_char_boundary(&self.text, self.text.len() - self.cap);
            self.text.drain(..cut);
        }
    }

    /// The kept text, at most `cap` bytes, without one trailing newline.
    fn finish(mut self) -> String {
        if self.text.len() > self.cap {
            let cut = ceil_char_boundary(&self.text, self.text.len() - self.cap);
            self.text.drain(..cut);
        }
        if self.text.ends_with('\n') {
            self.text.pop();
        }
        self.text
    }

    /// The last line with something in it.
    fn last_line(&self) -> Option<&str> {
        self.text.lines().rev().map(str::trim).find(|l| !l.is_empty())
    }
}

/// The first char boundary at or after `i`.
fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

async fn shell(
    command: &str,
    cwd: Option<&str>,
    env: &BTreeMap<String, String>,
    out: &mpsc::Sender<String>,
) -> Result<Value, StepFailure> {
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c").arg(command).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    crate::secrets::scrub_child_env(&mut cmd);
    cmd.envs(env);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    #[cfg(unix)]
    cmd.process_group(0);
    let child = cmd.spawn().map_err(|e| {
        let in_dir = cwd.map(|d| format!(" in {d}")).unwrap_or_default();
        StepFailure::retryable(format!("cannot start sh{in_dir}: {}", crate::net::io_text(&e)))
    })?;
    let mut group = Group::new(child);
    let (Some(stdout), Some(stderr)) = (group.child.stdout.take(), group.child.stderr.take()) else {
        return Err(StepFailure::retryable("sh's stdout and stderr were not piped"));
    };
    let (mut so, mut se) = (Lines::new(stdout), Lines::new(stderr));
    let (mut out_tail, mut err_tail) = (Tail::new(SHELL_KEEP), Tail::new(SHELL_KEEP));
    let mut status = None;
    let mut grace_end = None;
    while status.is_none() || so.open || se.open {
        // Evaluated even when the branch is off: any instant will do then.
        let deadline = grace_end.unwrap_or_else(tokio::time::Instant::now);
        tokio::select! {
            // Output first: what is in the pipes is read before the grace can end
            // the loop, however slowly `out` takes it; the grace only cuts off
            // a pipe that is open and idle.
            biased;
            l = so.next(), if so.open => if let Some((line, newline)) = l {
                out_tail.push(&line, newline);
                let _ = out.send(line).await;
            },
            l = se.next(), if se.open => if let Some((line, newline)) = l {
                err_tail.push(&line, newline);
                let _ = out.send(format!("stderr: {line}")).await;
            },
            s = group.child.wait(), if status.is_none() => {
                status = Some(s.map_err(|e| StepFailure::retryable(format!("waiting for sh: {}", crate::net::io_text(&e))))?);
                grace_end = Some(tokio::time::Instant::now() + EXIT_GRACE);
            },
            _ = tokio::time::sleep_until(deadline), if grace_end.is_some() => break,
        }
    }
    // What sh left running (a background child holding the pipes, or not) goes with it.
    group.kill();
    let partials = [(so.take_partial(), &mut out_tail, ""), (se.take_partial(), &mut err_tail, "stderr: ")];
    for (line, tail, prefix) in partials {
        if let Some(line) = line {
            tail.push(&line, false);
            let _ = out.send(format!("{prefix}{line}")).await;
        }
    }
    let status = status.ok_or_else(|| StepFailure::retryable("sh ended without an exit status"))?;
    let last_err = err_tail.last_line().map(str::to_string);
    let code = status.code();
    let result = json!({"exit_code": code, "stdout": out_tail.finish(), "stderr": err_tail.finish()});
    let why = match code {
        Some(0) => return Ok(result),
        Some(c) => format!("exit status {c}"),
        None => signal_text(&status),
    };
    let message = match last_err {
        Some(l) => format!("{why}; stderr: {l}"),
        None => why,
    };
    Err(StepFailure::retryable(message).with_output(result))
}

fn signal_text(status: &std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("killed by signal {sig}");
        }
    }
    format!("ended without an exit status ({status})")
}

// ---- http ----

/// `scheme://host:port` of a URL: where a request went, without a path or
/// query that may hold a credential (a webhook's token).
fn origin(url: &reqwest::Url) -> String {
    url.origin().ascii_serialization()
}

async fn http(
    method: &str,
    url: &str,
    headers: &BTreeMap<String, String>,
    body: Option<String>,
    out: &mpsc::Sender<String>,
) -> Result<Value, StepFailure> {
    let parsed = reqwest::Url::parse(url).map_err(|e| StepFailure::permanent(format!("with.url {url:?}: {e}")))?;
    let method_v = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| StepFailure::permanent(format!("with.method {method:?} is not an HTTP method")))?;
    let client = crate::net::http_client().map_err(StepFailure::permanent)?;
    let place = format!("{method} {}", origin(&parsed));
    let mut req = client.request(method_v, parsed).timeout(HTTP_TIMEOUT);
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let mut resp = req.send().await.map_err(|e| StepFailure::retryable(format!("{place}: {}", error_text(e))))?;
    let status = resp.status();
    let mut head = serde_json::Map::new();
    for (k, v) in resp.headers() {
        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
        match head.get_mut(k.as_str()) {
            // A repeated header reads as one, its values joined (RFC 9110 §5.3).
            Some(Value::String(prev)) => *prev = format!("{prev}, {v}"),
            _ => {
                head.insert(k.as_str().to_string(), Value::String(v));
            }
        }
    }
    let mut bytes = Vec::new();
    let mut truncated = false;
    loop {
        let chunk = resp.chunk().await.map_err(|e| {
            StepFailure::retryable(format!("{place}: HTTP {}: reading the body: {}", status.as_u16(), error_text(e)))
        })?;
        let Some(chunk) = chunk else { break };
        let room = HTTP_BODY_KEEP - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            truncated = true;
            break;
        }
        bytes.extend_from_slice(&chunk);
    }
    drop(resp);
    let text = cut_lossy(&bytes, truncated);
    let parsed_body = if truncated { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    let reason = status.canonical_reason().unwrap_or("");
    let more = if truncated { format!(" (only the first {} KiB kept)", HTTP_BODY_KEEP / 1024) } else { String::new() };
    let _ = out.send(format!("HTTP {} {reason}, {} bytes{more}", status.as_u16(), bytes.len())).await;
    let result = json!({"status": status.as_u16(), "headers": head, "body": text, "json": parsed_body});
    if status.as_u16() >= 400 {
        let excerpt: String =
            text.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(FAILURE_BODY).collect();
        let message = format!("{} {reason}: {excerpt}", status.as_u16());
        return Err(StepFailure::retryable(message.trim_end().trim_end_matches(':')).with_output(result));
    }
    Ok(result)
}

/// A request error in words, without the URL (said by the caller as its origin).
fn error_text(e: reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", HTTP_TIMEOUT.as_secs());
    }
    crate::net::error_text(e)
}

/// Bytes as text; when they were cut, a char split at the end is dropped.
fn cut_lossy(bytes: &[u8], truncated: bool) -> String {
    let bytes = match (truncated, std::str::from_utf8(bytes)) {
        (true, Err(e)) if e.error_len().is_none() => &bytes[..e.valid_up_to()],
        _ => bytes,
    };
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
#[path = "steps_tests.rs"]
mod tests;
