//! The chain executor: a saved chain runs here, in a task, not in a reducer.
//!
//! A [`ChainRunner`] owns a [`ToolService`] and a [`JqRunner`]. Each
//! [`ChainRunner::run`] runs the chain's steps in order: every step is a
//! normal run of the service (so the history records it once, as any other
//! run), with the id `CHAIN.STEP`. After a step succeeds, the next step's
//! link filter is evaluated over the step's whole result in a jq worker (at
//! most [`LINK_TIMEOUT_MS`]), its outputs fill the linked argument
//! ([`chain::step_args`], typed by the tool's schema) and the next step
//! starts. The chain stops at the first step that fails or link that cannot
//! be read. [`ChainRunner::cancel`] cancels the step in flight (or the link
//! being evaluated); no further step starts.

use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::RunOptions;
use super::service::{CANCELLED, RunId, RunRequest, ServiceError, ToolEvent, ToolService};
use crate::jq::JqRunner;
use crate::protocol::chain::{self, Chain};
use crate::protocol::tools::RunOrigin;

/// A chain run's id, chosen by the caller (unique among its chains in flight).
pub type ChainId = String;

/// Time budget of a link's filter while a chain runs.
pub const LINK_TIMEOUT_MS: u64 = 10_000;
/// Events of one step waiting to be forwarded (the step waits beyond).
const STEP_QUEUE: usize = 64;

/// One chain to run.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainRequest {
    /// The caller's id for this run of the chain; events and
    /// [`ChainRunner::cancel`] use it.
    pub id: ChainId,
    /// The chain to run.
    pub chain: Chain,
    /// Confirmation and `--read-only`, for every step.
    pub opts: RunOptions,
    /// Who started it, as the history records each step.
    pub origin: RunOrigin,
}

/// What a chain reports, in order: for each step `StepStarted`, its run's
/// events (`Step`: output batches, then its `Finished`), and before a linked
/// step `Selecting`; last, one `Ended`.
#[derive(Debug, Clone, PartialEq)]
pub enum ChainEvent {
    /// Step `step` (from 1) of `steps` started as the service's run `run`.
    StepStarted { chain: ChainId, step: usize, steps: usize, run: RunId, tool: String, args: Value },
    /// An event of step `step`'s run.
    Step { chain: ChainId, step: usize, event: ToolEvent },
    /// Step `step`'s link `filter` is being evaluated over the result before it.
    Selecting { chain: ChainId, step: usize, steps: usize, tool: String, filter: String },
    /// The chain ended: `Ok(steps)` when every step succeeded, else the
    /// sentence that says where and why it stopped
    /// ([`chain::stopped_notice`]; a cancelled chain stops with [`CANCELLED`]).
    Ended { chain: ChainId, result: Result<usize, String> },
}

/// Why a chain could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("a chain run with id {0:?} is already running")]
    Busy(ChainId),
    #[error("the chain has no steps")]
    Empty,
    #[error("no async runtime to run chains on")]
    NoRuntime,
}

/// Runs chains through a tools service. Cheap to clone; clones share the
/// chains in flight.
#[derive(Clone)]
pub struct ChainRunner {
    service: ToolService,
    jq: JqRunner,
    /// Chains in flight, by id, with the way to cancel each (taken by
    /// [`ChainRunner::cancel`]); each chain's task removes its entry as it ends.
    chains: super::in_flight::InFlight,
}

impl ChainRunner {
    /// Chains whose steps run on `service` and whose links are evaluated by
    /// `jq` (its time budget is set to [`LINK_TIMEOUT_MS`] per link).
    pub fn new(service: ToolService, jq: JqRunner) -> Self {
        let jq = jq.with_timeout(Duration::from_millis(LINK_TIMEOUT_MS));
        ChainRunner { service, jq, chains: Default::default() }
    }

    /// The tools service the steps run on.
    pub fn service(&self) -> &ToolService {
        &self.service
    }

    /// Chains in flight.
    pub fn in_flight(&self) -> usize {
        self.chains.len()
    }

    /// Start running `req.chain` on the current tokio runtime; its events go
    /// to `events` (the chain waits while the channel is full).
    /// Errors: the id is already running, the chain is empty, or there is no runtime.
    pub fn run(&self, req: ChainRequest, events: mpsc::Sender<ChainEvent>) -> Result<(), ChainError> {
        let rt = tokio::runtime::Handle::try_current().map_err(|_| ChainError::NoRuntime)?;
        if req.chain.steps.is_empty() {
            return Err(ChainError::Empty);
        }
        let Some((cancel_rx, forget)) = self.chains.start(&req.id) else {
            return Err(ChainError::Busy(req.id));
        };
        let runner = self.clone();
        rt.spawn(async move {
            let id = req.id.clone();
            let result = Execution { runner: &runner, req: &req, events: &events, cancel: cancel_rx, cancelled: false }
                .run()
                .await;
            drop(forget);
            let _ = events.send(ChainEvent::Ended { chain: id, result }).await;
        });
        Ok(())
    }

    /// Cancel chain `id`: the step in flight is cancelled (and recorded as
    /// [`CANCELLED`]) or the link being evaluated dropped; no further step
    /// starts. False when no such chain is in flight (or it was cancelled already).
    pub fn cancel(&self, id: &str) -> bool {
        self.chains.cancel(id)
    }
}

/// One chain being run.
struct Execution<'a> {
    runner: &'a ChainRunner,
    req: &'a ChainRequest,
    events: &'a mpsc::Sender<ChainEvent>,
    cancel: oneshot::Receiver<()>,
    /// The cancel signal arrived (or its sender is gone): the receiver is done.
    cancelled: bool,
}

impl Execution<'_> {
    /// Every step in order; `Ok(steps)` or why the chain stopped.
    async fn run(&mut self) -> Result<usize, String> {
        let req = self.req;
        let chain = &req.chain;
        let n = chain.steps.len();
        let mut previous: Option<Value> = None;
        for (i, step) in chain.steps.iter().enumerate() {
            let stop = |why: &str| chain::stopped_notice(&chain.name, i + 1, n, &step.tool, why);
            let args = match (&step.link, previous.take()) {
                (Some(link), Some(prev)) => {
                    let filter = chain::filter_or_all(&link.filter);
                    self.send(ChainEvent::Selecting {
                        chain: req.id.clone(),
                        step: i + 1,
                        steps: n,
                        tool: step.tool.clone(),
                        filter: filter.clone(),
                    })
                    .await;
                    let outputs = self.select(&filter, &prev).await.map_err(|why| stop(&why))?;
                    chain::step_args(step, Some(chain::combine(outputs)), &self.schema(&step.tool))
                        .map_err(|why| stop(&why))?
                }
                _ => step.args.clone(),
            };
            if self.is_cancelled() {
                return Err(stop(CANCELLED));
            }
            previous = Some(self.step(i, args).await.map_err(|why| stop(&why))?);
        }
        Ok(n)
    }

    /// Whether the chain was cancelled (checked without waiting).
    fn is_cancelled(&mut self) -> bool {
        if !self.cancelled && !matches!(self.cancel.try_recv(), Err(oneshot::error::TryRecvError::Empty)) {
            self.cancelled = true;
        }
        self.cancelled
    }

    async fn send(&self, event: ChainEvent) {
        let _ = self.events.send(event).await;
    }

    /// The schema of `tool` now (`null` when it is not known).
    fn schema(&self, tool: &str) -> Value {
        let registry = self.runner.service.registry();
        let schema = registry.borrow().get(tool).map(|t| t.spec().schema.clone());
        schema.unwrap_or(Value::Null)
    }

    /// Evaluate a link's filter over the previous result, unless cancelled first.
    async fn select(&mut self, filter: &str, input: &Value) -> Result<Vec<Value>, String> {
        let jq = self.runner.jq.clone();
        let eval = jq.run(filter, input);
        tokio::pin!(eval);
        tokio::select! {
            biased;
            _ = &mut self.cancel, if !self.cancelled => {
                // Dropping the evaluation kills its worker.
                self.cancelled = true;
                Err(CANCELLED.into())
            }
            r = &mut eval => r.map_err(|e| e.to_string()),
        }
    }

    /// Run step `i` with `args` through the service, forwarding its events;
    /// its whole result, or why it failed.
    async fn step(&mut self, i: usize, args: Value) -> Result<Value, String> {
        let (req, chain) = (self.req, &self.req.chain);
        let tool = chain.steps[i].tool.clone();
        let run: RunId = format!("{}.{}", req.id, i + 1);
        let (tx, mut rx) = mpsc::channel(STEP_QUEUE);
        let request =
            RunRequest { run: run.clone(), tool: tool.clone(), args: args.clone(), opts: req.opts, origin: req.origin };
        // Said started only once it runs: its events wait in `rx` meanwhile.
        self.runner.service.run(request, tx).map_err(|e: ServiceError| e.to_string())?;
        self.send(ChainEvent::StepStarted {
            chain: req.id.clone(),
            step: i + 1,
            steps: chain.steps.len(),
            run: run.clone(),
            tool,
            args,
        })
        .await;
        loop {
            let event = tokio::select! {
                biased;
                _ = &mut self.cancel, if !self.cancelled => {
                    self.cancelled = true;
                    self.runner.service.cancel(&run);
                    continue;
                }
                e = rx.recv() => e,
            };
            let Some(event) = event else { return Err("the step's run ended without a result".into()) };
            let outcome = match &event {
                ToolEvent::Finished { result, record, .. } => Some(match result {
                    Ok(v) => Ok(v.clone()),
                    Err(_) => Err(record.outcome.as_str().map_or_else(|| record.outcome.to_string(), str::to_string)),
                }),
                ToolEvent::Output { .. } => None,
            };
            self.send(ChainEvent::Step { chain: req.id.clone(), step: i + 1, event }).await;
            if let Some(outcome) = outcome {
                return outcome;
            }
        }
    }
}

#[cfg(test)]
#[path = "chains_tests.rs"]
mod tests;
