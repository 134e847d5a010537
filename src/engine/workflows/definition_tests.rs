//! Tests of workflow definitions: a good file read whole, and each kind of
//! mistake said at its line and column.

use super::*;

const GOOD: &str = r#"
name = "restart-api"
description = "Drain, restart and probe the API"
concurrency = 2

[inputs.host]
type = "string"
required = true

[inputs.mode]
type = "enum"
values = ["soft", "hard"]
default = "soft"

[inputs.retries]
type = "integer"
default = 3

[[step]]
id = "drain"
uses = "http"
with = { method = "POST", url = "https://{{ inputs.host }}/drain" }
retry = { max_attempts = 5, initial_interval = "2s", backoff_coefficient = 2.0, max_interval = "30s", non_retryable = ["404"] }

[[step]]
id = "ok"
uses = "approve"
message = "Restart {{ inputs.host }}?"
needs = ["drain"]

[[step]]
id = "restart"
uses = "shell"
with = { command = "systemctl restart api" }
needs = ["ok"]
timeout = "2m"
idempotent = false

[[step]]
id = "probe"
uses = "http_check"
with = { url = "https://{{ inputs.host }}/health" }
needs = ["restart"]
if = "{{ steps.restart.state == 'succeeded' }}"
outputs = { status = "{{ result.status }}" }
"#;

fn errors(src: &str) -> Vec<String> {
    parse("wf.toml", src).expect_err("problems").iter().map(ToString::to_string).collect()
}

#[test]
fn a_good_file_is_read_whole_and_ordered_by_needs() {
    let w = parse("wf.toml", GOOD).unwrap();
    assert_eq!((w.name.as_str(), w.concurrency, w.unattended), ("restart-api", 2, false));
    let names: Vec<&str> = w.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["host", "mode", "retries"]);
    assert_eq!(w.inputs[1].kind, InputKind::Enum(vec!["soft".into(), "hard".into()]));
    assert_eq!(w.inputs[1].default, Some(Value::from("soft")));
    assert_eq!(w.inputs[2].default, Some(Value::from(3)));
    assert!(w.inputs[0].required);
    assert_eq!(w.order(), ["drain", "ok", "restart", "probe"]);
    let drain = &w.steps[0];
    assert_eq!(drain.uses, Uses::Http);
    assert_eq!(drain.with["url"], "https://{{ inputs.host }}/drain");
    assert_eq!(drain.retry.max_attempts, 5);
    assert_eq!(drain.retry.max_interval, Duration::from_secs(30));
    assert_eq!(drain.retry.non_retryable, ["404"]);
    assert_eq!(w.steps[1].uses, Uses::Approve);
    assert_eq!(w.steps[2].timeout, Duration::from_secs(120));
    assert!(!w.steps[2].idempotent);
    assert_eq!(w.steps[3].uses, Uses::Tool("http_check".into()));
    assert_eq!(w.steps[3].condition.as_deref(), Some("{{ steps.restart.state == 'succeeded' }}"));
    assert_eq!(w.steps[3].timeout, DEFAULT_STEP_TIMEOUT);
    assert_eq!(w.steps[3].retry, RetryPolicy::default());
    // The version is the file's: the same text, the same version; one
    // character more, another.
    assert_eq!(w.version.len(), 12);
    assert_eq!(parse("other.toml", GOOD).unwrap().version, w.version);
    assert_ne!(parse("wf.toml", &format!("{GOOD}\n")).unwrap().version, w.version);
    assert_eq!(version_of("abc"), "ba7816bf8f01", "SHA-256 of abc");
}

#[test]
fn a_cycle_is_named_with_its_steps() {
    let src = "name = \"w\"\n[[step]]\nid = \"a\"\nuses = \"x\"\nneeds = [\"c\"]\n[[step]]\nid = \"b\"\nuses = \"x\"\nneeds = [\"a\"]\n[[step]]\nid = \"c\"\nuses = \"x\"\nneeds = [\"b\"]\n";
    let e = errors(src);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("wf.toml:3:6: steps need each other in a cycle: a → c → b → a"), "{}", e[0]);
}

#[test]
fn every_mistake_is_said_at_its_place() {
    let src = r#"name = "w"
concurrency = 0
[inputs.level]
type = "integer"
default = "high"
[inputs.colour]
type = "enum"
[inputs.when]
type = "date"
[[step]]
id = "a"
uses = "shell"
with = { cmd = "ls" }
timeout = "soon"
[[step]]
id = "a"
uses = "approve"
needs = ["a", "ghost"]
retry = { max_attempts = 0, jitter = 2.0, initial_interval = "1m", max_interval = "1s" }
[[step]]
id = "2fast"
uses = "http"
"#;
    let e = errors(src);
    let has = |prefix: &str| e.iter().any(|l| l.starts_with(prefix));
    for want in [
        "wf.toml:2:15: concurrency 0 is out of range",
        "wf.toml:5:11: input level: the default is a string, not a integer",
        "wf.toml:7:8: input colour: an enum needs its values",
        "wf.toml:9:8: input when: unknown type \"date\"",
        "wf.toml:13:8: step a: a shell step needs with.command",
        "wf.toml:14:11: invalid duration",
        "wf.toml:16:6: step id a is used twice",
        "wf.toml:18:10: step a needs itself",
        "wf.toml:18:15: step a needs \"ghost\", which is not a step of this workflow",
        "wf.toml:19:9: step a: max_attempts 0 is out of range",
        "wf.toml:19:9: step a: jitter 2 is out of range",
        "wf.toml:19:9: step a: max_interval is shorter than initial_interval",
        "wf.toml:21:6: step id \"2fast\" is not a name",
        "wf.toml:20:1: step 2fast: an http step needs with.url",
    ] {
        assert!(has(want), "missing {want:?} in:\n{}", e.join("\n"));
    }
    assert!(e.iter().any(|l| l.contains("an approve step needs a message")), "{e:?}");
}

#[test]
fn unknown_keys_and_an_empty_file_are_refused() {
    let e = errors("name = \"w\"\n[[step]]\nid = \"a\"\nuse = \"x\"\n");
    assert!(e.iter().any(|l| l.contains("unknown field `use`")), "{e:?}");
    let e = errors("name = \"w\"\n");
    assert_eq!(
        e,
        ["wf.toml: a workflow needs at least one [[step]]\n  hint: see docs/workflows.md for the workflow file format"]
    );
}

#[test]
fn templates_read_only_inputs_and_the_steps_they_need() {
    let src = r#"name = "w"
[inputs.host]
type = "string"
[[step]]
id = "a"
uses = "shell"
with = { command = "ping {{ inputs.hots }}" }
[[step]]
id = "b"
uses = "shell"
with = { command = "echo {{ steps.c.output }} {{ steps.a.state }} {{ secret('x') }}" }
needs = ["a"]
[[step]]
id = "c"
uses = "shell"
with = { command = "echo {{ steps.b.output }} {{ steps.zz.output }} {{ result.x }}" }
needs = ["b"]
outputs = { n = "{{ result.lines }}", bad = "{{ inputs.host" }
"#;
    let e = errors(src);
    let has = |prefix: &str| e.iter().any(|l| l.starts_with(prefix));
    for want in [
        "wf.toml:7:21: step a: no input is named hots",
        "wf.toml:11:21: step b: c is not a step b needs, so its result is not known yet",
        "wf.toml:16:21: step c: no step is named zz",
        "wf.toml:16:21: step c: result.x is not defined",
        "wf.toml:18:46: step c: syntax error",
    ] {
        assert!(has(want), "missing {want:?} in:\n{}", e.join("\n"));
    }
    assert_eq!(e.len(), 5, "steps.a in b, steps.b in c, secret() and result in outputs are fine:\n{}", e.join("\n"));
    // The good file's templates all hold.
    assert!(parse("wf.toml", GOOD).is_ok());
}

#[test]
fn a_folder_gives_its_good_workflows_and_says_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write("a.toml", GOOD);
    write("b.toml", "name = \"probe\"\n[[step]]\nid = \"p\"\nuses = \"http_check\"\n");
    write("c.toml", "name = \"restart-api\"\n[[step]]\nid = \"p\"\nuses = \"x\"\n");
    write("d.toml", "name = \"broken\"\n");
    write("notes.txt", "not a workflow");
    std::fs::write(dir.path().join("e.toml"), [0xff, 0xfe, 0x00]).unwrap();
    let (found, errors) = load_dir(dir.path());
    let names: Vec<&str> = found.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["restart-api", "probe"]);
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 3, "{shown:?}");
    assert!(shown[0].contains("c.toml:1:9: workflow name restart-api is taken"), "{}", shown[0]);
    assert!(shown[1].contains("d.toml: a workflow needs at least one [[step]]"), "{}", shown[1]);
    assert!(shown[2].contains("e.toml"), "{}", shown[2]);
    let (none, no_errors) = load_dir(&dir.path().join("missing"));
    assert!(none.is_empty() && no_errors.is_empty());
}

#[test]
fn a_missing_name_is_said_once_and_alone() {
    let e = errors("[[step]]\nid = \"a\"\nuse = \"x\"\n");
    assert!(e.iter().any(|l| l.starts_with("wf.toml:3:1: unknown field `use`")), "{e:?}");
    assert!(!e.iter().any(|l| l.contains("missing field `name`")), "{e:?}");
    let e = errors("[[step]]\nid = \"a\"\nuses = \"x\"\n");
    assert_eq!(e, ["wf.toml: a workflow needs a name\n  hint: name = \"restart-api\""]);
}

#[test]
fn with_known_names_tools_servers_and_alerts_must_exist() {
    let known = Known {
        tools: ["http_check".to_string(), "disk_usage".to_string()].into(),
        mcp_servers: Some(["github".to_string()].into()),
        alerts: ["disk_full".to_string()].into(),
    };
    let src = r#"name = "w"
[trigger]
alert = "disk_ful"
[[step]]
id = "a"
uses = "disk_usag"
[[step]]
id = "b"
uses = "github/list_issues"
[[step]]
id = "c"
uses = "gitlab/list_issues"
[[step]]
id = "d"
uses = "/x"
[[step]]
id = "e"
uses = "http_check"
"#;
    let e: Vec<String> =
        parse_with("wf.toml", src, Some(&known)).unwrap_err().iter().map(ToString::to_string).collect();
    for want in [
        "wf.toml:3:9: trigger: no alert rule or check is named \"disk_ful\"\n  hint: did you mean `disk_full`?",
        "wf.toml:6:8: step a: no tool is named \"disk_usag\"\n  hint: did you mean `disk_usage`?",
        "wf.toml:12:8: step c: no MCP server is named \"gitlab\" (in \"gitlab/list_issues\")",
        "wf.toml:15:8: step d: tool \"/x\" is not SERVER/TOOL",
    ] {
        assert!(e.iter().any(|l| l.starts_with(want)), "missing {want:?} in:\n{}", e.join("\n"));
    }
    assert_eq!(e.len(), 4, "github/… and http_check are known:\n{}", e.join("\n"));
    // Without the names (or with any server allowed) only the file itself is checked.
    assert!(parse("wf.toml", src).is_ok());
    let any_server = Known { mcp_servers: None, ..known };
    let e = parse_with("wf.toml", src, Some(&any_server)).unwrap_err();
    assert_eq!(e.len(), 3, "{e:?}");
}

#[test]
fn the_bundled_examples_pass_every_check() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/workflows");
    let builtins = crate::engine::tools::Registry::with_builtins(crate::jq::JqRunner::in_process());
    let (rules, rule_errors) = crate::engine::alerts::rules::load(None);
    assert!(rule_errors.is_empty(), "{rule_errors:?}");
    let known = Known {
        tools: builtins.specs().iter().map(|s| s.name.clone()).collect(),
        mcp_servers: Some(Default::default()),
        alerts: rules.rules.iter().map(|r| r.name.clone()).collect(),
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 3, "{files:?}");
    for p in &files {
        let src = std::fs::read_to_string(p).unwrap();
        let shown = p.display().to_string();
        if let Err(e) = parse(&shown, &src) {
            panic!("{}", e.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"));
        }
        if let Err(e) = parse_with(&shown, &src, Some(&known)) {
            panic!("{}", e.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"));
        }
    }
    let (found, errors) = load_dir_with(&dir, Some(&known));
    assert!(errors.is_empty(), "{errors:?}");
    let names: Vec<&str> = found.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names, ["disk-cleanup", "health-sweep", "nightly-backup"]);
    let backup = &found[2];
    assert!(backup.schedule.as_ref().is_some_and(|s| s.timezone == "Europe/Berlin"));
    assert_eq!(found[0].trigger_alert.as_deref(), Some("disk_full"));
}

#[test]
fn each_step_says_which_inputs_its_templates_read() {
    let w = parse("wf.toml", GOOD).unwrap();
    let all: Vec<String> = w.inputs.iter().map(|i| i.name.clone()).collect();
    let reads: Vec<(&str, Vec<String>)> = w.steps.iter().map(|s| (s.id.as_str(), s.input_reads(&all))).collect();
    let host = vec!["host".to_string()];
    assert_eq!(reads, [("drain", host.clone()), ("ok", host.clone()), ("restart", vec![]), ("probe", host)]);
    let mut restart = w.steps[2].clone();
    restart.with = serde_json::json!({"command": "echo {{ inputs | tojson }}"});
    assert_eq!(restart.input_reads(&all), all, "reading inputs whole reads every one");
}
