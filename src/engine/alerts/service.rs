//! The alert engine inside an [`Engine`]: one task owns the [`AlertCore`]
//! and runs everything that touches it in order — evaluation on every host
//! sample (and every few seconds, for absence and silence expiry), health
//! check outcomes, delivery reports, commands, reloads and snapshots, sent
//! to it as jobs. It publishes an `Event::Alerts` whenever something
//! changed and hands what must be persisted to the writer (persist.rs).
//! Nothing in the task blocks: store reads and writes happen elsewhere.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use super::checks;
use super::core::{AlertCore, TIMELINE_LOADED};
use super::deliver::{self, Retry};
use super::rules::RuleSet;
use crate::config::alerting::NotifierConfig;
use crate::engine::tools::Registry;
use crate::engine::{CommandError, Engine};
use crate::protocol::{AlertsCommand, Envelope, Event, LOCAL_SOURCE, Topic};

/// Evaluation without samples (absence, silence expiry).
const TICK: Duration = Duration::from_secs(5);

/// Work for the alert core, run in order by the task that owns it.
pub(in crate::engine) type Job = Box<dyn FnOnce(&mut AlertCore) + Send>;

impl Engine {
    /// Start the alert engine with `rules` (health checks probe through
    /// `registry`), notifying through `notifiers` (`config.notifiers`; secrets
    /// named by `url_secret` are read with `config_dir`, as `secrets::get` does).
    ///
    /// Returns what went wrong restoring the saved alert state (an unreadable
    /// record is set aside, never overwritten): for the user to see.
    pub fn start_alerts(
        &self,
        rules: RuleSet,
        registry: Registry,
        notifiers: &[NotifierConfig],
        config_dir: &Path,
    ) -> Vec<String> {
        self.start_alerts_with(rules, registry, notifiers, config_dir, Retry::default())
    }

    /// [`Engine::start_alerts`] with a chosen retry schedule for deliveries (tests).
    pub fn start_alerts_with(
        &self,
        rules: RuleSet,
        registry: Registry,
        notifiers: &[NotifierConfig],
        config_dir: &Path,
        retry: Retry,
    ) -> Vec<String> {
        let checks = rules.checks.clone();
        let mut core = AlertCore::new(rules, Some(&self.inner.store));
        let problems = std::mem::take(&mut core.restore_problems);
        core.uptime.advance(self.inner.clock.now_ms());
        let (dtx, mut drx) = tokio::sync::mpsc::unbounded_channel();
        let queue = self
            .inner
            .store
            .notify_queue()
            .map_err(|e| tracing::warn!("opening the notification queue: {e} (undelivered messages are not kept)"))
            .ok();
        let (outbox, mut tasks) = deliver::start(notifiers, retry, self.inner.clock.clone(), config_dir, queue, dtx);
        core.notify.policy.configure(notifiers.to_vec());
        core.notify.outbox = Some(outbox);
        let (jobs, jobs_rx) = mpsc::unbounded_channel::<Job>();
        *self.inner.alerts.lock().unwrap_or_else(|p| p.into_inner()) = Some(jobs);
        let engine = self.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(d) = drx.recv().await {
                let e = engine.clone();
                engine.alerts_do(move |core| {
                    core.notify.delivered(d);
                    e.publish_alerts(core, false);
                });
            }
        }));
        tasks.push(tokio::spawn(core_loop(self.clone(), core, jobs_rx)));
        tasks.push(tokio::spawn(persist_loop(self.clone())));
        let probes = self.spawn_checks(checks, &registry);
        *self.inner.checks.lock().unwrap_or_else(|p| p.into_inner()) = Some((registry, probes));
        self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner()).extend(tasks);
        problems
    }

    /// One task per health check, probing on its interval through `registry`.
    pub(super) fn spawn_checks(
        &self,
        checks: Vec<super::rules::Check>,
        registry: &Registry,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::with_capacity(checks.len());
        for c in checks {
            let (engine, registry) = (self.clone(), registry.clone());
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(c.interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let name = c.name.clone();
                    if !engine.alerts_ask_async(move |core| core.enabled(&name)).await.unwrap_or(false) {
                        continue;
                    }
                    let at = engine.inner.clock.now_ms();
                    let outcome = checks::probe(&registry, &c, at).await;
                    let (e, name) = (engine.clone(), c.name.clone());
                    engine.alerts_do(move |core| {
                        core.check_outcome(&name, outcome, e.inner.clock.now_ms());
                        e.publish_alerts(core, true);
                    });
                }
            }));
        }
        tasks
    }

    /// Tell the alert engine about a workflow run (no-op when it is not running).
    pub(crate) fn run_alert(&self, ev: super::core::run_alerts::RunAlert) {
        let e = self.clone();
        self.alerts_do(move |core| {
            core.workflow_event(ev, e.inner.clock.now_ms());
            e.publish_alerts(core, true);
        });
    }

    /// Run `job` on the alert core's task (in order with everything else
    /// that touches it); false when the alert engine is not running.
    pub(super) fn alerts_do(&self, job: impl FnOnce(&mut AlertCore) + Send + 'static) -> bool {
        let jobs = self.inner.alerts.lock().unwrap_or_else(|p| p.into_inner()).clone();
        jobs.is_some_and(|j| j.send(Box::new(job)).is_ok())
    }

    /// Run `f` on the alert core's task and wait for its answer: blocking,
    /// for callers on blocking threads (commands, snapshots, reloads). `None`
    /// when the alert engine is not running.
    pub(super) fn alerts_ask<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut AlertCore) -> R + Send + 'static,
    ) -> Option<R> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.alerts_do(move |core| {
            let _ = tx.send(f(core));
        })
        .then(|| rx.recv().ok())
        .flatten()
    }

    /// [`Engine::alerts_ask`] for async callers.
    pub(super) async fn alerts_ask_async<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut AlertCore) -> R + Send + 'static,
    ) -> Option<R> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if !self.alerts_do(move |core| {
            let _ = tx.send(f(core));
        }) {
            return None;
        }
        rx.await.ok()
    }

    /// On the core's task: announce the alert state if it changed (or
    /// `force`), and hand what changed to the writer.
    pub(super) fn publish_alerts(&self, core: &mut AlertCore, force: bool) {
        let now = self.inner.clock.now_ms();
        let before = core.signature();
        let fresh = core.has_fresh();
        let (u, persist) = core.update(now);
        self.inner.alert_writes.push(persist);
        if force || fresh || before != core.signature() {
            self.publish(Topic::Alerts, now, Event::Alerts(Box::new(u)));
        }
    }

    /// The alert state for a new subscriber (blocking: it reads the stored
    /// timeline).
    pub fn alerts_event(&self) -> Option<Envelope> {
        if self.inner.alerts.lock().unwrap_or_else(|p| p.into_inner()).is_none() {
            return None;
        }
        let transitions = self.inner.store.transitions(TIMELINE_LOADED).unwrap_or_default();
        let snap = self.alerts_ask(move |core| core.snapshot(transitions))?;
        Some(Envelope {
            epoch: self.inner.bus.epoch(),
            seq: self.inner.bus.head_seq(),
            ts: self.inner.clock.now_ms(),
            source: LOCAL_SOURCE.into(),
            topic: Topic::Alerts,
            event: Event::Alerts(Box::new(snap)),
        })
    }

    /// Apply an alert command on the core's task (blocking until it answers).
    pub(in crate::engine) fn alert_command(&self, cmd: AlertsCommand) -> Result<Value, CommandError> {
        let e = self.clone();
        let r = self
            .alerts_ask(move |core| {
                let r = core.command(cmd, e.inner.clock.now_ms());
                if r.is_ok() {
                    e.publish_alerts(core, true);
                }
                r
            })
            .ok_or_else(|| CommandError::Invalid("the alert engine is not running".into()))?
            .map_err(CommandError::Invalid)?;
        self.write_pending()?;
        Ok(r)
    }
}

/// Writes what the alert core hands over, on a blocking thread, coalescing
/// what piles up meanwhile (persist.rs).
async fn persist_loop(engine: Engine) {
    loop {
        engine.inner.alert_writes.ready().await;
        let e = engine.clone();
        match tokio::task::spawn_blocking(move || e.inner.alert_writes.write_pending(&e.inner.store)).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!("saving the alert state: {err}"),
            Err(err) => tracing::error!("saving the alert state: {err}"),
        }
    }
}

/// The task that owns the alert core: jobs, host samples and the tick, in
/// the order they come.
async fn core_loop(engine: Engine, mut core: AlertCore, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let mut rx = engine.subscribe();
    let mut tick = tokio::time::interval(TICK);
    let mut pruned = 0u32;
    loop {
        // A message waiting for its group wait or interval: wake up when it is due.
        let due = core.notify.next_due().map(|due| {
            let wait = due.saturating_sub(engine.inner.clock.now_ms()).clamp(0, TICK.as_millis() as i64 * 720);
            tokio::time::Instant::now() + Duration::from_millis(wait as u64)
        });
        tokio::select! {
            _ = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                engine.publish_alerts(&mut core, false);
            }
            job = jobs.recv() => match job {
                Some(job) => job(&mut core),
                None => return,
            },
            m = rx.recv() => match m {
                Ok(env) => {
                    let Event::HostSample(snap) = &env.event else { continue };
                    let snap: Arc<_> = Arc::new(snap.series_values());
                    core.ingest(env.ts, &snap);
                    core.evaluate(engine.inner.clock.now_ms());
                    engine.publish_alerts(&mut core, false);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            },
            _ = tick.tick() => {
                core.evaluate(engine.inner.clock.now_ms());
                engine.publish_alerts(&mut core, false);
                pruned += 1;
                if pruned.is_multiple_of(720) {
                    // A store write: off the task.
                    let (e, now) = (engine.clone(), engine.inner.clock.now_ms());
                    tokio::task::spawn_blocking(move || AlertCore::prune(&e.inner.store, now));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineConfig;
    use crate::engine::store::Store;
    use crate::protocol::Command;

    /// The core lives in its task: jobs run in the order they were sent,
    /// a blocking ask waits for its turn, and a command's effect is in the
    /// next snapshot.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_core_runs_jobs_in_order_on_its_own_task() {
        let engine =
            Engine::new(Store::temporary().unwrap(), EngineConfig::default(), Arc::new(crate::clock::FixedClock(5)))
                .unwrap();
        assert!(!engine.alerts_do(|_| {}), "not running yet");
        assert!(engine.alerts_event().is_none());
        let (rules, errors) = super::super::rules::load(None);
        assert!(errors.is_empty(), "{errors:?}");
        let registry = Registry::with_builtins(crate::jq::JqRunner::in_process());
        let dir = tempfile::tempdir().unwrap();
        assert!(engine.start_alerts(rules, registry, &[], dir.path()).is_empty());

        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        for i in 0..200 {
            let seen = seen.clone();
            assert!(engine.alerts_do(move |_| seen.lock().unwrap().push(i)));
        }
        let e = engine.clone();
        let off = Command::Alerts(AlertsCommand::SetRuleEnabled { name: "load_high".into(), enabled: false });
        let answer = tokio::task::spawn_blocking(move || e.handle("c-1", off)).await.unwrap().unwrap();
        assert_eq!(answer, serde_json::json!({"rule": "load_high", "enabled": false}));
        assert_eq!(*seen.lock().unwrap(), (0..200).collect::<Vec<_>>(), "every job ran, in order, before the command");

        let e = engine.clone();
        let event = tokio::task::spawn_blocking(move || e.alerts_event()).await.unwrap().expect("a snapshot");
        let Event::Alerts(update) = event.event else { panic!("alerts") };
        let rule = update.rules.iter().find(|r| r.name == "load_high").expect("the rule");
        assert!(!rule.enabled, "the command is in the snapshot");
        engine.shutdown();
    }
}
