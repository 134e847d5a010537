//! `http_check`: one HTTP(S) request with a latency breakdown (DNS, connect,
//! TLS, first byte, total), expectations on status and body, and the TLS
//! certificate's expiry. The phases are driven by hand (tokio + rustls + hyper)
//! so each one is timed.

use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

use super::{RunFuture, Tool, ToolError, ToolSpec};

/// Body bytes kept for matching and the result.
const MAX_BODY: usize = 1 << 20;

pub struct HttpCheck(ToolSpec);

impl HttpCheck {
    pub fn new() -> Self {
        HttpCheck(ToolSpec {
            name: "http_check".into(),
            description: "One HTTP(S) request: status, latency breakdown, expected status/body, TLS certificate expiry"
                .into(),
            schema: json!({"type":"object","required":["url"],"properties":{
                "url":{"type":"string","description":"http:// or https:// URL"},
                "method":{"type":"string","enum":["GET","HEAD","POST","PUT","DELETE","OPTIONS","PATCH"],"default":"GET"},
                "headers":{"type":"object","description":"extra request headers"},
                "body":{"type":"string","description":"request body"},
                "expect_status":{"type":"integer","description":"fail unless the status is this"},
                "expect_body":{"type":"string","description":"fail unless the body contains this"},
                "timeout_ms":{"type":"integer","default":10000,"description":"bounds the whole exchange, DNS to the last body byte (at most 55000); on expiry the error says what was known. Bodies past 1 MiB are not read (truncated)"},
                "ca_file":{"type":"string","description":"extra PEM CA certificates to trust (internal CAs)"}}}),
            mutating: false,
            source: "builtin".into(),
            timeout: Duration::from_secs(60),
        })
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

fn fail(what: impl std::fmt::Display) -> ToolError {
    ToolError::Failed(what.to_string())
}

/// Days until `not_after` of a DER certificate, and that date (RFC 3339).
fn cert_expiry(der: &[u8]) -> Option<(i64, String)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let not_after = cert.validity().not_after.timestamp();
    let now = chrono::Utc::now().timestamp();
    let date = chrono::DateTime::from_timestamp(not_after, 0)?.to_rfc3339();
    Some(((not_after - now).div_euclid(86_400), date))
}

async fn request<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    io: S,
    req: hyper::Request<Full<Bytes>>,
) -> Result<(hyper::Response<hyper::body::Incoming>, Instant, Conn), ToolError> {
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(|e| fail(format!("HTTP: {e}")))?;
    let conn = Conn(tokio::spawn(async move {
        let _ = conn.await;
    }));
    let resp = sender.send_request(req).await.map_err(|e| fail(format!("HTTP: {e}")))?;
    Ok((resp, Instant::now(), conn))
}

/// The connection task; dropped (aborted) when the check is done, so a body
/// that never ends is not read any further.
struct Conn(tokio::task::JoinHandle<()>);

impl Drop for Conn {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What a check that ran out of time had learnt so far, e.g.
/// `HTTP 200 after 1.2 ms, body incomplete after 2 s, 5120 bytes`.
fn incomplete(limit: Duration, phase: &str) -> ToolError {
    fail(format!("{phase}, no more within the {} ms timeout_ms", limit.as_millis()))
}

async fn check(args: Value, out: mpsc::Sender<String>) -> Result<Value, ToolError> {
    let raw = args.get("url").and_then(Value::as_str).unwrap_or_default();
    let url =
        url::Url::parse(raw).map_err(|e| ToolError::BadArgument { field: "url".into(), problem: e.to_string() })?;
    let tls = match url.scheme() {
        "https" => true,
        "http" => false,
        s => {
            return Err(ToolError::BadArgument {
                field: "url".into(),
                problem: format!("scheme {s} (use http or https)"),
            });
        }
    };
    let host = url
        .host_str()
        .ok_or_else(|| ToolError::BadArgument { field: "url".into(), problem: "no host".into() })?
        .to_string();
    let port = url.port_or_known_default().unwrap_or(if tls { 443 } else { 80 });
    let method = args.get("method").and_then(Value::as_str).unwrap_or("GET").to_string();
    // timeout_ms bounds the whole exchange (DNS to the last body byte), within the tool's own limit.
    let limit = Duration::from_millis(args.get("timeout_ms").and_then(Value::as_u64).unwrap_or(10_000).min(55_000));

    let t0 = Instant::now();
    let deadline = tokio::time::Instant::from_std(t0 + limit);
    let lookup_host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let addr = tokio::time::timeout_at(deadline, tokio::net::lookup_host((lookup_host.as_str(), port)))
        .await
        .map_err(|_| incomplete(limit, &format!("DNS for {host}: no answer")))?
        .map_err(|e| fail(format!("DNS for {host}: {}", crate::net::io_text(&e))))?
        .next()
        .ok_or_else(|| fail(format!("DNS for {host}: no address")))?;
    let dns = t0.elapsed();
    let tcp = tokio::time::timeout_at(deadline, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| incomplete(limit, &format!("DNS {:.1} ms, connect {addr}: no answer", ms(dns))))?
        .map_err(|e| fail(format!("connect {addr}: {}", crate::net::io_text(&e))))?;
    let connect = t0.elapsed();
    let _ = out.send(format!("connected to {addr} in {:.1} ms", ms(connect))).await;

    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let mut builder = hyper::Request::builder()
        .method(method.as_str())
        .uri(path)
        .header("host", url.authority())
        .header("user-agent", "opsdeck-http-check");
    if let Some(h) = args.get("headers").and_then(Value::as_object) {
        for (k, v) in h {
            builder = builder.header(k.as_str(), v.as_str().unwrap_or_default());
        }
    }
    let body = args.get("body").and_then(Value::as_str).unwrap_or_default().to_string();
    let req = builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| ToolError::BadArgument { field: "headers".into(), problem: e.to_string() })?;

    let mut cert = Value::Null;
    let (tls_done, (resp, first_byte, _conn)) = if tls {
        let ca = args.get("ca_file").and_then(Value::as_str).map(std::path::PathBuf::from);
        let config = crate::net::tls_client_config(ca.as_deref()).map_err(fail)?;
        let connector = tokio_rustls::TlsConnector::from(config);
        let name = tokio_rustls::rustls::pki_types::ServerName::try_from(lookup_host.clone())
            .map_err(|e| fail(format!("{host}: {e}")))?;
        let stream = tokio::time::timeout_at(deadline, connector.connect(name, tcp))
            .await
            .map_err(|_| incomplete(limit, &format!("connected in {:.1} ms, TLS handshake unfinished", ms(connect))))?
            .map_err(|e| fail(format!("TLS: {}", crate::net::io_text(&e))))?;
        let handshake = t0.elapsed();
        if let Some((days, date)) =
            stream.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(|c| cert_expiry(c))
        {
            let _ = out
                .send(format!(
                    "certificate valid until {date} ({})",
                    crate::text::count(days.max(0) as u64, "day", "days")
                ))
                .await;
            cert = json!({"expires": date, "days_left": days});
        }
        let waiting = format!("connected in {:.1} ms, no response", ms(connect));
        (
            Some(handshake),
            tokio::time::timeout_at(deadline, request(stream, req))
                .await
                .map_err(|_| incomplete(limit, &waiting))??,
        )
    } else {
        let waiting = format!("connected in {:.1} ms, no response", ms(connect));
        (None, tokio::time::timeout_at(deadline, request(tcp, req)).await.map_err(|_| incomplete(limit, &waiting))??)
    };
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    let mut truncated = false;
    let mut incoming = resp.into_body();
    loop {
        let frame = match tokio::time::timeout_at(deadline, incoming.frame()).await {
            Err(_) => {
                let phase = format!(
                    "HTTP {status} after {:.1} ms, body incomplete after {:.1} s, {} bytes",
                    ms(first_byte.duration_since(t0)),
                    t0.elapsed().as_secs_f64(),
                    body.len()
                );
                return Err(incomplete(limit, &phase));
            }
            Ok(None) => break,
            Ok(Some(f)) => f,
        };
        if let Ok(data) = frame.map_err(|e| fail(format!("HTTP {status}: body: {e}")))?.into_data() {
            let room = MAX_BODY.saturating_sub(body.len());
            body.extend_from_slice(&data[..data.len().min(room)]);
            // Past the cap: stop reading (the connection is closed), say so.
            if data.len() > room {
                truncated = true;
                break;
            }
        }
    }
    let total = t0.elapsed();
    let text = String::from_utf8_lossy(&body).to_string();
    let cut = if truncated { " (truncated: the body is longer, only the first 1 MiB was read)" } else { "" };
    let _ = out.send(format!("HTTP {status}, {} bytes{cut}, {:.1} ms", body.len(), ms(total))).await;

    let mut problems = Vec::new();
    if let Some(want) = args.get("expect_status").and_then(Value::as_u64)
        && u64::from(status) != want
    {
        problems.push(format!("status {status}, expected {want}"));
    }
    if let Some(want) = args.get("expect_body").and_then(Value::as_str)
        && !text.contains(want)
    {
        problems.push(format!("body does not contain {want:?}"));
    }
    let result = json!({
        "status": status,
        "address": addr.to_string(),
        "bytes": body.len(),
        "truncated": truncated,
        "timing_ms": {
            "dns": ms(dns),
            "connect": ms(connect - dns),
            "tls": tls_done.map(|t| ms(t - connect)),
            "first_byte": ms(first_byte.duration_since(t0)),
            "total": ms(total),
        },
        "certificate": cert,
        "body": text.chars().take(2000).collect::<String>(),
    });
    if problems.is_empty() { Ok(result) } else { Err(fail(problems.join("; "))) }
}

impl Tool for HttpCheck {
    fn spec(&self) -> &ToolSpec {
        &self.0
    }

    fn run(&self, args: Value, out: mpsc::Sender<String>) -> RunFuture {
        Box::pin(check(args, out))
    }

    /// Only `GET`, `HEAD` and `OPTIONS` are safe methods (RFC 9110 §9.2.1).
    fn changes_state(&self, args: &Value) -> bool {
        let method = args.get("method").and_then(Value::as_str).unwrap_or("GET");
        !["GET", "HEAD", "OPTIONS"].iter().any(|m| m.eq_ignore_ascii_case(method))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn serve_once(status: u16, body: &'static str) -> std::net::SocketAddr {
        let app = axum::Router::new().route(
            "/health",
            axum::routing::get(move || async move { (axum::http::StatusCode::from_u16(status).unwrap(), body) }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await });
        addr
    }

    #[tokio::test]
    async fn status_body_and_timings() {
        let addr = serve_once(200, "ok: all good").await;
        let (tx, mut rx) = mpsc::channel(16);
        let v =
            check(json!({"url": format!("http://{addr}/health"), "expect_status": 200, "expect_body": "all good"}), tx)
                .await
                .unwrap();
        assert_eq!(v["status"], 200);
        let t = &v["timing_ms"];
        assert!(t["total"].as_f64().unwrap() >= t["first_byte"].as_f64().unwrap());
        assert!(t["tls"].is_null());
        assert!(rx.try_recv().unwrap().starts_with("connected to"));
    }

    #[tokio::test]
    async fn unmet_expectations_and_refusals_fail() {
        let addr = serve_once(503, "down").await;
        let (tx, _rx) = mpsc::channel(16);
        let e = check(
            json!({"url": format!("http://{addr}/health"), "expect_status": 200, "expect_body": "ok"}),
            tx.clone(),
        )
        .await
        .unwrap_err();
        assert_eq!(e.to_string(), "status 503, expected 200; body does not contain \"ok\"");
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = l.local_addr().unwrap();
        drop(l);
        let e = check(json!({"url": format!("http://{closed}/")}), tx.clone()).await.unwrap_err();
        assert!(e.to_string().contains("connect"), "{e}");
        assert!(matches!(check(json!({"url": "ftp://x/"}), tx).await, Err(ToolError::BadArgument { .. })));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn https_with_a_trusted_ca_reports_tls_time_and_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&c, cert.cert.pem()).unwrap();
        std::fs::write(&k, cert.signing_key.serialize_pem()).unwrap();
        let port = crate::net::tls_test_server(&c, &k).await;
        let (out, _rx) = mpsc::channel(16);
        let url = format!("https://localhost:{port}/healthz");
        let v = check(json!({"url": url, "ca_file": c.display().to_string(), "expect_body": "ok"}), out.clone())
            .await
            .unwrap();
        assert_eq!(v["status"], 200);
        assert!(v["timing_ms"]["tls"].as_f64().is_some());
        assert!(v["certificate"]["days_left"].as_i64().unwrap() > 300, "{v}");
        let e = check(json!({"url": url}), out).await.unwrap_err();
        assert!(e.to_string().contains("TLS"), "an untrusted certificate fails: {e}");
    }

    #[tokio::test]
    async fn read_only_refuses_requests_that_may_change_things() {
        use crate::engine::tools::{Registry, RunOptions};
        let addr = serve_once(200, "ok").await;
        let r = Registry::with_builtins(crate::jq::JqRunner::in_process());
        let (tx, _rx) = mpsc::channel(16);
        let ro = RunOptions { confirmed: true, read_only: true };
        let url = format!("http://{addr}/health");
        for method in ["POST", "PUT", "DELETE", "PATCH", "post"] {
            let e = r.run_with("http_check", json!({"url": url, "method": method}), tx.clone(), ro).await.unwrap_err();
            assert!(matches!(&e, ToolError::Refused(m) if m.starts_with("read-only: ") && m.contains(method)), "{e}");
        }
        for method in ["GET", "HEAD"] {
            let v = r.run_with("http_check", json!({"url": url, "method": method}), tx.clone(), ro).await.unwrap();
            assert_eq!(v["status"], 200, "{method} runs read-only");
        }
    }

    #[test]
    fn certificate_expiry_is_read() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2099, 1, 1);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let (days, date) = cert_expiry(cert.der()).unwrap();
        assert!(days > 20_000, "{days}");
        assert!(date.starts_with("2099-01-01"), "{date}");
    }

    /// A raw HTTP/1.1 server: the status line and headers at once, then `chunk`
    /// every `gap` forever (chunked encoding), or nothing at all if `respond` is false.
    async fn raw_server(respond: bool, chunk: usize, gap: Duration) -> std::net::SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf).await;
                    if !respond {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    }
                    let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/plain\r\n\r\n";
                    if s.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    let data = "x".repeat(chunk);
                    loop {
                        let frame = format!("{:x}\r\n{data}\r\n", data.len());
                        if s.write_all(frame.as_bytes()).await.is_err() {
                            return;
                        }
                        if !gap.is_zero() {
                            tokio::time::sleep(gap).await;
                        }
                    }
                });
            }
        });
        addr
    }

    /// A failure bound for a check that must end by itself (not a timing assert).
    async fn bounded(args: Value) -> Result<Value, ToolError> {
        let (tx, mut rx) = mpsc::channel(64);
        tokio::spawn(async move { while rx.recv().await.is_some() {} });
        tokio::time::timeout(Duration::from_secs(30), check(args, tx)).await.expect("timeout_ms bounds the check")
    }

    #[tokio::test]
    async fn timeout_bounds_the_whole_exchange_and_says_what_was_known() {
        // A body that trickles: a frame every 100 ms never trips a per-read timeout.
        let addr = raw_server(true, 16, Duration::from_millis(100)).await;
        let e = bounded(json!({"url": format!("http://{addr}/"), "timeout_ms": 700})).await.unwrap_err().to_string();
        assert!(e.starts_with("HTTP 200 after "), "{e}");
        assert!(e.contains("body incomplete after") && e.contains(" bytes"), "{e}");
        assert!(e.contains("700 ms timeout_ms"), "{e}");
        // A server that accepts and never answers.
        let addr = raw_server(false, 0, Duration::ZERO).await;
        let e = bounded(json!({"url": format!("http://{addr}/"), "timeout_ms": 300})).await.unwrap_err().to_string();
        assert!(e.contains("connected in") && e.contains("no response"), "{e}");
    }

    #[tokio::test]
    async fn an_endless_body_is_cut_at_the_cap_and_said_so() {
        let addr = raw_server(true, 64 * 1024, Duration::ZERO).await;
        let v = bounded(json!({"url": format!("http://{addr}/"), "timeout_ms": 20_000})).await.unwrap();
        assert_eq!(v["status"], 200);
        assert_eq!(v["bytes"], MAX_BODY);
        assert_eq!(v["truncated"], true);
    }
}
