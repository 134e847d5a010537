//! Every bundled theme paints every cell of a frame with a background —
//! borders, charts, empty box areas, popups — or, without colour (NO_COLOR),
//! none at all: never the terminal's own colour in between (stripes).

mod support;

use opsdeck::app::{Action, AppState, UserAction, update};
use opsdeck::config::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use support::Seed;

/// Screens to check: each pane, and popups over them.
fn screens(seed: &Seed) -> Vec<(&'static str, AppState)> {
    let with = |mut s: AppState, a: UserAction| {
        update(&mut s, Action::User(a), &seed.ctx());
        s
    };
    vec![
        ("metrics", seed.state()),
        ("metrics zoomed", with(seed.state(), UserAction::ZoomToggle)),
        ("help", with(seed.state(), UserAction::Help)),
        ("palette", with(seed.state(), UserAction::CommandPalette)),
        ("fleet", with(seed.state(), UserAction::Fleet)),
        ("tools", seed.tools_state()),
        ("alerts", seed.alerts_state()),
    ]
}

fn unset_cells(s: &AppState, theme: &Theme, w: u16, h: u16) -> (usize, usize) {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    t.draw(|f| opsdeck::ui::render(f, s, theme)).expect("draw");
    let cells = t.backend().buffer().content();
    let unset = cells.iter().filter(|c| c.bg == Color::Reset).count();
    (unset, cells.len())
}

#[test]
fn every_cell_has_the_theme_background_or_none_has() {
    let seed = Seed::new();
    for name in Theme::bundled_names() {
        let theme = Theme::load(name, None, false).expect("bundled theme");
        for (what, s) in screens(&seed) {
            for (w, h) in [(80, 24), (160, 48)] {
                let (unset, all) = unset_cells(&s, &theme, w, h);
                assert_eq!(unset, 0, "{name}, {what} at {w}x{h}: {unset} of {all} cells show the terminal's colour");
            }
        }
        let mono = Theme::load(name, None, true).expect("bundled theme without colour");
        for (what, s) in screens(&seed) {
            let (unset, all) = unset_cells(&s, &mono, 100, 30);
            assert_eq!(unset, all, "{name} without colour, {what}: every cell keeps the terminal's colour");
        }
    }
}
