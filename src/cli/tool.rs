//! `opsdeck tool`: list the tools (built-ins and the configured MCP servers'),
//! or run one headless. Exit codes: 0 ok, 1 the tool failed, 2 bad usage or refused.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::time::Duration;

use tokio::sync::watch;

use super::{Cli, ToolArgs, err_line, err_text, fail, out_line};
use crate::config::Paths;
use crate::config::mcp::McpServerConfig;
use crate::config::settings::load_config;
use crate::engine::store::Store;
use crate::engine::tools::mcp::{McpHub, McpState};
use crate::engine::tools::{Registry, RunOptions, ToolError, ToolRun, ToolSpec, parse_args};
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
    let (registry, hub, problems) = rt.block_on(start_servers(&servers, paths));
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
            _ => run(cli, args, paths, &rt, registry, &name),
        }
    };
    rt.block_on(async move { drop(hub) });
    rt.shutdown_timeout(Duration::from_millis(500));
    code
}

/// Start the servers, wait for them (bounded), and say which are not ready and why.
async fn start_servers(servers: &[McpServerConfig], paths: &Paths) -> (Registry, McpHub, Vec<(String, String)>) {
    let (tx, rx) = watch::channel(Registry::with_builtins(crate::jq::JqRunner::for_this_program()));
    let hub = McpHub::start(servers, tx, &paths.config_dir);
    hub.wait_ready(MCP_START_WAIT).await;
    let problems = hub
        .status()
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
    let registry = rx.borrow().clone();
    (registry, hub, problems)
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
    paths: &Paths,
    rt: &tokio::runtime::Runtime,
    registry: Registry,
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
    let started = chrono::Utc::now().timestamp_millis();
    let clock = std::time::Instant::now();
    let run_args = parsed.clone();
    let (result, lines) = rt.block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(256);
        let printer = tokio::spawn(async move {
            let mut kept = crate::engine::tools::OutputCapture::default();
            while let Some(line) = rx.recv().await {
                if json {
                    err_line!("{line}");
                } else {
                    out_line!("{line}");
                }
                kept.push(&line);
            }
            kept
        });
        let r = registry.run_with(name, parsed, tx, opts).await;
        (r, printer.await.unwrap_or_default())
    });
    // Every run that ran goes to the history; a usage error (exit 2) or a
    // refusal did not run and is not kept.
    if ToolRun::ran(&result) {
        let run = ToolRun {
            origin: crate::protocol::tools::RunOrigin::Cli,
            ..ToolRun::new(tool.spec(), run_args, started, clock.elapsed(), &result, lines)
        };
        // A running opsdeck holds the data dir: record through its control socket.
        let records = match Store::open(&paths.data_dir, 1 << 20) {
            Ok(store) => Ok(Records::Store(std::sync::Arc::new(store))),
            Err(e @ crate::engine::store::StoreError::Locked { .. }) => {
                match crate::remote::control::ControlClient::connect(&paths.control_socket()) {
                    Ok(c) => Ok(Records::Control(std::sync::Arc::new(c))),
                    Err(c) => Err(format!("{e}\n  and it does not answer on its control socket: {c}")),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = records.and_then(|r| r.record_tool_run(&run, true).map_err(|e| e.to_string())) {
            err_line!("warning: the run was not recorded in the history: {e}");
        }
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
