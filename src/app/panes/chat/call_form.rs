//! Editing a tool call's arguments before it runs: the tool's schema form
//! (the tools pane's [`Form`]) filled with the model's arguments. Submitting
//! checks them with the form and [`check_args`], then runs the call with
//! them; the call keeps the model's own arguments in `model_arguments` and
//! its `arguments` become what ran, so the saved conversation tells the
//! model what was used and stays a valid request for any provider.

use serde_json::Value;

use super::{ChatEffect, ChatState, Out};
use crate::app::panes::tools::form::{FieldKind, Form};
use crate::protocol::chat::ToolCallState;
use crate::protocol::tools::{ToolInfo, check_args};

/// The form of a call waiting for consent.
#[derive(Debug, Clone)]
pub struct CallForm {
    /// The turn, the assistant message and the call it edits.
    pub turn: u64,
    pub message: usize,
    pub call: String,
    /// The tool as the registry had it when the form opened.
    pub tool: ToolInfo,
    pub form: Form,
    /// The "run with these arguments" row below the fields is selected.
    pub on_run: bool,
    /// Why the arguments were refused, when no single field is to blame.
    pub problem: Option<String>,
    /// The model's arguments as it sent them (shown above the form).
    pub asked: String,
}

/// What a submit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// The call runs (with edited arguments or, unchanged, as asked).
    Ran { edited: bool },
    /// Something is wrong with the arguments: shown in the form, which stays.
    Invalid,
    /// The call no longer waits (stopped, or answered meanwhile): the form closes.
    Gone,
}

/// Leave out of `args` the values the form only showed as the schema's
/// default (a field the model's `asked` arguments leave out, still at its
/// default): the tool uses them anyway, and an untouched form is no edit.
/// A group emptied by that goes too.
fn strip_defaults(form: &Form, asked: &Value, args: &mut Value) {
    let ptr = |path: &[String]| if path.is_empty() { String::new() } else { format!("/{}", path.join("/")) };
    let remove = |args: &mut Value, path: &[String]| {
        if let Some((key, parent)) = path.split_last()
            && let Some(Value::Object(m)) = args.pointer_mut(&ptr(parent))
        {
            m.remove(key);
        }
    };
    for f in &form.fields {
        let at = ptr(&f.path);
        if f.default.is_some() && asked.pointer(&at).is_none() && args.pointer(&at) == f.default.as_ref() {
            remove(args, &f.path);
        }
    }
    for f in form.fields.iter().rev().filter(|f| f.kind == FieldKind::Group) {
        let at = ptr(&f.path);
        let empty = args.pointer(&at).and_then(Value::as_object).is_some_and(|m| m.is_empty());
        if empty && asked.pointer(&at).is_none() {
            remove(args, &f.path);
        }
    }
}

impl ChatState {
    /// The form for the call asking for consent, filled with its arguments;
    /// why not when no call asks or its tool left the registry.
    pub fn call_form(&self, catalog: &[ToolInfo]) -> Result<CallForm, String> {
        let Some((mi, ci)) = self.asked_call() else {
            return Err("no tool call waits for your answer".into());
        };
        let turn = self.turn.as_ref().map_or(0, |t| t.id);
        let call = &self.conv.messages[mi].tool_calls[ci];
        let Some(tool) = catalog.iter().find(|t| t.name == call.name) else {
            return Err(format!(
                "{} is no longer in the tool registry (its server stopped?): refuse the call or restart the server",
                crate::text::clean(&call.name)
            ));
        };
        let mut form = Form::new(&tool.name, &tool.schema);
        let args: Value = serde_json::from_str(&call.arguments).unwrap_or(Value::Object(Default::default()));
        form.fill(&args);
        Ok(CallForm {
            turn,
            message: mi,
            call: call.id.clone(),
            tool: tool.clone(),
            on_run: form.fields.is_empty(),
            form,
            problem: None,
            asked: call.arguments.clone(),
        })
    }

    /// Run the form's call with the form's arguments, once they pass the
    /// form's checks and the tool's schema ([`check_args`]).
    pub fn submit_call_form(&mut self, f: &mut CallForm, out: &mut Out) -> Submitted {
        f.form.finish_edit();
        f.problem = None;
        let Some(args) = f.form.args() else {
            let n = f.form.error_count();
            f.on_run = false;
            f.problem = Some(format!("{} to fix first", crate::text::count(n as u64, "field", "fields")));
            return Submitted::Invalid;
        };
        if let Err((field, problem)) = check_args(&f.tool.schema, &args) {
            if let Some(i) = f.form.find(&field) {
                f.form.fields[i].error = Some(problem.clone());
                f.form.selected = i;
                f.on_run = false;
            }
            f.problem = Some(format!("`{field}` {problem}"));
            return Submitted::Invalid;
        }
        let waiting = self.turn.as_ref().is_some_and(|t| t.id == f.turn && t.waiting_tools);
        let Some(call) = self
            .conv
            .messages
            .get_mut(f.message)
            .and_then(|m| m.tool_calls.iter_mut().find(|c| c.id == f.call))
            .filter(|c| waiting && c.state == ToolCallState::Asked)
        else {
            out.notice = Some("that tool call no longer waits: nothing was run".into());
            return Submitted::Gone;
        };
        let asked: Option<Value> = serde_json::from_str(&call.arguments).ok();
        let mut args = args;
        if let Some(asked) = &asked {
            strip_defaults(&f.form, asked, &mut args);
        }
        let edited = asked.as_ref() != Some(&args);
        if edited {
            if call.model_arguments.is_none() {
                call.model_arguments = Some(call.arguments.clone());
            }
            call.arguments = args.to_string();
        }
        call.state = ToolCallState::Running;
        let e =
            ChatEffect::RunTool { turn: f.turn, call: call.id.clone(), tool: call.name.clone(), args, confirmed: true };
        out.effects.push(crate::app::Effect::Chat(e));
        out.notice = Some(if edited {
            format!("{} runs with your arguments (marked edited; the model is told)", call.name)
        } else {
            format!("{} runs with the model's arguments (unchanged)", call.name)
        });
        Submitted::Ran { edited }
    }
}
