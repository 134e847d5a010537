//! Earlier attempts of the open run: `attempt_prev`/`attempt_next` cycle the
//! attempt the detail and log show. The latest is the run's own record; an
//! earlier one is a copy read with `show_run` and `step_log` with its
//! `attempt`, kept in [`WorkflowsState::past`] while it is shown.

use super::{WfRun, WorkflowsState};
use crate::protocol::workflow::{Run, RunDetail, RunState};

impl WorkflowsState {
    /// `(shown, of)`: the attempt the detail shows and the open run's latest.
    pub fn attempt_shown(&self) -> Option<(u32, u32)> {
        let latest = self.opened_latest()?.run.attempt;
        Some((self.opened()?.run.attempt, latest))
    }

    /// Show the open run's attempt `d` away from the shown one (wrapping
    /// past the first and the latest). Whether another attempt is shown.
    pub fn cycle_attempt(&mut self, d: i64) -> bool {
        let Some((shown, of)) = self.attempt_shown() else { return false };
        if of <= 1 {
            return false;
        }
        let next = ((i64::from(shown) - 1 + d).rem_euclid(i64::from(of)) + 1) as u32;
        self.show_attempt(next);
        next != shown
    }

    /// Show attempt `n` of the open run (its latest: the live record).
    pub fn show_attempt(&mut self, n: u32) {
        let Some(latest) = self.opened_latest() else { return };
        self.past = (n < latest.run.attempt).then(|| {
            // Only what is known of it before `show_run` answers: which run and attempt.
            let run = Run {
                attempt: n,
                state: RunState::Queued,
                started: None,
                ended: None,
                error: None,
                ..latest.run.clone()
            };
            WfRun::new(&latest.source, run)
        });
        self.log.failed_only = false;
        self.step_moved();
        self.step_sel = 0;
        self.reselect();
    }

    /// A `show_run` answer for an earlier attempt: the attempt shown, if it is that one.
    pub fn past_answered(&mut self, src: &str, d: RunDetail) {
        if let Some(p) = &mut self.past
            && p.source == src
            && p.run.id == d.run.id
            && p.run.attempt == d.run.attempt
        {
            p.steps = super::ingest::order(&d.run, d.steps);
            p.run = d.run;
            p.steps_loaded = true;
            self.clamp();
        }
    }
}
