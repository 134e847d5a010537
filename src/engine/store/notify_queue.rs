//! Notifications waiting for delivery (tree `notify_queue`): one record per
//! notifier and group, written before the first attempt and after each
//! failed one, removed once sent or given up — so a message waiting for its
//! retry is still sent after a restart (deliver.rs). The record is the
//! delivery task's own encoding (JSON); the store only keeps bytes.

use std::sync::Arc;

use super::kv::{Batch, Tree};
use super::{Result, Store};

/// Handle on the queue; cheap to clone, used from blocking threads.
#[derive(Clone)]
pub struct NotifyQueue {
    tree: Arc<dyn Tree>,
}

/// `notifier NUL group key` (notifier names have no control characters).
fn key(notifier: &str, group: &str) -> Vec<u8> {
    let mut k = notifier.as_bytes().to_vec();
    k.push(0);
    k.extend(group.as_bytes());
    k
}

impl Store {
    /// The queue of undelivered notifications.
    pub fn notify_queue(&self) -> Result<NotifyQueue> {
        Ok(NotifyQueue { tree: self.db.open_tree("notify_queue")? })
    }
}

impl NotifyQueue {
    /// Keep `record` for `notifier`'s group `group` (replacing the one it
    /// had); durable on return.
    pub fn put(&self, notifier: &str, group: &str, record: &[u8]) -> Result<()> {
        self.tree.insert(&key(notifier, group), record)?;
        self.tree.flush()
    }

    /// Drop the record of `notifier`'s group `group` (sent or given up).
    pub fn remove(&self, notifier: &str, group: &str) -> Result<()> {
        self.tree.remove(&key(notifier, group))?;
        self.tree.flush()
    }

    /// Every record, as (notifier, record), in key order.
    pub fn all(&self) -> Result<Vec<(String, Vec<u8>)>> {
        let mut out = Vec::new();
        for kv in self.tree.iter() {
            let (k, v) = kv?;
            let notifier = k.split(|b| *b == 0).next().unwrap_or_default();
            out.push((String::from_utf8_lossy(notifier).into_owned(), v));
        }
        Ok(out)
    }

    /// Drop the records of every notifier `keep` does not accept (notifiers
    /// no longer configured); returns how many went.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) -> Result<usize> {
        let mut batch = Batch::default();
        let mut n = 0;
        for kv in self.tree.iter() {
            let (k, _) = kv?;
            let notifier = k.split(|b| *b == 0).next().unwrap_or_default();
            if !keep(&String::from_utf8_lossy(notifier)) {
                batch.remove(k);
                n += 1;
            }
        }
        if n > 0 {
            self.tree.apply(batch)?;
            self.tree.flush()?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_kept_per_notifier_and_group_and_survive_a_reopen() {
        let store = Store::temporary().unwrap();
        let q = store.notify_queue().unwrap();
        q.put("ops", "alertname=hot", b"1").unwrap();
        q.put("ops", "alertname=hot", b"2").unwrap();
        q.put("ops", "", b"3").unwrap();
        q.put("gone", "alertname=x", b"4").unwrap();
        let again = store.reopen().unwrap().notify_queue().unwrap();
        assert_eq!(
            again.all().unwrap(),
            [("gone".to_string(), b"4".to_vec()), ("ops".into(), b"3".to_vec()), ("ops".into(), b"2".to_vec())]
        );
        assert_eq!(again.retain(|n| n == "ops").unwrap(), 1);
        again.remove("ops", "").unwrap();
        assert_eq!(q.all().unwrap(), [("ops".to_string(), b"2".to_vec())]);
    }
}
