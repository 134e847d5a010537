//! The step log box: the search line, then the lines (hits marked, the
//! current one reversed), following the end unless scrolled.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::AppState;
use std::ops::Range;

use crate::app::panes::workflows::{LogLine, hit_window};
use crate::config::theme::{Role, Theme};
use crate::text;
use crate::ui::boxed;
use crate::ui::widgets::fit::fit_spans;

pub(super) fn render(f: &mut Frame, area: Rect, focused: bool, s: &AppState, t: &Theme) {
    let w = &s.workflows;
    let dim = t.style(Role::TextDim);
    let mut title = vec![Span::raw("Log")];
    match (w.log.failed_only, w.opened(), w.selected_step()) {
        (true, Some(r), _) => title.push(Span::styled(format!(" · failed steps of run #{}", r.run.id), dim)),
        (false, Some(_), Some(st)) => title.push(Span::styled(format!(" · step {}", st.id), dim)),
        _ => {}
    }
    // Following means new lines may still come: a step (or run) that ended prints no more.
    let live = match (w.log.failed_only, w.opened(), w.selected_step()) {
        (true, Some(r), _) => !r.run.state.is_final(),
        (false, Some(_), Some(st)) => !st.state.is_final(),
        _ => false,
    };
    let at = match (w.log.follow, live) {
        (true, true) => " · following",
        (true, false) => " · at the end",
        (false, _) => " · scrolled",
    };
    title.push(Span::styled(at, dim));
    let block = boxed(Line::from(title), focused, t, area.width);
    let mut inner = block.inner(area);
    f.render_widget(block, area);
    if w.opened().is_none() {
        f.render_widget(Paragraph::new(Line::styled("Open a run to read its steps' logs.", dim)), inner);
        return;
    }
    let hits = w.log_hits();
    if let Some(q) = &w.log.search
        && inner.height > 1
    {
        let r = Rect::new(inner.x, inner.y, inner.width, 1);
        inner.y += 1;
        inner.height -= 1;
        let count =
            if hits.is_empty() { " no match".to_string() } else { format!(" {}/{}", w.log.hit + 1, hits.len()) };
        let cw = text::width(&count) as u16;
        let [p, i, c] =
            Layout::horizontal([Constraint::Length(2), Constraint::Min(1), Constraint::Length(cw)]).areas(r);
        f.render_widget(Span::styled("/ ", t.style(Role::TextAccent)), p);
        f.render_widget(&q.widget(t.style(Role::Input), t.style(Role::InputCursor)), i);
        f.render_widget(Span::styled(count, dim), c);
    }
    let lines = w.log_lines();
    let h = usize::from(inner.height);
    let top = w.log_top(h);
    let current = hits.get(w.log.hit);
    let width = usize::from(inner.width);
    let out: Vec<Line> = lines
        .iter()
        .enumerate()
        .skip(top)
        .take(h)
        .map(|(i, l)| match l {
            LogLine::Header(text) => {
                Line::styled(text::fit(text, width), t.style(Role::TextAccent).add_modifier(Modifier::BOLD))
            }
            LogLine::Note(text) => Line::styled(text::fit(text, width), dim),
            LogLine::Text(raw) => {
                let on_line: Vec<&Range<usize>> = hits.iter().filter(|h| h.line == i).map(|h| &h.range).collect();
                let cur = current.filter(|c| c.line == i).map(|c| &c.range);
                Line::from(hit_line(raw, &on_line, cur, width, t))
            }
        })
        .collect();
    f.render_widget(Paragraph::new(out), inner);
}

/// A log line with its hits marked: the current one reversed, the others
/// underlined (never colour alone). When the current hit lies past the
/// right edge, the line is drawn from a little before it, after a `…`.
fn hit_line(
    raw: &str,
    hits: &[&Range<usize>],
    current: Option<&Range<usize>>,
    width: usize,
    t: &Theme,
) -> Vec<Span<'static>> {
    let base = t.style(Role::Text);
    let from = current.map_or(0, |c| hit_window(raw, c, width));
    let mut spans = Vec::new();
    if from > 0 {
        spans.push(Span::styled("…", t.style(Role::TextDim)));
    }
    let mut at = from;
    for r in hits {
        if r.end <= at {
            continue;
        }
        let start = r.start.max(at);
        if start > at {
            spans.push(Span::styled(raw[at..start].to_string(), base));
        }
        let mark = if Some(*r) == current { Modifier::REVERSED } else { Modifier::UNDERLINED };
        spans.push(Span::styled(raw[start..r.end].to_string(), base.patch(t.style(Role::Match)).add_modifier(mark)));
        at = r.end;
    }
    if at < raw.len() {
        spans.push(Span::styled(raw[at..].to_string(), base));
    }
    fit_spans(spans, width)
}
