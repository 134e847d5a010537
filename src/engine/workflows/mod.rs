//! Workflows (DESIGN.md §4): definitions read and checked from
//! `workflows/*.toml`. The scheduler, runs and the pane build on these
//! (issue 12).

pub mod definition;
pub mod output;
pub mod steps;
pub mod template;
