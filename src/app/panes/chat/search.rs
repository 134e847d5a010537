//! Search across every saved conversation, and renaming one: two prompts
//! drawn at the top of the conversation list.
//!
//! The search never runs in `update`: the typed query goes to the store as
//! [`ChatEffect::Search`] and the hits come back as [`ChatAction::Found`]
//! tagged with their query. At most one search is in flight; what is typed
//! meanwhile is asked when it answers (latest wins), and an answer for a
//! query that is no longer typed is dropped. So a fast typist costs one
//! search per answer, not one per key, without a timer.
//!
//! [`ChatAction::Found`]: super::ChatAction::Found

use ratatui::crossterm::event::KeyEvent;

use super::{ChatEffect, ChatState};
use crate::app::Effect;
use crate::app::input::LineInput;
use crate::protocol::chat::{ChatSearch, ConversationId, SearchHit};

/// Longest query sent to the store (chars; the rest of a huge paste is
/// ignored, and the prompt says so).
pub const QUERY_CHARS: usize = 200;
/// Most hits one search returns (the store says `cut` past them).
pub const SEARCH_HITS: usize = 200;
/// Longest title a rename keeps (chars, before the store's own cut).
pub const TITLE_CHARS: usize = 200;

/// The search shown in the conversation list.
#[derive(Debug, Clone)]
pub struct Search {
    pub input: LineInput,
    /// Keys go to the query (else the list of hits has them).
    pub editing: bool,
    /// The query whose search is in flight.
    pub asked: Option<String>,
    /// The query `found` answers (`None`: nothing answered yet).
    pub answered: Option<String>,
    pub found: ChatSearch,
    /// Why the last search failed (the store could not be read).
    pub error: Option<String>,
    /// The selected hit.
    pub sel: usize,
}

impl Default for Search {
    fn default() -> Self {
        Search {
            input: LineInput::new("search every conversation"),
            editing: true,
            asked: None,
            answered: None,
            found: ChatSearch::default(),
            error: None,
            sel: 0,
        }
    }
}

impl Search {
    /// The query as it goes to the store: the first [`QUERY_CHARS`] chars typed.
    pub fn query(&self) -> String {
        self.input.text().chars().take(QUERY_CHARS).collect()
    }

    /// More was typed than the search uses.
    pub fn over_long(&self) -> bool {
        self.input.text().chars().nth(QUERY_CHARS).is_some()
    }

    /// A search for what is typed is under way (or about to be asked).
    pub fn searching(&self) -> bool {
        self.asked.is_some() || self.answered.as_deref() != Some(self.query().as_str())
    }

    /// The selected hit, if the hits answer what is typed.
    pub fn selected(&self) -> Option<&SearchHit> {
        self.found.hits.get(self.sel)
    }
}

/// Renaming a conversation: its id (empty: the open one, not saved yet) and
/// the new title being typed.
#[derive(Debug, Clone)]
pub struct Rename {
    pub id: ConversationId,
    pub input: LineInput,
}

/// A title as typed, made safe to keep: tabs and line breaks become spaces,
/// other control and invisible characters are dropped, spaces trimmed, at
/// most [`TITLE_CHARS`] chars. Empty: refused.
pub fn clean_title(typed: &str) -> String {
    let kept: String = typed
        .chars()
        .map(|c| if matches!(c, '\t' | '\n' | '\r') { ' ' } else { c })
        .filter(|c| !c.is_control() && !crate::text::is_invisible_format(*c))
        .skip_while(|c| c.is_whitespace())
        .take(TITLE_CHARS)
        .collect();
    kept.trim_end().to_string()
}

impl ChatState {
    /// Open the search (or go back to typing its query); the list is shown.
    pub fn search_start(&mut self) -> bool {
        self.rename = None;
        self.show_list = true;
        let s = self.search.get_or_insert_with(Search::default);
        s.editing = true;
        true
    }

    /// Close the search: the list of conversations comes back.
    pub fn search_close(&mut self) -> bool {
        self.search.take().is_some()
    }

    /// A key for the query being typed; whether it changed anything.
    pub fn search_key(&mut self, key: KeyEvent) -> bool {
        self.search.as_mut().filter(|s| s.editing).is_some_and(|s| s.input.input(key))
    }

    /// Pasted text for the query (one line).
    pub fn search_paste(&mut self, text: &str) -> bool {
        self.search.as_mut().filter(|s| s.editing).is_some_and(|s| s.input.paste(text))
    }

    /// Move the hit selection by `d` rows (clamped).
    pub fn search_step(&mut self, d: i64) -> bool {
        let Some(s) = self.search.as_mut() else { return false };
        let n = s.found.hits.len();
        let to = (s.sel as i64 + d).clamp(0, n.saturating_sub(1) as i64) as usize;
        let moved = to != s.sel;
        s.sel = to;
        moved
    }

    /// After every update: ask the store for what is typed when no search
    /// is in flight and the hits are for another query. A blank query is
    /// answered here (no hits). Whether the state changed.
    pub fn schedule_search(&mut self, effects: &mut Vec<Effect>) -> bool {
        let Some(s) = self.search.as_mut() else { return false };
        let q = s.query();
        if s.asked.is_some() || s.answered.as_deref() == Some(q.as_str()) {
            return false;
        }
        if q.trim().is_empty() {
            (s.found, s.error, s.sel) = (ChatSearch::default(), None, 0);
            s.answered = Some(q);
            return true;
        }
        s.asked = Some(q.clone());
        effects.push(Effect::Chat(ChatEffect::Search { query: q }));
        true
    }

    /// The store answered the search for `query`. An answer for a query no
    /// longer typed (or a closed search) is dropped.
    pub fn search_found(&mut self, query: String, result: Result<ChatSearch, String>) -> bool {
        let Some(s) = self.search.as_mut() else { return false };
        if s.asked.as_deref() == Some(query.as_str()) {
            s.asked = None;
        }
        if query != s.query() {
            return false;
        }
        match result {
            Ok(found) => (s.found, s.error) = (found, None),
            Err(e) => (s.found, s.error) = (ChatSearch::default(), Some(e)),
        }
        s.sel = 0;
        s.answered = Some(query);
        true
    }

    /// Open the selected hit's conversation at its message (selected once it
    /// is read). `Err` says why not.
    pub fn search_open(&mut self, effects: &mut Vec<Effect>) -> Result<(), String> {
        let Some(s) = self.search.as_mut() else { return Err("no search is open".into()) };
        let Some(hit) = s.found.hits.get(s.sel) else {
            return Err(if s.searching() { "still searching…".into() } else { "no hit to open".into() });
        };
        if self.turn.is_some() {
            return Err("an answer is still coming: stop it first".into());
        }
        s.editing = false;
        self.open_at = Some((hit.id.clone(), hit.message_index));
        effects.push(Effect::Chat(ChatEffect::Load(hit.id.clone())));
        Ok(())
    }

    /// Start renaming: the selected conversation of the list (`in_list`) or
    /// the open one, the prompt filled with its title. `false` when there is
    /// nothing to rename.
    pub fn rename_start(&mut self, in_list: bool) -> bool {
        let target = if in_list && self.search.is_none() {
            self.list.get(self.list_sel).map(|m| (m.id.clone(), m.title.clone()))
        } else {
            None
        };
        let (id, title) = match target {
            Some(t) => t,
            None if !self.conv.meta.id.is_empty() || !self.conv.messages.is_empty() || !in_list => {
                (self.conv.meta.id.clone(), self.conv.meta.title.clone())
            }
            None => return false,
        };
        self.search = None;
        self.show_list = true;
        let mut input = LineInput::new("a title for the conversation");
        input.paste(&title);
        self.rename = Some(Rename { id, input });
        true
    }

    /// Save the title typed: through the store's rename, and at once in the
    /// open conversation and the list. `Err`: the prompt stays, saying why.
    pub fn rename_save(&mut self, effects: &mut Vec<Effect>) -> Result<String, String> {
        let Some(r) = self.rename.as_ref() else { return Err("nothing is being renamed".into()) };
        let title = clean_title(r.input.text());
        if title.is_empty() {
            return Err("a title cannot be empty: type one, or Esc to keep the old one".into());
        }
        let id = r.id.clone();
        self.rename = None;
        let shown = crate::protocol::chat::title_from(&title);
        if id.is_empty() || id == self.conv.meta.id {
            self.conv.meta.title = shown.clone();
        }
        if let Some(m) = self.list.iter_mut().find(|m| m.id == id) {
            m.title = shown.clone();
        }
        if !id.is_empty() {
            effects.push(Effect::Chat(ChatEffect::Rename { id, title }));
        }
        Ok(shown)
    }
}

#[cfg(test)]
#[path = "search_tests.rs"]
mod tests;
