use super::*;
use crate::engine::alerts::rules::RuleSet;

fn known() -> Known {
    known_names(Some(BTreeSet::from(["srv".to_string()])), &RuleSet::default())
}

const GOOD: &str =
    "name = \"probe\"\n\n[[step]]\nid = \"get\"\nuses = \"http_check\"\nwith = { url = \"https://example.com\" }\n";

#[test]
fn a_good_proposal_is_placed_as_a_new_file_named_after_the_workflow() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("workflows");
    let p = check(&dir, GOOD, &known()).unwrap();
    assert_eq!(p, Placed { name: "probe".into(), path: dir.join("probe.toml"), previous: None });
    save(&p, GOOD).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("probe.toml")).unwrap(), GOOD);
    // The folder reads it as `opsdeck check` does, and nothing else was left there.
    let (found, errors) = definition::load_dir_with(&dir, Some(&known()));
    assert_eq!((found.len(), errors), (1, vec![]));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file is left");
}

#[test]
fn problems_come_back_at_their_line_and_column_in_the_file_it_would_be() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = "name = \"probe\"\n\n[[step]]\nid = \"get\"\nuses = \"no_such_tool\"\n";
    let e = check(tmp.path(), bad, &known()).unwrap_err();
    let text = problems_text(&e);
    assert!(text.starts_with("workflows/probe.toml:5:"), "{text}");
    assert!(text.contains("no_such_tool"), "{text}");
    // Not TOML at all: still a located problem, never a panic.
    let e = check(tmp.path(), "name = \"x\"\n[[step]\n\u{0}", &known()).unwrap_err();
    assert!(problems_text(&e).contains(":2:"), "{}", problems_text(&e));
    // An unknown MCP server, as `opsdeck check` says it.
    let e = check(tmp.path(), &GOOD.replace("http_check", "nope/tool"), &known()).unwrap_err();
    assert!(problems_text(&e).contains("no MCP server is named \"nope\""), "{}", problems_text(&e));
    let huge = "#".repeat(MAX_PROPOSAL_BYTES + 1);
    assert!(problems_text(&check(tmp.path(), &huge, &known()).unwrap_err()).contains("at most"));
}

#[test]
fn a_change_to_an_existing_workflow_targets_its_file_and_diffs_against_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // The workflow `probe` lives in a file of another name.
    std::fs::write(dir.join("my-probe.toml"), GOOD).unwrap();
    let changed = GOOD.replace("example.com", "example.org");
    let p = check(dir, &changed, &known()).unwrap();
    assert_eq!(p.path, dir.join("my-probe.toml"));
    assert_eq!(p.previous.as_deref(), Some(GOOD));
    let d = diff("my-probe.toml", GOOD, &changed);
    assert!(d.contains("-with = { url = \"https://example.com\" }"), "{d}");
    assert!(d.contains("+with = { url = \"https://example.org\" }"), "{d}");
    // Changed on disk since the diff was shown: not overwritten.
    std::fs::write(dir.join("my-probe.toml"), "name = \"probe\"\n# edited by hand\n").unwrap();
    let e = save(&p, &changed).unwrap_err();
    assert!(e.to_string().contains("changed since the diff was shown"), "{e}");
    assert!(std::fs::read_to_string(dir.join("my-probe.toml")).unwrap().contains("edited by hand"));
    // Checked again, it saves over the file.
    let p = check(dir, &changed, &known()).unwrap();
    save(&p, &changed).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("my-probe.toml")).unwrap(), changed);
}

#[test]
fn a_new_file_that_appeared_since_the_check_is_not_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let p = check(tmp.path(), GOOD, &known()).unwrap();
    std::fs::write(tmp.path().join("probe.toml"), "name = \"other\"\n").unwrap();
    let e = save(&p, GOOD).unwrap_err();
    assert!(e.to_string().contains("appeared"), "{e}");
    assert_eq!(std::fs::read_to_string(tmp.path().join("probe.toml")).unwrap(), "name = \"other\"\n");
}

#[test]
fn a_name_taken_twice_in_the_folder_is_refused_as_the_folder_reader_would() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Two files already name `probe` (the second is left out by the reader).
    std::fs::write(dir.join("a.toml"), GOOD).unwrap();
    std::fs::write(dir.join("b.toml"), GOOD).unwrap();
    let e = check(dir, GOOD, &known()).unwrap_err();
    assert!(problems_text(&e).contains("is taken by another file"), "{}", problems_text(&e));
}
