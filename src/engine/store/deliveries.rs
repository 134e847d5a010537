//! The alert timeline in tree `alerts`: transitions (keys `t` + time + a
//! unique id) and notification delivery attempts (`d` …) — the "sent to …"
//! and "failed …" rows, kept across restarts like the transitions, so
//! on-call can tell whether a page went out before opsdeck was restarted.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::kv::Batch;
use super::{Result, Store, StoreError};
use crate::protocol::Ts;
use crate::protocol::alerts::Delivery;

impl Store {
    /// Append delivery attempts (in the order given).
    pub fn append_deliveries(&self, ds: &[Delivery]) -> Result<()> {
        self.append_timeline(b"d", ds.iter().map(|d| (d.at, d)))
    }

    /// The newest `n` delivery attempts, oldest first.
    pub fn deliveries(&self, n: usize) -> Result<Vec<Delivery>> {
        self.timeline(b"d", n)
    }

    /// Keep the newest `keep` delivery attempts.
    pub fn prune_deliveries(&self, keep: usize) -> Result<usize> {
        self.prune_timeline(b"d", keep)
    }

    /// Append records of the alert timeline under `prefix` (key `prefix` +
    /// time + a unique id, so they scan in time order); durable on return.
    pub(super) fn append_timeline<'a, T: Serialize + 'a>(
        &self,
        prefix: &[u8],
        items: impl Iterator<Item = (Ts, &'a T)>,
    ) -> Result<()> {
        let mut batch = Batch::default();
        for (at, item) in items {
            let mut key = prefix.to_vec();
            key.extend(at.to_be_bytes());
            key.extend(self.db.generate_id()?.to_be_bytes());
            batch.insert(key, serde_json::to_vec(item).unwrap_or_default());
        }
        self.alerts.apply(batch)?;
        self.alerts.flush()
    }

    /// The newest `n` records under `prefix`, oldest first.
    pub(super) fn timeline<T: DeserializeOwned>(&self, prefix: &[u8], n: usize) -> Result<Vec<T>> {
        let mut out = Vec::new();
        for kv in self.alerts.scan_prefix(prefix).rev().take(n) {
            let (_, v) = kv?;
            out.push(
                serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt { tree: "alerts", what: e.to_string() })?,
            );
        }
        out.reverse();
        Ok(out)
    }

    /// Keep the newest `keep` records under `prefix`; returns how many went.
    pub(super) fn prune_timeline(&self, prefix: &[u8], keep: usize) -> Result<usize> {
        let keys: Vec<Vec<u8>> = self.alerts.scan_prefix(prefix).map(|kv| kv.map(|p| p.0)).collect::<Result<_>>()?;
        let n = keys.len().saturating_sub(keep);
        let mut batch = Batch::default();
        for k in keys.into_iter().take(n) {
            batch.remove(k);
        }
        self.alerts.apply(batch)?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(alert: &str, at: i64) -> Delivery {
        Delivery { alert: alert.into(), channel: "email:mail".into(), at, attempt: 1, error: None }
    }

    #[test]
    fn attempts_are_kept_in_time_order_bounded_and_apart_from_the_state() {
        let store = Store::temporary().unwrap();
        store.append_deliveries(&[d("a", 20), d("b", 10), d("c", 30)]).unwrap();
        store.put_alerts_state(b"{}").unwrap();
        let again = store.reopen().unwrap();
        let names = |v: Vec<Delivery>| v.into_iter().map(|d| d.alert).collect::<Vec<_>>();
        assert_eq!(names(again.deliveries(10).unwrap()), ["b", "a", "c"]);
        assert_eq!(names(again.deliveries(2).unwrap()), ["a", "c"]);
        assert_eq!(again.prune_deliveries(1).unwrap(), 2);
        assert_eq!(names(again.deliveries(10).unwrap()), ["c"]);
        assert_eq!(again.alerts_keys().unwrap(), ["state"], "not listed with the state records");
        assert!(again.transitions(10).unwrap().is_empty(), "not transitions");
    }
}
