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
        let boxes: Vec<_> = Pane::ALL.iter().flat_map(|p| p.boxes().iter().copied()).collect();
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
