//! Configuration: paths, `config.toml`, themes and keymaps, and their errors.

pub mod alerting;
pub mod chat;
mod chat_check;
pub mod collect;
pub mod email;
pub mod error;
pub mod keymap;
pub mod keys;
pub mod mcp;
mod names;
pub mod paths;
pub mod prefect;
pub mod settings;
pub mod theme;
mod theme_role;

pub use error::ConfigError;
pub use paths::Paths;
pub use settings::{Config, Loaded, load_config};
