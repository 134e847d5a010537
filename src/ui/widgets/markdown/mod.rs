//! Markdown as terminal lines: what the chat pane draws for a model's answer,
//! while it streams (see docs/markdown.md).
//!
//! Pure view code: [`render`] turns Markdown source into ratatui lines of at
//! most a given number of cells; [`MarkdownCache`] does the same for a message
//! that keeps growing, rendering again only its last open block;
//! [`code_blocks`] lists the code blocks (for copying one).
//!
//! **Parsing** is pulldown-cmark (CommonMark with tables, strikethrough and
//! task lists). **Widths** are terminal cells as [`crate::text::width`]
//! measures them (wide CJK and emoji 2, grapheme clusters never split).
//! **Safety**: every piece of text is cleaned with [`crate::text::clean`]
//! before it reaches a line (the source comes from a remote model): no
//! control character or escape sequence is ever drawn.
//!
//! **Layout rules.** Paragraphs are word-wrapped (a word wider than the line
//! is broken between clusters). Headings are bold and start with their `#`
//! marks (`## Title`), so they stand out without colour. Emphasis is italic,
//! strong bold, strikethrough crossed out, inline code in the code style.
//! Links show their text, then the URL in parentheses in the URL style unless
//! the text is the URL. Block quotes start each line with `│ `; list items
//! with `• ` (then `◦ `, `▪ ` when nested) or `N. `, continuation lines
//! indented under the text; task items with `☐ ` / `☑ `. A rule is a line of
//! `─`. Tables fit their columns into the width (narrow columns keep their
//! width, wide ones share the rest) and cut cells with `…`. Code blocks are
//! **not wrapped**: each line is cut with `…` (a wrapped line of code reads as
//! two lines), behind a `│ ` gutter between a `╭─ lang` and a `╰─` line; they
//! are syntax-highlighted when colours are on (see [`code`]). HTML is shown
//! as its text. Blocks are separated by one blank line.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;

use crate::config::theme::{Role, Theme};

mod cache;
pub mod code;
mod render;
mod table;
mod wrap;

pub use cache::MarkdownCache;
pub use wrap::line_width;

#[cfg(test)]
mod tests;

/// The parser options used everywhere: GFM tables, strikethrough, task lists.
fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Which bundled syntect colour scheme highlights code blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CodeTheme {
    /// For dark backgrounds (`base16-ocean.dark`).
    #[default]
    Dark,
    /// For light backgrounds (`InspiredGitHub`).
    Light,
}

/// The styles Markdown is drawn in, so the caller can feed its theme. Each
/// style is patched over the text style; headings are always bold, emphasis
/// italic, strong bold and strikethrough crossed out on top of these, so the
/// structure shows without colour too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkdownStyles {
    /// Body text.
    pub text: Style,
    /// Headings, with their `#` marks.
    pub heading: Style,
    /// `*emphasis*`.
    pub emphasis: Style,
    /// `**strong**`.
    pub strong: Style,
    /// `~~strikethrough~~`.
    pub strikethrough: Style,
    /// `` `inline code` ``.
    pub code: Style,
    /// The text of code blocks (highlighting changes only its foreground).
    pub code_block: Style,
    /// The language name over a code block.
    pub code_lang: Style,
    /// A link's text.
    pub link: Style,
    /// The `(url)` after a link's text.
    pub url: Style,
    /// The `│ ` bar of block quotes.
    pub quote: Style,
    /// List bullets, numbers and task boxes.
    pub marker: Style,
    /// Horizontal rules, table borders and the code block gutter.
    pub rule: Style,
    /// Table header cells.
    pub table_header: Style,
    /// Colours allowed (false under NO_COLOR: no syntax highlighting).
    pub color: bool,
    /// The syntax highlighting scheme.
    pub code_theme: CodeTheme,
}

impl Default for MarkdownStyles {
    /// ANSI colours that read on dark and light backgrounds.
    fn default() -> Self {
        Self {
            text: Style::new(),
            heading: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            emphasis: Style::new().add_modifier(Modifier::ITALIC),
            strong: Style::new().add_modifier(Modifier::BOLD),
            strikethrough: Style::new().add_modifier(Modifier::CROSSED_OUT),
            code: Style::new().fg(Color::Yellow),
            code_block: Style::new(),
            code_lang: Style::new().fg(Color::DarkGray).add_modifier(Modifier::ITALIC),
            link: Style::new().fg(Color::Blue).add_modifier(Modifier::UNDERLINED),
            url: Style::new().fg(Color::DarkGray),
            quote: Style::new().fg(Color::DarkGray),
            marker: Style::new().fg(Color::Cyan),
            rule: Style::new().fg(Color::DarkGray),
            table_header: Style::new().add_modifier(Modifier::BOLD),
            color: true,
            code_theme: CodeTheme::Dark,
        }
    }
}

impl MarkdownStyles {
    /// No colours at all (NO_COLOR): modifiers only, inline code reversed,
    /// URLs dim, no syntax highlighting.
    pub fn plain() -> Self {
        Self {
            text: Style::new(),
            heading: Style::new().add_modifier(Modifier::BOLD),
            emphasis: Style::new().add_modifier(Modifier::ITALIC),
            strong: Style::new().add_modifier(Modifier::BOLD),
            strikethrough: Style::new().add_modifier(Modifier::CROSSED_OUT),
            code: Style::new().add_modifier(Modifier::REVERSED),
            code_block: Style::new(),
            code_lang: Style::new().add_modifier(Modifier::ITALIC),
            link: Style::new().add_modifier(Modifier::UNDERLINED),
            url: Style::new().add_modifier(Modifier::DIM),
            quote: Style::new().add_modifier(Modifier::DIM),
            marker: Style::new(),
            rule: Style::new().add_modifier(Modifier::DIM),
            table_header: Style::new().add_modifier(Modifier::BOLD),
            color: false,
            code_theme: CodeTheme::Dark,
        }
    }
}

impl MarkdownStyles {
    /// Styles from the theme's existing roles: headings in `title` (bold),
    /// links and markers in `text.accent`, inline code in `status.info`,
    /// URLs, quote bars and the language name in `text.dim`, rules and the
    /// code gutter in `border`, table headers in `table.header`. `color` is
    /// false under NO_COLOR (no highlighting; inline code reversed). The
    /// highlighting scheme is the light one for a theme whose name says
    /// `light`.
    pub fn from_theme(theme: &Theme, color: bool) -> Self {
        let dim = theme.style(Role::TextDim);
        let accent = theme.style(Role::TextAccent);
        let code = theme.style(Role::StatusInfo);
        Self {
            text: theme.style(Role::Text),
            heading: theme.style(Role::Title).add_modifier(Modifier::BOLD),
            emphasis: Style::new().add_modifier(Modifier::ITALIC),
            strong: Style::new().add_modifier(Modifier::BOLD),
            strikethrough: Style::new().add_modifier(Modifier::CROSSED_OUT),
            code: if color { code } else { code.add_modifier(Modifier::REVERSED) },
            code_block: theme.style(Role::Text),
            code_lang: dim.add_modifier(Modifier::ITALIC),
            link: accent.add_modifier(Modifier::UNDERLINED),
            url: dim,
            quote: dim,
            marker: accent,
            rule: theme.style(Role::Border),
            table_header: theme.style(Role::TableHeader).add_modifier(Modifier::BOLD),
            color,
            code_theme: if theme.name().contains("light") { CodeTheme::Light } else { CodeTheme::Dark },
        }
    }
}

/// `md` as lines of at most `width` terminal cells each (none when `width`
/// is 0; a lone cluster wider than a 1-cell width is the one exception).
/// The same lines a [`MarkdownCache`] ends with.
pub fn render(md: &str, width: u16, styles: &MarkdownStyles) -> Vec<Line<'static>> {
    MarkdownCache::new().lines(md, width, styles).to_vec()
}

/// One code block of a message, as written (not cleaned: for the clipboard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    /// The first word of a fenced block's info string (` ```rust ` → `rust`), cleaned.
    pub lang: Option<String>,
    /// The block's text, its line breaks included.
    pub text: String,
}

/// Every code block of `md` (fenced or indented, nested ones too), in order.
/// An unclosed fence runs to the end of the text.
pub fn code_blocks(md: &str) -> Vec<CodeBlock> {
    let mut out = Vec::new();
    let mut open: Option<CodeBlock> = None;
    for ev in Parser::new_ext(md, options()) {
        match ev {
            Event::Start(Tag::CodeBlock(kind)) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => code::lang_of(&info),
                    CodeBlockKind::Indented => None,
                };
                open = Some(CodeBlock { lang, text: String::new() });
            }
            Event::Text(t) => {
                if let Some(b) = &mut open {
                    b.text.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => out.extend(open.take()),
            _ => {}
        }
    }
    out
}
