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
fn notifier_email_bad_recipient() {
    check("notifier_email_bad_to.toml", 7, 6, "notifier to[1]: \"oncall at example.com\" is not an email address");
}

#[test]
fn notifier_email_clear_text_to_a_remote_relay() {
    check("notifier_email_clear_text.toml", 2, 1, "only allowed to a loopback host");
}

#[test]
fn notifier_bad_repeat() {
    check("notifier_bad_repeat.toml", 5, 10, "invalid duration unit \"d\"");
}

#[test]
fn alertmanager_bad_interval() {
    check("alertmanager_bad_interval.toml", 4, 12, "invalid duration \"often\"");
}

/// `opsdeck check` in a fresh config home: stdout, and whether it passed.
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
fn check_reports_every_independent_error_with_its_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("opsdeck");
    std::fs::create_dir_all(cfg.join("alerts")).expect("mkdir");
    std::fs::write(
        cfg.join("config.toml"),
        "refresh = \"fast\"\nmouse = \"yes\"\n[metrics]\nwindow = \"2h\"\n\n[[backend]]\nname = \"a\"\nurl = 1\n\n[[backend]]\nname = \"b\"\nurl = \"ws://b:7317\"\n\n[[backend]]\nnmae = \"c\"\n",
    )
    .expect("write");
    std::fs::write(
        cfg.join("alerts/two.toml"),
        "[[rule]]\nname = \"a\"\ncondition = \"cpu.total >> 1\"\n\n[[rule]]\nname = \"b\"\ncondition = \"cpu.total > 1\"\nseverity = \"loud\"\n",
    )
    .expect("write");
    let (out, ok) = run_check(dir.path());
    assert!(!ok);
    for at in [
        "config.toml:1:11:",
        "config.toml:2:9:",
        "config.toml:4:10:",
        "config.toml:8:7:",
        "config.toml:15:1:",
        "two.toml:3:25:",
        "two.toml:8:12:",
    ] {
        assert!(out.contains(at), "{at} missing in:\n{out}");
    }
    assert!(!out.contains("config.toml:11:"), "the good backend is not an error:\n{out}");
    let first = |at: &str| out.find(at).unwrap_or(usize::MAX);
    assert!(first("config.toml:1:11:") < first("config.toml:15:1:"), "in file order:\n{out}");
}

#[test]
fn a_misspelt_theme_points_at_the_config_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("opsdeck");
    std::fs::create_dir_all(&cfg).expect("mkdir");
    std::fs::write(cfg.join("config.toml"), "refresh = \"1s\"\ntheme = \"default-drak\"\n").expect("write");
    let (out, ok) = run_check(dir.path());
    assert!(!ok);
    assert!(out.contains("config.toml:2:9: unknown theme \"default-drak\""), "{out}");
    assert!(out.contains("default-dark"), "the nearest name is suggested: {out}");
}

#[test]
fn without_a_config_file_check_says_the_defaults_are_in_use() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, ok) = run_check(dir.path());
    assert!(ok, "{out}");
    assert!(out.contains("no config file at") && out.contains("the defaults are in use"), "{out}");
}

#[test]
fn text_inputs_lose_a_bom_and_name_utf16() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("opsdeck");
    std::fs::create_dir_all(cfg.join("alerts")).expect("mkdir");
    std::fs::create_dir_all(cfg.join("themes")).expect("mkdir");
    std::fs::create_dir_all(cfg.join("keymaps")).expect("mkdir");
    // A BOM is not content: valid files stay valid, and error columns do not shift.
    std::fs::write(cfg.join("config.toml"), "\u{feff}refresh = \"fast\"\n").expect("write");
    std::fs::write(cfg.join("alerts/bom.toml"), "\u{feff}[[rule]]\nname = \"a\"\ncondition = \"cpu.total > 1\"\n")
        .expect("write");
    std::fs::write(cfg.join("themes/bom.toml"), "\u{feff}inherits = \"default-dark\"\n").expect("write");
    std::fs::write(cfg.join("keymaps/bom.toml"), "\u{feff}inherits = \"default\"\n").expect("write");
    let (out, _) = run_check(dir.path());
    assert!(out.contains("config.toml:1:11: invalid duration"), "column as if there were no BOM:\n{out}");
    assert!(!out.contains("bom.toml"), "files with a BOM read fine:\n{out}");

    // UTF-16 (Windows Notepad's "Unicode") is named, with the fix.
    let utf16: Vec<u8> =
        [0xFF, 0xFE].into_iter().chain("refresh = \"1s\"\n".encode_utf16().flat_map(u16::to_le_bytes)).collect();
    std::fs::write(cfg.join("config.toml"), &utf16).expect("write");
    std::fs::write(cfg.join("alerts/wide.toml"), &utf16).expect("write");
    let (out, ok) = run_check(dir.path());
    assert!(!ok);
    assert!(out.contains("config.toml: is UTF-16 text, not UTF-8"), "{out}");
    assert!(out.contains("wide.toml: is UTF-16 text, not UTF-8"), "{out}");
    assert!(out.contains("save it as UTF-8"), "{out}");
    assert!(!out.contains("stream did not contain valid UTF-8"), "{out}");
    assert!(!out.contains("permissions"), "not a permissions problem: {out}");
}

#[test]
fn a_source_name_is_unique_across_kinds() {
    check("source_duplicate.toml", 6, 8, "alertmanager name \"prod\" is already the name of a [[backend]]");
    check("prometheus_duplicate.toml", 8, 8, "prometheus name \"p\" is used twice");
}

#[test]
fn local_is_no_source_name() {
    check("source_local.toml", 2, 8, "\"local\" is reserved");
}

#[test]
fn check_reports_bad_workflows_at_their_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("opsdeck");
    std::fs::create_dir_all(cfg.join("workflows")).expect("mkdir");
    std::fs::write(cfg.join("config.toml"), "[[mcp_server]]\nname = \"github\"\ncommand = \"github-mcp\"\n")
        .expect("write");
    let bad = "name = \"sweep\"\n[schedule]\ncron = \"0 3 * *\"\n[trigger]\nalert = \"disk_fulll\"\n\
               [[step]]\nid = \"a\"\nuses = \"http_chek\"\n\
               [[step]]\nid = \"b\"\nuses = \"github/list_issues\"\n\
               [[step]]\nid = \"c\"\nuses = \"gitlab/list_issues\"\n";
    std::fs::write(cfg.join("workflows/sweep.toml"), bad).expect("write");
    let (out, ok) = run_check(dir.path());
    assert!(!ok, "{out}");
    let file = cfg.join("workflows/sweep.toml").display().to_string();
    for want in [
        format!("{file}:3:8: schedule: bad cron expression \"0 3 * *\": "),
        format!(
            "{file}:5:9: trigger: no alert rule or check is named \"disk_fulll\"\n  hint: did you mean `disk_full`?"
        ),
        format!("{file}:8:8: step a: no tool is named \"http_chek\"\n  hint: did you mean `http_check`?"),
        format!("{file}:14:8: step c: no MCP server is named \"gitlab\" (in \"gitlab/list_issues\")\n  hint: "),
    ] {
        assert!(out.contains(&want), "missing {want:?} in:\n{out}");
    }
    assert!(!out.contains("step b"), "github is a configured MCP server:\n{out}");
    let at = |needle: &str| out.find(needle).unwrap_or(usize::MAX);
    assert!(at(":3:8:") < at(":5:9:") && at(":5:9:") < at(":8:8:"), "in the order of the file:\n{out}");

    let good = "name = \"sweep\"\n[schedule]\ncron = \"0 3 * * *\"\ntimezone = \"Europe/Berlin\"\n\
                [trigger]\nalert = \"disk_full\"\n[[step]]\nid = \"a\"\nuses = \"http_check\"\n\
                with = { url = \"https://example.com\" }\n[[step]]\nid = \"b\"\nuses = \"github/list_issues\"\n";
    std::fs::write(cfg.join("workflows/sweep.toml"), good).expect("write");
    let (out, ok) = run_check(dir.path());
    assert!(ok, "{out}");
    assert!(out.contains("workflows are valid"), "{out}");
}

#[test]
fn prefect_url_without_api_path() {
    check("prefect_no_api_path.toml", 2, 1, "the API is under /api, write url = \"http://127.0.0.1:4200/api\"");
}

#[test]
fn prefect_bad_poll() {
    check("prefect_bad_poll.toml", 4, 8, "prefect poll \"100ms\" is out of range");
}

#[test]
fn prefect_name_shares_the_source_namespace() {
    check("prefect_duplicate.toml", 6, 8, "prefect name \"ops\" is already the name of a [[alertmanager]]");
}

#[test]
fn check_validates_prefect_tables_without_reading_the_keyring() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("opsdeck");
    std::fs::create_dir_all(&cfg).expect("mkdir");
    let good = "[[prefect]]\nname = \"cloud\"\nurl = \"https://api.prefect.cloud/api/accounts/a/workspaces/w\"\n\
                key_secret = \"prefect:cloud\"\n";
    std::fs::write(cfg.join("config.toml"), good).expect("write");
    let (out, ok) = run_check(dir.path());
    assert!(ok, "a key not stored yet is no config error:\n{out}");
    std::fs::write(cfg.join("config.toml"), "[[prefect]]\nname = \"pf\"\nurl = \"http://127.0.0.1:4200\"\n")
        .expect("write");
    let (out, ok) = run_check(dir.path());
    assert!(!ok, "{out}");
    assert!(out.contains("config.toml:1:1: prefect pf: url http://127.0.0.1:4200 has no path"), "{out}");
    assert!(out.contains("write url = \"http://127.0.0.1:4200/api\""), "{out}");
    assert!(out.contains("hint: see the [[prefect]] keys in docs/config.md"), "{out}");
}

/// `[[slo]]`: an SLO over a check no file defines and an objective of 100
/// are reported where they are written; a valid SLO over a check of another
/// file passes.
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

/// An email notifier's `ca_file` is read by `opsdeck check` as a delivery
/// would read it: a missing file or one that is not PEM is located at its
/// `ca_file` value; a readable CA passes.
#[test]
fn check_reads_email_ca_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("opsdeck");
    std::fs::create_dir_all(&cfg).expect("mkdir");
    let ca = rcgen::generate_simple_self_signed(vec!["relay.example.com".to_string()]).expect("certificate");
    std::fs::write(cfg.join("good.pem"), ca.cert.pem()).expect("write");
    std::fs::write(cfg.join("junk.pem"), "not a certificate\n").expect("write");
    let mail = |name: &str, ca: &str| {
        format!(
            "[[notifier]]\nname = \"{name}\"\nkind = \"email\"\nhost = \"relay.example.com\"\n\
             from = \"ops@example.com\"\nto = [\"oncall@example.com\"]\nca_file = \"{ca}\"\n\n"
        )
    };
    let src = mail("good", "good.pem") + &mail("gone", "nope.pem") + &mail("junk", "junk.pem");
    std::fs::write(cfg.join("config.toml"), &src).expect("write");
    let (out, ok) = run_check(dir.path());
    assert!(!ok, "{out}");
    let lines: Vec<&str> = out.lines().filter(|l| l.contains("ca_file")).collect();
    assert!(lines.iter().any(|l| l.contains("config.toml:15:11:") && l.contains("notifier gone: ca_file")), "{out}");
    assert!(lines.iter().any(|l| l.contains("config.toml:23:11:") && l.contains("notifier junk: ca_file")), "{out}");
    assert!(!out.contains("notifier good"), "{out}");
}
