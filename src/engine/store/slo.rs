//! SLO events (tree `slo`): one record per SLO and minute, (bad, total) as
//! two big-endian `f64`. Key: the name's length (u16, big-endian), the name,
//! then the minute (i64, big-endian with the sign bit flipped, so minutes
//! scan in time order). Retention: each write drops the SLO's buckets older
//! than its window.

use std::ops::Bound;

use super::kv::{Batch, Tree};
use super::{Result, Store, StoreError};

const TREE: &str = "slo";

/// One minute's events of an SLO.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Minutes since the Unix epoch (`ts.div_euclid(60_000)`).
    pub minute: i64,
    /// Bad events (≤ `total`).
    pub bad: f64,
    /// All events (> 0).
    pub total: f64,
}

/// Buckets to write for one SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct SloWrite {
    pub name: String,
    pub buckets: Vec<Bucket>,
    /// Drop stored buckets from this minute on first (the clock stepped
    /// back; `i64::MIN`: the SLI changed, drop them all).
    pub drop_from: Option<i64>,
    /// Drop stored buckets before this minute (older than the window).
    pub keep_from: i64,
}

fn prefix(name: &str) -> Vec<u8> {
    let n = &name.as_bytes()[..name.len().min(u16::MAX as usize)];
    let mut k = (n.len() as u16).to_be_bytes().to_vec();
    k.extend_from_slice(n);
    k
}

fn key(name: &str, minute: i64) -> Vec<u8> {
    let mut k = prefix(name);
    k.extend(((minute as u64) ^ (1 << 63)).to_be_bytes());
    k
}

fn decode(k: &[u8], v: &[u8], plen: usize) -> Option<Bucket> {
    let m: [u8; 8] = k.get(plen..)?.try_into().ok()?;
    let bad: [u8; 8] = v.get(..8)?.try_into().ok()?;
    let total: [u8; 8] = v.get(8..16)?.try_into().ok()?;
    let minute = (u64::from_be_bytes(m) ^ (1 << 63)) as i64;
    let (bad, total) = (f64::from_be_bytes(bad), f64::from_be_bytes(total));
    (bad.is_finite() && total.is_finite() && bad >= 0.0 && total > 0.0).then_some(Bucket { minute, bad, total })
}

impl Store {
    fn slo_tree(&self) -> Result<std::sync::Arc<dyn Tree>> {
        self.db.open_tree(TREE)
    }

    /// Every stored bucket of the SLO `name`, oldest first. Errors: the
    /// store cannot be read, or a record is not 16 bytes.
    pub fn slo_buckets(&self, name: &str) -> Result<Vec<Bucket>> {
        let tree = self.slo_tree()?;
        let p = prefix(name);
        let mut out = Vec::new();
        for kv in tree.scan_prefix(&p) {
            let (k, v) = kv?;
            match decode(&k, &v, p.len()) {
                Some(b) => out.push(b),
                None if v.len() != 16 || k.len() != p.len() + 8 => {
                    return Err(StoreError::Corrupt { tree: TREE, what: format!("a bucket of {name:?}") });
                }
                None => {}
            }
        }
        Ok(out)
    }

    /// Write SLO buckets (replacing those of the same minutes), dropping
    /// what each write says to drop; one batch per SLO, then a flush.
    pub fn write_slo(&self, writes: &[SloWrite]) -> Result<()> {
        let tree = self.slo_tree()?;
        for w in writes {
            let mut batch = Batch::default();
            let lo = key(&w.name, i64::MIN);
            let old_end = key(&w.name, w.keep_from);
            for kv in tree.range(Bound::Included(&lo), Bound::Excluded(&old_end)) {
                batch.remove(kv?.0);
            }
            if let Some(from) = w.drop_from {
                for kv in tree.scan_prefix(&prefix(&w.name)) {
                    let (k, v) = kv?;
                    if decode(&k, &v, prefix(&w.name).len()).is_none_or(|b| b.minute >= from) {
                        batch.remove(k);
                    }
                }
            }
            for b in &w.buckets {
                let mut v = b.bad.to_be_bytes().to_vec();
                v.extend(b.total.to_be_bytes());
                batch.insert(key(&w.name, b.minute), v);
            }
            tree.apply(batch)?;
        }
        tree.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(minute: i64, bad: f64, total: f64) -> Bucket {
        Bucket { minute, bad, total }
    }

    #[test]
    fn buckets_round_trip_in_time_order_per_name_and_old_ones_go() {
        let store = Store::temporary().unwrap();
        let w = |name: &str, buckets: Vec<Bucket>, drop_from, keep_from| SloWrite {
            name: name.into(),
            buckets,
            drop_from,
            keep_from,
        };
        store
            .write_slo(&[
                w("a", vec![b(-3, 0.0, 1.0), b(5, 1.0, 2.0), b(7, 0.0, 4.0)], None, -10),
                w("ab", vec![b(1, 1.0, 1.0)], None, 0),
                w("a\0b", vec![b(2, 0.0, 1.0)], None, 0),
            ])
            .unwrap();
        assert_eq!(store.slo_buckets("a").unwrap(), vec![b(-3, 0.0, 1.0), b(5, 1.0, 2.0), b(7, 0.0, 4.0)]);
        assert_eq!(store.slo_buckets("ab").unwrap(), vec![b(1, 1.0, 1.0)]);
        assert_eq!(store.slo_buckets("a\0b").unwrap(), vec![b(2, 0.0, 1.0)]);
        // Older than the window: dropped; a step back drops from its minute on.
        store.write_slo(&[w("a", vec![b(6, 0.0, 9.0)], Some(7), 0)]).unwrap();
        assert_eq!(store.slo_buckets("a").unwrap(), vec![b(5, 1.0, 2.0), b(6, 0.0, 9.0)]);
        store.write_slo(&[w("a", vec![], Some(i64::MIN), 0)]).unwrap();
        assert!(store.slo_buckets("a").unwrap().is_empty());
        assert_eq!(store.slo_buckets("ab").unwrap().len(), 1, "other SLOs untouched");
    }
}
