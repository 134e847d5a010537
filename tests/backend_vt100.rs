//! The lean terminal backend draws exactly what ratatui's buffer holds: frames
//! are replayed through it into a `vt100` terminal and every cell's symbol,
//! colours and attributes are compared; and it never writes more bytes than
//! ratatui's own crossterm backend does for the same frames.

mod support;

use opsdeck::app::{Action, update};
use opsdeck::config::theme::Theme;
use opsdeck::runtime::backend::LeanBackend;
use std::cell::Cell;
use std::collections::HashSet;
use std::io::Write;
use std::rc::Rc;

use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::buffer::{Buffer, CellWidth};
use ratatui::layout::{Rect, Size};
use ratatui::style::{Color, Modifier, Style};
use ratatui::{TerminalOptions, Viewport};

use support::{NOW, Seed};

fn vt_color(c: Color) -> vt100::Color {
    match c {
        Color::Reset => vt100::Color::Default,
        Color::Black => vt100::Color::Idx(0),
        Color::Red => vt100::Color::Idx(1),
        Color::Green => vt100::Color::Idx(2),
        Color::Yellow => vt100::Color::Idx(3),
        Color::Blue => vt100::Color::Idx(4),
        Color::Magenta => vt100::Color::Idx(5),
        Color::Cyan => vt100::Color::Idx(6),
        Color::Gray => vt100::Color::Idx(7),
        Color::DarkGray => vt100::Color::Idx(8),
        Color::LightRed => vt100::Color::Idx(9),
        Color::LightGreen => vt100::Color::Idx(10),
        Color::LightYellow => vt100::Color::Idx(11),
        Color::LightBlue => vt100::Color::Idx(12),
        Color::LightMagenta => vt100::Color::Idx(13),
        Color::LightCyan => vt100::Color::Idx(14),
        Color::White => vt100::Color::Idx(15),
        Color::Indexed(i) => vt100::Color::Idx(i),
        Color::Rgb(r, g, b) => vt100::Color::Rgb(r, g, b),
    }
}

/// Cells whose screen content ratatui's diff does not decide, in any
/// backend: the right half of a wide character whose left half was
/// overwritten while ratatui's own idea of that cell did not change. The
/// terminal blanks it (with whatever pen is current); ratatui does not redraw
/// it unless the wide character's style shows on a blank (see `BufferDiff`).
/// If the buffer held text there under the wide character (ratatui assumes
/// it never does: "no double-width cell is followed by a non-blank cell"),
/// that text was never drawn at all. They stay uncertain until ratatui
/// redraws them; the crossterm backend leaves them the same way.
fn orphans(uncertain: &mut HashSet<(u16, u16)>, prev: &Buffer, next: &Buffer) {
    for y in 0..next.area.height {
        for x in 0..next.area.width {
            if prev[(x, y)] != next[(x, y)] {
                uncertain.remove(&(x, y));
            }
        }
        for x in 0..next.area.width {
            let (p, n) = (&prev[(x, y)], &next[(x, y)]);
            let w = p.symbol().cell_width();
            if w > 1 && p != n {
                for k in 1..w {
                    if x + k < next.area.width && prev[(x + k, y)] == next[(x + k, y)] {
                        uncertain.insert((x + k, y));
                    }
                }
            }
            // A wide character drawn over text the buffer still holds under
            // its right half: that text is covered on the screen, and a wide
            // character it began loses its own right half too. Neither
            // backend draws what the buffer says there (ratatui's invariant,
            // "no double-width cell is followed by a non-blank cell", is
            // broken by the frame itself).
            let wn = n.symbol().cell_width();
            if wn > 1 && p != n {
                for k in 1..wn {
                    let Some(c) = (x + k < next.area.width).then(|| &next[(x + k, y)]) else { break };
                    if !c.symbol().is_empty() && c.symbol() != " " {
                        uncertain.insert((x + k, y));
                        for j in 1..c.symbol().cell_width() {
                            if x + k + j < next.area.width {
                                uncertain.insert((x + k + j, y));
                            }
                        }
                    }
                }
            }
        }
    }
}

/// vt100 keeps one intensity (bold or dim, the last set); terminals show both.
fn intensity(got: &vt100::Cell, m: Modifier) -> bool {
    if m.contains(Modifier::BOLD | Modifier::DIM) {
        got.bold() || got.dim()
    } else {
        got.bold() == m.contains(Modifier::BOLD) && got.dim() == m.contains(Modifier::DIM)
    }
}

/// The first cell where the screen differs from `buf` in what a person sees,
/// described. A blank's foreground, boldness and slant are not seen (ratatui
/// relies on that too); an uncertain cell is not checked.
fn mismatch(screen: &vt100::Screen, buf: &Buffer, uncertain: &HashSet<(u16, u16)>) -> Option<String> {
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let want = &buf[(x, y)];
            let got = screen.cell(y, x)?;
            if got.is_wide_continuation() {
                continue;
            }
            let sym = if got.contents().is_empty() { " " } else { got.contents() };
            let m = want.modifier;
            let blank = sym == " " && want.symbol() == " ";
            if uncertain.contains(&(x, y)) {
                continue;
            }
            let same = sym == want.symbol()
                && (blank || got.fgcolor() == vt_color(want.fg))
                && got.bgcolor() == vt_color(want.bg)
                && (blank || intensity(got, m))
                && (blank || got.italic() == m.contains(Modifier::ITALIC))
                && got.underline() == m.contains(Modifier::UNDERLINED)
                && got.inverse() == m.contains(Modifier::REVERSED);
            if !same {
                return Some(format!("({x},{y}): want {want:?}, terminal shows {sym:?} {got:?}"));
            }
        }
    }
    None
}

const TEXTS: &[&str] = &["a", "bc", "コ", "─│", "⣿⡀", "xyz ", " ", "é", "日本", "12345678"];

fn styles() -> Vec<Style> {
    let s = Style::new();
    vec![
        s,
        s.fg(Color::Red),
        s.fg(Color::Rgb(30, 30, 46)).bg(Color::Rgb(205, 214, 244)),
        s.bg(Color::Indexed(236)),
        s.bg(Color::Rgb(30, 30, 46)),
        s.add_modifier(Modifier::BOLD),
        s.add_modifier(Modifier::DIM).fg(Color::DarkGray),
        s.add_modifier(Modifier::ITALIC | Modifier::UNDERLINED),
        s.add_modifier(Modifier::REVERSED).fg(Color::LightCyan),
        s.add_modifier(Modifier::BOLD).fg(Color::White).bg(Color::Blue),
    ]
}

/// One frame: texts written at places in styles.
type Frame = Vec<(u16, u16, usize, usize)>;

fn paint(buf: &mut Buffer, frame: &Frame) {
    let styles = styles();
    for &(x, y, t, st) in frame {
        buf.set_string(x, y, TEXTS[t], styles[st]);
    }
}

const W: u16 = 16;
const H: u16 = 4;

fn frames() -> impl Strategy<Value = Vec<Frame>> {
    let span = (0..W, 0..H, 0..TEXTS.len(), 0..10usize);
    prop::collection::vec(prop::collection::vec(span, 0..14), 1..7)
}

fn screen(w: u16, h: u16) -> vt100::Parser {
    let nz = |n: u16| std::num::NonZeroU16::new(n).expect("a screen has a size");
    vt100::Parser::new(nz(h), nz(w), 0)
}

/// Counts the bytes written through it.
#[derive(Clone, Default)]
struct Counter(Rc<Cell<usize>>);

impl Write for Counter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.set(self.0.get() + b.len());
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// ratatui's crossterm backend of a fixed size, and its byte count.
fn crossterm_terminal(w: u16, h: u16) -> (Terminal<CrosstermBackend<Counter>>, Counter) {
    let counter = Counter::default();
    let opts = TerminalOptions { viewport: Viewport::Fixed(Rect::new(0, 0, w, h)) };
    (Terminal::with_options(CrosstermBackend::new(counter.clone()), opts).unwrap(), counter)
}

/// Bytes ratatui's crossterm backend writes for `frames`.
fn crossterm_bytes(frames: &[Frame], w: u16, h: u16) -> usize {
    let (mut t, counter) = crossterm_terminal(w, h);
    for fr in frames {
        t.draw(|f| paint(f.buffer_mut(), fr)).unwrap();
    }
    counter.0.get()
}

/// Frames drawn through the lean backend into a `vt100` terminal, each
/// checked cell by cell against ratatui's buffer.
struct Replay {
    t: Terminal<LeanBackend<Vec<u8>>>,
    vt: vt100::Parser,
    prev: Buffer,
    uncertain: HashSet<(u16, u16)>,
    /// Bytes written so far.
    bytes: usize,
}

impl Replay {
    fn new(w: u16, h: u16) -> Replay {
        Replay {
            t: Terminal::new(LeanBackend::with_size(Vec::new(), Size { width: w, height: h })).unwrap(),
            vt: screen(w, h),
            prev: Buffer::empty(Rect::new(0, 0, w, h)),
            uncertain: HashSet::new(),
            bytes: 0,
        }
    }

    /// Draw one frame; `Err` describes the first cell the terminal shows
    /// differently, with the frame's bytes.
    fn frame(&mut self, draw: impl FnOnce(&mut Buffer)) -> Result<(), String> {
        let done = self.t.draw(|f| draw(f.buffer_mut())).unwrap();
        let expected = done.buffer.clone();
        let bytes = std::mem::take(self.t.backend_mut().writer_mut());
        self.bytes += bytes.len();
        self.vt.process(&bytes);
        orphans(&mut self.uncertain, &self.prev, &expected);
        let found = mismatch(self.vt.screen(), &expected, &self.uncertain);
        self.prev = expected;
        match found {
            Some(m) => Err(format!("{m}\nbytes: {:?}", String::from_utf8_lossy(&bytes))),
            None => Ok(()),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn every_frame_reaches_the_terminal_as_drawn_and_in_no_more_bytes(frames in frames()) {
        let mut replay = Replay::new(W, H);
        for (i, fr) in frames.iter().enumerate() {
            if let Err(m) = replay.frame(|buf| paint(buf, fr)) {
                prop_assert!(false, "frame {i}: {m}");
            }
        }
        let (lean, crossterm) = (replay.bytes, crossterm_bytes(&frames, W, H));
        prop_assert!(lean <= crossterm, "lean {lean} bytes, crossterm {crossterm}");
    }
}

/// The real screens drawn by the lean backend into `vt100` (checked cell by
/// cell) and by ratatui's crossterm backend, frame by frame.
struct SideBySide {
    theme: Theme,
    lean: Terminal<LeanBackend<Vec<u8>>>,
    cross: Terminal<CrosstermBackend<Counter>>,
    counter: Counter,
    vt: vt100::Parser,
}

impl SideBySide {
    fn new(w: u16, h: u16) -> SideBySide {
        let (cross, counter) = crossterm_terminal(w, h);
        SideBySide {
            theme: Theme::load("default-dark", None, false).expect("bundled theme"),
            lean: Terminal::new(LeanBackend::with_size(Vec::new(), Size { width: w, height: h })).unwrap(),
            cross,
            counter,
            vt: screen(w, h),
        }
    }

    /// Draw `s` with both; the terminal must show exactly the frame.
    /// Returns the bytes each wrote (lean, crossterm).
    fn frame(&mut self, s: &opsdeck::app::AppState, step: impl std::fmt::Debug) -> (usize, usize) {
        let theme = &self.theme;
        let done = self.lean.draw(|f| opsdeck::ui::render(f, s, theme)).unwrap();
        let expected = done.buffer.clone();
        let bytes = std::mem::take(self.lean.backend_mut().writer_mut());
        self.vt.process(&bytes);
        assert_eq!(mismatch(self.vt.screen(), &expected, &HashSet::new()), None, "step {step:?}");
        let before = self.counter.0.get();
        self.cross.draw(|f| opsdeck::ui::render(f, s, theme)).unwrap();
        (bytes.len(), self.counter.0.get() - before)
    }
}

/// The real screen at 200x50, then the same screen a second later (one new
/// sample): drawn exactly, and the update in fewer bytes than crossterm's.
#[test]
fn the_metrics_screen_and_its_next_second_are_drawn_exactly() {
    let seed = Seed::new();
    let mut s = seed.state();
    s.size = (200, 50);
    let mut both = SideBySide::new(200, 50);
    let mut sizes = Vec::new();
    for step in 0..3 {
        if step > 0 {
            let snap = support::snapshot(NOW + step * 1000, 600 + step);
            update(&mut s, Action::Events(vec![support::env(snap)]), &seed.ctx());
        }
        sizes.push(both.frame(&s, step));
    }
    for (step, (lean, cross)) in sizes.iter().enumerate() {
        assert!(lean < cross, "step {step}: lean {lean} bytes, crossterm {cross}");
    }
    eprintln!("bytes per frame (lean, crossterm): {sizes:?}");
}

const SW: u16 = 24;
const SH: u16 = 12;

/// A scrolling view: a still left column (a border and a list whose rows
/// change now and then), and on the right rows of a longer document shown
/// from an offset that moves up and down by a few rows, some rows styled or
/// holding wide characters, and spans drawn over it.
fn paint_scrolled(buf: &mut Buffer, doc: &[(usize, usize)], list: usize, offset: usize, over: &Frame) {
    let styles = styles();
    for y in 0..SH {
        buf.set_string(0, y, if usize::from(y) < list { "ls│" } else { "  │" }, styles[usize::from(y) % 3]);
        if let Some(&(t, st)) = doc.get(offset + usize::from(y)) {
            let text = format!("{} row {}", TEXTS[t], offset + usize::from(y));
            buf.set_string(3, y, text, styles[st]);
        }
    }
    paint(buf, over);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Frames that scroll (the terminal moves rows, the backend draws what
    /// still differs) reach the terminal exactly, in no more bytes than
    /// ratatui's crossterm backend writes for them.
    #[test]
    fn scrolled_frames_reach_the_terminal_as_drawn(
        doc in prop::collection::vec((0..TEXTS.len(), 0..10usize), 30),
        steps in prop::collection::vec(
            (-6i32..7, 0..4usize, prop::collection::vec((0..SW, 0..SH, 0..TEXTS.len(), 0..10usize), 0..3)),
            1..8,
        ),
    ) {
        let mut replay = Replay::new(SW, SH);
        let (mut cross, counter) = crossterm_terminal(SW, SH);
        let mut offset = 10i32;
        for (i, (by, list, over)) in steps.iter().enumerate() {
            offset = (offset + by).clamp(0, 18);
            let draw = |buf: &mut Buffer| paint_scrolled(buf, &doc, *list, offset as usize, over);
            cross.draw(|f| draw(f.buffer_mut())).unwrap();
            if let Err(m) = replay.frame(draw) {
                prop_assert!(false, "frame {i}: {m}");
            }
        }
        let lean = replay.bytes;
        prop_assert!(lean <= counter.0.get(), "lean {lean} bytes, crossterm {}", counter.0.get());
    }
}

/// The chat pane at 200x50 with a long answer: jumping between the question
/// and the answer moves the transcript by a few rows; the terminal scrolls
/// them, so the frame is drawn exactly in a fraction of a repaint's bytes.
#[test]
fn a_transcript_jump_is_a_scroll() {
    use opsdeck::app::panes::chat::ChatAction;
    use opsdeck::app::{BoxId, UserAction};
    use opsdeck::protocol::chat::{ChatMessage, Conversation, ConversationMeta, Finish, ModelRef, Role};
    use ratatui::crossterm::event::KeyCode;
    let seed = Seed::new();
    let mut s = seed.state();
    s.size = (200, 50);
    update(&mut s, Action::User(UserAction::FocusPane4), &seed.ctx());
    let model = ModelRef::parse("local/smollm2").expect("model");
    let words = ["Server", "Entity", "Unsupported", "404", "-", "Not", "Found", "Request", "Timeout"];
    let prose: Vec<&str> = (0..1_200).map(|i| words[(i * 7 + i / 3) % words.len()]).collect();
    let mut answer = ChatMessage::new(Role::Assistant, prose.join(" "), NOW - 5_000);
    answer.model = Some(model);
    answer.finish = Some(Finish::Stop);
    let conv = Conversation {
        meta: ConversationMeta::new("jump".into(), NOW - 10_000),
        messages: vec![ChatMessage::new(Role::User, "Which status codes matter?", NOW - 10_000), answer],
    };
    update(&mut s, Action::Chat(ChatAction::Opened(Box::new(conv))), &seed.ctx());
    s.focus = BoxId::ChatTranscript;
    support::key(&seed, &mut s, KeyCode::Up);
    let mut both = SideBySide::new(200, 50);
    let mut sizes = Vec::new();
    for (step, k) in [None, Some('k'), Some('j'), Some('k')].into_iter().enumerate() {
        if let Some(k) = k {
            support::key(&seed, &mut s, KeyCode::Char(k));
        }
        sizes.push(both.frame(&s, step));
    }
    eprintln!("bytes per frame (lean, crossterm): {sizes:?}");
    for (step, (lean, cross)) in sizes.iter().enumerate().skip(1) {
        // A repaint of the transcript is about 10 KB; a scroll, the rows it
        // reveals and the moved selection, about 1 KB.
        assert!(lean * 5 < *cross, "step {step}: lean {lean} bytes, crossterm {cross}");
    }
}
