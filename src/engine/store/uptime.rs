//! Health checks' up/down history on disk (issue 15), tree `uptime`:
//!
//! - `b` + name length (u16 BE) + name + minute (i64 BE, sign bit flipped)
//!   → probes up (u16 BE), probes down (u16 BE): one bucket per minute with
//!   probes, so a range scan by check and time works;
//! - `o` + name length + name + start (Unix ms, i64 BE flipped) → an
//!   [`Outage`] (JSON), rewritten when it ends;
//! - `n` + name → nothing: the names with a history (pruning and loading
//!   visit them without scanning every bucket).
//!
//! Kept: buckets of the last [`KEEP_DAYS`] days, and per check the outages
//! that started within them, at most [`OUTAGES_KEPT`]. Writes are not
//! flushed one by one (the engine's periodic flush makes them durable).

use std::ops::Bound::{Excluded, Included};

use super::kv::{Batch, Tree};
use super::{Result, Store, StoreError};
use crate::protocol::Ts;
use crate::protocol::uptime::Outage;

/// Days of buckets and outages kept.
pub const KEEP_DAYS: i64 = 90;
/// Outages kept per check.
pub const OUTAGES_KEPT: usize = 1_000;
/// Longest check name stored (longer ones are cut, at a character boundary).
const MAX_NAME: usize = 1_024;

/// Probes of one check in one minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bucket {
    pub up: u16,
    pub down: u16,
}

/// What the uptime book changed, to write: buckets (absolute values; a later
/// one for the same minute wins) and outages (a later one with the same start wins).
#[derive(Debug, Default)]
pub struct UptimeWrites {
    /// (check, Unix minute, its bucket).
    pub buckets: Vec<(String, i64, Bucket)>,
    /// (check, the outage as it is now).
    pub outages: Vec<(String, Outage)>,
}

impl UptimeWrites {
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty() && self.outages.is_empty()
    }

    /// Fold newer writes in after these.
    pub fn absorb(&mut self, newer: UptimeWrites) {
        self.buckets.extend(newer.buckets);
        self.outages.extend(newer.outages);
    }
}

/// One check's loaded history: name, buckets (minute, bucket) oldest first,
/// outages oldest first.
pub type Loaded = (String, Vec<(i64, Bucket)>, Vec<Outage>);

fn name_part(name: &str) -> Vec<u8> {
    let mut end = name.len().min(MAX_NAME);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let name = &name.as_bytes()[..end];
    let mut k = (name.len() as u16).to_be_bytes().to_vec();
    k.extend_from_slice(name);
    k
}

fn key(kind: u8, name: &str, at: i64) -> Vec<u8> {
    let mut k = vec![kind];
    k.extend(name_part(name));
    k.extend(((at as u64) ^ (1 << 63)).to_be_bytes());
    k
}

fn key_at(k: &[u8]) -> Option<i64> {
    let b: [u8; 8] = k.get(k.len().checked_sub(8)?..)?.try_into().ok()?;
    Some((u64::from_be_bytes(b) ^ (1 << 63)) as i64)
}

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt { tree: "uptime", what }
}

impl Store {
    fn uptime_tree(&self) -> Result<std::sync::Arc<dyn Tree>> {
        self.db.open_tree("uptime")
    }

    /// Write what the uptime book changed (one batch).
    pub fn write_uptime(&self, w: &UptimeWrites) -> Result<()> {
        let tree = self.uptime_tree()?;
        let mut batch = Batch::default();
        let mut names = std::collections::BTreeSet::new();
        for (name, minute, b) in &w.buckets {
            let mut v = b.up.to_be_bytes().to_vec();
            v.extend(b.down.to_be_bytes());
            batch.insert(key(b'b', name, *minute), v);
            names.insert(name.as_str());
        }
        for (name, o) in &w.outages {
            let json = serde_json::to_vec(o).map_err(|e| corrupt(e.to_string()))?;
            batch.insert(key(b'o', name, o.start), json);
            names.insert(name.as_str());
        }
        for name in names {
            let mut k = vec![b'n'];
            k.extend(name_part(name));
            batch.insert(k, Vec::new());
        }
        tree.apply(batch)
    }

    /// The check names with a history, in order.
    pub fn uptime_names(&self) -> Result<Vec<String>> {
        let tree = self.uptime_tree()?;
        let mut out = Vec::new();
        for kv in tree.scan_prefix(b"n") {
            let k = kv?.0;
            out.push(String::from_utf8_lossy(k.get(3..).unwrap_or_default()).into_owned());
        }
        Ok(out)
    }

    /// Each check's buckets of the `window` minutes up to its newest bucket,
    /// and its newest `outages` outages.
    pub fn read_uptime(&self, window: i64, outages: usize) -> Result<Vec<Loaded>> {
        let tree = self.uptime_tree()?;
        let mut out = Vec::new();
        for name in self.uptime_names()? {
            let (lo, hi) = (key(b'b', &name, i64::MIN), key(b'b', &name, i64::MAX));
            let newest = match tree.range(Included(&lo), Included(&hi)).next_back() {
                Some(kv) => key_at(&kv?.0).ok_or_else(|| corrupt(format!("bucket key of {name}")))?,
                None => i64::MIN,
            };
            let from = key(b'b', &name, newest.saturating_sub(window.saturating_sub(1)));
            let mut buckets = Vec::new();
            for kv in tree.range(Included(&from), Included(&hi)) {
                let (k, v) = kv?;
                let minute = key_at(&k).ok_or_else(|| corrupt(format!("bucket key of {name}")))?;
                let b = match v[..] {
                    [a, b, c, d] => Bucket { up: u16::from_be_bytes([a, b]), down: u16::from_be_bytes([c, d]) },
                    _ => return Err(corrupt(format!("bucket of {name} at minute {minute}"))),
                };
                buckets.push((minute, b));
            }
            let mut outs = self.uptime_outages(&tree, &name, outages)?;
            outs.reverse();
            out.push((name, buckets, outs));
        }
        Ok(out)
    }

    /// The newest `n` outages of `name`, newest first (an unreadable one is skipped).
    fn uptime_outages(&self, tree: &std::sync::Arc<dyn Tree>, name: &str, n: usize) -> Result<Vec<Outage>> {
        let (lo, hi) = (key(b'o', name, i64::MIN), key(b'o', name, i64::MAX));
        let mut out = Vec::new();
        for kv in tree.range(Included(&lo), Included(&hi)).rev() {
            if out.len() >= n {
                break;
            }
            match serde_json::from_slice::<Outage>(&kv?.1) {
                Ok(o) => out.push(o),
                Err(e) => tracing::warn!(name, "an unreadable outage record is skipped: {e}"),
            }
        }
        Ok(out)
    }

    /// Delete buckets and outages that began before `now` minus
    /// [`KEEP_DAYS`], and outages beyond [`OUTAGES_KEPT`] per check; returns
    /// how many records went.
    pub fn prune_uptime(&self, now: Ts) -> Result<usize> {
        let tree = self.uptime_tree()?;
        let cut_ms = now.saturating_sub(KEEP_DAYS * 86_400_000);
        let cut_min = cut_ms.div_euclid(60_000);
        let mut n = 0;
        for name in self.uptime_names()? {
            let mut batch = Batch::default();
            let old_buckets = tree.range(Included(&key(b'b', &name, i64::MIN)), Excluded(&key(b'b', &name, cut_min)));
            for kv in old_buckets {
                batch.remove(kv?.0);
                n += 1;
            }
            let (lo, hi) = (key(b'o', &name, i64::MIN), key(b'o', &name, i64::MAX));
            let keys: Vec<Vec<u8>> =
                tree.range(Included(&lo), Included(&hi)).map(|kv| kv.map(|p| p.0)).collect::<Result<_>>()?;
            let over = keys.len().saturating_sub(OUTAGES_KEPT);
            for (i, k) in keys.into_iter().enumerate() {
                if i < over || key_at(&k).is_some_and(|at| at < cut_ms) {
                    batch.remove(k);
                    n += 1;
                }
            }
            // A name left with nothing leaves the index.
            let any = tree.range(Included(&key(b'b', &name, cut_min)), Included(&key(b'b', &name, i64::MAX))).next();
            let any_outage = tree.range(Included(&key(b'o', &name, cut_ms)), Included(&hi)).next();
            if any.is_none() && any_outage.is_none() {
                let mut k = vec![b'n'];
                k.extend(name_part(&name));
                batch.remove(k);
            }
            tree.apply(batch)?;
        }
        Ok(n)
    }
}
