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

/// The key prefix of attachments given back from a sent message.
const RESTORED: &str = "restored:";

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
    /// Add `attachment` of `key`, replacing one of the same key (or a
    /// restored one of the same kind and title, whose key is not known).
    pub fn add(&mut self, key: String, attachment: Attachment) -> Added {
        let same = |p: &PendingAttachment| {
            p.key == key
                || (p.key.starts_with(RESTORED)
                    && p.attachment.kind == attachment.kind
                    && p.attachment.title == attachment.title)
        };
        if let Some(p) = self.items.iter_mut().find(|p| same(p)) {
            p.key = key;
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
            .map(|(i, a)| PendingAttachment { key: format!("{RESTORED}{i}:{}:{}", a.kind, a.title), attachment: a })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn att(kind: &str, title: &str, text: &str) -> Attachment {
        Attachment { kind: kind.into(), title: title.into(), text: text.into() }
    }

    #[test]
    fn the_same_thing_attached_twice_is_updated_not_copied() {
        let mut p = Pending::default();
        assert_eq!(p.add("alert:local:a".into(), att("alert", "alert a", "v1")), Added::New(1));
        assert_eq!(p.add("run:local:1:1".into(), att("run", "run x #1 failed", "r")), Added::New(2));
        assert_eq!(p.add("alert:local:a".into(), att("alert", "alert a", "v2")), Added::Updated(2));
        let texts: Vec<&str> = p.items.iter().map(|i| i.attachment.text.as_str()).collect();
        assert_eq!(texts, ["v2", "r"], "updated in place, order kept");
    }

    #[test]
    fn at_most_eight_wait_and_they_go_last_first() {
        let mut p = Pending::default();
        for i in 0..MAX_PENDING {
            assert_eq!(p.add(format!("k{i}"), att("alert", &format!("a{i}"), "x")), Added::New(i + 1));
        }
        assert_eq!(p.add("k9".into(), att("alert", "a9", "x")), Added::Full);
        assert_eq!(p.items.len(), MAX_PENDING);
        assert!(added_notice("a9", Added::Full, "4").contains("at most 8"));
        assert_eq!(p.remove_last().as_deref(), Some("a7"));
        assert_eq!(p.clear(), MAX_PENDING - 1);
        assert_eq!(p.remove_last(), None);
        assert!(p.take().is_empty());
    }

    #[test]
    fn restored_attachments_come_first_and_match_a_fresh_copy() {
        let mut p = Pending::default();
        p.add("metrics:local".into(), att("metrics", "metrics h at 10:00:00", "m"));
        p.restore(vec![att("alert", "alert a", "old")]);
        let titles: Vec<&str> = p.items.iter().map(|i| i.attachment.title.as_str()).collect();
        assert_eq!(titles, ["alert a", "metrics h at 10:00:00"]);
        assert_eq!(p.add("alert:local:a".into(), att("alert", "alert a", "new")), Added::Updated(2));
        assert_eq!(p.items[0].attachment.text, "new");
        let sent = p.take();
        assert_eq!(sent.len(), 2);
        assert!(p.items.is_empty());
    }

    #[test]
    fn notices_name_the_attachment_and_the_key_to_the_chat() {
        assert_eq!(
            added_notice("alert DiskFilling", Added::New(1), "4"),
            "attached alert DiskFilling to the chat — 4 to ask"
        );
        assert_eq!(
            added_notice("alert DiskFilling", Added::New(3), "4"),
            "attached alert DiskFilling to the chat (3 waiting) — 4 to ask"
        );
        assert!(added_notice(&"x\u{0}".repeat(1000), Added::Updated(1), "4").len() < 300);
    }
}
