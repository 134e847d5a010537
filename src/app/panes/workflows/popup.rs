//! The workflows pane's popups: the start form (the workflow's typed inputs
//! as the tools pane's schema form, and which steps change things), a
//! yes/no before a destructive command, and approve/reject with a note.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Map, Value, json};

use crate::app::input::LineInput;
use crate::app::panes::tools::form::Form;
use crate::protocol::workflow::{InputInfo, RunId, WorkflowInfo, WorkflowsCommand};

#[derive(Debug, Clone)]
pub enum WfPopup {
    /// Start `workflow` on `source` with the form's inputs.
    Start {
        source: String,
        workflow: Box<WorkflowInfo>,
        form: Box<Form>,
        /// The "start" row below the fields is selected.
        on_start: bool,
        /// Rerun this ended run with the form's inputs instead of starting a new one.
        rerun: Option<super::rerun::RerunOf>,
    },
    /// "Are you sure?" before `command` goes to `source`.
    Confirm { source: String, command: WorkflowsCommand, question: String, lines: Vec<String> },
    /// Approve (or reject) the waiting `step` of `run`, with a note.
    Decide { source: String, run: RunId, step: String, approve: bool, message: String, note: Box<LineInput> },
}

/// A workflow's inputs as the JSON schema the tools pane's form is built from.
pub fn inputs_schema(inputs: &[InputInfo]) -> Value {
    let mut props = Map::new();
    let mut required = Vec::new();
    for i in inputs {
        let mut p = match i.kind.as_str() {
            "integer" => json!({"type": "integer"}),
            "number" => json!({"type": "number"}),
            "boolean" => json!({"type": "boolean"}),
            "enum" => json!({"type": "string", "enum": i.values}),
            _ => json!({"type": "string"}),
        };
        let mut desc = i.description.clone();
        if i.kind == "secret-name" {
            let note = "the name of a secret in the keyring (never its value)";
            desc = if desc.is_empty() { note.to_string() } else { format!("{desc} — {note}") };
        }
        if !desc.is_empty() {
            p["description"] = json!(desc);
        }
        if let Some(d) = &i.default {
            p["default"] = d.clone();
        }
        if i.required {
            required.push(json!(i.name));
        }
        props.insert(i.name.clone(), p);
    }
    json!({"type": "object", "properties": props, "required": required})
}

impl WfPopup {
    pub fn start(source: &str, w: &WorkflowInfo) -> WfPopup {
        let form = Form::new(&w.name, &inputs_schema(&w.inputs));
        let on_start = form.fields.is_empty();
        let (source, workflow, form) = (source.to_string(), Box::new(w.clone()), Box::new(form));
        WfPopup::Start { source, workflow, form, on_start, rerun: None }
    }

    /// Whether a text field takes printable keys.
    pub fn has_input(&self) -> bool {
        match self {
            WfPopup::Start { form, .. } => form.editing.is_some(),
            WfPopup::Decide { .. } => true,
            WfPopup::Confirm { .. } => false,
        }
    }

    /// A key for the focused text field.
    pub fn key(&mut self, key: KeyEvent) -> bool {
        match self {
            WfPopup::Start { form, .. } => form.edit_key(key),
            WfPopup::Decide { note, .. } => note.input(key),
            WfPopup::Confirm { .. } => false,
        }
    }

    pub fn paste(&mut self, text: &str) -> bool {
        match self {
            WfPopup::Start { form, .. } => form.paste(text),
            WfPopup::Decide { note, .. } => note.paste(text),
            WfPopup::Confirm { .. } => false,
        }
    }

    /// Finish editing a form field, keeping its text (Enter or Esc while it
    /// is edited); whether one was being edited.
    pub fn finish_edit(&mut self) -> bool {
        match self {
            WfPopup::Start { form, .. } if form.editing.is_some() => {
                form.edit_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
                true
            }
            _ => false,
        }
    }
}
