//! The one user-facing configuration error: `path:line:col: what` + `hint: how`.

use std::fmt;
use std::ops::Range;

/// A problem in a user-editable file, located to the character.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// Path as shown to the user (`<bundled>/themes/x.toml` for bundled files).
    pub path: String,
    /// 1-based line; 0 when the problem is not tied to a position (e.g. unreadable file).
    pub line: usize,
    /// 1-based column in characters; 0 when unknown.
    pub col: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}:{}: {}", self.path, self.line, self.col, self.message)?;
        } else {
            write!(f, "{}: {}", self.path, self.message)?;
        }
        if !self.hint.is_empty() {
            write!(f, "\n  hint: {}", self.hint)?;
        }
        Ok(())
    }
}

impl ConfigError {
    /// An error at a byte span of `src` (line/col computed from its start).
    pub fn at(
        path: impl Into<String>,
        src: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        let (line, col) = span.map_or((0, 0), |s| line_col(src, s.start));
        ConfigError { path: path.into(), line, col, message: message.into(), hint: hint.into() }
    }

    /// An error with no position (file missing, unreadable, …).
    pub fn file(path: impl Into<String>, message: impl Into<String>, hint: impl Into<String>) -> Self {
        ConfigError { path: path.into(), line: 0, col: 0, message: message.into(), hint: hint.into() }
    }

    /// A file that could not be read as UTF-8 text: the cause (no OS error
    /// numbers), its position when the encoding fails mid-file, and a fix.
    pub fn unreadable(path: impl Into<String>, err: &crate::text::file::ReadError) -> Self {
        use crate::text::file::{ReadError, TextError};
        let (line, col) = match err {
            ReadError::Text(TextError::NotUtf8 { line, col }) => (*line, *col),
            _ => (0, 0),
        };
        let message = match err {
            ReadError::Text(TextError::NotUtf8 { .. }) => "is not UTF-8 text".to_string(),
            other => other.to_string(),
        };
        ConfigError { path: path.into(), line, col, message, hint: err.hint().into() }
    }

    /// Wrap a TOML parse or deserialisation error, keeping its position.
    pub fn from_toml(path: impl Into<String>, src: &str, err: &toml::de::Error, hint: impl Into<String>) -> Self {
        // toml's message may span several lines (with a source excerpt); keep the first line.
        let msg = err.message().lines().next().unwrap_or("invalid TOML").trim().to_string();
        let mut hint = hint.into();
        if hint.is_empty() {
            hint = "check the TOML syntax and the expected keys in docs/config.md".into();
        }
        Self::at(path, src, err.span(), msg, hint)
    }
}

/// 1-based (line, column-in-chars) of byte offset `pos` in `src`.
pub fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(src.len());
    let mut line = 1;
    let mut line_start = 0;
    for (i, b) in src.bytes().enumerate() {
        if i >= pos {
            break;
        }
        if b == b'\n' {
            line += 1;
            line_start = i + 1;
        }
    }
    // A position inside a character counts as that character; the `\r` of a
    // CRLF line end is not a column (an error at the line end is just past
    // the last visible character, as editors number it).
    let mut end = pos;
    while !src.is_char_boundary(end) {
        end -= 1;
    }
    let before = src.get(line_start..end).unwrap_or("");
    let before = match src.as_bytes().get(end) {
        Some(b'\n') | None => before.strip_suffix('\r').unwrap_or(before),
        _ => before,
    };
    (line, before.chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars_not_bytes() {
        let src = "a = 1\nbé = x\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        // 'x' is after "bé = " (b, é(2 bytes), space, =, space)
        let x = src.find('x').unwrap();
        assert_eq!(line_col(src, x), (2, 6));
    }

    /// Found by tests/parsers_props.rs: an error at the end of a CRLF line
    /// pointed two columns past its last character.
    #[test]
    fn line_col_ignores_the_cr_of_crlf_and_never_splits_a_char() {
        let src = "a = 1\r\n\"gauge\r\nx";
        let nl = src.rfind('\n').unwrap();
        assert_eq!(line_col(src, nl), (2, 7), "just past `\"gauge`");
        assert_eq!(line_col(src, nl - 1), (2, 7), "the \\r itself");
        assert_eq!(line_col("é", 1), (1, 1), "inside a character");
    }

    #[test]
    fn display_has_location_and_hint() {
        let e = ConfigError::at("c.toml", "k = 1\nz = ?\n", Some(10..11), "bad value", "use a number");
        assert_eq!(e.to_string(), "c.toml:2:5: bad value\n  hint: use a number");
        let f = ConfigError::file("x.toml", "cannot read", "");
        assert_eq!(f.to_string(), "x.toml: cannot read");
    }
}
