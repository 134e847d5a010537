//! The chat pane's conversation tools: the search's hits and the rename
//! prompt in the list box, and the model picker popup.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::app::AppState;
use crate::app::panes::chat::{ModelPicker, QUERY_CHARS, Search};
use crate::config::theme::{Role as R, Theme};
use crate::protocol::chat::SearchHit;
use crate::text;
use crate::ui::boxed;
use crate::ui::overlay::{input_line, popup};
use crate::ui::widgets::fit::{fit_spans, marked};
use crate::ui::widgets::list::{ListWindow, draw_position};

fn inner(area: Rect) -> Rect {
    Rect::new(area.x + 1, area.y + 1, area.width.saturating_sub(2), area.height.saturating_sub(2))
}

fn dim_para(f: &mut Frame, area: Rect, words: &str, t: &Theme) {
    let lines: Vec<Line> = text::wrap_words(words, usize::from(area.width).max(1))
        .into_iter()
        .map(|l| Line::styled(l, t.style(R::TextDim)))
        .collect();
    f.render_widget(Paragraph::new(lines), area);
}

/// The list box while its search or rename prompt is open; `false` when
/// neither is (the list draws itself).
pub fn render_list(f: &mut Frame, area: Rect, s: &AppState, focused: bool, t: &Theme) -> bool {
    if let Some(r) = &s.chat.rename {
        f.render_widget(boxed(Line::from("Rename conversation"), focused, t, area.width), area);
        let body = inner(area);
        if body.height == 0 {
            return true;
        }
        let [row, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
        input_line(f, row, "✎ ", &r.input, t);
        if rest.height > 1 {
            let rest = Rect { y: rest.y + 1, height: rest.height - 1, ..rest };
            dim_para(f, rest, "Enter saves the title, Esc keeps the old one.", t);
        }
        return true;
    }
    let Some(search) = &s.chat.search else { return false };
    render_search(f, area, search, focused, t);
    true
}

fn search_title(search: &Search) -> String {
    let n = search.found.hits.len();
    if search.searching() {
        "Search · searching…".into()
    } else if search.query().trim().is_empty() {
        "Search".into()
    } else if search.found.cut {
        format!("Search · first {}", text::count(n as u64, "hit", "hits"))
    } else {
        format!("Search · {}", text::count(n as u64, "hit", "hits"))
    }
}

fn render_search(f: &mut Frame, area: Rect, search: &Search, focused: bool, t: &Theme) {
    f.render_widget(boxed(Line::from(search_title(search)), focused, t, area.width), area);
    let body = inner(area);
    if body.height == 0 || body.width == 0 {
        return;
    }
    let [row, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
    if search.editing && focused {
        input_line(f, row, "/ ", &search.input, t);
    } else {
        let q = text::fit(&search.query(), usize::from(row.width).saturating_sub(2));
        f.render_widget(
            Line::from(vec![Span::styled("/ ", t.style(R::TextAccent)), Span::styled(q, t.style(R::Input))]),
            row,
        );
    }
    let mut notes = Vec::new();
    if search.over_long() {
        notes.push(format!("only the first {QUERY_CHARS} characters are searched"));
    }
    if let Some(e) = &search.error {
        notes.push(format!("✗ {e}"));
    }
    if search.found.unreadable > 0 {
        notes.push(format!("{} could not be read", text::count(search.found.unreadable as u64, "message", "messages")));
    }
    let h = (notes.len() as u16).min(rest.height);
    let [notes_area, hits_area] = Layout::vertical([Constraint::Length(h), Constraint::Min(0)]).areas(rest);
    let note_lines: Vec<Line> =
        notes.iter().map(|n| Line::styled(text::fit(n, usize::from(body.width)), t.style(R::TextDim))).collect();
    f.render_widget(Paragraph::new(note_lines), notes_area);
    if hits_area.height == 0 {
        return;
    }
    let hits = &search.found.hits;
    if hits.is_empty() {
        let words = if search.query().trim().is_empty() {
            "Type to search every conversation: titles (fuzzy) and the text of messages.".to_string()
        } else if search.searching() {
            String::new()
        } else {
            format!("Nothing matches “{}”.", text::fit(&search.query(), 40))
        };
        dim_para(f, hits_area, &words, t);
        return;
    }
    // Two rows a hit: its conversation, then where the query is.
    let per = usize::from(hits_area.height / 2).max(1);
    let win = ListWindow::new(Rect { height: per as u16, ..hits_area }, search.sel, hits.len());
    draw_position(f, area, &win, t);
    let w = usize::from(hits_area.width);
    let mut lines = Vec::new();
    for i in win.shown() {
        lines.extend(hit_lines(&hits[i], i == search.sel, w, t));
    }
    f.render_widget(Paragraph::new(lines), hits_area);
}

/// A hit's two lines: the conversation's title (the match marked when it
/// is the title's), then the message's snippet with the match marked.
fn hit_lines(hit: &SearchHit, selected: bool, w: usize, t: &Theme) -> Vec<Line<'static>> {
    let base = if selected { t.style(R::Selection) } else { t.style(R::Text) };
    let mark = base.patch(t.style(R::Match)).add_modifier(Modifier::UNDERLINED);
    let lead = if selected { "▸ " } else { "  " };
    let mut first = vec![Span::styled(lead, base)];
    let mut second = vec![Span::styled("  ", base)];
    match hit.message_index {
        None => {
            first.extend(marked(&hit.title, std::slice::from_ref(&hit.highlight), base, mark));
            second.push(Span::styled("title", base.patch(t.style(R::TextDim))));
        }
        Some(i) => {
            first.push(Span::styled(hit.title.clone(), base));
            second.push(Span::styled(format!("#{} ", i.saturating_add(1)), base.patch(t.style(R::TextDim))));
            second.extend(marked(&hit.snippet, std::slice::from_ref(&hit.highlight), base, mark));
        }
    }
    [first, second]
        .into_iter()
        .map(|spans| {
            let mut spans = fit_spans(spans, w);
            let pad = w.saturating_sub(crate::ui::widgets::fit::spans_width(&spans));
            spans.push(Span::styled(" ".repeat(pad), base));
            Line::from(spans)
        })
        .collect()
}

/// The model picker popup: the filter, then one model a row with its
/// provider's prices and marks for the chain head and the chosen one.
pub fn render_models(f: &mut Frame, body: Rect, p: &ModelPicker, t: &Theme) {
    let h = (p.rows.len() as u16 + 4).clamp(6, 18);
    let area = crate::ui::overlay::top_centered(body, 70, h, 80);
    f.render_widget(Clear, area);
    let block = popup("Model asked first (Enter picks, Esc cancels)", area.width, t);
    let inside = block.inner(area);
    f.render_widget(block, area);
    if inside.height < 3 {
        return;
    }
    let [q, list, foot] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1), Constraint::Length(1)]).areas(inside);
    input_line(f, q, "› ", &p.filter, t);
    let win = ListWindow::new(list, p.selected, p.shown.len());
    draw_position(f, area, &win, t);
    let w = usize::from(list.width);
    let mut lines = Vec::new();
    for i in win.shown() {
        let (row_ix, idx) = &p.shown[i];
        let row = &p.rows[*row_ix];
        let sel = i == p.selected;
        let base = if sel { t.style(R::Selection) } else { t.style(R::Text) };
        let hit = base.patch(t.style(R::Match)).add_modifier(Modifier::UNDERLINED);
        let name = row.model.to_string();
        let lead = format!("{}{} ", if sel { "▸" } else { " " }, if row.chosen { "●" } else { " " });
        let mut spans = vec![Span::styled(lead, base)];
        spans.extend(marked(&name, &text::char_ranges(&name, idx), base, hit));
        let mut tail = Vec::new();
        if row.head {
            tail.push("chain head".to_string());
        }
        match row.price {
            (None, None) => {}
            (i, o) => tail.push(format!("${} in / ${} out per Mtok", price(i), price(o))),
        }
        if !tail.is_empty() {
            spans.push(Span::styled(format!("  {}", tail.join(" · ")), base.patch(t.style(R::TextDim))));
        }
        let mut spans = fit_spans(spans, w);
        let pad = w.saturating_sub(crate::ui::widgets::fit::spans_width(&spans));
        spans.push(Span::styled(" ".repeat(pad), base));
        lines.push(Line::from(spans));
    }
    if p.shown.is_empty() {
        lines.push(Line::styled("  no model matches", t.style(R::TextDim)));
    }
    f.render_widget(Paragraph::new(lines), list);
    let legend = "● asked first now · the fallback chain follows it";
    f.render_widget(Line::styled(text::fit(legend, usize::from(foot.width)), t.style(R::TextDim)), foot);
}

/// A price per million tokens as written (`0.15`), `?` when not configured,
/// `—` for a value that is not a number.
fn price(p: Option<f64>) -> String {
    match p {
        Some(v) if v.is_finite() => {
            let s = format!("{v:.4}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        Some(_) => "—".into(),
        None => "?".into(),
    }
}
