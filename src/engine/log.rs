//! The event log of the engine's bus: publishing (sequenced, queued for the
//! log, broadcast), group commit (one chunk write and one fsync for every
//! event queued since the last), and opening a stream for a (resuming)
//! subscriber from the queue and the log.

use std::sync::Arc;

use tokio::time::{Instant, MissedTickBehavior};

use super::store::StoreError;
use super::{Engine, LOGGED_PROCS, PENDING_LIMIT, STORE_FLUSH_EVERY, StreamStart};
use crate::protocol::wire::Since;
use crate::protocol::{Envelope, Event, Topic};

impl Engine {
    /// Start a stream for a (possibly resuming) subscriber. Subscribes to the
    /// bus before reading the log, so no event falls between the two.
    pub fn open_stream(&self, since: Option<Since>) -> Result<StreamStart, StoreError> {
        let live = self.subscribe();
        let head = self.head_seq();
        let epoch = self.epoch();
        // Queued events first (an event leaves the queue only once written), then the log.
        let queued = since.map(|s| self.pending_between(s.seq + 1, head)).unwrap_or_default();
        let resumable = match since {
            None => None,
            Some(s) if s.epoch != epoch || s.seq > head => None,
            Some(s) if s.seq == head => Some(Vec::new()),
            Some(s) => {
                let bounds = self.inner.store.event_bounds()?;
                let oldest = bounds.map(|b| b.0).or(queued.first().map(|e| e.seq));
                match oldest {
                    Some(oldest) if s.seq + 1 >= oldest => {
                        let mut all: std::collections::BTreeMap<u64, Arc<Envelope>> = std::collections::BTreeMap::new();
                        for e in self.inner.store.events_between(s.seq + 1, head)? {
                            all.insert(e.seq, Arc::new(e));
                        }
                        for e in queued {
                            all.insert(e.seq, e);
                        }
                        Some(all.into_values().collect())
                    }
                    _ => None,
                }
            }
        };
        let (reset, backlog) = match resumable {
            Some(events) => (false, events),
            None => {
                let mut first = vec![Arc::new(self.history_event()?)];
                first.extend(self.alerts_event().map(Arc::new));
                first.extend(self.workflows_event().map(Arc::new));
                (since.is_some(), first)
            }
        };
        Ok(StreamStart { epoch, head_seq: head, reset, backlog, live })
    }

    /// Announce many events at once (for high-rate producers).
    pub fn publish_batch(&self, topic: Topic, items: Vec<(crate::protocol::Ts, Event)>) -> Vec<Arc<Envelope>> {
        let pending = &self.inner.pending;
        let mut backlog = 0;
        let envs = self.inner.bus.publish_batch(topic, items, |envs| {
            let mut p = pending.lock().unwrap_or_else(|p| p.into_inner());
            p.extend(envs.iter().cloned());
            backlog = p.len();
        });
        if let Some(last) = envs.last() {
            self.queued(last.seq, backlog);
        }
        envs
    }

    /// Announce an event (the one way domains report changes). It is queued for
    /// the log; the flusher writes and fsyncs queued events in one chunk and only
    /// then are they sent to remote subscribers (see [`Engine::durable`]).
    pub fn publish(&self, topic: Topic, ts: crate::protocol::Ts, event: Event) -> Arc<Envelope> {
        let pending = &self.inner.pending;
        let mut backlog = 0;
        let env = self.inner.bus.publish(topic, ts, event, |env| {
            let mut p = pending.lock().unwrap_or_else(|p| p.into_inner());
            p.push_back(env.clone());
            backlog = p.len();
        });
        self.queued(env.seq, backlog);
        env
    }

    /// After queueing up to `last`: wake the flusher, or write now if the queue
    /// (`backlog` events) is over its limit.
    fn queued(&self, last: u64, backlog: usize) {
        self.inner.appended.send_replace(last);
        if backlog > PENDING_LIMIT
            && let Err(e) = self.write_pending()
        {
            tracing::error!("writing the event log: {e}");
        }
    }

    /// Write every queued event to the log as one chunk and fsync; advances
    /// `durable`. Blocking.
    pub fn write_pending(&self) -> Result<(), StoreError> {
        let _writer = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        let chunk: Vec<Arc<Envelope>> =
            self.inner.pending.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect();
        let Some(last) = chunk.last().map(|e| e.seq) else { return Ok(()) };
        let logged: Vec<Arc<Envelope>> = chunk.iter().map(for_the_log).collect();
        self.inner.store.append_events(&logged)?;
        self.inner.store.flush()?;
        {
            // Only the writer removes, and publishers only append: the front is this chunk.
            let mut p = self.inner.pending.lock().unwrap_or_else(|p| p.into_inner());
            for _ in 0..chunk.len() {
                p.pop_front();
            }
        }
        self.inner.durable.send_if_modified(|d| {
            let grew = last > *d;
            *d = (*d).max(last);
            grew
        });
        Ok(())
    }

    /// Wait until the event `seq` (and every store write made before it was
    /// published) is on disk: what a step that changes things waits for
    /// before it starts, so a crash can never leave its side effect without
    /// the record that it began. Returns at once on an engine without the
    /// group commit (in-memory engines of tests). Errors when the log's
    /// writer has not made it durable within `limit` (the disk is failing:
    /// the writer logs why).
    pub async fn durable_through(&self, seq: u64, limit: std::time::Duration) -> Result<(), String> {
        if !self.inner.committing.load(std::sync::atomic::Ordering::SeqCst) {
            return Ok(());
        }
        let mut rx = self.inner.durable.subscribe();
        match tokio::time::timeout(limit, rx.wait_for(|d| *d >= seq)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err("the engine is stopping".into()),
            Err(_) => Err(format!(
                "its start was not on disk within {} s, so it was not started (the event log cannot be written: see opsdeck's log in the state dir)",
                limit.as_secs()
            )),
        }
    }

    /// Queued (not yet written) events with `from <= seq <= to`.
    fn pending_between(&self, from: u64, to: u64) -> Vec<Arc<Envelope>> {
        let p = self.inner.pending.lock().unwrap_or_else(|p| p.into_inner());
        p.iter().filter(|e| e.seq >= from && e.seq <= to).cloned().collect()
    }
}

/// The form an event is kept in the resumable log: a host sample with its
/// [`LOGGED_PROCS`] busiest processes (the rest counted), so a resume across a
/// long backlog carries figures, not hundreds of command lines a sample. Live
/// subscribers get every process.
fn for_the_log(e: &Arc<Envelope>) -> Arc<Envelope> {
    match &e.event {
        Event::HostSample(snap) if snap.procs.len() > LOGGED_PROCS => Arc::new(Envelope {
            event: Event::HostSample(Box::new(snap.with_top_procs(LOGGED_PROCS))),
            source: e.source.clone(),
            ..**e
        }),
        _ => e.clone(),
    }
}

/// Group commit: one chunk write and one fsync for every event queued since the last.
pub(super) async fn flush_loop(engine: Engine) {
    let mut appended = engine.inner.appended.subscribe();
    loop {
        if appended.changed().await.is_err() {
            return;
        }
        appended.borrow_and_update();
        let e = engine.clone();
        match tokio::task::spawn_blocking(move || e.write_pending()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!("writing the event log: {err}"),
            Err(err) => tracing::error!("writing the event log: {err}"),
        }
    }
}

/// Everything written to the store reaches the disk every `STORE_FLUSH_EVERY`.
pub(super) async fn store_flush_loop(engine: Engine) {
    let mut iv = tokio::time::interval_at(Instant::now() + STORE_FLUSH_EVERY, STORE_FLUSH_EVERY);
    iv.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        iv.tick().await;
        let e = engine.clone();
        match tokio::task::spawn_blocking(move || e.inner.store.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!("flushing the store: {err}"),
            Err(err) => tracing::error!("flushing the store: {err}"),
        }
    }
}
