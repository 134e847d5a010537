//! The step log box: the search line, then the lines (hits marked, the
//! current one reversed), following the end unless scrolled.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::AppState;
use crate::app::panes::workflows::LogLine;
use crate::config::theme::{Role, Theme};
use crate::text;
use crate::ui::boxed;
use crate::ui::panes::tools::output_line;

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
    let query = w.log.query();
    let current = hits.get(w.log.hit).copied();
    let out: Vec<Line> = lines
        .iter()
        .enumerate()
        .skip(top)
        .take(h)
        .map(|(i, l)| match l {
            LogLine::Header(text) => Line::styled(
                text::fit(text, inner.width.into()),
                t.style(Role::TextAccent).add_modifier(Modifier::BOLD),
            ),
            LogLine::Note(text) => Line::styled(text::fit(text, inner.width.into()), dim),
            LogLine::Text(raw) => {
                let base = t.style(Role::Text);
                let mark = if Some(i) == current { Modifier::REVERSED } else { Modifier::UNDERLINED };
                let hit = base.patch(t.style(Role::Match).add_modifier(mark));
                Line::from(output_line(raw, query, inner.width.into(), base, hit))
            }
        })
        .collect();
    f.render_widget(Paragraph::new(out), inner);
}
