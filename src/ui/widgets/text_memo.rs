//! A box of text lines kept as cells between frames.
//!
//! ratatui redraws every widget every frame. For a box full of prose (the
//! chat transcript: 46 rows of 196 characters at 200x50) that is the
//! costliest part of a frame — each character split into graphemes,
//! measured and styled again — although a key typed into the input below
//! changes none of it. [`render_lines`] remembers, per named slot, the lines
//! and the area it was last given and the cells `Paragraph` drew for them;
//! when both are the same it copies those cells (a row at a time) instead of
//! drawing again. The key is the lines themselves (compared whole: cheaper
//! by far than drawing them), so a frame drawn with the memo is the frame
//! drawn without it, and views stay functions of the state.
//!
//! One memo per thread (the TUI draws on one; parallel tests each get their
//! own), one entry per slot.

use std::cell::RefCell;
use std::collections::HashMap;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

#[derive(Default)]
struct Entry {
    area: Rect,
    lines: Vec<Line<'static>>,
    /// What `Paragraph::new(lines)` drew onto a blank `area`.
    cells: Option<Buffer>,
}

thread_local! {
    static MEMO: RefCell<HashMap<&'static str, Entry>> = RefCell::new(HashMap::new());
}

/// Draw `lines` into `area` of `buf` exactly as `Paragraph::new(lines)`
/// (no wrapping: lines longer than the area are cut) draws them onto a blank
/// area — `area` must be blank, as the inside of a freshly drawn box is.
/// `slot` names the box (one entry per slot is kept).
pub fn render_lines(buf: &mut Buffer, area: Rect, slot: &'static str, lines: Vec<Line<'static>>) {
    let area = area.intersection(buf.area);
    if area.is_empty() {
        return;
    }
    MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        let e = memo.entry(slot).or_default();
        let cells = match &e.cells {
            Some(cells) if e.area == area && e.lines == lines => cells,
            _ => {
                // The last drawing's cells are reused (blanked) when the area is the same.
                let mut cells = match e.cells.take() {
                    Some(mut c) if c.area == area => {
                        c.reset();
                        c
                    }
                    _ => Buffer::empty(area),
                };
                // Drawn from borrowed text: the lines are kept as the key.
                let borrowed = lines.iter().map(|l| {
                    let spans: Vec<Span> = l.spans.iter().map(|s| Span::styled(s.content.as_ref(), s.style)).collect();
                    Line { spans, style: l.style, alignment: l.alignment }
                });
                Paragraph::new(borrowed.collect::<Vec<_>>()).render(area, &mut cells);
                e.area = area;
                e.lines = lines;
                e.cells.insert(cells)
            }
        };
        let w = usize::from(area.width);
        for y in area.top()..area.bottom() {
            let (from, to) = (cells.index_of(area.x, y), buf.index_of(area.x, y));
            buf.content[to..to + w].clone_from_slice(&cells.content[from..from + w]);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ratatui::style::{Color, Style};

    fn direct(area: Rect, full: Rect, lines: &[Line<'static>]) -> Buffer {
        let mut buf = Buffer::empty(full);
        Paragraph::new(lines.to_vec()).render(area.intersection(full), &mut buf);
        buf
    }

    fn memo(area: Rect, full: Rect, lines: &[Line<'static>]) -> Buffer {
        let mut buf = Buffer::empty(full);
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
                    0u16..6, 0u16..6, 0u16..30, 0u16..14, any::<bool>(),
                ),
                1..8,
            )
        ) {
            let full = Rect::new(0, 0, 24, 10);
            let mut last: Option<(Vec<Line<'static>>, Rect)> = None;
            for (rows, x, y, w, h, repeat) in frames {
                let (lines, area) = match (&last, repeat) {
                    // The same lines and area again: the copy path.
                    (Some(prev), true) => prev.clone(),
                    _ => (rows.iter().map(|r| line(r)).collect(), Rect::new(x, y, w, h)),
                };
                prop_assert_eq!(memo(area, full, &lines), direct(area, full, &lines));
                last = Some((lines, area));
            }
        }
    }

    #[test]
    fn a_changed_line_is_drawn_again() {
        let full = Rect::new(0, 0, 10, 3);
        let a = vec![Line::raw("one"), Line::raw("two")];
        let b = vec![Line::raw("one"), Line::raw("tow")];
        assert_eq!(memo(full, full, &a), direct(full, full, &a));
        assert_eq!(memo(full, full, &b), direct(full, full, &b));
        assert_ne!(direct(full, full, &a), direct(full, full, &b));
    }
}
