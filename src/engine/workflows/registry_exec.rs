//! The product's [`StepExecutor`]: shell, HTTP and the tools of a registry,
//! through [`steps::execute`](super::steps::execute).

use serde_json::Value;
use tokio::sync::mpsc;

use super::definition::Uses;
use super::exec::{Attempt, Failure, StepExecutor};
use super::steps::{Action, execute};
use crate::engine::tools::Registry;

/// Carries out steps with `registry`'s tools (built-ins and MCP servers').
pub struct RegistryExecutor {
    registry: tokio::sync::watch::Receiver<Registry>,
    /// Put in every shell step's environment as
    /// [`OWNER_VAR`](super::leftovers::OWNER_VAR), so that the next engine on
    /// the data directory can stop what a killed one left running.
    owner: Option<String>,
}

impl RegistryExecutor {
    /// Over a fixed registry.
    pub fn new(registry: Registry) -> Self {
        RegistryExecutor { registry: tokio::sync::watch::channel(registry).1, owner: None }
    }

    /// Over a registry that changes (MCP servers coming and going).
    pub fn watching(registry: tokio::sync::watch::Receiver<Registry>) -> Self {
        RegistryExecutor { registry, owner: None }
    }

    /// Marks the shell steps it starts as the engine on `engine`'s data
    /// directory's (see [`leftovers`](super::leftovers)).
    pub fn owned_by(mut self, engine: &crate::engine::Engine) -> Self {
        self.owner = Some(super::leftovers::owner(engine.store().path()));
        self
    }
}

impl StepExecutor for RegistryExecutor {
    fn start(&self, uses: &Uses, args: Value, out: mpsc::Sender<String>) -> Attempt {
        let registry = self.registry.borrow().clone();
        let mut action = Action::from_step(uses, &args);
        if let (Ok(Action::Shell { env, .. }), Some(owner)) = (&mut action, &self.owner) {
            env.insert(super::leftovers::OWNER_VAR.to_string(), owner.clone());
        }
        Box::pin(async move {
            let action = action.map_err(Failure::fatal)?;
            execute(action, &registry, out).await.map_err(|f| Failure {
                message: f.message,
                retryable: f.retryable,
                output: (!f.output.is_null()).then_some(f.output),
            })
        })
    }

    fn mutating(&self, uses: &Uses, args: &Value) -> bool {
        match Action::from_step(uses, args) {
            Ok(a) => a.mutating(&self.registry.borrow()),
            // Arguments not rendered yet (templates): judged by kind.
            Err(_) => {
                !matches!(uses, Uses::Http | Uses::Approve)
                    || args
                        .get("method")
                        .and_then(Value::as_str)
                        .is_some_and(|m| !matches!(m.to_ascii_uppercase().as_str(), "GET" | "HEAD" | "OPTIONS"))
            }
        }
    }
}
