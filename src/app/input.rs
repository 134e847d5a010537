//! A single-line text input (filters, palette query) on top of ratatui-textarea.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Style;
use ratatui_textarea::TextArea;

#[derive(Debug, Clone)]
pub struct LineInput {
    area: TextArea<'static>,
}

impl LineInput {
    /// An empty input showing `hint` (dimmed) until something is typed.
    pub fn new(hint: &str) -> Self {
        let mut area = TextArea::default();
        area.set_placeholder_text(hint.to_string());
        area.set_cursor_line_style(Style::default());
        LineInput { area }
    }

    pub fn text(&self) -> &str {
        self.area.lines().first().map_or("", String::as_str)
    }

    /// Feed a key; returns true if the text or cursor changed. Newlines,
    /// control and invisible format characters are refused. Readline keys:
    /// `C-u` deletes to the start, `C-k` to the end, `C-w` (and Alt-Backspace)
    /// the word before the cursor, `C-a`/`C-e` and Home/End go to the start
    /// and end, Alt-b/Alt-f move by words, `C-b`/`C-f` by characters.
    pub fn input(&mut self, key: KeyEvent) -> bool {
        if matches!(key.code, KeyCode::Enter | KeyCode::Tab | KeyCode::BackTab) {
            return false;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            match key.code {
                // ratatui-textarea's C-u is undo and C-m a newline: readline's meaning here.
                KeyCode::Char('u') => return self.area.delete_line_by_head(),
                KeyCode::Char('m') => return false,
                _ => {}
            }
        }
        if let KeyCode::Char(c) = key.code
            && (c.is_control() || crate::text::is_invisible_format(c))
        {
            return false;
        }
        if let Some(changed) = by_grapheme(&mut self.area, key) {
            return changed;
        }
        let before = (self.text().to_string(), self.area.cursor());
        self.area.input(key);
        before != (self.text().to_string(), self.area.cursor())
    }

    /// Insert pasted text cleaned to one line ([`crate::text::clean`]: line
    /// breaks and tabs become spaces, controls visible symbols, invisible
    /// format characters dropped).
    pub fn paste(&mut self, text: &str) -> bool {
        self.area.insert_str(crate::text::clean(text))
    }

    /// The widget, styled for display.
    pub fn widget(&self, text: Style, cursor: Style) -> TextArea<'static> {
        let mut a = self.area.clone();
        a.set_style(text);
        a.set_cursor_style(cursor);
        a
    }
}

/// A multi-line text input (form fields for bodies, scripts, JSON) on ratatui-textarea.
#[derive(Debug, Clone)]
pub struct TextInput {
    area: TextArea<'static>,
}

impl TextInput {
    pub fn new(text: &str) -> Self {
        let lines: Vec<String> =
            if text.is_empty() { vec![String::new()] } else { text.lines().map(str::to_string).collect() };
        let mut area = TextArea::new(lines);
        area.set_cursor_line_style(Style::default());
        area.move_cursor(ratatui_textarea::CursorMove::Bottom);
        area.move_cursor(ratatui_textarea::CursorMove::End);
        TextInput { area }
    }

    /// The text, lines joined with `\n`.
    pub fn text(&self) -> String {
        self.area.lines().join("\n")
    }

    pub fn line_count(&self) -> usize {
        self.area.lines().len()
    }

    /// Feed a key (Enter starts a new line); true if anything changed. The
    /// same readline keys as [`LineInput::input`], on the cursor's line:
    /// `C-u` deletes from the line's start to the cursor (ratatui-textarea's
    /// `C-u` is undo).
    pub fn input(&mut self, key: KeyEvent) -> bool {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('u') {
            return self.area.delete_line_by_head();
        }
        if let Some(changed) = by_grapheme(&mut self.area, key) {
            return changed;
        }
        let before = (self.area.lines().to_vec(), self.area.cursor());
        self.area.input(key);
        before != (self.area.lines().to_vec(), self.area.cursor())
    }

    pub fn paste(&mut self, text: &str) -> bool {
        self.area.insert_str(text.replace("\r\n", "\n").replace('\r', "\n"))
    }

    pub fn widget(&self, text: Style, cursor: Style) -> TextArea<'static> {
        let mut a = self.area.clone();
        a.set_style(text);
        a.set_cursor_style(cursor);
        a
    }
}

/// ratatui-textarea moves and deletes by `char`: inside a cluster drawn as
/// one (`👩‍💻` is three, `é` may be two) its cursor would sit in the middle
/// and Backspace would leave half of it. A character key (`←`/`C-b`,
/// `→`/`C-f`, Backspace/`C-h`, Delete/`C-d`) next to a cluster of more than
/// one `char` is done here on the whole cluster; `Some(changed)` when it was.
/// At a line's edge or next to a single `char` it is left to the textarea.
fn by_grapheme(area: &mut TextArea<'static>, key: KeyEvent) -> Option<bool> {
    use ratatui_textarea::CursorMove;
    use unicode_segmentation::UnicodeSegmentation;
    let mods = key.modifiers - KeyModifiers::SHIFT;
    let ctrl = mods == KeyModifiers::CONTROL;
    let plain = mods.is_empty();
    let backwards = match key.code {
        KeyCode::Left | KeyCode::Backspace if plain => true,
        KeyCode::Char('b' | 'h') if ctrl => true,
        KeyCode::Right | KeyCode::Delete if plain => false,
        KeyCode::Char('f' | 'd') if ctrl => false,
        _ => return None,
    };
    let cursor = area.cursor();
    let (row, col) = (cursor.0, cursor.1);
    let line = area.lines().get(row)?;
    let at = line.char_indices().nth(col).map_or(line.len(), |(i, _)| i);
    let cluster = if backwards { line[..at].graphemes(true).next_back() } else { line[at..].graphemes(true).next() };
    let chars = cluster?.chars().count();
    if chars < 2 {
        return None;
    }
    for _ in 0..chars {
        match key.code {
            KeyCode::Left | KeyCode::Char('b') => area.move_cursor(CursorMove::Back),
            KeyCode::Right | KeyCode::Char('f') => area.move_cursor(CursorMove::Forward),
            KeyCode::Backspace | KeyCode::Char('h') => {
                area.delete_char();
            }
            _ => {
                area.delete_next_char();
            }
        }
    }
    Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;

    fn k(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn typing_editing_and_no_newlines() {
        let mut i = LineInput::new("filter");
        for c in "cpu".chars() {
            assert!(i.input(k(KeyCode::Char(c))));
        }
        assert!(!i.input(k(KeyCode::Enter)));
        assert!(i.input(k(KeyCode::Backspace)));
        assert_eq!(i.text(), "cp");
        i.paste("a\nb");
        assert_eq!(i.text(), "cpa b");
    }

    #[test]
    fn readline_keys_edit_a_line() {
        let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        let alt = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT);
        let typed = |t: &str| {
            let mut i = LineInput::new("");
            i.paste(t);
            i
        };
        // (text, keys, text after, cursor column after)
        let cases: [(&str, Vec<KeyEvent>, &str, usize); 8] = [
            ("disk used", vec![ctrl('u')], "", 0),
            ("disk used", vec![ctrl('a'), ctrl('k')], "", 0),
            ("disk used", vec![ctrl('w')], "disk ", 5),
            ("disk used", vec![ctrl('a'), k(KeyCode::Char('x'))], "xdisk used", 1),
            ("disk used", vec![ctrl('a'), ctrl('e'), k(KeyCode::Char('!'))], "disk used!", 10),
            ("disk used", vec![alt('b'), ctrl('u')], "used", 0),
            ("disk used", vec![ctrl('a'), alt('f'), ctrl('k')], "disk ", 5),
            ("disk used", vec![ctrl('m')], "disk used", 9),
        ];
        for (text, keys, want, col) in cases {
            let mut i = typed(text);
            for key in &keys {
                i.input(*key);
            }
            assert_eq!((i.text(), i.area.cursor().1), (want, col), "{text:?} after {keys:?}");
        }
    }

    #[test]
    fn form_fields_take_the_same_readline_keys() {
        let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        let alt = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT);
        // (text, keys, text after, cursor (row, column) after)
        type Case = (&'static str, Vec<KeyEvent>, &'static str, (usize, usize));
        let cases: [Case; 8] = [
            ("disk used", vec![ctrl('u')], "", (0, 0)),
            ("disk used", vec![alt('b'), ctrl('u')], "used", (0, 0)),
            ("disk used", vec![ctrl('a'), ctrl('k')], "", (0, 0)),
            ("disk used", vec![ctrl('w')], "disk ", (0, 5)),
            ("disk used", vec![k(KeyCode::Backspace), ctrl('a'), k(KeyCode::Char('x'))], "xdisk use", (0, 1)),
            ("disk used", vec![ctrl('a'), ctrl('e'), k(KeyCode::Char('!'))], "disk used!", (0, 10)),
            ("disk used", vec![ctrl('b'), ctrl('b'), ctrl('f'), ctrl('k')], "disk use", (0, 8)),
            // A multi-line field: C-u clears the cursor's line up to the cursor only.
            ("a b\nc d", vec![ctrl('u')], "a b\n", (1, 0)),
        ];
        for (text, keys, want, cursor) in cases {
            let mut t = TextInput::new(text);
            for key in &keys {
                t.input(*key);
            }
            let at = t.area.cursor();
            assert_eq!((t.text(), (at.0, at.1)), (want.to_string(), cursor), "{text:?} after {keys:?}");
        }
    }

    /// A cluster drawn as one cell pair (ZWJ emoji, flags, combining marks)
    /// is stepped over and deleted whole, in both inputs, by both key names.
    #[test]
    fn the_cursor_never_stops_inside_a_cluster() {
        let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        // (text, keys from the end, text after, cursor column after)
        let cases: [(&str, Vec<KeyEvent>, &str, usize); 7] = [
            ("a👩‍💻b", vec![k(KeyCode::Left), k(KeyCode::Left)], "a👩‍💻b", 1),
            ("a👩‍💻b", vec![ctrl('b'), ctrl('b'), ctrl('f')], "a👩‍💻b", 4),
            ("x👩‍💻", vec![k(KeyCode::Backspace)], "x", 1),
            ("x🇫🇷", vec![ctrl('h')], "x", 1),
            ("ae\u{301}z", vec![ctrl('b'), k(KeyCode::Backspace)], "az", 1),
            ("👩‍💻z", vec![ctrl('a'), k(KeyCode::Delete)], "z", 0),
            ("👩‍💻z", vec![ctrl('a'), ctrl('d'), ctrl('d')], "", 0),
        ];
        for (text, keys, want, col) in cases {
            let mut line = LineInput::new("");
            line.paste(text);
            let mut multi = TextInput::new(text);
            for key in &keys {
                line.input(*key);
                multi.input(*key);
            }
            assert_eq!((line.text(), line.area.cursor().1), (want, col), "{text:?} after {keys:?}");
            assert_eq!((multi.text(), multi.area.cursor().1), (want.to_string(), col), "{text:?} after {keys:?}");
        }
    }

    #[test]
    fn multi_line_input_keeps_newlines() {
        let mut t = TextInput::new("a");
        assert!(t.input(k(KeyCode::Enter)));
        assert!(t.input(k(KeyCode::Char('b'))));
        t.paste("\r\nc");
        assert_eq!(t.text(), "a\nb\nc");
        assert_eq!(t.line_count(), 3);
    }
}
