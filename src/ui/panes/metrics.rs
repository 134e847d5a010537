//! The metrics pane's boxes: CPU, memory, network, disks, processes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use crate::app::panes::metrics::MetricsState;
use crate::app::{AppState, BoxId};
use crate::config::settings::{SortKey, Threshold as Levels};
use crate::config::theme::{Role, Theme};
use crate::protocol::HostSnapshot;
use crate::text;
use crate::ui::boxed;
use crate::ui::widgets::chart::{ChartSeries, Threshold, TimeChart};
use crate::ui::widgets::columns::{self, Col};
use crate::ui::widgets::fmt;
use crate::ui::widgets::list::{self, ListWindow};

/// Where the metrics boxes go in the body: fewer boxes as the terminal shrinks.
pub fn layout(body: Rect, s: &AppState) -> Vec<(BoxId, Rect)> {
    let (w, h) = (body.width, body.height);
    if h < 8 {
        // Room for one box: the focused one, if a table has room for a row.
        let table = matches!(s.focus, BoxId::Processes | BoxId::Disks);
        let one = if s.focus.pane() == crate::app::Pane::Metrics && (h >= 4 || !table) { s.focus } else { BoxId::Cpu };
        return vec![(one, body)];
    }
    if h < 16 {
        let [a, b] = Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
        return vec![(BoxId::Cpu, a), (BoxId::Processes, b)];
    }
    if w < 60 {
        let [c, m, n, p] = Layout::vertical([
            Constraint::Ratio(1, 4),
            Constraint::Ratio(1, 5),
            Constraint::Ratio(1, 5),
            Constraint::Min(4),
        ])
        .areas(body);
        return vec![(BoxId::Cpu, c), (BoxId::Memory, m), (BoxId::Network, n), (BoxId::Processes, p)];
    }
    let [cpu, mid, low] =
        Layout::vertical([Constraint::Percentage(36), Constraint::Percentage(28), Constraint::Min(6)]).areas(body);
    let [mem, net] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(mid);
    let [disks, procs] = Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(low);
    vec![
        (BoxId::Cpu, cpu),
        (BoxId::Memory, mem),
        (BoxId::Network, net),
        (BoxId::Disks, disks),
        (BoxId::Processes, procs),
    ]
}

pub fn render_box(f: &mut Frame, area: Rect, id: BoxId, s: &AppState, t: &Theme) {
    let focused = s.focus == id;
    match id {
        BoxId::Cpu => cpu(f, area, focused, &s.metrics, t),
        BoxId::Memory => memory(f, area, focused, &s.metrics, t),
        BoxId::Network => network(f, area, focused, &s.metrics, t),
        BoxId::Disks => disks(f, area, focused, &s.metrics, t),
        BoxId::Processes => processes(f, area, focused, &s.metrics, t),
        _ => {}
    }
}

/// A level word + glyph for a percentage against thresholds (never colour alone).
fn level(v: f64, l: Levels, t: &Theme) -> Option<Span<'static>> {
    if v >= f64::from(l.crit) {
        Some(Span::styled(" ▲ CRIT", t.style(Role::ChartCrit).add_modifier(Modifier::BOLD)))
    } else if v >= f64::from(l.warn) {
        Some(Span::styled(" △ WARN", t.style(Role::ChartWarn)))
    } else {
        None
    }
}

fn thresholds(l: Levels, t: &Theme) -> Vec<Threshold> {
    vec![
        Threshold { value: f64::from(l.warn), style: t.style(Role::ChartWarn), critical: false },
        Threshold { value: f64::from(l.crit), style: t.style(Role::ChartCrit), critical: true },
    ]
}

/// The newest value of a series of the shown source, if any (sources without
/// host snapshots, like Prometheus, have only series).
fn latest(m: &MetricsState, name: &str) -> Option<f64> {
    let v = m.cur().series.latest(name);
    v.is_finite().then_some(f64::from(v))
}

/// Series values fitted to the chart's width for the current window.
fn fit(m: &MetricsState, name: &str, n: usize) -> Vec<f32> {
    let series = &m.cur().series;
    let (Some(end), Some(col)) = (m.chart_end(), series.col(name)) else { return vec![f32::NAN; n] };
    let Some(tier) = series.tier_for_window(m.window.ms()) else { return vec![f32::NAN; n] };
    let to = tier.slot_of(end) + 1;
    let from = to - m.window.ms() / tier.spec.step_ms;
    tier.resample(col, from, to, n)
}

fn chart(m: &MetricsState, y_max: f64, y_fmt: fn(f64) -> String, t: &Theme) -> TimeChart {
    TimeChart {
        marker: m.marker,
        y_min: 0.0,
        y_max,
        y_fmt,
        x_labels: [format!("-{}", m.window.label()), if m.frozen.is_some() { "frozen".into() } else { "now".into() }],
        series: Vec::new(),
        thresholds: Vec::new(),
        marks: annotation_marks(m, t),
        axis_style: t.style(Role::ChartAxis),
        label_style: t.style(Role::ChartLabel),
    }
}

/// Annotations inside the chart window, as positions along its time axis.
fn annotation_marks(m: &MetricsState, t: &Theme) -> Vec<(f64, ratatui::style::Style)> {
    let Some(end) = m.chart_end() else { return Vec::new() };
    let span = m.window.ms() as f64;
    m.cur()
        .annotations
        .iter()
        .filter(|(ts, _, _)| *ts <= end && (end - ts) as f64 <= span)
        .map(|(ts, _, _)| (1.0 - (end - ts) as f64 / span, t.style(Role::TextAccent)))
        .collect()
}

fn pct_fmt(v: f64) -> String {
    fmt::pct(v)
}

fn cpu(f: &mut Frame, area: Rect, focused: bool, m: &MetricsState, t: &Theme) {
    let snap = m.shown();
    let mut title = vec![Span::raw("CPU")];
    if let Some(h) = snap {
        title.push(Span::styled(format!(" {:.0}%", h.cpu_total), t.style(Role::TextAccent)));
        if let Some(l) = level(f64::from(h.cpu_total), m.thresholds.cpu, t) {
            title.push(l);
        }
        title.push(Span::styled(
            format!(" · {}", text::count(h.cpu_cores.len() as u64, "core", "cores")),
            t.style(Role::TextDim),
        ));
    } else if let Some(v) = latest(m, "cpu.total") {
        title.push(Span::styled(format!(" {v:.0}%"), t.style(Role::TextAccent)));
        if let Some(l) = level(v, m.thresholds.cpu, t) {
            title.push(l);
        }
    } else {
        title.push(Span::styled(" · waiting for the first sample", t.style(Role::TextDim)));
    }
    // The newest annotation inside the chart window ("deploy v42").
    if let (Some(end), Some((ts, text, _))) = (m.chart_end(), m.cur().annotations.last())
        && *ts > end - m.window.ms()
    {
        title.push(Span::styled(format!(" · ✎ {text} ({} ago)", fmt::age(end - ts)), t.style(Role::TextAccent)));
    }
    let block = boxed(Line::from(title), focused, t, area.width);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let cores = snap.map_or(0, |h| h.cpu_cores.len());
    let per_col = inner.height.max(1) as usize;
    let cols = cores.div_ceil(per_col).max(1);
    let want = (cols as u16) * 17;
    let (chart_area, cores_area) = if cores > 0 && inner.width >= want + 30 {
        let [a, b] = Layout::horizontal([Constraint::Min(20), Constraint::Length(want)]).areas(inner);
        (a, Some(b))
    } else {
        (inner, None)
    };
    let mut c = chart(m, 100.0, pct_fmt, t);
    c.thresholds = thresholds(m.thresholds.cpu, t);
    let n = c.x_dots(chart_area);
    c.series.push(ChartSeries { values: fit(m, "cpu.total", n), style: t.style(Role::ChartSeries1) });
    f.render_widget(c, chart_area);
    if let (Some(ca), Some(h)) = (cores_area, snap) {
        for (i, v) in h.cpu_cores.iter().enumerate() {
            let (col, row) = (i / per_col, i % per_col);
            let r = Rect::new(ca.x + 1 + col as u16 * 17, ca.y + row as u16, 16, 1);
            if r.y < ca.y + ca.height {
                let ascii = m.marker == crate::config::settings::Marker::Ascii;
                f.render_widget(gauge_line(&format!("C{i:<2}"), f64::from(*v), 7, ascii, m.thresholds.cpu, t), r);
            }
        }
    }
}

/// "C0 ███░░░░ 45%" — bar plus the number, so the level reads without colour;
/// in ASCII mode (`m` cycles to it, for terminals without the glyphs) "C0 ###.... 45%".
fn gauge_line(label: &str, pct: f64, width: usize, ascii: bool, l: Levels, t: &Theme) -> Paragraph<'static> {
    let (full, empty) = if ascii { ("#", ".") } else { ("█", "░") };
    let filled = ((pct / 100.0).clamp(0.0, 1.0) * width as f64).round() as usize;
    let fill_style = if pct >= f64::from(l.crit) {
        t.style(Role::ChartCrit)
    } else if pct >= f64::from(l.warn) {
        t.style(Role::ChartWarn)
    } else {
        t.style(Role::GaugeFill)
    };
    Paragraph::new(Line::from(vec![
        Span::styled(format!("{label} "), t.style(Role::TextDim)),
        Span::styled(full.repeat(filled), fill_style),
        Span::styled(empty.repeat(width - filled), t.style(Role::GaugeEmpty)),
        Span::styled(format!("{:>4.0}%", pct), t.style(Role::Text)),
    ]))
}

fn memory(f: &mut Frame, area: Rect, focused: bool, m: &MetricsState, t: &Theme) {
    let mut title = vec![Span::raw("Memory")];
    if let Some(h) = m.shown() {
        title.push(Span::styled(
            format!(" {} / {} {:.0}%", fmt::bytes(h.mem_used as f64), fmt::bytes(h.mem_total as f64), h.mem_pct()),
            t.style(Role::ChartSeries1),
        ));
        if let Some(l) = level(f64::from(h.mem_pct()), m.thresholds.memory, t) {
            title.push(l);
        }
        if h.swap_total > 0 {
            title.push(Span::styled(format!(" · swap {:.0}%", h.swap_pct()), t.style(Role::ChartSeries2)));
        } else {
            title.push(Span::styled(" · no swap", t.style(Role::TextDim)));
        }
    } else if let Some(v) = latest(m, "mem.used_pct") {
        title.push(Span::styled(format!(" {v:.0}%"), t.style(Role::ChartSeries1)));
        if let Some(l) = level(v, m.thresholds.memory, t) {
            title.push(l);
        }
    }
    let block = boxed(Line::from(title), focused, t, area.width);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let mut c = chart(m, 100.0, pct_fmt, t);
    c.thresholds = thresholds(m.thresholds.memory, t);
    let n = c.x_dots(inner);
    c.series.push(ChartSeries { values: fit(m, "swap.used_pct", n), style: t.style(Role::ChartSeries2) });
    c.series.push(ChartSeries { values: fit(m, "mem.used_pct", n), style: t.style(Role::ChartSeries1) });
    f.render_widget(c, inner);
}

fn network(f: &mut Frame, area: Rect, focused: bool, m: &MetricsState, t: &Theme) {
    let mut title = vec![Span::raw("Network")];
    if let Some(h) = m.shown() {
        title.push(Span::styled(format!(" ↓ {}", fmt::rate(h.net_rx_bps())), t.style(Role::ChartSeries3)));
        title.push(Span::styled(format!(" ↑ {}", fmt::rate(h.net_tx_bps())), t.style(Role::ChartSeries4)));
    } else if let (Some(rx), Some(tx)) = (latest(m, "net.rx_bps"), latest(m, "net.tx_bps")) {
        title.push(Span::styled(format!(" ↓ {}", fmt::rate(rx)), t.style(Role::ChartSeries3)));
        title.push(Span::styled(format!(" ↑ {}", fmt::rate(tx)), t.style(Role::ChartSeries4)));
    }
    let block = boxed(Line::from(title), focused, t, area.width);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let mut c = chart(m, 1.0, fmt::rate_axis, t);
    let n = c.x_dots(inner);
    let rx = fit(m, "net.rx_bps", n);
    let tx = fit(m, "net.tx_bps", n);
    let peak = rx.iter().chain(tx.iter()).filter(|v| v.is_finite()).fold(0.0f64, |a, v| a.max(f64::from(*v)));
    c.y_max = fmt::nice_rate_ceiling(peak);
    // the label width may change with the scale: refit to the final plot width
    let n2 = c.x_dots(inner);
    let (rx, tx) = if n2 == n { (rx, tx) } else { (fit(m, "net.rx_bps", n2), fit(m, "net.tx_bps", n2)) };
    c.series.push(ChartSeries { values: tx, style: t.style(Role::ChartSeries4) });
    c.series.push(ChartSeries { values: rx, style: t.style(Role::ChartSeries3) });
    f.render_widget(c, inner);
}

fn disks(f: &mut Frame, area: Rect, focused: bool, m: &MetricsState, t: &Theme) {
    let mut title = vec![Span::raw("Disks")];
    if let Some(h) = m.shown() {
        title.push(Span::styled(
            format!(" r {} w {}", fmt::rate(h.disk_read_bps), fmt::rate(h.disk_write_bps)),
            t.style(Role::TextDim),
        ));
    }
    let block = boxed(Line::from(title), focused, t, area.width);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(h) = m.shown() else { return };
    let header = ["MOUNT", "USE", "FREE", "SIZE", "READ", "WRITE"];
    let shown = || h.disks.iter().skip(m.disk_offset).take(usize::from(inner.height));
    let mount = shown().map(|d| text::width(&d.mount)).max().unwrap_or(0).max(5);
    // Narrow boxes drop the size, then the IO rates, before the mount point gets short.
    let cols = [
        Col::text(mount, 6).keep(16).grow(),
        Col::fixed(6),
        Col::fixed(9),
        Col::fixed(9).drop(2),
        Col::fixed(11).drop(1),
        Col::fixed(11).drop(1),
    ];
    let plan = columns::plan(&cols, 1, inner.width);
    let rows = shown().map(|d| {
        let p = f64::from(d.used_pct());
        let mark = if p >= f64::from(m.thresholds.disk.crit) {
            Span::styled(format!("{p:.0}% ▲"), t.style(Role::ChartCrit))
        } else if p >= f64::from(m.thresholds.disk.warn) {
            Span::styled(format!("{p:.0}% △"), t.style(Role::ChartWarn))
        } else {
            Span::styled(format!("{p:.0}%"), t.style(Role::Text))
        };
        Row::new(plan.pick([
            Cell::from(text::fit(&d.mount, plan.width(0))),
            Cell::from(mark),
            Cell::from(fmt::bytes(d.available as f64)),
            Cell::from(fmt::bytes(d.total as f64)),
            Cell::from(fmt::rate(d.read_bps)),
            Cell::from(fmt::rate(d.write_bps)),
        ]))
    });
    let (header, widths) = (plan.pick(header), plan.constraints());
    let table =
        Table::new(rows, widths).header(Row::new(header).style(t.style(Role::TableHeader))).style(t.style(Role::Text));
    f.render_widget(table, inner);
}

/// A process state as the table shows it: the host's word, shortened where
/// it is long (sysinfo's `UninterruptibleDiskSleep` is htop's `D`).
fn state_name(status: &str) -> &str {
    match status {
        "UninterruptibleDiskSleep" => "Disk wait",
        "LockBlocked" => "Locked",
        other => other,
    }
}

fn sort_label(m: &MetricsState) -> String {
    let name = match m.sort {
        SortKey::Cpu => "CPU",
        SortKey::Memory => "MEM",
        SortKey::Pid => "PID",
        SortKey::Name => "NAME",
    };
    format!("{name} {}", if m.sort_desc { "▼" } else { "▲" })
}

/// The process table's area (inside the border, above the filter line while
/// it is typed into) and its rows below the header.
fn process_rows(area: Rect, m: &MetricsState) -> (Rect, ListWindow) {
    let mut inner = area.inner(ratatui::layout::Margin::new(1, 1));
    if m.filter_editing && inner.height > 1 {
        inner.height -= 1;
    }
    let rows = Rect { y: inner.y + 1.min(inner.height), height: inner.height.saturating_sub(1), ..inner };
    (inner, ListWindow::new(rows, m.selected, m.procs.len()))
}

/// The list shown in a metrics box, for clicks.
pub fn list_window(area: Rect, id: BoxId, s: &AppState) -> Option<ListWindow> {
    (id == BoxId::Processes).then(|| process_rows(area, &s.metrics).1)
}

fn processes(f: &mut Frame, area: Rect, focused: bool, m: &MetricsState, t: &Theme) {
    let total = m.shown().map_or(0, HostSnapshot::procs_total);
    let mut title = vec![
        Span::raw("Processes"),
        Span::styled(
            format!(" {}/{total} · by {}{}", m.procs.len(), sort_label(m), if m.tree { " · tree" } else { "" }),
            t.style(Role::TextDim),
        ),
    ];
    if !m.filter.text().is_empty() && !m.filter_editing {
        title.push(Span::styled(format!(" · filter \"{}\"", text::clean(m.filter.text())), t.style(Role::TextAccent)));
    }
    let block = boxed(Line::from(title), focused, t, area.width);
    let (inner, window) = process_rows(area, m);
    f.render_widget(block, area);
    if m.filter_editing && inner.height > 1 {
        let r = Rect::new(inner.x, inner.y + inner.height, inner.width, 1);
        let [p, i] = Layout::horizontal([Constraint::Length(9), Constraint::Min(1)]).areas(r);
        f.render_widget(Span::styled("filter / ", t.style(Role::TextAccent)), p);
        f.render_widget(&m.filter.widget(t.style(Role::Input), t.style(Role::InputCursor)), i);
    }
    list::draw_position(f, area, &window, t);
    let mem_total = m.shown().map_or(0, |h| h.mem_total).max(1) as f64;
    let (off, visible) = (window.offset, window.visible());
    let arrow = |k: SortKey| if m.sort == k { if m.sort_desc { "▼" } else { "▲" } } else { "" };
    let header = [
        format!(" PID{}", arrow(SortKey::Pid)),
        format!("NAME{}", arrow(SortKey::Name)),
        "USER".to_string(),
        format!(" CPU%{}", arrow(SortKey::Cpu)),
        format!("      MEM{}", arrow(SortKey::Memory)),
        " MEM%".to_string(),
        "STATE".to_string(),
        "COMMAND".to_string(),
    ];
    let shown = || m.procs.iter().enumerate().skip(off).take(visible);
    // Widths from every row (the command's from the rows shown: it takes
    // the rest anyway), so columns stay put while the list scrolls.
    let widest = |k: usize, cell: &dyn Fn(usize, &crate::protocol::ProcInfo) -> usize| {
        let rows =
            if k == 7 { &m.procs[off.min(m.procs.len())..(off + visible).min(m.procs.len())] } else { &m.procs[..] };
        let first = if k == 7 { off } else { 0 };
        rows.iter().enumerate().map(|(i, p)| cell(first + i, p)).max().unwrap_or(0).max(text::width(&header[k]))
    };
    let guide = |i: usize| m.guides.get(i).map_or("", String::as_str);
    // Narrow boxes drop USER, STATE, MEM%, COMMAND and then MEM, whole,
    // before the name gets short.
    let cols = [
        // `▸` and the longest pid shown (never under the header's width).
        Col::fixed(widest(0, &|_, p| 1 + p.pid.to_string().len()).max(5) as u16),
        Col::text(widest(1, &|i, p| text::width(guide(i)) + text::width(&p.name)), 8).keep(12).grow(),
        // A backend that does not say who runs its processes has no USER column.
        if m.procs.iter().any(|p| !p.user.is_empty()) {
            Col::text(widest(2, &|_, p| text::width(&p.user)), 4).keep(8).drop(5)
        } else {
            Col::absent()
        },
        Col::fixed(6),
        // In a very narrow box even MEM goes, whole, after the command.
        Col::fixed(10).drop(1),
        Col::fixed(5).drop(3),
        Col::text(widest(6, &|_, p| text::width(state_name(&p.status))), 5).drop(4),
        Col::text(widest(7, &|_, p| text::width(&p.cmd)), 12).drop(2).grow(),
    ];
    // Names, users, states and commands come from the host (or a remote
    // one): cut to their column with `…`.
    let plan = columns::plan(&cols, 1, inner.width);
    let rows = shown().map(|(i, p)| {
        let sel = i == m.selected && focused;
        let style = if sel { t.style(Role::Selection) } else { t.style(Role::Text) };
        let dim = if sel { Style::default() } else { t.style(Role::TextDim) };
        let cells = [
            Cell::from(format!("{}{}", if sel { "▸" } else { " " }, p.pid)),
            Cell::from(text::fit(&format!("{}{}", guide(i), p.name), plan.width(1))),
            Cell::from(Span::styled(text::fit(&p.user, plan.width(2)), dim)),
            Cell::from(format!("{:>5.1}", p.cpu)),
            Cell::from(format!("{:>9}", fmt::bytes(p.mem as f64))),
            Cell::from(format!("{:>5.1}", p.mem as f64 * 100.0 / mem_total)),
            Cell::from(text::fit(state_name(&p.status), plan.width(6))),
            Cell::from(Span::styled(text::fit(&p.cmd, plan.width(7)), dim)),
        ];
        Row::new(plan.pick(cells)).style(style)
    });
    let (header, widths) = (plan.pick(header), plan.constraints());
    let table =
        Table::new(rows, widths).header(Row::new(header).style(t.style(Role::TableHeader))).style(t.style(Role::Text));
    f.render_widget(table, inner);
    if m.procs.is_empty() && total > 0 && inner.height > 1 {
        f.render_widget(
            Span::styled("  no process matches the filter", t.style(Role::TextDim)),
            Rect::new(inner.x, inner.y + 1, inner.width, 1),
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_state_names_are_shortened_for_the_table() {
        assert_eq!(super::state_name("UninterruptibleDiskSleep"), "Disk wait");
        assert_eq!(super::state_name("Sleeping"), "Sleeping");
        assert_eq!(super::state_name(""), "");
    }
}
