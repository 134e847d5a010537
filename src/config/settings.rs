//! `config.toml`: every key, its default, and loading with located errors.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

pub use super::alerting::{AlertmanagerConfig, NotifierConfig, NotifierKind, Target};
use super::error::ConfigError;
pub use super::mcp::{McpServerConfig, McpTransport};
pub use super::prefect::PrefectConfig;

/// The whole user configuration. Every field has a default; unknown keys are errors.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub theme: String,
    pub keymap: String,
    #[serde(deserialize_with = "de_duration")]
    pub refresh: Duration,
    pub mouse: bool,
    pub metrics: MetricsConfig,
    pub storage: StorageConfig,
    /// `[workflows]`: how long runs are kept.
    pub workflows: WorkflowsConfig,
    /// Remote engines (`opsdeck serve`) to connect to.
    #[serde(rename = "backend")]
    pub backends: Vec<BackendConfig>,
    /// Prometheus servers polled as metrics sources.
    #[serde(rename = "prometheus")]
    pub prometheus: Vec<PrometheusConfig>,
    /// MCP servers whose tools join the tool registry.
    #[serde(rename = "mcp_server")]
    pub mcp_servers: Vec<McpServerConfig>,
    /// Where alert notifications go (webhook, Slack, bell, desktop).
    #[serde(rename = "notifier")]
    pub notifiers: Vec<NotifierConfig>,
    /// Alertmanagers whose alerts and silences join the alerts pane.
    #[serde(rename = "alertmanager")]
    pub alertmanagers: Vec<AlertmanagerConfig>,
    /// Prefect servers (or Prefect Cloud workspaces) whose flow runs join the runs pane.
    #[serde(rename = "prefect")]
    pub prefect: Vec<PrefectConfig>,
    /// LLM endpoints for the chat pane and `opsdeck chat`.
    #[serde(rename = "provider")]
    pub providers: Vec<super::chat::ProviderConfig>,
    /// `[chat]`: fallback chain, system prompt, tool rounds.
    pub chat: super::chat::ChatConfig,
}

/// `[[prometheus]]`: PromQL per opsdeck series name, polled with `query_range`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    pub name: String,
    pub url: String,
    #[serde(default = "default_prom_interval", deserialize_with = "de_duration")]
    pub interval: Duration,
    /// e.g. `"cpu.total" = '100 - avg(rate(node_cpu_seconds_total{mode="idle"}[1m])) * 100'`
    pub queries: std::collections::BTreeMap<String, String>,
}

fn default_prom_interval() -> Duration {
    Duration::from_secs(15)
}

/// `[[backend]] name = "prod", url = "wss://host:7317"`; the token is the
/// secret `backend:NAME` (`opsdeck key set backend:prod`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    pub name: String,
    pub url: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            theme: "default-dark".into(),
            keymap: "default".into(),
            refresh: Duration::from_secs(1),
            mouse: true,
            metrics: MetricsConfig::default(),
            storage: StorageConfig::default(),
            workflows: WorkflowsConfig::default(),
            backends: Vec::new(),
            prometheus: Vec::new(),
            mcp_servers: Vec::new(),
            notifiers: Vec::new(),
            alertmanagers: Vec::new(),
            prefect: Vec::new(),
            providers: Vec::new(),
            chat: Default::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Initial chart window: 1m 5m 15m 1h 6h 24h.
    pub window: Window,
    /// Chart glyphs: braille, block or ascii.
    pub marker: Marker,
    /// Initial process sort: cpu, memory, pid, name.
    pub sort: SortKey,
    pub thresholds: Thresholds,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            window: Window::M5,
            marker: Marker::Braille,
            sort: SortKey::Cpu,
            thresholds: Thresholds::default(),
        }
    }
}

/// Warning and critical levels, in percent.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub warn: f32,
    pub crit: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    pub cpu: Threshold,
    pub memory: Threshold,
    pub swap: Threshold,
    pub disk: Threshold,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            cpu: Threshold { warn: 75.0, crit: 90.0 },
            memory: Threshold { warn: 80.0, crit: 95.0 },
            swap: Threshold { warn: 50.0, crit: 80.0 },
            disk: Threshold { warn: 85.0, crit: 95.0 },
        }
    }
}

/// `[workflows]`: retention of runs (with their steps and logs). A run is
/// pruned when it is older than `keep_days` and not among the `keep_runs`
/// newest of its workflow; runs in flight are never pruned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkflowsConfig {
    /// Newest runs kept per workflow whatever their age.
    pub keep_runs: usize,
    /// Runs younger than this many days are kept.
    pub keep_days: u32,
}

impl Default for WorkflowsConfig {
    fn default() -> Self {
        WorkflowsConfig { keep_runs: 100, keep_days: 30 }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// sled page cache, MiB.
    pub cache_mb: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig { cache_mb: 8 }
    }
}

/// Chart time windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Window {
    #[serde(rename = "1m")]
    M1,
    #[serde(rename = "5m")]
    M5,
    #[serde(rename = "15m")]
    M15,
    #[serde(rename = "1h")]
    H1,
    #[serde(rename = "6h")]
    H6,
    #[serde(rename = "24h")]
    H24,
}

impl Window {
    pub const ALL: [Window; 6] = [Window::M1, Window::M5, Window::M15, Window::H1, Window::H6, Window::H24];
    pub fn ms(self) -> i64 {
        match self {
            Window::M1 => 60_000,
            Window::M5 => 300_000,
            Window::M15 => 900_000,
            Window::H1 => 3_600_000,
            Window::H6 => 6 * 3_600_000,
            Window::H24 => 24 * 3_600_000,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Window::M1 => "1m",
            Window::M5 => "5m",
            Window::M15 => "15m",
            Window::H1 => "1h",
            Window::H6 => "6h",
            Window::H24 => "24h",
        }
    }
    pub fn step(self, delta: i32) -> Window {
        let i = Self::ALL.iter().position(|w| *w == self).unwrap_or(0) as i32;
        Self::ALL[(i + delta).clamp(0, Self::ALL.len() as i32 - 1) as usize]
    }
}

/// How charts draw their points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Marker {
    Braille,
    Block,
    Ascii,
}

impl Marker {
    pub fn next(self) -> Marker {
        match self {
            Marker::Braille => Marker::Block,
            Marker::Block => Marker::Ascii,
            Marker::Ascii => Marker::Braille,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Marker::Braille => "braille",
            Marker::Block => "block",
            Marker::Ascii => "ascii",
        }
    }
}

/// Process table sort column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    Cpu,
    Memory,
    Pid,
    Name,
}

impl SortKey {
    pub fn next(self) -> SortKey {
        match self {
            SortKey::Cpu => SortKey::Memory,
            SortKey::Memory => SortKey::Pid,
            SortKey::Pid => SortKey::Name,
            SortKey::Name => SortKey::Cpu,
        }
    }
}

pub(crate) fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    let dur = parse_duration(&s).map_err(serde::de::Error::custom)?;
    if dur < Duration::from_millis(100) || dur > Duration::from_secs(3600) {
        return Err(serde::de::Error::custom(format!("duration {s:?} is out of range (100ms to 1h)")));
    }
    Ok(dur)
}

/// Parse "500ms", "1s", "2m", "1h" (also "1.5s").
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 =
        num.parse().map_err(|_| format!("invalid duration {s:?}: expected a number and a unit, like 500ms, 1s, 2m"))?;
    let ms = match unit.trim() {
        "ms" => n,
        "s" | "" => n * 1000.0,
        "m" => n * 60_000.0,
        "h" => n * 3_600_000.0,
        u => return Err(format!("invalid duration unit {u:?} in {s:?}: use ms, s, m or h")),
    };
    if !ms.is_finite() || ms < 0.0 {
        return Err(format!("invalid duration {s:?}"));
    }
    Ok(Duration::from_millis(ms as u64))
}

/// A loaded configuration plus the problems met on the way (shown, not fatal).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<ConfigError>,
}

/// Parse a config file's text.
pub fn parse_config(path: &str, src: &str) -> Result<Config, ConfigError> {
    parse_config_all(path, src)
        .map_err(|v| v.into_iter().next().unwrap_or_else(|| ConfigError::file(path, "invalid configuration", "")))
}

/// [`parse_config`] reporting every independent problem (each top-level key,
/// each `[[…]]` entry, each threshold), each with its position.
pub fn parse_config_all(path: &str, src: &str) -> Result<Config, Vec<ConfigError>> {
    let cfg: Config = super::collect::deserialize_all(path, src, hint_for)?;
    let mut errors = Vec::new();
    for (name, t) in [
        ("cpu", cfg.metrics.thresholds.cpu),
        ("memory", cfg.metrics.thresholds.memory),
        ("swap", cfg.metrics.thresholds.swap),
        ("disk", cfg.metrics.thresholds.disk),
    ] {
        if !(0.0..=100.0).contains(&t.warn) || !(0.0..=100.0).contains(&t.crit) || t.warn > t.crit {
            let at = src.find(&format!("{name} =")).or_else(|| src.find(&format!("[metrics.thresholds.{name}]")));
            errors.push(ConfigError::at(
                path,
                src,
                at.map(|a| a..a + 1),
                format!("threshold {name}: warn {} and crit {} must be percentages with warn <= crit", t.warn, t.crit),
                "e.g. cpu = { warn = 75, crit = 90 }",
            ));
        }
    }
    errors.extend(super::names::check(path, src));
    errors.extend(super::chat_check::check(path, src));
    if errors.is_empty() { Ok(cfg) } else { Err(errors) }
}

fn hint_for(msg: &str) -> String {
    if msg.contains("unknown field") {
        "remove or rename the key; every key is listed in docs/config.md".into()
    } else if msg.contains("unknown variant") {
        "use one of the values listed in the message".into()
    } else if msg.contains("mcp_server") {
        "see the [[mcp_server]] keys in docs/config.md".into()
    } else if msg.starts_with("notifier") {
        "see the [[notifier]] keys in docs/config.md".into()
    } else if msg.starts_with("alertmanager") {
        "see the [[alertmanager]] keys in docs/config.md".into()
    } else if msg.starts_with("prefect") {
        "see the [[prefect]] keys in docs/config.md".into()
    } else if msg.contains("duration") {
        "write durations like \"500ms\", \"1s\" or \"2m\"".into()
    } else {
        String::new()
    }
}

/// An error about a name the config file gave (`theme = "default-drak"`),
/// placed at that key in the config file (`config.toml:3:9: unknown theme …`)
/// instead of at the theme file that does not exist. Unchanged when the key
/// is not in the file.
pub fn at_config_key(err: ConfigError, config_file: &Path, key: &str) -> ConfigError {
    let Ok(src) = crate::text::file::read(config_file) else { return err };
    match super::collect::value_span(&src, key) {
        Some(span) => ConfigError::at(config_file.display().to_string(), &src, Some(span), err.message, err.hint),
        None => err,
    }
}

/// Load the configuration. An explicit path that fails is an error (fatal for
/// the caller); the implicit file falls back to defaults with a warning.
pub fn load_config(explicit: Option<&Path>, implicit: &Path) -> Result<Loaded, ConfigError> {
    let (path, is_explicit) = match explicit {
        Some(p) => (p, true),
        None => (implicit, false),
    };
    let shown = path.display().to_string();
    let src = match crate::text::file::read(path) {
        Ok(s) => s,
        Err(e) if e.is_not_found() && !is_explicit => {
            return Ok(Loaded { config: Config::default(), warnings: Vec::new() });
        }
        Err(e) => {
            let err = ConfigError::unreadable(&shown, &e);
            return if is_explicit { Err(err) } else { Ok(Loaded { config: Config::default(), warnings: vec![err] }) };
        }
    };
    match parse_config_all(&shown, &src) {
        Ok(config) => Ok(Loaded { config, warnings: Vec::new() }),
        Err(mut e) if is_explicit => Err(e.remove(0)),
        Err(e) => Ok(Loaded { config: Config::default(), warnings: e }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_full_file() {
        let c = parse_config("c.toml", "").unwrap();
        assert_eq!(c, Config::default());
        let c = parse_config(
            "c.toml",
            "theme = \"high-contrast\"\nrefresh = \"500ms\"\n[metrics]\nwindow = \"1h\"\nmarker = \"ascii\"\n[metrics.thresholds]\ncpu = { warn = 50, crit = 60 }\n",
        )
        .unwrap();
        assert_eq!(c.refresh, Duration::from_millis(500));
        assert_eq!(c.metrics.window, Window::H1);
        assert_eq!(c.metrics.marker, Marker::Ascii);
        assert_eq!(c.metrics.thresholds.cpu.crit, 60.0);
    }

    #[test]
    fn backends_and_prometheus() {
        let c = parse_config(
            "c.toml",
            "[[backend]]\nname = \"prod\"\nurl = \"wss://h:7317\"\n\n[[prometheus]]\nname = \"prom\"\nurl = \"http://p:9090\"\n[prometheus.queries]\n\"cpu.total\" = \"up\"\n",
        )
        .unwrap();
        assert_eq!(c.backends, vec![BackendConfig { name: "prod".into(), url: "wss://h:7317".into() }]);
        assert_eq!(c.prometheus[0].interval, Duration::from_secs(15));
        assert_eq!(c.prometheus[0].queries.get("cpu.total").map(String::as_str), Some("up"));
        let e = parse_config("c.toml", "[[prometheus]]\nname = \"p\"\nurl = \"x\"\n").unwrap_err();
        assert!(e.message.contains("missing field `queries`"), "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("3d").is_err());
    }

    #[test]
    fn window_steps_clamp() {
        assert_eq!(Window::M1.step(-1), Window::M1);
        assert_eq!(Window::M5.step(1), Window::M15);
        assert_eq!(Window::H24.step(1), Window::H24);
    }
}
