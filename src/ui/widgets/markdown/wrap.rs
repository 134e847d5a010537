//! Styled text cut into lines: word wrap across spans, cutting with `…`.
//!
//! A [`Seg`] is already-cleaned text (no control characters: see
//! [`crate::text::clean`]) with its style. Widths are terminal cells of
//! grapheme clusters ([`crate::text::drawn_width`]); no function here splits a
//! cluster, and none returns a line wider than it was asked for, except that a
//! single cluster wider than the whole width (a wide character in a 1-cell
//! column) gets a line of its own.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_segmentation::UnicodeSegmentation;

use crate::text::{ELLIPSIS, drawn_width};

/// One piece of inline content: cleaned text and its style, or a hard line break.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seg {
    /// Text without control characters.
    Text(String, Style),
    /// A forced line break (a Markdown hard break, a line of an HTML block).
    Break,
}

/// A line under construction: `(text, style)` pieces.
pub(crate) type Pieces = Vec<(String, Style)>;

/// Cells a piece list takes.
pub(crate) fn pieces_width(p: &[(String, Style)]) -> usize {
    p.iter().map(|(s, _)| crate::text::width(s)).sum()
}

/// Cells a line takes, measured as [`crate::text::width`] does per span.
pub fn line_width(line: &Line<'_>) -> usize {
    line.spans.iter().map(|s| crate::text::width(&s.content)).sum()
}

/// Append `s` to `p`, merging with the last piece when the style is the same.
pub(crate) fn push_piece(p: &mut Pieces, s: &str, style: Style) {
    if s.is_empty() {
        return;
    }
    match p.last_mut() {
        Some((text, st)) if *st == style => text.push_str(s),
        _ => p.push((s.to_string(), style)),
    }
}

/// `p` without trailing spaces.
pub(crate) fn trim_end(mut p: Pieces) -> Pieces {
    while let Some((s, _)) = p.last_mut() {
        let kept = s.trim_end_matches(' ').len();
        s.truncate(kept);
        if !s.is_empty() {
            break;
        }
        p.pop();
    }
    p
}

/// Pieces as a ratatui line.
pub(crate) fn to_line(p: Pieces) -> Line<'static> {
    Line::from(p.into_iter().map(|(s, st)| Span::styled(s, st)).collect::<Vec<_>>())
}

/// A word: non-space text, possibly in several styles (`**a**b`).
#[derive(Default)]
struct Word {
    pieces: Pieces,
    width: usize,
}

/// Inline segments word-wrapped to `width` cells (at least 1): breaks at
/// spaces (the spaces at a break are dropped), a word wider than a line is
/// broken between clusters, [`Seg::Break`] forces a break. At least one line
/// (maybe empty).
pub(crate) fn wrap(segs: &[Seg], width: usize) -> Vec<Pieces> {
    let width = width.max(1);
    let mut out: Vec<Pieces> = Vec::new();
    let mut line: Pieces = Vec::new();
    let mut used = 0usize;
    // Spaces seen since the last word, placed only if a word follows on the same line.
    let mut spaces: Pieces = Vec::new();
    let mut spaces_w = 0usize;
    let mut word = Word::default();

    let place = |word: &mut Word,
                 out: &mut Vec<Pieces>,
                 line: &mut Pieces,
                 used: &mut usize,
                 spaces: &mut Pieces,
                 spaces_w: &mut usize| {
        if word.pieces.is_empty() {
            return;
        }
        let w = std::mem::take(word);
        if *used > 0 && *used + *spaces_w + w.width > width {
            out.push(std::mem::take(line));
            *used = 0;
        } else if *used > 0 {
            for (s, st) in spaces.drain(..) {
                push_piece(line, &s, st);
            }
            *used += *spaces_w;
        }
        spaces.clear();
        *spaces_w = 0;
        if *used + w.width <= width {
            for (s, st) in &w.pieces {
                push_piece(line, s, *st);
            }
            *used += w.width;
            return;
        }
        // Too wide for a line of its own: break between clusters.
        for (s, st) in &w.pieces {
            for g in s.graphemes(true) {
                let gw = drawn_width(g);
                if *used + gw > width && *used > 0 {
                    out.push(std::mem::take(line));
                    *used = 0;
                }
                push_piece(line, g, *st);
                *used += gw;
            }
        }
    };

    for seg in segs {
        match seg {
            Seg::Break => {
                place(&mut word, &mut out, &mut line, &mut used, &mut spaces, &mut spaces_w);
                out.push(std::mem::take(&mut line));
                used = 0;
                spaces.clear();
                spaces_w = 0;
            }
            Seg::Text(s, st) => {
                for g in s.graphemes(true) {
                    if g == " " {
                        place(&mut word, &mut out, &mut line, &mut used, &mut spaces, &mut spaces_w);
                        push_piece(&mut spaces, g, *st);
                        spaces_w += 1;
                    } else {
                        push_piece(&mut word.pieces, g, *st);
                        word.width += drawn_width(g);
                    }
                }
            }
        }
    }
    place(&mut word, &mut out, &mut line, &mut used, &mut spaces, &mut spaces_w);
    out.push(line);
    out
}

/// Pieces cut to at most `max` cells, ending in `…` (in the style of the
/// last piece kept) when something was cut. Empty when `max` is 0.
pub(crate) fn fit(p: &[(String, Style)], max: usize) -> Pieces {
    if pieces_width(p) <= max {
        return p.to_vec();
    }
    let mut out: Pieces = Vec::new();
    if max == 0 {
        return out;
    }
    let mut used = 0;
    let mut last_style = p.first().map_or_else(Style::new, |(_, st)| *st);
    'outer: for (s, st) in p {
        for g in s.graphemes(true) {
            let gw = drawn_width(g);
            if used + gw > max - 1 {
                break 'outer;
            }
            push_piece(&mut out, g, *st);
            last_style = *st;
            used += gw;
        }
    }
    push_piece(&mut out, ELLIPSIS, last_style);
    out
}

/// `p` padded with spaces (in `style`) to `width` cells: left, right or centred.
pub(crate) fn pad(mut p: Pieces, width: usize, align: Align, style: Style) -> Pieces {
    let w = pieces_width(&p);
    if w >= width {
        return p;
    }
    let extra = width - w;
    let (left, right) = match align {
        Align::Left => (0, extra),
        Align::Right => (extra, 0),
        Align::Center => (extra / 2, extra - extra / 2),
    };
    if left > 0 {
        p.insert(0, (" ".repeat(left), style));
    }
    if right > 0 {
        push_piece(&mut p, &" ".repeat(right), style);
    }
    p
}

/// Horizontal placement of a table cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
    Center,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Pieces]) -> Vec<String> {
        lines.iter().map(|l| l.iter().map(|(s, _)| s.as_str()).collect()).collect()
    }

    fn seg(s: &str) -> Seg {
        Seg::Text(s.to_string(), Style::new())
    }

    #[test]
    fn wraps_at_spaces_and_drops_them() {
        assert_eq!(text(&wrap(&[seg("aa bb cc")], 5)), ["aa bb", "cc"]);
        assert_eq!(text(&wrap(&[seg("aa   bb")], 4)), ["aa", "bb"]);
    }

    #[test]
    fn words_across_styles_stay_whole() {
        let bold = Style::new().bold();
        let segs = [seg("x "), Seg::Text("ab".into(), bold), seg("cd")];
        assert_eq!(text(&wrap(&segs, 4)), ["x", "abcd"]);
    }

    #[test]
    fn long_words_and_wide_chars_break_between_clusters() {
        assert_eq!(text(&wrap(&[seg("abcdefg")], 3)), ["abc", "def", "g"]);
        assert_eq!(text(&wrap(&[seg("日本語")], 3)), ["日", "本", "語"]);
        assert_eq!(text(&wrap(&[seg("日本")], 1)), ["日", "本"]);
    }

    #[test]
    fn fit_cuts_with_an_ellipsis() {
        let p = vec![("abc".to_string(), Style::new()), ("日本".to_string(), Style::new())];
        assert_eq!(text(&[fit(&p, 5)]), ["abc…"]);
        assert_eq!(text(&[fit(&p, 7)]), ["abc日本"]);
        assert_eq!(text(&[fit(&p, 0)]), [""]);
    }
}
