//! Issue 9 A1: positions computed on a transformed string (lowercased, fuzzy
//! matched, cleaned) are never applied to the original, and text from outside
//! cannot break the layout. Through the real reducer and views on `TestBackend`.

mod support;

use support::{draw, key};

use opsdeck::app::overlay::Overlay;
use opsdeck::app::panes::tools::ToolsAction;
use opsdeck::app::{Action, AppState, BoxId, UserAction, update};
use opsdeck::protocol::tools::ToolInfo;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::style::Modifier;
use support::Seed;

/// `K` is U+212A KELVIN SIGN, `İ` is U+0130: lowercasing changes their byte
/// lengths (3 → 1 and 2 → 3) but not the line's.
const KELVIN_LINE: &str = "\u{212A}ab\u{130}\u{130}";

fn text(seed: &Seed, s: &mut AppState, t: &str) {
    for c in t.chars() {
        key(seed, s, KeyCode::Char(c));
    }
}

/// The tools pane showing a run of `file_search` whose output is `lines`.
fn run_with_output(seed: &Seed, lines: &[&str]) -> AppState {
    let mut s = seed.tools_state();
    text(seed, &mut s, "/file_search");
    key(seed, &mut s, KeyCode::Enter);
    key(seed, &mut s, KeyCode::Enter);
    key(seed, &mut s, KeyCode::Enter);
    text(seed, &mut s, "x");
    key(seed, &mut s, KeyCode::Enter);
    text(seed, &mut s, "r");
    let run = s.tools.shown.expect("a run");
    let lines = lines.iter().map(|l| l.to_string()).collect();
    update(&mut s, Action::Tools(ToolsAction::Output { run, lines }), &seed.ctx());
    update(&mut s, Action::User(UserAction::FocusNext), &seed.ctx());
    assert_eq!(s.focus, BoxId::ToolOutput);
    s
}

/// Row `y` of the buffer as text (the cell a wide char covers is skipped),
/// and the cells whose style has `m`.
fn row(buf: &Buffer, y: u16) -> String {
    let mut out = String::new();
    let mut x = 0;
    while x < buf.area.width {
        let sym = buf[(x, y)].symbol();
        out.push_str(sym);
        x += opsdeck::text::width(sym).max(1) as u16;
    }
    out
}

fn marked_in_row(buf: &Buffer, y: u16, m: Modifier) -> String {
    (0..buf.area.width).filter(|x| buf[(*x, y)].modifier.contains(m)).map(|x| buf[(x, y)].symbol()).collect()
}

fn find_row(buf: &Buffer, needle: &str) -> Option<u16> {
    (0..buf.area.height).find(|y| row(buf, *y).contains(needle))
}

#[test]
fn offsets_from_a_lowercased_string_never_split_a_char_in_the_output_search() {
    let seed = Seed::new();
    let mut s = run_with_output(&seed, &["first line", KELVIN_LINE, "another ab line"]);
    text(&seed, &mut s, "/a");
    key(&seed, &mut s, KeyCode::Enter);
    assert_eq!(s.tools.matches.len(), 2, "the Kelvin line and the last one");
    text(&seed, &mut s, "n");
    text(&seed, &mut s, "N");
    let t = draw(&s, 120, 30);
    let buf = t.backend().buffer();
    let y = find_row(buf, KELVIN_LINE).expect("the line is shown whole");
    assert_eq!(marked_in_row(buf, y, Modifier::REVERSED), "a", "the current hit is the `a`, and only it");
    insta::assert_snapshot!(t.backend());

    // Folding maps K to k and İ to i: those hits are whole chars too.
    for (q, hit) in [("k", "\u{212A}"), ("İ", "\u{130}\u{130}"), ("bi", "b\u{130}")] {
        s.tools.search = None;
        text(&seed, &mut s, "/");
        text(&seed, &mut s, q);
        key(&seed, &mut s, KeyCode::Enter);
        let t = draw(&s, 120, 30);
        let buf = t.backend().buffer();
        let y = find_row(buf, KELVIN_LINE).expect("shown");
        let marked = marked_in_row(buf, y, Modifier::REVERSED) + &marked_in_row(buf, y, Modifier::UNDERLINED);
        assert_eq!(marked, hit, "query {q:?}");
    }
}

#[test]
fn case_insensitive_filters_find_text_whose_lowercase_changes_length() {
    // `İzmir`.to_lowercase() is `i̇zmir` (i + U+0307): a lowercased copy
    // does not contain `izmir`.
    use opsdeck::app::panes::tools::runs::search;
    assert_eq!(search(&["backup to İZMİR done", "other"], "izmir"), vec![0], "tool output search");

    let seed = Seed::new();
    let mut s = seed.state();
    if let Some(src) = s.metrics.sources.first_mut()
        && let Some(h) = src.latest.as_mut()
    {
        h.procs[2].name = "İzmir-sync".into();
    }
    s.focus = BoxId::Processes;
    update(&mut s, Action::User(UserAction::Filter), &seed.ctx());
    update(&mut s, Action::Paste("izmir".into()), &seed.ctx());
    assert_eq!(
        s.metrics.procs.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        vec!["İzmir-sync"],
        "process filter"
    );

    let a = seed.alerts_state();
    let mut alert = a.alerts.sources.values().flat_map(|u| u.alerts.iter()).next().cloned().expect("an alert");
    alert.summary = "Disk full in İzmir".into();
    assert!(opsdeck::app::panes::alerts::passes(&alert, "izmir"), "alert filter");

    let keymap = seed.keymap.clone();
    let mut o = Overlay::help(&keymap, opsdeck::app::KeyContext::Global);
    if let Overlay::Help(h) = &mut o {
        h.all[0].desc = "Bascule İZMİR".into();
    }
    o.paste("izmir", &keymap);
    let Overlay::Help(h) = &o else { unreachable!() };
    assert_eq!(h.shown, vec![0], "help filter");
}

fn tool(name: &str, description: &str) -> ToolInfo {
    ToolInfo {
        name: name.into(),
        description: description.into(),
        schema: serde_json::json!({"type": "object"}),
        mutating: false,
        source: "srv".into(),
    }
}

#[test]
fn fuzzy_hits_mark_the_matched_chars_of_non_ascii_names() {
    // nucleo counts grapheme clusters (or bytes, when every cluster starts
    // with an ASCII char); the view counts chars.
    for name in ["e\u{308}_cho", "👩‍👩‍👧_cho", "\u{212A}\u{130}_cho"] {
        let seed = Seed::new();
        let mut s = seed.tools_state();
        update(&mut s, Action::Tools(ToolsAction::Catalog(vec![tool(name, "d")])), &seed.ctx());
        text(&seed, &mut s, "/cho");
        let t = draw(&s, 160, 40);
        let buf = t.backend().buffer();
        let y = (0..buf.area.height)
            .find(|y| row(buf, *y).contains("▸") && row(buf, *y).contains("_cho"))
            .unwrap_or_else(|| panic!("{name} is listed"));
        assert_eq!(marked_in_row(buf, y, Modifier::UNDERLINED), "cho", "{name}");
    }
}

#[test]
fn a_long_notice_is_cut_and_the_clock_stays() {
    let seed = Seed::new();
    let mut s = seed.state();
    s.notice = Some((s.now, format!("exported to /tmp/{}", "very-long-name-".repeat(20))));
    let t = draw(&s, 100, 30);
    let bar = row(t.backend().buffer(), 29);
    assert!(bar.trim_end().ends_with("22:13"), "the clock is shown: {bar:?}");
    assert!(bar.contains("exported to") && bar.contains('…'), "the notice is cut with an ellipsis: {bar:?}");
}

#[test]
fn names_cut_by_a_table_end_in_an_ellipsis() {
    let seed = Seed::new();
    let mut s = seed.state();
    if let Some(src) = s.metrics.sources.first_mut()
        && let Some(h) = src.latest.as_mut()
    {
        h.procs[0].name = "数据库服务进程名称很长很长很长很长很长很长很长很长".into();
        h.procs[0].cpu = 99.0;
        h.procs[1].name = "kworker/u16:3-events_unbound-and-a-very-long-tail-of-text".into();
        h.procs[1].cpu = 98.0;
    }
    s.metrics.rebuild_procs();
    let t = draw(&s, 160, 48);
    let buf = t.backend().buffer();
    let y = find_row(buf, "数据").expect("the wide name is shown");
    let line = row(buf, y);
    let cut = line.split("数据").nth(1).and_then(|r| r.split('…').next()).expect("cut with an ellipsis");
    assert!(
        !cut.contains(' ') && cut.chars().all(|c| "库服务进程名称很长".contains(c)),
        "cut between wide chars: {line:?}"
    );
    let y = find_row(buf, "kworker").expect("shown");
    assert!(row(buf, y).contains("kworker/u16:3-events") && row(buf, y).contains('…'), "{:?}", row(buf, y));
}

#[test]
fn tabs_and_controls_in_tool_output_stay_visible() {
    let seed = Seed::new();
    let s = run_with_output(&seed, &["pid\tname", "nul\0esc\x1b[31mred\x1b[0m", "\u{202E}evil"]);
    let t = draw(&s, 120, 30);
    let buf = t.backend().buffer();
    assert!(find_row(buf, "pid     name").is_some(), "a tab is spaces to the next stop");
    assert!(find_row(buf, "nul␀esc␛[31mred␛[0m").is_some(), "NUL and ESC are shown as symbols");
    assert!(find_row(buf, "┃evil").is_some(), "a bidi override is dropped");
}
