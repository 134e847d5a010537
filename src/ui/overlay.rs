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
use crate::ui::widgets::columns::{self, Col};
use crate::ui::widgets::fit::{fit_spans, marked};
use crate::ui::widgets::list::{ListWindow, draw_position};

pub fn render(f: &mut Frame, body: Rect, s: &AppState, o: &Overlay, t: &Theme) {
    match o {
        Overlay::Fleet { selected } => fleet(f, body, s, *selected, t),
        Overlay::Annotate { source, input } => {
            let mut r = top_centered(body, 70, 3, 90);
            r.height = r.height.min(3);
            f.render_widget(Clear, r);
            let title = format!("Annotate {source} (Enter records, Esc cancels)");
            let block = popup(&title, r.width, t);
            let inner = block.inner(r);
            f.render_widget(block, r);
            if inner.height > 0 {
                input_line(f, inner, "✎ ", input, t);
            }
        }
        Overlay::Help(h) => help(f, centered(body, 90, 80, 100), h, t),
        Overlay::Palette(p) => palette(f, top_centered(body, 70, 16, 80), p, t),
        Overlay::Message(m) => message(f, body, m, t),
        Overlay::QuitConfirm { lines, .. } => quit_confirm(f, body, lines, t),
        Overlay::Signal(p) => signal(f, body, p, t),
        Overlay::Tools(p) => crate::ui::panes::tools_popup::render(f, body, p, t),
        Overlay::Alert(p) => crate::ui::panes::alerts::render_popup(f, body, s, p, t),
        Overlay::Workflows(p) => crate::ui::panes::workflows::popup::render(f, body, s, p, t),
        Overlay::ChatTools(p) => crate::ui::panes::chat_tools::render(f, body, p, t),
        Overlay::ChatModels(p) => crate::ui::panes::chat_convs::render_models(f, body, p, t),
    }
}

/// A popup's frame; its title fits `width` (the popup's width with its
/// border): a trailing `(Enter …, Esc …)` hint that does not fit is left
/// out (the status bar says the keys), and what still does not fit is cut
/// with `…`, never bare.
pub(crate) fn popup<'a>(title: &'a str, width: u16, t: &Theme) -> Block<'a> {
    let room = usize::from(width).saturating_sub(4);
    let title = match title.rfind(" (") {
        Some(i) if text::width(title) > room && title.ends_with(')') => &title[..i],
        _ => title,
    };
    Block::bordered()
        .border_type(BorderType::Double)
        .border_style(t.style(Role::PopupBorder))
        .title(Span::styled(format!(" {} ", text::fit(title, room)), t.style(Role::PopupTitle)))
        .style(t.style(Role::Text))
}

/// A popup sized to its content: `width` × `height` cells inside the
/// border (the title counts toward the width), centred in `area` and never
/// larger than it.
pub(crate) fn sized(area: Rect, title: &str, width: usize, height: usize) -> Rect {
    let w = (width.max(text::width(title) + 4) + 2).min(usize::from(area.width)) as u16;
    let h = (height + 2).min(usize::from(area.height)) as u16;
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}

/// Width and wrapped height of `lines` in a popup at most `max_w` wide inside.
pub(crate) fn text_size(lines: &[String], max_w: usize) -> (usize, usize) {
    let w = lines.iter().map(|l| text::width(l)).max().unwrap_or(0).clamp(1, max_w.max(1));
    (w, lines.iter().map(|l| text::width(l).div_ceil(w).max(1)).sum())
}

/// Message lines with each `hint:` on a line of its own (errors read
/// `file:line:col: what` then `hint: how to fix`).
pub(crate) fn hint_lines(lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for l in lines {
        let clean = text::clean(l);
        match clean.find(" hint: ").or_else(|| clean.find("; hint: ")) {
            Some(i) => {
                out.push(clean[..i].trim_end_matches(';').to_string());
                out.push(format!("  hint: {}", clean[i..].split_once("hint: ").map_or("", |(_, h)| h)));
            }
            None => out.push(clean.into_owned()),
        }
    }
    out
}

pub(crate) fn centered(area: Rect, pw: u16, ph: u16, max_w: u16) -> Rect {
    let w = (area.width * pw / 100).clamp(area.width.min(20), max_w.max(20)).min(area.width);
    let h = (area.height * ph / 100).max(area.height.min(6)).min(area.height);
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}

pub(crate) fn top_centered(area: Rect, pw: u16, max_h: u16, max_w: u16) -> Rect {
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
    let block = popup("Help: keys (type to filter, Esc closes)", area.width, t);
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
    // Widths from every row of the keymap, so columns stay put while filtering.
    let widest = |cell: &dyn Fn(&crate::app::overlay::HelpRow) -> usize| h.all.iter().map(cell).max().unwrap_or(0);
    let cols = [
        Col::text(widest(&|r| 2 + text::width(&r.keys)).max(6), 6).keep(14),
        Col::text(widest(&|r| r.action.len()).max(6), 8).keep(18).drop(2),
        Col::text(widest(&|r| text::width(&r.desc)).max(11), 10).grow(),
        Col::text(widest(&|r| r.context.len()).max(7), 4).drop(1),
    ];
    let plan = columns::plan(&cols, 1, list.width);
    let cw: Vec<usize> = (0..cols.len()).map(|k| plan.width(k)).collect();
    // Keys and descriptions come from keymap files: cut to their column with `…`.
    let rows = h.shown.iter().enumerate().skip(off).take(visible).map(|(i, &ri)| {
        let r = &h.all[ri];
        let sel = i == h.selected;
        let style = if sel { t.style(Role::Selection) } else { t.style(Role::Text) };
        Row::new(plan.pick([
            Span::styled(
                text::fit(&format!("{}{}", if sel { "▸ " } else { "  " }, r.keys), cw[0]),
                t.style(Role::HintKey),
            ),
            Span::raw(text::fit(r.action, cw[1])),
            Span::styled(text::fit(&r.desc, cw[2]), t.style(Role::TextDim)),
            Span::styled(text::fit(r.context, cw[3]), t.style(Role::TextDim)),
        ]))
        .style(style)
    });
    let header = plan.pick(["  KEYS", "ACTION", "DESCRIPTION", "CONTEXT"]);
    let table = Table::new(rows, plan.constraints()).header(Row::new(header).style(t.style(Role::TableHeader)));
    f.render_widget(table, list);
    if h.shown.is_empty() {
        let r = Rect::new(list.x, list.y + 1, list.width, 1.min(list.height.saturating_sub(1)));
        f.render_widget(Span::styled("  no key matches the filter", t.style(Role::TextDim)), r);
    }
}

fn palette(f: &mut Frame, area: Rect, p: &PaletteState, t: &Theme) {
    f.render_widget(Clear, area);
    let block = popup("Command palette", area.width, t);
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

/// The message popup's text: its lines (hints on their own), a gap, how to close it.
fn message_text(m: &MessageState) -> Vec<String> {
    let mut v = hint_lines(&m.lines);
    v.extend([String::new(), "Enter or Esc closes this; any other key closes it and does its work.".to_string()]);
    v
}

fn message(f: &mut Frame, body: Rect, m: &MessageState, t: &Theme) {
    let text_lines = message_text(m);
    let (w, _) = text_size(&text_lines, usize::from(body.width).saturating_sub(4) * 9 / 10);
    // Wrapped here, so the height is the lines drawn and the last line (how
    // to close it) is always inside the box.
    let n = text_lines.len();
    let mut lines: Vec<Line> = Vec::new();
    for l in &text_lines[..n - 2] {
        let role = if l.starts_with("  hint: ") { Role::TextAccent } else { Role::Text };
        lines.extend(text::wrap_words(&text::clean(l), w).into_iter().map(|p| Line::styled(p, t.style(role))));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "Enter or Esc closes this; any other key closes it and does its work.",
        t.style(Role::TextDim),
    ));
    let area = sized(body, &m.title, w, lines.len());
    f.render_widget(Clear, area);
    let block = popup(&m.title, area.width, t);
    let inner = block.inner(area);
    f.render_widget(block, area);
    // Too many lines for the screen: the end (how to close) stays visible.
    let skip = lines.len().saturating_sub(usize::from(inner.height));
    let shown: Vec<Line> = if skip > 0 {
        let keep = usize::from(inner.height).saturating_sub(2);
        lines[..keep].iter().cloned().chain(lines[lines.len() - 2..].iter().cloned()).collect()
    } else {
        lines
    };
    f.render_widget(Paragraph::new(shown), inner);
}

/// "Quit now?" with what quitting does to the runs in flight.
fn quit_confirm(f: &mut Frame, body: Rect, lines: &[String], t: &Theme) {
    const TITLE: &str = "Quit opsdeck?";
    const KEYS: &str = "y or Enter quits · n or Esc stays";
    let mut text = lines.to_vec();
    text.extend([String::new(), KEYS.to_string()]);
    let (w, _) = text_size(&text, usize::from(body.width).saturating_sub(4) * 9 / 10);
    let mut shown: Vec<Line> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let style = if i == 0 { t.style(Role::StatusWarn) } else { t.style(Role::Text) };
        shown.extend(text::wrap_words(l, w).into_iter().map(|p| Line::styled(p, style)));
    }
    shown.push(Line::raw(""));
    shown.push(Line::styled(text::fit(KEYS, w), t.style(Role::TextDim)));
    let area = sized(body, TITLE, w, shown.len());
    f.render_widget(Clear, area);
    let block = popup(TITLE, area.width, t);
    let inner = block.inner(area);
    f.render_widget(block, area);
    f.render_widget(Paragraph::new(shown), inner);
}

fn signal(f: &mut Frame, body: Rect, p: &crate::app::overlay::SignalPopup, t: &Theme) {
    use crate::protocol::SIGNALS;
    let title = format!("Send a signal to {} ({})", p.pid, text::clean(&p.name));
    let sig = SIGNALS[p.selected.min(SIGNALS.len() - 1)];
    let lines: Vec<Line> = if p.confirming {
        vec![
            Line::styled(
                format!("Send {sig} to process {} ({}) on {}?", p.pid, text::clean(&p.name), p.source),
                t.style(Role::StatusWarn),
            ),
            Line::raw(""),
            Line::styled("y or Enter sends it · n or Esc goes back", t.style(Role::TextDim)),
        ]
    } else {
        SIGNALS
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let sel = i == p.selected;
                let style = if sel { t.style(Role::Selection) } else { t.style(Role::Text) };
                Line::styled(format!("{}{name}", if sel { "▸ " } else { "  " }), style)
            })
            .chain([Line::raw(""), Line::styled("Enter chooses · Esc cancels", t.style(Role::TextDim))])
            .collect()
    };
    let width = lines.iter().map(Line::width).max().unwrap_or(0);
    let area = sized(body, &title, width, lines.len());
    f.render_widget(Clear, area);
    f.render_widget(Paragraph::new(lines).block(popup(&title, area.width, t)).wrap(Wrap { trim: false }), area);
}

const FLEET_TITLE: &str = "Fleet: every source (Enter shows it, R reconnects it)";

fn fleet(f: &mut Frame, body: Rect, s: &AppState, selected: usize, t: &Theme) {
    let widest = |cell: &dyn Fn(&crate::app::panes::metrics::SourceData) -> usize| {
        s.metrics.sources.iter().map(cell).max().unwrap_or(0)
    };
    // The host name goes first, then the age and the load, before source names get short.
    let cols = [
        Col::text(widest(&|src| 2 + text::width(&src.name)).max(8), 8).keep(16),
        Col::fixed(13),
        Col::text(widest(&|src| src.latest.as_deref().map_or(1, |h| text::width(&h.hostname))).max(4), 6)
            .drop(3)
            .grow(),
        Col::fixed(5),
        Col::fixed(5),
        Col::fixed(6).drop(1),
        Col::fixed(5).drop(2),
    ];
    // As wide as its columns want, as tall as its rows.
    let width = cols.iter().map(|c| usize::from(c.want) + 1).sum::<usize>();
    let reasons = s.sources.iter().filter(|st| matches!(st.link, Link::Refused { .. })).count();
    let area = sized(body, FLEET_TITLE, width, 1 + s.metrics.sources.len() + 3 * reasons);
    f.render_widget(Clear, area);
    let block = popup(FLEET_TITLE, area.width, t);
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
    let plan = columns::plan(&cols, 1, inner.width);
    let cw: Vec<usize> = (0..cols.len()).map(|k| plan.width(k)).collect();
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
        Row::new(plan.pick([
            text::fit(&format!("{}{}", if sel { "▸ " } else { "  " }, src.name), cw[0]),
            state,
            text::fit(&fig(h.map(|h| h.hostname.clone())), cw[2]),
            fig(h.map(|h| format!("{:.0}%", h.cpu_total))),
            fig(h.map(|h| format!("{:.0}%", h.mem_pct()))),
            fig(h.map(|h| format!("{:.2}", h.load[0]))),
            fig(age),
        ]))
        .style(style)
    });
    let header = plan.pick(["  SOURCE", "STATE", "HOST", "CPU", "MEM", "LOAD", "AGE"]);
    let table = Table::new(rows, plan.constraints()).header(Row::new(header).style(t.style(Role::TableHeader)));
    f.render_widget(table, inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popups_fit_their_content_and_hints_get_their_own_line() {
        let body = Rect::new(0, 1, 200, 48);
        let r = sized(body, "Export run #1 (Enter writes the file)", 52, 5);
        assert_eq!((r.width, r.height), (54, 7), "a 3-entry picker is 7 rows, not 25");
        assert_eq!((r.x, r.y), (73, 21), "centred");
        let small = sized(Rect::new(0, 0, 30, 5), "a long title that does not fit anywhere", 80, 40);
        assert_eq!((small.width, small.height), (30, 5), "never larger than the screen");
        let lines =
            vec!["config.toml:2:9: unknown theme `default-drak` hint: did you mean `default-dark`?".to_string()];
        assert_eq!(
            hint_lines(&lines),
            vec!["config.toml:2:9: unknown theme `default-drak`", "  hint: did you mean `default-dark`?"]
        );
        assert_eq!(text_size(&["abcdef".to_string(), "ab".to_string()], 4), (4, 3), "wrapped at the width");
    }
}
