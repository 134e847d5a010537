use proptest::prelude::*;

use super::*;

/// The report of issue 9 A1: `K` is U+212A KELVIN SIGN (3 bytes, lowercase
/// `k` is 1 byte), `İ` is U+0130 (2 bytes, lowercase `i̇` is 3 bytes). The
/// lowercased line has the same byte length as the original, so offsets from
/// it looked usable, and slicing the original at them panicked.
#[test]
fn offsets_from_a_lowercased_string_never_split_a_char() {
    let line = "\u{212A}ab\u{130}\u{130}";
    assert_eq!(line.to_lowercase().len(), line.len(), "the trap: same byte length, different offsets");
    assert_eq!(find_ci(line, "a"), vec![3..4]);
    assert_eq!(&line[3..4], "a");
    assert_eq!(find_ci(line, "k"), vec![0..3], "the Kelvin sign folds to k");
    assert_eq!(find_ci(line, "KAB"), vec![0..5]);
    assert_eq!(find_ci(line, "i"), vec![5..7, 7..9], "İ folds to i");
    assert_eq!(find_ci(line, "bİ"), vec![4..7]);
    assert!(find_ci(line, "").is_empty());
    assert!(find_ci(line, "x").is_empty());
}

#[test]
fn folding_is_one_char_for_one_char() {
    assert_eq!(fold('\u{212A}'), 'k');
    assert_eq!(fold('Σ'), 'σ');
    assert_eq!(fold('ς'), 'σ');
    assert_eq!(fold('ẞ'), 'ß');
    assert_eq!(fold('ǅ'), 'ǆ');
    assert_eq!(fold('\u{130}'), 'i');
    assert_eq!(fold('中'), '中');
    assert!(contains_ci("Straße", "STRAẞE"));
    assert!(contains_ci("anything", ""));
    assert!(!contains_ci("", "a"));
    assert_eq!(cmp_ci("apple", "Banana"), Ordering::Less);
    assert_eq!(cmp_ci("\u{212A}", "k"), Ordering::Equal);
}

#[test]
fn char_indices_map_to_byte_ranges_of_the_original() {
    let s = "a中👩‍👩‍👧b";
    // chars: a, 中, 👩, ZWJ, 👩, ZWJ, 👧, b
    assert_eq!(char_ranges(s, &[0, 1]), vec![0..4]);
    assert_eq!(char_ranges(s, &[7, 7, 99]), vec![s.len() - 1..s.len()]);
    assert_eq!(&s[char_ranges(s, &[1])[0].clone()], "中");
    let mut buf = Vec::new();
    assert_eq!(haystack(s, &mut buf).len(), s.chars().count(), "one haystack position per char");
    let mut buf = Vec::new();
    let decomposed = "e\u{308}cho";
    assert_eq!(haystack(decomposed, &mut buf).len(), 5, "not bytes, not graphemes");
}

#[test]
fn widths_are_cells_as_drawn() {
    assert_eq!(width("abc"), 3);
    assert_eq!(width("中文"), 4, "wide CJK takes two cells");
    assert_eq!(width("e\u{301}"), 1, "a combining mark takes none");
    assert_eq!(width("👩‍👩‍👧"), 2, "a ZWJ sequence is one emoji");
    assert_eq!(width("a\tb\x1b"), 2, "controls are not drawn");
    assert_eq!(width("\u{202E}"), 0);
}

#[test]
fn truncation_keeps_clusters_and_marks_the_cut() {
    assert_eq!(truncate("hello", 5), "hello");
    assert!(matches!(truncate("hello", 5), Cow::Borrowed(_)));
    assert_eq!(truncate("hello world", 5), "hell…");
    assert_eq!(truncate("中文字", 4), "中…", "a wide char that does not fit is not split");
    assert_eq!(truncate("中文字", 5), "中文…");
    assert_eq!(truncate("e\u{301}e\u{301}e\u{301}", 2), "e\u{301}…");
    assert_eq!(truncate("abc", 0), "");
    assert_eq!(truncate("abc", 1), "…");
    assert_eq!(fit("name\twith\ttabs", 12), "name    wit…");
    assert_eq!(fit("ok", 2), "ok");
}

#[test]
fn outside_text_is_cleaned_visibly() {
    assert_eq!(clean("a\tb"), "a       b");
    assert_eq!(clean("abcdefgh\tb"), "abcdefgh        b");
    assert_eq!(clean("nul\0here"), "nul␀here");
    assert_eq!(clean("\x1b[31mred\x1b[0m"), "␛[31mred␛[0m");
    assert_eq!(clean("del\x7f"), "del␡");
    assert_eq!(clean("c1\u{9b}x"), "c1\u{FFFD}x");
    assert_eq!(clean("two\r\nlines\nhere"), "two lines here");
    assert_eq!(clean("\u{202E}evil\u{2066}x\u{2069}"), "evilx", "bidi controls are removed");
    assert_eq!(clean("\u{FEFF}zero\u{200B}width\u{2060}"), "zerowidth");
    assert_eq!(clean("👩‍👩‍👧 e\u{301}"), "👩‍👩‍👧 e\u{301}");
    assert!(matches!(clean("plain"), Cow::Borrowed(_)));
    let mut out = String::from("ab");
    assert_eq!(clean_onto(&mut out, "\tc", 2), 9);
    assert_eq!(out, "ab      c");
}

#[test]
fn long_lines_are_read_only_as_far_as_shown() {
    let long = "x".repeat(1_000_000);
    assert_eq!(prefix_for_width(&long, 80).len(), 80);
    assert_eq!(prefix_for_width("中文字", 3), "中文");
    assert_eq!(prefix_for_width("ab", 80), "ab");
    assert_eq!(extend_by_chars("a中b", 1, 1), "a中");
    assert_eq!(extend_by_chars("a中b", 1, 9), "a中b");
    assert_eq!(fit(&long, 4), "xxx…");
}

/// Strings made of the characters that break offset and width arithmetic,
/// mixed with arbitrary text and arbitrary chars (controls included).
pub(crate) fn hostile() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        "\u{212A}",
        "\u{130}",
        "ß",
        "ẞ",
        "ﬁ",
        "ǅ",
        "\u{301}",
        "👩‍👩‍👧",
        "a",
        "A",
        "k",
        "i",
        "I",
        "中",
        "Σ",
        "ς",
        "\t",
        "\0",
        "\x1b[1m",
        "\r\n",
        "\r",
        "\n",
        "\u{202E}",
        "\u{200D}",
        "\u{200F}",
        "\u{FEFF}",
        "\u{9b}",
        "\u{7f}",
        "\u{FF9E}",
        "e\u{308}",
        "🇫🇷",
        " ",
    ]);
    prop::collection::vec(
        prop_oneof![
            4 => special.prop_map(String::from),
            2 => "\\PC{0,3}",
            1 => any::<char>().prop_map(String::from),
        ],
        0..24,
    )
    .prop_map(|v| v.concat())
}

fn folds_equal(a: &str, b: &str) -> bool {
    a.chars().map(fold).eq(b.chars().map(fold))
}

/// A needle cut out of `hay` (chars `from..from+len`), with the case of some
/// chars changed, so that matches actually happen.
fn needle_from(hay: &str, from: usize, len: usize, flips: u32) -> String {
    hay.chars()
        .skip(from)
        .take(len)
        .enumerate()
        .map(|(i, c)| {
            if flips >> (i % 32) & 1 == 1 {
                let mut up = c.to_uppercase();
                match (up.next(), up.next()) {
                    (Some(u), None) if fold(u) == fold(c) => u,
                    _ => c,
                }
            } else {
                c
            }
        })
        .collect()
}

#[test]
fn a_line_scrolled_sideways_says_what_is_hidden_on_each_side() {
    assert_eq!(fit_scrolled("abcdefghij", 0, 5), "abcd…");
    assert_eq!(fit_scrolled("abcdefghij", 4, 20), "…fghij", "e is under the …");
    assert_eq!(fit_scrolled("abcdefghij", 4, 4), "…fg…");
    assert_eq!(fit_scrolled("abc", 8, 10), "…", "a line shorter than the scroll says its text is on the left");
    assert_eq!(fit_scrolled("abcd", 4, 10), "…", "so does one exactly as wide as the scroll");
    assert_eq!(fit_scrolled("", 8, 10), "", "an empty line hides nothing");
    assert_eq!(fit_scrolled("abc", 8, 0), "", "nor overflows no room");
    assert_eq!(skip_cells("漢字ab", 1), "字ab", "a wide cluster straddling the edge goes");
    assert_eq!(skip_cells("e\u{301}xy", 1), "xy", "a combining mark goes with its base");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn a_line_scrolled_sideways_never_splits_a_char_nor_overflows(s in hostile(), cells in 0usize..40, max in 0usize..30) {
        let rest = skip_cells(&s, cells);
        prop_assert!(s.ends_with(rest), "a suffix of the line");
        prop_assert!(s.is_char_boundary(s.len() - rest.len()));
        let shown = fit_scrolled(&s, cells, max);
        prop_assert!(width(&shown) <= max, "{shown:?} is wider than {max}");
    }

    #[test]
    fn offsets_from_a_lowercased_string_never_split_a_char_for_any_input(hay in hostile(), other in hostile(), from in 0usize..30, len in 1usize..6, flips in any::<u32>(), pick in any::<bool>()) {
        let needle = if pick { needle_from(&hay, from, len, flips) } else { other };
        let found = find_ci(&hay, &needle);
        let mut last_end = 0;
        for r in &found {
            prop_assert!(hay.is_char_boundary(r.start) && hay.is_char_boundary(r.end), "{r:?} in {hay:?}");
            prop_assert!(r.start >= last_end && r.start < r.end, "ordered, non-overlapping: {found:?}");
            prop_assert!(folds_equal(&hay[r.clone()], &needle), "{:?} vs {needle:?}", &hay[r.clone()]);
            last_end = r.end;
        }
        prop_assert_eq!(found.is_empty(), needle.is_empty() || !contains_ci(&hay, &needle));
        if pick && !needle.is_empty() {
            prop_assert!(!found.is_empty(), "{needle:?} was cut out of {hay:?}");
        }
    }

    #[test]
    fn char_positions_always_map_to_char_boundaries(s in hostile(), idx in prop::collection::vec(0u32..40, 0..10)) {
        let n = s.chars().count();
        let ranges = char_ranges(&s, &idx);
        let covered: usize = ranges.iter().map(|r| s[r.clone()].chars().count()).sum();
        let mut want = idx.clone();
        want.retain(|i| (*i as usize) < n);
        want.sort_unstable();
        want.dedup();
        prop_assert_eq!(covered, want.len());
        for r in ranges {
            prop_assert!(s.is_char_boundary(r.start) && s.is_char_boundary(r.end));
        }
    }

    #[test]
    fn truncation_never_exceeds_the_width_nor_splits_a_char(s in hostile(), max in 0usize..30) {
        let t = truncate(&s, max);
        prop_assert!(width(&t) <= max, "{t:?} is wider than {max}");
        let kept = t.strip_suffix(ELLIPSIS).unwrap_or(&t);
        prop_assert!(s.starts_with(kept), "a prefix of the original");
        prop_assert!(s.graphemes(true).scan(0, |at, g| { *at += g.len(); Some(*at) }).chain([0]).any(|b| b == kept.len()),
            "cut on a cluster boundary");
        if width(&s) <= max {
            prop_assert_eq!(&*t, s.as_str());
        }
        let f = fit(&s, max);
        prop_assert!(width(&f) <= max, "{f:?} is wider than {max}");
        prop_assert!(!f.chars().any(|c| c.is_control() || is_invisible_format(c)), "{f:?} is clean");
        prop_assert!(f == clean(&s) || f.ends_with(ELLIPSIS) || max == 0, "whole, or marked as cut: {f:?}");
    }

    #[test]
    fn printable_ascii_takes_the_same_cells_as_the_general_rule(s in "[ -~]{0,60}", max in 0usize..70) {
        prop_assert_eq!(width(&s), s.graphemes(true).map(drawn_width).sum::<usize>());
        let t = truncate(&s, max);
        let cut = t.ends_with(ELLIPSIS) && s.starts_with(t.trim_end_matches(ELLIPSIS));
        prop_assert!(width(&t) <= max && (t == s || cut || (max == 0 && t.is_empty())), "{t:?}");
        prop_assert_eq!(fit(&s, max), t.into_owned());
    }

    #[test]
    fn cleaned_text_holds_no_control(s in hostile(), col in 0usize..20) {
        let c = clean(&s);
        prop_assert!(!c.chars().any(|c| c.is_control() || is_invisible_format(c)), "{c:?}");
        let mut out = String::new();
        let end = clean_onto(&mut out, &s, col);
        prop_assert_eq!(end, col + width(&out), "the column returned is where the text ends");
        let p = prefix_for_width(&s, col);
        prop_assert!(s.starts_with(p) && s.is_char_boundary(p.len()));
    }
}

#[test]
fn hard_wrapping_keeps_every_cluster_and_the_width() {
    assert_eq!(wrap_hard("abcdef", 4), vec!["abcd", "ef"]);
    assert_eq!(wrap_hard("", 4), vec![""]);
    assert_eq!(wrap_hard("中文字", 3), vec!["中", "文", "字"], "a wide char never straddles a line end");
    assert_eq!(wrap_hard("e\u{301}xy", 1), vec!["e\u{301}", "x", "y"]);
    for line in wrap_hard(&"ab中".repeat(20), 7) {
        assert!(width(&line) <= 7, "{line:?}");
    }
}

#[test]
fn word_wrapping_breaks_at_spaces_and_only_breaks_a_word_too_long_for_a_line() {
    assert_eq!(wrap_words("cannot be read (outbox)", 12), vec!["cannot be", "read", "(outbox)"]);
    assert_eq!(wrap_words("", 4), vec![""]);
    assert_eq!(wrap_words("  hint: run it", 8), vec!["  hint:", "run it"], "indentation kept on the first line");
    assert_eq!(wrap_words("a /very/long/path/name b", 6), vec!["a", "/very/", "long/p", "ath/na", "me b"]);
    assert_eq!(wrap_words("中文 字字字", 4), vec!["中文", "字字", "字"]);
    // Every character but the spaces at a break is kept, and no line is too wide.
    let s = "the quick brown fox jumps over a lazy dog, then 中文字 and e\u{301}tude";
    // (From 2: at width 1 a wide character still gets a line of its own.)
    for w in 2..30 {
        let lines = wrap_words(s, w);
        assert!(lines.iter().all(|l| width(l) <= w), "{w}: {lines:?}");
        assert_eq!(lines.concat().replace(' ', ""), s.replace(' ', ""), "{w}");
    }
}

#[test]
fn clean_lines_keeps_line_breaks_and_nothing_else_raw() {
    use super::clean_lines;
    assert!(matches!(clean_lines("a\nb\n"), std::borrow::Cow::Borrowed("a\nb\n")));
    let out = clean_lines("red \x1b[31mx\r\nnext\u{7}\n\u{202e}evil");
    assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
    assert_eq!(out.matches('\n').count(), 2);
    assert!(!out.contains('\u{202e}'));
}

#[test]
fn fit_middle_keeps_the_start_and_the_end() {
    let p = "✓ exported to /tmp/tester/data/opsdeck/exports/chat-1796570255522-7bc5.md";
    let cut = fit_middle(p, 40);
    assert_eq!(width(&cut), 40);
    assert!(cut.starts_with("✓ exported to ") && cut.ends_with("-7bc5.md") && cut.contains('…'), "{cut}");
    assert_eq!(fit_middle("short", 40), "short");
    // Wide clusters never straddle the cut nor pass the width.
    let wide = "日本語のファイル名はとても長いのでここで切られますよ.md";
    let cut = fit_middle(wide, 21);
    assert!(width(&cut) <= 21 && cut.ends_with(".md"), "{cut}");
    // Control characters are cleaned like fit's.
    assert!(!fit_middle("a\u{1b}[31mb\u{7}c".repeat(20).as_str(), 30).contains('\u{1b}'));
}

proptest! {
    #[test]
    fn fit_middle_never_passes_its_width(s in "\\PC{0,80}", max in 0usize..60) {
        let cut = fit_middle(&s, max);
        prop_assert!(width(&cut) <= max.max(width(&fit(&s, max))), "{cut:?}");
    }
}

#[test]
fn numbers_are_shown_without_float_noise() {
    use super::units::number;
    let got: Vec<String> =
        [0.469_107_999_999_999_97, 1_000.000_000_000_110_2, 95.5, 12.0, -7.31729, 0.0, -0.000_01, 123_456.7, 1.2e-7]
            .into_iter()
            .map(number)
            .collect();
    assert_eq!(got, ["0.4691", "1000", "95.5", "12", "-7.32", "0", "-1.000e-5", "123457", "1.200e-7"]);
    assert_eq!((number(f64::NAN), number(f64::INFINITY)), ("NaN".to_string(), "inf".to_string()));
}
