//! Writing the alert engine's state off the async workers, and only when it
//! changed.
//!
//! The core evaluates in memory and, after each update, hands over a
//! [`Persist`]: the transitions it recorded (always written) and the state
//! record (alerts, silences, disabled rules, notifier policy) only if its
//! encoding differs from the one last handed over. [`PersistQueue`] merges
//! what piles up (transitions appended, the newest state wins); one engine
//! task writes it on a blocking thread, and shutdown writes what is left.
//! At idle (no alert changing) nothing is written.

use std::sync::Mutex;

use tokio::sync::Notify;

use crate::engine::store::{Result, Store};
use crate::protocol::alerts::Transition;

/// Alert data waiting to be written.
#[derive(Debug, Default)]
pub struct Persist {
    /// New transitions, oldest first (appended to the timeline).
    pub transitions: Vec<Transition>,
    /// The state record's new encoding (JSON), when it changed.
    pub state: Option<Vec<u8>>,
    /// Health checks' changed uptime buckets and outages (uptime.rs).
    pub uptime: crate::engine::store::uptime::UptimeWrites,
    /// SLO minute buckets (store tree `slo`).
    pub slo: Vec<super::slo_engine::SloWrite>,
    /// Notification delivery attempts (the timeline's rows about them).
    pub deliveries: Vec<crate::protocol::alerts::Delivery>,
}

impl Persist {
    pub fn is_empty(&self) -> bool {
        self.transitions.is_empty()
            && self.state.is_none()
            && self.uptime.is_empty()
            && self.slo.is_empty()
            && self.deliveries.is_empty()
    }

    /// Fold a newer job into this one.
    pub fn absorb(&mut self, newer: Persist) {
        self.transitions.extend(newer.transitions);
        if newer.state.is_some() {
            self.state = newer.state;
        }
        self.uptime.absorb(newer.uptime);
        self.slo.extend(newer.slo);
        self.deliveries.extend(newer.deliveries);
    }

    /// Write it (blocking: sled, with an fsync).
    pub fn write(&self, store: &Store) -> Result<()> {
        if !self.transitions.is_empty() {
            store.append_transitions(&self.transitions)?;
        }
        if let Some(state) = &self.state {
            store.put_alerts_state(state)?;
        }
        if !self.uptime.is_empty() {
            store.write_uptime(&self.uptime)?;
        }
        if !self.slo.is_empty() {
            store.write_slo(&self.slo)?;
        }
        if !self.deliveries.is_empty() {
            store.append_deliveries(&self.deliveries)?;
        }
        Ok(())
    }
}

/// Jobs for the writer; see the module docs.
#[derive(Default)]
pub struct PersistQueue {
    pending: Mutex<Persist>,
    wake: Notify,
    /// Held while writing, so a job taken later is never overwritten by an
    /// earlier one still being written.
    writing: Mutex<()>,
}

impl PersistQueue {
    /// Queue `job` (nothing happens for an empty one).
    pub fn push(&self, job: Persist) {
        if job.is_empty() {
            return;
        }
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).absorb(job);
        self.wake.notify_one();
    }

    /// Wait until something is queued.
    pub async fn ready(&self) {
        self.wake.notified().await;
    }

    /// Take everything queued and write it (blocking).
    pub fn write_pending(&self, store: &Store) -> Result<()> {
        let _writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let job = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if job.is_empty() { Ok(()) } else { job.write(store) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::alerts::AlertState;

    fn transition(alert: &str, at: i64) -> Transition {
        Transition { alert: alert.into(), from: None, to: AlertState::Firing, at, value: None, value_text: None }
    }

    #[test]
    fn queued_jobs_merge_keeping_every_transition_and_the_newest_state() {
        let store = Store::temporary().unwrap();
        let q = PersistQueue::default();
        q.push(Persist {
            transitions: vec![transition("a", 1)],
            state: Some(br#"{"v":1}"#.to_vec()),
            ..Default::default()
        });
        q.push(Persist { transitions: vec![transition("b", 2)], ..Default::default() });
        q.push(Persist { state: Some(br#"{"v":2}"#.to_vec()), ..Default::default() });
        q.push(Persist::default());
        q.write_pending(&store).unwrap();
        assert_eq!(store.alerts_state().unwrap(), Some(serde_json::json!({"v": 2})));
        let names: Vec<_> = store.transitions(10).unwrap().into_iter().map(|t| t.alert).collect();
        assert_eq!(names, ["a", "b"]);
        // Nothing queued: nothing written, the record stays.
        q.write_pending(&store).unwrap();
        assert_eq!(store.alerts_state().unwrap(), Some(serde_json::json!({"v": 2})));
    }
}
