//! The chat pane's tool popups: choosing the tools a conversation offers,
//! and editing a waiting call's arguments in the tool's form.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{CallForm, ToolChoice};

/// A popup of the chat pane about tools (shown as `Overlay::ChatTools`).
#[derive(Debug, Clone)]
pub enum ChatToolsPopup {
    /// Which tools the open conversation offers the model.
    Choice(Box<ToolChoice>),
    /// The arguments of the call waiting for consent, in the tool's form.
    EditCall(Box<CallForm>),
}

impl ChatToolsPopup {
    /// Whether printable keys are typed (the choice's filter, a form field
    /// being edited).
    pub fn has_input(&self) -> bool {
        match self {
            ChatToolsPopup::Choice(_) => true,
            ChatToolsPopup::EditCall(f) => f.form.editing.is_some(),
        }
    }

    /// A key for the filter or the edited field.
    pub fn key(&mut self, key: KeyEvent) -> bool {
        match self {
            ChatToolsPopup::Choice(c) => c.key(key),
            ChatToolsPopup::EditCall(f) => {
                let changed = f.form.edit_key(key);
                f.problem = None;
                changed
            }
        }
    }

    pub fn paste(&mut self, text: &str) -> bool {
        match self {
            ChatToolsPopup::Choice(c) => c.paste(text),
            ChatToolsPopup::EditCall(f) => f.form.paste(text),
        }
    }

    /// Finish editing a form field, keeping its text; whether one was edited.
    pub fn finish_edit(&mut self) -> bool {
        match self {
            ChatToolsPopup::EditCall(f) if f.form.editing.is_some() => {
                f.form.edit_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
                true
            }
            _ => false,
        }
    }
}
