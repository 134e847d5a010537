//! Work in flight by id (tool runs, chains), each with its cancel signal: an
//! id is taken while its work runs and forgotten when the work's guard drops,
//! however the task ends (a panic included), so the map holds only what runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

/// Ids in flight and their cancel signals (`None` once cancelled). Cheap to clone.
#[derive(Clone, Default)]
pub struct InFlight(Arc<Mutex<HashMap<String, Option<oneshot::Sender<()>>>>>);

/// Forgets its id when dropped.
pub struct Guard {
    set: InFlight,
    id: String,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.set.map().remove(&self.id);
    }
}

impl InFlight {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<oneshot::Sender<()>>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Take `id`: the signal its work listens to for a cancel, and the guard
    /// that forgets it. `None` when `id` is in flight already.
    pub fn start(&self, id: &str) -> Option<(oneshot::Receiver<()>, Guard)> {
        let mut map = self.map();
        if map.contains_key(id) {
            return None;
        }
        let (tx, rx) = oneshot::channel();
        map.insert(id.to_string(), Some(tx));
        Some((rx, Guard { set: self.clone(), id: id.to_string() }))
    }

    /// Signal `id`'s work to stop; false when it is not in flight (or was
    /// cancelled already).
    pub fn cancel(&self, id: &str) -> bool {
        match self.map().get_mut(id).and_then(Option::take) {
            Some(tx) => tx.send(()).is_ok(),
            None => false,
        }
    }

    /// How many are in flight.
    pub fn len(&self) -> usize {
        self.map().len()
    }
}
