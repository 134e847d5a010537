//! The tools pane end to end: the real binary in a pseudo-terminal, read
//! through vt100. Runs a tool from its form, sees the result, exports it, and
//! finds the run in the history after a restart; runs a saved chain (in the
//! engine's chain executor) and finds each step recorded.

mod common;

use common::{OpsdeckEnv, TIMEOUT, expect_ok, quit_cleanly};

#[test]
fn run_a_tool_from_its_form_export_it_and_find_it_after_a_restart() {
    let env = OpsdeckEnv::new();
    let mut app = env.pty(&[], 140, 40);
    expect_ok(app.wait_for("the first frame", TIMEOUT, |s| s.contains("1 Metrics")));
    expect_ok(app.send("3"));
    expect_ok(app.wait_for("the tool list", TIMEOUT, |s| s.contains("Tools 8") && s.contains("text_stats")));
    // Fuzzy filter, open the form, fill the multi-line `text` field, run.
    expect_ok(app.send("/txtst\r"));
    expect_ok(app.wait_for("text_stats selected", TIMEOUT, |s| s.contains("▸  text_stats")));
    expect_ok(app.send("\r"));
    expect_ok(app.wait_for("the form", TIMEOUT, |s| s.contains("▶ text_stats · builtin") && s.contains("top ")));
    expect_ok(app.send("\x1b[B\r"));
    expect_ok(app.send("alpha beta alpha\rgamma"));
    expect_ok(app.wait_for("the field editor", TIMEOUT, |s| s.contains("gamma") && s.contains("Esc done")));
    expect_ok(app.send("\x1b"));
    expect_ok(app.wait_for("the field kept", TIMEOUT, |s| s.contains("alpha beta alpha … +1 line")));
    expect_ok(app.send("r"));
    expect_ok(app.wait_for("the result", TIMEOUT, |s| {
        // The streamed summary, and the result folded after it (not said twice).
        s.contains("Output #1 text_stats ✓ ok")
            && s.contains("2 lines, 4 words, 22 characters")
            && s.contains("result: {chars, lines, top_terms, words} · Enter shows it")
    }));
    // Export the result as JSON.
    expect_ok(app.send("e"));
    expect_ok(app.wait_for("the export popup", TIMEOUT, |s| s.contains("Export run #1")));
    expect_ok(app.send("\r"));
    expect_ok(app.wait_for("the export notice", TIMEOUT, |s| s.contains("exported to")));
    let dir = env.root().join("data/opsdeck/exports");
    let files: Vec<_> = std::fs::read_dir(&dir).expect("the exports directory").flatten().collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(files[0].path()).expect("the export");
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!((v["tool"].as_str(), v["result"]["words"].as_u64()), (Some("text_stats"), Some(4)));
    quit_cleanly(&mut app);

    // The run is in the history after a restart; Enter shows it again.
    let mut app = env.pty(&[], 140, 40);
    expect_ok(app.wait_for("the first frame", TIMEOUT, |s| s.contains("1 Metrics")));
    expect_ok(app.send("3"));
    expect_ok(app.wait_for("the history", TIMEOUT, |s| s.contains("History 1") && s.contains("✓ #1 text_stats")));
    expect_ok(app.send("\x1b[Z\r"));
    expect_ok(app.wait_for("the old output", TIMEOUT, |s| {
        s.contains("Output #1 text_stats ✓ ok") && s.contains("result: {chars, lines, top_terms, words}")
    }));
    // Enter on the output opens the whole result.
    expect_ok(app.send("\x1b[Z\r"));
    expect_ok(app.wait_for("the whole result", TIMEOUT, |s| s.contains("\"words\": 4") && s.contains("\"lines\": 2")));
    quit_cleanly(&mut app);
}

/// Where `.ci/run` installs the MCP reference servers.
fn everything_js() -> String {
    let dir = std::env::var_os("OPSDECK_MCP_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| {
        std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/opsdeck-mcp")
    });
    let js = dir.join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    assert!(js.exists(), "{} is missing: run .ci/run (it installs the MCP reference servers)", js.display());
    js.display().to_string()
}

#[test]
fn an_mcp_servers_tool_runs_from_the_pane() {
    let env = OpsdeckEnv::new();
    let js = serde_json::to_string(&everything_js()).expect("path");
    env.write_config(&format!("[[mcp_server]]\nname = \"everything\"\ncommand = \"node\"\nargs = [{js}, \"stdio\"]\n"));
    let mut app = env.pty(&[], 150, 40);
    expect_ok(app.wait_for("the first frame", TIMEOUT, |s| s.contains("1 Metrics")));
    expect_ok(app.send("3"));
    expect_ok(app.wait_for("the server's tools listed with their source", TIMEOUT, |s| {
        s.contains("everything/echo") && s.contains("● everything:") && s.contains(" tools")
    }));
    expect_ok(app.send("/evecho\r"));
    expect_ok(app.wait_for("echo selected", TIMEOUT, |s| s.contains("▸  everything/echo")));
    expect_ok(app.send("\r"));
    expect_ok(app.wait_for("its form from the schema", TIMEOUT, |s| {
        s.contains("everything/echo · everything") && s.contains("message*")
    }));
    expect_ok(app.send("\rhello from the pane\r"));
    expect_ok(app.send("r"));
    expect_ok(app.wait_for("the server's answer", TIMEOUT, |s| {
        s.contains("everything/echo ✓ ok") && s.contains("Echo: hello from the pane")
    }));
    quit_cleanly(&mut app);
}

#[test]
fn a_jq_preview_that_never_ends_leaves_the_tui_responsive() {
    let env = OpsdeckEnv::new();
    let mut app = env.pty(&[], 140, 40);
    expect_ok(app.wait_for("the first frame", TIMEOUT, |s| s.contains("1 Metrics")));
    expect_ok(app.send("3"));
    expect_ok(app.wait_for("the tool list", TIMEOUT, |s| s.contains("text_stats")));
    expect_ok(app.send("/txtst\r\r"));
    expect_ok(app.wait_for("the form", TIMEOUT, |s| s.contains("▶ text_stats · builtin")));
    expect_ok(app.send("\x1b[B\ralpha beta"));
    expect_ok(app.wait_for("the field editor", TIMEOUT, |s| s.contains("alpha beta") && s.contains("Esc done")));
    expect_ok(app.send("\x1b"));
    expect_ok(app.wait_for("the field kept", TIMEOUT, |s| !s.contains("Esc done")));
    expect_ok(app.send("r"));
    expect_ok(app.wait_for("the result", TIMEOUT, |s| s.contains("Output #1 text_stats ✓ ok")));
    // Chain the result: the popup's live preview of a filter that never yields.
    expect_ok(app.send("p"));
    expect_ok(app.wait_for("the chain popup", TIMEOUT, |s| s.contains("Chain #1: select with jq")));
    expect_ok(app.send("\x7flast(repeat(1))"));
    expect_ok(app.wait_for("the filter typed, evaluating", TIMEOUT, |s| {
        s.contains("jq last(repeat(1))") && s.contains("evaluating")
    }));
    // The loop keeps running: the worker is stopped after 2 s and the popup says so.
    expect_ok(app.wait_for("too slow", TIMEOUT, |s| s.contains("too slow: still running after 2 s")));
    // Again, and Esc while it evaluates: the popup closes at once.
    expect_ok(app.send("\x7f)"));
    expect_ok(app.wait_for("evaluating again", TIMEOUT, |s| s.contains("evaluating")));
    expect_ok(app.send("\x1b"));
    expect_ok(app.wait_for("the popup closed", TIMEOUT, |s| !s.contains("Chain #1: select with jq")));
    quit_cleanly(&mut app);
}

#[test]
fn a_saved_chain_runs_its_steps_in_the_engine_each_recorded() {
    use opsdeck::engine::store::Store;
    use opsdeck::protocol::chain::{Chain, Link, Step, write_chains};
    let env = OpsdeckEnv::new();
    let data = env.root().join("data/opsdeck");
    std::fs::create_dir_all(&data).expect("data dir");
    let steps = vec![
        Step { tool: "text_stats".into(), args: serde_json::json!({"text":"alpha beta alpha"}), link: None },
        Step {
            tool: "text_stats".into(),
            args: serde_json::json!({}),
            link: Some(Link { filter: ".top_terms[0].term".into(), arg: "text".into() }),
        },
    ];
    {
        let store = Store::open(&data, 1 << 20).expect("store");
        let chains = write_chains(&[Chain { name: "probe".into(), steps }]);
        store.ui_put("tools.chains", chains.as_bytes()).expect("write");
        store.flush().expect("flush");
    }
    let mut app = env.pty(&[], 140, 40);
    expect_ok(app.wait_for("the first frame", TIMEOUT, |s| s.contains("1 Metrics")));
    expect_ok(app.send("3"));
    expect_ok(app.wait_for("the saved chain", TIMEOUT, |s| s.contains("⛓ probe")));
    expect_ok(app.send("/probe\r"));
    expect_ok(app.wait_for("the chain selected", TIMEOUT, |s| s.contains("▸  ⛓ probe") || s.contains("▸ ⛓ probe")));
    expect_ok(app.send("r"));
    expect_ok(app.wait_for("both steps ran", TIMEOUT, |s| {
        s.contains("✓ chain probe finished (2 steps)")
            && s.contains("History 2")
            && s.contains("Output #2 text_stats ✓ ok")
    }));
    quit_cleanly(&mut app);
    let store = Store::open(&data, 1 << 20).expect("store after the run");
    let runs = store.tool_runs(10).expect("the history");
    assert_eq!(runs.len(), 2, "each step recorded once: {runs:?}");
    assert_eq!(runs[0].args, serde_json::json!({"text":"alpha"}), "step 2 took step 1's top term");
    assert_eq!(runs[1].args, serde_json::json!({"text":"alpha beta alpha"}));
}
