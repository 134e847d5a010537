//! Prometheus as a metrics source: PromQL `query_range` polled into the same
//! series (and so the same charts) as host metrics.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::client::{ClientMsg, backoff};
use crate::clock::Clock;
use crate::decode;
use crate::protocol::{Envelope, Event, SeriesSnapshot, Topic, Ts};

pub mod matrix;

pub use matrix::{Answer, FIRST_RANGE_MS, MAX_SLOTS, MAX_STEP_MS, MIN_STEP_MS, SlotRange};

/// A configured Prometheus: series name (e.g. `cpu.total`) → PromQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromSpec {
    pub name: String,
    pub url: String,
    pub interval: Duration,
    pub queries: BTreeMap<String, String>,
}

/// Largest answer read (bytes): one series of [`MAX_SLOTS`] points is ~300 KB.
const MAX_BODY: usize = 32 << 20;

async fn query_range(http: &reqwest::Client, base: &str, q: &str, range: &SlotRange) -> Result<Answer, String> {
    let url = format!("{}/api/v1/query_range", base.trim_end_matches('/'));
    let secs = |ms: i64| format!("{:.3}", ms as f64 / 1000.0);
    let params = [
        ("query", q.to_string()),
        ("start", secs(range.start)),
        ("end", secs(range.end)),
        ("step", secs(range.step_ms)),
    ];
    let resp =
        http.get(&url).query(&params).send().await.map_err(|e| format!("{url}: {}", crate::net::error_text(e)))?;
    let status = resp.status();
    let body = decode::body_limited(resp, MAX_BODY).await.map_err(|e| format!("{url}: HTTP {status}: {e}"))?;
    matrix::decode(&body, range).map_err(|e| format!("query {q:?}: HTTP {status}: {e}"))
}

/// Poll until `tx` closes, reporting like a backend connection.
///
/// Each poll asks for the range since the previous one (at most an hour
/// back); samples outside it are dropped (logged once) and slot counts are
/// bounded by the range, whatever the answer holds.
pub async fn run(spec: PromSpec, clock: Arc<dyn Clock>, tx: mpsc::Sender<ClientMsg>) {
    let fatal = |error: String| ClientMsg::Retrying { name: spec.name.clone(), at: i64::MAX, attempt: 1, error };
    let http = match crate::net::http_client() {
        Ok(c) => c,
        Err(e) => {
            let _ = tx.send(fatal(e)).await;
            return;
        }
    };
    let step_ms = i64::try_from(spec.interval.as_millis()).unwrap_or(i64::MAX).max(MIN_STEP_MS);
    if step_ms > MAX_STEP_MS {
        let e = format!("prometheus {}: interval {:?} is too long: at most 1 day", spec.name, spec.interval);
        let _ = tx.send(fatal(e)).await;
        return;
    }
    let step = Duration::from_millis(step_ms as u64);
    let mut fetched_to: Option<Ts> = None;
    let mut failures = 0u32;
    let mut warned_outside = false;
    let _ = tx.send(ClientMsg::Connecting(spec.name.clone())).await;
    loop {
        let now = clock.now_ms();
        let mut answers = Vec::new();
        let mut error = None;
        match SlotRange::next(now, fetched_to, step_ms) {
            Ok(range) => {
                for (name, q) in &spec.queries {
                    match query_range(&http, &spec.url, q, &range).await {
                        Ok(a) => answers.push((name.clone(), a)),
                        Err(e) => {
                            error = Some(e);
                            break;
                        }
                    }
                }
                let outside: usize = answers.iter().map(|(_, a)| a.outside).sum();
                if outside > 0 && !std::mem::replace(&mut warned_outside, true) {
                    tracing::warn!(
                        "prometheus {}: dropped {outside} samples outside the range asked for \
                         (a timestamp in milliseconds?); logged once",
                        spec.name
                    );
                }
                for (name, a) in answers.iter().filter(|(_, a)| a.series > 1 || a.unreadable > 0) {
                    tracing::debug!(
                        "prometheus {} query for {name}: {} series (charting the first), {} unreadable items skipped",
                        spec.name,
                        a.series,
                        a.unreadable
                    );
                }
                if error.is_none()
                    && let Some(tier) = matrix::to_tier(&range, &answers)
                {
                    let snap = SeriesSnapshot { tiers: vec![tier] };
                    let env = Envelope {
                        epoch: 0,
                        seq: 0,
                        ts: now,
                        source: spec.name.clone(),
                        topic: Topic::Metrics,
                        event: Event::SeriesSamples(Box::new(snap)),
                    };
                    if tx.send(ClientMsg::Events(vec![Arc::new(env)])).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => error = Some(e),
        }
        let wait = match error {
            None => {
                if failures > 0 || fetched_to.is_none() {
                    let _ = tx.send(ClientMsg::Connected(spec.name.clone())).await;
                }
                failures = 0;
                fetched_to = Some(now);
                step
            }
            Some(e) => {
                failures += 1;
                let wait = backoff(failures, 1.0).max(step.min(Duration::from_secs(30)));
                let at = now.saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
                if tx
                    .send(ClientMsg::Retrying { name: spec.name.clone(), at, attempt: failures, error: e })
                    .await
                    .is_err()
                {
                    return;
                }
                wait
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {},
            _ = tx.closed() => return,
        }
    }
}
