//! Shared widgets and formatting.

pub mod chart;
pub mod fmt;
