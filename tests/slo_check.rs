//! `opsdeck check` on rule files with `[[slo]]`: an SLO over a check no file
//! defines and an objective of 100 are reported where they are written; a
//! valid SLO over a check of another file passes.

use std::path::Path;
use std::process::Command;

fn run_check(home: &Path) -> (String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .arg("check")
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("OPSDECK_CONFIG_DIR")
        .output()
        .expect("run opsdeck check");
    (String::from_utf8_lossy(&out.stdout).into_owned(), out.status.success())
}

#[test]
fn check_locates_slo_errors_across_rule_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let alerts = dir.path().join("opsdeck/alerts");
    std::fs::create_dir_all(&alerts).expect("mkdir");
    std::fs::write(alerts.join("a_checks.toml"), "[[check]]\nname = \"api\"\ntcp = \"127.0.0.1:1\"\n").expect("write");
    std::fs::write(
        alerts.join("b_slos.toml"),
        "[[slo]]\nname = \"avail\"\nobjective = 99.9\ncheck = \"apii\"\n\n[[slo]]\nname = \"perfect\"\nobjective = 100\ncheck = \"api\"\n",
    )
    .expect("write");
    let (out, ok) = run_check(dir.path());
    assert!(!ok, "{out}");
    assert!(
        out.contains("b_slos.toml:8:13: slo perfect: objective 100 is not a percentage above 0 and below 100"),
        "{out}"
    );
    std::fs::write(alerts.join("b_slos.toml"), "[[slo]]\nname = \"avail\"\nobjective = 99.9\ncheck = \"apii\"\n")
        .expect("write");
    let (out, ok) = run_check(dir.path());
    assert!(!ok, "{out}");
    assert!(out.contains("b_slos.toml:4:9: slo avail: no health check named \"apii\""), "{out}");
    assert!(out.contains("hint: the checks are: api"), "{out}");
    std::fs::write(alerts.join("b_slos.toml"), "[[slo]]\nname = \"avail\"\nobjective = 99.9\ncheck = \"api\"\n")
        .expect("write");
    let (out, ok) = run_check(dir.path());
    assert!(ok, "{out}");
}
