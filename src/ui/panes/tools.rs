//! The tools pane's boxes: the tool list, the argument form, the output (or a
//! comparison of two runs) and the run history.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

use crate::app::panes::tools::form::{Field, FieldKind, Form};
use crate::app::panes::tools::list::{Mark, Row as ListRow, Target};
use crate::app::panes::tools::runs::{RunState, RunView};
use crate::app::panes::tools::{ToolsState, chain::Chain};
use crate::app::{AppState, BoxId};
use crate::config::theme::{Role, Theme};
use crate::protocol::tools::RunOrigin;
use crate::text;
use crate::ui::boxed;
use crate::ui::widgets::columns::{self, Col};
use crate::ui::widgets::fit::{fit_spans, marked, spans_width};
use crate::ui::widgets::fmt;
use crate::ui::widgets::list::{self, ListWindow};

/// Where the tools pane's boxes go in `body`.
pub fn layout(body: Rect, s: &AppState) -> Vec<(BoxId, Rect)> {
    let (w, h) = (body.width, body.height);
    if h < 12 || w < 40 {
        return vec![(s.focus, body)];
    }
    if w < 90 {
        // Stacked; the history takes the list's place while it has focus.
        let top = if s.focus == BoxId::ToolHistory { BoxId::ToolHistory } else { BoxId::ToolList };
        let [a, b, c] =
            Layout::vertical([Constraint::Percentage(30), Constraint::Percentage(35), Constraint::Min(4)]).areas(body);
        return vec![(top, a), (BoxId::ToolForm, b), (BoxId::ToolOutput, c)];
    }
    let lw = (w * 36 / 100).clamp(30, 56);
    let [left, right] = Layout::horizontal([Constraint::Length(lw), Constraint::Min(20)]).areas(body);
    let [list, hist] = Layout::vertical([Constraint::Percentage(58), Constraint::Min(5)]).areas(left);
    let rows = s.tools.form.as_ref().map_or(4, |f| f.fields.len() + 4) as u16;
    let form_h = rows.clamp(6, (h * 45 / 100).max(6));
    let [form, out] = Layout::vertical([Constraint::Length(form_h), Constraint::Min(4)]).areas(right);
    vec![(BoxId::ToolList, list), (BoxId::ToolHistory, hist), (BoxId::ToolForm, form), (BoxId::ToolOutput, out)]
}

pub fn render_box(f: &mut Frame, area: Rect, id: BoxId, s: &AppState, t: &Theme) {
    let focused = s.focus == id;
    match id {
        BoxId::ToolList => list(f, area, focused, &s.tools, t),
        BoxId::ToolForm => form_box(f, area, focused, &s.tools, t),
        BoxId::ToolOutput => output(f, area, focused, s, t),
        _ => history(f, area, focused, s, t),
    }
}

fn selected_style(sel: bool, t: &Theme) -> Style {
    if sel { t.style(Role::Selection) } else { t.style(Role::Text) }
}

/// Where the tool list's parts go inside its box: the chaining line and the
/// filter at the top, MCP servers that are not ready at the bottom (last
/// server first), the rows in between.
struct ListLayout {
    picking: Option<Rect>,
    filter: Option<Rect>,
    servers: Vec<Rect>,
    window: ListWindow,
}

fn list_layout(area: Rect, ts: &ToolsState) -> ListLayout {
    let mut inner = area.inner(ratatui::layout::Margin::new(1, 1));
    let take_line = |inner: &mut Rect, bottom: bool| -> Option<Rect> {
        if inner.height < 2 {
            return None;
        }
        inner.height -= 1;
        let y = if bottom { inner.y + inner.height } else { inner.y };
        if !bottom {
            inner.y += 1;
        }
        Some(Rect::new(inner.x, y, inner.width, 1))
    };
    let picking = ts.picking.as_ref().and_then(|_| take_line(&mut inner, false));
    let filter = (ts.filter_editing && ts.filter.is_some()).then(|| take_line(&mut inner, false)).flatten();
    let servers = ts.servers.iter().map_while(|_| take_line(&mut inner, true)).collect();
    ListLayout { picking, filter, servers, window: ListWindow::new(inner, ts.list_sel, ts.rows.len()) }
}

/// The history's rows inside its box.
fn history_window(area: Rect, ts: &ToolsState) -> ListWindow {
    ListWindow::new(area.inner(ratatui::layout::Margin::new(1, 1)), ts.hist_sel, ts.runs.len())
}

/// The list shown in a tools box, for clicks.
pub fn list_window(area: Rect, id: BoxId, s: &AppState) -> Option<ListWindow> {
    match id {
        BoxId::ToolList => Some(list_layout(area, &s.tools).window),
        BoxId::ToolHistory => Some(history_window(area, &s.tools)),
        _ => None,
    }
}

fn list(f: &mut Frame, area: Rect, focused: bool, ts: &ToolsState, t: &Theme) {
    let mut title = vec![Span::raw("Tools"), Span::styled(format!(" {}", ts.catalog.len()), t.style(Role::TextDim))];
    if !ts.chains.is_empty() {
        title.push(Span::styled(
            format!(" · {}", text::count(ts.chains.len() as u64, "chain", "chains")),
            t.style(Role::TextDim),
        ));
    }
    if let Some(q) = ts.filter.as_ref().filter(|_| !ts.filter_editing).map(|q| q.text()).filter(|q| !q.is_empty()) {
        title.push(Span::styled(format!(" · filter \"{q}\""), t.style(Role::TextAccent)));
    }
    let block = boxed(Line::from(title), focused, t, area.width);
    f.render_widget(block, area);
    let lay = list_layout(area, ts);
    if let (Some(p), Some(r)) = (&ts.picking, lay.picking) {
        let text = format!("⛓ pick the tool that takes #{}'s value (Enter)", p.run);
        f.render_widget(Span::styled(text, t.style(Role::StatusWarn).add_modifier(Modifier::BOLD)), r);
    }
    if let (Some(input), Some(r)) = (&ts.filter, lay.filter) {
        let [p, i] = Layout::horizontal([Constraint::Length(2), Constraint::Min(1)]).areas(r);
        f.render_widget(Span::styled("/ ", t.style(Role::TextAccent)), p);
        f.render_widget(&input.widget(t.style(Role::Input), t.style(Role::InputCursor)), i);
    }
    // MCP servers that are not ready, at the bottom.
    for (srv, r) in ts.servers.iter().rev().zip(lay.servers) {
        let (glyph, role) = if srv.ok { ("●", Role::StatusOk) } else { ("◌", Role::StatusWarn) };
        let state = text::fit(&format!("{}: {}", srv.name, srv.state), usize::from(r.width).saturating_sub(2));
        let line = Line::from(vec![
            Span::styled(format!("{glyph} "), t.style(role)),
            Span::styled(state, t.style(Role::TextDim)),
        ]);
        f.render_widget(Paragraph::new(line), r);
    }
    let inner = lay.window.rows;
    if ts.rows.is_empty() {
        let msg = if ts.catalog.is_empty() { "  loading tools…" } else { "  no tool matches the filter" };
        f.render_widget(Span::styled(msg, t.style(Role::TextDim)), Rect { height: inner.height.min(1), ..inner });
        return;
    }
    list::draw_position(f, area, &lay.window, t);
    let (off, visible) = (lay.window.offset, lay.window.visible());
    let what = |row: &ListRow| match row.target {
        Target::Tool(k) => {
            let tool = &ts.catalog[k];
            (tool.name.as_str(), tool.source.as_str(), tool.mutating, tool.description.as_str())
        }
        // A chain is as mutating as its steps.
        Target::Chain(k) => {
            let c = &ts.chains[k];
            (c.name.as_str(), "chain", !ts.mutating_steps(c).is_empty(), "")
        }
    };
    let shown = || ts.rows.iter().enumerate().skip(off).take(visible);
    // Widths from every row, so columns stay put while the list scrolls.
    let widest = |cell: &dyn Fn(&ListRow) -> usize| ts.rows.iter().map(cell).max().unwrap_or(0);
    // The name column holds `▸★ ⛓ name ⚠`.
    let name_w = widest(&|row| {
        let (name, _, mutating, _) = what(row);
        3 + 2 * usize::from(matches!(row.target, Target::Chain(_))) + text::width(name) + 2 * usize::from(mutating)
    });
    // The description (also above the form) goes first, then the source,
    // before names get short.
    let cols = [
        Col::text(name_w, 12).keep(26).grow(),
        Col::text(widest(&|row| text::width(what(row).1)), 5).keep(11).drop(1),
        Col::text(widest(&|row| text::width(what(row).3)), 16).drop(2).grow(),
    ];
    let plan = columns::plan(&cols, 1, inner.width);
    let rows = shown().map(|(i, row)| {
        let sel = i == ts.list_sel;
        let base = selected_style(sel && focused, t);
        let (name, source, mutating, desc) = what(row);
        let mark = match row.mark {
            Mark::Favorite => "★",
            Mark::Recent => "↺",
            _ => " ",
        };
        // Fuzzy-match positions are chars of the name (see `text::haystack`).
        let hit = base.patch(t.style(Role::Match)).add_modifier(Modifier::UNDERLINED);
        // A chain keeps its ⛓ whether or not it is a favorite or recent.
        let kind = if matches!(row.target, Target::Chain(_)) { "⛓ " } else { "" };
        let lead = vec![Span::styled(format!("{}{mark} {kind}", if sel { "▸" } else { " " }), base)];
        let warn = if mutating { vec![Span::styled(" ⚠", base.patch(t.style(Role::StatusWarn)))] } else { vec![] };
        // The warning stays visible: the name gives way.
        let room = plan.width(0).saturating_sub(spans_width(&lead) + spans_width(&warn));
        let name_spans = fit_spans(marked(name, &text::char_ranges(name, &row.hits), base, hit), room);
        let name_line: Vec<Span> = lead.into_iter().chain(name_spans).chain(warn).collect();
        let cells = [
            Cell::from(Line::from(name_line)),
            Cell::from(text::fit(source, plan.width(1))),
            Cell::from(Span::styled(text::fit(desc, plan.width(2)), t.style(Role::TextDim))),
        ];
        Row::new(plan.pick(cells)).style(base)
    });
    f.render_widget(Table::new(rows, plan.constraints()).column_spacing(1), inner);
}

fn field_value<'a>(fd: &'a Field, t: &Theme) -> Vec<Span<'a>> {
    let dim = t.style(Role::TextDim);
    if fd.text.is_empty() {
        let hint = match &fd.kind {
            FieldKind::Bool => "– (not set)".to_string(),
            FieldKind::Enum(c) => format!("– one of {}", c.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" ")),
            FieldKind::Group => String::new(),
            _ if fd.description.is_empty() => "(empty)".to_string(),
            _ => text::clean(&fd.description).into_owned(),
        };
        return vec![Span::styled(hint, dim)];
    }
    match &fd.kind {
        FieldKind::Bool => {
            let on = fd.text == "true";
            vec![Span::raw(if on { "[x] true" } else { "[ ] false" })]
        }
        FieldKind::Enum(_) => vec![Span::raw(format!("‹ {} ›", fd.text.trim_matches('"')))],
        _ => {
            let mut lines = fd.text.lines();
            let first = text::clean(lines.next().unwrap_or_default()).into_owned();
            let more = lines.count();
            let mut v = vec![Span::raw(first)];
            if more > 0 {
                v.push(Span::styled(format!(" … +{}", text::count(more as u64, "line", "lines")), dim));
            }
            v
        }
    }
}

fn form_box(f: &mut Frame, area: Rect, focused: bool, ts: &ToolsState, t: &Theme) {
    let Some(form) = &ts.form else {
        let (title, lines) = match ts.selected() {
            Some(Target::Chain(i)) => (format!("Chain {}", ts.chains[i].name), chain_lines(&ts.chains[i], t)),
            _ => (
                "Arguments".to_string(),
                vec![Line::styled("Select a tool and press Enter to fill in its arguments.", t.style(Role::TextDim))],
            ),
        };
        let block = boxed(Line::raw(title), focused, t, area.width);
        f.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
        return;
    };
    let tool = ts.tool(&form.tool);
    let mut title = vec![Span::raw(form.tool.clone())];
    if let Some(tool) = tool {
        title.push(Span::styled(format!(" · {}", tool.source), t.style(Role::TextDim)));
        if tool.mutating {
            title.push(Span::styled(" · ⚠ changes things", t.style(Role::StatusWarn)));
        }
    }
    if let Some(b) = ts.building.as_ref().filter(|_| ts.form_link.is_some()) {
        title.push(Span::styled(format!(" · ⛓ {} → {}", b.chain.summary(), form.tool), t.style(Role::TextAccent)));
    }
    let block = boxed(Line::from(title), focused, t, area.width);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let desc = tool.map(|t| t.description.as_str()).unwrap_or_default();
    let [d, fields] =
        Layout::vertical([Constraint::Length(u16::from(!desc.is_empty())), Constraint::Min(0)]).areas(inner);
    f.render_widget(Span::styled(text::fit(desc, d.width.into()), t.style(Role::TextDim)), d);
    render_fields(f, fields, focused, form, t);
}

pub(crate) fn render_fields(f: &mut Frame, area: Rect, focused: bool, form: &Form, t: &Theme) {
    if form.fields.is_empty() {
        f.render_widget(Span::styled("This tool takes no arguments: press r to run it.", t.style(Role::TextDim)), area);
        return;
    }
    let label_w =
        form.fields.iter().map(|fd| text::width(fd.label()) + fd.depth() * 2 + 2).max().unwrap_or(8).min(24) as u16;
    // Rows: one per field, plus an error line under a field that has one; the edited field may be taller.
    let edit_h = |fd: &Field| {
        if fd.multiline() { (form.editing.as_ref().map_or(1, |e| e.line_count()) as u16 + 1).clamp(3, 8) } else { 1 }
    };
    let mut y = area.y;
    let bottom = area.y + area.height;
    // Keep the selected field in view: skip fields above it if needed.
    let height_of = |i: usize, fd: &Field| -> u16 {
        let h = if i == form.selected && form.editing.is_some() { edit_h(fd) } else { 1 };
        h + u16::from(fd.error.is_some())
    };
    let mut first = 0;
    while first < form.selected {
        let used: u16 =
            form.fields[first..=form.selected].iter().enumerate().map(|(k, fd)| height_of(first + k, fd)).sum();
        if used <= area.height {
            break;
        }
        first += 1;
    }
    for (i, fd) in form.fields.iter().enumerate().skip(first) {
        if y >= bottom {
            break;
        }
        let sel = i == form.selected && focused;
        let base = selected_style(sel, t);
        let indent = "  ".repeat(fd.depth());
        let label =
            format!("{}{}{}{}", if sel { "▸" } else { " " }, indent, fd.label(), if fd.required { "*" } else { "" });
        let lr = Rect::new(area.x, y, label_w.min(area.width), 1);
        let label_style = if fd.kind == FieldKind::Group { base.add_modifier(Modifier::BOLD) } else { base };
        f.render_widget(Span::styled(text::fit(&label, lr.width.into()), label_style), lr);
        let vx = area.x + label_w + 1;
        let vw = (area.x + area.width).saturating_sub(vx);
        let editing = i == form.selected && form.editing.is_some();
        if editing {
            let h = edit_h(fd).min(bottom - y);
            if let Some(ed) = &form.editing {
                f.render_widget(&ed.widget(t.style(Role::Input), t.style(Role::InputCursor)), Rect::new(vx, y, vw, h));
            }
            y += h;
        } else {
            let mut spans = field_value(fd, t);
            if let Some(why) = &fd.fixed {
                let dim = t.style(Role::TextDim);
                spans = spans.into_iter().map(|s| s.style(dim)).collect();
                spans.push(Span::styled(format!("  {why}"), dim));
            }
            if let Some((_, note)) = form.notes.iter().find(|(k, _)| *k == i) {
                spans.push(Span::styled(format!("  {note}"), t.style(Role::TextAccent)));
            }
            // Values, descriptions and notes come from schemas and users: cleaned, cut with `…`.
            let spans = fit_spans(spans, vw.into());
            f.render_widget(Paragraph::new(Line::from(spans)).style(base), Rect::new(vx, y, vw, 1));
            y += 1;
        }
        if let Some(e) = &fd.error
            && y < bottom
        {
            let er = Rect::new(vx, y, vw, 1);
            f.render_widget(Span::styled(text::fit(&format!("✗ {e}"), vw.into()), t.style(Role::Error)), er);
            y += 1;
        }
    }
}

fn chain_lines(c: &Chain, t: &Theme) -> Vec<Line<'static>> {
    let mut v = vec![Line::styled(
        format!("{} · r runs them in order", text::count(c.steps.len() as u64, "step", "steps")),
        t.style(Role::TextDim),
    )];
    for (i, s) in c.steps.iter().enumerate() {
        let mut spans = vec![Span::styled(format!("{}. ", i + 1), t.style(Role::TextDim)), Span::raw(s.tool.clone())];
        if let Some(l) = &s.link {
            spans.push(Span::styled(format!("  {} ← previous | {}", l.arg, l.filter), t.style(Role::TextAccent)));
        }
        spans.push(Span::styled(format!("  {}", s.args), t.style(Role::TextDim)));
        v.push(Line::from(crate::ui::widgets::fit::clean_spans(spans)));
    }
    v
}

/// `✓ 120 ms`, `✗ 2.1 s`, `⟳ 3 s`, `⊘ cancelled`: a run's state in words and a glyph.
pub fn run_state(r: &RunView, now: i64, t: &Theme) -> Span<'static> {
    match r.state {
        RunState::Running => {
            Span::styled(format!("⟳ running {}", duration((now - r.started).max(0) as u64)), t.style(Role::StatusInfo))
        }
        RunState::Done { ok: true, duration_ms } => {
            Span::styled(format!("✓ ok {}", duration(duration_ms)), t.style(Role::StatusOk))
        }
        RunState::Done { ok: false, duration_ms } => {
            Span::styled(format!("✗ failed {}", duration(duration_ms)), t.style(Role::StatusFailed))
        }
        RunState::Cancelled { .. } => Span::styled("⊘ cancelled".to_string(), t.style(Role::StatusWarn)),
    }
}

fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        fmt::age(ms as i64)
    }
}

fn output(f: &mut Frame, area: Rect, focused: bool, s: &AppState, t: &Theme) {
    let ts = &s.tools;
    if let Some((a, b, rows)) = &ts.diff {
        super::tools_diff::render(f, area, focused, (*a, *b, rows), ts, t);
        return;
    }
    let Some(r) = ts.shown_run() else {
        let block = boxed(Line::raw("Output"), focused, t, area.width);
        let hint = "Run a tool (r) or pick one from the history (Enter) to see its output here.";
        f.render_widget(
            Paragraph::new(Span::styled(hint, t.style(Role::TextDim))).block(block).wrap(Wrap { trim: true }),
            area,
        );
        return;
    };
    let mut title = vec![Span::raw(format!("Output #{} {} ", r.id, r.tool)), run_state(r, s.now, t)];
    if r.dropped > 0 || r.truncated {
        title.push(Span::styled(" · earlier lines dropped", t.style(Role::TextDim)));
    }
    let block = boxed(Line::from(title), focused, t, area.width);
    let mut inner = block.inner(area);
    f.render_widget(block, area);
    if let Some(q) = &ts.search
        && inner.height > 1
    {
        let r = Rect::new(inner.x, inner.y, inner.width, 1);
        inner.y += 1;
        inner.height -= 1;
        let count = if ts.matches.is_empty() {
            " no match".to_string()
        } else {
            format!(" {}/{}", ts.match_at + 1, ts.matches.len())
        };
        let cw = text::width(&count) as u16;
        let [p, i, c] =
            Layout::horizontal([Constraint::Length(2), Constraint::Min(1), Constraint::Length(cw)]).areas(r);
        f.render_widget(Span::styled("/ ", t.style(Role::TextAccent)), p);
        f.render_widget(&q.widget(t.style(Role::Input), t.style(Role::InputCursor)), i);
        f.render_widget(Span::styled(count, t.style(Role::TextDim)), c);
    }
    let lines = r.text_lines();
    let h = inner.height as usize;
    let max = lines.len().saturating_sub(h);
    let top = if ts.follow { max } else { ts.scroll.min(max) };
    let query = ts.search.as_ref().map(|q| q.text()).unwrap_or_default();
    let current = ts.matches.get(ts.match_at).copied();
    let in_result = r.output.len() + usize::from(!r.output.is_empty());
    let out: Vec<Line> = lines
        .iter()
        .enumerate()
        .skip(top)
        .take(h)
        .map(|(i, l)| {
            let base = if i == in_result && (*l == "result:" || *l == "error:") {
                t.style(if *l == "error:" { Role::Error } else { Role::TextAccent }).add_modifier(Modifier::BOLD)
            } else {
                t.style(Role::Text)
            };
            let hit = t.style(Role::Match).add_modifier(if Some(i) == current {
                Modifier::REVERSED
            } else {
                Modifier::UNDERLINED
            });
            Line::from(output_line(l, query, inner.width.into(), base, base.patch(hit)))
        })
        .collect();
    f.render_widget(Paragraph::new(out), inner);
}

/// One output line as the box shows it: cleaned, search hits marked (found on
/// the line itself, so their positions are the line's), cut to `width` with
/// `…`. Only the part that can be shown is read, so a huge line costs no
/// more than a short one.
pub(crate) fn output_line(line: &str, query: &str, width: usize, base: Style, hit: Style) -> Vec<Span<'static>> {
    let shown = text::prefix_for_width(line, width + 1);
    // A hit that starts in the shown part may end after it.
    let window = text::extend_by_chars(line, shown.len(), query.chars().count());
    let hits = text::find_ci(window, query);
    fit_spans(marked(window, &hits, base, hit), width)
}

fn history(f: &mut Frame, area: Rect, focused: bool, s: &AppState, t: &Theme) {
    let ts = &s.tools;
    let title = vec![Span::raw("History"), Span::styled(format!(" {}", ts.runs.len()), t.style(Role::TextDim))];
    let block = boxed(Line::from(title), focused, t, area.width);
    let window = history_window(area, ts);
    let inner = window.rows;
    f.render_widget(block, area);
    if ts.runs.is_empty() {
        f.render_widget(
            Span::styled("  no runs yet", t.style(Role::TextDim)),
            Rect { height: inner.height.min(1), ..inner },
        );
        return;
    }
    list::draw_position(f, area, &window, t);
    let (off, visible) = (window.offset, window.visible());
    let shown = || ts.runs.iter().enumerate().skip(off).take(visible);
    let all = || ts.runs.iter().enumerate();
    let origin = |r: &crate::app::panes::tools::runs::RunView| match r.origin {
        RunOrigin::Cli => "cli",
        RunOrigin::Chat => "chat",
        RunOrigin::Pane | RunOrigin::Unknown => "",
    };
    // The tool and its argument take the rest; narrow boxes drop the time, then where it ran.
    let cols = [
        Col::fixed(2),
        Col::fixed(1),
        Col::text(all().map(|(_, r)| 1 + r.id.to_string().len()).max().unwrap_or(2), 2),
        Col::text(
            all()
                .map(|(_, r)| text::width(&r.tool) + r.key_arg().map_or(0, |a| 1 + text::width(&text::clean(&a))))
                .max()
                .unwrap_or(0),
            8,
        )
        .keep(16)
        .grow(),
        Col::text(all().map(|(_, r)| origin(r).len()).max().unwrap_or(0), 3).drop(2),
        Col::fixed(8).drop(1),
    ];
    let plan = columns::plan(&cols, 1, inner.width);
    let cw: Vec<usize> = (0..cols.len()).map(|k| plan.width(k)).collect();
    let rows = shown().map(|(i, r)| {
        let sel = i == ts.hist_sel;
        let base = selected_style(sel && focused, t);
        let state = run_state(r, s.now, t);
        let glyph = state.content.chars().next().unwrap_or(' ').to_string();
        let when = chrono::DateTime::from_timestamp_millis(r.started + i64::from(s.utc_offset_s) * 1000)
            .map(|d| d.format("%H:%M:%S").to_string())
            .unwrap_or_default();
        let mark = if ts.mark == Some(r.id) {
            "◆"
        } else if ts.shown == Some(r.id) {
            "•"
        } else {
            " "
        };
        Row::new(plan.pick([
            Cell::from(format!("{}{mark}", if sel { "▸" } else { " " })),
            Cell::from(Span::styled(glyph, state.style)),
            Cell::from(format!("#{}", r.id)),
            // The tool and the argument that tells its runs apart: `tcp_check host=db-1`.
            Cell::from(Line::from(vec![
                Span::raw(text::fit(&r.tool, cw[3])),
                Span::styled(
                    r.key_arg().map_or(String::new(), |a| {
                        let room = cw[3].saturating_sub(text::width(&r.tool) + 1);
                        if room < 3 { String::new() } else { format!(" {}", text::fit(&text::clean(&a), room)) }
                    }),
                    t.style(Role::TextDim),
                ),
            ])),
            Cell::from(Span::styled(origin(r), t.style(Role::TextDim))),
            Cell::from(Span::styled(when, t.style(Role::TextDim))),
        ]))
        .style(base)
    });
    f.render_widget(Table::new(rows, plan.constraints()).column_spacing(1), inner);
}
