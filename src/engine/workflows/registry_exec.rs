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
}

impl RegistryExecutor {
    /// Over a fixed registry.
    pub fn new(registry: Registry) -> Self {
        RegistryExecutor { registry: tokio::sync::watch::channel(registry).1 }
    }

    /// Over a registry that changes (MCP servers coming and going).
    pub fn watching(registry: tokio::sync::watch::Receiver<Registry>) -> Self {
        RegistryExecutor { registry }
    }
}

impl StepExecutor for RegistryExecutor {
    fn start(&self, uses: &Uses, args: Value, out: mpsc::Sender<String>) -> Attempt {
        let registry = self.registry.borrow().clone();
        let action = Action::from_step(uses, &args);
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
