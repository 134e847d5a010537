//! What the scheduler asks of the code that carries out a step: start one
//! attempt with rendered arguments, and say whether it changes things. The
//! product's executor runs shell, HTTP and registry tools (steps.rs); tests
//! and benches give their own.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use super::definition::{RetryPolicy, Uses};

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    /// Worth another attempt (a refused argument or an unknown tool is not).
    pub retryable: bool,
    /// What the attempt produced anyway (a shell step's exit code and output).
    pub output: Option<Value>,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Failure { message: message.into(), retryable: true, output: None }
    }

    pub fn fatal(message: impl Into<String>) -> Self {
        Failure { message: message.into(), retryable: false, output: None }
    }
}

/// One attempt in flight; dropping it stops it at once (processes killed,
/// requests aborted).
pub type Attempt = Pin<Box<dyn Future<Output = Result<Value, Failure>> + Send>>;

/// Carries out steps (never `approve` ones: the scheduler answers those).
pub trait StepExecutor: Send + Sync {
    /// Start one attempt of a step of kind `uses` with its rendered `args`;
    /// output lines go to `out` as they come.
    fn start(&self, uses: &Uses, args: Value, out: mpsc::Sender<String>) -> Attempt;
    /// The step changes things outside opsdeck (shell, a non-GET request, a
    /// mutating tool): a run not started by a person needs an approval first
    /// unless its workflow is `unattended`.
    fn mutating(&self, uses: &Uses, args: &Value) -> bool;
}

/// The wait before attempt `next` (2 for the first retry) under `policy`:
/// `initial × coefficient^(next−2)`, at most `max_interval`, less a random
/// part of at most `jitter` of it (`random` in [0, 1)). Never negative.
pub fn backoff(policy: &RetryPolicy, next: u32, random: f64) -> Duration {
    let exp = next.saturating_sub(2).min(64) as i32;
    let base = policy.initial_interval.as_secs_f64() * policy.backoff_coefficient.max(1.0).powi(exp);
    let capped = base.min(policy.max_interval.as_secs_f64()).max(0.0);
    let cut = capped * policy.jitter.clamp(0.0, 1.0) * random.clamp(0.0, 1.0);
    Duration::from_secs_f64((capped - cut).max(0.0))
}

/// Whether `policy` allows another attempt after `failure` at attempt `attempt`.
pub fn retry_allowed(policy: &RetryPolicy, attempt: u32, failure: &Failure) -> bool {
    failure.retryable
        && attempt < policy.max_attempts
        && !policy.non_retryable.iter().any(|n| !n.is_empty() && failure.message.contains(n.as_str()))
}

/// A random number in [0, 1) from the OS (jitter needs no more).
pub fn random01() -> f64 {
    let mut b = [0u8; 8];
    let _ = getrandom::fill(&mut b);
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            initial_interval: Duration::from_secs(1),
            backoff_coefficient: 2.0,
            max_interval: Duration::from_secs(5),
            jitter: 0.2,
            non_retryable: vec!["404".into()],
        }
    }

    #[test]
    fn backoff_grows_caps_and_jitter_stays_in_bounds() {
        let p = policy();
        assert_eq!(backoff(&p, 2, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(&p, 3, 0.0), Duration::from_secs(2));
        assert_eq!(backoff(&p, 4, 0.0), Duration::from_secs(4));
        assert_eq!(backoff(&p, 5, 0.0), Duration::from_secs(5), "capped at max_interval");
        assert_eq!(backoff(&p, 4_000_000, 0.0), Duration::from_secs(5), "no overflow");
        for r in [0.0, 0.25, 0.5, 0.999_999] {
            let d = backoff(&p, 4, r).as_secs_f64();
            assert!((3.2..=4.0).contains(&d), "{r} → {d}");
        }
        let none = RetryPolicy { jitter: 0.0, ..p };
        assert_eq!(backoff(&none, 3, 0.9), Duration::from_secs(2));
        for _ in 0..100 {
            let r = random01();
            assert!((0.0..1.0).contains(&r), "{r}");
        }
    }

    #[test]
    fn retries_stop_at_max_attempts_and_at_non_retryable_errors() {
        let p = policy();
        assert!(retry_allowed(&p, 1, &Failure::new("500 Internal Server Error")));
        assert!(!retry_allowed(&p, 5, &Failure::new("500")), "fifth of five was the last");
        assert!(!retry_allowed(&p, 1, &Failure::new("404 Not Found")));
        assert!(!retry_allowed(&p, 1, &Failure::fatal("unknown tool")));
    }
}
