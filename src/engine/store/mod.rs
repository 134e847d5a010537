//! The one database: trees per domain, schema version, bounded cache. On
//! disk it is sled; [`Store::temporary`] keeps it in memory (tests, benches).
//! Both sit behind [`kv::Db`].
//!
//! Keys are big-endian so ranges scan in time order. Everything else in the
//! program goes through this API, so the format stays replaceable.

pub mod chat;
pub mod chat_history;
pub mod chat_search;
pub mod deliveries;
pub mod kv;
pub mod notify_queue;
mod records;
pub mod runs;
pub mod slo;
pub mod uptime;

pub use records::{OUTBOX_RECORD_VERSION, TOOL_RUN_RECORD_VERSION};

use std::collections::HashMap;
use std::ops::Bound::{Excluded, Included, Unbounded};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use kv::{Batch, Db, Tree};

/// Schema written by this build.
pub const SCHEMA_VERSION: u32 = 2;

/// UI records that are the user's data, not preferences: kept in the `user`
/// tree (schema 2), with their set-aside copies (`KEY.unreadable.N`).
const USER_KEYS: [&str; 2] = ["tools.chains", "tools.favorites"];

fn is_user_key(key: &str) -> bool {
    USER_KEYS.iter().any(|k| key == *k || key.strip_prefix(k).is_some_and(|rest| rest.starts_with('.')))
}
/// How long an open waits out a lock that no running opsdeck holds
/// ([`Store::open_unless_held`]).
pub const LOCK_GRACE: std::time::Duration = std::time::Duration::from_secs(2);
/// Default sled page cache (sled's own default is 1 GiB).
pub const DEFAULT_CACHE_BYTES: u64 = 8 * 1024 * 1024;

const DICT_PREFIX: u8 = 0xFF;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{path}: another opsdeck is already using this data directory\n  hint: quit the other opsdeck, or start this one with OPSDECK_DATA_DIR=<another dir> (a TUI started while `opsdeck serve` runs attaches to it instead)"
    )]
    Locked { path: String },
    #[error(
        "{path}: the data was written by a newer opsdeck (schema {found}, this build knows {known})\n  hint: upgrade opsdeck, or move the directory away to start afresh"
    )]
    TooNew { path: String, found: u32, known: u32 },
    #[error(
        "{path}: cannot open the database: {source}\n  hint: check the directory's permissions and free disk space"
    )]
    Open { path: String, source: sled::Error },
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("not a conversation id: {0:?} (ids are 1 to 64 letters, digits, `-` and `_`)")]
    BadConversationId(String),
    #[error("corrupt record in {tree}: {what}")]
    Corrupt { tree: &'static str, what: String },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A metrics row: slot and `(series name, value)` pairs.
pub type Row = (i64, Vec<(String, f32)>);

#[derive(Default)]
struct Dict {
    ids: HashMap<String, u16>,
    names: Vec<String>,
}

/// Handle to the database. Cheap to share behind an `Arc`.
pub struct Store {
    db: Arc<dyn Db>,
    meta: Arc<dyn Tree>,
    metrics: Arc<dyn Tree>,
    events: Arc<dyn Tree>,
    commands: Arc<dyn Tree>,
    outbox: Arc<dyn Tree>,
    tool_runs: Arc<dyn Tree>,
    alerts: Arc<dyn Tree>,
    ui: Arc<dyn Tree>,
    /// The user's data among the UI records (saved chains, favorites).
    user: Arc<dyn Tree>,
    /// Conversations and their messages (chat.rs).
    chat: Arc<dyn Tree>,
    /// Records set aside because this build cannot read them (records.rs).
    unreadable: Arc<dyn Tree>,
    /// Workflow runs, their steps, logs and the workflows' versions (runs.rs).
    runs: runs::RunTrees,
    dict: Mutex<Dict>,
    path: PathBuf,
}

impl Store {
    /// Open (or create) the database in `dir`.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Store> {
        let path = dir.join("db");
        let shown = path.display().to_string();
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(cache_bytes)
            .mode(sled::Mode::LowSpace)
            // No flusher thread of sled's own: the engine flushes every
            // `STORE_FLUSH_EVERY` on a blocking task, and dropping the last
            // handle flushes too (short-lived CLI commands).
            .flush_every_ms(None)
            .open()
            .map_err(|e| match e {
                sled::Error::Io(ref io) if io.to_string().contains("could not acquire lock") => {
                    StoreError::Locked { path: dir.display().to_string() }
                }
                other => StoreError::Open { path: shown.clone(), source: other },
            })?;
        Self::from_db(Arc::new(kv::SledDb(db)), path)
    }

    /// [`Store::open`], waiting out a lock that no running opsdeck holds: a
    /// process killed a moment ago can leave it held for a while (a child it
    /// was starting holds its files until its exec), so a restart right after
    /// a crash must not be refused. `held` says whether a running holder
    /// answers (its control socket): then `Locked` comes at once (the caller
    /// attaches); otherwise the open is tried again every 50 ms for up to
    /// `grace`.
    pub fn open_unless_held(
        dir: &Path,
        cache_bytes: u64,
        held: impl Fn() -> bool,
        grace: std::time::Duration,
    ) -> Result<Store> {
        let began = std::time::Instant::now();
        loop {
            match Self::open(dir, cache_bytes) {
                Err(StoreError::Locked { path }) if began.elapsed() < grace && !held() => {
                    tracing::debug!(path, "the data directory is locked by no running opsdeck: trying again");
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    /// [`Store::open`] again after a handle on `dir` was dropped, in a test
    /// process: a child another test is starting holds every open file of
    /// the process between its fork and its exec, sled's lock among them, so
    /// a reopen can find the lock held for a moment (waited out up to 10 s,
    /// as [`Store::open_unless_held`] does for a restart).
    #[cfg(test)]
    pub fn reopen_dir(dir: &Path, cache_bytes: u64) -> Result<Store> {
        Self::open_unless_held(dir, cache_bytes, || false, std::time::Duration::from_secs(10))
    }

    /// A throw-away database in memory (tests, benches): nothing touches the disk.
    pub fn temporary() -> Result<Store> {
        Self::from_db(Arc::new(kv::MemDb::default()), PathBuf::from("<temporary>"))
    }

    /// A second handle on the same database, as a restarted process would
    /// open it (tests of crash recovery on an in-memory store).
    #[cfg(test)]
    pub fn reopen(&self) -> Result<Store> {
        Self::from_db(self.db.clone(), self.path.clone())
    }

    fn from_db(db: Arc<dyn Db>, path: PathBuf) -> Result<Store> {
        let meta = db.open_tree("meta")?;
        let metrics = db.open_tree("metrics")?;
        let events = db.open_tree("events")?;
        let commands = db.open_tree("commands")?;
        let outbox = db.open_tree("outbox")?;
        let tool_runs = db.open_tree("tool_history")?;
        let ui = db.open_tree("ui")?;
        let user = db.open_tree("user")?;
        let alerts = db.open_tree("alerts")?;
        let unreadable = db.open_tree("unreadable")?;
        let chat = db.open_tree("chat")?;
        let runs = runs::RunTrees::open(db.as_ref())?;
        let store = Store {
            db,
            meta,
            metrics,
            events,
            commands,
            outbox,
            tool_runs,
            alerts,
            ui,
            user,
            chat,
            unreadable,
            runs,
            dict: Mutex::new(Dict::default()),
            path,
        };
        store.migrate()?;
        store.load_dict()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn migrate(&self) -> Result<()> {
        match self.meta.get(b"schema_version")? {
            None => {
                self.meta.insert(b"schema_version", &SCHEMA_VERSION.to_be_bytes())?;
                let epoch = chrono::Utc::now().timestamp_micros() as u64;
                self.meta.insert(b"epoch", &epoch.to_be_bytes())?;
            }
            Some(v) => {
                let found = be_u32(&v).ok_or(StoreError::Corrupt { tree: "meta", what: "schema_version".into() })?;
                if found > SCHEMA_VERSION {
                    return Err(StoreError::TooNew {
                        path: self.path.display().to_string(),
                        found,
                        known: SCHEMA_VERSION,
                    });
                }
                // One step at a time, each safe to run again if cut short.
                if found < 2 {
                    self.migrate_1_to_2()?;
                }
            }
        }
        Ok(())
    }

    /// Schema 2: saved chains and favorites move from `ui` to `user`.
    /// Copied, flushed and the version bumped before the old keys go, so a
    /// migration cut short is simply run again.
    fn migrate_1_to_2(&self) -> Result<()> {
        let moving: Vec<kv::Pair> = self
            .ui
            .iter()
            .filter(|kv| kv.as_ref().map_or(true, |(k, _)| is_user_key(&String::from_utf8_lossy(k))))
            .collect::<std::result::Result<_, _>>()?;
        for (k, v) in &moving {
            self.user.insert(k, v)?;
        }
        self.user.flush()?;
        self.meta.insert(b"schema_version", &2u32.to_be_bytes())?;
        self.meta.flush()?;
        for (k, _) in &moving {
            self.ui.remove(k)?;
        }
        tracing::info!(moved = moving.len(), "store migrated to schema 2 (user data in its own tree)");
        Ok(())
    }

    pub fn schema_version(&self) -> Result<u32> {
        let v = self
            .meta
            .get(b"schema_version")?
            .ok_or(StoreError::Corrupt { tree: "meta", what: "missing schema_version".into() })?;
        be_u32(&v).ok_or(StoreError::Corrupt { tree: "meta", what: "schema_version".into() })
    }

    /// The event epoch of this database (changes only if history is reset).
    pub fn epoch(&self) -> Result<u64> {
        let v = self.meta.get(b"epoch")?.ok_or(StoreError::Corrupt { tree: "meta", what: "missing epoch".into() })?;
        let b: [u8; 8] =
            v.as_slice().try_into().map_err(|_| StoreError::Corrupt { tree: "meta", what: "epoch".into() })?;
        Ok(u64::from_be_bytes(b))
    }

    fn load_dict(&self) -> Result<()> {
        let mut d = self.dict.lock().unwrap_or_else(|p| p.into_inner());
        for kv in self.metrics.scan_prefix(&[DICT_PREFIX]) {
            let (k, v) = kv?;
            let name = String::from_utf8_lossy(&k[1..]).into_owned();
            let id = be_u16(&v).ok_or(StoreError::Corrupt { tree: "metrics", what: format!("id of {name}") })?;
            let idx = usize::from(id);
            if d.names.len() <= idx {
                d.names.resize(idx + 1, String::new());
            }
            d.names[idx] = name.clone();
            d.ids.insert(name, id);
        }
        Ok(())
    }

    fn series_id(&self, name: &str) -> Result<u16> {
        let mut d = self.dict.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&id) = d.ids.get(name) {
            return Ok(id);
        }
        let id = u16::try_from(d.names.len())
            .map_err(|_| StoreError::Corrupt { tree: "metrics", what: "more than 65535 series".into() })?;
        let mut key = vec![DICT_PREFIX];
        key.extend_from_slice(name.as_bytes());
        self.metrics.insert(&key, &id.to_be_bytes())?;
        d.names.push(name.to_string());
        d.ids.insert(name.to_string(), id);
        Ok(id)
    }

    /// Write one row of tier `tier` at `slot`.
    pub fn write_metrics_row(&self, tier: u8, slot: i64, values: &[(String, f32)]) -> Result<()> {
        let mut val = Vec::with_capacity(2 + values.len() * 6);
        val.extend_from_slice(&(values.len() as u16).to_be_bytes());
        for (name, v) in values {
            val.extend_from_slice(&self.series_id(name)?.to_be_bytes());
            val.extend_from_slice(&v.to_be_bytes());
        }
        self.metrics.insert(&row_key(tier, slot), &val)?;
        Ok(())
    }

    /// Rows of `tier` with `slot >= from`, ascending.
    pub fn read_metrics_rows(&self, tier: u8, from: i64) -> Result<Vec<Row>> {
        let d = self.dict.lock().unwrap_or_else(|p| p.into_inner());
        let mut rows = Vec::new();
        for kv in self.metrics.range(Included(&row_key(tier, from)), Excluded(&row_key(tier, i64::MAX))) {
            let (k, v) = kv?;
            let slot = key_slot(&k).ok_or(StoreError::Corrupt { tree: "metrics", what: "row key".into() })?;
            rows.push((
                slot,
                decode_row(&v, &d.names)
                    .ok_or(StoreError::Corrupt { tree: "metrics", what: format!("row at slot {slot}") })?,
            ));
        }
        Ok(rows)
    }

    /// Delete rows of `tier` older than `before`; returns how many.
    pub fn prune_metrics(&self, tier: u8, before: i64) -> Result<usize> {
        let mut batch = Batch::default();
        let mut n = 0;
        for kv in self.metrics.range(Included(&row_key(tier, i64::MIN)), Excluded(&row_key(tier, before))) {
            batch.remove(kv?.0);
            n += 1;
        }
        self.metrics.apply(batch)?;
        Ok(n)
    }

    /// Delete rows of `tier` at slots after `after` (stamped in the future,
    /// before the clock stepped back); returns how many.
    pub fn delete_metrics_after(&self, tier: u8, after: i64) -> Result<usize> {
        let Some(from) = after.checked_add(1) else { return Ok(0) };
        let mut batch = Batch::default();
        let mut n = 0;
        for kv in self.metrics.range(Included(&row_key(tier, from)), Included(&row_key(tier, i64::MAX))) {
            batch.remove(kv?.0);
            n += 1;
        }
        self.metrics.apply(batch)?;
        Ok(n)
    }

    /// Append events to the log as one chunk: key = first seq, last seq
    /// (big-endian), value = the JSON array of envelopes. One write per batch
    /// keeps the per-event cost at a JSON encode.
    pub fn append_events(&self, envs: &[std::sync::Arc<crate::protocol::Envelope>]) -> Result<()> {
        let (Some(first), Some(last)) = (envs.first(), envs.last()) else { return Ok(()) };
        let refs: Vec<&crate::protocol::Envelope> = envs.iter().map(|e| &**e).collect();
        let json =
            serde_json::to_vec(&refs).map_err(|e| StoreError::Corrupt { tree: "events", what: e.to_string() })?;
        self.events.insert(&chunk_key(first.seq, last.seq), &json)?;
        Ok(())
    }

    /// Events with `from <= seq <= to`, ascending.
    pub fn events_between(&self, from: u64, to: u64) -> Result<Vec<crate::protocol::Envelope>> {
        let mut out = Vec::new();
        if from > to {
            return Ok(out);
        }
        // Start at the chunk that begins at or before `from`.
        let start = match self.events.range(Unbounded, Included(&chunk_key(from, u64::MAX))).next_back() {
            Some(kv) => kv?.0,
            None => chunk_key(from, 0).to_vec(),
        };
        for kv in self.events.range(Included(&start), Unbounded) {
            let (k, v) = kv?;
            let (first, last) =
                chunk_bounds(&k).ok_or(StoreError::Corrupt { tree: "events", what: "chunk key".into() })?;
            if first > to {
                break;
            }
            if last < from {
                continue;
            }
            let chunk: Vec<crate::protocol::Envelope> =
                serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt { tree: "events", what: e.to_string() })?;
            out.extend(chunk.into_iter().filter(|e| e.seq >= from && e.seq <= to));
        }
        Ok(out)
    }

    /// (oldest, newest) seq in the log.
    pub fn event_bounds(&self) -> Result<Option<(u64, u64)>> {
        let first = self.events.first()?.and_then(|(k, _)| chunk_bounds(&k));
        let last = self.events.last()?.and_then(|(k, _)| chunk_bounds(&k));
        Ok(first.zip(last).map(|(a, b)| (a.0, b.1)))
    }

    /// Drop whole chunks older than the newest `keep` events; returns how many chunks.
    pub fn prune_events(&self, keep: u64) -> Result<usize> {
        let Some((_, newest)) = self.event_bounds()? else { return Ok(0) };
        let cut = newest.saturating_sub(keep.saturating_sub(1));
        let mut batch = Batch::default();
        let mut n = 0;
        for kv in self.events.iter() {
            let k = kv?.0;
            match chunk_bounds(&k) {
                Some((_, last)) if last < cut => {
                    batch.remove(k);
                    n += 1;
                }
                _ => break,
            }
        }
        self.events.apply(batch)?;
        Ok(n)
    }

    /// The alert engine's state (alerts, silences, disabled rules) as one JSON record.
    pub fn alerts_state(&self) -> Result<Option<serde_json::Value>> {
        match self.alerts.get(b"state")? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| StoreError::Corrupt { tree: "alerts", what: e.to_string() }),
        }
    }

    /// The alert engine's state record as stored (JSON bytes), if any.
    pub fn alerts_state_raw(&self) -> Result<Option<Vec<u8>>> {
        self.alerts.get(b"state")
    }

    /// Keep a state record that cannot be read under a key of its own (it is
    /// never overwritten or deleted by opsdeck); returns where it went.
    pub fn set_aside_alerts_state(&self, bytes: &[u8]) -> Result<String> {
        let key = format!("state.unreadable.{}", self.db.generate_id()?);
        self.alerts.insert(key.as_bytes(), bytes)?;
        self.alerts.flush()?;
        Ok(format!("alerts/{key}"))
    }

    /// Keys of the alert tree other than transitions (tests, `doctor`-style listings).
    pub fn alerts_keys(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for kv in self.alerts.iter() {
            let k = kv?.0;
            // Not the timeline: transitions (`t…`) and delivery attempts (`d…`).
            if !k.starts_with(b"t") && !k.starts_with(b"d") {
                out.push(String::from_utf8_lossy(&k).into_owned());
            }
        }
        Ok(out)
    }

    /// Replace the alert engine's state record with `state` (its JSON encoding).
    pub fn put_alerts_state(&self, state: &[u8]) -> Result<()> {
        self.alerts.insert(b"state", state)?;
        self.alerts.flush()?;
        Ok(())
    }

    /// Append alert transitions (key `t` + time + a unique id, so they scan in time order).
    pub fn append_transitions(&self, ts: &[crate::protocol::alerts::Transition]) -> Result<()> {
        self.append_timeline(b"t", ts.iter().map(|t| (t.at, t)))
    }

    /// The newest `n` transitions, oldest first.
    pub fn transitions(&self, n: usize) -> Result<Vec<crate::protocol::alerts::Transition>> {
        self.timeline(b"t", n)
    }

    /// Keep the newest `keep` transitions.
    pub fn prune_transitions(&self, keep: usize) -> Result<usize> {
        self.prune_timeline(b"t", keep)
    }

    /// Small UI preferences (window, sort…), as opaque bytes.
    /// A UI record: a preference, or (for the keys of user data) a record
    /// of the `user` tree.
    pub fn ui_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.ui_tree(key).get(key.as_bytes())
    }

    fn ui_tree(&self, key: &str) -> &dyn Tree {
        if is_user_key(key) { &*self.user } else { &*self.ui }
    }

    /// Every key of the UI records (preferences and user data).
    pub fn ui_keys(&self) -> Result<Vec<String>> {
        self.ui.iter().chain(self.user.iter()).map(|kv| Ok(String::from_utf8_lossy(&kv?.0).into_owned())).collect()
    }

    pub fn ui_put(&self, key: &str, value: &[u8]) -> Result<()> {
        self.ui_tree(key).insert(key.as_bytes(), value)?;
        Ok(())
    }

    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }
}

fn row_key(tier: u8, slot: i64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = tier;
    // flip the sign bit so negative slots sort before positive ones
    k[1..].copy_from_slice(&((slot as u64) ^ (1 << 63)).to_be_bytes());
    k
}

fn key_slot(k: &[u8]) -> Option<i64> {
    let b: [u8; 8] = k.get(1..9)?.try_into().ok()?;
    Some((u64::from_be_bytes(b) ^ (1 << 63)) as i64)
}

fn decode_row(v: &[u8], names: &[String]) -> Option<Vec<(String, f32)>> {
    let n = usize::from(be_u16(v.get(0..2)?)?);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let at = 2 + i * 6;
        let id = usize::from(be_u16(v.get(at..at + 2)?)?);
        let val = f32::from_be_bytes(v.get(at + 2..at + 6)?.try_into().ok()?);
        out.push((names.get(id)?.clone(), val));
    }
    Some(out)
}

fn be_u16(b: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(b.try_into().ok()?))
}

fn chunk_key(first: u64, last: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&first.to_be_bytes());
    k[8..].copy_from_slice(&last.to_be_bytes());
    k
}

fn chunk_bounds(k: &[u8]) -> Option<(u64, u64)> {
    Some((u64::from_be_bytes(k.get(..8)?.try_into().ok()?), u64::from_be_bytes(k.get(8..16)?.try_into().ok()?)))
}

fn be_u32(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.try_into().ok()?))
}

#[cfg(test)]
mod tests;
