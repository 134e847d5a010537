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
}
