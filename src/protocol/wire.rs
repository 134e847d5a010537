//! Frames on the wire (`/v1/stream` WebSocket text frames, or lines on stdio).
//! Documented in docs/protocol.md; keep the two in step.

use serde::{Deserialize, Serialize};

use super::{Command, Envelope, PROTOCOL_VERSION, Topic};

/// Largest frame either side accepts, in bytes.
pub const MAX_FRAME_BYTES: usize = 1 << 20;
/// Most events in one `events` frame.
pub const MAX_BATCH: usize = 512;

/// Where a resuming client left off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Since {
    pub epoch: u64,
    pub seq: u64,
}

/// Client → server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Start (or resume) receiving events of `topics`.
    Subscribe {
        /// Topics this build does not know are left out (a newer client
        /// asks an older server for what it has), not refused.
        #[serde(deserialize_with = "known_topics")]
        topics: Vec<Topic>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<Since>,
    },
    /// Keepalive; answered with `pong` carrying the same nonce.
    Ping { nonce: u64 },
    /// Run a command. `id` (1–128 chars) makes it idempotent.
    Command { id: String, command: Command },
    /// Read or write the holder's store: control socket only (else `not_allowed`).
    Store { id: String, op: super::control::StoreOp },
}

/// Server → client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerFrame {
    /// First frame after `subscribe`.
    Welcome {
        protocol: u32,
        source: String,
        epoch: u64,
        head_seq: u64,
    },
    /// The client's `since` is older than retained history (or of another
    /// epoch): drop what you have for this source; a snapshot follows.
    Reset {
        epoch: u64,
        head_seq: u64,
    },
    /// Events in `seq` order, at most [`MAX_BATCH`].
    Events {
        events: Vec<Envelope>,
    },
    Pong {
        nonce: u64,
    },
    /// A command's result (the first one, for a replayed id).
    Ack {
        id: String,
        result: serde_json::Value,
    },
    /// A `store` frame's result (shape per [`super::control::StoreOp`]).
    Stored {
        id: String,
        result: serde_json::Value,
    },
    /// A frame could not be handled. The connection stays open unless the code says otherwise.
    /// `id` is set when the frame was a command.
    Error {
        code: ErrorCode,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
}

/// The topics of a `subscribe` this build knows; the others are dropped
/// (an error when none is known).
fn known_topics<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Topic>, D::Error> {
    let raw: Vec<serde_json::Value> = Vec::deserialize(d)?;
    let mut topics = Vec::with_capacity(raw.len());
    let mut unknown = None;
    for v in raw {
        match serde_json::from_value::<Topic>(v) {
            Ok(t) => topics.push(t),
            Err(e) if e.to_string().starts_with("unknown variant") => unknown = Some(e),
            Err(e) => return Err(serde::de::Error::custom(e)),
        }
    }
    match unknown {
        // Nothing this build serves was asked for: say which names it knows.
        Some(e) if topics.is_empty() => Err(serde::de::Error::custom(e)),
        _ => Ok(topics),
    }
}

/// What to subscribe to again after a `bad_frame` answer to a `subscribe` of
/// `asked`: the topics less those the server named as unknown (a server of an
/// earlier opsdeck refuses a subscribe naming a topic it does not know).
/// None when the message names none of them (another fault: not retried).
pub fn known_to_server(asked: &[Topic], message: &str) -> Option<Vec<Topic>> {
    let refused = |t: &Topic| {
        let name = serde_json::to_value(t).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        message.contains(&format!("unknown variant `{name}`"))
    };
    asked.iter().any(refused).then(|| asked.iter().copied().filter(|t| !refused(t)).collect())
}

/// Machine-readable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not a known frame shape.
    BadFrame,
    /// Over [`MAX_FRAME_BYTES`]; the connection is closed.
    FrameTooLarge,
    /// A binary WebSocket frame; only text frames are used.
    BinaryFrame,
    /// `subscribe` sent twice on one connection.
    AlreadySubscribed,
    /// The command was refused or failed (see the message); not retried.
    CommandFailed,
    /// The command changes state and the engine serves read-only
    /// (`opsdeck serve --read-only`); not retried.
    ReadOnly,
    /// The server failed; retry later.
    Internal,
    /// The frame is not allowed on this connection (`store` outside the control socket).
    NotAllowed,
}

/// Why a received frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("frame of {0} bytes is over the limit of {MAX_FRAME_BYTES}")]
    TooLarge(usize),
    #[error("bad frame: {0}")]
    Bad(String),
}

impl WireError {
    pub fn code(&self) -> ErrorCode {
        match self {
            WireError::TooLarge(_) => ErrorCode::FrameTooLarge,
            WireError::Bad(_) => ErrorCode::BadFrame,
        }
    }
}

fn decode<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, WireError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(WireError::TooLarge(text.len()));
    }
    serde_json::from_str(text).map_err(|e| WireError::Bad(e.to_string()))
}

/// Parse a client frame; never panics.
pub fn decode_client(text: &str) -> Result<ClientFrame, WireError> {
    decode(text)
}

/// Parse a server frame; never panics. An `events` frame with an envelope
/// this build cannot read keeps the others: one bad item never costs the
/// connection (see [`decode_server_skipping`] for what was skipped).
pub fn decode_server(text: &str) -> Result<ServerFrame, WireError> {
    decode_server_skipping(text).map(|d| d.frame)
}

/// A server frame, and the envelopes of an `events` frame that this build
/// cannot read (an event or topic kind added by a newer `serve`).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub frame: ServerFrame,
    pub skipped: Vec<Skipped>,
}

/// An envelope that was skipped: where it sits in the stream (so the
/// cursor moves past it) and its kind (`event.type`, for the message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub epoch: u64,
    pub seq: u64,
    pub kind: String,
}

/// Move `cursor` past `skipped` envelopes (after the frame's known events
/// were taken), so a resume does not ask for them again.
pub fn step_over(skipped: &[Skipped], cursor: &mut Option<Since>) {
    for k in skipped {
        if cursor.is_none_or(|c| c.epoch != k.epoch || c.seq < k.seq) {
            *cursor = Some(Since { epoch: k.epoch, seq: k.seq });
        }
    }
}

/// [`decode_server`], saying which envelopes were skipped.
pub fn decode_server_skipping(text: &str) -> Result<Decoded, WireError> {
    let err = match decode(text) {
        Ok(frame) => return Ok(Decoded { frame, skipped: Vec::new() }),
        Err(e @ WireError::TooLarge(_)) => return Err(e),
        Err(e) => e,
    };
    let Ok(serde_json::Value::Object(mut raw)) = serde_json::from_str::<serde_json::Value>(text) else {
        return Err(err);
    };
    if raw.get("type").and_then(serde_json::Value::as_str) != Some("events") {
        return Err(err);
    }
    let Some(serde_json::Value::Array(items)) = raw.remove("events") else { return Err(err) };
    let mut events = Vec::with_capacity(items.len());
    let mut skipped = Vec::new();
    for v in items {
        let at = (v.get("epoch").and_then(serde_json::Value::as_u64), v.get("seq").and_then(serde_json::Value::as_u64));
        let kind = v.pointer("/event/type").and_then(serde_json::Value::as_str).unwrap_or("?").to_string();
        match serde_json::from_value::<Envelope>(v) {
            Ok(e) => events.push(e),
            Err(e) => {
                tracing::warn!(seq = ?at.1, kind, "skipped an event this build cannot read: {e}");
                // Without a place in the stream it cannot even be stepped over.
                let (Some(epoch), Some(seq)) = at else { return Err(err) };
                skipped.push(Skipped { epoch, seq, kind });
            }
        }
    }
    Ok(Decoded { frame: ServerFrame::Events { events }, skipped })
}

/// One `events` frame of `events` (the same JSON as `ServerFrame::Events`,
/// without copying each event first). No limit: see [`event_frames`].
pub fn encode_events(events: &[std::sync::Arc<Envelope>]) -> String {
    frames(events, usize::MAX, usize::MAX).pop().unwrap_or_else(|| format!("{FRAME_HEAD}{FRAME_TAIL}"))
}

const FRAME_HEAD: &str = r#"{"type":"events","events":["#;
const FRAME_TAIL: &str = "]}";

/// `events` frames for `events`, in order, each at most `limit` bytes and
/// [`MAX_BATCH`] events: the receiver refuses frames over
/// [`MAX_FRAME_BYTES`], and a batch counted in events can pass that when
/// each carries a host's process list. An event too large for a frame of its
/// own is a host sample cut to its busiest processes until it fits, or, of
/// another kind, left out (and logged); the receiver's cursor moves past it
/// with the next event.
pub fn event_frames(events: &[std::sync::Arc<Envelope>], limit: usize) -> Vec<String> {
    frames(events, limit, MAX_BATCH)
}

/// Frames of at most `limit` bytes and `batch` events (see [`event_frames`]).
fn frames(events: &[std::sync::Arc<Envelope>], limit: usize, batch: usize) -> Vec<String> {
    let room = limit.saturating_sub(FRAME_HEAD.len() + FRAME_TAIL.len());
    let mut frames = Vec::new();
    let mut frame = String::from(FRAME_HEAD);
    let mut n = 0;
    for e in events {
        let mut piece = encode(&**e);
        if piece.len() > room {
            match fit(e, room) {
                Some(p) => piece = p,
                None => {
                    tracing::warn!(seq = e.seq, bytes = piece.len(), "an event too large for any frame was left out");
                    continue;
                }
            }
        }
        if n > 0 && (n == batch || frame.len().saturating_add(1 + piece.len() + FRAME_TAIL.len()) > limit) {
            frame.push_str(FRAME_TAIL);
            frames.push(std::mem::replace(&mut frame, String::from(FRAME_HEAD)));
            n = 0;
        }
        if n > 0 {
            frame.push(',');
        }
        frame.push_str(&piece);
        n += 1;
    }
    if n > 0 {
        frame.push_str(FRAME_TAIL);
        frames.push(frame);
    }
    frames
}

/// `e` encoded in at most `room` bytes: a host sample with fewer processes.
fn fit(e: &Envelope, room: usize) -> Option<String> {
    let super::Event::HostSample(snap) = &e.event else { return None };
    let mut keep = snap.procs.len();
    while keep > 0 {
        keep /= 2;
        let cut = Envelope { event: super::Event::HostSample(Box::new(snap.with_top_procs(keep))), ..e.clone() };
        let piece = encode(&cut);
        if piece.len() <= room {
            return Some(piece);
        }
    }
    None
}

/// Serialise a frame (infallible for these types).
pub fn encode<T: Serialize>(frame: &T) -> String {
    serde_json::to_string(frame)
        .unwrap_or_else(|e| format!(r#"{{"type":"error","code":"internal","message":"encoding failed: {e}"}}"#))
}

pub fn welcome(source: &str, epoch: u64, head_seq: u64) -> ServerFrame {
    ServerFrame::Welcome { protocol: PROTOCOL_VERSION, source: source.into(), epoch, head_seq }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample(seq: u64, procs: usize, cmd_len: usize) -> std::sync::Arc<Envelope> {
        use crate::protocol::{Event, HostSnapshot, ProcInfo};
        let procs = (0..procs)
            .map(|i| ProcInfo {
                pid: i as u32,
                name: format!("p{i}"),
                cmd: "x".repeat(cmd_len),
                cpu: i as f32 / 10.0,
                ..Default::default()
            })
            .collect();
        std::sync::Arc::new(Envelope {
            epoch: 1,
            seq,
            ts: 0,
            source: "local".into(),
            topic: Topic::Metrics,
            event: Event::HostSample(Box::new(HostSnapshot { procs, ..Default::default() })),
        })
    }

    fn seqs_of(frames: &[String]) -> Vec<u64> {
        frames
            .iter()
            .flat_map(|f| match decode_server(f).expect("each frame decodes") {
                ServerFrame::Events { events } => events.into_iter().map(|e| e.seq).collect::<Vec<_>>(),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_backlog_of_megabytes_goes_in_frames_under_the_limit_with_nothing_lost() {
        // 120 samples of 400 processes with long command lines: ~12 MB.
        let events: Vec<_> = (1..=120).map(|seq| sample(seq, 400, 200)).collect();
        let frames = event_frames(&events, MAX_FRAME_BYTES);
        assert!(frames.iter().map(String::len).sum::<usize>() > 8 << 20, "several MB in all");
        assert!(frames.iter().all(|f| f.len() <= MAX_FRAME_BYTES), "{:?}", frames.iter().map(String::len).max());
        assert_eq!(seqs_of(&frames), (1..=120).collect::<Vec<_>>());
        // Counted in events too: 600 small ones make 512 + 88.
        let small: Vec<_> = (1..=600).map(|seq| sample(seq, 1, 1)).collect();
        let frames = event_frames(&small, MAX_FRAME_BYTES);
        assert_eq!(frames.len(), 2);
        assert_eq!(seqs_of(&frames).len(), 600);
    }

    #[test]
    fn an_event_too_large_for_a_frame_is_cut_to_the_busiest_processes_or_left_out() {
        let huge = sample(7, 20_000, 200);
        let frames = event_frames(std::slice::from_ref(&huge), MAX_FRAME_BYTES);
        assert_eq!(frames.len(), 1);
        assert!(frames[0].len() <= MAX_FRAME_BYTES);
        let ServerFrame::Events { events } = decode_server(&frames[0]).unwrap() else { panic!() };
        let crate::protocol::Event::HostSample(snap) = &events[0].event else { panic!() };
        assert_eq!(snap.procs_total(), 20_000, "the rest are counted");
        assert!(snap.procs.len() < 20_000 && snap.procs.iter().any(|p| p.pid == 19_999), "the busiest stay");
        let note = std::sync::Arc::new(Envelope {
            event: crate::protocol::Event::Annotation { text: "y".repeat(2 << 20), author: String::new() },
            ..(*sample(8, 0, 0)).clone()
        });
        let frames = event_frames(&[note, sample(9, 1, 1)], MAX_FRAME_BYTES);
        assert_eq!(seqs_of(&frames), [9], "an annotation cannot be cut: left out, the next one goes");
    }

    #[test]
    fn envelopes_of_unknown_kinds_or_topics_are_skipped_with_their_place() {
        let env = |seq: u64, topic: &str, event: &str| {
            format!(r#"{{"epoch":3,"seq":{seq},"ts":1,"source":"local","topic":"{topic}","event":{event}}}"#)
        };
        let text = format!(
            r#"{{"type":"events","events":[{},{},{}]}}"#,
            env(1, "workflows", r#"{"type":"run_started","run":"r1"}"#),
            env(2, "metrics", r#"{"type":"annotation","text":"x","author":"y"}"#),
            env(3, "metrics", r#"{"type":"chat_turn"}"#),
        );
        let d = decode_server_skipping(&text).unwrap();
        let ServerFrame::Events { events } = &d.frame else { panic!("{:?}", d.frame) };
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [2]);
        let skipped: Vec<_> = d.skipped.iter().map(|k| (k.epoch, k.seq, k.kind.as_str())).collect();
        assert_eq!(skipped, [(3, 1, "run_started"), (3, 3, "chat_turn")]);
        // An envelope without a place in the stream cannot be stepped over.
        let placeless = r#"{"type":"events","events":[{"event":{"type":"chat_turn"}}]}"#;
        assert!(decode_server_skipping(placeless).is_err());
    }

    #[test]
    fn frames_round_trip_with_documented_shapes() {
        let sub = ClientFrame::Subscribe { topics: vec![Topic::Metrics], since: Some(Since { epoch: 7, seq: 42 }) };
        let text = encode(&sub);
        assert_eq!(text, r#"{"type":"subscribe","topics":["metrics"],"since":{"epoch":7,"seq":42}}"#);
        assert_eq!(decode_client(&text).unwrap(), sub);
        assert_eq!(
            decode_client(r#"{"type":"subscribe","topics":["metrics"]}"#).unwrap(),
            ClientFrame::Subscribe { topics: vec![Topic::Metrics], since: None }
        );
        let w = welcome("local", 1, 9);
        assert_eq!(encode(&w), r#"{"type":"welcome","protocol":1,"source":"local","epoch":1,"head_seq":9}"#);
        assert_eq!(decode_server(&encode(&w)).unwrap(), w);
    }

    #[test]
    fn borrowed_events_frame_is_the_same_json() {
        use crate::protocol::{Event, Topic};
        let env = Envelope {
            epoch: 1,
            seq: 2,
            ts: 3,
            source: "s".into(),
            topic: Topic::Metrics,
            event: Event::MetricsHistory(Box::default()),
        };
        let owned = encode(&ServerFrame::Events { events: vec![env.clone()] });
        assert_eq!(encode_events(&[std::sync::Arc::new(env)]), owned);
    }

    #[test]
    fn malformed_unknown_and_oversized_frames_are_errors() {
        assert!(matches!(decode_client("not json"), Err(WireError::Bad(_))));
        assert!(matches!(decode_client(r#"{"type":"launch_missiles"}"#), Err(WireError::Bad(_))));
        assert!(matches!(decode_client(r#"{"type":"ping","nonce":1,"extra":true}"#), Err(WireError::Bad(_))));
        assert!(
            matches!(decode_client(r#"{"type":"subscribe","topics":["nope"]}"#), Err(WireError::Bad(_))),
            "no known topic at all"
        );
        let big = format!(r#"{{"type":"ping","nonce":1,"pad":"{}"}}"#, "x".repeat(MAX_FRAME_BYTES));
        assert_eq!(decode_client(&big).unwrap_err().code(), ErrorCode::FrameTooLarge);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// The decoders never panic, whatever arrives.
        #[test]
        fn decoders_never_panic(s in ".{0,300}") {
            let _ = decode_client(&s);
            let _ = decode_server(&s);
        }

        /// Nor on near-valid JSON (mutated real frames).
        #[test]
        fn decoders_never_panic_on_mutations(cut in 0usize..80, byte in any::<u8>(), at in 0usize..80) {
            let mut b = br#"{"type":"subscribe","topics":["metrics"],"since":{"epoch":7,"seq":42}}"#.to_vec();
            let at = at.min(b.len() - 1);
            b[at] = byte;
            b.truncate(cut.max(1).min(b.len()));
            let s = String::from_utf8_lossy(&b);
            let _ = decode_client(&s);
            let _ = decode_server(&s);
        }
    }
}

#[cfg(test)]
mod lenient_tests {
    use super::*;

    #[test]
    fn one_unreadable_event_never_costs_the_frame() {
        let good = r#"{"epoch":1,"seq":2,"ts":5,"source":"local","topic":"metrics","event":{"type":"annotation","text":"hi","author":"a"}}"#;
        let bad = r#"{"epoch":1,"seq":3,"ts":5,"source":"local","topic":"metrics","event":{"type":"from_the_future"}}"#;
        let frame = format!(r#"{{"type":"events","events":[{good},{bad},{good}]}}"#);
        match decode_server(&frame) {
            Ok(ServerFrame::Events { events }) => assert_eq!(events.len(), 2),
            other => panic!("{other:?}"),
        }
        assert!(decode_server(r#"{"type":"welcome"}"#).is_err(), "other frames stay strict");
        assert!(decode_server("not json").is_err());
    }

    #[test]
    fn a_subscribe_naming_a_topic_this_build_lacks_gets_the_others() {
        let f = decode_client(r#"{"type":"subscribe","topics":["metrics","from_the_future","alerts"]}"#);
        assert_eq!(f, Ok(ClientFrame::Subscribe { topics: vec![Topic::Metrics, Topic::Alerts], since: None }));
        assert!(decode_client(r#"{"type":"subscribe","topics":["metrics",5]}"#).is_err(), "a topic is a name");
        assert!(decode_client(r#"{"type":"subscribe","topics":"metrics"}"#).is_err());
    }

    #[test]
    fn an_older_servers_refusal_names_the_topics_to_drop() {
        // What a serve built before the workflows topic answers.
        let said =
            "bad frame: unknown variant `workflows`, expected one of `metrics`, `alerts`, `tools` at line 1 column 50";
        let asked = [Topic::Metrics, Topic::Alerts, Topic::Workflows];
        assert_eq!(known_to_server(&asked, said), Some(vec![Topic::Metrics, Topic::Alerts]));
        assert_eq!(known_to_server(&asked, "bad frame: expected value at line 1 column 1"), None, "another fault");
        assert_eq!(known_to_server(&[Topic::Metrics], said), None, "nothing of ours was refused");
    }
}
