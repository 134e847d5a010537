//! Alerts: rules over metric series and health checks, with the pending →
//! firing → resolved life of each alert (DESIGN.md §4).

pub mod checks;
pub mod core;
pub mod deliver;
pub mod email;
pub mod eval;
#[cfg(test)]
mod eval_props;
pub mod expr;
pub mod notify;
pub mod persist;
pub mod reload;
pub mod rules;
pub mod service;
pub mod slo;
pub mod slo_buckets;
pub mod slo_engine;
#[cfg(test)]
mod slo_tests;
pub mod smtp;
pub mod uptime;
