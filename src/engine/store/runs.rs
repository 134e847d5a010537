//! Workflow runs on disk (DESIGN.md §6, issue 12). Five trees:
//!
//! - `runs`: key run id (u64 BE) + attempt (u32 BE) → a [`Run`] header
//!   (`{"version":1, …}`);
//! - `run_steps`: run id + attempt + step index (u16 BE) → a [`StepRun`];
//! - `run_active`: run id + attempt → nothing, for every attempt whose header
//!   is active, so start-up finds the runs to mark interrupted without
//!   reading every run;
//! - `run_logs`: run id + attempt + step index → a step's capped log;
//! - `workflow_versions`: workflow name, 0, version → `{first_seen, text}`.
//!
//! A header or step this build cannot read is set aside in `unreadable`
//! (records.rs) and the rest are read as usual. Writes are not flushed one by
//! one: the engine's group commit (log.rs) makes them durable with the events
//! that announce them.

use std::ops::Bound;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::kv::{Batch, Db, Tree};
use super::{Result, Store, StoreError};
use crate::protocol::Ts;
use crate::protocol::workflow::{Run, RunId, RunState, StepRun};

/// Version of the run and step records this build writes.
pub const RUN_RECORD_VERSION: u32 = 1;

/// The trees of the runs.
pub(super) struct RunTrees {
    runs: std::sync::Arc<dyn Tree>,
    steps: std::sync::Arc<dyn Tree>,
    active: std::sync::Arc<dyn Tree>,
    logs: std::sync::Arc<dyn Tree>,
    versions: std::sync::Arc<dyn Tree>,
    /// Workflow name → the last time its schedule was looked at (Unix ms, BE).
    schedules: std::sync::Arc<dyn Tree>,
}

impl RunTrees {
    pub(super) fn open(db: &dyn Db) -> Result<RunTrees> {
        Ok(RunTrees {
            runs: db.open_tree("runs")?,
            steps: db.open_tree("run_steps")?,
            active: db.open_tree("run_active")?,
            logs: db.open_tree("run_logs")?,
            versions: db.open_tree("workflow_versions")?,
            schedules: db.open_tree("workflow_schedules")?,
        })
    }
}

impl RunTrees {
    /// Remove a record that was set aside.
    pub(super) fn remove(&self, tree: &str, key: &[u8]) -> Result<()> {
        match tree {
            "runs" => {
                self.runs.remove(key)?;
                self.active.remove(key)
            }
            _ => self.steps.remove(key),
        }
    }
}

fn run_key(run: RunId, attempt: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&run.to_be_bytes());
    k[8..].copy_from_slice(&attempt.to_be_bytes());
    k
}

fn step_key(run: RunId, attempt: u32, index: u16) -> [u8; 14] {
    let mut k = [0u8; 14];
    k[..12].copy_from_slice(&run_key(run, attempt));
    k[12..].copy_from_slice(&index.to_be_bytes());
    k
}

fn version_key(workflow: &str, version: &str) -> Vec<u8> {
    let mut k = workflow.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(version.as_bytes());
    k
}

#[derive(Serialize)]
struct Versioned<'a, T> {
    version: u32,
    #[serde(flatten)]
    record: &'a T,
}

fn encode<T: Serialize>(tree: &'static str, record: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(&Versioned { version: RUN_RECORD_VERSION, record })
        .map_err(|e| StoreError::Corrupt { tree, what: e.to_string() })
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> std::result::Result<T, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let version = v.get("version").and_then(Value::as_u64).unwrap_or(0);
    if version > u64::from(RUN_RECORD_VERSION) {
        return Err(format!(
            "version {version}, written by a newer opsdeck (this build reads up to {RUN_RECORD_VERSION})"
        ));
    }
    serde_json::from_value(v).map_err(|e| format!("version {version}: {e}"))
}

/// A stored version of a workflow file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredVersion {
    pub version: String,
    /// When this content was first read (Unix ms).
    pub first_seen: Ts,
    pub text: String,
}

impl Store {
    /// The number the next run gets (1 for the first): one above the highest stored.
    pub fn next_run_id(&self) -> Result<RunId> {
        let last = self.runs.runs.last()?;
        Ok(last.and_then(|(k, _)| k.get(..8).and_then(|b| b.try_into().ok())).map_or(0, u64::from_be_bytes) + 1)
    }

    /// Write a run's header (and keep the active index true). Not flushed:
    /// see the module doc.
    pub fn put_run(&self, run: &Run) -> Result<()> {
        let key = run_key(run.id, run.attempt);
        self.runs.runs.insert(&key, &encode("runs", run)?)?;
        if run.state.is_active() {
            self.runs.active.insert(&key, &[])?;
        } else {
            self.runs.active.remove(&key)?;
        }
        Ok(())
    }

    /// Write one step of a run's attempt (`index` in the definition's order).
    pub fn put_step(&self, run: RunId, attempt: u32, index: u16, step: &StepRun) -> Result<()> {
        self.runs.steps.insert(&step_key(run, attempt, index), &encode("run_steps", step)?)
    }

    /// One attempt's header; `None` if there is none (or it is unreadable: set aside).
    pub fn run(&self, run: RunId, attempt: u32) -> Result<Option<Run>> {
        let key = run_key(run, attempt);
        let Some(bytes) = self.runs.runs.get(&key)? else { return Ok(None) };
        match decode::<Run>(&bytes) {
            Ok(r) => Ok(Some(r)),
            Err(why) => {
                self.set_aside("runs", &key, &bytes, &why)?;
                Ok(None)
            }
        }
    }

    /// The newest attempt of a run.
    pub fn latest_attempt(&self, run: RunId) -> Result<Option<Run>> {
        let prefix = run.to_be_bytes();
        let last = self.runs.runs.scan_prefix(&prefix).next_back().transpose()?;
        match last {
            None => Ok(None),
            Some((k, _)) => {
                let attempt = k.get(8..12).and_then(|b| b.try_into().ok()).map_or(0, u32::from_be_bytes);
                self.run(run, attempt)
            }
        }
    }

    /// Every attempt of a run, the first first.
    pub fn attempts(&self, run: RunId) -> Result<Vec<Run>> {
        let mut out = Vec::new();
        for kv in self.runs.runs.scan_prefix(&run.to_be_bytes()) {
            let (k, v) = kv?;
            match decode::<Run>(&v) {
                Ok(r) => out.push(r),
                Err(why) => self.set_aside("runs", &k, &v, &why)?,
            }
        }
        Ok(out)
    }

    /// An attempt's steps in index order (an unreadable one is set aside and left out).
    pub fn steps(&self, run: RunId, attempt: u32) -> Result<Vec<(u16, StepRun)>> {
        let mut out = Vec::new();
        for kv in self.runs.steps.scan_prefix(&run_key(run, attempt)) {
            let (k, v) = kv?;
            let index = k.get(12..14).and_then(|b| b.try_into().ok()).map_or(0, u16::from_be_bytes);
            match decode::<StepRun>(&v) {
                Ok(s) => out.push((index, s)),
                Err(why) => self.set_aside("run_steps", &k, &v, &why)?,
            }
        }
        Ok(out)
    }

    /// The latest attempts' headers, newest run first: at most `limit` runs
    /// numbered below `before` that match `keep`. Reads only as far as needed.
    pub fn list_runs(&self, before: Option<RunId>, limit: usize, keep: impl Fn(&Run) -> bool) -> Result<Vec<Run>> {
        let hi = before.map(|b| b.to_be_bytes().to_vec());
        let upper = match &hi {
            Some(h) => Bound::Excluded(h.as_slice()),
            None => Bound::Unbounded,
        };
        let mut out: Vec<Run> = Vec::new();
        let mut last_id = None;
        for kv in self.runs.runs.range(Bound::Unbounded, upper).rev() {
            if out.len() >= limit {
                break;
            }
            let (k, v) = kv?;
            let id = k.get(..8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_be_bytes);
            if last_id == Some(id) {
                continue; // an older attempt of a run already seen
            }
            last_id = Some(id);
            match decode::<Run>(&v) {
                Ok(r) if keep(&r) => out.push(r),
                Ok(_) => {}
                Err(why) => self.set_aside("runs", &k, &v, &why)?,
            }
        }
        Ok(out)
    }

    /// Headers of every attempt recorded as active (what start-up marks interrupted).
    pub fn active_runs(&self) -> Result<Vec<Run>> {
        let mut keys = Vec::new();
        for kv in self.runs.active.iter() {
            keys.push(kv?.0);
        }
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            let run = k.get(..8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_be_bytes);
            let attempt = k.get(8..12).and_then(|b| b.try_into().ok()).map_or(0, u32::from_be_bytes);
            match self.run(run, attempt)? {
                Some(r) if r.state.is_active() => out.push(r),
                _ => self.runs.active.remove(&k)?,
            }
        }
        Ok(out)
    }

    /// Replace a step's stored log (`lines`, already capped by the caller).
    pub fn put_step_log(&self, run: RunId, attempt: u32, index: u16, lines: &[String]) -> Result<()> {
        let bytes =
            serde_json::to_vec(lines).map_err(|e| StoreError::Corrupt { tree: "run_logs", what: e.to_string() })?;
        self.runs.logs.insert(&step_key(run, attempt, index), &bytes)
    }

    /// A step's stored log (empty if it printed nothing).
    pub fn step_log(&self, run: RunId, attempt: u32, index: u16) -> Result<Vec<String>> {
        let Some(bytes) = self.runs.logs.get(&step_key(run, attempt, index))? else { return Ok(Vec::new()) };
        serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt { tree: "run_logs", what: e.to_string() })
    }

    /// Remember a workflow file's content as a version (once: the first-seen time stays).
    pub fn put_workflow_version(&self, workflow: &str, version: &str, text: &str, now: Ts) -> Result<()> {
        let key = version_key(workflow, version);
        if self.runs.versions.get(&key)?.is_some() {
            return Ok(());
        }
        let v = StoredVersion { version: version.into(), first_seen: now, text: text.into() };
        let bytes = serde_json::to_vec(&v)
            .map_err(|e| StoreError::Corrupt { tree: "workflow_versions", what: e.to_string() })?;
        self.runs.versions.insert(&key, &bytes)
    }

    /// A stored version of a workflow.
    pub fn workflow_version(&self, workflow: &str, version: &str) -> Result<Option<StoredVersion>> {
        let Some(bytes) = self.runs.versions.get(&version_key(workflow, version))? else { return Ok(None) };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt { tree: "workflow_versions", what: e.to_string() })
    }

    /// Every stored version of a workflow, oldest first.
    pub fn workflow_versions(&self, workflow: &str) -> Result<Vec<StoredVersion>> {
        let mut prefix = workflow.as_bytes().to_vec();
        prefix.push(0);
        let mut out = Vec::new();
        for kv in self.runs.versions.scan_prefix(&prefix) {
            let (_, v) = kv?;
            if let Ok(s) = serde_json::from_slice::<StoredVersion>(&v) {
                out.push(s);
            }
        }
        out.sort_by_key(|v| v.first_seen);
        Ok(out)
    }

    /// Delete ended runs (every attempt, steps and logs) of which `drop` says
    /// so, given each run's latest attempt. Returns how many runs went.
    pub fn prune_runs(&self, mut drop: impl FnMut(&Run) -> bool) -> Result<usize> {
        let mut gone = Vec::new();
        let mut last_id = None;
        for kv in self.runs.runs.iter().rev() {
            let (k, v) = kv?;
            let id = k.get(..8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_be_bytes);
            if last_id == Some(id) {
                continue;
            }
            last_id = Some(id);
            if let Ok(r) = decode::<Run>(&v)
                && !r.state.is_active()
                && drop(&r)
            {
                gone.push(id);
            }
        }
        for id in &gone {
            let prefix = id.to_be_bytes();
            for tree in [&self.runs.runs, &self.runs.steps, &self.runs.logs, &self.runs.active] {
                let mut batch = Batch::default();
                for kv in tree.scan_prefix(&prefix) {
                    batch.remove(kv?.0);
                }
                tree.apply(batch)?;
            }
        }
        Ok(gone.len())
    }

    /// When `workflow`'s schedule was last looked at (Unix ms).
    pub fn schedule_seen(&self, workflow: &str) -> Result<Option<Ts>> {
        let v = self.runs.schedules.get(workflow.as_bytes())?;
        Ok(v.and_then(|b| b.as_slice().try_into().ok()).map(i64::from_be_bytes))
    }

    /// Remember when `workflow`'s schedule was last looked at.
    pub fn put_schedule_seen(&self, workflow: &str, at: Ts) -> Result<()> {
        self.runs.schedules.insert(workflow.as_bytes(), &at.to_be_bytes())
    }

    /// How many run attempts are stored.
    pub fn run_count(&self) -> usize {
        self.runs.runs.len()
    }
}

/// `true` when `state` is one of `states` (or `states` is empty).
pub fn state_in(state: RunState, states: &[RunState]) -> bool {
    states.is_empty() || states.contains(&state)
}
