//! `opsdeck run` and `opsdeck runs`: start, watch, list and act on
//! workflow runs without the TUI. The engine is this process's own when the
//! data directory is free, or the one holding it (a TUI or `serve`) through
//! its control socket — so a run started here shows up live in the open TUI.
//!
//! Exit codes: 0 the run succeeded (or the action was done), 1 it failed or
//! was cancelled (or the action was refused), 2 bad usage.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::{Cli, err_line, out_line};
use crate::config::Paths;
use crate::engine::Engine;
use crate::protocol::workflow::{RerunFrom, Run, RunDetail, RunId, RunState, StepRun, WorkflowsCommand};
use crate::protocol::{Command, Envelope, Event, Topic};
use crate::remote::control::ControlClient;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The workflow to run (its `name`).
    pub name: String,
    /// An input KEY=VALUE (repeatable); read as the input's type.
    #[arg(long = "input", short = 'i', value_name = "KEY=VALUE")]
    pub inputs: Vec<String>,
    /// Follow the run until it ends (always, when this process runs it).
    #[arg(long)]
    pub watch: bool,
    /// Print the ended run as JSON on stdout (progress goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Print the plan — steps in order, resolved arguments (secrets masked),
    /// conditions — and run nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub op: Option<RunsOp>,
    /// Only runs of this workflow.
    #[arg(long, value_name = "NAME")]
    pub workflow: Option<String>,
    /// Only runs in this state (queued, running, waiting, retrying, succeeded, failed, cancelled, interrupted).
    #[arg(long, value_name = "STATE")]
    pub state: Option<String>,
    /// At most this many (newest first).
    #[arg(long, default_value_t = 30)]
    pub limit: usize,
    /// JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum RunsOp {
    /// A run with its steps (the latest attempt unless --attempt).
    Show {
        run: RunId,
        #[arg(long)]
        attempt: Option<u32>,
        /// Print this step's log.
        #[arg(long, value_name = "STEP")]
        log: Option<String>,
        /// Print the logs of the steps that failed.
        #[arg(long)]
        log_failed: bool,
    },
    /// Stop a run now (running steps are killed).
    Cancel { run: RunId },
    /// Go on with an interrupted run (ended steps are not run again).
    Resume {
        run: RunId,
        /// Also run again steps marked idempotent = false that were running when it stopped.
        #[arg(long)]
        rerun_unsafe: bool,
        #[arg(long)]
        watch: bool,
    },
    /// End an interrupted run without running anything.
    Abandon { run: RunId },
    /// A new attempt of an ended run: every step, only the failed ones, or from a step.
    Rerun {
        run: RunId,
        /// Only the steps that did not succeed (and those after them).
        #[arg(long, conflicts_with = "from")]
        failed: bool,
        /// From this step (and those after it).
        #[arg(long, value_name = "STEP")]
        from: Option<String>,
        /// With the workflow's current definition (else the version the run ran).
        #[arg(long)]
        current: bool,
        /// Change an input KEY=VALUE (repeatable).
        #[arg(long = "input", short = 'i', value_name = "KEY=VALUE")]
        inputs: Vec<String>,
        #[arg(long)]
        watch: bool,
    },
    /// Approve a step that waits for a person.
    Approve {
        run: RunId,
        step: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Reject a step that waits for a person (the run fails).
    Reject {
        run: RunId,
        step: String,
        #[arg(long, default_value = "")]
        note: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct WorkflowsArgs {
    #[command(subcommand)]
    pub op: Option<WorkflowsOp>,
    /// JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum WorkflowsOp {
    /// The stored versions of a workflow (each distinct content of its file).
    Versions { workflow: String },
    /// A stored version's text and its diff from the current one (or --against).
    Diff {
        workflow: String,
        version: String,
        #[arg(long, value_name = "VERSION")]
        against: Option<String>,
    },
    /// Write a stored version back to the workflow's file.
    Rollback { workflow: String, version: String },
}

/// `opsdeck workflows …`.
pub(super) fn workflows(cli: &Cli, args: &WorkflowsArgs, paths: &Paths) -> ExitCode {
    with_target(cli, paths, |target| async move {
        let c = match &args.op {
            None => WorkflowsCommand::ListWorkflows,
            Some(WorkflowsOp::Versions { workflow }) => WorkflowsCommand::ListVersions { workflow: workflow.clone() },
            Some(WorkflowsOp::Diff { workflow, version, against }) => WorkflowsCommand::ShowVersion {
                workflow: workflow.clone(),
                version: version.clone(),
                against: against.clone(),
            },
            Some(WorkflowsOp::Rollback { workflow, version }) => {
                WorkflowsCommand::Rollback { workflow: workflow.clone(), version: version.clone() }
            }
        };
        let v = match target.command(c).await {
            Ok(v) => v,
            Err(e) => return refused(e),
        };
        if args.json {
            out_line!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            return ExitCode::SUCCESS;
        }
        match &args.op {
            None => {
                let list: Vec<crate::protocol::workflow::WorkflowInfo> =
                    serde_json::from_value(v["workflows"].clone()).unwrap_or_default();
                if list.is_empty() {
                    err_line!("no workflows: put workflow files in {}", paths.workflows_dir().display());
                }
                for w in list {
                    let next = w
                        .next_fire
                        .and_then(chrono::DateTime::from_timestamp_millis)
                        .map(|t| format!("  next {}", t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M")))
                        .unwrap_or_default();
                    out_line!("{:<24} {}  {} steps{next}  {}", w.name, w.version, w.steps.len(), w.description);
                }
                for p in v["problems"].as_array().into_iter().flatten() {
                    err_line!("{}", p.as_str().unwrap_or_default());
                }
            }
            Some(WorkflowsOp::Versions { .. }) => {
                for x in v.as_array().into_iter().flatten() {
                    let at = x["first_seen"]
                        .as_i64()
                        .and_then(chrono::DateTime::from_timestamp_millis)
                        .map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_default();
                    let cur = if x["current"].as_bool() == Some(true) { "  (current)" } else { "" };
                    out_line!("{}  first seen {at}{cur}", x["version"].as_str().unwrap_or_default());
                }
            }
            Some(WorkflowsOp::Diff { .. }) => match v["diff"].as_str() {
                Some(d) if !d.is_empty() => out_line!("{}", d.trim_end()),
                Some(_) => err_line!("no difference"),
                None => out_line!("{}", v["text"].as_str().unwrap_or_default().trim_end()),
            },
            Some(WorkflowsOp::Rollback { .. }) => {
                err_line!(
                    "wrote version {} to {}",
                    v["version"].as_str().unwrap_or_default(),
                    v["path"].as_str().unwrap_or_default()
                )
            }
        }
        ExitCode::SUCCESS
    })
}

/// Where the commands go.
enum Target {
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
struct Remote {
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
    async fn command(&self, c: WorkflowsCommand) -> Result<Value, String> {
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
    fn events(&self) -> mpsc::Receiver<Arc<Envelope>> {
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

    fn owns(&self) -> bool {
        matches!(self, Target::Own(_))
    }
}

/// `opsdeck run NAME`.
pub(super) fn run(cli: &Cli, args: &RunArgs, paths: &Paths) -> ExitCode {
    let inputs = match parse_inputs(&args.inputs) {
        Ok(i) => i,
        Err(e) => return usage(e),
    };
    if args.dry_run {
        return dry_run(paths, &args.name, inputs);
    }
    with_target(cli, paths, |target| async move {
        let events = target.events();
        let c = WorkflowsCommand::StartRun { workflow: args.name.clone(), inputs, by: who() };
        let run = match target.command(c).await {
            Ok(v) => v["run"].as_u64().unwrap_or(0),
            Err(e) => return refused(e),
        };
        err_line!("run #{run} of {} started", args.name);
        if !args.watch && !target.owns() {
            out_line!("{run}");
            return ExitCode::SUCCESS;
        }
        watch(&target, run, events, args.json).await
    })
}

/// `opsdeck runs …`.
pub(super) fn runs(cli: &Cli, args: &RunsArgs, paths: &Paths) -> ExitCode {
    let state = match args.state.as_deref().map(|s| RunState::parse(s).ok_or(s)) {
        Some(Err(s)) => {
            let words: Vec<&str> = RunState::ALL.iter().map(|s| s.word()).collect();
            return usage(format!("unknown state {s:?} (use one of {})", words.join(", ")));
        }
        Some(Ok(s)) => Some(s),
        None => None,
    };
    let rerun_inputs = match &args.op {
        Some(RunsOp::Rerun { inputs, .. }) if !inputs.is_empty() => match parse_inputs(inputs) {
            Ok(i) => Some(i),
            Err(e) => return usage(e),
        },
        _ => None,
    };
    with_target(cli, paths, |target| async move {
        let json = args.json;
        let (c, watch_after) = match &args.op {
            None => {
                let c = WorkflowsCommand::ListRuns {
                    workflow: args.workflow.clone(),
                    state,
                    before: None,
                    limit: args.limit.clamp(1, 1000),
                };
                return match target.command(c).await {
                    Ok(v) => list(v, json),
                    Err(e) => refused(e),
                };
            }
            Some(RunsOp::Show { run, attempt, log, log_failed }) => {
                return show(&target, *run, *attempt, log.as_deref(), *log_failed, json).await;
            }
            Some(RunsOp::Cancel { run }) => (WorkflowsCommand::CancelRun { run: *run }, None),
            Some(RunsOp::Resume { run, rerun_unsafe, watch }) => {
                (WorkflowsCommand::ResumeRun { run: *run, rerun_unsafe: *rerun_unsafe }, Some((*run, *watch)))
            }
            Some(RunsOp::Abandon { run }) => (WorkflowsCommand::AbandonRun { run: *run }, None),
            Some(RunsOp::Rerun { run, failed, from, current, watch, .. }) => {
                let from = match (failed, from) {
                    (true, _) => RerunFrom::Failed,
                    (false, Some(s)) => RerunFrom::Step(s.clone()),
                    (false, None) => RerunFrom::All,
                };
                let c = WorkflowsCommand::RerunRun { run: *run, from, current: *current, inputs: rerun_inputs };
                (c, Some((*run, *watch)))
            }
            Some(RunsOp::Approve { run, step, note }) => {
                (WorkflowsCommand::Approve { run: *run, step: step.clone(), by: who(), note: note.clone() }, None)
            }
            Some(RunsOp::Reject { run, step, note }) => {
                (WorkflowsCommand::Reject { run: *run, step: step.clone(), by: who(), note: note.clone() }, None)
            }
        };
        let events = target.events();
        match target.command(c).await {
            Ok(v) => {
                match watch_after {
                    Some((run, w)) if w || target.owns() => return watch(&target, run, events, json).await,
                    _ if json => out_line!("{v}"),
                    _ => err_line!("{}", done_text(&v)),
                }
                ExitCode::SUCCESS
            }
            Err(e) => refused(e),
        }
    })
}

/// Open the data directory's engine (own or holder's) and run `f` on a runtime.
fn with_target<F, Fut>(cli: &Cli, paths: &Paths, f: F) -> ExitCode
where
    F: FnOnce(Target) -> Fut,
    Fut: std::future::Future<Output = ExitCode>,
{
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return super::fail(format!("cannot start the async runtime: {e}")),
    };
    let code = rt.block_on(async {
        if let Some((name, url)) = cli.backends.first() {
            let token = crate::secrets::get(&format!("backend:{name}"), &paths.config_dir).ok().flatten().map(|f| f.value);
            let spec = crate::remote::client::BackendSpec::new(name.clone(), url.clone(), token);
            return match Remote::open(spec).await {
                Ok(r) => f(Target::Remote(r)).await,
                Err(e) => super::fail(e),
            };
        }
        let target = match super::workflow_engine(cli, paths) {
            Ok(super::Opened::Own(engine, interrupted)) => {
                if interrupted > 0 {
                    err_line!(
                        "note: {interrupted} run(s) were in flight when opsdeck last stopped: now interrupted (opsdeck runs --state interrupted)"
                    );
                }
                Target::Own(engine)
            }
            Ok(super::Opened::Holder(c)) => Target::Holder(c),
            Err(e) => return super::fail(e),
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

/// What a command's answer says to a person: `run #7: step ok approved`,
/// `run #7 cancelled`, … (the JSON with `--json`).
fn done_text(v: &Value) -> String {
    let run = v.get("run").and_then(Value::as_u64).map(|r| format!("run #{r}")).unwrap_or_else(|| "done".into());
    let step = v.get("step").and_then(Value::as_str).map(|s| format!(": step {s}")).unwrap_or_default();
    let flags: Vec<&str> = v
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, x)| x.as_bool() == Some(true))
        .map(|(k, _)| k.as_str())
        .collect();
    if flags.is_empty() { format!("✓ {run}{step}") } else { format!("✓ {run}{step} {}", flags.join(", ")) }
}

/// Who approves, rejects or starts from this shell: the same name the TUI
/// records (`$USER`, `$LOGNAME`, else the uid's name in /etc/passwd).
fn who() -> String {
    crate::runtime::user_name()
}

fn usage(e: impl std::fmt::Display) -> ExitCode {
    err_line!("error: {e}");
    ExitCode::from(2)
}

fn refused(e: impl std::fmt::Display) -> ExitCode {
    err_line!("error: {}", crate::net::strip_os_error(&e.to_string()));
    ExitCode::FAILURE
}

/// `KEY=VALUE` pairs as text values (the engine reads them as the inputs' types).
fn parse_inputs(pairs: &[String]) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for p in pairs {
        let (k, v) = p.split_once('=').ok_or_else(|| format!("--input {p:?}: use KEY=VALUE"))?;
        if k.trim().is_empty() {
            return Err(format!("--input {p:?}: the KEY is empty"));
        }
        out.insert(k.trim().to_string(), Value::String(v.to_string()));
    }
    Ok(out)
}

/// Follow run `run` until it ends: a line per step change, the failed
/// steps' log tails at the end. Ctrl-C cancels the run.
async fn watch(target: &Target, run: RunId, mut events: mpsc::Receiver<Arc<Envelope>>, json: bool) -> ExitCode {
    let mut seen: HashMap<String, (u32, u8)> = HashMap::new();
    let mut attempt = None;
    // What happened before the subscription took effect.
    if let Ok(d) = detail(target, run, None).await {
        attempt = Some(d.run.attempt);
        for s in &d.steps {
            print_step(run, s, &mut seen);
        }
        if d.run.state.is_final() && !matches!(d.run.state, RunState::Interrupted) && d.run.ended.is_some() {
            return finish(target, d, json).await;
        }
    }
    let mut cancelled = false;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            ev = events.recv() => {
                let Some(env) = ev else {
                    err_line!("error: the engine's events stopped");
                    return ExitCode::FAILURE;
                };
                match &env.event {
                    Event::StepChanged { run: r, attempt: a, step } if *r == run && attempt.is_none_or(|x| x <= *a) => {
                        attempt = Some(*a);
                        print_step(run, step, &mut seen);
                    }
                    Event::RunChanged(r) if r.id == run && attempt.is_none_or(|x| x <= r.attempt) => {
                        attempt = Some(r.attempt);
                        if r.state.is_final() {
                            let d = match detail(target, run, Some(r.attempt)).await {
                                Ok(d) => d,
                                Err(e) => return refused(e),
                            };
                            return finish(target, d, json).await;
                        }
                    }
                    _ => {}
                }
            }
            _ = &mut ctrl_c, if !cancelled => {
                cancelled = true;
                err_line!("cancelling run #{run}…");
                if let Err(e) = target.command(WorkflowsCommand::CancelRun { run }).await {
                    err_line!("error: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
}

/// How far a step has got: events that arrive late (the subscription
/// started before the first read of the run) never move it back.
fn progress(s: &StepRun) -> (u32, u8) {
    let phase = match s.state {
        RunState::Queued => 0,
        RunState::Waiting => 1,
        RunState::Running => 2,
        RunState::Retrying => 3,
        _ => 4,
    };
    (s.attempt, phase)
}

fn print_step(run: RunId, s: &StepRun, seen: &mut HashMap<String, (u32, u8)>) {
    if s.state == RunState::Queued && s.attempt == 0 {
        return;
    }
    if seen.get(&s.id).is_some_and(|&p| p >= progress(s)) {
        return;
    }
    seen.insert(s.id.clone(), progress(s));
    let mut line = format!("#{run} {:<16} {} {}", s.id, s.state.glyph(), s.state.word());
    if s.attempt > 1 {
        line.push_str(&format!(" (attempt {})", s.attempt));
    }
    if let Some(ms) = s.duration_ms(s.ended.unwrap_or(0)).filter(|_| s.ended.is_some()) {
        line.push_str(&format!(" {}", crate::ui::widgets::fmt::duration_ms(ms)));
    }
    if let Some(e) = &s.error {
        line.push_str(&format!(" — {e}"));
    }
    if s.state == RunState::Waiting
        && let Some(m) = s.args.as_ref().and_then(|a| a.get("message")).and_then(Value::as_str)
    {
        line.push_str(&format!(" — {m} (opsdeck runs approve {run} {})", s.id));
    }
    err_line!("{line}");
}

async fn detail(target: &Target, run: RunId, attempt: Option<u32>) -> Result<RunDetail, String> {
    let v = target.command(WorkflowsCommand::ShowRun { run, attempt }).await?;
    serde_json::from_value(v).map_err(|e| format!("an answer this build cannot read: {e}"))
}

async fn step_log(target: &Target, run: RunId, attempt: u32, step: &str) -> Result<Vec<String>, String> {
    let v = target.command(WorkflowsCommand::StepLog { run, attempt: Some(attempt), step: step.into() }).await?;
    Ok(serde_json::from_value(v["lines"].clone()).unwrap_or_default())
}

/// The run's end: its state line, the failed steps' log tails; exit 0 only on success.
async fn finish(target: &Target, d: RunDetail, json: bool) -> ExitCode {
    let r = &d.run;
    let took = r.duration_ms(r.ended.unwrap_or(0)).map(crate::ui::widgets::fmt::duration_ms).unwrap_or_default();
    let mut line = format!("#{} {} {} {took}", r.id, r.state.glyph(), r.state.word());
    if let Some(e) = &r.error {
        line.push_str(&format!(" — {e}"));
    }
    err_line!("{line}");
    for s in d.steps.iter().filter(|s| s.state == RunState::Failed) {
        if let Ok(lines) = step_log(target, r.id, r.attempt, &s.id).await
            && !lines.is_empty()
        {
            err_line!("── {} (last lines) ──", s.id);
            for l in lines.iter().rev().take(20).rev() {
                err_line!("{l}");
            }
        }
    }
    if json {
        out_line!("{}", serde_json::to_string_pretty(&d).unwrap_or_default());
    }
    if r.state == RunState::Succeeded { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn list(v: Value, json: bool) -> ExitCode {
    if json {
        out_line!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    let runs: Vec<Run> = serde_json::from_value(v).unwrap_or_default();
    if runs.is_empty() {
        err_line!("no runs");
        return ExitCode::SUCCESS;
    }
    let now = chrono::Utc::now().timestamp_millis();
    out_line!("{:>6}  {:<24} {:<13} {:>7} {:>9}  {}", "RUN", "WORKFLOW", "STATE", "ATTEMPT", "DURATION", "STARTED");
    for r in runs {
        let started = r
            .started
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "—".into());
        let took = r.duration_ms(now).map(crate::ui::widgets::fmt::duration_ms).unwrap_or_else(|| "—".into());
        out_line!(
            "{:>6}  {:<24} {:<13} {:>7} {:>9}  {}",
            format!("#{}", r.id),
            r.workflow,
            format!("{} {}", r.state.glyph(), r.state.word()),
            r.attempt,
            took,
            started
        );
    }
    ExitCode::SUCCESS
}

async fn show(
    target: &Target,
    run: RunId,
    attempt: Option<u32>,
    log: Option<&str>,
    log_failed: bool,
    json: bool,
) -> ExitCode {
    let d = match detail(target, run, attempt).await {
        Ok(d) => d,
        Err(e) => return refused(e),
    };
    if let Some(step) = log {
        if !d.steps.iter().any(|s| s.id == step) {
            return refused(format!("run #{run} has no step {step:?}"));
        }
        return match step_log(target, run, d.run.attempt, step).await {
            Ok(lines) => {
                lines.iter().for_each(|l| out_line!("{l}"));
                ExitCode::SUCCESS
            }
            Err(e) => refused(e),
        };
    }
    if log_failed {
        let failed: Vec<_> = d.steps.iter().filter(|s| s.state == RunState::Failed).collect();
        if failed.is_empty() {
            err_line!("no step of run #{run} (attempt {}) failed: it is {}", d.run.attempt, d.run.state.word());
        }
        for s in failed {
            out_line!("── {} ──", s.id);
            for l in step_log(target, run, d.run.attempt, &s.id).await.unwrap_or_default() {
                out_line!("{l}");
            }
            if let Some(e) = &s.error {
                out_line!("✗ {e}");
            }
        }
        return ExitCode::SUCCESS;
    }
    if json {
        out_line!("{}", serde_json::to_string_pretty(&d).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    let r = &d.run;
    let now = chrono::Utc::now().timestamp_millis();
    out_line!("run #{} · attempt {} · {} (version {})", r.id, r.attempt, r.workflow, r.version);
    out_line!("state    {} {}", r.state.glyph(), r.state.word());
    if let Some(e) = &r.error {
        out_line!("error    {e}");
    }
    out_line!("trigger  {}", serde_json::to_string(&r.trigger).unwrap_or_default());
    out_line!("inputs   {}", Value::Object(r.inputs.clone()));
    for s in &d.steps {
        let took = s.duration_ms(now).map(crate::ui::widgets::fmt::duration_ms).unwrap_or_else(|| "—".into());
        let mut line = format!("  {:<16} {} {:<11} {:>8}", s.id, s.state.glyph(), s.state.word(), took);
        if s.attempt > 1 {
            line.push_str(&format!("  attempt {}", s.attempt));
        }
        if s.reused {
            line.push_str("  (reused)");
        }
        if let Some(e) = &s.error {
            line.push_str(&format!("  {e}"));
        }
        out_line!("{line}");
    }
    ExitCode::SUCCESS
}

/// `--dry-run`: the plan, from the workflow files (nothing runs, no engine is needed).
fn dry_run(paths: &Paths, name: &str, inputs: Map<String, Value>) -> ExitCode {
    use crate::engine::workflows::{definition, plan, render::KeyringSecrets, service::typed_inputs};
    let (found, problems) = definition::load_dir(&paths.workflows_dir());
    let Some(def) = found.into_iter().find(|w| w.name == name) else {
        for p in &problems {
            err_line!("{p}");
        }
        return refused(format!("no workflow named {name:?} in {}", paths.workflows_dir().display()));
    };
    let inputs = match typed_inputs(&def, inputs) {
        Ok(i) => i,
        Err(e) => return refused(e),
    };
    let secrets = Arc::new(KeyringSecrets { config_dir: paths.config_dir.clone() });
    let exec = super::workflow_executor(None);
    for line in plan::dry_run(&def, &inputs, secrets, exec.as_ref()) {
        out_line!("{line}");
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
#[path = "runs_tests.rs"]
mod tests;
