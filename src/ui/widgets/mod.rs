//! Shared widgets and formatting.

pub mod chart;
pub mod columns;
pub mod fit;
pub mod fmt;
pub mod list;
pub mod markdown;
pub mod text_memo;
