//! Older runs, read lazily: the snapshot brings a source's newest runs; when
//! the runs list's selection reaches its last row, the pane asks each source
//! that may have older ones for the page before its oldest (`list_runs`
//! with `before`), until an answer holds fewer than asked or the pane holds
//! [`RUNS_KEPT`] runs.

use super::{RUNS_KEPT, WfRun, WorkflowsState};
use crate::app::BoxId;
use crate::protocol::workflow::{Run, RunId};

/// Runs asked for at a time.
pub const OLDER_PAGE: usize = 100;

/// One source's paging of its older runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Older {
    /// A `list_runs` is in flight.
    pub asking: bool,
    /// An answer held fewer runs than asked (or failed): ask no more.
    pub done: bool,
}

impl WorkflowsState {
    /// A page of older runs is on its way from some source.
    pub fn loading_older(&self) -> bool {
        self.older.values().any(|o| o.asking)
    }

    /// `(source, before)` of each page to ask for now: the runs list (`at`,
    /// the box focused or scrolled with the wheel) has its last row
    /// selected — however it got there — and the source may have runs older
    /// than its oldest here (whose number is `before`).
    pub fn older_wanted(&self, at: BoxId) -> Vec<(String, RunId)> {
        let rows = self.run_rows().len();
        if at != BoxId::WfRuns || rows == 0 || self.runs_sel + 1 < rows || self.runs.len() >= RUNS_KEPT {
            return Vec::new();
        }
        self.seen
            .iter()
            .filter(|src| self.older.get(*src).is_none_or(|o| !o.asking && !o.done))
            .filter_map(|src| {
                let oldest = self.runs.iter().filter(|r| &r.source == src).map(|r| r.run.id).min()?;
                // Runs are numbered from 1: nothing is older than #1.
                (oldest > 1).then(|| (src.clone(), oldest))
            })
            .collect()
    }

    /// A page was asked for from `src`.
    pub fn older_asked(&mut self, src: &str) {
        self.older.entry(src.to_string()).or_default().asking = true;
    }

    /// A `list_runs` answer of `limit` asked: its runs join the list (those
    /// it has already are left as they are), up to [`RUNS_KEPT`] in all.
    pub fn older_answered(&mut self, src: &str, runs: Vec<Run>, limit: usize) {
        let o = self.older.entry(src.to_string()).or_default();
        o.asking = false;
        o.done = runs.len() < limit;
        for run in runs {
            if self.runs.len() >= RUNS_KEPT {
                self.older.entry(src.to_string()).or_default().done = true;
                break;
            }
            if self.find(src, run.id).is_none() {
                self.insert(WfRun::new(src, run));
            }
        }
        self.clamp();
    }

    /// A `list_runs` failed: ask that source no more (the notice says why).
    pub fn older_failed(&mut self, src: &str) {
        let o = self.older.entry(src.to_string()).or_default();
        o.asking = false;
        o.done = true;
    }
}
