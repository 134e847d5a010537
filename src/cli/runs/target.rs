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
use crate::protocol::workflow::{RunId, WorkflowsCommand};
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
    /// A `[[prefect]]` server (`--source NAME`), through its REST API.
    Prefect(Arc<crate::remote::prefect::Session>, String, bool),
}

/// A command for the link's task: its id, the command, where the answer goes.
type Ask = (String, Command, tokio::sync::oneshot::Sender<Result<Value, String>>);

/// A backend link: commands answered by id, events fanned out.
pub(super) struct Remote {
    commands: mpsc::Sender<Ask>,
    events: tokio::sync::broadcast::Sender<Arc<Envelope>>,
    name: String,
}

impl Remote {
    async fn open(spec: crate::remote::client::BackendSpec) -> Result<Remote, String> {
        use crate::protocol::wire::ServerFrame;
        let mut link = crate::remote::client::Link::open(&spec, vec![Topic::Workflows]).await?;
        let spec_name = spec.name.clone();
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
        Ok(Remote { commands: ctx, events, name: spec_name })
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
            Target::Prefect(p, name, read_only) => {
                if *read_only && !c.reads_only() {
                    return Err(crate::app::read_only::read_only_refusal(c.describe()));
                }
                p.command(c).await.map_err(|e| format!("prefect {name}: {e}"))
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

    /// The source's name (`local`, a backend's, a Prefect server's).
    pub(super) fn name(&self) -> String {
        match self {
            Target::Own(_) | Target::Holder(_) => crate::protocol::LOCAL_SOURCE.to_string(),
            Target::Remote(r) => r.name.clone(),
            Target::Prefect(_, name, _) => name.clone(),
        }
    }

    /// The run `arg` names: a number (`12`, `#12`), or on a Prefect server
    /// also a flow run's name or id.
    pub(super) async fn resolve(&self, arg: &str) -> Result<RunId, String> {
        match self {
            Target::Prefect(p, name, _) => p.resolve(arg).await.map_err(|e| format!("prefect {name}: {e}")),
            _ => arg
                .trim()
                .trim_start_matches('#')
                .parse()
                .map_err(|_| format!("{arg:?} is not a run number (a Prefect run's name goes with --source NAME)")),
        }
    }

    /// Its runs can be followed (`--watch`): opsdeck's own engines.
    pub(super) fn follows(&self) -> bool {
        !matches!(self, Target::Prefect(..))
    }

    /// The engine's workflow events from now on (none from a Prefect server).
    pub(super) fn events(&self) -> mpsc::Receiver<Arc<Envelope>> {
        let (tx, rx) = mpsc::channel(1024);
        match self {
            Target::Prefect(..) => {}
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
            Target::Holder(_) | Target::Remote(_) | Target::Prefect(..) => None,
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

/// The `[[prefect]]` servers of the config (its problems are `opsdeck check`'s to tell).
fn prefect_configs(cli: &Cli, paths: &Paths) -> Vec<crate::config::prefect::PrefectConfig> {
    crate::config::settings::load_config(cli.config.as_deref(), &paths.config_file())
        .map(|l| l.config.prefect)
        .unwrap_or_default()
}

/// A session with a `[[prefect]]` server (its key read from the keyring).
async fn prefect_session(
    c: &crate::config::prefect::PrefectConfig,
    paths: &Paths,
) -> Result<crate::remote::prefect::Session, String> {
    let key = match &c.key_secret {
        Some(k) => crate::secrets::get(k, &paths.config_dir).map_err(|e| e.to_string())?.map(|f| f.value),
        None => None,
    };
    let spec = crate::remote::prefect::PrefectSpec { name: c.name.clone(), url: c.url.clone(), key, poll: c.poll };
    let api = crate::remote::prefect::Api::new(spec)?;
    let clock: Arc<dyn crate::clock::Clock> = Arc::new(crate::clock::SystemClock);
    crate::remote::prefect::Session::open(api, clock).await
}

/// [`with_target`], or with `--source NAME` a `[[prefect]]` server's runs.
pub(super) fn with_runs_target<F, Fut>(cli: &Cli, source: Option<&str>, paths: &Paths, f: F) -> ExitCode
where
    F: FnOnce(Target) -> Fut,
    Fut: std::future::Future<Output = ExitCode>,
{
    let Some(name) = source.filter(|s| *s != crate::protocol::LOCAL_SOURCE) else {
        return with_target(cli, paths, f);
    };
    let configs = prefect_configs(cli, paths);
    let Some(c) = configs.into_iter().find(|c| c.name == name) else {
        return crate::cli::fail(format!(
            "no source is named {name:?} here: `local`, or a [[prefect]] name from {} (a backend's runs: --backend NAME=URL)",
            paths.config_file().display()
        ));
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return crate::cli::fail(format!("cannot start the async runtime: {e}")),
    };
    let code = rt.block_on(async {
        match prefect_session(&c, paths).await {
            Ok(s) => f(Target::Prefect(Arc::new(s), c.name.clone(), cli.read_only)).await,
            Err(e) => crate::cli::fail(format!("prefect {}: {e}", c.name)),
        }
    });
    rt.shutdown_timeout(Duration::from_millis(500));
    code
}

/// Every `[[prefect]]` server's answer to `c` (a list), by name; one that
/// cannot be read is said on stderr and left out.
pub(super) async fn prefect_lists(cli: &Cli, paths: &Paths, c: WorkflowsCommand) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for p in prefect_configs(cli, paths) {
        let answer = match prefect_session(&p, paths).await {
            Ok(s) => s.command(c.clone()).await,
            Err(e) => Err(e),
        };
        match answer {
            Ok(v) => out.push((p.name.clone(), v)),
            Err(e) => err_line!("note: prefect {}'s runs are not listed: {e}", p.name),
        }
    }
    out
}
