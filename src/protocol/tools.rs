//! Tools as the UI and the history see them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A tool in the registry: what listings and argument forms need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    pub name: String,
    pub description: String,
    /// JSON Schema (object) of the arguments.
    pub schema: Value,
    /// Changes something outside opsdeck: needs confirmation, refused with `--read-only`.
    pub mutating: bool,
    /// `builtin`, or the MCP server's name.
    pub source: String,
}

/// One run, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolRun {
    pub tool: String,
    pub source: String,
    pub args: Value,
    /// Unix ms.
    pub started: i64,
    pub duration_ms: u64,
    pub ok: bool,
    /// The result, or the error message.
    pub outcome: Value,
    /// Output lines, capped (64 KiB with the result).
    pub output: Vec<String>,
    pub truncated: bool,
    /// Where the run was started (older records: unknown).
    #[serde(default)]
    pub origin: RunOrigin,
}

/// Where a tool run was started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOrigin {
    /// A record from before origins were kept.
    #[default]
    Unknown,
    /// The tools pane of the TUI.
    Pane,
    /// `opsdeck tool` on the command line.
    Cli,
    /// A tool call of the chat's model (the pane after consent, or `opsdeck chat --allow-tools`).
    Chat,
}

fn type_ok(ty: &str, v: &Value) -> bool {
    match ty {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => true,
    }
}

/// Check `args` against a tool's JSON Schema: required properties, types,
/// enums and unknown properties (the subset of JSON Schema the built-ins
/// use). Pure, so the chat pane checks a model's call before asking
/// consent; `Err((field, problem))`.
pub fn check_args(schema: &Value, args: &Value) -> Result<(), (String, String)> {
    let bad = |field: &str, problem: String| (field.to_string(), problem);
    let obj = args.as_object().ok_or_else(|| bad("(arguments)", "must be an object".into()))?;
    let props = schema.get("properties").and_then(Value::as_object);
    // An unknown name first: a misspelt argument also looks like a missing one.
    for k in obj.keys() {
        if props.is_none_or(|p| !p.contains_key(k)) {
            let names = props.into_iter().flat_map(|p| p.keys().map(String::as_str));
            let near = crate::text::nearest(k, names);
            let problem = match near.as_slice() {
                [] => "is not an argument of this tool".to_string(),
                [one, ..] => format!("is not an argument of this tool; did you mean `{one}`?"),
            };
            return Err(bad(k, problem));
        }
    }
    for req in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        if !obj.contains_key(req) {
            return Err(bad(req, "is required".into()));
        }
    }
    for (k, v) in obj {
        let Some(p) = props.and_then(|p| p.get(k)) else { continue };
        if let Some(ty) = p.get("type").and_then(Value::as_str)
            && !type_ok(ty, v)
        {
            return Err(bad(k, format!("must be a {ty}, got {v}")));
        }
        if let Some(choices) = p.get("enum").and_then(Value::as_array)
            && !choices.contains(v)
        {
            return Err(bad(k, format!("must be one of {}", Value::Array(choices.clone()))));
        }
    }
    Ok(())
}
