//! A workflow's versions: the list (newest first; the current one and the
//! marked one said in words and glyphs, how many of the loaded runs ran
//! each), and below it the selected version's text with line numbers or a
//! unified diff whose lines keep their `-`/`+` prefixes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::compare::pad;
use crate::app::AppState;
use crate::app::panes::workflows::{Shown, Versions};
use crate::config::theme::{Role, Theme};
use crate::text;
use crate::ui::boxed;
use crate::ui::widgets::fmt;
use crate::ui::widgets::list::{self, ListWindow};

pub(super) fn render(f: &mut Frame, area: Rect, focused: bool, s: &AppState, t: &Theme) {
    let w = &s.workflows;
    let dim = t.style(Role::TextDim);
    let inner = area.inner(Margin::new(1, 1));
    let Some(v) = &w.versions else {
        f.render_widget(boxed(Line::raw("Versions"), focused, t, area.width), area);
        let msg = "No versions shown: select a workflow (or a run) and ask for its versions.";
        f.render_widget(Paragraph::new(Line::styled(msg, dim)).wrap(Wrap { trim: false }), inner);
        return;
    };
    let mut facts = vec![text::count(v.rows.len() as u64, "version", "versions")];
    if w.sources_shown() {
        facts.push(format!("on {}", v.source));
    }
    facts.push("RUNS: of the runs loaded".into());
    facts.push("Esc closes".into());
    let title = Line::from(vec![
        Span::raw(format!("Versions of {}", v.workflow)),
        Span::styled(format!(" · {}", facts.join(" · ")), dim),
    ]);
    f.render_widget(boxed(title, focused, t, area.width), area);
    let list_h = (v.rows.len().max(1) as u16 + 1).min((inner.height / 3).max(3));
    let [list_area, text_area] = Layout::vertical([Constraint::Length(list_h), Constraint::Min(0)]).areas(inner);
    if v.loading.is_some() && v.rows.is_empty() {
        f.render_widget(Line::styled("reading the versions…", dim), list_area);
    } else if let Some(e) = &v.error {
        let line = Line::styled(format!("✗ {}", text::clean(e)), t.style(Role::Error));
        f.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), list_area);
    } else {
        rows(f, area, list_area, focused, s, v, t);
    }
    match &v.shown {
        Some(sh) => shown(f, text_area, v, sh, s, t),
        None => {
            let msg = "Show a version's text, or its diff with the current version (or with a marked one), here.";
            let r = Rect { y: text_area.y + 1.min(text_area.height), ..text_area };
            f.render_widget(Paragraph::new(Line::styled(msg, dim)).wrap(Wrap { trim: false }), r);
        }
    }
}

fn rows(f: &mut Frame, outer: Rect, area: Rect, focused: bool, s: &AppState, v: &Versions, t: &Theme) {
    let w = &s.workflows;
    let current = w.current_version();
    let header = Rect { height: 1.min(area.height), ..area };
    let body = Rect { y: area.y + header.height, height: area.height.saturating_sub(header.height), ..area };
    f.render_widget(
        Line::styled(
            format!("   {}{}{}", pad("VERSION", 14), pad("FIRST SEEN", 12), "RUNS"),
            t.style(Role::TableHeader),
        ),
        header,
    );
    let win = ListWindow::new(body, v.sel, v.rows.len());
    list::draw_position(f, outer, &win, t);
    let lines: Vec<Line> = v
        .rows
        .iter()
        .enumerate()
        .skip(win.offset)
        .take(win.visible())
        .map(|(i, r)| {
            let sel = i == v.sel;
            let base = if sel && focused { t.style(Role::Selection) } else { t.style(Role::Text) };
            let marked = v.mark.as_ref() == Some(&r.version);
            let mut notes = Vec::new();
            if current.as_ref() == Some(&r.version) {
                notes.push("● current");
            }
            if marked {
                notes.push("◆ marked");
            }
            let cells = format!(
                "{}{} {}{}{}  {}",
                if sel { "▸" } else { " " },
                if marked { "◆" } else { " " },
                pad(&r.version, 14),
                pad(&format!("{} ago", fmt::age(s.now - r.first_seen)), 12),
                pad(&w.runs_of_version(&r.version).to_string(), 4),
                notes.join(" · "),
            );
            Line::styled(text::fit(&cells, usize::from(area.width)), base)
        })
        .collect();
    f.render_widget(Paragraph::new(lines), body);
}

/// One side of a diff (or the shown text) in words: its short hash, how
/// long ago it was first seen, and `current file` when it is the file's
/// content now: `0a1b2c3 (30d old, current file)`.
fn side(version: &str, v: &Versions, current: Option<&String>, now: i64) -> String {
    let mut notes = Vec::new();
    if let Some(r) = v.rows.iter().find(|r| r.version == version) {
        notes.push(format!("{} old", fmt::age(now - r.first_seen)));
    }
    if current.is_some_and(|c| c == version) {
        notes.push("current file".to_string());
    }
    let short = short(version);
    if notes.is_empty() { short.to_string() } else { format!("{short} ({})", notes.join(", ")) }
}

/// A version's first 7 hex digits (as git shortens a hash).
fn short(version: &str) -> &str {
    version.get(..7).unwrap_or(version)
}

fn shown(f: &mut Frame, area: Rect, v: &Versions, sh: &Shown, s: &AppState, t: &Theme) {
    let dim = t.style(Role::TextDim);
    let current = s.workflows.current_version();
    let this = side(&sh.version, v, current.as_ref(), s.now);
    let width = usize::from(area.width);
    // Where the text is scrolled sideways comes first: it must never be cut.
    let mut head = if sh.hscroll > 0 || sh.widest > width.saturating_sub(8) {
        format!("col {} ←/→ · ", sh.hscroll + 1)
    } else {
        String::new()
    };
    head.push_str(&match &sh.against {
        None => format!("text of {this}"),
        // A rollback preview while its `-` side is still the file's content.
        Some(base) if sh.rollback_preview && current.as_ref() == Some(base) => {
            format!("- current file {} → + {}: what rolling back changes", short(base), short(&sh.version))
        }
        Some(base) => format!("- {} → + {this}", side(base, v, current.as_ref(), s.now)),
    });
    let rule = "─".repeat(width.saturating_sub(text::width(&head) + 4));
    let mut lines = vec![Line::styled(text::fit(&format!("── {head} {rule}"), width), t.style(Role::TableHeader))];
    let h = usize::from(area.height.saturating_sub(1));
    if sh.pending.is_some() {
        lines.push(Line::styled("reading…", dim));
    } else if let Some(e) = &sh.error {
        lines.push(Line::styled(format!("✗ {}", text::clean(e)), t.style(Role::Error)));
    } else {
        let top = sh.scroll.min(sh.lines.len().saturating_sub(h));
        let n_w = sh.lines.len().to_string().len();
        for (i, l) in sh.lines.iter().enumerate().skip(top).take(h) {
            let line = match &sh.against {
                None => Line::from(vec![
                    Span::styled(format!("{:>n_w$} │ ", i + 1), dim),
                    Span::styled(text::fit_scrolled(l, sh.hscroll, width.saturating_sub(n_w + 3)), t.style(Role::Text)),
                ]),
                Some(_) => {
                    let style = if l.starts_with("---") || l.starts_with("+++") {
                        t.style(Role::Text).add_modifier(Modifier::BOLD)
                    } else if l.starts_with('+') {
                        t.style(Role::StatusOk)
                    } else if l.starts_with('-') {
                        t.style(Role::StatusFailed)
                    } else if l.starts_with('@') {
                        t.style(Role::TextAccent)
                    } else {
                        dim
                    };
                    // The `-`/`+`/` ` prefix stays put; the rest scrolls.
                    let (mark, rest) = l.split_at(l.chars().next().map_or(0, char::len_utf8));
                    let body = text::fit_scrolled(rest, sh.hscroll, width.saturating_sub(text::width(mark)));
                    Line::styled(format!("{}{body}", text::clean(mark)), style)
                }
            };
            lines.push(line);
        }
    }
    f.render_widget(Paragraph::new(lines), area);
}
