//! `W` writes the selected saved chain as a workflow file: one effect with
//! the file's text (the runtime writes it, never over a file).

use super::*;

fn with_chain(fx: &Fx, name: &str) -> AppState {
    let mut s = fx.state();
    let link = chain::Link { filter: ".status".into(), arg: "text".into() };
    let steps = vec![
        chain::Step { tool: "http_check".into(), args: json!({"url": "https://example.com"}), link: None },
        chain::Step { tool: "text_stats".into(), args: json!({}), link: Some(link) },
    ];
    s.tools.restore("tools.chains", &chain::write_chains(&[Chain { name: name.into(), steps }])).unwrap();
    s.tools.list_sel = s.tools.rows.iter().position(|r| r.target == list::Target::Chain(0)).unwrap();
    s
}

#[test]
fn w_on_a_saved_chain_asks_for_a_workflow_file_that_parses() {
    let fx = Fx::new();
    let mut s = with_chain(&fx, "probe then count");
    s.refresh_hints(&fx.keymap);
    assert!(s.hints.iter().any(|(k, d)| k == "W" && d == "as workflow"), "{:?}", s.hints);
    let effects = fx.chars(&mut s, "W");
    let [Effect::SaveWorkflow { stem, contents }] = &effects[..] else { panic!("{effects:?}") };
    assert_eq!(stem, "probe-then-count");
    let w = crate::engine::workflows::definition::parse("probe-then-count.toml", contents).expect("a valid workflow");
    assert_eq!(w.name, "probe-then-count");
    assert_eq!(w.order(), ["s1_http_check", "s2_select", "s2_text_stats"], "one step per link, the jq link as a query");
    assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains("probe-then-count")), "{:?}", s.notice);
}

#[test]
fn w_on_a_tool_or_under_read_only_writes_nothing_and_says_why() {
    let fx = Fx::new();
    let mut s = fx.state();
    assert!(fx.chars(&mut s, "W").is_empty());
    assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains("select a saved chain")), "{:?}", s.notice);
    let mut s = with_chain(&fx, "probe");
    s.read_only = true;
    assert!(fx.chars(&mut s, "W").is_empty());
    assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains("read-only")), "{:?}", s.notice);
}
