//! Reading answers from outside peers (Prometheus, Alertmanager, MCP
//! servers) without trusting them:
//!
//! - `null` where a list, map or string was expected reads as empty
//!   ([`null_as_default`]): real peers send it where their spec says `[]`;
//! - a list is read item by item ([`items`]): one unreadable item is skipped
//!   and counted, never the whole answer;
//! - nothing is sized from the peer: bodies are read up to a byte limit
//!   ([`body_limited`]) and lists up to an item limit.
//!
//! Depends on nothing of ours above it, so every layer may use it.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Unix ms of an RFC 3339 time (any offset); `None` when unreadable.
pub fn unix_ms(t: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(t.trim()).ok().map(|d| d.timestamp_millis())
}

/// RFC 3339 in UTC with milliseconds (`2026-12-06T19:43:36.551Z`) of Unix
/// ms; empty for a time chrono cannot represent.
pub fn rfc3339(ts: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ts)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// `null` reads as the type's default (an empty list, map or string).
/// Use with `#[serde(default, deserialize_with = "null_as_default")]`.
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Items of a list read one by one: the readable ones, and what was skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct Items<T> {
    pub items: Vec<T>,
    /// Items that could not be read.
    pub skipped: usize,
    /// Items past the limit, not read.
    pub dropped: usize,
    /// Why the first skipped item could not be read (`item 3: …`).
    pub first_error: Option<String>,
}

impl<T> Default for Items<T> {
    fn default() -> Self {
        Items { items: Vec::new(), skipped: 0, dropped: 0, first_error: None }
    }
}

impl<T> Items<T> {
    /// Record an item that was read but is unusable (`why` names it).
    pub fn skip(&mut self, why: impl FnOnce() -> String) {
        self.skipped += 1;
        if self.first_error.is_none() {
            self.first_error = Some(why());
        }
    }
}

/// Read a JSON list item by item, at most `limit` items. `null` is an empty
/// list; anything else that is not a list is an error (`what` names it).
pub fn items<T: DeserializeOwned>(v: Value, limit: usize, what: &str) -> Result<Items<T>, String> {
    let list = match v {
        Value::Null => return Ok(Items::default()),
        Value::Array(list) => list,
        other => return Err(format!("{what}: expected a list, got {}", kind(&other))),
    };
    let mut out = Items { dropped: list.len().saturating_sub(limit), ..Items::default() };
    for (i, item) in list.into_iter().take(limit).enumerate() {
        match T::deserialize(item) {
            Ok(x) => out.items.push(x),
            Err(e) => out.skip(|| format!("item {}: {}", i + 1, cut(&e.to_string(), 200))),
        }
    }
    Ok(out)
}

/// The JSON type of a value, in words.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// At most `max` characters of `s`, with `…` when cut.
pub fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// `1 alert`, `2 alerts`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The body of an answer, at most `max` bytes; a longer one is an error
/// (read no further than the limit, whatever its `Content-Length` says).
pub async fn body_limited(mut resp: reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(format!("the answer is larger than {}", bytes(max)));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(crate::net::error_text)? {
        if body.len() + chunk.len() > max {
            return Err(format!("the answer is larger than {}", bytes(max)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The body of an answer as JSON, at most `max` bytes.
pub async fn json_limited(resp: reqwest::Response, max: usize) -> Result<Value, String> {
    let body = body_limited(resp, max).await?;
    serde_json::from_slice(&body).map_err(|e| format!("not JSON: {e}"))
}

fn bytes(n: usize) -> String {
    if n >= 1 << 20 { format!("{} MiB", n >> 20) } else { format!("{n} bytes") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Thing {
        name: String,
        #[serde(default, deserialize_with = "null_as_default")]
        tags: Vec<String>,
    }

    #[test]
    fn null_reads_as_empty_and_bad_items_are_skipped_alone() {
        let v = json!([{"name": "a", "tags": null}, {"name": 5}, "x", {"name": "b", "tags": ["t"]}, {"name": "c"}]);
        let r: Items<Thing> = items(v, 3, "things").unwrap();
        assert_eq!(r.items, [Thing { name: "a".into(), tags: vec![] }]);
        assert_eq!((r.skipped, r.dropped), (2, 2));
        assert!(r.first_error.as_deref().is_some_and(|e| e.starts_with("item 2: invalid type")), "{r:?}");
        assert_eq!(items::<Thing>(Value::Null, 10, "things").unwrap().items, []);
        assert_eq!(items::<Thing>(json!({}), 10, "things").unwrap_err(), "things: expected a list, got an object");
    }

    #[test]
    fn cut_keeps_whole_characters() {
        assert_eq!(cut("ééé", 2), "éé…");
        assert_eq!(cut("ab", 2), "ab");
    }
}
