//! `opsdeck serve`: the engine for remote clients over WebSocket (or stdio
//! for `ssh://`), with the data dir's control socket beside it. `SIGHUP`
//! (socket mode) and any change in the rules folder reload the alert rules.
//! Clients run tools through `run_tool` commands (the engine's tools
//! service: the built-ins and the configured MCP servers' tools).

use std::process::ExitCode;
use std::time::Duration;

use super::{Cli, ServeArgs, err_line, fail, headless_engine, listen_control};
use crate::config::Paths;
use crate::engine::Engine;
use crate::engine::tools::mcp::{McpState, McpStatus};
use crate::engine::tools::service::{RunLog, ToolService};

pub(super) fn serve(cli: &Cli, args: &ServeArgs, paths: &Paths) -> ExitCode {
    use crate::remote::server::{ServeOptions, serve as serve_http, serve_stdio};
    if args.no_auth && !args.listen.ip().is_loopback() {
        return fail(format!(
            "--no-auth on {}: serving without a token is only allowed on a loopback address\n  hint: use --listen 127.0.0.1:PORT, or drop --no-auth and give --token",
            args.listen
        ));
    }
    let (engine, config) = match headless_engine(cli, paths) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let token = match (&args.token, args.no_auth, args.stdio) {
        (_, _, true) | (_, true, _) => None,
        (Some(t), _, _) if !t.trim().is_empty() => Some(t.trim().to_string()),
        _ => match crate::remote::token::load_or_generate(&paths.data_dir) {
            Ok((t, true)) => {
                let file = crate::remote::token::token_file(&paths.data_dir);
                err_line!(
                    "generated a token for clients (shown once; kept in {} with mode 0600):\n{t}",
                    file.display()
                );
                Some(t)
            }
            Ok((t, false)) => Some(t),
            Err(e) => return fail(format!("{}: cannot read or create the token: {e}", paths.data_dir.display())),
        },
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    let (alert_rules, alert_errors) = crate::engine::alerts::rules::load(Some(&paths.alerts_dir()));
    for e in &alert_errors {
        err_line!("warning: {e}");
    }
    let jq = crate::jq::JqRunner::for_this_program();
    let result = rt.block_on(async {
        engine.start();
        for problem in engine.start_alerts(
            alert_rules,
            crate::engine::tools::Registry::with_builtins(jq.clone()),
            &config.notifiers,
            &paths.config_dir,
        ) {
            err_line!("warning: {problem}");
        }
        // Tools for `run_tool` commands: the built-ins and the configured MCP servers'.
        let log: std::sync::Arc<dyn RunLog> = std::sync::Arc::new(engine.clone());
        let builtins = crate::engine::tools::Registry::with_builtins(jq.clone());
        let clock = std::sync::Arc::new(crate::clock::SystemClock);
        let tools = ToolService::start(builtins, &config.mcp_servers, &paths.config_dir, Some(log), clock);
        if let Some(status) = tools.mcp_status() {
            report_mcp(status);
        }
        let exec = std::sync::Arc::new(
            crate::engine::workflows::registry_exec::RegistryExecutor::watching(tools.registry()).owned_by(&engine),
        );
        engine.start_tools(tools);
        let secrets = std::sync::Arc::new(crate::engine::workflows::render::KeyringSecrets {
            config_dir: paths.config_dir.clone(),
        });
        match crate::engine::workflows::service::WorkflowService::new(
            engine.clone(),
            Some(paths.workflows_dir()),
            exec,
            secrets,
        ) {
            Ok(svc) => match engine.start_workflows(svc.with_retention(config.workflows)) {
                0 => {}
                n => err_line!("note: {n} workflow run(s) were in flight when opsdeck last stopped: now interrupted"),
            },
            Err(e) => err_line!("warning: workflows: {e}"),
        }
        let _control = listen_control(paths, &engine)
            .map_err(|e| {
                err_line!("warning: {e}\n  (a TUI or `opsdeck tool` cannot share this data directory meanwhile)")
            })
            .ok();
        // Over stdio a hangup means the session is gone; on a socket it means "reload".
        if !args.stdio {
            reload_on_hangup(&engine, paths);
        }
        match engine.watch_rules(paths.alerts_dir()) {
            Ok(rx) => report_rules(rx),
            Err(e) => err_line!("warning: {e}\n  (rules reload only on SIGHUP)"),
        }
        let r = if args.stdio {
            serve_stdio(engine.clone()).await.map_err(|e| e.to_string())
        } else {
            let opts =
                ServeOptions { listen: args.listen, token, tls: args.tls_cert.clone().zip(args.tls_key.clone()) };
            let (tx, rx) = tokio::sync::oneshot::channel();
            tokio::spawn(async move {
                if let Ok(addr) = rx.await {
                    tracing::info!(%addr, "listening");
                    err_line!("opsdeck serve: listening on {addr}");
                }
            });
            serve_http(engine.clone(), opts, Some(tx), shutdown_signal(args.stdio)).await.map_err(|e| e.to_string())
        };
        engine.shutdown();
        r
    });
    rt.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// Ctrl-C or SIGTERM (and SIGHUP over stdio, where it means the session ended).
async fn shutdown_signal(stdio: bool) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (signal(SignalKind::terminate()), signal(SignalKind::hangup())) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => return,
                _ = term.recv() => return,
                _ = hup.recv() => if stdio { return },
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// `kill -HUP`: read the alert rules again (as Prometheus does) and say what
/// changed; config.toml is checked, and changes to it need a restart.
fn reload_on_hangup(engine: &Engine, paths: &Paths) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else { return };
        let (engine, paths) = (engine.clone(), paths.clone());
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                let (e, p) = (engine.clone(), paths.clone());
                let Ok((outcome, config)) = tokio::task::spawn_blocking(move || {
                    let config = crate::config::settings::load_config(None, &p.config_file());
                    (e.reload_rules_from(&p.alerts_dir()), config)
                })
                .await
                else {
                    continue;
                };
                err_line!("SIGHUP: {}", outcome.lines().join("\n  "));
                match config {
                    Ok(l) if l.warnings.is_empty() => {
                        err_line!("  config.toml is valid; changes to it take effect at the next start")
                    }
                    Ok(l) => l.warnings.iter().for_each(|w| err_line!("  config.toml: {w}")),
                    Err(e) => err_line!("  config.toml: {e}"),
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = (engine, paths);
}

/// Say on stderr (and in the log) what each change in the rules folder did.
fn report_rules(mut rx: tokio::sync::mpsc::UnboundedReceiver<crate::engine::alerts::reload::RulesReload>) {
    tokio::spawn(async move {
        while let Some(outcome) = rx.recv().await {
            err_line!("rules folder changed: {}", outcome.lines().join("\n  "));
        }
    });
}

/// Say on stderr (and in the log) when an MCP server becomes ready, restarts or fails.
fn report_mcp(mut status: tokio::sync::watch::Receiver<Vec<McpStatus>>) {
    tokio::spawn(async move {
        let mut said: Vec<McpStatus> = Vec::new();
        loop {
            let now = status.borrow_and_update().clone();
            for s in &now {
                let before = said.iter().find(|b| b.name == s.name).map(|b| std::mem::discriminant(&b.state));
                if before == Some(std::mem::discriminant(&s.state)) {
                    continue;
                }
                match &s.state {
                    McpState::Starting => {}
                    McpState::Ready { tools } => err_line!("MCP server {}: ready, {tools} tools", s.name),
                    McpState::Restarting { attempt, error, .. } => {
                        err_line!("MCP server {}: restarting (attempt {attempt}): {error}", s.name)
                    }
                    McpState::Failed { error } => err_line!("warning: MCP server {} failed: {error}", s.name),
                }
            }
            said = now;
            if status.changed().await.is_err() {
                return;
            }
        }
    });
}
