//! The step log box: the selected step's lines (live while it runs, the
//! stored log once it ended), or every failed step's one after the other
//! (`gh run view --log-failed`); search with `/`, `n`/`N`; follow at the end.

use std::ops::Range;

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use unicode_segmentation::UnicodeSegmentation;

use super::{WfRun, WorkflowsState};
use crate::app::input::LineInput;
use crate::protocol::workflow::RunState;

#[derive(Debug, Clone)]
pub struct LogView {
    /// The search, once `/` was pressed (kept after Enter, cleared by Esc).
    pub search: Option<LineInput>,
    /// The search line takes keys.
    pub editing: bool,
    /// Index into the hits of the current one.
    pub hit: usize,
    /// The end is shown and new lines scroll in.
    pub follow: bool,
    /// Every failed step's log instead of the selected step's.
    pub failed_only: bool,
    /// First line shown when not following.
    pub top: usize,
}

impl Default for LogView {
    fn default() -> Self {
        LogView { search: None, editing: false, hit: 0, follow: true, failed_only: false, top: 0 }
    }
}

/// One line of the log box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogLine<'a> {
    /// `── step deploy · ✗ failed ──` before a step's lines (failed-only view).
    Header(String),
    Text(&'a str),
    /// Said where a step has no lines (yet).
    Note(String),
}

impl LogLine<'_> {
    pub fn text(&self) -> &str {
        match self {
            LogLine::Header(s) | LogLine::Note(s) => s,
            LogLine::Text(s) => s,
        }
    }
}

/// One occurrence of the search text in the log box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index into the lines shown.
    pub line: usize,
    /// Bytes of that line (always on char boundaries).
    pub range: Range<usize>,
}

/// Where to start drawing a line `width` cells wide so that `hit` is seen
/// whole (as much of it as fits, from its start) with a cell left for a `…`
/// before it, and one after it when the line goes on: 0 when the line's
/// start to the hit's end fits, else the first grapheme boundary from which
/// it does. Always a char boundary of `line`.
pub fn hit_window(line: &str, hit: &Range<usize>, width: usize) -> usize {
    let (start, end) = (hit.start.min(line.len()), hit.end.min(line.len()));
    if !line.is_char_boundary(start) || !line.is_char_boundary(end) || start > end {
        return 0;
    }
    if crate::text::width(&line[..end]) <= width {
        return 0;
    }
    let room = width.saturating_sub(if end < line.len() { 2 } else { 1 });
    let mut used = crate::text::width(&line[start..end]);
    let mut from = start;
    for (i, g) in line[..start].grapheme_indices(true).rev() {
        used += crate::text::width(g);
        if used > room {
            break;
        }
        from = i;
    }
    from
}

impl LogView {
    pub fn query(&self) -> &str {
        self.search.as_ref().map_or("", |s| s.text())
    }
}

fn step_lines<'a>(r: &'a WfRun, id: &str, out: &mut Vec<LogLine<'a>>) {
    let state = r.step(id).map(|s| s.state);
    match r.logs.get(id) {
        Some(lines) if !lines.is_empty() => out.extend(lines.iter().map(|l| LogLine::Text(l))),
        _ if r.logs_asked.contains(id) && !r.logs.contains_key(id) => {
            out.push(LogLine::Note("reading the log…".into()))
        }
        _ => out.push(LogLine::Note(match state {
            Some(RunState::Queued) | None => "not started: no output yet".into(),
            Some(s) if s.is_active() => "no output yet".into(),
            Some(_) => "it printed nothing".into(),
        })),
    }
}

impl WorkflowsState {
    /// What the log box shows now.
    pub fn log_lines(&self) -> Vec<LogLine<'_>> {
        let Some(r) = self.opened() else { return Vec::new() };
        let mut out = Vec::new();
        if self.log.failed_only {
            let failed: Vec<_> = r.steps.iter().filter(|s| s.state == RunState::Failed).collect();
            if failed.is_empty() {
                out.push(LogLine::Note(format!("no step of run #{} failed", r.run.id)));
            }
            for s in failed {
                out.push(LogLine::Header(format!("── {} · {} {} ──", s.id, s.state.glyph(), s.state.word())));
                step_lines(r, &s.id, &mut out);
            }
        } else if let Some(s) = self.selected_step() {
            step_lines(r, &s.id, &mut out);
        }
        out
    }

    /// Every hit of the search text, in order: each occurrence on a line
    /// (a line with two holds two hits), as the line's index into
    /// [`Self::log_lines`] and its byte range there (on char boundaries).
    pub fn log_hits(&self) -> Vec<Hit> {
        let q = self.log.query();
        if q.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (i, l) in self.log_lines().iter().enumerate() {
            if let LogLine::Text(t) = l {
                out.extend(crate::text::find_ci(t, q).into_iter().map(|range| Hit { line: i, range }));
            }
        }
        out
    }

    /// The first line shown in a box of `rows` lines.
    pub fn log_top(&self, rows: usize) -> usize {
        let n = self.log_lines().len();
        let last_page = n.saturating_sub(rows);
        if self.log.follow { last_page } else { self.log.top.min(last_page) }
    }

    /// Scroll the log by `d` lines (a box of about `page` rows); at the end it follows.
    pub fn log_scroll(&mut self, d: i64) -> bool {
        let rows = self.page.max(1);
        let top = self.log_top(rows) as i64;
        let last_page = self.log_lines().len().saturating_sub(rows) as i64;
        let next = (top + d).clamp(0, last_page);
        let before = (self.log.top, self.log.follow);
        self.log.top = next as usize;
        self.log.follow = next >= last_page;
        before != (self.log.top, self.log.follow)
    }

    /// Go to the next (`d` = 1) or previous (-1) search hit, wrapping.
    pub fn next_hit(&mut self, d: i64) -> bool {
        let hits = self.log_hits();
        if hits.is_empty() {
            return false;
        }
        self.log.hit = (self.log.hit as i64 + d).rem_euclid(hits.len() as i64) as usize;
        self.show_hit(&hits);
        true
    }

    fn show_hit(&mut self, hits: &[Hit]) {
        if let Some(h) = hits.get(self.log.hit) {
            self.log.follow = false;
            self.log.top = h.line.saturating_sub(self.page.max(1) / 2);
        }
    }

    /// A key while the search line is typed into.
    pub fn search_key(&mut self, key: KeyEvent) -> bool {
        match key.code {
            KeyCode::Enter => {
                self.log.editing = false;
                if self.log.query().is_empty() {
                    self.log.search = None;
                }
                true
            }
            KeyCode::Esc => {
                self.log.editing = false;
                self.log.search = None;
                true
            }
            _ => {
                let changed = self.log.search.as_mut().is_some_and(|s| s.input(key));
                if changed {
                    self.search_moved();
                }
                changed
            }
        }
    }

    /// Pasted into the search line.
    pub fn search_paste(&mut self, text: &str) -> bool {
        let changed = self.log.search.as_mut().is_some_and(|s| s.paste(text));
        if changed {
            self.search_moved();
        }
        changed
    }

    /// The query changed: the first hit is the current one.
    fn search_moved(&mut self) {
        self.log.hit = 0;
        let hits = self.log_hits();
        self.show_hit(&hits);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Text of odd Unicode: wide CJK and emoji, combining marks, a ZWJ
    /// sequence, letters whose case folds change their length, and ASCII.
    fn odd() -> impl Strategy<Value = String> {
        let parts = prop::sample::select(vec![
            "a",
            "A",
            "ab",
            " ",
            "界",
            "👍",
            "👩‍💻",
            "e\u{301}",
            "\u{301}",
            "İ",
            "ß",
            "ẞ",
            "K",
            "Ω",
            "x",
            "\t",
        ]);
        prop::collection::vec(parts, 0..24).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn hits_and_their_windows_are_on_char_boundaries(line in odd(), q in odd(), width in 1usize..40) {
            for r in crate::text::find_ci(&line, &q) {
                prop_assert!(line.is_char_boundary(r.start) && line.is_char_boundary(r.end), "{r:?} in {line:?}");
                let from = hit_window(&line, &r, width);
                prop_assert!(from <= r.start && line.is_char_boundary(from));
                // The hit is seen from its start: as much of it as fits.
                if from > 0 {
                    let before = crate::text::width(&line[from..r.start]);
                    prop_assert!(before < width, "the hit starts inside the window");
                }
            }
        }
    }

    #[test]
    fn a_hit_past_the_right_edge_is_brought_into_the_window() {
        let line = format!("{}needle", "x".repeat(50));
        let hit = 50..56;
        let from = hit_window(&line, &hit, 20);
        assert_eq!(crate::text::width(&line[from..hit.end]), 19, "the hit ends at the right edge, after a `…`");
        assert_eq!(hit_window(&line, &(0..1), 20), 0, "a hit that fits leaves the line as it is");
        // Wide characters: the window never splits one.
        let wide = format!("{}界needle", "界".repeat(20));
        let start = wide.find("needle").unwrap();
        let from = hit_window(&wide, &(start..start + 6), 11);
        assert!(wide.is_char_boundary(from));
        assert!(crate::text::width(&wide[from..start + 6]) <= 10);
    }
}
