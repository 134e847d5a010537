//! A box of text lines kept as cells between frames.
//!
//! ratatui redraws every widget every frame. For a box full of prose (the
//! chat transcript: 46 rows of 196 characters at 200x50) that is the
//! costliest part of a frame — each character split into graphemes,
//! measured and styled again — although a key typed into the input below
//! changes none of it, and a scroll changes a few rows. [`render_lines`]
//! remembers, per named slot, the lines and the area it was last given and
//! the cells `Paragraph` drew for them: the same lines again are copied
//! whole; otherwise each row is copied from where its line was last drawn
//! (found by the line itself, so text that scrolled is found at its old
//! row), and only lines not shown last time are drawn. The key is the
//! lines themselves (compared whole: cheaper by far than drawing them), so a
//! frame drawn with the memo is the frame drawn without it, and views stay
//! functions of the state.
//!
//! One memo per thread (the TUI draws on one; parallel tests each get their
//! own), one entry per slot.

use std::cell::RefCell;
use std::collections::HashMap;

use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

#[derive(Default)]
struct Entry {
    area: Rect,
    /// The style of the area's cells before drawing (the theme's text
    /// colours, which the lines' own styles are laid over).
    base: Style,
    /// The lines shown, one per row (at most the area's height).
    lines: Vec<Line<'static>>,
    /// What `Paragraph::new(lines)` drew onto a blank `area`, row by row
    /// (`area.width` cells each).
    rows: Vec<Vec<Cell>>,
}

thread_local! {
    static MEMO: RefCell<HashMap<&'static str, Entry>> = RefCell::new(HashMap::new());
}

/// Draw `lines` into `area` of `buf` exactly as `Paragraph::new(lines)`
/// (no wrapping: lines longer than the area are cut) draws them there —
/// `area` must be blank cells of one style, as the inside of a freshly drawn
/// box is (the frame's background and text colours): that style is read
/// from its first cell. `slot` names the box (one entry per slot is kept).
///
/// Each row is one line, drawn on its own, so a line shown in the last
/// drawing (at any row: the text scrolled) is moved from there; only new
/// lines are drawn.
pub fn render_lines(buf: &mut Buffer, area: Rect, slot: &'static str, mut lines: Vec<Line<'static>>) {
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return;
    }
    lines.truncate(usize::from(area.height));
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        let e = memo.entry(slot).or_default();
        let base = buf[(area.x, area.y)].style();
        if e.area != area || e.base != base {
            *e = Entry { area, base, ..Entry::default() };
        }
        if e.lines != lines {
            let mut old = std::mem::take(&mut e.rows);
            // Where a line of the last drawing is: first where the line
            // before was found plus one (text that scrolled), else anywhere.
            let mut guess = 0;
            let rows: Vec<Vec<Cell>> = lines
                .iter()
                .map(|line| {
                    let at = (guess < e.lines.len() && e.lines[guess] == *line && !old[guess].is_empty())
                        .then_some(guess)
                        .or_else(|| (0..e.lines.len()).find(|&j| e.lines[j] == *line && !old[j].is_empty()));
                    match at {
                        Some(j) => {
                            guess = j + 1;
                            std::mem::take(&mut old[j])
                        }
                        None => draw_line(line, area.width, base),
                    }
                })
                .collect();
            e.rows = rows;
            e.lines = lines;
        }
        let w = usize::from(area.width);
        for (i, row) in e.rows.iter().enumerate() {
            let to = buf.index_of(area.x, area.y + i as u16);
            buf.content[to..to + w].clone_from_slice(row);
        }
    });
}

/// One line as `Paragraph` draws it on a blank row `width` cells wide whose
/// cells have the style `base`.
fn draw_line(line: &Line<'static>, width: u16, base: Style) -> Vec<Cell> {
    let area = Rect::new(0, 0, width, 1);
    let mut row = Buffer::empty(area);
    row.set_style(area, base);
    // Drawn from borrowed text: the line is kept as the key.
    let spans: Vec<Span> = line.spans.iter().map(|s| Span::styled(s.content.as_ref(), s.style)).collect();
    Paragraph::new(Line { spans, style: line.style, alignment: line.alignment }).render(area, &mut row);
    row.content
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ratatui::style::{Color, Style};

    /// A frame as `ui::render` starts one: every cell takes the theme's text
    /// colours (or none, as with NO_COLOR).
    fn frame(full: Rect, themed: bool) -> Buffer {
        let mut buf = Buffer::empty(full);
        if themed {
            buf.set_style(full, Style::default().fg(Color::Rgb(205, 214, 244)).bg(Color::Rgb(30, 30, 46)));
        }
        buf
    }

    fn direct(area: Rect, full: Rect, lines: &[Line<'static>], themed: bool) -> Buffer {
        let mut buf = frame(full, themed);
        Paragraph::new(lines.to_vec()).render(area.intersection(full), &mut buf);
        buf
    }

    fn memo(area: Rect, full: Rect, lines: &[Line<'static>], themed: bool) -> Buffer {
        let mut buf = frame(full, themed);
        render_lines(&mut buf, area, "test", lines.to_vec());
        buf
    }

    fn line(words: &[(String, u8)]) -> Line<'static> {
        Line::from(
            words
                .iter()
                .map(|(w, c)| Span::styled(w.clone(), Style::default().fg(Color::Indexed(*c))))
                .collect::<Vec<_>>(),
        )
    }

    proptest! {
        /// Over changing lines and areas (wide characters, combining marks,
        /// lines longer than the area, areas past the buffer's edge), every
        /// frame drawn through the memo is the frame drawn without it.
        #[test]
        fn the_memo_draws_what_a_paragraph_draws(
            frames in proptest::collection::vec(
                (
                    proptest::collection::vec(
                        proptest::collection::vec(("[a-z 界é\u{301}🚀-]{0,12}", 0u8..4), 0..5),
                        0..12,
                    ),
                    0u16..6, 0u16..6, 0u16..30, 0u16..14, 0u8..4, -4i32..5, any::<bool>(),
                ),
                1..10,
            )
        ) {
            let full = Rect::new(0, 0, 24, 10);
            let mut last: Option<(Vec<Line<'static>>, Rect)> = None;
            for (rows, x, y, w, h, mode, by, themed) in frames {
                let fresh: Vec<Line<'static>> = rows.iter().map(|r| line(r)).collect();
                let (lines, area) = match (&last, mode) {
                    // The same lines and area again: the whole copy.
                    (Some(prev), 0) => prev.clone(),
                    // The last lines scrolled by `by` (new ones come in at
                    // the edge), in the same area: rows copied from elsewhere.
                    (Some((prev, area)), 1 | 2) => {
                        let mut l = prev.clone();
                        if by >= 0 {
                            l.drain(..(by as usize).min(l.len()));
                            l.extend(fresh);
                        } else {
                            let mut head = fresh;
                            head.truncate(by.unsigned_abs() as usize);
                            head.extend(l);
                            l = head;
                        }
                        (l, *area)
                    }
                    _ => (fresh, Rect::new(x, y, w, h)),
                };
                prop_assert_eq!(memo(area, full, &lines, themed), direct(area, full, &lines, themed));
                last = Some((lines, area));
            }
        }
    }

    #[test]
    fn a_changed_line_is_drawn_again() {
        let full = Rect::new(0, 0, 10, 3);
        let a = vec![Line::raw("one"), Line::raw("two")];
        let b = vec![Line::raw("one"), Line::raw("tow")];
        assert_eq!(memo(full, full, &a, false), direct(full, full, &a, false));
        assert_eq!(memo(full, full, &b, false), direct(full, full, &b, false));
        assert_ne!(direct(full, full, &a, false), direct(full, full, &b, false));
        // The same lines on a themed frame keep the theme's colours under them.
        let themed = memo(full, full, &b, true);
        assert_eq!(themed, direct(full, full, &b, true));
        assert_eq!(themed[(8, 2)].bg, Color::Rgb(30, 30, 46));
    }
}
