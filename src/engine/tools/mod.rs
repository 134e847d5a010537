//! Tools: named operations with a JSON Schema of arguments that stream output
//! lines and end with a structured result. Built-ins live here; MCP servers'
//! tools join the same registry through [`mcp::McpHub`] (DESIGN.md §4).

mod builtin;
pub mod chains;
pub mod commands;
mod http;
mod in_flight;
pub mod mcp;
mod query;
pub mod schema;
mod search;
pub mod service;
mod shell;
pub mod text;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

/// What a tool is, for listings, forms and confirmation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    /// JSON Schema (object) of the arguments.
    pub schema: Value,
    /// Changes something outside opsdeck: needs confirmation, refused with `--read-only`.
    pub mutating: bool,
    /// `builtin`, or the MCP server's name.
    pub source: String,
    /// Longest a run may take.
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToolError {
    #[error("no tool named {0:?} (opsdeck tool --list shows them)")]
    Unknown(String),
    #[error("argument {field}: {problem}")]
    BadArgument { field: String, problem: String },
    #[error("{0}")]
    Failed(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Refused(String),
}

/// How a run was authorised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// A person confirmed this run (required for mutating tools).
    pub confirmed: bool,
    /// `--read-only`: mutating tools are refused, confirmed or not.
    pub read_only: bool,
}

pub type RunFuture = Pin<Box<dyn Future<Output = Result<Value, ToolError>> + Send>>;

/// Output kept per recorded run (bytes of output lines and result together).
pub const HISTORY_OUTPUT_CAP: usize = 64 * 1024;
/// Runs kept in the history.
pub const HISTORY_KEEP: usize = 2_000;

pub use crate::protocol::tools::{ToolInfo, ToolRun};

/// A run's output as it is recorded, capped where it is captured: the first
/// [`HISTORY_OUTPUT_CAP`] bytes of lines are kept and the rest only counted,
/// so a long run (a 600 s shell command printing all the while) holds at
/// most that much in memory until it ends.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OutputCapture {
    lines: Vec<String>,
    bytes: usize,
    /// Lines seen but not kept.
    pub dropped: usize,
}

impl OutputCapture {
    /// Keep `line` if it fits under the cap, else count it.
    pub fn push(&mut self, line: &str) {
        if self.dropped == 0 && self.bytes + line.len() <= HISTORY_OUTPUT_CAP {
            self.bytes += line.len();
            self.lines.push(line.to_string());
        } else {
            self.dropped += 1;
        }
    }

    /// Bytes of the lines kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl ToolRun {
    /// Build a record from a run's result and its captured output.
    pub fn new(
        spec: &ToolSpec,
        args: Value,
        started: i64,
        duration: Duration,
        result: &Result<Value, ToolError>,
        captured: OutputCapture,
    ) -> Self {
        let mut truncated = captured.dropped > 0;
        let output = captured.lines;
        let (ok, mut outcome) = match result {
            Ok(v) => (true, v.clone()),
            Err(e) => (false, Value::String(e.to_string())),
        };
        if outcome.to_string().len() > HISTORY_OUTPUT_CAP {
            outcome = Value::String("(result over 64 KiB, not kept)".into());
            truncated = true;
        }
        ToolRun {
            tool: spec.name.clone(),
            source: spec.source.clone(),
            args,
            started,
            duration_ms: duration.as_millis() as u64,
            ok,
            outcome,
            output,
            truncated,
            origin: crate::protocol::tools::RunOrigin::Pane,
        }
    }

    /// Whether a result means the tool ran (and belongs in the history): not a
    /// usage error (unknown tool, bad argument) and not a refusal.
    pub fn ran(result: &Result<Value, ToolError>) -> bool {
        !matches!(result, Err(ToolError::Unknown(_) | ToolError::BadArgument { .. } | ToolError::Refused(_)))
    }
}

impl ToolSpec {
    /// What the UI needs to know about the tool.
    pub fn info(&self) -> ToolInfo {
        ToolInfo {
            name: self.name.clone(),
            description: self.description.clone(),
            schema: self.schema.clone(),
            mutating: self.mutating,
            source: self.source.clone(),
        }
    }
}

/// A tool: validated arguments in, output lines streamed to `out`, a result at the end.
pub trait Tool: Send + Sync {
    fn spec(&self) -> &ToolSpec;
    fn run(&self, args: Value, out: mpsc::Sender<String>) -> RunFuture;
    /// Whether this run (with these arguments) may change something: refused
    /// under `--read-only`. By default the spec's `mutating`; tools whose effect
    /// depends on the arguments (an HTTP `POST`) or that do not declare
    /// themselves read-only (MCP tools without `readOnlyHint`) say more.
    fn changes_state(&self, _args: &Value) -> bool {
        self.spec().mutating
    }
}

/// Every tool by name.
#[derive(Default, Clone)]
pub struct Registry {
    tools: BTreeMap<String, Arc<dyn Tool>>,
}

impl Registry {
    /// The built-in tools; `data_query` evaluates its filters through `jq`.
    pub fn with_builtins(jq: crate::jq::JqRunner) -> Self {
        let mut r = Registry::default();
        for t in builtin::all(jq) {
            r.add(t);
        }
        r
    }

    pub fn add(&mut self, tool: Arc<dyn Tool>) {
        self.tools.insert(tool.spec().name.clone(), tool);
    }

    /// Replace every tool of `source` (e.g. an MCP server's name) with `tools`.
    pub fn replace_source(&mut self, source: &str, tools: Vec<Arc<dyn Tool>>) {
        self.tools.retain(|_, t| t.spec().source != source);
        for t in tools {
            self.add(t);
        }
    }

    pub fn specs(&self) -> Vec<&ToolSpec> {
        self.tools.values().map(|t| t.spec()).collect()
    }

    pub fn get(&self, name: &str) -> Result<Arc<dyn Tool>, ToolError> {
        self.tools.get(name).cloned().ok_or_else(|| ToolError::Unknown(name.into()))
    }

    /// Validate `args` against the tool's schema, then run it under its timeout.
    /// Mutating tools are refused (use [`Registry::run_with`] with confirmation).
    pub async fn run(&self, name: &str, args: Value, out: mpsc::Sender<String>) -> Result<Value, ToolError> {
        self.run_with(name, args, out, RunOptions::default()).await
    }

    /// Run with explicit authorisation: mutating tools need `confirmed` and no `read_only`.
    pub async fn run_with(
        &self,
        name: &str,
        args: Value,
        out: mpsc::Sender<String>,
        opts: RunOptions,
    ) -> Result<Value, ToolError> {
        let tool = self.get(name)?;
        let spec = tool.spec();
        if opts.read_only && (spec.mutating || tool.changes_state(&args)) {
            return Err(ToolError::Refused(read_only_refusal(name, &args, tool.as_ref())));
        }
        if spec.mutating && !opts.confirmed {
            return Err(ToolError::Refused(format!("{name} changes things and needs confirmation")));
        }
        validate(&spec.schema, &args)?;
        match tokio::time::timeout(spec.timeout, tool.run(args, out)).await {
            Ok(r) => r,
            Err(_) => Err(ToolError::Timeout(spec.timeout)),
        }
    }
}

/// Why a run is refused under `--read-only`.
fn read_only_refusal(name: &str, args: &Value, tool: &dyn Tool) -> String {
    let why = match args.get("method").and_then(Value::as_str) {
        Some(m) if !tool.spec().mutating && name == "http_check" => format!("a {m} request may change things"),
        _ if tool.spec().source != "builtin" && !tool.spec().mutating => {
            "the tool does not declare itself read-only (readOnlyHint)".to_string()
        }
        _ => format!("{name} changes things"),
    };
    format!("read-only: running {name} is refused: {why}; opsdeck runs --read-only")
}

/// Check required properties, types, enums and unknown properties (the subset of
/// JSON Schema the built-ins use; MCP tools bring richer schemas later):
/// [`crate::protocol::tools::check_args`] as a [`ToolError::BadArgument`].
pub fn validate(schema: &Value, args: &Value) -> Result<(), ToolError> {
    crate::protocol::tools::check_args(schema, args)
        .map_err(|(field, problem)| ToolError::BadArgument { field, problem })
}

/// Turn `k=v` strings into arguments typed by the schema (`@PATH` reads a file, `@-` stdin).
pub fn parse_args(
    schema: &Value,
    pairs: &[String],
    stdin: &mut dyn FnMut() -> std::io::Result<String>,
) -> Result<Value, ToolError> {
    let bad = |field: &str, problem: String| ToolError::BadArgument { field: field.into(), problem };
    let mut obj = serde_json::Map::new();
    for pair in pairs {
        let (k, raw) = pair.split_once('=').ok_or_else(|| bad(pair, "expected key=value".into()))?;
        // Text from a file or stdin loses a leading byte order mark.
        let text = match raw.strip_prefix('@') {
            Some("-") => text::Text::from_string(stdin().map_err(|e| bad(k, format!("reading stdin: {e}")))?).text,
            Some(path) => crate::text::file::read(std::path::Path::new(path))
                .map_err(|e| bad(k, format!("{path}: {e}\n  hint: {}", e.hint())))?,
            None => raw.to_string(),
        };
        // Schemas as servers write them ($ref, anyOf with null…) read as plain types.
        let prop = schema.pointer(&format!("/properties/{}", k.replace('~', "~0").replace('/', "~1")));
        let ty = match prop.map(schema::normalize) {
            Some(p) => p.get("type").and_then(Value::as_str).map(str::to_string),
            None => Some("string".to_string()),
        };
        let v = match ty.as_deref().unwrap_or("") {
            // No declared type: JSON when it is JSON, else the text.
            "" => serde_json::from_str(&text).unwrap_or(Value::String(text)),
            "string" => Value::String(text),
            "integer" => text
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| bad(k, format!("{text:?} is not an integer")))?,
            "number" => {
                text.trim().parse::<f64>().map(Value::from).map_err(|_| bad(k, format!("{text:?} is not a number")))?
            }
            "boolean" => match text.trim() {
                "true" | "yes" | "1" => Value::Bool(true),
                "false" | "no" | "0" => Value::Bool(false),
                _ => return Err(bad(k, format!("{text:?} is not true or false"))),
            },
            _ => serde_json::from_str(&text).map_err(|e| bad(k, format!("not JSON: {e}")))?,
        };
        obj.insert(k.to_string(), v);
    }
    Ok(Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type":"object","required":["host"],"properties":{
            "host":{"type":"string"},"port":{"type":"integer"},"tls":{"type":"boolean"},"mode":{"type":"string","enum":["a","b"]}}})
    }

    #[test]
    fn history_records_cap_output() {
        let spec = ToolSpec {
            name: "t".into(),
            description: String::new(),
            schema: json!({}),
            mutating: false,
            source: "builtin".into(),
            timeout: Duration::from_secs(1),
        };
        let mut captured = OutputCapture::default();
        for l in ["x".repeat(40_000), "y".repeat(40_000), "z".into()] {
            captured.push(&l);
        }
        let run = ToolRun::new(
            &spec,
            json!({"a":1}),
            5,
            Duration::from_millis(7),
            &Err(ToolError::Failed("boom".into())),
            captured,
        );
        assert_eq!((run.ok, run.duration_ms, run.output.len(), run.truncated), (false, 7, 1, true));
        assert_eq!(run.outcome, json!("boom"));
    }

    #[test]
    fn a_long_run_holds_at_most_the_cap_while_it_runs() {
        let mut captured = OutputCapture::default();
        // A 600 s shell run printing a 100-byte line every millisecond: 60 MB.
        let line = "l".repeat(100);
        for _ in 0..600_000 {
            captured.push(&line);
        }
        assert!(captured.bytes() <= HISTORY_OUTPUT_CAP, "{}", captured.bytes());
        assert_eq!(captured.dropped, 600_000 - HISTORY_OUTPUT_CAP / 100);
    }

    #[test]
    fn args_are_typed_by_the_schema_and_validated() {
        let mut no_stdin = || Ok(String::new());
        let v =
            parse_args(&schema(), &["host=db".into(), "port=5432".into(), "tls=yes".into()], &mut no_stdin).unwrap();
        assert_eq!(v, json!({"host":"db","port":5432,"tls":true}));
        validate(&schema(), &v).unwrap();
        assert!(parse_args(&schema(), &["port=x".into()], &mut no_stdin).is_err());
        let e = validate(&schema(), &json!({"port": 1})).unwrap_err();
        assert_eq!(e.to_string(), "argument host: is required");
        let e = validate(&schema(), &json!({"host": "x", "nope": 1})).unwrap_err();
        assert!(e.to_string().contains("not an argument"));
        let e = validate(&schema(), &json!({"host": "x", "mode": "c"})).unwrap_err();
        assert!(e.to_string().contains("one of"));
        let mut stdin = || Ok("from stdin".to_string());
        assert_eq!(parse_args(&schema(), &["host=@-".into()], &mut stdin).unwrap(), json!({"host":"from stdin"}));
        let mut bom = || Ok("\u{feff}5432".to_string());
        assert_eq!(parse_args(&schema(), &["port=@-".into()], &mut bom).unwrap(), json!({"port":5432}), "BOM dropped");
    }
}
