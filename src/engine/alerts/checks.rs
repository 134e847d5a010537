//! Health checks: HTTP(S), TCP and DNS probes run through the built-in tools,
//! judged against the check's expectations, with retries before failing and a
//! response-time history.

use std::collections::VecDeque;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::rules::{Check, Probe};
use crate::engine::tools::{Registry, ToolError};
use crate::protocol::Ts;

/// Probes kept per check (the response-time history).
pub const HISTORY: usize = 240;

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub at: Ts,
    pub ok: bool,
    pub latency_ms: Option<f64>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Recent outcomes of one check.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckState {
    pub history: VecDeque<Outcome>,
    pub consecutive_failures: u32,
}

impl CheckState {
    pub fn record(&mut self, o: Outcome) {
        self.consecutive_failures = if o.ok { 0 } else { self.consecutive_failures + 1 };
        self.history.push_back(o);
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
    }

    /// Failing once `retries` probes in a row failed.
    pub fn failing(&self, retries: u32) -> bool {
        self.consecutive_failures >= retries.max(1)
    }

    pub fn last(&self) -> Option<&Outcome> {
        self.history.back()
    }
}

/// The tool and arguments that probe `check`.
pub fn tool_call(check: &Check) -> (&'static str, Value) {
    let timeout_ms = check.timeout.as_millis() as u64;
    match &check.probe {
        Probe::Http { url, expect_status, body_match, ca_file, .. } => {
            let mut args = json!({"url": url, "timeout_ms": timeout_ms});
            if let Some(ca) = ca_file {
                args["ca_file"] = json!(ca);
            }
            if let Some(s) = expect_status {
                args["expect_status"] = json!(s);
            }
            if let Some(b) = body_match {
                args["expect_body"] = json!(b);
            }
            ("http_check", args)
        }
        Probe::Tcp { addr } => {
            let (host, port) = addr.rsplit_once(':').unwrap_or((addr.as_str(), "0"));
            let port: u64 = port.parse().unwrap_or(0);
            ("tcp_check", json!({"host": host.trim_matches(['[', ']']), "port": port, "timeout_ms": timeout_ms}))
        }
        Probe::Dns { name } => ("dns_lookup", json!({"name": name})),
    }
}

/// Judge a probe's result against the check (latency limit, certificate days).
pub fn judge(check: &Check, result: Result<Value, ToolError>, at: Ts) -> Outcome {
    let v = match result {
        Ok(v) => v,
        Err(e) => return Outcome { at, ok: false, latency_ms: None, error: Some(e.to_string()) },
    };
    let latency_ms =
        v.pointer("/timing_ms/total").or_else(|| v.get("connect_ms")).or_else(|| v.get("ms")).and_then(Value::as_f64);
    let mut problems = Vec::new();
    if let (Some(limit), Some(ms)) = (check.latency, latency_ms)
        && ms > limit.as_secs_f64() * 1000.0
    {
        problems.push(format!("slow: {ms:.0} ms, limit {} ms", limit.as_millis()));
    }
    if let Probe::Http { cert_days: Some(min), .. } = &check.probe
        && let Some(days) = v.pointer("/certificate/days_left").and_then(Value::as_i64)
        && days < i64::from(*min)
    {
        problems.push(format!(
            "certificate expires in {} (limit {min})",
            crate::text::count(days.max(0) as u64, "day", "days")
        ));
    }
    // Every kind needs positive evidence of health: a result that lacks it fails.
    match &check.probe {
        Probe::Http { expect_status, .. } => match v.get("status").and_then(Value::as_u64) {
            None => problems.push("no HTTP status in the answer".into()),
            Some(s) => match expect_status {
                Some(want) if s != u64::from(*want) => problems.push(format!("status {s}, expected {want}")),
                Some(_) => {}
                // Without `expect_status` only 2xx is healthy; redirects are not followed.
                None if !(200..300).contains(&s) => problems.push(format!("status {s}, expected 2xx")),
                None => {}
            },
        },
        Probe::Tcp { .. } => {
            if v.get("open").and_then(Value::as_bool) != Some(true) {
                problems.push("port closed".into());
            }
        }
        Probe::Dns { .. } => {
            if v.get("addresses").and_then(Value::as_array).is_none_or(Vec::is_empty) {
                problems.push("no addresses".into());
            }
        }
    }
    let ok = problems.is_empty();
    Outcome { at, ok, latency_ms, error: (!ok).then(|| problems.join("; ")) }
}

/// Run one probe now.
pub async fn probe(registry: &Registry, check: &Check, at: Ts) -> Outcome {
    let (tool, args) = tool_call(check);
    let (tx, mut rx) = mpsc::channel(64);
    // The probe's progress lines are not kept.
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let limit = check.timeout + std::time::Duration::from_secs(1);
    let result = match tokio::time::timeout(limit, registry.run(tool, args, tx)).await {
        Ok(r) => r,
        Err(_) => Err(ToolError::Timeout(check.timeout)),
    };
    drain.abort();
    judge(check, result, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::alerts::rules::parse;
    use std::time::Duration;

    fn check(extra: &str) -> Check {
        parse("t.toml", &format!("[[check]]\nname = \"c\"\n{extra}\n")).unwrap().checks.remove(0)
    }

    #[test]
    fn judging_latency_certificates_and_errors() {
        let c = check("http = \"https://x/\"\nlatency = \"100ms\"\ncert_days = 14");
        let ok = judge(&c, Ok(json!({"status": 200, "timing_ms":{"total": 42.0},"certificate":{"days_left": 90}})), 5);
        assert_eq!(ok, Outcome { at: 5, ok: true, latency_ms: Some(42.0), error: None });
        let slow =
            judge(&c, Ok(json!({"status": 204, "timing_ms":{"total": 420.0},"certificate":{"days_left": 3}})), 5);
        assert_eq!(slow.error.as_deref(), Some("slow: 420 ms, limit 100 ms; certificate expires in 3 days (limit 14)"));
        let e = judge(&c, Err(ToolError::Timeout(Duration::from_secs(5))), 5);
        assert_eq!((e.ok, e.error.as_deref()), (false, Some("timed out after 5s")));
    }

    #[test]
    fn retries_before_failing() {
        let mut s = CheckState::default();
        let bad = |at| Outcome { at, ok: false, latency_ms: None, error: Some("x".into()) };
        s.record(bad(1));
        assert!(!s.failing(2));
        s.record(bad(2));
        assert!(s.failing(2));
        s.record(Outcome { at: 3, ok: true, latency_ms: Some(1.0), error: None });
        assert!(!s.failing(2));
        assert_eq!(s.history.len(), 3);
    }

    #[test]
    fn probes_map_to_tools() {
        assert_eq!(
            tool_call(&check("tcp = \"db:5432\"")),
            ("tcp_check", json!({"host":"db","port":5432,"timeout_ms":5000}))
        );
        let (t, a) = tool_call(&check("http = \"http://h/\"\nexpect_status = 204\nbody_match = \"ok\""));
        assert_eq!(
            (t, a),
            ("http_check", json!({"url":"http://h/","timeout_ms":5000,"expect_status":204,"expect_body":"ok"}))
        );
    }

    /// Loopback servers that fail in chosen ways.
    #[tokio::test]
    async fn probes_against_loopback_servers() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let reg = Registry::with_builtins(crate::jq::JqRunner::in_process());
        // Refused: a port nobody listens on.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let c = check(&format!("tcp = \"{closed}\"\ntimeout = \"2s\""));
        let o = probe(&reg, &c, 1).await;
        assert!(!o.ok && o.error.as_deref().unwrap_or("").contains("refused"), "{o:?}");
        // Hangs: accepts and never answers; the probe gives up at the timeout.
        let hang = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hang_addr = hang.local_addr().unwrap();
        let _keep = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = hang.accept().await {
                held.push(s);
            }
        });
        let c = check(&format!("http = \"http://{hang_addr}/\"\ntimeout = \"300ms\""));
        let o = probe(&reg, &c, 1).await;
        assert!(!o.ok, "{o:?}");
        // Wrong status.
        let srv = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = srv.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = srv.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(
                        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\nconnection: close\r\n\r\ndown",
                    )
                    .await;
            }
        });
        let c = check(&format!("http = \"http://{addr}/health\"\nexpect_status = 200"));
        let o = probe(&reg, &c, 1).await;
        assert_eq!(o.error.as_deref(), Some("status 503, expected 200"), "{o:?}");
        assert!(o.latency_ms.is_none());
    }

    /// A result without positive evidence of health fails, for every kind of check.
    #[test]
    fn checks_need_evidence_of_health() {
        let http = check("http = \"http://h/\"");
        for (status, ok) in [(200, true), (204, true), (301, false), (404, false), (503, false)] {
            assert_eq!(judge(&http, Ok(json!({"status": status})), 1).ok, ok, "status {status}");
        }
        assert!(!judge(&http, Ok(json!({})), 1).ok);
        let want_301 = check("http = \"http://h/\"\nexpect_status = 301");
        assert!(judge(&want_301, Ok(json!({"status": 301})), 1).ok);
        let tcp = check("tcp = \"db:5432\"");
        assert!(judge(&tcp, Ok(json!({"open": true})), 1).ok);
        assert!(!judge(&tcp, Ok(json!({"open": false})), 1).ok);
        assert!(!judge(&tcp, Ok(json!({})), 1).ok);
        let dns = check("dns = \"db.internal\"");
        assert!(judge(&dns, Ok(json!({"addresses": ["10.0.0.1"]})), 1).ok);
        assert_eq!(judge(&dns, Ok(json!({"addresses": []})), 1).error.as_deref(), Some("no addresses"));
    }

    /// Loopback: without `expect_status`, a 503 and a 301 (not followed) are failures.
    #[tokio::test]
    async fn http_checks_without_expect_status_accept_only_2xx() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let reg = Registry::with_builtins(crate::jq::JqRunner::in_process());
        for (line, want) in [
            ("503 Service Unavailable", Some("status 503, expected 2xx")),
            ("301 Moved Permanently\r\nlocation: http://127.0.0.1:1/", Some("status 301, expected 2xx")),
            ("200 OK", None),
        ] {
            let srv = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = srv.local_addr().unwrap();
            let reply = format!("HTTP/1.1 {line}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi");
            let server = tokio::spawn(async move {
                if let Ok((mut s, _)) = srv.accept().await {
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf).await;
                    let _ = s.write_all(reply.as_bytes()).await;
                }
            });
            let c = check(&format!("http = \"http://{addr}/health\"\ntimeout = \"3s\""));
            let o = probe(&reg, &c, 1).await;
            assert_eq!(o.error.as_deref(), want, "{line}: {o:?}");
            assert_eq!(o.ok, want.is_none());
            server.abort();
        }
    }

    /// An HTTPS server whose certificate expired yesterday (trusted through `ca_file`).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_expired_certificate_fails_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        use chrono::Datelike;
        params.not_after = rcgen::date_time_ymd(yesterday.year(), yesterday.month() as u8, yesterday.day() as u8);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        let port = crate::net::tls_test_server(&c, &k).await;
        let c = check(&format!(
            "http = \"https://localhost:{port}/healthz\"\nca_file = {:?}\ntimeout = \"3s\"",
            c.display().to_string()
        ));
        let o = probe(&Registry::with_builtins(crate::jq::JqRunner::in_process()), &c, 1).await;
        assert!(!o.ok, "{o:?}");
        assert!(o.error.as_deref().unwrap_or("").to_lowercase().contains("expired"), "{o:?}");
    }
}
