//! opsdeck: a keyboard-driven terminal control center for operations work.
//!
//! Layers (see docs/architecture.md): `protocol` (shared types) → `engine`
//! (domain, bus, store) → `runtime` (tokio + terminal) → `app` (pure state
//! machine) → `ui` (pure views). `config` holds paths, settings, themes and
//! keymaps.
#![forbid(unsafe_code)]

pub mod actions;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod decode;
pub mod engine;
pub mod jq;
pub mod logging;
pub mod net;
pub mod protocol;
pub mod remote;
pub mod runtime;
pub mod secrets;
pub mod series;
pub mod text;
pub mod ui;
