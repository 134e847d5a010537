//! `opsdeck tool`: list the tools (built-ins and the configured MCP servers'),
//! or run one headless. Exit codes: 0 ok, 1 the tool failed, 2 bad usage or refused.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::{Cli, ToolArgs, err_line, err_text, fail, out_line};
use crate::clock::SystemClock;
use crate::config::Paths;
use crate::config::mcp::McpServerConfig;
use crate::config::settings::load_config;
use crate::engine::store::Store;
use crate::engine::tools::mcp::McpState;
use crate::engine::tools::service::{RunLog, RunRequest, ToolEvent, ToolService};
use crate::engine::tools::{Registry, RunOptions, ToolError, ToolRun, ToolSpec, parse_args};
use crate::protocol::tools::RunOrigin;
use crate::remote::control::Records;

/// How long `opsdeck tool` waits for MCP servers to start before going on without them.
const MCP_START_WAIT: Duration = Duration::from_secs(30);

pub(super) fn tool(cli: &Cli, args: &ToolArgs, paths: &Paths) -> ExitCode {
    let name = args.name.clone().unwrap_or_default();
    // Only what is needed: every server for --list, the named one for SERVER/TOOL, none for a built-in.
    let servers = if args.list || name.contains('/') {
        match load_config(cli.config.as_deref(), &paths.config_file()) {
            Ok(loaded) => {
                for w in &loaded.warnings {
                    err_line!("warning: {w}");
                }
                let server = name.split_once('/').map(|(s, _)| s);
                let mut servers = loaded.config.mcp_servers;
                servers.retain(|s| args.list || Some(s.name.as_str()) == server);
                servers
            }
            Err(e) => {
                err_line!("error: {}", crate::net::strip_os_error(&e.to_string()));
                return ExitCode::from(2);
            }
        }
    } else {
        Vec::new()
    };
    // MCP servers' stderr goes to the log, never to the terminal.
    if !servers.is_empty() {
        // Errors here only mean no log; the tool still runs.
        let _ = crate::logging::init(&paths.log_dir());
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    let (service, problems) = rt.block_on(start_servers(&servers, paths));
    let registry = service.registry().borrow().clone();
    let code = if args.list {
        for (server, problem) in &problems {
            err_line!("warning: MCP server {server} {problem}; its tools are not listed");
        }
        list(&registry, args.json)
    } else {
        match problems.iter().find(|(s, _)| name.split_once('/').is_some_and(|(n, _)| n == s)) {
            Some((server, problem)) if registry.get(&name).is_err() => {
                err_line!("error: {name}: MCP server {server} {problem}");
                ExitCode::from(1)
            }
            _ => run(cli, args, &rt, &service, &registry, &name),
        }
    };
    // The MCP servers stop with the service, on the runtime their tasks run on.
    rt.block_on(async move { drop(service) });
    rt.shutdown_timeout(Duration::from_millis(500));
    code
}

/// The tools service over the built-ins and `servers` (only those needed),
/// recording in the data directory's history; waits for the servers
/// (bounded) and says which are not ready and why.
async fn start_servers(servers: &[McpServerConfig], paths: &Paths) -> (ToolService, Vec<(String, String)>) {
    let builtins = Registry::with_builtins(crate::jq::JqRunner::for_this_program());
    let log: Arc<dyn RunLog> = Arc::new(HistoryAtTheEnd { paths: paths.clone() });
    let service = ToolService::start(builtins, servers, &paths.config_dir, Some(log), Arc::new(SystemClock));
    service.wait_ready(MCP_START_WAIT).await;
    let Some(status) = service.mcp_status() else { return (service, Vec::new()) };
    let problems = status
        .borrow()
        .iter()
        .filter_map(|s| {
            let problem = match &s.state {
                McpState::Ready { .. } => return None,
                McpState::Starting => format!("is still starting after {}s", MCP_START_WAIT.as_secs()),
                McpState::Restarting { error, .. } => format!("is not available: {error}"),
                McpState::Failed { error } => format!("failed: {error}"),
            };
            Some((s.name.clone(), problem))
        })
        .collect();
    (service, problems)
}

/// The tool history of the data directory, opened when a run is recorded
/// (not while it runs, so a TUI started meanwhile can take the directory):
/// the store itself, or, when a running opsdeck holds it, that opsdeck
/// through its control socket.
struct HistoryAtTheEnd {
    paths: Paths,
}

impl RunLog for HistoryAtTheEnd {
    fn record(&self, run: &ToolRun, prune: bool) -> Result<(), String> {
        open_records(&self.paths)?.record_tool_run(run, prune).map_err(|e| e.to_string())
    }
}

/// The data directory's records: its store, or, when a running opsdeck
/// holds it, that opsdeck through its control socket.
pub(super) fn open_records(paths: &Paths) -> Result<Records, String> {
    match Store::open_unless_held(
        &paths.data_dir,
        1 << 20,
        super::holder_answers(paths),
        crate::engine::store::LOCK_GRACE,
    ) {
        Ok(store) => Ok(Records::Store(Arc::new(store))),
        Err(e @ crate::engine::store::StoreError::Locked { .. }) => {
            match crate::remote::control::ControlClient::connect(&paths.control_socket()) {
                Ok(c) => Ok(Records::Control(Arc::new(c))),
                Err(c) => Err(format!("{e}\n  and it does not answer on its control socket: {c}")),
            }
        }
        Err(e) => Err(e.to_string()),
    }
}

fn list(registry: &Registry, json: bool) -> ExitCode {
    let specs = registry.specs();
    if json {
        out_line!("{}", serde_json::to_string_pretty(&specs).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    let width = |f: fn(&ToolSpec) -> usize| specs.iter().map(|s| f(s)).max().unwrap_or(0).min(48);
    let (nw, sw) = (width(|s| s.name.chars().count()), width(|s| s.source.chars().count()).max(7));
    for s in specs {
        let m = if s.mutating { " (changes things: asks first)" } else { "" };
        let desc = s.description.lines().next().unwrap_or_default();
        out_line!("{:<nw$} {:<sw$} {desc}{m}", s.name, s.source);
    }
    ExitCode::SUCCESS
}

fn run(
    cli: &Cli,
    args: &ToolArgs,
    rt: &tokio::runtime::Runtime,
    service: &ToolService,
    registry: &Registry,
    name: &str,
) -> ExitCode {
    let tool = match registry.get(name) {
        Ok(t) => t,
        Err(e) => {
            err_line!("error: {}", crate::net::strip_os_error(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    if tool.spec().mutating && cli.read_only {
        err_line!("error: {name} changes things and --read-only is set");
        return ExitCode::from(2);
    }
    let mut confirmed = args.yes;
    let mut stdin = || {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map(|_| s)
    };
    let parsed = match parse_args(&tool.spec().schema, &args.args, &mut stdin) {
        Ok(v) => v,
        Err(e) => {
            err_line!("error: {name}: {e}");
            return ExitCode::from(2);
        }
    };
    if tool.spec().mutating && !confirmed {
        if !std::io::stdin().is_terminal() {
            err_line!(
                "error: {name} changes things and needs confirmation\n  hint: run it from a terminal to be asked, or add --yes"
            );
            return ExitCode::from(2);
        }
        err_text!("run {name} with {parsed}? [y/N] ");
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        confirmed = matches!(answer.trim(), "y" | "Y" | "yes");
        if !confirmed {
            err_line!("not run");
            return ExitCode::from(2);
        }
    }
    let opts = RunOptions { confirmed, read_only: cli.read_only };
    let json = args.json;
    let req = RunRequest { run: "cli".into(), tool: name.to_string(), args: parsed, opts, origin: RunOrigin::Cli };
    // Lines are printed as they stream; the service records every run that
    // ran (a usage error, exit 2, or a refusal did not run and is not kept).
    let (result, unrecorded) = rt
        .block_on(async move {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<ToolEvent>(64);
            service.run(req, tx).map_err(|e| ToolError::Failed(e.to_string()))?;
            while let Some(event) = rx.recv().await {
                match event {
                    ToolEvent::Output { lines, .. } => {
                        for line in lines {
                            if json {
                                err_line!("{line}");
                            } else {
                                out_line!("{line}");
                            }
                        }
                    }
                    ToolEvent::Finished { result, unrecorded, .. } => return Ok((result, unrecorded)),
                }
            }
            Err(ToolError::Failed("the run ended without a result".into()))
        })
        .unwrap_or_else(|e| (Err(e), None));
    if let Some(e) = unrecorded {
        err_line!("warning: the run was not recorded in the history: {e}");
    }
    match result {
        Ok(v) => {
            if json {
                out_line!("{}", serde_json::to_string(&v).unwrap_or_default());
            } else {
                out_line!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            }
            ExitCode::SUCCESS
        }
        Err(e @ (ToolError::BadArgument { .. } | ToolError::Unknown(_) | ToolError::Refused(_))) => {
            err_line!("error: {}", crate::net::strip_os_error(&e.to_string()));
            ExitCode::from(2)
        }
        Err(e) => {
            err_line!("error: {}", crate::net::strip_os_error(&e.to_string()));
            ExitCode::from(1)
        }
    }
}
