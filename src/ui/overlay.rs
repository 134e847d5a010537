//! Popups: help, command palette, messages.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Row, Table, Wrap};

use crate::app::overlay::{HelpState, MessageState, PaletteState};
use crate::app::{AppState, Link, Overlay};
use crate::config::theme::{Role, Theme};
use crate::text;
use crate::ui::widgets::fit::{column_widths, fit_spans, marked};
use crate::ui::widgets::list::{ListWindow, draw_position};

pub fn render(f: &mut Frame, body: Rect, s: &AppState, o: &Overlay, t: &Theme) {
    match o {
        Overlay::Fleet { selected } => fleet(f, centered(body, 90, 60, 120), s, *selected, t),
        Overlay::Annotate { source, input } => {
            let mut r = top_centered(body, 70, 3, 90);
            r.height = r.height.min(3);
            f.render_widget(Clear, r);
            let title = format!("Annotate {source} (Enter records, Esc cancels)");
            let block = popup(&title, t);
            let inner = block.inner(r);
            f.render_widget(block, r);
            if inner.height > 0 {
                input_line(f, inner, "✎ ", input, t);
            }
        }
        Overlay::Help(h) => help(f, centered(body, 90, 80, 100), h, t),
        Overlay::Palette(p) => palette(f, top_centered(body, 70, 16, 80), p, t),
        Overlay::Message(m) => message(f, centered(body, 80, 60, 90), m, t),
        Overlay::Tools(p) => crate::ui::panes::tools_popup::render(f, body, p, t),
        Overlay::Alert(p) => crate::ui::panes::alerts::render_popup(f, body, s, p, t),
    }
}

pub(crate) fn popup<'a>(title: &'a str, t: &Theme) -> Block<'a> {
    Block::bordered()
        .border_type(BorderType::Double)
        .border_style(t.style(Role::PopupBorder))
        .title(Span::styled(format!(" {} ", text::clean(title)), t.style(Role::PopupTitle)))
        .style(t.style(Role::Text))
}

pub(crate) fn centered(area: Rect, pw: u16, ph: u16, max_w: u16) -> Rect {
    let w = (area.width * pw / 100).clamp(area.width.min(20), max_w.max(20)).min(area.width);
    let h = (area.height * ph / 100).max(area.height.min(6)).min(area.height);
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}

fn top_centered(area: Rect, pw: u16, max_h: u16, max_w: u16) -> Rect {
    let mut r = centered(area, pw, 100, max_w);
    r.height = max_h.min(area.height);
    r.y = area.y + area.height.saturating_sub(r.height) / 4;
    r
}

pub(crate) fn input_line(f: &mut Frame, area: Rect, prompt: &str, input: &crate::app::input::LineInput, t: &Theme) {
    let [p, i] = Layout::horizontal([Constraint::Length(text::width(prompt) as u16), Constraint::Min(1)]).areas(area);
    f.render_widget(Span::styled(prompt, t.style(Role::TextAccent)), p);
    f.render_widget(&input.widget(t.style(Role::Input), t.style(Role::InputCursor)), i);
}

fn help(f: &mut Frame, area: Rect, h: &HelpState, t: &Theme) {
    f.render_widget(Clear, area);
    let block = popup("Help: keys (type to filter, Esc closes)", t);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height < 2 {
        return;
    }
    let [q, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    input_line(f, q, "/ ", &h.filter, t);
    let rows = Rect { y: list.y + 1, height: list.height.saturating_sub(1), ..list };
    let window = ListWindow::new(rows, h.selected, h.shown.len());
    draw_position(f, area, &window, t);
    let (off, visible) = (window.offset, window.visible());
    let widths = [Constraint::Length(14), Constraint::Length(18), Constraint::Min(10), Constraint::Length(8)];
    let cw = column_widths(&widths, 1, list.width);
    // Keys and descriptions come from keymap files: cut to their column with `…`.
    let rows = h.shown.iter().enumerate().skip(off).take(visible).map(|(i, &ri)| {
        let r = &h.all[ri];
        let sel = i == h.selected;
        let style = if sel { t.style(Role::Selection) } else { t.style(Role::Text) };
        Row::new(vec![
            Span::styled(
                text::fit(&format!("{}{}", if sel { "▸ " } else { "  " }, r.keys), cw[0]),
                t.style(Role::HintKey),
            ),
            Span::raw(text::fit(r.action, cw[1])),
            Span::styled(text::fit(&r.desc, cw[2]), t.style(Role::TextDim)),
            Span::styled(text::fit(r.context, cw[3]), t.style(Role::TextDim)),
        ])
        .style(style)
    });
    let table = Table::new(rows, widths)
        .header(Row::new(["  KEYS", "ACTION", "DESCRIPTION", "CONTEXT"]).style(t.style(Role::TableHeader)));
    f.render_widget(table, list);
    if h.shown.is_empty() {
        let r = Rect::new(list.x, list.y + 1, list.width, 1.min(list.height.saturating_sub(1)));
        f.render_widget(Span::styled("  no key matches the filter", t.style(Role::TextDim)), r);
    }
}

fn palette(f: &mut Frame, area: Rect, p: &PaletteState, t: &Theme) {
    f.render_widget(Clear, area);
    let block = popup("Command palette", t);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height < 2 {
        return;
    }
    let [q, list] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    input_line(f, q, ": ", &p.query, t);
    let window = ListWindow::new(list, p.selected, p.matches.len());
    draw_position(f, area, &window, t);
    let (off, visible) = (window.offset, window.visible());
    for (row, (i, (item_ix, idx))) in p.matches.iter().enumerate().skip(off).take(visible).enumerate() {
        let item = &p.items[*item_ix];
        let sel = i == p.selected;
        let base = if sel { t.style(Role::Selection) } else { t.style(Role::Text) };
        let name = item.action.name();
        let hit = base.patch(t.style(Role::Match)).add_modifier(Modifier::UNDERLINED);
        let mut spans = vec![Span::styled(if sel { "▸ " } else { "  " }, base)];
        spans.extend(marked(name, &text::char_ranges(name, idx), base, hit));
        spans.push(Span::styled(format!("  {}", item.action.desc()), base.patch(t.style(Role::TextDim))));
        let r = Rect::new(list.x, list.y + row as u16, list.width, 1);
        let kw = (text::width(&item.keys) + 1).min(usize::from(list.width)) as u16;
        let show_key = !item.keys.is_empty() && list.width > kw + 30;
        // the key column is reserved: text never runs under it
        let text_w = if show_key { list.width - kw - 1 } else { list.width };
        let spans = fit_spans(spans, text_w.into());
        f.render_widget(Paragraph::new(Line::from(spans)).style(base), Rect { width: text_w, ..r });
        if show_key {
            f.render_widget(
                Span::styled(text::clean(&item.keys).into_owned(), base.patch(t.style(Role::HintKey))),
                Rect::new(list.x + list.width - kw, r.y, kw, 1),
            );
        }
    }
    if p.matches.is_empty() {
        f.render_widget(
            Span::styled("  no action matches", t.style(Role::TextDim)),
            Rect::new(list.x, list.y, list.width, 1),
        );
    }
}

fn message(f: &mut Frame, area: Rect, m: &MessageState, t: &Theme) {
    f.render_widget(Clear, area);
    let block = popup(&m.title, t);
    let mut lines: Vec<Line> =
        m.lines.iter().map(|l| Line::styled(text::clean(l).into_owned(), t.style(Role::Text))).collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled("Press Enter or Esc to continue.", t.style(Role::TextDim)));
    f.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), area);
}

fn fleet(f: &mut Frame, area: Rect, s: &AppState, selected: usize, t: &Theme) {
    f.render_widget(Clear, area);
    let block = popup("Fleet: every source (Enter shows it, R reconnects it)", t);
    let mut inner = block.inner(area);
    f.render_widget(block, area);
    // Under the table: why a backend is refused, and the fix.
    let refused: Vec<String> = s
        .sources
        .iter()
        .filter_map(|st| match &st.link {
            Link::Refused { error, .. } => Some(format!("⊘ {}: {}", text::clean(&st.name), text::clean(error))),
            _ => None,
        })
        .collect();
    let w = inner.width.max(1) as usize;
    let rows: usize = refused.iter().map(|l| text::width(l).div_ceil(w).max(1)).sum();
    let below = (rows as u16).min(inner.height.saturating_sub(2));
    if below > 0 {
        let notes = Rect { y: inner.y + inner.height - below, height: below, ..inner };
        let lines: Vec<Line> = refused.into_iter().map(|l| Line::styled(l, t.style(Role::StatusFailed))).collect();
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), notes);
        inner.height -= below;
    }
    let stale = s.stale_after();
    let widths = [
        Constraint::Min(12),
        Constraint::Length(13),
        Constraint::Min(10),
        Constraint::Length(5),
        Constraint::Length(5),
        Constraint::Length(6),
        Constraint::Length(5),
    ];
    let cw = column_widths(&widths, 1, inner.width);
    let rows = s.metrics.sources.iter().enumerate().map(|(i, src)| {
        let status = s.sources.iter().find(|st| st.name == src.name);
        let live = status.is_some_and(|st| st.is_live(s.now, stale));
        let state = match status.map(|st| &st.link) {
            Some(Link::Retrying { .. }) => "◌ offline".to_string(),
            Some(Link::Refused { status, .. }) => format!("⊘ refused {status}"),
            Some(Link::Connecting) => "○ connecting".to_string(),
            _ if live => "● live".to_string(),
            _ => "◌ stale".to_string(),
        };
        let h = src.latest.as_deref();
        let fig = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        let age = h.map(|h| crate::ui::widgets::fmt::age(s.now - h.ts));
        let sel = i == selected;
        let style = if sel {
            t.style(Role::Selection)
        } else if live {
            t.style(Role::Text)
        } else {
            t.style(Role::TextDim)
        };
        Row::new(vec![
            text::fit(&format!("{}{}", if sel { "▸ " } else { "  " }, src.name), cw[0]),
            state,
            text::fit(&fig(h.map(|h| h.hostname.clone())), cw[2]),
            fig(h.map(|h| format!("{:.0}%", h.cpu_total))),
            fig(h.map(|h| format!("{:.0}%", h.mem_pct()))),
            fig(h.map(|h| format!("{:.2}", h.load[0]))),
            fig(age),
        ])
        .style(style)
    });
    let table = Table::new(rows, widths)
        .header(Row::new(["  SOURCE", "STATE", "HOST", "CPU", "MEM", "LOAD", "AGE"]).style(t.style(Role::TableHeader)));
    f.render_widget(table, inner);
}
