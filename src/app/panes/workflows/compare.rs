//! Two runs side by side (issue 12, pane 2): their headers, inputs, step
//! outcomes with durations and the change between them, and each step's
//! results. One row is one line of the view, so the reducer can scroll it;
//! rows that differ say so (`differs`), the view marks them with a symbol.

use serde_json::Value;

use super::{WfRun, WorkflowsState};
use crate::app::BoxId;
use crate::protocol::workflow::{Run, RunId, RunState, StepRun, Trigger};

/// The comparison shown in the compare box: older run left, newer right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compare {
    pub left: (String, RunId),
    pub right: (String, RunId),
    /// Rows scrolled off the top.
    pub scroll: usize,
    /// The box focused before it opened (Esc goes back there).
    pub back: BoxId,
}

/// One side of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Side {
    /// The run has no such input, step or output.
    Absent,
    /// The run's steps are still being read (`show_run`).
    Reading,
    Text(String),
    State(RunState),
    /// A run's duration; on the right, how much longer (+) or shorter than the left.
    Dur {
        ms: Option<i64>,
        delta: Option<i64>,
    },
    /// A step's outcome; on the right, its duration's change from the left.
    Step {
        state: RunState,
        attempt: u32,
        ms: Option<i64>,
        delta: Option<i64>,
        reused: bool,
    },
    /// An input's or an output's value.
    Json(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub enum CmpRow {
    /// A heading: `run`, `inputs`, `steps`, `outputs`.
    Section(&'static str),
    Field {
        label: String,
        left: Side,
        right: Side,
        differs: bool,
    },
}

impl CmpRow {
    fn field(label: impl Into<String>, left: Side, right: Side) -> CmpRow {
        let differs = match (&left, &right) {
            (Side::Reading, _) | (_, Side::Reading) => false,
            (Side::Dur { .. }, Side::Dur { .. }) => false,
            (Side::Step { state: a, .. }, Side::Step { state: b, .. }) => a != b,
            (a, b) => a != b,
        };
        CmpRow::Field { label: label.into(), left, right, differs }
    }

    pub fn differs(&self) -> bool {
        matches!(self, CmpRow::Field { differs: true, .. })
    }
}

/// `#12`, `#12 ·2` for a rerun's attempt; a Prefect run's name.
fn label(r: &Run) -> String {
    r.label()
}

/// `by ana`, `schedule`, `alert disk_full`.
fn trigger(t: &Trigger) -> String {
    match t {
        Trigger::Manual { by } if by.is_empty() => "by hand".into(),
        Trigger::Manual { by } => format!("by {by}"),
        Trigger::Schedule { .. } => "schedule".into(),
        Trigger::Alert { rule } => format!("alert {rule}"),
    }
}

fn step_side(r: &WfRun, id: &str, now: i64, other: Option<&StepRun>) -> Side {
    if !r.steps_loaded {
        return Side::Reading;
    }
    match r.step(id) {
        Some(s) => {
            let ms = s.duration_ms(now);
            let delta = other.and_then(|o| o.duration_ms(now)).zip(ms).map(|(a, b)| b - a);
            Side::Step { state: s.state, attempt: s.attempt, ms, delta, reused: s.reused }
        }
        None => Side::Absent,
    }
}

/// Ids in `right`'s order, then those only `left` has.
fn union<'a>(right: impl Iterator<Item = &'a String>, left: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for id in right.chain(left) {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    ids
}

/// The rows comparing run `a` (left) with run `b` (right) at `now`.
pub fn rows(a: &WfRun, b: &WfRun, now: i64) -> Vec<CmpRow> {
    let (ra, rb) = (&a.run, &b.run);
    let text = |s: String| Side::Text(s);
    let mut v = vec![
        CmpRow::Section("run"),
        // Two runs always differ in their numbers: no mark there.
        CmpRow::Field { label: "run".into(), left: text(label(ra)), right: text(label(rb)), differs: false },
        CmpRow::field("workflow", text(ra.workflow.clone()), text(rb.workflow.clone())),
        CmpRow::field("version", text(ra.version.clone()), text(rb.version.clone())),
        CmpRow::field("trigger", text(trigger(&ra.trigger)), text(trigger(&rb.trigger))),
        CmpRow::field("state", Side::State(ra.state), Side::State(rb.state)),
    ];
    let (da, db) = (ra.duration_ms(now), rb.duration_ms(now));
    let delta = da.zip(db).map(|(x, y)| y - x);
    v.push(CmpRow::field("duration", Side::Dur { ms: da, delta: None }, Side::Dur { ms: db, delta }));
    if ra.error.is_some() || rb.error.is_some() {
        let e = |r: &Option<String>| r.clone().map_or(Side::Absent, Side::Text);
        v.push(CmpRow::field("error", e(&ra.error), e(&rb.error)));
    }
    v.push(CmpRow::Section("inputs"));
    let keys = union(rb.inputs.keys(), ra.inputs.keys());
    let mut sorted = keys.clone();
    sorted.sort();
    for k in sorted {
        let val = |r: &Run| r.inputs.get(&k).cloned().map_or(Side::Absent, Side::Json);
        v.push(CmpRow::field(k.clone(), val(ra), val(rb)));
    }
    v.push(CmpRow::Section("steps"));
    let ids = union(rb.steps.iter(), ra.steps.iter());
    for id in &ids {
        let left = step_side(a, id, now, None);
        let right = step_side(b, id, now, a.step(id).filter(|_| a.steps_loaded));
        v.push(CmpRow::field(id.clone(), left, right));
    }
    v.push(CmpRow::Section("outputs"));
    for id in &ids {
        outputs(&mut v, a, b, id);
    }
    v
}

/// A step's result, named outputs and error, each a row when either run has it.
fn outputs(v: &mut Vec<CmpRow>, a: &WfRun, b: &WfRun, id: &str) {
    let (sa, sb) = (a.step(id), b.step(id));
    let side = |r: &WfRun, s: Option<&StepRun>, pick: &dyn Fn(&StepRun) -> Option<Value>| {
        if !r.steps_loaded {
            return Side::Reading;
        }
        s.and_then(pick).map_or(Side::Absent, Side::Json)
    };
    let mut pair = |label: String, pick: &dyn Fn(&StepRun) -> Option<Value>| {
        let (l, r) = (side(a, sa, pick), side(b, sb, pick));
        if !(matches!(l, Side::Absent | Side::Reading) && matches!(r, Side::Absent | Side::Reading)) {
            v.push(CmpRow::field(label, l, r));
        }
    };
    pair(format!("{id} result"), &|s| s.output.clone().filter(|o| !o.is_null()));
    let names = union(
        sb.map(|s| s.outputs.keys().collect::<Vec<_>>()).unwrap_or_default().into_iter(),
        sa.map(|s| s.outputs.keys().collect::<Vec<_>>()).unwrap_or_default().into_iter(),
    );
    for n in names {
        let key = n.clone();
        pair(format!("{id}.{n}"), &move |s| s.outputs.get(&key).cloned());
    }
    pair(format!("{id} error"), &|s| s.error.clone().map(Value::String));
}

impl WorkflowsState {
    /// The two runs compared, if both are still known.
    pub fn compared(&self) -> Option<(&WfRun, &WfRun)> {
        let c = self.compare.as_ref()?;
        Some((self.find(&c.left.0, c.left.1)?, self.find(&c.right.0, c.right.1)?))
    }

    /// The comparison's rows (empty when a run is no longer known).
    pub fn compare_rows(&self, now: i64) -> Vec<CmpRow> {
        self.compared().map(|(a, b)| rows(a, b, now)).unwrap_or_default()
    }

    /// Mark the run `key`, or unmark it when it is the marked one; whether it is marked now.
    pub fn toggle_mark(&mut self, key: (String, RunId)) -> bool {
        if self.mark.as_ref() == Some(&key) {
            self.mark = None;
            false
        } else {
            self.mark = Some(key);
            true
        }
    }

    /// The run to compare `with` with: the marked one (if another), else
    /// the previous run of the same workflow on the same source.
    pub fn compare_partner(&self, with: &(String, RunId)) -> Option<(String, RunId)> {
        if let Some(m) = self.mark.as_ref().filter(|m| *m != with)
            && self.find(&m.0, m.1).is_some()
        {
            return Some(m.clone());
        }
        let this = self.find(&with.0, with.1)?;
        // Runs are newest first: the previous one comes after it.
        let at = self.runs.iter().position(|r| r.source == with.0 && r.run.id == with.1)?;
        self.runs[at + 1..]
            .iter()
            .find(|r| r.source == this.source && r.run.workflow == this.run.workflow)
            .map(|r| (r.source.clone(), r.run.id))
    }

    /// Open the comparison of runs `x` and `y` (the older one left).
    pub fn open_compare(&mut self, x: (String, RunId), y: (String, RunId), back: BoxId) {
        let created = |k: &(String, RunId)| self.find(&k.0, k.1).map(|r| (r.run.created, r.run.id));
        let (left, right) = if created(&x) <= created(&y) { (x, y) } else { (y, x) };
        self.compare = Some(Compare { left, right, scroll: 0, back });
    }

    /// Runs of the comparison whose steps have not been read.
    pub fn compare_unread(&self) -> Vec<(String, RunId)> {
        let Some(c) = &self.compare else { return Vec::new() };
        [&c.left, &c.right]
            .into_iter()
            .filter(|k| self.find(&k.0, k.1).is_some_and(|r| !r.steps_loaded))
            .cloned()
            .collect()
    }

    /// Scroll the comparison by `d` rows (kept within its rows); whether it moved.
    pub fn compare_scroll(&mut self, d: i64, now: i64) -> bool {
        let n = self.compare_rows(now).len();
        let Some(c) = &mut self.compare else { return false };
        let before = c.scroll;
        c.scroll = (c.scroll as i64 + d).clamp(0, n.saturating_sub(1) as i64) as usize;
        before != c.scroll
    }
}
