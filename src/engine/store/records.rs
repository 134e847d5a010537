//! Records kept one per key — command results, backends' outboxes, the tool
//! history — each typed and versioned, decoded one at a time: a record this
//! build cannot read is set aside in the `unreadable` tree (never
//! overwritten, never pruned), reported once, and the rest are read as usual.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::kv::Batch;
use super::{Result, Store, StoreError};
use crate::protocol::Command;
use crate::protocol::tools::ToolRun;

/// Version of the outbox records this build writes (`{"version":1,"id","command"}`;
/// version 0 is the bare `[id, command]` pair of earlier builds).
pub const OUTBOX_RECORD_VERSION: u32 = 1;
/// Version of the tool-history records this build writes (a [`ToolRun`] with
/// `"version":1`; version 0 is the same record without it).
pub const TOOL_RUN_RECORD_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct OutboxRecord {
    version: u32,
    id: String,
    command: Command,
}

/// A queued command from its stored bytes, whatever version wrote it.
fn decode_outbox(bytes: &[u8]) -> std::result::Result<(String, Command), String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    if v.is_array() {
        return serde_json::from_value(v).map_err(|e| format!("version 0: {e}"));
    }
    let version = v.get("version").and_then(Value::as_u64).unwrap_or(0);
    if version > u64::from(OUTBOX_RECORD_VERSION) {
        return Err(format!(
            "version {version}, written by a newer opsdeck (this build reads up to {OUTBOX_RECORD_VERSION})"
        ));
    }
    let r: OutboxRecord = serde_json::from_value(v).map_err(|e| format!("version {version}: {e}"))?;
    Ok((r.id, r.command))
}

/// A tool run from its stored bytes, whatever version wrote it.
fn decode_tool_run(bytes: &[u8]) -> std::result::Result<ToolRun, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let version = v.get("version").and_then(Value::as_u64).unwrap_or(0);
    if version > u64::from(TOOL_RUN_RECORD_VERSION) {
        return Err(format!(
            "version {version}, written by a newer opsdeck (this build reads up to {TOOL_RUN_RECORD_VERSION})"
        ));
    }
    serde_json::from_value(v).map_err(|e| format!("version {version}: {e}"))
}

/// A record set aside, as the `unreadable` tree keeps it.
#[derive(Serialize, Deserialize)]
struct SetAside {
    /// The tree it came from.
    tree: String,
    /// Its key there, in hex.
    key: String,
    /// Why it could not be read.
    why: String,
    /// The record as it was stored.
    record: String,
}

const REPORTED: &[u8] = b"unreadable_reported";

impl Store {
    /// Forget all but the `keep` newest command results (by insertion order).
    /// A command id replayed after that runs again; `keep` is far more than
    /// any client's outbox holds. Returns how many were removed.
    pub fn prune_commands(&self, keep: usize) -> Result<usize> {
        if self.commands.len() <= keep {
            return Ok(0);
        }
        let mut order: Vec<(u64, Vec<u8>)> = Vec::with_capacity(self.commands.len());
        for kv in self.commands.iter() {
            let (k, v) = kv?;
            let at = v.get(..8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_be_bytes);
            order.push((at, k));
        }
        order.sort_unstable_by_key(|(at, _)| *at);
        let cut = order.len().saturating_sub(keep);
        let mut batch = Batch::default();
        for (_, k) in order.into_iter().take(cut) {
            batch.remove(k);
        }
        self.commands.apply(batch)?;
        Ok(cut)
    }

    /// The stored result of command `id`, if it already ran.
    pub fn command_result(&self, id: &str) -> Result<Option<Value>> {
        let Some(v) = self.commands.get(id.as_bytes())? else { return Ok(None) };
        // value: 8 bytes of insertion order (for pruning), then JSON
        let json = v.get(8..).ok_or(StoreError::Corrupt { tree: "commands", what: id.into() })?;
        serde_json::from_slice(json)
            .map(Some)
            .map_err(|e| StoreError::Corrupt { tree: "commands", what: e.to_string() })
    }

    /// Remember the result of command `id` (durably) so a replay gets it back.
    pub fn put_command_result(&self, id: &str, result: &Value) -> Result<()> {
        let order = self.db.generate_id()?;
        let mut v = order.to_be_bytes().to_vec();
        v.extend(
            serde_json::to_vec(result).map_err(|e| StoreError::Corrupt { tree: "commands", what: e.to_string() })?,
        );
        self.commands.insert(id.as_bytes(), &v)?;
        self.commands.flush()?;
        Ok(())
    }

    /// Queue a command for backend `source` (durably): key = source, 0, order.
    pub fn outbox_push(&self, source: &str, id: &str, command: &Command) -> Result<()> {
        let mut key = outbox_prefix(source);
        key.extend(self.db.generate_id()?.to_be_bytes());
        let record = OutboxRecord { version: OUTBOX_RECORD_VERSION, id: id.into(), command: command.clone() };
        let val =
            serde_json::to_vec(&record).map_err(|e| StoreError::Corrupt { tree: "outbox", what: e.to_string() })?;
        self.outbox.insert(&key, &val)?;
        self.outbox.flush()?;
        Ok(())
    }

    /// Commands queued for `source`, oldest first, as `(id, command)`. One
    /// this build cannot read is set aside (see [`Store::unreadable_report`])
    /// and the others are delivered.
    pub fn outbox_list(&self, source: &str) -> Result<Vec<(String, Command)>> {
        let mut out = Vec::new();
        for kv in self.outbox.scan_prefix(&outbox_prefix(source)) {
            let (k, v) = kv?;
            match decode_outbox(&v) {
                Ok(queued) => out.push(queued),
                Err(why) => self.set_aside("outbox", &k, &v, &format!("a command queued for {source}: {why}"))?,
            }
        }
        Ok(out)
    }

    /// Drop the queued command `id` of `source` (answered); true if it was there.
    pub fn outbox_remove(&self, source: &str, id: &str) -> Result<bool> {
        for kv in self.outbox.scan_prefix(&outbox_prefix(source)) {
            let (k, v) = kv?;
            if decode_outbox(&v).is_ok_and(|(qid, _)| qid == id) {
                self.outbox.remove(&k)?;
                self.outbox.flush()?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Record a tool run (key: start time, big-endian, then a unique id).
    pub fn record_tool_run(&self, run: &ToolRun) -> Result<()> {
        let mut key = run.started.to_be_bytes().to_vec();
        key.extend(self.db.generate_id()?.to_be_bytes());
        let mut v =
            serde_json::to_value(run).map_err(|e| StoreError::Corrupt { tree: "tool_history", what: e.to_string() })?;
        if let Some(o) = v.as_object_mut() {
            o.insert("version".into(), TOOL_RUN_RECORD_VERSION.into());
        }
        let bytes =
            serde_json::to_vec(&v).map_err(|e| StoreError::Corrupt { tree: "tool_history", what: e.to_string() })?;
        self.tool_runs.insert(&key, &bytes)?;
        self.tool_runs.flush()?;
        Ok(())
    }

    /// The newest `n` tool runs, newest first. A record this build cannot
    /// read is set aside and the rest are read.
    pub fn tool_runs(&self, n: usize) -> Result<Vec<ToolRun>> {
        let mut out = Vec::new();
        for kv in self.tool_runs.iter().rev() {
            if out.len() == n {
                break;
            }
            let (k, v) = kv?;
            match decode_tool_run(&v) {
                Ok(run) => out.push(run),
                Err(why) => self.set_aside("tool_history", &k, &v, &format!("a tool run in the history: {why}"))?,
            }
        }
        Ok(out)
    }

    /// Keep the newest `keep` tool runs; returns how many were removed.
    pub fn prune_tool_runs(&self, keep: usize) -> Result<usize> {
        let total = self.tool_runs.len();
        let mut batch = Batch::default();
        let mut n = 0;
        for kv in self.tool_runs.iter().take(total.saturating_sub(keep)) {
            batch.remove(kv?.0);
            n += 1;
        }
        self.tool_runs.apply(batch)?;
        Ok(n)
    }

    /// Move the record at `key` of `tree` to the `unreadable` tree (kept
    /// whole, never overwritten or pruned) and take it out of `tree`.
    pub(super) fn set_aside(&self, tree: &str, key: &[u8], bytes: &[u8], why: &str) -> Result<()> {
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        let record = SetAside {
            tree: tree.into(),
            key: hex,
            why: why.into(),
            record: String::from_utf8_lossy(bytes).into_owned(),
        };
        let value =
            serde_json::to_vec(&record).map_err(|e| StoreError::Corrupt { tree: "unreadable", what: e.to_string() })?;
        let at = self.db.generate_id()?;
        self.unreadable.insert(&at.to_be_bytes(), &value)?;
        self.unreadable.flush()?;
        let source = match tree {
            "outbox" => &self.outbox,
            "tool_history" => &self.tool_runs,
            "chat" => &self.chat,
            "runs" | "run_steps" => return self.runs.remove(tree, key),
            _ => return Err(StoreError::Corrupt { tree: "unreadable", what: format!("no tree {tree}") }),
        };
        source.remove(key)?;
        tracing::warn!(tree, "set aside an unreadable record: {why}");
        Ok(())
    }

    /// How many records of `tree` have been set aside (ever: the
    /// `unreadable` tree is never pruned).
    pub fn unreadable_count(&self, tree: &str) -> Result<usize> {
        let mut n = 0;
        for kv in self.unreadable.iter() {
            let (_, v) = kv?;
            n += usize::from(serde_json::from_slice::<SetAside>(&v).is_ok_and(|r| r.tree == tree));
        }
        Ok(n)
    }

    /// What was set aside since the last report, one line each, marked as
    /// reported (so it is said once, at the next start).
    pub fn unreadable_report(&self) -> Result<Vec<String>> {
        // Ids start at 0: with nothing reported yet, the first record is new too.
        let after = self.meta.get(REPORTED)?;
        let from = match &after {
            Some(k) => std::ops::Bound::Excluded(k.as_slice()),
            None => std::ops::Bound::Unbounded,
        };
        let mut lines = Vec::new();
        let mut newest = None;
        for kv in self.unreadable.range(from, std::ops::Bound::Unbounded) {
            let (k, v) = kv?;
            newest = Some(k);
            let line = match serde_json::from_slice::<SetAside>(&v) {
                Ok(r) => format!(
                    "{} cannot be read ({}); it is kept in the data directory's unreadable records",
                    r.why, r.tree
                ),
                Err(_) => {
                    "a record set aside cannot be described; it is kept in the data directory's unreadable records"
                        .into()
                }
            };
            lines.push(line);
        }
        if let Some(k) = newest {
            self.meta.insert(REPORTED, &k)?;
        }
        Ok(lines)
    }
}

/// Keys of `source`'s outbox start with its name and a 0 byte.
fn outbox_prefix(source: &str) -> Vec<u8> {
    let mut prefix = source.as_bytes().to_vec();
    prefix.push(0);
    prefix
}
