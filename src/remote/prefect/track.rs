//! What opsdeck knows of a Prefect server's flow runs, kept from its REST
//! answers and its event stream, and the changes to announce (pure: no IO,
//! time given).
//!
//! The event stream is not trusted to be ordered or unique (seen on a real
//! server, /work notes in docs/prefect.md):
//! - a resubscription re-sends events (its `since` is inclusive and resumes
//!   with some slack): events are deduplicated by id;
//! - events arrive out of order (task events are batched by the client):
//!   a state older (by its own timestamp) than the one shown is ignored;
//! - events sent while the server was down are lost: a flow run that ended
//!   with task runs still in flight marks them interrupted ("no end was
//!   recorded"), as Prefect itself never will.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde_json::Value;

use super::model::{self, FLOW_STEP, FlowRun, TaskRun};
use crate::protocol::Event;
use crate::protocol::Ts;
use crate::protocol::workflow::{Run, RunId, RunState, StepRun};

/// Flow runs kept (the oldest ended ones go first).
pub const RUNS_KEPT: usize = 1_000;
/// Task runs kept of one flow run.
pub const STEPS_KEPT: usize = 500;
/// Event ids remembered to drop a re-sent event.
const SEEN_KEPT: usize = 20_000;
/// Why a task run still in flight under an ended flow run is interrupted.
pub const LOST_END: &str = "Prefect recorded no end for this task run before its flow run ended \
     (its events were lost, e.g. while the server was down)";

/// A flow run and its task runs as known.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub run: Run,
    /// When the shown state was entered (Prefect's state timestamp, Unix ms).
    pub state_at: Ts,
    /// Task runs by their Prefect id: (step id, its state timestamp).
    tasks: HashMap<String, (String, Ts)>,
    /// Steps of the current attempt, in the order they were first seen.
    pub steps: Vec<StepRun>,
}

/// What a change means for alerts: a flow run that ended failed or
/// succeeded while it was watched (not runs found ended at start).
#[derive(Debug, Clone, PartialEq)]
pub enum Ended {
    Failed(Run),
    Succeeded(Run),
}

/// The changes one input made.
#[derive(Debug, Default)]
pub struct Changes {
    pub events: Vec<Event>,
    /// Flow runs heard of by an event but not known: read them over REST.
    pub unknown: Vec<String>,
    pub ended: Vec<Ended>,
}

/// Flow runs known, flows' and deployments' names, events seen.
#[derive(Debug, Default)]
pub struct Tracker {
    runs: HashMap<String, Tracked>,
    numbers: HashMap<RunId, String>,
    /// Flow id → name.
    pub flows: HashMap<String, String>,
    /// Deployment id → (name, flow id).
    pub deployments: HashMap<String, (String, String)>,
    seen: HashSet<String>,
    seen_order: VecDeque<String>,
    /// The newest `occurred` of an event taken (Unix ms): where a
    /// resubscription resumes from (minus some slack).
    pub max_occurred: Option<Ts>,
}

impl Tracker {
    /// The Prefect id of run number `n`.
    pub fn uuid(&self, n: RunId) -> Option<&str> {
        self.numbers.get(&n).map(String::as_str)
    }

    pub fn get(&self, uuid: &str) -> Option<&Tracked> {
        self.runs.get(uuid)
    }

    /// Known runs, newest first (by start, else creation).
    pub fn runs(&self) -> Vec<&Tracked> {
        let mut v: Vec<&Tracked> = self.runs.values().collect();
        v.sort_by_key(|t| std::cmp::Reverse((t.run.started.unwrap_or(t.run.created), t.run.id)));
        v
    }

    /// Flow runs in flight that started (their logs are polled; a
    /// scheduled or pending run has none yet).
    pub fn active(&self) -> Vec<String> {
        self.runs
            .iter()
            .filter(|(_, t)| t.run.state.is_active() && t.run.started.is_some())
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn names(&self, fr: &FlowRun) -> (String, Option<String>) {
        let flow = self.flows.get(&fr.flow_id).cloned().unwrap_or_default();
        let dep = fr.deployment_id.as_ref().and_then(|d| self.deployments.get(d)).map(|(n, _)| n.clone());
        (flow, dep)
    }

    /// A flow run read over REST. `watched`: a change to an ended state
    /// counts for alerts (false for the first reading at start).
    pub fn flow_run(&mut self, fr: &FlowRun, watched: bool) -> Changes {
        let mut out = Changes::default();
        if fr.id.is_empty() {
            return out;
        }
        let (flow, dep) = self.names(fr);
        let run = model::run_of(fr, &flow, dep.as_deref());
        let at = model::ms(&fr.state().timestamp).unwrap_or(0);
        self.put_run(&fr.id, run, at, watched, &mut out);
        out
    }

    /// Task runs of a flow run read over REST (any order).
    pub fn task_runs(&mut self, flow_run: &str, trs: &[TaskRun]) -> Changes {
        let mut out = Changes::default();
        let mut trs: Vec<&TaskRun> = trs.iter().collect();
        trs.sort_by_key(|t| (t.start_time.as_deref().and_then(model::ms).unwrap_or(i64::MAX), t.name.clone()));
        for tr in trs {
            let at = model::ms(&tr.state().timestamp).unwrap_or(0);
            self.put_task(flow_run, tr, at, &mut out);
        }
        self.mark_lost(flow_run, &mut out);
        out
    }

    fn put_run(&mut self, uuid: &str, mut run: Run, at: Ts, watched: bool, out: &mut Changes) {
        if let Some(t) = self.runs.get(uuid) {
            run.steps = t.steps.iter().map(|s| s.id.clone()).collect();
        }
        match self.runs.get_mut(uuid) {
            // Older news (out of order).
            Some(t) if at < t.state_at || run.attempt < t.run.attempt => {}
            // What is shown already, told again later: an older event must
            // still not replace it.
            Some(t) if t.run == run => t.state_at = at,
            Some(t) => {
                let was = t.run.state;
                if run.attempt > t.run.attempt {
                    t.steps.clear();
                    t.tasks.clear();
                    run.steps = vec![FLOW_STEP.to_string()];
                    // Prefect's start_time stays the first attempt's: this
                    // attempt starts when it runs.
                    run.first_started = t.run.run_started();
                    run.started = (running(&run) || run.state.is_final()).then_some(at);
                    run.ended = run.ended.filter(|_| run.state.is_final()).map(|_| at);
                } else if run.attempt > 1 {
                    run.first_started = t.run.first_started.or(run.first_started);
                    if t.run.first_started.is_some() {
                        run.started = t.run.started.or_else(|| running(&run).then_some(at));
                        run.ended = run.ended.map(|e| e.max(run.started.unwrap_or(e)));
                    }
                }
                t.run = run.clone();
                t.state_at = at;
                if watched && was != run.state {
                    out.ended.extend(ended(&run));
                }
                out.events.push(Event::RunChanged(Box::new(run.clone())));
                let flow = model::flow_step(&run);
                set_step(t, flow, out);
                self.mark_lost(uuid, out);
            }
            None => {
                let mut t = Tracked { run: run.clone(), state_at: at, tasks: HashMap::new(), steps: Vec::new() };
                t.steps.push(model::flow_step(&run));
                t.run.steps = vec![FLOW_STEP.to_string()];
                if watched {
                    out.ended.extend(ended(&t.run));
                }
                out.events.push(Event::RunChanged(Box::new(t.run.clone())));
                self.numbers.insert(t.run.id, uuid.to_string());
                self.runs.insert(uuid.to_string(), t);
                self.prune();
            }
        }
    }

    fn put_task(&mut self, flow_run: &str, tr: &TaskRun, at: Ts, out: &mut Changes) {
        let Some(t) = self.runs.get_mut(flow_run) else { return };
        // A task run of another attempt of its flow run is not this attempt's step.
        if tr.id.is_empty() || (tr.flow_run_run_count > 0 && tr.flow_run_run_count != u64::from(t.run.attempt)) {
            return;
        }
        let step_id = match t.tasks.get(&tr.id) {
            Some((_, known)) if at < *known => return,
            Some((id, _)) => id.clone(),
            None => {
                if t.tasks.len() >= STEPS_KEPT {
                    return;
                }
                // A task run twice in a flow run: `load`, `load~2`, …
                let base = model::task_name(tr);
                let taken = |id: &str| id == FLOW_STEP || t.tasks.values().any(|(s, _)| s == id);
                (1..)
                    .map(|n| if n == 1 { base.clone() } else { format!("{base}~{n}") })
                    .find(|id| !taken(id))
                    .unwrap_or(base)
            }
        };
        t.tasks.insert(tr.id.clone(), (step_id.clone(), at));
        let step = model::step_of(tr, &step_id);
        let new = !t.steps.iter().any(|s| s.id == step_id);
        set_step(t, step, out);
        if new {
            t.run.steps = t.steps.iter().map(|s| s.id.clone()).collect();
            out.events.push(Event::RunChanged(Box::new(t.run.clone())));
        }
    }

    /// Under an ended flow run, task runs still in flight never end: mark them.
    fn mark_lost(&mut self, flow_run: &str, out: &mut Changes) {
        let Some(t) = self.runs.get_mut(flow_run) else { return };
        if !t.run.state.is_final() {
            return;
        }
        let lost: Vec<StepRun> = t
            .steps
            .iter()
            .filter(|s| s.id != FLOW_STEP && s.state.is_active())
            .map(|s| {
                let mut s = s.clone();
                s.state = RunState::Interrupted;
                s.interrupted = true;
                s.ended = t.run.ended;
                s.error = Some(LOST_END.to_string());
                s
            })
            .collect();
        for s in lost {
            set_step(t, s, out);
        }
    }

    /// One event of the stream (`{"type":"event","event":{…}}`'s `event`).
    /// Events seen before, of other kinds, or unreadable change nothing.
    pub fn event(&mut self, ev: &Value) -> Changes {
        let mut out = Changes::default();
        let Some(id) = ev["id"].as_str() else { return out };
        if !self.seen.insert(id.to_string()) {
            return out;
        }
        self.seen_order.push_back(id.to_string());
        while self.seen_order.len() > SEEN_KEPT {
            if let Some(old) = self.seen_order.pop_front() {
                self.seen.remove(&old);
            }
        }
        let occurred = ev["occurred"].as_str().and_then(model::ms);
        if let Some(o) = occurred {
            self.max_occurred = Some(self.max_occurred.map_or(o, |m| m.max(o)));
        }
        let name = ev["event"].as_str().unwrap_or_default();
        let res = &ev["resource"];
        let rid = res["prefect.resource.id"].as_str().unwrap_or_default();
        if name == "prefect.flow-run.heartbeat" {
            return out;
        }
        if let Some(uuid) = rid.strip_prefix("prefect.flow-run.")
            && name.starts_with("prefect.flow-run.")
        {
            self.related_names(ev);
            let st = state_of(res, &ev["payload"]);
            let Some(t) = self.runs.get(uuid) else {
                // A run scheduled ahead comes in when its state changes again.
                if !(st.r#type == "SCHEDULED" && st.name == "Scheduled") {
                    out.unknown.push(uuid.to_string());
                }
                return out;
            };
            let at = model::ms(&st.timestamp).or(occurred).unwrap_or(0);
            // The event carries the state; the rest of the run is as known.
            // A run renamed as it starts (`flow_run_name`) says its new name here.
            let name = res["prefect.resource.name"].as_str().filter(|n| !n.is_empty()).map(str::to_string);
            let mut fr = FlowRun {
                id: uuid.to_string(),
                name: name.or_else(|| t.run.external.as_ref().map(|x| x.name.clone())).unwrap_or_default(),
                state: Some(st.clone()),
                parameters: t.run.inputs.clone(),
                run_count: res["prefect.run-count"]
                    .as_str()
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(u64::from(t.run.attempt)),
                deployment_id: t.run.external.as_ref().and_then(|x| x.deployment.clone()),
                ..FlowRun::default()
            };
            fr.created = model::rfc3339(t.run.created);
            fr.start_time = t.run.started.map(model::rfc3339);
            if model::run_state(&st) == RunState::Running && fr.start_time.is_none() {
                fr.start_time = Some(st.timestamp.clone());
            }
            if model::run_state(&st).is_final() {
                fr.end_time = Some(st.timestamp.clone());
            }
            let mut run = model::run_of(&fr, "", None);
            run.workflow = t.run.workflow.clone();
            run.version = t.run.version.clone();
            run.trigger = t.run.trigger.clone();
            self.put_run(uuid, run, at, true, &mut out);
        } else if let Some(task) = rid.strip_prefix("prefect.task-run.")
            && name.starts_with("prefect.task-run.")
        {
            let Some(flow_run) = related(ev, "flow-run") else { return out };
            if !self.runs.contains_key(&flow_run) {
                out.unknown.push(flow_run);
                return out;
            }
            let p = &ev["payload"]["task_run"];
            let st = state_of(res, &ev["payload"]);
            let at = model::ms(&st.timestamp).or(occurred).unwrap_or(0);
            let s = |k: &str| p[k].as_str().map(str::to_string);
            let tr = TaskRun {
                id: task.to_string(),
                task_key: s("task_key").unwrap_or_default(),
                flow_run_run_count: p["flow_run_run_count"].as_u64().unwrap_or(0),
                name: res["prefect.resource.name"].as_str().unwrap_or_default().to_string(),
                flow_run_id: flow_run.clone(),
                start_time: s("start_time"),
                end_time: s("end_time"),
                run_count: p["run_count"].as_u64().unwrap_or(0),
                state: Some(st),
                ..TaskRun::default()
            };
            self.put_task(&flow_run, &tr, at, &mut out);
        }
        out
    }

    /// Names an event's `related` resources carry (the flow's, the deployment's).
    fn related_names(&mut self, ev: &Value) {
        let Some(rel) = ev["related"].as_array() else { return };
        let (mut flow, mut dep) = (None, None);
        for r in rel.iter().take(32) {
            let id = r["prefect.resource.id"].as_str().unwrap_or_default();
            let name = r["prefect.resource.name"].as_str().unwrap_or_default();
            if let Some(f) = id.strip_prefix("prefect.flow.") {
                flow = Some(f.to_string());
                if !name.is_empty() {
                    self.flows.entry(f.to_string()).or_insert_with(|| name.to_string());
                }
            } else if let Some(d) = id.strip_prefix("prefect.deployment.") {
                dep = Some((d.to_string(), name.to_string()));
            }
        }
        if let (Some((d, name)), Some(f)) = (dep, flow)
            && !name.is_empty()
        {
            self.deployments.entry(d).or_insert((name, f));
        }
    }

    /// Forget the oldest ended runs past [`RUNS_KEPT`].
    fn prune(&mut self) {
        if self.runs.len() <= RUNS_KEPT {
            return;
        }
        let mut ended: Vec<(Ts, String)> = self
            .runs
            .iter()
            .filter(|(_, t)| !t.run.state.is_active())
            .map(|(id, t)| (t.run.started.unwrap_or(t.run.created), id.clone()))
            .collect();
        ended.sort();
        for (_, id) in ended.into_iter().take(self.runs.len() - RUNS_KEPT) {
            if let Some(t) = self.runs.remove(&id) {
                self.numbers.remove(&t.run.id);
            }
        }
    }
}

/// The run is running (Prefect's `RUNNING` type: `Running`, or `Retrying`
/// for a flow's own retry — not `AwaitingRetry`, which waits).
fn running(run: &Run) -> bool {
    run.state == RunState::Running || run.external.as_ref().is_some_and(|x| x.state_name == "Retrying")
}

/// What an ended run means for alerts: a cancel (a person's choice) is
/// neither a failure nor a success.
fn ended(run: &Run) -> Option<Ended> {
    match run.state {
        RunState::Succeeded => Some(Ended::Succeeded(run.clone())),
        RunState::Failed => Some(Ended::Failed(run.clone())),
        _ => None,
    }
}

/// Put a step in place (or add it), announcing it.
fn set_step(t: &mut Tracked, step: StepRun, out: &mut Changes) {
    match t.steps.iter_mut().find(|s| s.id == step.id) {
        Some(s) if *s == step => return,
        Some(s) => *s = step.clone(),
        None => t.steps.push(step.clone()),
    }
    out.events.push(Event::StepChanged { run: t.run.id, attempt: t.run.attempt, step: Box::new(step) });
}

/// The id (minus its prefix) of an event's related resource of `role`.
fn related(ev: &Value, role: &str) -> Option<String> {
    ev["related"].as_array()?.iter().take(32).find_map(|r| {
        (r["prefect.resource.role"].as_str() == Some(role))
            .then(|| r["prefect.resource.id"].as_str()?.strip_prefix(&format!("prefect.{role}.")).map(str::to_string))
            .flatten()
    })
}

/// The state an event announces: its resource's labels, else the payload's
/// `validated_state`.
fn state_of(res: &Value, payload: &Value) -> model::State {
    let label = |k: &str| res[k].as_str().map(str::to_string);
    let v = &payload["validated_state"];
    model::State {
        r#type: label("prefect.state-type").or_else(|| v["type"].as_str().map(str::to_string)).unwrap_or_default(),
        name: label("prefect.state-name").or_else(|| v["name"].as_str().map(str::to_string)).unwrap_or_default(),
        timestamp: label("prefect.state-timestamp").unwrap_or_default(),
        message: label("prefect.state-message")
            .or_else(|| v["message"].as_str().map(str::to_string))
            .unwrap_or_default(),
    }
}

/// Steps of a run as a `show_run` answer gives them: the tracked ones.
pub fn steps_of(t: &Tracked) -> Vec<StepRun> {
    t.steps.clone()
}

/// An earlier attempt's steps and log lines by step (`run` is that
/// attempt, from [`model::past_attempt`]), apart from what is tracked:
/// its task runs (those of attempt `run.attempt`) named as the latest
/// attempt's are, and the flow run's lines of that attempt's time.
pub fn past(
    uuid: &str,
    run: Run,
    trs: &[TaskRun],
    logs: &[model::LogRecord],
) -> (Vec<StepRun>, BTreeMap<String, Vec<String>>) {
    let mut tmp = Tracker::default();
    let mut out = Changes::default();
    let (from, to) = (run.started.unwrap_or(i64::MIN).saturating_sub(5_000), run.ended.unwrap_or(i64::MAX));
    tmp.put_run(uuid, run, 0, false, &mut out);
    tmp.task_runs(uuid, trs);
    let Some(t) = tmp.get(uuid) else { return (Vec::new(), BTreeMap::new()) };
    let logs: Vec<model::LogRecord> = logs
        .iter()
        .filter(|l| match &l.task_run_id {
            Some(id) => t.tasks.contains_key(id),
            None => model::ms(&l.timestamp).is_some_and(|ts| ts >= from && ts <= to.saturating_add(5_000)),
        })
        .cloned()
        .collect();
    (t.steps.clone(), log_by_step(t, &logs))
}

/// Group log lines by step: every line under [`FLOW_STEP`], a task run's
/// also under its step.
pub fn log_by_step(t: &Tracked, logs: &[model::LogRecord]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in logs {
        let step = l.task_run_id.as_ref().and_then(|id| t.tasks.get(id)).map(|(s, _)| s.as_str());
        out.entry(FLOW_STEP.to_string()).or_default().extend(model::log_lines(l, step));
        if let Some(s) = step {
            out.entry(s.to_string()).or_default().extend(model::log_lines(l, None));
        }
    }
    out
}

#[cfg(test)]
#[path = "track_tests.rs"]
mod tests;
