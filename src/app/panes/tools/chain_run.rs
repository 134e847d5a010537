//! Saved chains run in the engine's chain executor, not here: `r` on a saved
//! chain asks for it with one `Effect::RunChain` (after the confirmation its
//! mutating steps need), `x` stops it with `Effect::CancelChain`, and the
//! executor's reports come back as [`ToolsAction::Chain`](super::ToolsAction):
//! each step's run is opened in the pane as it starts, its output and its
//! record shown as any run's, and the status bar says how the chain goes.

use serde_json::Value;

use super::chain::{self, Chain};
use super::{Out, ToolsAction, ToolsPopup, ToolsState};
use crate::app::Effect;
use crate::protocol::tools::ToolRun;

/// What the engine's chain executor reports about a chain the pane started.
#[derive(Debug, Clone, PartialEq)]
pub enum ChainUpdate {
    /// Step `step` (from 1) of `steps` started with `args`.
    Step { step: usize, steps: usize, tool: String, args: Value },
    /// Lines step `step`'s run printed.
    Output { step: usize, lines: Vec<String> },
    /// Step `step`'s run ended; the record is what the history keeps.
    Finished { step: usize, record: ToolRun },
    /// Step `step`'s link `filter` is being evaluated over the result before it.
    Selecting { step: usize, steps: usize, tool: String, filter: String },
    /// The chain ended: `Ok(steps)` when every step succeeded, else the
    /// sentence that says where and why it stopped.
    Ended(Result<usize, String>),
}

/// A saved chain running in the engine, as the pane follows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningChain {
    /// The pane's id for this run of the chain (`Effect::RunChain`'s `chain_run`).
    pub id: u64,
    /// The chain's name.
    pub name: String,
    /// The pane's run of each step started so far, in order.
    pub runs: Vec<u64>,
}

impl ToolsState {
    /// The steps of `chain` whose tool changes things (or is not known now,
    /// so cannot be vouched for).
    pub fn mutating_steps<'a>(&self, chain: &'a Chain) -> Vec<&'a str> {
        chain.steps.iter().filter(|s| self.tool(&s.tool).is_none_or(|t| t.mutating)).map(|s| s.tool.as_str()).collect()
    }

    /// `r` on saved chain `i`: refused under `--read-only` when a step
    /// changes things, confirmed first when one does, else started.
    pub fn run_chain(&mut self, i: usize, out: &mut Out) -> bool {
        let Some(chain) = self.chains.get(i).cloned() else { return false };
        let mutating = self.mutating_steps(&chain);
        if !mutating.is_empty() && out.read_only {
            out.notice = Some(format!("✗ chain {} has steps that change things; opsdeck runs --read-only", chain.name));
            return true;
        }
        if !mutating.is_empty() {
            out.popup = Some(ToolsPopup::confirm_chain(i, &chain, &mutating));
            return true;
        }
        self.start_chain(chain, false, out);
        true
    }

    /// Ask the engine to run `chain` (its steps come back as they start).
    pub fn start_chain(&mut self, chain: Chain, confirmed: bool, out: &mut Out) {
        if chain.steps.is_empty() {
            return;
        }
        self.chains_started += 1;
        let id = self.chains_started;
        out.notice = Some(format!("chain {}: starting ({})", chain.name, chain.summary()));
        self.chain_runs.push(RunningChain { id, name: chain.name.clone(), runs: Vec::new() });
        out.effects.push(Effect::RunChain { chain_run: id, chain, confirmed });
    }

    /// The running chain whose step is run `run`.
    pub(super) fn chain_of_run(&self, run: u64) -> Option<&RunningChain> {
        self.chain_runs.iter().find(|c| c.runs.contains(&run))
    }

    /// `x` on a chain's step run, or while a chain selects its next step's
    /// input: the engine cancels the step (or the link) and starts no other.
    pub(super) fn cancel_chain(&self, chain: &RunningChain, out: &mut Out) {
        out.effects.push(Effect::CancelChain { chain_run: chain.id });
        out.notice = Some(format!("cancelling chain {}", chain.name));
    }

    /// A report of the engine about chain `chain_run`; reports of a chain the
    /// pane does not follow are dropped.
    pub(super) fn chain_update(&mut self, chain_run: u64, event: ChainUpdate, out: &mut Out) -> bool {
        let Some(at) = self.chain_runs.iter().position(|c| c.id == chain_run) else { return false };
        let step_run = |c: &RunningChain, step: usize| step.checked_sub(1).and_then(|i| c.runs.get(i)).copied();
        match event {
            ChainUpdate::Step { step, steps, tool, args } => {
                let run = self.open_run(&tool, args, out.now);
                let c = &mut self.chain_runs[at];
                c.runs.push(run);
                out.notice = Some(chain::step_notice(&c.name, step, steps, &tool));
                true
            }
            ChainUpdate::Output { step, lines } => match step_run(&self.chain_runs[at], step) {
                Some(run) => self.update(ToolsAction::Output { run, lines }, out),
                None => false,
            },
            ChainUpdate::Finished { step, record } => match step_run(&self.chain_runs[at], step) {
                Some(run) => self.update(ToolsAction::Finished { run, record }, out),
                None => false,
            },
            ChainUpdate::Selecting { step, steps, tool, filter } => {
                out.notice = Some(chain::selecting_notice(&self.chain_runs[at].name, step, steps, &tool, &filter));
                true
            }
            ChainUpdate::Ended(result) => {
                let c = self.chain_runs.remove(at);
                out.notice = Some(match result {
                    Ok(n) => chain::finished_notice(&c.name, n),
                    Err(why) => why,
                });
                true
            }
        }
    }
}
