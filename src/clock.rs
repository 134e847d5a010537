//! Injected time: the engine and the app never read the system clock directly.

use crate::protocol::Ts;

pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> Ts;
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> Ts {
        chrono::Utc::now().timestamp_millis()
    }
}

/// A clock fixed at a given instant (tests, snapshots).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub Ts);

impl Clock for FixedClock {
    fn now_ms(&self) -> Ts {
        self.0
    }
}
