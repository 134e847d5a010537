//! Styled lines on top of [`crate::text`]: hits (search matches, fuzzy-match
//! positions) marked on the original text, lines and table cells cut to the
//! cells they have with `…`.

use std::borrow::Cow;
use std::ops::Range;

use ratatui::style::Style;
use ratatui::text::Span;
use unicode_segmentation::UnicodeSegmentation;

use crate::text;

/// `raw` cleaned for the terminal ([`text::clean`]), as spans: the byte
/// ranges `hits` (of `raw`, sorted, as [`text::find_ci`] and
/// [`text::char_ranges`] return them) in `hit`, the rest in `base`. A grapheme
/// cluster partly inside a hit is marked whole, so a combining mark never
/// lands in a span of its own.
pub fn marked(raw: &str, hits: &[Range<usize>], base: Style, hit: Style) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let mut cur = String::new();
    let mut cur_hit = false;
    let mut col = 0;
    let mut next = hits.iter().filter(|r| r.start < r.end).peekable();
    for (at, g) in raw.grapheme_indices(true) {
        let end = at + g.len();
        while next.peek().is_some_and(|r| r.end <= at) {
            next.next();
        }
        let is_hit = next.peek().is_some_and(|r| r.start < end);
        if is_hit != cur_hit && !cur.is_empty() {
            spans.push(Span::styled(std::mem::take(&mut cur), if cur_hit { hit } else { base }));
        }
        cur_hit = is_hit;
        col = text::clean_onto(&mut cur, g, col);
    }
    if !cur.is_empty() {
        spans.push(Span::styled(cur, if cur_hit { hit } else { base }));
    }
    spans
}

/// Cells `spans` take as drawn (each span is drawn on its own).
pub fn spans_width(spans: &[Span]) -> usize {
    spans.iter().map(|s| text::width(&s.content)).sum()
}

/// `spans` with their text cleaned for the terminal ([`text::clean`], tab
/// stops counted across spans). Spans with nothing to clean are kept as they
/// are.
pub fn clean_spans(spans: Vec<Span<'_>>) -> Vec<Span<'_>> {
    let mut col = 0;
    spans
        .into_iter()
        .map(|sp| {
            let content = if text::needs_cleaning(&sp.content) {
                let mut out = String::new();
                col = text::clean_onto(&mut out, &sp.content, col);
                Cow::Owned(out)
            } else {
                col += text::width(&sp.content);
                sp.content
            };
            Span { content, style: sp.style }
        })
        .collect()
}

/// `spans` cleaned ([`clean_spans`]) and cut to at most `max` cells: whole
/// spans while they fit, then the span that crosses the edge cut with `…` in
/// its own style.
pub fn fit_spans(spans: Vec<Span<'_>>, max: usize) -> Vec<Span<'_>> {
    let spans = clean_spans(spans);
    if spans_width(&spans) <= max {
        return spans;
    }
    let mut out = Vec::new();
    let mut used = 0;
    for sp in spans {
        let w = text::width(&sp.content);
        if used + w < max {
            used += w;
            out.push(sp);
            continue;
        }
        let cut = text::ellipsize(&sp.content, max - used);
        if !cut.is_empty() {
            out.push(Span::styled(cut, sp.style));
        }
        break;
    }
    out
}

#[cfg(test)]
mod tests {
    use ratatui::style::Modifier;

    use super::*;

    #[test]
    fn hits_are_marked_on_the_original_text() {
        let hit = Style::default().add_modifier(Modifier::REVERSED);
        let line = "\u{212A}ab\u{130}\u{130}";
        let spans = marked(line, &text::find_ci(line, "a"), Style::default(), hit);
        let texts: Vec<(&str, bool)> = spans.iter().map(|s| (&*s.content, s.style == hit)).collect();
        assert_eq!(texts, vec![("\u{212A}", false), ("a", true), ("b\u{130}\u{130}", false)]);
        // A hit on `e` of `e` + combining mark takes the mark along.
        let e = 1..2;
        let spans = marked("xe\u{301}y", std::slice::from_ref(&e), Style::default(), hit);
        assert_eq!(spans[1].content, "e\u{301}");
        // Tabs expand with the column counted across spans.
        let a = 0..1;
        let spans = marked("ab\tc", std::slice::from_ref(&a), Style::default(), hit);
        assert_eq!(spans.iter().map(|s| &*s.content).collect::<String>(), "ab      c");
    }

    #[test]
    fn lines_are_cut_with_an_ellipsis_in_the_cut_spans_style() {
        let dim = Style::default().add_modifier(Modifier::DIM);
        let spans = vec![Span::raw("▸ "), Span::styled("中文名字", dim), Span::raw(" ⚠")];
        let cut = fit_spans(spans.clone(), 7);
        assert_eq!(cut.iter().map(|s| &*s.content).collect::<String>(), "▸ 中文…");
        assert_eq!(cut[1].style, dim);
        assert!(spans_width(&cut) <= 7);
        assert_eq!(fit_spans(spans.clone(), 12).len(), 3, "fits: unchanged");
        assert!(fit_spans(spans, 0).is_empty());
    }
}
