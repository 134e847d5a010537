//! Tables: columns fitted to the width, cells cut with `…`, ` │ ` between
//! columns and a `─┼─` rule under the header.

use pulldown_cmark::Alignment;

use super::MarkdownStyles;
use super::wrap::{Align, Pieces, fit, pad, pieces_width, push_piece, trim_end};

/// Cells between two columns: ` │ `.
const SEP: &str = " │ ";

/// Column widths for `natural` widths in `room` cells: columns that fit in an
/// equal share keep their width, the others share what is left equally.
pub(crate) fn widths(natural: &[usize], room: usize) -> Vec<usize> {
    let mut out = vec![0; natural.len()];
    let mut order: Vec<usize> = (0..natural.len()).collect();
    order.sort_by_key(|&i| natural[i]);
    let mut left = room;
    for (k, &i) in order.iter().enumerate() {
        let share = left / (natural.len() - k);
        out[i] = natural[i].min(share);
        left -= out[i];
    }
    out
}

/// The rows of a table (the first `head` of them the header) as lines of at
/// most `width` cells (at least one cell per column when the width allows it).
pub(crate) fn render(
    rows: &[Vec<Pieces>],
    head: usize,
    aligns: &[Alignment],
    width: usize,
    styles: &MarkdownStyles,
) -> Vec<Pieces> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0).max(aligns.len());
    if cols == 0 {
        return Vec::new();
    }
    let mut natural = vec![1; cols];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            natural[i] = natural[i].max(pieces_width(cell));
        }
    }
    let seps = crate::text::width(SEP) * (cols - 1);
    let widths = widths(&natural, width.saturating_sub(seps));
    let mut out = Vec::new();
    let empty = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let mut line = Vec::new();
        for (i, &w) in widths.iter().enumerate() {
            if i > 0 {
                push_piece(&mut line, SEP, styles.rule);
            }
            let cell = row.get(i).unwrap_or(&empty);
            let align = match aligns.get(i) {
                Some(Alignment::Right) => Align::Right,
                Some(Alignment::Center) => Align::Center,
                _ => Align::Left,
            };
            line.extend(pad(fit(cell, w), w, align, styles.text));
        }
        out.push(trim_end(line));
        if r + 1 == head {
            let rule: Vec<String> = widths.iter().map(|&w| "─".repeat(w)).collect();
            out.push(vec![(rule.join("─┼─"), styles.rule)]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_columns_keep_their_width_and_wide_ones_share() {
        assert_eq!(widths(&[3, 50, 50], 43), vec![3, 20, 20]);
        assert_eq!(widths(&[3, 5], 20), vec![3, 5]);
        assert_eq!(widths(&[10, 10], 3), vec![1, 2]);
    }
}
