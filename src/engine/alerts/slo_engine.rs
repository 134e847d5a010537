//! SLOs inside the alert core: events fed from health-check probes and
//! series samples into minute buckets, multi-window burn-rate alerts raised
//! through the evaluator, and the status the pane shows. Synchronous, no IO:
//! the buckets to write go out with the core's [`Persist`](super::persist::Persist).
//!
//! Alerts (the SRE workbook's defaults, ch. 5, table 5-8):
//!
//! | alert | long window | short window | burn rate over both | severity |
//! |---|---|---|---|---|
//! | `burn=page` | 1 h | 5 min | > 14.4 (2 % of a 30-day budget in an hour) | critical |
//! | `burn=ticket` | 6 h | 30 min | > 6 (5 % in six hours) | warning |
//!
//! A window without events decides nothing: the alert keeps its state.

use std::collections::BTreeMap;
use std::time::Duration;

use super::core::AlertCore;
use super::eval::Observation;
use super::expr::human_duration;
use super::slo::{Sli, Slo};
use super::slo_buckets::{self as b, Bucket, Buckets, minute_of};
use crate::protocol::Ts;
use crate::protocol::alerts::{RuleStatus, Severity, Transition};
use crate::protocol::slo::SloStatus;

/// The windows a status reports, in minutes: 5 min, 30 min, 1 h, 6 h.
pub const WINDOWS: [i64; 4] = [5, 30, 60, 360];
/// A series sample counts at most this many seconds of events: a longer gap
/// is a gap, not a minute of the last rate.
pub const MAX_SAMPLE_GAP_MS: i64 = 60_000;

/// One burn-rate alert of an SLO.
pub struct BurnAlert {
    pub burn: &'static str,
    pub long_min: i64,
    pub short_min: i64,
    pub factor: f64,
    pub severity: Severity,
}

/// Page and ticket.
pub const ALERTS: [BurnAlert; 2] = [
    BurnAlert { burn: "page", long_min: 60, short_min: 5, factor: 14.4, severity: Severity::Critical },
    BurnAlert { burn: "ticket", long_min: 360, short_min: 30, factor: 6.0, severity: Severity::Warning },
];

pub use crate::engine::store::slo::SloWrite;

/// What one minute's evaluation of an SLO gives.
#[derive(Debug, Clone, Default, PartialEq)]
struct Figures {
    minute: i64,
    generation: u64,
    /// Burn rates over [`WINDOWS`].
    burn: [Option<f64>; 4],
    budget_left: Option<f64>,
    burndown: Vec<f32>,
}

struct One {
    def: Slo,
    buckets: Buckets,
    /// Time of the last series sample counted (ratio SLIs).
    last_sample: Option<Ts>,
    figures: Option<Figures>,
    /// Drop every stored bucket at the next write (the SLI changed).
    reset: bool,
}

/// Every SLO's events and figures.
#[derive(Default)]
pub struct SloState {
    slos: BTreeMap<String, One>,
    /// Restored buckets not yet claimed by an SLO of the set.
    offered: BTreeMap<String, Vec<Bucket>>,
    fresh: bool,
    last_now: Ts,
}

impl SloState {
    /// Buckets read from the store, for SLOs that have none in memory yet.
    pub fn offer(&mut self, restored: BTreeMap<String, Vec<Bucket>>) {
        self.offered = restored;
    }

    /// Whether the SLOs follow `defs` already (no allocation: called per sample).
    fn in_sync(&self, defs: &[Slo]) -> bool {
        self.slos.len() == defs.len() && defs.iter().all(|d| self.slos.get(&d.name).is_some_and(|o| o.def == *d))
    }

    /// Follow the definitions: new SLOs start (with offered buckets), removed
    /// ones are forgotten, an SLI that changed starts over.
    pub fn sync(&mut self, defs: &[Slo]) {
        if self.in_sync(defs) {
            return;
        }
        self.slos.retain(|name, _| defs.iter().any(|d| &d.name == name));
        for d in defs {
            match self.slos.get_mut(&d.name) {
                Some(one) if one.def == *d => {}
                Some(one) => {
                    if one.def.sli != d.sli {
                        one.buckets = Buckets::new(d.window_min);
                        one.last_sample = None;
                        one.reset = true;
                    }
                    one.buckets.set_window(d.window_min);
                    one.def = d.clone();
                    one.figures = None;
                }
                None => {
                    let restored = self.offered.remove(&d.name).unwrap_or_default();
                    let one = One {
                        def: d.clone(),
                        buckets: Buckets::restored(d.window_min, restored),
                        last_sample: None,
                        figures: None,
                        reset: false,
                    };
                    self.slos.insert(d.name.clone(), one);
                }
            }
        }
    }

    /// A health check's probe: one event for every SLO over that check.
    pub fn check_outcome(&mut self, defs: &[Slo], check: &str, ok: bool, now: Ts) {
        self.sync(defs);
        for one in self.slos.values_mut() {
            if matches!(&one.def.sli, Sli::Check(c) if c == check) {
                one.buckets.add(minute_of(now), if ok { 0.0 } else { 1.0 }, 1.0);
            }
        }
    }

    /// Series samples at `ts`: rates × the seconds since the SLO's previous
    /// sample (≤ [`MAX_SAMPLE_GAP_MS`]), split over the minutes they cover.
    /// A sample without both series, or with a value that is not a finite
    /// number ≥ 0, is skipped.
    pub fn ingest(&mut self, defs: &[Slo], ts: Ts, values: &[(String, f32)]) {
        self.sync(defs);
        for one in self.slos.values_mut() {
            let Sli::Ratio { errors, total } = &one.def.sli else { continue };
            let get = |n: &str| {
                values.iter().find(|(k, _)| k == n).map(|(_, v)| f64::from(*v)).filter(|v| v.is_finite() && *v >= 0.0)
            };
            let (Some(e), Some(t)) = (get(errors), get(total)) else { continue };
            let prev = one.last_sample.replace(ts);
            let Some(prev) = prev.filter(|p| *p < ts && ts - *p <= MAX_SAMPLE_GAP_MS) else { continue };
            // Spread (prev, ts] over the minutes it covers.
            let mut from = prev;
            while from < ts {
                let m = minute_of(from);
                let to = ((m + 1) * 60_000).min(ts);
                let secs = (to - from) as f64 / 1000.0;
                one.buckets.add(m, e * secs, t * secs);
                from = to;
            }
        }
    }

    /// Figures for every enabled SLO at `now` (recomputed when the minute
    /// changes or late events arrive), and the alerts' observations.
    fn evaluate(&mut self, now: Ts, enabled: &dyn Fn(&str) -> bool) -> Vec<Obs> {
        self.last_now = now;
        let c = minute_of(now);
        let mut out = Vec::new();
        for one in self.slos.values_mut() {
            one.buckets.settle(now);
            let stale = one.figures.as_ref().is_none_or(|f| f.minute != c || f.generation != one.buckets.generation);
            if stale {
                let allowed = one.def.allowed();
                let w = one.def.window_min;
                one.figures = Some(Figures {
                    minute: c,
                    generation: one.buckets.generation,
                    burn: WINDOWS.map(|n| b::burn_rate(one.buckets.sums(now, n), allowed)),
                    budget_left: b::budget_left(one.buckets.sums(now, w), allowed),
                    burndown: b::burndown(&one.buckets, now, w, allowed, b::burndown_step(w)),
                });
                self.fresh = true;
            }
            if !enabled(&one.def.name) {
                continue;
            }
            let left = one.figures.as_ref().and_then(|f| f.budget_left);
            for a in &ALERTS {
                let burn = |n: i64| b::burn_rate(one.buckets.sums(now, n), one.def.allowed());
                // Too little data: a long window judged on a few minutes (a new SLO, a
                // restart after a gap) decides nothing until it holds events in as many
                // minutes as the short window is long (5 for a page, 30 for a ticket).
                if one.buckets.minutes_with_events(now, a.long_min) < a.short_min {
                    continue;
                }
                let (Some(long), Some(short)) = (burn(a.long_min), burn(a.short_min)) else { continue };
                out.push(Obs {
                    name: one.def.name.clone(),
                    labels: labels(&one.def, a),
                    severity: a.severity,
                    summary: one.def.summary.clone(),
                    series: match &one.def.sli {
                        Sli::Check(_) => None,
                        Sli::Ratio { errors, .. } => Some(errors.clone()),
                    },
                    holds: long > a.factor && short > a.factor,
                    value: long,
                    text: burn_text(long, a.long_min, left, one.def.window_min),
                });
            }
        }
        out
    }

    /// The pane's rows (kind `slo`) for the rules box.
    pub fn rule_rows(&self, defs: &[Slo], enabled: impl Fn(&str) -> bool) -> Vec<RuleStatus> {
        defs.iter()
            .map(|d| RuleStatus {
                name: d.name.clone(),
                kind: "slo".into(),
                detail: d.detail(),
                severity: Severity::Critical,
                enabled: enabled(&d.name),
                latency_ms: Vec::new(),
                last_error: None,
                uptime: None,
            })
            .collect()
    }

    /// The status of every SLO, as last evaluated.
    pub fn statuses(&self) -> Vec<SloStatus> {
        self.slos
            .values()
            .map(|one| {
                let f = one.figures.clone().unwrap_or_default();
                let step = b::burndown_step(one.def.window_min);
                SloStatus {
                    name: one.def.name.clone(),
                    objective: one.def.objective,
                    window_min: one.def.window_min,
                    sli: one.def.sli.text(),
                    budget_left: f.budget_left,
                    burn_5m: f.burn[0],
                    burn_30m: f.burn[1],
                    burn_1h: f.burn[2],
                    burn_6h: f.burn[3],
                    burndown: f.burndown,
                    burndown_step_min: step,
                    at: f.minute * 60_000,
                }
            })
            .collect()
    }

    /// Figures changed since the last [`SloState::take_fresh`].
    pub fn has_fresh(&self) -> bool {
        self.fresh
    }

    pub fn take_fresh(&mut self) -> bool {
        std::mem::take(&mut self.fresh)
    }

    /// Complete buckets to write, per SLO.
    pub fn take_writes(&mut self) -> Vec<SloWrite> {
        let now = self.last_now;
        let mut out = Vec::new();
        for one in self.slos.values_mut() {
            let (buckets, dropped) = one.buckets.take_dirty(now);
            let drop_from = if std::mem::take(&mut one.reset) { Some(i64::MIN) } else { dropped };
            if buckets.is_empty() && drop_from.is_none() {
                continue;
            }
            let keep_from = minute_of(now) - one.def.window_min;
            out.push(SloWrite { name: one.def.name.clone(), buckets, drop_from, keep_from });
        }
        out
    }

    /// The buckets of `name` (tests).
    pub fn buckets(&self, name: &str) -> Option<&Buckets> {
        self.slos.get(name).map(|o| &o.buckets)
    }
}

/// An observation, owned (the evaluator's borrows from it).
struct Obs {
    name: String,
    labels: BTreeMap<String, String>,
    severity: Severity,
    summary: String,
    series: Option<String>,
    holds: bool,
    value: f64,
    text: String,
}

fn labels(d: &Slo, a: &BurnAlert) -> BTreeMap<String, String> {
    let mut l = d.labels.clone();
    l.insert("slo".into(), d.name.clone());
    l.insert("burn".into(), a.burn.into());
    l.insert("window".into(), format!("{}h", a.long_min / 60));
    l
}

/// `15.2× (1h) — 71 % left, exhausted in 1 d 9 h at this rate`.
pub fn burn_text(burn: f64, long_min: i64, left: Option<f64>, window_min: i64) -> String {
    let head = format!("{burn:.1}× ({}h)", long_min / 60);
    match left {
        None => head,
        Some(l) if l <= 0.0 => format!("{head} — budget spent ({:.0} % left)", l * 100.0),
        Some(l) if burn > 0.0 => {
            let ms = (l * window_min as f64 * 60_000.0 / burn).min(1e15) as i64;
            format!("{head} — {:.0} % left, exhausted in {} at this rate", l * 100.0, human_duration(ms))
        }
        Some(l) => format!("{head} — {:.0} % left", l * 100.0),
    }
}

/// Evaluate every SLO of `core` at `now`: the transitions its alerts made.
pub fn evaluate(core: &mut AlertCore, now: Ts) -> Vec<Transition> {
    core.slo.sync(&core.rules.slos);
    let on: Vec<String> = core.rules.slos.iter().filter(|s| core.enabled(&s.name)).map(|s| s.name.clone()).collect();
    let obs = core.slo.evaluate(now, &|n| on.iter().any(|x| x == n));
    let mut out = Vec::new();
    for o in obs {
        let ob = Observation {
            rule: &o.name,
            origin: "slo",
            labels: o.labels,
            severity: o.severity,
            summary: &o.summary,
            series: o.series,
            holds: o.holds,
            value: Some(o.value),
            value_text: Some(o.text),
            for_: Duration::ZERO,
            keep_firing_for: Duration::ZERO,
        };
        out.extend(core.eval.observe(ob, now));
    }
    out
}

/// The stored buckets of `slos` (blocking: a store read), for
/// [`SloState::offer`]. A bucket that cannot be read is skipped and logged.
pub fn restore(store: &crate::engine::store::Store, slos: &[Slo]) -> BTreeMap<String, Vec<Bucket>> {
    let mut out = BTreeMap::new();
    for s in slos {
        match store.slo_buckets(&s.name) {
            Ok(v) => {
                out.insert(s.name.clone(), v);
            }
            Err(e) => tracing::warn!(slo = s.name, "the SLO's stored events cannot be read: {e}"),
        }
    }
    out
}
