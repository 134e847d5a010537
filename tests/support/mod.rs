//! Seeded, deterministic app state for snapshot and property tests.
#![allow(dead_code)]

pub mod hostile;
pub mod workflows;

use std::sync::Arc;

use opsdeck::app::{Action, AppState, Ctx, update};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::settings::Config;
use opsdeck::config::theme::Theme;
use opsdeck::protocol::tools::RunOrigin;
use opsdeck::protocol::uptime::{Outage, Uptime};
use opsdeck::protocol::{DiskInfo, Envelope, Event, HostSnapshot, LOCAL_SOURCE, NetInfo, ProcInfo, Topic, Ts};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The whole app drawn at `w`x`h` with the fallback theme, in colour.
pub fn draw(s: &AppState, w: u16, h: u16) -> Terminal<TestBackend> {
    let theme = Theme::fallback(false);
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    t.draw(|f| opsdeck::ui::render(f, s, &theme)).expect("draw");
    t
}

/// `code` pressed, without modifiers.
pub fn key(seed: &Seed, s: &mut AppState, code: KeyCode) {
    update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)), &seed.ctx());
}

/// 2023-11-14 22:13:20 UTC, on a whole second.
pub const NOW: Ts = 1_700_000_000_000;

pub struct Seed {
    pub keymap: Keymap,
    pub config: Config,
}

impl Seed {
    pub fn new() -> Self {
        Seed { keymap: Keymap::fallback(), config: Config::default() }
    }

    pub fn ctx(&self) -> Ctx<'_> {
        Ctx { now: NOW, keymap: &self.keymap, config: &self.config }
    }

    /// A state with 10 minutes of 1 s samples, a gap of 20 s, and a realistic snapshot.
    pub fn state(&self) -> AppState {
        let ctx = self.ctx();
        let mut s = AppState::new(&ctx);
        s.size = (160, 48);
        let mut batch = Vec::new();
        for i in (0..600).rev() {
            if (300..320).contains(&i) {
                continue; // a gap: the collector was not running
            }
            batch.push(env(snapshot(NOW - i * 1000, i)));
        }
        update(&mut s, Action::Events(batch), &ctx);
        s.dirty = false;
        s
    }
}

impl Seed {
    /// `state()` on the tools pane: the built-in catalog and three recorded runs
    /// (two of http_check that differ, one of data_query), newest first.
    pub fn tools_state(&self) -> AppState {
        use opsdeck::app::panes::tools::ToolsAction;
        use opsdeck::protocol::tools::ToolRun;
        use serde_json::json;
        let ctx = self.ctx();
        let mut s = self.state();
        let infos =
            opsdeck::engine::tools::Registry::with_builtins(opsdeck::jq::JqRunner::new(env!("CARGO_BIN_EXE_opsdeck")))
                .specs()
                .into_iter()
                .map(|t| t.info())
                .collect();
        update(&mut s, Action::Tools(ToolsAction::Catalog(infos)), &ctx);
        let run =
            |tool: &str, ago: i64, ok: bool, args: serde_json::Value, outcome: serde_json::Value, output: &[&str]| {
                ToolRun {
                    tool: tool.into(),
                    source: "builtin".into(),
                    args,
                    started: NOW - ago,
                    duration_ms: 84,
                    ok,
                    outcome,
                    output: output.iter().map(|l| l.to_string()).collect(),
                    truncated: false,
                    // One run from `opsdeck tool`: its row says so.
                    origin: if tool == "data_query" { RunOrigin::Cli } else { RunOrigin::Pane },
                }
            };
        let url = json!({"url": "https://status.example.com/health"});
        let history = vec![
            run(
                "http_check",
                60_000,
                false,
                url.clone(),
                json!("expected status 200, got 503"),
                &["GET https://status.example.com/health", "503 Service Unavailable"],
            ),
            run(
                "data_query",
                300_000,
                true,
                json!({"filter": ".[] | .host", "input": "[{\"host\":\"db1\"},{\"host\":\"db2\"}]"}),
                json!({"format":"json","results":["db1","db2"]}),
                &["\"db1\"", "\"db2\""],
            ),
            run(
                "http_check",
                600_000,
                true,
                url,
                json!({"status": 200, "ms": {"dns": 2, "connect": 11, "tls": 35, "first_byte": 84}}),
                &["GET https://status.example.com/health", "200 OK"],
            ),
        ];
        update(&mut s, Action::Tools(ToolsAction::History(history)), &ctx);
        update(&mut s, Action::User(opsdeck::app::UserAction::FocusPane3), &ctx);
        s.dirty = false;
        s
    }
}

impl Seed {
    /// `state()` on the alerts pane: a firing critical disk alert with its
    /// timeline and a delivery, a pending one, an acknowledged one, a silenced
    /// one, a resolved one, and rules with a failing health check.
    pub fn alerts_state(&self) -> AppState {
        use opsdeck::protocol::alerts::*;
        let ctx = self.ctx();
        let mut s = self.state();
        let alert = |rule: &str, state: AlertState, sev: Severity, ago: i64, labels: &[(&str, &str)]| Alert {
            id: Alert::make_id(rule, &labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            rule: rule.into(),
            origin: "rule".into(),
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            severity: sev,
            state,
            summary: format!("{rule} on the demo host"),
            value: Some(97.5),
            value_text: None,
            active_since: NOW - ago,
            firing_since: (state != AlertState::Pending).then_some(NOW - ago + 60_000),
            resolved_at: (state == AlertState::Resolved).then_some(NOW - 30_000),
            ack: None,
            silenced_by: vec![],
            series: Some("cpu.total".into()),
        };
        let mut disk =
            alert("disk_full", AlertState::Firing, Severity::Critical, 240_000, &[("instance", "/var/lib/data")]);
        disk.summary = "Disk /var/lib/data is 97.5% full".into();
        disk.series = Some("disk.used_pct:/var/lib/data".into());
        let mut acked = alert("api_down", AlertState::Firing, Severity::Critical, 500_000, &[("team", "web")]);
        acked.ack = Some(Ack { by: "ana".into(), note: "restarting the pods".into(), at: NOW - 100_000 });
        acked.series = Some("check:https://api.example.com/health".into());
        let mut muted = alert("load_high", AlertState::Firing, Severity::Warning, 900_000, &[]);
        muted.silenced_by = vec!["s1".into()];
        let alerts = vec![
            disk.clone(),
            alert("cpu_high", AlertState::Pending, Severity::Warning, 45_000, &[]),
            acked,
            muted,
            alert("memory_high", AlertState::Resolved, Severity::Warning, 1_200_000, &[]),
        ];
        let transitions = vec![
            Transition {
                alert: disk.id.clone(),
                from: None,
                to: AlertState::Pending,
                at: NOW - 240_000,
                value: Some(95.2),
                value_text: None,
            },
            Transition {
                alert: disk.id.clone(),
                from: Some(AlertState::Pending),
                to: AlertState::Firing,
                at: NOW - 180_000,
                value: Some(96.0),
                value_text: None,
            },
        ];
        let deliveries = vec![
            Delivery {
                alert: disk.id.clone(),
                channel: "slack:oncall".into(),
                at: NOW - 179_000,
                attempt: 1,
                error: Some("HTTP 500".into()),
            },
            Delivery {
                alert: disk.id.clone(),
                channel: "slack:oncall".into(),
                at: NOW - 177_000,
                attempt: 2,
                error: None,
            },
        ];
        let silences = vec![Silence {
            id: "s1".into(),
            matchers: vec![Matcher { name: "alertname".into(), op: MatchOp::Eq, value: "load_high".into() }],
            starts: NOW - 60_000,
            ends: NOW + 3_540_000,
            created_by: "bo".into(),
            comment: "batch job".into(),
            origin: "local".into(),
        }];
        let rule = |name: &str, kind: &str, detail: &str, sev: Severity, enabled: bool| RuleStatus {
            name: name.into(),
            kind: kind.into(),
            detail: detail.into(),
            severity: sev,
            enabled,
            latency_ms: vec![],
            last_error: None,
            uptime: None,
        };
        let mut api = rule("api_down", "check", "http https://api.example.com/health", Severity::Critical, true);
        api.latency_ms = vec![40.0, 42.0, 80.0, f32::NAN, f32::NAN];
        api.last_error = Some("status 503, expected 200".into());
        // Down for the last 4 minutes, and 25 minutes two days ago.
        api.uptime = Some(Uptime {
            pct_24h: Some(99.72),
            pct_7d: Some(99.71),
            pct_30d: Some(99.93),
            outages: vec![
                Outage { start: NOW - 240_000, end: None, first_error: Some("status 503, expected 200".into()) },
                Outage {
                    start: NOW - 2 * 86_400_000,
                    end: Some(NOW - 2 * 86_400_000 + 1_500_000),
                    first_error: Some("connection refused".into()),
                },
            ],
        });
        let mut db = rule("db", "check", "tcp db:5432", Severity::Critical, true);
        db.latency_ms = vec![1.0, 2.0, 1.5, 3.0];
        db.uptime = Some(Uptime { pct_24h: Some(100.0), pct_7d: Some(100.0), pct_30d: Some(100.0), outages: vec![] });
        let rules = vec![
            rule("cpu_high", "rule", "avg(cpu.total, 2m) > 90", Severity::Warning, true),
            rule("disk_full", "rule", "disk.used_pct:* > 95", Severity::Critical, true),
            rule("load_high", "rule", "avg(load.5, 10m) > 8", Severity::Warning, false),
            api,
            db,
        ];
        let u = AlertsUpdate { alerts, transitions, silences, rules, deliveries, slos: vec![] };
        let env = Arc::new(Envelope {
            epoch: 1,
            seq: 2,
            ts: NOW,
            source: LOCAL_SOURCE.into(),
            topic: Topic::Alerts,
            event: Event::Alerts(Box::new(u)),
        });
        update(&mut s, Action::Events(vec![env]), &ctx);
        update(&mut s, Action::User(opsdeck::app::UserAction::FocusPane5), &ctx);
        s.dirty = false;
        s
    }
}

impl Default for Seed {
    fn default() -> Self {
        Self::new()
    }
}

pub fn env(s: HostSnapshot) -> Arc<Envelope> {
    Arc::new(Envelope {
        epoch: 1,
        seq: 1,
        ts: s.ts,
        source: LOCAL_SOURCE.into(),
        topic: Topic::Metrics,
        event: Event::HostSample(Box::new(s)),
    })
}

/// Deterministic figures: a slow wave on CPU, a ramp on memory, bursts on the network.
pub fn snapshot(ts: Ts, i: i64) -> HostSnapshot {
    let phase = (i % 120) as f32 / 120.0 * std::f32::consts::TAU;
    let cpu = 45.0 + 40.0 * phase.sin();
    let gib = 1024.0 * 1024.0 * 1024.0;
    HostSnapshot {
        ts,
        hostname: "demo".into(),
        uptime_s: 3 * 86_400 + 4 * 3600,
        cpu_total: cpu,
        cpu_cores: vec![cpu, (cpu * 0.5).min(100.0), 100.0 - cpu, 12.5],
        load: [1.25, 0.98, 0.71],
        mem_total: (16.0 * gib) as u64,
        mem_used: ((6.0 + (600 - i) as f64 / 100.0) * gib) as u64,
        swap_total: (2.0 * gib) as u64,
        swap_used: (0.1 * gib) as u64,
        disks: vec![
            DiskInfo {
                mount: "/".into(),
                device: "/dev/vda".into(),
                fs: "ext4".into(),
                total: (250.0 * gib) as u64,
                available: (80.0 * gib) as u64,
                read_bps: 1536.0,
                write_bps: 40960.0,
            },
            DiskInfo {
                mount: "/var/lib/data".into(),
                device: "/dev/vdb".into(),
                fs: "xfs".into(),
                total: (100.0 * gib) as u64,
                available: (3.0 * gib) as u64,
                read_bps: 0.0,
                write_bps: 0.0,
            },
        ],
        disk_read_bps: 1536.0,
        disk_write_bps: 40960.0,
        nets: vec![NetInfo {
            name: "eth0".into(),
            rx_bps: if i % 30 < 5 { 2.5e6 } else { 12_000.0 },
            tx_bps: 3_000.0,
            rx_total: 1 << 30,
            tx_total: 1 << 28,
        }],
        procs: vec![
            proc(1, "systemd", 0.0, 12 << 20, "/sbin/init"),
            proc(812, "postgres", 23.5, 512 << 20, "postgres: checkpointer"),
            proc(913, "nginx", 4.2, 64 << 20, "nginx: worker process"),
            proc(1204, "node_exporter", 1.1, 24 << 20, "/usr/bin/prometheus-node-exporter"),
            proc(2048, "sshd", 0.3, 8 << 20, "sshd: ops@pts/0"),
            proc(3311, "opsdeck", 0.6, 9 << 20, "opsdeck"),
        ],
        procs_omitted: 0,
    }
}

fn proc(pid: u32, name: &str, cpu: f32, mem: u64, cmd: &str) -> ProcInfo {
    let user = match name {
        "postgres" => "postgres",
        "nginx" => "www-data",
        "node_exporter" => "prometheus",
        "opsdeck" => "ops",
        _ => "root",
    };
    let ppid = if pid == 1 { None } else { Some(1) };
    ProcInfo { pid, ppid, name: name.into(), cmd: cmd.into(), cpu, mem, status: "Sleeping".into(), user: user.into() }
}
