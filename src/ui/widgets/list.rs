//! Where a list's rows are on screen: which item is on which line, which
//! part of the list is shown, and the position (`12/75`) when it does not
//! fit. The view draws with it and the runtime maps a mouse click through
//! the same value, so a click always lands on the row that was drawn.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;

use crate::config::theme::{Role, Theme};

/// A list of `len` items drawn one per line in `rows`, scrolled so that
/// `selected` is visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListWindow {
    /// The lines the items are drawn on (below any header).
    pub rows: Rect,
    /// Index of the first item shown.
    pub offset: usize,
    pub len: usize,
    pub selected: usize,
}

impl ListWindow {
    /// The window that shows `selected` with as little scrolling as
    /// possible from the top (the last line holds the selection when it is
    /// further down).
    pub fn new(rows: Rect, selected: usize, len: usize) -> ListWindow {
        let visible = usize::from(rows.height);
        let offset = selected.saturating_sub(visible.saturating_sub(1)).min(len.saturating_sub(visible.max(1)));
        ListWindow { rows, offset, len, selected }
    }

    /// How many items are on screen.
    pub fn visible(&self) -> usize {
        usize::from(self.rows.height).min(self.len.saturating_sub(self.offset))
    }

    /// Indices of the items on screen, top first.
    pub fn shown(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.visible()
    }

    /// The item on screen row `y` (absolute), if any.
    pub fn item_at(&self, x: u16, y: u16) -> Option<usize> {
        if !self.rows.contains((x, y).into()) {
            return None;
        }
        let i = self.offset + usize::from(y - self.rows.y);
        (i < self.len).then_some(i)
    }

    /// `12/75` (1-based selection / items) when not every item fits.
    pub fn position(&self) -> Option<String> {
        (self.len > usize::from(self.rows.height))
            .then(|| format!("{}/{}", self.selected.min(self.len - 1) + 1, self.len))
    }
}

/// Write the window's position (` 12/75 `) into the bottom border of `outer`,
/// right-aligned, when the list does not fit and there is room.
pub fn draw_position(f: &mut Frame, outer: Rect, w: &ListWindow, t: &Theme) {
    let Some(pos) = w.position() else { return };
    let label = format!(" {pos} ");
    let width = label.len() as u16;
    if outer.height < 2 || outer.width < width + 4 {
        return;
    }
    let at = Rect::new(outer.x + outer.width - width - 2, outer.y + outer.height - 1, width, 1);
    f.render_widget(Span::styled(label, t.style(Role::TextDim)), at);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selection_stays_in_view_and_clicks_map_back() {
        let rows = Rect::new(2, 5, 30, 10);
        let w = ListWindow::new(rows, 0, 75);
        assert_eq!((w.offset, w.visible(), w.position().as_deref()), (0, 10, Some("1/75")));
        assert_eq!(w.item_at(2, 5), Some(0));
        assert_eq!(w.item_at(10, 14), Some(9));
        assert_eq!(w.item_at(10, 15), None, "below the rows");
        assert_eq!(w.item_at(1, 6), None, "left of the rows");
        let w = ListWindow::new(rows, 11, 75);
        assert_eq!((w.offset, w.shown()), (2, 2..12));
        assert_eq!(w.position().as_deref(), Some("12/75"));
        assert_eq!(w.item_at(3, 14), Some(11), "the last line holds the selection");
        let w = ListWindow::new(rows, 2, 3);
        assert_eq!((w.offset, w.visible(), w.position()), (0, 3, None), "fits: no position");
        assert_eq!(w.item_at(3, 8), None, "a line below the last item");
        let w = ListWindow::new(Rect::new(0, 0, 10, 0), 4, 9);
        assert_eq!((w.visible(), w.item_at(0, 0)), (0, None), "no room at all");
        let w = ListWindow::new(rows, 0, 0);
        assert_eq!((w.visible(), w.position()), (0, None), "empty");
    }
}
