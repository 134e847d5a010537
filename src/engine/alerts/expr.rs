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

/// Least share of an `avg()` or `rate()` window the samples must span (one
/// sample step of slack): half the window still gives a representative mean or
/// slope, and a rule can fire half a window after a start or a gap.
pub const WINDOW_COVERAGE: f64 = 0.5;
/// Least share of a `predict()` fit the samples must span. A fit is
/// extrapolated `ahead` (often four times its own length): a short history
/// multiplies its error, so the fit needs most of its window.
pub const FIT_COVERAGE: f64 = 0.8;

/// The samples inside `[since, ..]` (samples are oldest first).
fn window(samples: &[(i64, f64)], since: i64) -> &[(i64, f64)] {
    &samples[samples.partition_point(|s| s.0 < since)..]
}

/// Whether `w` spans at least `share` of `window_ms`, allowing one sample step.
fn covers(w: &[(i64, f64)], window_ms: i64, share: f64, step_ms: i64) -> bool {
    match (w.first(), w.last()) {
        (Some(a), Some(b)) => (b.0 - a.0 + step_ms) as f64 >= share * window_ms as f64,
        _ => false,
    }
}

/// Evaluate `func` over samples `(ts, value)` (oldest first) at `now`; `None`
/// is "no data": no sample, or a window covered less than its minimum
/// ([`WINDOW_COVERAGE`], [`FIT_COVERAGE`]). `step_ms` is the samples' spacing.
pub fn apply(func: &Func, samples: &[(i64, f64)], now: i64, step_ms: i64) -> Option<f64> {
    let ms = |d: &Duration| d.as_millis() as i64;
    match func {
        Func::Last => samples.last().map(|s| s.1),
        Func::Avg(d) => {
            let w = window(samples, now - ms(d));
            covers(w, ms(d), WINDOW_COVERAGE, step_ms).then(|| w.iter().map(|s| s.1).sum::<f64>() / w.len() as f64)
        }
        Func::Rate(d) => {
            let w = window(samples, now - ms(d));
            let (a, b) = (w.first()?, w.last()?);
            (covers(w, ms(d), WINDOW_COVERAGE, step_ms) && b.0 > a.0).then(|| (b.1 - a.1) * 1000.0 / (b.0 - a.0) as f64)
        }
        Func::Predict { ahead, fit } => {
            let w = window(samples, now - ms(fit));
            if !covers(w, ms(fit), FIT_COVERAGE, step_ms) {
                return None;
            }
            linear_at(w, now + ms(ahead))
        }
    }
}

/// One evaluation of a condition on one series: the decision and the value it
/// used, so what is shown is what was decided on.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// Too little data to decide: the alert keeps its state.
    NoData,
    Decided {
        holds: bool,
        value: Option<f64>,
        /// The value in operator terms (`full in 3 h 10 min` for a prediction).
        text: Option<String>,
    },
}

/// Evaluate `cond` on one series' samples at `now`.
pub fn evaluate(cond: &Condition, samples: &[(i64, f64)], now: i64, step_ms: i64) -> Reading {
    match cond {
        Condition::Compare { func, cmp, threshold, series } => match apply(func, samples, now, step_ms) {
            None => Reading::NoData,
            Some(v) => {
                let text = match func {
                    Func::Predict { ahead, fit } => {
                        let w = window(samples, now - fit.as_millis() as i64);
                        linear_at(w, now).map(|at_now| {
                            prediction_text(series, *cmp, *threshold, at_now, v, ahead.as_millis() as i64)
                        })
                    }
                    _ => None,
                };
                Reading::Decided { holds: cmp.holds(v, *threshold), value: Some(v), text }
            }
        },
        Condition::Absent { after, .. } => {
            let newest = samples.last().map(|s| s.0);
            Reading::Decided {
                holds: newest.is_none_or(|t| now - t > after.as_millis() as i64),
                value: None,
                text: None,
            }
        }
    }
}

/// A prediction in operator terms: when the fitted line crosses `threshold`
/// (`full in 3 h 10 min` for a used-percentage at 100), from its value now
/// and `ahead_ms` later.
pub fn prediction_text(series: &str, cmp: Cmp, threshold: f64, at_now: f64, ahead: f64, ahead_ms: i64) -> String {
    let rising = matches!(cmp, Cmp::Gt | Cmp::Ge | Cmp::Eq | Cmp::Ne);
    let what = if rising && series.contains("used_pct") && threshold >= 100.0 {
        "full".to_string()
    } else if rising {
        format!("reaches {}", trim_number(threshold))
    } else {
        format!("falls to {}", trim_number(threshold))
    };
    let gap = threshold - at_now;
    if (rising && gap <= 0.0) || (!rising && gap >= 0.0) {
        return format!("{what} now");
    }
    let per_ms = (ahead - at_now) / ahead_ms.max(1) as f64;
    if per_ms == 0.0 || (gap / per_ms) < 0.0 || !(gap / per_ms).is_finite() {
        return format!("not {what} at this rate ({} in {})", trim_number(ahead), human_duration(ahead_ms));
    }
    format!("{what} in {}", human_duration((gap / per_ms) as i64))
}

fn trim_number(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `3 h 10 min`, `45 min`, `2 d 4 h`, `< 1 min`.
pub fn human_duration(ms: i64) -> String {
    let min = ms.max(0) / 60_000;
    match min {
        0 => "< 1 min".into(),
        1..60 => format!("{min} min"),
        60..1440 if min % 60 == 0 => format!("{} h", min / 60),
        60..1440 => format!("{} h {} min", min / 60, min % 60),
        _ if min % 1440 < 60 => format!("{} d", min / 1440),
        _ => format!("{} d {} h", min / 1440, (min % 1440) / 60),
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
        assert_eq!(apply(&Func::Last, &s, now, 60_000), Some(20.0));
        assert_eq!(apply(&Func::Avg(Duration::from_secs(120)), &s, now, 60_000), Some(18.0));
        assert_eq!(apply(&Func::Rate(Duration::from_secs(600)), &s, now, 60_000), Some(20.0 / 600.0));
        let p =
            apply(&Func::Predict { ahead: Duration::from_secs(600), fit: Duration::from_secs(600) }, &s, now, 60_000);
        assert!((p.unwrap() - 40.0).abs() < 1e-9, "{p:?}");
        assert_eq!(apply(&Func::Avg(Duration::from_secs(1)), &[], now, 60_000), None);
    }

    /// 20 minutes of history on a 1 h fit is no data; 48 minutes (80 %) is enough.
    #[test]
    fn predict_needs_most_of_its_fit_window() {
        let fit = Func::Predict { ahead: Duration::from_secs(4 * 3600), fit: Duration::from_secs(3600) };
        let now = 10 * 3_600_000;
        let history = |minutes: i64| -> Vec<(i64, f64)> {
            (0..=minutes * 6).map(|i| (now - minutes * 60_000 + i * 10_000, 60.0 + i as f64 * 0.1)).collect()
        };
        assert_eq!(apply(&fit, &history(20), now, 10_000), None);
        assert_eq!(apply(&fit, &history(47), now, 10_000), None);
        assert!(apply(&fit, &history(48), now, 10_000).is_some());
        assert!(apply(&fit, &history(90), now, 10_000).is_some());
    }

    /// avg() and rate() need half their window (one sample step of slack).
    #[test]
    fn avg_and_rate_need_half_their_window() {
        let now = 1_000_000;
        let since = |secs: i64| -> Vec<(i64, f64)> {
            (0..=secs / 10).map(|i| (now - secs * 1000 + i * 10_000, 95.0)).collect()
        };
        for f in [Func::Avg(Duration::from_secs(120)), Func::Rate(Duration::from_secs(120))] {
            assert_eq!(apply(&f, &since(40), now, 10_000), None, "{f:?}: 40 s of 120");
            assert!(apply(&f, &since(60), now, 10_000).is_some(), "{f:?}: 60 s of 120");
        }
        // A window shorter than the sample step: one sample is enough for avg.
        assert_eq!(apply(&Func::Avg(Duration::from_secs(5)), &[(now - 1000, 3.0)], now, 10_000), Some(3.0));
        assert_eq!(apply(&Func::Avg(Duration::from_secs(120)), &[(now, 99.0)], now, 10_000), None);
    }

    #[test]
    fn predictions_read_in_operator_terms() {
        // 75 % now, 135 % in 4 h: +15 %/h, full in 1 h 40 min.
        assert_eq!(
            prediction_text("disk.used_pct:/", Cmp::Ge, 100.0, 75.0, 135.0, 4 * 3_600_000),
            "full in 1 h 40 min"
        );
        assert_eq!(prediction_text("disk.used_pct:/", Cmp::Ge, 100.0, 100.5, 120.0, 3_600_000), "full now");
        assert_eq!(prediction_text("mem.used_pct", Cmp::Gt, 90.0, 50.0, 70.0, 3_600_000), "reaches 90 in 2 h");
        assert_eq!(
            prediction_text("disk.used_pct:/", Cmp::Ge, 100.0, 75.0, 70.0, 3_600_000),
            "not full at this rate (70 in 1 h)"
        );
        assert_eq!(prediction_text("free_gb", Cmp::Lt, 5.0, 20.0, 10.0, 3_600_000), "falls to 5 in 1 h 30 min");
        assert_eq!(human_duration(3 * 3_600_000 + 10 * 60_000), "3 h 10 min");
        assert_eq!(human_duration(30_000), "< 1 min");
        assert_eq!(human_duration(50 * 3_600_000), "2 d 2 h");
        let cond = parse("predict(disk.used_pct:/, 4h, 1h) >= 100").unwrap();
        let s: Vec<(i64, f64)> = (0..=60).map(|i| (i * 60_000, 60.0 + i as f64 * 0.25)).collect();
        let Reading::Decided { holds, value, text } = evaluate(&cond, &s, 3_600_000, 10_000) else { panic!() };
        assert!(holds && (value.unwrap() - 135.0).abs() < 0.01);
        assert_eq!(text.as_deref(), Some("full in 1 h 40 min"));
    }
}
