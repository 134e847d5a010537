use serde_json::json;

use super::*;
use crate::protocol::alerts::{Ack, AlertState, Severity};
use crate::protocol::{DiskInfo, NetInfo, ProcInfo};

const NOW: Ts = 1_700_000_000_000;

fn alert() -> Alert {
    Alert {
        id: "disk_full{mount=/var}".into(),
        rule: "disk_full".into(),
        origin: "rule".into(),
        labels: [("mount".to_string(), "/var".to_string())].into(),
        severity: Severity::Critical,
        state: AlertState::Firing,
        summary: "Disk /var is 97.5% full".into(),
        value: Some(97.5),
        value_text: Some("full in 3 h 10 min".into()),
        active_since: NOW - 240_000,
        firing_since: Some(NOW - 180_000),
        resolved_at: None,
        ack: Some(Ack { by: "ana".into(), note: "cleaning logs".into(), at: NOW - 60_000 }),
        silenced_by: vec![],
        series: Some("disk.used_pct:/var".into()),
    }
}

#[test]
fn an_alert_carries_its_state_labels_and_recent_values() {
    let points: Vec<(Ts, f32)> = (0..40).map(|i| (NOW - (40 - i) * 10_000, 90.0 + i as f32 * 0.25)).collect();
    let a = alert_attachment("local", &alert(), &points, NOW);
    assert_eq!(a.kind, "alert");
    assert_eq!(a.title, "alert disk_full{mount=/var}");
    let t = &a.text;
    assert!(t.contains("state: firing since 2023-11-14 22:10:20 UTC (3m 00s ago); severity critical"), "{t}");
    assert!(t.contains("active (condition holding) since 2023-11-14 22:09:20 UTC"), "{t}");
    assert!(t.contains("value: 97.5 (full in 3 h 10 min)"), "{t}");
    assert!(t.contains("summary: Disk /var is 97.5% full"));
    assert!(t.contains("labels: mount=/var"));
    assert!(t.contains("acknowledged by ana"));
    // The last 30 of the 40 values, oldest first, with their times.
    assert!(t.contains("series disk.used_pct:/var (30 values, oldest first):"), "{t}");
    assert!(t.contains("  22:08:20 92.5\n"), "{t}");
    assert!(t.contains("  22:13:10 99.75\n"), "{t}");
    assert!(!t.contains("22:08:10"), "older values are left out: {t}");
}

#[test]
fn hostile_alert_fields_are_cleaned_and_bounded() {
    let mut a = alert();
    a.rule = "evil\u{1b}[2J\0rule".into();
    a.summary = "x\n".repeat(100_000);
    a.labels = (0..1000).map(|i| (format!("k{i}"), "v\u{0}".repeat(10_000))).collect();
    a.value = Some(f64::NAN);
    a.value_text = None;
    let points = vec![(NOW, f32::NAN), (i64::MAX, f32::INFINITY)];
    let att = alert_attachment("local\u{7}", &a, &points, NOW);
    assert!(att.text.len() <= MAX_ATTACHMENT_BYTES + 200, "{}", att.text.len());
    for s in [&att.title, &att.text] {
        assert!(!s.chars().any(|c| c.is_control() && c != '\n'), "{s:?}");
    }
    assert!(crate::text::width(&att.title) <= TITLE_CELLS);
    assert!(att.text.contains("value: -"));
    assert!(att.text.contains("… 976 more"), "labels are capped");
}

#[test]
fn cap_text_cuts_on_a_line_and_says_so() {
    let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
    let cut = cap_text(text.clone(), 100);
    assert!(cut.len() < 200);
    assert!(cut.contains(&format!("[cut: the attachment was {} bytes", text.len())));
    let body = cut.split("\n[cut").next().unwrap();
    assert!(body.ends_with(|c: char| c.is_ascii_digit()), "ends on a whole line: {body:?}");
    assert_eq!(cap_text("short".into(), 100), "short");
    // One huge line of wide chars: a char boundary.
    let wide = cap_text("é".repeat(1000), 101);
    assert!(wide.starts_with("éé") && wide.contains("only the first 100 are shown"));
}

fn step(id: &str, state: RunState, started: Option<Ts>, error: Option<&str>) -> StepRun {
    let mut s = StepRun::new(id, "shell");
    s.state = state;
    s.started = started;
    s.ended = started.map(|t| t + 42_000);
    s.error = error.map(str::to_string);
    s.attempt = 1;
    s
}

fn run() -> Run {
    Run {
        id: 12,
        attempt: 2,
        workflow: "deploy".into(),
        version: "abcdef012345".into(),
        inputs: json!({"env": "prod"}).as_object().cloned().unwrap(),
        trigger: Trigger::Manual { by: "ana".into() },
        state: RunState::Failed,
        created: NOW - 200_000,
        started: Some(NOW - 200_000),
        ended: Some(NOW - 75_000),
        error: Some("step roll failed".into()),
        steps: vec!["fetch".into(), "roll".into(), "notify".into()],
        first_started: None,
        external: None,
    }
}

#[test]
fn a_run_carries_its_steps_and_the_failed_log_tail() {
    let steps = vec![
        step("fetch", RunState::Succeeded, Some(NOW - 200_000), None),
        step("roll", RunState::Failed, Some(NOW - 150_000), Some("exit status 1")),
        step("notify", RunState::Skipped, None, Some("needs roll, which failed")),
    ];
    assert_eq!(log_steps(&steps, None), ["roll"]);
    assert_eq!(log_steps(&steps, Some("fetch")), ["fetch", "roll"]);
    assert_eq!(log_steps(&steps, Some("notify")), ["roll"], "a step that never started has no log");
    let log: Vec<String> = (0..100).map(|i| format!("rolling pod {i}")).collect();
    let a = run_attachment("local", &run(), &steps, &[("roll".into(), log)], NOW);
    assert_eq!((a.kind.as_str(), a.title.as_str()), ("run", "run deploy #12 failed"));
    let t = &a.text;
    assert!(t.starts_with("workflow run deploy #12 attempt 2 (source local, version abcdef012345)\n"), "{t}");
    assert!(t.contains("state: failed; created 2023-11-14 22:10:00 UTC; took 2m 05s; started by ana"), "{t}");
    assert!(t.contains("error: step roll failed"));
    assert!(t.contains(r#"inputs: {"env":"prod"}"#));
    assert!(t.contains("  ✓ fetch (shell) succeeded 42s\n"), "{t}");
    assert!(t.contains("  ✗ roll (shell) failed 42s — exit status 1\n"), "{t}");
    assert!(t.contains("  – notify (shell) skipped — needs roll, which failed\n"), "{t}");
    assert!(t.contains("log of step roll (last 60 of 100 lines):"), "{t}");
    assert!(t.contains("  rolling pod 40\n") && t.contains("  rolling pod 99\n"));
    assert!(!t.contains("rolling pod 39\n"));
}

#[test]
fn a_huge_log_is_cut_to_the_attachment_cap() {
    let ids = ["a", "b", "c", "d"];
    let steps: Vec<StepRun> = ids.iter().map(|id| step(id, RunState::Failed, Some(NOW - 1000), None)).collect();
    assert_eq!(log_steps(&steps, None), ["a", "b", "c"], "at most {MAX_LOGS} logs");
    let log = vec!["\u{1b}[31m".to_string() + &"x".repeat(100_000); 100];
    let logs: Vec<(String, Vec<String>)> = ids.iter().map(|id| (id.to_string(), log.clone())).collect();
    let a = run_attachment("local", &run(), &steps, &logs, NOW);
    assert!(a.text.len() <= MAX_ATTACHMENT_BYTES + 200);
    assert!(a.text.contains("[cut: the attachment was"));
    assert!(!a.text.contains('\u{1b}'));
}

#[test]
fn a_tool_result_is_capped_like_a_tool_result_for_the_model() {
    let args = json!({"url": "https://status.example.com/health"});
    let outcome = json!({"status": 503, "body": "x".repeat(50_000)});
    let output: Vec<String> = (0..50).map(|i| format!("line {i}")).collect();
    let r = ToolResult {
        tool: "http_check",
        source: "builtin",
        args: &args,
        started: NOW - 60_000,
        duration_ms: Some(84),
        ok: Some(false),
        outcome: Some(&outcome),
        output: &output,
        key_arg: Some("url=https://status.example.com/health".into()),
    };
    let a = tool_attachment(&r, 4096);
    assert_eq!(a.kind, "tool_result");
    assert_eq!(a.title, "tool http_check url=https://status.example.com/health failed");
    let t = &a.text;
    assert!(
        t.starts_with("tool http_check (source builtin) ran at 2023-11-14 22:12:20 UTC, took 84ms: failed\n"),
        "{t}"
    );
    assert!(t.contains(r#"arguments: {"url":"https://status.example.com/health"}"#));
    assert!(t.contains("output (last 40 of 50 lines):\n  line 10\n"), "{t}");
    assert!(t.contains("error:\n{\"") && t.contains("\"body\":\"xxx"), "{t}");
    assert!(t.contains("[cut: the result was"), "the result is cut at tool_result_bytes");
    assert!(t.len() <= MAX_ATTACHMENT_BYTES);
}

fn snapshot() -> HostSnapshot {
    HostSnapshot {
        ts: NOW,
        hostname: "web-1".into(),
        uptime_s: 3 * 86_400,
        cpu_total: 45.0,
        cpu_cores: vec![40.0, 50.0, f32::NAN],
        load: [1.25, 0.98, 0.75],
        mem_total: 16 << 30,
        mem_used: 4 << 30,
        swap_total: 2 << 30,
        swap_used: 0,
        disks: vec![DiskInfo {
            mount: "/var".into(),
            device: "/dev/sda2".into(),
            fs: "ext4".into(),
            total: 100 << 30,
            available: 3 << 30,
            read_bps: 1024.0,
            write_bps: 2048.0,
        }],
        disk_read_bps: 1024.0,
        disk_write_bps: 2048.0,
        nets: vec![NetInfo { name: "eth0".into(), rx_bps: 1.5e6, tx_bps: 2e5, rx_total: 1 << 40, tx_total: 1 << 30 }],
        procs: (0..30)
            .map(|i| ProcInfo {
                pid: 100 + i,
                name: format!("p{i}"),
                cmd: format!("/usr/bin/p{i} --flag"),
                cpu: i as f32,
                mem: 1 << 20,
                status: "R".into(),
                ppid: None,
                user: "root".into(),
            })
            .collect(),
        procs_omitted: 5,
    }
}

#[test]
fn a_metrics_snapshot_is_a_compact_table_with_the_time() {
    let a = metrics_attachment("local", &snapshot());
    assert_eq!((a.kind.as_str(), a.title.as_str()), ("metrics", "metrics web-1 at 22:13:20"));
    let t = &a.text;
    assert!(t.starts_with("metrics of web-1 (source local) at 2023-11-14 22:13:20 UTC; up 72h 00m\n"), "{t}");
    assert!(t.contains("cpu: 45% busy; 3 cores: 40 50 -\n"), "{t}");
    assert!(t.contains("load: 1.25 0.98 0.75"));
    assert!(t.contains("memory: 4.0 GiB of 16 GiB used (25%); swap 0 B of 2.0 GiB (0%)"), "{t}");
    assert!(t.contains("  mount  device     fs    used    size     use%  read/s   write/s\n"), "{t}");
    assert!(t.contains("  /var   /dev/sda2  ext4  97 GiB  100 GiB  97    1.0 KiB  2.0 KiB\n"), "{t}");
    assert!(t.contains("processes (10 busiest of 35):"), "{t}");
    assert!(t.contains("  129  p29   29    1.0 MiB  root  /usr/bin/p29 --flag\n"), "{t}");
    assert!(!t.contains("p19 "), "only the 10 busiest: {t}");
}

#[test]
fn a_hostile_snapshot_stays_bounded() {
    let mut s = snapshot();
    s.hostname = "h\u{0}".repeat(10_000);
    s.cpu_cores = vec![f32::NAN; 100_000];
    s.disks = vec![s.disks[0].clone(); 10_000];
    s.disks[0].mount = "\u{202E}".repeat(1000);
    let a = metrics_attachment("local", &s);
    assert!(a.text.len() <= MAX_ATTACHMENT_BYTES + 200);
    assert!(crate::text::width(&a.title) <= TITLE_CELLS);
    assert!(!a.text.contains('\u{0}') && !a.text.contains('\u{202E}'));
}
