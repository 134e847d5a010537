//! Metrics: the host collector, tiered persistence and history loading.

pub mod collector;

use std::collections::HashMap;

use crate::engine::store::{Store, StoreError};
use crate::protocol::{SeriesSnapshot, Ts};
use crate::series::{TierSpec, tier_snapshot_from_rows};

/// Running sums of one open bucket: its start (ms) and per-series (sum, count).
type OpenBucket = (Option<i64>, HashMap<String, (f64, u32)>);

/// Writes samples to the store: every sample into tier 0, and the mean of each
/// closed bucket into the coarser tiers. Rows are keyed by the start of their
/// slot in milliseconds, so history stays valid when the refresh interval changes.
pub struct Recorder {
    tiers: Vec<TierSpec>,
    /// Per coarser tier: the open bucket.
    open: Vec<OpenBucket>,
}

impl Recorder {
    pub fn new(tiers: &[TierSpec]) -> Self {
        Recorder { tiers: tiers.to_vec(), open: vec![(None, HashMap::new()); tiers.len().saturating_sub(1)] }
    }

    pub fn record(&mut self, store: &Store, ts: Ts, values: &[(String, f32)]) -> Result<(), StoreError> {
        let Some(base) = self.tiers.first() else { return Ok(()) };
        store.write_metrics_row(0, slot_start(ts, base.step_ms), values)?;
        for (i, spec) in self.tiers.iter().enumerate().skip(1) {
            let slot = slot_start(ts, spec.step_ms);
            let (open_slot, sums) = &mut self.open[i - 1];
            if let Some(prev) = *open_slot
                && prev != slot
            {
                store.write_metrics_row(i as u8, prev, &means(sums))?;
                sums.clear();
            }
            *open_slot = Some(slot);
            for (name, v) in values {
                if v.is_finite() {
                    let e = sums.entry(name.clone()).or_insert((0.0, 0));
                    e.0 += f64::from(*v);
                    e.1 += 1;
                }
            }
        }
        Ok(())
    }

    /// Write the open buckets (on shutdown), so a restart keeps them.
    pub fn flush_open(&mut self, store: &Store) -> Result<(), StoreError> {
        for (i, (slot, sums)) in self.open.iter_mut().enumerate() {
            if let Some(s) = *slot
                && !sums.is_empty()
            {
                store.write_metrics_row((i + 1) as u8, s, &means(sums))?;
            }
        }
        Ok(())
    }
}

fn slot_start(ts: Ts, step_ms: i64) -> i64 {
    ts.div_euclid(step_ms) * step_ms
}

fn means(sums: &HashMap<String, (f64, u32)>) -> Vec<(String, f32)> {
    let mut v: Vec<(String, f32)> = sums.iter().map(|(k, (s, n))| (k.clone(), (*s / f64::from(*n)) as f32)).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Everything stored within each tier's retention, as of `now`.
pub fn load_history(store: &Store, tiers: &[TierSpec], now: Ts) -> Result<SeriesSnapshot, StoreError> {
    let mut snap = SeriesSnapshot::default();
    for (i, spec) in tiers.iter().enumerate() {
        let from = slot_start(now, spec.step_ms) - spec.retention_ms() + spec.step_ms;
        let mut rows = store.read_metrics_rows(i as u8, from)?;
        if !rows.is_empty() {
            // keys are slot starts in ms: map them to this run's slots
            for r in &mut rows {
                r.0 = r.0.div_euclid(spec.step_ms);
            }
            snap.tiers.push(tier_snapshot_from_rows(spec.step_ms, &rows));
        }
    }
    Ok(snap)
}

/// Delete rows older than each tier's retention.
pub fn prune(store: &Store, tiers: &[TierSpec], now: Ts) -> Result<usize, StoreError> {
    let mut n = 0;
    for (i, spec) in tiers.iter().enumerate() {
        n += store.prune_metrics(i as u8, slot_start(now, spec.step_ms) - spec.retention_ms() + spec.step_ms)?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::TieredSeries;

    fn tiers() -> Vec<TierSpec> {
        vec![TierSpec { step_ms: 1000, len: 60 }, TierSpec { step_ms: 10_000, len: 30 }]
    }

    #[test]
    fn history_survives_reload_and_rolls_up() {
        let store = Store::temporary().unwrap();
        let mut rec = Recorder::new(&tiers());
        for i in 0..25i64 {
            rec.record(&store, i * 1000 + 500, &[("cpu".into(), i as f32)]).unwrap();
        }
        rec.flush_open(&store).unwrap();
        let snap = load_history(&store, &tiers(), 25_000).unwrap();
        let mut s = TieredSeries::new(&tiers());
        s.load_snapshot(&snap);
        let c = s.col("cpu").unwrap();
        assert_eq!(s.tiers[0].get(24, c), 24.0);
        assert_eq!(s.tiers[1].get(0, c), 4.5);
        assert_eq!(s.tiers[1].get(2, c), 22.0, "open bucket flushed: mean of 20..=24");
    }

    #[test]
    fn history_survives_a_change_of_refresh_interval() {
        let store = Store::temporary().unwrap();
        let one_s = vec![TierSpec { step_ms: 1000, len: 60 }];
        let mut rec = Recorder::new(&one_s);
        for i in 0..20i64 {
            rec.record(&store, 100_000 + i * 1000 + 500, &[("cpu".into(), i as f32)]).unwrap();
        }
        // next run samples every 10 s: old rows land in 10 s slots at the right time
        let ten_s = vec![TierSpec { step_ms: 10_000, len: 60 }];
        let snap = load_history(&store, &ten_s, 120_000).unwrap();
        let mut s = TieredSeries::new(&ten_s);
        s.load_snapshot(&snap);
        let c = s.col("cpu").unwrap();
        assert_eq!(s.tiers[0].newest_slot(), Some(11), "slot of t=119.5 s");
        assert_eq!(s.tiers[0].get(11, c), 19.0);
        s.push(130_500, &[("cpu".into(), 5.0)]);
        assert_eq!(s.tiers[0].get(13, c), 5.0, "new samples still land after history");
    }

    #[test]
    fn prune_drops_only_expired_rows() {
        let store = Store::temporary().unwrap();
        let mut rec = Recorder::new(&tiers());
        for i in 0..120i64 {
            rec.record(&store, i * 1000, &[("cpu".into(), 1.0)]).unwrap();
        }
        let removed = prune(&store, &tiers(), 119_000).unwrap();
        assert_eq!(removed, 60);
        assert_eq!(store.read_metrics_rows(0, i64::MIN).unwrap().first().map(|r| r.0), Some(60_000));
    }
}
