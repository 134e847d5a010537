//! Rendering a message that grows token by token without redrawing it all.
//!
//! The source is cut into *slices* at safe block starts (see [`safe_starts`]):
//! a slice ending before the last safe start is finished — text appended
//! later cannot change how it parses — so its lines are kept. Only the open
//! slice (from the last safe start to the end) is rendered again on each
//! update. [`super::render`] is this same procedure run once, so a cache fed
//! any sequence of prefixes ends with exactly the lines of one whole render.

use pulldown_cmark::{Event, Parser};
use ratatui::text::Line;

use super::MarkdownStyles;
use super::code::Memo;
use super::options;
use super::render::render_slice;

/// Lines of one growing Markdown message, kept between updates.
///
/// Feed it the whole text each time ([`MarkdownCache::lines`]); when the text
/// only grew at its end and the width and styles are the same, only the last
/// open part is rendered again. Anything else starts over.
#[derive(Debug, Default, Clone)]
pub struct MarkdownCache {
    /// The text rendered last.
    src: String,
    width: u16,
    styles: Option<MarkdownStyles>,
    /// Byte offset in `src` where the open slice starts.
    pub(super) resume: usize,
    /// `lines[..frozen]` are the finished slices' lines.
    pub(super) frozen: usize,
    lines: Vec<Line<'static>>,
    /// Highlighting of the open code block, carried over.
    memo: Memo,
}

impl MarkdownCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// `md` rendered at `width` cells (see [`super::render`]), reusing the
    /// lines of finished blocks when `md` extends the text of the last call.
    pub fn lines(&mut self, md: &str, width: u16, styles: &MarkdownStyles) -> &[Line<'static>] {
        let same = self.styles.as_ref() == Some(styles) && self.width == width && md.starts_with(self.src.as_str());
        if same && md.len() == self.src.len() {
            return &self.lines;
        }
        if !same {
            self.src.clear();
            self.width = width;
            self.styles = Some(*styles);
            self.resume = 0;
            self.frozen = 0;
            self.lines.clear();
            self.memo = Memo::default();
        }
        self.src.push_str(&md[self.src.len()..]);
        self.lines.truncate(self.frozen);
        if width == 0 {
            return &self.lines;
        }
        let tail = &md[self.resume..];
        let mut from = 0;
        for at in safe_starts(tail) {
            append(&mut self.lines, render_slice(&tail[from..at], usize::from(width), styles, &mut self.memo));
            from = at;
        }
        self.resume += from;
        self.frozen = self.lines.len();
        append(&mut self.lines, render_slice(&tail[from..], usize::from(width), styles, &mut self.memo));
        &self.lines
    }
}

/// `more` after `lines`, one blank line between when both have lines.
fn append(lines: &mut Vec<Line<'static>>, more: Vec<Line<'static>>) {
    if !lines.is_empty() && !more.is_empty() {
        lines.push(Line::default());
    }
    lines.extend(more);
}

/// Byte offsets (after 0) of the top-level blocks of `src` that end the
/// part before them for good. Such a block
/// - starts at the beginning of a line with a character that is not a space
///   or tab (so it cannot be the continuation of an indented list item or
///   code block before it), nor `[` (a paragraph starting with `[` can still
///   turn into a link reference definition, which draws nothing and resolves
///   links elsewhere);
/// - follows the block before it with only blank lines between (no link
///   reference definition, whose title can still grow over the next lines);
/// - follows a blank line, or its first line is complete (a line right after
///   a paragraph can still turn into a lazy continuation of it, as `#` does
///   when `x` follows). A line starting with a digit must be complete even
///   after a blank line: `2` can still become `2)`, the next item of the list
///   before it.
///
/// An unclosed code fence runs to the end, so nothing after it is ever a
/// block start.
pub(crate) fn safe_starts(src: &str) -> Vec<usize> {
    let bytes = src.as_bytes();
    let blank = |s: &str| s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'));
    let after_blank_line = |at: usize| {
        let before = &src[..at - 1];
        blank(before.rfind('\n').map_or(before, |nl| &before[nl + 1..]))
    };
    let safe = |at: usize, prev_end: usize| {
        at > 0
            && bytes[at - 1] == b'\n'
            && !matches!(bytes.get(at), None | Some(b' ' | b'\t' | b'\n' | b'\r' | b'['))
            && src.get(prev_end.min(at)..at).is_some_and(blank)
            && ((after_blank_line(at) && !bytes[at].is_ascii_digit()) || src[at..].contains('\n'))
    };
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut prev_end = 0;
    for (ev, range) in Parser::new_ext(src, options()).into_offset_iter() {
        match ev {
            Event::Start(_) => {
                if depth == 0 && safe(range.start, prev_end) {
                    out.push(range.start);
                }
                depth += 1;
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    prev_end = range.end;
                }
            }
            _ if depth == 0 => {
                if safe(range.start, prev_end) {
                    out.push(range.start);
                }
                prev_end = range.end;
            }
            _ => {}
        }
    }
    out
}
