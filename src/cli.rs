//! Command line: clap definitions and dispatch to the modes of DESIGN.md §1.

mod chat;
mod check;
mod check_status;
pub mod jq_worker;
mod key;
mod look;
mod runs;
mod serve;
mod tool;

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{CommandFactory, Parser, Subcommand};

use crate::clock::SystemClock;
use crate::config::keymap::Keymap;
use crate::config::settings::{at_config_key, load_config, parse_config_all, parse_duration};
use crate::config::theme::Theme;
use crate::config::{ConfigError, Paths};
use crate::engine::store::{LOCK_GRACE, Store};
use crate::engine::{Engine, EngineConfig};
use crate::runtime::{TuiOptions, run_tui};
use crate::secrets;

/// Print a line to stdout; a closed pipe or terminal is not worth a panic.
macro_rules! out_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
/// Print a line to stderr, ignoring errors (the terminal may be gone).
macro_rules! err_line {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
/// Print to stderr without a newline, ignoring errors.
macro_rules! err_text {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut e = std::io::stderr();
        let _ = write!(e, $($arg)*);
        let _ = e.flush();
    }};
}
pub(crate) use {err_line, err_text, out_line};

#[derive(Debug, Parser)]
#[command(name = "opsdeck", version, about = "A keyboard-driven terminal control center for operations work")]
pub struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/opsdeck/config.toml). An explicit file that fails is fatal.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Theme name: default-dark, default-light, high-contrast, or a file in the themes dir.
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    /// Keymap name: default, emacs, or a file in the keymaps dir.
    #[arg(long, global = true, value_name = "NAME")]
    pub keymap: Option<String>,
    /// Host metrics interval, e.g. 500ms, 1s, 2s (100ms to 1h).
    #[arg(long, global = true, value_name = "DUR", value_parser = parse_refresh)]
    pub refresh: Option<Duration>,
    /// Change nothing anywhere: refuse acknowledgements, silences, rule toggles,
    /// annotations and tools that change things. With `serve`: refuse them from every client.
    #[arg(long, global = true)]
    pub read_only: bool,
    /// No colours (also when NO_COLOR is set); state stays readable by glyphs and words.
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Do not capture the mouse (keeps the terminal's own selection).
    #[arg(long, global = true)]
    pub no_mouse: bool,
    /// Also show a remote engine: [NAME=]ws://HOST:PORT, wss://…, or ssh://[USER@]HOST (repeatable).
    #[arg(long = "backend", global = true, value_name = "URL", value_parser = crate::remote::client::parse_backend_arg)]
    pub backends: Vec<(String, String)>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate config, themes and keymaps; print file:line:col errors.
    Check,
    /// Print where config, data, logs, themes and keymaps are read from.
    Paths,
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Run the engine headless and serve it: /v1/stream (WebSocket), /healthz, /metrics.
    Serve(ServeArgs),
    /// Run one tool headless (exit code: 0 ok, 1 the tool failed, 2 bad usage), or list them.
    Tool(ToolArgs),
    /// Start a workflow run and follow it (exit code: 0 succeeded, 1 failed or cancelled, 2 bad usage).
    Run(runs::RunArgs),
    /// List workflow runs, show one, or act on one (cancel, resume, abandon, rerun, approve, reject).
    Runs(runs::RunsArgs),
    /// The workflows (with their next scheduled fire), their stored versions, a version's diff, a rollback.
    Workflows(runs::WorkflowsArgs),
    /// Ask the assistant headless: the answer streams to stdout; piped stdin is attached as context.
    Chat(chat::ChatArgs),
    /// Each health check's uptime (24 h, 7 d, 30 d) and its outages, as text or JSON.
    CheckStatus(check_status::CheckStatusArgs),
    /// Manage secrets (API keys, backend tokens) in the OS keyring.
    Key {
        #[command(subcommand)]
        op: KeyOp,
    },
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7317")]
    pub listen: std::net::SocketAddr,
    /// Bearer token clients must send (else OPSDECK_TOKEN, else one generated on first start).
    #[arg(long, value_name = "TOKEN", env = "OPSDECK_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Serve without authentication (only on a loopback address).
    #[arg(long, conflicts_with = "token")]
    pub no_auth: bool,
    /// PEM certificate chain: serve over TLS (wss://, https://).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Speak the protocol on stdin/stdout instead of listening (for ssh).
    #[arg(long, conflicts_with_all = ["listen", "tls_cert", "no_auth"])]
    pub stdio: bool,
}

#[derive(Debug, clap::Args)]
pub struct ToolArgs {
    /// The tool to run (see --list).
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,
    /// An argument KEY=VALUE (repeatable); VALUE @PATH reads a file, @- reads stdin.
    #[arg(long = "arg", value_name = "KEY=VALUE")]
    pub args: Vec<String>,
    /// Print the result (or the list) as JSON on stdout; output lines go to stderr.
    #[arg(long)]
    pub json: bool,
    /// List every tool with its source.
    #[arg(long)]
    pub list: bool,
    /// Confirm a tool that changes things (e.g. shell) without asking; for scripts.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeyOp {
    /// Store a secret; reads it from stdin (prompting without echo on a terminal).
    Set { name: String },
    /// Print a secret.
    Get { name: String },
    /// Remove a secret.
    Rm { name: String },
}

fn parse_refresh(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_millis(100) || d > Duration::from_secs(3600) {
        return Err("must be between 100ms and 1h".into());
    }
    Ok(d)
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    // The hidden jq worker mode, before anything else (see crate::jq::JqRunner).
    if std::env::args_os().nth(1).is_some_and(|a| a == crate::jq::WORKER_ARG) {
        return jq_worker::main();
    }
    let cli = Cli::parse();
    // On a terminal the TUI runs in a child; this process gives the terminal back if it dies.
    #[cfg(unix)]
    if cli.command.is_none()
        && let Some(code) = crate::runtime::supervisor::take_over()
    {
        return code;
    }
    let paths = Paths::from_env();
    match cli.command {
        None => run(cli, &paths),
        Some(Command::Check) => check::check(&cli, &paths),
        Some(Command::CheckStatus(ref args)) => check_status::check_status(args, &paths),
        Some(Command::Paths) => {
            check::print_paths(&paths, cli.config.as_deref());
            ExitCode::SUCCESS
        }
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "opsdeck", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        Some(Command::Key { ref op }) => key::key(op, &paths),
        Some(Command::Serve(ref args)) => serve::serve(&cli, args, &paths),
        Some(Command::Tool(ref args)) => tool::tool(&cli, args, &paths),
        Some(Command::Chat(ref args)) => chat::chat(&cli, args, &paths),
        Some(Command::Run(ref args)) => runs::run(&cli, args, &paths),
        Some(Command::Runs(ref args)) => runs::runs(&cli, args, &paths),
        Some(Command::Workflows(ref args)) => runs::workflows(&cli, args, &paths),
    }
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    // A last net under every message: never an OS error number.
    crate::cli::err_line!("error: {}", crate::net::strip_os_error(&msg.to_string()));
    ExitCode::FAILURE
}

fn no_color(cli: &Cli) -> bool {
    cli.no_color || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

fn run(cli: Cli, paths: &Paths) -> ExitCode {
    let loaded = match load_config(cli.config.as_deref(), &paths.config_file()) {
        Ok(l) => l,
        Err(e) => return fail(e),
    };
    let mut config = loaded.config;
    let mut warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    if let Some(r) = cli.refresh {
        config.refresh = r;
    }
    if cli.no_mouse {
        config.mouse = false;
    }
    let (alert_rules, alert_errors) = crate::engine::alerts::rules::load(Some(&paths.alerts_dir()));
    warnings.extend(alert_errors.iter().map(ToString::to_string));
    let (theme, keymap) = match look::load(&cli.overrides(), &config, paths, look::Mode::Start) {
        Ok((t, k, w)) => {
            warnings.extend(w);
            (t, k)
        }
        Err(e) => return fail(e.join("\n")),
    };
    let mut named: Vec<(String, String)> = config.backends.iter().map(|b| (b.name.clone(), b.url.clone())).collect();
    named.extend(cli.backends.iter().cloned());
    let mut backends = Vec::new();
    for (name, url) in named {
        if backends.iter().any(|b: &crate::remote::client::BackendSpec| b.name == name)
            || name == crate::protocol::LOCAL_SOURCE
        {
            return fail(format!(
                "backend name {name:?} is used twice (or is \"local\")\n  hint: give it another name with NAME=URL"
            ));
        }
        let token = match secrets::get(&format!("backend:{name}"), &paths.config_dir) {
            Ok(t) => t.map(|found| {
                warnings.extend(found.warning);
                found.value
            }),
            Err(e) => {
                warnings.push(format!("backend {name}: cannot read its token: {e}"));
                None
            }
        };
        backends.push(crate::remote::client::BackendSpec::new(name, url, token));
    }
    if let Err(e) = crate::logging::init(&paths.log_dir()) {
        warnings.push(format!("logging disabled: {e}"));
    }
    if let Err(e) = std::fs::create_dir_all(&paths.data_dir) {
        return fail(format!("{}: cannot create the data directory: {e}", paths.data_dir.display()));
    }
    // The data dir is held by another opsdeck (e.g. `opsdeck serve`): attach to it.
    let mut attached = None;
    let cache = config.storage.cache_mb * 1024 * 1024;
    let store = match Store::open_unless_held(&paths.data_dir, cache, holder_answers(paths), LOCK_GRACE) {
        Ok(s) => Some(s),
        Err(e @ crate::engine::store::StoreError::Locked { .. }) => {
            match crate::remote::control::ControlClient::connect(&paths.control_socket()) {
                Ok(c) => {
                    tracing::info!(socket = %paths.control_socket().display(), "attached to the data dir's holder");
                    attached = Some(Arc::new(c));
                    None
                }
                Err(c) => return fail(format!("{e}\n  and it does not answer on its control socket: {c}")),
            }
        }
        Err(e) => return fail(e),
    };
    // Sized to the work: the loop runs on this thread (block_on), one worker
    // carries the engine's and the sources' tasks (IO-bound), blocking work
    // (sysinfo, sled reads, exports) gets threads that leave 2 s after use.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(8)
        .thread_keep_alive(std::time::Duration::from_secs(2))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "opsdeck starting");
    // jq filters run in worker processes of this very binary.
    let jq = crate::jq::JqRunner::for_this_program();
    let engine = match store.map(|store| {
        Engine::new(
            store,
            EngineConfig { refresh_ms: config.refresh.as_millis() as i64, read_only: cli.read_only },
            Arc::new(SystemClock),
        )
    }) {
        Some(Ok(e)) => Some(e),
        Some(Err(e)) => return fail(e),
        None => None,
    };
    let result = rt.block_on(async {
        let mut _control = None;
        let local = match (&engine, attached) {
            (Some(engine), _) => {
                engine.start();
                warnings.extend(engine.start_alerts(
                    alert_rules,
                    crate::engine::tools::Registry::with_builtins(jq.clone()),
                    &config.notifiers,
                    &paths.config_dir,
                ));
                _control = listen_control(paths, engine).map_err(|e| tracing::warn!("control socket: {e}")).ok();
                crate::runtime::Local::InProcess(engine.clone())
            }
            (None, Some(c)) => crate::runtime::Local::Attached(c),
            (None, None) => return Err(std::io::Error::other("no engine")),
        };
        let prometheus = config
            .prometheus
            .iter()
            .map(|p| crate::remote::prometheus::PromSpec {
                name: p.name.clone(),
                url: p.url.clone(),
                interval: p.interval,
                queries: p.queries.clone(),
            })
            .collect();
        let opts = TuiOptions {
            config,
            theme,
            keymap,
            warnings,
            read_only: cli.read_only,
            backends,
            prometheus,
            exports_dir: paths.exports_dir(),
            config_dir: paths.config_dir.clone(),
            jq,
            reload: Some({
                let (o, p) = (cli.overrides(), paths.clone());
                Arc::new(move || look::reload(&o, &p))
            }),
            config_file: cli.config.clone().unwrap_or_else(|| paths.config_file()),
            alerts_dir: engine.is_some().then(|| paths.alerts_dir()),
            workflows_dir: engine.is_some().then(|| paths.workflows_dir()),
        };
        let r = run_tui(opts, local).await;
        if let Some(engine) = &engine {
            engine.shutdown();
        }
        r
    });
    rt.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("terminal: {e}")),
    }
}

/// Bind the data dir's control socket and serve it on the current runtime, so
/// a TUI or headless command started beside this process can share the data
/// dir. A failure is a warning: this process works without it.
fn listen_control(
    paths: &Paths,
    engine: &Engine,
) -> Result<crate::remote::control::ControlSocket, crate::remote::control::ControlError> {
    let mut sock = crate::remote::control::bind(&paths.control_socket())?;
    sock.serve(engine.clone());
    tracing::info!(path = %sock.path().display(), "control socket listening");
    Ok(sock)
}

/// Whether a running opsdeck answers on the data dir's control socket (so a
/// lock on the directory is its, not a dead process's).
pub(crate) fn holder_answers(paths: &Paths) -> impl Fn() -> bool + '_ {
    || crate::remote::control::ControlClient::answers(&paths.control_socket(), std::time::Duration::from_millis(500))
}

/// Open the store and engine for a non-TUI mode (logging to the state dir).
fn headless_engine(cli: &Cli, paths: &Paths) -> Result<(Engine, crate::config::settings::Config), String> {
    let loaded = load_config(cli.config.as_deref(), &paths.config_file()).map_err(|e| e.to_string())?;
    for w in &loaded.warnings {
        err_line!("warning: {w}");
    }
    let mut config = loaded.config;
    if let Some(r) = cli.refresh {
        config.refresh = r;
    }
    if let Err(e) = crate::logging::init(&paths.log_dir()) {
        err_line!("warning: logging disabled: {e}");
    }
    std::fs::create_dir_all(&paths.data_dir)
        .map_err(|e| format!("{}: cannot create the data directory: {e}", paths.data_dir.display()))?;
    let cache = config.storage.cache_mb * 1024 * 1024;
    let store = Store::open_unless_held(&paths.data_dir, cache, holder_answers(paths), LOCK_GRACE)
        .map_err(|e| e.to_string())?;
    let engine = Engine::new(
        store,
        EngineConfig { refresh_ms: config.refresh.as_millis() as i64, read_only: cli.read_only },
        Arc::new(SystemClock),
    )
    .map_err(|e| e.to_string())?;
    Ok((engine, config))
}

/// The data directory's engine for a headless workflow command.
enum Opened {
    /// This process's own (the directory was free), its workflow service
    /// started; with how many runs were marked interrupted.
    Own(Engine, usize),
    /// The opsdeck that holds the directory, through its control socket.
    Holder(Arc<crate::remote::control::ControlClient>),
}

/// Open the data directory for `opsdeck run`/`runs` (inside a runtime).
fn workflow_engine(cli: &Cli, paths: &Paths) -> Result<Opened, String> {
    match headless_engine(cli, paths) {
        Ok((engine, config)) => {
            engine.start_log_only();
            // Steps use the built-ins and the configured MCP servers' tools, as in `serve`.
            let builtins = crate::engine::tools::Registry::with_builtins(crate::jq::JqRunner::for_this_program());
            let log: Arc<dyn crate::engine::tools::service::RunLog> = Arc::new(engine.clone());
            let tools = crate::engine::tools::service::ToolService::start(
                builtins,
                &config.mcp_servers,
                &paths.config_dir,
                Some(log),
                Arc::new(SystemClock),
            );
            let exec = Arc::new(
                crate::engine::workflows::registry_exec::RegistryExecutor::watching(tools.registry()).owned_by(&engine),
            );
            engine.start_tools(tools);
            let svc = crate::engine::workflows::service::WorkflowService::new(
                engine.clone(),
                Some(paths.workflows_dir()),
                exec,
                Arc::new(crate::engine::workflows::render::KeyringSecrets { config_dir: paths.config_dir.clone() }),
            )
            .map_err(|e| e.to_string())?;
            let interrupted = engine.start_workflows(svc.with_retention(config.workflows));
            Ok(Opened::Own(engine, interrupted))
        }
        Err(e) if e.contains("another opsdeck is already using this data directory") => {
            match crate::remote::control::ControlClient::connect(&paths.control_socket()) {
                Ok(c) => Ok(Opened::Holder(Arc::new(c))),
                Err(c) => Err(format!("{e}\n  and it does not answer on its control socket: {c}")),
            }
        }
        Err(e) => Err(e),
    }
}

/// What carries out workflow steps: shell, HTTP and the tools of `registry`
/// (the built-ins when None).
fn workflow_executor(
    registry: Option<crate::engine::tools::Registry>,
) -> Arc<dyn crate::engine::workflows::exec::StepExecutor> {
    let registry = registry
        .unwrap_or_else(|| crate::engine::tools::Registry::with_builtins(crate::jq::JqRunner::for_this_program()));
    Arc::new(crate::engine::workflows::registry_exec::RegistryExecutor::new(registry))
}
