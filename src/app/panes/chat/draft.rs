//! Workflow drafts: the assistant proposes a workflow file, opsdeck checks
//! it as `opsdeck check` does, the problems go back to the model until it
//! checks (within `[chat] max_tool_rounds`), and the user saves, edits or
//! drops it. Nothing is saved or run without the user.
//!
//! A proposal comes from the built-in function [`PROPOSE_TOOL`] (always
//! offered: it runs nothing and saves nothing, so it asks no consent), or
//! from a fenced block of a final answer that reads as a workflow (small
//! models write one instead of calling the function). The checks and the
//! files are the runtime's ([`DraftEffect`]); the outcomes come back as
//! [`DraftAction`]s.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{ChatEffect, ChatState, Out};
use crate::app::Effect;
use crate::protocol::chat::{ToolCallState, ToolDef};

/// The built-in chat function that proposes a workflow file.
pub const PROPOSE_TOOL: &str = "propose_workflow";

/// The function definition offered to the model in every conversation.
pub fn propose_def() -> ToolDef {
    ToolDef {
        name: PROPOSE_TOOL.into(),
        description: "Propose an opsdeck workflow file (TOML) for the user to review. opsdeck checks it and \
            answers with the problems (file:line:col) to fix, or says it is shown to the user; nothing is \
            saved or run without the user. Format: name = \"letters-digits-dashes\", optional description, \
            [inputs.NAME] with type = string|integer|number|boolean|enum|secret-name; then [[step]] tables, \
            each with a unique id, uses = a tool name, \"shell\" (with = { command = \"…\" }), \"http\" \
            (with = { method, url }) or \"approve\" (message = \"…\"), optional needs = [step ids], \
            timeout = \"2m\", retry = { max_attempts = 3 }, if = \"{{ … }}\". Templates read \
            {{ inputs.NAME }} and {{ steps.ID.output }}. To change an existing workflow, keep its name."
            .into(),
        parameters: json!({
            "type": "object",
            "properties": {
                "content": {"type": "string", "description": "the whole workflow file, TOML"}
            },
            "required": ["content"]
        }),
    }
}

/// Where a checked draft came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A `propose_workflow` call of turn `turn`: the outcome is its result.
    Call { turn: u64, call: String },
    /// A fenced block of the final answer of turn `turn`.
    Answer { turn: u64 },
    /// The user's edit of the draft in `$EDITOR`.
    Edited,
}

/// Where a draft that checks would be saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The workflow's name.
    pub name: String,
    /// The file it is saved as (the existing workflow's file for a change).
    pub path: PathBuf,
    /// That file's text now (`None`: a new file); saved only while it holds this.
    pub previous: Option<String>,
    /// A unified diff from `previous` to the draft (for a change).
    pub diff: Option<String>,
}

/// A draft waiting for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The whole file.
    pub content: String,
    /// Where it goes; `None` when it does not check.
    pub place: Option<Placement>,
    /// Why it does not check (`path:line:col: …` lines); saving is refused.
    pub problems: Option<String>,
    /// The turn that proposed it.
    pub turn: u64,
}

/// What the drafts ask of the runtime.
#[derive(Debug, Clone, PartialEq)]
pub enum DraftEffect {
    /// Check `content` as a file of the workflows folder (answered by
    /// [`DraftAction::Checked`]).
    Check { origin: Origin, content: String },
    /// Write `content` to `place.path` atomically, only while the file holds
    /// `place.previous` (answered by [`DraftAction::Saved`]).
    Save { content: String, place: Placement },
    /// Write `content` to a scratch file for the editor (answered by
    /// [`DraftAction::ReadyToEdit`]).
    Open { name: String, content: String },
    /// Read the scratch file `path` back and check it (answered by
    /// [`DraftAction::Checked`] from [`Origin::Edited`]).
    Reread { path: PathBuf },
}

/// Outcomes of [`DraftEffect`]s.
#[derive(Debug, Clone, PartialEq)]
pub enum DraftAction {
    /// `content` was checked: where it goes, or its problems.
    Checked { origin: Origin, content: String, result: Result<Placement, String> },
    /// The file was written (its path), or why not.
    Saved(Result<PathBuf, String>),
    /// The draft is in scratch file `path`, ready for the editor.
    ReadyToEdit { path: PathBuf },
    /// The editor on scratch file `path` exited.
    Edited { path: PathBuf },
}

/// The fenced block of `md` that reads as a workflow file (the last one
/// that has a `name` and a `[[step]]`), when any.
pub fn workflow_block(md: &str) -> Option<String> {
    use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for ev in Parser::new(md) {
        match ev {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => open = Some((info.to_string(), String::new())),
            Event::Text(t) => {
                if let Some((_, b)) = &mut open {
                    b.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => blocks.extend(open.take()),
            _ => {}
        }
    }
    blocks.into_iter().rev().find_map(|(info, text)| {
        let lang = info.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
        let looks = text.contains("[[step]]") && text.lines().any(|l| l.trim_start().starts_with("name"));
        (matches!(lang.as_str(), "" | "toml") && looks).then_some(text)
    })
}

impl Out<'_> {
    fn draft(&mut self, e: DraftEffect) {
        self.effects.push(Effect::Chat(ChatEffect::Draft(e)));
    }
}

impl ChatState {
    /// The `content` of a `propose_workflow` call's arguments, or why it has none.
    pub(super) fn proposal_content(arguments: &str) -> Result<String, String> {
        let v: Value = serde_json::from_str(arguments).map_err(|e| format!("the arguments are not valid JSON: {e}"))?;
        match v.get("content") {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            _ => Err("invalid arguments: `content` (the whole workflow file, a string) is required".into()),
        }
    }

    /// Lines of the file a `propose_workflow` call's arguments hold (0 while
    /// they are not whole JSON).
    pub fn proposal_lines(arguments: &str) -> usize {
        Self::proposal_content(arguments).map_or(0, |c| c.lines().count())
    }

    /// Ask for a `propose_workflow` call to be checked (it runs nothing: no consent).
    pub(super) fn check_call(turn: u64, call: &str, content: String, out: &mut Out) {
        out.draft(DraftEffect::Check { origin: Origin::Call { turn, call: call.to_string() }, content });
    }

    /// A final answer of turn `turn` with no proposal: a fenced workflow in
    /// it is checked the same way, to offer the same review.
    pub(super) fn check_answer(&mut self, turn: u64, content: &str, out: &mut Out) {
        if self.proposal.as_ref().is_some_and(|p| p.turn == turn) {
            return;
        }
        if let Some(block) = workflow_block(content) {
            out.draft(DraftEffect::Check { origin: Origin::Answer { turn }, content: block });
        }
    }

    /// A draft was checked, saved, or edited.
    pub fn on_draft(&mut self, a: DraftAction, editor: &str, out: &mut Out) -> bool {
        match a {
            DraftAction::Checked { origin, content, result } => self.checked(origin, content, result, out),
            DraftAction::Saved(Ok(path)) => {
                self.proposal = None;
                out.notice = Some(format!(
                    "✓ workflow saved as {}: it shows in the workflows pane (2) once read",
                    path.display()
                ));
                true
            }
            DraftAction::Saved(Err(e)) => {
                out.notice = Some(format!("✗ the workflow draft was not saved: {e}"));
                true
            }
            DraftAction::ReadyToEdit { path } => {
                let then = DraftAction::Edited { path: path.clone() };
                out.effects.push(Effect::EditFile { path, editor: editor.to_string(), then: Some(then) });
                false
            }
            DraftAction::Edited { path } => {
                if self.proposal.is_some() {
                    out.draft(DraftEffect::Reread { path });
                }
                false
            }
        }
    }

    fn checked(&mut self, origin: Origin, content: String, result: Result<Placement, String>, out: &mut Out) -> bool {
        let ok = result.is_ok();
        let turn = match &origin {
            Origin::Call { turn, .. } | Origin::Answer { turn } => *turn,
            Origin::Edited => match &self.proposal {
                Some(p) => p.turn,
                None => return false,
            },
        };
        let said = match (&origin, &result) {
            (Origin::Call { .. }, Ok(p)) => Ok(format!(
                "valid: shown to the user for review as {} ({}); nothing is saved unless the user saves it",
                p.path.file_name().map(|f| f.to_string_lossy()).unwrap_or_default(),
                if p.previous.is_some() { "a change to the existing file, with its diff" } else { "a new file" },
            )),
            (Origin::Call { .. }, Err(e)) => {
                Err(format!("the workflow does not check; fix these and call {PROPOSE_TOOL} again:\n{e}"))
            }
            _ => Ok(String::new()),
        };
        let keep = |p: &Option<Proposal>| p.as_ref().and_then(|p| p.place.clone());
        match result {
            Ok(place) => {
                self.proposal = Some(Proposal { content, place: Some(place), problems: None, turn });
            }
            // The model gets the problems back; the last good draft stays.
            Err(_) if matches!(origin, Origin::Call { .. }) => {}
            Err(e) => {
                let place = if origin == Origin::Edited { keep(&self.proposal) } else { None };
                self.proposal = Some(Proposal { content, place, problems: Some(e), turn });
            }
        }
        match origin {
            Origin::Call { turn, call } => self.tool_done(turn, &call, said, out),
            Origin::Answer { .. } => {
                out.notice = Some(if ok {
                    "the answer holds a workflow: review it below (save, edit or drop)".into()
                } else {
                    "the workflow in the answer does not check: its problems are shown below".into()
                });
                true
            }
            Origin::Edited => {
                out.notice = Some(if ok {
                    "✓ the edited draft checks: review it below".into()
                } else {
                    "✗ the edited draft does not check: its problems are shown below".into()
                });
                true
            }
        }
    }

    /// Save the draft (refused while it does not check).
    pub fn save_draft(&mut self, out: &mut Out) -> bool {
        let Some(p) = &self.proposal else { return false };
        if out.read_only {
            out.notice = Some(crate::app::read_only::read_only_refusal("saving a workflow draft"));
            return true;
        }
        match (&p.place, &p.problems) {
            (Some(place), None) => {
                let e = DraftEffect::Save { content: p.content.clone(), place: place.clone() };
                out.draft(e);
                out.notice = Some(format!("saving {}…", place.path.display()));
            }
            _ => {
                out.notice = Some("✗ the draft does not check: edit it (its problems are shown) or drop it".into());
            }
        }
        true
    }

    /// Open the draft in `$EDITOR` (a scratch copy; checked again after).
    pub fn edit_draft(&mut self, out: &mut Out) -> bool {
        let Some(p) = &self.proposal else { return false };
        let name = p.place.as_ref().map_or_else(|| "workflow-draft".to_string(), |pl| pl.name.clone());
        out.draft(DraftEffect::Open { name, content: p.content.clone() });
        false
    }

    /// Drop the draft (nothing was saved).
    pub fn drop_draft(&mut self, out: &mut Out) -> bool {
        if self.proposal.take().is_none() {
            return false;
        }
        out.notice = Some("workflow draft dropped: nothing was saved".into());
        true
    }
}

/// A `propose_workflow` call's state as the transcript words it.
pub fn call_words(state: &ToolCallState) -> Option<&'static str> {
    Some(match state {
        ToolCallState::Running => "⟳ opsdeck checks it as `opsdeck check` does (runs nothing, saves nothing)",
        ToolCallState::Done { ok: true } => "✓ it checks: shown for review (checked by opsdeck, no consent needed)",
        ToolCallState::Done { ok: false } => "✗ it does not check: the problems went back to the model",
        _ => return None,
    })
}
