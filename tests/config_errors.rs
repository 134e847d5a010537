//! Every invalid config fixture gives its exact `file:line:col: message` and a hint.

use std::path::Path;
use std::process::Command;

use opsdeck::config::settings::{load_config, parse_config};

fn fixture(name: &str) -> (String, String) {
    let path = format!("{}/tests/fixtures/config/{name}", env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(&path).expect("fixture exists");
    (path, src)
}

fn check(name: &str, line: usize, col: usize, message_part: &str) {
    let (path, src) = fixture(name);
    let err = parse_config(&path, &src).expect_err(name);
    assert_eq!((err.line, err.col), (line, col), "{name}: {err}");
    assert!(err.message.contains(message_part), "{name}: {:?} lacks {message_part:?}", err.message);
    assert!(!err.hint.is_empty(), "{name}: every error says how to fix it");
    assert!(err.to_string().starts_with(&format!("{path}:{line}:{col}: ")), "{err}");
}

#[test]
fn bad_duration() {
    check("bad_duration.toml", 1, 11, "invalid duration \"fast\"");
}

#[test]
fn unknown_key() {
    check("unknown_key.toml", 2, 1, "unknown field `colour`");
}

#[test]
fn bad_marker() {
    check("bad_marker.toml", 2, 10, "unknown variant `dots`");
}

#[test]
fn bad_window() {
    check("bad_window.toml", 2, 10, "unknown variant `2h`");
}

#[test]
fn syntax_error() {
    let (path, src) = fixture("syntax.toml");
    let err = parse_config(&path, &src).expect_err("unterminated string");
    assert_eq!(err.line, 1, "{err}");
    assert!(err.col >= 9, "{err}");
}

#[test]
fn warn_above_crit() {
    check("bad_threshold.toml", 2, 1, "warn 95 and crit 90");
}

#[test]
fn refresh_out_of_range() {
    check("refresh_too_fast.toml", 1, 11, "out of range");
}

#[test]
fn wrong_type() {
    check("wrong_type.toml", 1, 9, "invalid type");
}

#[test]
fn implicit_broken_file_falls_back_with_a_warning_and_explicit_is_fatal() {
    let (path, _) = fixture("bad_duration.toml");
    let loaded = load_config(None, Path::new(&path)).expect("implicit never fails");
    assert_eq!(loaded.config, Default::default());
    assert_eq!(loaded.warnings.len(), 1);
    let err = load_config(Some(Path::new(&path)), Path::new("/nonexistent")).expect_err("explicit is fatal");
    assert_eq!((err.line, err.col), (1, 11));
    let missing = load_config(None, Path::new("/nonexistent/config.toml")).expect("missing implicit is fine");
    assert!(missing.warnings.is_empty());
}

#[test]
fn opsdeck_check_prints_located_errors_and_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("opsdeck");
    std::fs::create_dir_all(cfg.join("themes")).expect("mkdir");
    std::fs::create_dir_all(cfg.join("keymaps")).expect("mkdir");
    std::fs::write(cfg.join("config.toml"), "refresh = \"fast\"\n").expect("write");
    std::fs::write(cfg.join("themes/mine.toml"), "[roles]\n\"text\" = \"#12345\"\n").expect("write");
    std::fs::write(cfg.join("keymaps/default.toml"), "[global]\nprepend = [{ on = \"x\", run = \"explode\" }]\n")
        .expect("write");
    std::fs::create_dir_all(cfg.join("alerts")).expect("mkdir");
    std::fs::write(cfg.join("alerts/web.toml"), "[[rule]]\nname = \"hot\"\ncondition = \"cpu.total >> 90\"\n")
        .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .arg("check")
        .env("XDG_CONFIG_HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .output()
        .expect("run opsdeck check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("config.toml:1:11: invalid duration"), "{stdout}");
    assert!(stdout.contains("mine.toml:2:"), "{stdout}");
    assert!(stdout.contains("keymaps/default.toml:2:"), "{stdout}");
    assert!(stdout.contains("explode"), "{stdout}");
    assert!(stdout.contains("hint:"), "{stdout}");
    assert!(stdout.contains("alerts/web.toml:3:25: expected a number after >"), "{stdout}");

    std::fs::remove_file(cfg.join("config.toml")).expect("rm");
    std::fs::remove_file(cfg.join("themes/mine.toml")).expect("rm");
    std::fs::remove_file(cfg.join("keymaps/default.toml")).expect("rm");
    std::fs::write(cfg.join("alerts/web.toml"), "[[rule]]\nname = \"hot\"\ncondition = \"cpu.total > 90\"\n")
        .expect("write");
    let ok = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .arg("check")
        .env("XDG_CONFIG_HOME", dir.path())
        .output()
        .expect("run");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stdout));
}

#[test]
fn mcp_server_name_with_a_slash() {
    check("mcp_slash_name.toml", 2, 1, "contains '/'");
}

#[test]
fn mcp_server_name_used_twice() {
    check("mcp_duplicate.toml", 6, 8, "\"fs\" is used twice");
}

#[test]
fn mcp_server_with_command_and_url() {
    check("mcp_both.toml", 1, 1, "not both");
}

#[test]
fn mcp_server_unknown_key() {
    check("mcp_unknown_key.toml", 4, 1, "unknown field `environment`");
}

#[test]
fn mcp_server_bad_timeout() {
    check("mcp_bad_timeout.toml", 4, 11, "invalid duration \"forever\"");
}

#[test]
fn notifier_unknown_kind() {
    check("notifier_bad_kind.toml", 3, 8, "unknown variant `pager`");
}

#[test]
fn notifier_with_url_and_url_secret() {
    check("notifier_url_and_secret.toml", 2, 1, "not both");
}

#[test]
fn notifier_name_used_twice() {
    check("notifier_duplicate.toml", 6, 8, "notifier name \"ops\" is used twice");
}

#[test]
fn notifier_bad_repeat() {
    check("notifier_bad_repeat.toml", 5, 10, "invalid duration unit \"d\"");
}

#[test]
fn alertmanager_bad_interval() {
    check("alertmanager_bad_interval.toml", 4, 12, "invalid duration \"often\"");
}
