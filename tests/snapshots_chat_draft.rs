//! Snapshots of the chat pane's workflow draft review on `TestBackend`: a
//! change to an existing workflow, checked, shown as a diff with the keys
//! to save, edit or drop it (80x24); and a draft that does not check, with
//! its problems at their line and column.

mod support;

use support::{draw, key};

use std::collections::HashMap;
use std::path::PathBuf;

use opsdeck::app::panes::chat::ChatAction;
use opsdeck::app::panes::chat::draft::{DraftAction, Origin, Placement};
use opsdeck::app::{Action, AppState, UserAction, update};
use opsdeck::protocol::chat::{Answer, ChatDelta, ChatProgress, Finish, ModelRef};
use ratatui::crossterm::event::KeyCode;
use support::Seed;

const BEFORE: &str =
    "name = \"probe-web\"\n\n[[step]]\nid = \"get\"\nuses = \"http_check\"\nwith = { url = \"https://example.com\" }\n";
const AFTER: &str = "name = \"probe-web\"\n\n[[step]]\nid = \"get\"\nuses = \"http_check\"\nwith = { url = \"https://example.com/health\" }\nretry = { max_attempts = 3 }\n";

fn chat(seed: &Seed, s: &mut AppState, a: ChatAction) {
    update(s, Action::Chat(a), &seed.ctx());
}

fn model() -> ModelRef {
    ModelRef::parse("local/smollm2").expect("provider/model")
}

/// A question whose answer proposes `AFTER`, checked with `result`, then a
/// last answer in words; the transcript focused.
fn drafted(seed: &Seed, result: Result<Placement, String>) -> AppState {
    let mut s = seed.state();
    update(&mut s, Action::User(UserAction::FocusPane4), &seed.ctx());
    chat(seed, &mut s, ChatAction::Models { models: vec![model()], providers: 1, prices: HashMap::new() });
    for c in "Add a retry to probe-web".chars() {
        key(seed, &mut s, KeyCode::Char(c));
    }
    key(seed, &mut s, KeyCode::Enter);
    let turn = s.chat.turn.as_ref().expect("asked").id;
    let args = serde_json::json!({ "content": AFTER }).to_string();
    let items = vec![
        ChatProgress::Trying { model: model() },
        ChatProgress::Delta {
            delta: ChatDelta::ToolCallStart { index: 0, id: "p1".into(), name: "propose_workflow".into() },
        },
        ChatProgress::Delta { delta: ChatDelta::ToolCallArgs { index: 0, fragment: args } },
    ];
    chat(seed, &mut s, ChatAction::Progress { turn, items });
    let answer = Answer { model: model(), finish: Finish::ToolCalls, usage: None };
    chat(seed, &mut s, ChatAction::Answered { turn, result: Ok(answer.clone()) });
    let checked =
        DraftAction::Checked { origin: Origin::Call { turn, call: "p1".into() }, content: AFTER.into(), result };
    chat(seed, &mut s, ChatAction::Draft(checked));
    let text = "I added a retry and probe the health path.";
    let items = vec![ChatProgress::Delta { delta: ChatDelta::Text { text: text.into() } }];
    chat(seed, &mut s, ChatAction::Progress { turn, items });
    chat(seed, &mut s, ChatAction::Answered { turn, result: Ok(Answer { finish: Finish::Stop, ..answer }) });
    key(seed, &mut s, KeyCode::Esc);
    s
}

#[test]
fn a_change_to_a_workflow_is_reviewed_as_a_diff_80x24() {
    let seed = Seed::new();
    let diff = opsdeck::engine::workflows::propose::diff("probe-web.toml", BEFORE, AFTER);
    let place = Placement {
        name: "probe-web".into(),
        path: PathBuf::from("/cfg/workflows/probe-web.toml"),
        previous: Some(BEFORE.into()),
        diff: Some(diff),
    };
    let s = drafted(&seed, Ok(place));
    assert!(s.chat.proposal.as_ref().is_some_and(|p| p.problems.is_none()));
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

#[test]
fn a_draft_that_does_not_check_shows_its_problems_80x24() {
    let seed = Seed::new();
    let mut s = drafted(
        &seed,
        Ok(Placement {
            name: "probe-web".into(),
            path: PathBuf::from("/cfg/workflows/probe-web.toml"),
            previous: None,
            diff: None,
        }),
    );
    // The user's edit does not check: its problems are shown, the save key is not offered.
    let problems =
        "workflows/probe-web.toml:7:9: retry: max_attempts must be at least 1\n  hint: see docs/workflows.md";
    let a = DraftAction::Checked {
        origin: Origin::Edited,
        content: AFTER.replace("max_attempts = 3", "max_attempts = 0"),
        result: Err(problems.into()),
    };
    chat(&seed, &mut s, ChatAction::Draft(a));
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}
