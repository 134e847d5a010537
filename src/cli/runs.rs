//! `opsdeck run` and `opsdeck runs`: start, watch, list and act on
//! workflow runs without the TUI. The engine is this process's own when the
//! data directory is free, or the one holding it (a TUI or `serve`) through
//! its control socket — so a run started here shows up live in the open TUI.
//!
//! Exit codes: 0 the run succeeded (or the action was done), 1 it failed or
//! was cancelled (or the action was refused), 2 bad usage.

mod print;
mod target;

use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{Map, Value};

use self::print::{list, show, watch};
use self::target::{with_runs_target, with_target};
use super::{Cli, err_line, out_line};
use crate::config::Paths;
use crate::protocol::workflow::{RerunFrom, RunState, WorkflowsCommand};

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
    /// Only the runs of this source: `local`, or a `[[prefect]]` server's
    /// name (the list shows every source's runs without it).
    #[arg(long, global = true, value_name = "NAME")]
    pub source: Option<String>,
    /// JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum RunsOp {
    /// A run with its steps (the latest attempt unless --attempt).
    Show {
        /// The run: its number (`12`, `#12`), or a Prefect run's name or id.
        run: String,
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
    Cancel { run: String },
    /// Go on with an interrupted run (ended steps are not run again).
    Resume {
        run: String,
        /// Also run again steps marked idempotent = false that were running when it stopped.
        #[arg(long)]
        rerun_unsafe: bool,
        #[arg(long)]
        watch: bool,
    },
    /// End an interrupted run without running anything.
    Abandon { run: String },
    /// A new attempt of an ended run: every step, only the failed ones, or from a step.
    Rerun {
        run: String,
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
        run: String,
        step: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Reject a step that waits for a person (the run fails).
    Reject {
        run: String,
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
    with_runs_target(cli, args.source.as_deref(), paths, |target| async move {
        let json = args.json;
        let Some(op) = &args.op else {
            let c = WorkflowsCommand::ListRuns {
                workflow: args.workflow.clone(),
                state,
                before: None,
                limit: args.limit.clamp(1, 1000),
            };
            let mut runs = match target.command(c.clone()).await {
                Ok(v) => vec![(target.name(), v)],
                Err(e) => return refused(e),
            };
            // Without --source, every source's runs.
            if args.source.is_none() {
                runs.extend(target::prefect_lists(cli, paths, c).await);
            }
            return list(runs, args.limit.clamp(1, 1000), json);
        };
        let run = match target.resolve(op.run()).await {
            Ok(r) => r,
            Err(e) => return usage(e),
        };
        let (c, watch_after) = match op {
            RunsOp::Show { attempt, log, log_failed, .. } => {
                return show(&target, run, *attempt, log.as_deref(), *log_failed, json).await;
            }
            RunsOp::Cancel { .. } => (WorkflowsCommand::CancelRun { run }, None),
            RunsOp::Resume { rerun_unsafe, watch, .. } => {
                (WorkflowsCommand::ResumeRun { run, rerun_unsafe: *rerun_unsafe }, Some((run, *watch)))
            }
            RunsOp::Abandon { .. } => (WorkflowsCommand::AbandonRun { run }, None),
            RunsOp::Rerun { failed, from, current, watch, .. } => {
                let from = match (failed, from) {
                    (true, _) => RerunFrom::Failed,
                    (false, Some(s)) => RerunFrom::Step(s.clone()),
                    (false, None) => RerunFrom::All,
                };
                let c = WorkflowsCommand::RerunRun { run, from, current: *current, inputs: rerun_inputs };
                (c, Some((run, *watch)))
            }
            RunsOp::Approve { step, note, .. } => {
                (WorkflowsCommand::Approve { run, step: step.clone(), by: who(), note: note.clone() }, None)
            }
            RunsOp::Reject { step, note, .. } => {
                (WorkflowsCommand::Reject { run, step: step.clone(), by: who(), note: note.clone() }, None)
            }
        };
        if watch_after.is_some_and(|(_, w)| w) && !target.follows() {
            return usage("--watch follows opsdeck's own runs; a Prefect run: `opsdeck runs show --source NAME RUN`");
        }
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

impl RunsOp {
    /// The run the operation names, as given.
    fn run(&self) -> &str {
        match self {
            RunsOp::Show { run, .. }
            | RunsOp::Cancel { run }
            | RunsOp::Resume { run, .. }
            | RunsOp::Abandon { run }
            | RunsOp::Rerun { run, .. }
            | RunsOp::Approve { run, .. }
            | RunsOp::Reject { run, .. } => run,
        }
    }
}

/// What a command's answer says to a person: `run #7: step ok approved`,
/// `run #7 cancelled`, … (the JSON with `--json`).
fn done_text(v: &Value) -> String {
    let run = match (v.get("name").and_then(Value::as_str), v.get("run").and_then(Value::as_u64)) {
        (Some(name), _) => format!("run {name}"),
        (None, Some(r)) => format!("run #{r}"),
        (None, None) => "done".into(),
    };
    let step = v.get("step").and_then(Value::as_str).map(|s| format!(": step {s}")).unwrap_or_default();
    let flags: Vec<&str> = v
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, x)| x.as_bool() == Some(true))
        .map(|(k, _)| k.as_str())
        .collect();
    let note =
        v.get("note").and_then(Value::as_str).filter(|n| !n.is_empty()).map(|n| format!(" ({n})")).unwrap_or_default();
    if flags.is_empty() {
        format!("✓ {run}{step}{note}")
    } else {
        format!("✓ {run}{step} {}{note}", flags.join(", "))
    }
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
