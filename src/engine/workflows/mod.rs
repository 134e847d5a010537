//! Workflows (DESIGN.md §4): definitions read and checked from
//! `workflows/*.toml`, and the pure rules of their schedules. The scheduler,
//! runs and the pane build on these (issue 12).

pub mod definition;
pub mod schedule;
pub mod template;
