//! Text files users write (config, themes, keymaps, rule files) and data files
//! tools read: UTF-8 only, a leading byte order mark removed (so it never
//! shifts error columns), UTF-16 recognised and named instead of reported as
//! "not valid UTF-8".

use std::path::Path;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why bytes are not usable text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// A UTF-16 byte order mark, or the NUL-every-other-byte shape of UTF-16.
    #[error("is UTF-16 text, not UTF-8")]
    Utf16,
    /// The first byte that is not UTF-8, at a 1-based line and column (in characters).
    #[error("is not UTF-8 text (line {line}, column {col})")]
    NotUtf8 { line: usize, col: usize },
}

impl TextError {
    /// How to fix it.
    pub fn hint(&self) -> &'static str {
        match self {
            TextError::Utf16 => "save it as UTF-8 (in most editors: Save with Encoding → UTF-8)",
            TextError::NotUtf8 { .. } => "convert it to UTF-8, e.g. with iconv -f LATIN1 -t UTF-8",
        }
    }
}

/// Decoded text and whether a UTF-8 byte order mark was removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    pub bom: bool,
}

/// UTF-8 text from `bytes`, without a leading byte order mark.
pub fn decode(mut bytes: Vec<u8>) -> Result<Decoded, TextError> {
    if looks_utf16(&bytes) {
        return Err(TextError::Utf16);
    }
    let bom = bytes.starts_with(UTF8_BOM);
    if bom {
        bytes.drain(..UTF8_BOM.len());
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Decoded { text, bom }),
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let prefix = String::from_utf8_lossy(valid);
            let line = prefix.matches('\n').count() + 1;
            let col = prefix.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            Err(TextError::NotUtf8 { line, col })
        }
    }
}

/// A UTF-16 byte order mark, or (no mark) a NUL in every other byte of the start.
fn looks_utf16(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return true;
    }
    let head = &bytes[..bytes.len().min(64) & !1];
    if head.len() < 4 {
        return false;
    }
    let zeros = |start: usize| head.iter().skip(start).step_by(2).all(|b| *b == 0);
    zeros(0) != zeros(1) && (zeros(0) || zeros(1))
}

/// Why a text file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read (message without the OS error number).
    #[error("cannot read it: {0}")]
    Io(String, std::io::ErrorKind),
    #[error("{0}")]
    Text(#[from] TextError),
}

impl ReadError {
    /// How to fix it.
    pub fn hint(&self) -> &'static str {
        match self {
            ReadError::Io(_, std::io::ErrorKind::NotFound) => "check the path",
            ReadError::Io(..) => "check the path and its permissions",
            ReadError::Text(t) => t.hint(),
        }
    }

    /// The file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io(_, std::io::ErrorKind::NotFound))
    }
}

/// The `*.toml` files directly in `dir` (the workflows folder, the rules
/// folder), in file-name order; none when it cannot be read.
pub fn toml_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

/// Read a user-written text file as UTF-8 (BOM removed).
pub fn read(path: &Path) -> Result<String, ReadError> {
    let bytes = std::fs::read(path).map_err(|e| ReadError::Io(crate::net::io_text(&e), e.kind()))?;
    Ok(decode(bytes)?.text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bom_is_removed_and_utf16_is_named() {
        assert_eq!(decode(b"\xEF\xBB\xBFa = 1".to_vec()).unwrap(), Decoded { text: "a = 1".into(), bom: true });
        assert_eq!(decode(b"a = 1".to_vec()).unwrap(), Decoded { text: "a = 1".into(), bom: false });
        assert_eq!(decode(b"\xFF\xFEa\0=\0".to_vec()), Err(TextError::Utf16));
        assert_eq!(decode(b"\xFE\xFF\0a\0=".to_vec()), Err(TextError::Utf16));
        // UTF-16 without a mark.
        assert_eq!(decode("theme = 1".encode_utf16().flat_map(u16::to_le_bytes).collect()), Err(TextError::Utf16));
        assert_eq!(decode(b"a\nb\xFFc".to_vec()), Err(TextError::NotUtf8 { line: 2, col: 2 }));
        // Text with a few NULs is not mistaken for UTF-16.
        assert!(decode(b"abc\0def".to_vec()).is_ok());
        assert!(decode(Vec::new()).is_ok());
    }
}
