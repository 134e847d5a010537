//! `opsdeck tool` headless: list, run with typed arguments, @file and @-, exit codes.

use std::io::Write;
use std::process::{Command, Stdio};

fn opsdeck(args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let home = tempfile::tempdir().expect("tempdir");
    opsdeck_in(home.path(), args, stdin)
}

fn opsdeck_in(home: &std::path::Path, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_opsdeck"))
        .args(args)
        .env("XDG_CONFIG_HOME", home.join("c"))
        .env("XDG_DATA_HOME", home.join("d"))
        .env("XDG_STATE_HOME", home.join("s"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let (Some(mut i), Some(text)) = (child.stdin.take(), stdin) {
        let _ = i.write_all(text.as_bytes());
    }
    child.wait_with_output().expect("wait")
}

#[test]
fn list_shows_every_builtin_with_its_source() {
    let out = opsdeck(&["tool", "--list"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for t in
        ["tcp_check", "dns_lookup", "text_stats", "system_snapshot", "file_search", "data_query", "http_check", "shell"]
    {
        assert!(text.lines().any(|l| l.starts_with(t) && l.contains("builtin")), "{t}: {text}");
    }
    let json = opsdeck(&["tool", "--list", "--json"], None);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert!(
        v.as_array().expect("array").iter().any(|t| t["name"] == "tcp_check" && t["schema"]["required"][0] == "host")
    );
}

#[test]
fn runs_with_file_and_stdin_arguments_and_json_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("log.txt");
    std::fs::write(&f, "timeout talking to db\ntimeout again\n").expect("write");
    let out = opsdeck(&["tool", "text_stats", "--arg", &format!("path={}", f.display()), "--json"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON result on stdout");
    assert_eq!(v["lines"], 2);
    assert_eq!(v["top_terms"][0]["term"], "timeout");
    let out = opsdeck(&["tool", "text_stats", "--arg", "text=@-", "--arg", "top=1", "--json"], Some("a b c\nd"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!((v["lines"].as_u64(), v["words"].as_u64()), (Some(2), Some(4)));
}

#[test]
fn exit_codes_say_what_went_wrong() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    // the listener is dropped: the port is closed
    let out = opsdeck(&["tool", "tcp_check", "--arg", "host=127.0.0.1", "--arg", &format!("port={port}")], None);
    assert_eq!(out.status.code(), Some(1), "the tool failed");
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused"));
    let out = opsdeck(&["tool", "tcp_check", "--arg", "host=127.0.0.1", "--arg", "port=http"], None);
    assert_eq!(out.status.code(), Some(2), "bad argument");
    assert!(String::from_utf8_lossy(&out.stderr).contains("argument port: \"http\" is not an integer"));
    let out = opsdeck(&["tool", "nope"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no tool named \"nope\""));
}

#[test]
fn file_search_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("a.conf"), "listen 80\nworkers 4\n").expect("write");
    let out = opsdeck(
        &[
            "tool",
            "file_search",
            "--arg",
            "pattern=^work",
            "--arg",
            &format!("path={}", dir.path().display()),
            "--json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["matches"][0]["line"], 2);
    assert_eq!(v["matches"][0]["text"], "workers 4");
}

#[test]
fn data_query_runs_one_jq_filter_over_csv() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("hosts.csv");
    std::fs::write(&f, "host,cpu\nweb-1,91\ndb-1,12\n").expect("write");
    let out = opsdeck(
        &[
            "tool",
            "data_query",
            "--arg",
            "filter=[.[] | select(.cpu > 50) | .host]",
            "--arg",
            &format!("path={}", f.display()),
            "--json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["format"], "csv");
    assert_eq!(v["results"], serde_json::json!([["web-1"]]));
    let bad = opsdeck(&["tool", "data_query", "--arg", "filter=.[", "--arg", "input=[]"], None);
    assert_eq!(bad.status.code(), Some(2), "a filter that does not parse is bad usage");
}

#[test]
fn http_check_fails_with_exit_1_when_the_port_is_closed() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let out = opsdeck(&["tool", "http_check", "--arg", &format!("url=http://127.0.0.1:{port}/")], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("connect"));
}

#[test]
fn every_run_is_recorded_in_the_history() {
    let home = tempfile::tempdir().expect("tempdir");
    let ok = opsdeck_in(home.path(), &["tool", "text_stats", "--arg", "text=one two"], None);
    assert!(ok.status.success());
    let bad = opsdeck_in(home.path(), &["tool", "dns_lookup", "--arg", "name=no-such-host.invalid"], None);
    assert_eq!(bad.status.code(), Some(1));
    let store = opsdeck::engine::store::Store::open(&home.path().join("d/opsdeck"), 1 << 20).expect("store");
    let runs = store.tool_runs(10).expect("history");
    assert_eq!(runs.len(), 2);
    assert_eq!((runs[0].tool.as_str(), runs[0].ok), ("dns_lookup", false));
    assert_eq!((runs[1].tool.as_str(), runs[1].ok), ("text_stats", true));
    assert_eq!(runs[1].args, serde_json::json!({"text": "one two"}));
    assert_eq!(runs[1].outcome["words"], 2);
    assert!(runs.iter().all(|r| r.origin == opsdeck::protocol::tools::RunOrigin::Cli), "marked as CLI runs");
}

#[test]
fn usage_errors_are_not_runs_and_name_the_argument_meant() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = opsdeck_in(home.path(), &["tool", "tcp_check", "--arg", "hots=x", "--arg", "port=1"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("argument hots: is not an argument of this tool; did you mean `host`?"), "{err}");
    assert!(!err.contains("host: is required"), "the misspelling is named, not the missing one: {err}");
    let out = opsdeck_in(home.path(), &["tool", "no_such_tool"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = opsdeck_in(home.path(), &["tool", "text_stats", "--arg", "text=a"], None);
    assert!(out.status.success());
    let store = opsdeck::engine::store::Store::open(&home.path().join("d/opsdeck"), 1 << 20).expect("store");
    let runs = store.tool_runs(10).expect("history");
    assert_eq!(runs.iter().map(|r| r.tool.as_str()).collect::<Vec<_>>(), ["text_stats"], "only the run that ran");
}

#[test]
fn global_flags_work_after_the_subcommand() {
    let out = opsdeck(&["tool", "shell", "--arg", "command=echo hi", "--yes", "--read-only"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--read-only"), "refused by read-only, not rejected by the parser: {err}");
    assert!(!err.contains("unexpected argument"), "{err}");
    let out = opsdeck(&["tool", "text_stats", "--arg", "text=a", "--no-color", "--refresh", "2s"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn shell_needs_confirmation_and_is_off_when_read_only() {
    let out = opsdeck(&["tool", "shell", "--arg", "command=echo hi"], None);
    assert_eq!(out.status.code(), Some(2), "no terminal to ask, no --yes");
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs confirmation"));
    let out = opsdeck(&["tool", "shell", "--arg", "command=echo hi", "--yes"], None);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("hi\n"));
    let out = opsdeck(&["--read-only", "tool", "shell", "--arg", "command=echo hi", "--yes"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--read-only"));
    let out = opsdeck(&["tool", "shell", "--arg", "command=exit 4", "--yes"], None);
    assert_eq!(out.status.code(), Some(1), "the command failed");
}

#[test]
fn user_facing_errors_are_plain_words_never_os_error_numbers() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let port = format!("port={closed}");
    let url = format!("url=http://127.0.0.1:{closed}/");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["tcp_check", "--arg", "host=127.0.0.1", "--arg", &port], "connection refused"),
        (vec!["http_check", "--arg", &url], "connection refused"),
        (vec!["text_stats", "--arg", "path=/nonexistent/file"], "no such file or directory"),
        (vec!["text_stats", "--arg", "text=@/nonexistent/file"], "no such file or directory"),
        (vec!["data_query", "--arg", "filter=.", "--arg", "path=/nonexistent.json"], "no such file or directory"),
        (
            vec!["file_search", "--arg", "pattern=(", "--arg", "path=/tmp"],
            "\"(\" is not a valid regular expression: unclosed group",
        ),
    ];
    for (args, want) in cases {
        let mut full = vec!["tool"];
        full.extend(args.iter().copied());
        let out = opsdeck(&full, None);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("os error"), "{args:?}: {err}");
        assert!(!err.contains("(?:"), "no regex wrapper: {err}");
    }
}
