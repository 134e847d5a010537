//! The domain engine: collectors, the event bus and the store. No terminal code.
//!
//! The same `Engine` runs inside the TUI and (with later issues) `opsdeck serve`.

pub mod alerts;
pub mod bus;
pub mod chat;
mod log;
pub mod metrics;
pub mod store;
pub mod tools;
pub mod workflows;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::clock::Clock;
use crate::protocol::{
    Command, Envelope, Event, HostCommand, HostSnapshot, LOCAL_SOURCE, MetricsCommand, SeriesSnapshot, Topic,
};
use crate::series::{TierSpec, default_tiers};
use bus::Bus;
use metrics::Recorder;
use metrics::collector::HostCollector;
use store::{Store, StoreError};

/// How often expired rows are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// How often metric writes reach the disk (sled's own flusher thread is off):
/// at most this much history is lost to a power cut. Events are fsynced as
/// they are written (`flush_loop`).
const STORE_FLUSH_EVERY: Duration = Duration::from_secs(5);
/// Events kept in the log for resuming clients (15 min of 1 s samples).
pub const EVENT_LOG_KEEP: u64 = 900;
/// Command results kept for idempotency (the newest; a replay of an older
/// id runs the command again).
pub const COMMANDS_KEPT: usize = 10_000;
/// Processes a host sample keeps in the event log (the busiest).
pub const LOGGED_PROCS: usize = 50;
/// Queued events above which a publisher writes the log itself (backpressure
/// when the disk cannot keep up; memory stays bounded).
pub const PENDING_LIMIT: usize = 50_000;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Host collection interval.
    pub refresh_ms: i64,
    /// Refuse every command that changes state ([`Command::changes_state`]),
    /// from any client (`opsdeck serve --read-only`).
    pub read_only: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig { refresh_ms: 1000, read_only: false }
    }
}

struct Inner {
    store: Store,
    bus: Bus,
    tiers: Vec<TierSpec>,
    cfg: EngineConfig,
    clock: Arc<dyn Clock>,
    recorder: Mutex<Recorder>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    latest: Mutex<Option<Arc<HostSnapshot>>>,
    /// Serialises commands so a replayed id can never run twice concurrently.
    commands: Mutex<()>,
    /// Published events not yet written to the log, in seq order.
    pending: Mutex<std::collections::VecDeque<Arc<Envelope>>>,
    /// One writer of the log at a time (the flusher, commands, shutdown).
    writer: Mutex<()>,
    /// Highest seq appended to the log / known to be on disk (group commit).
    appended: watch::Sender<u64>,
    durable: watch::Sender<u64>,
    /// The group commit runs (`start` / `start_log_only`): `durable` advances.
    committing: std::sync::atomic::AtomicBool,
    /// The alert engine's mailbox, once started: the task that owns the
    /// alert core runs these jobs (alerts/service.rs).
    alerts: Mutex<Option<tokio::sync::mpsc::UnboundedSender<alerts::service::Job>>>,
    /// Alert state waiting to be written (alerts/persist.rs).
    alert_writes: alerts::persist::PersistQueue,
    /// The health checks' probe tasks and the registry they probe through
    /// (replaced as a whole when the rules are reloaded).
    checks: Mutex<Option<(tools::Registry, Vec<JoinHandle<()>>)>>,
    /// The tools service that `run_tool` commands use, once started (tools/commands.rs).
    tools: Mutex<Option<tools::commands::Tools>>,
    /// The workflow service, once started (workflows/attach.rs).
    workflows: Mutex<Option<Arc<workflows::service::WorkflowService>>>,
}

/// Why a command was refused.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("command id must be 1 to 128 characters")]
    BadId,
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine is read-only and the command changes state.
    #[error("read-only: {0} is refused; this engine serves read-only (started with --read-only)")]
    ReadOnly(&'static str),
}

/// How a new subscriber starts: events to send first, then `live` from the bus.
pub struct StreamStart {
    pub epoch: u64,
    pub head_seq: u64,
    /// The subscriber's `since` could not be served from the log: it must drop
    /// its state for this source; `backlog` holds a snapshot.
    pub reset: bool,
    /// A history snapshot (fresh or reset subscribers) or the missed events.
    pub backlog: Vec<Arc<Envelope>>,
    /// Live events; skip those with `seq <= head_seq`.
    pub live: broadcast::Receiver<Arc<Envelope>>,
}

/// Cheap to clone; all clones share one engine.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl Engine {
    pub fn new(store: Store, cfg: EngineConfig, clock: Arc<dyn Clock>) -> Result<Engine, StoreError> {
        let tiers = default_tiers(cfg.refresh_ms).to_vec();
        let head = store.event_bounds()?.map_or(0, |(_, newest)| newest);
        let bus = Bus::new(LOCAL_SOURCE, store.epoch()?, head);
        let recorder = Mutex::new(Recorder::new(&tiers));
        let inner = Inner {
            store,
            bus,
            tiers,
            cfg,
            clock,
            recorder,
            tasks: Mutex::new(Vec::new()),
            latest: Mutex::new(None),
            commands: Mutex::new(()),
            pending: Mutex::new(std::collections::VecDeque::new()),
            writer: Mutex::new(()),
            appended: watch::Sender::new(head),
            durable: watch::Sender::new(head),
            committing: std::sync::atomic::AtomicBool::new(false),
            alerts: Mutex::new(None),
            alert_writes: Default::default(),
            checks: Mutex::new(None),
            tools: Mutex::new(None),
            workflows: Mutex::new(None),
        };
        Ok(Engine { inner: Arc::new(inner) })
    }

    pub fn tiers(&self) -> &[TierSpec] {
        &self.inner.tiers
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The engine's clock (Unix ms).
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.inner.clock.clone()
    }

    /// Events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Envelope>> {
        self.inner.bus.subscribe()
    }

    pub fn epoch(&self) -> u64 {
        self.inner.bus.epoch()
    }

    pub fn head_seq(&self) -> u64 {
        self.inner.bus.head_seq()
    }

    /// Highest seq that is on disk. Remote subscribers are sent only durable
    /// events, so a crash can never take back an event a client has seen.
    pub fn durable(&self) -> watch::Receiver<u64> {
        self.inner.durable.subscribe()
    }

    /// The newest host sample, if one was taken.
    pub fn latest_sample(&self) -> Option<Arc<HostSnapshot>> {
        self.inner.latest.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stored history of every series, as an event ready to hand to a new subscriber.
    pub fn history_event(&self) -> Result<Envelope, StoreError> {
        let now = self.inner.clock.now_ms();
        let snap: SeriesSnapshot = metrics::load_history(&self.inner.store, &self.inner.tiers, now)?;
        Ok(Envelope {
            epoch: self.inner.bus.epoch(),
            seq: self.inner.bus.head_seq(),
            ts: now,
            source: LOCAL_SOURCE.into(),
            topic: Topic::Metrics,
            event: Event::MetricsHistory(Box::new(snap)),
        })
    }

    /// Start the collector and retention tasks on the current tokio runtime.
    pub fn start(&self) {
        let collect = tokio::spawn(collect_loop(self.clone()));
        let prune = tokio::spawn(prune_loop(self.clone()));
        let flush = tokio::spawn(log::flush_loop(self.clone()));
        let durable = tokio::spawn(log::store_flush_loop(self.clone()));
        self.inner.committing.store(true, std::sync::atomic::Ordering::SeqCst);
        let mut t = self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner());
        t.extend([collect, prune, flush, durable]);
    }

    /// Only the log's group commit and the store's flusher, no collection:
    /// for headless commands (`opsdeck run`) that write runs and events.
    pub fn start_log_only(&self) {
        let flush = tokio::spawn(log::flush_loop(self.clone()));
        let durable = tokio::spawn(log::store_flush_loop(self.clone()));
        self.inner.committing.store(true, std::sync::atomic::Ordering::SeqCst);
        self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner()).extend([flush, durable]);
    }

    /// Stop tasks and flush everything to disk.
    pub fn shutdown(&self) {
        for t in self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            t.abort();
        }
        // Runs' tasks hold the engine: dropping the service ends the cycle.
        drop(self.inner.workflows.lock().unwrap_or_else(|p| p.into_inner()).take());
        // The tools service (its MCP servers) stops with the engine.
        drop(self.inner.tools.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some((_, checks)) = self.inner.checks.lock().unwrap_or_else(|p| p.into_inner()).take() {
            checks.iter().for_each(JoinHandle::abort);
        }
        if let Err(e) = self.write_pending() {
            tracing::warn!("writing the event log: {e}");
        }
        if let Err(e) = self.inner.alert_writes.write_pending(&self.inner.store) {
            tracing::warn!("saving the alert state: {e}");
        }
        let mut rec = self.inner.recorder.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = rec.flush_open(&self.inner.store) {
            tracing::warn!("flushing open metric buckets: {e}");
        }
        if let Err(e) = self.inner.store.flush() {
            tracing::warn!("flushing the store: {e}");
        }
    }

    /// One collection: measure, persist, announce. Blocking (sysinfo + sled).
    fn collect_once(&self, collector: &mut HostCollector) {
        let ts = self.inner.clock.now_ms();
        let snap = collector.collect(ts);
        let values = snap.series_values();
        {
            let mut rec = self.inner.recorder.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = rec.record(&self.inner.store, ts, &values) {
                tracing::warn!("storing metrics: {e}");
            }
        }
        *self.inner.latest.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(snap.clone()));
        self.publish(Topic::Metrics, ts, Event::HostSample(Box::new(snap)));
    }

    /// Run a command once per `id`: a replayed id returns the first result
    /// without running again.
    pub fn handle(&self, id: &str, command: Command) -> Result<serde_json::Value, CommandError> {
        if id.is_empty() || id.len() > 128 {
            return Err(CommandError::BadId);
        }
        if self.inner.cfg.read_only && command.changes_state() && !self.read_only_allows(&command)? {
            return Err(CommandError::ReadOnly(command.describe()));
        }
        // Read-only and about this moment: answered, never stored.
        if let Command::Host(HostCommand::ProcessDetails { pid }) = command {
            return metrics::process::details(pid).map_err(CommandError::Invalid);
        }
        if let Command::Workflows(c) = &command
            && c.reads_only()
        {
            return self.workflow_command(c.clone());
        }
        let _one_at_a_time = self.inner.commands.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(first) = self.inner.store.command_result(id)? {
            return Ok(first);
        }
        // Each domain service takes its own commands.
        let result = match command {
            Command::Metrics(c) => self.metrics_command(c)?,
            Command::Host(c) => metrics::process::command(c).map_err(CommandError::Invalid)?,
            Command::Alerts(c) => self.alert_command(c)?,
            Command::Tools(c) => self.tool_command(c)?,
            Command::Workflows(c) => self.workflow_command(c)?,
        };
        self.inner.store.put_command_result(id, &result)?;
        Ok(result)
    }

    /// The metrics timeline's commands: an annotation is an event of the log,
    /// on disk before its answer (a replayed id never points at a lost event).
    fn metrics_command(&self, command: MetricsCommand) -> Result<serde_json::Value, CommandError> {
        match command {
            MetricsCommand::Annotate { text, author, at } => {
                let text = text.trim().to_string();
                if text.is_empty() || text.chars().count() > 1000 {
                    return Err(CommandError::Invalid("annotation text must be 1 to 1,000 characters".into()));
                }
                let ts = crate::protocol::made_at(at, self.inner.clock.now_ms());
                let env = self.publish(Topic::Metrics, ts, Event::Annotation { text, author });
                self.write_pending()?;
                Ok(serde_json::json!({ "seq": env.seq }))
            }
        }
    }
}

/// Time until the middle of the next slot, so clock jitter never skips a slot.
fn until_mid_slot(now_ms: i64, step_ms: i64) -> Duration {
    let next_mid = (now_ms.div_euclid(step_ms) + 1) * step_ms + step_ms / 2;
    let mut wait = next_mid - now_ms;
    if wait > step_ms {
        wait -= step_ms;
    }
    Duration::from_millis(wait.max(0) as u64)
}

async fn collect_loop(engine: Engine) {
    let step = engine.inner.cfg.refresh_ms.max(100);
    // Prime the collector (CPU usage needs two readings) off the async threads.
    let started = tokio::task::spawn_blocking(|| {
        let mut c = HostCollector::new()?;
        c.collect(0);
        Ok::<_, sysinfo::Error>(c)
    })
    .await;
    let mut collector = match started {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            tracing::error!("host collector cannot read system information: {e}");
            return;
        }
        Err(e) => {
            tracing::error!("host collector failed to start: {e}");
            return;
        }
    };
    let first = until_mid_slot(engine.inner.clock.now_ms(), step).max(Duration::from_millis(250));
    let mut iv = tokio::time::interval_at(Instant::now() + first, Duration::from_millis(step as u64));
    iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        iv.tick().await;
        let e = engine.clone();
        match tokio::task::spawn_blocking(move || {
            e.collect_once(&mut collector);
            collector
        })
        .await
        {
            Ok(c) => collector = c,
            Err(err) => {
                tracing::error!("host collection panicked: {err}");
                return;
            }
        }
    }
}

async fn prune_loop(engine: Engine) {
    let mut iv = tokio::time::interval(PRUNE_EVERY);
    iv.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        iv.tick().await;
        let e = engine.clone();
        let res = tokio::task::spawn_blocking(move || {
            let n = metrics::prune(&e.inner.store, &e.inner.tiers, e.inner.clock.now_ms())?;
            let events = e.inner.store.prune_events(EVENT_LOG_KEEP)?;
            let conversations = e.inner.store.prune_conversations(store::chat::CONVERSATIONS_KEPT)?;
            Ok::<_, StoreError>(n + events + conversations + e.inner.store.prune_commands(COMMANDS_KEPT)?)
        })
        .await;
        match res {
            Ok(Ok(n)) if n > 0 => tracing::debug!("pruned {n} expired metric rows, events and conversations"),
            Ok(Err(e)) => tracing::warn!("pruning metrics: {e}"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::AlertsCommand;

    /// B7: an annotation typed at 10:02 and delivered from the outbox at 10:09
    /// is drawn at 10:02; a time in the future or beyond the bound is clamped.
    #[test]
    fn a_queued_command_keeps_the_time_it_was_made() {
        const T1009: crate::protocol::Ts = 1_800_000_000_000;
        let engine = Engine::new(
            Store::temporary().unwrap(),
            EngineConfig::default(),
            Arc::new(crate::clock::FixedClock(T1009)),
        )
        .unwrap();
        let mut rx = engine.subscribe();
        let note =
            |at| Command::Metrics(MetricsCommand::Annotate { text: "restarted db".into(), author: "ops".into(), at });
        let made = T1009 - 7 * 60_000;
        engine.handle("q-1", note(Some(made))).unwrap();
        assert_eq!(rx.try_recv().unwrap().ts, made);
        engine.handle("q-2", note(Some(T1009 + 3_600_000))).unwrap();
        assert_eq!(rx.try_recv().unwrap().ts, T1009, "never in the future");
        engine.handle("q-3", note(Some(0))).unwrap();
        assert_eq!(rx.try_recv().unwrap().ts, T1009 - crate::protocol::MAX_BACKDATE_MS, "bounded");
        engine.handle("q-4", note(None)).unwrap();
        assert_eq!(rx.try_recv().unwrap().ts, T1009);
    }

    #[test]
    fn commands_run_once_per_id() {
        let engine =
            Engine::new(Store::temporary().unwrap(), EngineConfig::default(), Arc::new(crate::clock::FixedClock(5)))
                .unwrap();
        let mut rx = engine.subscribe();
        let cmd = || {
            Command::Metrics(MetricsCommand::Annotate { text: " deploy v42 ".into(), author: "ops".into(), at: None })
        };
        let first = engine.handle("c-1", cmd()).unwrap();
        let again = engine.handle("c-1", cmd()).unwrap();
        assert_eq!(first, again, "a replayed id gets the first answer");
        let e = rx.try_recv().unwrap();
        assert_eq!(e.event, Event::Annotation { text: "deploy v42".into(), author: "ops".into() });
        assert_eq!(first, serde_json::json!({ "seq": e.seq }));
        assert!(rx.try_recv().is_err(), "and never runs twice");
        assert!(matches!(engine.handle("", cmd()), Err(CommandError::BadId)));
        let empty = Command::Metrics(MetricsCommand::Annotate { text: "  ".into(), author: String::new(), at: None });
        assert!(matches!(engine.handle("c-2", empty), Err(CommandError::Invalid(_))));
    }

    /// A wall clock that tests move by hand.
    struct SteppedClock(std::sync::atomic::AtomicI64);

    impl Clock for SteppedClock {
        fn now_ms(&self) -> crate::protocol::Ts {
            self.0.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    /// Engine-level: after the clock steps back 2 h, samples are still stored
    /// and the history handed to subscribers holds no row stamped after now.
    #[test]
    fn a_clock_stepped_back_keeps_the_history_recording() {
        let t0 = 1_800_000_000_000;
        let clock = Arc::new(SteppedClock(std::sync::atomic::AtomicI64::new(t0)));
        let engine = Engine::new(Store::temporary().unwrap(), EngineConfig::default(), clock.clone()).unwrap();
        let mut collector = HostCollector::new().unwrap();
        for i in 0..3 {
            clock.0.store(t0 + i * 1000, std::sync::atomic::Ordering::SeqCst);
            engine.collect_once(&mut collector);
        }
        let back = t0 - 2 * 3_600_000;
        for i in 0..3 {
            clock.0.store(back + i * 1000, std::sync::atomic::Ordering::SeqCst);
            engine.collect_once(&mut collector);
        }
        let rows = engine.store().read_metrics_rows(0, i64::MIN).unwrap();
        let step = engine.tiers()[0].step_ms;
        assert_eq!(rows.last().map(|r| r.0), Some((back + 2000).div_euclid(step) * step), "newest row is now");
        assert!(rows.iter().all(|r| r.0 <= back + 2000), "no row stamped after now");
        let Event::MetricsHistory(snap) = engine.history_event().unwrap().event else { panic!("history") };
        let base = snap.tiers.iter().find(|t| t.step_ms == step).expect("base tier");
        let newest = base.start_slot + base.columns[0].1.len() as i64 - 1;
        assert_eq!(newest, (back + 2000).div_euclid(step));
    }

    #[test]
    fn a_read_only_engine_refuses_every_state_change() {
        let cfg = EngineConfig { read_only: true, ..EngineConfig::default() };
        let engine = Engine::new(Store::temporary().unwrap(), cfg, Arc::new(crate::clock::FixedClock(5))).unwrap();
        let mut rx = engine.subscribe();
        let commands = [
            Command::Metrics(MetricsCommand::Annotate { text: "deploy".into(), author: "ops".into(), at: None }),
            Command::Alerts(AlertsCommand::Ack { alert: "a".into(), note: String::new(), by: "ops".into(), at: None }),
            Command::Alerts(AlertsCommand::Unack { alert: "a".into() }),
            Command::Alerts(AlertsCommand::Silence {
                matchers: vec![],
                minutes: 5,
                comment: String::new(),
                by: "ops".into(),
            }),
            Command::Alerts(AlertsCommand::Unsilence { id: "s".into() }),
            Command::Alerts(AlertsCommand::SetRuleEnabled { name: "r".into(), enabled: false }),
        ];
        for (i, c) in commands.into_iter().enumerate() {
            assert!(c.changes_state());
            let r = engine.handle(&format!("c-{i}"), c);
            assert!(matches!(&r, Err(CommandError::ReadOnly(_))), "{r:?}");
            assert!(r.unwrap_err().to_string().starts_with("read-only: "));
            assert_eq!(engine.store().command_result(&format!("c-{i}")).unwrap(), None, "nothing recorded");
        }
        assert!(rx.try_recv().is_err(), "nothing published");
    }

    #[test]
    fn mid_slot_alignment() {
        assert_eq!(until_mid_slot(10_000, 1000), Duration::from_millis(500));
        assert_eq!(until_mid_slot(10_400, 1000), Duration::from_millis(100));
        assert_eq!(until_mid_slot(10_600, 1000), Duration::from_millis(900));
    }
}
