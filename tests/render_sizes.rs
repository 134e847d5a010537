//! Any terminal size renders without panicking, with every overlay and zoom.

mod support;

use opsdeck::app::{Action, Pane, UserAction, update};
use opsdeck::config::theme::Theme;
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use support::Seed;

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn renders_at_any_size(w in 0u16..260, h in 0u16..90, overlay in 0u8..4, zoom in any::<bool>(), focus in 0usize..12, marker in 0u8..3) {
        let seed = Seed::new();
        let mut s = match focus { 0..5 => seed.state(), 5..9 => seed.tools_state(), _ => seed.alerts_state() };
        let boxes: Vec<_> = Pane::ALL.iter().flat_map(|p| p.boxes()).collect();
        s.focus = boxes[focus];
        if zoom {
            update(&mut s, Action::User(UserAction::ZoomToggle), &seed.ctx());
        }
        for _ in 0..marker {
            update(&mut s, Action::User(UserAction::MarkerCycle), &seed.ctx());
        }
        match overlay {
            1 => { update(&mut s, Action::User(UserAction::Help), &seed.ctx()); }
            2 => { update(&mut s, Action::User(UserAction::CommandPalette), &seed.ctx()); }
            3 => { update(&mut s, Action::User(UserAction::Filter), &seed.ctx()); }
            _ => {}
        }
        let theme = Theme::fallback(false);
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("backend");
        t.draw(|f| opsdeck::ui::render(f, &s, &theme)).expect("draw");
        if w >= 20 && h >= 5 {
            let text: String = t.backend().buffer().content().iter().map(|c| c.symbol()).collect();
            prop_assert!(text.trim().len() > 10, "something sensible is on screen at {}x{}", w, h);
        }
    }
}

/// Text from outside: arbitrary strings mixed with the characters that break
/// offset and width arithmetic (length-changing case, wide and zero-width
/// chars, emoji sequences, controls, bidi overrides).
fn hostile() -> impl Strategy<Value = String> {
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
        "中文",
        "Σ",
        "ς",
        "\t",
        "\0",
        "\x1b[31m",
        "\r\n",
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
        "/",
    ]);
    prop::collection::vec(
        prop_oneof![4 => special.prop_map(String::from), 2 => "\\PC{0,4}", 1 => any::<char>().prop_map(String::from)],
        0..40,
    )
    .prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Issue 9 A1: hostile text in every place outside text lands, searched
    /// in the tool output, at any size, with every overlay: nothing panics,
    /// no control or bidi character reaches a cell, and the clock stays.
    #[test]
    fn hostile_text_renders_at_any_size(text in hostile(), kelvin in any::<bool>(), w in 0u16..200, h in 0u16..60, overlay in 0u8..4, focus in 0usize..12) {
        let seed = Seed::new();
        let query = if kelvin { "a".to_string() } else { text.chars().take(3).collect() };
        let mut s = seed.hostile_state(&text, &query);
        let boxes: Vec<_> = Pane::ALL.iter().flat_map(|p| p.boxes()).collect();
        s.focus = boxes[focus];
        match overlay {
            1 => { update(&mut s, Action::User(UserAction::Help), &seed.ctx()); }
            2 => { update(&mut s, Action::User(UserAction::CommandPalette), &seed.ctx()); }
            3 => { update(&mut s, Action::Paste(text.clone()), &seed.ctx()); }
            _ => {}
        }
        let theme = Theme::fallback(false);
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("backend");
        t.draw(|f| opsdeck::ui::render(f, &s, &theme)).expect("draw");
        let buf = t.backend().buffer();
        for c in buf.content() {
            let bad = c.symbol().chars().any(|ch| ch.is_control() || matches!(ch, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}'));
            prop_assert!(!bad, "{:?} reached a cell", c.symbol());
        }
        if w >= 40 && h >= 5 && overlay == 0 {
            let last: String = (0..w).map(|x| buf[(x, h - 1)].symbol()).collect();
            prop_assert!(last.contains("22:13"), "the clock is on the status bar: {last:?}");
        }
    }
}
