//! Sequenced broadcast of events: every published event gets the next `seq`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::broadcast;

use crate::protocol::{Envelope, Event, Topic, Ts};

/// Capacity of the broadcast ring. A subscriber that falls this far behind
/// loses the oldest events (metrics coalesce; see DESIGN.md §9).
pub const BUS_CAPACITY: usize = 256;

pub struct Bus {
    tx: broadcast::Sender<Arc<Envelope>>,
    seq: AtomicU64,
    epoch: u64,
    source: String,
}

impl Bus {
    pub fn new(source: impl Into<String>, epoch: u64) -> Self {
        let (tx, _) = broadcast::channel(BUS_CAPACITY);
        Bus { tx, seq: AtomicU64::new(0), epoch, source: source.into() }
    }

    /// Publish an event; returns its envelope. Never blocks.
    pub fn publish(&self, topic: Topic, ts: Ts, event: Event) -> Arc<Envelope> {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let env = Arc::new(Envelope { epoch: self.epoch, seq, ts, source: self.source.clone(), topic, event });
        // No subscriber is not an error: the engine runs headless too.
        let _ = self.tx.send(env.clone());
        env
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
        let bus = Bus::new("local", 7);
        let mut rx = bus.subscribe();
        for _ in 0..3 {
            bus.publish(Topic::Metrics, 0, Event::MetricsHistory(Box::default()));
        }
        let seqs: Vec<u64> = (0..3).map(|_| rx.try_recv().unwrap().seq).collect();
        assert_eq!(seqs, vec![1, 2, 3]);
        assert_eq!(bus.head_seq(), 3);
    }
}
