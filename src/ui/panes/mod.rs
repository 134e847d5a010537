//! One view module per pane.

pub mod metrics;
