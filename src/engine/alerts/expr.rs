//! Alert conditions: a small expression over metric series.
//!
//! ```text
//! cpu.total > 90                      threshold on the newest sample
//! avg(load.1, 5m) >= 4                mean over a window
//! rate(net.rx_bps, 1m) > 1e6          change per second over a window
//! predict(disk.used_pct:*, 4h) >= 100 linear fit of the last hour, 4 h ahead
//! absent(cpu.total, 2m)               no sample for 2 minutes
//! ```
//! A series name may end in `*`: each matching series is its own alert, with
//! the part `*` matched as the label `instance` (`disk.used_pct:/var` → `/var`).

use std::time::Duration;

use crate::config::settings::parse_duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl Cmp {
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
        }
    }
}

/// What is computed from a series before comparing.
#[derive(Debug, Clone, PartialEq)]
pub enum Func {
    /// The newest sample.
    Last,
    Avg(Duration),
    Rate(Duration),
    /// Where a linear fit over `fit` says the series will be `ahead` from now.
    Predict {
        ahead: Duration,
        fit: Duration,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Compare {
        func: Func,
        series: String,
        cmp: Cmp,
        threshold: f64,
    },
    /// No sample newer than this.
    Absent {
        series: String,
        after: Duration,
    },
}

impl Condition {
    pub fn series(&self) -> &str {
        match self {
            Condition::Compare { series, .. } | Condition::Absent { series, .. } => series,
        }
    }

    /// How much history evaluating this needs.
    pub fn lookback(&self) -> Duration {
        match self {
            Condition::Compare { func: Func::Last, .. } => Duration::ZERO,
            Condition::Compare { func: Func::Avg(d) | Func::Rate(d), .. } => *d,
            Condition::Compare { func: Func::Predict { fit, .. }, .. } => *fit,
            Condition::Absent { after, .. } => *after,
        }
    }
}

/// An error with the byte offset in the condition where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub at: usize,
    pub message: String,
}

fn err<T>(at: usize, message: impl Into<String>) -> Result<T, ExprError> {
    Err(ExprError { at, message: message.into() })
}

fn valid_series(s: &str) -> bool {
    !s.is_empty()
        && s.char_indices()
            .all(|(i, c)| c.is_ascii_alphanumeric() || "._:/-".contains(c) || (c == '*' && i == s.len() - 1))
}

/// Parse a condition; errors point at the offending byte.
pub fn parse(src: &str) -> Result<Condition, ExprError> {
    let s = src.trim_end();
    let lead = s.len() - s.trim_start().len();
    let s_trim = s.trim_start();
    // Function call?
    let (func_name, after_func) = match s_trim.find('(') {
        Some(p) if s_trim[..p].chars().all(|c| c.is_ascii_alphabetic()) && p > 0 => (Some(&s_trim[..p]), p + 1),
        _ => (None, 0),
    };
    let (func, series, rest_at) = if let Some(name) = func_name {
        let Some(close) = s_trim.find(')') else { return err(lead + s_trim.len(), "missing `)`") };
        let inner = &s_trim[after_func..close];
        let args: Vec<&str> = inner.split(',').map(str::trim).collect();
        let at_arg = |i: usize| lead + after_func + inner.find(args[i]).unwrap_or(0);
        let dur = |i: usize| -> Result<Duration, ExprError> {
            match args.get(i) {
                Some(a) => parse_duration(a).map_err(|m| ExprError { at: at_arg(i), message: m }),
                None => err(lead + close, format!("{name}() needs a duration as argument {}", i + 1)),
            }
        };
        let func = match name {
            "avg" => Func::Avg(dur(1)?),
            "rate" => Func::Rate(dur(1)?),
            "predict" => {
                Func::Predict { ahead: dur(1)?, fit: if args.len() > 2 { dur(2)? } else { Duration::from_secs(3600) } }
            }
            "absent" => {
                if !valid_series(args[0]) {
                    return err(at_arg(0), format!("{:?} is not a series name", args[0]));
                }
                if !s_trim[close + 1..].trim().is_empty() {
                    return err(lead + close + 1, "absent(…) takes no comparison");
                }
                return Ok(Condition::Absent { series: args[0].to_string(), after: dur(1)? });
            }
            other => return err(lead, format!("unknown function `{other}`: use avg, rate, predict or absent")),
        };
        if !valid_series(args[0]) {
            return err(at_arg(0), format!("{:?} is not a series name", args[0]));
        }
        (func, args[0].to_string(), lead + close + 1)
    } else {
        let end = s_trim.find(|c: char| c.is_whitespace() || "<>=!".contains(c)).unwrap_or(s_trim.len());
        let name = &s_trim[..end];
        if !valid_series(name) {
            return err(lead, format!("{name:?} is not a series name (e.g. cpu.total, mem.used_pct)"));
        }
        (Func::Last, name.to_string(), lead + end)
    };
    let rest = &src[rest_at.min(src.len())..];
    let op_at = rest_at + (rest.len() - rest.trim_start().len());
    let rest = rest.trim_start();
    let (cmp, len) =
        [(">=", Cmp::Ge), ("<=", Cmp::Le), ("==", Cmp::Eq), ("!=", Cmp::Ne), (">", Cmp::Gt), ("<", Cmp::Lt)]
            .into_iter()
            .find(|(sym, _)| rest.starts_with(sym))
            .map(|(sym, c)| (c, sym.len()))
            .map_or_else(|| err(op_at, "expected a comparison: > >= < <= == !="), Ok)?;
    let num = rest[len..].trim();
    let num_at = op_at + len + (rest[len..].len() - rest[len..].trim_start().len());
    let threshold: f64 = match num.parse::<f64>() {
        Ok(n) if n.is_finite() => n,
        _ => return err(num_at, format!("expected a number after {}, found {num:?}", cmp.symbol())),
    };
    Ok(Condition::Compare { func, series, cmp, threshold })
}

/// Least-squares line through `pts` (x in ms); the value at `x`.
pub fn linear_at(pts: &[(i64, f64)], x: i64) -> Option<f64> {
    if pts.len() < 2 {
        return None;
    }
    let x0 = pts[0].0;
    let n = pts.len() as f64;
    let (sx, sy) = pts.iter().fold((0.0, 0.0), |(a, b), (t, v)| (a + (t - x0) as f64, b + v));
    let (mx, my) = (sx / n, sy / n);
    let (mut num, mut den) = (0.0, 0.0);
    for (t, v) in pts {
        let dx = (t - x0) as f64 - mx;
        num += dx * (v - my);
        den += dx * dx;
    }
    if den == 0.0 {
        return None;
    }
    let slope = num / den;
    Some(my + slope * ((x - x0) as f64 - mx))
}

/// Evaluate `func` over samples `(ts, value)` (oldest first) at `now`.
pub fn apply(func: &Func, samples: &[(i64, f64)], now: i64) -> Option<f64> {
    let since = |d: &Duration| now - d.as_millis() as i64;
    match func {
        Func::Last => samples.last().map(|s| s.1),
        Func::Avg(d) => {
            let w: Vec<f64> = samples.iter().filter(|s| s.0 >= since(d)).map(|s| s.1).collect();
            (!w.is_empty()).then(|| w.iter().sum::<f64>() / w.len() as f64)
        }
        Func::Rate(d) => {
            let w: Vec<&(i64, f64)> = samples.iter().filter(|s| s.0 >= since(d)).collect();
            let (a, b) = (w.first()?, w.last()?);
            (b.0 > a.0).then(|| (b.1 - a.1) * 1000.0 / (b.0 - a.0) as f64)
        }
        Func::Predict { ahead, fit } => {
            let w: Vec<(i64, f64)> = samples.iter().filter(|s| s.0 >= since(fit)).copied().collect();
            linear_at(&w, now + ahead.as_millis() as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_thresholds_functions_and_absence() {
        assert_eq!(
            parse("cpu.total > 90").unwrap(),
            Condition::Compare { func: Func::Last, series: "cpu.total".into(), cmp: Cmp::Gt, threshold: 90.0 }
        );
        assert_eq!(
            parse(" predict(disk.used_pct:*, 4h) >= 100").unwrap(),
            Condition::Compare {
                func: Func::Predict { ahead: Duration::from_secs(4 * 3600), fit: Duration::from_secs(3600) },
                series: "disk.used_pct:*".into(),
                cmp: Cmp::Ge,
                threshold: 100.0
            }
        );
        assert!(matches!(parse("avg(load.1, 5m)<=4").unwrap(), Condition::Compare { cmp: Cmp::Le, .. }));
        assert_eq!(
            parse("absent(cpu.total, 2m)").unwrap(),
            Condition::Absent { series: "cpu.total".into(), after: Duration::from_secs(120) }
        );
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = parse("cpu.total >").unwrap_err();
        assert_eq!(e.at, 11, "{e:?}");
        let e = parse("cpu.total ~ 3").unwrap_err();
        assert_eq!((e.at, e.message.contains("comparison")), (10, true));
        let e = parse("median(cpu.total, 1m) > 1").unwrap_err();
        assert!(e.message.contains("unknown function"), "{e:?}");
        let e = parse("avg(cpu.total, 5x) > 1").unwrap_err();
        assert_eq!(e.at, 15, "{e:?}");
        assert!(parse("c*pu > 1").is_err(), "`*` only at the end");
    }

    #[test]
    fn functions_over_samples() {
        let s: Vec<(i64, f64)> = (0..=10).map(|i| (i * 60_000, i as f64 * 2.0)).collect();
        let now = 600_000;
        assert_eq!(apply(&Func::Last, &s, now), Some(20.0));
        assert_eq!(apply(&Func::Avg(Duration::from_secs(120)), &s, now), Some(18.0));
        assert_eq!(apply(&Func::Rate(Duration::from_secs(600)), &s, now), Some(20.0 / 600.0));
        let p = apply(&Func::Predict { ahead: Duration::from_secs(600), fit: Duration::from_secs(600) }, &s, now);
        assert!((p.unwrap() - 40.0).abs() < 1e-9, "{p:?}");
        assert_eq!(apply(&Func::Avg(Duration::from_secs(1)), &[], now), None);
    }
}
