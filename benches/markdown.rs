//! `cargo bench --bench markdown`: the chat pane's Markdown renderer — a whole
//! 200-line answer, and one streamed token (the cache re-rendering only the
//! open block) in prose and inside a growing code block.

use divan::{Bencher, black_box};
use opsdeck::ui::widgets::markdown::{MarkdownCache, MarkdownStyles, render};

fn main() {
    divan::main();
}

/// A 200-line answer: headings, prose, lists, a table and highlighted code.
fn answer() -> String {
    let mut s = String::new();
    for i in 0..8 {
        s.push_str(&format!("## Step {i}\n\nThe **service** on `host-{i}` restarted *twice*; see [the log](https://logs.example/{i}).\nIt recovered after the cache was warmed and the queue drained.\n\n"));
        s.push_str("- check the disk\n- check the memory\n  - swap\n- [x] restart\n\n");
        s.push_str("| host | cpu | mem |\n|---|--:|--:|\n| a | 10% | 2G |\n| b | 95% | 7G |\n\n");
        s.push_str("```rust\nfn main() {\n    let x: Vec<u32> = (0..10).map(|i| i * 2).collect();\n    println!(\"{x:?}\");\n}\n```\n\n");
    }
    s
}

#[divan::bench]
fn render_200_line_answer_at_100(b: Bencher) {
    let src = answer();
    let styles = MarkdownStyles::default();
    b.bench_local(|| render(black_box(&src), 100, &styles));
}

/// One token appended to a long answer whose last block is a paragraph.
#[divan::bench]
fn stream_one_token_prose(b: Bencher) {
    let mut src = answer();
    src.push_str("And finally the last paragraph grows");
    let styles = MarkdownStyles::default();
    let mut cache = MarkdownCache::new();
    cache.lines(&src, 100, &styles);
    b.bench_local(|| {
        src.push_str(" word");
        cache.lines(black_box(&src), 100, &styles).len()
    });
}

/// One token appended inside an open 100-line code block at the end of the answer.
#[divan::bench]
fn stream_one_token_in_open_code_block(b: Bencher) {
    let mut src = answer();
    src.push_str("```python\n");
    for i in 0..100 {
        src.push_str(&format!("value_{i} = compute({i}, retries=3)  # step {i}\n"));
    }
    let styles = MarkdownStyles::default();
    let mut cache = MarkdownCache::new();
    cache.lines(&src, 100, &styles);
    b.bench_local(|| {
        src.push_str(" x");
        cache.lines(black_box(&src), 100, &styles).len()
    });
}
