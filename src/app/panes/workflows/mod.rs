//! The workflows pane (issue 12, pane 2): the workflows every source can
//! start, their runs (newest first, filtered by workflow and state), a run's
//! steps, and a step's log. Pure state fed by the `workflows` topic's events
//! and by the answers of the read-only `show_run` / `step_log` commands.

pub mod attempts;
pub mod compare;
pub mod edit;
mod ingest;
pub mod log;
pub mod nav;
pub mod older;
pub mod popup;
pub mod rerun;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_compare;
pub mod time;
pub mod versions;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::protocol::Ts;
use crate::protocol::workflow::{Run, RunId, RunState, StepRun, WorkflowInfo};
pub use compare::{CmpRow, Compare, Side};
pub use log::{Hit, LogLine, LogView, hit_window};
pub use older::Older;
pub use popup::WfPopup;
pub use time::TimeFilter;
pub use versions::{SIDEWAYS_STEP, Shown, VersionRow, Versions};

/// Runs kept (the snapshot sends the newest 200; live ones and pages of
/// older ones read as the list is scrolled to its end add to them). A run
/// without its steps is a few hundred bytes: well under 1 MiB in all.
pub const RUNS_KEPT: usize = 1_000;
/// Lines kept of one step's log.
pub const LOG_LINES_KEPT: usize = 10_000;
/// Ended runs a workflow's success rate and sparkline are taken from.
pub const RECENT_RUNS: usize = 20;
/// Failed runs count in the status bar this long after they ended (24 h).
pub const FAILED_COUNTED_MS: Ts = 24 * 3_600_000;

/// Which runs the runs list shows (cycled with `run_state_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateFilter {
    #[default]
    All,
    /// Queued, running, waiting or retrying.
    Active,
    Waiting,
    Failed,
    Interrupted,
    Succeeded,
    Cancelled,
}

impl StateFilter {
    pub const ALL: [StateFilter; 7] = [
        StateFilter::All,
        StateFilter::Active,
        StateFilter::Waiting,
        StateFilter::Failed,
        StateFilter::Interrupted,
        StateFilter::Succeeded,
        StateFilter::Cancelled,
    ];

    pub fn word(self) -> &'static str {
        match self {
            StateFilter::All => "all",
            StateFilter::Active => "active",
            StateFilter::Waiting => "waiting",
            StateFilter::Failed => "failed",
            StateFilter::Interrupted => "interrupted",
            StateFilter::Succeeded => "succeeded",
            StateFilter::Cancelled => "cancelled",
        }
    }

    pub fn keeps(self, s: RunState) -> bool {
        match self {
            StateFilter::All => true,
            StateFilter::Active => s.is_active(),
            StateFilter::Waiting => s == RunState::Waiting,
            StateFilter::Failed => s == RunState::Failed,
            StateFilter::Interrupted => s == RunState::Interrupted,
            StateFilter::Succeeded => s == RunState::Succeeded,
            StateFilter::Cancelled => s == RunState::Cancelled,
        }
    }

    pub fn next(self) -> StateFilter {
        let i = Self::ALL.iter().position(|f| *f == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }
}

/// One run as the pane knows it: the header of its latest attempt, that
/// attempt's steps, and the log lines of its steps.
#[derive(Debug, Clone)]
pub struct WfRun {
    pub source: String,
    pub run: Run,
    /// Steps of `run.attempt`, in the definition's order.
    pub steps: Vec<StepRun>,
    /// `steps` holds every step (from the snapshot or a `show_run` answer);
    /// else only those that changed since the pane saw the attempt.
    pub steps_loaded: bool,
    /// Log lines per step id (live output, or the stored log once read).
    pub logs: BTreeMap<String, Vec<String>>,
    /// Steps whose stored log was asked for (asked once per attempt).
    pub logs_asked: BTreeSet<String>,
}

impl WfRun {
    pub fn new(source: &str, run: Run) -> WfRun {
        WfRun {
            source: source.to_string(),
            run,
            steps: Vec::new(),
            steps_loaded: false,
            logs: BTreeMap::new(),
            logs_asked: BTreeSet::new(),
        }
    }

    pub fn step(&self, id: &str) -> Option<&StepRun> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The first step waiting for an approval.
    pub fn waiting_step(&self) -> Option<&StepRun> {
        self.steps.iter().find(|s| s.state == RunState::Waiting)
    }
}

/// A read or action in flight whose answer the pane uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    /// `show_run`: the run's steps (of `attempt`; `None`: the latest).
    Show { source: String, run: RunId, attempt: Option<u32> },
    /// `step_log`: a step's stored log.
    Log { source: String, run: RunId, attempt: u32, step: String },
    /// `show_run` for the rerun-with-inputs form of a run whose step states
    /// were not read (which steps failed decides what reruns): the form
    /// opens when it is answered.
    ShowForRerun { source: String, run: RunId },
    /// `start_run`: the new run is opened when it is answered.
    Start { source: String, workflow: String },
    /// `resume_run` without `rerun_unsafe`: a refusal about a non-idempotent
    /// step offers to resume with it.
    Resume { source: String, run: RunId },
    /// `list_runs` of `limit` older runs: they join the runs list.
    Older { source: String, limit: usize },
    /// `list_versions` of the workflow the versions box shows.
    Versions,
    /// `show_version` for the versions box.
    Version,
}

/// Summary of a workflow's recent runs for the list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkflowStats {
    pub last: Option<RunState>,
    /// Succeeded out of ended (`None` before any ended).
    pub success: Option<(usize, usize)>,
    /// Durations (ms) of the recent ended runs, oldest first.
    pub durations: Vec<i64>,
    pub runs: usize,
}

#[derive(Debug, Clone, Default)]
pub struct WorkflowsState {
    /// (source, workflow) sorted by name, then source.
    pub workflows: Vec<(String, WorkflowInfo)>,
    /// (source, `path:line:col: what`) of the files a source left out;
    /// rows of the workflows list above the workflows.
    pub problems: Vec<(String, String)>,
    /// The problem row selected in the workflows list (else a workflow is).
    pub problem_sel: Option<usize>,
    /// Newest first.
    pub runs: Vec<WfRun>,
    /// Sources that sent their workflows.
    pub seen: BTreeSet<String>,
    pub wf_sel: usize,
    pub runs_sel: usize,
    /// Show only the runs of this workflow (source, name).
    pub runs_of: Option<(String, String)>,
    pub state_filter: StateFilter,
    pub time_filter: TimeFilter,
    /// The clock of the last update (the time filter is relative to it).
    pub now: Ts,
    /// Paging of older runs, by source.
    pub older: BTreeMap<String, Older>,
    /// The run whose detail is shown (source, id).
    pub open: Option<(String, RunId)>,
    /// An earlier attempt of the open run shown instead of its latest (its
    /// header, steps and logs, read with `show_run`/`step_log` and `attempt`).
    pub past: Option<WfRun>,
    pub step_sel: usize,
    /// The step the user selected themselves in the open run (by id): kept
    /// selected; until then the step that needs attention is.
    pub step_chosen: Option<String>,
    /// Lines scrolled in the selected step's arguments and outputs.
    pub json_scroll: usize,
    pub log: LogView,
    /// Commands in flight whose answers the pane uses, by command id.
    pub asked: HashMap<String, Asked>,
    /// Rows a page key moves (from the terminal's height).
    pub page: usize,
    /// The editor command line for `edit_workflow` (set by the runtime from
    /// `$EDITOR`/`$VISUAL`; empty: `vi`).
    pub editor: String,
    /// The run marked to compare another with (source, id).
    pub mark: Option<(String, RunId)>,
    /// Two runs side by side.
    pub compare: Option<Compare>,
    /// A workflow's versions.
    pub versions: Option<Versions>,
}

impl WorkflowsState {
    /// Indices into `runs` of the rows of the runs list.
    pub fn run_rows(&self) -> Vec<usize> {
        self.runs
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                self.state_filter.keeps(r.run.state)
                    && self.time_filter.keeps(r.run.created, self.now)
                    && self.runs_of.as_ref().is_none_or(|(src, w)| &r.source == src && &r.run.workflow == w)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The selected workflow (none while a problem row is selected).
    pub fn selected_workflow(&self) -> Option<&(String, WorkflowInfo)> {
        if self.problem_sel.is_some() {
            return None;
        }
        self.workflows.get(self.wf_sel)
    }

    /// The selected problem row: (source, `path:line:col: what`).
    pub fn selected_problem(&self) -> Option<&(String, String)> {
        self.problems.get(self.problem_sel?)
    }

    /// Why `s` starts nothing: the list (`in_list`: focused) has a problem
    /// row selected, or no workflow is selected there.
    pub fn nothing_to_start(&self, in_list: bool) -> &'static str {
        if in_list && self.selected_problem().is_some() {
            "the selected row is a file left out: Enter shows why, E opens it"
        } else {
            "select a workflow in the workflows list to start it"
        }
    }

    /// The run selected in the runs list.
    pub fn selected_run(&self) -> Option<&WfRun> {
        self.run_rows().get(self.runs_sel).and_then(|i| self.runs.get(*i))
    }

    pub fn find(&self, source: &str, id: RunId) -> Option<&WfRun> {
        self.runs.iter().find(|r| r.source == source && r.run.id == id)
    }

    pub(crate) fn find_mut(&mut self, source: &str, id: RunId) -> Option<&mut WfRun> {
        self.runs.iter_mut().find(|r| r.source == source && r.run.id == id)
    }

    /// More than one source sent workflows (rows and titles name the source).
    /// How run `id` of `source` is named in messages: `#12`, or its name
    /// on another orchestrator (a Prefect flow run's).
    pub fn run_name(&self, source: &str, id: RunId) -> String {
        self.runs
            .iter()
            .find(|r| r.source == source && r.run.id == id)
            .and_then(|r| r.run.external.as_ref())
            .map_or_else(|| format!("#{id}"), |x| x.name.clone())
    }

    pub fn sources_shown(&self) -> bool {
        self.seen.len() > 1
    }

    /// The run whose detail is open, as shown: the attempt chosen with
    /// `attempt_prev`/`attempt_next`, else its latest.
    pub fn opened(&self) -> Option<&WfRun> {
        let (src, id) = self.open.as_ref()?;
        match &self.past {
            Some(p) if &p.source == src && p.run.id == *id => Some(p),
            _ => self.find(src, *id),
        }
    }

    /// The open run's latest attempt (whatever attempt is shown).
    pub fn opened_latest(&self) -> Option<&WfRun> {
        let (src, id) = self.open.as_ref()?;
        self.find(src, *id)
    }

    /// The pane's copy of attempt `attempt` of a run: its latest, or the
    /// earlier attempt shown.
    pub(crate) fn attempt_mut(&mut self, source: &str, id: RunId, attempt: u32) -> Option<&mut WfRun> {
        let past = self.past.as_ref().is_some_and(|p| p.source == source && p.run.id == id && p.run.attempt == attempt);
        if past {
            return self.past.as_mut();
        }
        self.find_mut(source, id).filter(|r| r.run.attempt == attempt)
    }

    /// The step selected in the open run's detail.
    pub fn selected_step(&self) -> Option<&StepRun> {
        self.opened()?.steps.get(self.step_sel)
    }

    /// The definition of a run's workflow on its source, if it still has it.
    pub fn workflow_of(&self, source: &str, name: &str) -> Option<&WorkflowInfo> {
        self.workflows.iter().find(|(s, w)| s == source && w.name == name).map(|(_, w)| w)
    }

    /// Last state, success rate and recent durations of a workflow's runs.
    pub fn stats(&self, source: &str, name: &str) -> WorkflowStats {
        let mine: Vec<&Run> =
            self.runs.iter().filter(|r| r.source == source && r.run.workflow == name).map(|r| &r.run).collect();
        let ended: Vec<&Run> = mine
            .iter()
            .copied()
            .filter(|r| r.state.is_final() && r.state != RunState::Interrupted)
            .take(RECENT_RUNS)
            .collect();
        let ok = ended.iter().filter(|r| r.state == RunState::Succeeded).count();
        WorkflowStats {
            last: mine.first().map(|r| r.state),
            success: (!ended.is_empty()).then_some((ok, ended.len())),
            durations: ended.iter().rev().filter_map(|r| r.duration_ms(r.ended.unwrap_or(0))).collect(),
            runs: mine.len(),
        }
    }

    /// Runs in flight (queued, running, retrying), waiting for an approval,
    /// and failed within the last [`FAILED_COUNTED_MS`]: the status bar's counts.
    pub fn counts(&self, now: Ts) -> (usize, usize, usize) {
        let (mut running, mut waiting, mut failed) = (0, 0, 0);
        for r in &self.runs {
            match r.run.state {
                RunState::Waiting => waiting += 1,
                s if s.is_active() => running += 1,
                RunState::Failed if r.run.ended.is_none_or(|e| now - e < FAILED_COUNTED_MS) => failed += 1,
                _ => {}
            }
        }
        (running, waiting, failed)
    }

    /// Keep the selections inside their lists after the lists changed.
    pub(crate) fn clamp(&mut self) {
        self.wf_sel = self.wf_sel.min(self.workflows.len().saturating_sub(1));
        self.problem_sel = self.problem_sel.filter(|p| *p < self.problems.len());
        if self.workflows.is_empty() && !self.problems.is_empty() && self.problem_sel.is_none() {
            self.problem_sel = Some(0);
        }
        self.runs_sel = self.runs_sel.min(self.run_rows().len().saturating_sub(1));
        let steps = self.opened().map_or(0, |r| r.steps.len());
        self.step_sel = self.step_sel.min(steps.saturating_sub(1));
        self.reselect();
    }

    /// Stored logs to ask for now: the selected step's once it ended, or
    /// every failed step's while "failed steps only" is on.
    pub fn logs_wanted(&self) -> Vec<(String, RunId, u32, String)> {
        let Some(r) = self.opened() else { return Vec::new() };
        let ended = |s: &&StepRun| s.state.is_final() && s.started.is_some() && !r.logs_asked.contains(&s.id);
        let wanted: Vec<&StepRun> = if self.log.failed_only {
            r.steps.iter().filter(|s| s.state == RunState::Failed).filter(ended).collect()
        } else {
            self.selected_step().into_iter().filter(ended).collect()
        };
        wanted.into_iter().map(|s| (r.source.clone(), r.run.id, r.run.attempt, s.id.clone())).collect()
    }
}
