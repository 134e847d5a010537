//! The step log box: the selected step's lines (live while it runs, the
//! stored log once it ended), or every failed step's one after the other
//! (`gh run view --log-failed`); search with `/`, `n`/`N`; follow at the end.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

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

    /// Lines (indices into [`Self::log_lines`]) that hold the search text.
    pub fn log_hits(&self) -> Vec<usize> {
        let q = self.log.query();
        if q.is_empty() {
            return Vec::new();
        }
        self.log_lines()
            .iter()
            .enumerate()
            .filter(|(_, l)| matches!(l, LogLine::Text(_)) && !crate::text::find_ci(l.text(), q).is_empty())
            .map(|(i, _)| i)
            .collect()
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

    fn show_hit(&mut self, hits: &[usize]) {
        if let Some(line) = hits.get(self.log.hit) {
            self.log.follow = false;
            self.log.top = line.saturating_sub(self.page.max(1) / 2);
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
