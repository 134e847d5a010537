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

/// A clock that follows tokio's clock from `base` (Unix ms): under paused
/// time (`#[tokio::test(start_paused = true)]`) it moves only as tokio's
/// timers advance, so timestamps and timers agree in tests.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    pub base: Ts,
    pub start: tokio::time::Instant,
}

impl TokioClock {
    /// Starting now (tokio's now) at `base`.
    pub fn at(base: Ts) -> Self {
        TokioClock { base, start: tokio::time::Instant::now() }
    }
}

impl Clock for TokioClock {
    fn now_ms(&self) -> Ts {
        self.base + self.start.elapsed().as_millis() as Ts
    }
}
