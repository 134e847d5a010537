//! jq filters through the real binary: every filter ends with an answer or a
//! clear error, within its budget, and never takes the process down (the
//! filter runs in an `opsdeck __jq-worker` process). Data files with a byte
//! order mark are read as what they are.

mod common;

use std::time::Duration;

use common::{OpsdeckEnv, output_within};
use opsdeck::jq::{JqError, JqRunner, Limits};
use proptest::prelude::*;

/// Failure bound: the data_query budget is 10 s; a loaded machine is slower.
const BOUND: Duration = Duration::from_secs(60);

/// `opsdeck tool data_query` with these arguments: (exit code, stdout, stderr).
fn data_query(env: &OpsdeckEnv, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["tool", "data_query", "--json"];
    for a in args {
        all.extend(["--arg", a]);
    }
    let out = output_within(env.command(&all), BOUND);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn unbounded_recursion_is_an_error_not_an_abort() {
    let env = OpsdeckEnv::new();
    let (code, _, err) = data_query(&env, &["filter=def f: 1 + f; f", "input=0"]);
    assert_eq!(code, Some(1), "exit 1 (the tool failed), not a signal: {err}");
    assert!(err.contains("error: filter failed: recursion too deep"), "{err}");
    assert!(!err.contains("overflowed"), "the worker's abort message stays inside: {err}");
}

#[test]
fn a_filter_that_never_yields_is_too_slow_not_a_hang() {
    let env = OpsdeckEnv::new();
    let (code, _, err) = data_query(&env, &["filter=last(repeat(1))", "input=0"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("error: too slow: still running after 10 s"), "{err}");
}

#[test]
fn a_filter_that_takes_all_memory_is_a_clear_error() {
    let env = OpsdeckEnv::new();
    // A string that doubles 40 times: past the limit within a second, whatever the build profile
    // (a filter that grows slowly would hit the time limit first and test nothing about memory).
    let (code, _, err) = data_query(&env, &["filter=reduce range(40) as $i (\"x\"; . + .) | length", "input=0"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("error: filter failed: out of memory (it needed more than 1024 MiB)"), "{err}");
}

#[test]
fn a_filter_with_endless_outputs_is_an_error_not_a_silent_cut() {
    let env = OpsdeckEnv::new();
    let (code, _, err) = data_query(&env, &["filter=repeat(1)", "input=0"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("more than 100000 results"), "{err}");
    let (code, out, err) = data_query(&env, &["filter=[limit(3; repeat(1))]", "input=0"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("[[1,1,1]]"), "{out}");
}

#[test]
fn a_json_file_with_a_bom_is_json_never_csv() {
    let env = OpsdeckEnv::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("hosts.json");
    std::fs::write(&f, "\u{feff}[{\"host\":\"a\"},{\"host\":\"b\"}]").expect("write");
    let path = format!("path={}", f.display());
    let (code, out, err) = data_query(&env, &["filter=[.[].host]", &path]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(out.lines().last().unwrap_or_default()).expect("JSON");
    assert_eq!(v, serde_json::json!({"format": "json", "results": [["a", "b"]]}));
    // Broken JSON (with a BOM) is a located JSON error that names the BOM, not an empty CSV.
    std::fs::write(&f, "\u{feff}[{\"host\":\"a\"},\n]").expect("write");
    let (code, _, err) = data_query(&env, &["filter=[.[].host]", &path]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&format!("{}:2:1: not valid JSON", f.display())), "{err}");
    assert!(err.contains("byte order mark"), "{err}");
    // Text that starts like JSON is JSON too.
    let (code, _, err) = data_query(&env, &["filter=.", "input=\u{feff} {\"a\": 1,}"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("input:1:") && err.contains("not valid JSON"), "{err}");
}

#[test]
fn other_tools_read_data_files_with_a_bom_as_text() {
    let env = OpsdeckEnv::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("app.conf");
    std::fs::write(&f, "\u{feff}listen 80\nworkers 4\n").expect("write");
    let out =
        output_within(env.command(&["tool", "text_stats", "--arg", &format!("path={}", f.display()), "--json"]), BOUND);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["chars"], 20, "the BOM is not a character of the text");
    let pattern = ["tool", "file_search", "--arg", "pattern=^listen", "--arg"];
    let out =
        output_within(env.command(&[&pattern[..], &[&format!("path={}", f.display()), "--json"]].concat()), BOUND);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["matches"][0]["line"], 1, "^ matches the first line after the BOM: {v}");
    // UTF-16 is named, not read as garbage.
    std::fs::write(&f, [0xFF, 0xFE, b'{', 0, b'}', 0]).expect("write");
    let out = output_within(
        env.command(&["tool", "data_query", "--arg", "filter=.", "--arg", &format!("path={}", f.display())]),
        BOUND,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is UTF-16 text"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Pieces of jq: ordinary ones and the kinds that loop, recurse, or grow.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(".".to_string()),
        Just(".[]".to_string()),
        Just(".a".to_string()),
        Just("keys".to_string()),
        Just("length".to_string()),
        Just("tostring".to_string()),
        Just("tojson".to_string()),
        Just("fromjson".to_string()),
        Just("add".to_string()),
        Just("[.[]?]".to_string()),
        Just("range(5)".to_string()),
        Just("repeat(1)".to_string()),
        Just("recurse".to_string()),
        Just("def f: f; f".to_string()),
        Just("def f: [f]; f".to_string()),
        Just("def f: 1 + f; f".to_string()),
        Just("[range(1e9)]".to_string()),
        Just("reduce range(1e5) as $i (0; [.])".to_string()),
        Just("error(\"x\")".to_string()),
        Just("nan".to_string()),
        Just("infinite".to_string()),
        Just("$__loc__".to_string()),
        Just("input".to_string()),
        Just("\"\\(.)\"".to_string()),
        Just("@base64d".to_string()),
        Just("ltrimstr(1)".to_string()),
        Just("splits(\"a\")".to_string()),
        Just("test(\"(a*)*b\")".to_string()),
        Just("limit(-1; 1)".to_string()),
        Just("getpath([\"a\",0,\"b\"])".to_string()),
        Just("tostream".to_string()),
        Just("[paths]".to_string()),
        "[ -~]{0,12}",
    ]
}

fn filter() -> impl Strategy<Value = String> {
    let op =
        prop_oneof![Just(" | "), Just(", "), Just(" + "), Just(" * "), Just(" // "), Just(" and "), Just(" as $x | ")];
    (piece(), prop::collection::vec((op, piece()), 0..3)).prop_map(|(first, rest)| {
        rest.into_iter().fold(first, |mut f, (op, p)| {
            f.push_str(op);
            f.push_str(&p);
            f
        })
    })
}

fn input() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
        "[ -~]{0,8}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-c]", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// 64 in `cargo test`; `PROPTEST_CASES=N` for a long run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// Any filter over any input ends with outputs or an error the worker
    /// meant to give: never a worker that died of something else (a panic),
    /// and never a parent that hangs or aborts.
    #[test]
    fn every_filter_ends_with_an_answer_within_its_budget(f in filter(), v in input()) {
        let limits = Limits { timeout: Duration::from_secs(2), memory_bytes: 256 << 20, ..Limits::default() };
        let runner = JqRunner::new(env!("CARGO_BIN_EXE_opsdeck")).with_limits(limits);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let r = rt.block_on(runner.run(&f, &v));
        prop_assert!(!matches!(r, Err(JqError::Worker(_))), "{f:?} over {v}: {r:?}");
    }
}
