//! Metrics: the host collector, tiered persistence and history loading.

pub mod collector;
pub mod process;

use std::collections::HashMap;

use crate::engine::store::{Store, StoreError};
use crate::protocol::{SeriesSnapshot, Ts};
use crate::series::{STEP_BACK_MS, TierSpec, tier_snapshot_from_rows};

/// Running sums of one open bucket: its start (ms) and per-series (sum, count).
type OpenBucket = (Option<i64>, HashMap<String, (f64, u32)>);

/// Writes samples to the store: every sample into tier 0, and the mean of each
/// closed bucket into the coarser tiers. Rows are keyed by the start of their
/// slot in milliseconds, so history stays valid when the refresh interval changes.
pub struct Recorder {
    tiers: Vec<TierSpec>,
    /// Per coarser tier: the open bucket.
    open: Vec<OpenBucket>,
    /// The newest sample recorded.
    newest: Option<Ts>,
}

impl Recorder {
    pub fn new(tiers: &[TierSpec]) -> Self {
        Recorder {
            tiers: tiers.to_vec(),
            open: vec![(None, HashMap::new()); tiers.len().saturating_sub(1)],
            newest: None,
        }
    }

    /// Store one sample. When the wall clock stepped back (a sample older than
    /// the newest by more than [`STEP_BACK_MS`]), the rows stamped after it are
    /// deleted and the open buckets dropped, with one warning, and recording
    /// goes on; returns whether that happened.
    pub fn record(&mut self, store: &Store, ts: Ts, values: &[(String, f32)]) -> Result<bool, StoreError> {
        let Some(base) = self.tiers.first() else { return Ok(false) };
        let stepped_back = self.newest.is_some_and(|n| ts < n - base.step_ms.max(STEP_BACK_MS));
        if stepped_back {
            let mut removed = 0;
            for (i, spec) in self.tiers.iter().enumerate() {
                removed += store.delete_metrics_after(i as u8, slot_start(ts, spec.step_ms) - 1)?;
            }
            self.open.iter_mut().for_each(|(slot, sums)| (*slot, *sums) = (None, HashMap::new()));
            tracing::warn!(
                "the wall clock stepped back {} s: dropped {removed} stored metric rows stamped after now; recording goes on",
                self.newest.unwrap_or(ts).saturating_sub(ts) / 1000
            );
        }
        self.newest = Some(if stepped_back { ts } else { self.newest.map_or(ts, |n| n.max(ts)) });
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
        Ok(stepped_back)
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

/// Everything stored within each tier's retention, as of `now`. Rows stamped
/// after `now` (written before the clock stepped back) are deleted, with one
/// warning: they would hide new samples and size a snapshot from a bogus span.
pub fn load_history(store: &Store, tiers: &[TierSpec], now: Ts) -> Result<SeriesSnapshot, StoreError> {
    let mut snap = SeriesSnapshot::default();
    let mut future = 0;
    for (i, spec) in tiers.iter().enumerate() {
        future += store.delete_metrics_after(i as u8, slot_start(now, spec.step_ms))?;
    }
    if future > 0 {
        tracing::warn!("deleted {future} stored metric rows stamped after now: the wall clock stepped back");
    }
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

    /// A restart after the clock stepped back does not load the rows stamped
    /// after now (they are deleted), and new samples show after the history.
    #[test]
    fn rows_stamped_after_now_are_dropped_at_start() {
        let store = Store::temporary().unwrap();
        let mut rec = Recorder::new(&tiers());
        let t0 = 10_000_000i64;
        for i in 0..30i64 {
            rec.record(&store, t0 + i * 1000, &[("cpu".into(), 1.0)]).unwrap();
        }
        rec.flush_open(&store).unwrap();
        // Restart with the clock 2 h behind those rows, 20 s after older history.
        let before = t0 - 2 * 3_600_000;
        for i in 0..20i64 {
            store.write_metrics_row(0, before - 20_000 + i * 1000, &[("cpu".into(), 5.0)]).unwrap();
        }
        let now = before + 500;
        let snap = load_history(&store, &tiers(), now).unwrap();
        let mut s = TieredSeries::new(&tiers());
        s.load_snapshot(&snap);
        let c = s.col("cpu").unwrap();
        assert_eq!(s.tiers[0].newest_slot(), Some((before - 1000) / 1000), "no future slot loaded");
        assert_eq!(s.tiers[0].get((before - 1000) / 1000, c), 5.0);
        assert!(store.read_metrics_rows(0, now).unwrap().is_empty(), "future rows deleted");
        assert!(store.read_metrics_rows(1, now).unwrap().is_empty());
        assert!(!s.push(now, &[("cpu".into(), 6.0)]));
        assert_eq!(s.latest("cpu"), 6.0);
    }

    /// While running: a step back deletes the stored rows stamped after the
    /// new time and keeps recording; a forward jump writes one row.
    #[test]
    fn recorder_keeps_recording_after_the_clock_steps_back() {
        let store = Store::temporary().unwrap();
        let mut rec = Recorder::new(&tiers());
        let t0 = 10_000_000i64;
        for i in 0..30i64 {
            assert!(!rec.record(&store, t0 + i * 1000, &[("cpu".into(), 1.0)]).unwrap());
        }
        let back = t0 - 2 * 3_600_000;
        assert!(rec.record(&store, back, &[("cpu".into(), 2.0)]).unwrap());
        assert!(!rec.record(&store, back + 1000, &[("cpu".into(), 3.0)]).unwrap());
        let rows = store.read_metrics_rows(0, i64::MIN).unwrap();
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), vec![back, back + 1000]);
        assert!(store.read_metrics_rows(1, back + 1).unwrap().is_empty(), "no future coarse rows");
        assert!(!rec.record(&store, back + 10 * 365 * 86_400_000, &[("cpu".into(), 4.0)]).unwrap());
        assert_eq!(store.read_metrics_rows(0, i64::MIN).unwrap().len(), 3);
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
