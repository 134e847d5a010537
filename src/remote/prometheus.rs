//! Prometheus as a metrics source: PromQL `query_range` polled into the same
//! series (and so the same charts) as host metrics.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::mpsc;

use super::client::{ClientMsg, backoff};
use crate::clock::Clock;
use crate::protocol::{Envelope, Event, SeriesSnapshot, TierSnapshot, Topic, Ts};

/// History fetched on the first poll.
pub const FIRST_RANGE: Duration = Duration::from_secs(3600);

/// A configured Prometheus: series name (e.g. `cpu.total`) → PromQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromSpec {
    pub name: String,
    pub url: String,
    pub interval: Duration,
    pub queries: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Resp {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Series>,
}

#[derive(Deserialize)]
struct Series {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

/// Turn `query_range` results into one tier of `step_ms`, keyed by opsdeck
/// series name. A query returning several series uses the first (sorted by
/// labels, so the choice is stable); the rest are ignored with a warning.
fn to_tier(step_ms: i64, results: &[(String, Vec<Series>)]) -> Option<TierSnapshot> {
    let mut points: Vec<(String, Vec<(i64, f32)>)> = Vec::new();
    for (name, series) in results {
        let mut series: Vec<&Series> = series.iter().collect();
        series.sort_by(|a, b| a.metric.cmp(&b.metric));
        if series.len() > 1 {
            tracing::warn!("prometheus query for {name} returned {} series; charting the first", series.len());
        }
        if let Some(s) = series.first() {
            let pts = s
                .values
                .iter()
                .filter_map(|(t, v)| {
                    Some(((t * 1000.0) as i64 / step_ms, v.parse::<f32>().ok().filter(|x| x.is_finite())?))
                })
                .collect();
            points.push((name.clone(), pts));
        }
    }
    let start = points.iter().flat_map(|(_, p)| p.iter().map(|x| x.0)).min()?;
    let end = points.iter().flat_map(|(_, p)| p.iter().map(|x| x.0)).max()?;
    let len = (end - start + 1) as usize;
    let columns = points
        .into_iter()
        .map(|(name, pts)| {
            let mut col = vec![f32::NAN; len];
            for (slot, v) in pts {
                col[(slot - start) as usize] = v;
            }
            (name, col)
        })
        .collect();
    Some(TierSnapshot { step_ms, start_slot: start, columns })
}

async fn query_range(
    http: &reqwest::Client,
    base: &str,
    q: &str,
    start: Ts,
    end: Ts,
    step: Duration,
) -> Result<Vec<Series>, String> {
    let url = format!("{}/api/v1/query_range", base.trim_end_matches('/'));
    let params = [
        ("query", q.to_string()),
        ("start", format!("{:.3}", start as f64 / 1000.0)),
        ("end", format!("{:.3}", end as f64 / 1000.0)),
        ("step", format!("{}s", step.as_secs().max(1))),
    ];
    let resp = http.get(&url).query(&params).send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status();
    let body: Resp = resp.json().await.map_err(|e| format!("{url}: HTTP {status}, not a Prometheus answer: {e}"))?;
    if body.status != "success" {
        return Err(format!("query {q:?}: {}", body.error.unwrap_or(body.status)));
    }
    let data = body.data.ok_or("no data in the answer")?;
    if data.result_type != "matrix" {
        return Err(format!("query {q:?}: expected a range vector, got {}", data.result_type));
    }
    Ok(data.result)
}

/// Poll until `tx` closes, reporting like a backend connection.
pub async fn run(spec: PromSpec, clock: Arc<dyn Clock>, tx: mpsc::Sender<ClientMsg>) {
    let http = match crate::net::http_client() {
        Ok(c) => c,
        Err(e) => {
            let _ = tx.send(ClientMsg::Retrying { name: spec.name.clone(), at: i64::MAX, attempt: 1, error: e }).await;
            return;
        }
    };
    let step = spec.interval.max(Duration::from_secs(1));
    let step_ms = step.as_millis() as i64;
    let mut fetched_to: Option<Ts> = None;
    let mut failures = 0u32;
    let _ = tx.send(ClientMsg::Connecting(spec.name.clone())).await;
    loop {
        let now = clock.now_ms();
        let start = fetched_to.map_or(now - FIRST_RANGE.as_millis() as i64, |t| t - 2 * step_ms);
        let mut results = Vec::new();
        let mut error = None;
        for (name, q) in &spec.queries {
            match query_range(&http, &spec.url, q, start, now, step).await {
                Ok(r) => results.push((name.clone(), r)),
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        let wait = match error {
            None => {
                if failures > 0 || fetched_to.is_none() {
                    let _ = tx.send(ClientMsg::Connected(spec.name.clone())).await;
                }
                failures = 0;
                fetched_to = Some(now);
                if let Some(tier) = to_tier(step_ms, &results) {
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
                step
            }
            Some(e) => {
                failures += 1;
                let wait = backoff(failures, 1.0).max(step.min(Duration::from_secs(30)));
                let at = now + wait.as_millis() as i64;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_results_become_a_tier_with_gaps() {
        let json = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"instance":"b"},"values":[[100,"9"]]},
            {"metric":{"instance":"a"},"values":[[100,"1.5"],[130,"2.5"],[145,"NaN"]]}]}}"#;
        let r: Resp = serde_json::from_str(json).unwrap();
        let tier = to_tier(15_000, &[("cpu.total".into(), r.data.unwrap().result)]).unwrap();
        assert_eq!(tier.start_slot, 6);
        let col = &tier.columns[0].1;
        assert_eq!(col[0], 1.5, "the first series by labels (instance=a)");
        assert!(col[1].is_nan(), "a missing step is a gap");
        assert_eq!(col[2], 2.5);
        assert_eq!(col.len(), 3, "a NaN value is no point (a trailing one adds no slot)");
    }
}
