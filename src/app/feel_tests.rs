//! Reducer tests of the mechanisms every pane shares: Esc, lists, the
//! palette and help, mouse clicks, hints that follow the mode.

use ratatui::crossterm::event::KeyCode;

use super::panes::tools::ToolsAction;
use super::panes::tools::popup::ToolsPopup;
use super::tests::{Fixture, sample};
use super::*;
use crate::protocol::tools::ToolInfo;

fn tool(name: &str) -> ToolInfo {
    let schema = serde_json::json!({"type": "object", "properties": {"host": {"type": "string"}}});
    ToolInfo {
        name: name.into(),
        description: format!("{name} tool"),
        schema,
        mutating: false,
        source: "builtin".into(),
    }
}

/// A state with processes, a tool catalog and a second source.
fn busy(f: &Fixture) -> AppState {
    let mut s = f.state();
    update(&mut s, Action::Events(vec![sample(f.now)]), &f.ctx());
    update(&mut s, Action::Tools(ToolsAction::Catalog(vec![tool("tcp_check"), tool("data_query")])), &f.ctx());
    s.add_backend("lab");
    s
}

fn hint_words(s: &AppState) -> Vec<(String, String)> {
    s.hints.clone()
}

#[test]
fn esc_pops_one_level_everywhere() {
    let f = Fixture::new();
    // (keys before Esc, what must hold after one Esc)
    type Check = fn(&AppState) -> bool;
    let cases: [(&str, &str, Check); 6] = [
        ("process filter kept after Enter", "/ngi\n", |s| !s.metrics.has_filter() && s.metrics.procs.len() == 4),
        ("zoomed chart", "z", |s| !s.zoomed && s.focus == BoxId::Processes),
        ("a tool's form", "3\n", |s| s.focus == BoxId::ToolList && !s.tools.capturing()),
        ("the tool output", "3\t\t", |s| s.focus == BoxId::ToolList),
        ("an alert's detail", "5\t", |s| s.focus == BoxId::AlertList),
        ("the CPU chart", "\t", |s| s.focus == BoxId::Processes),
    ];
    for (what, keys, check) in cases {
        let mut s = busy(&f);
        for c in keys.chars() {
            let code = match c {
                '\n' => KeyCode::Enter,
                '\t' => KeyCode::Tab,
                c => KeyCode::Char(c),
            };
            f.key(&mut s, code);
        }
        f.key(&mut s, KeyCode::Esc);
        assert!(check(&s), "Esc from {what}: focus {:?}, zoomed {}", s.focus, s.zoomed);
    }
    // At the bottom of the stack Esc does nothing.
    let mut s = busy(&f);
    s.dirty = false;
    f.key(&mut s, KeyCode::Esc);
    assert_eq!((s.focus, s.dirty), (BoxId::Processes, false));
}

#[test]
fn every_list_popup_moves_with_vim_keys() {
    let f = Fixture::new();
    let mut s = busy(&f);
    f.key(&mut s, KeyCode::Char('F'));
    let sel = |s: &AppState| match &s.overlay {
        Some(Overlay::Fleet { selected }) => *selected,
        Some(Overlay::Tools(p)) => match &**p {
            ToolsPopup::Export { selected, .. } => *selected,
            _ => usize::MAX,
        },
        _ => usize::MAX,
    };
    assert_eq!(sel(&s), 0, "the fleet view opens on the shown source");
    f.key(&mut s, KeyCode::Char('j'));
    assert_eq!(sel(&s), 1, "j moves down (it used to be ignored, so j Enter picked the first)");
    f.key(&mut s, KeyCode::Char('k'));
    assert_eq!(sel(&s), 0);
    f.key(&mut s, KeyCode::Char('G'));
    assert_eq!(sel(&s), 1);
    f.chars(&mut s, "gg");
    assert_eq!(sel(&s), 0);
    f.key(&mut s, KeyCode::End);
    assert_eq!(sel(&s), 1);
    f.key(&mut s, KeyCode::Char('j'));
    f.key(&mut s, KeyCode::Enter);
    assert_eq!((s.overlay.is_none(), s.metrics.current), (true, 1), "Enter picks the selected one");

    s.overlay = Some(Overlay::Tools(Box::new(ToolsPopup::Export { run: 1, selected: 0 })));
    f.key(&mut s, KeyCode::Char('j'));
    assert_eq!(sel(&s), 1);
    f.key(&mut s, KeyCode::Char('G'));
    assert_eq!(sel(&s), 2, "three formats");
    f.key(&mut s, KeyCode::Home);
    assert_eq!(sel(&s), 0);
}

#[test]
fn the_palette_offers_what_applies_here_best_match_first() {
    let f = Fixture::new();
    let mut s = busy(&f);
    let offered = |s: &AppState| match &s.overlay {
        Some(Overlay::Palette(p)) => p.matches.iter().map(|(i, _)| p.items[*i].action).collect::<Vec<_>>(),
        _ => Vec::new(),
    };
    f.key(&mut s, KeyCode::Char(':'));
    let all = offered(&s);
    assert!(all.contains(&UserAction::SortCpu) && all.contains(&UserAction::Quit));
    assert!(!all.contains(&UserAction::RunTool), "a tools action is not offered on the metrics pane");
    assert!(!all.contains(&UserAction::Reconnect), "nothing to reconnect while the local engine is shown");
    assert!(!all.contains(&UserAction::Down), "motions are keys, not commands");
    f.chars(&mut s, "reload");
    assert_eq!(offered(&s).first(), Some(&UserAction::Reload), ":reload offers reload first");
    f.chars(&mut s, "zzz");
    assert!(offered(&s).is_empty(), "the popup says no action matches");
    f.key(&mut s, KeyCode::Esc);

    f.key(&mut s, KeyCode::Char('3'));
    f.key(&mut s, KeyCode::Char(':'));
    let tools = offered(&s);
    assert!(tools.contains(&UserAction::RunTool) && !tools.contains(&UserAction::SortCpu));
    assert!(!tools.contains(&UserAction::CancelRun), "nothing is running");
    f.key(&mut s, KeyCode::Esc);

    s.read_only = true;
    f.key(&mut s, KeyCode::Char('1'));
    f.key(&mut s, KeyCode::Char(':'));
    assert!(!offered(&s).contains(&UserAction::Annotate), "read-only: nothing that changes state");
}

#[test]
fn help_ranks_action_names_and_enter_runs_the_row() {
    let f = Fixture::new();
    let mut s = busy(&f);
    f.key(&mut s, KeyCode::Char('?'));
    f.chars(&mut s, "ack");
    let Some(Overlay::Help(h)) = &s.overlay else { panic!("help is open") };
    assert_eq!(h.all[h.shown[0]].action, "acknowledge", "a name match ranks above a description match");
    f.key(&mut s, KeyCode::Esc);

    f.key(&mut s, KeyCode::Char('?'));
    f.chars(&mut s, "zoom_toggle");
    f.key(&mut s, KeyCode::Enter);
    assert!(s.overlay.is_none() && s.zoomed, "Enter on a row of help runs its action");
}

#[test]
fn a_click_on_a_row_selects_it() {
    let f = Fixture::new();
    let mut s = busy(&f);
    update(&mut s, Action::Mouse(MouseInput::Click(BoxId::Processes, Some(2))), &f.ctx());
    assert_eq!(s.metrics.selected, 2);
    update(&mut s, Action::Mouse(MouseInput::Click(BoxId::Processes, Some(99))), &f.ctx());
    assert_eq!(s.metrics.selected, 2, "a row past the end selects nothing");
    update(&mut s, Action::Mouse(MouseInput::Click(BoxId::Cpu, None)), &f.ctx());
    assert_eq!(s.focus, BoxId::Cpu, "a click on a chart focuses it");
    f.key(&mut s, KeyCode::Char('3'));
    update(&mut s, Action::Mouse(MouseInput::Click(BoxId::ToolList, Some(1))), &f.ctx());
    assert_eq!((s.focus, s.tools.list_sel), (BoxId::ToolList, 1));
}

#[test]
fn hints_follow_the_mode() {
    let f = Fixture::new();
    let mut s = busy(&f);
    let has = |s: &AppState, k: &str, d: &str| hint_words(s).iter().any(|(a, b)| a == k && b == d);
    assert!(has(&s, "q", "quit"));
    f.key(&mut s, KeyCode::Char('/'));
    assert_eq!(
        hint_words(&s),
        vec![("Enter".to_string(), "keep".to_string()), ("Esc".to_string(), "clear".to_string())],
        "while the filter takes keys, how to leave it (not q quit)"
    );
    f.key(&mut s, KeyCode::Esc);
    f.key(&mut s, KeyCode::Char('f'));
    assert!(has(&s, "f", "unfreeze") && !has(&s, "f", "freeze"));
    f.key(&mut s, KeyCode::Char('z'));
    assert!(has(&s, "Esc", "unzoom"));
    f.key(&mut s, KeyCode::Esc);
    assert!(!has(&s, "Esc", "unzoom"));
}
