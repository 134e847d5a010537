//! Tasks the effect executor started, by id: a new task under an id replaces
//! (aborts) the one before, a task can be cancelled by id, and finished tasks
//! are forgotten, so the map holds only what runs. jq evaluations are keyed by
//! their slot today; chat streams and workflow timers take ids of their own.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;

use tokio::task::AbortHandle;

/// What a task of the executor is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskId {
    /// The jq evaluation of a slot of the tools pane.
    Jq(crate::app::panes::tools::JqSlot),
}

/// Running tasks by id.
pub struct Tasks<K> {
    running: HashMap<K, AbortHandle>,
}

impl<K> Default for Tasks<K> {
    fn default() -> Self {
        Tasks { running: HashMap::new() }
    }
}

impl<K: Hash + Eq> Tasks<K> {
    /// Run `task` as `id` on the current runtime; a task already running as
    /// `id` is aborted (dropping its future).
    pub fn spawn<F>(&mut self, id: K, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.running.retain(|_, h| !h.is_finished());
        if let Some(before) = self.running.insert(id, tokio::spawn(task).abort_handle()) {
            before.abort();
        }
    }

    /// Abort the task running as `id`; false when none was.
    pub fn cancel(&mut self, id: &K) -> bool {
        match self.running.remove(id) {
            Some(h) => {
                let running = !h.is_finished();
                h.abort();
                running
            }
            None => false,
        }
    }

    /// Tasks still running.
    #[cfg(test)]
    pub fn running(&self) -> usize {
        self.running.values().filter(|h| !h.is_finished()).count()
    }
}

impl<K> Drop for Tasks<K> {
    fn drop(&mut self) {
        self.running.values().for_each(AbortHandle::abort);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::{mpsc, oneshot};

    #[tokio::test]
    async fn a_task_under_an_id_replaces_the_one_before_and_cancels_by_id() {
        let mut tasks = Tasks::default();
        let (tx, mut rx) = mpsc::channel(8);
        let (mut hold, held) = oneshot::channel::<()>();
        let first = tx.clone();
        tasks.spawn("a", async move {
            let _ = held.await;
            let _ = first.send("first a").await;
        });
        let second = tx.clone();
        tasks.spawn("a", async move {
            let _ = second.send("second a").await;
        });
        let dropped = tokio::time::timeout(std::time::Duration::from_secs(10), hold.closed()).await;
        assert!(dropped.is_ok(), "the first task was never dropped");
        assert_eq!(rx.recv().await, Some("second a"));

        let (_never, waits) = oneshot::channel::<()>();
        let b = tx.clone();
        tasks.spawn("b", async move {
            let _ = waits.await;
            let _ = b.send("b").await;
        });
        assert!(tasks.cancel(&"b"));
        assert!(!tasks.cancel(&"b"), "cancelled once");
        drop(tx);
        drop(tasks);
        assert_eq!(rx.recv().await, None, "nothing else ran");
    }

    #[tokio::test]
    async fn finished_tasks_are_forgotten() {
        let mut tasks = Tasks::default();
        for i in 0..100 {
            let (done, finished) = oneshot::channel();
            tasks.spawn(i, async move {
                let _ = done.send(());
            });
            finished.await.unwrap();
            tokio::task::yield_now().await;
        }
        tasks.spawn(1000, std::future::pending());
        assert!(tasks.running.len() <= 2, "the map holds {} handles", tasks.running.len());
        assert_eq!(tasks.running(), 1);
    }
}
