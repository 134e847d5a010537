//! The workflow service inside an [`Engine`]: started once, answering the
//! `workflows` commands of [`Engine::handle`], and in every fresh
//! subscriber's first events.

use std::sync::Arc;

use super::service::WorkflowService;
use crate::engine::{CommandError, Engine};
use crate::protocol::workflow::WorkflowsCommand;
use crate::protocol::{Envelope, Event, Topic};

impl Engine {
    /// Take on `service`: stop the step processes a killed engine on this
    /// data directory left running (see [`leftovers`](super::leftovers)),
    /// mark the runs that were in flight when the engine last stopped
    /// `interrupted`, read the workflow files, and answer workflow commands
    /// from now on. Returns how many runs were interrupted.
    pub fn start_workflows(&self, service: WorkflowService) -> usize {
        let stopped = super::leftovers::stop(&super::leftovers::owner(self.store().path()));
        if !stopped.is_empty() {
            tracing::warn!(?stopped, "stopped step processes an earlier opsdeck on this data directory left running");
        }
        let interrupted = service.recover().unwrap_or_else(|e| {
            tracing::error!("marking interrupted runs: {e}");
            0
        });
        service.load();
        let service = Arc::new(service);
        *self.inner.workflows.lock().unwrap_or_else(|p| p.into_inner()) = Some(service.clone());
        let tasks = super::triggers::spawn(service, self.subscribe());
        self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner()).extend(tasks);
        interrupted
    }

    /// The workflow service, once started.
    pub fn workflows(&self) -> Option<Arc<WorkflowService>> {
        self.inner.workflows.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Whether a read-only engine still runs `command`: starting a workflow
    /// none of whose steps change things (refused with the steps that do).
    pub(crate) fn read_only_allows(&self, command: &crate::protocol::Command) -> Result<bool, CommandError> {
        let crate::protocol::Command::Workflows(WorkflowsCommand::StartRun { workflow, .. }) = command else {
            return Ok(false);
        };
        let Some(svc) = self.workflows() else { return Ok(false) };
        match svc.mutating_steps(workflow) {
            Some(steps) if steps.is_empty() => Ok(true),
            Some(steps) => Err(CommandError::Invalid(format!(
                "read-only: workflow {workflow} is refused: {} (opsdeck runs read-only here: started with --read-only)",
                match steps.as_slice() {
                    [one] => format!("its step {one} changes things"),
                    _ => format!("its steps {} change things", steps.join(", ")),
                }
            ))),
            None => Ok(true), // unknown: the service says so
        }
    }

    pub(crate) fn workflow_command(&self, c: WorkflowsCommand) -> Result<serde_json::Value, CommandError> {
        let svc = self.workflows().ok_or_else(|| CommandError::Invalid("this engine runs no workflows".into()))?;
        svc.command(c).map_err(CommandError::Invalid)
    }

    /// The workflows and newest runs, as a fresh subscriber's first event of that topic.
    pub(crate) fn workflows_event(&self) -> Option<Envelope> {
        let svc = self.workflows()?;
        Some(Envelope {
            epoch: self.epoch(),
            seq: self.head_seq(),
            ts: self.inner.clock.now_ms(),
            source: crate::protocol::LOCAL_SOURCE.into(),
            topic: Topic::Workflows,
            event: Event::Workflows(Box::new(svc.snapshot())),
        })
    }
}
