//! A question's life: sent, streamed, tool calls asked and allowed or
//! refused, rounds until the model answers without tools, stopped, saved.

use serde_json::Value;

use super::{ChatEffect, ChatState, Turn, offered, offered_now};
use crate::app::Effect;
use crate::protocol::chat::{Answer, ChatMessage, ChatProgress, Finish, ModelRef, Role, ToolCallState, ToolDef, Usage};
use crate::protocol::{Ts, tools::ToolInfo};

/// What the chat reducer needs besides its state, and what it hands back.
pub struct Out<'a> {
    pub effects: &'a mut Vec<Effect>,
    pub notice: Option<String>,
    pub now: Ts,
    pub read_only: bool,
    /// The tool registry as the tools pane knows it.
    pub catalog: &'a [ToolInfo],
    /// `[chat] max_tool_rounds`.
    pub max_rounds: u32,
    /// Unique per process: part of new conversations' ids.
    pub instance: &'a str,
}

impl Out<'_> {
    fn chat(&mut self, e: ChatEffect) {
        self.effects.push(Effect::Chat(e));
    }
}

/// The registry's tools as function definitions.
pub fn tool_defs(tools: &[&ToolInfo]) -> Vec<ToolDef> {
    tools
        .iter()
        .map(|t| ToolDef { name: t.name.clone(), description: t.description.clone(), parameters: t.schema.clone() })
        .collect()
}

/// About 4 bytes per token: the estimate used until a server reports usage.
fn estimate(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

impl ChatState {
    /// Send the input as a question.
    pub fn send(&mut self, out: &mut Out) -> bool {
        let text = self.input.text();
        // Attachments alone make a question (the model is asked about them).
        if text.trim().is_empty() && self.attach.items.is_empty() {
            return false;
        }
        if self.busy() {
            out.notice = Some("an answer is still coming: stop it first (chat_stop) or wait".into());
            return true;
        }
        if self.providers == 0 {
            self.problem = Some("no provider is configured: add a [[provider]] to config.toml (see below)".into());
            out.notice = Some(
                "not sent: no provider is configured — add a [[provider]] to config.toml (the pane shows one), \
                 or F looks for a local server"
                    .into(),
            );
            return true;
        }
        // `E`'s question is replaced now, with what followed it.
        if let Some(u) = self.editing.take()
            && u <= self.conv.messages.len()
        {
            self.conv.messages.truncate(u);
        }
        if self.conv.meta.id.is_empty() {
            // Choices made before the first question (tools, auto-allow) stay.
            let n = self.next_turn();
            self.conv.meta.id = format!("{:013}-{}-{n}", out.now.max(0), out.instance);
            self.conv.meta.created = out.now;
        }
        if self.conv.meta.title.is_empty() {
            self.conv.meta.title = crate::protocol::chat::title_from(&text);
        }
        if self.conv.meta.title.is_empty()
            && let Some(a) = self.attach.items.first()
        {
            self.conv.meta.title = crate::protocol::chat::title_from(&a.attachment.title);
        }
        if !text.trim().is_empty() {
            self.history.retain(|h| h != &text);
            self.history.push(text.clone());
            if self.history.len() > super::INPUT_HISTORY {
                self.history.remove(0);
            }
        }
        self.history_pos = None;
        self.input = crate::app::input::TextInput::new("");
        out.chat(ChatEffect::Remember(text.clone()));
        let mut msg = ChatMessage::new(Role::User, text, out.now);
        msg.attachments = self.attach.take();
        self.conv.messages.push(msg);
        self.start_round(0, out);
        true
    }

    /// Ask for the next answer of the conversation as it stands.
    fn start_round(&mut self, rounds: u32, out: &mut Out) {
        self.problem = None;
        let id = match &self.turn {
            Some(t) => t.id,
            None => self.next_turn(),
        };
        let messages = self.conv.messages.clone();
        self.conv.messages.push(ChatMessage::new(Role::Assistant, "", out.now));
        let message = self.conv.messages.len() - 1;
        self.turn = Some(Turn { id, rounds, message, trying: None, trimmed: 0, waiting_tools: false });
        self.sel = None;
        self.scroll = 0;
        let mut tools = tool_defs(&offered_now(&self.conv.meta, out.catalog, out.read_only));
        // Always offered: it runs nothing and saves nothing (draft.rs).
        tools.push(super::draft::propose_def());
        out.chat(ChatEffect::Ask { turn: id, chosen: self.chosen.clone(), messages, tools });
        self.save(out);
    }

    /// Pieces of turn `turn`'s stream.
    pub fn progress(&mut self, turn: u64, items: Vec<ChatProgress>) -> bool {
        let Some(t) = self.turn.as_mut().filter(|t| t.id == turn && !t.waiting_tools) else { return false };
        let Some(m) = self.conv.messages.get_mut(t.message) else { return false };
        for item in items {
            match item {
                ChatProgress::Trying { model } => {
                    m.model = Some(model.clone());
                    t.trying = Some(model);
                }
                ChatProgress::Skipped { skipped } => m.skipped.push(skipped),
                ChatProgress::Trimmed { dropped } => t.trimmed = dropped,
                ChatProgress::Delta { delta } => {
                    if m.content.is_empty() && m.tool_calls.is_empty() {
                        m.ts = m.ts.max(0);
                    }
                    m.apply(&delta);
                }
            }
        }
        true
    }

    /// Turn `turn`'s round ended.
    pub fn answered(&mut self, turn: u64, result: Result<Answer, String>, out: &mut Out) -> bool {
        let Some(t) = self.turn.clone().filter(|t| t.id == turn && !t.waiting_tools) else { return false };
        let prompt_estimate: u64 = self.conv.messages[..t.message].iter().map(|m| estimate(&m.content)).sum();
        let Some(m) = self.conv.messages.get_mut(t.message) else { return false };
        let answer = match result {
            Ok(a) => a,
            Err(e) => {
                // Nothing arrived: no model answered, whichever was tried last.
                if m.content.is_empty() && m.tool_calls.is_empty() {
                    m.model = None;
                }
                m.finish = Some(Finish::Cut { error: e });
                return self.end_turn(out);
            }
        };
        m.model = Some(answer.model);
        m.usage = Some(answer.usage.unwrap_or(Usage {
            input: prompt_estimate,
            output: estimate(&m.content)
                + m.tool_calls.iter().map(|c| estimate(&c.arguments) + estimate(&c.name)).sum::<u64>(),
            estimated: true,
        }));
        // Calls count when the answer is whole; some servers say `stop` with calls.
        let calls = !m.tool_calls.is_empty() && matches!(answer.finish, Finish::ToolCalls | Finish::Stop);
        // Only a whole answer's fenced workflow is offered as a draft: a cut
        // one's file is cut too.
        let whole = answer.finish.is_complete();
        m.finish = Some(answer.finish);
        if !calls {
            // A call in an answer cut short is never run: its arguments may be cut too.
            for c in &mut m.tool_calls {
                c.state = ToolCallState::Refused { reason: "the answer ended before the call was complete".into() };
            }
            // Every call is answered, so the record stays a valid request.
            let calls = m.tool_calls.clone();
            let content = m.content.clone();
            self.settle_results(&calls, out.now);
            if whole {
                self.check_answer(turn, &content, out);
            }
            return self.end_turn(out);
        }
        if t.rounds + 1 >= out.max_rounds.max(1) {
            for c in &mut m.tool_calls {
                c.state = ToolCallState::Refused {
                    reason: format!("the tool-call round limit ({}) was reached", out.max_rounds),
                };
            }
            out.notice = Some(format!("stopped after {} tool-call rounds ([chat] max_tool_rounds)", out.max_rounds));
            return self.end_turn(out);
        }
        let offered = offered(&self.conv.meta, out.catalog);
        let auto = self.conv.meta.auto_allow_read_only;
        let mut run = Vec::new();
        let mut check = Vec::new();
        for c in &mut m.tool_calls {
            if c.name == super::draft::PROPOSE_TOOL {
                c.state = match ChatState::proposal_content(&c.arguments) {
                    Ok(content) => {
                        check.push((c.id.clone(), content));
                        ToolCallState::Running
                    }
                    Err(reason) => ToolCallState::Refused { reason },
                };
                continue;
            }
            let tool = offered.iter().find(|t| t.name == c.name);
            let args: Result<Value, String> = if c.arguments.trim().is_empty() {
                Ok(Value::Object(Default::default()))
            } else {
                serde_json::from_str(&c.arguments).map_err(|e| format!("the arguments are not valid JSON: {e}"))
            };
            c.state = match (tool, args) {
                (None, _) => ToolCallState::Refused {
                    reason: format!(
                        "unknown tool {:?}; the tools offered are: {}",
                        c.name,
                        offered
                            .iter()
                            .map(|t| t.name.as_str())
                            .chain([super::draft::PROPOSE_TOOL])
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                },
                (Some(_), Err(e)) => ToolCallState::Refused { reason: e },
                (Some(t), Ok(args)) => {
                    match crate::protocol::tools::check_args(&t.schema, &args).map_err(|(f, p)| format!("`{f}` {p}")) {
                        Err(e) => ToolCallState::Refused { reason: format!("invalid arguments: {e}") },
                        Ok(()) if t.mutating && out.read_only => ToolCallState::Refused {
                            reason: format!("{} changes things and opsdeck runs with --read-only", t.name),
                        },
                        Ok(()) if !t.mutating && auto => {
                            run.push((c.id.clone(), t.name.clone(), args));
                            ToolCallState::Running
                        }
                        Ok(()) => ToolCallState::Asked,
                    }
                }
            };
        }
        if let Some(t) = self.turn.as_mut() {
            t.waiting_tools = true;
        }
        for (call, tool, args) in run {
            out.chat(ChatEffect::RunTool { turn, call, tool, args, confirmed: false });
        }
        for (call, content) in check {
            ChatState::check_call(turn, &call, content, out);
        }
        self.save(out);
        self.maybe_next_round(out);
        true
    }

    /// The first call of the waiting answer that asks for consent.
    pub fn asked_call(&self) -> Option<(usize, usize)> {
        let t = self.turn.as_ref().filter(|t| t.waiting_tools)?;
        let m = self.conv.messages.get(t.message)?;
        let i = m.tool_calls.iter().position(|c| c.state == ToolCallState::Asked)?;
        Some((t.message, i))
    }

    /// Allow (`true`) or refuse the first call asking for consent.
    pub fn consent(&mut self, allow: bool, out: &mut Out) -> bool {
        let Some((mi, ci)) = self.asked_call() else { return false };
        let turn = self.turn.as_ref().map_or(0, |t| t.id);
        let call = &mut self.conv.messages[mi].tool_calls[ci];
        if allow {
            let args = serde_json::from_str(&call.arguments).unwrap_or(Value::Object(Default::default()));
            call.state = ToolCallState::Running;
            let e = ChatEffect::RunTool { turn, call: call.id.clone(), tool: call.name.clone(), args, confirmed: true };
            out.chat(e);
        } else {
            call.state = ToolCallState::Refused { reason: "the user refused to run it".into() };
            self.maybe_next_round(out);
        }
        true
    }

    /// A tool call ran.
    pub fn tool_done(&mut self, turn: u64, call: &str, result: Result<String, String>, out: &mut Out) -> bool {
        let Some(t) = self.turn.as_ref().filter(|t| t.id == turn && t.waiting_tools) else { return false };
        let mi = t.message;
        let Some(c) = self.conv.messages[mi].tool_calls.iter_mut().find(|c| c.id == call) else { return false };
        c.state = ToolCallState::Done { ok: result.is_ok() };
        let mut text = match result {
            Ok(r) => r,
            Err(e) => format!("error: {e}"),
        };
        if c.model_arguments.is_some() {
            // The call's arguments in the record are what ran; say who chose them.
            text.push_str(
                "\n\n(The user edited this call's arguments before it ran; it ran with the arguments of the call.)",
            );
        }
        let mut msg = ChatMessage::new(Role::Tool, text, out.now);
        msg.tool_call_id = Some(call.to_string());
        self.results.push(msg);
        self.maybe_next_round(out);
        true
    }

    /// Every call of the waiting answer is settled: their results (in call
    /// order) join the conversation and the next round is asked.
    fn maybe_next_round(&mut self, out: &mut Out) {
        let Some(t) = self.turn.clone().filter(|t| t.waiting_tools) else { return };
        let calls = &self.conv.messages[t.message].tool_calls;
        if calls.iter().any(|c| matches!(c.state, ToolCallState::Asked | ToolCallState::Running)) {
            return;
        }
        let calls = calls.clone();
        self.settle_results(&calls, out.now);
        self.start_round(t.rounds + 1, out);
    }

    /// Tool messages for `calls`, in order: a result that came back, or why
    /// the call did not run.
    fn settle_results(&mut self, calls: &[crate::protocol::chat::ToolCall], now: Ts) {
        let mut results = std::mem::take(&mut self.results);
        for c in calls {
            let msg = match results.iter().position(|r| r.tool_call_id.as_deref() == Some(&c.id)) {
                Some(i) => results.remove(i),
                None => {
                    let reason = match &c.state {
                        ToolCallState::Refused { reason } => format!("not run: {reason}"),
                        _ => "not run: the user stopped the answer".into(),
                    };
                    let mut m = ChatMessage::new(Role::Tool, reason, now);
                    m.tool_call_id = Some(c.id.clone());
                    m
                }
            };
            self.conv.messages.push(msg);
        }
    }

    /// Stop the question in progress; what arrived is kept.
    pub fn stop(&mut self, out: &mut Out) -> bool {
        let Some(t) = self.turn.clone() else { return false };
        if t.waiting_tools {
            let calls = &mut self.conv.messages[t.message].tool_calls;
            for c in calls.iter_mut().filter(|c| matches!(c.state, ToolCallState::Asked | ToolCallState::Running)) {
                c.state = ToolCallState::Refused { reason: "the user stopped the answer".into() };
            }
            let calls = calls.clone();
            self.settle_results(&calls, out.now);
        } else {
            out.chat(ChatEffect::Stop { turn: t.id });
            if let Some(m) = self.conv.messages.get_mut(t.message) {
                m.finish = Some(Finish::Cancelled);
            }
        }
        out.notice = Some("■ stopped: what arrived is kept".into());
        self.end_turn(out)
    }

    fn end_turn(&mut self, out: &mut Out) -> bool {
        self.turn = None;
        self.results.clear();
        self.save(out);
        true
    }

    /// Write the conversation to the store.
    pub(super) fn save(&mut self, out: &mut Out) {
        if self.conv.meta.id.is_empty() {
            return;
        }
        self.conv.meta.updated = out.now;
        self.conv.meta.messages = self.conv.messages.len().min(u32::MAX as usize) as u32;
        self.conv.meta.usage = self.conversation_usage();
        out.chat(ChatEffect::Save(Box::new(self.conv.clone())));
    }

    /// Ask for the last answer again (the answers after the last question are dropped).
    pub fn regenerate(&mut self, out: &mut Out) -> bool {
        if self.busy() {
            return false;
        }
        let Some(u) = self.last_of(Role::User) else { return false };
        self.conv.messages.truncate(u + 1);
        self.start_round(0, out);
        true
    }

    /// Put the last question back in the input; sending replaces it and
    /// what followed (`editing`), and until then the conversation keeps them.
    pub fn edit_last(&mut self, out: &mut Out) -> bool {
        if self.busy() {
            return false;
        }
        let Some(u) = self.last_of(Role::User) else { return false };
        let text = self.conv.messages[u].content.clone();
        // Its attachments wait again with the text.
        self.attach.restore(self.conv.messages[u].attachments.clone());
        self.editing = Some(u);
        self.input = crate::app::input::TextInput::new(&text);
        out.notice = Some("editing the last question: Enter sends it in place of the old one and its answer".into());
        true
    }

    /// The last answer was cut, stopped or unfinished: ask the model to go on.
    pub fn can_continue(&self) -> bool {
        !self.busy()
            && self
                .conv
                .messages
                .last()
                .is_some_and(|m| m.role == Role::Assistant && m.finish.as_ref().is_some_and(|f| !f.is_complete()))
    }

    /// Ask the model to go on from a cut answer; one where nothing arrived
    /// is asked again instead (there is nothing to go on from).
    pub fn continue_answer(&mut self, out: &mut Out) -> bool {
        if !self.can_continue() {
            return false;
        }
        if self.conv.messages.last().is_some_and(|m| m.content.is_empty() && m.tool_calls.is_empty()) {
            out.notice = Some("nothing had arrived to continue from: asked again".into());
            return self.regenerate(out);
        }
        let text = "Continue your previous answer from exactly where it stopped; do not repeat it.";
        self.conv.messages.push(ChatMessage::new(Role::User, text, out.now));
        self.start_round(0, out);
        true
    }

    /// Start an empty conversation (the open one stays saved).
    pub fn new_conversation(&mut self, now: Ts) -> bool {
        if self.busy() {
            return false;
        }
        self.conv = super::new_conversation(String::new(), now);
        self.editing = None;
        self.conv.meta.model = self.chosen.clone();
        self.sel = None;
        self.scroll = 0;
        self.problem = None;
        true
    }

    /// Ask the next offered model first from now on.
    pub fn model_next(&mut self) -> Option<&ModelRef> {
        if self.models.is_empty() {
            return None;
        }
        let i = self.chosen.as_ref().and_then(|c| self.models.iter().position(|m| m == c));
        let next = i.map_or(if self.models.len() > 1 { 1 } else { 0 }, |i| (i + 1) % self.models.len());
        self.chosen = Some(self.models[next].clone());
        self.chosen.as_ref()
    }
}
