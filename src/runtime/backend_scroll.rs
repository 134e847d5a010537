//! Rows that moved, moved by the terminal: when a frame shows most of the
//! last one's rows a few rows higher or lower (a transcript or a log scrolled,
//! the chat pane jumping to the next message), [`LeanBackend`] sets a scroll
//! region over those rows and scrolls it (`DECSTBM` + `SU`/`SD`, about 20
//! bytes) instead of printing every character again, then draws only what
//! still differs. A full 200x50 screen of prose is 6–9 KB; the scroll and the
//! rows it reveals are a few hundred bytes.
//!
//! The search compares rows by a hash (each row of both frames hashed once),
//! for every shift up to the screen's height, and keeps the one that puts the
//! most changed rows right without breaking more rows that were right. It
//! runs only for frames that change at least [`MIN_ROWS`] rows' worth of
//! cells, and only when the backend trusts its shadow of the screen. A hash
//! collision can only choose a poorer scroll: what is drawn after it is the
//! exact difference between the scrolled shadow and the frame.
//!
//! [`LeanBackend`]: super::backend::LeanBackend

use ratatui::buffer::{Buffer, Cell, CellDiffOption, CellWidth};
use ratatui::style::{Color, Modifier};

/// Frames changing fewer cells than this many rows' worth are drawn as
/// they are: a scroll would not pay for its search.
pub const MIN_ROWS: usize = 4;

/// Rows `top..=bottom` (0-based, inclusive) moved by `by` rows: positive
/// when the content moved up (what `SU` does), negative when down (`SD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shift {
    pub top: u16,
    pub bottom: u16,
    pub by: i32,
}

impl Shift {
    /// The bytes that make the terminal do it: the region, the scroll, the
    /// whole screen as the region again. Both `DECSTBM`s home the cursor.
    pub fn sequence(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        let _ = write!(out, "\x1b[{};{}r", self.top + 1, self.bottom + 1);
        let (n, cmd) = if self.by > 0 { (self.by, 'S') } else { (-self.by, 'T') };
        let _ = write!(out, "\x1b[{n}{cmd}\x1b[r");
    }

    /// Do to `buf` what the terminal does: rows move within the region, the
    /// rows it reveals are blank (default colours: the pen is reset first).
    pub fn apply(&self, buf: &mut Buffer) {
        let w = usize::from(buf.area.width);
        let (top, bottom) = (usize::from(self.top), usize::from(self.bottom));
        let n = self.by.unsigned_abs() as usize;
        let region = &mut buf.content[top * w..(bottom + 1) * w];
        if self.by > 0 {
            region.rotate_left(n * w);
            let len = region.len();
            region[len - n * w..].fill(Cell::EMPTY);
        } else {
            region.rotate_right(n * w);
            region[..n * w].fill(Cell::EMPTY);
        }
    }
}

/// The shift that turns most of `old`'s rows into `new`'s, if one puts at
/// least [`MIN_ROWS`] more rows right than it breaks. `changed[y]` says
/// whether row `y` of `new` differs from `old` (rows that do not are not
/// hashed twice). Both buffers have the same area.
pub fn find(old: &Buffer, new: &Buffer, changed: &[bool]) -> Option<Shift> {
    let w = usize::from(old.area.width);
    let h = usize::from(old.area.height);
    if w == 0 || h < 2 || new.area != old.area || changed.len() != h {
        return None;
    }
    let old_h: Vec<u64> = (0..h).map(|y| row_hash(&old.content[y * w..(y + 1) * w])).collect();
    let new_h: Vec<u64> =
        (0..h).map(|y| if changed[y] { row_hash(&new.content[y * w..(y + 1) * w]) } else { old_h[y] }).collect();
    let mut best: Option<(usize, Shift)> = None;
    for by in (1..h as i32).flat_map(|k| [k, -k]) {
        // Rows put right: changed rows whose content is `by` rows away in the old frame.
        let mut lo = usize::MAX;
        let mut hi = 0;
        let mut gain = 0;
        for y in 0..h {
            let from = y as i32 + by;
            if !changed[y] || from < 0 || from >= h as i32 {
                continue;
            }
            if new_h[y] == old_h[from as usize] {
                gain += 1;
                lo = lo.min(y.min(from as usize));
                hi = hi.max(y.max(from as usize));
            }
        }
        if gain < MIN_ROWS || best.is_some_and(|(g, _)| gain <= g) {
            continue;
        }
        // Rows broken: right before, inside the region, not right after.
        let shift = Shift { top: lo as u16, bottom: hi as u16, by };
        let broken = (lo..=hi)
            .filter(|&y| {
                let from = y as i32 + by;
                let after = if from >= lo as i32 && from <= hi as i32 { Some(old_h[from as usize]) } else { None };
                !changed[y] && after != Some(new_h[y])
            })
            .count();
        let net = gain.saturating_sub(broken);
        if net >= MIN_ROWS && best.is_none_or(|(g, _)| net > g) {
            best = Some((net, shift));
        }
    }
    best.map(|(_, s)| s)
}

/// The cells of row `y` where `next` differs from `shown` (what the
/// terminal shows), appended to `out`: cells a wide character of `next`
/// covers are not drawn; a cell a wide character of `shown` covered differs
/// (the shadow keeps those blank and skipped), so it is drawn.
pub fn row_diff<'a>(shown: &Buffer, next: &'a Buffer, y: u16, out: &mut Vec<(u16, u16, &'a Cell)>) {
    let w = usize::from(next.area.width);
    let start = usize::from(y) * w;
    let (old, new) = (&shown.content[start..start + w], &next.content[start..start + w]);
    let mut covered = 0;
    for (x, (o, n)) in old.iter().zip(new).enumerate() {
        if covered > 0 {
            covered -= 1;
            continue;
        }
        if n.diff_option == CellDiffOption::Skip {
            continue;
        }
        if o != n {
            out.push((x as u16, y, n));
        }
        covered = usize::from(width(n)).saturating_sub(1);
    }
}

/// A cell's width in columns (one for a single byte, as most are).
pub fn width(c: &Cell) -> u16 {
    let s = c.symbol();
    if s.len() == 1 { 1 } else { c.cell_width() }
}

/// FNV-1a over a row's symbols, colours and attributes.
fn row_hash(cells: &[Cell]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in cells {
        for &b in c.symbol().as_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(PRIME);
        }
        let style = u64::from(color_code(c.fg))
            | u64::from(color_code(c.bg)) << 25
            | u64::from(c.modifier.bits()) << 50
            | u64::from(c.underline_color != Color::Reset) << 63;
        h = (h ^ style).wrapping_mul(PRIME);
        h = (h ^ u64::from(color_code(c.underline_color))).wrapping_mul(PRIME);
    }
    h
}

/// A colour as 25 bits: the named ones and indices below 2^9, RGB above.
fn color_code(c: Color) -> u32 {
    match c {
        Color::Reset => 0,
        Color::Indexed(i) => 32 + u32::from(i),
        Color::Rgb(r, g, b) => 1 << 24 | u32::from(r) << 16 | u32::from(g) << 8 | u32::from(b),
        named => {
            // Black..White, in declaration order.
            const NAMED: [Color; 16] = [
                Color::Black,
                Color::Red,
                Color::Green,
                Color::Yellow,
                Color::Blue,
                Color::Magenta,
                Color::Cyan,
                Color::Gray,
                Color::DarkGray,
                Color::LightRed,
                Color::LightGreen,
                Color::LightYellow,
                Color::LightBlue,
                Color::LightMagenta,
                Color::LightCyan,
                Color::White,
            ];
            1 + NAMED.iter().position(|n| *n == named).unwrap_or(0) as u32
        }
    }
}

/// Modifier bits fit the hash's layout (13 bits today).
const _: () = assert!(Modifier::all().bits() < 1 << 13);

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;

    fn screen(rows: &[&str]) -> Buffer {
        Buffer::with_lines(rows.iter().copied())
    }

    fn all_changed(a: &Buffer, b: &Buffer) -> Vec<bool> {
        let w = usize::from(a.area.width);
        (0..usize::from(a.area.height))
            .map(|y| a.content[y * w..(y + 1) * w] != b.content[y * w..(y + 1) * w])
            .collect()
    }

    #[test]
    fn text_moved_up_beside_a_still_column_is_one_scroll() {
        let rows: Vec<String> = (0..12).map(|i| format!("|  |line {i:02}")).collect();
        let old = screen(&rows.iter().map(String::as_str).collect::<Vec<_>>());
        let mut moved: Vec<String> = rows[3..].to_vec();
        moved.extend(["|  |new a".into(), "|  |new b".into(), "|  |new c".into()]);
        let new = screen(&moved.iter().map(String::as_str).collect::<Vec<_>>());
        let s = find(&old, &new, &all_changed(&old, &new)).expect("a shift");
        assert_eq!(s, Shift { top: 0, bottom: 11, by: 3 });
        let mut shifted = old.clone();
        s.apply(&mut shifted);
        // What is left to draw: the three revealed rows only.
        let left = shifted.diff(&new).iter().map(|(_, y, _)| *y).collect::<std::collections::BTreeSet<_>>();
        assert_eq!(left.into_iter().collect::<Vec<_>>(), vec![9, 10, 11]);
    }

    #[test]
    fn content_moved_down_in_the_middle_keeps_the_rows_around() {
        let mut rows: Vec<String> = (0..10).map(|i| format!("text {i}")).collect();
        rows[0] = "HEADER".into();
        rows[9] = "FOOTER".into();
        let old = screen(&rows.iter().map(String::as_str).collect::<Vec<_>>());
        let mut next = rows.clone();
        next[1] = "fresh".into();
        next[2..9].clone_from_slice(&rows[1..8]);
        let new = screen(&next.iter().map(String::as_str).collect::<Vec<_>>());
        let s = find(&old, &new, &all_changed(&old, &new)).expect("a shift");
        assert_eq!((s.by, s.top, s.bottom), (-1, 1, 8));
        let mut shifted = old.clone();
        s.apply(&mut shifted);
        assert_eq!(shifted.diff(&new).iter().filter(|(_, y, _)| *y != 1).count(), 0);
    }

    #[test]
    fn unrelated_frames_and_small_changes_are_not_scrolled() {
        let old = screen(&["aaaa", "bbbb", "cccc", "dddd", "eeee", "ffff"]);
        let new = screen(&["1111", "2222", "3333", "4444", "5555", "6666"]);
        assert_eq!(find(&old, &new, &all_changed(&old, &new)), None);
        // One row moved is not worth a scroll.
        let new = screen(&["bbbb", "zzzz", "cccc", "dddd", "eeee", "ffff"]);
        assert_eq!(find(&old, &new, &all_changed(&old, &new)), None);
        // Blank screens, one-row screens, different sizes.
        let blank = Buffer::empty(Rect::new(0, 0, 5, 8));
        assert_eq!(find(&blank, &blank, &[false; 8]), None);
        let one = Buffer::empty(Rect::new(0, 0, 5, 1));
        assert_eq!(find(&one, &one, &[true]), None);
        assert_eq!(find(&blank, &old, &[true; 6]), None);
    }

    #[test]
    fn the_sequences_are_the_standard_ones() {
        let mut out = Vec::new();
        Shift { top: 1, bottom: 47, by: 3 }.sequence(&mut out);
        assert_eq!(out, b"\x1b[2;48r\x1b[3S\x1b[r");
        out.clear();
        Shift { top: 0, bottom: 9, by: -2 }.sequence(&mut out);
        assert_eq!(out, b"\x1b[1;10r\x1b[2T\x1b[r");
    }
}
