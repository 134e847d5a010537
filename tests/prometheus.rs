//! Prometheus as a metrics source, against a real Prometheus scraping a real
//! node exporter on loopback (Debian packages `prometheus` and
//! `prometheus-node-exporter`, installed by .ci/run).

mod peers;

use peers::{Proc, free_port};

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use opsdeck::app::{Action, AppState, Ctx, Link, update};
use opsdeck::clock::{Clock, SystemClock};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::settings::Config;
use opsdeck::remote::client::ClientMsg;
use opsdeck::remote::prometheus::{self, PromSpec};

/// A failure bound, not a synchronisation.
const LIMIT: Duration = Duration::from_secs(60);

fn spawn(program: &str, args: &[String]) -> Proc {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("{program}: {e} (apt-get install prometheus prometheus-node-exporter; see .ci/run)")
        });
    Proc(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_series_reach_the_metrics_pane_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (np, pp) = (free_port(), free_port());
    let _node = spawn(
        "prometheus-node-exporter",
        &[format!("--web.listen-address=127.0.0.1:{np}"), "--no-collector.systemd".into()],
    );
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:{np}']\n"),
    )
    .expect("config");
    let _prom = spawn(
        "prometheus",
        &[
            format!("--config.file={}", cfg.display()),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            format!("--web.listen-address=127.0.0.1:{pp}"),
        ],
    );

    let mut queries = BTreeMap::new();
    queries.insert(
        "mem.used_pct".to_string(),
        "100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)".to_string(),
    );
    queries.insert(
        "cpu.total".to_string(),
        "100 - avg(rate(node_cpu_seconds_total{mode=\"idle\"}[5s])) * 100".to_string(),
    );
    let spec = PromSpec {
        name: "prom".into(),
        url: format!("http://127.0.0.1:{pp}"),
        interval: Duration::from_secs(1),
        queries,
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(prometheus::run(spec, Arc::new(SystemClock), tx));

    // The app's own reducer is the model under test.
    let (keymap, config) = (Keymap::fallback(), Config::default());
    let ctx = || Ctx { now: SystemClock.now_ms(), keymap: &keymap, config: &config };
    let mut state = AppState::new(&ctx());
    let mut saw_retry_or_connect = false;
    let found = tokio::time::timeout(LIMIT, async {
        loop {
            let Some(m) = rx.recv().await else { panic!("poller stopped") };
            let action = match m {
                ClientMsg::Connected(n) => {
                    saw_retry_or_connect = true;
                    Action::Link(n, Link::Connected)
                }
                ClientMsg::Retrying { name, at, attempt, error } => {
                    saw_retry_or_connect = true;
                    Action::Link(name, Link::Retrying { at, attempt, error })
                }
                ClientMsg::Connecting(n) => Action::Link(n, Link::Connecting),
                ClientMsg::Reset(n) => Action::SourceReset(n),
                ClientMsg::Events(e) => Action::Events(e),
                ClientMsg::Queued { .. }
                | ClientMsg::CommandDone { .. }
                | ClientMsg::Refused { .. }
                | ClientMsg::Skipped { .. } => continue,
            };
            update(&mut state, action, &ctx());
            let Some(src) = state.metrics.sources.iter().find(|s| s.name == "prom") else { continue };
            let (mem, cpu) = (src.series.latest("mem.used_pct"), src.series.latest("cpu.total"));
            if mem.is_finite() && cpu.is_finite() {
                return (mem, cpu);
            }
        }
    })
    .await
    .expect("Prometheus series within the limit");
    assert!(saw_retry_or_connect);
    assert!((0.0..=100.0).contains(&found.0), "memory used % from node exporter: {}", found.0);
    assert!((0.0..=100.0).contains(&found.1), "cpu % from node exporter: {}", found.1);
    let status = state.sources.iter().find(|s| s.name == "prom").expect("a source in the status bar");
    assert_eq!(status.link, Link::Connected);
    assert!(status.last_event.is_some(), "polls count as live updates");
}
