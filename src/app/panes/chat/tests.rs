use serde_json::json;

use super::*;

#[path = "draft_tests.rs"]
mod draft_tests;
use crate::app::Effect;
use crate::protocol::chat::{ChatDelta, Finish, ToolCallState};

fn tool(name: &str, mutating: bool) -> ToolInfo {
    ToolInfo {
        name: name.into(),
        description: format!("{name} tool"),
        schema: json!({"type":"object","properties":{"host":{"type":"string"}},"required":["host"]}),
        mutating,
        source: "builtin".into(),
    }
}

struct Rig {
    chat: ChatState,
    catalog: Vec<ToolInfo>,
    read_only: bool,
    max_rounds: u32,
    now: Ts,
}

impl Rig {
    fn new() -> Rig {
        let mut chat = ChatState { providers: 1, ..Default::default() };
        chat.models = vec![ModelRef::parse("local/smollm2").unwrap()];
        Rig {
            chat,
            catalog: vec![tool("dns_lookup", false), tool("restart", true)],
            read_only: false,
            max_rounds: 8,
            now: 1_000,
        }
    }

    fn run(&mut self, f: impl FnOnce(&mut ChatState, &mut Out) -> bool) -> (bool, Vec<ChatEffect>, Option<String>) {
        let mut effects = Vec::new();
        let mut out = Out {
            effects: &mut effects,
            notice: None,
            now: self.now,
            read_only: self.read_only,
            catalog: &self.catalog,
            max_rounds: self.max_rounds,
            instance: "t1",
        };
        let changed = f(&mut self.chat, &mut out);
        let notice = out.notice.take();
        let chat = effects
            .into_iter()
            .map(|e| match e {
                Effect::Chat(c) => c,
                other => panic!("unexpected effect {other:?}"),
            })
            .collect();
        (changed, chat, notice)
    }

    fn ask(&mut self, q: &str) -> Vec<ChatEffect> {
        self.chat.input = crate::app::input::TextInput::new(q);
        self.run(|c, o| c.send(o)).1
    }

    fn turn(&self) -> u64 {
        self.chat.turn.as_ref().expect("a turn").id
    }

    fn stream(&mut self, deltas: Vec<ChatDelta>) {
        let turn = self.turn();
        let mut items = vec![ChatProgress::Trying { model: ModelRef::parse("local/smollm2").unwrap() }];
        items.extend(deltas.into_iter().map(|delta| ChatProgress::Delta { delta }));
        assert!(self.chat.progress(turn, items));
    }

    fn answer(&mut self, finish: Finish) -> Vec<ChatEffect> {
        let turn = self.turn();
        let a = Answer { model: ModelRef::parse("local/smollm2").unwrap(), finish, usage: None };
        self.run(|c, o| c.answered(turn, Ok(a), o)).1
    }
}

fn asks(effects: &[ChatEffect]) -> Vec<&Vec<ChatMessage>> {
    effects
        .iter()
        .filter_map(|e| if let ChatEffect::Ask { messages, .. } = e { Some(messages) } else { None })
        .collect()
}

fn call(index: usize, id: &str, name: &str, args: &str) -> Vec<ChatDelta> {
    vec![
        ChatDelta::ToolCallStart { index, id: id.into(), name: name.into() },
        ChatDelta::ToolCallArgs { index, fragment: args.into() },
    ]
}

#[test]
fn without_a_provider_a_question_says_how_to_add_one_and_asks_nothing() {
    let mut r = Rig::new();
    r.chat.providers = 0;
    let effects = r.ask("why is the disk full?");
    assert!(effects.is_empty());
    assert!(r.chat.problem.as_deref().unwrap().contains("[[provider]]"));
    assert_eq!(r.chat.input.text(), "why is the disk full?", "the question is kept");
}

#[test]
fn a_question_is_saved_asked_and_streamed_into_the_answer() {
    let mut r = Rig::new();
    let effects = r.ask("  \nWhy is /var full?\nsecond line");
    assert_eq!(r.chat.input.text(), "", "the input is cleared");
    assert_eq!(r.chat.conv.meta.title, "Why is /var full?");
    assert!(r.chat.conv.meta.id.starts_with("0000000001000-t1-"));
    let asked = asks(&effects);
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].iter().map(|m| m.role).collect::<Vec<_>>(), [Role::User], "the empty answer is not sent");
    assert!(effects.iter().any(|e| matches!(e, ChatEffect::Save(c) if c.messages.len() == 2)), "saved at once");
    // Only read-only tools are offered by default.
    let offered: Vec<_> = effects
        .iter()
        .filter_map(|e| if let ChatEffect::Ask { tools, .. } = e { Some(tools) } else { None })
        .flatten()
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(offered, ["dns_lookup", "propose_workflow"], "and the built-in that drafts workflows");

    r.stream(vec![ChatDelta::Text { text: "Logs ".into() }, ChatDelta::Text { text: "rotate.".into() }]);
    // A piece of another (stopped) turn is dropped.
    assert!(!r.chat.progress(99, vec![ChatProgress::Delta { delta: ChatDelta::Text { text: "late".into() } }]));
    let effects = r.answer(Finish::Stop);
    let m = r.chat.conv.messages.last().unwrap();
    assert_eq!(m.content, "Logs rotate.");
    assert_eq!(m.model.as_ref().unwrap().to_string(), "local/smollm2");
    let u = m.usage.unwrap();
    assert!(u.estimated && u.output == 3, "no usage from the server: estimated at 4 bytes per token: {u:?}");
    assert!(r.chat.turn.is_none());
    assert!(matches!(&effects[..], [ChatEffect::Save(c)] if c.meta.messages == 2));
    assert_eq!(r.chat.history, ["  \nWhy is /var full?\nsecond line"]);
}

#[test]
fn a_tool_call_waits_for_consent_runs_and_its_result_goes_back_in_order() {
    let mut r = Rig::new();
    r.ask("resolve example.com");
    let mut deltas = call(0, "call_a", "dns_lookup", "{\"host\":");
    deltas.push(ChatDelta::ToolCallArgs { index: 0, fragment: "\"example.com\"}".into() });
    r.stream(deltas);
    let effects = r.answer(Finish::ToolCalls);
    assert!(!effects.iter().any(|e| matches!(e, ChatEffect::RunTool { .. })), "nothing runs before consent");
    assert_eq!(r.chat.asked_call(), Some((1, 0)));
    let (_, effects, _) = r.run(|c, o| c.consent(true, o));
    let turn = r.turn();
    assert_eq!(
        effects,
        [ChatEffect::RunTool {
            turn,
            call: "call_a".into(),
            tool: "dns_lookup".into(),
            args: json!({"host":"example.com"}),
            confirmed: true
        }]
    );
    let (_, effects, _) = r.run(|c, o| c.tool_done(turn, "call_a", Ok("{\"a\":[\"93.184.215.14\"]}".into()), o));
    let asked = asks(&effects);
    assert_eq!(asked.len(), 1, "the next round is asked: {effects:?}");
    let roles: Vec<_> = asked[0].iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool]);
    assert_eq!(asked[0][2].tool_call_id.as_deref(), Some("call_a"));
    assert_eq!(r.chat.turn.as_ref().unwrap().rounds, 1);
}

#[test]
fn unknown_tools_bad_arguments_and_mutating_tools_under_read_only_are_refused_with_why() {
    let mut r = Rig::new();
    r.read_only = true;
    r.chat.conv.meta.tools = Some(vec!["dns_lookup".into(), "restart".into()]);
    r.ask("do things");
    let mut d = call(0, "c0", "rm_rf", "{}");
    d.extend(call(1, "c1", "dns_lookup", "{not json"));
    d.extend(call(2, "c2", "dns_lookup", "{\"hots\":\"x\"}"));
    d.extend(call(3, "c3", "restart", "{\"host\":\"web1\"}"));
    r.stream(d);
    let effects = r.answer(Finish::ToolCalls);
    let reasons: Vec<String> = r.chat.conv.messages[1]
        .tool_calls
        .iter()
        .map(|c| match &c.state {
            ToolCallState::Refused { reason } => reason.clone(),
            s => panic!("{s:?}"),
        })
        .collect();
    assert!(reasons[0].contains("unknown tool \"rm_rf\"") && reasons[0].contains("dns_lookup"), "{reasons:?}");
    assert!(reasons[1].contains("not valid JSON"), "{reasons:?}");
    assert!(reasons[2].contains("hots") && reasons[2].contains("did you mean `host`"), "{reasons:?}");
    assert!(reasons[3].contains("--read-only"), "{reasons:?}");
    // Every call settled: the refusals go back to the model at once.
    let asked = asks(&effects);
    assert_eq!(asked.len(), 1);
    let tool_msgs: Vec<_> = asked[0].iter().filter(|m| m.role == Role::Tool).collect();
    assert_eq!(tool_msgs.len(), 4);
    assert!(tool_msgs.iter().all(|m| m.content.starts_with("not run: ")));
}

#[test]
fn auto_allow_runs_read_only_calls_without_asking_but_never_mutating_ones() {
    let mut r = Rig::new();
    r.chat.conv.meta.tools = Some(vec!["dns_lookup".into(), "restart".into()]);
    r.chat.conv.meta.auto_allow_read_only = true;
    r.ask("check and restart");
    let mut d = call(0, "c0", "dns_lookup", "{\"host\":\"a\"}");
    d.extend(call(1, "c1", "restart", "{\"host\":\"a\"}"));
    r.stream(d);
    let effects = r.answer(Finish::ToolCalls);
    let runs: Vec<_> = effects
        .iter()
        .filter_map(|e| {
            if let ChatEffect::RunTool { tool, confirmed, .. } = e { Some((tool.as_str(), *confirmed)) } else { None }
        })
        .collect();
    assert_eq!(runs, [("dns_lookup", false)]);
    assert_eq!(r.chat.asked_call(), Some((1, 1)), "the mutating call asks");
    let (_, effects, _) = r.run(|c, o| c.consent(false, o));
    assert!(asks(&effects).is_empty(), "the read-only call still runs");
    let turn = r.turn();
    let (_, effects, _) = r.run(|c, o| c.tool_done(turn, "c0", Err("timed out".into()), o));
    let asked = asks(&effects);
    let tools: Vec<_> = asked[0].iter().filter(|m| m.role == Role::Tool).map(|m| m.content.as_str()).collect();
    assert_eq!(tools, ["error: timed out", "not run: the user refused to run it"]);
}

#[test]
fn the_round_limit_stops_the_loop_and_says_so() {
    let mut r = Rig::new();
    r.max_rounds = 1;
    r.ask("loop");
    r.stream(call(0, "c0", "dns_lookup", "{\"host\":\"a\"}"));
    let (_, effects, notice) = {
        let turn = r.turn();
        let a = Answer { model: ModelRef::parse("local/smollm2").unwrap(), finish: Finish::ToolCalls, usage: None };
        r.run(|c, o| c.answered(turn, Ok(a), o))
    };
    assert!(asks(&effects).is_empty());
    assert!(notice.unwrap().contains("max_tool_rounds"));
    assert!(r.chat.turn.is_none());
}

#[test]
fn stop_keeps_what_arrived_and_continue_asks_for_the_rest() {
    let mut r = Rig::new();
    r.ask("explain");
    r.stream(vec![ChatDelta::Text { text: "First,".into() }]);
    let turn = r.turn();
    let (_, effects, _) = r.run(|c, o| c.stop(o));
    assert!(effects.contains(&ChatEffect::Stop { turn }));
    assert_eq!(r.chat.conv.messages[1].finish, Some(Finish::Cancelled));
    assert_eq!(r.chat.conv.messages[1].content, "First,");
    // A late Answered of the stopped turn changes nothing.
    let a = Answer { model: ModelRef::parse("local/smollm2").unwrap(), finish: Finish::Stop, usage: None };
    assert!(!r.run(|c, o| c.answered(turn, Ok(a), o)).0);
    assert!(r.chat.can_continue());
    let effects = r.run(|c, o| c.continue_answer(o)).1;
    let asked = asks(&effects);
    assert_eq!(asked[0].len(), 3, "question, cut answer, the request to go on");
    assert!(r.turn() > turn);
}

#[test]
fn stopping_while_tools_wait_settles_every_call_so_the_record_stays_valid() {
    let mut r = Rig::new();
    r.ask("resolve");
    r.stream(call(0, "c0", "dns_lookup", "{\"host\":\"a\"}"));
    r.answer(Finish::ToolCalls);
    let (_, effects, _) = r.run(|c, o| c.stop(o));
    assert!(!effects.iter().any(|e| matches!(e, ChatEffect::Stop { .. })), "no request is in flight");
    let roles: Vec<_> = r.chat.conv.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool]);
    assert!(r.chat.turn.is_none());
}

#[test]
fn regenerate_and_edit_last_rewind_to_the_last_question() {
    let mut r = Rig::new();
    r.ask("one");
    r.stream(vec![ChatDelta::Text { text: "a".into() }]);
    r.answer(Finish::Stop);
    let effects = r.run(|c, o| c.regenerate(o)).1;
    assert_eq!(asks(&effects)[0].len(), 1, "the old answer is not sent again");
    r.stream(vec![ChatDelta::Text { text: "b".into() }]);
    r.answer(Finish::Stop);
    assert_eq!(r.chat.conv.messages.len(), 2);
    assert!(r.run(|c, o| c.edit_last(o)).0);
    assert_eq!(r.chat.input.text(), "one");
    // Until the edit is sent the conversation keeps the question and its answer.
    assert_eq!(r.chat.conv.messages.len(), 2);
    let effects = r.ask("one, better");
    let asked = asks(&effects);
    assert_eq!(asked[0].len(), 1, "the edited question replaces the old one and its answer");
    assert_eq!(asked[0][0].content, "one, better");
    assert_eq!(r.chat.editing, None);
}

#[test]
fn an_edit_left_unsent_loses_nothing() {
    use crate::app::{Action, Ctx, UserAction as U, update};
    let (keymap, config) = app();
    let ctx = Ctx { now: 10_000, keymap: &keymap, config: &config };
    let mut s = chat_pane_with_a_model(&ctx);
    s.chat.input = crate::app::input::TextInput::new("why is /var full?");
    update(&mut s, Action::User(U::ChatSend), &ctx);
    let turn = s.chat.turn.as_ref().unwrap().id;
    let items = vec![ChatProgress::Delta { delta: ChatDelta::Text { text: "journald".into() } }];
    update(&mut s, Action::Chat(ChatAction::Progress { turn, items }), &ctx);
    let a = Answer { model: ModelRef::parse("local/m").unwrap(), finish: Finish::Stop, usage: None };
    let effects = update(&mut s, Action::Chat(ChatAction::Answered { turn, result: Ok(a) }), &ctx);
    assert!(effects.iter().any(|e| matches!(e, Effect::Chat(ChatEffect::Save(_)))));
    update(&mut s, Action::User(U::ChatEditLast), &ctx);
    assert_eq!(s.chat.input.text(), "why is /var full?");
    // Ctrl-C clears the draft, which ends the edit: nothing was removed, nothing saved.
    let effects = update(&mut s, Action::User(U::ChatInterrupt), &ctx);
    assert!(!effects.iter().any(|e| matches!(e, Effect::Chat(ChatEffect::Save(_)))), "{effects:?}");
    assert_eq!(s.chat.conv.messages.len(), 2);
    assert_eq!(s.chat.editing, None);
    // A new question now goes after them.
    s.chat.input = crate::app::input::TextInput::new("and /tmp?");
    let effects = update(&mut s, Action::User(U::ChatSend), &ctx);
    let asked = effects.iter().find_map(|e| match e {
        Effect::Chat(ChatEffect::Ask { messages, .. }) => Some(messages.len()),
        _ => None,
    });
    assert_eq!(asked, Some(3));
}

#[test]
fn quitting_while_an_answer_streams_stops_and_saves_what_arrived() {
    use crate::app::{Action, Ctx, UserAction as U, update};
    let (keymap, config) = app();
    let ctx = Ctx { now: 10_000, keymap: &keymap, config: &config };
    let mut s = chat_pane_with_a_model(&ctx);
    s.chat.input = crate::app::input::TextInput::new("list disk commands");
    update(&mut s, Action::User(U::ChatSend), &ctx);
    let turn = s.chat.turn.as_ref().unwrap().id;
    let items = vec![ChatProgress::Delta { delta: ChatDelta::Text { text: "1. df -h".into() } }];
    update(&mut s, Action::Chat(ChatAction::Progress { turn, items }), &ctx);
    let effects = update(&mut s, Action::User(U::Quit), &ctx);
    let saved = effects.iter().position(|e| {
        matches!(e, Effect::Chat(ChatEffect::Save(c))
            if c.messages[1].content == "1. df -h" && c.messages[1].finish == Some(Finish::Cancelled))
    });
    let stopped = effects.iter().position(|e| matches!(e, Effect::Chat(ChatEffect::Stop { .. })));
    let quit = effects.iter().position(|e| *e == Effect::Quit);
    assert!(saved.is_some() && stopped.is_some(), "{effects:?}");
    assert!(saved < quit && stopped < quit, "saved before the quit: {effects:?}");
}

#[test]
fn continue_on_an_answer_where_nothing_arrived_asks_again() {
    let mut r = Rig::new();
    r.ask("explain");
    let (_, _, _) = r.run(|c, o| c.stop(o));
    assert!(r.chat.can_continue());
    let (changed, effects, notice) = r.run(|c, o| c.continue_answer(o));
    assert!(changed);
    assert_eq!(notice.as_deref(), Some("nothing had arrived to continue from: asked again"));
    assert_eq!(asks(&effects)[0].len(), 1, "only the question, not an empty answer nor a request to go on");
}

#[test]
fn a_failed_answer_names_no_model_and_a_cut_one_offers_no_draft() {
    let mut r = Rig::new();
    r.ask("hello");
    let turn = r.turn();
    r.stream(vec![]);
    r.run(|c, o| c.answered(turn, Err("no model answered: local/smollm2 — 400".into()), o));
    assert_eq!(r.chat.conv.messages[1].model, None, "nobody answered");
    // A workflow in a cut answer is not checked as a draft.
    r.ask("write a workflow");
    r.stream(vec![ChatDelta::Text {
        text: "```toml\nname = \"disk\"\n[[step]]\nid = \"a\"\nrun = \"df -h\"\n```\n".into(),
    }]);
    let effects = r.answer(Finish::Length);
    assert!(!effects.iter().any(|e| matches!(e, ChatEffect::Draft(_))), "{effects:?}");
    // The same block in a whole answer is.
    r.run(|c, o| c.regenerate(o));
    r.stream(vec![ChatDelta::Text {
        text: "```toml\nname = \"disk\"\n[[step]]\nid = \"a\"\nrun = \"df -h\"\n```\n".into(),
    }]);
    let effects = r.answer(Finish::Stop);
    assert!(effects.iter().any(|e| matches!(e, ChatEffect::Draft(_))), "{effects:?}");
}

#[test]
fn a_failed_ask_keeps_the_question_and_says_why() {
    let mut r = Rig::new();
    r.ask("hello");
    let turn = r.turn();
    let (_, effects, _) = r.run(|c, o| c.answered(turn, Err("local/smollm2: connection refused".into()), o));
    assert!(matches!(&r.chat.conv.messages[1].finish, Some(Finish::Cut { error }) if error.contains("refused")));
    assert!(matches!(&effects[..], [ChatEffect::Save(_)]));
    assert!(r.chat.turn.is_none());
}

#[test]
fn the_model_choice_cycles_through_the_offered_models() {
    let mut r = Rig::new();
    r.chat.models.push(ModelRef::parse("cloud/gpt").unwrap());
    assert_eq!(r.chat.model_next().unwrap().to_string(), "cloud/gpt");
    assert_eq!(r.chat.model_next().unwrap().to_string(), "local/smollm2");
    assert_eq!(r.chat.model_label(), "local/smollm2");
}

#[test]
fn calls_of_an_answer_cut_short_never_run_nor_ask() {
    let mut r = Rig::new();
    r.ask("resolve");
    r.stream(call(0, "c0", "dns_lookup", "{\"host\":\"exa"));
    let effects = r.answer(Finish::Length);
    assert!(r.chat.asked_call().is_none() && r.chat.turn.is_none());
    assert!(!effects.iter().any(|e| matches!(e, ChatEffect::RunTool { .. } | ChatEffect::Ask { .. })));
    assert!(
        matches!(&r.chat.conv.messages[1].tool_calls[0].state, ToolCallState::Refused { reason } if reason.contains("before the call was complete"))
    );
    let roles: Vec<_> = r.chat.conv.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::Tool], "every call answered");
}

#[test]
fn a_local_server_found_is_offered_and_added_unless_read_only() {
    use crate::app::{Action, AppState, Ctx, UserAction, update};
    use crate::config::keymap::Keymap;
    let (keymap, config) = (Keymap::fallback(), crate::config::settings::Config::default());
    let ctx = Ctx { now: 1, keymap: &keymap, config: &config };
    let mut s = AppState::new(&ctx);
    update(&mut s, Action::User(UserAction::FocusPane4), &ctx);
    let fx = update(&mut s, Action::User(UserAction::ChatDiscover), &ctx);
    assert_eq!(fx, [Effect::Chat(ChatEffect::Discover)]);
    assert!(s.chat.looking);
    // Nothing found yet: nothing to add.
    assert!(update(&mut s, Action::User(UserAction::ChatAddFound), &ctx).is_empty());
    let found =
        LocalServer { name: "ollama".into(), base_url: "http://127.0.0.1:11434/v1".into(), models: vec!["m".into()] };
    update(&mut s, Action::Chat(ChatAction::Discovered(vec![found.clone()])), &ctx);
    assert!(!s.chat.looking);
    s.read_only = true;
    assert!(update(&mut s, Action::User(UserAction::ChatAddFound), &ctx).is_empty(), "read-only writes no config");
    s.read_only = false;
    let fx = update(&mut s, Action::User(UserAction::ChatAddFound), &ctx);
    assert_eq!(fx, [Effect::Chat(ChatEffect::AddProvider(found))]);
}

/// "resolve it" sent and answered (by `local/m`) with a `dns_lookup` call
/// that now waits for consent.
fn ask_and_get_a_call(s: &mut crate::app::AppState, ctx: &crate::app::Ctx) -> u64 {
    use crate::app::{Action, UserAction as U, update};
    s.chat.input = crate::app::input::TextInput::new("resolve it");
    update(s, Action::User(U::ChatSend), ctx);
    let turn = s.chat.turn.as_ref().unwrap().id;
    let items = call(0, "c0", "dns_lookup", "{\"host\":\"a\"}")
        .into_iter()
        .map(|delta| ChatProgress::Delta { delta })
        .collect();
    update(s, Action::Chat(ChatAction::Progress { turn, items }), ctx);
    let a = Answer { model: ModelRef::parse("local/m").unwrap(), finish: Finish::ToolCalls, usage: None };
    update(s, Action::Chat(ChatAction::Answered { turn, result: Ok(a) }), ctx);
    turn
}

/// The app on the chat pane with one provider's model `local/m` offered.
fn chat_pane_with_a_model(ctx: &crate::app::Ctx) -> crate::app::AppState {
    use crate::app::{Action, AppState, UserAction as U, update};
    let mut s = AppState::new(ctx);
    update(&mut s, Action::User(U::FocusPane4), ctx);
    let models = vec![ModelRef::parse("local/m").unwrap()];
    update(&mut s, Action::Chat(ChatAction::Models { models, providers: 1, prices: Default::default() }), ctx);
    s
}

fn app() -> (crate::config::keymap::Keymap, crate::config::settings::Config) {
    (crate::config::keymap::Keymap::fallback(), crate::config::settings::Config::default())
}

#[test]
fn drafts_survive_recall_and_a_first_ctrl_c_and_a_delete_is_armed_for_one_key_only() {
    use crate::app::{Action, AppState, BoxId, Ctx, UserAction as U, update};
    let (keymap, config) = app();
    let ctx = Ctx { now: 10_000, keymap: &keymap, config: &config };
    let mut s = AppState::new(&ctx);
    update(&mut s, Action::User(U::FocusPane4), &ctx);
    s.chat.history = vec!["old question".into()];
    s.chat.input = crate::app::input::TextInput::new("my draft");
    update(&mut s, Action::User(U::ChatHistoryPrev), &ctx);
    assert_eq!(s.chat.input.text(), "old question");
    update(&mut s, Action::User(U::ChatHistoryNext), &ctx);
    assert_eq!(s.chat.input.text(), "my draft", "past the newest entry the draft comes back");
    // `s` with nothing streaming never quits nor clears: it says so.
    assert_eq!(s.focus, BoxId::ChatInput);
    assert!(update(&mut s, Action::User(U::ChatStop), &ctx).is_empty());
    assert_eq!(s.chat.input.text(), "my draft");
    assert_eq!(s.notice.as_ref().map(|n| n.1.as_str()), Some("nothing is being answered: nothing to stop"));
    // C-c with a draft and nothing streaming clears it; only the next one quits.
    assert!(update(&mut s, Action::User(U::ChatInterrupt), &ctx).is_empty());
    assert_eq!(s.chat.input.text(), "");
    assert_eq!(update(&mut s, Action::User(U::ChatInterrupt), &ctx), [Effect::Quit]);
    // Delete: armed by one press, disarmed by any other action.
    let meta = |id: &str| new_conversation(id.into(), 1).meta;
    update(&mut s, Action::Chat(ChatAction::Listed(vec![meta("a"), meta("b")])), &ctx);
    s.focus = BoxId::ChatList;
    assert!(update(&mut s, Action::User(U::DeleteEntry), &ctx).is_empty(), "the first press only asks");
    update(&mut s, Action::User(U::Close), &ctx);
    s.focus = BoxId::ChatList;
    assert!(update(&mut s, Action::User(U::DeleteEntry), &ctx).is_empty(), "Esc disarmed it: asks again");
    let fx = update(&mut s, Action::User(U::DeleteEntry), &ctx);
    assert_eq!(fx, [Effect::Chat(ChatEffect::Delete("a".into()))]);
}

#[test]
fn a_call_asking_for_consent_leaves_the_focus_in_the_input() {
    use crate::app::{Action, BoxId, Ctx, update};
    let (keymap, config) = app();
    let ctx = Ctx { now: 10_000, keymap: &keymap, config: &config };
    let mut s = chat_pane_with_a_model(&ctx);
    s.tools.catalog = vec![tool("dns_lookup", false)];
    ask_and_get_a_call(&mut s, &ctx);
    assert!(s.chat.asked_call().is_some());
    assert_eq!(s.focus, BoxId::ChatInput, "a `y` being typed is never taken as consent");
    assert!(s.notice.as_ref().unwrap().1.contains("waits for your answer"));
    // Typed `y` stays text.
    update(
        &mut s,
        Action::Key(ratatui::crossterm::event::KeyEvent::from(ratatui::crossterm::event::KeyCode::Char('y'))),
        &ctx,
    );
    assert_eq!(s.chat.input.text(), "y");
    assert!(s.chat.asked_call().is_some());
}

mod tools;
