//! Store operations on the local control socket (see `remote::control`).
//!
//! Only the process that holds a data directory can open its store, so a TUI
//! or a headless command started beside it (e.g. beside `opsdeck serve`) asks
//! that process to read and write its records. These frames are accepted on
//! the control socket only (same user, mode 0600), never over `/v1/stream`.

use serde::{Deserialize, Serialize};

use super::Command;
use super::tools::ToolRun;

/// One read or write of the holder's store. Answered by
/// [`ServerFrame::Stored`](super::wire::ServerFrame::Stored) with the `result`
/// shape named on each variant, or by an `error` frame carrying the same id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum StoreOp {
    /// The newest `limit` tool runs, newest first → `[ToolRun…]`.
    ToolRuns { limit: usize },
    /// Append a tool run to the history (and prune it to its cap) → `null`.
    RecordToolRun { run: Box<ToolRun> },
    /// A saved UI preference → the value as a string, or `null`.
    UiGet { key: String },
    /// Save a UI preference → `null`.
    UiPut { key: String, value: String },
    /// Commands queued for a backend → `[[id, command]…]` in order (records
    /// this build cannot read are set aside, see `UnreadableReport`).
    OutboxList { backend: String },
    /// Queue a command for a backend → `null`.
    OutboxPush { backend: String, id: String, command: Command },
    /// Drop a delivered command → `true` if it was queued.
    OutboxRemove { backend: String, id: String },
    /// Records set aside as unreadable since the last report → `[line…]`
    /// (each said once).
    UnreadableReport,
    /// Saved conversations, most recently updated first → `[ConversationMeta…]`.
    ChatList,
    /// One conversation → `Conversation` or `null`.
    ChatLoad { id: super::chat::ConversationId },
    /// Write a whole conversation (its messages past the end dropped) → `null`.
    ChatSave { conversation: Box<super::chat::Conversation> },
    /// Delete a conversation → `true` if it was there.
    ChatDelete { id: super::chat::ConversationId },
    /// Search every conversation → `ChatSearch`.
    ChatSearch { query: String, limit: usize },
    /// Rename a conversation (the title cleaned and cut as the store does)
    /// → `true` if it was there.
    ChatRename { id: super::chat::ConversationId, title: String },
    /// Set the model a conversation asks first (`null`: the configured
    /// chain) → `true` if it was there.
    ChatSetModel { id: super::chat::ConversationId, model: Option<super::chat::ModelRef> },
    /// The chat input's history, oldest first → `[String…]`.
    ChatHistory,
    /// Add a sent question to the chat input's history → the history, `[String…]`.
    ChatHistoryPush { text: String },
}
