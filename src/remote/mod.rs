//! Remote engines: `opsdeck serve` (the engine over WebSocket or stdio).

pub mod client;
pub mod server;
pub mod session;
pub mod token;
