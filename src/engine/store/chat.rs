//! Conversations in the `chat` tree (issue 13, DESIGN.md §6). Two kinds of keys:
//!
//! - `c/{id}` → the conversation's [`ConversationMeta`] (`{"version":1, …}`);
//! - `m/{id}/` + message index (u32 big-endian) → one [`ChatMessage`]
//!   (`{"version":1, …}`), so a conversation's messages scan in order.
//!
//! Ids are [`is_conversation_id`] (no `/`), so one conversation's message
//! prefix never covers another's. Each message is its own record: an answer
//! streamed into a long conversation is saved by writing that message and the
//! meta record in one batch ([`Store::append_message`],
//! [`Store::replace_message`]), never the whole conversation. The meta's
//! `messages` count and `usage` are the store's: kept from the messages
//! written, whatever a caller passes.
//!
//! A record this build cannot read (a newer build's, or damaged) is set aside
//! in `unreadable` (records.rs) and the rest are read: a message set aside
//! leaves the conversation renumbered on load (indices are always `0..n`);
//! a meta record set aside takes its messages with it (one more record set
//! aside, holding them all), so nothing is left that no listing shows. The
//! search (chat_search.rs) skips unreadable messages, counts them, and
//! writes nothing.
//!
//! Every write is flushed before it returns: conversations are the user's
//! data. One writer per conversation (the chat pane's engine task) is
//! assumed: [`Store::append_message`] reads, then writes, the meta.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::kv::Batch;
use super::{Result, Store, StoreError};
use crate::protocol::Ts;
use crate::protocol::chat::{
    ChatMessage, Conversation, ConversationId, ConversationMeta, Role, Usage, is_conversation_id, new_conversation_id,
    title_from,
};

/// Version of the conversation and message records this build writes.
pub const CHAT_RECORD_VERSION: u32 = 1;

/// How many conversations are kept: the newest by `updated`; older ones are
/// deleted (with their messages) by the engine's minute prune. At the rate
/// anyone talks to an assistant from a terminal this is months of history,
/// and it bounds what a search and the conversation list read.
pub const CONVERSATIONS_KEPT: usize = 1_000;

const META: &[u8] = b"c/";
const MESSAGES: &[u8] = b"m/";

fn meta_key(id: &str) -> Vec<u8> {
    [META, id.as_bytes()].concat()
}

pub(super) fn messages_prefix(id: &str) -> Vec<u8> {
    [MESSAGES, id.as_bytes(), b"/"].concat()
}

fn message_key(id: &str, index: u32) -> Vec<u8> {
    [&messages_prefix(id)[..], &index.to_be_bytes()].concat()
}

/// The index of a message key under `prefix` (`None` for a key of another shape).
pub(super) fn message_index(key: &[u8], prefix: &[u8]) -> Option<u32> {
    let rest = key.strip_prefix(prefix)?;
    Some(u32::from_be_bytes(rest.try_into().ok()?))
}

#[derive(Serialize)]
struct Versioned<'a, T> {
    version: u32,
    #[serde(flatten)]
    record: &'a T,
}

fn encode<T: Serialize>(record: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(&Versioned { version: CHAT_RECORD_VERSION, record })
        .map_err(|e| StoreError::Corrupt { tree: "chat", what: e.to_string() })
}

pub(super) fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> std::result::Result<T, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let version = v.get("version").and_then(Value::as_u64).unwrap_or(0);
    if version > u64::from(CHAT_RECORD_VERSION) {
        return Err(format!(
            "version {version}, written by a newer opsdeck (this build reads up to {CHAT_RECORD_VERSION})"
        ));
    }
    serde_json::from_value(v).map_err(|e| format!("version {version}: {e}"))
}

fn check_id(id: &str) -> Result<()> {
    if is_conversation_id(id) { Ok(()) } else { Err(StoreError::BadConversationId(id.to_string())) }
}

fn add(total: Usage, more: Option<Usage>) -> Usage {
    let Some(more) = more else { return total };
    Usage {
        input: total.input.saturating_add(more.input),
        output: total.output.saturating_add(more.output),
        estimated: total.estimated || more.estimated,
    }
}

fn sub(total: Usage, less: Option<Usage>) -> Usage {
    let Some(less) = less else { return total };
    Usage {
        input: total.input.saturating_sub(less.input),
        output: total.output.saturating_sub(less.output),
        estimated: total.estimated,
    }
}

/// `meta` with the count and usage of `messages`.
fn with_totals(mut meta: ConversationMeta, messages: &[ChatMessage]) -> ConversationMeta {
    meta.messages = u32::try_from(messages.len()).unwrap_or(u32::MAX);
    meta.usage = messages.iter().fold(Usage::default(), |u, m| add(u, m.usage));
    meta
}

/// A random conversation id for now ([`new_conversation_id`], the suffix from getrandom).
pub fn fresh_conversation_id(now: Ts) -> ConversationId {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    new_conversation_id(now, u16::from_be_bytes(b))
}

impl Store {
    /// Start an empty conversation at `now` (untitled until its first user
    /// message) and store it.
    pub fn create_conversation(&self, now: Ts) -> Result<ConversationMeta> {
        let mut id = fresh_conversation_id(now);
        for _ in 0..16 {
            if self.chat.get(&meta_key(&id))?.is_none() {
                break;
            }
            id = fresh_conversation_id(now);
        }
        let meta = ConversationMeta::new(id, now);
        self.save_conversation(&Conversation { meta: meta.clone(), messages: Vec::new() })?;
        Ok(meta)
    }

    /// Write a whole conversation (meta and messages, in one batch), dropping
    /// stored messages past its end (an edited-and-resent turn). The meta's
    /// count and usage are made from the messages.
    pub fn save_conversation(&self, conv: &Conversation) -> Result<()> {
        let id = conv.meta.id.as_str();
        check_id(id)?;
        let len = u32::try_from(conv.messages.len())
            .map_err(|_| StoreError::Corrupt { tree: "chat", what: format!("conversation {id}: too many messages") })?;
        let mut batch = Batch::default();
        batch.insert(meta_key(id), encode(&with_totals(conv.meta.clone(), &conv.messages))?);
        for (i, m) in (0u32..).zip(&conv.messages) {
            batch.insert(message_key(id, i), encode(m)?);
        }
        let prefix = messages_prefix(id);
        for kv in self.chat.scan_prefix(&prefix) {
            let k = kv?.0;
            if message_index(&k, &prefix).is_none_or(|i| i >= len) {
                batch.remove(k);
            }
        }
        self.chat.apply(batch)?;
        self.chat.flush()
    }

    /// A conversation's meta record; `None` if there is none (or it was
    /// unreadable: set aside with its messages).
    pub fn conversation_meta(&self, id: &str) -> Result<Option<ConversationMeta>> {
        if !is_conversation_id(id) {
            return Ok(None);
        }
        let key = meta_key(id);
        let Some(bytes) = self.chat.get(&key)? else { return Ok(None) };
        self.read_meta(id, &key, &bytes)
    }

    fn read_meta(&self, id: &str, key: &[u8], bytes: &[u8]) -> Result<Option<ConversationMeta>> {
        match decode::<ConversationMeta>(bytes) {
            Ok(mut meta) => {
                meta.id = id.to_string();
                Ok(Some(meta))
            }
            Err(why) => {
                self.set_aside_conversation(id, key, bytes, &why)?;
                Ok(None)
            }
        }
    }

    /// Set aside an unreadable meta record, and its messages as one more record.
    fn set_aside_conversation(&self, id: &str, key: &[u8], bytes: &[u8], why: &str) -> Result<()> {
        self.set_aside("chat", key, bytes, &format!("conversation {id}: {why}"))?;
        let prefix = messages_prefix(id);
        let mut records = Vec::new();
        let mut batch = Batch::default();
        for kv in self.chat.scan_prefix(&prefix) {
            let (k, v) = kv?;
            records.push(String::from_utf8_lossy(&v).into_owned());
            batch.remove(k);
        }
        if records.is_empty() {
            return Ok(());
        }
        let all =
            serde_json::to_vec(&records).map_err(|e| StoreError::Corrupt { tree: "chat", what: e.to_string() })?;
        let why = format!("the {} messages of conversation {id}, whose record cannot be read", records.len());
        self.set_aside("chat", &prefix, &all, &why)?;
        self.chat.apply(batch)?;
        self.chat.flush()
    }

    /// A whole conversation. A message that cannot be read is set aside and
    /// the rest renumbered (and stored so), so indices are always `0..n`.
    pub fn load_conversation(&self, id: &str) -> Result<Option<Conversation>> {
        let Some(meta) = self.conversation_meta(id)? else { return Ok(None) };
        let prefix = messages_prefix(id);
        let mut messages = Vec::new();
        let mut renumber = false;
        for kv in self.chat.scan_prefix(&prefix) {
            let (k, v) = kv?;
            let index = message_index(&k, &prefix);
            match (index, decode::<ChatMessage>(&v)) {
                (Some(i), Ok(m)) => {
                    renumber |= i as usize != messages.len();
                    messages.push(m);
                }
                (index, Err(why)) => {
                    let at = index.map_or_else(|| "a message".to_string(), |i| format!("message {i}"));
                    self.set_aside("chat", &k, &v, &format!("{at} of conversation {id}: {why}"))?;
                    renumber = true;
                }
                (None, Ok(_)) => {
                    self.set_aside("chat", &k, &v, &format!("a message of conversation {id} under a wrong key"))?;
                    renumber = true;
                }
            }
        }
        let conv = Conversation { meta: with_totals(meta.clone(), &messages), messages };
        if renumber {
            self.save_conversation(&conv)?;
        } else if conv.meta != meta {
            // Totals off (an estimate flag kept by a replaced answer): the meta alone.
            self.chat.insert(&meta_key(id), &encode(&conv.meta)?)?;
            self.chat.flush()?;
        }
        Ok(Some(conv))
    }

    /// Every conversation's meta, the most recently updated first (ties: the
    /// newer id first). An unreadable one is set aside and left out.
    pub fn list_conversations(&self) -> Result<Vec<ConversationMeta>> {
        let mut out = Vec::new();
        for kv in self.chat.scan_prefix(META) {
            let (k, v) = kv?;
            let id = String::from_utf8_lossy(&k[META.len()..]).into_owned();
            if let Some(meta) = self.read_meta(&id, &k, &v)? {
                out.push(meta);
            }
        }
        out.sort_by(|a, b| b.updated.cmp(&a.updated).then_with(|| b.id.cmp(&a.id)));
        Ok(out)
    }

    /// Change a conversation's settings (title, offered tools, auto-allow,
    /// `updated`) through `change`; its id, count and usage stay the store's.
    /// `false` when there is no such conversation.
    pub fn update_conversation(&self, id: &str, change: impl FnOnce(&mut ConversationMeta)) -> Result<bool> {
        let Some(meta) = self.conversation_meta(id)? else { return Ok(false) };
        let mut changed = meta.clone();
        change(&mut changed);
        changed.id = meta.id;
        changed.messages = meta.messages;
        changed.usage = meta.usage;
        self.chat.insert(&meta_key(id), &encode(&changed)?)?;
        self.chat.flush()?;
        Ok(true)
    }

    /// Rename a conversation: the title is made as [`title_from`] makes one
    /// (first visible line, cleaned, cut); a title that shows nothing makes
    /// it untitled. Its place in the list does not change. `false` when there
    /// is no such conversation.
    pub fn rename_conversation(&self, id: &str, title: &str) -> Result<bool> {
        let title = title_from(title);
        self.update_conversation(id, |m| m.title = title)
    }

    /// Delete a conversation and its messages; `false` when there was none.
    pub fn delete_conversation(&self, id: &str) -> Result<bool> {
        if !is_conversation_id(id) {
            return Ok(false);
        }
        let key = meta_key(id);
        let existed = self.chat.get(&key)?.is_some();
        let mut batch = Batch::default();
        batch.remove(key);
        for kv in self.chat.scan_prefix(&messages_prefix(id)) {
            batch.remove(kv?.0);
        }
        self.chat.apply(batch)?;
        self.chat.flush()?;
        Ok(existed)
    }

    /// Add `msg` at the end of conversation `id` (updated at `now`); returns
    /// its index, `None` when there is no such conversation. The first user
    /// message of an untitled conversation titles it.
    pub fn append_message(&self, id: &str, msg: &ChatMessage, now: Ts) -> Result<Option<u32>> {
        let Some(mut meta) = self.conversation_meta(id)? else { return Ok(None) };
        let index = meta.messages;
        if meta.title.is_empty() && msg.role == Role::User {
            meta.title = title_from(&msg.content);
        }
        meta.messages = index.saturating_add(1);
        meta.usage = add(meta.usage, msg.usage);
        meta.updated = now;
        let mut batch = Batch::default();
        batch.insert(message_key(id, index), encode(msg)?);
        batch.insert(meta_key(id), encode(&meta)?);
        self.chat.apply(batch)?;
        self.chat.flush()?;
        Ok(Some(index))
    }

    /// Replace message `index` of conversation `id` (a streamed answer saved
    /// whole at its end, a tool call's new state), updated at `now`. `false`
    /// when there is no such conversation or message.
    pub fn replace_message(&self, id: &str, index: u32, msg: &ChatMessage, now: Ts) -> Result<bool> {
        let Some(mut meta) = self.conversation_meta(id)? else { return Ok(false) };
        if index >= meta.messages {
            return Ok(false);
        }
        let key = message_key(id, index);
        let old = self.chat.get(&key)?.and_then(|b| decode::<ChatMessage>(&b).ok());
        meta.usage = add(sub(meta.usage, old.and_then(|m| m.usage)), msg.usage);
        meta.updated = now;
        let mut batch = Batch::default();
        batch.insert(key, encode(msg)?);
        batch.insert(meta_key(id), encode(&meta)?);
        self.chat.apply(batch)?;
        self.chat.flush()?;
        Ok(true)
    }

    /// Keep the first `keep` messages of conversation `id` (regenerate, edit
    /// and resend), updated at `now`. `false` when there is no such conversation.
    pub fn truncate_conversation(&self, id: &str, keep: u32, now: Ts) -> Result<bool> {
        let Some(mut meta) = self.conversation_meta(id)? else { return Ok(false) };
        let prefix = messages_prefix(id);
        let mut batch = Batch::default();
        for kv in self.chat.range(
            std::ops::Bound::Included(&message_key(id, keep)),
            std::ops::Bound::Included(&message_key(id, u32::MAX)),
        ) {
            let (k, v) = kv?;
            meta.usage = sub(meta.usage, decode::<ChatMessage>(&v).ok().and_then(|m| m.usage));
            debug_assert!(k.starts_with(&prefix));
            batch.remove(k);
        }
        meta.messages = meta.messages.min(keep);
        meta.updated = now;
        batch.insert(meta_key(id), encode(&meta)?);
        self.chat.apply(batch)?;
        self.chat.flush()?;
        Ok(true)
    }

    /// Keep the `keep` most recently updated conversations; returns how many
    /// were deleted (with their messages).
    pub fn prune_conversations(&self, keep: usize) -> Result<usize> {
        let metas = self.list_conversations()?;
        let mut n = 0;
        for meta in metas.iter().skip(keep) {
            n += usize::from(self.delete_conversation(&meta.id)?);
        }
        Ok(n)
    }
}

#[cfg(test)]
#[path = "chat_tests.rs"]
mod tests;
