//! The chat pane's Markdown renderer (`ui::widgets::markdown`): snapshots of
//! a representative answer at two widths, and properties over arbitrary
//! Markdown-ish text: it never panics, no line is wider than asked, nothing
//! that could drive the terminal gets through, and a streaming cache fed the
//! text in any prefixes ends with exactly the lines of one whole render.
//! Run longer with PROPTEST_CASES.

use opsdeck::ui::widgets::markdown::{MarkdownCache, MarkdownStyles, line_width, render};
use proptest::prelude::*;
use ratatui::text::Line;

const ANSWER: &str = r#"# Disk almost full on `db-1`

The **root filesystem** is at *96%*. The biggest consumers are the
PostgreSQL WAL and old logs; see [the runbook](https://wiki.example/runbooks/disk) or <https://status.example>.

## Steps

1. Check what grew:
   ```sh
   du -xh / --max-depth=2 2>/dev/null | sort -h | tail -n 20
   ```
2. Rotate the logs — ~~delete them~~ compress them first.
3. Nested points:
   - WAL: check `archive_command` is succeeding
   - logs: `journalctl --vacuum-size=500M`

- [x] alert acknowledged
- [ ] ticket filed

> **Note:** a full disk stops PostgreSQL from accepting writes,
> so act before it reaches 100%.

| mount | size | used | use% |
|:------|-----:|-----:|:----:|
| /     | 50G  | 48G  | 96%  |
| /var/lib/postgresql/data | 500G | 210G | 42% |

---

```python
import shutil
total, used, free = shutil.disk_usage("/")
print(f"{used / total:.0%} used, {free // 2**30} GiB free")
```

日本語のテキストも折り返されます。🦀 Emoji count two cells.
"#;

/// The lines as text, with `|` marking the right edge of the width.
fn show(lines: &[Line<'_>], width: u16) -> String {
    let mut out = format!("{}|\n", "-".repeat(usize::from(width)));
    for l in lines {
        let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
        let pad = usize::from(width).saturating_sub(line_width(l));
        out.push_str(&format!("{text}{}|\n", " ".repeat(pad)));
    }
    out
}

#[test]
fn representative_answer_at_40() {
    let lines = render(ANSWER, 40, &MarkdownStyles::default());
    insta::assert_snapshot!(show(&lines, 40));
}

#[test]
fn representative_answer_at_100() {
    let lines = render(ANSWER, 100, &MarkdownStyles::default());
    insta::assert_snapshot!(show(&lines, 100));
}

/// Pieces Markdown is made of, odd text among them.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z]{1,8}( [a-z]{1,8}){0,4}",
        2 => Just("\n".to_string()),
        2 => Just("\n\n".to_string()),
        1 => prop::sample::select(vec![
            "# ", "## ", "###### ", "> ", ">", "- ", "* ", "+ ", "1. ", "2) ", "  ", "    ", "\t", "- [ ] ", "- [x] ",
            "```", "```rust\n", "```nosuch\n", "~~~", "---", "***", "===", "|", " | ", "|---|---|\n", ":-:", "*", "**",
            "_", "~~", "`", "``", "[", "]", "(", ")", "](http://x.io)", "<", ">", "<div>", "</div>", "<!--", "-->",
            "<https://a.b>", "\\", "&amp;", "&#0;", "[x]: /url\n", "\r\n", "\r",
        ])
        .prop_map(str::to_string),
        1 => prop::sample::select(vec![
            "日本語", "🦀", "👩‍👩‍👧", "e\u{301}", "\u{0}", "\u{1b}[31m", "\u{1b}]52;c;eA==\u{7}", "\u{7f}", "\u{9b}",
            "\u{202e}", "\u{200b}", "\u{feff}", "\u{2028}", "ﷺ", "\u{10ffff}", "Ａ",
        ])
        .prop_map(str::to_string),
        1 => "[a-zA-Z0-9]{30,120}",
        1 => any::<char>().prop_map(String::from),
    ]
}

fn markdownish() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..40).prop_map(|v| v.concat())
}

/// `src` cut at these fractions of its length (on char boundaries), in order.
fn prefixes(src: &str, cuts: &[f64]) -> Vec<usize> {
    let mut ends: Vec<usize> = cuts
        .iter()
        .map(|f| {
            let mut at = ((src.len() as f64) * f) as usize;
            while !src.is_char_boundary(at) {
                at -= 1;
            }
            at
        })
        .collect();
    ends.sort_unstable();
    ends.push(src.len());
    ends
}

/// 200 in `cargo test`; `PROPTEST_CASES=N` for a long run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn lines_fit_the_width_and_hold_nothing_for_the_terminal(src in markdownish(), width in 1u16..200) {
        let lines = render(&src, width, &MarkdownStyles::default());
        for l in &lines {
            prop_assert!(line_width(l) <= usize::from(width), "{} > {width}: {l:?}", line_width(l));
            for s in &l.spans {
                prop_assert!(
                    !s.content.chars().any(|c| c.is_control() || opsdeck::text::is_invisible_format(c)),
                    "{:?}", s.content
                );
            }
        }
    }

    #[test]
    fn streaming_ends_with_the_whole_render(
        src in markdownish(),
        width in 1u16..120,
        cuts in prop::collection::vec(0.0f64..1.0, 0..12),
    ) {
        let styles = MarkdownStyles::default();
        let mut cache = MarkdownCache::new();
        for end in prefixes(&src, &cuts) {
            cache.lines(&src[..end], width, &styles);
        }
        let whole = render(&src, width, &styles);
        prop_assert_eq!(cache.lines(&src, width, &styles), whole.as_slice());
    }

    #[test]
    fn streaming_char_by_char_ends_with_the_whole_render(src in markdownish(), width in 1u16..60) {
        let styles = MarkdownStyles::plain();
        let mut cache = MarkdownCache::new();
        let mut ends: Vec<usize> = src.char_indices().map(|(i, _)| i).collect();
        ends.push(src.len());
        for end in ends {
            cache.lines(&src[..end], width, &styles);
        }
        let whole = render(&src, width, &styles);
        prop_assert_eq!(cache.lines(&src, width, &styles), whole.as_slice());
    }
}
