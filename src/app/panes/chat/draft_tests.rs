//! Workflow drafts: a proposal checked, its problems sent back, a valid one
//! reviewed, saved, edited or dropped; read-only and the round limit.

use std::path::PathBuf;

use super::{Rig, asks, call};
use crate::app::Effect;
use crate::app::panes::chat::draft::{DraftAction, DraftEffect, Origin, PROPOSE_TOOL, Placement, workflow_block};
use crate::app::panes::chat::{ChatEffect, Out};
use crate::protocol::chat::{ChatDelta, Finish, Role, ToolCallState};

const BAD: &str = "name = \"probe\"\n[[step]]\nid = \"get\"\nuses = \"nope\"\n";
const GOOD: &str = "name = \"probe\"\n[[step]]\nid = \"get\"\nuses = \"http_check\"\nwith = { url = \"https://x\" }\n";

fn args(content: &str) -> String {
    serde_json::json!({ "content": content }).to_string()
}

fn place() -> Placement {
    Placement { name: "probe".into(), path: PathBuf::from("/cfg/workflows/probe.toml"), previous: None, diff: None }
}

/// The draft effects among `effects`.
fn drafts(effects: &[ChatEffect]) -> Vec<&DraftEffect> {
    effects.iter().filter_map(|e| if let ChatEffect::Draft(d) = e { Some(d) } else { None }).collect()
}

/// A model's answer proposing `content` (call `id`), ended.
fn propose(r: &mut Rig, id: &str, content: &str) -> Vec<ChatEffect> {
    r.stream(call(0, id, PROPOSE_TOOL, &args(content)));
    r.answer(Finish::ToolCalls)
}

fn checked(r: &mut Rig, origin: Origin, content: &str, result: Result<Placement, String>) -> Vec<ChatEffect> {
    let a = DraftAction::Checked { origin, content: content.into(), result };
    r.run(|c, o| c.on_draft(a, "vi", o)).1
}

#[test]
fn a_bad_proposal_goes_back_with_its_problems_and_a_good_one_becomes_a_draft() {
    let mut r = Rig::new();
    r.ask("write a workflow that probes x");
    let turn = r.turn();
    let effects = propose(&mut r, "p1", BAD);
    // Checked at once: it runs nothing, so no consent is asked.
    assert_eq!(
        drafts(&effects),
        [&DraftEffect::Check { origin: Origin::Call { turn, call: "p1".into() }, content: BAD.into() }]
    );
    assert_eq!(r.chat.asked_call(), None, "no consent asked");
    assert_eq!(r.chat.conv.messages[1].tool_calls[0].state, ToolCallState::Running);

    let problems = "workflows/probe.toml:4:8: step get: no built-in tool is named \"nope\"\n  hint: …";
    let origin = Origin::Call { turn, call: "p1".into() };
    let effects = checked(&mut r, origin, BAD, Err(problems.into()));
    let asked = asks(&effects);
    assert_eq!(asked.len(), 1, "the problems go back to the model: {effects:?}");
    let result = asked[0].last().unwrap();
    assert_eq!((result.role, result.tool_call_id.as_deref()), (Role::Tool, Some("p1")));
    assert!(result.content.contains("does not check") && result.content.contains("probe.toml:4:8"), "{result:?}");
    assert!(r.chat.proposal.is_none(), "nothing to review yet");

    let effects = propose(&mut r, "p2", GOOD);
    assert_eq!(drafts(&effects).len(), 1);
    let effects = checked(&mut r, Origin::Call { turn, call: "p2".into() }, GOOD, Ok(place()));
    let result = asks(&effects)[0].last().unwrap().clone();
    assert!(result.content.starts_with("valid: shown to the user for review as probe.toml"), "{result:?}");
    let p = r.chat.proposal.clone().expect("a draft");
    assert_eq!((p.content.as_str(), p.place, p.problems, p.turn), (GOOD, Some(place()), None, turn));

    // The final answer repeats the file in a fence: no second check.
    r.stream(vec![ChatDelta::Text { text: format!("Here:\n```toml\n{GOOD}```\n") }]);
    let effects = r.answer(Finish::Stop);
    assert!(drafts(&effects).is_empty(), "{effects:?}");
    assert!(r.chat.turn.is_none());
    // The record stays a valid request: every call has its result.
    let calls = r.chat.conv.messages.iter().flat_map(|m| &m.tool_calls).count();
    let results = r.chat.conv.messages.iter().filter(|m| m.role == Role::Tool).count();
    assert_eq!(calls, results);
}

#[test]
fn a_proposal_without_content_is_refused_back_and_the_round_limit_holds() {
    let mut r = Rig::new();
    r.ask("draft it");
    r.stream(call(0, "p1", PROPOSE_TOOL, "{\"name\":\"x\"}"));
    let effects = r.answer(Finish::ToolCalls);
    assert!(drafts(&effects).is_empty());
    let back = asks(&effects)[0].last().unwrap().content.clone();
    assert!(back.contains("`content`"), "{back}");

    let mut r = Rig::new();
    r.max_rounds = 1;
    r.ask("draft it");
    let effects = propose(&mut r, "p1", GOOD);
    assert!(drafts(&effects).is_empty(), "past the limit nothing is checked");
    let s = &r.chat.conv.messages[1].tool_calls[0].state;
    assert!(matches!(s, ToolCallState::Refused { reason } if reason.contains("round limit")), "{s:?}");
}

#[test]
fn a_draft_is_saved_only_when_it_checks_and_never_under_read_only() {
    let mut r = Rig::new();
    r.chat.proposal = Some(super::Proposal { content: GOOD.into(), place: Some(place()), problems: None, turn: 1 });
    r.read_only = true;
    let (changed, effects, notice) = r.run(|c, o| c.save_draft(o));
    assert!(changed && effects.is_empty());
    assert!(notice.unwrap().contains("read-only"));

    r.read_only = false;
    let (_, effects, _) = r.run(|c, o| c.save_draft(o));
    assert_eq!(drafts(&effects), [&DraftEffect::Save { content: GOOD.into(), place: place() }]);
    let path = place().path;
    let (_, _, notice) = r.run(|c, o| c.on_draft(DraftAction::Saved(Ok(path)), "vi", o));
    assert!(notice.unwrap().contains("/cfg/workflows/probe.toml"));
    assert!(r.chat.proposal.is_none());

    // A draft with problems is not saved.
    r.chat.proposal = Some(super::Proposal { content: BAD.into(), place: None, problems: Some("x".into()), turn: 1 });
    let (_, effects, notice) = r.run(|c, o| c.save_draft(o));
    assert!(effects.is_empty() && notice.unwrap().contains("does not check"));
    let (_, _, notice) = r.run(|c, o| c.drop_draft(o));
    assert!(notice.unwrap().contains("nothing was saved"));
    assert!(r.chat.proposal.is_none());
}

#[test]
fn an_edited_draft_goes_to_the_editor_and_is_checked_again() {
    let mut r = Rig::new();
    r.chat.proposal = Some(super::Proposal { content: GOOD.into(), place: Some(place()), problems: None, turn: 3 });
    let (_, effects, _) = r.run(|c, o| c.edit_draft(o));
    assert_eq!(drafts(&effects), [&DraftEffect::Open { name: "probe".into(), content: GOOD.into() }]);
    // The scratch copy goes to the editor; its exit rereads it.
    let path = PathBuf::from("/data/exports/workflow-drafts/probe.toml");
    let mut effects = Vec::new();
    let mut out = Out {
        effects: &mut effects,
        notice: None,
        now: 1,
        read_only: false,
        catalog: &[],
        max_rounds: 4,
        instance: "t",
    };
    r.chat.on_draft(DraftAction::ReadyToEdit { path: path.clone() }, "nvim -p", &mut out);
    assert_eq!(
        effects,
        [Effect::EditFile {
            path: path.clone(),
            editor: "nvim -p".into(),
            then: Some(DraftAction::Edited { path: path.clone() })
        }]
    );
    let (_, effects, _) = r.run(|c, o| c.on_draft(DraftAction::Edited { path: path.clone() }, "vi", o));
    assert_eq!(drafts(&effects), [&DraftEffect::Reread { path }]);
    let effects = checked(&mut r, Origin::Edited, BAD, Err("workflows/probe.toml:4:8: no".into()));
    assert!(effects.is_empty(), "{effects:?}");
    let p = r.chat.proposal.clone().unwrap();
    let problems = Some("workflows/probe.toml:4:8: no");
    assert_eq!((p.content.as_str(), p.problems.as_deref(), p.place, p.turn), (BAD, problems, Some(place()), 3));
}

#[test]
fn a_workflow_written_in_a_fenced_block_is_offered_the_same_review() {
    let mut r = Rig::new();
    r.ask("write a workflow");
    let turn = r.turn();
    r.stream(vec![ChatDelta::Text { text: format!("Sure:\n\n```toml\n{GOOD}```\n") }]);
    let effects = r.answer(Finish::Stop);
    assert_eq!(drafts(&effects), [&DraftEffect::Check { origin: Origin::Answer { turn }, content: GOOD.into() }]);
    let (_, _, notice) = r.run(|c, o| {
        let a = DraftAction::Checked {
            origin: Origin::Answer { turn },
            content: BAD.into(),
            result: Err("p:1:1: x".into()),
        };
        c.on_draft(a, "vi", o)
    });
    assert!(notice.unwrap().contains("does not check"));
    let p = r.chat.proposal.clone().unwrap();
    assert_eq!((p.problems.as_deref(), p.place), (Some("p:1:1: x"), None));
}

#[test]
fn only_fenced_toml_that_looks_like_a_workflow_is_taken() {
    assert_eq!(workflow_block(&format!("```\n{GOOD}```")), Some(GOOD.into()));
    assert_eq!(workflow_block(&format!("```bash\n{GOOD}```")), None);
    assert_eq!(workflow_block("```toml\n[server]\nname = \"x\"\n```"), None);
    assert_eq!(workflow_block("no code at all, [[step]] name"), None);
    // Hostile text never panics.
    assert_eq!(workflow_block("```toml\n\u{0}[[step]]\u{202e}name"), None);
    let unclosed = format!("```toml\n{GOOD}");
    assert_eq!(workflow_block(&unclosed), Some(GOOD.into()), "an unclosed fence runs to the end");
}
