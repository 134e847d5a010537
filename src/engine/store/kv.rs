//! The ordered key-value layer under [`Store`](super::Store): a [`Db`] of
//! named [`Tree`]s, with two implementations — sled on disk ([`SledDb`]) and a
//! map in memory ([`MemDb`], for tests and throw-away stores, so domain tests
//! touch no disk). Keys and values are bytes; keys iterate in byte order.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::Result;

/// A key and its value.
pub type Pair = (Vec<u8>, Vec<u8>);
/// Pairs in key order (`.rev()` for the reverse).
pub type Iter<'a> = Box<dyn DoubleEndedIterator<Item = Result<Pair>> + 'a>;

/// Writes applied to one tree at once: all or none.
#[derive(Debug, Default)]
pub struct Batch {
    ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Batch {
    pub fn insert(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push((key.into(), Some(value.into())));
    }

    pub fn remove(&mut self, key: impl Into<Vec<u8>>) {
        self.ops.push((key.into(), None));
    }
}

/// One ordered map of a database.
pub trait Tree: Send + Sync {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<()>;
    fn remove(&self, key: &[u8]) -> Result<()>;
    /// Pairs with keys within `(lo, hi)`, in key order.
    fn range(&self, lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> Iter<'_>;
    fn apply(&self, batch: Batch) -> Result<()>;
    fn len(&self) -> usize;
    /// Durable on return (a no-op in memory).
    fn flush(&self) -> Result<()>;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every pair, in key order.
    fn iter(&self) -> Iter<'_> {
        self.range(Bound::Unbounded, Bound::Unbounded)
    }

    /// The pairs whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, prefix: &[u8]) -> Iter<'_> {
        match prefix_end(prefix) {
            Some(end) => {
                let pairs: Vec<Result<Pair>> = self.range(Bound::Included(prefix), Bound::Excluded(&end)).collect();
                Box::new(pairs.into_iter())
            }
            None => self.range(Bound::Included(prefix), Bound::Unbounded),
        }
    }

    fn first(&self) -> Result<Option<Pair>> {
        self.iter().next().transpose()
    }

    fn last(&self) -> Result<Option<Pair>> {
        self.iter().next_back().transpose()
    }
}

/// The smallest key after every key that starts with `prefix` (none when
/// the prefix is all `0xFF`).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Whether `(lo, hi)` holds no key because it ends before it starts (an
/// empty range, where the maps underneath would panic).
fn inverted(lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => a >= b,
        _ => false,
    }
}

/// A database: named trees, unique ids, a flush of everything.
pub trait Db: Send + Sync {
    fn open_tree(&self, name: &str) -> Result<Arc<dyn Tree>>;
    /// A number never handed out before by this database (monotonic).
    fn generate_id(&self) -> Result<u64>;
    fn flush(&self) -> Result<()>;
}

/// sled on disk.
pub struct SledDb(pub sled::Db);

struct SledTree(sled::Tree);

impl Db for SledDb {
    fn open_tree(&self, name: &str) -> Result<Arc<dyn Tree>> {
        Ok(Arc::new(SledTree(self.0.open_tree(name)?)))
    }

    fn generate_id(&self) -> Result<u64> {
        Ok(self.0.generate_id()?)
    }

    fn flush(&self) -> Result<()> {
        self.0.flush()?;
        Ok(())
    }
}

impl Tree for SledTree {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.0.get(key)?.map(|v| v.to_vec()))
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.0.insert(key, value)?;
        Ok(())
    }

    fn remove(&self, key: &[u8]) -> Result<()> {
        self.0.remove(key)?;
        Ok(())
    }

    fn range(&self, lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> Iter<'_> {
        if inverted(lo, hi) {
            return Box::new(std::iter::empty());
        }
        Box::new(self.0.range::<&[u8], _>((lo, hi)).map(|kv| {
            let (k, v) = kv?;
            Ok((k.to_vec(), v.to_vec()))
        }))
    }

    fn apply(&self, batch: Batch) -> Result<()> {
        let mut b = sled::Batch::default();
        for (k, v) in batch.ops {
            match v {
                Some(v) => b.insert(k, v),
                None => b.remove(k),
            }
        }
        self.0.apply_batch(b)?;
        Ok(())
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn flush(&self) -> Result<()> {
        self.0.flush()?;
        Ok(())
    }
}

/// Maps in memory: nothing survives the process.
#[derive(Default)]
pub struct MemDb {
    trees: Mutex<HashMap<String, Arc<MemTree>>>,
    ids: AtomicU64,
}

#[derive(Default)]
struct MemTree(Mutex<BTreeMap<Vec<u8>, Vec<u8>>>);

impl MemTree {
    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Db for MemDb {
    fn open_tree(&self, name: &str) -> Result<Arc<dyn Tree>> {
        let mut trees = self.trees.lock().unwrap_or_else(|p| p.into_inner());
        Ok(trees.entry(name.to_string()).or_default().clone())
    }

    fn generate_id(&self) -> Result<u64> {
        Ok(self.ids.fetch_add(1, Ordering::Relaxed))
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

impl Tree for MemTree {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.map().get(key).cloned())
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.map().insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn remove(&self, key: &[u8]) -> Result<()> {
        self.map().remove(key);
        Ok(())
    }

    /// A snapshot of the range: later writes are not seen by this iterator.
    fn range(&self, lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> Iter<'_> {
        let pairs: Vec<Result<Pair>> = if inverted(lo, hi) {
            Vec::new()
        } else {
            self.map().range::<[u8], _>((lo, hi)).map(|(k, v)| Ok((k.clone(), v.clone()))).collect()
        };
        Box::new(pairs.into_iter())
    }

    fn apply(&self, batch: Batch) -> Result<()> {
        let mut map = self.map();
        for (k, v) in batch.ops {
            match v {
                Some(v) => map.insert(k, v),
                None => map.remove(&k),
            };
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.map().len()
    }

    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both implementations answer the same way.
    fn exercise(db: &dyn Db) -> Vec<String> {
        let t = db.open_tree("t").unwrap();
        for k in [&b"a1"[..], b"a2", b"a\xff", b"b", b"\xff\xff", b"\xff\xff\x01"] {
            t.insert(k, k).unwrap();
        }
        let mut batch = Batch::default();
        batch.remove(&b"b"[..]);
        batch.insert(&b"c"[..], &b"c"[..]);
        t.apply(batch).unwrap();
        t.remove(b"a2").unwrap();
        let show = |it: Iter<'_>| {
            it.map(|kv| String::from_utf8_lossy(&kv.unwrap().0).into_owned()).collect::<Vec<_>>().join(",")
        };
        let reopened = db.open_tree("t").unwrap();
        let a = id_order(db);
        vec![
            show(t.iter()),
            show(t.scan_prefix(b"a")),
            show(t.scan_prefix(b"\xff\xff")),
            show(Box::new(t.scan_prefix(b"a").rev())),
            show(t.range(Bound::Excluded(&b"a1"[..]), Bound::Included(&b"c"[..]))),
            show(t.range(Bound::Included(&b"c"[..]), Bound::Excluded(&b"a"[..]))),
            format!("{:?} {:?} {}", t.get(b"c").unwrap(), t.get(b"b").unwrap(), reopened.len()),
            String::from_utf8_lossy(&t.first().unwrap().unwrap().0).into_owned(),
            a,
        ]
    }

    fn id_order(db: &dyn Db) -> String {
        let (x, y) = (db.generate_id().unwrap(), db.generate_id().unwrap());
        format!("ids increase: {}", y > x)
    }

    #[test]
    fn the_memory_db_answers_as_sled_does() {
        let sled = SledDb(sled::Config::new().temporary(true).open().unwrap());
        let from_sled = exercise(&sled);
        assert_eq!(exercise(&MemDb::default()), from_sled);
        assert_eq!(from_sled[0], "a1,a\u{fffd},c,\u{fffd}\u{fffd},\u{fffd}\u{fffd}\u{1}");
        assert_eq!(from_sled[1], "a1,a\u{fffd}");
        assert_eq!(from_sled[3], "a\u{fffd},a1");
    }
}
