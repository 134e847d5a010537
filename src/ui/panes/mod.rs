//! One view module per pane.

pub mod alerts;
pub mod metrics;
pub mod tools;
pub mod tools_diff;
pub mod tools_popup;
