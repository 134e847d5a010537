//! Snapshots of the chat pane on `TestBackend`: what it says with no
//! provider, and a conversation with a Markdown answer, a skipped fallback
//! entry and a tool call waiting for consent, at 80x24 and 200x50; the
//! tool-choice popup (and under `--read-only`, filtered), the argument form
//! opened from a waiting call, and an edited call in the transcript.

mod support;

use support::{draw, key};

use std::collections::HashMap;

use opsdeck::app::panes::chat::ChatAction;
use opsdeck::app::{Action, AppState, BoxId, UserAction, update};
use opsdeck::protocol::chat::{Answer, ChatDelta, ChatProgress, ConversationMeta, Finish, ModelRef, Skipped, Usage};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use support::{NOW, Seed};

fn chat(seed: &Seed, s: &mut AppState, a: ChatAction) {
    update(s, Action::Chat(a), &seed.ctx());
}

fn model(s: &str) -> ModelRef {
    ModelRef::parse(s).expect("provider/model")
}

fn chat_state(seed: &Seed, providers: usize) -> AppState {
    let mut s = seed.state();
    update(&mut s, Action::User(UserAction::FocusPane4), &seed.ctx());
    let models = if providers > 0 { vec![model("local/smollm2"), model("cloud/gpt-4o-mini")] } else { vec![] };
    chat(seed, &mut s, ChatAction::Models { models, providers, prices: HashMap::new() });
    s
}

fn meta(id: &str, title: &str, ago_min: i64) -> ConversationMeta {
    ConversationMeta {
        id: id.into(),
        title: title.into(),
        created: NOW - ago_min * 60_000,
        updated: NOW - ago_min * 60_000,
        messages: 4,
        usage: Usage::default(),
        tools: None,
        auto_allow_read_only: false,
        model: None,
    }
}

const ANSWER: &str = "## Why `/var` fills up\n\nMost often **journald** or rotated logs:\n\n\
1. Check the biggest directories:\n\n```sh\ndu -xh /var | sort -h | tail\n```\n\
2. Vacuum the journal: `journalctl --vacuum-size=500M`\n\n> Ask before deleting anything.\n";

/// A conversation: a question, an answer after one skipped entry, then a
/// second question whose answer asks for a tool.
fn conversation(seed: &Seed) -> AppState {
    let mut s = chat_state(seed, 2);
    chat(
        seed,
        &mut s,
        ChatAction::Listed(vec![meta("a", "Why is /var full on web-1?", 0), meta("b", "Postgres replication lag", 90)]),
    );
    s.tools.catalog = vec![opsdeck::protocol::tools::ToolInfo {
        name: "disk_usage".into(),
        description: "Disk usage of a path".into(),
        schema: serde_json::json!({"type":"object","properties":{"path":{"type":"string"}}}),
        mutating: false,
        source: "builtin".into(),
    }];
    for c in "Why is /var full on web-1?".chars() {
        key(seed, &mut s, KeyCode::Char(c));
    }
    key(seed, &mut s, KeyCode::Enter);
    let turn = s.chat.turn.as_ref().expect("asked").id;
    let skipped =
        Skipped { model: model("cloud/gpt-4o-mini"), reason: "429 Too Many Requests (retry-after: 20)".into() };
    let mut items = vec![ChatProgress::Skipped { skipped }, ChatProgress::Trying { model: model("local/smollm2") }];
    items
        .extend(ANSWER.split_inclusive(' ').map(|w| ChatProgress::Delta { delta: ChatDelta::Text { text: w.into() } }));
    chat(seed, &mut s, ChatAction::Progress { turn, items });
    let usage = Some(Usage { input: 412, output: 96, estimated: false });
    let answer = Answer { model: model("local/smollm2"), finish: Finish::Stop, usage };
    chat(seed, &mut s, ChatAction::Answered { turn, result: Ok(answer) });
    for c in "How big is it now?".chars() {
        key(seed, &mut s, KeyCode::Char(c));
    }
    key(seed, &mut s, KeyCode::Enter);
    let turn = s.chat.turn.as_ref().expect("asked").id;
    let items = vec![
        ChatProgress::Trying { model: model("local/smollm2") },
        ChatProgress::Delta {
            delta: ChatDelta::ToolCallStart { index: 0, id: "call_1".into(), name: "disk_usage".into() },
        },
        ChatProgress::Delta { delta: ChatDelta::ToolCallArgs { index: 0, fragment: "{\"path\":\"/var\"}".into() } },
    ];
    chat(seed, &mut s, ChatAction::Progress { turn, items });
    let answer = Answer { model: model("local/smollm2"), finish: Finish::ToolCalls, usage: None };
    chat(seed, &mut s, ChatAction::Answered { turn, result: Ok(answer) });
    s
}

#[test]
fn no_provider_says_how_to_add_one_80x24() {
    let seed = Seed::new();
    let s = chat_state(&seed, 0);
    assert_eq!(s.focus, BoxId::ChatInput);
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

#[test]
fn conversation_with_a_tool_call_waiting_200x50() {
    let seed = Seed::new();
    let s = conversation(&seed);
    assert!(s.chat.asked_call().is_some());
    insta::assert_snapshot!(draw(&s, 200, 50).backend());
}

#[test]
fn conversation_with_a_tool_call_waiting_80x24() {
    let seed = Seed::new();
    let s = conversation(&seed);
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

/// The alerts pane's selected alert and the metrics pane's snapshot,
/// attached with `attach_to_chat`, then the chat pane with a question typed.
fn with_two_attachments(seed: &Seed) -> AppState {
    let mut s = seed.alerts_state();
    update(&mut s, Action::User(UserAction::AttachToChat), &seed.ctx());
    update(&mut s, Action::User(UserAction::FocusPane1), &seed.ctx());
    update(&mut s, Action::User(UserAction::AttachToChat), &seed.ctx());
    update(&mut s, Action::User(UserAction::FocusPane4), &seed.ctx());
    let models = vec![model("local/smollm2")];
    chat(seed, &mut s, ChatAction::Models { models, providers: 1, prices: HashMap::new() });
    assert_eq!(s.chat.attach.items.len(), 2);
    for c in "why is it filling?".chars() {
        key(seed, &mut s, KeyCode::Char(c));
    }
    s
}

/// Issue 13: an alert and a metrics snapshot attached from their panes wait
/// above the input (kind glyph, title, size), with a question being typed.
#[test]
fn input_with_two_attachments_80x24() {
    let seed = Seed::new();
    let s = with_two_attachments(&seed);
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

/// Sent, the attachments go with the question and show under it folded to
/// their title lines; none wait above the input any more.
#[test]
fn sent_question_lists_its_attachments_80x24() {
    let seed = Seed::new();
    let mut s = with_two_attachments(&seed);
    key(&seed, &mut s, KeyCode::Enter);
    assert!(s.chat.attach.items.is_empty());
    assert_eq!(s.chat.conv.messages[0].attachments.len(), 2);
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}
/// The registry the tool-choice snapshots show: built-ins and an MCP
/// server's tools, read-only and mutating.
fn registry() -> Vec<opsdeck::protocol::tools::ToolInfo> {
    let tool = |name: &str, source: &str, mutating: bool, description: &str| opsdeck::protocol::tools::ToolInfo {
        name: name.into(),
        description: description.into(),
        schema: serde_json::json!({"type":"object","required":["path"],"properties":{
            "path":{"type":"string","description":"a directory"},
            "depth":{"type":"integer","minimum":1,"default":1},
            "human":{"type":"boolean","default":true}}}),
        mutating,
        source: source.into(),
    };
    vec![
        tool("disk_usage", "builtin", false, "Disk usage of a path\nmore"),
        tool("dns_lookup", "builtin", false, "Resolve a host name"),
        tool("http_request", "builtin", true, "Send an HTTP request (any method)"),
        tool("read_text_file", "filesystem", false, "Read a text file"),
        tool("write_file", "filesystem", true, "Create or overwrite a file"),
        tool("systemctl_restart", "builtin", true, "Restart a systemd unit"),
    ]
}

#[test]
fn tool_choice_popup_80x24() {
    let seed = Seed::new();
    let mut s = conversation(&seed);
    s.tools.catalog = registry();
    key(&seed, &mut s, KeyCode::Esc);
    s.chat.conv.meta.tools = Some(vec!["disk_usage".into(), "systemctl_restart".into(), "gone_tool".into()]);
    update(&mut s, Action::User(UserAction::ChatTools), &seed.ctx());
    key(&seed, &mut s, KeyCode::Down);
    s.notice = None;
    s.refresh_hints(seed.ctx().keymap);
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

#[test]
fn tool_choice_popup_read_only_filtered_80x24() {
    let seed = Seed::new();
    let mut s = conversation(&seed);
    s.tools.catalog = registry();
    s.read_only = true;
    key(&seed, &mut s, KeyCode::Esc);
    update(&mut s, Action::User(UserAction::ChatTools), &seed.ctx());
    for c in "file".chars() {
        key(&seed, &mut s, KeyCode::Char(c));
    }
    key(&seed, &mut s, KeyCode::Down);
    key(&seed, &mut s, KeyCode::Char(' '));
    s.notice = None;
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

#[test]
fn call_arguments_form_80x24() {
    let seed = Seed::new();
    let mut s = conversation(&seed);
    // The waiting call's tool, with a schema of three arguments.
    let mut tool = registry().remove(0);
    tool.schema = serde_json::json!({"type":"object","properties":{
        "path":{"type":"string","description":"a directory"},
        "depth":{"type":"integer","minimum":1,"default":1},
        "human":{"type":"boolean","default":true}}});
    s.tools.catalog = vec![tool];
    key(&seed, &mut s, KeyCode::Esc);
    update(&mut s, Action::User(UserAction::ChatEditCall), &seed.ctx());
    key(&seed, &mut s, KeyCode::Down);
    s.notice = None;
    s.refresh_hints(seed.ctx().keymap);
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

#[test]
fn an_edited_call_in_the_transcript_80x24() {
    let seed = Seed::new();
    let mut s = conversation(&seed);
    key(&seed, &mut s, KeyCode::Esc);
    update(&mut s, Action::User(UserAction::ChatEditCall), &seed.ctx());
    key(&seed, &mut s, KeyCode::Enter);
    update(&mut s, Action::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)), &seed.ctx());
    update(&mut s, Action::Paste("/srv".into()), &seed.ctx());
    key(&seed, &mut s, KeyCode::Enter);
    key(&seed, &mut s, KeyCode::Down);
    key(&seed, &mut s, KeyCode::Enter);
    assert!(s.overlay.is_none(), "ran");
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

#[test]
fn tool_popups_render_at_any_size() {
    let seed = Seed::new();
    let mut choice = conversation(&seed);
    choice.tools.catalog = registry();
    choice.chat.conv.meta.tools = Some(vec!["gone_tool".into()]);
    update(&mut choice, Action::User(UserAction::ChatTools), &seed.ctx());
    choice.overlay.as_ref().expect("the choice is open");
    let mut form = conversation(&seed);
    update(&mut form, Action::User(UserAction::ChatEditCall), &seed.ctx());
    form.overlay.as_ref().expect("the form is open");
    for s in [&choice, &form] {
        for w in [0, 1, 2, 5, 10, 19, 20, 33, 60, 80, 133, 260] {
            for h in [0, 1, 2, 3, 4, 5, 7, 9, 12, 24, 50, 90] {
                draw(s, w, h);
            }
        }
    }
}

fn hit(id: &str, title: &str, index: Option<u32>, snippet: &str, find: &str) -> opsdeck::protocol::chat::SearchHit {
    let at = snippet.find(find).expect("the match is in the snippet");
    opsdeck::protocol::chat::SearchHit {
        id: id.into(),
        title: title.into(),
        message_index: index,
        snippet: snippet.into(),
        highlight: at..at + find.len(),
    }
}

#[test]
fn search_hits_with_snippets_80x24() {
    let seed = Seed::new();
    let mut s = chat_state(&seed, 2);
    let metas = vec![meta("a", "Why is /var full on web-1?", 0), meta("b", "Postgres replication lag", 90)];
    chat(&seed, &mut s, ChatAction::Listed(metas));
    key(&seed, &mut s, KeyCode::Esc);
    key(&seed, &mut s, KeyCode::Char('/'));
    for c in "var".chars() {
        key(&seed, &mut s, KeyCode::Char(c));
    }
    let hits = vec![
        hit("a", "Why is /var full on web-1?", None, "Why is /var full on web-1?", "var"),
        hit(
            "a",
            "Why is /var full on web-1?",
            Some(2),
            "…Check the biggest directories: du -xh /var | sort -h…",
            "var",
        ),
        hit(
            "b",
            "Postgres replication lag",
            Some(5),
            "…the WAL archive under /var/lib/pgsql grew — ça déborde…",
            "var",
        ),
    ];
    // The first key's search answers first (stale: dropped, "var" is asked then).
    let none = opsdeck::protocol::chat::ChatSearch::default();
    chat(&seed, &mut s, ChatAction::Found { query: "v".into(), result: Ok(none) });
    let found = opsdeck::protocol::chat::ChatSearch { hits, cut: false, unreadable: 1 };
    chat(&seed, &mut s, ChatAction::Found { query: "var".into(), result: Ok(found) });
    key(&seed, &mut s, KeyCode::Down);
    assert_eq!(s.focus, BoxId::ChatList);
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

#[test]
fn model_picker_80x24() {
    let seed = Seed::new();
    let mut s = chat_state(&seed, 2);
    let models =
        vec![model("local/smollm2"), model("cloud/gpt-4o-mini"), model("cloud/gpt-4o"), model("claude/sonnet")];
    let mut prices = HashMap::new();
    prices.insert("cloud".to_string(), (Some(0.15), Some(0.6)));
    prices.insert("claude".to_string(), (Some(3.0), None));
    chat(&seed, &mut s, ChatAction::Models { models, providers: 3, prices });
    key(&seed, &mut s, KeyCode::Esc);
    key(&seed, &mut s, KeyCode::Char('m'));
    key(&seed, &mut s, KeyCode::Char('M'));
    key(&seed, &mut s, KeyCode::Down);
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}
