//! A step that changes things starts only once the record that it began is
//! on disk (issue 12's crash test found a side effect whose step was still
//! `queued` after a kill). On a real store with the group commit running,
//! the executor checks, when its attempt first runs, how far the log is
//! durable against the seq of the step's `running` announcement.

use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::clock::SystemClock;
use crate::engine::store::Store;
use crate::engine::workflows::definition::Uses;
use crate::engine::workflows::exec::{Attempt, StepExecutor};
use crate::engine::workflows::render::Secrets;
use crate::engine::workflows::service::WorkflowService;
use crate::engine::workflows::service::tests::wf;
use crate::engine::{Engine, EngineConfig};
use crate::protocol::workflow::{RunState, WorkflowsCommand};
use crate::protocol::{Command, Event};

/// `m_*` tools change things. Each attempt notes (tool, durable seq) when it
/// first runs.
#[derive(Default)]
struct Probe {
    engine: OnceLock<Engine>,
    seen: Mutex<Vec<(String, u64)>>,
}

struct ProbeExec(Arc<Probe>);

impl StepExecutor for ProbeExec {
    fn start(&self, uses: &Uses, _args: Value, _out: mpsc::Sender<String>) -> Attempt {
        let probe = self.0.clone();
        let tool = format!("{uses:?}");
        Box::pin(async move {
            let durable = *probe.engine.get().expect("engine set").durable().borrow();
            probe.seen.lock().unwrap().push((tool, durable));
            Ok(json!({}))
        })
    }

    fn mutating(&self, uses: &Uses, _args: &Value) -> bool {
        matches!(uses, Uses::Tool(t) if t.starts_with("m_"))
    }
}

struct NoSecrets;
impl Secrets for NoSecrets {
    fn get(&self, name: &str) -> Result<String, String> {
        Err(format!("secret {name:?} is not set"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_changes_things_starts_after_its_start_is_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 1 << 20).unwrap();
    let engine = Engine::new(store, EngineConfig::default(), Arc::new(SystemClock)).unwrap();
    engine.start_log_only();
    let probe = Arc::new(Probe::default());
    let _ = probe.engine.set(engine.clone());
    let svc =
        WorkflowService::new(engine.clone(), None, Arc::new(ProbeExec(probe.clone())), Arc::new(NoSecrets)).unwrap();
    let steps: String = (0..20)
        .map(|i| {
            let needs = if i == 0 { String::new() } else { format!("needs = [\"s{}\"]\n", i - 1) };
            format!("[[step]]\nid = \"s{i}\"\nuses = \"m_touch\"\n{needs}")
        })
        .collect();
    svc.set_definitions(vec![wf(&format!("name = \"chain\"\n{steps}"))]);
    engine.start_workflows(svc);
    let mut bus = engine.subscribe();
    let start = WorkflowsCommand::StartRun { workflow: "chain".into(), inputs: Default::default(), by: "ops".into() };
    engine.handle("c1", Command::Workflows(start)).unwrap();
    // The seq of each step's `running` announcement, until the run ends.
    let mut running = Vec::new();
    loop {
        let env = tokio::time::timeout(std::time::Duration::from_secs(30), bus.recv()).await.unwrap().unwrap();
        match &env.event {
            Event::StepChanged { step, .. } if step.state == RunState::Running => running.push(env.seq),
            Event::RunChanged(r) if r.state.is_final() => break,
            _ => {}
        }
    }
    let seen = probe.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 20, "every step ran once");
    for (i, ((_, durable), seq)) in seen.iter().zip(&running).enumerate() {
        assert!(durable >= seq, "step s{i} started with the log durable to {durable}, before its start (seq {seq})");
    }
}
