//! The pane's jq work, kept off the UI thread: the chain popup's live preview
//! asks the runtime for an evaluation (`Effect::Jq`, run in a jq worker
//! process under a time budget) and takes the answer (`ToolsAction::Jq`) only
//! if it is the one it still waits for. (The links of a saved chain being run
//! are evaluated by the engine's chain executor.) Also how a step of a chain
//! being built joins it: only when its run succeeded, with exactly the
//! arguments it ran with.

use super::chain;
use super::{Out, Preview, ToolsPopup, ToolsState};
use crate::app::Effect;

/// Where a jq evaluation belongs; a new job in a slot cancels the one before
/// (latest wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JqSlot {
    /// The live preview of the chain popup.
    Preview,
}

/// Time budget of a preview evaluation (the popup says "too slow" after it).
pub const PREVIEW_TIMEOUT_MS: u64 = 2_000;

impl ToolsState {
    /// A new jq job number.
    pub(super) fn next_job(&mut self) -> u64 {
        self.jobs += 1;
        self.jobs
    }

    /// After every update: ask for the preview of an open chain popup whose
    /// filter changed (the runtime cancels the evaluation before it), and
    /// cancel a preview nobody shows any more (the popup was closed). Returns
    /// whether the screen changed.
    pub fn schedule_preview(&mut self, popup: Option<&mut ToolsPopup>, effects: &mut Vec<Effect>) -> bool {
        if let Some(ToolsPopup::ChainFilter { result, input, preview, .. }) = popup {
            match preview {
                Preview::Stale => {
                    let job = self.next_job();
                    *preview = Preview::Evaluating { job };
                    self.preview_job = Some(job);
                    effects.push(Effect::Jq {
                        slot: JqSlot::Preview,
                        job,
                        filter: chain::filter_or_all(input.text()),
                        input: result.clone(),
                        timeout_ms: PREVIEW_TIMEOUT_MS,
                    });
                    return true;
                }
                Preview::Evaluating { job } if self.preview_job == Some(*job) => return false,
                _ => {}
            }
        }
        if self.preview_job.take().is_some() {
            effects.push(Effect::CancelJq { slot: JqSlot::Preview });
        }
        false
    }

    /// A run ended: if it is the linked form's run of the chain being built,
    /// its step joins the chain now (replacing an earlier run of the same
    /// step), or, if it failed, stays out of it.
    pub(super) fn building_step_ended(&mut self, run: u64, ok: bool, out: &mut Out) {
        let Some(b) = &mut self.building else { return };
        let Some((_, step)) = b.pending.take_if(|(id, _)| *id == run) else { return };
        if ok {
            b.chain.steps.truncate(b.form_at);
            b.chain.steps.push(step);
            b.last_run = run;
            out.notice = Some(format!("chain: {} (S saves it)", b.chain.summary()));
        } else {
            out.notice = Some(format!(
                "✗ {} failed, so it is not in the chain: fix its arguments and run it again (r)",
                step.tool
            ));
        }
    }
}
