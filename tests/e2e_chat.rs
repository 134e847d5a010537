//! The chat pane end to end: the real binary in a pseudo-terminal, read
//! through vt100, against a loopback scripted OpenAI-compatible server (so
//! the answer is known; the real llama.cpp peer is in tests/chat_llama.rs).
//! A question streams a Markdown answer; Ctrl-C stops a second one mid-stream
//! (the server sees the connection closed) without quitting; the
//! conversation is listed again after a restart.

mod common;
#[path = "support/scripted_http.rs"]
mod scripted_http;

use std::time::Duration;

use common::{OpsdeckEnv, TIMEOUT, expect_ok, quit_cleanly};
use scripted_http::{Reply, Server, Step, events};

fn chunk(text: &str) -> String {
    serde_json::json!({"choices":[{"index":0,"delta":{"content":text},"finish_reason":null}]}).to_string()
}

#[test]
fn ask_stream_stop_and_find_the_conversation_after_a_restart() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let answer = [
        chunk("## Disk usage\n\n"),
        chunk("Run **du** on `/var`"),
        chunk(" and vacuum the journal."),
        serde_json::json!({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}).to_string(),
        serde_json::json!({"choices":[],"usage":{"prompt_tokens":31,"completion_tokens":12}}).to_string(),
        "[DONE]".to_string(),
    ];
    let answer: Vec<&str> = answer.iter().map(String::as_str).collect();
    let first = chunk("Memory pages are");
    let hanging = Reply::sse(vec![Step::Bytes(events(&[first.as_str()])), Step::Hang]);
    let mut server = rt.block_on(Server::start(vec![Reply::sse(vec![Step::Trickle(events(&answer))]), hanging]));
    let env = OpsdeckEnv::new();
    env.write_config(&format!(
        "[[provider]]\nname = \"scripted\"\nkind = \"openai\"\nbase_url = \"{}\"\nmodels = [\"m1\"]\n",
        server.base_url()
    ));
    let mut app = env.pty(&[], 100, 30);
    expect_ok(app.wait_for("the first frame", TIMEOUT, |s| s.contains("1 Metrics")));
    expect_ok(app.send("4"));
    expect_ok(app.wait_for("the chat pane", TIMEOUT, |s| s.contains("Ask · scripted/m1")));
    expect_ok(app.send("why is /var full?\r"));
    expect_ok(app.wait_for("the streamed answer, as Markdown", TIMEOUT, |s| {
        // The heading's `##` is drawn as a heading mark, the strong text without its stars.
        s.contains("Disk usage") && s.contains("Run du on /var and vacuum the journal.") && s.contains("31+12 tok")
    }));
    let asked = server.requests();
    assert_eq!(asked.len(), 1);
    let body = asked[0].json();
    assert_eq!(body["model"], "m1");
    assert_eq!(body["stream"], true);
    assert_eq!(body["messages"].as_array().map(Vec::len), Some(2), "the system prompt and the question: {body}");

    // A second answer hangs after its first piece: Ctrl-C stops it, not opsdeck.
    expect_ok(app.send("and memory?\r"));
    expect_ok(app.wait_for("the second answer's first piece", TIMEOUT, |s| s.contains("Memory pages are")));
    expect_ok(app.send("\x03"));
    expect_ok(app.wait_for("the answer stopped", TIMEOUT, |s| s.contains("■ stopped")));
    assert!(app.is_alive(), "Ctrl-C during a stream stops the stream only:\n{}", app.screen_text());
    let closed = rt.block_on(async { tokio::time::timeout(Duration::from_secs(20), server.closed.recv()).await });
    assert!(matches!(closed, Ok(Some(()))), "the HTTP request was aborted: the server saw the connection closed");
    leave_input(&mut app);
    quit_cleanly(&mut app);

    // The conversation is saved: listed after a restart, and opens with both questions.
    let mut app = env.pty(&[], 100, 30);
    expect_ok(app.wait_for("the first frame", TIMEOUT, |s| s.contains("1 Metrics")));
    expect_ok(app.send("4"));
    expect_ok(app.wait_for("the saved conversation", TIMEOUT, |s| {
        s.contains("Conversations 1") && s.contains("why is /var full?")
    }));
    // Focus the list (BackTab from the input, twice) and open it.
    expect_ok(app.send("\x1b[Z\x1b[Z\r"));
    expect_ok(app.wait_for("the conversation opened", TIMEOUT, |s| {
        s.contains("and memory?") && s.contains("Memory pages are") && s.contains("■ stopped")
    }));
    // Opening a conversation focuses its transcript: `q` quits.
    quit_cleanly(&mut app);
}

/// Esc from the input to the transcript (so `q` quits instead of being
/// typed), seen before the next key (else Esc and the key read as Alt-key).
fn leave_input(app: &mut common::pty::PtySession) {
    expect_ok(app.send("\x1b"));
    expect_ok(app.wait_for("the transcript focused", TIMEOUT, |s| !s.contains("▶ Ask") && s.contains("▶ why")));
}
