//! A Prefect server as a source (issue 14): its flow runs join the runs
//! pane through the same events a backend's runs come as (`remote::prefect`
//! makes them), its connection state shows in the status bar like a
//! backend's (offline, with since when and the next attempt), and the pane's
//! workflow commands go to its API. Flow runs that end failed or crashed
//! while watched raise `workflow_failed` alerts in the engine of this
//! process (with labels `workflow`, `run`, `source`), resolved when a later
//! run of the same flow succeeds there.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::sources::{Source, SourceId, SourceKind, answer, forward};
use super::{Local, Msg};
use crate::app::Action;
use crate::clock::Clock;
use crate::config::prefect::PrefectConfig;
use crate::engine::alerts::core::run_alerts::RunAlert;
use crate::protocol::Command;
use crate::remote::client::ClientMsg;
use crate::remote::prefect::{self, Ask, Ended, PrefectSpec};

/// Commands waiting for the connection at most (more are refused at once).
const ASKS_QUEUED: usize = 32;

pub struct PrefectSource {
    id: SourceId,
    config: PrefectConfig,
    config_dir: std::path::PathBuf,
    read_only: bool,
    local: Local,
    asks: Option<mpsc::Sender<Ask>>,
}

impl PrefectSource {
    /// `local`: where alerts of its failed runs are raised (only an engine in this process).
    pub fn new(config: PrefectConfig, config_dir: std::path::PathBuf, read_only: bool, local: Local) -> Self {
        let id = SourceId { kind: SourceKind::Prefect, name: config.name.clone() };
        PrefectSource { id, config, config_dir, read_only, local, asks: None }
    }
}

/// What an ended run tells the alert engine.
pub fn run_alert(source: &str, e: Ended) -> RunAlert {
    let (run, failed) = match e {
        Ended::Failed(r) => (r, true),
        Ended::Succeeded(r) => (r, false),
    };
    let name = run.external.as_ref().map_or_else(|| run.id.to_string(), |x| x.name.clone());
    let why = match &run.error {
        Some(e) => format!("{}: {}", run.state_name(), crate::decode::cut(e, 200)),
        None => run.state_name().to_string(),
    };
    RunAlert::External { source: source.to_string(), workflow: run.workflow.clone(), run: name, failed, why }
}

impl Source for PrefectSource {
    fn id(&self) -> &SourceId {
        &self.id
    }

    fn start(&mut self, inbox: &mpsc::Sender<Msg>, clock: &Arc<dyn Clock>) {
        let (ctx, crx) = mpsc::channel::<ClientMsg>(64);
        let (asks_tx, asks) = mpsc::channel::<Ask>(ASKS_QUEUED);
        self.asks = Some(asks_tx);
        let (config, config_dir, clock) = (self.config.clone(), self.config_dir.clone(), clock.clone());
        let alerts = match &self.local {
            Local::InProcess(engine) => {
                let (atx, mut arx) = mpsc::channel::<Ended>(64);
                let (engine, name) = (engine.clone(), config.name.clone());
                tokio::spawn(async move {
                    while let Some(e) = arx.recv().await {
                        engine.run_alert(run_alert(&name, e));
                    }
                });
                Some(atx)
            }
            Local::Attached(_) => None,
        };
        let inbox2 = inbox.clone();
        tokio::spawn(async move {
            let key = match config.key_secret.clone() {
                None => None,
                Some(k) => {
                    let found = tokio::task::spawn_blocking(move || crate::secrets::get(&k, &config_dir)).await;
                    match found {
                        Ok(Ok(f)) => f.map(|f| f.value),
                        Ok(Err(e)) => {
                            let text = format!("prefect {}: cannot read its key: {e}", config.name);
                            let _ = inbox2.send(Msg::Action(Action::Notice(text))).await;
                            None
                        }
                        Err(_) => None,
                    }
                }
            };
            let spec = PrefectSpec { name: config.name.clone(), url: config.url.clone(), key, poll: config.poll };
            match prefect::Api::new(spec) {
                Ok(api) => prefect::run(api, clock, ctx, asks, alerts).await,
                Err(e) => {
                    let text = format!("prefect {}: {e}", config.name);
                    let _ = inbox2.send(Msg::Action(Action::Notice(text))).await;
                }
            }
        });
        forward(crx, inbox.clone());
    }

    /// Workflow commands only; those that change something not while read-only.
    fn send(&self, id: String, command: Command, inbox: &mpsc::Sender<Msg>) {
        let name = self.id.name.clone();
        let refuse =
            |why: String| answer(inbox, Action::CommandDone { source: name.clone(), id: id.clone(), result: Err(why) });
        let Command::Workflows(c) = command else {
            return refuse(format!(
                "{} takes workflow commands only: {} is not possible there",
                self.id,
                command.describe()
            ));
        };
        if self.read_only && !c.reads_only() {
            return refuse(crate::app::read_only::read_only_refusal(c.describe()));
        }
        let Some(asks) = &self.asks else { return refuse(format!("{} is not started", self.id)) };
        if asks.try_send((id.clone(), c)).is_err() {
            refuse(format!("{} is busy with {ASKS_QUEUED} commands: try again in a moment", self.id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::workflow::{ExternalRun, Run, RunState, Trigger};

    #[test]
    fn an_ended_prefect_run_becomes_a_run_alert_with_its_name_and_prefects_state() {
        let run = Run {
            id: 7,
            attempt: 1,
            workflow: "etl/nightly".into(),
            version: String::new(),
            inputs: Default::default(),
            trigger: Trigger::Manual { by: String::new() },
            state: RunState::Failed,
            created: 0,
            started: None,
            ended: None,
            error: Some("killed".into()),
            steps: vec![],
            first_started: None,
            external: Some(ExternalRun {
                id: "u".into(),
                name: "brave-otter".into(),
                state_name: "Crashed".into(),
                deployment: None,
            }),
        };
        let a = run_alert("prefect", Ended::Failed(run.clone()));
        assert_eq!(
            a,
            RunAlert::External {
                source: "prefect".into(),
                workflow: "etl/nightly".into(),
                run: "brave-otter".into(),
                failed: true,
                why: "Crashed: killed".into()
            }
        );
        assert!(matches!(run_alert("p", Ended::Succeeded(run)), RunAlert::External { failed: false, .. }));
    }
}
