//! Conversations through [`Records`]: the store itself, or the data
//! directory's holder over the control socket (a TUI attached to another
//! opsdeck saves its conversations there).

use super::control::{Records, RecordsError};
use crate::protocol::chat::{ChatSearch, Conversation, ConversationMeta, ModelRef};
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

    /// Rename a conversation; whether it was there.
    pub fn chat_rename(&self, id: &str, title: &str) -> Result<bool, RecordsError> {
        match self.target() {
            Ok(s) => Ok(s.rename_conversation(id, title)?),
            Err(c) => Self::remote(c, StoreOp::ChatRename { id: id.into(), title: title.into() }),
        }
    }

    /// Set the model conversation `id` asks first; whether it was there.
    pub fn chat_set_model(&self, id: &str, model: Option<ModelRef>) -> Result<bool, RecordsError> {
        match self.target() {
            Ok(s) => Ok(s.update_conversation(id, |m| m.model = model)?),
            Err(c) => Self::remote(c, StoreOp::ChatSetModel { id: id.into(), model }),
        }
    }

    /// The chat input's history, oldest first.
    pub fn chat_history(&self) -> Result<Vec<String>, RecordsError> {
        match self.target() {
            Ok(s) => Ok(s.input_history()?),
            Err(c) => Self::remote(c, StoreOp::ChatHistory),
        }
    }

    /// Add a sent question to the chat input's history; the history as stored.
    pub fn chat_history_push(&self, text: &str) -> Result<Vec<String>, RecordsError> {
        match self.target() {
            Ok(s) => Ok(s.push_input_history(text)?),
            Err(c) => Self::remote(c, StoreOp::ChatHistoryPush { text: text.into() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::engine::store::Store;
    use crate::protocol::chat::ModelRef;
    use crate::protocol::control::StoreOp;
    use crate::remote::control::apply;

    /// The holder's side of the new ops, as the frames arrive (JSON).
    fn op(store: &Store, frame: Value) -> Value {
        let op: StoreOp = serde_json::from_value(frame).expect("a valid op");
        apply(store, op).expect("applied")
    }

    #[test]
    fn rename_model_and_history_travel_the_control_socket() {
        let s = Store::temporary().unwrap();
        let id = s.create_conversation(5).unwrap().id;
        assert_eq!(op(&s, json!({"op":"chat_rename","id":id,"title":"disk on web-1"})), json!(true));
        assert_eq!(op(&s, json!({"op":"chat_rename","id":"nope","title":"x"})), json!(false));
        let model = json!({"provider":"cloud","model":"gpt-4o-mini"});
        assert_eq!(op(&s, json!({"op":"chat_set_model","id":id,"model":model})), json!(true));
        let meta = s.conversation_meta(&id).unwrap().unwrap();
        assert_eq!((meta.title.as_str(), meta.model), ("disk on web-1", ModelRef::parse("cloud/gpt-4o-mini")));
        assert_eq!(op(&s, json!({"op":"chat_set_model","id":id,"model":null})), json!(true));
        assert_eq!(op(&s, json!({"op":"chat_history_push","text":"why?"})), json!(["why?"]));
        assert_eq!(op(&s, json!({"op":"chat_history"})), json!(["why?"]));
    }
}
