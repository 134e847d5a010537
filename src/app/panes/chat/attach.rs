//! Attachments waiting for the next question (issue 13): added from the
//! other panes with `attach_to_chat`, shown above the input, removed with
//! `chat_detach_last` / `chat_detach_all`, and put on the user message when
//! it is sent. Also the gathers in flight: a run's attachment whose steps or
//! logs the source is asked for first.

use std::collections::BTreeMap;

use crate::protocol::Ts;
use crate::protocol::chat::Attachment;
use crate::protocol::workflow::{Run, RunId, StepRun};

/// Most attachments one question carries.
pub const MAX_PENDING: usize = 8;
/// Most gathers (reads for a run's attachment) in flight at once.
pub const MAX_GATHERS: usize = 4;

/// One attachment waiting, with what it is of (`alert:local:disk_full{…}`):
/// the same thing attached again replaces it rather than adding a copy.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingAttachment {
    pub key: String,
    pub attachment: Attachment,
}

/// What came of adding an attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// It joins the list; `n` are waiting now.
    New(usize),
    /// The same thing was attached already: its text is the fresh one now.
    Updated(usize),
    /// [`MAX_PENDING`] are waiting already: nothing changed.
    Full,
}

/// A read in flight for a run's attachment.
#[derive(Debug, Clone, PartialEq)]
pub enum Want {
    /// `show_run`: the attempt's steps.
    Steps,
    /// `step_log` of this step.
    Log(String),
}

/// A run's attachment being put together: its header, its steps once known,
/// the logs read so far, and the commands still unanswered (by command id).
#[derive(Debug, Clone, PartialEq)]
pub struct RunGather {
    pub source: String,
    pub run: RunId,
    pub attempt: u32,
    pub header: Run,
    /// `None` until `show_run` answers (or when the pane had them).
    pub steps: Option<Vec<StepRun>>,
    /// The step selected in the run's detail, whose log is wanted too.
    pub selected: Option<String>,
    /// (step id, lines) of the logs to attach, in the order wanted.
    pub logs: Vec<(String, Vec<String>)>,
    pub waiting: BTreeMap<String, Want>,
    pub since: Ts,
}

/// The chat input's attachments and the gathers in flight.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pending {
    pub items: Vec<PendingAttachment>,
    pub gathers: Vec<RunGather>,
}

impl Pending {
    /// Add `attachment` of `key` (replacing one of the same key).
    pub fn add(&mut self, key: String, attachment: Attachment) -> Added {
        if let Some(p) = self.items.iter_mut().find(|p| p.key == key) {
            p.attachment = attachment;
            return Added::Updated(self.items.len());
        }
        if self.items.len() >= MAX_PENDING {
            return Added::Full;
        }
        self.items.push(PendingAttachment { key, attachment });
        Added::New(self.items.len())
    }

    /// Remove the last one added; its title.
    pub fn remove_last(&mut self) -> Option<String> {
        self.items.pop().map(|p| p.attachment.title)
    }

    /// Remove them all; how many there were.
    pub fn clear(&mut self) -> usize {
        std::mem::take(&mut self.items).len()
    }

    /// Hand the attachments to a message being sent.
    pub fn take(&mut self) -> Vec<Attachment> {
        std::mem::take(&mut self.items).into_iter().map(|p| p.attachment).collect()
    }

    /// Give a message's attachments back (the last question is edited):
    /// they come first, those waiting stay after them, [`MAX_PENDING`] at most.
    pub fn restore(&mut self, attachments: Vec<Attachment>) {
        let mut back: Vec<PendingAttachment> = attachments
            .into_iter()
            .enumerate()
            .map(|(i, a)| PendingAttachment { key: format!("restored:{i}:{}:{}", a.kind, a.title), attachment: a })
            .collect();
        back.append(&mut self.items);
        back.truncate(MAX_PENDING);
        self.items = back;
    }

    /// Is command `id` one a gather waits for?
    pub fn waits_for(&self, id: &str) -> bool {
        self.gathers.iter().any(|g| g.waiting.contains_key(id))
    }

    /// The gather waiting for command `id`.
    pub fn gather_of(&mut self, id: &str) -> Option<&mut RunGather> {
        self.gathers.iter_mut().find(|g| g.waiting.contains_key(id))
    }
}

/// The message a notice gives for an attachment of `title` added (`Added`),
/// and the key that shows the chat (`to_chat`).
pub fn added_notice(title: &str, added: Added, to_chat: &str) -> String {
    let title = crate::text::fit(title, 50);
    match added {
        Added::New(n) => {
            let more = if n > 1 { format!(" ({n} waiting)") } else { String::new() };
            format!("attached {title} to the chat{more} — {to_chat} to ask")
        }
        Added::Updated(_) => format!("{title} was attached already: updated to now — {to_chat} to ask"),
        Added::Full => format!(
            "not attached: a question carries at most {MAX_PENDING} attachments (remove one in the chat input first)"
        ),
    }
}
