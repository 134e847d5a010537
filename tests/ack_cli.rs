//! `opsdeck ack ALERT`: the real binary acknowledges an alert in the saved
//! state when nobody holds the data directory, and through the control
//! socket of the opsdeck that holds it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use opsdeck::engine::alerts::checks::Outcome;
use opsdeck::engine::alerts::core::AlertCore;
use opsdeck::engine::alerts::rules;
use opsdeck::engine::store::Store;
use opsdeck::protocol::alerts::AlertState;

mod wire;

use wire::{LIMIT, envs, start};

const RULES: &str =
    "[[check]]\nname = \"api\"\ntcp = \"127.0.0.1:1\"\ninterval = \"200ms\"\nlabels = { team = \"web\" }\n";
const ID: &str = "api{team=web}";

fn home_with_rules(home: &Path) {
    let alerts = home.join("config/opsdeck/alerts");
    std::fs::create_dir_all(&alerts).expect("alerts dir");
    std::fs::write(alerts.join("checks.toml"), RULES).expect("rules");
}

fn opsdeck(home: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    cmd.args(args);
    envs(&mut cmd, home);
    cmd.output().expect("run opsdeck")
}

fn data(home: &Path) -> std::path::PathBuf {
    home.join("data/opsdeck")
}

#[test]
fn an_alert_is_acknowledged_in_the_saved_state_when_nothing_runs() {
    let home = tempfile::tempdir().expect("tempdir");
    home_with_rules(home.path());
    std::fs::create_dir_all(data(home.path())).expect("data dir");
    let now = chrono::Utc::now().timestamp_millis();
    {
        // The check failed while opsdeck ran: its alert fires in the saved state.
        let store = Store::open(&data(home.path()), 1 << 20).expect("store");
        let mut core = AlertCore::new(rules::parse("checks.toml", RULES).expect("rules"), Some(&store));
        let failed = Outcome { at: now, ok: false, latency_ms: None, error: Some("connection refused".into()) };
        core.check_outcome("api", failed, now);
        let (update, persist) = core.update(now);
        assert_eq!(
            update.alerts.iter().map(|a| (a.id.as_str(), a.state)).collect::<Vec<_>>(),
            [(ID, AlertState::Firing)]
        );
        persist.write(&store).expect("write");
    }

    let out = opsdeck(home.path(), &["ack", ID, "--note", "restarting the pool"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("acknowledged {ID}"));
    let store = Store::open(&data(home.path()), 1 << 20).expect("store");
    let core = AlertCore::new(rules::parse("checks.toml", RULES).expect("rules"), Some(&store));
    let (_, alert) = core.eval.alerts.iter().next().expect("the alert");
    let ack = alert.ack.as_ref().expect("acknowledged in the saved state");
    assert_eq!(ack.note, "restarting the pool");
    assert!(ack.at >= now, "{ack:?}");
    drop(core);
    drop(store);

    // An id that is not there, and --read-only, are refused with exit 1.
    let out = opsdeck(home.path(), &["ack", "api"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no alert \"api\"") && err.contains("hint: give the id"), "{err}");
    let out = opsdeck(home.path(), &["--read-only", "ack", ID]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--read-only"));
}

#[test]
fn the_opsdeck_holding_the_data_dir_acknowledges() {
    let home = tempfile::tempdir().expect("tempdir");
    home_with_rules(home.path());
    let _server = start(home.path(), &["--no-auth"]);
    // Its check fails at once; poll (a failure bound, not a synchronisation) until its alert fires.
    let deadline = Instant::now() + LIMIT;
    loop {
        let out = opsdeck(home.path(), &["ack", ID, "--note", "on it"]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.success() {
            break;
        }
        assert!(err.contains("no alert") || err.contains("control socket"), "{err}");
        assert!(Instant::now() < deadline, "never acknowledged: {err}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The holder refuses what its engine refuses, in its words.
    let out = opsdeck(home.path(), &["ack", "nope"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: no alert \"nope\"") && err.contains("hint: give the id"), "{err}");
    assert!(!err.contains("already using"), "the holder answered: the lock is no news: {err}");
}
