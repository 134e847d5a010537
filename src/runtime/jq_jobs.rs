//! jq evaluations for the app (`Effect::Jq`): one task per slot, each
//! evaluating in a jq worker process through [`JqRunner`], so the loop keeps
//! handling keys and signals while a filter runs. A new job in a slot aborts
//! the one before; aborting drops the future, which kills its worker.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::app::Action;
use crate::app::panes::tools::{JqSlot, ToolsAction};
use crate::jq::JqRunner;

/// The evaluation in flight per slot.
pub struct JqJobs {
    runner: JqRunner,
    inbox: mpsc::Sender<Action>,
    running: HashMap<JqSlot, AbortHandle>,
}

impl JqJobs {
    pub fn new(runner: JqRunner, inbox: mpsc::Sender<Action>) -> Self {
        JqJobs { runner, inbox, running: HashMap::new() }
    }

    /// Evaluate `filter` over `input` within `timeout`; the answer comes back
    /// as `ToolsAction::Jq { job, .. }`. The job in `slot` before is cancelled.
    pub fn start(&mut self, slot: JqSlot, job: u64, filter: String, input: Value, timeout: Duration) {
        self.cancel(slot);
        let (runner, inbox) = (self.runner.clone().with_timeout(timeout), self.inbox.clone());
        let task = tokio::spawn(async move {
            let result = runner.run(&filter, &input).await.map_err(|e| e.to_string());
            let _ = inbox.send(Action::Tools(ToolsAction::Jq { job, result })).await;
        });
        self.running.insert(slot, task.abort_handle());
    }

    /// Stop the evaluation in `slot`, if any (its worker is killed).
    pub fn cancel(&mut self, slot: JqSlot) {
        if let Some(h) = self.running.remove(&slot) {
            h.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_new_job_in_a_slot_cancels_the_one_before() {
        let (tx, mut rx) = mpsc::channel(8);
        let mut jobs = JqJobs::new(JqRunner::in_process(), tx);
        let input = serde_json::json!({"a": 1, "b": 2});
        let t = Duration::from_secs(5);
        jobs.start(JqSlot::Preview, 1, ".a".into(), input.clone(), t);
        jobs.start(JqSlot::Preview, 2, ".b".into(), input.clone(), t);
        jobs.start(JqSlot::ChainLink, 3, ".a".into(), input.clone(), t);
        let mut answers = Vec::new();
        for _ in 0..2 {
            let Some(Action::Tools(ToolsAction::Jq { job, result })) = rx.recv().await else { panic!("an answer") };
            answers.push((job, result));
        }
        answers.sort_by_key(|a| a.0);
        assert_eq!(answers, vec![(2, Ok(vec![serde_json::json!(2)])), (3, Ok(vec![serde_json::json!(1)]))]);
        jobs.start(JqSlot::Preview, 4, ".a".into(), input, t);
        jobs.cancel(JqSlot::Preview);
        drop(jobs);
        assert!(rx.recv().await.is_none(), "a cancelled job never answers");
    }
}
