//! Context attachments for a chat question (issue 13): the text the model
//! reads for an alert with its recent values, a workflow run with its
//! failed steps' log tails, a tool result, or a metrics snapshot.
//!
//! Pure and bounded: every field from outside (labels, summaries, log lines,
//! tool output) is cleaned of control characters and cut, each list is
//! capped, and the whole text is cut at [`MAX_ATTACHMENT_BYTES`] (or the
//! tool-result cap, if larger) with a line saying so. No IO, no clock: the
//! caller passes `now`.

use std::fmt::Write as _;

use serde_json::Value;

use super::Ts;
use super::alerts::Alert;
use super::chat::Attachment;
use super::host::HostSnapshot;
use super::workflow::{Run, RunState, StepRun, Trigger};

/// Most bytes of one attachment's text (16 KiB, about 4k tokens); what is
/// beyond is cut and the text says so.
pub const MAX_ATTACHMENT_BYTES: usize = 16 * 1024;
/// Values of an alert's series attached (spread over the window its detail
/// chart shows: from 15 minutes before it became active until now).
pub const ALERT_POINTS: usize = 30;
/// Last lines of a step's log attached.
pub const LOG_TAIL_LINES: usize = 60;
/// Steps whose logs a run's attachment carries (its failed ones, then the selected one).
pub const MAX_LOGS: usize = 3;
/// Last lines of a tool run's streamed output attached.
pub const OUTPUT_TAIL_LINES: usize = 40;
/// Processes of a metrics snapshot attached (the busiest).
pub const TOP_PROCS: usize = 10;
/// Rows of a metrics snapshot's disk and network tables, and cores listed.
const MAX_ROWS: usize = 24;
/// Cells of one field (a label value, a step's error, a log line).
const FIELD: usize = 240;
/// Cells of an attachment's title.
pub const TITLE_CELLS: usize = 80;

/// The kinds of attachment ([`Attachment::kind`]).
pub mod kind {
    pub const ALERT: &str = "alert";
    pub const RUN: &str = "run";
    pub const TOOL_RESULT: &str = "tool_result";
    pub const METRICS: &str = "metrics";
}

/// `text` cut to at most `max` bytes on a line (or char) boundary, with a
/// last line saying how much there was. Unchanged when it fits.
pub fn cap_text(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    // Whole lines read better; fall back to the char boundary for one huge line.
    if let Some(nl) = text[..end].rfind('\n').filter(|nl| *nl > end / 2) {
        end = nl;
    }
    format!("{}\n[cut: the attachment was {} bytes; only the first {end} are shown]", &text[..end], text.len())
}

/// One field on one line: cleaned, cut to `cells` cells with `…`.
fn field(s: &str, cells: usize) -> String {
    crate::text::fit(s, cells)
}

/// `2023-11-14 22:13:20 UTC` (or the raw number for a time out of range).
pub fn utc(ts: Ts) -> String {
    chrono::DateTime::from_timestamp_millis(ts)
        .map_or_else(|| format!("{ts} ms"), |d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
}

fn hms(ts: Ts) -> String {
    chrono::DateTime::from_timestamp_millis(ts).map_or_else(|| format!("{ts}"), |d| d.format("%H:%M:%S").to_string())
}

pub use crate::text::units::bytes;
use crate::text::units::duration_ms as duration;

/// A number as the model reads it: `-` for NaN, at most 2 decimals.
fn num(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// JSON on one line, cut to `cells`.
fn json_line(v: &Value, cells: usize) -> String {
    field(&v.to_string(), cells)
}

/// Rows as a table: columns padded to their widest cell, two spaces apart.
fn table(out: &mut String, rows: &[Vec<String>]) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| crate::text::width(s)).max().unwrap_or(0))
        .collect();
    for r in rows {
        let mut line = String::from(" ");
        for (c, cell) in r.iter().enumerate() {
            line.push(' ');
            line.push_str(cell);
            if c + 1 < r.len() {
                line.push_str(&" ".repeat(widths[c].saturating_sub(crate::text::width(cell)) + 1));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// The alert `a` of `source` with `points` of its series (time, value;
/// oldest first): name, state and since when, severity, value, summary,
/// labels, acknowledgement, silences, and the values. `now` dates "ago".
pub fn alert_attachment(source: &str, a: &Alert, points: &[(Ts, f32)], now: Ts) -> Attachment {
    let name = a.display_name();
    let mut t = String::new();
    let _ = writeln!(t, "alert {} (source {}, {})", field(&name, FIELD), field(source, 60), field(&a.origin, 60));
    let state = match a.state {
        super::alerts::AlertState::Pending => "pending",
        super::alerts::AlertState::Firing => "firing",
        super::alerts::AlertState::Resolved => "resolved",
    };
    let since = a.firing_since.filter(|_| a.state == super::alerts::AlertState::Firing).unwrap_or(a.active_since);
    let _ = writeln!(
        t,
        "state: {state} since {} ({} ago); severity {}",
        utc(since),
        duration(now - since),
        a.severity.name()
    );
    if let Some(r) = a.resolved_at {
        let _ = writeln!(t, "resolved at {}", utc(r));
    }
    if a.firing_since.is_some() && a.active_since != since {
        let _ = writeln!(t, "active (condition holding) since {}", utc(a.active_since));
    }
    match (a.value, &a.value_text) {
        (_, Some(vt)) => {
            let _ = writeln!(t, "value: {} ({})", a.value.map_or("-".into(), num), field(vt, FIELD));
        }
        (Some(v), None) => {
            let _ = writeln!(t, "value: {}", num(v));
        }
        (None, None) => {}
    }
    if !a.summary.is_empty() {
        let _ = writeln!(t, "summary: {}", field(&a.summary, 2 * FIELD));
    }
    if !a.labels.is_empty() {
        let labels: Vec<String> =
            a.labels.iter().take(MAX_ROWS).map(|(k, v)| format!("{}={}", field(k, 60), field(v, 120))).collect();
        let more = a.labels.len().saturating_sub(MAX_ROWS);
        let more = if more > 0 { format!(", … {more} more") } else { String::new() };
        let _ = writeln!(t, "labels: {}{more}", labels.join(", "));
    }
    if let Some(ack) = &a.ack {
        let _ = writeln!(t, "acknowledged by {} at {}: {}", field(&ack.by, 60), utc(ack.at), field(&ack.note, FIELD));
    }
    if !a.silenced_by.is_empty() {
        let ids: Vec<String> = a.silenced_by.iter().take(8).map(|s| field(s, 60)).collect();
        let _ = writeln!(t, "silenced by: {}", ids.join(", "));
    }
    match &a.series {
        Some(series) if points.is_empty() => {
            let _ = writeln!(t, "series {}: no values in this window", field(series, FIELD));
        }
        Some(series) => {
            let shown = &points[points.len().saturating_sub(ALERT_POINTS)..];
            let _ = writeln!(t, "series {} ({} values, oldest first):", field(series, FIELD), shown.len());
            for (ts, v) in shown {
                let _ = writeln!(t, "  {} {}", hms(*ts), num(f64::from(*v)));
            }
        }
        None => {
            let _ = writeln!(t, "no metric series: the alert's values come from its source");
        }
    }
    let title = field(&format!("alert {name}"), TITLE_CELLS);
    Attachment { kind: kind::ALERT.into(), title, text: cap_text(t, MAX_ATTACHMENT_BYTES) }
}

/// The run `run` of `source` with its `steps` (in the definition's order)
/// and the `logs` of some of them (step id, every line kept; the last
/// [`LOG_TAIL_LINES`] of each are attached, at most [`MAX_LOGS`] logs).
pub fn run_attachment(
    source: &str,
    run: &Run,
    steps: &[StepRun],
    logs: &[(String, Vec<String>)],
    now: Ts,
) -> Attachment {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "workflow run {} #{} attempt {} (source {}, version {})",
        field(&run.workflow, FIELD),
        run.id,
        run.attempt,
        field(source, 60),
        field(&run.version, 20)
    );
    let trigger = match &run.trigger {
        Trigger::Manual { by } => format!("started by {}", field(by, 60)),
        Trigger::Schedule { fire_at } => format!("started by its schedule (fire at {})", utc(*fire_at)),
        Trigger::Alert { rule } => format!("started by alert {}", field(rule, 120)),
    };
    let mut when = format!("state: {}; created {}", run.state.word(), utc(run.created));
    if let Some(d) = run.duration_ms(now) {
        when.push_str(&format!("; took {}{}", duration(d), if run.ended.is_none() { " so far" } else { "" }));
    }
    let _ = writeln!(t, "{when}; {trigger}");
    if let Some(e) = &run.error {
        let _ = writeln!(t, "error: {}", field(e, 2 * FIELD));
    }
    if !run.inputs.is_empty() {
        let _ = writeln!(t, "inputs: {}", json_line(&Value::Object(run.inputs.clone()), 2 * FIELD));
    }
    if steps.is_empty() {
        let _ = writeln!(t, "steps: not known yet");
    } else {
        let _ = writeln!(t, "steps:");
        for s in steps.iter().take(4 * MAX_ROWS) {
            let mut line =
                format!("  {} {} ({}) {}", s.state.glyph(), field(&s.id, 80), field(&s.uses, 60), s.state.word());
            if let Some(d) = s.duration_ms(now) {
                line.push_str(&format!(" {}", duration(d)));
            }
            if s.attempt > 1 {
                line.push_str(&format!(", {} attempts", s.attempt));
            }
            if s.reused {
                line.push_str(", reused");
            }
            if let Some(e) = &s.error {
                line.push_str(&format!(" — {}", field(e, FIELD)));
            }
            t.push_str(&line);
            t.push('\n');
        }
        if steps.len() > 4 * MAX_ROWS {
            let _ = writeln!(t, "  … {} more steps", steps.len() - 4 * MAX_ROWS);
        }
    }
    for (step, lines) in logs.iter().take(MAX_LOGS) {
        let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
        let of = if tail.len() < lines.len() {
            format!("last {} of {} lines", tail.len(), lines.len())
        } else {
            crate::text::count(lines.len() as u64, "line", "lines")
        };
        let _ = writeln!(t, "log of step {} ({of}):", field(step, 80));
        for l in tail {
            let _ = writeln!(t, "  {}", field(l, FIELD));
        }
    }
    let title = field(&format!("run {} #{} {}", run.workflow, run.id, run.state.word()), TITLE_CELLS);
    Attachment { kind: kind::RUN.into(), title, text: cap_text(t, MAX_ATTACHMENT_BYTES) }
}

/// The steps whose logs a run's attachment wants: the failed ones, then
/// `selected` (the step chosen in the run's detail), at most [`MAX_LOGS`].
pub fn log_steps(steps: &[StepRun], selected: Option<&str>) -> Vec<String> {
    let mut v: Vec<String> = steps.iter().filter(|s| s.state == RunState::Failed).map(|s| s.id.clone()).collect();
    if let Some(sel) = selected
        && !v.iter().any(|s| s == sel)
        && steps.iter().any(|s| s.id == sel && s.started.is_some())
    {
        v.insert(0, sel.to_string());
    }
    v.truncate(MAX_LOGS);
    v
}

/// One tool run: the tool, where and when it ran, its arguments, its result
/// (or error) cut at `result_bytes` as the model reads tool results
/// ([`super::chat::cap_tool_result`]), and the tail of its streamed output.
/// `ok` is `None` for a run that was cancelled.
pub struct ToolResult<'a> {
    pub tool: &'a str,
    pub source: &'a str,
    pub args: &'a Value,
    pub started: Ts,
    pub duration_ms: Option<u64>,
    pub ok: Option<bool>,
    pub outcome: Option<&'a Value>,
    pub output: &'a [String],
    /// The title's distinguishing argument (`url=…`), if any.
    pub key_arg: Option<String>,
}

/// The attachment of a tool run; its text is cut at `result_bytes` or
/// [`MAX_ATTACHMENT_BYTES`], whichever is larger.
pub fn tool_attachment(r: &ToolResult, result_bytes: usize) -> Attachment {
    let mut t = String::new();
    let state = match r.ok {
        Some(true) => "succeeded",
        Some(false) => "failed",
        None => "cancelled",
    };
    let took = r.duration_ms.map_or(String::new(), |d| format!(", took {}", duration(d.min(i64::MAX as u64) as i64)));
    let _ = writeln!(
        t,
        "tool {} (source {}) ran at {}{took}: {state}",
        field(r.tool, 120),
        field(r.source, 60),
        utc(r.started)
    );
    let _ = writeln!(t, "arguments: {}", json_line(r.args, 4 * FIELD));
    if !r.output.is_empty() {
        let tail = &r.output[r.output.len().saturating_sub(OUTPUT_TAIL_LINES)..];
        let of = if tail.len() < r.output.len() {
            format!("last {} of {} lines", tail.len(), r.output.len())
        } else {
            crate::text::count(r.output.len() as u64, "line", "lines")
        };
        let _ = writeln!(t, "output ({of}):");
        for l in tail {
            let _ = writeln!(t, "  {}", field(l, FIELD));
        }
    }
    if let Some(o) = r.outcome {
        let what = if r.ok == Some(true) { "result" } else { "error" };
        let body = super::chat::cap_tool_result(o, result_bytes);
        let _ = writeln!(t, "{what}:\n{}", crate::text::clean_lines(&body));
    }
    let arg = r.key_arg.as_deref().map_or(String::new(), |a| format!(" {a}"));
    let title = field(&format!("tool {}{arg} {state}", r.tool), TITLE_CELLS);
    Attachment { kind: kind::TOOL_RESULT.into(), title, text: cap_text(t, MAX_ATTACHMENT_BYTES.max(result_bytes)) }
}

/// The snapshot `snap` of `source` as the metrics pane shows it: CPU, load,
/// memory, swap, disk and network throughput, each disk and interface, and
/// the busiest processes, as compact tables.
pub fn metrics_attachment(source: &str, snap: &HostSnapshot) -> Attachment {
    let mut t = String::new();
    let host = if snap.hostname.is_empty() { source.to_string() } else { snap.hostname.clone() };
    let _ = writeln!(
        t,
        "metrics of {} (source {}) at {}; up {}",
        field(&host, 80),
        field(source, 60),
        utc(snap.ts),
        duration(i64::try_from(snap.uptime_s.saturating_mul(1000)).unwrap_or(i64::MAX))
    );
    let cores: Vec<String> = snap.cpu_cores.iter().take(MAX_ROWS * 4).map(|c| num(f64::from(*c).round())).collect();
    let more = snap.cpu_cores.len().saturating_sub(cores.len());
    let more = if more > 0 { format!(" … {more} more") } else { String::new() };
    let _ = writeln!(
        t,
        "cpu: {}% busy; {} cores: {}{more}",
        num(f64::from(snap.cpu_total)),
        snap.cpu_cores.len(),
        cores.join(" ")
    );
    let _ = writeln!(t, "load: {} {} {} (1, 5, 15 min)", num(snap.load[0]), num(snap.load[1]), num(snap.load[2]));
    let _ = writeln!(
        t,
        "memory: {} of {} used ({}%); swap {} of {} ({}%)",
        bytes(snap.mem_used as f64),
        bytes(snap.mem_total as f64),
        num(f64::from(snap.mem_pct()).round()),
        bytes(snap.swap_used as f64),
        bytes(snap.swap_total as f64),
        num(f64::from(snap.swap_pct()).round())
    );
    let _ = writeln!(
        t,
        "disk io: read {}/s, write {}/s; network: rx {}/s, tx {}/s",
        bytes(snap.disk_read_bps),
        bytes(snap.disk_write_bps),
        bytes(snap.net_rx_bps()),
        bytes(snap.net_tx_bps())
    );
    if !snap.disks.is_empty() {
        let _ = writeln!(t, "disks:");
        let mut rows =
            vec![["mount", "device", "fs", "used", "size", "use%", "read/s", "write/s"].map(String::from).to_vec()];
        for d in snap.disks.iter().take(MAX_ROWS) {
            rows.push(vec![
                field(&d.mount, 40),
                field(&d.device, 30),
                field(&d.fs, 12),
                bytes(d.used() as f64),
                bytes(d.total as f64),
                num(f64::from(d.used_pct()).round()),
                bytes(d.read_bps),
                bytes(d.write_bps),
            ]);
        }
        table(&mut t, &rows);
        if snap.disks.len() > MAX_ROWS {
            let _ = writeln!(t, "  … {} more disks", snap.disks.len() - MAX_ROWS);
        }
    }
    if !snap.nets.is_empty() {
        let _ = writeln!(t, "network interfaces:");
        let mut rows = vec![["name", "rx/s", "tx/s", "rx total", "tx total"].map(String::from).to_vec()];
        for n in snap.nets.iter().take(MAX_ROWS) {
            rows.push(vec![
                field(&n.name, 30),
                bytes(n.rx_bps),
                bytes(n.tx_bps),
                bytes(n.rx_total as f64),
                bytes(n.tx_total as f64),
            ]);
        }
        table(&mut t, &rows);
        if snap.nets.len() > MAX_ROWS {
            let _ = writeln!(t, "  … {} more interfaces", snap.nets.len() - MAX_ROWS);
        }
    }
    if !snap.procs.is_empty() {
        let top = snap.with_top_procs(TOP_PROCS);
        let _ = writeln!(t, "processes ({} busiest of {}):", top.procs.len(), snap.procs_total());
        let mut rows = vec![["pid", "name", "cpu%", "mem", "user", "command"].map(String::from).to_vec()];
        for p in &top.procs {
            rows.push(vec![
                p.pid.to_string(),
                field(&p.name, 24),
                num(f64::from(p.cpu)),
                bytes(p.mem as f64),
                field(&p.user, 16),
                field(&p.cmd, 60),
            ]);
        }
        table(&mut t, &rows);
    }
    let title = field(&format!("metrics {host} at {}", hms(snap.ts)), TITLE_CELLS);
    Attachment { kind: kind::METRICS.into(), title, text: cap_text(t, MAX_ATTACHMENT_BYTES) }
}

#[cfg(test)]
#[path = "attach_tests.rs"]
mod tests;
