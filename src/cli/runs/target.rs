//! Where `opsdeck run`, `runs` and `workflows` send their commands: this
//! process's own engine, the one holding the data directory (through its
//! control socket), or a backend (`--backend`) — and the events each sends back.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::cli::{Cli, Opened, err_line};
use crate::config::Paths;
use crate::engine::Engine;
use crate::protocol::workflow::WorkflowsCommand;
use crate::protocol::{Command, Envelope, Topic};
use crate::remote::control::ControlClient;

/// Where the commands go.
pub(super) enum Target {
    /// This process's own engine (the data directory was free).
    Own(Engine),
    /// The opsdeck holding the data directory.
    Holder(Arc<ControlClient>),
    /// A backend (`--backend`), through one connection a task owns.
    Remote(Remote),
}

/// A command for the link's task: its id, the command, where the answer goes.
type Ask = (String, Command, tokio::sync::oneshot::Sender<Result<Value, String>>);

/// A backend link: commands answered by id, events fanned out.
pub(super) struct Remote {
    commands: mpsc::Sender<Ask>,
    events: tokio::sync::broadcast::Sender<Arc<Envelope>>,
}

impl Remote {
    async fn open(spec: crate::remote::client::BackendSpec) -> Result<Remote, String> {
        use crate::protocol::wire::ServerFrame;
        let mut link = crate::remote::client::Link::open(&spec, vec![Topic::Workflows]).await?;
        let (ctx, mut crx) = mpsc::channel::<Ask>(16);
        let (events, _) = tokio::sync::broadcast::channel(4096);
        let fan = events.clone();
        tokio::spawn(async move {
            let mut waiting: HashMap<String, tokio::sync::oneshot::Sender<Result<Value, String>>> = HashMap::new();
            loop {
                tokio::select! {
                    c = crx.recv() => {
                        let Some((id, command, reply)) = c else { break };
                        if let Err(e) = link.command(&id, command).await {
                            let _ = reply.send(Err(format!("backend {}: {e}", spec.name)));
                            break;
                        }
                        waiting.insert(id, reply);
                    }
                    f = link.recv() => match f {
                        Some(Ok(ServerFrame::Ack { id, result })) => {
                            if let Some(r) = waiting.remove(&id) { let _ = r.send(Ok(result)); }
                        }
                        Some(Ok(ServerFrame::Error { id: Some(id), message, .. })) => {
                            if let Some(r) = waiting.remove(&id) { let _ = r.send(Err(message)); }
                        }
                        Some(Ok(ServerFrame::Events { events })) => {
                            for e in events { let _ = fan.send(Arc::new(e)); }
                        }
                        Some(Ok(_)) => {}
                        Some(Err(e)) => {
                            for (_, r) in waiting.drain() { let _ = r.send(Err(format!("backend {}: {e}", spec.name))); }
                            break;
                        }
                        None => {
                            for (_, r) in waiting.drain() { let _ = r.send(Err(format!("backend {} closed the connection", spec.name))); }
                            break;
                        }
                    },
                }
            }
            link.close().await;
        });
        Ok(Remote { commands: ctx, events })
    }
}

impl Target {
    pub(super) async fn command(&self, c: WorkflowsCommand) -> Result<Value, String> {
        let id = format!("cli-{}-{}", std::process::id(), crate::engine::workflows::exec::random01().to_bits());
        match self {
            Target::Own(e) => e.handle(&id, Command::Workflows(c)).map_err(|e| e.to_string()),
            Target::Holder(c2) => {
                let client = c2.clone();
                tokio::task::spawn_blocking(move || client.command(&id, Command::Workflows(c)))
                    .await
                    .map_err(|e| e.to_string())?
            }
            Target::Remote(r) => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                r.commands
                    .send((id, Command::Workflows(c), tx))
                    .await
                    .map_err(|_| "the backend link is gone".to_string())?;
                rx.await.map_err(|_| "the backend link is gone".to_string())?
            }
        }
    }

    /// The engine's workflow events from now on.
    pub(super) fn events(&self) -> mpsc::Receiver<Arc<Envelope>> {
        let (tx, rx) = mpsc::channel(1024);
        match self {
            Target::Own(e) => {
                let mut sub = e.subscribe();
                tokio::spawn(async move {
                    loop {
                        match sub.recv().await {
                            Ok(env) if env.topic == Topic::Workflows => {
                                if tx.send(env).await.is_err() {
                                    return;
                                }
                            }
                            Ok(_) => {}
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                            Err(_) => return,
                        }
                    }
                });
            }
            Target::Remote(r) => {
                let mut sub = r.events.subscribe();
                tokio::spawn(async move {
                    loop {
                        match sub.recv().await {
                            Ok(env) => {
                                if tx.send(env).await.is_err() {
                                    return;
                                }
                            }
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                            Err(_) => return,
                        }
                    }
                });
            }
            Target::Holder(c) => {
                let path = c.path().to_path_buf();
                let (ftx, mut frx) = mpsc::channel(64);
                tokio::spawn(crate::remote::control::follow_topics(path, vec![Topic::Workflows], ftx));
                tokio::spawn(async move {
                    while let Some(f) = frx.recv().await {
                        if let crate::remote::control::Followed::Events(evs) = f {
                            for e in evs {
                                if tx.send(e).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        }
        rx
    }

    pub(super) fn owns(&self) -> bool {
        matches!(self, Target::Own(_))
    }
}

/// Open the data directory's engine (own or holder's) and run `f` on a runtime.
pub(super) fn with_target<F, Fut>(cli: &Cli, paths: &Paths, f: F) -> ExitCode
where
    F: FnOnce(Target) -> Fut,
    Fut: std::future::Future<Output = ExitCode>,
{
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return crate::cli::fail(format!("cannot start the async runtime: {e}")),
    };
    let code = rt.block_on(async {
        if let Some((name, url)) = cli.backends.first() {
            let token = crate::secrets::get(&format!("backend:{name}"), &paths.config_dir).ok().flatten().map(|f| f.value);
            let spec = crate::remote::client::BackendSpec::new(name.clone(), url.clone(), token);
            return match Remote::open(spec).await {
                Ok(r) => f(Target::Remote(r)).await,
                Err(e) => crate::cli::fail(e),
            };
        }
        let target = match crate::cli::workflow_engine(cli, paths) {
            Ok(Opened::Own(engine, interrupted)) => {
                if interrupted > 0 {
                    err_line!(
                        "note: {interrupted} run(s) were in flight when opsdeck last stopped: now interrupted (opsdeck runs --state interrupted)"
                    );
                }
                Target::Own(engine)
            }
            Ok(Opened::Holder(c)) => Target::Holder(c),
            Err(e) => return crate::cli::fail(e),
        };
        let own = match &target {
            Target::Own(e) => Some(e.clone()),
            Target::Holder(_) | Target::Remote(_) => None,
        };
        let code = f(target).await;
        // What this process's runs wrote reaches the disk before it exits.
        if let Some(engine) = own {
            let _ = tokio::task::spawn_blocking(move || engine.shutdown()).await;
        }
        code
    });
    rt.shutdown_timeout(Duration::from_millis(500));
    code
}
