//! A run's detail: its steps as rows of a gantt on one time axis (bar from
//! start to end or now, the state's glyph at the bar's end, tries marked),
//! and the selected step's arguments, outputs and error as pretty JSON.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use serde_json::Value;

use super::{below_header, dur, run_label, run_state_text, state_style, state_text};
use crate::app::AppState;
use crate::app::panes::workflows::WfRun;
use crate::config::theme::{Role, Theme};
use crate::protocol::Ts;
use crate::protocol::workflow::{RunState, StepRun};
use crate::text;
use crate::ui::boxed;
use crate::ui::widgets::columns::{self, Col};
use crate::ui::widgets::list::{self, ListWindow};

/// Where the parts go inside the detail box: a line for the run's error,
/// the steps table, the selected step's JSON (beside it when wide, else below).
struct DetailLayout {
    error: Option<Rect>,
    steps: Rect,
    json: Rect,
}

fn detail_layout(area: Rect, r: Option<&WfRun>) -> DetailLayout {
    let mut inner = area.inner(Margin::new(1, 1));
    let error = r.and_then(|r| r.run.error.as_ref()).filter(|_| inner.height > 4).map(|_| {
        let e = Rect { height: 1, ..inner };
        inner.y += 1;
        inner.height -= 1;
        e
    });
    let (steps, json) = if inner.width >= 110 {
        let [a, b] = Layout::horizontal([Constraint::Percentage(60), Constraint::Min(20)]).spacing(1).areas(inner);
        (a, b)
    } else {
        let n = r.map_or(0, |r| r.steps.len()) as u16 + 1;
        let h = n.min(inner.height.saturating_sub(4).max(inner.height / 2));
        let [a, b] = Layout::vertical([Constraint::Length(h), Constraint::Min(0)]).areas(inner);
        (a, b)
    };
    DetailLayout { error, steps, json }
}

/// The steps list, for clicks.
pub(super) fn steps_window(area: Rect, s: &AppState) -> ListWindow {
    let w = &s.workflows;
    let r = w.opened();
    let lay = detail_layout(area, r);
    ListWindow::new(below_header(lay.steps), w.step_sel, r.map_or(0, |r| r.steps.len()))
}

pub(super) fn render(f: &mut Frame, area: Rect, focused: bool, s: &AppState, t: &Theme) {
    let w = &s.workflows;
    let Some(r) = w.opened() else {
        let title = Line::raw("Run");
        f.render_widget(boxed(title, focused, t, area.width), area);
        let msg = match &w.open {
            Some((src, id)) => format!("run #{id} on {src}: waiting for its first event…"),
            None => "Open a run from the runs list (Enter) to see its steps.".into(),
        };
        let inner = area.inner(Margin::new(1, 1));
        f.render_widget(Paragraph::new(Line::styled(msg, t.style(Role::TextDim))), inner);
        return;
    };
    let run = &r.run;
    let mut title = vec![
        // Long names are cut so the state stays in view.
        Span::raw(format!("Run {} {} ", text::fit(&run_label(run), 40), text::fit(&run.workflow, 40))),
        Span::styled(run_state_text(run), state_style(run.state, t)),
    ];
    // The attempt shown, when it started and how long it took (this attempt's, not the run's).
    let mut facts = Vec::new();
    let of = w.opened_latest().map_or(run.attempt, |l| l.run.attempt);
    if of > 1 {
        facts.push(format!("attempt {} of {of}", run.attempt));
    }
    if let Some(at) = run.started {
        facts.push(format!("started {} ago", crate::ui::widgets::fmt::age(s.now - at)));
    }
    if let Some(d) = run.duration_ms(s.now) {
        facts.push(format!("took {}", dur(d)));
    }
    if !run.version.is_empty() {
        facts.push(format!("version {}", run.version));
    }
    if w.sources_shown() {
        facts.push(format!("on {}", r.source));
    }
    title.push(Span::styled(format!(" · {}", facts.join(" · ")), t.style(Role::TextDim)));
    f.render_widget(boxed(Line::from(title), focused, t, area.width), area);
    if !r.steps_loaded && r.steps.is_empty() {
        let inner = area.inner(Margin::new(1, 1));
        let msg = format!("reading attempt {} of run {}…", run.attempt, run_label(run));
        f.render_widget(Paragraph::new(Line::styled(msg, t.style(Role::TextDim))), inner);
        return;
    }
    let lay = detail_layout(area, Some(r));
    if let (Some(e), Some(area)) = (&run.error, lay.error) {
        let line = Line::styled(text::fit(&format!("✗ {}", text::clean(e)), area.width.into()), t.style(Role::Error));
        f.render_widget(Paragraph::new(line), area);
    }
    steps(f, lay.steps, focused, s, r, t);
    step_json(f, lay.json, s, r, t);
}

/// The time axis of the attempt shown: from its start (or its first step's)
/// to its end (or now). Steps reused from an earlier attempt ran then, not
/// in this attempt: their times are left out.
fn axis(r: &WfRun, now: Ts) -> Option<(Ts, Ts)> {
    let ran = || r.steps.iter().filter(|s| !s.reused);
    let first = ran().filter_map(|s| s.started).min();
    let t0 = match (r.run.started, first) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    let last = ran().filter_map(|s| s.started.map(|_| s.ended.unwrap_or(now))).max();
    let t1 = r.run.ended.unwrap_or(now).max(last.unwrap_or(t0));
    Some((t0, t1.max(t0 + 1)))
}

/// What the gantt shows of a step reused from an earlier attempt, in place
/// of a bar: always this marker, whatever its old times.
pub fn reused_marker(step: &StepRun) -> String {
    match step.reused_from {
        Some(n) => format!("↺ reused (attempt {n})"),
        None => "↺ reused (earlier attempt)".into(),
    }
}

/// A step's bar: blanks before its start, `━` from start to end, the state's
/// glyph in the last cell; empty before it started.
fn bar(step: &StepRun, axis: Option<(Ts, Ts)>, width: usize, now: Ts) -> (String, String) {
    let (Some((t0, t1)), Some(start)) = (axis, step.started) else { return (String::new(), String::new()) };
    if width == 0 {
        return (String::new(), String::new());
    }
    let span = (t1 - t0) as f64;
    let col = |ts: Ts| (((ts - t0) as f64 / span) * width as f64).floor().clamp(0.0, (width - 1) as f64) as usize;
    let (a, b) = (col(start), col(step.ended.unwrap_or(now)).max(col(start)));
    let body = format!("{}{}", "━".repeat(b - a), step.state.glyph());
    (" ".repeat(a), body)
}

fn steps(f: &mut Frame, area: Rect, focused: bool, s: &AppState, r: &WfRun, t: &Theme) {
    let w = &s.workflows;
    let axis = axis(r, s.now);
    let win = ListWindow::new(below_header(area), w.step_sel, r.steps.len());
    let total = axis.map(|(a, b)| dur(b - a)).unwrap_or_default();
    let header = [" STATE".to_string(), "STEP".into(), "TRY".into(), "TOOK".into(), format!("0 … {total}")];
    let id_w = r.steps.iter().map(|s| text::width(&s.id)).max().unwrap_or(0).max(4);
    let cols = [
        Col::fixed(14),
        Col::text(id_w, 6).keep(12),
        Col::fixed(3).drop(2),
        Col::fixed(7).drop(1),
        Col::text(10, 6).grow(),
    ];
    let plan = columns::plan(&cols, 1, area.width);
    let gantt_w = plan.width(4);
    let rows = r.steps.iter().enumerate().skip(win.offset).take(win.visible()).map(|(i, st)| {
        let sel = i == w.step_sel;
        let base = if sel && focused {
            t.style(Role::Selection)
        } else if sel {
            t.style(Role::Text).add_modifier(Modifier::REVERSED)
        } else {
            t.style(Role::Text)
        };
        let mark = if sel { "▸" } else { " " };
        let style = if sel { base } else { state_style(st.state, t) };
        let tries = match st.attempt {
            0 | 1 => String::new(),
            n => format!("↻{n}"),
        };
        // A reused step took its time in the attempt that ran it: the marker says which.
        let took = if st.reused { String::new() } else { st.duration_ms(s.now).map(dur).unwrap_or_default() };
        let (pad, body, body_style) = if st.reused {
            (String::new(), text::fit(&reused_marker(st), gantt_w), if sel { base } else { t.style(Role::TextDim) })
        } else {
            let (pad, body) = bar(st, axis, gantt_w, s.now);
            (pad, body, style)
        };
        let cells = [
            // Every cell is fit to its column: a cut one ends in `…`.
            Cell::from(Span::styled(text::fit(&format!("{mark}{}", state_text(st.state)), plan.width(0)), style)),
            Cell::from(Span::styled(text::fit(&st.id, plan.width(1)), base.add_modifier(Modifier::BOLD))),
            Cell::from(text::fit(&tries, plan.width(2))),
            Cell::from(text::fit(&took, plan.width(3))),
            Cell::from(Line::from(vec![Span::raw(pad), Span::styled(body, body_style)])),
        ];
        Row::new(plan.pick(cells)).style(base)
    });
    list::draw_position(f, area, &win, t);
    let table = Table::new(rows, plan.constraints())
        .header(Row::new(plan.pick(header)).style(t.style(Role::TableHeader)))
        .column_spacing(1);
    f.render_widget(table, area);
}

/// The selected step: what it is, its error or decision, then its
/// arguments and outputs as pretty JSON, scrolled.
fn step_json(f: &mut Frame, area: Rect, s: &AppState, r: &WfRun, t: &Theme) {
    if area.height == 0 {
        return;
    }
    let Some(st) = s.workflows.selected_step() else { return };
    let dim = t.style(Role::TextDim);
    let mut lines: Vec<Line> = Vec::new();
    let mut head =
        vec![Span::styled(format!("step {}", st.id), t.style(Role::TextAccent).add_modifier(Modifier::BOLD))];
    let uses = if st.uses.is_empty() {
        let def = s.workflows.workflow_of(&r.source, &r.run.workflow);
        def.and_then(|d| d.steps.iter().find(|x| x.id == st.id)).map(|x| x.uses.clone()).unwrap_or_default()
    } else {
        st.uses.clone()
    };
    if !uses.is_empty() {
        head.push(Span::styled(format!(" · uses {uses}"), dim));
    }
    head.push(Span::styled(format!(" · {}", state_text(st.state)), state_style(st.state, t)));
    if st.attempt > 1 {
        head.push(Span::styled(format!(" · try {}", st.attempt), dim));
    }
    if st.reused {
        let from = st.reused_from.map_or("an earlier attempt".to_string(), |n| format!("attempt {n}"));
        head.push(Span::styled(format!(" · outcome reused from {from}"), dim));
    }
    lines.push(Line::from(head));
    // A rejection's error (`rejected by root`) is said once, by the decision with its note.
    let rejection = st.decision.as_ref().filter(|d| !d.approved).map(|d| format!("rejected by {}", d.by));
    if let Some(e) = st.error.as_ref().filter(|e| rejection.as_ref() != Some(*e)) {
        lines.push(Line::styled(format!("✗ {}", text::clean(e)), t.style(Role::Error)));
    }
    if st.state == RunState::Retrying
        && let Some(at) = st.next_attempt_at
    {
        lines.push(Line::styled(format!("↻ next try in {}", dur(at - s.now)), t.style(Role::StatusWarn)));
    }
    if let Some(d) = &st.decision {
        let (verdict, role) =
            if d.approved { ("✓ approved", Role::StatusInfo) } else { ("✗ rejected", Role::Error) };
        let note = if d.note.is_empty() { String::new() } else { format!(": {}", d.note) };
        lines.push(Line::styled(format!("{verdict} by {}{note}", d.by), t.style(role)));
    }
    let mut json = |label: &str, v: &Value| {
        lines.push(Line::styled(label.to_string(), t.style(Role::TableHeader)));
        let pretty = serde_json::to_string_pretty(v).unwrap_or_default();
        lines.extend(pretty.lines().map(|l| Line::styled(text::clean(l).into_owned(), t.style(Role::Text))));
    };
    if let Some(a) = &st.args {
        json("arguments", a);
    }
    if let Some(o) = &st.output {
        json("output", o);
    }
    if !st.outputs.is_empty() {
        json("outputs", &serde_json::to_value(&st.outputs).unwrap_or_default());
    }
    let top = s.workflows.json_scroll.min(lines.len().saturating_sub(1));
    let shown: Vec<Line> = lines.into_iter().skip(top).take(area.height.into()).collect();
    let cut: Vec<Line> = shown
        .into_iter()
        .map(|l| Line::from(crate::ui::widgets::fit::fit_spans(l.spans, area.width.into())).style(l.style))
        .collect();
    f.render_widget(Paragraph::new(cut), area);
}
