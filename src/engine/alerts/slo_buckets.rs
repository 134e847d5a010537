//! An SLO's events in minute buckets: (bad, total) per minute of the Unix
//! time, for the SLO's window, and what the SRE workbook computes from them —
//! error ratios over a window, burn rates, the error budget left and its
//! burndown. Pure: the time comes in as an argument.
//!
//! Windows are made of **complete** minutes: at a time in minute `c` a
//! window of `n` minutes is the buckets `c − n ..= c − 1` (the minute under
//! way is not in it yet). So every figure changes at most once a minute, and
//! a decision on a window comes within a minute of the minute it concerns.

use std::collections::{BTreeSet, VecDeque};

use crate::protocol::Ts;

pub use crate::engine::store::slo::Bucket;

/// The minute a time falls in.
pub fn minute_of(ts: Ts) -> i64 {
    ts.div_euclid(60_000)
}

/// Sums over a window: (bad, total).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sums {
    pub bad: f64,
    pub total: f64,
}

impl Sums {
    /// Bad / total; `None` without events (no data is not a burn) or when
    /// the sums are not finite.
    pub fn ratio(self) -> Option<f64> {
        let r = self.bad / self.total;
        (self.total > 0.0 && r.is_finite()).then(|| r.clamp(0.0, 1.0))
    }
}

/// The buckets of one SLO, oldest first, at most one per minute and at most
/// `window_min + 2` of them.
#[derive(Debug, Clone, Default)]
pub struct Buckets {
    q: VecDeque<Bucket>,
    window_min: i64,
    /// Minutes changed since the last [`Buckets::take_dirty`].
    dirty: BTreeSet<i64>,
    /// Buckets from this minute on were dropped (the clock stepped back):
    /// the stored ones must go too.
    dropped_from: Option<i64>,
    /// Bumped when a bucket before the newest complete minute changes (late
    /// data, a step back): cached figures are stale.
    pub generation: u64,
}

impl Buckets {
    pub fn new(window_min: i64) -> Buckets {
        Buckets { window_min: window_min.max(1), ..Default::default() }
    }

    /// Buckets restored from the store (any order; bad ones skipped).
    pub fn restored(window_min: i64, mut v: Vec<Bucket>) -> Buckets {
        let mut b = Buckets::new(window_min);
        v.sort_by_key(|x| x.minute);
        for x in v {
            b.add(x.minute, x.bad, x.total);
        }
        b.dirty.clear();
        b
    }

    pub fn set_window(&mut self, window_min: i64) {
        self.window_min = window_min.max(1);
    }

    pub fn len(&self) -> usize {
        self.q.len()
    }

    pub fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Bucket> {
        self.q.iter()
    }

    /// Add events to a minute. Non-finite or negative numbers are ignored;
    /// `bad` is at most `total`.
    pub fn add(&mut self, minute: i64, bad: f64, total: f64) {
        if !(bad.is_finite() && total.is_finite() && bad >= 0.0 && total > 0.0) {
            return;
        }
        let bad = bad.min(total);
        let newest = self.q.back().map(|b| b.minute);
        match newest {
            Some(m) if m == minute => {
                if let Some(b) = self.q.back_mut() {
                    b.bad += bad;
                    b.total += total;
                }
            }
            Some(m) if minute < m => {
                // Late events for an earlier minute (kept if in the window).
                if minute < m - self.window_min {
                    return;
                }
                match self.q.binary_search_by_key(&minute, |b| b.minute) {
                    Ok(i) => {
                        self.q[i].bad += bad;
                        self.q[i].total += total;
                    }
                    Err(i) => self.q.insert(i, Bucket { minute, bad, total }),
                }
                self.generation += 1;
            }
            _ => self.q.push_back(Bucket { minute, bad, total }),
        }
        self.dirty.insert(minute);
        while self.q.len() as i64 > self.window_min + 2 {
            self.q.pop_front();
        }
    }

    /// At `now`: forget buckets older than the window, and — when the clock
    /// stepped back — the buckets stamped after now (they are from the wrong
    /// time; recording goes on from the new time).
    pub fn settle(&mut self, now: Ts) {
        let c = minute_of(now);
        if self.q.back().is_some_and(|b| b.minute > c) {
            while self.q.back().is_some_and(|b| b.minute > c) {
                self.q.pop_back();
            }
            self.dirty.retain(|m| *m <= c);
            self.dropped_from = Some(self.dropped_from.map_or(c + 1, |d| d.min(c + 1)));
            self.generation += 1;
        }
        while self.q.front().is_some_and(|b| b.minute < c - self.window_min) {
            self.q.pop_front();
        }
    }

    /// Sums over the `n` complete minutes before `now`'s minute.
    pub fn sums(&self, now: Ts, n: i64) -> Sums {
        let c = minute_of(now);
        let mut s = Sums::default();
        for b in self.q.iter().rev().skip_while(|b| b.minute >= c).take_while(|b| b.minute >= c - n) {
            s.bad += b.bad;
            s.total += b.total;
        }
        s
    }

    /// How many of the `n` complete minutes before `now`'s minute had events.
    pub fn minutes_with_events(&self, now: Ts, n: i64) -> i64 {
        let c = minute_of(now);
        self.q
            .iter()
            .rev()
            .skip_while(|b| b.minute >= c)
            .take_while(|b| b.minute >= c - n)
            .filter(|b| b.total > 0.0)
            .count() as i64
    }

    /// The complete buckets changed since the last call (to write), and the
    /// minute from which stored buckets must be dropped, if any.
    pub fn take_dirty(&mut self, now: Ts) -> (Vec<Bucket>, Option<i64>) {
        let c = minute_of(now);
        let ready: Vec<i64> = self.dirty.range(..c).copied().collect();
        let mut out = Vec::with_capacity(ready.len());
        for m in ready {
            self.dirty.remove(&m);
            if let Ok(i) = self.q.binary_search_by_key(&m, |b| b.minute) {
                out.push(self.q[i]);
            }
        }
        (out, self.dropped_from.take())
    }
}

/// Burn rate: how many times faster than allowed the budget is spent
/// (error ratio / (1 − objective)); 1 spends exactly the budget over the window.
pub fn burn_rate(s: Sums, allowed: f64) -> Option<f64> {
    let b = s.ratio()? / allowed;
    b.is_finite().then_some(b)
}

/// The error budget left over the window: 1 − bad / (allowed × total). 1 is
/// untouched, 0 spent, below 0 overspent. `None` without events.
pub fn budget_left(s: Sums, allowed: f64) -> Option<f64> {
    let r = s.ratio()?;
    let b = 1.0 - r / allowed;
    b.is_finite().then_some(b)
}

/// The budget's burndown over the window ending at `now`'s minute: one point
/// per `step_min` minutes (the last one is now), each the budget left had the
/// window's events stopped there: 1 − bad up to the point / (allowed × the
/// window's total). Points before the first event are NaN. Empty without
/// events.
pub fn burndown(b: &Buckets, now: Ts, window_min: i64, allowed: f64, step_min: i64) -> Vec<f32> {
    let c = minute_of(now);
    let start = c - window_min;
    let step = step_min.max(1);
    let total = b.sums(now, window_min);
    let denom = allowed * total.total;
    if total.total <= 0.0 || !denom.is_finite() || denom <= 0.0 {
        return Vec::new();
    }
    let points = (window_min / step).max(1);
    let mut out = Vec::with_capacity(points as usize);
    let mut it = b.iter().filter(|x| x.minute >= start && x.minute < c).peekable();
    let first = it.peek().map(|x| x.minute);
    let mut bad = 0.0;
    for k in 1..=points {
        let end = c - (points - k) * step;
        while let Some(x) = it.next_if(|x| x.minute < end) {
            bad += x.bad;
        }
        let v = if first.is_none_or(|f| f >= end) { f32::NAN } else { (1.0 - bad / denom) as f32 };
        out.push(if v.is_finite() { v } else { f32::NAN });
    }
    out
}

/// The burndown's step for a window: whole hours, at most 720 points.
pub fn burndown_step(window_min: i64) -> i64 {
    let per = (window_min.max(1) + 719) / 720;
    ((per + 59) / 60).max(1) * 60
}
