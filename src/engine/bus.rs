//! Sequenced broadcast of events: every published event gets the next `seq`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::protocol::{Envelope, Event, Topic, Ts};

/// Capacity of the broadcast ring. A subscriber that falls this far behind
/// loses the oldest events (metrics coalesce; see DESIGN.md §9).
pub const BUS_CAPACITY: usize = 4096;

pub struct Bus {
    tx: broadcast::Sender<Arc<Envelope>>,
    /// Serialises publishing so events are persisted and sent in `seq` order.
    order: Mutex<()>,
    seq: AtomicU64,
    epoch: u64,
    source: String,
}

impl Bus {
    /// A bus whose next event gets `head_seq + 1` (continuing a persisted log).
    pub fn new(source: impl Into<String>, epoch: u64, head_seq: u64) -> Self {
        let (tx, _) = broadcast::channel(BUS_CAPACITY);
        Bus { tx, order: Mutex::new(()), seq: AtomicU64::new(head_seq), epoch, source: source.into() }
    }

    /// Publish an event: `persist` runs first (the event log), then subscribers
    /// get it. Returns its envelope.
    pub fn publish(&self, topic: Topic, ts: Ts, event: Event, persist: impl FnOnce(&Arc<Envelope>)) -> Arc<Envelope> {
        let _order = self.order.lock().unwrap_or_else(|p| p.into_inner());
        let seq = self.seq.load(Ordering::SeqCst) + 1;
        let env = Arc::new(Envelope { epoch: self.epoch, seq, ts, source: self.source.clone(), topic, event });
        persist(&env);
        self.seq.store(seq, Ordering::SeqCst);
        // No subscriber is not an error: the engine runs headless too.
        let _ = self.tx.send(env.clone());
        env
    }

    /// Publish several events at once: seqs assigned in order, `persist` sees
    /// them all (one write), then subscribers get each.
    pub fn publish_batch(
        &self,
        topic: Topic,
        items: Vec<(Ts, Event)>,
        persist: impl FnOnce(&[Arc<Envelope>]),
    ) -> Vec<Arc<Envelope>> {
        let _order = self.order.lock().unwrap_or_else(|p| p.into_inner());
        let mut seq = self.seq.load(Ordering::SeqCst);
        let envs: Vec<Arc<Envelope>> = items
            .into_iter()
            .map(|(ts, event)| {
                seq += 1;
                Arc::new(Envelope { epoch: self.epoch, seq, ts, source: self.source.clone(), topic, event })
            })
            .collect();
        persist(&envs);
        self.seq.store(seq, Ordering::SeqCst);
        for e in &envs {
            let _ = self.tx.send(e.clone());
        }
        envs
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Envelope>> {
        self.tx.subscribe()
    }

    pub fn head_seq(&self) -> u64 {
        self.seq.load(Ordering::SeqCst)
    }

    pub fn epoch(&self) -> u64 {
        self.epoch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_increases_and_subscribers_see_order() {
        let bus = Bus::new("local", 7, 40);
        let mut rx = bus.subscribe();
        let mut logged = Vec::new();
        for _ in 0..3 {
            bus.publish(Topic::Metrics, 0, Event::MetricsHistory(Box::default()), |e| logged.push(e.seq));
        }
        let seqs: Vec<u64> = (0..3).map(|_| rx.try_recv().unwrap().seq).collect();
        assert_eq!(seqs, vec![41, 42, 43], "continues after the persisted head");
        assert_eq!(logged, seqs, "persisted before being sent");
        assert_eq!(bus.head_seq(), 43);
        let mut persisted = Vec::new();
        let envs = bus.publish_batch(Topic::Metrics, vec![(0, Event::MetricsHistory(Box::default())); 3], |b| {
            persisted = b.iter().map(|e| e.seq).collect()
        });
        assert_eq!(persisted, vec![44, 45, 46]);
        assert_eq!(envs.len(), 3);
        let seqs: Vec<u64> = (0..3).map(|_| rx.try_recv().unwrap().seq).collect();
        assert_eq!(seqs, vec![44, 45, 46], "a batch is delivered in order, after persisting");
    }
}
