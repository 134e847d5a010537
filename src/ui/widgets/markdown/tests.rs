use ratatui::style::Modifier;

use super::*;

/// The lines as plain text.
fn text(lines: &[Line<'_>]) -> Vec<String> {
    lines.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect()).collect()
}

fn md(src: &str, width: u16) -> Vec<String> {
    text(&render(src, width, &MarkdownStyles::default()))
}

/// The style of the span holding `needle` in the rendered lines.
fn style_of(lines: &[Line<'_>], needle: &str) -> Style {
    lines
        .iter()
        .flat_map(|l| l.spans.iter())
        .find(|s| s.content.contains(needle))
        .map(|s| s.style)
        .unwrap_or_else(|| panic!("no span holds {needle:?}"))
}

#[test]
fn headings_are_bold_with_their_marks() {
    let lines = render("# One\n\n### Three", 40, &MarkdownStyles::plain());
    assert_eq!(text(&lines), ["# One", "", "### Three"]);
    assert!(style_of(&lines, "One").add_modifier.contains(Modifier::BOLD));
}

#[test]
fn paragraphs_wrap_at_words_and_are_separated_by_a_blank_line() {
    assert_eq!(md("the quick brown fox\njumps\n\nover", 10), ["the quick", "brown fox", "jumps", "", "over"]);
    assert_eq!(md("line  \nbreak", 20), ["line", "break"]);
}

#[test]
fn inline_styles() {
    let lines = render("*it* **bo** ~~st~~ `co`", 40, &MarkdownStyles::default());
    assert_eq!(text(&lines), ["it bo st co"]);
    assert!(style_of(&lines, "it").add_modifier.contains(Modifier::ITALIC));
    assert!(style_of(&lines, "bo").add_modifier.contains(Modifier::BOLD));
    assert!(style_of(&lines, "st").add_modifier.contains(Modifier::CROSSED_OUT));
    assert_eq!(style_of(&lines, "co"), MarkdownStyles::default().code);
}

#[test]
fn links_show_the_url_unless_it_is_the_text() {
    assert_eq!(md("see [docs](https://x.io/d)", 40), ["see docs (https://x.io/d)"]);
    assert_eq!(md("<https://x.io>", 40), ["https://x.io"]);
    assert_eq!(md("<me@x.io>", 40), ["me@x.io"]);
    assert_eq!(md("![logo](l.png)", 40), ["[image: logo] (l.png)"]);
    let lines = render("[a](u)", 40, &MarkdownStyles::default());
    assert_eq!(style_of(&lines, "(u)"), MarkdownStyles::default().url);
}

#[test]
fn block_quotes_have_a_bar_on_every_line() {
    assert_eq!(md("> one two three\n>\n> four", 10), ["│ one two", "│ three", "│", "│ four"]);
    assert_eq!(md("> a\n> > b", 20), ["│ a", "│", "│ │ b"]);
}

#[test]
fn lists_hang_their_continuation_lines_under_the_text() {
    assert_eq!(md("- aa bb cc\n- dd", 7), ["• aa bb", "  cc", "• dd"]);
    assert_eq!(md("3. x\n4. y", 20), ["3. x", "4. y"]);
    assert_eq!(md("- a\n  - b\n    - c\n- d", 20), ["• a", "  ◦ b", "    ▪ c", "• d"]);
    assert_eq!(md("- a\n\n- b", 20), ["• a", "", "• b"]);
    assert_eq!(md("para\n\n- a\n\nafter", 20), ["para", "", "• a", "", "after"]);
    assert_eq!(md("-\n- b", 20), ["•", "• b"]);
    assert_eq!(md("- a\n  ```\n  x\n  ```\n- b", 20), ["• a", "  ╭─", "  │ x", "  ╰─", "• b"]);
}

#[test]
fn task_lists_show_boxes() {
    assert_eq!(md("- [ ] todo\n- [x] done", 20), ["☐ todo", "☑ done"]);
    assert_eq!(md("1. [x] done", 20), ["1. ☑ done"]);
}

#[test]
fn a_rule_spans_the_width() {
    assert_eq!(md("a\n\n---\n\nb", 5), ["a", "", "─────", "", "b"]);
    assert_eq!(md("> ***", 5), ["│ ───"]);
}

#[test]
fn tables_fit_their_columns_and_cut_cells() {
    let src = "| name | note |\n|:-----|-----:|\n| a | a long note here |\n| bb | x |";
    assert_eq!(
        md(src, 40),
        ["name │             note", "─────┼─────────────────", "a    │ a long note here", "bb   │                x"]
    );
    assert_eq!(md(src, 14), ["name │    note", "─────┼────────", "a    │ a long…", "bb   │       x"]);
    let lines = render(src, 40, &MarkdownStyles::default());
    assert!(style_of(&lines, "name").add_modifier.contains(Modifier::BOLD));
}

#[test]
fn code_blocks_are_cut_not_wrapped_and_name_their_language() {
    let src = "```rust\nfn main() { println!(\"hello\"); }\n```";
    assert_eq!(md(src, 20), ["╭─ rust", "│ fn main() { print…", "╰─"]);
    assert_eq!(md("    indented\n    code", 20), ["╭─", "│ indented", "│ code", "╰─"]);
    assert_eq!(md("```\na\tb\n```", 20), ["╭─", "│ a       b", "╰─"]);
}

#[test]
fn an_unclosed_fence_makes_the_rest_code() {
    assert_eq!(
        md("text\n\n```py\nx = 1\n\n# not a heading", 30),
        ["text", "", "╭─ py", "│ x = 1", "│", "│ # not a heading", "╰─"]
    );
}

#[test]
fn html_is_shown_as_text() {
    assert_eq!(md("<div>\n<b>hi</b>\n</div>", 20), ["<div>", "<b>hi</b>", "</div>"]);
    assert_eq!(md("a <br> b", 20), ["a <br> b"]);
}

#[test]
fn control_characters_never_reach_a_line() {
    let src =
        "evil \u{1b}[31mred\u{7} `\u{1b}]52;c;x\u{7}`\n\n```\n\u{1b}[2J\u{0}\n```\n\n| \u{9b}a |\n|-|\n| b\u{202e} |";
    for l in text(&render(src, 40, &MarkdownStyles::default())) {
        assert!(!l.chars().any(|c| c.is_control() || crate::text::is_invisible_format(c)), "{l:?}");
    }
    assert_eq!(md("a\u{1b}b", 10), ["a␛b"]);
}

#[test]
fn wide_characters_count_two_cells() {
    assert_eq!(md("日本語 テキスト", 7), ["日本語", "テキス", "ト"]);
    assert_eq!(md("🦀🦀🦀", 4), ["🦀🦀", "🦀"]);
    for l in render("| 日本語 | 🦀🦀 |\n|-|-|\n| a | b |", 9, &MarkdownStyles::default()) {
        assert!(line_width(&l) <= 9, "{l:?}");
    }
}

#[test]
fn narrow_widths_never_overflow() {
    let src = "> - [ ] a quoted task with a long line\n>   ```\n>   code\n>   ```";
    for w in 1..12 {
        for l in render(src, w, &MarkdownStyles::default()) {
            assert!(line_width(&l) <= usize::from(w), "{w}: {l:?}");
        }
    }
    assert!(render("anything", 0, &MarkdownStyles::default()).is_empty());
}

#[test]
fn code_blocks_are_listed_for_copying() {
    let src = "a\n\n```rust ignore\nfn x() {}\n```\n\n- item\n\n      indented\n\n```\nopen";
    assert_eq!(
        code_blocks(src),
        [
            CodeBlock { lang: Some("rust".into()), text: "fn x() {}\n".into() },
            CodeBlock { lang: None, text: "indented\n".into() },
            CodeBlock { lang: None, text: "open".into() },
        ]
    );
}

#[test]
fn colours_off_means_no_highlighting() {
    let src = "```rust\nlet x = 1;\n```";
    let coloured = render(src, 40, &MarkdownStyles::default());
    assert!(coloured[1].spans.iter().any(|s| matches!(s.style.fg, Some(Color::Rgb(..)))));
    let plain = render(src, 40, &MarkdownStyles::plain());
    assert!(plain.iter().flat_map(|l| l.spans.iter()).all(|s| s.style.fg.is_none() && s.style.bg.is_none()));
}

/// The cache fed every prefix of `src` ends with the lines of one render.
fn streamed(src: &str, width: u16) -> Vec<Line<'static>> {
    let styles = MarkdownStyles::default();
    let mut cache = MarkdownCache::new();
    let mut end = 0;
    while end < src.len() {
        end += src[end..].chars().next().map_or(1, char::len_utf8);
        cache.lines(&src[..end], width, &styles);
    }
    cache.lines(src, width, &styles).to_vec()
}

#[test]
fn the_cache_fed_token_by_token_matches_one_render() {
    let tricky = [
        "a\n#x\n",
        "- a\n\n  more\n\nb\n",
        "    code\n\n    more\n\nafter\n",
        "> q\nlazy\n\npara\n",
        "text\n\n```rs\nfn x() {}\n\n# in code\n```\n\nafter\n",
        "para\n---\n\n| a | b |\n|---|---|\n| 1 | 2 |\nrow\n\nend",
        "x\n\ny\n===\n",
        "[a]: /u\n\n[b][a]\n\n<!-- c\n\nd -->\n",
        "p [x] q\n\n[x]: /url\n",
        "p [x] q\n\n[x]: /url\n'title\nmore'\n\nafter\n",
        "[x\ny]: /u\n\n[x y]\n",
        "1) a\n\n12) b\n",
    ];
    for src in tricky {
        for w in [5, 30] {
            assert_eq!(text(&streamed(src, w)), text(&render(src, w, &MarkdownStyles::default())), "{src:?} at {w}");
            assert_eq!(streamed(src, w), render(src, w, &MarkdownStyles::default()), "styles of {src:?}");
        }
    }
}

#[test]
fn the_cache_keeps_finished_blocks_and_starts_over_on_a_change() {
    let styles = MarkdownStyles::default();
    let mut cache = MarkdownCache::new();
    cache.lines("# Title\n\nfirst para\n\nsec", 40, &styles);
    assert!(cache.resume > 0, "finished blocks are frozen");
    let frozen = cache.frozen;
    assert_eq!(
        text(cache.lines("# Title\n\nfirst para\n\nsecond", 40, &styles)),
        ["# Title", "", "first para", "", "second"]
    );
    assert_eq!(cache.frozen, frozen);
    assert_eq!(text(cache.lines("# Other", 40, &styles)), ["# Other"]);
    assert_eq!(text(cache.lines("# Other", 3, &styles)), ["#", "Oth", "er"]);
}

#[test]
fn styles_from_the_theme() {
    use crate::config::theme::{Role, Theme};
    let light = Theme::load("default-light", None, false).expect("bundled theme");
    let styles = MarkdownStyles::from_theme(&light, true);
    assert_eq!(styles.code_theme, CodeTheme::Light);
    assert_eq!(styles.text, light.style(Role::Text));
    assert!(styles.heading.add_modifier.contains(Modifier::BOLD));
    let mono = MarkdownStyles::from_theme(&Theme::fallback(true), false);
    assert_eq!(mono.code_theme, CodeTheme::Dark);
    assert!(!mono.color);
    let lines = render("# T\n\n`c` [a](u)\n\n```rust\nlet x = 1;\n```", 40, &mono);
    assert!(lines.iter().flat_map(|l| l.spans.iter()).all(|s| s.style.fg.is_none() && s.style.bg.is_none()));
    assert!(style_of(&lines, "c").add_modifier.contains(Modifier::REVERSED));
}
