//! Time series as struct-of-arrays in fixed-step tiers.
//!
//! A tier is a ring of `len` slots of `step_ms` each; slot `s` covers
//! `[s*step, (s+1)*step)`. Every series of a source is one `f32` column in the
//! same ring, so timestamps are implicit and a missed sample is simply a slot
//! left as `NaN` (a gap). Finer tiers roll up into coarser ones by averaging.
//! Pure data: no IO, no clock.

use std::collections::HashMap;

use crate::protocol::{SeriesSnapshot, TierSnapshot, Ts};

/// Slots beyond this (either way) are beyond any real time: ignored, so no
/// slot arithmetic can overflow.
const MAX_SLOT: i64 = i64::MAX / 4;
/// A sample older than the newest by more than this (or one step, if longer)
/// means the wall clock stepped back (NTP fix, VM restore).
pub const STEP_BACK_MS: i64 = 30_000;

/// Shape of one tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierSpec {
    pub step_ms: i64,
    pub len: usize,
}

impl TierSpec {
    pub fn retention_ms(&self) -> i64 {
        self.step_ms * self.len as i64
    }
}

/// Default tiers: the source's own step for one hour, 10 s (or the step, if
/// coarser) for 24 h, 5 min for 30 days.
pub fn default_tiers(refresh_ms: i64) -> [TierSpec; 3] {
    let step = refresh_ms.clamp(100, 300_000);
    let mid = step.max(10_000);
    [
        TierSpec { step_ms: step, len: (3_600_000 / step).max(12) as usize },
        TierSpec { step_ms: mid, len: (86_400_000 / mid) as usize },
        TierSpec { step_ms: 300_000, len: 8_640 },
    ]
}

/// One tier's ring of columns.
#[derive(Debug, Clone)]
pub struct Tier {
    pub spec: TierSpec,
    /// One past the newest slot written; `None` until the first write.
    head: Option<i64>,
    columns: Vec<Vec<f32>>,
    acc: Vec<(f64, u32)>,
    acc_slot: Option<i64>,
}

impl Tier {
    pub fn new(spec: TierSpec) -> Self {
        Tier { spec, head: None, columns: Vec::new(), acc: Vec::new(), acc_slot: None }
    }

    pub fn slot_of(&self, ts: Ts) -> i64 {
        ts.div_euclid(self.spec.step_ms)
    }

    /// Newest slot written, if any.
    pub fn newest_slot(&self) -> Option<i64> {
        self.head.map(|h| h - 1)
    }

    fn idx(&self, slot: i64) -> usize {
        slot.rem_euclid(self.spec.len as i64) as usize
    }

    fn ensure_cols(&mut self, n: usize) {
        while self.columns.len() < n {
            self.columns.push(vec![f32::NAN; self.spec.len]);
        }
    }

    /// Move the head so `slot` is writable, clearing skipped slots to gaps.
    fn advance_to(&mut self, slot: i64) -> bool {
        let len = self.spec.len as i64;
        match self.head {
            None => self.head = Some(slot + 1),
            Some(h) if slot >= h => {
                let from = h.max(slot + 1 - len);
                for s in from..=slot {
                    let i = self.idx(s);
                    for c in &mut self.columns {
                        c[i] = f32::NAN;
                    }
                }
                self.head = Some(slot + 1);
            }
            Some(h) if slot < h - len => return false, // older than retention
            Some(_) => {}
        }
        true
    }

    /// Take back every slot from `slot` on (the clock stepped back before
    /// them): they read as a gap and `slot` is writable as the newest.
    pub fn rewind_to(&mut self, slot: i64) {
        let Some(h) = self.head else { return };
        if slot >= h {
            return;
        }
        for s in slot.max(h - self.spec.len as i64)..h {
            let i = self.idx(s);
            for c in &mut self.columns {
                c[i] = f32::NAN;
            }
        }
        self.head = Some(slot);
        self.acc_slot = None;
    }

    /// Write `value` of column `col` at `slot` (overwrites). A slot beyond
    /// any real time (from a remote snapshot) is ignored.
    pub fn set(&mut self, slot: i64, col: usize, value: f32) {
        if !(-MAX_SLOT..MAX_SLOT).contains(&slot) {
            return;
        }
        self.ensure_cols(col + 1);
        if self.advance_to(slot) {
            let i = self.idx(slot);
            self.columns[col][i] = value;
        }
    }

    /// Value at `slot` of `col`; NaN for gaps, unknown columns, or slots out of the ring.
    pub fn get(&self, slot: i64, col: usize) -> f32 {
        let Some(h) = self.head else { return f32::NAN };
        if slot >= h || slot < h - self.spec.len as i64 {
            return f32::NAN;
        }
        self.columns.get(col).map_or(f32::NAN, |c| c[self.idx(slot)])
    }

    /// Fold a finer sample into this tier's current bucket (running mean).
    fn accumulate(&mut self, ts: Ts, values: &[(usize, f32)]) {
        let slot = self.slot_of(ts);
        if self.acc_slot != Some(slot) {
            self.acc_slot = Some(slot);
            self.acc.iter_mut().for_each(|a| *a = (0.0, 0));
        }
        for &(col, v) in values {
            if !v.is_finite() {
                continue;
            }
            if self.acc.len() <= col {
                self.acc.resize(col + 1, (0.0, 0));
            }
            let a = &mut self.acc[col];
            a.0 += f64::from(v);
            a.1 += 1;
            let mean = (a.0 / f64::from(a.1)) as f32;
            self.set(slot, col, mean);
        }
    }

    /// Mean of `col` over `n` equal buckets covering slots `[from, to)`; NaN
    /// for buckets with no sample. Used to fit a window into a chart's width.
    pub fn resample(&self, col: usize, from: i64, to: i64, n: usize) -> Vec<f32> {
        let mut out = vec![f32::NAN; n];
        if n == 0 || to <= from {
            return out;
        }
        let span = (to - from) as f64;
        for (b, o) in out.iter_mut().enumerate() {
            let s0 = from + (span * b as f64 / n as f64).floor() as i64;
            let s1 = (from + (span * (b + 1) as f64 / n as f64).floor() as i64).max(s0 + 1);
            let (mut sum, mut cnt) = (0.0f64, 0u32);
            for s in s0..s1 {
                let v = self.get(s, col);
                if v.is_finite() {
                    sum += f64::from(v);
                    cnt += 1;
                }
            }
            if cnt > 0 {
                *o = (sum / f64::from(cnt)) as f32;
            }
        }
        out
    }
}

/// All series of one source, in every tier.
#[derive(Debug, Clone)]
pub struct TieredSeries {
    names: Vec<String>,
    index: HashMap<String, usize>,
    pub tiers: Vec<Tier>,
}

impl TieredSeries {
    pub fn new(specs: &[TierSpec]) -> Self {
        TieredSeries { names: Vec::new(), index: HashMap::new(), tiers: specs.iter().map(|s| Tier::new(*s)).collect() }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn col(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    fn col_or_insert(&mut self, name: &str) -> usize {
        if let Some(&c) = self.index.get(name) {
            return c;
        }
        let c = self.names.len();
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), c);
        c
    }

    /// Record one sample of several series taken at `ts`. A sample older than
    /// the newest by more than [`STEP_BACK_MS`] (or a step) means the wall
    /// clock stepped back: every tier gives up its slots from `ts` on (they
    /// were stamped at the wrong time and read as a gap) and recording goes on
    /// from `ts`. Returns whether that happened. A forward jump only clears
    /// slots up to one ring's length.
    pub fn push(&mut self, ts: Ts, values: &[(String, f32)]) -> bool {
        let stepped_back = self.tiers.first().is_some_and(|base| {
            base.newest_slot().is_some_and(|n| ts < n * base.spec.step_ms - base.spec.step_ms.max(STEP_BACK_MS))
        });
        if stepped_back {
            for t in &mut self.tiers {
                let slot = t.slot_of(ts);
                t.rewind_to(slot);
            }
        }
        let cols: Vec<(usize, f32)> = values.iter().map(|(n, v)| (self.col_or_insert(n), *v)).collect();
        let Some((base, coarser)) = self.tiers.split_first_mut() else { return stepped_back };
        let slot = base.slot_of(ts);
        for &(c, v) in &cols {
            base.set(slot, c, v);
        }
        for t in coarser {
            t.accumulate(ts, &cols);
        }
        stepped_back
    }

    /// Finest tier whose retention covers `window_ms`.
    pub fn tier_for_window(&self, window_ms: i64) -> Option<&Tier> {
        self.tiers.iter().find(|t| t.spec.retention_ms() >= window_ms).or(self.tiers.last())
    }

    /// Replace stored history with a snapshot (e.g. loaded from disk at start-up).
    /// Tiers are matched by step; columns by name.
    pub fn load_snapshot(&mut self, snap: &SeriesSnapshot) {
        for ts in &snap.tiers {
            let Some(ti) = self.tiers.iter().position(|t| t.spec.step_ms == ts.step_ms) else { continue };
            for (name, vals) in &ts.columns {
                let c = self.col_or_insert(name);
                for (i, v) in vals.iter().enumerate() {
                    if let (true, Some(slot)) = (v.is_finite(), ts.start_slot.checked_add(i as i64)) {
                        self.tiers[ti].set(slot, c, *v);
                    }
                }
            }
        }
    }

    /// The newest value of a series in the finest tier (NaN if none).
    pub fn latest(&self, name: &str) -> f32 {
        match (self.col(name), self.tiers.first()) {
            (Some(c), Some(t)) => t.newest_slot().map_or(f32::NAN, |s| t.get(s, c)),
            _ => f32::NAN,
        }
    }
}

/// Slots of one snapshot tier built from rows, at most (a tier holds far
/// fewer; a row stamped years away must not size the columns).
pub const MAX_SNAPSHOT_SLOTS: i64 = 1 << 20;

/// Build a snapshot tier from rows `(slot, [(name, value)])` in ascending
/// slot order; rows past [`MAX_SNAPSHOT_SLOTS`] from the first are left out.
pub fn tier_snapshot_from_rows(step_ms: i64, rows: &[(i64, Vec<(String, f32)>)]) -> TierSnapshot {
    let Some(first) = rows.first() else {
        return TierSnapshot { step_ms, start_slot: 0, columns: Vec::new() };
    };
    let start = first.0;
    let last = rows.iter().map(|r| r.0).take_while(|s| s.saturating_sub(start) < MAX_SNAPSHOT_SLOTS).last();
    let n = last.map_or(0, |l| (l - start + 1).max(0) as usize);
    let mut cols: Vec<(String, Vec<f32>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (slot, vals) in rows {
        for (name, v) in vals {
            let c = *index.entry(name.clone()).or_insert_with(|| {
                cols.push((name.clone(), vec![f32::NAN; n]));
                cols.len() - 1
            });
            if let Some(x) = cols[c].1.get_mut((slot - start) as usize) {
                *x = *v;
            }
        }
    }
    TierSnapshot { step_ms, start_slot: start, columns: cols }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(step: i64, len: usize) -> TierSpec {
        TierSpec { step_ms: step, len }
    }

    #[test]
    fn missed_samples_are_gaps() {
        let mut t = Tier::new(spec(1000, 10));
        t.set(100, 0, 1.0);
        t.set(103, 0, 4.0);
        assert_eq!(t.get(100, 0), 1.0);
        assert!(t.get(101, 0).is_nan());
        assert!(t.get(102, 0).is_nan());
        assert_eq!(t.get(103, 0), 4.0);
        assert!(t.get(104, 0).is_nan(), "future slot");
    }

    #[test]
    fn ring_forgets_beyond_retention_and_clears_reused_slots() {
        let mut t = Tier::new(spec(1000, 4));
        for s in 0..4 {
            t.set(s, 0, s as f32);
        }
        t.set(6, 0, 6.0); // slots 4,5 skipped: ring positions reused must read as gaps
        assert!(t.get(4, 0).is_nan());
        assert!(t.get(5, 0).is_nan());
        assert_eq!(t.get(3, 0), 3.0);
        assert!(t.get(2, 0).is_nan(), "evicted");
        // a write older than retention is ignored
        t.set(1, 0, 9.0);
        assert!(t.get(1, 0).is_nan());
        assert_eq!(t.get(6, 0), 6.0);
    }

    #[test]
    fn coarser_tiers_average_finer_samples() {
        let mut s = TieredSeries::new(&[spec(1000, 60), spec(10_000, 10)]);
        for i in 0..20 {
            s.push(i * 1000 + 500, &[("cpu".into(), i as f32)]);
        }
        let c = s.col("cpu").unwrap();
        assert_eq!(s.tiers[1].get(0, c), 4.5); // mean of 0..=9
        assert_eq!(s.tiers[1].get(1, c), 14.5);
        assert_eq!(s.latest("cpu"), 19.0);
    }

    #[test]
    fn resample_means_and_keeps_gaps() {
        let mut t = Tier::new(spec(1000, 100));
        for s in 0..10 {
            if s != 4 && s != 5 {
                t.set(s, 0, s as f32);
            }
        }
        let r = t.resample(0, 0, 10, 5);
        assert_eq!(r[0], 0.5);
        assert!(r[2].is_nan());
        assert_eq!(r[4], 8.5);
    }

    #[test]
    fn snapshot_round_trip() {
        let rows = vec![(10, vec![("a".to_string(), 1.0)]), (12, vec![("a".to_string(), 3.0), ("b".to_string(), 7.0)])];
        let ts = tier_snapshot_from_rows(1000, &rows);
        assert_eq!(ts.start_slot, 10);
        let mut s = TieredSeries::new(&[spec(1000, 60)]);
        s.load_snapshot(&SeriesSnapshot { tiers: vec![ts] });
        let a = s.col("a").unwrap();
        let b = s.col("b").unwrap();
        assert_eq!(s.tiers[0].get(10, a), 1.0);
        assert!(s.tiers[0].get(11, a).is_nan());
        assert_eq!(s.tiers[0].get(12, b), 7.0);
    }

    /// After the clock steps back 2 h, samples keep landing (not dropped as
    /// older than the head); the wrongly stamped slots read as a gap.
    #[test]
    fn a_clock_stepped_back_keeps_recording() {
        let mut s = TieredSeries::new(&default_tiers(1000));
        let t0 = 1_800_000_000_000;
        for i in 0..120 {
            assert!(!s.push(t0 + i * 1000, &[("cpu".into(), 1.0)]));
        }
        let back = t0 + 119_000 - 2 * 3_600_000;
        assert!(s.push(back, &[("cpu".into(), 7.0)]), "a step back is reported");
        assert!(!s.push(back + 1000, &[("cpu".into(), 8.0)]));
        assert_eq!(s.latest("cpu"), 8.0, "the newest slot is the new sample");
        let c = s.col("cpu").unwrap();
        let base = &s.tiers[0];
        assert_eq!(base.newest_slot(), Some(base.slot_of(back + 1000)));
        assert!(base.get(base.slot_of(t0), c).is_nan(), "slots stamped in the future are gone");
        for t in &s.tiers {
            assert!(t.newest_slot().is_some_and(|n| n <= t.slot_of(back + 1000)), "{:?}", t.spec);
        }
        // A small step back (a late sample) is not a clock step: it overwrites its slot.
        assert!(!s.push(back - 2000, &[("cpu".into(), 9.0)]));
        assert_eq!(s.latest("cpu"), 8.0);
    }

    /// A forward jump of years clears at most one ring per tier.
    #[test]
    fn a_clock_jumping_forward_clears_at_most_a_ring() {
        let mut s = TieredSeries::new(&default_tiers(1000));
        s.push(1_000_000, &[("cpu".into(), 1.0)]);
        s.push(1_000_000 + 20 * 365 * 86_400_000, &[("cpu".into(), 2.0)]);
        assert_eq!(s.latest("cpu"), 2.0);
        assert!(s.tiers.iter().all(|t| t.columns.iter().all(|c| c.len() == t.spec.len)));
    }

    #[test]
    fn window_picks_finest_covering_tier() {
        let s = TieredSeries::new(&default_tiers(1000));
        assert_eq!(s.tier_for_window(3_600_000).unwrap().spec.step_ms, 1000);
        assert_eq!(s.tier_for_window(6 * 3_600_000).unwrap().spec.step_ms, 10_000);
    }

    #[test]
    fn snapshots_never_size_buffers_from_extreme_slots() {
        let rows = vec![(10, vec![("cpu".to_string(), 1.0)]), (10 + (1 << 40), vec![("cpu".to_string(), 2.0)])];
        let t = tier_snapshot_from_rows(1000, &rows);
        assert_eq!(t.columns[0].1, [1.0], "a row stamped years away is left out");
        let mut s = TieredSeries::new(&[spec(1000, 10)]);
        let far = TierSnapshot { step_ms: 1000, start_slot: i64::MAX - 1, columns: vec![("x".into(), vec![1.0; 4])] };
        s.load_snapshot(&SeriesSnapshot { tiers: vec![far] });
        assert!(s.latest("x").is_nan(), "ignored, no overflow");
    }
}
