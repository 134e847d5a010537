//! The alerts pane's boxes: the alert list, the selected alert's detail (with
//! a chart of its metric and its timeline), and the rules and health checks.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Clear, Paragraph, Row, Table};

use crate::app::overlay::AlertPopup;
use crate::app::panes::alerts::{AlertsState, Shown, Verdict};
use crate::app::{AppState, BoxId};
use crate::config::theme::{Role, Theme};
use crate::protocol::LOCAL_SOURCE;
use crate::protocol::alerts::{Alert, Severity};
use crate::text;
use crate::ui::boxed;
use crate::ui::overlay::{centered, input_line, popup};
use crate::ui::widgets::chart::{ChartSeries, TimeChart};
use crate::ui::widgets::columns::{self, Col};
use crate::ui::widgets::fit::fit_spans;
use crate::ui::widgets::fmt;
use crate::ui::widgets::list::{self, ListWindow};

pub fn layout(body: Rect, s: &AppState) -> Vec<(BoxId, Rect)> {
    let (w, h) = (body.width, body.height);
    if h < 12 || w < 40 {
        return vec![(s.focus, body)];
    }
    let [top, rules] = Layout::vertical([Constraint::Percentage(70), Constraint::Min(4)]).areas(body);
    // Side by side only where the list keeps its columns (state, severity,
    // age, name and summary need ~90 cells) beside a readable detail.
    if w < 140 {
        let [list, detail] = Layout::vertical([Constraint::Percentage(50), Constraint::Min(3)]).areas(top);
        return vec![(BoxId::AlertList, list), (BoxId::AlertDetail, detail), (BoxId::AlertRules, rules)];
    }
    let [list, detail] = Layout::horizontal([Constraint::Percentage(55), Constraint::Min(30)]).areas(top);
    vec![(BoxId::AlertList, list), (BoxId::AlertDetail, detail), (BoxId::AlertRules, rules)]
}

pub fn render_box(f: &mut Frame, area: Rect, id: BoxId, s: &AppState, t: &Theme) {
    let focused = s.focus == id;
    match id {
        BoxId::AlertList => list(f, area, focused, s, t),
        BoxId::AlertDetail => detail(f, area, focused, s, t),
        _ => {
            rules(f, area, focused, &s.alerts, s.now, t);
            super::alerts_uptime::outages(f, area, s, t);
        }
    }
}

/// The style of a state: colour plus the glyph the text carries.
pub fn shown_style(sh: Shown, sev: Severity, t: &Theme) -> Style {
    match sh {
        Shown::Firing if sev == Severity::Critical => t.style(Role::StatusFailed).add_modifier(Modifier::BOLD),
        Shown::Firing => t.style(Role::StatusFailed),
        Shown::Pending => t.style(Role::StatusWarn),
        Shown::Acknowledged => t.style(Role::StatusInfo),
        Shown::Silenced | Shown::Resolved => t.style(Role::TextDim),
    }
}

/// When the alert entered the state it is shown in: resolved when it
/// resolved, silenced when the silence began, acknowledged when it was
/// acknowledged, firing when it fired, pending when its condition began.
fn shown_since(sh: Shown, al: &Alert, update: Option<&crate::protocol::alerts::AlertsUpdate>) -> i64 {
    let fired = al.firing_since.unwrap_or(al.active_since);
    match sh {
        Shown::Resolved => al.resolved_at.unwrap_or(fired),
        Shown::Silenced => update
            .and_then(|u| u.silences.iter().filter(|x| al.silenced_by.contains(&x.id)).map(|x| x.starts).min())
            .map_or(fired, |start| start.max(al.active_since)),
        Shown::Acknowledged => al.ack.as_ref().map_or(fired, |a| a.at),
        Shown::Firing => fired,
        Shown::Pending => al.active_since,
    }
}

fn age(now: i64, since: i64) -> String {
    fmt::age((now - since).max(0))
}

/// What to say when no alert is listed: the all-clear only when every
/// source was read whole.
fn verdict_text(v: &Verdict) -> (String, Role) {
    let sources = |n: usize| text::count(n as u64, "source", "sources");
    match v {
        Verdict::Waiting(names) if names.iter().all(|n| n == LOCAL_SOURCE) => {
            ("  waiting for the alert engine…".into(), Role::TextDim)
        }
        Verdict::Waiting(names) => {
            let names: Vec<&str> =
                names.iter().map(|n| if n == LOCAL_SOURCE { "the alert engine" } else { n.as_str() }).collect();
            (format!("  waiting for {}…", names.join(", ")), Role::TextDim)
        }
        Verdict::Unknown { failed, waiting } => {
            let mut m = format!(
                "  ◌ {} could not be read: {} alerts are unknown",
                sources(*failed),
                if *failed == 1 { "its" } else { "their" }
            );
            if *waiting > 0 {
                m.push_str(&format!(" ({} not answered yet)", sources(*waiting)));
            }
            (m, Role::StatusFailed)
        }
        Verdict::Partial { sources: n } => {
            (format!("  ⚠ no readable alert is firing: {} could be read only in part", sources(*n)), Role::StatusWarn)
        }
        Verdict::AllClear => ("  ✓ nothing is firing".into(), Role::TextDim),
    }
}

fn list(f: &mut Frame, area: Rect, focused: bool, s: &AppState, t: &Theme) {
    let a = &s.alerts;
    let (firing, pending, acked) = a.counts();
    let mut title = vec![
        Span::raw("Alerts"),
        Span::styled(format!(" {firing} firing · {pending} pending · {acked} acked"), t.style(Role::TextDim)),
    ];
    if !a.show_resolved {
        title.push(Span::styled(" · resolved hidden", t.style(Role::TextDim)));
    }
    if let Some(q) = a.filter.as_ref().filter(|_| !a.filter_editing).map(|q| q.text()).filter(|q| !q.is_empty()) {
        title.push(Span::styled(format!(" · filter \"{q}\""), t.style(Role::TextAccent)));
    }
    let block = boxed(Line::from(title), focused, t, area.width);
    f.render_widget(block, area);
    let lay = alert_layout(area, a);
    if let (Some(input), Some(r)) = (&a.filter, lay.filter) {
        input_line(f, r, "/ ", input, t);
    }
    for ((text, role), r) in lay.notes {
        let line = Line::styled(text::fit(&text, r.width.into()), t.style(role));
        f.render_widget(Paragraph::new(line), r);
    }
    let inner = lay.table;
    if a.rows.is_empty() {
        let (msg, role) = if a.filter.is_some() {
            ("  no alert matches the filter".to_string(), Role::TextDim)
        } else {
            verdict_text(&a.verdict())
        };
        let line = Line::styled(text::fit(&msg, inner.width.into()), t.style(role));
        f.render_widget(Paragraph::new(line), Rect { height: inner.height.min(1), ..inner });
        return;
    }
    let many_sources = a.sources.len() > 1;
    list::draw_position(f, area, &lay.window, t);
    let (off, visible) = (lay.window.offset, lay.window.visible());
    let header = ["  STATE", "SEVERITY", "AGE", "SOURCE", "ALERT", "SUMMARY"];
    let all = || a.rows.iter().enumerate().filter_map(|(i, (src, id))| Some((i, src, a.alert(src, id)?)));
    let shown = || all().skip(off).take(visible);
    // Widths from every row, so columns stay put while the list scrolls.
    let widest = |k: usize, cell: &dyn Fn(&str, &Alert) -> usize| {
        all().map(|(_, src, al)| cell(src, al)).max().unwrap_or(0).max(text::width(header[k]))
    };
    // Short names keep their width and the summary takes the rest; a narrow
    // list drops the severity (its colour stays on the state), then the age,
    // then the summary, whole.
    let source = Col::text(widest(3, &|src, _| text::width(src)), 6).keep(10);
    let cols = [
        Col::fixed(11),
        Col::fixed(8).drop(3),
        Col::fixed(5).drop(2),
        if many_sources { source } else { Col::absent() },
        Col::text(widest(4, &|_, al| text::width(&al.display_name())), 10).keep(20),
        Col::text(widest(5, &|_, al| text::width(&al.summary)), 12).drop(1).grow(),
    ];
    // Names, labels and summaries come from rules and Alertmanager: cut to
    // their column with `…`.
    let plan = columns::plan(&cols, 1, inner.width);
    let rows = shown().map(|(i, src, al)| {
        let sh = Shown::of(al);
        let (glyph, word) = sh.label();
        let sel = i == a.selected && focused;
        let base = if sel { t.style(Role::Selection) } else { t.style(Role::Text) };
        let st = if sel { base } else { shown_style(sh, al.severity, t) };
        let cells = [
            Cell::from(Span::styled(format!("{}{glyph} {word}", if sel { "▸" } else { " " }), st)),
            Cell::from(al.severity.name()),
            Cell::from(age(s.now, al.active_since)),
            Cell::from(text::fit(src, plan.width(3))),
            Cell::from(Span::styled(text::fit(&al.display_name(), plan.width(4)), base.add_modifier(Modifier::BOLD))),
            Cell::from(Span::styled(
                text::fit(&al.summary, plan.width(5)),
                if sel { base } else { t.style(Role::TextDim) },
            )),
        ];
        Row::new(plan.pick(cells)).style(base)
    });
    let (header, widths) = (plan.pick(header), plan.constraints());
    let table = Table::new(rows, widths).header(Row::new(header).style(t.style(Role::TableHeader))).column_spacing(1);
    f.render_widget(table, inner);
}

fn detail(f: &mut Frame, area: Rect, focused: bool, s: &AppState, t: &Theme) {
    let Some((src, al)) = s.alerts.selected_alert() else {
        let block = boxed(Line::raw("Detail"), focused, t, area.width);
        f.render_widget(Paragraph::new(Span::styled("Select an alert.", t.style(Role::TextDim))).block(block), area);
        return;
    };
    let sh = Shown::of(al);
    let (glyph, word) = sh.label();
    let title = vec![
        Span::styled(format!("{glyph} "), shown_style(sh, al.severity, t)),
        Span::raw(text::clean(&al.display_name()).into_owned()),
    ];
    let block = boxed(Line::from(title), focused, t, area.width);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let dim = t.style(Role::TextDim);
    let key = |k: &str| Span::styled(format!("{k:<10}"), dim);
    let mut lines = vec![
        Line::from(vec![
            key("state"),
            Span::styled(
                format!("{word} since {} ago", age(s.now, shown_since(sh, al, s.alerts.sources.get(src)))),
                shown_style(sh, al.severity, t),
            ),
            Span::styled(format!(" · {} · {src}", al.severity.name()), dim),
        ]),
        Line::from(vec![key("summary"), Span::raw(text::clean(&al.summary).into_owned())]),
    ];
    if let Some(r) = s.alerts.sources.get(src).and_then(|u| u.rules.iter().find(|r| r.name == al.rule)) {
        lines.push(Line::from(vec![
            key(&r.kind),
            Span::raw(text::clean(&format!("{}: {}", r.name, r.detail)).into_owned()),
        ]));
    }
    if let Some(x) = super::alerts_slo::status_of(s.alerts.sources.get(src), &al.rule).filter(|_| al.origin == "slo") {
        lines.push(super::alerts_slo::detail_line(x, key("budget"), t));
    }
    // A prediction reads in operator terms ("full in 3 h 10 min"), not as its raw number.
    if let Some(v) = al.value_text.clone().or(al.value.map(|v| format!("{v:.2}"))) {
        lines.push(Line::from(vec![key("value"), Span::raw(text::clean(&v).into_owned())]));
    }
    if !al.labels.is_empty() {
        let l: Vec<String> = al.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        lines.push(Line::from(vec![key("labels"), Span::raw(text::clean(&l.join(" ")).into_owned())]));
    }
    if let Some(ack) = &al.ack {
        let note = if ack.note.is_empty() { String::new() } else { format!(": {}", ack.note) };
        let acked = format!("✔ by {} {} ago{note}", ack.by, age(s.now, ack.at));
        lines.push(Line::from(vec![
            key("acked"),
            Span::styled(text::clean(&acked).into_owned(), t.style(Role::StatusInfo)),
        ]));
    }
    if let Some(u) = s.alerts.sources.get(src) {
        for id in &al.silenced_by {
            if let Some(sil) = u.silences.iter().find(|x| &x.id == id) {
                lines.push(Line::from(vec![
                    key("silenced"),
                    Span::raw(
                        text::clean(&format!(
                            "⊘ {id} by {} for {} more: {}",
                            sil.created_by,
                            fmt::left(sil.ends - s.now),
                            sil.comment
                        ))
                        .into_owned(),
                    ),
                ]));
            }
        }
    }
    let n = lines.len().min(usize::from(u16::MAX - 10)) as u16;
    let [body, chart, tl] = Layout::vertical([
        Constraint::Length(n),
        Constraint::Length(if inner.height >= n + 10 { 6 } else { 0 }),
        Constraint::Min(0),
    ])
    .areas(inner);
    let lines: Vec<Line> = lines.into_iter().map(|l| Line::from(fit_spans(l.spans, body.width.into()))).collect();
    f.render_widget(Paragraph::new(lines), body);
    if chart.height > 0 && al.origin == "slo" {
        super::alerts_slo::budget_chart(f, chart, s, src, al, t);
    } else if chart.height > 0 {
        metric_chart(f, chart, s, src, al, t);
    }
    super::alerts_timeline::timeline(f, tl, s, src, al, t);
}

/// The alert's metric from 15 minutes before it became active until now.
fn metric_chart(f: &mut Frame, area: Rect, s: &AppState, src: &str, al: &Alert, t: &Theme) {
    let Some(series) = al.series.as_deref() else { return };
    let Some(data) = s.metrics.sources.iter().find(|d| d.name == src) else { return };
    let Some(col) = data.series.col(series) else { return };
    let from_ts = al.active_since - 15 * 60_000;
    let span = (s.now - from_ts).max(60_000);
    let Some(tier) = data.series.tier_for_window(span) else { return };
    let mut c = TimeChart {
        marker: s.metrics.marker,
        y_min: 0.0,
        y_max: 100.0,
        y_fmt: |v| format!("{v:.0}"),
        x_labels: [format!("-{}", fmt::age(span)), "now".into()],
        series: Vec::new(),
        thresholds: Vec::new(),
        marks: vec![((al.active_since - from_ts) as f64 / span as f64, t.style(Role::StatusWarn))],
        axis_style: t.style(Role::ChartAxis),
        label_style: t.style(Role::ChartLabel),
    };
    let n = c.x_dots(area);
    let to = tier.slot_of(s.now) + 1;
    let values = tier.resample(col, to - span / tier.spec.step_ms, to, n);
    let max = values.iter().copied().filter(|v| v.is_finite()).fold(0.0f32, f32::max);
    c.y_max = if series.contains("pct") || series.starts_with("cpu") { 100.0 } else { f64::from(max.max(1.0)) * 1.1 };
    c.series.push(ChartSeries { values, style: t.style(Role::ChartSeries1) });
    f.render_widget(c, area);
}

/// The rules table inside its box, and its rows (rules, then silences) below the header.
fn rules_window(area: Rect, a: &AlertsState) -> (Rect, ListWindow) {
    let mut inner = area.inner(ratatui::layout::Margin::new(1, 1));
    inner.height -= super::alerts_uptime::strip_height(inner, a);
    let n = a.rule_rows().len() + a.silence_rows().len();
    (inner, ListWindow::new(below_header(inner), a.rules_sel, n))
}

/// The lines under a table's header line.
fn below_header(table: Rect) -> Rect {
    Rect { y: table.y + 1.min(table.height), height: table.height.saturating_sub(1), ..table }
}

/// Where the alert list's parts go inside its box: the filter line while it
/// is typed into, one line per source that could not be read, then the table.
struct AlertLayout {
    filter: Option<Rect>,
    notes: Vec<((String, Role), Rect)>,
    table: Rect,
    window: ListWindow,
}

fn alert_layout(area: Rect, a: &AlertsState) -> AlertLayout {
    let mut inner = area.inner(ratatui::layout::Margin::new(1, 1));
    let take = |inner: &mut Rect| {
        (inner.height > 1).then(|| {
            let r = Rect { height: 1, ..*inner };
            inner.y += 1;
            inner.height -= 1;
            r
        })
    };
    let filter = (a.filter_editing && a.filter.is_some()).then(|| take(&mut inner)).flatten();
    // Sources whose alerts are unknown or incomplete, named, with why.
    let failed = a.health.failed.iter().map(|(n, e)| (format!("◌ {n} could not be read: {e}"), Role::StatusFailed));
    let partial = a.health.partial.iter().map(|(n, e)| (format!("⚠ {n}: {e}"), Role::StatusWarn));
    let notes = failed.chain(partial).map_while(|note| take(&mut inner).map(|r| (note, r))).collect();
    AlertLayout { filter, notes, table: inner, window: ListWindow::new(below_header(inner), a.selected, a.rows.len()) }
}

/// The list shown in an alerts box, for clicks.
pub fn list_window(area: Rect, id: BoxId, s: &AppState) -> Option<ListWindow> {
    match id {
        BoxId::AlertList => Some(alert_layout(area, &s.alerts).window),
        BoxId::AlertRules => Some(rules_window(area, &s.alerts).1),
        _ => None,
    }
}

fn rules(f: &mut Frame, area: Rect, focused: bool, a: &AlertsState, now: i64, t: &Theme) {
    let rows = a.rule_rows();
    let silences = a.silence_rows();
    let mut title =
        vec![Span::raw("Rules and checks"), Span::styled(format!(" {}", rows.len()), t.style(Role::TextDim))];
    if !silences.is_empty() {
        title.push(Span::raw(" · Silences"));
        title.push(Span::styled(format!(" {}", silences.len()), t.style(Role::TextDim)));
    }
    let block = boxed(Line::from(title), focused, t, area.width);
    let (inner, window) = rules_window(area, a);
    f.render_widget(block, area);
    list::draw_position(f, area, &window, t);
    let (off, visible) = (window.offset, window.visible());
    // The cells' texts of every row (rules, then silences), so that each
    // column is as wide as what it shows.
    let n_rules = rows.len();
    let all: Vec<[(String, Style); 10]> = (0..n_rules + silences.len())
        .map(|i| {
            let sel = i == a.rules_sel && focused;
            let base = if sel { t.style(Role::Selection) } else { t.style(Role::Text) };
            let mark = (if sel { "▸" } else { " " }.to_string(), base);
            if let Some((src, k)) = rows.get(i) {
                let r = &a.sources[src].rules[*k];
                let on = if r.enabled {
                    ("● on".to_string(), t.style(Role::StatusOk))
                } else {
                    ("○ off".to_string(), t.style(Role::TextDim))
                };
                let [day, week, month] = super::alerts_uptime::cells(r, base, t);
                let health = match (&r.last_error, r.latency_ms.last()) {
                    (Some(e), _) => (format!("✗ {e}"), t.style(Role::StatusFailed)),
                    (None, Some(ms)) if ms.is_finite() => {
                        (format!("✓ {ms:.0} ms {}", sparkline(&r.latency_ms)), t.style(Role::StatusOk))
                    }
                    _ => (String::new(), base),
                };
                let slo = (r.kind == "slo").then(|| a.sources[src].slos.iter().find(|x| x.name == r.name));
                let health = slo.map_or(health, |x| super::alerts_slo::rule_cell(x, t));
                [
                    mark,
                    on,
                    (r.kind.clone(), base),
                    (r.name.clone(), base),
                    (r.severity.name().to_string(), base),
                    (r.detail.clone(), t.style(Role::TextDim)),
                    day,
                    week,
                    month,
                    health,
                ]
            } else {
                let (src, k) = &silences[i - n_rules];
                let x = &a.sources[src].silences[*k];
                let m: Vec<String> =
                    x.matchers.iter().map(|m| format!("{}{}{}", m.name, m.op.symbol(), m.value)).collect();
                let state = if x.active(now) {
                    let text = format!("⊘ ends in {} · mutes {}", fmt::left(x.ends - now), a.muted_by(src, &x.id));
                    (text, t.style(Role::StatusInfo))
                } else {
                    (format!("○ expired {} ago", fmt::age(now - x.ends)), t.style(Role::TextDim))
                };
                let glyph = if x.active(now) {
                    ("⊘".to_string(), t.style(Role::StatusInfo))
                } else {
                    ("○".to_string(), t.style(Role::TextDim))
                };
                [
                    mark,
                    glyph,
                    ("mute".to_string(), base),
                    (x.id.clone(), base),
                    // A silence has no severity: who made it goes with its matchers.
                    (String::new(), base),
                    (format!("{} · {} · by {}", m.join(" "), x.comment, x.created_by), t.style(Role::TextDim)),
                    (String::new(), base),
                    (String::new(), base),
                    (String::new(), base),
                    state,
                ]
            }
        })
        .collect();
    let [d, w, m] = super::alerts_uptime::HEADER;
    let header = ["", "", "KIND", "NAME", "SEVERITY", "CONDITION / TARGET", d, w, m, "LAST PROBE"];
    // Widths from every row, so columns stay put while the list scrolls.
    let widest = |k: usize| all.iter().map(|r| text::width(&r[k].0)).max().unwrap_or(0).max(text::width(header[k]));
    // Short columns stay whole, the target and the last probe share the
    // rest; narrow boxes drop the severity, then the kind, then the 30-day
    // and 7-day uptime (the uptime columns only when a check is listed).
    let checks = rows.iter().any(|(src, k)| a.sources[src].rules[*k].uptime.is_some());
    let pct = |k: usize, drop: u8| if checks { Col::fixed(widest(k) as u16).drop(drop) } else { Col::absent() };
    let cols = [
        Col::fixed(1),
        Col::fixed(5),
        Col::text(widest(2), widest(2) as u16).drop(4),
        Col::text(widest(3), 8).keep(20),
        Col::text(widest(4), 8).drop(5),
        Col::text(widest(5), 12).keep(22),
        pct(6, 1),
        pct(7, 2),
        pct(8, 3),
        Col::text(widest(9), 12).grow(),
    ];
    // Names, targets, errors and comments are outside text: cut with `…`.
    let plan = columns::plan(&cols, 1, inner.width);
    let table_rows = all.into_iter().enumerate().skip(off).take(visible).map(|(j, cells)| {
        let sel = j == a.rules_sel && focused;
        let base = if sel { t.style(Role::Selection) } else { t.style(Role::Text) };
        let cells = cells
            .into_iter()
            .enumerate()
            .map(|(k, (txt, style))| Cell::from(Span::styled(text::fit(&txt, plan.width(k)), style)));
        Row::new(plan.pick(cells)).style(base)
    });
    let header = Row::new(plan.pick(header)).style(t.style(Role::TableHeader));
    f.render_widget(Table::new(table_rows, plan.constraints()).header(header).column_spacing(1), inner);
}

/// Response times as block characters (failed probes as `×`).
fn sparkline(v: &[f32]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let tail = &v[v.len().saturating_sub(16)..];
    let max = tail.iter().copied().filter(|x| x.is_finite()).fold(0.0f32, f32::max).max(1.0);
    tail.iter()
        .map(|x| if x.is_finite() { BARS[((x / max) * 7.0).round().clamp(0.0, 7.0) as usize] } else { '×' })
        .collect()
}

pub fn render_popup(f: &mut Frame, body: Rect, s: &AppState, p: &AlertPopup, t: &Theme) {
    let name = |source: &str, id: &str| {
        text::clean(&s.alerts.alert(source, id).map_or_else(|| id.to_string(), Alert::display_name)).into_owned()
    };
    match p {
        AlertPopup::Ack { source, alert, note } => {
            let mut r = centered(body, 70, 10, 90);
            r.height = r.height.min(3);
            f.render_widget(Clear, r);
            let title = format!("Acknowledge {} (Enter records, Esc cancels)", name(source, alert));
            let block = popup(&title, r.width, t);
            let inner = block.inner(r);
            f.render_widget(block, r);
            if inner.height > 0 {
                input_line(f, inner, "note ", note, t);
            }
        }
        AlertPopup::Silence(d) => super::silence::popup(f, body, s, d, t),
        AlertPopup::Confirm { question, .. } => {
            let mut r = centered(body, 70, 10, 76);
            let lines = text::wrap_words(&text::clean(question), usize::from(r.width.saturating_sub(2)));
            r.height = (lines.len() as u16 + 4).min(body.height);
            r.y = body.y + body.height.saturating_sub(r.height) / 2;
            f.render_widget(Clear, r);
            let block = popup("Are you sure?", r.width, t);
            let inner = block.inner(r);
            f.render_widget(block, r);
            let mut shown: Vec<Line> = lines.into_iter().map(|l| Line::styled(l, t.style(Role::Text))).collect();
            shown.push(Line::raw(""));
            let hint = text::fit("Enter: yes, do it · Esc: no, keep it", inner.width.into());
            shown.push(Line::styled(hint, t.style(Role::TextDim)));
            f.render_widget(Paragraph::new(shown), inner);
        }
    }
}
