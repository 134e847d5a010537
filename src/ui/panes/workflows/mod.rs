//! The workflows pane: the workflows list and the runs list (one screen),
//! then a run's detail (gantt, steps, JSON) and a step's log (the other).

mod compare;
mod detail;
mod log;
pub mod popup;
mod versions;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use crate::app::panes::workflows::{WfRun, WorkflowsState};
use crate::app::{AppState, BoxId};
use crate::config::theme::{Role, Theme};
use crate::protocol::Ts;
use crate::protocol::workflow::{Run, RunState, Trigger};
use crate::text;
use crate::ui::boxed;
use crate::ui::widgets::columns::{self, Col};
use crate::ui::widgets::fmt;
use crate::ui::widgets::list::{self, ListWindow};

pub fn layout(body: Rect, s: &AppState) -> Vec<(BoxId, Rect)> {
    let w = &s.workflows;
    if matches!(s.focus, BoxId::WfCompare | BoxId::WfVersions) {
        return vec![(s.focus, body)];
    }
    if matches!(s.focus, BoxId::WfDetail | BoxId::WfLog) {
        let [detail, log] = Layout::vertical([Constraint::Percentage(55), Constraint::Min(3)]).areas(body);
        return vec![(BoxId::WfDetail, detail), (BoxId::WfLog, log)];
    }
    // The workflows list takes what its rows need, at most 40 % of the body.
    let want = (w.workflows.len().max(3) + w.problems.len() + 3) as u16;
    let top = want.clamp(5, (body.height * 2 / 5).max(5));
    let [list, runs] = Layout::vertical([Constraint::Length(top), Constraint::Min(3)]).areas(body);
    vec![(BoxId::WfList, list), (BoxId::WfRuns, runs)]
}

pub fn render_box(f: &mut Frame, area: Rect, id: BoxId, s: &AppState, t: &Theme) {
    let focused = s.focus == id;
    match id {
        BoxId::WfList => workflows(f, area, focused, s, t),
        BoxId::WfRuns => runs(f, area, focused, s, t),
        BoxId::WfDetail => detail::render(f, area, focused, s, t),
        BoxId::WfCompare => compare::render(f, area, focused, s, t),
        BoxId::WfVersions => versions::render(f, area, focused, s, t),
        _ => log::render(f, area, focused, s, t),
    }
}

/// The lines under a table's header line.
fn below_header(table: Rect) -> Rect {
    Rect { y: table.y + 1.min(table.height), height: table.height.saturating_sub(1), ..table }
}

/// The rows of files left out drawn above the workflows table of a box
/// whose inside is `inner` (at least two rows stay for the table).
fn problem_rows(inner: Rect, w: &WorkflowsState) -> u16 {
    (w.problems.len() as u16).min(inner.height.saturating_sub(2))
}

/// The workflows table's rows: below the problem rows and the header.
fn wf_window(area: Rect, w: &WorkflowsState) -> ListWindow {
    let inner = area.inner(Margin::new(1, 1));
    let n = problem_rows(inner, w);
    let table = Rect { y: inner.y + n, height: inner.height - n, ..inner };
    ListWindow::new(below_header(table), w.wf_sel, w.workflows.len())
}

fn runs_window(area: Rect, w: &WorkflowsState) -> ListWindow {
    let inner = area.inner(Margin::new(1, 1));
    ListWindow::new(below_header(inner), w.runs_sel, w.run_rows().len())
}

/// The list shown in a box, for clicks.
pub fn list_window(area: Rect, id: BoxId, s: &AppState) -> Option<ListWindow> {
    match id {
        BoxId::WfList if !s.workflows.workflows.is_empty() => Some(wf_window(area, &s.workflows)),
        BoxId::WfRuns => Some(runs_window(area, &s.workflows)),
        BoxId::WfDetail => Some(detail::steps_window(area, s)),
        _ => None,
    }
}

/// A state's style: its colour beside the glyph and word it is always shown with.
pub fn state_style(st: RunState, t: &Theme) -> Style {
    match st {
        RunState::Succeeded => t.style(Role::StatusOk),
        RunState::Failed => t.style(Role::StatusFailed).add_modifier(Modifier::BOLD),
        RunState::Interrupted => t.style(Role::StatusFailed),
        RunState::Waiting | RunState::Retrying => t.style(Role::StatusWarn),
        RunState::Running => t.style(Role::StatusInfo),
        RunState::Queued | RunState::Cancelled | RunState::Skipped => t.style(Role::TextDim),
    }
}

/// `✓ succeeded`.
pub fn state_text(st: RunState) -> String {
    format!("{} {}", st.glyph(), st.word())
}

/// A run's state: the glyph, then the state as its source names it
/// (opsdeck's word, or Prefect's `Crashed`, `Late` …).
pub fn run_state_text(r: &Run) -> String {
    format!("{} {}", r.state.glyph(), r.state_name())
}

/// A duration: `850ms`, `42s`, `3m 05s`, `1h 02m`.
pub fn dur(ms: i64) -> String {
    let ms = ms.max(0);
    let s = ms / 1000;
    match s {
        _ if ms < 1000 => format!("{ms}ms"),
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

/// Durations as block characters, scaled to the longest.
fn sparkline(v: &[i64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = v.iter().copied().max().unwrap_or(0).max(1) as f64;
    v.iter().map(|x| BARS[((*x as f64 / max) * 7.0).round().clamp(0.0, 7.0) as usize]).collect()
}

fn note(f: &mut Frame, area: Rect, lines: Vec<Line<'static>>) {
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

fn workflows(f: &mut Frame, area: Rect, focused: bool, s: &AppState, t: &Theme) {
    let w = &s.workflows;
    let title = Line::from(vec![
        Span::raw("Workflows"),
        Span::styled(format!(" {}", w.workflows.len()), t.style(Role::TextDim)),
    ]);
    f.render_widget(boxed(title, focused, t, area.width), area);
    let mut inner = area.inner(Margin::new(1, 1));
    // Files left out, each a row before the list (Enter shows it whole, E edits it).
    let problem_line = |i: usize, src: &str, p: &str, width: u16| {
        let sel = w.problem_sel == Some(i) && focused;
        let first = p.lines().next().unwrap_or_default();
        let line = format!("{}⚠ {src}: {first}", if sel { "▸" } else { " " });
        let style = if sel { t.style(Role::Selection) } else { t.style(Role::StatusWarn) };
        Line::styled(text::fit(&line, width.into()), style)
    };
    if w.workflows.is_empty() {
        let mut lines = vec![
            Line::styled("No workflows yet.", t.style(Role::Text)),
            Line::styled(
                "Workflow files (*.toml) go in the workflows/ folder of the config directory \
                 (`opsdeck paths` prints where); docs/workflows.md gives the format.",
                t.style(Role::TextDim),
            ),
        ];
        lines.extend(w.problems.iter().enumerate().map(|(i, (src, p))| problem_line(i, src, p, inner.width)));
        note(f, inner, lines);
        return;
    }
    let n_problems = problem_rows(inner, w);
    if n_problems > 0 {
        // Keep the selected problem in view.
        let skip = w.problem_sel.map_or(0, |p| (p + 1).saturating_sub(usize::from(n_problems)));
        let problems: Vec<Line> = w
            .problems
            .iter()
            .enumerate()
            .skip(skip)
            .take(n_problems.into())
            .map(|(i, (src, p))| problem_line(i, src, p, inner.width))
            .collect();
        f.render_widget(Paragraph::new(problems), Rect { height: n_problems, ..inner });
        inner.y += n_problems;
        inner.height -= n_problems;
    }
    let win = wf_window(area, w);
    // The position counts the problem rows too: they are rows one selects.
    let rows = ListWindow {
        rows: Rect { height: n_problems + win.rows.height, ..win.rows },
        offset: 0,
        len: w.problems.len() + w.workflows.len(),
        selected: w.problem_sel.unwrap_or(w.problems.len() + w.wf_sel),
    };
    list::draw_position(f, area, &rows, t);
    let header = [" LAST RUN", "WORKFLOW", "OK", "RECENT", "NEXT", "VERSION", "DESCRIPTION"];
    let name_w = w.workflows.iter().map(|(_, wf)| text::width(&wf.name)).max().unwrap_or(0).max(8);
    let desc_w = w.workflows.iter().map(|(_, wf)| text::width(&wf.description)).max().unwrap_or(0).max(11);
    let cols = [
        Col::fixed(15),
        Col::text(name_w, 8).keep(16),
        Col::fixed(9).drop(2),
        Col::fixed(10).drop(3),
        Col::fixed(8).drop(4),
        Col::fixed(VERSION_SHOWN as u16).drop(5),
        Col::text(desc_w, 10).drop(1).grow(),
    ];
    let plan = columns::plan(&cols, 1, inner.width);
    let rows = w.workflows.iter().enumerate().skip(win.offset).take(win.visible()).map(|(i, (src, wf))| {
        let stats = w.stats(src, &wf.name);
        let sel = i == w.wf_sel && w.problem_sel.is_none() && focused;
        let base = if sel { t.style(Role::Selection) } else { t.style(Role::Text) };
        let mark = if sel { "▸" } else { " " };
        // Every cell is fit to its column: a cut one ends in `…`.
        let fit = |k: usize, s: &str| text::fit(s, plan.width(k));
        let last = match stats.last {
            Some(st) => {
                Span::styled(fit(0, &format!("{mark}{}", state_text(st))), if sel { base } else { state_style(st, t) })
            }
            None => {
                Span::styled(fit(0, &format!("{mark}· never run")), if sel { base } else { t.style(Role::TextDim) })
            }
        };
        let ok = stats.success.map(|(ok, of)| format!("{}% {ok}/{of}", ok * 100 / of.max(1))).unwrap_or_default();
        let cells = [
            Cell::from(last),
            Cell::from(Span::styled(fit(1, &wf.name), base.add_modifier(Modifier::BOLD))),
            Cell::from(fit(2, &ok)),
            Cell::from(Span::styled(
                fit(3, &sparkline(&stats.durations[stats.durations.len().saturating_sub(10)..])),
                t.style(Role::ChartSeries1),
            )),
            Cell::from(fit(4, &next_fire(wf.next_fire, s.now))),
            Cell::from(Span::styled(
                fit(5, &wf.version.chars().take(VERSION_SHOWN).collect::<String>()),
                t.style(Role::TextDim),
            )),
            Cell::from(Span::styled(
                text::fit(&wf.description, plan.width(6)),
                if sel { base } else { t.style(Role::TextDim) },
            )),
        ];
        Row::new(plan.pick(cells)).style(base)
    });
    let table = Table::new(rows, plan.constraints())
        .header(Row::new(plan.pick(header)).style(t.style(Role::TableHeader)))
        .column_spacing(1);
    f.render_widget(table, inner);
}

/// Hex digits of a version shown (as git's short hashes).
const VERSION_SHOWN: usize = 7;

/// When a workflow's schedule fires next: `in 4m`, `due` once the time has
/// come (the engine fires it), nothing without a schedule.
pub fn next_fire(at: Option<Ts>, now: Ts) -> String {
    match at {
        Some(at) if at > now => format!("in {}", fmt::left(at - now)),
        Some(_) => "due".into(),
        None => String::new(),
    }
}

/// `2`, and the steps tried more than once: `2 roll×3`; empty for a first
/// attempt whose steps each ran once.
pub fn attempts(r: &WfRun) -> String {
    let mut out = if r.run.attempt > 1 { r.run.attempt.to_string() } else { String::new() };
    for s in r.steps.iter().filter(|s| s.attempt > 1) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&format!("{}×{}", s.id, s.attempt));
    }
    out
}

/// `by ana`, `schedule`, `alert disk_full`.
fn trigger(tr: &Trigger) -> String {
    match tr {
        Trigger::Manual { by } if by.is_empty() => "by hand".into(),
        Trigger::Manual { by } => format!("by {by}"),
        Trigger::Schedule { .. } => "schedule".into(),
        Trigger::Alert { rule } => format!("alert {rule}"),
    }
}

/// `#12`, `#12 ·2` for a rerun's attempt; a Prefect run's name.
pub fn run_label(r: &Run) -> String {
    r.label()
}

/// The RUN column: `#12`, or a Prefect run's name (attempts have their column).
fn run_cell(r: &Run) -> String {
    match &r.external {
        Some(x) => x.name.clone(),
        None => format!("#{}", r.id),
    }
}

/// How long ago a run started: its first attempt's start, whatever
/// attempt it is on (when it was created, while queued).
fn started(r: &Run, now: Ts) -> String {
    format!("{} ago", fmt::age(now - r.run_started().unwrap_or(r.created)))
}

/// How long the run's latest attempt took (ticking while it runs), marked
/// with the attempt after a rerun: `42s ·2` (attempt 2 took 42 s).
fn duration(r: &Run, now: Ts) -> String {
    match r.duration_ms(now) {
        Some(d) if r.attempt > 1 => format!("{} ·{}", dur(d), r.attempt),
        Some(d) => dur(d),
        None => String::new(),
    }
}

fn runs(f: &mut Frame, area: Rect, focused: bool, s: &AppState, t: &Theme) {
    let w = &s.workflows;
    let rows_idx = w.run_rows();
    let mut title = vec![Span::raw("Runs")];
    let of = w.runs_of.as_ref().map_or("every workflow".to_string(), |(_, n)| n.clone());
    title.push(Span::styled(
        format!(" of {of} · {} · {} · {}", w.state_filter.word(), w.time_filter.word(), rows_idx.len()),
        t.style(Role::TextDim),
    ));
    if w.loading_older() {
        title.push(Span::styled(" · loading older runs…", t.style(Role::StatusInfo)));
    }
    f.render_widget(boxed(Line::from(title), focused, t, area.width), area);
    let inner = area.inner(Margin::new(1, 1));
    if rows_idx.is_empty() {
        let msg = if w.runs.is_empty() {
            "No runs yet: select a workflow above and start it.".to_string()
        } else {
            format!("No {} run of {of} ({}).", w.state_filter.word(), w.time_filter.word())
        };
        let mut lines = vec![Line::styled(msg, t.style(Role::TextDim))];
        // Sources whose runs cannot be read now, and why.
        for src in s.sources.iter().filter(|src| src.link.is_down() || src.link == crate::app::Link::Connecting) {
            let why = match &src.link {
                crate::app::Link::Retrying { error, .. } => format!("{} is offline: {}", src.name, error),
                crate::app::Link::Refused { error, .. } => format!("{} refused: {}", src.name, error),
                _ => format!("{} is connecting…", src.name),
            };
            lines.push(Line::styled(text::clean(&why).into_owned(), t.style(Role::StatusWarn)));
        }
        note(f, inner, lines);
        return;
    }
    let win = ListWindow::new(below_header(inner), w.runs_sel, rows_idx.len());
    list::draw_position(f, area, &win, t);
    let header = ["RUN", "WORKFLOW", " STATE", "ATTEMPTS", "TRIGGER", "STARTED", "DURATION", "ERROR", "SOURCE"];
    let by_source = w.sources_shown();
    let widest = |cell: &dyn Fn(&Run) -> usize| rows_idx.iter().map(|i| cell(&w.runs[*i].run)).max().unwrap_or(0);
    let attempts_w = rows_idx.iter().map(|i| text::width(&attempts(&w.runs[*i]))).max().unwrap_or(0);
    let cols = [
        Col::text(widest(&|r| text::width(&run_cell(r))).max(3) + if w.mark.is_some() { 2 } else { 0 }, 3).keep(20),
        Col::text(widest(&|r| text::width(&r.workflow)).max(8), 8).keep(14),
        Col::fixed(14),
        Col::text(attempts_w.max(8), 8).drop(4),
        Col::text(widest(&|r| text::width(&trigger(&r.trigger))).max(7), 7).keep(10).drop(3),
        Col::fixed(8).drop(2),
        Col::text(widest(&|r| text::width(&duration(r, s.now))).max(8), 8),
        Col::text(widest(&|r| r.error.as_deref().map_or(0, text::width)).max(5), 8).drop(1).grow(),
        if by_source {
            let widest_src = rows_idx.iter().map(|i| text::width(&w.runs[*i].source)).max().unwrap_or(0);
            Col::text(widest_src.max(6), 6).keep(12).drop(3)
        } else {
            Col::absent()
        },
    ];
    let plan = columns::plan(&cols, 1, inner.width);
    let rows = rows_idx.iter().enumerate().skip(win.offset).take(win.visible()).map(|(k, i)| {
        let r = &w.runs[*i];
        let run = &r.run;
        let sel = k == w.runs_sel && focused;
        let base = if sel { t.style(Role::Selection) } else { t.style(Role::Text) };
        let mark = if sel { "▸" } else { " " };
        // Every cell is fit to its column: a cut one ends in `…`.
        let fit = |k: usize, s: &str| text::fit(s, plan.width(k));
        let st = Span::styled(
            fit(2, &format!("{mark}{}", run_state_text(run))),
            if sel { base } else { state_style(run.state, t) },
        );
        let d = fit(6, &duration(run, s.now));
        let cells = [
            Cell::from(Span::styled(
                // The run marked to compare another with: `◆`.
                fit(
                    0,
                    &if w.mark.as_ref().is_some_and(|(src, id)| *src == r.source && *id == run.id) {
                        format!("{} ◆", run_cell(run))
                    } else {
                        run_cell(run)
                    },
                ),
                base.add_modifier(Modifier::BOLD),
            )),
            Cell::from(text::fit(&run.workflow, plan.width(1))),
            Cell::from(st),
            Cell::from(text::fit(&attempts(r), plan.width(3))),
            Cell::from(text::fit(&trigger(&run.trigger), plan.width(4))),
            Cell::from(fit(5, &started(run, s.now))),
            Cell::from(d),
            Cell::from(Span::styled(
                text::fit(&text::clean(run.error.as_deref().unwrap_or("")), plan.width(7)),
                if sel { base } else { t.style(Role::TextDim) },
            )),
            Cell::from(Span::styled(
                text::fit(&r.source, plan.width(8)),
                if sel { base } else { t.style(Role::TextDim) },
            )),
            Cell::from(Span::styled(
                text::fit(&r.source, plan.width(8)),
                if sel { base } else { t.style(Role::TextDim) },
            )),
        ];
        Row::new(plan.pick(cells)).style(base)
    });
    let table = Table::new(rows, plan.constraints())
        .header(Row::new(plan.pick(header)).style(t.style(Role::TableHeader)))
        .column_spacing(1);
    f.render_widget(table, inner);
}
