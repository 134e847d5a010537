//! Delivering notifications: one task per notifier. A message that fails is
//! retried with exponential backoff and jitter (1 s doubling to 60 s, given up
//! after 10 min); a newer message for the same group replaces one still
//! waiting for its retry (it carries the group's current state). Every attempt
//! is reported as one [`Delivery`] per alert of the message, error included.
//!
//! Not retried: an HTTP 4xx answer other than 408 and 429 (the URL or body is
//! wrong; trying again will not help), an SMTP 5xx reply (see [`super::smtp`]),
//! and desktop notifications.
//!
//! Durable: with a [`NotifyQueue`], a message (of a notifier that retries) is
//! written before its first attempt and after each failed one, and removed
//! once sent or given up; at start the queue is read back and what waits is
//! tried at once, keeping its attempt count and its give-up time (a message
//! whose give-up time passed while opsdeck was stopped gets one attempt).
//! A crash between a successful send and the removal sends it twice; nothing
//! is lost.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::notify::{Notification, Reason, Status, desktop_args, json_body, slack_body};
use crate::clock::Clock;
use crate::config::alerting::{NotifierConfig, NotifierKind, Target};
use crate::engine::store::notify_queue::NotifyQueue;
use crate::protocol::Ts;
use crate::protocol::alerts::{AlertState, Delivery};

/// Longest a `notify-send` may take.
const DESKTOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Characters of an error answer's body kept in the delivery's error.
const ERROR_BODY: usize = 200;

/// When to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// The first wait; it doubles with each failure…
    pub first: Duration,
    /// …up to this (each wait is then scaled by a random 50–100 %).
    pub max: Duration,
    /// No retry starts later than this after the message was queued.
    pub give_up: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry { first: Duration::from_secs(1), max: Duration::from_secs(60), give_up: Duration::from_secs(600) }
    }
}

impl Retry {
    /// The wait after failed attempt number `attempt` (1-based), before jitter.
    pub fn base(&self, attempt: u32) -> Duration {
        self.first.saturating_mul(1u32 << attempt.saturating_sub(1).min(16)).min(self.max)
    }

    fn wait(&self, attempt: u32) -> Duration {
        let mut b = [0u8; 4];
        let _ = getrandom::fill(&mut b);
        let jitter = f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX);
        self.base(attempt).mul_f64(0.5 + jitter / 2.0)
    }
}

/// Hands notifications to their notifier's task.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    senders: BTreeMap<String, mpsc::UnboundedSender<Notification>>,
}

impl Outbox {
    pub fn send(&self, n: Notification) {
        if let Some(tx) = self.senders.get(&n.notifier) {
            let _ = tx.send(n);
        }
    }
}

/// Start one delivery task per notifier; attempts are reported on `out`.
/// With `queue`, undelivered messages are kept there (see the module docs):
/// those left by an earlier run are read now (blocking) and sent first;
/// those of notifiers no longer configured are dropped.
/// The tasks end when the [`Outbox`] is dropped or `out` is closed.
pub fn start(
    notifiers: &[NotifierConfig],
    retry: Retry,
    clock: Arc<dyn Clock>,
    config_dir: &Path,
    queue: Option<NotifyQueue>,
    out: mpsc::UnboundedSender<Vec<Delivery>>,
) -> (Outbox, Vec<JoinHandle<()>>) {
    let mut left: BTreeMap<String, Vec<Saved>> = BTreeMap::new();
    if let Some(q) = &queue {
        match q.retain(|name| notifiers.iter().any(|n| n.name == name)) {
            Ok(0) => {}
            Ok(n) => tracing::info!("dropped {n} undelivered notifications of notifiers no longer configured"),
            Err(e) => tracing::warn!("reading the notification queue: {e}"),
        }
        for (name, bytes) in q.all().unwrap_or_else(|e| {
            tracing::warn!("reading the notification queue: {e}");
            Vec::new()
        }) {
            match serde_json::from_slice::<Saved>(&bytes) {
                Ok(saved) => left.entry(name).or_default().push(saved),
                Err(e) => tracing::warn!("notifier {name}: an unreadable queued notification is dropped: {e}"),
            }
        }
    }
    let mut outbox = Outbox::default();
    let mut tasks = Vec::new();
    for cfg in notifiers {
        let (tx, rx) = mpsc::unbounded_channel();
        outbox.senders.insert(cfg.name.clone(), tx);
        let w = Worker {
            channel: cfg.channel(),
            cfg: cfg.clone(),
            retry,
            clock: clock.clone(),
            config_dir: config_dir.to_path_buf(),
            out: out.clone(),
            http: None,
            url: None,
            told_missing: false,
            queue: queue.clone().filter(|_| durable(&cfg.kind)),
        };
        tasks.push(tokio::spawn(w.run(rx, left.remove(&cfg.name).unwrap_or_default())));
    }
    (outbox, tasks)
}

/// Whether a notifier's messages are kept until delivered: those that are
/// retried (the bell and desktop notifications are not).
fn durable(kind: &NotifierKind) -> bool {
    !matches!(kind, NotifierKind::Bell | NotifierKind::Desktop)
}

struct Pending {
    n: Notification,
    attempt: u32,
    due: Instant,
    deadline: Instant,
    /// `deadline` on the wall clock (Unix ms), for the queue.
    deadline_ms: Ts,
}

/// A queued message as stored: attempts made so far and when to give up (Unix ms).
#[derive(Serialize, Deserialize)]
struct Saved {
    notification: Notification,
    attempt: u32,
    give_up_at: Ts,
}

enum Outcome {
    Sent,
    Failed {
        error: String,
        permanent: bool,
    },
    /// Nothing to record (a desktop notifier without notify-send, told once already).
    Skip,
}

struct Worker {
    cfg: NotifierConfig,
    channel: String,
    retry: Retry,
    clock: Arc<dyn Clock>,
    config_dir: PathBuf,
    out: mpsc::UnboundedSender<Vec<Delivery>>,
    http: Option<reqwest::Client>,
    /// The URL once read (from the config or the secret).
    url: Option<String>,
    told_missing: bool,
    /// Where undelivered messages are kept (durable notifiers only).
    queue: Option<NotifyQueue>,
}

impl Worker {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Notification>, left: Vec<Saved>) {
        // Group key → the message waiting for its (next) attempt.
        let mut queue: BTreeMap<String, Pending> = BTreeMap::new();
        // Left by an earlier run: due now, with the give-up time they had.
        let (now, now_ms) = (Instant::now(), self.clock.now_ms());
        for s in left {
            let remaining = Duration::from_millis(s.give_up_at.saturating_sub(now_ms).max(0) as u64);
            let p = Pending {
                attempt: s.attempt,
                due: now,
                deadline: now + remaining.min(self.retry.give_up),
                deadline_ms: s.give_up_at,
                n: s.notification,
            };
            queue.insert(p.n.group_key.clone(), p);
        }
        loop {
            let next = queue.values().map(|p| p.due).min();
            tokio::select! {
                m = rx.recv() => match m {
                    Some(n) => self.enqueue(&mut queue, n).await,
                    None => return,
                },
                _ = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                    let now = Instant::now();
                    let due: Vec<String> = queue.iter().filter(|(_, p)| p.due <= now).map(|(k, _)| k.clone()).collect();
                    for key in due {
                        let Some(p) = queue.remove(&key) else { continue };
                        match self.attempt(p).await {
                            Ok(Some(again)) => {
                                queue.insert(key, again);
                            }
                            Ok(None) => {}
                            Err(()) => return,
                        }
                    }
                }
            }
        }
    }

    async fn enqueue(&self, queue: &mut BTreeMap<String, Pending>, n: Notification) {
        if n.reason == Reason::Withdraw {
            return self.withdraw(queue, &n).await;
        }
        // The bell is for trouble only.
        if self.cfg.kind == NotifierKind::Bell && n.status == Status::Resolved {
            return;
        }
        let now = Instant::now();
        let deadline = now + self.retry.give_up;
        let deadline_ms = self.clock.now_ms().saturating_add(self.retry.give_up.as_millis() as i64);
        let key = n.group_key.clone();
        match queue.get_mut(&key) {
            // Waiting for a retry: the newer state goes out instead, on the same schedule.
            Some(p) => {
                p.n = n;
                p.deadline = deadline;
                p.deadline_ms = deadline_ms;
            }
            None => {
                queue.insert(key.clone(), Pending { n, attempt: 0, due: now, deadline, deadline_ms });
            }
        }
        if let Some(p) = queue.get(&key) {
            self.keep(p).await;
        }
    }

    /// Alerts acknowledged, silenced or resolved since they were handed over
    /// as firing: a message still waiting for its retry stops paging for
    /// them (it keeps what it says about resolved alerts); one left with
    /// nothing to say is dropped.
    async fn withdraw(&self, queue: &mut BTreeMap<String, Pending>, w: &Notification) {
        let Some(p) = queue.get_mut(&w.group_key) else { return };
        let still = |id: &String| w.alerts.iter().any(|a| &a.id == id);
        p.n.alerts.retain(|a| a.state != AlertState::Firing || still(&a.id));
        if p.n.alerts.is_empty() {
            queue.remove(&w.group_key);
            self.forget(&w.group_key).await;
            return;
        }
        if !p.n.alerts.iter().any(|a| a.state == AlertState::Firing) {
            p.n.status = Status::Resolved;
        }
        if let Some(p) = queue.get(&w.group_key) {
            self.keep(p).await;
        }
    }

    /// Write `p` to the queue (it is not delivered yet).
    async fn keep(&self, p: &Pending) {
        let Some(q) = self.queue.clone() else { return };
        let saved = Saved { notification: p.n.clone(), attempt: p.attempt, give_up_at: p.deadline_ms };
        let Ok(bytes) = serde_json::to_vec(&saved) else { return };
        let (name, group) = (self.cfg.name.clone(), p.n.group_key.clone());
        match tokio::task::spawn_blocking(move || q.put(&name, &group, &bytes)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("notifier {}: keeping a notification for delivery: {e}", self.cfg.name),
            Err(e) => tracing::warn!("notifier {}: keeping a notification for delivery: {e}", self.cfg.name),
        }
    }

    /// Drop group `group`'s message from the queue (sent or given up).
    async fn forget(&self, group: &str) {
        let Some(q) = self.queue.clone() else { return };
        let (name, group) = (self.cfg.name.clone(), group.to_string());
        match tokio::task::spawn_blocking(move || q.remove(&name, &group)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("notifier {}: removing a delivered notification: {e}", self.cfg.name),
            Err(e) => tracing::warn!("notifier {}: removing a delivered notification: {e}", self.cfg.name),
        }
    }

    /// One attempt; `Ok(Some)` to try again later, `Err` when nobody listens any more.
    async fn attempt(&mut self, mut p: Pending) -> Result<Option<Pending>, ()> {
        p.attempt += 1;
        // Sent now: its time (and every age in it) is the attempt's, not when it was decided.
        p.n.at = self.clock.now_ms();
        let (error, again) = match self.send(&p.n).await {
            Outcome::Skip => {
                self.forget(&p.n.group_key).await;
                return Ok(None);
            }
            Outcome::Sent => (None, None),
            Outcome::Failed { error, permanent: true } => (Some(format!("{error} (not retried)")), None),
            Outcome::Failed { error, permanent: false } => {
                let due = Instant::now() + self.retry.wait(p.attempt);
                if due > p.deadline {
                    (
                        Some(format!(
                            "{error} (gave up after {})",
                            crate::text::count(u64::from(p.attempt), "attempt", "attempts")
                        )),
                        None,
                    )
                } else {
                    (Some(error), Some(due))
                }
            }
        };
        if let Some(e) = &error {
            tracing::warn!("notifier {}: attempt {} failed: {e}", self.cfg.name, p.attempt);
        }
        let at = self.clock.now_ms();
        let deliveries: Vec<Delivery> =
            p.n.alerts
                .iter()
                // The bell rings for the firing ones only.
                .filter(|a| self.cfg.kind != NotifierKind::Bell || a.state == AlertState::Firing)
                .map(|a| Delivery {
                    alert: a.id.clone(),
                    channel: self.channel.clone(),
                    at,
                    attempt: p.attempt,
                    error: error.clone(),
                })
                .collect();
        // The queue first: a message sent is not sent again after a restart,
        // even when nobody listens to the report any more (shutting down).
        let again = match again {
            Some(due) => {
                let p = Pending { due, ..p };
                self.keep(&p).await;
                Some(p)
            }
            None => {
                self.forget(&p.n.group_key).await;
                None
            }
        };
        self.out.send(deliveries).map_err(|_| ())?;
        Ok(again)
    }

    async fn send(&mut self, n: &Notification) -> Outcome {
        match self.cfg.kind {
            NotifierKind::Bell => Outcome::Sent,
            NotifierKind::Desktop => self.desktop(n).await,
            NotifierKind::Webhook => self.post(json_body(n)).await,
            NotifierKind::Slack => self.post(slack_body(n)).await,
            NotifierKind::Email => match &self.cfg.target {
                Target::Email(t) => match super::smtp::deliver(t, n, &self.config_dir).await {
                    Ok(()) => Outcome::Sent,
                    Err(e) => Outcome::Failed { error: e.text, permanent: e.permanent },
                },
                _ => Outcome::Skip,
            },
        }
    }

    async fn desktop(&mut self, n: &Notification) -> Outcome {
        let child = tokio::process::Command::new("notify-send")
            .args(desktop_args(n))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if self.told_missing {
                    return Outcome::Skip;
                }
                self.told_missing = true;
                let error = "notify-send not found (install libnotify-bin for desktop notifications)".into();
                return Outcome::Failed { error, permanent: true };
            }
            Err(e) => return Outcome::Failed { error: format!("notify-send: {e}"), permanent: true },
        };
        match tokio::time::timeout(DESKTOP_TIMEOUT, child.wait_with_output()).await {
            Ok(Ok(o)) if o.status.success() => Outcome::Sent,
            Ok(Ok(o)) => {
                let err = String::from_utf8_lossy(&o.stderr);
                let err: String = err.trim().chars().take(ERROR_BODY).collect();
                Outcome::Failed { error: format!("notify-send: {}: {err}", o.status), permanent: true }
            }
            Ok(Err(e)) => Outcome::Failed { error: format!("notify-send: {e}"), permanent: true },
            Err(_) => Outcome::Failed { error: "notify-send timed out".into(), permanent: true },
        }
    }

    /// The URL to post to; a secret is read once it is found.
    async fn url(&mut self) -> Result<String, String> {
        if let Some(u) = &self.url {
            return Ok(u.clone());
        }
        let url = match &self.cfg.target {
            Target::Url(u) => u.clone(),
            Target::None | Target::Email(_) => return Err("no url".into()),
            Target::Secret(name) => {
                let (n, dir) = (name.clone(), self.config_dir.clone());
                match tokio::task::spawn_blocking(move || crate::secrets::get(&n, &dir)).await {
                    Ok(Ok(Some(found))) => found.value.trim().to_string(),
                    Ok(Ok(None)) => return Err(format!("no secret named {name} (opsdeck key set {name})")),
                    Ok(Err(e)) => return Err(format!("reading the secret {name}: {e}")),
                    Err(e) => return Err(format!("reading the secret {name}: {e}")),
                }
            }
        };
        self.url = Some(url.clone());
        Ok(url)
    }

    async fn post(&mut self, body: serde_json::Value) -> Outcome {
        let url = match self.url().await {
            Ok(u) => u,
            Err(error) => return Outcome::Failed { error, permanent: false },
        };
        if self.http.is_none() {
            match crate::net::http_client() {
                Ok(c) => self.http = Some(c),
                Err(error) => return Outcome::Failed { error, permanent: true },
            }
        }
        let Some(http) = &self.http else { return Outcome::Skip };
        let sent = http
            .post(&url)
            .header(reqwest::header::USER_AGENT, concat!("opsdeck/", env!("CARGO_PKG_VERSION")))
            .json(&body)
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            // Never the URL in a message: a Slack webhook URL is a credential.
            Err(e) => return Outcome::Failed { error: crate::net::error_text(e), permanent: false },
        };
        let status = resp.status();
        if status.is_success() {
            return Outcome::Sent;
        }
        let text = resp.text().await.unwrap_or_default();
        let text: String = text.trim().chars().take(ERROR_BODY).collect();
        let error = if text.is_empty() { format!("HTTP {status}") } else { format!("HTTP {status}: {text}") };
        let permanent = status.is_client_error() && status.as_u16() != 408 && status.as_u16() != 429;
        Outcome::Failed { error, permanent }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap() {
        let r = Retry::default();
        let waits: Vec<u64> = (1..=8).map(|a| r.base(a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        for a in 1..10 {
            let w = r.wait(a);
            assert!(w >= r.base(a) / 2 && w <= r.base(a), "{w:?}");
        }
    }
}
