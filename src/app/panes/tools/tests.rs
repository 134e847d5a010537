//! Reducer tests of the tools pane through the app: keys in, state and effects out.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Value, json};

use super::*;
use crate::app::{Action, AppState, Ctx, Overlay, update};
use crate::config::keymap::Keymap;
use crate::config::settings::Config;

struct Fx {
    keymap: Keymap,
    config: Config,
    now: i64,
}

impl Fx {
    fn new() -> Self {
        Fx { keymap: Keymap::fallback(), config: Config::default(), now: 1_700_000_000_000 }
    }
    fn ctx(&self) -> Ctx<'_> {
        Ctx { now: self.now, keymap: &self.keymap, config: &self.config }
    }
    fn act(&self, s: &mut AppState, a: Action) -> Vec<Effect> {
        update(s, a, &self.ctx())
    }
    fn key(&self, s: &mut AppState, code: KeyCode) -> Vec<Effect> {
        self.act(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }
    fn chars(&self, s: &mut AppState, text: &str) -> Vec<Effect> {
        text.chars().flat_map(|c| self.key(s, KeyCode::Char(c))).collect()
    }
    /// An app on the tools pane with a small catalog.
    fn state(&self) -> AppState {
        let mut s = AppState::new(&self.ctx());
        self.act(&mut s, Action::Tools(ToolsAction::Catalog(catalog())));
        self.chars(&mut s, "3");
        assert_eq!(s.focus, BoxId::ToolList);
        s
    }
}

fn tool(name: &str, mutating: bool, schema: Value) -> ToolInfo {
    ToolInfo { name: name.into(), description: format!("{name} tool"), schema, mutating, source: "builtin".into() }
}

fn catalog() -> Vec<ToolInfo> {
    vec![
        tool(
            "tcp_check",
            false,
            json!({"type":"object","required":["host","port"],"properties":{
                "host":{"type":"string"},"port":{"type":"integer"},"timeout_ms":{"type":"integer","default":3000}}}),
        ),
        tool(
            "data_query",
            false,
            json!({"type":"object","required":["filter"],"properties":{"filter":{"type":"string"},"input":{"type":"string"}}}),
        ),
        tool("shell", true, json!({"type":"object","required":["command"],"properties":{"command":{"type":"string"}}})),
    ]
}

fn record(tool: &str, args: Value, ok: bool, outcome: Value) -> ToolRun {
    ToolRun {
        tool: tool.into(),
        source: "builtin".into(),
        args,
        started: 1_700_000_000_000,
        duration_ms: 12,
        ok,
        outcome,
        output: vec![],
        truncated: false,
        origin: Default::default(),
    }
}

fn run_effect(effects: &[Effect]) -> Option<(u64, String, Value, bool)> {
    effects.iter().find_map(|e| match e {
        Effect::RunTool { run, tool, args, confirmed } => Some((*run, tool.clone(), args.clone(), *confirmed)),
        _ => None,
    })
}

/// The last jq evaluation asked for: (slot, job, filter, input).
fn jq_effect(effects: &[Effect]) -> Option<(JqSlot, u64, String, Value)> {
    effects.iter().rev().find_map(|e| match e {
        Effect::Jq { slot, job, filter, input, .. } => Some((*slot, *job, filter.clone(), input.clone())),
        _ => None,
    })
}

/// Answer a jq job the way the worker would (benign filters only: this runs in the test).
fn answer_jq(fx: &Fx, s: &mut AppState, job: u64, filter: &str, input: &Value) -> Vec<Effect> {
    let result = crate::jq::run_filter(filter, input).map_err(|e| e.to_string());
    fx.act(s, Action::Tools(ToolsAction::Jq { job, result }))
}

/// Select a tool in the list by typing a filter.
fn select(fx: &Fx, s: &mut AppState, name: &str) {
    fx.chars(s, "/");
    fx.chars(s, name);
    fx.key(s, KeyCode::Enter);
    let sel = s.tools.selected();
    assert!(matches!(sel, Some(list::Target::Tool(i)) if s.tools.catalog[i].name == name), "{name}: {sel:?}");
}

#[test]
fn a_form_validates_inline_then_runs_with_typed_args() {
    let fx = Fx::new();
    let mut s = fx.state();
    // Sorted by name: data_query, shell, tcp_check.
    let names: Vec<_> = s.tools.rows.iter().map(|r| s.tools.key_of(r.target)).collect();
    assert_eq!(names, ["data_query", "shell", "tcp_check"]);
    select(&fx, &mut s, "tcp_check");
    fx.key(&mut s, KeyCode::Enter);
    assert_eq!(s.focus, BoxId::ToolForm);
    let fx_effects = fx.chars(&mut s, "r");
    assert!(run_effect(&fx_effects).is_none());
    let form = s.tools.form.as_ref().unwrap();
    assert_eq!(form.fields[0].error.as_deref(), Some("required"));
    assert!(s.notice.as_ref().unwrap().1.contains("2 fields to fix"), "{:?}", s.notice);
    // host: Enter edits, typed letters go to the field (not to key bindings), Enter keeps.
    fx.key(&mut s, KeyCode::Enter);
    fx.chars(&mut s, "db.local");
    fx.key(&mut s, KeyCode::Enter);
    fx.key(&mut s, KeyCode::Down);
    fx.key(&mut s, KeyCode::Enter);
    fx.chars(&mut s, "54x");
    fx.key(&mut s, KeyCode::Enter);
    assert_eq!(s.tools.form.as_ref().unwrap().fields[1].error.as_deref(), Some("\"54x\" is not a whole number"));
    fx.key(&mut s, KeyCode::Enter);
    fx.key(&mut s, KeyCode::Backspace);
    fx.chars(&mut s, "32");
    fx.key(&mut s, KeyCode::Enter);
    let effects = fx.chars(&mut s, "r");
    let (run, tool, args, confirmed) = run_effect(&effects).expect("a run");
    assert_eq!((run, tool.as_str(), confirmed), (1, "tcp_check", false));
    assert_eq!(args, json!({"host":"db.local","port":5432,"timeout_ms":3000}));
    assert!(s.tools.run(1).unwrap().running());
    assert_eq!(s.tools.shown, Some(1));
}

#[test]
fn output_streams_and_can_be_searched_and_cancelled() {
    let fx = Fx::new();
    let mut s = fx.state();
    select(&fx, &mut s, "data_query");
    fx.key(&mut s, KeyCode::Enter);
    fx.key(&mut s, KeyCode::Enter);
    fx.chars(&mut s, ".[]");
    fx.key(&mut s, KeyCode::Enter);
    let (run, ..) = run_effect(&fx.chars(&mut s, "r")).unwrap();
    let lines = vec!["alpha".to_string(), "beta".into(), "ALPHABET".into()];
    fx.act(&mut s, Action::Tools(ToolsAction::Output { run, lines }));
    assert_eq!(s.tools.run(run).unwrap().output.len(), 3);
    let effects = fx.chars(&mut s, "x");
    assert_eq!(effects, vec![Effect::CancelTool { run }]);
    fx.act(
        &mut s,
        Action::Tools(ToolsAction::Finished {
            run,
            record: record("data_query", json!({}), false, json!("cancelled")),
        }),
    );
    assert_eq!(s.tools.run(run).unwrap().state, runs::RunState::Cancelled { duration_ms: 12 });
    // Search the output.
    fx.act(&mut s, Action::User(UserAction::FocusNext));
    assert_eq!(s.focus, BoxId::ToolOutput);
    fx.chars(&mut s, "/alpha");
    fx.key(&mut s, KeyCode::Enter);
    assert_eq!(s.tools.matches, vec![0, 2]);
    fx.chars(&mut s, "n");
    assert_eq!(s.tools.match_at, 1);
    fx.key(&mut s, KeyCode::Esc);
    assert!(s.tools.search.is_none());
}

#[test]
fn a_result_after_streamed_output_is_folded_until_enter() {
    let fx = Fx::new();
    let mut s = fx.state();
    select(&fx, &mut s, "data_query");
    fx.key(&mut s, KeyCode::Enter);
    fx.key(&mut s, KeyCode::Enter);
    fx.chars(&mut s, ".[]");
    fx.key(&mut s, KeyCode::Enter);
    let (run, ..) = run_effect(&fx.chars(&mut s, "r")).unwrap();
    fx.act(&mut s, Action::Tools(ToolsAction::Output { run, lines: vec!["1".into(), "2".into()] }));
    let rec = record("data_query", json!({}), true, json!({"format":"json","results":[1,2]}));
    fx.act(&mut s, Action::Tools(ToolsAction::Finished { run, record: rec }));
    let lines = |s: &AppState| s.tools.run(run).unwrap().text_lines().iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert_eq!(lines(&s), ["1", "2", "", "result: {format, results} · Enter shows it"], "said once, not twice");
    s.focus = BoxId::ToolOutput;
    fx.key(&mut s, KeyCode::Enter);
    assert_eq!(lines(&s)[3], "result:", "Enter opens the whole result");
    assert!(lines(&s).len() > 5);
    fx.key(&mut s, KeyCode::Enter);
    assert_eq!(lines(&s).len(), 4, "and folds it again");
}

#[test]
fn mutating_tools_ask_first_and_are_refused_read_only() {
    let fx = Fx::new();
    let mut s = fx.state();
    select(&fx, &mut s, "shell");
    fx.key(&mut s, KeyCode::Enter);
    fx.key(&mut s, KeyCode::Enter);
    fx.chars(&mut s, "rm -rf /tmp/x");
    fx.key(&mut s, KeyCode::Esc);
    assert!(run_effect(&fx.chars(&mut s, "r")).is_none());
    assert!(
        matches!(&s.overlay, Some(Overlay::Tools(p)) if matches!(**p, ToolsPopup::Confirm { .. })),
        "{:?} {:?}",
        s.notice,
        s.tools.form
    );
    let (_, tool, args, confirmed) = run_effect(&fx.chars(&mut s, "y")).expect("confirmed run");
    assert_eq!((tool.as_str(), confirmed), ("shell", true));
    assert_eq!(args, json!({"command":"rm -rf /tmp/x"}));
    assert!(s.overlay.is_none());
    // n declines.
    fx.chars(&mut s, "r");
    assert!(run_effect(&fx.chars(&mut s, "n")).is_none());
    assert!(s.overlay.is_none());
    s.read_only = true;
    assert!(run_effect(&fx.chars(&mut s, "r")).is_none());
    assert!(s.overlay.is_none());
    assert!(s.notice.as_ref().unwrap().1.contains("read-only"));
}

#[test]
fn history_refills_the_form_reruns_and_compares() {
    let fx = Fx::new();
    let mut s = fx.state();
    let older = record("tcp_check", json!({"host":"a","port":1}), true, json!({"open":true,"ms":3}));
    let newer = record("tcp_check", json!({"host":"a","port":1}), true, json!({"open":false,"ms":3}));
    fx.act(&mut s, Action::Tools(ToolsAction::History(vec![newer, older])));
    assert_eq!(s.tools.runs.iter().map(|r| r.id).collect::<Vec<_>>(), vec![2, 1]);
    // Recently used tools are lifted to the top of the list.
    assert_eq!(s.tools.rows[0].mark, list::Mark::Recent);
    fx.act(&mut s, Action::User(UserAction::FocusPrev));
    assert_eq!(s.focus, BoxId::ToolHistory);
    fx.key(&mut s, KeyCode::Enter);
    assert_eq!(s.tools.shown, Some(2));
    let form = s.tools.form.as_ref().unwrap();
    assert_eq!(
        (form.tool.as_str(), form.fields[0].text.as_str(), form.fields[1].text.as_str()),
        ("tcp_check", "a", "1")
    );
    // d compares with the run before of the same tool.
    fx.chars(&mut s, "d");
    let (a, b, rows) = s.tools.diff.clone().expect("a comparison");
    assert_eq!((a, b), (1, 2));
    let changed: Vec<_> = rows.iter().filter(|r| !r.same).collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].right.as_deref(), Some("  \"open\": false"));
    assert_eq!(s.focus, BoxId::ToolOutput);
    fx.key(&mut s, KeyCode::Esc);
    assert!(s.tools.diff.is_none());
    let (run, tool, args, _) = run_effect(&fx.chars(&mut s, "R")).expect("re-run");
    assert_eq!((run, tool.as_str(), args), (3, "tcp_check", json!({"host":"a","port":1})));
}

#[test]
fn favorites_are_saved_and_listed_first() {
    let fx = Fx::new();
    let mut s = fx.state();
    fx.key(&mut s, KeyCode::End);
    let effects = fx.chars(&mut s, "f");
    assert_eq!(effects, vec![Effect::SaveUi { key: "tools.favorites".into(), value: "[\"tcp_check\"]".into() }]);
    assert_eq!(
        (s.tools.key_of(s.tools.rows[0].target), s.tools.rows[0].mark),
        ("tcp_check".into(), list::Mark::Favorite)
    );
    assert_eq!(s.tools.list_sel, 0, "the selection follows the tool");
    let mut restored = AppState::new(&fx.ctx());
    restored.tools.restore("tools.favorites", "[\"shell\"]").unwrap();
    fx.act(&mut restored, Action::Tools(ToolsAction::Catalog(catalog())));
    assert_eq!(restored.tools.key_of(restored.tools.rows[0].target), "shell");
}

#[test]
fn a_result_chains_into_the_next_tool_and_the_chain_is_saved_and_replayed() {
    let fx = Fx::new();
    let mut s = fx.state();
    select(&fx, &mut s, "tcp_check");
    fx.act(
        &mut s,
        Action::Tools(ToolsAction::History(vec![record(
            "tcp_check",
            json!({"host":"a","port":80}),
            true,
            json!({"body":"[{\"x\":1}]"}),
        )])),
    );
    fx.act(&mut s, Action::User(UserAction::FocusPrev));
    fx.key(&mut s, KeyCode::Enter);
    let effects = fx.chars(&mut s, "p");
    assert!(matches!(&s.overlay, Some(Overlay::Tools(p)) if matches!(**p, ToolsPopup::ChainFilter { .. })));
    assert_eq!(jq_effect(&effects).map(|j| j.2), Some(".".into()), "the first preview is asked for at once");
    let (slot, job, filter, input) = jq_effect(&fx.chars(&mut s, "body")).expect("a preview evaluation");
    assert_eq!((slot, filter.as_str()), (JqSlot::Preview, ".body"));
    answer_jq(&fx, &mut s, job, &filter, &input);
    if let Some(Overlay::Tools(p)) = &s.overlay
        && let ToolsPopup::ChainFilter { preview, .. } = &**p
    {
        let Preview::Ready { lines, .. } = preview else { panic!("{preview:?}") };
        assert_eq!(lines, &vec!["\"[{\\\"x\\\":1}]\"".to_string()]);
    }
    fx.key(&mut s, KeyCode::Enter);
    assert_eq!(s.tools.picking, Some(Picking { run: 1, filter: ".body".into(), value: json!("[{\"x\":1}]") }));
    assert_eq!(s.focus, BoxId::ToolList);
    select(&fx, &mut s, "data_query");
    fx.key(&mut s, KeyCode::Enter);
    let Some(Overlay::Tools(p)) = &s.overlay else { panic!("argument picker expected") };
    let ToolsPopup::ChainArg { tool, args, selected, .. } = &**p else { panic!("{p:?}") };
    assert_eq!(tool, "data_query");
    assert_eq!(args[*selected].0, "filter", "starts on a required argument");
    fx.key(&mut s, KeyCode::Down);
    fx.key(&mut s, KeyCode::Enter);
    let form = s.tools.form.as_ref().unwrap();
    assert_eq!(form.tool, "data_query");
    assert_eq!(form.fields[form.find("input").unwrap()].text, "[{\"x\":1}]");
    assert_eq!(s.focus, BoxId::ToolForm);
    fx.key(&mut s, KeyCode::Up);
    fx.key(&mut s, KeyCode::Enter);
    fx.chars(&mut s, ".[0].x");
    fx.key(&mut s, KeyCode::Enter);
    let (run, _, args, _) = run_effect(&fx.chars(&mut s, "r")).unwrap();
    assert_eq!(args, json!({"filter":".[0].x","input":"[{\"x\":1}]"}));
    assert_eq!(s.tools.building.as_ref().unwrap().chain.summary(), "tcp_check", "joins when it succeeds");
    fx.act(&mut s, Action::Tools(ToolsAction::Finished { run, record: record("data_query", args, true, json!(1)) }));
    assert_eq!(s.tools.building.as_ref().unwrap().chain.summary(), "tcp_check → data_query");
    assert_eq!(s.tools.building.as_ref().unwrap().last_run, run);
    fx.chars(&mut s, "S");
    fx.chars(&mut s, "probe");
    let effects = fx.key(&mut s, KeyCode::Enter);
    let Some(Effect::SaveUi { key, value }) = effects.first() else { panic!("{effects:?}") };
    assert_eq!(key, "tools.chains");
    let saved = super::chain::read_chains(value).unwrap();
    assert_eq!(saved[0].steps[1].args, json!({"filter":".[0].x"}), "the linked argument is not fixed");
    // Replay: step 1 runs with its args, step 2 takes step 1's result through the filter.
    let ci = s.tools.rows.iter().position(|r| r.target == list::Target::Chain(0)).unwrap();
    s.tools.list_sel = ci;
    s.focus = BoxId::ToolList;
    let effects = fx.key(&mut s, KeyCode::Enter);
    assert!(run_effect(&effects).is_none(), "Enter opens a saved chain (its steps); r runs it");
    assert_eq!(s.focus, BoxId::ToolForm);
    // r asks the engine to run it; the engine's reports show its steps.
    let effects = fx.chars(&mut s, "r");
    let [Effect::RunChain { chain_run, chain, confirmed: false }] = &effects[..] else { panic!("{effects:?}") };
    assert_eq!(chain, &saved[0]);
    let chain_run = *chain_run;
    let step = |s: &mut AppState, event| fx.act(s, Action::Tools(ToolsAction::Chain { chain_run, event }));
    let tcp = json!({"host":"a","port":80});
    let effects = step(&mut s, ChainUpdate::Step { step: 1, steps: 2, tool: "tcp_check".into(), args: tcp.clone() });
    assert!(effects.is_empty(), "the engine runs the step: {effects:?}");
    let r1 = s.tools.shown.expect("the step's run is shown");
    assert_eq!((s.tools.runs[0].id, s.tools.runs[0].tool.as_str(), &s.tools.runs[0].args), (r1, "tcp_check", &tcp));
    assert_eq!(s.notice.as_ref().unwrap().1, "chain probe: step 1/2 tcp_check");
    let done = record("tcp_check", tcp, true, json!({"body":"[9]"}));
    assert!(step(&mut s, ChainUpdate::Finished { step: 1, record: done }).is_empty());
    assert_eq!(s.tools.run(r1).unwrap().result(), Some(&json!({"body":"[9]"})));
    let selecting = ChainUpdate::Selecting { step: 2, steps: 2, tool: "data_query".into(), filter: ".body".into() };
    step(&mut s, selecting);
    assert_eq!(s.notice.as_ref().unwrap().1, "chain probe: step 2/2 data_query: selecting .body from the result…");
    let a2 = json!({"filter":".[0].x","input":"[9]"});
    step(&mut s, ChainUpdate::Step { step: 2, steps: 2, tool: "data_query".into(), args: a2.clone() });
    let r2 = s.tools.shown.unwrap();
    assert_ne!(r1, r2);
    step(&mut s, ChainUpdate::Output { step: 2, lines: vec!["9".into()] });
    step(&mut s, ChainUpdate::Finished { step: 2, record: record("data_query", a2, true, json!(9)) });
    assert_eq!(s.tools.run(r2).unwrap().output, vec!["9".to_string()]);
    step(&mut s, ChainUpdate::Ended(Ok(2)));
    assert_eq!(s.notice.as_ref().unwrap().1, "✓ chain probe finished (2 steps)");
    assert!(s.tools.chain_runs.is_empty());
}

#[test]
fn export_and_copy_the_shown_result() {
    let fx = Fx::new();
    let mut s = fx.state();
    fx.act(&mut s, Action::Tools(ToolsAction::History(vec![record("tcp_check", json!({}), true, json!([{"a":1}]))])));
    fx.act(&mut s, Action::User(UserAction::FocusPrev));
    fx.key(&mut s, KeyCode::Enter);
    fx.chars(&mut s, "e");
    fx.key(&mut s, KeyCode::Down);
    let effects = fx.key(&mut s, KeyCode::Enter);
    let Some(Effect::Export { name, contents }) = effects.first() else { panic!("{effects:?}") };
    assert!(name.starts_with("tcp_check-2023") && name.ends_with("-1.csv"), "{name}");
    assert_eq!(contents, "a\n1\n");
    let effects = fx.chars(&mut s, "y");
    assert!(matches!(effects.first(), Some(Effect::Copy { text, .. }) if text.contains("\"a\": 1")), "{effects:?}");
}

mod jq;

#[test]
fn saved_chains_are_read_whole_in_either_shape_or_not_at_all() {
    let fx = Fx::new();
    let chain = Chain { name: "probe".into(), steps: Vec::new() };
    let legacy = serde_json::to_string(&vec![chain.clone()]).unwrap();
    let current = super::chain::write_chains(std::slice::from_ref(&chain));
    assert!(current.starts_with(r#"{"version":1,"chains":["#), "{current}");
    for text in [&legacy, &current] {
        let mut s = fx.state();
        s.tools.restore("tools.chains", text).unwrap();
        assert_eq!(s.tools.chains, std::slice::from_ref(&chain), "{text}");
    }
    let mut s = fx.state();
    s.tools.restore("tools.chains", &current).unwrap();
    for (text, why) in [
        (r#"[{"title":"probe","links":[]}]"#, "missing field"),
        (r#"{"version":7,"chains":[]}"#, "newer opsdeck"),
        ("not json", "expected"),
    ] {
        let err = s.tools.restore("tools.chains", text).unwrap_err();
        assert!(err.contains(why), "{text}: {err}");
        assert_eq!(s.tools.chains, std::slice::from_ref(&chain), "nothing replaced by defaults");
    }
}

mod chain_runs;

mod chain_workflow;
