//! Fallback entries that failed lately, left to rest.
//!
//! Without it a dead head of the chain is asked again for every question:
//! a server that hangs costs each question its whole `first_token_timeout`
//! before the next entry answers. An entry that was skipped is not asked
//! again for [`REST`] (a `retry-after` is not parsed: 429s rest the same);
//! it shows as skipped with the first reason and how long before it failed
//! (a fact that stays true in the saved conversation and its export — never
//! a countdown).
//! An entry that answers is well again at once. When every entry left in
//! the chain is resting they are asked anyway: a chain never refuses
//! without trying. The record is shared by the clones of one
//! [`super::Providers`] and starts empty when the providers are rebuilt
//! (a reload, a new key), so a fix is tried at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::protocol::chat::ModelRef;

/// How long a skipped entry is left out.
pub const REST: Duration = Duration::from_secs(60);

/// Entries that failed lately: when they failed, and why.
#[derive(Debug, Clone)]
pub struct Resting {
    failed: Arc<Mutex<HashMap<ModelRef, (Instant, String)>>>,
    period: Duration,
}

impl Default for Resting {
    fn default() -> Self {
        Resting { failed: Arc::default(), period: REST }
    }
}

impl Resting {
    /// A record whose entries rest for `period` (tests: zero turns it off).
    pub fn with_period(period: Duration) -> Self {
        Resting { failed: Arc::default(), period }
    }

    /// Why `model` is still resting at `now` and how long before `now` it
    /// failed, if it is resting.
    pub fn why(&self, model: &ModelRef, now: Instant) -> Option<(String, Duration)> {
        let map = self.failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.get(model)
            .filter(|(at, _)| *at + self.period > now)
            .map(|(at, why)| (why.clone(), now.saturating_duration_since(*at)))
    }

    /// `model` was skipped at `now` because of `reason`.
    pub fn failed(&self, model: &ModelRef, reason: &str, now: Instant) {
        if self.period.is_zero() {
            return;
        }
        let mut map = self.failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let period = self.period;
        map.retain(|_, (at, _)| *at + period > now);
        map.insert(model.clone(), (now, reason.to_owned()));
    }

    /// `model` answered: it is asked first again.
    pub fn answered(&self, model: &ModelRef) {
        self.failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(model);
    }
}

/// The skip reason of an entry passed over while it rests: why it failed,
/// and how long before it did (whole seconds, at least 1). Saved with the
/// answer, so it says nothing that stops being true later.
pub fn reason(why: &str, ago: Duration) -> String {
    format!("{why} (rested: skipped without asking, it failed {}s before)", ago.as_secs().max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_rests_for_the_period_then_is_asked_again() {
        let r = Resting::default();
        let m = ModelRef::parse("cloud/m").expect("model");
        let t0 = Instant::now();
        assert_eq!(r.why(&m, t0), None);
        r.failed(&m, "connection refused", t0);
        assert_eq!(
            r.why(&m, t0 + Duration::from_secs(10)),
            Some(("connection refused".into(), Duration::from_secs(10)))
        );
        assert_eq!(r.why(&m, t0 + REST), None, "rested");
        assert_eq!(
            reason("connection refused (127.0.0.1:9)", Duration::from_millis(12_400)),
            "connection refused (127.0.0.1:9) (rested: skipped without asking, it failed 12s before)"
        );
        assert_eq!(reason("x", Duration::ZERO), "x (rested: skipped without asking, it failed 1s before)");
        r.failed(&m, "503", t0);
        r.answered(&m);
        assert_eq!(r.why(&m, t0), None, "an answer ends the rest");
        let off = Resting::with_period(Duration::ZERO);
        off.failed(&m, "x", t0);
        assert_eq!(off.why(&m, t0), None);
    }
}
