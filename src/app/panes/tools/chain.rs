//! Chains as the pane sees them: the types and pure helpers live in
//! [`crate::protocol::chain`] (the engine's chain executor runs saved chains
//! with them); the pane builds chains from its runs and saves them by name.

pub use crate::protocol::chain::*;
