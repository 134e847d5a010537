//! Service level objectives: `[[slo]]` in rule files. An SLO is an
//! objective (99.9 % good events) over a window (30 days) for an SLI — the
//! probes of a health check, or a ratio of two series. The engine keeps the
//! events in minute buckets (slo_buckets.rs) and raises multi-window
//! burn-rate alerts from them (slo_engine.rs), as the Google SRE workbook
//! (ch. 5, "Alerting on SLOs") describes.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::rules::RuleSet;
use crate::config::ConfigError;

/// Longest SLO window: 90 days, in minutes (bounds the buckets kept).
pub const MAX_WINDOW_MIN: i64 = 90 * 1440;
/// Shortest SLO window: 1 day, in minutes (the longest alert window is 6 h).
pub const MIN_WINDOW_MIN: i64 = 1440;
/// Default window: 30 days, in minutes.
pub const DEFAULT_WINDOW_MIN: i64 = 30 * 1440;

const HINT: &str = "see docs/alerts.md, \"SLOs\"";

/// What counts as an event, and which events are bad.
#[derive(Debug, Clone, PartialEq)]
pub enum Sli {
    /// Every probe of the health check of this name is an event; a failed
    /// probe is a bad one.
    Check(String),
    /// Two series of per-second rates: bad events and all events. A sample
    /// counts its value × the seconds since the previous sample (at most 60).
    Ratio { errors: String, total: String },
}

impl Sli {
    /// How the pane names it: `check api`, `errors / total`.
    pub fn text(&self) -> String {
        match self {
            Sli::Check(c) => format!("check {c}"),
            Sli::Ratio { errors, total } => format!("{errors} / {total}"),
        }
    }
}

/// One `[[slo]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    pub name: String,
    /// Good events wanted, in percent: 0 < objective < 100.
    pub objective: f64,
    /// The window the objective is over, in minutes (whole hours, 1 to 90 days).
    pub window_min: i64,
    pub sli: Sli,
    /// Added to its alerts' labels (`slo`, `burn` and `window` are set by opsdeck).
    pub labels: BTreeMap<String, String>,
    /// The alerts' summary; `{{value}}` is the burn rate and budget text.
    pub summary: String,
    pub enabled: bool,
    /// Where it was defined, and the (line, column) of its name and its
    /// `check`: for problems found once every file is read.
    pub file: String,
    pub name_at: (usize, usize),
    pub check_at: (usize, usize),
}

impl Slo {
    /// The allowed fraction of bad events (`1 − objective`), in (0, 1).
    pub fn allowed(&self) -> f64 {
        1.0 - self.objective / 100.0
    }

    /// `99.9 % over 30d of check api`.
    pub fn detail(&self) -> String {
        format!("{} % over {} of {}", trim_number(self.objective), window_text(self.window_min), self.sli.text())
    }

    /// What a reload compares: the definition without its position in the file.
    pub fn diff_body(&self) -> String {
        format!(
            "{:?} {} {} {:?} {:?} {}",
            self.sli, self.objective, self.window_min, self.labels, self.summary, self.enabled
        )
    }
}

/// `30d`, `36h`.
pub fn window_text(min: i64) -> String {
    if min % 1440 == 0 { format!("{}d", min / 1440) } else { format!("{}h", min / 60) }
}

fn trim_number(v: f64) -> String {
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SloToml {
    name: Spanned<String>,
    objective: Spanned<f64>,
    #[serde(default)]
    window: Option<Spanned<String>>,
    #[serde(default)]
    check: Option<Spanned<String>>,
    #[serde(default)]
    errors: Option<Spanned<String>>,
    #[serde(default)]
    total: Option<Spanned<String>>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

/// `30d`, `4w`, `720h` in minutes; whole hours from 1 to 90 days.
fn parse_window(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: i64 = num.parse().map_err(|_| format!("invalid SLO window {s:?}: expected a whole number and d, w or h"))?;
    let min = match unit.trim() {
        "d" => n.checked_mul(1440),
        "w" => n.checked_mul(7 * 1440),
        "h" => n.checked_mul(60),
        u => return Err(format!("invalid SLO window unit {u:?} in {s:?}: use d (days), w (weeks) or h (hours)")),
    };
    match min {
        Some(m) if (MIN_WINDOW_MIN..=MAX_WINDOW_MIN).contains(&m) => Ok(m),
        _ => Err(format!("SLO window {s:?} is out of range: 1 day to 90 days")),
    }
}

/// One `[[slo]]` table of `src` (read from `path`).
pub(super) fn parse(path: &str, src: &str, t: SloToml) -> Result<Slo, ConfigError> {
    let at = |span: std::ops::Range<usize>, msg: String, hint: &str| ConfigError::at(path, src, Some(span), msg, hint);
    let pos = |span: std::ops::Range<usize>| {
        let e = ConfigError::at(path, src, Some(span), "", "");
        (e.line, e.col)
    };
    let name = t.name.get_ref().trim().to_string();
    if name.is_empty() {
        return Err(at(t.name.span(), "an SLO needs a name".into(), HINT));
    }
    let objective = *t.objective.get_ref();
    if !(objective > 0.0 && objective < 100.0) {
        let msg = format!("slo {name}: objective {objective} is not a percentage above 0 and below 100");
        return Err(at(t.objective.span(), msg, "e.g. objective = 99.9 (100 leaves no error budget to alert on)"));
    }
    let window_min = match &t.window {
        None => DEFAULT_WINDOW_MIN,
        Some(w) => parse_window(w.get_ref()).map_err(|m| at(w.span(), m, "e.g. window = \"30d\" or \"4w\""))?,
    };
    let (sli, check_at) = match (t.check, t.errors, t.total) {
        (Some(c), None, None) if !c.get_ref().trim().is_empty() => {
            (Sli::Check(c.get_ref().trim().to_string()), pos(c.span()))
        }
        (None, Some(e), Some(tot)) if !e.get_ref().trim().is_empty() && !tot.get_ref().trim().is_empty() => {
            (Sli::Ratio { errors: e.get_ref().trim().to_string(), total: tot.get_ref().trim().to_string() }, (0, 0))
        }
        _ => {
            return Err(at(
                t.name.span(),
                format!("slo {name} needs either check, or both errors and total"),
                "e.g. check = \"api\", or errors = \"http.errors_ps\" with total = \"http.requests_ps\"",
            ));
        }
    };
    Ok(Slo {
        summary: t.summary.unwrap_or_else(|| format!("{name}: error budget burning {{{{value}}}}")),
        name_at: pos(t.name.span()),
        name,
        objective,
        window_min,
        sli,
        labels: t.labels,
        enabled: t.enabled,
        file: path.to_string(),
        check_at,
    })
}

/// Problems only the whole set shows: an SLO over a check that no file
/// defines, an SLO named like a rule or check. Such SLOs are left out of
/// `set` (the rest is used); each problem is located in its file.
pub fn validate(set: &mut RuleSet) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let (rules, checks) = (&set.rules, &set.checks);
    set.slos.retain(|s| {
        let err = |(line, col): (usize, usize), message: String, hint: String| ConfigError {
            path: s.file.clone(),
            line,
            col,
            message,
            hint,
        };
        if rules.iter().any(|r| r.name == s.name) || checks.iter().any(|c| c.name == s.name) {
            errors.push(err(
                s.name_at,
                format!("slo {}: a rule or check has this name", s.name),
                "give the SLO a name of its own (its alerts are named after it)".into(),
            ));
            return false;
        }
        if let Sli::Check(c) = &s.sli
            && !checks.iter().any(|x| &x.name == c)
        {
            let known: Vec<&str> = checks.iter().map(|x| x.name.as_str()).collect();
            let hint = if known.is_empty() {
                "define it with [[check]] in a rule file (no check is defined)".to_string()
            } else {
                format!("the checks are: {}", known.join(", "))
            };
            errors.push(err(s.check_at, format!("slo {}: no health check named {c:?}", s.name), hint));
            return false;
        }
        true
    });
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::alerts::rules;

    const CHECK: &str = "[[check]]\nname = \"api\"\ntcp = \"127.0.0.1:1\"\n";

    #[test]
    fn slos_parse_with_defaults() {
        let src = format!(
            "{CHECK}[[slo]]\nname = \"api_avail\"\nobjective = 99.9\ncheck = \"api\"\n\n[[slo]]\nname = \"http\"\nobjective = 99\nwindow = \"4w\"\nerrors = \"http.err\"\ntotal = \"http.all\"\nlabels = {{ team = \"web\" }}\n"
        );
        let mut set = rules::parse("a.toml", &src).unwrap();
        assert!(validate(&mut set).is_empty());
        let [a, h] = &set.slos[..] else { panic!("{:?}", set.slos) };
        assert_eq!((a.objective, a.window_min, &a.sli), (99.9, 30 * 1440, &Sli::Check("api".into())));
        assert_eq!(a.detail(), "99.9 % over 30d of check api");
        assert_eq!(a.summary, "api_avail: error budget burning {{value}}");
        assert!((a.allowed() - 0.001).abs() < 1e-12);
        assert_eq!(
            (h.objective, h.window_min, h.detail().as_str()),
            (99.0, 28 * 1440, "99 % over 28d of http.err / http.all")
        );
        assert_eq!(h.labels["team"], "web");
    }

    #[test]
    fn slo_errors_are_located() {
        let e = rules::parse("a.toml", "[[slo]]\nname = \"x\"\nobjective = 100\ncheck = \"api\"\n").unwrap_err();
        assert_eq!((e.line, e.col), (3, 13), "{e}");
        assert!(e.message.contains("below 100"), "{e}");
        let e = rules::parse("a.toml", "[[slo]]\nname = \"x\"\nobjective = 99\nwindow = \"91d\"\ncheck = \"a\"\n")
            .unwrap_err();
        assert_eq!((e.line, e.col), (4, 10), "{e}");
        let e =
            rules::parse("a.toml", "[[slo]]\nname = \"x\"\nobjective = 99\nwindow = \"30 parsecs\"\ncheck = \"a\"\n")
                .unwrap_err();
        assert!(e.message.contains("unit"), "{e}");
        let e = rules::parse("a.toml", "[[slo]]\nname = \"x\"\nobjective = 99\nerrors = \"e\"\n").unwrap_err();
        assert!(e.message.contains("either check, or both errors and total"), "{e}");
        let e = rules::parse("a.toml", "[[slo]]\nname = \"x\"\nobjective = 99\ncheck = \"a\"\nburn = 1\n").unwrap_err();
        assert_eq!(e.line, 5, "{e}");
    }

    #[test]
    fn an_slo_over_a_missing_check_or_named_like_a_check_is_refused_where_it_is_written() {
        let src = format!(
            "{CHECK}[[slo]]\nname = \"a\"\nobjective = 99\ncheck = \"apx\"\n[[slo]]\nname = \"api\"\nobjective = 99\ncheck = \"api\"\n"
        );
        let mut set = rules::parse("a.toml", &src).unwrap();
        let errors = validate(&mut set);
        let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(shown[0].starts_with("a.toml:7:9: slo a: no health check named \"apx\""), "{}", shown[0]);
        assert!(shown[0].contains("the checks are: api"), "{}", shown[0]);
        assert!(shown[1].starts_with("a.toml:9:8: slo api: a rule or check has this name"), "{}", shown[1]);
        assert!(set.slos.is_empty(), "neither is used");
    }

    #[test]
    fn loading_validates_across_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), CHECK).unwrap();
        std::fs::write(dir.path().join("b.toml"), "[[slo]]\nname = \"s\"\nobjective = 99.5\ncheck = \"api\"\n")
            .unwrap();
        let (set, errors) = rules::load(Some(dir.path()));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(set.slos.len(), 1);
        std::fs::write(dir.path().join("b.toml"), "[[slo]]\nname = \"s\"\nobjective = 99.5\ncheck = \"web\"\n")
            .unwrap();
        let (set, errors) = rules::load(Some(dir.path()));
        assert_eq!(errors.len(), 1);
        assert!(errors[0].to_string().contains("b.toml:4:9: slo s: no health check named \"web\""), "{}", errors[0]);
        assert!(set.slos.is_empty());
    }
}
