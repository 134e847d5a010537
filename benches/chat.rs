//! `cargo bench --bench chat`: the chat pane (issue 13) at two conversation
//! lengths. One streamed token (the `ChatAction::Progress` the runtime sends
//! for a delta) through `update`, then a whole 200x50 frame, with 20 and with
//! 2,000 messages above the streaming answer: the figure must not grow with
//! the conversation. And opening a 2,000-message conversation from sled:
//! `load_conversation`, then `ChatAction::Opened` and the first frame.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;

use divan::{Bencher, black_box};
use opsdeck::app::panes::chat::ChatAction;
use opsdeck::app::{Action, AppState, BoxId, UserAction, update};
use opsdeck::config::theme::Theme;
use opsdeck::engine::store::Store;
use opsdeck::protocol::chat::{
    ChatDelta, ChatMessage, ChatProgress, Conversation, ConversationMeta, Finish, ModelRef, Role, ToolCall,
    ToolCallState, Usage,
};
use opsdeck::runtime::backend::LeanBackend;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use support::{NOW, Seed};

fn main() {
    divan::main();
}

fn model() -> ModelRef {
    ModelRef::parse("local/smollm2").expect("provider/model")
}

/// Answer `i`: prose, a list, sometimes a table, and a highlighted code block
/// (about 1 KB, 30 to 40 lines at 200 columns).
fn answer(i: usize) -> String {
    let mut s = format!(
        "## Step {i}: `web-{}`\n\nThe **service** on `host-{i}` restarted *twice* in the last hour; see \
         [the log](https://logs.example/{i}). It recovered once the cache was warm and the queue drained, \
         but the p99 latency stayed above the SLO for a while.\n\n",
        i % 7
    );
    s.push_str("- check the disk (`df -h /var`)\n- check the memory\n  - swap in use?\n- [x] restart the unit\n\n");
    if i.is_multiple_of(3) {
        s.push_str("| host | cpu | mem |\n|---|--:|--:|\n| a | 10% | 2G |\n| b | 95% | 7G |\n\n");
    }
    let code = match i % 3 {
        0 => "```sh\njournalctl -u app --since -1h | grep -c ERROR\ndu -xh /var | sort -h | tail\n```\n",
        1 => {
            "```rust\nfn main() {\n    let x: Vec<u32> = (0..10).map(|i| i * 2).collect();\n    println!(\"{x:?}\");\n}\n```\n"
        }
        _ => {
            "```python\nimport json\nwith open(\"/var/log/app.json\") as f:\n    rows = [json.loads(l) for l in f]\nprint(len(rows))\n```\n"
        }
    };
    s.push_str(code);
    s.push_str("\n> Ask before deleting anything.\n");
    s
}

/// A conversation of `n` messages: questions and Markdown answers, and every
/// tenth answer a tool call (done) followed by its result.
fn conversation(id: &str, n: usize) -> Conversation {
    let mut meta = ConversationMeta::new(id.into(), NOW - 86_400_000);
    meta.title = "Why is /var full on web-1?".into();
    let mut messages = Vec::with_capacity(n);
    let mut i = 0;
    while messages.len() < n {
        let ts = NOW - 86_400_000 + i as i64 * 30_000;
        messages.push(ChatMessage::new(Role::User, format!("What about web-{i}? Is the disk the problem again?"), ts));
        let mut a = ChatMessage::new(Role::Assistant, answer(i), ts + 5_000);
        a.model = Some(model());
        a.usage = Some(Usage { input: 400 + i as u64, output: 300, estimated: false });
        a.finish = Some(Finish::Stop);
        if i % 10 == 9 && messages.len() + 3 <= n {
            let mut call = ToolCall::new(format!("call_{i}"), "disk_usage", format!("{{\"path\":\"/var/{i}\"}}"));
            call.state = ToolCallState::Done { ok: true };
            a.tool_calls.push(call);
            messages.push(a);
            let mut r = ChatMessage::new(Role::Tool, format!("{{\"path\":\"/var/{i}\",\"used\":\"91%\"}}"), ts + 6_000);
            r.tool_call_id = Some(format!("call_{i}"));
            messages.push(r);
        } else {
            messages.push(a);
        }
        i += 1;
    }
    messages.truncate(n);
    Conversation { meta, messages }
}

/// One question and a one-paragraph answer of about 8 KB.
fn prose_conversation() -> Conversation {
    let mut conv = conversation("prose", 2);
    let words = ["Server", "Entity", "Unsupported", "404", "-", "Not", "Found", "Request", "Timeout"];
    let text: Vec<&str> = (0..1_200).map(|i| words[(i * 7 + i / 3) % words.len()]).collect();
    conv.messages[1].content = text.join(" ");
    conv
}

fn key(seed: &Seed, s: &mut AppState, code: KeyCode) {
    update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)), &seed.ctx());
}

fn chat(seed: &Seed, s: &mut AppState, a: ChatAction) {
    update(s, Action::Chat(a), &seed.ctx());
}

fn text(t: &str) -> ChatProgress {
    ChatProgress::Delta { delta: ChatDelta::Text { text: t.into() } }
}

/// The chat pane with `conv` open, a question sent, and its answer streaming
/// (a paragraph and a code block so far); returns the turn.
fn streaming(seed: &Seed, conv: Conversation) -> (AppState, u64) {
    let mut s = seed.state();
    update(&mut s, Action::User(UserAction::FocusPane4), &seed.ctx());
    chat(seed, &mut s, ChatAction::Models { models: vec![model()], providers: 1, prices: HashMap::new() });
    chat(seed, &mut s, ChatAction::Opened(Box::new(conv)));
    s.focus = BoxId::ChatInput;
    for c in "And now?".chars() {
        key(seed, &mut s, KeyCode::Char(c));
    }
    key(seed, &mut s, KeyCode::Enter);
    let turn = s.chat.turn.as_ref().expect("asked").id;
    let mut items = vec![ChatProgress::Trying { model: model() }];
    items.extend(answer(1).split_inclusive(' ').map(text));
    items.push(text("\n\nThen the last paragraph grows"));
    chat(seed, &mut s, ChatAction::Progress { turn, items });
    (s, turn)
}

/// The tokens streamed, in turn: words, and now and then a paragraph's end.
const TOKENS: [&str; 12] = [
    " the",
    " queue",
    " drained",
    " and",
    " `web-1`",
    " recovered",
    " after",
    " **two**",
    " restarts",
    ",",
    " see",
    ".\n\n",
];

/// One token appended to the answer streaming after `n` messages, then the
/// whole frame drawn (200x50). Sample counts are fixed so both lengths
/// stream the same number of tokens.
#[divan::bench(args = [20, 2_000], sample_count = 100, sample_size = 10)]
fn stream_one_token_and_draw_200x50(b: Bencher, n: usize) {
    let seed = Seed::new();
    let (mut s, turn) = streaming(&seed, conversation(&format!("bench-{n}"), n));
    assert_eq!(s.chat.conv.messages.len(), n + 2);
    let theme = Theme::fallback(false);
    let mut term = Terminal::new(TestBackend::new(200, 50)).expect("backend");
    term.draw(|f| opsdeck::ui::render(f, &s, &theme)).expect("draw");
    let mut i = 0;
    b.bench_local(|| {
        let t = TOKENS[i % TOKENS.len()];
        i += 1;
        update(&mut s, Action::Chat(ChatAction::Progress { turn, items: vec![text(t)] }), &seed.ctx());
        term.draw(|f| opsdeck::ui::render(f, black_box(&s), &theme)).expect("draw");
    });
}

/// A store (real sled, in a temp dir) holding two copies of a 2,000-message
/// conversation, `a` and `b`.
fn store_with_two(dir: &std::path::Path) -> Store {
    let store = Store::open(dir, 64 << 20).expect("store");
    for id in ["a", "b"] {
        store.save_conversation(&conversation(id, 2_000)).expect("save");
    }
    store
}

/// `Store::load_conversation` of the 2,000-message conversation.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn open_2000_load_conversation(b: Bencher) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_with_two(dir.path());
    b.bench_local(|| {
        let c = store.load_conversation(black_box("a")).expect("load").expect("there");
        assert_eq!(c.messages.len(), 2_000);
        c
    });
}

/// What the pane does on open: `load_conversation` (the runtime's
/// `ChatEffect::Load`), `ChatAction::Opened`, and the first 200x50 frame.
/// Opens `a` and `b` in turn, so no answer is already rendered.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn open_2000_load_apply_and_first_frame(b: Bencher) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store_with_two(dir.path());
    let seed = Seed::new();
    let mut s = seed.state();
    update(&mut s, Action::User(UserAction::FocusPane4), &seed.ctx());
    chat(&seed, &mut s, ChatAction::Models { models: vec![model()], providers: 1, prices: HashMap::new() });
    let theme = Theme::fallback(false);
    let mut term = Terminal::new(TestBackend::new(200, 50)).expect("backend");
    let mut i = 0;
    b.bench_local(|| {
        let id = if i % 2 == 0 { "a" } else { "b" };
        i += 1;
        let c = store.load_conversation(id).expect("load").expect("there");
        update(&mut s, Action::Chat(ChatAction::Opened(Box::new(c))), &seed.ctx());
        term.draw(|f| opsdeck::ui::render(f, black_box(&s), &theme)).expect("draw");
    });
}

/// The key the tuimeasure figure presses on the chat pane: `k`/`j` (jump to
/// the previous / next message) in turn on a 20-message conversation, each
/// through `update` and a whole 200x50 frame written by the real backend
/// (into a sink). Compare with `core`'s `key_down_up_and_draw_200x50`, the
/// same on the metrics pane.
/// `long_prose` as in `key_type_and_draw_200x50`: a jump then moves the
/// transcript by the question's three rows.
#[divan::bench(args = [false, true], sample_count = 100, sample_size = 10)]
fn key_jump_message_and_draw_200x50(b: Bencher, long_prose: bool) {
    let (seed, mut s, theme, mut term) = open_at_200x50(long_prose, BoxId::ChatTranscript);
    key(&seed, &mut s, KeyCode::Up);
    key(&seed, &mut s, KeyCode::Char('k'));
    assert!(s.chat.sel.is_some(), "a message is selected");
    let mut i = 0;
    b.bench_local(|| {
        let k = if i % 2 == 0 { 'k' } else { 'j' };
        i += 1;
        key(&seed, &mut s, KeyCode::Char(k));
        term.draw(|f| opsdeck::ui::render(f, black_box(&s), &theme)).expect("draw");
    });
}

/// Typing in the input under the same 20-message conversation: `a` and
/// Backspace in turn, each through `update` and a whole 200x50 frame written
/// by the real backend (into a sink).
/// `long_prose`: the conversation is one question and one answer that is a
/// single paragraph of about 8 KB (what a small model writes), so the
/// transcript is full rows of text.
#[divan::bench(args = [false, true], sample_count = 100, sample_size = 10)]
fn key_type_and_draw_200x50(b: Bencher, long_prose: bool) {
    let (seed, mut s, theme, mut term) = open_at_200x50(long_prose, BoxId::ChatInput);
    let mut i = 0;
    b.bench_local(|| {
        let k = if i % 2 == 0 { KeyCode::Char('a') } else { KeyCode::Backspace };
        i += 1;
        key(&seed, &mut s, k);
        term.draw(|f| opsdeck::ui::render(f, black_box(&s), &theme)).expect("draw");
    });
}

/// The chat pane at 200x50 with a conversation open (the long prose one, or
/// 20 short messages), `focus` focused, and a real backend writing into a
/// sink that has drawn the first frame.
fn open_at_200x50(long_prose: bool, focus: BoxId) -> (Seed, AppState, Theme, Terminal<LeanBackend<std::io::Sink>>) {
    let seed = Seed::new();
    let mut s = seed.state();
    s.size = (200, 50);
    update(&mut s, Action::User(UserAction::FocusPane4), &seed.ctx());
    chat(&seed, &mut s, ChatAction::Models { models: vec![model()], providers: 1, prices: HashMap::new() });
    let conv = if long_prose { prose_conversation() } else { conversation("keys", 20) };
    chat(&seed, &mut s, ChatAction::Opened(Box::new(conv)));
    s.focus = focus;
    let theme = Theme::fallback(false);
    let backend = LeanBackend::with_size(std::io::sink(), ratatui::layout::Size::new(200, 50));
    let mut term = Terminal::new(backend).expect("backend");
    term.draw(|f| opsdeck::ui::render(f, &s, &theme)).expect("draw");
    (seed, s, theme, term)
}
