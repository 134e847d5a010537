//! One piece of Markdown source to lines: a walk over pulldown-cmark's events
//! with a stack of containers (block quotes, list items) whose prefixes start
//! every line drawn inside them.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;

use super::wrap::{Pieces, Seg, fit, pieces_width, push_piece, to_line, trim_end, wrap};
use super::{MarkdownStyles, code, options, table};

/// Bullets of unordered lists, by nesting depth (cycling).
const BULLETS: [&str; 3] = ["• ", "◦ ", "▪ "];

/// A block quote or a list item: what starts its first line, and the rest.
struct Container {
    first: Pieces,
    rest: Pieces,
    used: bool,
}

/// A table being collected.
struct TableBuf {
    aligns: Vec<pulldown_cmark::Alignment>,
    rows: Vec<Vec<Pieces>>,
    row: Vec<Pieces>,
    head: usize,
}

struct Renderer<'s> {
    styles: &'s MarkdownStyles,
    memo: &'s mut code::Memo,
    width: usize,
    out: Vec<Line<'static>>,
    containers: Vec<Container>,
    inline: Vec<Seg>,
    style_stack: Vec<Style>,
    /// Open links and images: the URL and where their text starts in `inline`.
    links: Vec<(String, usize)>,
    /// Open lists: the next number of an ordered one.
    lists: Vec<Option<u64>>,
    /// Open list items: their index in `containers`, and whether a paragraph
    /// started directly in them (a loose list: blank lines between items).
    items: Vec<(usize, bool)>,
    pending_gap: bool,
    code: Option<(Option<String>, String)>,
    html: Option<String>,
    table: Option<TableBuf>,
}

/// `src` (one or more whole blocks) as lines of at most `width` cells.
/// `memo` carries highlighting over from the previous call (see [`code::Memo`]).
pub(crate) fn render_slice(
    src: &str,
    width: usize,
    styles: &MarkdownStyles,
    memo: &mut code::Memo,
) -> Vec<Line<'static>> {
    let mut r = Renderer {
        styles,
        memo,
        width,
        out: Vec::new(),
        containers: Vec::new(),
        inline: Vec::new(),
        style_stack: Vec::new(),
        links: Vec::new(),
        lists: Vec::new(),
        items: Vec::new(),
        pending_gap: false,
        code: None,
        html: None,
        table: None,
    };
    for ev in Parser::new_ext(src, options()) {
        r.event(ev);
    }
    r.flush();
    r.out
}

impl Renderer<'_> {
    fn style(&self) -> Style {
        self.style_stack.last().copied().unwrap_or(self.styles.text)
    }

    fn push_style(&mut self, patch: Style) {
        let s = self.style().patch(patch);
        self.style_stack.push(s);
    }

    /// Cells left for content inside the open containers (at least 1).
    fn room(&self) -> usize {
        let prefix: usize = self.containers.iter().map(|c| pieces_width(&c.rest)).sum();
        self.width.saturating_sub(prefix).max(1)
    }

    /// One line: the containers' prefixes, then `p`, cut to the width.
    fn emit(&mut self, p: Pieces) {
        let mut line = Vec::new();
        for c in &mut self.containers {
            let pre = if c.used { &c.rest } else { &c.first };
            for (s, st) in pre {
                push_piece(&mut line, s, *st);
            }
            c.used = true;
        }
        line.extend(p);
        self.out.push(to_line(fit(&trim_end(line), self.width)));
    }

    /// The blank line between two blocks (the containers' prefixes without
    /// trailing spaces, so a quote keeps its bar).
    fn start_block(&mut self) {
        if !std::mem::take(&mut self.pending_gap) || self.out.is_empty() {
            return;
        }
        let mut line: Pieces = Vec::new();
        for c in &self.containers {
            for (s, st) in &c.rest {
                push_piece(&mut line, s, *st);
            }
        }
        self.out.push(to_line(fit(&trim_end(line), self.width)));
    }

    fn text(&mut self, s: &str, style: Style) {
        if s.is_empty() {
            return;
        }
        self.inline.push(Seg::Text(crate::text::clean(s).into_owned(), style));
    }

    /// Lines of the inline content collected so far (a paragraph, a heading,
    /// the text of a tight list item), word-wrapped.
    fn flush(&mut self) {
        let has_text = self.inline.iter().any(|s| matches!(s, Seg::Text(t, _) if !t.trim().is_empty()));
        let segs = std::mem::take(&mut self.inline);
        if !has_text {
            return;
        }
        self.start_block();
        for line in wrap(&segs, self.room()) {
            self.emit(line);
        }
    }

    fn event(&mut self, ev: Event<'_>) {
        match ev {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(t) => {
                if let Some((_, code)) = &mut self.code {
                    code.push_str(&t);
                } else if let Some(html) = &mut self.html {
                    html.push_str(&t);
                } else {
                    self.text(&t, self.style());
                }
            }
            Event::Code(t) => self.text(&t, self.style().patch(self.styles.code)),
            Event::InlineMath(t) | Event::DisplayMath(t) => self.text(&t, self.style()),
            Event::Html(t) => match &mut self.html {
                Some(html) => html.push_str(&t),
                None => self.text(&t, self.style()),
            },
            Event::InlineHtml(t) => self.text(&t, self.style()),
            Event::FootnoteReference(t) => self.text(&format!("[^{t}]"), self.style()),
            Event::SoftBreak => self.text(" ", self.style()),
            Event::HardBreak => self.inline.push(Seg::Break),
            Event::Rule => {
                self.flush();
                self.start_block();
                let rule = "─".repeat(self.room());
                self.emit(vec![(rule, self.styles.rule)]);
                self.pending_gap = true;
            }
            Event::TaskListMarker(done) => self.task(done),
        }
    }

    /// A task list item's box replaces its bullet (or follows its number).
    fn task(&mut self, done: bool) {
        let mark = if done { "☑ " } else { "☐ " };
        let ordered = self.lists.last().is_some_and(Option::is_some);
        let marker = self.styles.marker;
        if let Some(c) = self.containers.last_mut().filter(|c| !c.used) {
            if !ordered {
                c.first.clear();
            }
            push_piece(&mut c.first, mark, marker);
            c.rest = vec![(" ".repeat(pieces_width(&c.first)), Style::new())];
        } else {
            self.text(mark, marker);
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Paragraph => {
                self.flush();
                let inner = self.containers.len().checked_sub(1);
                if let Some(item) = self.items.last_mut().filter(|i| Some(i.0) == inner) {
                    item.1 = true;
                }
            }
            Tag::Heading { level, .. } => {
                self.flush();
                self.start_block();
                self.push_style(self.styles.heading.add_modifier(Modifier::BOLD));
                let marker = "#".repeat(heading_level(level)) + " ";
                self.text(&marker, self.style());
            }
            Tag::BlockQuote(_) => {
                self.flush();
                self.start_block();
                let bar = vec![("│ ".to_string(), self.styles.quote)];
                self.containers.push(Container { first: bar.clone(), rest: bar, used: true });
            }
            Tag::CodeBlock(kind) => {
                self.flush();
                self.start_block();
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => code::lang_of(&info),
                    CodeBlockKind::Indented => None,
                };
                self.code = Some((lang, String::new()));
            }
            Tag::HtmlBlock => {
                self.flush();
                self.html = Some(String::new());
            }
            Tag::List(start) => {
                self.flush();
                self.lists.push(start);
            }
            Tag::Item => {
                self.flush();
                let depth = self.lists.len().max(1);
                let marker = match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let m = format!("{n}. ");
                        *n = n.saturating_add(1);
                        m
                    }
                    _ => BULLETS[(depth - 1) % BULLETS.len()].to_string(),
                };
                let pad = " ".repeat(crate::text::width(&marker));
                self.items.push((self.containers.len(), false));
                self.containers.push(Container {
                    first: vec![(marker, self.styles.marker)],
                    rest: vec![(pad, Style::new())],
                    used: false,
                });
            }
            Tag::Table(aligns) => {
                self.flush();
                self.table = Some(TableBuf { aligns, rows: Vec::new(), row: Vec::new(), head: 0 });
            }
            Tag::TableHead => self.push_style(self.styles.table_header.add_modifier(Modifier::BOLD)),
            Tag::TableRow | Tag::TableCell => self.inline.clear(),
            Tag::Emphasis => self.push_style(self.styles.emphasis.add_modifier(Modifier::ITALIC)),
            Tag::Strong => self.push_style(self.styles.strong.add_modifier(Modifier::BOLD)),
            Tag::Strikethrough => self.push_style(self.styles.strikethrough.add_modifier(Modifier::CROSSED_OUT)),
            Tag::Link { dest_url, .. } => {
                self.push_style(self.styles.link);
                self.links.push((dest_url.into_string(), self.inline.len()));
            }
            Tag::Image { dest_url, .. } => {
                self.push_style(self.styles.link);
                self.text("[image: ", self.style());
                self.links.push((dest_url.into_string(), self.inline.len()));
            }
            // Not enabled in the parser options; their text still shows.
            Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::Superscript
            | Tag::Subscript
            | Tag::MetadataBlock(_) => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Paragraph => {
                self.flush();
                self.pending_gap = true;
            }
            TagEnd::Heading(_) => {
                self.flush();
                self.style_stack.pop();
                self.pending_gap = true;
            }
            TagEnd::BlockQuote(_) => {
                self.flush();
                self.containers.pop();
                self.pending_gap = true;
            }
            TagEnd::CodeBlock => {
                if let Some((lang, text)) = self.code.take() {
                    for line in code::render(&text, lang.as_deref(), self.room(), self.styles, self.memo) {
                        self.emit(line);
                    }
                }
                self.pending_gap = true;
            }
            TagEnd::HtmlBlock => {
                if let Some(html) = self.html.take() {
                    for (i, line) in html.trim_end_matches(['\n', '\r']).lines().enumerate() {
                        if i > 0 {
                            self.inline.push(Seg::Break);
                        }
                        self.text(line, self.style());
                    }
                    self.flush();
                }
                self.pending_gap = true;
            }
            TagEnd::List(_) => {
                self.flush();
                self.lists.pop();
                if self.lists.is_empty() {
                    self.pending_gap = true;
                }
            }
            TagEnd::Item => {
                self.flush();
                if self.containers.last().is_some_and(|c| !c.used) {
                    self.start_block();
                    self.emit(Vec::new());
                }
                self.containers.pop();
                // A tight list: no blank line before the next item, even after a code block.
                if self.items.pop().is_some_and(|(_, loose)| !loose) {
                    self.pending_gap = false;
                }
            }
            TagEnd::Table => {
                if let Some(t) = self.table.take() {
                    let lines = table::render(&t.rows, t.head, &t.aligns, self.room(), self.styles);
                    self.start_block();
                    for line in lines {
                        self.emit(line);
                    }
                }
                self.pending_gap = true;
            }
            TagEnd::TableHead => {
                self.style_stack.pop();
                self.end_row();
                if let Some(t) = &mut self.table {
                    t.head = t.rows.len();
                }
            }
            TagEnd::TableRow => self.end_row(),
            TagEnd::TableCell => {
                let cell: Pieces = std::mem::take(&mut self.inline).into_iter().fold(Vec::new(), |mut p, seg| {
                    match seg {
                        Seg::Text(s, st) => push_piece(&mut p, &s, st),
                        Seg::Break => push_piece(&mut p, " ", Style::new()),
                    }
                    p
                });
                if let Some(t) = &mut self.table {
                    t.row.push(cell);
                }
            }
            TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => {
                self.style_stack.pop();
            }
            TagEnd::Link => self.end_link(false),
            TagEnd::Image => self.end_link(true),
            TagEnd::FootnoteDefinition
            | TagEnd::DefinitionList
            | TagEnd::DefinitionListTitle
            | TagEnd::DefinitionListDefinition
            | TagEnd::Superscript
            | TagEnd::Subscript
            | TagEnd::MetadataBlock(_) => {}
        }
    }

    fn end_row(&mut self) {
        if let Some(t) = &mut self.table {
            let row = std::mem::take(&mut t.row);
            t.rows.push(row);
        }
    }

    /// After a link's text: ` (url)` dimmed, unless the text is the URL.
    fn end_link(&mut self, image: bool) {
        self.style_stack.pop();
        let Some((url, from)) = self.links.pop() else { return };
        if image {
            self.text("]", self.style().patch(self.styles.link));
        }
        let text: String = self.inline[from.min(self.inline.len())..]
            .iter()
            .filter_map(|s| match s {
                Seg::Text(t, _) => Some(t.as_str()),
                Seg::Break => None,
            })
            .collect();
        let url = crate::text::clean(&url).into_owned();
        let bare = url.strip_prefix("mailto:").unwrap_or(&url);
        if url.is_empty() || (!image && (text == url || text == bare)) {
            return;
        }
        self.text(" ", self.style());
        self.text(&format!("({url})"), self.styles.url);
    }
}

fn heading_level(level: HeadingLevel) -> usize {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}
