//! Moving around the pane: selections, opening a workflow's runs, a run's
//! detail and a step's log, the state filter, the log's search and follow.

use super::WorkflowsState;
use crate::app::input::LineInput;
use crate::app::{BoxId, UserAction, list};

impl WorkflowsState {
    /// A bound action that only moves or shows (no command): whether
    /// anything changed, and the box to focus after it. `None` when the
    /// action is not one of these.
    pub fn nav(&mut self, a: UserAction, focus: BoxId) -> Option<(bool, Option<BoxId>)> {
        use UserAction as U;
        let page = self.page.max(1);
        match (a, focus) {
            (U::PageUp | U::PageDown, BoxId::WfDetail) => {
                let d = if a == U::PageUp { -(page as i64) / 2 } else { page as i64 / 2 };
                let before = self.json_scroll;
                self.json_scroll = (self.json_scroll as i64 + d).max(0) as usize;
                return Some((before != self.json_scroll, None));
            }
            (U::Up | U::Down | U::PageUp | U::PageDown, BoxId::WfLog) => {
                let d = match a {
                    U::Up => -1,
                    U::Down => 1,
                    U::PageUp => -(page as i64),
                    _ => page as i64,
                };
                return Some((self.log_scroll(d), None));
            }
            (U::Top, BoxId::WfLog) => {
                let changed = self.log.follow || self.log.top != 0;
                self.log.follow = false;
                self.log.top = 0;
                return Some((changed, None));
            }
            (U::Bottom | U::FollowLog, BoxId::WfLog) | (U::FollowLog, _) => {
                let changed = !self.log.follow;
                self.log.follow = true;
                return Some((changed, None));
            }
            _ => {}
        }
        if list::is_motion(a) {
            let moved = match focus {
                BoxId::WfList => {
                    // Problem rows first, then the workflows: one list.
                    let np = self.problems.len();
                    let mut row = self.problem_sel.unwrap_or(np + self.wf_sel);
                    let moved = list::apply(a, &mut row, np + self.workflows.len(), page);
                    (self.problem_sel, self.wf_sel) =
                        if row < np { (Some(row), self.wf_sel) } else { (None, row - np) };
                    moved
                }
                BoxId::WfRuns => {
                    let n = self.run_rows().len();
                    list::apply(a, &mut self.runs_sel, n, page)
                }
                BoxId::WfDetail => {
                    let n = self.opened().map_or(0, |r| r.steps.len());
                    let moved = list::apply(a, &mut self.step_sel, n, page);
                    if moved == Some(true) {
                        self.step_chosen_here();
                    }
                    moved
                }
                _ => None,
            }?;
            return Some((moved, None));
        }
        Some(match (a, focus) {
            (U::Confirm, BoxId::WfList) => {
                let Some((src, w)) = self.selected_workflow() else { return Some((false, None)) };
                self.runs_of = Some((src.clone(), w.name.clone()));
                self.runs_sel = 0;
                (true, Some(BoxId::WfRuns))
            }
            (U::Confirm, BoxId::WfRuns) => {
                let Some(r) = self.selected_run() else { return Some((false, None)) };
                let key = (r.source.clone(), r.run.id);
                self.open_run(key);
                (true, Some(BoxId::WfDetail))
            }
            (U::Confirm, BoxId::WfDetail) if self.selected_step().is_some() => (true, Some(BoxId::WfLog)),
            (U::Close, BoxId::WfLog) if self.log.search.is_some() => {
                self.log.search = None;
                (true, None)
            }
            (U::Close, BoxId::WfRuns) if self.runs_of.is_some() => {
                self.runs_of = None;
                self.runs_sel = 0;
                (true, None)
            }
            (U::Close, BoxId::WfDetail | BoxId::WfLog) => (true, Some(BoxId::WfRuns)),
            (U::RunStateFilter, _) => {
                self.state_filter = self.state_filter.next();
                self.runs_sel = 0;
                (true, (focus == BoxId::WfList).then_some(BoxId::WfRuns))
            }
            (U::RunTimeFilter, _) => {
                self.time_filter = self.time_filter.next();
                self.runs_sel = 0;
                (true, (focus == BoxId::WfList).then_some(BoxId::WfRuns))
            }
            (U::FailedLogsToggle, _) if self.open.is_some() => {
                self.log.failed_only = !self.log.failed_only;
                self.log.follow = !self.log.failed_only;
                self.log.top = 0;
                self.log.hit = 0;
                (true, Some(BoxId::WfLog))
            }
            (U::Filter, BoxId::WfDetail | BoxId::WfLog) if self.open.is_some() => {
                self.log.search = Some(LineInput::new("search the log"));
                self.log.editing = true;
                self.log.hit = 0;
                (true, Some(BoxId::WfLog))
            }
            (U::AttemptPrev | U::AttemptNext, BoxId::WfDetail | BoxId::WfLog) => {
                (self.cycle_attempt(if a == U::AttemptNext { 1 } else { -1 }), None)
            }
            (U::SearchNext | U::SearchPrev, BoxId::WfDetail | BoxId::WfLog) => {
                (self.next_hit(if a == U::SearchNext { 1 } else { -1 }), Some(BoxId::WfLog))
            }
            _ => return None,
        })
    }

    /// Show run `key`'s detail (its latest attempt) at the step that needs
    /// attention, its log following.
    pub fn open_run(&mut self, key: (String, crate::protocol::workflow::RunId)) {
        if self.open.as_ref() != Some(&key) {
            self.open = Some(key);
            self.past = None;
            self.step_sel = 0;
            self.step_chosen = None;
            self.log.failed_only = false;
            self.step_moved();
            self.reselect();
        }
    }

    /// The user selected the step at `step_sel` themselves: it stays
    /// selected as the run goes on (and across its attempts).
    pub fn step_chosen_here(&mut self) {
        self.step_chosen = self.selected_step().map(|s| s.id.clone());
        self.step_moved();
    }

    /// The open run's step that needs attention: the first waiting for a
    /// person, else the first that failed, else the first running (or
    /// retrying), else the first.
    pub fn attention_step(&self) -> usize {
        use crate::protocol::workflow::RunState;
        let Some(r) = self.opened() else { return 0 };
        let at = |st: &[RunState]| r.steps.iter().position(|s| st.contains(&s.state));
        at(&[RunState::Waiting])
            .or_else(|| at(&[RunState::Failed]))
            .or_else(|| at(&[RunState::Running, RunState::Retrying]))
            .unwrap_or(0)
    }

    /// After the open run's steps changed: the step the user chose stays
    /// selected (found by id); until they chose one, the step that needs
    /// attention is selected.
    pub fn reselect(&mut self) {
        let Some(r) = self.opened() else { return };
        let want = match &self.step_chosen {
            Some(id) => match r.steps.iter().position(|s| &s.id == id) {
                Some(i) => i,
                None => return,
            },
            None => self.attention_step(),
        };
        if want != self.step_sel {
            self.step_sel = want;
            self.step_moved();
        }
    }

    /// Another step is selected: its JSON from the top, its log at the end.
    pub(super) fn step_moved(&mut self) {
        self.json_scroll = 0;
        self.log.follow = true;
        self.log.top = 0;
        self.log.hit = 0;
    }
}
