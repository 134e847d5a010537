//! The `reload` action (D20): config.toml, the theme, the keymap and the
//! alert rules are read again off the loop (the loader comes from the CLI,
//! which knows the paths and the command-line overrides); what changed, what
//! needs a restart, or why nothing was applied is shown to the user.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::Local;
use crate::app::Action;

use crate::config::keymap::Keymap;
use crate::config::settings::Config;
use crate::config::theme::Theme;
use crate::engine::alerts::reload::RulesReload;

/// A configuration read again, with no errors.
pub struct Loaded {
    pub config: Config,
    pub theme: Theme,
    pub keymap: Keymap,
    /// Problems that did not stop the reload.
    pub warnings: Vec<String>,
}

/// Reads config.toml, the theme and the keymap (blocking). `Err`: every
/// problem, each with its file:line:col; nothing is to be applied.
pub type Loader = Arc<dyn Fn() -> Result<Loaded, Vec<String>> + Send + Sync>;

/// What one reload found: the configuration, and the rules (`None` when this
/// TUI does not own the engine).
pub struct Outcome {
    pub config: Result<Loaded, Vec<String>>,
    pub rules: Option<RulesReload>,
}

/// Lines for the user about the configuration part: what took effect now and
/// what needs a restart. `old` is what was in force.
pub fn describe(old: (&Config, &Theme, &Keymap), new: &Loaded) -> Vec<String> {
    let (config, theme, keymap) = old;
    let mut now = Vec::new();
    let was = |a: &str, b: &str| if a == b { format!("{b} (read again)") } else { format!("{a} → {b}") };
    now.push(format!("theme: {}", was(theme.name(), new.theme.name())));
    now.push(format!("keymap: {}", was(keymap.name(), new.keymap.name())));
    if config.metrics.thresholds != new.config.metrics.thresholds {
        now.push("metrics.thresholds: applied".into());
    }
    let n = &new.config;
    now.extend(super::reload_chat::describe((&config.providers, &config.chat), (&n.providers, &n.chat)));
    let later: Vec<&str> = [
        ("refresh", config.refresh != n.refresh),
        ("mouse", config.mouse != n.mouse),
        ("storage", config.storage != n.storage),
        ("[[backend]]", config.backends != n.backends),
        ("[[prometheus]]", config.prometheus != n.prometheus),
        ("[[mcp_server]]", config.mcp_servers != n.mcp_servers),
        ("[[notifier]]", config.notifiers != n.notifiers),
        ("[[alertmanager]]", config.alertmanagers != n.alertmanagers),
        ("metrics.window/marker/sort (start defaults)", {
            let (a, b) = (&config.metrics, &n.metrics);
            (a.window, a.marker, a.sort) != (b.window, b.marker, b.sort)
        }),
    ]
    .into_iter()
    .filter_map(|(k, changed)| changed.then_some(k))
    .collect();
    if !later.is_empty() {
        now.push(format!("changed, takes effect at the next start: {}", later.join(", ")));
    }
    now.extend(new.warnings.iter().map(|w| format!("warning: {w}")));
    now
}

/// Reload the rules whenever a file in the rules folder changes; say so in a notice.
pub(super) fn watch_rules(engine: &crate::engine::Engine, dir: std::path::PathBuf, inbox: mpsc::Sender<super::Msg>) {
    let mut rx = match engine.watch_rules(dir) {
        Ok(rx) => rx,
        Err(e) => {
            tracing::warn!("{e}: rules reload only with the reload action");
            return;
        }
    };
    tokio::spawn(async move {
        while let Some(outcome) = rx.recv().await {
            let lines = outcome.lines();
            let text = match &outcome {
                crate::engine::alerts::reload::RulesReload::Kept(_) if lines.len() > 1 => {
                    format!("{} — first: {} (`opsdeck check` lists all)", lines[0], lines[1])
                }
                _ => format!("rules file changed: {}", lines.join("; ")),
            };
            if inbox.send(super::Msg::Action(Action::Notice(text))).await.is_err() {
                return;
            }
        }
    });
}

/// Read everything again off the loop (config through `loader`, the rules
/// folder `dir` when the engine runs here); the answer comes back as
/// `super::Msg::Reloaded`.
pub(super) fn start(
    loader: Option<Loader>,
    dir: Option<std::path::PathBuf>,
    local: &Local,
    inbox: &mpsc::Sender<super::Msg>,
) {
    let inbox = inbox.clone();
    let engine = match local {
        Local::InProcess(e) => Some(e.clone()),
        Local::Attached(_) => None,
    };
    tokio::spawn(async move {
        let work = move || Outcome {
            config: loader.map_or_else(|| Err(vec!["nothing to reload from".to_string()]), |l| l()),
            rules: engine.zip(dir).map(|(e, d)| e.reload_rules_from(&d)),
        };
        if let Ok(outcome) = tokio::task::spawn_blocking(work).await {
            let _ = inbox.send(super::Msg::Reloaded(Box::new(outcome))).await;
        }
    });
}

/// Put a reloaded configuration in force (or keep the old one) and say what happened.
pub(super) fn apply(opts: &mut super::event_loop::Looks, outcome: Outcome) -> Action {
    let mut lines = Vec::new();
    let (ok, warnings) = match outcome.config {
        Ok(loaded) => {
            lines.extend(describe((&opts.config, &opts.theme, &opts.keymap), &loaded));
            let warnings = loaded.warnings.clone();
            (opts.config, opts.theme, opts.keymap) = (loaded.config, loaded.theme, loaded.keymap);
            (true, Some(warnings))
        }
        Err(errors) => {
            let n = errors.len();
            lines.push(format!(
                "configuration not reloaded ({n} problem{}): config.toml, theme and keymap in force stay",
                if n == 1 { "" } else { "s" }
            ));
            lines.extend(errors);
            (false, None)
        }
    };
    let rules_ok = match outcome.rules {
        Some(r) => {
            lines.extend(r.lines());
            !matches!(r, crate::engine::alerts::reload::RulesReload::Kept(_))
        }
        None => {
            lines.push("alert rules: the opsdeck holding the data directory owns them; it reloads them on SIGHUP and when a rules file changes".into());
            true
        }
    };
    Action::Reloaded { ok: ok && rules_ok, lines, warnings }
}
