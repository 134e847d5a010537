//! Views only: `render(frame, &AppState, &Theme)`. Never mutate, never do IO.

pub mod overlay;
pub mod panes;
pub mod status;
pub mod widgets;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph};

use crate::app::{AppState, BoxId, Pane};
use crate::config::theme::{Role, Theme};
use crate::text;
use widgets::fmt;

/// Below this the screen shows a one-line summary instead of boxes.
pub const MIN_WIDTH: u16 = 20;
pub const MIN_HEIGHT: u16 = 5;

pub fn render(f: &mut Frame, s: &AppState, t: &Theme) {
    let area = f.area();
    // The whole frame takes the theme's background (borders, charts, empty
    // space too), so no cell shows the terminal's own colour in between. A
    // theme without a text background (NO_COLOR) leaves every cell unset.
    f.buffer_mut().set_style(area, t.style(Role::Text));
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        render_tiny(f, area, s, t);
        return;
    }
    let [top, body, bar] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(area);
    render_top(f, top, s, t);
    for (id, r) in layout(body, s) {
        (panes::view(id.pane()).render_box)(f, r, id, s, t);
    }
    // Data from a source that is not live is dimmed (its age is in the top bar).
    if s.focus.pane() == Pane::Metrics
        && !s.current_source().is_some_and(|src| src.is_live(s.now, s.stale_after()))
        && s.metrics.cur().latest.is_some()
    {
        f.buffer_mut().set_style(body, ratatui::style::Style::default().add_modifier(Modifier::DIM));
    }
    status::render(f, bar, s, t);
    if let Some(o) = &s.overlay {
        overlay::render(f, body, s, o, t);
    }
}

/// Which boxes are shown where, for a body area.
pub fn layout(body: Rect, s: &AppState) -> Vec<(BoxId, Rect)> {
    if s.zoomed {
        return vec![(s.focus, body)];
    }
    (panes::view(s.focus.pane()).layout)(body, s)
}

/// The box under a screen position (for mouse clicks and the wheel), and the
/// list item drawn there if the box shows a list (the same geometry the view
/// draws with, so a click selects the row that is on screen).
pub fn hit_test(screen: Rect, s: &AppState, col: u16, row: u16) -> Option<(BoxId, Option<usize>)> {
    if screen.width < MIN_WIDTH || screen.height < MIN_HEIGHT || s.overlay.is_some() {
        return None;
    }
    let body = Rect::new(screen.x, screen.y + 1, screen.width, screen.height.saturating_sub(2));
    let (id, area) = layout(body, s).into_iter().find(|(_, r)| r.contains((col, row).into()))?;
    let item = (panes::view(id.pane()).list)(area, id, s).and_then(|w| w.item_at(col, row));
    Some((id, item))
}

/// A bordered box whose focus shows by border shape and a marker, not only colour.
pub fn boxed<'a>(title: Line<'a>, focused: bool, t: &Theme, width: u16) -> Block<'a> {
    let (bt, bs, ts, mark) = if focused {
        (BorderType::Thick, t.style(Role::BorderFocused), t.style(Role::TitleFocused), "▶ ")
    } else {
        (BorderType::Rounded, t.style(Role::Border), t.style(Role::Title), "")
    };
    let mut spans = vec![Span::styled(format!(" {mark}"), ts)];
    // Titles name tools, alerts, annotations: outside text, cleaned, and cut
    // with `…` to the border (two corners, the spaces around the title).
    let room = usize::from(width).saturating_sub(4 + text::width(mark));
    spans.extend(
        widgets::fit::fit_spans(widgets::fit::clean_spans(title.spans), room)
            .into_iter()
            .map(|sp| if sp.style == Default::default() { sp.style(ts) } else { sp }),
    );
    spans.push(Span::styled(" ", ts));
    Block::bordered().border_type(bt).border_style(bs).title(Line::from(spans))
}

fn render_top(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let bar = t.style(Role::StatusBar);
    // Narrow screens keep the pane numbers whole rather than cut a name.
    let narrow = area.width < 60;
    let mut left = if narrow {
        vec![Span::styled("│", bar)]
    } else {
        vec![Span::styled(" opsdeck ", bar.add_modifier(Modifier::BOLD)), Span::styled("│", bar)]
    };
    // Under 110 cells only the shown pane keeps its name beside its number,
    // so what the pane says in the bar (a source, "not live") keeps its room.
    let compact = area.width < 110;
    for p in Pane::ALL {
        let (n, label) = p.label();
        let shown = p == s.focus.pane();
        let style = if shown { t.style(Role::TitleFocused).add_modifier(Modifier::REVERSED) } else { bar };
        let tab = if narrow || (compact && !shown) { format!(" {n} ") } else { format!(" {n} {label} ") };
        left.push(Span::styled(tab, style));
        left.push(Span::styled("│", bar));
    }
    if s.focus.pane() != Pane::Metrics {
        let running = s.tools.runs.iter().filter(|r| r.running()).count();
        if running > 0 {
            left.push(Span::styled(format!(" ⟳ {running} running"), t.style(Role::StatusInfo)));
        }
        f.render_widget(Paragraph::new(Line::from(left)).style(bar), area);
        return;
    }
    if s.metrics.sources.len() > 1 {
        let i = s.metrics.current + 1;
        let name = format!(" ⇄ {} ({i}/{}) │", text::clean(&s.metrics.cur().name), s.metrics.sources.len());
        left.push(Span::styled(name, bar.add_modifier(Modifier::BOLD)));
    }
    // Not live is said whether or not a live sample ever arrived (a source can
    // show stored history only, then go away).
    if !s.current_source().is_some_and(|src| src.is_live(s.now, s.stale_after())) && s.metrics.frozen.is_none() {
        let text = match s.metrics.shown() {
            Some(h) => format!(" ◌ not live: data {} old ", fmt::age(s.now - h.ts)),
            None => " ◌ not live: no sample yet ".to_string(),
        };
        left.push(Span::styled(text, t.style(Role::StatusWarn)));
    }
    let mut right = vec![Span::styled(format!("window {} ", s.metrics.window.label()), bar)];
    if s.metrics.frozen.is_some() {
        right.insert(0, Span::styled(" ❄ FROZEN ", t.style(Role::StatusWarn).add_modifier(Modifier::REVERSED)));
    }
    if s.zoomed {
        right.insert(0, Span::styled(" ⤢ zoom ", bar.add_modifier(Modifier::BOLD)));
    }
    let rw = widgets::fit::spans_width(&right).min(usize::from(area.width)) as u16;
    f.render_widget(Paragraph::new("").style(bar), area);
    // The left part stops a space short of the right part.
    let left_w = if area.width > rw.saturating_add(20) { area.width - rw - 1 } else { area.width };
    if let Some(h) = s.metrics.shown() {
        let room = usize::from(left_w).saturating_sub(widgets::fit::spans_width(&left));
        left.push(Span::styled(host_line(h, room), bar));
    }
    f.render_widget(Paragraph::new(Line::from(left)).style(bar), Rect { width: left_w, ..area });
    if area.width > rw.saturating_add(20) {
        f.render_widget(
            Paragraph::new(Line::from(right)).style(bar),
            Rect::new(area.x + area.width - rw, area.y, rw, 1),
        );
    }
}

/// The host's name, uptime and load in `room` cells: the 5- and 15-minute
/// loads go first, then the uptime, and a number is never cut.
fn host_line(h: &crate::protocol::HostSnapshot, room: usize) -> String {
    let host = text::clean(&h.hostname);
    let up = fmt::uptime(h.uptime_s);
    let [l1, l5, l15] = h.load.map(|l| if l.is_finite() { format!("{l:.2}") } else { "-".into() });
    [
        format!(" {host} · up {up} · load {l1} {l5} {l15}"),
        format!(" {host} · up {up} · load {l1}"),
        format!(" {host} · load {l1}"),
    ]
    .into_iter()
    .find(|v| text::width(v) <= room)
    .unwrap_or_else(|| if room < 2 { String::new() } else { format!(" {}", text::fit(&host, room - 1)) })
}

fn render_tiny(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let text = match s.metrics.shown() {
        Some(h) => format!("CPU {:.0}% MEM {:.0}% (enlarge the terminal)", h.cpu_total, h.mem_pct()),
        None => "opsdeck: enlarge the terminal".into(),
    };
    f.render_widget(Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }).style(t.style(Role::Text)), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_bar_drops_whole_figures_and_never_cuts_a_number() {
        let h = crate::protocol::HostSnapshot {
            hostname: "db-primary-1".into(),
            uptime_s: 3 * 86_400 + 4 * 3600,
            load: [1.23, 0.98, f64::NAN],
            ..Default::default()
        };
        let full = " db-primary-1 · up 3d 4h · load 1.23 0.98 -";
        assert_eq!(host_line(&h, 80), full);
        assert_eq!(host_line(&h, full.chars().count() - 1), " db-primary-1 · up 3d 4h · load 1.23");
        assert_eq!(host_line(&h, 30), " db-primary-1 · load 1.23");
        assert_eq!(host_line(&h, 10), " db-prima…");
        for room in 0..60 {
            let line = host_line(&h, room);
            assert!(text::width(&line) <= room, "{room}: {line:?}");
            assert!(!line.ends_with('.') && !line.ends_with("1.2"), "{room}: {line:?}");
        }
    }
}
