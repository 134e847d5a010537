//! The chat pane's state and reducer: the open conversation, the question
//! being answered (a *turn*: one or more model rounds with tool calls in
//! between), the conversation list and the input.
//!
//! Pure: the stream, the tool runs and the store are effects
//! ([`ChatEffect`]) the runtime carries out; their outcomes come back as
//! [`ChatAction`]s naming the turn they belong to, so a late piece of a
//! stopped turn is dropped.

pub mod attach;
mod call_form;
pub mod draft;
mod picker;
mod search;
mod tool_choice;
mod tools_popup;
mod turn;

use crate::app::input::TextInput;
use crate::protocol::chat::{
    Answer, ChatMessage, ChatProgress, Conversation, ConversationId, ConversationMeta, ModelRef, Role, ToolDef, Usage,
};
use crate::protocol::{Ts, tools::ToolInfo};

pub use call_form::{CallForm, Submitted};
pub use draft::{DraftAction, DraftEffect, Proposal};
pub use picker::{ModelPicker, ModelRow};
pub use search::{QUERY_CHARS, Rename, SEARCH_HITS, Search, TITLE_CHARS, clean_title};
pub use tool_choice::{ChoiceRow, ToolChoice, offered_now};
pub use tools_popup::ChatToolsPopup;
pub use turn::{Out, tool_defs};

/// Sent messages kept for recall in the input (newest last).
pub const INPUT_HISTORY: usize = crate::protocol::chat::INPUT_HISTORY;

/// Everything the chat pane shows.
pub struct ChatState {
    /// Saved conversations, most recently updated first.
    pub list: Vec<ConversationMeta>,
    pub list_sel: usize,
    /// The conversation list is drawn beside the transcript.
    pub show_list: bool,
    /// The open conversation (a new one has no messages and is not saved yet).
    pub conv: Conversation,
    /// The question being answered, if any.
    pub turn: Option<Turn>,
    pub input: TextInput,
    /// Questions sent, for recall (`chat_history_prev`/`next`), and where recall is.
    pub history: Vec<String>,
    pub history_pos: Option<usize>,
    /// The input as it was when recall started (given back past the newest entry).
    pub draft: String,
    /// The selected message (`None`: the transcript follows its end).
    pub sel: Option<usize>,
    /// Lines scrolled: up from the end while following, down from the
    /// selected message's first line otherwise.
    pub scroll: u16,
    /// Models offered by the configured providers (`provider/model`).
    pub models: Vec<ModelRef>,
    /// The model asked first (`None`: the `[chat] fallback` chain as configured).
    pub chosen: Option<ModelRef>,
    /// Providers configured (none: the pane says how to add one).
    pub providers: usize,
    /// Prices per million input and output tokens, by provider name.
    pub prices: std::collections::HashMap<String, (Option<f64>, Option<f64>)>,
    /// Why the last question could not be asked or answered at all, shown
    /// under the transcript until the next question.
    pub problem: Option<String>,
    /// `E` put the question at this index back in the input: sending
    /// replaces it and what followed; until then the conversation is as it
    /// was (leaving the edit loses nothing).
    pub editing: Option<usize>,
    /// Turns started so far (ids).
    turns: u64,
    /// Results of the waiting answer's tool calls that came back (tool messages).
    results: Vec<ChatMessage>,
    /// Lines of the transcript box (paging).
    pub page: u16,
    /// Local servers found (`None`: not looked for; empty: none answered).
    pub found: Option<Vec<LocalServer>>,
    /// A look for local servers is under way.
    pub looking: bool,
    /// The conversation `delete_entry` was pressed on once (again deletes it).
    pub pending_delete: Option<(ConversationId, Ts)>,
    /// Keys of allow, refuse, continue and regenerate, as the keymap binds
    /// them (the transcript names them; their action name when unbound).
    /// Also discover, add-found, reload, delete and edit-the-call.
    pub keys: [String; 9],
    /// Attachments waiting for the next question, and gathers in flight.
    pub attach: attach::Pending,
    /// The workflow the assistant proposed, waiting for the user to save,
    /// edit or drop it (draft.rs).
    pub proposal: Option<Proposal>,
    /// Keys of save, edit and drop for the draft, as the keymap binds them.
    pub draft_keys: [String; 3],
    /// The search over every conversation, shown in the list box (search.rs).
    pub search: Option<Search>,
    /// The rename prompt, shown at the top of the list box.
    pub rename: Option<Rename>,
    /// The conversation being opened from a search hit, and the message to
    /// select once it is read.
    pub open_at: Option<(ConversationId, Option<u32>)>,
}

/// A question in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub id: u64,
    /// Model rounds so far (each tool-call answer starts another).
    pub rounds: u32,
    /// Index of the assistant message being streamed, or of the one whose
    /// tool calls are waiting (`waiting_tools`).
    pub message: usize,
    /// The model the request went to last.
    pub trying: Option<ModelRef>,
    /// Messages left out of the request to fit the context.
    pub trimmed: usize,
    /// The answer asked for tools: it waits for the user's consent or their runs.
    pub waiting_tools: bool,
}

/// Outcomes coming back to the pane.
#[derive(Debug, Clone)]
pub enum ChatAction {
    /// The saved conversations (at start, after a save, rename or delete).
    Listed(Vec<ConversationMeta>),
    /// A conversation read from the store, to open.
    Opened(Box<Conversation>),
    /// Models the configured providers offer, how many providers there are,
    /// and their prices per million input and output tokens.
    Models {
        models: Vec<ModelRef>,
        providers: usize,
        prices: std::collections::HashMap<String, (Option<f64>, Option<f64>)>,
    },
    /// Pieces of turn `turn`'s stream, in order (batched by the runtime).
    Progress { turn: u64, items: Vec<ChatProgress> },
    /// Turn `turn`'s current round ended: who answered and why it stopped, or
    /// why no fallback entry answered.
    Answered { turn: u64, result: Result<Answer, String> },
    /// A tool call of turn `turn` ran: its result (JSON text, capped) or error.
    ToolDone { turn: u64, call: String, result: Result<String, String> },
    /// Local OpenAI-compatible servers that answered and are not configured yet.
    Discovered(Vec<LocalServer>),
    /// A workflow draft was checked, saved or edited.
    Draft(DraftAction),
    /// The store's answer to the search for `query` (or why it failed).
    Found { query: String, result: Result<crate::protocol::chat::ChatSearch, String> },
    /// The input's history as stored (at start, and after a question is added).
    History(Vec<String>),
}

/// A local OpenAI-compatible server that answered `GET /v1/models`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalServer {
    /// A provider name to suggest (`ollama`, `llama-cpp`, …).
    pub name: String,
    /// `http://127.0.0.1:PORT/v1`.
    pub base_url: String,
    pub models: Vec<String>,
}

/// What the chat pane asks the runtime to do.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatEffect {
    /// Ask the chain (`chosen` first, then the configured fallback), streaming
    /// `ChatAction::Progress` and ending with `ChatAction::Answered`.
    Ask { turn: u64, chosen: Option<ModelRef>, messages: Vec<ChatMessage>, tools: Vec<ToolDef> },
    /// Stop turn `turn`'s request now (the HTTP request is dropped).
    Stop { turn: u64 },
    /// Run a tool call the user (or the read-only auto-allow) allowed.
    RunTool { turn: u64, call: String, tool: String, args: serde_json::Value, confirmed: bool },
    /// Write the conversation (whole) to the store; the list comes back.
    Save(Box<Conversation>),
    /// Read conversation `id` (answered by `ChatAction::Opened`).
    Load(ConversationId),
    /// Delete conversation `id`; the list comes back.
    Delete(ConversationId),
    /// Copy the last code block of `text` (Markdown) through OSC 52 and a file.
    CopyCode { text: String },
    /// Look for local OpenAI-compatible servers on the usual loopback ports.
    Discover,
    /// Append a `[[provider]]` for a found server to config.toml and reload.
    AddProvider(LocalServer),
    /// Check, save or scratch-copy a workflow draft.
    Draft(DraftEffect),
    /// Search every conversation for `query` (at most [`SEARCH_HITS`] hits),
    /// answered by `ChatAction::Found` with the same query.
    Search { query: String },
    /// Rename conversation `id` in the store; the list comes back.
    Rename { id: ConversationId, title: String },
    /// Keep `model` as the model conversation `id` asks first.
    SetModel { id: ConversationId, model: Option<ModelRef> },
    /// Add a sent question's text to the stored input history.
    Remember(String),
}

impl Default for ChatState {
    fn default() -> Self {
        ChatState {
            list: Vec::new(),
            list_sel: 0,
            show_list: true,
            conv: new_conversation(String::new(), 0),
            turn: None,
            input: TextInput::new(""),
            history: Vec::new(),
            history_pos: None,
            draft: String::new(),
            sel: None,
            scroll: 0,
            models: Vec::new(),
            chosen: None,
            providers: 0,
            prices: Default::default(),
            problem: None,
            turns: 0,
            results: Vec::new(),
            page: 10,
            pending_delete: None,
            found: None,
            looking: false,
            keys: ["y", "N", "c", "r", "F", "a", "C-r", "D", "o"].map(String::from),
            attach: Default::default(),
            proposal: None,
            draft_keys: ["W", "O", "X"].map(String::from),
            search: None,
            rename: None,
            open_at: None,
            editing: None,
        }
    }
}

/// An empty conversation with id `id`, created at `now`.
pub fn new_conversation(id: ConversationId, now: Ts) -> Conversation {
    Conversation { meta: ConversationMeta::new(id, now), messages: Vec::new() }
}

impl ChatState {
    /// A question is being answered (streaming or waiting on tools).
    pub fn busy(&self) -> bool {
        self.turn.is_some()
    }

    /// The turn streaming right now (not waiting on tools).
    pub fn streaming(&self) -> bool {
        self.turn.as_ref().is_some_and(|t| !t.waiting_tools)
    }

    /// The model the next question goes to first, as shown.
    pub fn model_label(&self) -> String {
        match (&self.chosen, self.models.first()) {
            (Some(m), _) => m.to_string(),
            (None, Some(m)) => m.to_string(),
            (None, None) => "no model".into(),
        }
    }

    /// Tokens used by the open conversation's answers.
    pub fn conversation_usage(&self) -> Usage {
        let mut u = Usage::default();
        for m in self.conv.messages.iter().filter_map(|m| m.usage.as_ref()) {
            u.input = u.input.saturating_add(m.input);
            u.output = u.output.saturating_add(m.output);
            u.estimated |= m.estimated;
        }
        u
    }

    /// Index of the last message of `role`.
    pub fn last_of(&self, role: Role) -> Option<usize> {
        self.conv.messages.iter().rposition(|m| m.role == role)
    }

    /// Select the message `d` away from the selected one (from the end when
    /// following); past the end follows again.
    pub fn select_step(&mut self, d: i64) -> bool {
        let n = self.conv.messages.len() as i64;
        if n == 0 {
            return false;
        }
        let from = self.sel.map_or(n, |s| s as i64);
        let to = from + d;
        let before = (self.sel, self.scroll);
        self.sel = if to >= n { None } else { Some(to.max(0) as usize) };
        self.scroll = 0;
        before != (self.sel, self.scroll)
    }

    /// Scroll the transcript by `rows` (negative: towards the start).
    pub fn scroll_by(&mut self, rows: i32) -> bool {
        let before = self.scroll;
        let r = rows.unsigned_abs().min(u16::MAX as u32) as u16;
        // Following the end, the offset counts up from it.
        let up = if self.sel.is_none() { rows < 0 } else { rows > 0 };
        self.scroll = if up { self.scroll.saturating_add(r) } else { self.scroll.saturating_sub(r) };
        before != self.scroll
    }

    fn next_turn(&mut self) -> u64 {
        self.turns += 1;
        self.turns
    }
}

/// The answer's cost for `usage` at the provider's prices per million input
/// and output tokens (`None` when neither is configured).
pub fn cost(usage: &Usage, price_input: Option<f64>, price_output: Option<f64>) -> Option<f64> {
    if price_input.is_none() && price_output.is_none() {
        return None;
    }
    let c = usage.input as f64 * price_input.unwrap_or(0.0) + usage.output as f64 * price_output.unwrap_or(0.0);
    Some(c / 1_000_000.0)
}

/// Tools the model may be offered in a conversation: those named in its
/// `tools` list, or by default the read-only ones.
pub fn offered<'a>(meta: &ConversationMeta, catalog: &'a [ToolInfo]) -> Vec<&'a ToolInfo> {
    catalog.iter().filter(|t| meta.offers(&t.name, t.mutating)).collect()
}

#[cfg(test)]
mod tests;
