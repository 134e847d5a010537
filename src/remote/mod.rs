//! Remote engines: `opsdeck serve` (the engine over WebSocket or stdio).

pub mod alertmanager;
mod chat_records;
pub mod client;
pub mod control;
pub mod prefect;
pub mod prometheus;
pub mod server;
pub mod session;
pub mod token;
