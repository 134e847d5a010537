//! The chat input's history in the `chat` tree: the questions sent, newest
//! last, so recall (`chat_history_prev`) survives a restart.
//!
//! One key, `h/input` → `{"version":1,"entries":["…", …]}`. Conversations'
//! keys start `c/` and `m/`, so the listing and the search never see it.
//! Only the question's text is kept (never its attachments); a question
//! longer than [`HISTORY_ENTRY_BYTES`] is not kept (it still is in its
//! conversation). A record this build cannot read is set aside (records.rs)
//! and the history starts empty.
//!
//! It lives in the store rather than a file of the state dir so that a TUI
//! attached to the data directory's holder (over the control socket) reads
//! and adds to the same history, and two TUIs never race on a file.

use serde::{Deserialize, Serialize};

use super::chat::decode;
use super::{Result, Store, StoreError};
use crate::protocol::chat::INPUT_HISTORY;

const KEY: &[u8] = b"h/input";

/// Longest question (bytes) the history keeps; a longer one (a pasted log)
/// is recalled in the session that sent it only.
pub const HISTORY_ENTRY_BYTES: usize = 16 << 10;

/// Writers are the holder's blocking tasks: one read-modify-write at a time.
static WRITE: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[derive(Serialize, Deserialize, Default)]
struct History {
    #[serde(default)]
    entries: Vec<String>,
}

impl Store {
    /// The questions sent, oldest first (at most [`INPUT_HISTORY`]).
    pub fn input_history(&self) -> Result<Vec<String>> {
        let Some(bytes) = self.chat.get(KEY)? else { return Ok(Vec::new()) };
        match decode::<History>(&bytes) {
            Ok(h) => Ok(bounded(h.entries)),
            Err(why) => {
                self.set_aside("chat", KEY, &bytes, &format!("the input history: {why}"))?;
                self.chat.remove(KEY)?;
                self.chat.flush()?;
                Ok(Vec::new())
            }
        }
    }

    /// Add a sent question at the end of the history (an equal earlier entry
    /// moves there, so recall never shows it twice), keeping the newest
    /// [`INPUT_HISTORY`]. Blank and over-long questions are not kept.
    /// Returns the history as stored.
    pub fn push_input_history(&self, text: &str) -> Result<Vec<String>> {
        let _one = WRITE.lock().unwrap_or_else(|p| p.into_inner());
        let mut entries = self.input_history()?;
        if text.trim().is_empty() || text.len() > HISTORY_ENTRY_BYTES {
            return Ok(entries);
        }
        entries.retain(|e| e != text);
        entries.push(text.to_string());
        let entries = bounded(entries);
        let record = serde_json::to_vec(&serde_json::json!({
            "version": super::chat::CHAT_RECORD_VERSION,
            "entries": entries,
        }))
        .map_err(|e| StoreError::Corrupt { tree: "chat", what: e.to_string() })?;
        self.chat.insert(KEY, &record)?;
        self.chat.flush()?;
        Ok(entries)
    }
}

/// The newest [`INPUT_HISTORY`] entries, each within [`HISTORY_ENTRY_BYTES`].
fn bounded(mut entries: Vec<String>) -> Vec<String> {
    entries.retain(|e| e.len() <= HISTORY_ENTRY_BYTES && !e.trim().is_empty());
    let extra = entries.len().saturating_sub(INPUT_HISTORY);
    entries.drain(..extra);
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::chat::{ChatMessage, Conversation, ModelRef, Role};

    #[test]
    fn the_history_round_trips_deduped_and_bounded_without_over_long_entries() {
        let s = Store::temporary().unwrap();
        assert!(s.input_history().unwrap().is_empty());
        s.push_input_history("why is /var full?").unwrap();
        s.push_input_history("and web-2?").unwrap();
        s.push_input_history("why is /var full?").unwrap();
        s.push_input_history("  \n ").unwrap();
        s.push_input_history(&"x".repeat(HISTORY_ENTRY_BYTES + 1)).unwrap();
        assert_eq!(s.input_history().unwrap(), ["and web-2?", "why is /var full?"], "an equal entry moves to the end");
        for i in 0..INPUT_HISTORY + 30 {
            s.push_input_history(&format!("q{i}")).unwrap();
        }
        let h = s.input_history().unwrap();
        assert_eq!(h.len(), INPUT_HISTORY);
        assert_eq!(h.first().map(String::as_str), Some("q30"));
        // Conversations never see the key.
        assert!(s.list_conversations().unwrap().is_empty());
        assert!(s.search_conversations("q1", 10).unwrap().hits.is_empty());
    }

    #[test]
    fn an_unreadable_history_is_set_aside_and_recall_starts_empty() {
        let s = Store::temporary().unwrap();
        s.chat.insert(KEY, b"{not json").unwrap();
        assert!(s.input_history().unwrap().is_empty());
        assert_eq!(s.unreadable_report().unwrap().len(), 1);
        assert!(s.chat.get(KEY).unwrap().is_none());
        s.chat.insert(KEY, br#"{"version":99,"entries":["a"]}"#).unwrap();
        assert!(s.input_history().unwrap().is_empty(), "a newer build's record is not read");
        assert_eq!(s.push_input_history("b").unwrap(), ["b"]);
    }

    #[test]
    fn a_conversations_model_is_kept_and_old_records_without_it_load() {
        let s = Store::temporary().unwrap();
        let meta = s.create_conversation(10).unwrap();
        let model = ModelRef::parse("cloud/gpt-4o-mini").unwrap();
        assert!(s.update_conversation(&meta.id, |m| m.model = Some(model.clone())).unwrap());
        assert_eq!(s.conversation_meta(&meta.id).unwrap().unwrap().model, Some(model.clone()));
        let mut conv = s.load_conversation(&meta.id).unwrap().unwrap();
        conv.messages.push(ChatMessage::new(Role::User, "hi", 11));
        s.save_conversation(&conv).unwrap();
        let back: Conversation = s.load_conversation(&meta.id).unwrap().unwrap();
        assert_eq!(back.meta.model, Some(model));
        // A record written before the field existed.
        let old = br#"{"version":1,"id":"0000000000001-old","title":"old","created":1,"updated":2,"messages":0,"usage":{"input":0,"output":0,"estimated":false}}"#;
        s.chat.insert(b"c/0000000000001-old", old).unwrap();
        let m = s.conversation_meta("0000000000001-old").unwrap().expect("read");
        assert_eq!((m.title.as_str(), m.model), ("old", None));
        assert!(s.unreadable_report().unwrap().is_empty());
        // Renamed through the store: cleaned, and the model stays.
        assert!(s.rename_conversation("0000000000001-old", "  new\u{1b} title\n2nd").unwrap());
        assert_eq!(s.conversation_meta("0000000000001-old").unwrap().unwrap().title, "new␛ title");
    }
}
