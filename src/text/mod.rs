//! Text as a terminal shows it: case-insensitive search, display width,
//! truncation with an ellipsis, and cleaning of text that comes from outside
//! (tool output, process names, alert labels, MCP text, notices). Pure, no IO.
//!
//! **The rule.** A position is only ever used on the string it was computed
//! on. Case-insensitive search does not lowercase the text and slice the
//! original with the copy's byte offsets (lowercasing changes byte lengths:
//! `K` U+212A KELVIN SIGN is 3 bytes, its lowercase `k` is 1; `İ` is 2 bytes,
//! its lowercase `i̇` is 3). Instead every char is folded to exactly one char
//! ([`fold`]), so the n-th char of the folded copy is the fold of the n-th
//! char of the original, and matches are mapped back through char positions
//! ([`find_ci`]). Positions from the fuzzy matcher (nucleo) are char indices
//! into a haystack built by [`haystack`], mapped with [`char_ranges`].
//!
//! **Widths** are terminal cells as ratatui draws a string: grapheme clusters
//! (a letter and its combining marks, an emoji ZWJ sequence) measured with
//! `unicode-width` (wide CJK and emoji take 2 cells, combining marks 0), and
//! clusters holding a control character drawn as nothing ([`width`]).
//! [`truncate`] and [`fit`] never exceed a width and never split a cluster.
//!
//! **Cleaning.** Text from outside may hold tabs, NUL, escape sequences,
//! line breaks and bidirectional controls. ratatui drops control characters,
//! which silently glues words together (`a\tb` would show as `ab`) and hides
//! that something was there. [`clean`] makes every such character visible
//! and harmless: a tab becomes spaces up to the next multiple of
//! [`TAB_STOP`] columns, a line break (`\n`, `\r`, `\r\n`, U+2028, U+2029)
//! one space, other C0 controls and DEL their Control Pictures symbol
//! (`␀`, `␛`, `␡`), C1 controls `�`, and invisible format characters are
//! removed: bidirectional controls (which could reorder the rest of a
//! terminal line), zero-width space, word joiner, BOM. (ratatui would glue
//! those to the previous cell and send them to the terminal.) Joiners that
//! shape text (ZWJ, ZWNJ) and variation selectors stay. Nothing that moves
//! the cursor or changes the terminal's state remains.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ops::Range;

use nucleo_matcher::Utf32Str;
use ratatui::buffer::CellWidth;
use unicode_segmentation::UnicodeSegmentation;

pub mod file;
pub mod rank;
pub mod units;

/// The up to three `candidates` closest to `word` by edit distance (at most a
/// third of the word's length, and at least 2), nearest first: what "did you
/// mean" offers for a misspelt key, argument or name.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    let mut near: Vec<(usize, &str)> =
        candidates.into_iter().map(|c| (strsim::levenshtein(word, c), c)).filter(|&(d, _)| d <= limit).collect();
    near.sort_unstable();
    near.dedup();
    near.into_iter().take(3).map(|(_, c)| c).collect()
}
#[cfg(test)]
mod tests;

/// Shown where text was cut.
pub const ELLIPSIS: &str = "…";

/// Tabs are expanded to the next multiple of this many columns.
pub const TAB_STOP: usize = 8;

/// One char, case-folded to one char: simple Unicode case folding
/// (CaseFolding.txt statuses C and S, the folding the fuzzy filters use),
/// plus `İ` (U+0130, which only has a multi-char full folding) to `i`.
/// Examples: `K` (Kelvin) → `k`, `Σ` and `ς` → `σ`, `ẞ` → `ß`.
/// There is no Unicode normalization: precomposed `é` does not equal `e` +
/// U+0301.
pub fn fold(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else if c == '\u{130}' {
        'i'
    } else {
        nucleo_matcher::chars::to_lower_case(c)
    }
}

fn folded(s: &str) -> String {
    s.chars().map(fold).collect()
}

/// `1 line`, `2 lines`, `0 lines`: a count with its noun in the right number.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Does `haystack` contain `needle`, ignoring case ([`fold`])? An empty
/// needle is contained in everything (a filter nobody typed passes all).
pub fn contains_ci(haystack: &str, needle: &str) -> bool {
    needle.is_empty() || folded(haystack).contains(&folded(needle))
}

/// Every non-overlapping occurrence of `needle` in `haystack`, ignoring case
/// ([`fold`]), left to right, as byte ranges **of `haystack`** (always on
/// char boundaries, so slicing `haystack` with them never panics). The text of
/// each range folds to exactly the folded needle. An empty needle finds
/// nothing. Linear in the length of both strings.
pub fn find_ci(haystack: &str, needle: &str) -> Vec<Range<usize>> {
    if needle.is_empty() {
        return Vec::new();
    }
    let (h, n) = (folded(haystack), folded(needle));
    // Walk the original and the folded copy in step: char k starts at
    // `orig` in one and at `fold` in the other.
    let mut chars = haystack.chars();
    let (mut fold_at, mut orig_at) = (0usize, 0usize);
    let mut advance_to = |target: usize, fold_at: &mut usize, orig_at: &mut usize| {
        while *fold_at < target {
            let Some(c) = chars.next() else { break };
            *fold_at += fold(c).len_utf8();
            *orig_at += c.len_utf8();
        }
    };
    let mut out = Vec::new();
    for (start, m) in h.match_indices(n.as_str()) {
        advance_to(start, &mut fold_at, &mut orig_at);
        let s = orig_at;
        advance_to(start + m.len(), &mut fold_at, &mut orig_at);
        out.push(s..orig_at);
    }
    out
}

/// Compare two strings ignoring case ([`fold`]), without allocating.
pub fn cmp_ci(a: &str, b: &str) -> Ordering {
    a.chars().map(fold).cmp(b.chars().map(fold))
}

/// A haystack for nucleo whose match indices are **char** indices of `s`.
/// (`Utf32Str::new` counts grapheme clusters for most non-ASCII text and
/// bytes for the rest, so its indices cannot be mapped back reliably.)
pub fn haystack<'a>(s: &'a str, buf: &'a mut Vec<char>) -> Utf32Str<'a> {
    if s.is_ascii() {
        Utf32Str::Ascii(s.as_bytes())
    } else {
        buf.clear();
        buf.extend(s.chars());
        Utf32Str::Unicode(buf)
    }
}

/// Char indices of `s` (e.g. a fuzzy match from a [`haystack`]) as byte
/// ranges of `s`, sorted, adjacent chars merged. Indices past the end are
/// ignored.
pub fn char_ranges(s: &str, char_indices: &[u32]) -> Vec<Range<usize>> {
    let mut idx: Vec<u32> = char_indices.to_vec();
    idx.sort_unstable();
    idx.dedup();
    let mut want = idx.into_iter().peekable();
    let mut out: Vec<Range<usize>> = Vec::new();
    for (k, (b, c)) in s.char_indices().enumerate() {
        let Some(&next) = want.peek() else { break };
        if next as usize != k {
            continue;
        }
        want.next();
        let r = b..b + c.len_utf8();
        match out.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ => out.push(r),
        }
    }
    out
}

/// Terminal cells `s` takes when ratatui draws it (see the module docs).
pub fn width(s: &str) -> usize {
    // Printable ASCII (most names, numbers and labels) is one cell a byte;
    // grapheme segmentation is the slow path, for the rest.
    if printable_ascii(s) {
        return s.len();
    }
    s.graphemes(true).map(drawn_width).sum()
}

/// Every byte a printable ASCII character: one cell each, nothing to clean.
fn printable_ascii(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// Cells one grapheme cluster takes when ratatui draws it.
pub(crate) fn drawn_width(g: &str) -> usize {
    if g.contains(char::is_control) { 0 } else { usize::from(g.cell_width()) }
}

/// `s` broken into lines of at most `width` cells (at least one line; a
/// cluster wider than `width` gets a line of its own), so that the number of
/// lines drawn is known before drawing them.
pub fn wrap_hard(s: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = vec![String::new()];
    let mut used = 0;
    for g in s.graphemes(true) {
        let w = drawn_width(g);
        if used + w > width && used > 0 {
            lines.push(String::new());
            used = 0;
        }
        if let Some(last) = lines.last_mut() {
            last.push_str(g);
        }
        used += w;
    }
    lines
}

/// `s` broken into lines of at most `width` cells at spaces (the spaces at
/// a break are dropped); a word wider than `width` is broken where it must
/// be, as [`wrap_hard`] does. At least one line.
pub fn wrap_words(s: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let (mut cur, mut used) = (String::new(), 0);
    for piece in s.split_inclusive(' ') {
        let bare = self::width(piece.trim_end_matches(' '));
        if used > 0 && used + bare > width {
            let done = cur.trim_end_matches(' ');
            if !done.is_empty() {
                lines.push(done.to_string());
            }
            (cur, used) = (String::new(), 0);
        }
        if bare > width {
            let word = piece.trim_end_matches(' ');
            let mut parts = wrap_hard(word, width);
            let last = parts.pop().unwrap_or_default();
            lines.extend(parts);
            cur = last + &piece[word.len()..];
            used = self::width(&cur);
            continue;
        }
        cur.push_str(piece);
        used += self::width(piece);
    }
    lines.push(cur);
    lines
}

/// `s` cut to at most `max` cells, ending in `…` when something was cut.
/// Never splits a grapheme cluster; borrows when `s` already fits. Stops
/// reading `s` once `max` is passed.
pub fn truncate(s: &str, max: usize) -> Cow<'_, str> {
    if printable_ascii(s) {
        return if s.len() <= max { Cow::Borrowed(s) } else { Cow::Owned(ellipsize(s, max)) };
    }
    let mut used = 0;
    for g in s.graphemes(true) {
        used += drawn_width(g);
        if used > max {
            return Cow::Owned(ellipsize(s, max));
        }
    }
    Cow::Borrowed(s)
}

/// The longest cluster-boundary prefix of `s` followed by `…`, at most `max`
/// cells in all (empty when `max` is 0): for text known to be cut already.
pub fn ellipsize(s: &str, max: usize) -> String {
    if max == 0 {
        return String::new();
    }
    let mut used = 0;
    let mut cut = 0;
    for (at, g) in s.grapheme_indices(true) {
        used += drawn_width(g);
        if used > max - 1 {
            break;
        }
        cut = at + g.len();
    }
    // Clusters can join across the cut (a prepended mark before `…`): measure
    // the result as drawn and give back clusters until it fits.
    let mut kept = &s[..cut];
    loop {
        let out = format!("{kept}{ELLIPSIS}");
        if kept.is_empty() || width(&out) <= max {
            return out;
        }
        kept = kept.grapheme_indices(true).next_back().map_or("", |(at, _)| &kept[..at]);
    }
}

/// Is `c` an invisible format character that [`clean`] removes: a
/// bidirectional control (LRM, RLM, ALM, embeddings, overrides, isolates),
/// zero-width space, word joiner and invisible operators, deprecated format
/// characters, or BOM?
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
    )
}

/// Does the cluster need cleaning? (Controls are always clusters of their
/// own, except `\r\n`; invisible format characters too.)
fn needs_clean(g: &str) -> bool {
    g.chars().any(|c| c.is_control() || is_invisible_format(c) || c == '\u{2028}' || c == '\u{2029}')
}

/// Append the cleaned form of one grapheme cluster drawn at column `col`;
/// returns its width in cells.
fn push_clean(out: &mut String, g: &str, col: usize) -> usize {
    if !needs_clean(g) {
        out.push_str(g);
        return drawn_width(g);
    }
    if g == "\r\n" {
        out.push(' ');
        return 1;
    }
    let mut w = 0;
    for c in g.chars() {
        match c {
            '\t' => {
                let n = TAB_STOP - (col + w) % TAB_STOP;
                out.extend(std::iter::repeat_n(' ', n));
                w += n;
            }
            '\n' | '\r' | '\u{2028}' | '\u{2029}' => {
                out.push(' ');
                w += 1;
            }
            c if is_invisible_format(c) => {}
            '\u{7f}' => {
                out.push('\u{2421}');
                w += 1;
            }
            c if (c as u32) < 0x20 => {
                out.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}'));
                w += 1;
            }
            c if c.is_control() => {
                out.push('\u{FFFD}');
                w += 1;
            }
            c => {
                let mut b = [0; 4];
                let s = c.encode_utf8(&mut b);
                out.push_str(s);
                w += drawn_width(s);
            }
        }
    }
    w
}

/// Does `s` hold anything [`clean`] changes?
pub fn needs_cleaning(s: &str) -> bool {
    s.chars().any(|c| c.is_control() || is_invisible_format(c) || c == '\u{2028}' || c == '\u{2029}')
}

/// `s` made safe and visible on a terminal line (see the module docs).
/// Borrows when there is nothing to clean.
pub fn clean(s: &str) -> Cow<'_, str> {
    if !needs_cleaning(s) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    clean_onto(&mut out, s, 0);
    Cow::Owned(out)
}

/// `s` cleaned line by line, keeping its line breaks (`\n`; `\r\n` becomes
/// `\n`): text from a remote peer written to a terminal as lines, like a
/// streamed answer on stdout. Borrows when there is nothing to clean.
pub fn clean_lines(s: &str) -> Cow<'_, str> {
    if !s
        .chars()
        .any(|c| (c.is_control() && c != '\n') || is_invisible_format(c) || matches!(c, '\u{2028}' | '\u{2029}'))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        clean_onto(&mut out, line.strip_suffix('\r').unwrap_or(line), 0);
    }
    Cow::Owned(out)
}

/// Append `s` cleaned to `out`, as if drawn from column `col` (tab stops
/// depend on it); returns the column after it.
pub fn clean_onto(out: &mut String, s: &str, col: usize) -> usize {
    let start = out.len();
    let mut at = col;
    for g in s.graphemes(true) {
        at += push_clean(out, g, at);
    }
    // Removing a format character can join its neighbours into one cluster:
    // the column is what the appended text takes as drawn.
    col + width(&out[start..])
}

/// `s` cleaned and cut to at most `max` cells (with `…` when cut): what a
/// table cell or a one-line field shows. Stops reading `s` once `max` is
/// passed, so a huge string costs no more than a short one.
pub fn fit(s: &str, max: usize) -> String {
    if printable_ascii(s) {
        return if s.len() <= max { s.to_string() } else { ellipsize(s, max) };
    }
    let mut out = String::new();
    let mut used = 0;
    for g in s.graphemes(true) {
        used += push_clean(&mut out, g, used);
        if used > max {
            return ellipsize(&out, max);
        }
    }
    if width(&out) <= max { out } else { ellipsize(&out, max) }
}

/// `s` cleaned and cut to at most `max` cells by leaving out its middle
/// (`/home/u/.local/share/opsd…/exports/chat-17965.md`): for a text whose
/// end matters as much as its start, a status notice with a path or the
/// reason at its end. The start keeps about 40 % of the room.
pub fn fit_middle(s: &str, max: usize) -> String {
    let clean = clean(s);
    if width(&clean) <= max {
        return clean.into_owned();
    }
    if max < 8 {
        return fit(&clean, max);
    }
    let room = max - 1;
    let head = prefix_for_width(&clean, room * 2 / 5);
    let head = if width(head) > room * 2 / 5 { &head[..head.len() - last_cluster_len(head)] } else { head };
    let mut tail_at = clean.len();
    let mut used = width(head);
    for (at, g) in clean.grapheme_indices(true).rev() {
        let w = width(g);
        if used + w > room {
            break;
        }
        used += w;
        tail_at = at;
    }
    format!("{head}…{}", &clean[tail_at..])
}

fn last_cluster_len(s: &str) -> usize {
    s.graphemes(true).next_back().map_or(0, str::len)
}

/// The shortest prefix of `s` (ending on a cluster boundary) that fills at
/// least `cells` cells once cleaned, or all of `s`. The part of a long line
/// a box of that width can show.
pub fn prefix_for_width(s: &str, cells: usize) -> &str {
    let mut col = 0;
    let mut scratch = String::new();
    for (at, g) in s.grapheme_indices(true) {
        if col >= cells {
            return &s[..at];
        }
        scratch.clear();
        col += push_clean(&mut scratch, g, col);
    }
    s
}

/// `s` without the clusters that fill its first `cells` cells once cleaned
/// (a wide cluster straddling the edge goes too): what is left of a line
/// scrolled `cells` cells sideways. Empty when `s` is not that wide.
pub fn skip_cells(s: &str, cells: usize) -> &str {
    let mut col = 0;
    let mut scratch = String::new();
    for (at, g) in s.grapheme_indices(true) {
        if col >= cells {
            return &s[at..];
        }
        scratch.clear();
        col += push_clean(&mut scratch, g, col);
    }
    ""
}

/// `s` scrolled `cells` cells sideways and fitted to `max` cells: `…` in
/// the first cell when something is hidden on the left, `…` at the end
/// when something is on the right (see [`fit`]). A non-empty line
/// scrolled entirely out of view is `…` (its text is all on the left).
pub fn fit_scrolled(s: &str, cells: usize, max: usize) -> String {
    if cells == 0 {
        return fit(s, max);
    }
    let rest = skip_cells(s, cells);
    if s.is_empty() || max == 0 {
        return String::new();
    }
    if rest.is_empty() {
        return "…".into();
    }
    format!("…{}", fit(skip_cells(rest, 1), max - 1))
}

/// `s` extended from byte `end` by up to `n` more chars (on a char boundary).
pub fn extend_by_chars(s: &str, end: usize, n: usize) -> &str {
    let end = end.min(s.len());
    let extra: usize = s.get(end..).map_or(0, |rest| rest.chars().take(n).map(char::len_utf8).sum());
    s.get(..end + extra).unwrap_or(s)
}
