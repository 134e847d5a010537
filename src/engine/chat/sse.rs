//! Server-sent events of a response body, parsed by `sse-stream`, with
//! three things it does not do itself: a bound on one event's size (a line
//! or an event over [`MAX_EVENT_BYTES`] ends the stream with an error
//! instead of growing a buffer); a last event without its closing blank line
//! still delivered when the body ends; and lines of fields the SSE spec says
//! to ignore (which sse-stream rejects, ending the stream) turned into
//! comments — except llama.cpp's `error: {…}` line, read as an `error` event.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use sse_stream::{Sse, SseStream};

/// Most bytes of one event (its lines together). Chat chunks are a few
/// hundred bytes; a non-streamed answer is not read through here.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

/// Why a body's bytes stopped: the connection, or an event too large.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BodyError(pub String);

type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, BodyError>> + Send>>;

/// The events of `body`, each an event or why the stream cannot go on
/// (after an error, stop reading).
pub struct Events {
    inner: Pin<Box<SseStream<sse_stream::ByteStreamBody<Limited, Bytes>>>>,
}

impl Events {
    /// Events of any byte stream (a response's `bytes_stream()`, or chunks in tests).
    pub fn new<S, E>(body: S) -> Self
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: std::fmt::Display,
    {
        use futures_util::StreamExt;
        let body: ByteStream = Box::pin(body.map(|r| r.map_err(|e| BodyError(e.to_string()))));
        let limited = Limited { inner: body, line: 0, event: 0, prev_cr: false, ended: false, fix: LineFix::default() };
        Events { inner: Box::pin(SseStream::from_bytes_stream(limited)) }
    }

    /// A response's body, its errors in plain words (no URL, no OS numbers).
    pub fn from_response(resp: reqwest::Response) -> Self {
        use futures_util::StreamExt;
        Events::new(resp.bytes_stream().map(|r| r.map_err(|e| BodyError(crate::net::error_text(e)))))
    }
}

impl Stream for Events {
    type Item = Result<Sse, String>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx).map(|o| {
            o.map(|r| {
                r.map_err(|e| match e {
                    sse_stream::Error::Body(b) => b.to_string(),
                    other => format!("malformed server-sent events: {other}"),
                })
            })
        })
    }
}

/// The body with each event's size counted as it passes, and a blank line
/// added at its end (so a last event without one is not lost).
struct Limited {
    inner: ByteStream,
    /// Bytes of the current line.
    line: usize,
    /// Bytes of the current event's lines.
    event: usize,
    /// The last byte was `\r` (a following `\n` is the same line end).
    prev_cr: bool,
    ended: bool,
    fix: LineFix,
}

/// Rewrites the start of each line: a field sse-stream knows passes as is,
/// `error:` becomes `event: error` + `data:`, any other field (or a line
/// without a colon) becomes a comment, as the SSE spec ignores it.
struct LineFix {
    /// The bytes of the current line so far while its field name is not
    /// known yet; `None` past it.
    head: Option<Vec<u8>>,
}

impl Default for LineFix {
    fn default() -> Self {
        LineFix { head: Some(Vec::new()) }
    }
}

/// Longest field name looked at; a longer one is unknown.
const FIELD_MAX: usize = 8;

impl LineFix {
    fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            let head = match &mut self.head {
                Some(h) => h,
                None if b == b'\n' || b == b'\r' => {
                    out.push(b);
                    self.head = Some(Vec::new());
                    continue;
                }
                None => {
                    out.push(b);
                    continue;
                }
            };
            head.push(b);
            let eol = b == b'\n' || b == b'\r';
            if b == b':' || eol || head.len() > FIELD_MAX {
                let head = self.head.take().unwrap_or_default();
                Self::decide(&head, out);
                if eol {
                    self.head = Some(Vec::new());
                }
            }
        }
    }

    /// The line's start `head` (up to and with its first `:` or line end, or
    /// too long to be a known field) as it goes on.
    fn decide(head: &[u8], out: &mut Vec<u8>) {
        let (name, last) = head.split_at(head.len() - 1);
        // sse-stream drops a byte order mark at the start itself.
        let name = name.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(name);
        match (name, last) {
            (b"data" | b"event" | b"id" | b"retry" | b"", b":") => out.extend_from_slice(head),
            (b"error", b":") => out.extend_from_slice(b"event: error\ndata:"),
            // A blank line ends an event; a bare `data` is an empty data line.
            (b"", _) => out.extend_from_slice(head),
            (b"data", eol) => out.extend_from_slice(&[b"data:".as_slice(), eol].concat()),
            _ => {
                out.push(b':');
                out.extend_from_slice(head);
            }
        }
    }

    /// The body ended: what is held goes out as it would have.
    fn finish(&mut self, out: &mut Vec<u8>) {
        if let Some(head) = self.head.take().filter(|h| !h.is_empty()) {
            out.push(b':');
            out.extend_from_slice(&head);
        }
    }
}

impl Limited {
    fn count(&mut self, bytes: &[u8]) -> Result<(), BodyError> {
        for &b in bytes {
            if b == b'\n' && self.prev_cr {
                self.prev_cr = false;
                continue;
            }
            self.prev_cr = b == b'\r';
            if b == b'\n' || b == b'\r' {
                if self.line == 0 {
                    self.event = 0;
                }
                self.line = 0;
            } else {
                self.line += 1;
                self.event += 1;
                if self.event > MAX_EVENT_BYTES {
                    return Err(BodyError(format!("an event is larger than {} KiB", MAX_EVENT_BYTES >> 10)));
                }
            }
        }
        Ok(())
    }
}

impl Stream for Limited {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                self.ended = true;
                let mut out = Vec::new();
                self.fix.finish(&mut out);
                out.extend_from_slice(b"\n\n");
                Poll::Ready(Some(Ok(Bytes::from(out))))
            }
            Poll::Ready(Some(Err(e))) => {
                self.ended = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(Some(Ok(b))) => match self.count(&b) {
                Ok(()) => {
                    let mut out = Vec::with_capacity(b.len() + 8);
                    self.fix.push(&b, &mut out);
                    Poll::Ready(Some(Ok(Bytes::from(out))))
                }
                Err(e) => {
                    self.ended = true;
                    Poll::Ready(Some(Err(e)))
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use futures_util::{FutureExt, StreamExt};

    use super::*;

    fn all(chunks: Vec<&'static [u8]>) -> Vec<Result<Sse, String>> {
        let s = futures_util::stream::iter(chunks.into_iter().map(|c| Ok::<_, BodyError>(Bytes::from_static(c))));
        Events::new(s).collect::<Vec<_>>().now_or_never().expect("ready")
    }

    #[test]
    fn a_last_event_without_its_blank_line_is_delivered() {
        let got = all(vec![b"data: a\n\nda", b"ta: b"]);
        let data: Vec<_> = got.into_iter().map(|e| e.unwrap().data.unwrap()).collect();
        assert_eq!(data, ["a", "b"]);
    }

    #[test]
    fn ignored_fields_are_comments_and_llama_errors_are_error_events() {
        let first = all(vec![b"error: {}\n\n"]);
        assert_eq!(first[0].as_ref().unwrap().event.as_deref(), Some("error"));
        let src: &'static [u8] = b"\xEF\xBB\xBFdata: a\nfoo: bar\nnocolon\nerror: {\"message\":\"slot\"}\n\nid: 1\r\ndata\r\n\r\n: hi\nverylongfieldname: x\ndata: b\n\nerr";
        for chunks in [vec![src], src.chunks(1).collect(), src.chunks(3).collect()] {
            let got: Vec<Sse> = all(chunks).into_iter().map(|e| e.unwrap()).collect();
            let shown: Vec<_> = got.iter().map(|e| (e.event.as_deref(), e.data.as_deref(), e.id.as_deref())).collect();
            assert_eq!(
                shown,
                [
                    (Some("error"), Some("a\n{\"message\":\"slot\"}"), None),
                    (None, Some(""), Some("1")),
                    (None, Some("b"), None),
                ]
            );
        }
    }

    #[test]
    fn an_event_too_large_ends_the_stream() {
        let big: &'static [u8] = Box::leak(vec![b'x'; MAX_EVENT_BYTES].into_boxed_slice());
        let got = all(vec![b"data: ok\r\n\r\n", b"data: ", big, b"\n\n"]);
        assert_eq!(got[0].as_ref().unwrap().data.as_deref(), Some("ok"));
        assert!(got[1].as_ref().unwrap_err().contains("larger than 1024 KiB"), "{got:?}");
        // Many small events add up to no limit.
        let many: &'static [u8] = Box::leak(b"data: 0123456789\n\n".repeat(MAX_EVENT_BYTES / 10).into_boxed_slice());
        assert!(all(vec![many]).iter().all(|e| e.is_ok()));
    }
}
