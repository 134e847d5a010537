//! The connection to a Prefect server: a REST read of its deployments and
//! newest flow runs (one snapshot), then its events WebSocket; logs of the
//! runs in flight read every `poll`; on a drop, a reconnect with backoff
//! that reads the runs again over REST (what changed while the stream was
//! down) and resubscribes from the newest event seen minus [`RESUME_SLACK`]
//! (late events of older `occurred` are not missed; the re-sent ones are
//! dropped by id).
//!
//! Emits [`ClientMsg`]s like a backend's connection (the runtime turns them
//! into actions): `Connecting`, `Connected`, `Retrying` (offline, with when
//! the next attempt is), `Events` (one source-numbered batch per change) and
//! `CommandDone` for each [`Ask`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::model;
use super::track::{Changes, Ended, Tracker};
use super::{Api, commands};
use crate::clock::Clock;
use crate::protocol::workflow::{WorkflowsCommand, WorkflowsSnapshot};
use crate::protocol::{Envelope, Event, Topic, Ts};
use crate::remote::client::{ClientMsg, backoff, jitter};

/// A resubscription starts this long before the newest event seen.
pub const RESUME_SLACK_MS: Ts = 60_000;
/// Flow runs read at start and at each reconnect.
const RECENT_RUNS: usize = 200;
/// Largest event frame read (bytes).
const MAX_FRAME: usize = 4 << 20;
/// A stream silent this long is dropped and reconnected (Prefect sends
/// heartbeats of running flows, but an idle server sends nothing: this
/// only bounds a half-open connection's life, with a ping first).
const PING_EVERY: Duration = Duration::from_secs(30);
/// Log records read of one flow run in one poll.
const LOG_BATCH: usize = 2_000;
/// Log ids remembered per followed run (to drop re-read records).
const LOG_IDS_KEPT: usize = 5_000;
/// Logs are read again from this long before the newest record seen:
/// Prefect's clients ship logs in batches, late.
const LOG_SLACK_MS: Ts = 15_000;
/// A run that ended is followed this long more (its last logs land late).
const FOLLOW_AFTER_END_MS: Ts = 20_000;

/// A command for the connection: its id and the command.
pub type Ask = (String, WorkflowsCommand);

/// Where the logs of one followed run have been read to.
#[derive(Debug, Default)]
struct LogCursor {
    newest: Option<Ts>,
    ids: HashSet<String>,
    order: VecDeque<String>,
}

impl LogCursor {
    /// Take `id` once (false: seen before).
    fn take(&mut self, id: &str, at: Option<Ts>) -> bool {
        if let Some(t) = at {
            self.newest = Some(self.newest.map_or(t, |n| n.max(t)));
        }
        if id.is_empty() || !self.ids.insert(id.to_string()) {
            return id.is_empty();
        }
        self.order.push_back(id.to_string());
        if self.order.len() > LOG_IDS_KEPT
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        true
    }
}

/// The connection's state across reconnects.
pub(super) struct Conn {
    pub api: Api,
    pub tr: Tracker,
    clock: Arc<dyn Clock>,
    tx: mpsc::Sender<ClientMsg>,
    alerts: Option<mpsc::Sender<Ended>>,
    epoch: u64,
    seq: u64,
    logs: HashMap<String, LogCursor>,
    /// Runs followed after their end until then (Unix ms).
    ended_at: HashMap<String, Ts>,
}

/// Run the connection until `tx` closes. `alerts` hears of flow runs that
/// ended failed or succeeded while watched.
pub async fn run(
    api: Api,
    clock: Arc<dyn Clock>,
    tx: mpsc::Sender<ClientMsg>,
    mut asks: mpsc::Receiver<Ask>,
    alerts: Option<mpsc::Sender<Ended>>,
) {
    let name = api.spec.name.clone();
    let epoch = clock.now_ms().max(0) as u64;
    let mut c = Conn {
        api,
        tr: Tracker::default(),
        clock,
        tx,
        alerts,
        epoch,
        seq: 0,
        logs: HashMap::new(),
        ended_at: HashMap::new(),
    };
    let mut attempt = 0u32;
    let mut first = true;
    loop {
        if c.tx.send(ClientMsg::Connecting(name.clone())).await.is_err() {
            return;
        }
        let error = match c.session(&mut asks, &mut first, &mut attempt).await {
            Ok(()) => return,
            Err(e) => e,
        };
        attempt += 1;
        let wait = backoff(attempt, jitter());
        let at = c.clock.now_ms() + wait.as_millis() as Ts;
        tracing::info!("prefect {name}: {error}; retrying in {wait:?}");
        let msg = ClientMsg::Retrying { name: name.clone(), at, attempt, error };
        if c.tx.send(msg).await.is_err() {
            return;
        }
        // Commands are still answered while waiting (reads fail fast).
        let sleep = tokio::time::sleep(wait);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => break,
                a = asks.recv() => match a {
                    Some(a) => c.ask(a).await,
                    None => return,
                },
                _ = c.tx.closed() => return,
            }
        }
    }
}

impl Conn {
    /// A connection without its event stream (for one command line's
    /// reads and actions): what it announces is dropped.
    pub(super) fn detached(api: Api, clock: Arc<dyn Clock>) -> Conn {
        let (tx, mut rx) = mpsc::channel::<ClientMsg>(64);
        tokio::spawn(async move { while rx.recv().await.is_some() {} });
        let epoch = clock.now_ms().max(0) as u64;
        Conn {
            api,
            tr: Tracker::default(),
            clock,
            tx,
            alerts: None,
            epoch,
            seq: 0,
            logs: HashMap::new(),
            ended_at: HashMap::new(),
        }
    }

    /// This clock's now (Unix ms).
    pub(super) fn now(&self) -> Ts {
        self.clock.now_ms()
    }

    /// Read the deployments and newest runs (see [`Conn::sync`]).
    pub(super) async fn read_recent(&mut self) -> Result<(), String> {
        self.sync(true).await.map(|_| ())
    }

    /// Read one flow run by id and take it in (with its flow's name).
    pub(super) async fn read_run(&mut self, id: &str) -> Result<(), String> {
        let ch = Changes { unknown: vec![id.to_string()], ..Changes::default() };
        self.take(ch).await
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl Conn {
    /// Send changes as one batch; alerts for the runs that ended.
    pub(super) async fn emit(&mut self, ch: Changes) -> Result<(), ()> {
        for e in ch.ended {
            if let Some(a) = &self.alerts {
                let _ = a.send(e.clone()).await;
            }
            if let Ended::Failed(r) | Ended::Succeeded(r) = &e
                && let Some(x) = &r.external
            {
                self.ended_at.insert(x.id.clone(), self.clock.now_ms());
            }
        }
        self.send(ch.events).await
    }

    pub(super) async fn send(&mut self, events: Vec<Event>) -> Result<(), ()> {
        if events.is_empty() {
            return Ok(());
        }
        let now = self.clock.now_ms();
        let envs = events
            .into_iter()
            .map(|event| {
                self.seq += 1;
                Arc::new(Envelope {
                    epoch: self.epoch,
                    seq: self.seq,
                    ts: now,
                    source: self.api.spec.name.clone(),
                    topic: Topic::Workflows,
                    event,
                })
            })
            .collect();
        self.tx.send(ClientMsg::Events(envs)).await.map_err(|_| ())
    }

    /// Read the newest runs (and, the first time, the deployments) over
    /// REST. The server's own time (its `Date`) is returned: a
    /// subscription's `since` is taken from it, never from this clock.
    async fn sync(&mut self, first: bool) -> Result<Option<Ts>, String> {
        let server_now = self.api.health().await?;
        let deployments = if first { Some(self.api.deployments().await?) } else { None };
        // Not the runs scheduled ahead: they come when their time does.
        let until = model::rfc3339(server_now.unwrap_or_else(|| self.clock.now_ms()) + 60_000);
        let filter = json!({"expected_start_time": {"before_": until}});
        let runs = self.api.flow_runs(RECENT_RUNS, 0, filter).await?;
        let mut flow_ids: Vec<String> = runs.iter().map(|r| r.flow_id.clone()).collect();
        if let Some(ds) = &deployments {
            flow_ids.extend(ds.iter().map(|d| d.flow_id.clone()));
            for d in ds {
                self.tr.deployments.insert(d.id.clone(), (d.name.clone(), d.flow_id.clone()));
            }
        }
        flow_ids.retain(|f| !f.is_empty() && !self.tr.flows.contains_key(f));
        flow_ids.sort();
        flow_ids.dedup();
        for f in self.api.flows(&flow_ids).await? {
            self.tr.flows.insert(f.id, f.name);
        }
        let mut ch = Changes::default();
        for fr in runs.iter().rev() {
            merge(&mut ch, self.tr.flow_run(fr, !first));
        }
        // Steps of the runs in flight (and of those a reconnect found ended).
        let mut want: Vec<String> = self.tr.active();
        if !first {
            want.extend(ch.ended.iter().filter_map(|e| match e {
                Ended::Failed(r) | Ended::Succeeded(r) => r.external.as_ref().map(|x| x.id.clone()),
            }));
        }
        for id in want.into_iter().take(50) {
            let trs = self.api.task_runs(&id).await?;
            merge(&mut ch, self.tr.task_runs(&id, &trs));
        }
        if let Some(ds) = deployments {
            let snap = self.snapshot(&ds);
            ch.events = vec![Event::Workflows(Box::new(snap))];
        }
        self.emit(ch).await.map_err(|_| "closed".to_string())?;
        Ok(server_now)
    }

    /// The pane's whole picture of this source.
    fn snapshot(&self, ds: &[model::Deployment]) -> WorkflowsSnapshot {
        let workflows = ds
            .iter()
            .map(|d| model::workflow_of(d, self.tr.flows.get(&d.flow_id).map_or("", String::as_str)))
            .collect();
        let runs = self.tr.runs();
        let active_steps = runs
            .iter()
            .filter(|t| t.run.state.is_active())
            .map(|t| (t.run.id, t.run.attempt, t.steps.clone()))
            .collect();
        WorkflowsSnapshot {
            workflows,
            problems: Vec::new(),
            runs: runs.into_iter().map(|t| t.run.clone()).collect(),
            active_steps,
        }
    }

    /// One connection: sync, subscribe, then events, commands and polls
    /// until it drops (`Err`: why) or the app goes (`Ok`).
    async fn session(
        &mut self,
        asks: &mut mpsc::Receiver<Ask>,
        first: &mut bool,
        attempt: &mut u32,
    ) -> Result<(), String> {
        let server_now = self.sync(*first).await?;
        *first = false;
        let since = match (self.tr.max_occurred, server_now) {
            (Some(m), _) => m - RESUME_SLACK_MS,
            (None, Some(now)) => now - RESUME_SLACK_MS,
            // A server without a Date: from the newest run's state (its clock).
            (None, None) => self.tr.runs().first().map_or(0, |t| t.state_at) - RESUME_SLACK_MS,
        };
        let mut ws = self.subscribe(since).await?;
        *attempt = 0;
        if self.tx.send(ClientMsg::Connected(self.api.spec.name.clone())).await.is_err() {
            return Ok(());
        }
        let mut poll = tokio::time::interval(self.api.spec.poll);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ticks = 0u64;
        let mut last_frame = tokio::time::Instant::now();
        let mut pinged = false;
        loop {
            tokio::select! {
                f = ws.next() => {
                    last_frame = tokio::time::Instant::now();
                    pinged = false;
                    match f {
                        None => return Err("the event stream ended".into()),
                        Some(Err(e)) => return Err(format!("event stream: {}", crate::net::strip_os_error(&e.to_string()))),
                        Some(Ok(Message::Close(frame))) => return Err(close_words(frame.as_ref())),
                        Some(Ok(Message::Text(t))) => {
                            let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                            if v["type"] == "event" {
                                let ch = self.tr.event(&v["event"]);
                                self.take(ch).await?;
                            }
                        }
                        Some(Ok(_)) => {}
                    }
                }
                a = asks.recv() => match a {
                    Some(a) => self.ask(a).await,
                    None => return Ok(()),
                },
                _ = poll.tick() => {
                    ticks += 1;
                    if last_frame.elapsed() > PING_EVERY * 2 && pinged {
                        return Err("the event stream went silent (no answer to a ping)".into());
                    }
                    if last_frame.elapsed() > PING_EVERY && !pinged {
                        ws.send(Message::Ping(b"opsdeck".to_vec().into())).await.map_err(|e| e.to_string())?;
                        pinged = true;
                    }
                    self.poll_logs().await?;
                    if ticks.is_multiple_of(12) {
                        self.refresh_deployments().await?;
                    }
                }
                _ = self.tx.closed() => return Ok(()),
            }
        }
    }

    /// Apply an event's changes: flow runs heard of but not known are read first.
    async fn take(&mut self, mut ch: Changes) -> Result<(), String> {
        let unknown = std::mem::take(&mut ch.unknown);
        for id in unknown.into_iter().take(20) {
            let fr = self.api.flow_run(&id).await?;
            if model::upcoming(&fr, self.clock.now_ms()) {
                continue;
            }
            if !self.tr.flows.contains_key(&fr.flow_id) && !fr.flow_id.is_empty() {
                for f in self.api.flows(std::slice::from_ref(&fr.flow_id)).await? {
                    self.tr.flows.insert(f.id, f.name);
                }
            }
            if let Some(d) = &fr.deployment_id
                && !self.tr.deployments.contains_key(d)
            {
                self.refresh_deployments().await?;
            }
            merge(&mut ch, self.tr.flow_run(&fr, true));
            let trs = self.api.task_runs(&id).await?;
            merge(&mut ch, self.tr.task_runs(&id, &trs));
        }
        self.emit(ch).await.map_err(|_| "closed".to_string())
    }

    async fn refresh_deployments(&mut self) -> Result<(), String> {
        let ds = self.api.deployments().await?;
        for d in &ds {
            self.tr.deployments.insert(d.id.clone(), (d.name.clone(), d.flow_id.clone()));
        }
        let snap = self.snapshot(&ds);
        self.send(vec![Event::Workflows(Box::new(snap))]).await.map_err(|_| "closed".to_string())
    }

    /// New log records of the runs in flight (and of those that just ended)
    /// as step output: every line under the flow run's step, a task run's
    /// also under its own.
    async fn poll_logs(&mut self) -> Result<(), String> {
        let now = self.clock.now_ms();
        self.ended_at.retain(|_, t| now - *t < FOLLOW_AFTER_END_MS);
        let mut follow = self.tr.active();
        follow.extend(self.ended_at.keys().cloned());
        follow.sort();
        follow.dedup();
        self.logs.retain(|id, _| follow.contains(id));
        for id in follow.into_iter().take(50) {
            let after = self.logs.get(&id).and_then(|c| c.newest).map(|n| model::rfc3339(n - LOG_SLACK_MS));
            let recs = self.api.logs(&id, after.as_deref(), LOG_BATCH).await?;
            let cursor = self.logs.entry(id.clone()).or_default();
            let fresh: Vec<model::LogRecord> =
                recs.into_iter().filter(|l| cursor.take(&l.id, model::ms(&l.timestamp))).collect();
            let Some(t) = self.tr.get(&id) else { continue };
            let (run, attempt) = (t.run.id, t.run.attempt);
            let events = super::track::log_by_step(t, &fresh)
                .into_iter()
                .map(|(step, lines)| Event::StepOutput { run, attempt, step, lines })
                .collect();
            self.send(events).await.map_err(|_| "closed".to_string())?;
        }
        Ok(())
    }

    /// Mark records as read for a followed run (after a full read answered a `step_log`).
    pub(super) fn logs_read(&mut self, id: &str, recs: &[model::LogRecord]) {
        if self.tr.get(id).is_some_and(|t| t.run.state.is_active()) || self.ended_at.contains_key(id) {
            let cursor = self.logs.entry(id.to_string()).or_default();
            for l in recs {
                cursor.take(&l.id, model::ms(&l.timestamp));
            }
        }
    }

    /// Open the events WebSocket and subscribe from `since` (Unix ms).
    async fn subscribe(&self, since: Ts) -> Result<Ws, String> {
        let url = self.api.spec.events_url()?;
        let mut req = url.as_str().into_client_request().map_err(|e| format!("{url}: {e}"))?;
        req.headers_mut().insert("Sec-WebSocket-Protocol", "prefect".parse().map_err(|_| "header".to_string())?);
        let config =
            tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().max_message_size(Some(MAX_FRAME));
        let connector = if url.starts_with("wss://") {
            Some(tokio_tungstenite::Connector::Rustls(crate::net::tls_client_config(None)?))
        } else {
            None
        };
        let fut = tokio_tungstenite::connect_async_tls_with_config(req, Some(config), false, connector);
        let (mut ws, _) = match tokio::time::timeout(Duration::from_secs(15), fut).await {
            Err(_) => return Err("connecting to the event stream timed out".into()),
            Ok(Err(e)) => return Err(format!("event stream: {}", crate::net::strip_os_error(&e.to_string()))),
            Ok(Ok(x)) => x,
        };
        let auth = json!({"type": "auth", "token": self.api.spec.key});
        ws.send(Message::Text(auth.to_string().into())).await.map_err(|e| e.to_string())?;
        let answer = tokio::time::timeout(Duration::from_secs(15), ws.next()).await;
        match answer {
            Ok(Some(Ok(Message::Text(t))))
                if serde_json::from_str::<Value>(&t).is_ok_and(|v| v["type"] == "auth_success") => {}
            Ok(Some(Ok(Message::Close(f)))) => {
                return Err(format!(
                    "the event stream refused the API key ({}): check key_secret in the [[prefect]] table {:?}",
                    close_words(f.as_ref()),
                    self.api.spec.name
                ));
            }
            Ok(Some(Ok(m))) => {
                return Err(format!(
                    "the event stream answered the auth with {}",
                    crate::decode::cut(&m.to_string(), 120)
                ));
            }
            Ok(Some(Err(e))) => return Err(format!("event stream: {e}")),
            Ok(None) => return Err("the event stream closed during auth".into()),
            Err(_) => return Err("the event stream did not answer the auth".into()),
        }
        // A far-future `until`: without one, Prefect stops at "now" and no live event comes.
        let filter = json!({
            "type": "filter",
            "filter": {
                "occurred": {"since": model::rfc3339(since), "until": "2100-01-01T00:00:00Z"},
                "event": {"prefix": ["prefect.flow-run.", "prefect.task-run."], "exclude_name": ["prefect.flow-run.heartbeat"]},
            },
            "backfill": true,
        });
        ws.send(Message::Text(filter.to_string().into())).await.map_err(|e| e.to_string())?;
        Ok(ws)
    }
}

/// Put `b`'s changes after `a`'s.
pub(super) fn merge(a: &mut Changes, b: Changes) {
    a.events.extend(b.events);
    a.unknown.extend(b.unknown);
    a.ended.extend(b.ended);
}

/// Why the server closed the stream, in words (1012: it restarts).
fn close_words(f: Option<&tokio_tungstenite::tungstenite::protocol::CloseFrame>) -> String {
    match f {
        Some(f) if u16::from(f.code) == 1012 => "the Prefect server is restarting (close 1012)".into(),
        Some(f) if f.reason.is_empty() => format!("the server closed the event stream (close {})", u16::from(f.code)),
        Some(f) => format!(
            "the server closed the event stream (close {}: {})",
            u16::from(f.code),
            crate::decode::cut(&f.reason, 200)
        ),
        None => "the server closed the event stream".into(),
    }
}

impl Conn {
    /// Answer one command (see `commands.rs`).
    async fn ask(&mut self, (id, cmd): Ask) {
        let result = commands::answer(self, cmd).await;
        let _ = self.tx.send(ClientMsg::CommandDone { name: self.api.spec.name.clone(), id, result }).await;
    }
}
