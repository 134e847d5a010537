//! Snapshots of the metrics pane and the whole screen on `TestBackend`,
//! with a fixed clock and seeded series.

mod support;

use support::draw;

use opsdeck::app::{Action, AppState, BoxId, UserAction, update};
use opsdeck::config::settings::Marker;
use support::Seed;

fn act(seed: &Seed, s: &mut AppState, a: UserAction) {
    update(s, Action::User(a), &seed.ctx());
}

#[test]
fn full_screen_80x24() {
    let seed = Seed::new();
    insta::assert_snapshot!(draw(&seed.state(), 80, 24).backend());
}

#[test]
fn full_screen_160x48() {
    let seed = Seed::new();
    insta::assert_snapshot!(draw(&seed.state(), 160, 48).backend());
}

#[test]
fn processes_zoomed_sorted_by_memory_160x48() {
    let seed = Seed::new();
    let mut s = seed.state();
    s.focus = BoxId::Processes;
    act(&seed, &mut s, UserAction::ZoomToggle);
    act(&seed, &mut s, UserAction::SortMemory);
    act(&seed, &mut s, UserAction::Down);
    insta::assert_snapshot!(draw(&s, 160, 48).backend());
}

#[test]
fn cpu_zoomed_ascii_one_hour_frozen_80x24() {
    let seed = Seed::new();
    let mut s = seed.state();
    s.focus = BoxId::Cpu;
    act(&seed, &mut s, UserAction::ZoomToggle);
    act(&seed, &mut s, UserAction::MarkerCycle);
    act(&seed, &mut s, UserAction::MarkerCycle);
    assert_eq!(s.metrics.marker, Marker::Ascii);
    act(&seed, &mut s, UserAction::WindowNext);
    act(&seed, &mut s, UserAction::WindowNext);
    act(&seed, &mut s, UserAction::FreezeToggle);
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

#[test]
fn network_block_marker_80x24() {
    let seed = Seed::new();
    let mut s = seed.state();
    s.focus = BoxId::Network;
    act(&seed, &mut s, UserAction::ZoomToggle);
    act(&seed, &mut s, UserAction::MarkerCycle);
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

#[test]
fn help_overlay_80x24() {
    let seed = Seed::new();
    let mut s = seed.state();
    act(&seed, &mut s, UserAction::Help);
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

#[test]
fn command_palette_filtered_80x24() {
    let seed = Seed::new();
    let mut s = seed.state();
    act(&seed, &mut s, UserAction::CommandPalette);
    update(&mut s, Action::Paste("sort".into()), &seed.ctx());
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

#[test]
fn process_filter_editing_160x48() {
    let seed = Seed::new();
    let mut s = seed.state();
    s.focus = BoxId::Processes;
    act(&seed, &mut s, UserAction::Filter);
    update(&mut s, Action::Paste("post".into()), &seed.ctx());
    insta::assert_snapshot!(draw(&s, 160, 48).backend());
}

#[test]
fn tiny_terminal_20x5() {
    let seed = Seed::new();
    insta::assert_snapshot!(draw(&seed.state(), 20, 5).backend());
}

#[test]
fn status_bar_read_only_with_config_warning_100x6() {
    let seed = Seed::new();
    let mut s = seed.state();
    s.read_only = true;
    s.warnings = vec!["config.toml:1:11: invalid duration".into()];
    insta::assert_snapshot!(draw(&s, 100, 6).backend());
}

/// The seeded state plus a backend "db" that sent one sample two minutes ago
/// and is now retrying.
fn with_dropped_backend(seed: &Seed) -> AppState {
    use opsdeck::app::Link;
    use opsdeck::protocol::{Envelope, Event, Topic};
    let mut s = seed.state();
    let mut snap = support::snapshot(support::NOW - 120_000, 7);
    snap.hostname = "db-1".into();
    let env = Envelope {
        epoch: 9,
        seq: 5,
        ts: snap.ts,
        source: "db".into(),
        topic: Topic::Metrics,
        event: Event::HostSample(Box::new(snap)),
    };
    update(&mut s, Action::Link("db".into(), Link::Connected), &seed.ctx());
    update(&mut s, Action::Events(vec![std::sync::Arc::new(env)]), &seed.ctx());
    let retry = Link::Retrying { at: support::NOW + 4000, attempt: 3, error: "refused".into() };
    update(&mut s, Action::Link("db".into(), retry), &seed.ctx());
    s
}

#[test]
fn fleet_with_a_dropped_backend_100x30() {
    let seed = Seed::new();
    let mut s = with_dropped_backend(&seed);
    act(&seed, &mut s, UserAction::Fleet);
    insta::assert_snapshot!(draw(&s, 100, 30).backend());
}

#[test]
fn offline_source_is_dimmed_with_its_age_100x30() {
    let seed = Seed::new();
    let mut s = with_dropped_backend(&seed);
    act(&seed, &mut s, UserAction::SourceNext);
    let t = draw(&s, 100, 30);
    let cell = &t.backend().buffer()[(10, 5)];
    assert!(cell.modifier.contains(ratatui::style::Modifier::DIM), "not-live data is dimmed");
    insta::assert_snapshot!(t.backend());
}

#[test]
fn annotation_in_the_cpu_title_100x12() {
    use opsdeck::protocol::{Envelope, Event, LOCAL_SOURCE, Topic};
    let seed = Seed::new();
    let mut s = seed.state();
    let note = Event::Annotation { text: "deploy v42".into(), author: "ops".into() };
    let env = Envelope {
        epoch: 1,
        seq: 1,
        ts: support::NOW - 90_000,
        source: LOCAL_SOURCE.into(),
        topic: Topic::Metrics,
        event: note,
    };
    update(&mut s, Action::Events(vec![std::sync::Arc::new(env)]), &seed.ctx());
    insta::assert_snapshot!(draw(&s, 100, 12).backend());
}

/// A backend that sent its stored history but no live sample, then dropped:
/// the top bar still says it is not live (there is no latest sample to age).
#[test]
fn a_source_with_history_only_is_never_shown_live() {
    use opsdeck::app::Link;
    use opsdeck::protocol::{Envelope, Event, Topic};
    let seed = Seed::new();
    let mut s = seed.state();
    let history = Envelope {
        epoch: 9,
        seq: 5,
        ts: support::NOW - 1000,
        source: "db".into(),
        topic: Topic::Metrics,
        event: Event::MetricsHistory(Box::default()),
    };
    update(&mut s, Action::Link("db".into(), Link::Connected), &seed.ctx());
    update(&mut s, Action::Events(vec![std::sync::Arc::new(history)]), &seed.ctx());
    let retry = Link::Retrying { at: support::NOW + 4000, attempt: 1, error: "refused".into() };
    update(&mut s, Action::Link("db".into(), retry), &seed.ctx());
    act(&seed, &mut s, UserAction::SourceNext);
    assert_eq!(s.metrics.cur().name, "db");
    assert!(s.metrics.shown().is_none(), "no live sample from db");
    let top: String = {
        let t = draw(&s, 100, 10);
        let buf = t.backend().buffer().clone();
        (0..100).map(|x| buf[(x, 0)].symbol().to_string()).collect()
    };
    assert!(top.contains("not live: no sample yet"), "{top}");
}

/// B7: a refused token is named as such — in the status bar and the fleet
/// view — with the command that fixes it, not as "retry in 0s".
#[test]
fn fleet_with_a_refused_backend_100x30() {
    use opsdeck::app::Link;
    let seed = Seed::new();
    let mut s = with_dropped_backend(&seed);
    let error = "HTTP 401: the token was refused; set it with `opsdeck key set backend:db`, then reconnect";
    let refused = Link::Refused { at: support::NOW + 60_000, status: 401, error: error.into() };
    update(&mut s, Action::Link("db".into(), refused), &seed.ctx());
    act(&seed, &mut s, UserAction::Fleet);
    let t = draw(&s, 100, 30);
    let text: String = t.backend().buffer().content().iter().map(|c| c.symbol()).collect();
    assert!(text.contains("⊘ refused 401"), "fleet state");
    assert!(text.contains("opsdeck key set backend:db"), "the fix is on screen");
    insta::assert_snapshot!(t.backend());
}

/// A click lands on the row that was drawn there: every process row on
/// screen, hit-tested with the runtime's function, is that process.
#[test]
fn a_click_selects_the_row_drawn_under_it() {
    let seed = Seed::new();
    for (w, h) in [(80, 24), (160, 48), (100, 30)] {
        let mut s = seed.state();
        // The last process: small screens scroll the list to show it.
        act(&seed, &mut s, UserAction::Bottom);
        let term = draw(&s, w, h);
        let buf = term.backend().buffer();
        let screen = ratatui::layout::Rect::new(0, 0, w, h);
        let mut hits = 0;
        for y in 0..h {
            let Some((BoxId::Processes, Some(i))) = opsdeck::ui::hit_test(screen, &s, w - 20, y) else {
                continue;
            };
            let line: String = (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect();
            let pid = s.metrics.procs[i].pid.to_string();
            assert!(line.contains(&pid), "{w}x{h}: row {y} is item {i} (pid {pid}) but shows {line:?}");
            hits += 1;
        }
        assert!(hits >= 1, "{w}x{h}: some process row is on screen");
    }
}

/// A long notice over the status bar: the sources, the first key hints and
/// the labels keep their room, the notice is cut with `…`.
fn with_long_notice(seed: &Seed) -> AppState {
    let mut s = seed.state();
    s.warnings = vec!["config.toml:1:11: invalid duration".into()];
    s.start.interrupted = 2;
    s.start.workflows_key = "2".into();
    let long = "✗ the editor `code -w` was not found: no `code` on your PATH; set $EDITOR (or $VISUAL) to an installed editor, e.g. `export EDITOR=nano`, and restart opsdeck";
    s.notice = Some((s.now, long.into()));
    s
}

fn status_line(s: &AppState, w: u16) -> String {
    let t = draw(s, w, 6);
    let buf = t.backend().buffer();
    buf.content()[buf.area.width as usize * 5..].iter().map(|c| c.symbol()).collect()
}

#[test]
fn status_bar_long_notice_80x6() {
    let seed = Seed::new();
    insta::assert_snapshot!(draw(&with_long_notice(&seed), 80, 6).backend());
}

#[test]
fn status_bar_long_notice_200x6() {
    let seed = Seed::new();
    insta::assert_snapshot!(draw(&with_long_notice(&seed), 200, 6).backend());
}

/// At every width: the clock and the source are never covered, and a part
/// that does not fit whole ends with `…` (a bare cut would end mid-word).
#[test]
fn status_bar_parts_are_whole_or_cut_with_an_ellipsis_at_every_width() {
    let seed = Seed::new();
    let with_notice = with_long_notice(&seed);
    let mut after_it = with_long_notice(&seed);
    after_it.notice = after_it.notice.map(|(at, n)| (at - 6_000, n));
    for (s, w) in [&with_notice, &after_it].into_iter().flat_map(|s| (24..=220u16).map(move |w| (s, w))) {
        let line = status_line(s, w);
        let line = line.trim_end();
        assert!(line.ends_with("22:13"), "{w}: the clock: {line:?}");
        assert!(line.contains("● local live"), "{w}: the source: {line:?}");
        if w >= 40 {
            assert!(line.contains("? help"), "{w}: the first hint: {line:?}");
        }
        if w >= 200 && s.notice.as_ref().is_some_and(|(at, _)| *at < s.now) {
            assert!(line.contains("⏹ 2 runs interrupted — 2 to see them"), "{w}: labels in full: {line:?}");
        }
        let segs: Vec<&str> = line.split("  ").map(str::trim).filter(|x| !x.is_empty()).collect();
        let whole = [
            "⚠ 1 config problem (defaults in use)",
            "⚠ 1 config problem",
            "⚠ 1 config",
            "⏹ 2 runs interrupted — 2 to see them",
            "⏹ 2 runs interrupted",
            "⏹ 2 interrupted",
        ];
        for seg in segs {
            if seg.starts_with('⚠') || seg.starts_with('⏹') {
                assert!(whole.contains(&seg), "{w}: a label cut: {seg:?} in {line:?}");
            }
            if seg.starts_with("✗ the editor") {
                assert!(seg.ends_with('…') || seg.ends_with("restart opsdeck"), "{w}: {seg:?} in {line:?}");
            }
        }
    }
}
