//! Built-in tools that need nothing but the host.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{RunFuture, Tool, ToolError, ToolSpec};

/// Every built-in; `data_query` evaluates its filters through `jq`.
pub fn all(jq: crate::jq::JqRunner) -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(TcpCheck::new()),
        Arc::new(DnsLookup::new()),
        Arc::new(TextStats::new()),
        Arc::new(SystemSnapshot::new()),
        Arc::new(super::search::FileSearch::new()),
        Arc::new(super::query::DataQuery::new(jq)),
        Arc::new(super::http::HttpCheck::new()),
        Arc::new(super::shell::Shell::new()),
    ]
}

fn spec(name: &str, description: &str, schema: Value, timeout_s: u64) -> ToolSpec {
    ToolSpec {
        name: name.into(),
        description: description.into(),
        schema,
        mutating: false,
        source: "builtin".into(),
        timeout: Duration::from_secs(timeout_s),
    }
}

fn arg_str(args: &Value, k: &str) -> Option<String> {
    args.get(k).and_then(Value::as_str).map(str::to_string)
}

struct TcpCheck(ToolSpec);

impl TcpCheck {
    fn new() -> Self {
        TcpCheck(spec(
            "tcp_check",
            "Connect to host:port over TCP and report whether it accepts, and how fast",
            json!({"type":"object","required":["host","port"],"properties":{
                "host":{"type":"string","description":"host name or address"},
                "port":{"type":"integer","description":"TCP port"},
                "timeout_ms":{"type":"integer","description":"give up after this long","default":3000}}}),
            30,
        ))
    }
}

impl Tool for TcpCheck {
    fn spec(&self) -> &ToolSpec {
        &self.0
    }
    fn run(&self, args: Value, out: mpsc::Sender<String>) -> RunFuture {
        Box::pin(async move {
            let host = arg_str(&args, "host").unwrap_or_default();
            let port = args
                .get("port")
                .and_then(Value::as_u64)
                .filter(|p| *p > 0 && *p < 65536)
                .ok_or(ToolError::BadArgument { field: "port".into(), problem: "must be 1 to 65535".into() })?;
            let limit = Duration::from_millis(args.get("timeout_ms").and_then(Value::as_u64).unwrap_or(3000));
            let started = Instant::now();
            let _ = out.send(format!("connecting to {host}:{port}…")).await;
            let r = tokio::time::timeout(limit, tokio::net::TcpStream::connect((host.as_str(), port as u16))).await;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            match r {
                Ok(Ok(s)) => {
                    let peer = s.peer_addr().map(|a| a.to_string()).unwrap_or_default();
                    let _ = out.send(format!("open: {peer} in {ms:.1} ms")).await;
                    Ok(json!({"open": true, "address": peer, "connect_ms": ms}))
                }
                Ok(Err(e)) => {
                    Err(ToolError::Failed(format!("{host}:{port}: {} after {ms:.1} ms", crate::net::io_text(&e))))
                }
                Err(_) => Err(ToolError::Failed(format!("{host}:{port}: no answer within {limit:?}"))),
            }
        })
    }
}

struct DnsLookup(ToolSpec);

impl DnsLookup {
    fn new() -> Self {
        DnsLookup(spec(
            "dns_lookup",
            "Resolve a host name with the system resolver",
            json!({"type":"object","required":["name"],"properties":{"name":{"type":"string","description":"host name"}}}),
            15,
        ))
    }
}

impl Tool for DnsLookup {
    fn spec(&self) -> &ToolSpec {
        &self.0
    }
    fn run(&self, args: Value, out: mpsc::Sender<String>) -> RunFuture {
        Box::pin(async move {
            let name = arg_str(&args, "name").unwrap_or_default();
            let started = Instant::now();
            let addrs = tokio::net::lookup_host((name.as_str(), 0))
                .await
                .map_err(|e| ToolError::Failed(format!("{name}: {}", crate::net::io_text(&e))))?;
            let mut list: Vec<String> = addrs.map(|a| a.ip().to_string()).collect();
            list.sort();
            list.dedup();
            for a in &list {
                let _ = out.send(a.clone()).await;
            }
            Ok(json!({"name": name, "addresses": list, "ms": started.elapsed().as_secs_f64() * 1000.0}))
        })
    }
}

struct TextStats(ToolSpec);

impl TextStats {
    fn new() -> Self {
        TextStats(spec(
            "text_stats",
            "Lines, words, characters and the most frequent terms of a text or a file",
            json!({"type":"object","properties":{
                "text":{"type":"string","description":"the text (or give path)"},
                "path":{"type":"string","description":"a file to read"},
                "top":{"type":"integer","description":"how many top terms","default":10}}}),
            30,
        ))
    }
}

/// Counts for a text: (lines, words, chars, top terms by count then name).
pub fn text_stats(text: &str, top: usize) -> (usize, usize, usize, Vec<(String, usize)>) {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut words = 0;
    for w in text.split(|c: char| !c.is_alphanumeric() && c != '_' && c != '\'').filter(|w| !w.is_empty()) {
        words += 1;
        if w.chars().count() > 2 {
            *counts.entry(w.to_lowercase()).or_default() += 1;
        }
    }
    let mut terms: Vec<(String, usize)> = counts.into_iter().collect();
    terms.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    terms.truncate(top);
    (text.lines().count(), words, text.chars().count(), terms)
}

impl Tool for TextStats {
    fn spec(&self) -> &ToolSpec {
        &self.0
    }
    fn run(&self, args: Value, out: mpsc::Sender<String>) -> RunFuture {
        Box::pin(async move {
            let text = match (arg_str(&args, "text"), arg_str(&args, "path")) {
                (Some(t), None) => super::text::Text::from_string(t).text,
                (None, Some(p)) => super::text::Text::read(&p).await?.text,
                _ => {
                    return Err(ToolError::BadArgument {
                        field: "text".into(),
                        problem: "give exactly one of text or path".into(),
                    });
                }
            };
            let top = args.get("top").and_then(Value::as_u64).unwrap_or(10) as usize;
            let (lines, words, chars, terms) = text_stats(&text, top);
            let _ = out
                .send(format!(
                    "{}, {}, {}",
                    crate::text::count(lines as u64, "line", "lines"),
                    crate::text::count(words as u64, "word", "words"),
                    crate::text::count(chars as u64, "character", "characters")
                ))
                .await;
            for (t, n) in &terms {
                let _ = out.send(format!("{n:>6}  {t}")).await;
            }
            let terms: Vec<Value> = terms.into_iter().map(|(t, n)| json!({"term": t, "count": n})).collect();
            Ok(json!({"lines": lines, "words": words, "chars": chars, "top_terms": terms}))
        })
    }
}

struct SystemSnapshot(ToolSpec);

impl SystemSnapshot {
    fn new() -> Self {
        SystemSnapshot(spec(
            "system_snapshot",
            "The host's current figures (CPU, memory, disks, network, processes) as one record",
            json!({"type":"object","properties":{"processes":{"type":"integer","description":"top processes by CPU to include","default":10}}}),
            30,
        ))
    }
}

impl Tool for SystemSnapshot {
    fn spec(&self) -> &ToolSpec {
        &self.0
    }
    fn run(&self, args: Value, out: mpsc::Sender<String>) -> RunFuture {
        Box::pin(async move {
            let keep = args.get("processes").and_then(Value::as_u64).unwrap_or(10) as usize;
            let _ = out.send("measuring for 500 ms…".to_string()).await;
            let mut snap = tokio::task::spawn_blocking(|| {
                let mut c = crate::engine::metrics::collector::HostCollector::new()
                    .map_err(|e| ToolError::Failed(e.to_string()))?;
                c.collect(0);
                std::thread::sleep(Duration::from_millis(500)); // CPU usage needs an interval between two readings
                Ok::<_, ToolError>(c.collect(chrono::Utc::now().timestamp_millis()))
            })
            .await
            .map_err(|e| ToolError::Failed(e.to_string()))??;
            snap.procs.sort_by(|a, b| b.cpu.total_cmp(&a.cpu));
            snap.procs.truncate(keep);
            let _ =
                out.send(format!("{}: CPU {:.0}%, memory {:.0}%", snap.hostname, snap.cpu_total, snap.mem_pct())).await;
            serde_json::to_value(&snap).map_err(|e| ToolError::Failed(e.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tools::Registry;

    async fn run(name: &str, args: Value) -> (Result<Value, ToolError>, Vec<String>) {
        let (tx, mut rx) = mpsc::channel(64);
        let r = Registry::with_builtins(crate::jq::JqRunner::in_process()).run(name, args, tx).await;
        let mut lines = Vec::new();
        while let Ok(l) = rx.try_recv() {
            lines.push(l);
        }
        (r, lines)
    }

    #[tokio::test]
    async fn tcp_check_open_and_refused() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let (r, lines) = run("tcp_check", json!({"host":"127.0.0.1","port":port})).await;
        assert_eq!(r.unwrap()["open"], true);
        assert!(lines.iter().any(|l| l.starts_with("open:")));
        drop(l);
        let (r, _) = run("tcp_check", json!({"host":"127.0.0.1","port":port})).await;
        assert!(matches!(r, Err(ToolError::Failed(m)) if m.contains("refused")));
        let (r, _) = run("tcp_check", json!({"host":"127.0.0.1"})).await;
        assert!(matches!(r, Err(ToolError::BadArgument { .. })));
    }

    #[tokio::test]
    async fn dns_lookup_resolves_localhost() {
        let (r, _) = run("dns_lookup", json!({"name":"localhost"})).await;
        let v = r.unwrap();
        assert!(v["addresses"].as_array().unwrap().iter().any(|a| a == "127.0.0.1" || a == "::1"), "{v}");
        let (r, _) = run("dns_lookup", json!({"name":"no-such-host.invalid"})).await;
        assert!(r.is_err());
    }

    #[tokio::test]
    async fn text_stats_counts_text_and_files() {
        let (r, _) = run("text_stats", json!({"text":"error one\nerror two\nwarn three error","top":2})).await;
        let v = r.unwrap();
        assert_eq!((v["lines"].as_u64(), v["words"].as_u64()), (Some(3), Some(7)));
        assert_eq!(v["top_terms"][0], json!({"term":"error","count":3}));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        std::fs::write(&p, "alpha beta\nalpha").unwrap();
        let (r, _) = run("text_stats", json!({"path": p.display().to_string()})).await;
        assert_eq!(r.unwrap()["top_terms"][0], json!({"term":"alpha","count":2}));
        let (r, _) = run("text_stats", json!({})).await;
        assert!(matches!(r, Err(ToolError::BadArgument { .. })));
    }

    #[tokio::test]
    async fn system_snapshot_is_one_real_record() {
        let (r, lines) = run("system_snapshot", json!({"processes": 3})).await;
        let v = r.unwrap();
        assert!(v["mem_total"].as_u64().unwrap() > 0);
        assert!(v["procs"].as_array().unwrap().len() <= 3);
        assert!(!lines.is_empty());
    }
}
