//! Single key presses: normalisation of terminal events, the keymap-file syntax
//! (`q`, `G`, `<C-r>`, `<S-Tab>`, `<PageDown>`, `<F5>`) and the short display form.

use std::fmt;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One key with its modifiers, normalised so that equal keys compare equal however the
/// terminal reported them: a character never carries SHIFT (the case of the character
/// says it), Shift+Tab is always `BackTab` without SHIFT, META counts as ALT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyPress {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl KeyPress {
    /// A normalised key press.
    pub fn new(code: KeyCode, mods: KeyModifiers) -> KeyPress {
        // META (kitty protocol) counts as ALT; SUPER and HYPER stay, so they match no binding.
        let mut mods = mods;
        if mods.contains(KeyModifiers::META) {
            mods = (mods - KeyModifiers::META) | KeyModifiers::ALT;
        }
        let code = match code {
            KeyCode::Char(c) => {
                let c = if mods.contains(KeyModifiers::SHIFT) { upper(c) } else { c };
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::Char(c)
            }
            KeyCode::Tab if mods.contains(KeyModifiers::SHIFT) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            KeyCode::BackTab => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        KeyPress { code, mods }
    }

    /// The normalised key of a terminal key event (its kind is ignored).
    pub fn from_event(ev: &KeyEvent) -> KeyPress {
        KeyPress::new(ev.code, ev.modifiers)
    }
}

impl fmt::Display for KeyPress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_keys(std::slice::from_ref(self)))
    }
}

/// `c` uppercased when that is a single character, else `c`.
fn upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn lower(c: char) -> char {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// A key name (without modifiers), case-insensitive.
fn named(name: &str) -> Option<KeyCode> {
    let n = name.to_ascii_lowercase();
    Some(match n.as_str() {
        "enter" | "return" | "cr" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "space" | "spc" => KeyCode::Char(' '),
        "backspace" | "bs" | "bksp" => KeyCode::Backspace,
        "up" | "↑" => KeyCode::Up,
        "down" | "↓" => KeyCode::Down,
        "left" | "←" => KeyCode::Left,
        "right" | "→" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pageup" | "pgup" => KeyCode::PageUp,
        "pagedown" | "pgdn" => KeyCode::PageDown,
        "delete" | "del" => KeyCode::Delete,
        "insert" | "ins" => KeyCode::Insert,
        "lt" => KeyCode::Char('<'),
        "gt" => KeyCode::Char('>'),
        _ => {
            let num: u8 = n.strip_prefix('f')?.parse().ok()?;
            if !(1..=12).contains(&num) {
                return None;
            }
            KeyCode::F(num)
        }
    })
}

/// Parse one key of a keymap file: a single character (`q`, `G`, `?`), or a name with
/// optional `C-`, `A-`/`M-`, `S-` modifiers, in angle brackets or bare (`<C-r>`, `Enter`).
pub fn parse_key(s: &str) -> Result<KeyPress, String> {
    let mut chars = s.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        if c.is_control() {
            return Err("control characters cannot be written literally; use a name like <Tab>".into());
        }
        return Ok(KeyPress::new(named(s).unwrap_or(KeyCode::Char(c)), KeyModifiers::NONE));
    }
    let inner = s.strip_prefix('<').and_then(|r| r.strip_suffix('>')).unwrap_or(s);
    if inner.is_empty() {
        return Err("empty key".into());
    }
    let mut mods = KeyModifiers::NONE;
    let mut rest = inner;
    loop {
        let mut it = rest.chars();
        let (Some(m), Some('-'), Some(_)) = (it.next(), it.next(), it.next()) else {
            break;
        };
        let bit = match m.to_ascii_lowercase() {
            'c' => KeyModifiers::CONTROL,
            'a' | 'm' => KeyModifiers::ALT,
            's' => KeyModifiers::SHIFT,
            _ => break,
        };
        if mods.contains(bit) {
            return Err(format!("modifier `{m}-` given twice"));
        }
        mods |= bit;
        rest = &rest[2..];
    }
    let mut it = rest.chars();
    let code = match (it.next(), it.next()) {
        (Some(c), None) => named(rest).unwrap_or(KeyCode::Char(c)),
        _ => named(rest).ok_or_else(|| format!("unknown key name `{rest}`"))?,
    };
    let code = match code {
        KeyCode::Char(c) if c.is_control() => {
            return Err("control characters cannot be written literally".into());
        }
        KeyCode::Char(c) if mods.contains(KeyModifiers::SHIFT) => {
            if !c.is_alphabetic() {
                return Err(format!(
                    "`S-` only works with letters and named keys; write the shifted character itself instead of `S-{c}`"
                ));
            }
            KeyCode::Char(upper(c))
        }
        // Terminals cannot tell Ctrl+R from Ctrl+r: `<C-R>` means `<C-r>`, as in Vim.
        KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => KeyCode::Char(lower(c)),
        other => other,
    };
    Ok(KeyPress::new(code, mods))
}

/// Display form used by help and hints: "q", "G", "Tab", "S-Tab", "C-r", "g g", "PgDn", "↑".
/// Every single key's display form parses back to the same key.
pub fn format_keys(keys: &[KeyPress]) -> String {
    let mut out = String::new();
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let mut shift = k.mods.contains(KeyModifiers::SHIFT);
        let ctrl = k.mods.contains(KeyModifiers::CONTROL);
        let name = match k.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) if ctrl && c != lower(c) => {
                shift = true;
                lower(c).to_string()
            }
            KeyCode::Char(c) => c.to_string(),
            KeyCode::BackTab => {
                shift = true;
                "Tab".into()
            }
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::Backspace => "Bksp".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Delete => "Del".into(),
            KeyCode::Insert => "Ins".into(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        if ctrl {
            out.push_str("C-");
        }
        if k.mods.contains(KeyModifiers::ALT) {
            out.push_str("A-");
        }
        if shift {
            out.push_str("S-");
        }
        out.push_str(&name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyEventKind;

    fn kp(code: KeyCode, mods: KeyModifiers) -> KeyPress {
        KeyPress { code, mods }
    }

    #[test]
    fn parses_the_documented_syntax() {
        let (c, a, s, n) = (KeyModifiers::CONTROL, KeyModifiers::ALT, KeyModifiers::SHIFT, KeyModifiers::NONE);
        let cases = [
            ("q", kp(KeyCode::Char('q'), n)),
            ("G", kp(KeyCode::Char('G'), n)),
            ("?", kp(KeyCode::Char('?'), n)),
            ("<", kp(KeyCode::Char('<'), n)),
            ("<Enter>", kp(KeyCode::Enter, n)),
            ("enter", kp(KeyCode::Enter, n)),
            ("<Esc>", kp(KeyCode::Esc, n)),
            ("<BackTab>", kp(KeyCode::BackTab, n)),
            ("<S-Tab>", kp(KeyCode::BackTab, n)),
            ("<Space>", kp(KeyCode::Char(' '), n)),
            ("<PageDown>", kp(KeyCode::PageDown, n)),
            ("<F12>", kp(KeyCode::F(12), n)),
            ("<C-r>", kp(KeyCode::Char('r'), c)),
            ("<C-R>", kp(KeyCode::Char('r'), c)),
            ("<C-S-r>", kp(KeyCode::Char('R'), c)),
            ("<S-a>", kp(KeyCode::Char('A'), n)),
            ("<A-x>", kp(KeyCode::Char('x'), a)),
            ("<M-x>", kp(KeyCode::Char('x'), a)),
            ("<A-X>", kp(KeyCode::Char('X'), a)),
            ("<M-<>", kp(KeyCode::Char('<'), a)),
            ("<M->>", kp(KeyCode::Char('>'), a)),
            ("<M-lt>", kp(KeyCode::Char('<'), a)),
            ("<C-->", kp(KeyCode::Char('-'), c)),
            ("<C-S-Up>", kp(KeyCode::Up, c | s)),
            ("C-S-↑", kp(KeyCode::Up, c | s)),
        ];
        for (s, want) in cases {
            assert_eq!(parse_key(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn rejects_bad_keys() {
        for bad in ["<Foo>", "<>", "<C-C-x>", "<S-1>", "<F13>", "<C-Frob>", "\t"] {
            assert!(parse_key(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_key("<Foo>"), Err("unknown key name `Foo`".to_string()));
    }

    #[test]
    fn display_round_trips() {
        let keys = [
            "q",
            "G",
            "?",
            "/",
            ":",
            "1",
            "[",
            "<",
            ">",
            "-",
            "é",
            "<Enter>",
            "<Esc>",
            "<Tab>",
            "<BackTab>",
            "<Space>",
            "<Backspace>",
            "<Up>",
            "<Down>",
            "<Left>",
            "<Right>",
            "<Home>",
            "<End>",
            "<PageUp>",
            "<PageDown>",
            "<Delete>",
            "<Insert>",
            "<F1>",
            "<F12>",
            "<C-r>",
            "<C-S-r>",
            "<A-x>",
            "<A-X>",
            "<C-A-x>",
            "<M-<>",
            "<A->>",
            "<C-->",
            "<C-Space>",
            "<S-Up>",
            "<C-S-Up>",
            "<A-Enter>",
            "<C-F5>",
        ];
        for s in keys {
            let k = parse_key(s).expect(s);
            let shown = format_keys(&[k]);
            assert_eq!(parse_key(&shown), Ok(k), "{s} -> {shown}");
        }
        let f = |s: &str| format_keys(&[parse_key(s).expect(s)]);
        assert_eq!(f("<S-Tab>"), "S-Tab");
        assert_eq!(f("<C-r>"), "C-r");
        assert_eq!(f("<PageDown>"), "PgDn");
        assert_eq!(f("<Up>"), "↑");
        let gg = [parse_key("g").expect("g"), parse_key("g").expect("g")];
        assert_eq!(format_keys(&gg), "g g");
    }

    #[test]
    fn events_are_normalised() {
        let ev = |code, mods| KeyPress::from_event(&KeyEvent::new_with_kind(code, mods, KeyEventKind::Press));
        let (c, s) = (KeyModifiers::CONTROL, KeyModifiers::SHIFT);
        assert_eq!(ev(KeyCode::Char('G'), s), parse_key("G").expect("G"));
        assert_eq!(ev(KeyCode::Char('g'), s), parse_key("G").expect("G"));
        assert_eq!(ev(KeyCode::Char('?'), s), parse_key("?").expect("?"));
        assert_eq!(ev(KeyCode::BackTab, s), parse_key("<BackTab>").expect("bt"));
        assert_eq!(ev(KeyCode::BackTab, KeyModifiers::NONE), parse_key("<S-Tab>").expect("st"));
        assert_eq!(ev(KeyCode::Tab, s), parse_key("<S-Tab>").expect("st"));
        assert_eq!(ev(KeyCode::Char('r'), c), parse_key("<C-r>").expect("cr"));
        assert_eq!(ev(KeyCode::Char('r'), c | s), parse_key("<C-S-r>").expect("csr"));
        assert_eq!(ev(KeyCode::Char('x'), KeyModifiers::META), parse_key("<M-x>").expect("mx"));
        assert_eq!(ev(KeyCode::Up, s), parse_key("<S-Up>").expect("su"));
        assert_ne!(ev(KeyCode::Up, s), parse_key("<Up>").expect("up"));
        assert_ne!(ev(KeyCode::Char('q'), KeyModifiers::SUPER), parse_key("q").expect("q"));
    }
}
