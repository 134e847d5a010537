//! One module per pane: its state, its action enum and its reducer.

pub mod metrics;
pub mod tools;
