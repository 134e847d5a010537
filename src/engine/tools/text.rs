//! Text that tools read from data files and arguments: bounded in size,
//! checked to be UTF-8, with a leading byte order mark removed (and
//! remembered, so an error can name it).

use tokio::io::AsyncReadExt;

use super::ToolError;

/// Largest data file a tool reads (bytes).
pub const MAX_TEXT_BYTES: u64 = 64 * 1024 * 1024;

const UTF8_BOM: char = '\u{feff}';

/// Text with its byte order mark taken off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub text: String,
    /// It started with a UTF-8 byte order mark (now removed).
    pub bom: bool,
}

impl Text {
    /// Text given directly (an argument): only the BOM is removed.
    pub fn from_string(mut text: String) -> Text {
        let bom = text.starts_with(UTF8_BOM);
        if bom {
            text.drain(..UTF8_BOM.len_utf8());
        }
        Text { text, bom }
    }

    /// Bytes read from `what` (a path): UTF-8 or a located error; UTF-16 is named.
    pub fn decode(bytes: Vec<u8>, what: &str) -> Result<Text, ToolError> {
        use crate::text::file::TextError;
        match crate::text::file::decode(bytes) {
            Ok(d) => Ok(Text { text: d.text, bom: d.bom }),
            Err(e @ TextError::Utf16) => Err(ToolError::Failed(format!("{what}: {e}\n  hint: {}", e.hint()))),
            Err(e @ TextError::NotUtf8 { line, col }) => Err(ToolError::Failed(format!(
                "{what}:{line}:{col}: is not UTF-8 text (a byte that is not UTF-8 here)\n  hint: {}",
                e.hint()
            ))),
        }
    }

    /// Read the file at `path` (at most [`MAX_TEXT_BYTES`]).
    pub async fn read(path: &str) -> Result<Text, ToolError> {
        let fail = |e: std::io::Error| ToolError::Failed(format!("{path}: {}", crate::net::io_text(&e)));
        let file = tokio::fs::File::open(path).await.map_err(fail)?;
        let mut bytes = Vec::new();
        file.take(MAX_TEXT_BYTES + 1).read_to_end(&mut bytes).await.map_err(fail)?;
        if bytes.len() as u64 > MAX_TEXT_BYTES {
            return Err(ToolError::Failed(format!(
                "{path}: is over {} MiB, more than a tool reads\n  hint: cut it down first (e.g. with head or grep)",
                MAX_TEXT_BYTES >> 20
            )));
        }
        Text::decode(bytes, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leading_bom_is_removed_and_remembered() {
        assert_eq!(Text::from_string("\u{feff}[1]".into()), Text { text: "[1]".into(), bom: true });
        assert_eq!(Text::from_string("[1]\u{feff}".into()), Text { text: "[1]\u{feff}".into(), bom: false });
        let t = Text::decode(b"\xEF\xBB\xBFa,b\n1,2\n".to_vec(), "x.csv").unwrap();
        assert_eq!((t.text.as_str(), t.bom), ("a,b\n1,2\n", true));
    }

    #[test]
    fn utf16_and_invalid_utf8_are_named_with_where() {
        let e = Text::decode(vec![0xFF, 0xFE, b'[', 0], "h.json").unwrap_err().to_string();
        assert!(e.starts_with("h.json: is UTF-16 text"), "{e}");
        let e = Text::decode(b"ok\nab\xFFc".to_vec(), "h.json").unwrap_err().to_string();
        assert!(e.starts_with("h.json:2:3: is not UTF-8 text"), "{e}");
    }
}
