//! The chat pane's search and recall end to end: the real binary in a
//! pseudo-terminal, read through vt100, over a store seeded before it
//! starts. `/` finds a word in a message of an older conversation, Enter
//! opens it; the input recalls a question stored by an earlier run.

mod common;

use common::{OpsdeckEnv, TIMEOUT, expect_ok, quit_cleanly};
use opsdeck::engine::store::Store;
use opsdeck::protocol::chat::{ChatMessage, Role};

#[test]
fn search_opens_the_conversation_at_the_hit_and_recall_survives_a_restart() {
    let env = OpsdeckEnv::new();
    let data = env.root().join("data/opsdeck");
    std::fs::create_dir_all(&data).expect("data dir");
    {
        let store = Store::open(&data, 1 << 20).expect("store");
        let talk = |at: i64, texts: &[&str]| {
            let meta = store.create_conversation(at).expect("create");
            for (i, t) in texts.iter().enumerate() {
                let role = if i % 2 == 0 { Role::User } else { Role::Assistant };
                store.append_message(&meta.id, &ChatMessage::new(role, *t, at + i as i64), at + i as i64).expect("add");
            }
        };
        talk(1_700_000_000_000, &["why is /var full?", "Vacuum the journal: journalctl --vacuum-size=500M"]);
        talk(1_700_000_100_000, &["postgres lag on db-2", "Check the replica's WAL receiver."]);
        store.push_input_history("an earlier question").expect("history");
        store.flush().expect("flush");
    }
    let mut app = env.pty(&[], 100, 30);
    expect_ok(app.wait_for("the first frame", TIMEOUT, |s| s.contains("1 Metrics")));
    expect_ok(app.send("4"));
    // The whole frame: the list and the focused input (a frame read in part
    // lacks the input's title, which the next wait would take for Esc's work).
    expect_ok(
        app.wait_for("the saved conversations", TIMEOUT, |s| s.contains("Conversations 2") && s.contains("▶ Ask")),
    );
    // Esc to the transcript, seen as the input's unfocused title before the
    // next key (sent at once, Esc and `/` would read as Alt-/).
    expect_ok(app.send("\x1b"));
    expect_ok(app.wait_for("the transcript focused", TIMEOUT, |s| s.contains("╭ Ask") && !s.contains("▶ Ask")));
    expect_ok(app.send("/vacuum"));
    expect_ok(app.wait_for("the message hit with its snippet", TIMEOUT, |s| {
        s.contains("Search · 1 hit") && s.contains("#2 Vacuum the journal")
    }));
    expect_ok(app.send("\r"));
    expect_ok(app.wait_for("the conversation opened", TIMEOUT, |s| {
        s.contains("▶ why is /var full?") && s.contains("Vacuum the journal")
    }));
    // Recall: the question stored by an earlier run.
    expect_ok(app.send("i"));
    expect_ok(app.wait_for("the input focused", TIMEOUT, |s| s.contains("▶ Ask")));
    expect_ok(app.send("\x10"));
    expect_ok(app.wait_for("the stored question recalled", TIMEOUT, |s| s.contains("an earlier question")));
    expect_ok(app.send("\x15\x1b"));
    expect_ok(app.wait_for("the transcript focused", TIMEOUT, |s| !s.contains("▶ Ask") && s.contains("▶ why is")));
    quit_cleanly(&mut app);
}
