//! jq evaluations for the app (`Effect::Jq`): one task per slot (the
//! executor's [`Tasks`](super::tasks::Tasks) under `TaskId::Jq(slot)`), each
//! evaluating in a jq worker process through [`JqRunner`], so the loop keeps
//! handling keys and signals while a filter runs. A new job in a slot aborts
//! the one before; aborting drops the future, which kills its worker.

use std::future::Future;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use super::Msg;
use crate::app::Action;
use crate::app::panes::tools::ToolsAction;
use crate::jq::JqRunner;

/// Evaluate `filter` over `input` within `timeout`; the answer comes back as
/// `ToolsAction::Jq { job, .. }`.
pub fn evaluate(
    runner: &JqRunner,
    job: u64,
    filter: String,
    input: Value,
    timeout: Duration,
    inbox: mpsc::Sender<Msg>,
) -> impl Future<Output = ()> + Send + 'static {
    let runner = runner.clone().with_timeout(timeout);
    async move {
        let result = runner.run(&filter, &input).await.map_err(|e| e.to_string());
        let _ = inbox.send(Msg::Action(Action::Tools(ToolsAction::Jq { job, result }))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::super::tasks::{TaskId, Tasks};
    use super::*;
    use crate::app::panes::tools::JqSlot;

    fn answer(m: Option<Msg>) -> (u64, Result<Vec<Value>, String>) {
        let Some(Msg::Action(Action::Tools(ToolsAction::Jq { job, result }))) = m else { panic!("an answer") };
        (job, result)
    }

    #[tokio::test]
    async fn a_new_job_in_a_slot_cancels_the_one_before() {
        let (tx, mut rx) = mpsc::channel(8);
        let mut tasks = Tasks::default();
        let jq = JqRunner::in_process();
        let input = serde_json::json!({"a": 1, "b": 2});
        let t = Duration::from_secs(5);
        let mut start = |slot, job, f: &str| {
            tasks.spawn(TaskId::Jq(slot), evaluate(&jq, job, f.into(), input.clone(), t, tx.clone()));
        };
        start(JqSlot::Preview, 1, ".a");
        start(JqSlot::Preview, 2, ".b");
        assert_eq!(answer(rx.recv().await), (2, Ok(vec![serde_json::json!(2)])), "job 1 never answers");
        start(JqSlot::Preview, 4, ".a");
        tasks.cancel(&TaskId::Jq(JqSlot::Preview));
        drop(tasks);
        drop(tx);
        assert!(rx.recv().await.is_none(), "a cancelled job never answers");
    }
}
