//! The terminal backend: ratatui's cell diff written in as few bytes as the
//! terminal allows, in one `write` per frame.
//!
//! ratatui's `CrosstermBackend` writes every changed cell correctly but not
//! frugally: an absolute `CSI row;col H` before each run of changed cells
//! (even two cells apart), both colours whenever either changes (a truecolor
//! pair is ~34 bytes), a full colour and attribute reset after every frame and
//! a cursor hide every frame. On an idle dashboard that is most of what is
//! sent: over SSH every byte is latency, and under tmux every byte is parsed.
//! [`LeanBackend`] keeps what the terminal shows (a shadow of the last
//! frame, the pen — colours and attributes — and the cursor) and per cell
//! chooses the shortest way there:
//!
//! - the cursor is not moved when it is already in place; a short gap on the
//!   same row is re-printed from the shadow when that is shorter than a move
//!   and needs no pen change; otherwise `CSI n C` (forward) on the same row,
//!   `CSI row;col H` elsewhere;
//! - one `SGR` sequence per style change, naming only what changed
//!   (foreground, background, attributes switched on/off; an underline
//!   colour in a sequence of its own);
//! - the pen stays set between frames (the alternate screen is left with
//!   `CSI 0 m` first, see [`super::terminal::restore`]); cursor visibility is
//!   sent only when it changes.
//!
//! After a cell wider than one column the cursor position is treated as
//! unknown and the next cell is addressed absolutely, so a terminal that
//! disagrees about an emoji's width cannot shift the rest of the row.
//!
//! `tests/backend_vt100.rs` replays random frame sequences through this
//! backend into a `vt100` terminal and checks every cell's symbol and style
//! against ratatui's buffer.

use std::io::{self, Write};

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::{Buffer, Cell, CellDiffOption, CellWidth};
use ratatui::layout::{Position, Rect, Size};
use ratatui::style::{Color, Modifier};

use super::backend_scroll as scroll;

/// Colours and attributes the terminal will give the next printed character.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Pen {
    fg: Color,
    bg: Color,
    underline: Color,
    modifier: Modifier,
}

impl Pen {
    const DEFAULT: Pen =
        Pen { fg: Color::Reset, bg: Color::Reset, underline: Color::Reset, modifier: Modifier::empty() };

    fn of(cell: &Cell) -> Pen {
        Pen { fg: cell.fg, bg: cell.bg, underline: cell.underline_color, modifier: cell.modifier }
    }
}

/// Where the terminal's size comes from.
#[derive(Clone, Copy, Debug)]
enum SizeSource {
    /// Asked of the terminal (`TIOCGWINSZ`) each time.
    Terminal,
    /// Fixed, for tests.
    Fixed(Size),
}

/// A ratatui [`Backend`] writing to `W` with the fewest bytes per frame (see
/// the module docs). Output is buffered per frame and written by `flush`.
pub struct LeanBackend<W: Write> {
    out: W,
    /// Bytes of the frame being drawn, written at `flush`.
    buf: Vec<u8>,
    /// What the terminal shows, as far as this backend drew it.
    shadow: Buffer,
    /// The frame being drawn, rebuilt from the shadow and the changes when
    /// many cells change (kept to reuse its memory).
    next: Buffer,
    /// False after an operation that changed the screen in a way the shadow
    /// does not follow (a partial clear): no gap is re-printed from it then.
    shadow_trusted: bool,
    /// The terminal's pen, `None` when unknown (at start, after a clear).
    pen: Option<Pen>,
    /// Where the next printed character goes, `None` when unknown.
    cursor: Option<Position>,
    cursor_visible: Option<bool>,
    /// Where ratatui wants the cursor left; moved there only if it shows.
    wanted_cursor: Option<Position>,
    size: SizeSource,
}

impl<W: Write> LeanBackend<W> {
    /// A backend for the terminal behind `out` (its size asked of the
    /// controlling terminal).
    pub fn new(out: W) -> Self {
        Self::with_source(out, SizeSource::Terminal)
    }

    /// A backend of a fixed size, for tests: `out` collects the bytes.
    pub fn with_size(out: W, size: Size) -> Self {
        Self::with_source(out, SizeSource::Fixed(size))
    }

    fn with_source(out: W, size: SizeSource) -> Self {
        let mut b = LeanBackend {
            out,
            buf: Vec::with_capacity(16 * 1024),
            shadow: Buffer::empty(Rect::ZERO),
            next: Buffer::empty(Rect::ZERO),
            shadow_trusted: false,
            pen: None,
            cursor: None,
            cursor_visible: None,
            wanted_cursor: None,
            size,
        };
        // ratatui starts from a blank previous frame (the alternate screen
        // is blank when entered): so does the shadow.
        if let Ok(s) = b.size() {
            b.shadow = Buffer::empty(Rect::new(0, 0, s.width, s.height));
            b.shadow_trusted = true;
        }
        b
    }

    /// Forget the pen, cursor and visibility: something else wrote to the
    /// terminal (a suspend and resume). The next frame states them afresh.
    pub fn forget_terminal(&mut self) {
        self.pen = None;
        self.cursor = None;
        self.cursor_visible = None;
    }

    /// The writer (for tests: the bytes written so far).
    pub fn writer(&self) -> &W {
        &self.out
    }

    /// The writer, mutably (for tests: to take the bytes written so far).
    pub fn writer_mut(&mut self) -> &mut W {
        &mut self.out
    }

    fn move_to(&mut self, x: u16, y: u16) {
        let Some(at) = self.cursor else {
            return self.cup(x, y);
        };
        if at.x == x && at.y == y {
            return;
        }
        if at.y == y && at.x < x {
            let gap = x - at.x;
            let cuf_len = if gap == 1 { 3 } else { 3 + digits(gap) };
            if self.shadow_trusted && self.refill(at.x, x, y, cuf_len) {
                return;
            }
            if gap == 1 {
                self.buf.extend_from_slice(b"\x1b[C");
            } else {
                let _ = write!(self.buf, "\x1b[{gap}C");
            }
            self.cursor = Some(Position { x, y });
            return;
        }
        self.cup(x, y);
    }

    fn cup(&mut self, x: u16, y: u16) {
        let _ = write!(self.buf, "\x1b[{};{}H", y + 1, x + 1);
        self.cursor = Some(Position { x, y });
    }

    /// Re-print the shadow's cells `from..to` of row `y` when they are
    /// single-width, drawn with the current pen, and shorter than `budget`
    /// bytes. True when done (the cursor is then at `to`).
    fn refill(&mut self, from: u16, to: u16, y: u16, budget: usize) -> bool {
        let Some(pen) = self.pen else { return false };
        let mut len = 0;
        for x in from..to {
            let Some(c) = self.shadow.cell((x, y)) else { return false };
            if c.diff_option != CellDiffOption::None
                || Pen::of(c) != pen
                || c.cell_width() != 1
                || c.symbol().contains(char::is_control)
            {
                return false;
            }
            len += c.symbol().len();
            if len > budget {
                return false;
            }
        }
        for x in from..to {
            if let Some(c) = self.shadow.cell((x, y)) {
                self.buf.extend_from_slice(c.symbol().as_bytes());
            }
        }
        self.cursor = Some(Position { x: to, y });
        true
    }

    fn set_pen(&mut self, want: Pen) {
        if self.pen == Some(want) {
            return;
        }
        let mut params: Vec<u16> = Vec::with_capacity(12);
        let from = match self.pen {
            Some(p) => p,
            None => {
                params.push(0);
                Pen::DEFAULT
            }
        };
        modifier_params(from.modifier, want.modifier, &mut params);
        if want.fg != from.fg {
            color_params(want.fg, Layer::Fg, &mut params);
        }
        if want.bg != from.bg {
            color_params(want.bg, Layer::Bg, &mut params);
        }
        self.sgr(&params);
        // An underline colour goes in a sequence of its own, as terminals
        // that do not know 58 would read its "2" as "dim".
        if want.underline != from.underline {
            params.clear();
            color_params(want.underline, Layer::Underline, &mut params);
            self.sgr(&params);
        }
        self.pen = Some(want);
    }

    fn sgr(&mut self, params: &[u16]) {
        if params.is_empty() {
            return;
        }
        self.buf.extend_from_slice(b"\x1b[");
        for (i, p) in params.iter().enumerate() {
            if i > 0 {
                self.buf.push(b';');
            }
            let _ = write!(self.buf, "{p}");
        }
        self.buf.push(b'm');
    }

    /// Print `content` (cells that differ from the shadow) and keep the
    /// shadow up to date.
    fn draw_cells<'a>(&mut self, content: impl Iterator<Item = (u16, u16, &'a Cell)>) {
        let width = self.shadow.area.width;
        for (x, y, cell) in content {
            self.move_to(x, y);
            self.set_pen(Pen::of(cell));
            self.buf.extend_from_slice(cell.symbol().as_bytes());
            // The cursor after a wide cell, or at the right margin (where
            // terminals differ on pending wraps), is not relied on.
            self.cursor = (scroll::width(cell) == 1 && x + 1 < width).then_some(Position { x: x + 1, y });
            put(&mut self.shadow, x, y, cell);
        }
    }

    /// The screen was erased with the default pen: the shadow is blank.
    fn forget_screen(&mut self) -> io::Result<()> {
        let size = self.size()?;
        self.shadow = Buffer::empty(Rect::new(0, 0, size.width, size.height));
        self.shadow_trusted = true;
        self.cursor = None;
        Ok(())
    }
}

/// `cell` printed at `x, y` of a shadow: the cells a wide character covers
/// are blank and skipped by diffs.
fn put(shadow: &mut Buffer, x: u16, y: u16, cell: &Cell) {
    if let Some(c) = shadow.cell_mut((x, y)) {
        c.clone_from(cell);
    }
    for dx in 1..scroll::width(cell) {
        if let Some(c) = shadow.cell_mut((x + dx, y)) {
            c.reset();
            c.set_diff_option(CellDiffOption::Skip);
        }
    }
}

/// Decimal digits of `n`.
fn digits(n: u16) -> usize {
    match n {
        0..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1000..=9999 => 4,
        _ => 5,
    }
}

#[derive(Clone, Copy)]
enum Layer {
    Fg,
    Bg,
    Underline,
}

/// SGR parameters that select `c` for `layer`: the 16 named colours as
/// 30–37/90–97 (backgrounds +10; underline colours as `58;5;n`), 256-colour
/// indices as `38;5;n`, truecolor as `38;2;r;g;b`, the default as 39/49/59.
fn color_params(c: Color, layer: Layer, out: &mut Vec<u16>) {
    let (base, reset, ext) = match layer {
        Layer::Fg => (30, 39, 38),
        Layer::Bg => (40, 49, 48),
        Layer::Underline => (0, 59, 58),
    };
    let named = |n: u16| -> Option<u16> { (!matches!(layer, Layer::Underline)).then_some(n) };
    let (code, index) = match c {
        Color::Reset => return out.push(reset),
        Color::Black => (named(base), 0),
        Color::Red => (named(base + 1), 1),
        Color::Green => (named(base + 2), 2),
        Color::Yellow => (named(base + 3), 3),
        Color::Blue => (named(base + 4), 4),
        Color::Magenta => (named(base + 5), 5),
        Color::Cyan => (named(base + 6), 6),
        Color::Gray => (named(base + 7), 7),
        Color::DarkGray => (named(base + 60), 8),
        Color::LightRed => (named(base + 61), 9),
        Color::LightGreen => (named(base + 62), 10),
        Color::LightYellow => (named(base + 63), 11),
        Color::LightBlue => (named(base + 64), 12),
        Color::LightMagenta => (named(base + 65), 13),
        Color::LightCyan => (named(base + 66), 14),
        Color::White => (named(base + 67), 15),
        Color::Indexed(i) => (None, u16::from(i)),
        Color::Rgb(r, g, b) => return out.extend_from_slice(&[ext, 2, r.into(), g.into(), b.into()]),
    };
    match code {
        Some(code) => out.push(code),
        None => out.extend_from_slice(&[ext, 5, index]),
    }
}

/// SGR parameters that turn attributes `from` into `to`. Bold and dim share
/// their "off" (22), as do the two blinks (25): the one that stays is set
/// again after it.
fn modifier_params(from: Modifier, to: Modifier, out: &mut Vec<u16>) {
    let removed = from - to;
    let mut added = to - from;
    if removed.intersects(Modifier::BOLD | Modifier::DIM) {
        out.push(22);
        added |= to & (Modifier::BOLD | Modifier::DIM);
    }
    if removed.intersects(Modifier::SLOW_BLINK | Modifier::RAPID_BLINK) {
        out.push(25);
        added |= to & (Modifier::SLOW_BLINK | Modifier::RAPID_BLINK);
    }
    for (m, off) in [
        (Modifier::ITALIC, 23),
        (Modifier::UNDERLINED, 24),
        (Modifier::REVERSED, 27),
        (Modifier::HIDDEN, 28),
        (Modifier::CROSSED_OUT, 29),
    ] {
        if removed.contains(m) {
            out.push(off);
        }
    }
    for (m, on) in [
        (Modifier::BOLD, 1),
        (Modifier::DIM, 2),
        (Modifier::ITALIC, 3),
        (Modifier::UNDERLINED, 4),
        (Modifier::SLOW_BLINK, 5),
        (Modifier::RAPID_BLINK, 6),
        (Modifier::REVERSED, 7),
        (Modifier::HIDDEN, 8),
        (Modifier::CROSSED_OUT, 9),
    ] {
        if added.contains(m) {
            out.push(on);
        }
    }
}

impl<W: Write> Backend for LeanBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let cells: Vec<(u16, u16, &Cell)> = content.collect();
        let (width, height) = (usize::from(self.shadow.area.width), usize::from(self.shadow.area.height));
        if self.shadow_trusted && cells.len() >= scroll::MIN_ROWS * width {
            // Many cells changed: rows that only moved are scrolled by the terminal.
            if self.next.area != self.shadow.area {
                self.next = self.shadow.clone();
            } else {
                self.next.content.clone_from_slice(&self.shadow.content);
            }
            let mut changed = vec![false; height];
            for &(x, y, cell) in &cells {
                put(&mut self.next, x, y, cell);
                if let Some(r) = changed.get_mut(usize::from(y)) {
                    *r = true;
                }
            }
            if let Some(shift) = scroll::find(&self.shadow, &self.next, &changed) {
                // Revealed rows take the pen's background: the default one.
                self.set_pen(Pen::DEFAULT);
                shift.sequence(&mut self.buf);
                self.cursor = None;
                shift.apply(&mut self.shadow);
                let next = std::mem::take(&mut self.next);
                let (top, bottom) = (shift.top, shift.bottom);
                // Outside the region the changes stand; inside, what differs from the scrolled rows.
                let mut rest: Vec<(u16, u16, &Cell)> =
                    cells.into_iter().filter(|c| c.1 < top || c.1 > bottom).collect();
                for y in top..=bottom {
                    scroll::row_diff(&self.shadow, &next, y, &mut rest);
                }
                rest.sort_unstable_by_key(|&(x, y, _)| (y, x));
                self.draw_cells(rest.into_iter());
                self.next = next;
                return Ok(());
            }
        }
        self.draw_cells(cells.into_iter());
        Ok(())
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        if self.cursor_visible != Some(false) {
            self.buf.extend_from_slice(b"\x1b[?25l");
            self.cursor_visible = Some(false);
        }
        Ok(())
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        if self.cursor_visible != Some(true) {
            self.buf.extend_from_slice(b"\x1b[?25h");
            self.cursor_visible = Some(true);
        }
        Ok(())
    }

    /// Where this backend left the cursor (the origin when unknown). The
    /// terminal is never asked: its reply would reach the input thread's
    /// read instead, and a full-screen viewport has no use for it.
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        Ok(self.wanted_cursor.or(self.cursor).unwrap_or(Position::ORIGIN))
    }

    /// Recorded, and sent at `flush` only if the cursor is shown: a hidden
    /// cursor's position is of no use (ratatui parks it after every clear).
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.wanted_cursor = Some(position.into());
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        self.clear_region(ClearType::All)
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        // Erasing fills with the current background: erase with the default.
        self.set_pen(Pen::DEFAULT);
        let seq: &[u8] = match clear_type {
            ClearType::All => b"\x1b[2J",
            ClearType::AfterCursor => b"\x1b[J",
            ClearType::BeforeCursor => b"\x1b[1J",
            ClearType::CurrentLine => b"\x1b[2K",
            ClearType::UntilNewLine => b"\x1b[K",
        };
        self.buf.extend_from_slice(seq);
        if matches!(clear_type, ClearType::All) {
            self.forget_screen()?;
        } else {
            self.shadow_trusted = false;
        }
        self.flush()
    }

    fn size(&self) -> io::Result<Size> {
        match self.size {
            SizeSource::Fixed(s) => Ok(s),
            SizeSource::Terminal => ratatui::crossterm::terminal::size().map(|(width, height)| Size { width, height }),
        }
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        let columns_rows = self.size()?;
        let pixels = match self.size {
            SizeSource::Fixed(_) => Size::default(),
            SizeSource::Terminal => ratatui::crossterm::terminal::window_size()
                .map(|w| Size { width: w.width, height: w.height })
                .unwrap_or_default(),
        };
        Ok(WindowSize { columns_rows, pixels })
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.cursor_visible == Some(true)
            && let Some(p) = self.wanted_cursor.take()
        {
            self.move_to(p.x, p.y);
        }
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests;
