//! Workflows (DESIGN.md §4, issue 12): definitions read and checked from
//! `workflows/*.toml` (definition.rs), templates (template.rs, render.rs),
//! the run service and each run's task (service.rs, driver.rs), and what a
//! step attempt is asked of (exec.rs).

mod attach;
pub mod definition;
pub mod driver;
pub mod exec;
pub mod plan;
pub mod render;
pub mod service;
pub mod template;
