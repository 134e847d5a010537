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
                        self.step_moved();
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
            (U::SearchNext | U::SearchPrev, BoxId::WfDetail | BoxId::WfLog) => {
                (self.next_hit(if a == U::SearchNext { 1 } else { -1 }), Some(BoxId::WfLog))
            }
            _ => return None,
        })
    }

    /// Show run `key`'s detail from its first step, its log following.
    pub fn open_run(&mut self, key: (String, crate::protocol::workflow::RunId)) {
        if self.open.as_ref() != Some(&key) {
            self.open = Some(key);
            self.step_sel = 0;
            self.log.failed_only = false;
            self.pick_step();
        }
    }

    /// Select the open run's step that needs a look: the one waiting for a
    /// person, else the one that failed, else the first.
    pub fn pick_step(&mut self) {
        use crate::protocol::workflow::RunState;
        let Some(r) = self.opened() else { return };
        let at = |st: RunState| r.steps.iter().position(|s| s.state == st);
        self.step_sel = at(RunState::Waiting).or_else(|| at(RunState::Failed)).unwrap_or(0);
        self.step_moved();
    }

    /// Another step is selected: its JSON from the top, its log at the end.
    fn step_moved(&mut self) {
        self.json_scroll = 0;
        self.log.follow = true;
        self.log.top = 0;
        self.log.hit = 0;
    }
}
