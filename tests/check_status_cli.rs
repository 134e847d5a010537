//! `opsdeck check-status`: health checks' uptime and outages from the real
//! binary — read from the store when the data directory is free, and from
//! the opsdeck holding it (through its control socket) when it is not.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use opsdeck::engine::alerts::uptime::UptimeBook;
use opsdeck::engine::store::Store;
use serde_json::Value;

mod wire;

use wire::{LIMIT, envs, start};

const MIN: i64 = 60_000;

/// A configured check `api` (turned off, so a running opsdeck does not
/// probe it and the figures stay the seeded ones) with two hours of one
/// probe a minute, ten of them down (an outage of 10 minutes that ended 1 h
/// ago); and the history of a check `gone` that is no longer configured.
fn seed(home: &Path) {
    let alerts = home.join("config/opsdeck/alerts");
    std::fs::create_dir_all(&alerts).expect("alerts dir");
    std::fs::write(alerts.join("checks.toml"), "[[check]]\nname = \"api\"\ntcp = \"127.0.0.1:1\"\nenabled = false\n")
        .expect("rules");
    let data = home.join("data/opsdeck");
    std::fs::create_dir_all(&data).expect("data dir");
    let store = Store::open(&data, 1 << 20).expect("store");
    let now = chrono::Utc::now().timestamp_millis();
    let mut book = UptimeBook::default();
    for m in 0..120 {
        let at = now - (120 - m) * MIN;
        let up = !(50..60).contains(&m);
        book.record("api", at, up, (!up).then_some("connection refused"));
    }
    book.record("gone", now - 30 * MIN, true, None);
    // Removed while it was down: its outage has no end anyone saw.
    book.record("gone_down", now - 20 * MIN, false, Some("connection refused"));
    store.write_uptime(&book.take_writes()).expect("write");
    store.flush().expect("flush");
}

fn opsdeck(home: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    cmd.args(args);
    envs(&mut cmd, home);
    cmd.output().expect("run opsdeck")
}

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// `api`'s figures and outage as seeded: 110 of 120 probes up.
fn assert_api(v: &Value) {
    let api = &v["checks"][0];
    assert_eq!(api["name"], "api");
    assert_eq!(api["target"], "tcp 127.0.0.1:1");
    for w in ["24h", "7d", "30d"] {
        let p = api["uptime_pct"][w].as_f64().expect("a figure");
        assert!((p - 110.0 * 100.0 / 120.0).abs() < 1e-9, "{w}: {p}");
    }
    let o = &api["outages"][0];
    assert_eq!((o["ongoing"].as_bool(), o["duration_s"].as_i64()), (Some(false), Some(600)), "{o}");
    assert_eq!(o["first_error"], "connection refused");
    assert_eq!(api["outages"].as_array().map(Vec::len), Some(1));
}

#[test]
fn check_status_reads_the_store_as_text_and_json() {
    let home = tempfile::tempdir().expect("tempdir");
    seed(home.path());
    let v = json(&opsdeck(home.path(), &["check-status", "--json"]));
    assert_eq!(v["source"], "store");
    assert_api(&v);
    assert_eq!(v["checks"].as_array().map(Vec::len), Some(1), "only configured checks without a name: {v}");

    let out = opsdeck(home.path(), &["check-status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let row = text.lines().find(|l| l.starts_with("api")).unwrap_or_else(|| panic!("{text}"));
    assert_eq!(row.split_whitespace().collect::<Vec<_>>(), ["api", "91.66%", "91.66%", "91.66%", "tcp", "127.0.0.1:1"]);
    let outage = text.lines().find(|l| l.trim_start().starts_with("outage")).unwrap_or_else(|| panic!("{text}"));
    assert!(outage.contains("10m") && outage.contains("connection refused"), "{outage}");

    // A check no longer configured, by name: its history is kept.
    let v = json(&opsdeck(home.path(), &["check-status", "gone", "--json"]));
    assert_eq!(
        (v["checks"][0]["configured"].as_bool(), v["checks"][0]["uptime_pct"]["24h"].as_f64()),
        (Some(false), Some(100.0))
    );
    let v = json(&opsdeck(home.path(), &["check-status", "gone_down", "--json"]));
    let o = &v["checks"][0]["outages"][0];
    assert_eq!(
        (o["ongoing"].as_bool(), o["end"].is_null(), o["duration_s"].is_null()),
        (Some(false), true, true),
        "{o}"
    );
    let out = opsdeck(home.path(), &["check-status", "gone_down"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("not probed since") && !text.contains("ongoing"), "{text}");
    let out = opsdeck(home.path(), &["check-status", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no health check named \"nope\""));
}

#[test]
fn check_status_without_history_shows_dashes() {
    let home = tempfile::tempdir().expect("tempdir");
    let alerts = home.path().join("config/opsdeck/alerts");
    std::fs::create_dir_all(&alerts).expect("alerts dir");
    std::fs::write(alerts.join("c.toml"), "[[check]]\nname = \"db\"\ntcp = \"127.0.0.1:1\"\n").expect("rules");
    let v = json(&opsdeck(home.path(), &["check-status", "--json"]));
    assert_eq!(v["checks"][0]["uptime_pct"], serde_json::json!({"24h": null, "7d": null, "30d": null}));
    let out = opsdeck(home.path(), &["check-status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["db", "—", "—", "—", "tcp", "127.0.0.1:1"]),
        "{text}"
    );
}

/// The socket `opsdeck paths` names for this home.
fn control_socket(home: &Path) -> PathBuf {
    let out = opsdeck(home, &["paths"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("control socket")).unwrap_or_else(|| panic!("{text}"));
    PathBuf::from(line["control socket".len()..].trim().trim_end_matches("(not present)").trim())
}

#[test]
fn check_status_asks_the_opsdeck_holding_the_data_dir() {
    let home = tempfile::tempdir().expect("tempdir");
    seed(home.path());
    let _server = start(home.path(), &["--no-auth"]);
    let sock = control_socket(home.path());
    // Poll (a failure bound, not a synchronisation) until the holder listens.
    let deadline = Instant::now() + LIMIT;
    while std::os::unix::net::UnixStream::connect(&sock).is_err() {
        assert!(Instant::now() < deadline, "{} never accepted a connection", sock.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    let v = json(&opsdeck(home.path(), &["check-status", "--json"]));
    assert_eq!(v["source"], "running opsdeck");
    assert_api(&v);
    // A removed check's history is in the store the holder has open: said so.
    let out = opsdeck(home.path(), &["check-status", "gone"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the running opsdeck has no health check named \"gone\"") && err.contains("no opsdeck holds"),
        "{err}"
    );
}
