//! Reducer tests of process actions: details, signals, tree, user filter.

use crate::protocol::HostCommand;
use ratatui::crossterm::event::KeyCode;

use super::tests::{Fixture, local_event};
use super::*;
use crate::protocol::{Command, Event, HostSnapshot, ProcInfo};

fn proc(pid: u32, ppid: Option<u32>, name: &str, user: &str, cpu: f32) -> ProcInfo {
    ProcInfo { pid, ppid, name: name.into(), user: user.into(), cpu, status: "Sleeping".into(), ..Default::default() }
}

fn with_procs(f: &Fixture) -> AppState {
    let mut s = f.state();
    let snap = HostSnapshot {
        ts: f.now,
        procs: vec![
            proc(1, None, "init", "root", 0.1),
            proc(200, Some(1), "postgres", "postgres", 30.0),
            proc(201, Some(200), "pg-worker", "postgres", 20.0),
            proc(300, Some(1), "nginx", "www", 5.0),
        ],
        ..Default::default()
    };
    update(&mut s, Action::Events(vec![local_event(f.now, Event::HostSample(Box::new(snap)))]), &f.ctx());
    s
}

fn pids(s: &AppState) -> Vec<u32> {
    s.metrics.procs.iter().map(|p| p.pid).collect()
}

#[test]
fn enter_on_a_process_shows_its_details_from_its_host() {
    let f = Fixture::new();
    let mut s = with_procs(&f);
    assert_eq!(s.focus, BoxId::Processes);
    let effects = f.key(&mut s, KeyCode::Enter);
    let Some(Effect::Command { source, id, command }) = effects.first() else { panic!("{effects:?}") };
    assert_eq!((source.as_str(), command), (LOCAL_SOURCE, &Command::Host(HostCommand::ProcessDetails { pid: 200 })));
    let answer = serde_json::json!({"pid": 200, "name": "postgres", "cmd": "postgres -D /data", "user": "postgres",
        "started": 1_700_000_000, "threads": 7, "open_files": 42, "cgroup": "/system.slice/postgresql.service",
        "status": "Sleeping", "parent": 1, "memory": 10_485_760});
    let done = Action::CommandDone { source: LOCAL_SOURCE.into(), id: id.clone(), result: Ok(answer) };
    update(&mut s, done, &f.ctx());
    let Some(Overlay::Message(m)) = &s.overlay else { panic!("{:?}", s.overlay) };
    assert_eq!(m.title, "Process 200 postgres on local");
    for want in ["postgres -D /data", "threads    7", "open files 42", "postgresql.service", "10.0 MiB", "2023-11-14"] {
        assert!(m.lines.iter().any(|l| l.contains(want)), "{want} in {:?}", m.lines);
    }
    // A process that ended meanwhile: said, no popup.
    s.overlay = None;
    let effects = f.key(&mut s, KeyCode::Enter);
    let Some(Effect::Command { id, .. }) = effects.first() else { panic!() };
    let gone =
        Action::CommandDone { source: LOCAL_SOURCE.into(), id: id.clone(), result: Err("process 200 is gone".into()) };
    update(&mut s, gone, &f.ctx());
    assert!(s.overlay.is_none());
    assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains("is gone")));
}

#[test]
fn a_signal_is_chosen_then_confirmed_and_refused_read_only() {
    let f = Fixture::new();
    let mut s = with_procs(&f);
    f.key(&mut s, KeyCode::Char('j'));
    let effects = f.key(&mut s, KeyCode::Char('K'));
    assert!(effects.is_empty());
    let Some(Overlay::Signal(p)) = &s.overlay else { panic!("{:?}", s.overlay) };
    assert_eq!((p.pid, p.selected, p.confirming), (201, 0, false), "TERM first");
    f.key(&mut s, KeyCode::Char('j'));
    let effects = f.key(&mut s, KeyCode::Enter);
    assert!(effects.is_empty(), "Enter chooses; nothing is sent before the question is answered");
    f.key(&mut s, KeyCode::Esc);
    assert!(matches!(&s.overlay, Some(Overlay::Signal(p)) if !p.confirming), "Esc goes back to the list");
    f.key(&mut s, KeyCode::Enter);
    let effects = f.key(&mut s, KeyCode::Char('y'));
    let Some(Effect::Command { command, .. }) = effects.first() else { panic!("{effects:?}") };
    assert_eq!(command, &Command::Host(HostCommand::Signal { pid: 201, signal: "KILL".into() }));
    assert!(s.overlay.is_none());

    s.read_only = true;
    let effects = f.key(&mut s, KeyCode::Char('K'));
    assert!(effects.is_empty() && s.overlay.is_none());
    assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains("read-only")), "{:?}", s.notice);
}

#[test]
fn the_tree_puts_children_under_parents_and_u_keeps_one_user() {
    let f = Fixture::new();
    let mut s = with_procs(&f);
    assert_eq!(pids(&s), vec![200, 201, 300, 1], "by CPU");
    f.key(&mut s, KeyCode::Char('t'));
    assert_eq!(pids(&s), vec![1, 200, 201, 300], "parents first, children in CPU order");
    assert_eq!(s.metrics.guides, vec!["", "├─", "│ └─", "└─"]);
    f.key(&mut s, KeyCode::Char('t'));
    assert_eq!(pids(&s), vec![200, 201, 300, 1]);
    // u on postgres: only postgres's processes; Esc brings everything back.
    f.key(&mut s, KeyCode::Char('u'));
    assert_eq!(pids(&s), vec![200, 201]);
    assert_eq!(s.metrics.filter.text(), "user:postgres");
    // Narrowed by name with `/`: the user term stays a user term, either side.
    f.key(&mut s, KeyCode::Char('/'));
    f.chars(&mut s, " worker");
    assert_eq!(pids(&s), vec![201], "{:?}", s.metrics.filter.text());
    f.key(&mut s, KeyCode::Enter);
    s.metrics.filter = crate::app::input::LineInput::new("");
    s.metrics.filter.paste("nginx user:www");
    s.metrics.rebuild_procs();
    assert_eq!(pids(&s), vec![300]);
    f.key(&mut s, KeyCode::Esc);
    assert_eq!(pids(&s).len(), 4);
}

#[test]
fn process_actions_are_not_queued_for_a_backend_that_is_down() {
    let f = Fixture::new();
    let mut s = with_procs(&f);
    s.metrics.sources[0].name = "db1".into();
    s.sources.push(crate::app::SourceStatus {
        name: "db1".into(),
        last_event: Some(1),
        link: crate::app::Link::Retrying { at: 5, attempt: 2, error: "refused".into() },
        offline_since: Some(1),
        queued: 0,
        on_change: false,
    });
    let effects = f.key(&mut s, KeyCode::Enter);
    assert!(effects.is_empty(), "{effects:?}");
    assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains("db1 is offline")), "{:?}", s.notice);
    f.key(&mut s, KeyCode::Char('K'));
    f.key(&mut s, KeyCode::Enter);
    let effects = f.key(&mut s, KeyCode::Char('y'));
    assert!(effects.is_empty(), "{effects:?}");
    assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains("not queued")), "{:?}", s.notice);
    // Connected again: sent.
    s.sources[1].link = crate::app::Link::Connected;
    let effects = f.key(&mut s, KeyCode::Enter);
    assert!(matches!(effects.first(), Some(Effect::Command { source, .. }) if source == "db1"), "{effects:?}");
}
