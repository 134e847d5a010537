//! Sources: everything the TUI shows events from and sends commands to, behind
//! one interface and one registry.
//!
//! A source is named by a [`SourceId`] (kind + name; names are unique across
//! every kind and only the local engine is `local`, which `config/names.rs`
//! checks at load). Each one:
//! - runs an **event stream** into the inbox with its own cursor and resume:
//!   the local engine replays from its log when the bridge lags
//!   (`local.rs`), a backend resumes from its last `(epoch, seq)`
//!   (`remote/client.rs`), Prometheus and Alertmanager are polled and each
//!   poll is a whole state, numbered by the source's own cursor;
//! - reports its **status** on that stream (`Action::Link` for connections,
//!   `Action::AlertSource` for what an Alertmanager poll could read);
//! - takes a **command** with an id and answers on the stream
//!   (`Action::CommandDone`, or `Action::Queued` when a backend's outbox keeps
//!   it until the backend is reachable).
//!
//! The runtime holds one [`Sources`] and never routes by kind itself. Prefect
//! servers are one more kind (`prefect_source.rs`).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::{Local, Msg};
use crate::app::Action;
use crate::app::panes::alerts::SourceRead;
use crate::clock::Clock;
use crate::protocol::{Command, Envelope, Event, LOCAL_SOURCE, Topic};
use crate::remote::alertmanager::{self, AlertmanagerSpec};
use crate::remote::client::{self, BackendSpec, ClientMsg};
use crate::remote::control::Records;
use crate::remote::prometheus::{self, PromSpec};

/// What a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// The engine in this process, or the opsdeck holding the data directory.
    Local,
    /// A remote opsdeck engine (`opsdeck serve`) over WebSocket.
    Backend,
    /// A Prometheus server's queries, polled.
    Prometheus,
    /// An Alertmanager's alerts and silences, polled.
    Alertmanager,
    /// A Prefect server's flow runs, over its event stream and REST API.
    Prefect,
}

impl SourceKind {
    /// The config table that declares it (`local` has none).
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Local => "local",
            SourceKind::Backend => "backend",
            SourceKind::Prometheus => "prometheus",
            SourceKind::Alertmanager => "alertmanager",
            SourceKind::Prefect => "prefect",
        }
    }
}

/// A source's identity: its kind and its name (the name events carry in
/// `Envelope::source` and commands are addressed to).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceId {
    pub kind: SourceKind,
    pub name: String,
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind.as_str(), self.name)
    }
}

/// The one interface of every source (see the module doc).
pub trait Source: Send {
    fn id(&self) -> &SourceId;
    /// Start the event stream; it feeds `inbox` until the inbox closes,
    /// stamping and timing what it does with `clock`. Called once.
    fn start(&mut self, inbox: &mpsc::Sender<Msg>, clock: &Arc<dyn Clock>);
    /// Run `command` once under `id`; the answer arrives on the inbox.
    fn send(&self, id: String, command: Command, inbox: &mpsc::Sender<Msg>);
    /// Connect again now with credentials read again (`Err` says why this
    /// source cannot).
    fn reconnect(&self, _inbox: &mpsc::Sender<Msg>) -> Result<(), String> {
        Err(format!("{} is not a backend: only backends reconnect", self.id().name))
    }
}

/// Every source of this TUI, by name.
#[derive(Default)]
pub struct Sources {
    all: Vec<Box<dyn Source>>,
    by_name: HashMap<String, usize>,
}

impl Sources {
    /// Add a source; a second source with a name already taken is refused
    /// (config load refuses it first, with the file's location).
    pub fn add(&mut self, source: Box<dyn Source>) -> Result<(), String> {
        let id = source.id().clone();
        if let Some(&i) = self.by_name.get(&id.name) {
            return Err(format!("{id} is not started: {} has that name", self.all[i].id()));
        }
        self.by_name.insert(id.name, self.all.len());
        self.all.push(source);
        Ok(())
    }

    /// The sources' ids, in the order they were added.
    pub fn ids(&self) -> impl Iterator<Item = &SourceId> {
        self.all.iter().map(|s| s.id())
    }

    /// Start every source's event stream.
    pub fn start(&mut self, inbox: &mpsc::Sender<Msg>, clock: &Arc<dyn Clock>) {
        self.all.iter_mut().for_each(|s| s.start(inbox, clock));
    }

    /// Send `command` to the source named `source`; an unknown name is answered
    /// with an error at once.
    pub fn send(&self, source: String, id: String, command: Command, inbox: &mpsc::Sender<Msg>) {
        match self.by_name.get(&source) {
            Some(&i) => self.all[i].send(id, command, inbox),
            None => {
                let result = Err(format!("no source is named {source:?}"));
                answer(inbox, Action::CommandDone { source, id, result });
            }
        }
    }

    /// Reconnect the source named `source` (a notice says why not).
    pub fn reconnect(&self, source: &str, inbox: &mpsc::Sender<Msg>) {
        let refused = match self.by_name.get(source) {
            Some(&i) => self.all[i].reconnect(inbox).err(),
            None => Some(format!("no source is named {source:?}")),
        };
        if let Some(text) = refused {
            answer(inbox, Action::Notice(text));
        }
    }
}

/// Put `action` in the inbox without waiting on the loop thread (a full
/// inbox gets it from a task).
pub(super) fn answer(inbox: &mpsc::Sender<Msg>, action: Action) {
    if let Err(mpsc::error::TrySendError::Full(m)) = inbox.try_send(Msg::Action(action)) {
        let inbox = inbox.clone();
        tokio::spawn(async move { inbox.send(m).await });
    }
}

/// The local engine: in this process or followed through the control socket
/// (`local.rs`).
pub struct LocalSource {
    id: SourceId,
    local: Local,
}

impl LocalSource {
    pub fn new(local: Local) -> Self {
        LocalSource { id: SourceId { kind: SourceKind::Local, name: LOCAL_SOURCE.into() }, local }
    }
}

impl Source for LocalSource {
    fn id(&self) -> &SourceId {
        &self.id
    }

    fn start(&mut self, inbox: &mpsc::Sender<Msg>, clock: &Arc<dyn Clock>) {
        self.local.bridge(inbox.clone(), clock.clone());
    }

    fn send(&self, id: String, command: Command, inbox: &mpsc::Sender<Msg>) {
        let (local, inbox) = (self.local.clone(), inbox.clone());
        tokio::spawn(async move {
            let i = id.clone();
            let result = tokio::task::spawn_blocking(move || local.command(&i, command))
                .await
                .unwrap_or_else(|err| Err(format!("the command failed: {err}")));
            let _ = inbox.send(Msg::Action(Action::CommandDone { source: LOCAL_SOURCE.into(), id, result })).await;
        });
    }
}

/// A remote engine: a resuming WebSocket session, and an outbox (kept in
/// the local records) that delivers commands when the backend is reachable.
pub struct BackendSource {
    id: SourceId,
    spec: BackendSpec,
    records: Records,
    read_only: bool,
    config_dir: std::path::PathBuf,
    kick: Option<mpsc::Sender<()>>,
    reconnect: Option<mpsc::Sender<client::Reconnect>>,
}

impl BackendSource {
    /// `read_only`: commands queued by an earlier run stay queued.
    pub fn new(spec: BackendSpec, records: Records, read_only: bool, config_dir: std::path::PathBuf) -> Self {
        let id = SourceId { kind: SourceKind::Backend, name: spec.name.clone() };
        BackendSource { id, spec, records, read_only, config_dir, kick: None, reconnect: None }
    }
}

impl Source for BackendSource {
    fn id(&self) -> &SourceId {
        &self.id
    }

    fn start(&mut self, inbox: &mpsc::Sender<Msg>, clock: &Arc<dyn Clock>) {
        let (ctx, crx) = mpsc::channel::<ClientMsg>(64);
        let (kick_tx, kick) = mpsc::channel::<()>(16);
        let (reconnect_tx, reconnect) = mpsc::channel::<client::Reconnect>(1);
        let outbox = (!self.read_only).then(|| client::Outbox { records: self.records.clone(), kick });
        tokio::spawn(client::run_with_outbox(self.spec.clone(), clock.clone(), ctx, outbox, Some(reconnect)));
        self.kick = Some(kick_tx);
        self.reconnect = Some(reconnect_tx);
        forward(crx, inbox.clone());
    }

    fn send(&self, id: String, command: Command, inbox: &mpsc::Sender<Msg>) {
        let (records, inbox, kick, name) =
            (self.records.clone(), inbox.clone(), self.kick.clone(), self.id.name.clone());
        tokio::spawn(async move {
            let (r, n, i) = (records.clone(), name.clone(), id.clone());
            let queued = tokio::task::spawn_blocking(move || {
                r.outbox_push(&n, &i, &command).map_err(|err| format!("queueing for {n}: {err}"))?;
                Ok::<_, String>(r.outbox_list(&n).map_or(0, |l| l.len()))
            })
            .await
            .unwrap_or_else(|err| Err(format!("queueing for {name}: {err}")));
            let action = match queued {
                Ok(count) => {
                    if let Some(k) = kick {
                        let _ = k.try_send(());
                    }
                    Action::Queued(name, count)
                }
                Err(e) => Action::CommandDone { source: name, id, result: Err(e) },
            };
            let _ = inbox.send(Msg::Action(action)).await;
        });
    }

    /// With the token read again from the keyring (so `opsdeck key set
    /// backend:NAME` in another terminal takes effect).
    fn reconnect(&self, inbox: &mpsc::Sender<Msg>) -> Result<(), String> {
        let to = self.reconnect.clone().ok_or_else(|| format!("{} is not started", self.id))?;
        let (name, config_dir, inbox) = (self.id.name.clone(), self.config_dir.clone(), inbox.clone());
        tokio::spawn(async move {
            let key = format!("backend:{name}");
            let found = tokio::task::spawn_blocking(move || crate::secrets::get(&key, &config_dir)).await;
            let notice = match found {
                Ok(Ok(found)) => {
                    // A full channel means a reconnect is already on its way.
                    let _ = to.try_send(client::Reconnect { token: found.map(|f| f.value) });
                    format!("reconnecting {name}…")
                }
                Ok(Err(e)) => format!("{name}: cannot read its token: {e}"),
                Err(_) => return,
            };
            let _ = inbox.send(Msg::Action(Action::Notice(notice))).await;
        });
        Ok(())
    }
}

/// A Prometheus server: its queries polled as host-like series. It takes no
/// commands.
pub struct PrometheusSource {
    id: SourceId,
    spec: PromSpec,
}

impl PrometheusSource {
    pub fn new(spec: PromSpec) -> Self {
        PrometheusSource { id: SourceId { kind: SourceKind::Prometheus, name: spec.name.clone() }, spec }
    }
}

impl Source for PrometheusSource {
    fn id(&self) -> &SourceId {
        &self.id
    }

    fn start(&mut self, inbox: &mpsc::Sender<Msg>, clock: &Arc<dyn Clock>) {
        let (ctx, crx) = mpsc::channel::<ClientMsg>(64);
        tokio::spawn(prometheus::run(self.spec.clone(), clock.clone(), ctx));
        forward(crx, inbox.clone());
    }

    fn send(&self, id: String, command: Command, inbox: &mpsc::Sender<Msg>) {
        let result = Err(format!("{} is read-only: {} is not possible there", self.id, command.describe()));
        answer(inbox, Action::CommandDone { source: self.id.name.clone(), id, result });
    }
}

/// An Alertmanager: each poll of its alerts and silences is one whole state,
/// numbered by the source's cursor (epoch = when it started, seq = the
/// poll); silences and acknowledgements go to its API.
pub struct AlertmanagerSource {
    id: SourceId,
    spec: AlertmanagerSpec,
}

impl AlertmanagerSource {
    pub fn new(spec: AlertmanagerSpec) -> Self {
        AlertmanagerSource { id: SourceId { kind: SourceKind::Alertmanager, name: spec.name.clone() }, spec }
    }
}

impl Source for AlertmanagerSource {
    fn id(&self) -> &SourceId {
        &self.id
    }

    fn start(&mut self, inbox: &mpsc::Sender<Msg>, clock: &Arc<dyn Clock>) {
        let (tx, mut rx) = mpsc::channel(8);
        let clock = clock.clone();
        tokio::spawn(alertmanager::run(self.spec.clone(), tx));
        let inbox = inbox.clone();
        let epoch = clock.now_ms().max(0) as u64;
        tokio::spawn(async move {
            let mut seq = 0u64;
            while let Some((name, r)) = rx.recv().await {
                let actions = match r {
                    Ok(polled) => {
                        seq += 1;
                        let read = polled.unreadable.describe().map_or(SourceRead::Whole, SourceRead::Partial);
                        let env = Envelope {
                            epoch,
                            seq,
                            ts: clock.now_ms(),
                            source: name.clone(),
                            topic: Topic::Alerts,
                            event: Event::Alerts(Box::new(polled.update)),
                        };
                        vec![Action::AlertSource { name, read }, Action::Events(vec![Arc::new(env)])]
                    }
                    Err(e) => vec![Action::AlertSource { name, read: SourceRead::Failed(e) }],
                };
                for a in actions {
                    if inbox.send(Msg::Action(a)).await.is_err() {
                        return;
                    }
                }
            }
        });
    }

    /// Only alert commands: the rest are refused with a reason.
    fn send(&self, id: String, command: Command, inbox: &mpsc::Sender<Msg>) {
        let Command::Alerts(command) = command else {
            let result =
                Err(format!("{} takes alert commands only: {} is not possible there", self.id, command.describe()));
            return answer(inbox, Action::CommandDone { source: self.id.name.clone(), id, result });
        };
        let (spec, inbox) = (self.spec.clone(), inbox.clone());
        tokio::spawn(async move {
            let result = alertmanager::command(&spec, command).await;
            let _ = inbox.send(Msg::Action(Action::CommandDone { source: spec.name, id, result })).await;
        });
    }
}

/// A connection's messages join the inbox.
pub(super) fn forward(mut crx: mpsc::Receiver<ClientMsg>, tx: mpsc::Sender<Msg>) {
    tokio::spawn(async move {
        while let Some(m) = crx.recv().await {
            if tx.send(Msg::Action(client_action(m))).await.is_err() {
                return;
            }
        }
    });
}

/// What a connection's message means to the app.
pub(super) fn client_action(m: ClientMsg) -> Action {
    use crate::app::Link;
    match m {
        ClientMsg::Connecting(n) => Action::Link(n, Link::Connecting),
        ClientMsg::Connected(n) => Action::Link(n, Link::Connected),
        ClientMsg::Retrying { name, at, attempt, error } => Action::Link(name, Link::Retrying { at, attempt, error }),
        ClientMsg::Refused { name, at, status, error } => Action::Link(name, Link::Refused { at, status, error }),
        ClientMsg::Reset(n) => Action::SourceReset(n),
        ClientMsg::Skipped { name, count, kinds } => Action::Notice(format!(
            "backend {name}: skipped {} of a kind this opsdeck cannot read ({}); a newer opsdeck shows them",
            crate::text::count(count as u64, "event", "events"),
            kinds.join(", ")
        )),
        ClientMsg::Events(evs) => Action::Events(evs),
        ClientMsg::Queued { name, count } => Action::Queued(name, count),
        ClientMsg::CommandDone { name, id, result } => Action::CommandDone { source: name, id, result },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::AlertsCommand;

    /// A source that answers every command with its own name.
    struct Echo(SourceId);

    impl Source for Echo {
        fn id(&self) -> &SourceId {
            &self.0
        }
        fn start(&mut self, _: &mpsc::Sender<Msg>, _: &Arc<dyn Clock>) {}
        fn send(&self, id: String, _: Command, inbox: &mpsc::Sender<Msg>) {
            let result = Ok(serde_json::json!({ "by": self.0.to_string() }));
            answer(inbox, Action::CommandDone { source: self.0.name.clone(), id, result });
        }
    }

    fn echo(kind: SourceKind, name: &str) -> Box<dyn Source> {
        Box::new(Echo(SourceId { kind, name: name.into() }))
    }

    fn done(m: Option<Msg>) -> (String, String, Result<serde_json::Value, String>) {
        match m {
            Some(Msg::Action(Action::CommandDone { source, id, result })) => (source, id, result),
            _ => panic!("a command answer"),
        }
    }

    #[tokio::test]
    async fn commands_go_to_the_source_of_that_name_and_only_there() {
        let mut sources = Sources::default();
        sources.add(echo(SourceKind::Local, "local")).unwrap();
        sources.add(echo(SourceKind::Alertmanager, "am")).unwrap();
        sources.add(echo(SourceKind::Backend, "db")).unwrap();
        let clash = sources.add(echo(SourceKind::Prometheus, "am")).unwrap_err();
        assert_eq!(clash, "prometheus am is not started: alertmanager am has that name");
        let ids: Vec<String> = sources.ids().map(ToString::to_string).collect();
        assert_eq!(ids, ["local local", "alertmanager am", "backend db"]);

        let (tx, mut rx) = mpsc::channel(8);
        let unack = || Command::Alerts(AlertsCommand::Unack { alert: "x".into() });
        sources.send("am".into(), "c1".into(), unack(), &tx);
        assert_eq!(done(rx.recv().await), ("am".into(), "c1".into(), Ok(serde_json::json!({"by": "alertmanager am"}))));
        sources.send("local".into(), "c2".into(), unack(), &tx);
        assert_eq!(done(rx.recv().await).2, Ok(serde_json::json!({"by": "local local"})));
        sources.send("nope".into(), "c3".into(), unack(), &tx);
        assert_eq!(done(rx.recv().await), ("nope".into(), "c3".into(), Err("no source is named \"nope\"".into())));
    }

    #[tokio::test]
    async fn only_a_backend_reconnects() {
        let mut sources = Sources::default();
        sources.add(echo(SourceKind::Prometheus, "prom")).unwrap();
        let (tx, mut rx) = mpsc::channel(8);
        sources.reconnect("prom", &tx);
        let Some(Msg::Action(Action::Notice(text))) = rx.recv().await else { panic!("a notice") };
        assert_eq!(text, "prom is not a backend: only backends reconnect");
        sources.reconnect("gone", &tx);
        let Some(Msg::Action(Action::Notice(text))) = rx.recv().await else { panic!("a notice") };
        assert_eq!(text, "no source is named \"gone\"");
    }

    #[tokio::test]
    async fn a_prometheus_source_refuses_commands_with_a_reason() {
        let spec = PromSpec {
            name: "prom".into(),
            url: "http://127.0.0.1:9".into(),
            interval: std::time::Duration::from_secs(15),
            queries: Default::default(),
        };
        let source = PrometheusSource::new(spec);
        let (tx, mut rx) = mpsc::channel(8);
        source.send("c1".into(), Command::Alerts(AlertsCommand::Unsilence { id: "s".into() }), &tx);
        let (_, _, result) = done(rx.recv().await);
        assert_eq!(result, Err("prometheus prom is read-only: ending a silence is not possible there".into()));
    }
}
