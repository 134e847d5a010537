//! Moving in the tools pane: list and history selection, form fields, output
//! scrolling and search matches.

use super::ToolsState;
use super::runs::RunView;
use crate::app::{BoxId, UserAction};

impl ToolsState {
    pub(super) fn motion(&mut self, a: UserAction, focus: BoxId) -> bool {
        use UserAction as U;
        let step = |cur: usize, len: usize, page: usize| crate::app::list::step(a, cur, len, page).unwrap_or(cur);
        match focus {
            BoxId::ToolList => {
                let before = self.list_sel;
                self.list_sel = step(self.list_sel, self.rows.len(), 10);
                self.follow_selection();
                before != self.list_sel
            }
            BoxId::ToolHistory => {
                let before = self.hist_sel;
                self.hist_sel = step(self.hist_sel, self.runs.len(), 10);
                before != self.hist_sel
            }
            BoxId::ToolForm => match (&mut self.form, a) {
                (Some(f), U::Up) => f.move_by(-1),
                (Some(f), U::Down) => f.move_by(1),
                (Some(f), U::Top) => f.move_by(-(f.fields.len() as i32)) || f.move_by(1),
                (Some(f), U::Bottom) => {
                    let mut moved = false;
                    while f.move_by(1) {
                        moved = true;
                    }
                    moved
                }
                _ => false,
            },
            _ => {
                let len = self.output_len();
                let before = (self.scroll, self.follow);
                let page = self.page.max(1);
                let max = len.saturating_sub(page);
                self.scroll = match a {
                    U::Up => self.scroll.saturating_sub(1),
                    U::Down => (self.scroll + 1).min(max),
                    U::PageUp => self.scroll.saturating_sub(page),
                    U::PageDown => (self.scroll + page).min(max),
                    U::Top => 0,
                    _ => max,
                };
                self.follow = self.scroll >= max;
                before != (self.scroll, self.follow)
            }
        }
    }
    /// Lines in the output box (the run, or the comparison).
    pub fn output_len(&self) -> usize {
        match &self.diff {
            Some((_, _, rows)) => rows.len(),
            None => self.shown_run().map_or(0, RunView::line_count),
        }
    }
    /// A click on row `i` of the tool list or the history.
    pub fn select_row(&mut self, focus: BoxId, i: usize) -> bool {
        match focus {
            BoxId::ToolList if i < self.rows.len() && i != self.list_sel => {
                self.list_sel = i;
                self.follow_selection();
                true
            }
            BoxId::ToolHistory if i < self.runs.len() && i != self.hist_sel => {
                self.hist_sel = i;
                true
            }
            _ => false,
        }
    }
    /// Mouse wheel over a box.
    pub fn scroll_by(&mut self, focus: BoxId, d: i32) -> bool {
        let a = if d < 0 { UserAction::Up } else { UserAction::Down };
        (0..d.unsigned_abs()).fold(false, |acc, _| self.motion(a, focus) || acc)
    }
    pub(super) fn next_match(&mut self, d: i32) -> bool {
        if self.matches.is_empty() {
            return false;
        }
        let n = self.matches.len() as i32;
        self.match_at = (self.match_at as i32 + d).rem_euclid(n) as usize;
        let line = self.matches[self.match_at];
        self.scroll = line.saturating_sub(self.page / 2);
        self.follow = false;
        true
    }
}
