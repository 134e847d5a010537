//! Reducer tests of the conversation search, rename, the model picker and
//! the stored input history, through `update` with the default keymap.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::app::panes::chat::{ChatAction, ChatEffect, INPUT_HISTORY, new_conversation};
use crate::app::{Action, AppState, BoxId, Ctx, Effect, Overlay, UserAction as U, update};
use crate::protocol::chat::{ChatMessage, Conversation, ConversationMeta, ModelRef, Role};

struct App {
    keymap: crate::config::keymap::Keymap,
    config: crate::config::settings::Config,
    now: crate::protocol::Ts,
}

impl App {
    fn new() -> App {
        App {
            keymap: crate::config::keymap::Keymap::fallback(),
            config: crate::config::settings::Config::default(),
            now: 50_000,
        }
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx { now: self.now, keymap: &self.keymap, config: &self.config }
    }

    /// The chat pane with two models and two saved conversations.
    fn state(&self) -> AppState {
        let mut s = AppState::new(&self.ctx());
        update(&mut s, Action::User(U::FocusPane4), &self.ctx());
        let models = vec![model("local/smollm2"), model("cloud/gpt-4o-mini")];
        let mut prices = std::collections::HashMap::new();
        prices.insert("cloud".to_string(), (Some(0.15), Some(0.6)));
        update(&mut s, Action::Chat(ChatAction::Models { models, providers: 2, prices }), &self.ctx());
        update(
            &mut s,
            Action::Chat(ChatAction::Listed(vec![meta("a", "Disk on web-1"), meta("b", "DNS")])),
            &self.ctx(),
        );
        s
    }

    fn user(&self, s: &mut AppState, a: U) -> Vec<Effect> {
        update(s, Action::User(a), &self.ctx())
    }

    fn key(&self, s: &mut AppState, code: KeyCode) -> Vec<Effect> {
        update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)), &self.ctx())
    }

    fn typed(&self, s: &mut AppState, text: &str) -> Vec<Effect> {
        text.chars().flat_map(|c| self.key(s, KeyCode::Char(c))).collect()
    }

    fn chat(&self, s: &mut AppState, a: ChatAction) -> Vec<Effect> {
        update(s, Action::Chat(a), &self.ctx())
    }
}

fn model(s: &str) -> ModelRef {
    ModelRef::parse(s).unwrap()
}

fn meta(id: &str, title: &str) -> ConversationMeta {
    let mut m = new_conversation(id.into(), 1).meta;
    m.title = title.into();
    m
}

fn searches(fx: &[Effect]) -> Vec<&str> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Chat(ChatEffect::Search { query }) => Some(query.as_str()),
            _ => None,
        })
        .collect()
}

fn hit(id: &str, index: Option<u32>, snippet: &str) -> SearchHit {
    SearchHit {
        id: id.into(),
        title: "Disk on web-1".into(),
        message_index: index,
        snippet: snippet.into(),
        highlight: 0..3,
    }
}

fn found(hits: Vec<SearchHit>) -> Result<ChatSearch, String> {
    Ok(ChatSearch { hits, cut: false, unreadable: 0 })
}

fn conversation(id: &str, n: usize) -> Conversation {
    let mut c = new_conversation(id.into(), 1);
    c.meta.title = "Disk on web-1".into();
    c.messages =
        (0..n).map(|i| ChatMessage::new(if i % 2 == 0 { Role::User } else { Role::Assistant }, "x", 2)).collect();
    c
}

#[test]
fn typing_a_search_asks_one_query_at_a_time_and_drops_stale_answers() {
    let app = App::new();
    let mut s = app.state();
    s.focus = BoxId::ChatTranscript;
    assert!(app.key(&mut s, KeyCode::Char('/')).is_empty());
    assert_eq!(s.focus, BoxId::ChatList, "the search lives in the list box");
    assert!(s.chat.search.as_ref().is_some_and(|x| x.editing));
    // The first key asks; the keys typed while it runs ask nothing more.
    assert_eq!(searches(&app.key(&mut s, KeyCode::Char('d'))), ["d"]);
    assert!(searches(&app.typed(&mut s, "is")).is_empty(), "one search in flight at a time");
    assert!(s.chat.search.as_ref().unwrap().searching());
    // The answer for "d" is stale: dropped, and the typed query is asked now.
    let fx = app.chat(&mut s, ChatAction::Found { query: "d".into(), result: found(vec![hit("b", None, "DNS")]) });
    assert_eq!(searches(&fx), ["dis"]);
    assert!(s.chat.search.as_ref().unwrap().found.hits.is_empty(), "hits of another query are not shown");
    let fx = app.chat(
        &mut s,
        ChatAction::Found {
            query: "dis".into(),
            result: found(vec![hit("a", None, "Disk"), hit("a", Some(3), "the disk")]),
        },
    );
    assert!(searches(&fx).is_empty());
    let x = s.chat.search.as_ref().unwrap();
    assert_eq!(x.found.hits.len(), 2);
    assert!(!x.searching());
    // Backspace to nothing: no hits, no search asked.
    for _ in 0..3 {
        app.key(&mut s, KeyCode::Backspace);
    }
    let fx = app.chat(&mut s, ChatAction::Found { query: "di".into(), result: found(vec![]) });
    assert!(searches(&fx).is_empty(), "a blank query is answered without the store");
    assert!(s.chat.search.as_ref().unwrap().found.hits.is_empty());
    // A failure is shown, not thrown.
    app.typed(&mut s, "x");
    app.chat(&mut s, ChatAction::Found { query: "x".into(), result: Err("searching: sled is gone".into()) });
    assert_eq!(s.chat.search.as_ref().unwrap().error.as_deref(), Some("searching: sled is gone"));
}

#[test]
fn enter_opens_the_hit_at_its_message_and_esc_restores_the_list() {
    let app = App::new();
    let mut s = app.state();
    s.focus = BoxId::ChatList;
    app.user(&mut s, U::Filter);
    app.typed(&mut s, "disk");
    let hits = vec![hit("b", None, "DNS"), hit("a", Some(3), "the disk")];
    app.chat(&mut s, ChatAction::Found { query: "disk".into(), result: found(hits) });
    // ↓ goes to the next hit while the query is still being typed.
    app.key(&mut s, KeyCode::Down);
    assert_eq!(s.chat.search.as_ref().unwrap().sel, 1);
    app.key(&mut s, KeyCode::Down);
    assert_eq!(s.chat.search.as_ref().unwrap().sel, 1, "the selection stays on the last hit");
    let fx = app.key(&mut s, KeyCode::Enter);
    assert_eq!(fx, [Effect::Chat(ChatEffect::Load("a".into()))]);
    assert!(!s.chat.search.as_ref().unwrap().editing, "the hits stay, the query is kept");
    app.chat(&mut s, ChatAction::Opened(Box::new(conversation("a", 6))));
    assert_eq!(s.chat.conv.meta.id, "a");
    assert_eq!(s.chat.sel, Some(3), "the hit's message is selected");
    assert_eq!(s.focus, BoxId::ChatTranscript);
    // Back in the list, the hits are there; Esc gives the list back.
    s.focus = BoxId::ChatList;
    app.key(&mut s, KeyCode::Esc);
    assert!(s.chat.search.is_none());
    assert_eq!(s.focus, BoxId::ChatList);
    // A hit past the end of the conversation (it shrank) selects nothing.
    s.chat.open_at = Some(("a".into(), Some(40)));
    app.chat(&mut s, ChatAction::Opened(Box::new(conversation("a", 2))));
    assert_eq!(s.chat.sel, None);
}

#[test]
fn hostile_queries_are_bounded_and_typed_keys_never_reach_the_list() {
    let app = App::new();
    let mut s = app.state();
    s.focus = BoxId::ChatList;
    app.user(&mut s, U::Filter);
    // `n` (new conversation) and `D` (delete) are typed, not run.
    let fx = app.typed(&mut s, "nD");
    assert_eq!(searches(&fx), ["n"]);
    assert!(s.chat.pending_delete.is_none());
    // A huge paste: the store gets the first QUERY_CHARS chars; odd Unicode is fine.
    let weird = "é\u{301}界\u{0}\u{200b}🙂".repeat(500);
    update(&mut s, Action::Paste(weird), &app.ctx());
    let x = s.chat.search.as_ref().unwrap();
    assert!(x.over_long());
    assert_eq!(x.query().chars().count(), QUERY_CHARS);
    assert!(!x.query().contains('\u{0}'), "a control char is never typed into the query");
    let q = x.query();
    let fx = app.chat(&mut s, ChatAction::Found { query: "n".into(), result: found(vec![]) });
    assert_eq!(searches(&fx), [q.as_str()]);
}

#[test]
fn rename_saves_a_clean_title_through_the_store_and_refuses_an_empty_one() {
    let app = App::new();
    let mut s = app.state();
    s.focus = BoxId::ChatList;
    s.chat.list_sel = 1;
    app.key(&mut s, KeyCode::Char('R'));
    let r = s.chat.rename.as_ref().expect("a prompt");
    assert_eq!((r.id.as_str(), r.input.text()), ("b", "DNS"), "prefilled with the title");
    // Clear it: an empty title is refused and the prompt stays.
    update(&mut s, Action::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)), &app.ctx());
    app.typed(&mut s, "   ");
    assert!(app.key(&mut s, KeyCode::Enter).is_empty());
    assert!(s.chat.rename.is_some());
    assert!(s.notice.as_ref().unwrap().1.contains("cannot be empty"));
    app.typed(&mut s, "  resolver flaps ");
    let fx = app.key(&mut s, KeyCode::Enter);
    assert_eq!(fx, [Effect::Chat(ChatEffect::Rename { id: "b".into(), title: "resolver flaps".into() })]);
    assert!(s.chat.rename.is_none());
    assert_eq!(s.chat.list[1].title, "resolver flaps", "the list shows it at once");
    // Esc keeps the old title.
    app.key(&mut s, KeyCode::Char('R'));
    app.typed(&mut s, "zzz");
    assert!(app.key(&mut s, KeyCode::Esc).is_empty());
    assert_eq!(s.chat.list[1].title, "resolver flaps");
    // The open conversation, from the transcript; not saved yet: local only.
    s.focus = BoxId::ChatTranscript;
    app.key(&mut s, KeyCode::Char('R'));
    assert_eq!(s.focus, BoxId::ChatList);
    app.typed(&mut s, "draft");
    assert!(app.key(&mut s, KeyCode::Enter).is_empty());
    assert_eq!(s.chat.conv.meta.title, "draft");
}

#[test]
fn a_title_is_cleaned_trimmed_and_bounded() {
    assert_eq!(clean_title("  a\u{0}b\u{1b}c\u{200b}d\te  "), "abcd e");
    assert_eq!(clean_title("\t \n"), "");
    assert_eq!(clean_title(&"界".repeat(1_000)).chars().count(), TITLE_CHARS);
    assert_eq!(clean_title(&format!("{}x", " ".repeat(100_000))), "x");
}

#[test]
fn the_model_picker_filters_chooses_and_the_choice_is_kept_with_the_conversation() {
    let app = App::new();
    let mut s = app.state();
    s.chat.conv = conversation("a", 2);
    s.focus = BoxId::ChatTranscript;
    app.key(&mut s, KeyCode::Char('M'));
    let Some(Overlay::ChatModels(p)) = &s.overlay else { panic!("the picker is open") };
    assert_eq!(p.rows.len(), 2);
    assert!(p.rows[0].head && p.rows[0].chosen, "nothing chosen: the chain head is asked first");
    assert_eq!(p.rows[1].price, (Some(0.15), Some(0.6)));
    // `j`, `k`… are typed into the filter.
    app.typed(&mut s, "gpt");
    let Some(Overlay::ChatModels(p)) = &s.overlay else { panic!("still open") };
    assert_eq!(p.shown.len(), 1);
    let fx = app.key(&mut s, KeyCode::Enter);
    assert!(s.overlay.is_none());
    assert_eq!(s.chat.chosen, Some(model("cloud/gpt-4o-mini")));
    assert_eq!(s.chat.conv.meta.model, Some(model("cloud/gpt-4o-mini")));
    assert_eq!(
        fx,
        [Effect::Chat(ChatEffect::SetModel { id: "a".into(), model: Some(model("cloud/gpt-4o-mini")) })],
        "kept in the store at once"
    );
    // A filter matching nothing: Enter chooses nothing and the popup stays.
    app.key(&mut s, KeyCode::Char('M'));
    app.typed(&mut s, "zzzz");
    assert!(app.key(&mut s, KeyCode::Enter).is_empty());
    assert!(s.overlay.is_some());
    app.key(&mut s, KeyCode::Esc);
    assert!(s.overlay.is_none());
    // `m` still cycles, and is kept with the conversation too.
    let fx = app.key(&mut s, KeyCode::Char('m'));
    assert_eq!(s.chat.chosen, Some(model("local/smollm2")));
    assert_eq!(fx, [Effect::Chat(ChatEffect::SetModel { id: "a".into(), model: Some(model("local/smollm2")) })]);
}

#[test]
fn opening_a_conversation_restores_its_model_or_says_it_is_gone() {
    let app = App::new();
    let mut s = app.state();
    let mut c = conversation("a", 2);
    c.meta.model = Some(model("cloud/gpt-4o-mini"));
    app.chat(&mut s, ChatAction::Opened(Box::new(c.clone())));
    assert_eq!(s.chat.chosen, Some(model("cloud/gpt-4o-mini")));
    assert_eq!(s.chat.model_label(), "cloud/gpt-4o-mini");
    // One without a choice asks the chain head.
    app.chat(&mut s, ChatAction::Opened(Box::new(conversation("b", 2))));
    assert_eq!(s.chat.chosen, None);
    // One whose model is no longer configured: the chain head, and a notice.
    c.meta.model = Some(model("gone/old-model"));
    app.chat(&mut s, ChatAction::Opened(Box::new(c)));
    assert_eq!(s.chat.chosen, None);
    let notice = &s.notice.as_ref().unwrap().1;
    assert!(notice.contains("gone/old-model") && notice.contains("local/smollm2"), "{notice}");
    // A new conversation starts with the model chosen now.
    s.chat.chosen = Some(model("cloud/gpt-4o-mini"));
    app.user(&mut s, U::ChatNew);
    assert_eq!(s.chat.conv.meta.model, Some(model("cloud/gpt-4o-mini")));
}

#[test]
fn sent_questions_are_remembered_and_the_stored_history_loads_under_them() {
    let app = App::new();
    let mut s = app.state();
    s.focus = BoxId::ChatInput;
    app.typed(&mut s, "why?");
    let fx = app.key(&mut s, KeyCode::Enter);
    assert!(fx.contains(&Effect::Chat(ChatEffect::Remember("why?".into()))), "{fx:?}");
    // The stored history arrives after: it goes under what was sent here, deduped.
    let stored = vec!["old".to_string(), "why?".to_string(), "older".to_string()];
    app.chat(&mut s, ChatAction::History(stored));
    assert_eq!(s.chat.history, ["old", "older", "why?"]);
    // Bounded.
    let many: Vec<String> = (0..500).map(|i| format!("q{i}")).collect();
    app.chat(&mut s, ChatAction::History(many));
    assert_eq!(s.chat.history.len(), INPUT_HISTORY);
    assert_eq!(s.chat.history.last().map(String::as_str), Some("why?"));
}
