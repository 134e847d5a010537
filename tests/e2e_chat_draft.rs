//! The chat assistant drafts a workflow, end to end: the real binary in a
//! pseudo-terminal (read through vt100) against a loopback scripted
//! OpenAI-compatible server (so the model's proposals are known). The model
//! proposes a workflow that does not check, gets the problems back with
//! their line and column, proposes one that does; the user saves it from the
//! review, the file is in the workflows folder and `opsdeck check` passes.

mod common;
#[path = "support/scripted_http.rs"]
mod scripted_http;

use common::{OpsdeckEnv, TIMEOUT, expect_ok, output_within, quit_cleanly};
use scripted_http::{Reply, Server, Step, events};
use serde_json::json;

const BAD: &str = "name = \"probe-web\"\n\n[[step]]\nid = \"get\"\nuses = \"no_such_tool\"\n";
const GOOD: &str = "name = \"probe-web\"\ndescription = \"Probe the web server\"\n\n[[step]]\nid = \"get\"\nuses = \"http_check\"\nwith = { url = \"https://example.com\" }\n";

/// An answer that calls `propose_workflow` with `content`.
fn proposal(id: &str, content: &str) -> Reply {
    let args = json!({ "content": content }).to_string();
    let call = json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":id,"type":"function",
        "function":{"name":"propose_workflow","arguments":args}}]},"finish_reason":null}]});
    let end = json!({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]});
    let chunks = [call.to_string(), end.to_string(), "[DONE]".to_string()];
    Reply::sse(vec![Step::Bytes(events(&chunks.iter().map(String::as_str).collect::<Vec<_>>()))])
}

fn text(t: &str) -> Reply {
    let c = json!({"choices":[{"index":0,"delta":{"content":t},"finish_reason":null}]});
    let end = json!({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]});
    let chunks = [c.to_string(), end.to_string(), "[DONE]".to_string()];
    Reply::sse(vec![Step::Bytes(events(&chunks.iter().map(String::as_str).collect::<Vec<_>>()))])
}

#[test]
fn a_drafted_workflow_is_fixed_by_the_model_then_saved_by_the_user_and_checks() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let replies = vec![proposal("p1", BAD), proposal("p2", GOOD), text("The workflow is ready for your review.")];
    let server = rt.block_on(Server::start(replies));
    let env = OpsdeckEnv::new();
    let config = env.write_config(&format!(
        "[[provider]]\nname = \"scripted\"\nkind = \"openai\"\nbase_url = \"{}\"\nmodels = [\"m1\"]\n",
        server.base_url()
    ));
    let workflows = config.parent().expect("config dir").join("workflows");
    let mut app = env.pty(&[], 100, 30);
    expect_ok(app.wait_for("the first frame", TIMEOUT, |s| s.contains("1 Metrics")));
    expect_ok(app.send("4"));
    expect_ok(app.wait_for("the chat pane", TIMEOUT, |s| s.contains("Ask · scripted/m1")));
    expect_ok(app.send("write a workflow that probes example.com\r"));
    expect_ok(app.wait_for("the draft for review", TIMEOUT, |s| {
        s.contains("Workflow draft · ✓ checks · new file probe-web.toml")
            && s.contains("uses = \"http_check\"")
            && s.contains("ready for your review")
    }));
    assert!(!workflows.join("probe-web.toml").exists(), "nothing is saved before the user saves it");

    // The model was offered the function, got the first draft's problems
    // (line and column), and the second one's verdict.
    let asked = server.requests();
    assert_eq!(asked.len(), 3, "{asked:?}");
    let tools = asked[0].json()["tools"].clone();
    assert!(tools.as_array().unwrap().iter().any(|t| t["function"]["name"] == "propose_workflow"), "{tools}");
    let second = asked[1].json();
    let back = second["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(back["role"], "tool");
    assert_eq!(back["tool_call_id"], "p1");
    let said = back["content"].as_str().unwrap();
    assert!(said.contains("workflows/probe-web.toml:5:") && said.contains("no_such_tool"), "{said}");
    let third = asked[2].json();
    let back = third["messages"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap().to_string();
    assert!(back.starts_with("valid: shown to the user for review"), "{back}");

    // Esc leaves the input (so W is a key, not a letter typed), then W saves.
    expect_ok(app.send("\x1b"));
    // Seen as the input's unfocused title, not only the focused one gone (a
    // frame read in part lacks it too).
    expect_ok(app.wait_for("the transcript focused", TIMEOUT, |s| !s.contains("▶ Ask") && s.contains("╭ Ask")));
    expect_ok(app.send("W"));
    expect_ok(app.wait_for("saved", TIMEOUT, |s| s.contains("✓ workflow saved as")));
    assert_eq!(std::fs::read_to_string(workflows.join("probe-web.toml")).expect("the saved file"), GOOD);
    quit_cleanly(&mut app);

    let out = output_within(env.command(&["check"]), TIMEOUT);
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "opsdeck check passes on the saved workflow:\n{said}");
}
