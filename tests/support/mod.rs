//! Seeded, deterministic app state for snapshot and property tests.
#![allow(dead_code)]

use std::sync::Arc;

use opsdeck::app::{Action, AppState, Ctx, update};
use opsdeck::config::keymap::Keymap;
use opsdeck::config::settings::Config;
use opsdeck::protocol::{DiskInfo, Envelope, Event, HostSnapshot, LOCAL_SOURCE, NetInfo, ProcInfo, Topic, Ts};

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
        let infos = opsdeck::engine::tools::Registry::with_builtins().specs().into_iter().map(|t| t.info()).collect();
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

impl Default for Seed {
    fn default() -> Self {
        Self::new()
    }
}

fn env(s: HostSnapshot) -> Arc<Envelope> {
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
    }
}

fn proc(pid: u32, name: &str, cpu: f32, mem: u64, cmd: &str) -> ProcInfo {
    ProcInfo { pid, name: name.into(), cmd: cmd.into(), cpu, mem, status: "Sleeping".into() }
}
