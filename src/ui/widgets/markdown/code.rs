//! Code blocks: a left gutter with the language on top, lines cut (never
//! wrapped) with `…`, and syntax highlighting by syntect on its pure-Rust
//! regex engine (fancy-regex; no Oniguruma).
//!
//! The syntax and theme sets are loaded on the first code block that names a
//! language ([`OnceLock`]), so a chat that shows no code costs no memory for
//! them. Highlighting is bounded: at most [`MAX_HIGHLIGHT_LINES`] lines of a
//! block, and it stops at the first line longer than [`MAX_HIGHLIGHT_LINE`]
//! bytes (the regex engine backtracks); the rest of the block is plain code.

use std::sync::OnceLock;

use ratatui::style::{Color, Modifier, Style};
use syntect::highlighting::{FontStyle, HighlightIterator, HighlightState, Highlighter, ThemeSet};
use syntect::parsing::{ParseState, ScopeStack, SyntaxSet};
use syntect::util::LinesWithEndings;

use super::wrap::{Pieces, fit, push_piece};
use super::{CodeTheme, MarkdownStyles};

/// Lines of one code block that get highlighted; the rest are plain.
pub const MAX_HIGHLIGHT_LINES: usize = 2_000;
/// Highlighting stops at the first line longer than this many bytes.
pub const MAX_HIGHLIGHT_LINE: usize = 1_000;

/// The gutter in front of each code line.
pub(crate) const GUTTER: &str = "│ ";

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

fn themes() -> &'static ThemeSet {
    static SET: OnceLock<ThemeSet> = OnceLock::new();
    SET.get_or_init(ThemeSet::load_defaults)
}

/// The language of a fence's info string: its first word (` ```rust,ignore` → `rust`).
pub(crate) fn lang_of(info: &str) -> Option<String> {
    let word = info.split(|c: char| c.is_whitespace() || c == ',' || c == '{').next().unwrap_or("");
    let word = crate::text::clean(word);
    (!word.is_empty()).then(|| word.into_owned())
}

/// One source line's text without its line break, cleaned (tabs expanded).
fn plain_line(line: &str, style: Style) -> Pieces {
    let mut s = String::new();
    crate::text::clean_onto(&mut s, line.trim_end_matches(['\n', '\r']), 0);
    let mut p = Vec::new();
    push_piece(&mut p, &s, style);
    p
}

/// The highlighted complete lines of the last code block highlighted, and
/// the highlighter's state after them: when the same block comes back longer
/// (an answer streaming into an open fence), highlighting goes on from there
/// instead of from its first line. The result is the same either way.
#[derive(Default, Clone)]
pub(crate) struct Memo {
    key: Option<(String, CodeTheme)>,
    /// The complete lines highlighted, line breaks included.
    src: String,
    pieces: Vec<Pieces>,
    state: Option<(ParseState, HighlightState)>,
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo").field("key", &self.key).field("lines", &self.pieces.len()).finish()
    }
}

/// The lines of `code` (its text, line breaks included) as styled pieces,
/// highlighted when colours are on and `lang` is a syntax syntect knows.
fn highlight(code: &str, lang: Option<&str>, styles: &MarkdownStyles, memo: &mut Memo) -> Vec<Pieces> {
    let base = styles.code_block;
    let plain = |src: &str| LinesWithEndings::from(src).map(|l| plain_line(l, base)).collect::<Vec<_>>();
    let Some(lang) = lang.filter(|_| styles.color) else { return plain(code) };
    let set = syntaxes();
    let Some(syntax) = set.find_syntax_by_token(lang) else { return plain(code) };
    let theme_name = match styles.code_theme {
        CodeTheme::Dark => "base16-ocean.dark",
        CodeTheme::Light => "InspiredGitHub",
    };
    let Some(theme) = themes().themes.get(theme_name) else { return plain(code) };
    let highlighter = Highlighter::new(theme);
    let key = (lang.to_string(), styles.code_theme);
    if memo.key.as_ref() != Some(&key) || !code.starts_with(memo.src.as_str()) {
        *memo = Memo { key: Some(key), ..Memo::default() };
    }
    let (mut ps, mut hs) = memo
        .state
        .clone()
        .unwrap_or_else(|| (ParseState::new(syntax), HighlightState::new(&highlighter, ScopeStack::new())));
    let mut out = memo.pieces.clone();
    let mut at = memo.src.len();
    for line in LinesWithEndings::from(&code[at..]) {
        if out.len() >= MAX_HIGHLIGHT_LINES || line.len() > MAX_HIGHLIGHT_LINE {
            break;
        }
        let Ok(ops) = ps.parse_line(line, set) else { break };
        let mut p = Vec::new();
        let mut col = 0;
        let mut text = String::new();
        for (st, s) in HighlightIterator::new(&mut hs, &ops, line, &highlighter) {
            text.clear();
            col = crate::text::clean_onto(&mut text, s.trim_end_matches(['\n', '\r']), col);
            push_piece(&mut p, &text, base.patch(convert(st)));
        }
        at += line.len();
        if line.ends_with('\n') {
            memo.src.push_str(line);
            memo.pieces.push(p.clone());
            memo.state = Some((ps.clone(), hs.clone()));
        }
        out.push(p);
    }
    out.extend(plain(&code[at..]));
    out
}

/// A syntect style as a ratatui patch: the foreground only (the block keeps
/// the code style's background), and bold/italic/underline.
fn convert(st: syntect::highlighting::Style) -> Style {
    let c = st.foreground;
    let mut s = Style::new().fg(Color::Rgb(c.r, c.g, c.b));
    for (f, m) in [
        (FontStyle::BOLD, Modifier::BOLD),
        (FontStyle::ITALIC, Modifier::ITALIC),
        (FontStyle::UNDERLINE, Modifier::UNDERLINED),
    ] {
        if st.font_style.contains(f) {
            s = s.add_modifier(m);
        }
    }
    s
}

/// A code block as lines of at most `width` cells: a header line (`╭─` and
/// the language), each code line behind the gutter `│ ` cut with `…`, and a
/// closing `╰─`.
pub(crate) fn render(
    code: &str,
    lang: Option<&str>,
    width: usize,
    styles: &MarkdownStyles,
    memo: &mut Memo,
) -> Vec<Pieces> {
    let rule = styles.rule;
    let mut header = Vec::new();
    push_piece(&mut header, "╭─", rule);
    if let Some(lang) = lang {
        push_piece(&mut header, " ", rule);
        push_piece(&mut header, lang, styles.code_lang);
    }
    let mut out = vec![fit(&header, width)];
    let room = width.saturating_sub(crate::text::width(GUTTER));
    for line in highlight(code, lang, styles, memo) {
        let mut p = Vec::new();
        push_piece(&mut p, GUTTER, rule);
        p.extend(fit(&line, room));
        out.push(fit(&p, width));
    }
    let mut footer = Vec::new();
    push_piece(&mut footer, "╰─", rule);
    out.push(fit(&footer, width));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_is_the_first_word_of_the_info_string() {
        assert_eq!(lang_of("rust,ignore").as_deref(), Some("rust"));
        assert_eq!(lang_of("  ").as_deref(), None);
        assert_eq!(lang_of("py {.class}").as_deref(), Some("py"));
    }

    #[test]
    fn a_known_language_is_coloured_and_an_unknown_one_is_plain() {
        let styles = MarkdownStyles::default();
        let rs = highlight("fn main() {}\n", Some("rust"), &styles, &mut Memo::default());
        assert!(rs[0].iter().any(|(_, st)| matches!(st.fg, Some(Color::Rgb(..)))), "{rs:?}");
        let unknown = highlight("fn main() {}\n", Some("nosuchlang"), &styles, &mut Memo::default());
        assert_eq!(unknown, vec![vec![("fn main() {}".to_string(), styles.code_block)]]);
        let mono = MarkdownStyles { color: false, ..MarkdownStyles::default() };
        let rs = highlight("fn main() {}\n", Some("rust"), &mono, &mut Memo::default());
        assert_eq!(rs, vec![vec![("fn main() {}".to_string(), mono.code_block)]]);
    }

    #[test]
    fn highlighting_is_bounded() {
        let styles = MarkdownStyles::default();
        let long = format!("let x = \"{}\";\nlet y = 1;\n", "a".repeat(MAX_HIGHLIGHT_LINE));
        let lines = highlight(&long, Some("rust"), &styles, &mut Memo::default());
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.len() == 1 && l[0].1 == styles.code_block), "plain after a long line");
        let many = "let y = 1;\n".repeat(MAX_HIGHLIGHT_LINES + 3);
        let lines = highlight(&many, Some("rust"), &styles, &mut Memo::default());
        assert_eq!(lines.len(), MAX_HIGHLIGHT_LINES + 3);
        assert!(lines[0].len() > 1);
        assert_eq!(lines[MAX_HIGHLIGHT_LINES], vec![("let y = 1;".to_string(), styles.code_block)]);
    }

    #[test]
    fn a_growing_block_goes_on_from_its_last_complete_line() {
        let styles = MarkdownStyles::default();
        let whole = "/* a comment\nstill comment */\nlet s = \"str\";\n";
        let mut memo = Memo::default();
        for end in 1..=whole.len() {
            let got = highlight(&whole[..end], Some("rust"), &styles, &mut memo);
            assert_eq!(got, highlight(&whole[..end], Some("rust"), &styles, &mut Memo::default()), "{end}");
        }
        assert_eq!(memo.pieces.len(), 3);
        // Another block starts over.
        let other = highlight("x = 1\n", Some("python"), &styles, &mut memo);
        assert_eq!(other, highlight("x = 1\n", Some("python"), &styles, &mut Memo::default()));
        assert_eq!(memo.src, "x = 1\n");
    }
}
