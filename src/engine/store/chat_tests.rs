//! Tests of the conversations' store (chat.rs).

use proptest::prelude::*;

use super::*;
use crate::engine::store::DEFAULT_CACHE_BYTES;
use crate::engine::store::chat_search::snippet;
use crate::protocol::chat::SearchHit;
use crate::protocol::chat::{Attachment, Finish, ModelRef, Skipped, ToolCall, ToolCallState};

fn user(text: &str, ts: Ts) -> ChatMessage {
    ChatMessage::new(Role::User, text, ts)
}

fn answer(text: &str, ts: Ts, input: u64, output: u64) -> ChatMessage {
    let mut m = ChatMessage::new(Role::Assistant, text, ts);
    m.model = Some(ModelRef { provider: "local".into(), model: "smollm2".into() });
    m.usage = Some(Usage { input, output, estimated: false });
    m.finish = Some(Finish::Stop);
    m
}

/// A conversation created at `at` with `texts` as alternating user / assistant messages.
fn talk(s: &Store, at: Ts, texts: &[&str]) -> ConversationId {
    let meta = s.create_conversation(at).unwrap();
    for (i, t) in texts.iter().enumerate() {
        let ts = at + i as Ts + 1;
        let m = if i % 2 == 0 { user(t, ts) } else { answer(t, ts, 10, 5) };
        s.append_message(&meta.id, &m, ts).unwrap().unwrap();
    }
    meta.id
}

fn message_keys(s: &Store, id: &str) -> usize {
    s.chat.scan_prefix(&messages_prefix(id)).count()
}

#[test]
fn appended_messages_load_in_order_with_title_count_and_usage() {
    let s = Store::temporary().unwrap();
    let meta = s.create_conversation(1_000).unwrap();
    assert!(is_conversation_id(&meta.id) && meta.id.starts_with("0000000001000-"), "{}", meta.id);
    assert_eq!(meta.title, "");
    assert_eq!(s.append_message(&meta.id, &user("\n  Why is /var full?\nmore", 1_001), 1_001).unwrap(), Some(0));
    assert_eq!(s.append_message(&meta.id, &answer("The journal.", 1_002, 100, 20), 1_002).unwrap(), Some(1));
    assert_eq!(s.append_message(&meta.id, &user("Thanks", 1_003), 1_003).unwrap(), Some(2));
    let conv = s.load_conversation(&meta.id).unwrap().unwrap();
    assert_eq!(conv.meta.title, "Why is /var full?", "the first user message titles it");
    assert_eq!((conv.meta.messages, conv.meta.created, conv.meta.updated), (3, 1_000, 1_003));
    assert_eq!(conv.meta.usage, Usage { input: 100, output: 20, estimated: false });
    let texts: Vec<&str> = conv.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["\n  Why is /var full?\nmore", "The journal.", "Thanks"]);
    assert_eq!(s.append_message("nope", &user("x", 1), 1).unwrap(), None);
    assert_eq!(s.load_conversation("nope").unwrap(), None);
    assert_eq!(s.load_conversation("../c/x").unwrap(), None, "not an id: nothing read");
}

#[test]
fn a_streamed_answer_replaces_its_message_and_the_usage() {
    let s = Store::temporary().unwrap();
    let id = talk(&s, 10, &["q", "partial"]);
    let mut whole = answer("partial and the rest", 50, 7, 9);
    whole.usage = Some(Usage { input: 7, output: 9, estimated: true });
    assert!(s.replace_message(&id, 1, &whole, 60).unwrap());
    assert!(!s.replace_message(&id, 2, &whole, 60).unwrap(), "no message 2");
    assert!(!s.replace_message("nope", 0, &whole, 60).unwrap());
    let conv = s.load_conversation(&id).unwrap().unwrap();
    assert_eq!(conv.messages[1], whole);
    assert_eq!(conv.meta.usage, Usage { input: 7, output: 9, estimated: true });
    assert_eq!((conv.meta.messages, conv.meta.updated), (2, 60));
}

#[test]
fn a_saved_or_truncated_conversation_drops_the_messages_past_its_end() {
    let s = Store::temporary().unwrap();
    let id = talk(&s, 10, &["a", "b", "c", "d"]);
    let mut conv = s.load_conversation(&id).unwrap().unwrap();
    conv.messages.truncate(3);
    conv.meta.messages = 99; // the store's count wins
    s.save_conversation(&conv).unwrap();
    let back = s.load_conversation(&id).unwrap().unwrap();
    assert_eq!((back.messages.len(), back.meta.messages, message_keys(&s, &id)), (3, 3, 3));
    assert_eq!(back.meta.usage.total(), 15);
    assert!(s.truncate_conversation(&id, 1, 99).unwrap());
    let back = s.load_conversation(&id).unwrap().unwrap();
    assert_eq!((back.messages.len(), back.meta.messages, back.meta.usage.total()), (1, 1, 0));
    assert_eq!(back.meta.updated, 99);
    assert_eq!(s.append_message(&id, &user("again", 100), 100).unwrap(), Some(1));
    let mut bad = back.clone();
    bad.meta.id = "a/b".into();
    assert!(matches!(s.save_conversation(&bad), Err(StoreError::BadConversationId(_))));
}

#[test]
fn the_list_is_newest_updated_first_and_rename_delete_work() {
    let s = Store::temporary().unwrap();
    let old = talk(&s, 1_000, &["first one"]);
    let new = talk(&s, 2_000, &["second one"]);
    let ids = |s: &Store| s.list_conversations().unwrap().into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(ids(&s), [new.clone(), old.clone()]);
    s.append_message(&old, &answer("later", 3_000, 1, 1), 3_000).unwrap();
    assert_eq!(ids(&s), [old.clone(), new.clone()], "a new message moves it to the top");
    assert!(s.rename_conversation(&new, "  Disk\u{1b}[2J plan\nignored").unwrap());
    assert_eq!(s.conversation_meta(&new).unwrap().unwrap().title, "Disk␛[2J plan");
    assert_eq!(ids(&s), [old.clone(), new.clone()], "a rename does not reorder");
    assert!(!s.rename_conversation("nope", "x").unwrap());
    assert!(
        s.update_conversation(&new, |m| {
            m.auto_allow_read_only = true;
            m.messages = 1_000;
            m.id = "other".into();
        })
        .unwrap()
    );
    let meta = s.conversation_meta(&new).unwrap().unwrap();
    assert!(meta.auto_allow_read_only);
    assert_eq!((meta.id.as_str(), meta.messages), (new.as_str(), 1), "id and count stay the store's");
    assert!(s.delete_conversation(&old).unwrap());
    assert!(!s.delete_conversation(&old).unwrap());
    assert_eq!(message_keys(&s, &old), 0, "the messages went too");
    assert_eq!(ids(&s), [new.as_str()]);
    assert_eq!(s.load_conversation(&new).unwrap().unwrap().messages.len(), 1, "the other is untouched");
}

#[test]
fn a_search_ranks_title_matches_first_then_messages_with_snippets() {
    let s = Store::temporary().unwrap();
    let disk = talk(&s, 1_000, &["Disk filling on db-1", "Look at the journal size first."]);
    let long = "x".repeat(200);
    let nginx = talk(
        &s,
        2_000,
        &["nginx restarts", &format!("{long} the DISK of the node is full {long}"), "and the disk again"],
    );
    let found = s.search_conversations("disk", 10).unwrap();
    assert!(!found.cut && found.unreadable == 0);
    let hits: Vec<(&str, Option<u32>)> = found.hits.iter().map(|h| (h.id.as_str(), h.message_index)).collect();
    assert_eq!(
        hits,
        [(disk.as_str(), None), (nginx.as_str(), Some(1)), (nginx.as_str(), Some(2)), (disk.as_str(), Some(0))],
        "the title first, then messages of the newest conversation"
    );
    assert_eq!(found.hits[0].title, "Disk filling on db-1");
    assert_eq!(&found.hits[0].snippet[found.hits[0].highlight.clone()], "Disk");
    let body = &found.hits[1];
    assert_eq!(body.title, "nginx restarts");
    assert_eq!(&body.snippet[body.highlight.clone()], "DISK");
    assert!(body.snippet.starts_with('…') && body.snippet.ends_with('…'), "{}", body.snippet);
    assert!(body.snippet.contains("the DISK of the node is full"));
    assert!(body.snippet.chars().count() < 80);
    // Limits.
    let two = s.search_conversations("disk", 2).unwrap();
    assert_eq!((two.hits.len(), two.cut), (2, true));
    let one = s.search_conversations("disk", 1).unwrap();
    assert_eq!((one.hits[0].message_index, one.cut), (None, true));
    let budget = s.search_within("disk", 10, 50).unwrap();
    assert!(budget.cut && budget.hits.len() == 1, "{budget:?}");
    assert!(s.search_conversations("   ", 10).unwrap().hits.is_empty());
    assert!(s.search_conversations("zzzq", 10).unwrap().hits.is_empty());
}

#[test]
fn a_search_finds_odd_unicode_and_never_panics() {
    let s = Store::temporary().unwrap();
    let texts = [
        "cafe\u{301} au lait",            // combining acute
        "שלום עולם from the RTL side",    // Hebrew
        "on fire 🔥👩‍🚒 now",               // emoji and a ZWJ sequence
        "nul\0byte and \u{202e}override", // NUL and a bidi override
        "ǅemal İstanbul \u{212A}elvin",   // titlecase, dotted I, Kelvin sign
    ];
    let id = talk(&s, 1_000, &texts);
    for (i, needle) in
        ["E\u{301} AU", "עולם", "👩‍🚒", "\0byte", "override", "ǆemal", "ISTANBUL", "kelvin", "\u{301}"].iter().enumerate()
    {
        let found = s.search_conversations(needle, 10).unwrap();
        let body: Vec<&SearchHit> = found.hits.iter().filter(|h| h.message_index.is_some()).collect();
        assert!(!body.is_empty(), "{i}: {needle:?} not found");
        for h in &body {
            assert_eq!(h.id, id);
            assert!(h.snippet.is_char_boundary(h.highlight.start) && h.snippet.is_char_boundary(h.highlight.end));
            assert!(!h.snippet.contains('\0') && !h.snippet.contains('\u{202e}'), "{:?}", h.snippet);
        }
    }
    // Odd queries and titles: no panic.
    for q in ["\u{301}", "\u{202e}", "\0", "🔥", "\u{10FFFF}", "a\u{200B}b", "ß", "\r\n"] {
        s.search_conversations(q, 5).unwrap();
    }
}

#[test]
fn retention_keeps_the_newest_updated_conversations() {
    let s = Store::temporary().unwrap();
    let ids: Vec<_> = (0..5).map(|i| talk(&s, 1_000 * (i + 1), &["q", "a"])).collect();
    s.append_message(&ids[0], &user("bump", 9_000), 9_000).unwrap();
    assert_eq!(s.prune_conversations(3).unwrap(), 2);
    let left: Vec<_> = s.list_conversations().unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(left, [ids[0].clone(), ids[4].clone(), ids[3].clone()]);
    assert_eq!(message_keys(&s, &ids[1]) + message_keys(&s, &ids[2]), 0);
    assert_eq!(s.prune_conversations(3).unwrap(), 0);
    assert_eq!(s.prune_conversations(CONVERSATIONS_KEPT).unwrap(), 0);
}

#[test]
fn an_unreadable_message_is_set_aside_and_the_rest_renumbered() {
    let s = Store::temporary().unwrap();
    let id = talk(&s, 1_000, &["a", "b", "c"]);
    s.chat.insert(&message_key(&id, 1), b"{not json").unwrap();
    let found = s.search_conversations("c", 10).unwrap();
    assert_eq!(found.unreadable, 1, "the search skips it and counts it: {found:?}");
    let conv = s.load_conversation(&id).unwrap().unwrap();
    let texts: Vec<&str> = conv.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["a", "c"]);
    assert_eq!((conv.meta.messages, message_keys(&s, &id)), (2, 2), "stored renumbered");
    assert_eq!(s.unreadable_count("chat").unwrap(), 1);
    let report = s.unreadable_report().unwrap();
    assert_eq!(report.len(), 1);
    assert!(report[0].contains("message 1 of conversation"), "{report:?}");
    assert_eq!(s.append_message(&id, &user("d", 2_000), 2_000).unwrap(), Some(2));
    assert_eq!(s.load_conversation(&id).unwrap().unwrap().messages[2].content, "d");
    // A record of a newer build is set aside too.
    s.chat.insert(&message_key(&id, 0), br#"{"version":9,"role":"user"}"#).unwrap();
    assert_eq!(s.load_conversation(&id).unwrap().unwrap().messages.len(), 2);
    assert!(s.unreadable_report().unwrap()[0].contains("newer opsdeck"));
}

#[test]
fn an_unreadable_conversation_is_set_aside_with_its_messages() {
    let s = Store::temporary().unwrap();
    let bad = talk(&s, 1_000, &["a", "b"]);
    let good = talk(&s, 2_000, &["c"]);
    s.chat.insert(&meta_key(&bad), b"\xff\xfe").unwrap();
    let list = s.list_conversations().unwrap();
    assert_eq!(list.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), [good.as_str()]);
    assert_eq!(message_keys(&s, &bad), 0, "no message is left that no listing shows");
    assert_eq!(s.unreadable_count("chat").unwrap(), 2, "the record, and its messages as one");
    assert_eq!(s.load_conversation(&bad).unwrap(), None);
    assert_eq!(s.load_conversation(&good).unwrap().unwrap().messages.len(), 1);
    let set_aside: Vec<String> = s.unreadable_report().unwrap();
    assert!(set_aside[1].contains("the 2 messages of conversation"), "{set_aside:?}");
}

#[test]
fn conversations_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (id, before) = {
        let s = Store::open(dir.path(), DEFAULT_CACHE_BYTES).unwrap();
        let id = talk(&s, 1_000, &["Is the disk full?", "Yes: /var is at 93%."]);
        s.rename_conversation(&id, "disk").unwrap();
        (id.clone(), s.load_conversation(&id).unwrap().unwrap())
    };
    let s = Store::reopen_dir(dir.path(), DEFAULT_CACHE_BYTES).unwrap();
    assert_eq!(s.load_conversation(&id).unwrap(), Some(before));
    assert_eq!(s.list_conversations().unwrap()[0].title, "disk");
    assert_eq!(s.search_conversations("93%", 5).unwrap().hits[0].message_index, Some(1));
}

#[test]
fn snippets_mark_the_match_and_cut_at_clusters() {
    let (s, r) = snippet("short match here", 6..11);
    assert_eq!((s.as_str(), &s[r]), ("short match here", "match"));
    let text = format!("{}x{}", "e\u{301}".repeat(40), "e\u{301}".repeat(40));
    let at = text.find('x').unwrap();
    let (s, r) = snippet(&text, at..at + 1);
    assert_eq!(&s[r], "x");
    assert!(s.starts_with("…e\u{301}") && s.ends_with("e\u{301}…"), "no mark split from its letter: {s:?}");
    let (s, r) = snippet("a\tb\nc", 2..3);
    assert_eq!(&s[r], "b");
    assert!(!s.contains(['\t', '\n']));
}

fn message_strategy() -> impl Strategy<Value = ChatMessage> {
    let role = prop_oneof![Just(Role::System), Just(Role::User), Just(Role::Assistant), Just(Role::Tool)];
    let state = prop_oneof![
        Just(ToolCallState::Asked),
        Just(ToolCallState::Running),
        any::<bool>().prop_map(|ok| ToolCallState::Done { ok }),
        any::<String>().prop_map(|reason| ToolCallState::Refused { reason }),
    ];
    let call =
        (any::<String>(), any::<String>(), any::<String>(), state, proptest::option::of(any::<String>())).prop_map(
            |(id, name, arguments, state, model_arguments)| ToolCall { id, name, arguments, state, model_arguments },
        );
    let usage = (any::<u64>(), any::<u64>(), any::<bool>()).prop_map(|(input, output, estimated)| Usage {
        input,
        output,
        estimated,
    });
    let finish = prop_oneof![
        Just(Finish::Stop),
        Just(Finish::Length),
        Just(Finish::ToolCalls),
        Just(Finish::Unfinished),
        Just(Finish::Cancelled),
        any::<String>().prop_map(|error| Finish::Cut { error }),
        any::<String>().prop_map(|name| Finish::Other { name }),
    ];
    let model = (any::<String>(), any::<String>()).prop_map(|(provider, model)| ModelRef { provider, model });
    let attachment = (any::<String>(), any::<String>(), any::<String>()).prop_map(|(kind, title, text)| Attachment {
        kind,
        title,
        text,
    });
    let skipped = (model.clone(), any::<String>()).prop_map(|(model, reason)| Skipped { model, reason });
    (
        (role, any::<String>(), any::<i64>(), proptest::option::of(model)),
        proptest::collection::vec(call, 0..3),
        proptest::option::of(any::<String>()),
        proptest::collection::vec(attachment, 0..2),
        (proptest::option::of(usage), proptest::option::of(finish), proptest::collection::vec(skipped, 0..2)),
    )
        .prop_map(
            |((role, content, ts, model), tool_calls, tool_call_id, attachments, (usage, finish, skipped))| {
                ChatMessage { role, content, ts, model, tool_calls, tool_call_id, attachments, usage, finish, skipped }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any conversation comes back as it was saved (its count and usage
    /// being the store's), and the same when built by appends.
    #[test]
    fn any_conversation_round_trips(
        messages in proptest::collection::vec(message_strategy(), 0..6),
        title in any::<String>(),
        created in any::<i64>(),
        tools in proptest::option::of(proptest::collection::vec(any::<String>(), 0..3)),
        auto in any::<bool>(),
    ) {
        let s = Store::temporary().unwrap();
        let meta = ConversationMeta {
            id: new_conversation_id(created, 7),
            title,
            created,
            updated: created,
            messages: 0,
            usage: Usage::default(),
            tools,
            auto_allow_read_only: auto,
            model: None,
        };
        let conv = Conversation { meta: with_totals(meta.clone(), &messages), messages: messages.clone() };
        s.save_conversation(&conv).unwrap();
        prop_assert_eq!(s.load_conversation(&conv.meta.id).unwrap(), Some(conv.clone()));
        let s = s.reopen().unwrap();
        prop_assert_eq!(s.load_conversation(&conv.meta.id).unwrap(), Some(conv.clone()));

        let mut by_appends = meta;
        by_appends.id = new_conversation_id(created, 8);
        by_appends.title = "t".into();
        s.save_conversation(&Conversation { meta: by_appends.clone(), messages: Vec::new() }).unwrap();
        for m in &messages {
            s.append_message(&by_appends.id, m, created).unwrap().unwrap();
        }
        let back = s.load_conversation(&by_appends.id).unwrap().unwrap();
        prop_assert_eq!(&back.messages, &messages);
        prop_assert_eq!(back.meta.usage, conv.meta.usage);
    }
}
