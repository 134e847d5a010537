//! Conversations through [`Records`]: the store itself, or the data
//! directory's holder over the control socket (a TUI attached to another
//! opsdeck saves its conversations there).

use super::control::{Records, RecordsError};
use crate::protocol::chat::{ChatSearch, Conversation, ConversationMeta};
use crate::protocol::control::StoreOp;

impl Records {
    /// Saved conversations, most recently updated first.
    pub fn chat_list(&self) -> Result<Vec<ConversationMeta>, RecordsError> {
        match self.target() {
            Ok(s) => Ok(s.list_conversations()?),
            Err(c) => Self::remote(c, StoreOp::ChatList),
        }
    }

    /// One conversation, if it is there.
    pub fn chat_load(&self, id: &str) -> Result<Option<Conversation>, RecordsError> {
        match self.target() {
            Ok(s) => Ok(s.load_conversation(id)?),
            Err(c) => Self::remote(c, StoreOp::ChatLoad { id: id.into() }),
        }
    }

    /// Write a whole conversation.
    pub fn chat_save(&self, conversation: &Conversation) -> Result<(), RecordsError> {
        match self.target() {
            Ok(s) => Ok(s.save_conversation(conversation)?),
            Err(c) => {
                c.store(StoreOp::ChatSave { conversation: Box::new(conversation.clone()) })?;
                Ok(())
            }
        }
    }

    /// Delete a conversation; whether it was there.
    pub fn chat_delete(&self, id: &str) -> Result<bool, RecordsError> {
        match self.target() {
            Ok(s) => Ok(s.delete_conversation(id)?),
            Err(c) => Self::remote(c, StoreOp::ChatDelete { id: id.into() }),
        }
    }

    /// Search every conversation (at most `limit` hits).
    pub fn chat_search(&self, query: &str, limit: usize) -> Result<ChatSearch, RecordsError> {
        match self.target() {
            Ok(s) => Ok(s.search_conversations(query, limit)?),
            Err(c) => Self::remote(c, StoreOp::ChatSearch { query: query.into(), limit }),
        }
    }
}
