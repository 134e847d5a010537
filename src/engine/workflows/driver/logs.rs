//! A run's step logs: kept in memory (head and tail under byte caps),
//! published to subscribers in batches, and written to the store when they
//! changed.

use tokio::sync::mpsc;

use super::Driver;
use crate::engine::workflows::output::{StepLog, mask};

/// Lines per `step_output` event at most.
const OUTPUT_BATCH: usize = 512;

/// A step's log in memory (head and tail under byte caps) and whether it
/// changed since it was last written.
#[derive(Default)]
pub(super) struct Log {
    kept: StepLog,
    dirty: bool,
}

impl Log {
    pub(super) fn push(&mut self, line: String) {
        self.kept.push(&line);
        self.dirty = true;
    }

    pub(super) fn lines(&self) -> Vec<String> {
        self.kept.lines().map(|l| l.into_owned()).collect()
    }
}

impl Driver {
    pub(super) fn line(&mut self, i: usize, line: String) {
        let line = if self.secrets.is_empty() { line } else { mask(&line, &self.secrets) };
        self.logs[i].push(line.clone());
        self.ctx.output(&self.run, &self.steps[i].id, vec![line]);
    }

    /// Take every line waiting, publishing them in batches per step.
    pub(super) fn drain_lines(&mut self, rx: &mut mpsc::Receiver<(usize, String)>) {
        let mut batch: Vec<(usize, Vec<String>)> = Vec::new();
        let mut taken = 0;
        while taken < 8 * OUTPUT_BATCH {
            let Ok((i, line)) = rx.try_recv() else { break };
            taken += 1;
            let line = if self.secrets.is_empty() { line } else { mask(&line, &self.secrets) };
            self.logs[i].push(line.clone());
            match batch.last_mut() {
                Some((j, lines)) if *j == i && lines.len() < OUTPUT_BATCH => lines.push(line),
                _ => batch.push((i, vec![line])),
            }
        }
        for (i, lines) in batch {
            self.ctx.output(&self.run, &self.steps[i].id, lines);
        }
    }

    pub(super) fn flush_log(&mut self, i: usize) {
        if self.logs[i].dirty {
            self.logs[i].dirty = false;
            self.ctx.save_log(&self.run, i, &self.logs[i].lines());
        }
    }

    pub(super) fn flush_logs(&mut self) {
        for i in 0..self.logs.len() {
            self.flush_log(i);
        }
    }
}
