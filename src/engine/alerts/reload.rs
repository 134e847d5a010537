//! Reloading alert rules and health checks while running (D20): from the
//! `reload` action, `SIGHUP` to `opsdeck serve`, or a change in the rules
//! folder seen by a file watcher. A set with any error is not applied: the
//! rules in force stay, and every error is reported with its file:line:col.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;

use super::rules::{self, RuleSet};
use crate::config::error::ConfigError;
use crate::engine::Engine;

/// Quiet time after the last change in the rules folder before reloading
/// (an editor's save is several events: temp file, rename, chmod).
pub const SETTLE: Duration = Duration::from_millis(300);

/// What changed between two rule sets, by name (rules and checks together).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl RulesDiff {
    /// Compare by name; a rule and a check never share a name's meaning.
    pub fn between(old: &RuleSet, new: &RuleSet) -> RulesDiff {
        let mut d = RulesDiff::default();
        let named = |s: &RuleSet| -> Vec<(String, String)> {
            let rules = s.rules.iter().map(|r| (format!("rule {}", r.name), format!("{r:?}")));
            let checks = s.checks.iter().map(|c| (format!("check {}", c.name), format!("{c:?}")));
            rules.chain(checks).chain(s.slos.iter().map(|x| (format!("slo {}", x.name), x.diff_body()))).collect()
        };
        let (old, new) = (named(old), named(new));
        for (name, body) in &new {
            match old.iter().find(|(n, _)| n == name) {
                None => d.added.push(name.clone()),
                Some((_, was)) if was != body => d.changed.push(name.clone()),
                Some(_) => {}
            }
        }
        d.removed = old.iter().filter(|(n, _)| !new.iter().any(|(m, _)| m == n)).map(|(n, _)| n.clone()).collect();
        d
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

impl std::fmt::Display for RulesDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_empty() {
            return f.write_str("rules and checks unchanged");
        }
        let mut parts = Vec::new();
        for (sign, names) in [("+", &self.added), ("−", &self.removed), ("~", &self.changed)] {
            parts.extend(names.iter().map(|n| format!("{sign}{n}")));
        }
        write!(f, "rules and checks: {}", parts.join(", "))
    }
}

/// The outcome of one reload.
#[derive(Debug, Clone, PartialEq)]
pub enum RulesReload {
    /// Applied (the diff may be empty).
    Applied(RulesDiff),
    /// Not applied: the rules in force stay. Every problem, located.
    Kept(Vec<ConfigError>),
    /// The alert engine is not running here.
    NotRunning,
}

impl RulesReload {
    /// One line per fact, for a notice, a log line or stderr.
    pub fn lines(&self) -> Vec<String> {
        match self {
            RulesReload::Applied(d) => vec![d.to_string()],
            RulesReload::Kept(errors) => {
                let mut l = vec![format!(
                    "rules not reloaded ({} problem{}): the rules in force stay",
                    errors.len(),
                    if errors.len() == 1 { "" } else { "s" }
                )];
                l.extend(errors.iter().map(ToString::to_string));
                l
            }
            RulesReload::NotRunning => vec!["the alert engine is not running: no rules to reload".into()],
        }
    }
}

impl Engine {
    /// Replace the rules and checks with `set` if it has no errors; alerts of
    /// removed or disabled rules resolve on the next evaluation, alerts of
    /// kept rules keep their state, and every check restarts its probe.
    pub fn reload_rules(&self, set: RuleSet, errors: Vec<ConfigError>) -> RulesReload {
        if !errors.is_empty() {
            tracing::warn!("rules not reloaded: {} problem(s)", errors.len());
            return RulesReload::Kept(errors);
        }
        let checks = set.checks.clone();
        let e = self.clone();
        // SLOs new to the core start from their stored events (a store read, here).
        let restored = super::slo_engine::restore(&self.inner.store, &set.slos);
        let diff = self.alerts_ask(move |core| {
            core.slo.offer(restored);
            let diff = RulesDiff::between(&core.rules, &set);
            core.checks.retain(|name, _| set.checks.iter().any(|c| &c.name == name));
            core.rules = set;
            core.evaluate(e.inner.clock.now_ms());
            e.publish_alerts(core, true);
            diff
        });
        let Some(diff) = diff else { return RulesReload::NotRunning };
        let mut slot = self.inner.checks.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((registry, probes)) = slot.as_mut() {
            probes.iter().for_each(tokio::task::JoinHandle::abort);
            *probes = self.spawn_checks(checks, registry);
        }
        drop(slot);
        tracing::info!("{diff}");
        RulesReload::Applied(diff)
    }

    /// Read the bundled rules and every `*.toml` in `dir` again (blocking file
    /// reads: call from a blocking task) and apply them as [`Engine::reload_rules`].
    pub fn reload_rules_from(&self, dir: &Path) -> RulesReload {
        let (set, errors) = rules::load(Some(dir));
        self.reload_rules(set, errors)
    }

    /// Watch `dir` (created if missing) and reload the rules after each change
    /// to a `*.toml` file in it, once [`SETTLE`] has passed without another.
    /// Each outcome is sent on the returned channel. Errors: the folder cannot
    /// be created or watched (e.g. the inotify watch limit).
    pub fn watch_rules(&self, dir: PathBuf) -> Result<mpsc::UnboundedReceiver<RulesReload>, String> {
        use notify::Watcher;
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("{}: cannot create the rules folder: {}", dir.display(), crate::net::io_text(&e)))?;
        let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<()>();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let Ok(ev) = res else { return };
            if ev.kind.is_access() {
                return;
            }
            if ev.paths.iter().any(|p| p.extension().is_some_and(|x| x == "toml")) {
                let _ = ev_tx.send(());
            }
        })
        .map_err(|e| format!("{}: cannot watch the rules folder: {e}", dir.display()))?;
        watcher
            .watch(&dir, notify::RecursiveMode::NonRecursive)
            .map_err(|e| format!("{}: cannot watch the rules folder: {e}", dir.display()))?;
        let (tx, rx) = mpsc::unbounded_channel();
        let engine = self.clone();
        let task = tokio::spawn(async move {
            let _watcher = watcher; // dropped (and unwatched) with the task
            while ev_rx.recv().await.is_some() {
                // Settle: wait until SETTLE passes with no further change.
                while let Ok(Some(())) = tokio::time::timeout(SETTLE, ev_rx.recv()).await {}
                let (e, d) = (engine.clone(), dir.clone());
                let Ok(outcome) = tokio::task::spawn_blocking(move || e.reload_rules_from(&d)).await else { return };
                if tx.send(outcome).is_err() {
                    return;
                }
            }
        });
        self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner()).push(task);
        Ok(rx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(src: &str) -> RuleSet {
        rules::parse("t.toml", src).expect("rules")
    }

    #[test]
    fn a_diff_names_what_was_added_removed_and_changed() {
        let a = set(
            "[[rule]]\nname = \"cpu\"\ncondition = \"cpu.total > 90\"\n[[rule]]\nname = \"mem\"\ncondition = \"mem.used_pct > 90\"\n",
        );
        let b = set(
            "[[rule]]\nname = \"cpu\"\ncondition = \"cpu.total > 95\"\n[[check]]\nname = \"web\"\ntcp = \"127.0.0.1:1\"\n",
        );
        let d = RulesDiff::between(&a, &b);
        assert_eq!(d.added, vec!["check web"]);
        assert_eq!(d.removed, vec!["rule mem"]);
        assert_eq!(d.changed, vec!["rule cpu"]);
        assert_eq!(d.to_string(), "rules and checks: +check web, −rule mem, ~rule cpu");
        assert!(RulesDiff::between(&a, &a).is_empty());
    }
}
