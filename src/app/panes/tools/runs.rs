//! Tool runs as the pane shows them: live output, results, history entries,
//! search in the output, and the side-by-side comparison of two runs.

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use crate::protocol::Ts;
use crate::protocol::tools::{RunOrigin, ToolRun};

/// Output lines kept in memory per live run; older lines are dropped (the
/// history keeps 64 KiB).
pub const LIVE_LINES: usize = 20_000;
/// Runs kept in the pane.
pub const RUNS_KEPT: usize = 500;

#[derive(Debug, Clone, PartialEq)]
pub enum RunState {
    Running,
    Done { ok: bool, duration_ms: u64 },
    Cancelled { duration_ms: u64 },
}

/// One run in the pane: a live one or one loaded from the history.
#[derive(Debug, Clone, PartialEq)]
pub struct RunView {
    /// Pane-local number, shown as `#N`.
    pub id: u64,
    pub tool: String,
    pub source: String,
    pub args: Value,
    pub started: Ts,
    pub state: RunState,
    pub output: Vec<String>,
    /// Lines dropped from the front (live) or not kept (history).
    pub dropped: usize,
    pub truncated: bool,
    /// The result or the error, once finished.
    pub outcome: Option<Value>,
    /// The result pretty-printed, one entry per line (cached for rendering).
    pub result_lines: Vec<String>,
    /// The result in one line (`result: {chars, lines, words} · Enter shows it`),
    /// shown instead of `result_lines` after streamed output until opened.
    pub result_folded: String,
    /// Show the whole result after the streamed output (Enter on the output).
    pub result_open: bool,
    /// Where it was started (the pane, or `opsdeck tool`).
    pub origin: RunOrigin,
}

impl RunView {
    pub fn live(id: u64, tool: &str, source: &str, args: Value, started: Ts) -> Self {
        RunView {
            id,
            tool: tool.into(),
            source: source.into(),
            args,
            started,
            state: RunState::Running,
            output: Vec::new(),
            dropped: 0,
            truncated: false,
            outcome: None,
            result_lines: Vec::new(),
            result_folded: String::new(),
            result_open: false,
            origin: RunOrigin::Pane,
        }
    }

    pub fn from_record(id: u64, r: &ToolRun) -> Self {
        let mut v = RunView::live(id, &r.tool, &r.source, r.args.clone(), r.started);
        v.output = r.output.clone();
        v.truncated = r.truncated;
        v.origin = r.origin;
        v.finish(r);
        v
    }

    /// The argument that tells runs of one tool apart (`host=db-1`): a
    /// well-known target name if there is one, else the first argument.
    pub fn key_arg(&self) -> Option<String> {
        const TARGETS: [&str; 9] = ["url", "host", "target", "name", "path", "command", "query", "filter", "pattern"];
        let obj = self.args.as_object()?;
        let (k, v) = TARGETS.iter().find_map(|t| obj.get_key_value(*t)).or_else(|| obj.iter().next())?;
        let v = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Some(format!("{k}={v}"))
    }

    /// The run ended: take the outcome from the record the runtime stored.
    pub fn finish(&mut self, r: &ToolRun) {
        self.state = if r.outcome.as_str() == Some(CANCELLED) && !r.ok {
            RunState::Cancelled { duration_ms: r.duration_ms }
        } else {
            RunState::Done { ok: r.ok, duration_ms: r.duration_ms }
        };
        self.outcome = Some(r.outcome.clone());
        self.result_lines = result_lines(r.ok, &r.outcome);
        self.result_folded = format!("result: {} · Enter shows it", folded(&r.outcome));
    }

    /// Whether the result is shown folded to one line: it follows streamed
    /// output (which usually said the same), it succeeded, and nobody opened it.
    pub fn result_is_folded(&self) -> bool {
        !self.output.is_empty() && !self.result_open && matches!(self.state, RunState::Done { ok: true, .. })
    }

    pub fn push_lines(&mut self, lines: Vec<String>) {
        self.output.extend(lines);
        if self.output.len() > LIVE_LINES {
            let extra = self.output.len() - LIVE_LINES;
            self.output.drain(..extra);
            self.dropped += extra;
        }
    }

    pub fn ok(&self) -> bool {
        matches!(self.state, RunState::Done { ok: true, .. })
    }

    pub fn running(&self) -> bool {
        self.state == RunState::Running
    }

    /// The successful result, for chaining and export.
    pub fn result(&self) -> Option<&Value> {
        if self.ok() { self.outcome.as_ref() } else { None }
    }

    /// Every line the output box shows: output, then the result.
    /// The output box's lines: streamed output, then the result (folded to
    /// one line after streamed output until opened) or the error.
    pub fn text_lines(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.output.iter().map(String::as_str).collect();
        if self.result_is_folded() {
            v.extend(["", self.result_folded.as_str()]);
        } else if !self.result_lines.is_empty() {
            if !v.is_empty() {
                v.push("");
            }
            v.extend(self.result_lines.iter().map(String::as_str));
        }
        v
    }

    pub fn line_count(&self) -> usize {
        let result = if self.result_is_folded() { 1 } else { self.result_lines.len() };
        self.output.len() + result + usize::from(!self.output.is_empty() && result > 0)
    }
}

/// The outcome text of a cancelled run.
pub const CANCELLED: &str = "cancelled";

/// A result in a few words: an object's keys, an array's length, a short value.
fn folded(outcome: &Value) -> String {
    match outcome {
        Value::Object(m) => {
            let keys: Vec<&str> = m.keys().take(6).map(String::as_str).collect();
            let more = if m.len() > keys.len() { ", …" } else { "" };
            format!("{{{}{more}}}", keys.join(", "))
        }
        Value::Array(a) => format!("[{}]", crate::text::count(a.len() as u64, "item", "items")),
        Value::String(t) => format!("{:?}", crate::text::ellipsize(t.lines().next().unwrap_or(""), 40)),
        other => other.to_string(),
    }
}

fn result_lines(ok: bool, outcome: &Value) -> Vec<String> {
    if !ok {
        let msg = outcome.as_str().map_or_else(|| outcome.to_string(), str::to_string);
        return std::iter::once("error:".to_string()).chain(msg.lines().map(|l| format!("  {l}"))).collect();
    }
    let pretty = serde_json::to_string_pretty(outcome).unwrap_or_default();
    std::iter::once("result:".to_string()).chain(pretty.lines().map(str::to_string)).collect()
}

/// Line numbers (0-based, in `text_lines`) that contain `query`, ignoring
/// case ([`crate::text::contains_ci`], the same test the view marks hits with).
pub fn search(lines: &[&str], query: &str) -> Vec<usize> {
    if query.is_empty() {
        return Vec::new();
    }
    lines.iter().enumerate().filter(|(_, l)| crate::text::contains_ci(l, query)).map(|(i, _)| i).collect()
}

/// One row of a side-by-side comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffRow {
    pub left: Option<String>,
    pub right: Option<String>,
    /// Both sides equal.
    pub same: bool,
}

/// The comparison of two runs' arguments, output and result, line by line.
pub fn diff(a: &RunView, b: &RunView) -> Vec<DiffRow> {
    let text = |r: &RunView| {
        let mut s = format!("args: {}\n", r.args);
        // The whole result, folded or not: a comparison is about it.
        for l in r.output.iter().chain([&String::new()]).chain(&r.result_lines) {
            s.push_str(l);
            s.push('\n');
        }
        s
    };
    let (ta, tb) = (text(a), text(b));
    let d = TextDiff::from_lines(&ta, &tb);
    let mut rows = Vec::new();
    let (mut dels, mut ins): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    let flush = |rows: &mut Vec<DiffRow>, dels: &mut Vec<String>, ins: &mut Vec<String>| {
        let n = dels.len().max(ins.len());
        let (mut d, mut i) = (dels.drain(..), ins.drain(..));
        for _ in 0..n {
            rows.push(DiffRow { left: d.next(), right: i.next(), same: false });
        }
    };
    for change in d.iter_all_changes() {
        let line = change.value().trim_end_matches('\n').to_string();
        match change.tag() {
            ChangeTag::Equal => {
                flush(&mut rows, &mut dels, &mut ins);
                rows.push(DiffRow { left: Some(line.clone()), right: Some(line), same: true });
            }
            ChangeTag::Delete => dels.push(line),
            ChangeTag::Insert => ins.push(line),
        }
    }
    flush(&mut rows, &mut dels, &mut ins);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(ok: bool, outcome: Value, output: &[&str]) -> ToolRun {
        ToolRun {
            tool: "t".into(),
            source: "builtin".into(),
            args: json!({"a":1}),
            started: 1,
            duration_ms: 5,
            ok,
            outcome,
            output: output.iter().map(|s| s.to_string()).collect(),
            truncated: false,
            origin: Default::default(),
        }
    }

    #[test]
    fn lines_results_and_errors() {
        let mut r = RunView::from_record(1, &record(true, json!({"status":200}), &["connecting", "done"]));
        assert_eq!(
            r.text_lines(),
            vec!["connecting", "done", "", "result: {status} · Enter shows it"],
            "after streamed output the result is folded, not said twice"
        );
        assert_eq!(r.line_count(), r.text_lines().len());
        r.result_open = true;
        assert_eq!(r.text_lines(), vec!["connecting", "done", "", "result:", "{", "  \"status\": 200", "}"]);
        assert_eq!(r.line_count(), r.text_lines().len());
        assert_eq!(r.result(), Some(&json!({"status":200})));
        let e = RunView::from_record(2, &record(false, json!("refused"), &[]));
        assert_eq!(e.text_lines(), vec!["error:", "  refused"]);
        assert_eq!(e.result(), None);
        let c = RunView::from_record(3, &record(false, json!(CANCELLED), &[]));
        assert_eq!(c.state, RunState::Cancelled { duration_ms: 5 });
    }

    #[test]
    fn live_output_is_bounded() {
        let mut r = RunView::live(1, "t", "builtin", json!({}), 0);
        r.push_lines((0..LIVE_LINES + 5).map(|i| i.to_string()).collect());
        assert_eq!((r.output.len(), r.dropped), (LIVE_LINES, 5));
        assert_eq!(r.output[0], "5");
    }

    #[test]
    fn search_is_case_insensitive() {
        assert_eq!(search(&["Alpha", "beta", "ALPHABET"], "alpha"), vec![0, 2]);
        assert!(search(&["x"], "").is_empty());
    }

    #[test]
    fn diff_pairs_changed_lines_side_by_side() {
        let a = RunView::from_record(1, &record(true, json!({"status":200,"ms":12}), &["same"]));
        let b = RunView::from_record(2, &record(true, json!({"status":503,"ms":12}), &["same"]));
        let rows = diff(&a, &b);
        let changed: Vec<_> = rows.iter().filter(|r| !r.same).collect();
        assert_eq!(changed.len(), 1, "{rows:#?}");
        assert_eq!(changed[0].left.as_deref(), Some("  \"status\": 200"));
        assert_eq!(changed[0].right.as_deref(), Some("  \"status\": 503"));
        assert!(rows.iter().any(|r| r.same && r.left.as_deref() == Some("same")));
    }
}
