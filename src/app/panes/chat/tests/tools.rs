//! Tools in chat: which tools a conversation offers (the choice popup's
//! state and the requests that follow), and editing a call's arguments in
//! the tool's form before it runs.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Value, json};

use super::super::{ChoiceRow, Submitted, ToolChoice};
use super::*;

fn mcp_tool(name: &str, server: &str) -> ToolInfo {
    ToolInfo { source: server.into(), description: format!("{name}: reads things\nmore text"), ..tool(name, false) }
}

/// The registry's tools a request offers (not `propose_workflow`, which
/// every request offers: draft.rs).
fn offered_in(effects: &[ChatEffect]) -> Vec<String> {
    let names: Vec<String> = effects
        .iter()
        .find_map(|e| match e {
            ChatEffect::Ask { tools, .. } => Some(tools.iter().map(|t| t.name.clone()).collect()),
            _ => None,
        })
        .expect("an Ask");
    assert_eq!(
        names.last().map(String::as_str),
        Some(crate::app::panes::chat::draft::PROPOSE_TOOL),
        "always offered, last"
    );
    names[..names.len() - 1].to_vec()
}

fn select(c: &mut ToolChoice, name: &str) {
    c.selected = c.shown.iter().position(|i| c.rows[*i].name == name).expect(name);
}

fn on(c: &ToolChoice) -> Vec<&str> {
    c.rows.iter().filter(|r| c.is_on(r)).map(|r| r.name.as_str()).collect()
}

fn typed(c: &mut ToolChoice, text: &str) {
    for ch in text.chars() {
        c.key(KeyEvent::new(KeyCode::Char(ch), KeyModifiers::NONE));
    }
}

#[test]
fn the_offered_set_defaults_to_read_only_toggles_saves_and_comes_back() {
    let mut r = Rig::new();
    r.catalog.push(mcp_tool("read_file", "fs"));
    let mut c = ToolChoice::new(&r.chat.conv.meta, &r.catalog, false);
    assert_eq!(
        c.rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["dns_lookup", "read_file", "restart"],
        "read-only first, then by server and name"
    );
    assert_eq!(
        c.rows[1],
        ChoiceRow {
            name: "read_file".into(),
            source: "fs".into(),
            mutating: false,
            description: "read_file: reads things".into()
        }
    );
    assert_eq!((on(&c), c.count(), c.chosen.clone()), (vec!["dns_lookup", "read_file"], 2, None));
    select(&mut c, "restart");
    assert!(c.toggle());
    select(&mut c, "dns_lookup");
    c.toggle();
    assert_eq!(on(&c), ["read_file", "restart"], "a mutating tool can be offered");
    // Kept for the conversation; a new one keeps it for its first question.
    let (_, effects, notice) = r.run(|chat, o| chat.set_tools(&c, o));
    assert!(effects.is_empty(), "an unsaved conversation is saved with its first question");
    assert_eq!(notice.as_deref(), Some("tools: 2 offered in this conversation"));
    assert_eq!(r.chat.conv.meta.tools, Some(vec!["read_file".to_string(), "restart".to_string()]));
    let effects = r.ask("what is in /etc/hosts?");
    assert_eq!(offered_in(&effects), ["restart", "read_file"], "the next request offers the choice (registry order)");
    let saved = effects
        .iter()
        .find_map(|e| if let ChatEffect::Save(conv) = e { Some(conv.clone()) } else { None })
        .expect("saved");
    assert_eq!(saved.meta.tools, r.chat.conv.meta.tools);
    // Stored and read back (what opening the conversation does): the same choice.
    let json = serde_json::to_string(&saved.meta).unwrap();
    let back: crate::protocol::chat::ConversationMeta = serde_json::from_str(&json).unwrap();
    let again = ToolChoice::new(&back, &r.catalog, false);
    assert_eq!(on(&again), ["read_file", "restart"]);
    assert_eq!(r.chat.tools_label(&r.catalog, false), "tools: 2 offered");
    // Back to the default: saved at once now that the conversation exists.
    r.chat.turn = None;
    let mut c = again;
    c.reset();
    assert_eq!(on(&c), ["dns_lookup", "read_file"]);
    let (_, effects, notice) = r.run(|chat, o| chat.set_tools(&c, o));
    assert!(matches!(&effects[..], [ChatEffect::Save(conv)] if conv.meta.tools.is_none()), "{effects:?}");
    assert!(notice.unwrap().contains("read-only default"));
    // Nothing changed: nothing saved.
    let (_, effects, _) = r.run(|chat, o| chat.set_tools(&c, o));
    assert!(effects.is_empty());
    // A choice made for another conversation is not applied to this one.
    c.conversation = "other".into();
    c.chosen = Some(Vec::new());
    let (_, effects, notice) = r.run(|chat, o| chat.set_tools(&c, o));
    assert!(effects.is_empty() && r.chat.conv.meta.tools.is_none());
    assert!(notice.unwrap().contains("another conversation"));
}

#[test]
fn under_read_only_mutating_tools_show_but_never_turn_on_nor_reach_the_request() {
    let mut r = Rig::new();
    r.read_only = true;
    let mut c = ToolChoice::new(&r.chat.conv.meta, &r.catalog, true);
    select(&mut c, "restart");
    assert!(c.toggle());
    assert_eq!(on(&c), ["dns_lookup"]);
    assert!(c.problem.as_deref().unwrap().contains("--read-only"), "{:?}", c.problem);
    assert_eq!(c.chosen, None, "the refused toggle changed nothing");
    // A conversation saved without --read-only that offered it.
    r.chat.conv.meta.tools = Some(vec!["restart".into(), "dns_lookup".into()]);
    let c = ToolChoice::new(&r.chat.conv.meta, &r.catalog, true);
    assert_eq!(on(&c), ["dns_lookup"], "shown off");
    assert_eq!(offered_in(&r.ask("restart web-1")), ["dns_lookup"]);
    assert_eq!(r.chat.tools_label(&r.catalog, true), "tools: 1 offered");
}

#[test]
fn a_tool_whose_server_is_gone_is_skipped_kept_and_never_panics() {
    let mut r = Rig::new();
    r.chat.conv.meta.tools = Some(vec!["fs_read".into(), "dns_lookup".into()]);
    let mut c = ToolChoice::new(&r.chat.conv.meta, &r.catalog, false);
    assert_eq!(c.missing(), ["fs_read"]);
    select(&mut c, "restart");
    c.toggle();
    r.run(|chat, o| chat.set_tools(&c, o));
    assert_eq!(
        r.chat.conv.meta.tools,
        Some(vec!["dns_lookup".to_string(), "fs_read".to_string(), "restart".to_string()]),
        "kept for when its server is back"
    );
    assert_eq!(offered_in(&r.ask("read it")), ["dns_lookup", "restart"]);
    // The model calls it anyway: refused as unknown, with the offered names.
    r.stream(call(0, "c0", "fs_read", "{}"));
    r.answer(Finish::ToolCalls);
    let calls = &r.chat.conv.messages[1].tool_calls;
    assert!(matches!(&calls[0].state, ToolCallState::Refused { reason } if reason.contains("unknown tool")));
    // An empty registry: no rows, nothing offered.
    let c = ToolChoice::new(&r.chat.conv.meta, &[], false);
    assert!(c.rows.is_empty() && c.current().is_none());
    let mut c = c;
    assert!(!c.toggle());
}

#[test]
fn typing_filters_by_name_server_or_description_and_space_toggles() {
    let mut r = Rig::new();
    r.catalog.push(mcp_tool("read_file", "fs"));
    let mut c = ToolChoice::new(&r.chat.conv.meta, &r.catalog, false);
    typed(&mut c, "FS");
    assert_eq!(c.shown.iter().map(|i| c.rows[*i].name.as_str()).collect::<Vec<_>>(), ["read_file"]);
    typed(&mut c, " ");
    assert_eq!(c.filter.text(), "FS", "Space is not typed");
    assert_eq!(on(&c), ["dns_lookup"], "it toggled the selected row");
    c.key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
    c.key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
    c.paste("restart tool");
    assert_eq!(c.shown.len(), 1, "every word matches somewhere");
    typed(&mut c, "x\u{0}");
    assert!(c.shown.is_empty() && c.current().is_none());
    assert!(!c.toggle(), "nothing selected: nothing toggled");
}

/// A conversation whose answer asks `dns_lookup` with `args` (waiting for consent).
fn waiting(r: &mut Rig, args: &str) {
    r.ask("resolve it");
    r.stream(call(0, "c0", "dns_lookup", args));
    r.answer(Finish::ToolCalls);
    assert_eq!(r.chat.asked_call(), Some((1, 0)));
}

#[test]
fn an_edited_call_runs_with_the_edited_arguments_and_the_record_says_so() {
    let mut r = Rig::new();
    waiting(&mut r, "{\"host\": \"example.com\"}");
    let mut f = r.chat.call_form(&r.catalog).expect("a form");
    let host = f.form.find("host").unwrap();
    assert_eq!(f.form.fields[host].text, "example.com", "filled with the model's arguments");
    f.form.fields[host].text = "example.org".into();
    let (_, effects, notice) = r.run(|c, o| {
        assert_eq!(c.submit_call_form(&mut f, o), Submitted::Ran { edited: true });
        true
    });
    let turn = r.turn();
    assert_eq!(
        effects,
        [ChatEffect::RunTool {
            turn,
            call: "c0".into(),
            tool: "dns_lookup".into(),
            args: json!({"host": "example.org"}),
            confirmed: true
        }]
    );
    assert!(notice.unwrap().contains("edited"));
    let c = &r.chat.conv.messages[1].tool_calls[0];
    assert_eq!(c.state, ToolCallState::Running);
    assert_eq!(serde_json::from_str::<Value>(&c.arguments).unwrap(), json!({"host": "example.org"}));
    assert_eq!(c.model_arguments.as_deref(), Some("{\"host\": \"example.com\"}"));
    // The result goes back with the record of what ran.
    let (_, effects, _) = r.run(|c, o| c.tool_done(turn, "c0", Ok("{\"a\":[\"1.2.3.4\"]}".into()), o));
    let asked = asks(&effects);
    let call = &asked[0][1].tool_calls[0];
    assert_eq!(serde_json::from_str::<Value>(&call.arguments).unwrap(), json!({"host": "example.org"}));
    assert!(asked[0][2].content.starts_with("{\"a\":[\"1.2.3.4\"]}"));
    assert!(asked[0][2].content.contains("edited this call's arguments"), "{}", asked[0][2].content);
}

#[test]
fn an_unchanged_submit_runs_as_asked_and_is_not_marked() {
    let mut r = Rig::new();
    waiting(&mut r, "{\"host\":\"a\"}");
    let mut f = r.chat.call_form(&r.catalog).unwrap();
    let (_, effects, _) = r.run(|c, o| {
        assert_eq!(c.submit_call_form(&mut f, o), Submitted::Ran { edited: false });
        true
    });
    assert!(matches!(&effects[..], [ChatEffect::RunTool { args, .. }] if *args == json!({"host":"a"})));
    let c = &r.chat.conv.messages[1].tool_calls[0];
    assert_eq!((c.arguments.as_str(), c.model_arguments.as_ref()), ("{\"host\":\"a\"}", None));
}

#[test]
fn an_invalid_edit_is_refused_in_the_form_and_nothing_runs() {
    let mut r = Rig::new();
    r.catalog[0].schema = json!({"type":"object","required":["host"],"properties":{
        "host":{"type":"string"},
        "servers":{"type":"array","items":{"type":"object"}}}});
    waiting(&mut r, "{\"host\":\"a\"}");
    let mut f = r.chat.call_form(&r.catalog).unwrap();
    let host = f.form.find("host").unwrap();
    f.form.fields[host].text.clear();
    let (_, effects, _) = r.run(|c, o| {
        assert_eq!(c.submit_call_form(&mut f, o), Submitted::Invalid);
        true
    });
    assert!(effects.is_empty());
    assert_eq!(f.form.fields[host].error.as_deref(), Some("required"));
    assert!(f.problem.as_deref().unwrap().contains("1 field"));
    // The form takes any JSON here; the schema wants an array.
    f.form.fields[host].text = "b".into();
    let servers = f.form.find("servers").unwrap();
    f.form.fields[servers].text = "{\"x\": 1}".into();
    let (_, effects, _) = r.run(|c, o| {
        assert_eq!(c.submit_call_form(&mut f, o), Submitted::Invalid);
        true
    });
    assert!(effects.is_empty());
    assert!(f.form.fields[servers].error.as_deref().unwrap().contains("must be a array"), "{:?}", f.form.fields);
    assert_eq!((f.form.selected, f.on_run), (servers, false), "the field to fix is selected");
    assert_eq!(r.chat.asked_call(), Some((1, 0)), "the call still waits");
    assert_eq!(r.chat.conv.messages[1].tool_calls[0].arguments, "{\"host\":\"a\"}");
}

#[test]
fn a_form_whose_call_no_longer_waits_runs_nothing_and_a_gone_tool_has_no_form() {
    let mut r = Rig::new();
    waiting(&mut r, "{\"host\":\"a\"}");
    let mut f = r.chat.call_form(&r.catalog).unwrap();
    r.run(|c, o| c.stop(o));
    let (_, effects, notice) = r.run(|c, o| {
        assert_eq!(c.submit_call_form(&mut f, o), Submitted::Gone);
        true
    });
    assert!(effects.is_empty());
    assert!(notice.unwrap().contains("no longer waits"));
    assert!(r.chat.call_form(&r.catalog).unwrap_err().contains("no tool call waits"));
    // The tool left the registry while its call waited.
    let mut r = Rig::new();
    waiting(&mut r, "{\"host\":\"a\"}");
    let err = r.chat.call_form(&[]).unwrap_err();
    assert!(err.contains("no longer in the tool registry"), "{err}");
}

#[test]
fn in_the_app_t_chooses_tools_and_o_edits_a_waiting_call() {
    use crate::app::{Action, AppState, Ctx, Overlay, UserAction as U, update};
    let (keymap, config) = app();
    let ctx = Ctx { now: 10_000, keymap: &keymap, config: &config };
    let mut s = AppState::new(&ctx);
    update(&mut s, Action::User(U::FocusPane4), &ctx);
    s.tools.catalog = vec![tool("dns_lookup", false), tool("restart", true)];
    let models = vec![ModelRef::parse("local/m").unwrap()];
    update(&mut s, Action::Chat(ChatAction::Models { models, providers: 1, prices: Default::default() }), &ctx);
    let key = |s: &mut AppState, code: KeyCode, m: KeyModifiers| update(s, Action::Key(KeyEvent::new(code, m)), &ctx);
    key(&mut s, KeyCode::Esc, KeyModifiers::NONE);
    key(&mut s, KeyCode::Char('T'), KeyModifiers::SHIFT);
    assert!(matches!(&s.overlay, Some(Overlay::ChatTools(_))));
    for ch in "rest ".chars() {
        key(&mut s, KeyCode::Char(ch), KeyModifiers::NONE);
    }
    key(&mut s, KeyCode::Enter, KeyModifiers::NONE);
    assert!(s.overlay.is_none());
    assert_eq!(s.chat.conv.meta.tools, Some(vec!["dns_lookup".to_string(), "restart".to_string()]));
    // C-r: back to the default; Esc cancels what the popup changed.
    key(&mut s, KeyCode::Char('T'), KeyModifiers::SHIFT);
    key(&mut s, KeyCode::Char('r'), KeyModifiers::CONTROL);
    key(&mut s, KeyCode::Esc, KeyModifiers::NONE);
    assert_eq!(s.chat.conv.meta.tools.as_ref().map(Vec::len), Some(2), "Esc kept the choice as it was");
    key(&mut s, KeyCode::Char('T'), KeyModifiers::SHIFT);
    key(&mut s, KeyCode::Char('r'), KeyModifiers::CONTROL);
    key(&mut s, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(s.chat.conv.meta.tools, None);
    // A call waits: `o` opens its form, Esc goes back to y/N, Enter on the
    // last row runs it.
    let turn = ask_and_get_a_call(&mut s, &ctx);
    assert_eq!(s.focus, crate::app::BoxId::ChatTranscript);
    key(&mut s, KeyCode::Char('o'), KeyModifiers::NONE);
    assert!(matches!(&s.overlay, Some(Overlay::ChatTools(_))));
    assert!(s.hints.iter().any(|(_, d)| d == "back to y/N"), "{:?}", s.hints);
    key(&mut s, KeyCode::Esc, KeyModifiers::NONE);
    assert!(s.overlay.is_none());
    assert_eq!(s.chat.asked_call(), Some((1, 0)), "still waiting for y/N");
    key(&mut s, KeyCode::Char('o'), KeyModifiers::NONE);
    key(&mut s, KeyCode::Enter, KeyModifiers::NONE);
    for ch in "bc".chars() {
        key(&mut s, KeyCode::Char(ch), KeyModifiers::NONE);
    }
    key(&mut s, KeyCode::Enter, KeyModifiers::NONE);
    key(&mut s, KeyCode::Down, KeyModifiers::NONE);
    let fx = key(&mut s, KeyCode::Enter, KeyModifiers::NONE);
    assert!(s.overlay.is_none(), "ran: the form closed");
    let want = Effect::Chat(ChatEffect::RunTool {
        turn,
        call: "c0".into(),
        tool: "dns_lookup".into(),
        args: json!({"host": "abc"}),
        confirmed: true,
    });
    assert_eq!(fx, [want]);
    assert!(s.chat.conv.messages[1].tool_calls[0].model_arguments.is_some());
}

#[test]
fn defaults_the_form_only_showed_are_no_edit() {
    let mut r = Rig::new();
    r.catalog[0].schema = json!({"type":"object","required":["host"],"properties":{
        "host":{"type":"string"},
        "timeout_s":{"type":"integer","default":5},
        "retry":{"type":"object","properties":{"times":{"type":"integer","default":2}}}}});
    waiting(&mut r, "{\"host\":\"a\"}");
    let mut f = r.chat.call_form(&r.catalog).unwrap();
    assert_eq!(f.form.fields[f.form.find("timeout_s").unwrap()].text, "5", "shown with its default");
    let (_, effects, _) = r.run(|c, o| {
        assert_eq!(c.submit_call_form(&mut f, o), Submitted::Ran { edited: false });
        true
    });
    assert!(matches!(&effects[..], [ChatEffect::RunTool { args, .. }] if *args == json!({"host":"a"})), "{effects:?}");
    // A default typed over is an edit; one the model sent stays.
    let mut r = Rig::new();
    r.catalog[0].schema = json!({"type":"object","properties":{
        "host":{"type":"string"},"timeout_s":{"type":"integer","default":5}}});
    waiting(&mut r, "{\"host\":\"a\",\"timeout_s\":5}");
    let mut f = r.chat.call_form(&r.catalog).unwrap();
    let (_, effects, _) = r.run(|c, o| {
        assert_eq!(c.submit_call_form(&mut f, o), Submitted::Ran { edited: false });
        true
    });
    assert!(matches!(&effects[..], [ChatEffect::RunTool { args, .. }] if *args == json!({"host":"a","timeout_s":5})));
}
