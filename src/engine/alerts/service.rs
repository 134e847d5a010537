//! The alert engine inside an [`Engine`]: evaluates rules on every host
//! sample (and every few seconds, for absence and silence expiry), runs each
//! health check on its interval, applies commands, and publishes an
//! `Event::Alerts` whenever something changed. Notifications decided on each
//! update go to the delivery tasks, whose attempts are announced the same way.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::checks;
use super::core::AlertCore;
use super::deliver::{self, Retry};
use super::rules::RuleSet;
use crate::config::alerting::NotifierConfig;
use crate::engine::tools::Registry;
use crate::engine::{CommandError, Engine};
use crate::protocol::{AlertsCommand, Envelope, Event, LOCAL_SOURCE, Topic};

/// Evaluation without samples (absence, silence expiry).
const TICK: Duration = Duration::from_secs(5);

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
        let (dtx, mut drx) = tokio::sync::mpsc::unbounded_channel();
        let (outbox, mut tasks) = deliver::start(notifiers, retry, self.inner.clock.clone(), config_dir, dtx);
        core.notify.policy.configure(notifiers.to_vec());
        core.notify.outbox = Some(outbox);
        *self.inner.alerts.lock().unwrap_or_else(|p| p.into_inner()) = Some(core);
        let engine = self.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(d) = drx.recv().await {
                engine.with_alerts(|core| core.notify.delivered(d));
                engine.publish_alerts(false);
            }
        }));
        tasks.push(tokio::spawn(eval_loop(self.clone())));
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
                    if !engine.with_alerts(|core| core.enabled(&c.name)).unwrap_or(false) {
                        continue;
                    }
                    let at = engine.inner.clock.now_ms();
                    let outcome = checks::probe(&registry, &c, at).await;
                    let now = engine.inner.clock.now_ms();
                    engine.with_alerts(|core| core.check_outcome(&c.name, outcome, now));
                    engine.publish_alerts(true);
                }
            }));
        }
        tasks
    }

    pub(super) fn with_alerts<R>(&self, f: impl FnOnce(&mut AlertCore) -> R) -> Option<R> {
        self.inner.alerts.lock().unwrap_or_else(|p| p.into_inner()).as_mut().map(f)
    }

    /// Announce the alert state if it changed (or `force`).
    pub(super) fn publish_alerts(&self, force: bool) {
        let now = self.inner.clock.now_ms();
        let update = self.with_alerts(|core| {
            let before = core.signature();
            let fresh = core.has_fresh();
            let (u, persist) = core.update(now);
            self.inner.alert_writes.push(persist);
            (force || fresh || before != core.signature()).then_some(u)
        });
        if let Some(Some(u)) = update {
            self.publish(Topic::Alerts, now, Event::Alerts(Box::new(u)));
        }
    }

    /// The alert state for a new subscriber.
    pub fn alerts_event(&self) -> Option<Envelope> {
        let snap = self.with_alerts(|core| core.snapshot(&self.inner.store))?;
        Some(Envelope {
            epoch: self.inner.bus.epoch(),
            seq: self.inner.bus.head_seq(),
            ts: self.inner.clock.now_ms(),
            source: LOCAL_SOURCE.into(),
            topic: Topic::Alerts,
            event: Event::Alerts(Box::new(snap)),
        })
    }

    pub(in crate::engine) fn alert_command(&self, cmd: AlertsCommand) -> Result<Value, CommandError> {
        let now = self.inner.clock.now_ms();
        let r = self
            .with_alerts(|core| core.command(cmd, now))
            .ok_or_else(|| CommandError::Invalid("the alert engine is not running".into()))?
            .map_err(CommandError::Invalid)?;
        self.publish_alerts(true);
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

async fn eval_loop(engine: Engine) {
    let mut rx = engine.subscribe();
    let mut tick = tokio::time::interval(TICK);
    let mut pruned = 0u32;
    loop {
        tokio::select! {
            m = rx.recv() => match m {
                Ok(env) => {
                    let Event::HostSample(snap) = &env.event else { continue };
                    let snap: Arc<_> = Arc::new(snap.series_values());
                    let now = engine.inner.clock.now_ms();
                    engine.with_alerts(|core| {
                        core.ingest(env.ts, &snap);
                        core.evaluate(now);
                    });
                    engine.publish_alerts(false);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            },
            _ = tick.tick() => {
                let now = engine.inner.clock.now_ms();
                engine.with_alerts(|core| core.evaluate(now));
                engine.publish_alerts(false);
                pruned += 1;
                if pruned.is_multiple_of(720) {
                    AlertCore::prune(&engine.inner.store);
                }
            }
        }
    }
}
