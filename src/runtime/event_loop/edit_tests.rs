//! `edit_workflow` through the loop: the terminal is handed to the editor
//! (a fake one: `true`, `false`, a missing command, set in the state as the
//! runtime would from `$EDITOR`), taken back, repainted, and the outcome is
//! on the status line.

use std::sync::Arc;

use super::*;
use crate::protocol::workflow::{StepInfo, WorkflowInfo, WorkflowsSnapshot};
use crate::protocol::{Envelope, Event, LOCAL_SOURCE, Topic};

fn workflows(path: &str) -> Msg {
    let info = WorkflowInfo {
        name: "backup".into(),
        description: String::new(),
        version: "0123456789ab".into(),
        path: path.into(),
        inputs: Vec::new(),
        steps: vec![StepInfo {
            id: "dump".into(),
            uses: "shell".into(),
            needs: Vec::new(),
            mutating: true,
            reads: None,
        }],
        next_fire: None,
    };
    let snap = WorkflowsSnapshot { workflows: vec![info], ..Default::default() };
    let env = Envelope {
        epoch: 1,
        seq: 1,
        ts: NOW,
        source: LOCAL_SOURCE.into(),
        topic: Topic::Workflows,
        event: Event::Workflows(Box::new(snap)),
    };
    Msg::Events(vec![Arc::new(env)])
}

/// Press `E` on the workflows list with `editor` as the editor.
async fn edit_with(editor: &str, path: &str) -> Harness {
    let mut h = Harness::new();
    h.state.workflows.editor = editor.into();
    h.run(vec![workflows(path), ch('2'), ch('E')]).await;
    h
}

/// What was said: the status line's notice, or a message popup's text
/// (what went wrong and how to fix it is too long for the status line).
fn notice(h: &Harness) -> String {
    match &h.state.overlay {
        Some(crate::app::Overlay::Message(m)) => m.lines.join("\n"),
        _ => h.state.notice.as_ref().map(|(_, n)| n.clone()).unwrap_or_default(),
    }
}

#[tokio::test(start_paused = true)]
async fn the_editor_gets_the_terminal_and_its_success_is_said_after_a_full_repaint() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("backup.toml");
    let path = file.to_str().unwrap();
    std::fs::write(&file, "name = \"backup\"\n").unwrap();
    // The editor writes the path it was given to a file beside it.
    let editor = format!("sh -c 'echo \"$0\" > {}/seen'", tmp.path().display());
    let h = edit_with(&editor, path).await;
    assert_eq!((h.screen.handed, h.screen.taken), (1, 1));
    assert_eq!(h.screen.repainted, 1, "every cell is painted after the editor");
    let n = notice(&h);
    assert!(n.starts_with("✓ edited") && n.contains(path), "{n}");
    assert!(h.screen.text().contains("✓ edited"), "{}", h.screen.text());
    assert_eq!(std::fs::read_to_string(tmp.path().join("seen")).unwrap().trim(), path, "the path is its argument");
    assert_eq!(h.state.size, (100, 30), "the size after the editor is taken on");
    assert!(h.effects.0.is_empty(), "the loop ran it itself: {:?}", h.effects.0);
}

#[tokio::test(start_paused = true)]
async fn an_editor_that_fails_says_its_status() {
    let h = edit_with("false", "/cfg/workflows/backup.toml").await;
    assert_eq!((h.screen.handed, h.screen.taken), (1, 1), "the terminal comes back after a failure too");
    let n = notice(&h);
    assert!(n.contains("`false` exited with status 1") && n.contains("backup.toml"), "{n}");
}

#[tokio::test(start_paused = true)]
async fn a_missing_editor_is_said_in_the_tui_without_handing_the_terminal_over() {
    for editor in ["no-such-editor-opsdeck-test", "no-such-editor-opsdeck-test -w", "/nonexistent/opsdeck-editor"] {
        let h = edit_with(editor, "/cfg/workflows/backup.toml").await;
        assert_eq!(h.screen.handed, 0, "{editor}: no shell gets the terminal to say `not found` on it");
        let n = notice(&h);
        assert!(n.contains(&format!("`{editor}` was not found")) && n.contains("set $EDITOR"), "{n}");
        let screen = h.screen.text();
        assert!(screen.contains("The editor") && screen.contains("was not found:"), "{screen}");
    }
}

#[tokio::test(start_paused = true)]
async fn what_a_failing_editor_says_is_read_and_said_in_the_tui() {
    let h = edit_with("sh -c 'echo first >&2; echo \"E: no such option\" >&2; exit 3'", "/cfg/wf/b.toml").await;
    assert_eq!((h.screen.handed, h.screen.taken), (1, 1));
    let n = notice(&h);
    assert!(n.contains("exited with status 3 — it said: E: no such option: /cfg/wf/b.toml may be unchanged"), "{n}");
}

#[tokio::test(start_paused = true)]
async fn a_workflow_of_a_backend_is_not_edited_here() {
    let mut h = Harness::new();
    h.state.workflows.editor = "true".into();
    let Msg::Events(mut evs) = workflows("/srv/workflows/backup.toml") else { unreachable!() };
    let mut env = (*evs[0]).clone();
    env.source = "prod".into();
    evs[0] = Arc::new(env);
    h.run(vec![Msg::Events(evs), ch('2'), ch('E')]).await;
    assert_eq!(h.screen.handed, 0);
    let n = notice(&h);
    assert!(n.contains("on prod: edit it there"), "{n}");
}
