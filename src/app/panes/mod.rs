//! One module per pane: its state, its action enum and its reducer.

pub mod alert_sources;
pub mod alerts;
pub mod chat;
pub mod metrics;
pub mod metrics_prefs;
pub mod process_tree;
pub mod silence;
pub mod tools;
pub mod workflows;
