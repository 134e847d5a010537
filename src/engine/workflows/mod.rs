//! Workflows (DESIGN.md §4, issue 12): definitions read and checked from
//! `workflows/*.toml` (definition.rs) and their schedules (schedule.rs),
//! templates (template.rs, render.rs), the run service and each run's task
//! (service.rs, driver.rs), what a step attempt is asked of (exec.rs), how
//! shell, HTTP and tool steps run (steps.rs, registry_exec.rs), and capped
//! step output (output.rs).

mod attach;
pub mod definition;
pub mod driver;
#[cfg(test)]
mod durability_tests;
pub mod exec;
pub mod from_chain;
pub mod leftovers;
pub mod output;
pub mod plan;
pub mod propose;
pub mod registry_exec;
pub mod render;
pub mod schedule;
pub mod service;
pub mod steps;
pub mod template;
pub mod triggers;
mod versions;
