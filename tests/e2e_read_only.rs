//! `--read-only` changes nothing, and says so: the TUI refuses with a visible
//! reason, and the flag works after a subcommand too.

mod common;

use common::{OpsdeckEnv, TIMEOUT, expect_ok, output_within, quit_cleanly};

#[test]
fn read_only_tui_refuses_annotations_with_a_visible_reason() {
    let env = OpsdeckEnv::new();
    let mut app = env.pty(&["--read-only"], 200, 40);
    expect_ok(app.wait_for("the TUI running, marked read-only", TIMEOUT, |s| {
        s.contains("Processes") && s.lines().last().is_some_and(|l| l.contains("read-only"))
    }));
    // `a` on the metrics pane would open the annotation prompt.
    expect_ok(app.send("a"));
    let screen = expect_ok(app.wait_for("the refusal in the status bar", TIMEOUT, |s| {
        s.contains("read-only: recording an annotation is refused")
    }));
    assert!(!screen.contains("what happened?"), "no annotation prompt:\n{screen}");
    // The command palette does not offer it.
    expect_ok(app.send(":annotate"));
    let screen = expect_ok(app.wait_for("the palette filtered to annotate", TIMEOUT, |s| {
        s.contains("Command palette") && s.contains(": annotate")
    }));
    assert!(!screen.contains("Note an event"), "annotate is not offered read-only:\n{screen}");
    expect_ok(app.send_key(common::pty::Key::Esc));
    expect_ok(app.wait_for("the palette closed", TIMEOUT, |s| !s.contains(": annotate")));
    quit_cleanly(&mut app);
}

#[test]
fn read_only_after_the_subcommand_refuses_tools_that_change_things() {
    let env = OpsdeckEnv::new();
    let shell =
        output_within(env.command(&["tool", "shell", "--arg", "command=echo hi", "--yes", "--read-only"]), TIMEOUT);
    let stderr = String::from_utf8_lossy(&shell.stderr);
    assert!(!shell.status.success() && stderr.contains("read-only"), "{:?}: {stderr}", shell.status);
    assert!(!String::from_utf8_lossy(&shell.stdout).contains("hi"), "the command did not run");
    let post = output_within(
        env.command(&["tool", "http_check", "--arg", "url=http://127.0.0.1:9/", "--arg", "method=POST", "--read-only"]),
        TIMEOUT,
    );
    let stderr = String::from_utf8_lossy(&post.stderr);
    assert!(!post.status.success() && stderr.contains("read-only: running http_check is refused"), "{stderr}");
}
