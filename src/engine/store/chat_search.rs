//! Search over the conversations of the `chat` tree (chat.rs): titles
//! ranked with nucleo, then messages' text found ignoring case, bounded by a
//! number of hits and a byte budget. Reads only.

use std::ops::Range;

use super::chat::{decode, message_index, messages_prefix};
use super::{Result, Store};
use crate::protocol::chat::{ChatMessage, ChatSearch, SearchHit};
use crate::text::rank::{Rank, Ranker};

/// Most bytes of stored messages one search reads before it stops (and says
/// so): a search over a huge store answers in bounded time.
pub const SEARCH_BYTE_BUDGET: usize = 64 << 20;

/// Chars of context each side of a match in a search snippet.
const SNIPPET_CONTEXT: usize = 30;

impl Store {
    /// Search every conversation for `query`, ignoring case: titles ranked
    /// by [`Ranker`] (nucleo) first, then messages (their text, attachments
    /// and tool calls; one hit per message, newest conversation first). Stops
    /// at `limit` hits or after [`SEARCH_BYTE_BUDGET`] bytes of messages
    /// (`cut`). An empty query finds nothing.
    pub fn search_conversations(&self, query: &str, limit: usize) -> Result<ChatSearch> {
        self.search_within(query, limit, SEARCH_BYTE_BUDGET)
    }

    /// [`Store::search_conversations`] reading at most `budget` bytes of messages.
    pub(super) fn search_within(&self, query: &str, limit: usize, mut budget: usize) -> Result<ChatSearch> {
        let mut out = ChatSearch::default();
        let query = query.trim();
        if query.is_empty() || limit == 0 {
            return Ok(out);
        }
        let metas = self.list_conversations()?;
        let mut ranker = Ranker::new(query);
        let mut titled: Vec<(Rank, usize, SearchHit)> = Vec::new();
        for (at, meta) in metas.iter().enumerate() {
            let title = meta.shown_title();
            if let Some((rank, chars)) = ranker.rank(title, &[]) {
                let highlight = crate::text::char_ranges(title, &chars).first().cloned().unwrap_or(0..0);
                let hit = SearchHit {
                    id: meta.id.clone(),
                    title: title.to_string(),
                    message_index: None,
                    snippet: title.to_string(),
                    highlight,
                };
                titled.push((rank, at, hit));
            }
        }
        titled.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        out.hits.extend(titled.into_iter().map(|t| t.2));
        if out.hits.len() >= limit {
            // The messages were not read: there may be more.
            out.cut = true;
            out.hits.truncate(limit);
            return Ok(out);
        }
        for meta in &metas {
            let prefix = messages_prefix(&meta.id);
            for kv in self.chat.scan_prefix(&prefix) {
                let (k, v) = kv?;
                if out.hits.len() >= limit || v.len() > budget {
                    out.cut = true;
                    return Ok(out);
                }
                budget -= v.len();
                let Ok(msg) = decode::<ChatMessage>(&v) else {
                    out.unreadable += 1;
                    continue;
                };
                if let Some((snippet, highlight)) = find_in_message(&msg, query) {
                    out.hits.push(SearchHit {
                        id: meta.id.clone(),
                        title: meta.shown_title().to_string(),
                        message_index: message_index(&k, &prefix),
                        snippet,
                        highlight,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// The first match of `query` in a message's text, attachments or tool
/// calls, as a snippet and the match's range in it.
fn find_in_message(msg: &ChatMessage, query: &str) -> Option<(String, Range<usize>)> {
    let texts = std::iter::once(msg.content.as_str())
        .chain(msg.attachments.iter().flat_map(|a| [a.title.as_str(), a.text.as_str()]))
        .chain(msg.tool_calls.iter().flat_map(|c| [c.name.as_str(), c.arguments.as_str()]));
    for text in texts {
        if let Some(found) = crate::text::find_ci(text, query).into_iter().next() {
            return Some(snippet(text, found));
        }
    }
    None
}

/// One cleaned line around `found` in `text`: up to [`SNIPPET_CONTEXT`]
/// grapheme clusters each side, `…` where cut.
pub(super) fn snippet(text: &str, found: Range<usize>) -> (String, Range<usize>) {
    use unicode_segmentation::UnicodeSegmentation;
    let before = &text[..found.start];
    let start = before.grapheme_indices(true).rev().take(SNIPPET_CONTEXT).last().map_or(found.start, |(at, _)| at);
    let after = &text[found.end..];
    let end = after.grapheme_indices(true).nth(SNIPPET_CONTEXT).map_or(text.len(), |(at, _)| found.end + at);
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.push_str(crate::text::clean(&text[start..found.start]).trim_start());
    let from = out.len();
    out.push_str(&crate::text::clean(&text[found.clone()]));
    let to = out.len();
    out.push_str(crate::text::clean(&text[found.end..end]).trim_end());
    if end < text.len() {
        out.push('…');
    }
    (out, from..to)
}
