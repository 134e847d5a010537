//! Prefect's REST API (the `/api` of a Prefect 3 server, or a Prefect Cloud
//! workspace's URL with a bearer key): the reads the runs pane needs and the
//! three actions (cancel, retry, start a deployment).
//!
//! Every answer is read up to a byte limit and item by item (one unreadable
//! flow run is skipped, not the list); every request has the client's 10 s
//! timeout; errors say what was asked, of which server, and Prefect's own
//! words (`detail`, or the first validation error of a 422).

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::PrefectSpec;
use super::model::{Deployment, Flow, FlowRun, LogRecord, TaskRun};

/// Largest answer read (bytes).
const MAX_BODY: usize = 32 << 20;
/// Characters of an error answer kept in a message.
const ERROR_BODY: usize = 300;
/// Items asked for per page (Prefect's own maximum is 200).
pub const PAGE: usize = 200;
/// Times a busy server's answer (429, 502, 503, 504) is asked again.
const RETRIES: u32 = 4;
/// Pages read of one list at most (task runs, logs of one flow run).
const MAX_PAGES: usize = 25;

/// A Prefect server's API, with the client that talks to it.
#[derive(Clone)]
pub struct Api {
    pub spec: PrefectSpec,
    http: reqwest::Client,
}

impl Api {
    pub fn new(spec: PrefectSpec) -> Result<Api, String> {
        Ok(Api { spec, http: crate::net::http_client()? })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.spec.url.trim_end_matches('/'))
    }

    fn what(&self, method: &str, path: &str) -> String {
        // The source's name is said by whoever shows the error.
        format!("{method} {path}")
    }

    /// Send a request; the answer's JSON, and its `Date` (Unix ms) when given.
    /// A busy server's 429/502/503/504 (Prefect answers 503 while its
    /// database is locked) is asked again, as Prefect's own client does:
    /// [`RETRIES`] times, after its `Retry-After` (at most 5 s) or 0.25 s
    /// doubling.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(Value, Option<i64>), String> {
        let what = self.what(method.as_str(), path);
        let mut attempt = 0u32;
        let resp = loop {
            let mut req = self.http.request(method.clone(), self.url(path));
            if let Some(key) = &self.spec.key {
                req = req.bearer_auth(key);
            }
            if let Some(b) = &body {
                req = req.json(b);
            }
            let resp = req.send().await.map_err(|e| format!("{what}: {}", crate::net::request_error(&e)))?;
            let busy = matches!(resp.status().as_u16(), 429 | 502 | 503 | 504);
            if !busy || attempt >= RETRIES {
                break resp;
            }
            let after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(|s| std::time::Duration::from_secs_f64(s.min(5.0)));
            tokio::time::sleep(after.unwrap_or(std::time::Duration::from_millis(250 << attempt))).await;
            attempt += 1;
        };
        let status = resp.status();
        let date = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|d| d.to_str().ok())
            .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
            .map(|d| d.timestamp_millis());
        let body = crate::decode::body_limited(resp, MAX_BODY).await.map_err(|e| format!("{what}: {e}"))?;
        if !status.is_success() {
            return Err(format!(
                "{what}: HTTP {}{}",
                status.as_u16(),
                error_words(status.as_u16(), &body, &self.spec.name)
            ));
        }
        let v = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).map_err(|e| format!("{what}: not JSON: {e}"))?
        };
        Ok((v, date))
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        Ok(self.send(reqwest::Method::POST, path, Some(body)).await?.0)
    }

    /// A list answer, item by item (unreadable items skipped and logged).
    async fn list<T: DeserializeOwned>(&self, path: &str, body: Value) -> Result<Vec<T>, String> {
        let v = self.post(path, body).await?;
        let items = crate::decode::items::<T>(v, PAGE * 5, &self.what("POST", path))?;
        if items.skipped > 0 {
            tracing::warn!(
                "prefect {}: POST {path}: skipped {} unreadable items ({})",
                self.spec.name,
                items.skipped,
                items.first_error.unwrap_or_default()
            );
        }
        Ok(items.items)
    }

    /// `GET /health`: the server's time (its `Date`, Unix ms) when it answers.
    pub async fn health(&self) -> Result<Option<i64>, String> {
        Ok(self.send(reqwest::Method::GET, "/health", None).await?.1)
    }

    /// Flow runs, newest expected start first: one page (`limit` ≤ 200) from `offset`.
    pub async fn flow_runs(&self, limit: usize, offset: usize, filter: Value) -> Result<Vec<FlowRun>, String> {
        let mut body = json!({"sort": "EXPECTED_START_TIME_DESC", "limit": limit.min(PAGE), "offset": offset});
        if !filter.is_null() {
            body["flow_runs"] = filter;
        }
        self.list("/flow_runs/filter", body).await
    }

    /// One flow run (`GET /flow_runs/{id}`).
    pub async fn flow_run(&self, id: &str) -> Result<FlowRun, String> {
        let path = format!("/flow_runs/{}", path_id(id)?);
        let v = self.send(reqwest::Method::GET, &path, None).await?.0;
        serde_json::from_value(v).map_err(|e| format!("{}: {e}", self.what("GET", &path)))
    }

    /// The names of flows by id.
    pub async fn flows(&self, ids: &[String]) -> Result<Vec<Flow>, String> {
        let mut out = Vec::new();
        for chunk in ids.chunks(PAGE) {
            let body = json!({"flows": {"id": {"any_": chunk}}, "limit": PAGE});
            out.extend(self.list::<Flow>("/flows/filter", body).await?);
        }
        Ok(out)
    }

    /// Every deployment (at most 1,000).
    pub async fn deployments(&self) -> Result<Vec<Deployment>, String> {
        let mut out = Vec::new();
        for page in 0..5 {
            let body = json!({"sort": "NAME_ASC", "limit": PAGE, "offset": page * PAGE});
            let got: Vec<Deployment> = self.list("/deployments/filter", body).await?;
            let done = got.len() < PAGE;
            out.extend(got);
            if done {
                break;
            }
        }
        Ok(out)
    }

    /// A flow run's task runs (every page, at most 5,000).
    pub async fn task_runs(&self, flow_run: &str) -> Result<Vec<TaskRun>, String> {
        self.pages("/task_runs/filter", |offset| {
            json!({"flow_runs": {"id": {"any_": [flow_run]}}, "sort": "EXPECTED_START_TIME_ASC", "limit": PAGE, "offset": offset})
        })
        .await
    }

    /// A flow run's logs, oldest first, after `after` (RFC 3339; `None`:
    /// from the start), at most `max` records.
    pub async fn logs(&self, flow_run: &str, after: Option<&str>, max: usize) -> Result<Vec<LogRecord>, String> {
        let mut logs = json!({"flow_run_id": {"any_": [flow_run]}});
        if let Some(a) = after {
            logs["timestamp"] = json!({"after_": a});
        }
        let mut out: Vec<LogRecord> = Vec::new();
        for page in 0..MAX_PAGES {
            let body = json!({"logs": logs, "sort": "TIMESTAMP_ASC", "limit": PAGE, "offset": page * PAGE});
            let got: Vec<LogRecord> = self.list("/logs/filter", body).await?;
            let done = got.len() < PAGE || out.len() + got.len() >= max;
            out.extend(got);
            if done {
                break;
            }
        }
        out.truncate(max);
        Ok(out)
    }

    async fn pages<T: DeserializeOwned>(&self, path: &str, body: impl Fn(usize) -> Value) -> Result<Vec<T>, String> {
        let mut out = Vec::new();
        for page in 0..MAX_PAGES {
            let got: Vec<T> = self.list(path, body(page * PAGE)).await?;
            let done = got.len() < PAGE;
            out.extend(got);
            if done {
                break;
            }
        }
        Ok(out)
    }

    /// `POST /flow_runs/{id}/set_state` with `state`, forced as Prefect's UI
    /// does. Prefect answers 200 even when it refuses: its `status`
    /// (`ACCEPT`, `REJECT`, `ABORT`, `WAIT`) and reason decide.
    pub async fn set_state(&self, id: &str, state: Value) -> Result<Value, String> {
        let path = format!("/flow_runs/{}/set_state", path_id(id)?);
        let v = self.post(&path, json!({"state": state, "force": true})).await?;
        match v["status"].as_str() {
            Some("ACCEPT") => Ok(v["state"].clone()),
            Some(other) => {
                let reason = v["details"]["reason"].as_str().unwrap_or("no reason given");
                Err(format!("the server refused ({other}): {}", crate::decode::cut(reason, ERROR_BODY)))
            }
            None => Err("set_state answered without a status".to_string()),
        }
    }

    /// Every state a flow run went through, oldest first
    /// (`GET /flow_run_states/?flow_run_id=ID`): its attempts' history.
    pub async fn states(&self, flow_run: &str) -> Result<Vec<super::model::State>, String> {
        let path = format!("/flow_run_states/?flow_run_id={}", path_id(flow_run)?);
        let v = self.send(reqwest::Method::GET, &path, None).await?.0;
        let items = crate::decode::items::<super::model::State>(v, 10_000, &self.what("GET", &path))?;
        let mut states = items.items;
        states.sort_by_key(|s| super::model::ms(&s.timestamp).unwrap_or(0));
        Ok(states)
    }

    /// `POST /flow_runs/{id}/resume`: a paused run goes on (as Prefect's UI
    /// and `resume_flow_run` do); refusals are read from `status` as for
    /// [`set_state`](Self::set_state).
    pub async fn resume(&self, id: &str) -> Result<(), String> {
        let path = format!("/flow_runs/{}/resume", path_id(id)?);
        let v = self.post(&path, json!({"run_input": null})).await?;
        match v["status"].as_str() {
            Some("ACCEPT") => Ok(()),
            Some(other) => {
                let reason = v["details"]["reason"].as_str().unwrap_or("no reason given");
                Err(format!("the server refused ({other}): {}", crate::decode::cut(reason, ERROR_BODY)))
            }
            None => Err("resume answered without a status".to_string()),
        }
    }

    /// `POST /deployments/{id}/create_flow_run`: the new flow run (scheduled now).
    pub async fn create_flow_run(
        &self,
        deployment: &str,
        parameters: Map<String, Value>,
        by: &str,
    ) -> Result<FlowRun, String> {
        let path = format!("/deployments/{}/create_flow_run", path_id(deployment)?);
        let mut tags = vec!["opsdeck".to_string()];
        if !by.trim().is_empty() {
            tags.push(format!("by:{}", crate::decode::cut(by.trim(), 60)));
        }
        let v = self.post(&path, json!({"parameters": parameters, "tags": tags})).await?;
        serde_json::from_value(v).map_err(|e| format!("{}: {e}", self.what("POST", &path)))
    }
}

/// An id put in a path: Prefect's ids are UUIDs; anything else is refused
/// rather than sent (it could add path segments or a query).
fn path_id(id: &str) -> Result<&str, String> {
    if !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        Ok(id)
    } else {
        Err(format!("{:?} is not a Prefect id", crate::decode::cut(id, 80)))
    }
}

/// Prefect's words for a failed request: `detail` (a string, or the first
/// validation error of a 422), or the body's start; and how to fix a 401/403.
fn error_words(status: u16, body: &[u8], name: &str) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let detail = match (&v["detail"], &v["exception_detail"]) {
        (Value::String(s), _) => s.clone(),
        (Value::Array(a), _) | (_, Value::Array(a)) if !a.is_empty() => {
            let e = &a[0];
            let loc: Vec<String> = e["loc"]
                .as_array()
                .map(|l| l.iter().map(|p| p.to_string().trim_matches('"').to_string()).collect())
                .unwrap_or_default();
            format!("{} ({})", e["msg"].as_str().unwrap_or("invalid"), loc.join("."))
        }
        _ => String::from_utf8_lossy(body).trim().to_string(),
    };
    let mut out = String::new();
    let detail = crate::decode::cut(&detail.replace(char::is_control, " "), ERROR_BODY);
    if !detail.is_empty() {
        out.push_str(": ");
        out.push_str(&detail);
    }
    if matches!(status, 401 | 403) {
        out.push_str(&format!(
            "; the API key was refused or is missing: set key_secret in the [[prefect]] table {name:?} and store the key with `opsdeck key set SECRET_NAME`, then restart"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loopback server answering `answers` in turn, one per connection.
    async fn serve(answers: Vec<&'static str>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api", l.local_addr().unwrap());
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let n = seen.clone();
        tokio::spawn(async move {
            for a in answers {
                let Ok((mut s, _)) = l.accept().await else { return };
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = s.write_all(a.as_bytes()).await;
            }
        });
        (url, seen)
    }

    #[tokio::test]
    async fn a_busy_server_is_asked_again_and_a_refusal_is_not() {
        const BUSY: &str =
            "HTTP/1.1 503 Service Unavailable\r\nretry-after: 0\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}";
        const OK: &str =
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4\r\nconnection: close\r\n\r\ntrue";
        const NOPE: &str =
            "HTTP/1.1 404 Not Found\r\ncontent-length: 22\r\nconnection: close\r\n\r\n{\"detail\":\"Not found\"}";
        let spec =
            |url: String| PrefectSpec { name: "p".into(), url, key: None, poll: std::time::Duration::from_secs(5) };
        let (url, seen) = serve(vec![BUSY, BUSY, OK]).await;
        assert!(Api::new(spec(url)).unwrap().health().await.is_ok());
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 3, "two busy answers, then the answer");
        let (url, seen) = serve(vec![NOPE, OK]).await;
        let e = Api::new(spec(url)).unwrap().health().await.unwrap_err();
        assert!(e.contains("HTTP 404: Not found"), "{e}");
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1, "a refusal is not asked again");
    }

    #[test]
    fn ids_that_could_change_the_path_are_refused() {
        assert!(path_id("187fd26c-b115-45a1-a070-752e5a6444ef").is_ok());
        for bad in ["", "../flows", "a?b=1", "a/b", "ab cd", &"a".repeat(65)] {
            assert!(path_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_say_prefects_own_words() {
        let e = error_words(409, br#"{"detail":"Error creating flow run: Validation failed for field 'n'."}"#, "p");
        assert_eq!(e, ": Error creating flow run: Validation failed for field 'n'.");
        let e = error_words(
            422,
            br#"{"exception_message":"Invalid request received.","exception_detail":[{"type":"enum","loc":["body","sort"],"msg":"Input should be X"}]}"#,
            "p",
        );
        assert_eq!(e, ": Input should be X (body.sort)");
        assert!(error_words(401, b"", "p").contains("key_secret in the [[prefect]] table \"p\""));
        let e = error_words(500, b"\x00\xffboom\n", "p");
        assert!(e.ends_with("boom") && !e.chars().any(char::is_control), "{e:?}");
    }
}
