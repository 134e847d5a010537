//! Alert rule files: `alerts/*.toml` in the config dir, each with `[[rule]]`,
//! `[[check]]` and `[[slo]]` (slo.rs) tables, plus the bundled defaults. Errors are located
//! (`file:line:col`) like every other config error.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::expr::{self, Condition};
use crate::config::ConfigError;
use crate::config::settings::parse_duration;
use crate::protocol::alerts::Severity;

/// The bundled rules (CPU, memory, disk full, disk filling, load).
pub const BUNDLED: &str = include_str!("../../../assets/alerts/default.toml");
pub const BUNDLED_PATH: &str = "<bundled>/alerts/default.toml";

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub condition: Condition,
    /// The condition as written (for the pane).
    pub expr: String,
    pub for_: Duration,
    pub keep_firing_for: Duration,
    pub severity: Severity,
    pub labels: BTreeMap<String, String>,
    /// `{{value}}`, `{{instance}}` and `{{labels.NAME}}` are filled in.
    pub summary: String,
    pub enabled: bool,
    /// Where it was defined (`file`), for messages.
    pub file: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    Http {
        url: String,
        expect_status: Option<u16>,
        body_match: Option<String>,
        cert_days: Option<u32>,
        /// Extra PEM CA certificates to trust (an internal CA).
        ca_file: Option<String>,
    },
    Tcp {
        addr: String,
    },
    Dns {
        name: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: String,
    pub probe: Probe,
    pub interval: Duration,
    pub timeout: Duration,
    /// Consecutive failures before the check counts as failing.
    pub retries: u32,
    /// Slower than this counts as a failure.
    pub latency: Option<Duration>,
    pub severity: Severity,
    pub labels: BTreeMap<String, String>,
    pub enabled: bool,
    pub file: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub checks: Vec<Check>,
    /// `[[slo]]` tables (slo.rs).
    pub slos: Vec<super::slo::Slo>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    rule: Vec<RuleToml>,
    #[serde(default)]
    check: Vec<CheckToml>,
    #[serde(default)]
    slo: Vec<super::slo::SloToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleToml {
    name: Spanned<String>,
    condition: Spanned<String>,
    #[serde(rename = "for", default)]
    for_: Option<Spanned<String>>,
    #[serde(default)]
    keep_firing_for: Option<Spanned<String>>,
    #[serde(default)]
    severity: Option<Spanned<String>>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckToml {
    name: Spanned<String>,
    #[serde(default)]
    http: Option<String>,
    #[serde(default)]
    tcp: Option<String>,
    #[serde(default)]
    dns: Option<String>,
    #[serde(default)]
    interval: Option<Spanned<String>>,
    #[serde(default)]
    timeout: Option<Spanned<String>>,
    #[serde(default)]
    retries: Option<u32>,
    #[serde(default)]
    latency: Option<Spanned<String>>,
    #[serde(default)]
    expect_status: Option<u16>,
    #[serde(default)]
    body_match: Option<String>,
    #[serde(default)]
    cert_days: Option<u32>,
    #[serde(default)]
    ca_file: Option<String>,
    #[serde(default)]
    severity: Option<Spanned<String>>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

const HINT: &str = "see docs/alerts.md for the rule and check tables";

/// Parse one rule file.
pub fn parse(path: &str, src: &str) -> Result<RuleSet, ConfigError> {
    parse_all(path, src).map_err(|v| v.into_iter().next().unwrap_or_else(|| ConfigError::file(path, "invalid", HINT)))
}

/// [`parse`] reporting every bad rule and check (each with its position);
/// the good ones are not enough: a file with any error is not used.
pub fn parse_all(path: &str, src: &str) -> Result<RuleSet, Vec<ConfigError>> {
    let f: FileToml = crate::config::collect::deserialize_all(path, src, |_| HINT.to_string())?;
    let cx = Cx { path, src };
    let mut set = RuleSet::default();
    let mut errors = Vec::new();
    for r in f.rule {
        match cx.rule(r) {
            Ok(r) => set.rules.push(r),
            Err(e) => errors.push(e),
        }
    }
    for c in f.check {
        match cx.check(c) {
            Ok(c) => set.checks.push(c),
            Err(e) => errors.push(e),
        }
    }
    for s in f.slo {
        match super::slo::parse(path, src, s) {
            Ok(s) => set.slos.push(s),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() { Ok(set) } else { Err(errors) }
}

/// The file being read, for positions in errors.
struct Cx<'a> {
    path: &'a str,
    src: &'a str,
}

impl Cx<'_> {
    fn at(&self, span: std::ops::Range<usize>, msg: String, hint: &str) -> ConfigError {
        ConfigError::at(self.path, self.src, Some(span), msg, hint)
    }

    fn dur(&self, v: &Option<Spanned<String>>, default: Duration) -> Result<Duration, ConfigError> {
        match v {
            None => Ok(default),
            Some(s) => parse_duration(s.get_ref()).map_err(|m| self.at(s.span(), m, "durations look like 30s, 5m, 1h")),
        }
    }

    fn sev(&self, v: &Option<Spanned<String>>, default: Severity) -> Result<Severity, ConfigError> {
        match v {
            None => Ok(default),
            Some(s) => Severity::from_name(s.get_ref()).ok_or_else(|| {
                self.at(s.span(), format!("unknown severity {:?}", s.get_ref()), "use info, warning or critical")
            }),
        }
    }

    fn rule(&self, r: RuleToml) -> Result<Rule, ConfigError> {
        let name = r.name.get_ref().trim().to_string();
        if name.is_empty() {
            return Err(self.at(r.name.span(), "a rule needs a name".into(), HINT));
        }
        let text = r.condition.get_ref();
        let condition = expr::parse(text).map_err(|e| {
            // The span includes the opening quote.
            let start = r.condition.span().start + 1 + e.at;
            self.at(start..start + 1, e.message, "conditions look like `cpu.total > 90` (see docs/alerts.md)")
        })?;
        Ok(Rule {
            summary: r.summary.unwrap_or_else(|| format!("{name}: {text} (value {{{{value}}}})")),
            name,
            expr: text.clone(),
            condition,
            for_: self.dur(&r.for_, Duration::ZERO)?,
            keep_firing_for: self.dur(&r.keep_firing_for, Duration::ZERO)?,
            severity: self.sev(&r.severity, Severity::Warning)?,
            labels: r.labels,
            enabled: r.enabled,
            file: self.path.to_string(),
        })
    }

    fn check(&self, c: CheckToml) -> Result<Check, ConfigError> {
        let name = c.name.get_ref().trim().to_string();
        let probe = match (c.http, c.tcp, c.dns) {
            (Some(url), None, None) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(self.at(c.name.span(), format!("check {name}: {url:?} is not an http(s) URL"), HINT));
                }
                Probe::Http {
                    url,
                    expect_status: c.expect_status,
                    body_match: c.body_match,
                    cert_days: c.cert_days,
                    ca_file: c.ca_file,
                }
            }
            (None, Some(addr), None) => Probe::Tcp { addr },
            (None, None, Some(name)) => Probe::Dns { name },
            _ => {
                return Err(self.at(
                    c.name.span(),
                    format!("check {name} needs exactly one of http, tcp or dns"),
                    "e.g. http = \"https://host/health\", tcp = \"db:5432\" or dns = \"example.com\"",
                ));
            }
        };
        Ok(Check {
            name,
            probe,
            interval: self.dur(&c.interval, Duration::from_secs(30))?,
            timeout: self.dur(&c.timeout, Duration::from_secs(5))?,
            retries: c.retries.unwrap_or(1).max(1),
            latency: c.latency.as_ref().map(|_| self.dur(&c.latency, Duration::ZERO)).transpose()?,
            severity: self.sev(&c.severity, Severity::Critical)?,
            labels: c.labels,
            enabled: c.enabled,
            file: self.path.to_string(),
        })
    }
}

/// The bundled rules, then every `*.toml` in `dir` (sorted). A later rule or
/// check of the same name replaces an earlier one. All errors are returned.
pub fn load(dir: Option<&Path>) -> (RuleSet, Vec<ConfigError>) {
    let mut errors = Vec::new();
    let mut set = parse(BUNDLED_PATH, BUNDLED).unwrap_or_else(|e| {
        errors.push(e);
        RuleSet::default()
    });
    let files = dir.map(crate::text::file::toml_files).unwrap_or_default();
    for p in files {
        let shown = p.display().to_string();
        let parsed = crate::text::file::read(&p)
            .map_err(|e| vec![ConfigError::unreadable(&shown, &e)])
            .and_then(|src| parse_all(&shown, &src));
        match parsed {
            Ok(more) => {
                for r in more.rules {
                    set.rules.retain(|x| x.name != r.name);
                    set.rules.push(r);
                }
                for c in more.checks {
                    set.checks.retain(|x| x.name != c.name);
                    set.checks.push(c);
                }
                for s in more.slos {
                    set.slos.retain(|x| x.name != s.name);
                    set.slos.push(s);
                }
            }
            Err(e) => errors.extend(e),
        }
    }
    errors.extend(super::slo::validate(&mut set));
    (set, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_rules_parse() {
        let set = parse(BUNDLED_PATH, BUNDLED).unwrap();
        let names: Vec<_> = set.rules.iter().map(|r| r.name.as_str()).collect();
        for want in ["cpu_high", "memory_high", "disk_full", "disk_filling", "load_high"] {
            assert!(names.contains(&want), "{want} in {names:?}");
        }
        assert!(set.checks.is_empty(), "no health check is bundled: they need your addresses");
    }

    #[test]
    fn rules_and_checks_with_defaults() {
        let src = r#"
[[rule]]
name = "hot"
condition = "cpu.total > 90"
for = "5m"
keep_firing_for = "1m"
severity = "critical"
labels = { team = "infra" }

[[check]]
name = "api"
http = "https://api.example.com/health"
expect_status = 200
latency = "500ms"
retries = 3
"#;
        let set = parse("a.toml", src).unwrap();
        let r = &set.rules[0];
        assert_eq!(
            (r.for_, r.keep_firing_for, r.severity),
            (Duration::from_secs(300), Duration::from_secs(60), Severity::Critical)
        );
        assert_eq!(r.summary, "hot: cpu.total > 90 (value {{value}})");
        let c = &set.checks[0];
        assert_eq!(
            (c.interval, c.timeout, c.retries, c.latency),
            (Duration::from_secs(30), Duration::from_secs(5), 3, Some(Duration::from_millis(500)))
        );
        assert!(matches!(&c.probe, Probe::Http { expect_status: Some(200), .. }));
    }

    #[test]
    fn errors_are_located() {
        let e = parse("a.toml", "[[rule]]\nname = \"x\"\ncondition = \"cpu.total >> 9\"\n").unwrap_err();
        assert_eq!((e.line, e.col), (3, 25), "{e}");
        let e = parse("a.toml", "[[rule]]\nname = \"x\"\ncondition = \"cpu.total > 9\"\nfor = \"5 parsecs\"\n")
            .unwrap_err();
        assert_eq!((e.line, e.col), (4, 7), "{e}");
        let e = parse("a.toml", "[[rule]]\nname = \"x\"\ncondition = \"cpu.total > 9\"\nseverity = \"dire\"\n")
            .unwrap_err();
        assert!(e.to_string().starts_with("a.toml:4:12: unknown severity"), "{e}");
        let e = parse("a.toml", "[[check]]\nname = \"c\"\nhttp = \"x\"\ntcp = \"y:1\"\n").unwrap_err();
        assert!(e.message.contains("exactly one"), "{e}");
        let e = parse("a.toml", "[[rule]]\nname = \"x\"\nwhen = 1\n").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
    }
}
