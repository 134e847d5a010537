//! Each health check's up/down history (issue 15): probes counted in minute
//! buckets, the outages they make, and the 24 h / 7 d / 30 d uptime.
//!
//! A probe is **down** when, after it, the check counts as failing (its
//! `retries` consecutive failures reached — the probe that fires the alert
//! and every failed one after it); any other probe is **up**, including a
//! failed one still within `retries` (as Uptime Kuma counts its pending
//! beats). An outage runs from the first down probe to the first up probe
//! after it.
//!
//! The book is synchronous and does no IO: the core records outcomes into
//! it, and hands the buckets and outages that changed to the writer
//! (persist.rs → store/uptime.rs), which keeps 90 days. In memory it holds
//! the last 30 days (all the percentages need): per check, one record per
//! hour that had probes, with its 60 minute buckets and the hour's totals,
//! so a window sums at most 720 hour totals and 120 boundary minutes.
//! Fully populated that is ~270 bytes an hour: ~195 KB per check for 30
//! days, ~1.9 MB for 10 checks (see the `memory_of_thirty_days` test).

use std::collections::{BTreeMap, VecDeque};

use crate::engine::store::Store;
use crate::engine::store::uptime::{Bucket, UptimeWrites};
use crate::protocol::Ts;
use crate::protocol::uptime::{OUTAGES_SHOWN, Outage, Uptime};

/// A minute, in ms.
pub const MINUTE_MS: i64 = 60_000;
/// The windows of the percentages, in minutes: 24 h, 7 d, 30 d.
pub const WINDOWS_MIN: [i64; 3] = [1_440, 7 * 1_440, 30 * 1_440];
/// Minutes of buckets kept in memory (the longest window).
const MEMORY_MIN: i64 = WINDOWS_MIN[2];
/// Outages kept in memory per check (the store keeps more).
pub const OUTAGES_IN_MEMORY: usize = 50;

/// One hour of a check's probes.
#[derive(Debug, Clone, PartialEq)]
struct Hour {
    up: u32,
    down: u32,
    minutes: [Bucket; 60],
}

impl Default for Hour {
    fn default() -> Hour {
        Hour { up: 0, down: 0, minutes: [Bucket::default(); 60] }
    }
}

/// One check's history in memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckHistory {
    /// Hour number (Unix minutes / 60) → its buckets.
    hours: BTreeMap<i64, Box<Hour>>,
    /// Oldest first; the last one is open (`end: None`) during an outage.
    outages: VecDeque<Outage>,
}

impl CheckHistory {
    /// Count one probe in `minute` (absolute value returned, for the store).
    fn count(&mut self, minute: i64, up: bool) -> Bucket {
        let h = self.hours.entry(minute.div_euclid(60)).or_default();
        let b = &mut h.minutes[minute.rem_euclid(60) as usize];
        if up {
            b.up = b.up.saturating_add(1);
            h.up = h.up.saturating_add(1);
        } else {
            b.down = b.down.saturating_add(1);
            h.down = h.down.saturating_add(1);
        }
        *b
    }

    /// Set a minute's bucket (loading from the store).
    fn set(&mut self, minute: i64, b: Bucket) {
        let h = self.hours.entry(minute.div_euclid(60)).or_default();
        let old = std::mem::replace(&mut h.minutes[minute.rem_euclid(60) as usize], b);
        h.up = h.up.saturating_sub(old.up.into()).saturating_add(b.up.into());
        h.down = h.down.saturating_sub(old.down.into()).saturating_add(b.down.into());
    }

    /// Probes (up, down) in the minutes `from..=to`.
    fn sum(&self, from: i64, to: i64) -> (u64, u64) {
        let (mut up, mut down) = (0u64, 0u64);
        if from > to {
            return (0, 0);
        }
        let (fh, th) = (from.div_euclid(60), to.div_euclid(60));
        for (&hour, h) in self.hours.range(fh..=th) {
            let (lo, hi) = (hour.saturating_mul(60), hour.saturating_mul(60).saturating_add(59));
            if lo >= from && hi <= to {
                up += u64::from(h.up);
                down += u64::from(h.down);
            } else {
                for m in lo.max(from)..=hi.min(to) {
                    let b = h.minutes[m.rem_euclid(60) as usize];
                    up += u64::from(b.up);
                    down += u64::from(b.down);
                }
            }
        }
        (up, down)
    }

    /// Percent of the probes up in the `n` minutes ending with `minute`.
    pub fn pct(&self, minute: i64, n: i64) -> Option<f64> {
        let (up, down) = self.sum(minute.saturating_sub(n - 1), minute);
        let total = up + down;
        (total > 0).then(|| (up as f64 * 100.0 / total as f64).clamp(0.0, 100.0))
    }

    /// The newest outages, newest first.
    pub fn outages(&self, n: usize) -> Vec<Outage> {
        self.outages.iter().rev().take(n).cloned().collect()
    }

    fn open_outage(&mut self) -> Option<&mut Outage> {
        self.outages.back_mut().filter(|o| o.end.is_none())
    }
}

/// Every check's history (also of checks renamed or removed, until pruned).
#[derive(Debug)]
pub struct UptimeBook {
    checks: BTreeMap<String, CheckHistory>,
    /// The time of the latest update (the end of the windows).
    now: Ts,
    /// Minutes before this are not in memory (not loaded, or pruned): a
    /// probe stamped before it (a clock stepped back over a month) is not
    /// counted, so a bucket the store holds is never overwritten by a
    /// partial count.
    floor: i64,
    /// Changed buckets and outages, for the writer.
    writes: UptimeWrites,
}

impl Default for UptimeBook {
    /// An empty book (no store): every minute counts.
    fn default() -> UptimeBook {
        UptimeBook { checks: BTreeMap::new(), now: 0, floor: i64::MIN, writes: UptimeWrites::default() }
    }
}

impl UptimeBook {
    /// The history the store holds: for each check, the 30 days up to its
    /// newest bucket (any later, after a clock step, too) and its newest
    /// outages. What cannot be read is said in `problems` and left out.
    pub fn load(store: &Store, problems: &mut Vec<String>) -> UptimeBook {
        let mut book = UptimeBook::default();
        match store.read_uptime(MEMORY_MIN, OUTAGES_IN_MEMORY) {
            Ok(loaded) => {
                for (name, buckets, outages) in loaded {
                    let h = book.checks.entry(name).or_default();
                    for (minute, b) in buckets {
                        h.set(minute, b);
                    }
                    h.outages = outages.into_iter().collect();
                }
                // Nothing older than the first loaded minute of any check is
                // in memory: the floor is the newest bucket minus 30 days.
                let newest = book.checks.values().filter_map(|c| c.hours.last_key_value()).map(|(h, _)| h * 60 + 59);
                book.floor = newest.max().map_or(i64::MIN, |m| m.saturating_sub(MEMORY_MIN - 1));
            }
            Err(e) => problems.push(format!(
                "the health checks' uptime history cannot be read from the store ({e}); \
                 uptime is counted from now on"
            )),
        }
        book
    }

    /// Count a probe of `name` that came back at `now`: `up` unless the
    /// check counts as failing after it; `error` is the probe's.
    pub fn record(&mut self, name: &str, now: Ts, up: bool, error: Option<&str>) {
        self.now = now;
        let minute = now.div_euclid(MINUTE_MS);
        let h = self.checks.entry(name.to_string()).or_default();
        if minute >= self.floor {
            let b = h.count(minute, up);
            self.writes.buckets.push((name.to_string(), minute, b));
        }
        let changed = match (up, h.open_outage()) {
            (true, Some(o)) => {
                o.end = Some(now.max(o.start));
                Some(o.clone())
            }
            (false, None) => {
                let o = Outage { start: now, end: None, first_error: error.map(|e| e.chars().take(500).collect()) };
                h.outages.push_back(o.clone());
                while h.outages.len() > OUTAGES_IN_MEMORY {
                    h.outages.pop_front();
                }
                Some(o)
            }
            _ => None,
        };
        if let Some(o) = changed {
            self.writes.outages.push((name.to_string(), o));
        }
    }

    /// Move the windows' end to `now` (which may be earlier than before: a
    /// clock stepped back) and forget hours older than the longest window.
    pub fn advance(&mut self, now: Ts) {
        self.now = now;
        let cut = now.div_euclid(MINUTE_MS).saturating_sub(MEMORY_MIN - 1);
        if cut <= self.floor {
            return;
        }
        // Whole hours only: the hour `cut` falls in stays.
        let keep_from = cut.div_euclid(60);
        for h in self.checks.values_mut() {
            while h.hours.first_key_value().is_some_and(|(&k, _)| k < keep_from) {
                h.hours.pop_first();
            }
        }
        self.floor = keep_from * 60;
    }

    /// `name`'s uptime and newest outages at the latest update (all `None`
    /// for a check with no probe yet).
    pub fn status(&self, name: &str) -> Uptime {
        self.status_at(name, self.now, OUTAGES_SHOWN)
    }

    /// [`UptimeBook::status`] for windows ending at `now`, with up to `n` outages.
    pub fn status_at(&self, name: &str, now: Ts, n: usize) -> Uptime {
        let Some(h) = self.checks.get(name) else { return Uptime::default() };
        let minute = now.div_euclid(MINUTE_MS);
        let [pct_24h, pct_7d, pct_30d] = WINDOWS_MIN.map(|w| h.pct(minute, w));
        Uptime { pct_24h, pct_7d, pct_30d, outages: h.outages(n) }
    }

    /// Names with a history, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.checks.keys().map(String::as_str)
    }

    /// What changed since the last call, for the writer.
    pub fn take_writes(&mut self) -> UptimeWrites {
        std::mem::take(&mut self.writes)
    }

    /// Bytes the buckets take in memory (hour records, their boxes and map
    /// entries; an estimate of the allocator's share).
    pub fn memory_bytes(&self) -> usize {
        let per_hour = std::mem::size_of::<Hour>() + std::mem::size_of::<(i64, Box<Hour>)>() + 16;
        self.checks.values().map(|c| c.hours.len() * per_hour).sum()
    }
}

#[cfg(test)]
#[path = "uptime_tests.rs"]
mod tests;
