//! Reducer tests: state and returned effects, no runtime.

use crate::protocol::MetricsCommand;
use std::sync::Arc;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::config::settings::{SortKey, Window};
use crate::protocol::{Envelope, Event, HostSnapshot, ProcInfo, Topic};

pub(super) struct Fixture {
    keymap: Keymap,
    config: Config,
    pub(super) now: Ts,
}

impl Fixture {
    pub(super) fn new() -> Self {
        Fixture { keymap: Keymap::fallback(), config: Config::default(), now: 1_700_000_000_000 }
    }
    pub(super) fn ctx(&self) -> Ctx<'_> {
        Ctx { now: self.now, keymap: &self.keymap, config: &self.config }
    }
    pub(super) fn state(&self) -> AppState {
        AppState::new(&self.ctx())
    }
    pub(super) fn key(&self, s: &mut AppState, code: KeyCode) -> Vec<Effect> {
        update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)), &self.ctx())
    }
    pub(super) fn chars(&self, s: &mut AppState, text: &str) {
        for c in text.chars() {
            self.key(s, KeyCode::Char(c));
        }
    }
}

fn proc(pid: u32, name: &str, cpu: f32, mem: u64) -> ProcInfo {
    ProcInfo {
        pid,
        name: name.into(),
        cmd: format!("/usr/bin/{name} --flag"),
        cpu,
        mem,
        status: "Sleeping".into(),
        ..Default::default()
    }
}

/// An event of the local engine's metrics topic at `ts`.
pub(super) fn local_event(ts: Ts, event: Event) -> Arc<Envelope> {
    Arc::new(Envelope { epoch: 1, seq: 1, ts, source: LOCAL_SOURCE.into(), topic: Topic::Metrics, event })
}

pub(super) fn sample(ts: Ts) -> Arc<Envelope> {
    let snap = HostSnapshot {
        ts,
        hostname: "host".into(),
        cpu_total: 42.0,
        cpu_cores: vec![40.0, 44.0],
        mem_total: 100,
        mem_used: 50,
        procs: vec![
            proc(1, "init", 0.1, 10),
            proc(200, "postgres", 30.0, 40),
            proc(300, "nginx", 5.0, 80),
            proc(42, "sshd", 1.0, 5),
        ],
        ..Default::default()
    };
    local_event(ts, Event::HostSample(Box::new(snap)))
}

fn names(s: &AppState) -> Vec<&str> {
    s.metrics.procs.iter().map(|p| p.name.as_str()).collect()
}

#[test]
fn quit_and_suspend_are_effects() {
    let f = Fixture::new();
    let mut s = f.state();
    assert_eq!(f.key(&mut s, KeyCode::Char('q')), vec![Effect::Quit]);
    let e = update(&mut s, Action::Key(KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL)), &f.ctx());
    assert_eq!(e, vec![Effect::Suspend]);
}

#[test]
fn tab_cycles_focus_and_number_key_returns() {
    let f = Fixture::new();
    let mut s = f.state();
    assert_eq!(s.focus, BoxId::Processes, "a btop/htop user's first j/k moves the process list");
    f.key(&mut s, KeyCode::Tab);
    assert_eq!(s.focus, BoxId::Cpu, "wraps forwards");
    f.key(&mut s, KeyCode::Tab);
    assert_eq!(s.focus, BoxId::Memory);
    f.key(&mut s, KeyCode::BackTab);
    f.key(&mut s, KeyCode::BackTab);
    assert_eq!(s.focus, BoxId::Processes, "wraps backwards");
    f.key(&mut s, KeyCode::Char('1'));
    assert_eq!(s.focus, BoxId::Processes, "the pane's number again: where it starts");
}

#[test]
fn every_pane_remembers_its_focused_box() {
    let f = Fixture::new();
    let mut s = f.state();
    f.key(&mut s, KeyCode::Tab);
    assert_eq!(s.focus, BoxId::Cpu);
    f.key(&mut s, KeyCode::Char('3'));
    assert_eq!(s.focus, BoxId::ToolList, "a pane shown the first time starts on its first box");
    f.key(&mut s, KeyCode::Tab);
    f.key(&mut s, KeyCode::Tab);
    assert_eq!(s.focus, BoxId::ToolOutput);
    f.key(&mut s, KeyCode::Char('5'));
    f.key(&mut s, KeyCode::Tab);
    assert_eq!(s.focus, BoxId::AlertDetail);
    for (key, back) in [('1', BoxId::Cpu), ('3', BoxId::ToolOutput), ('5', BoxId::AlertDetail)] {
        f.key(&mut s, KeyCode::Char(key));
        assert_eq!(s.focus, back, "pane {key} comes back where it was left");
    }
}

#[test]
fn mouse_click_focuses_and_zoom_toggles() {
    let f = Fixture::new();
    let mut s = f.state();
    update(&mut s, Action::Mouse(MouseInput::Click(BoxId::Disks, None)), &f.ctx());
    assert_eq!(s.focus, BoxId::Disks);
    f.key(&mut s, KeyCode::Char('z'));
    assert!(s.zoomed);
    f.key(&mut s, KeyCode::Esc);
    assert!(!s.zoomed, "Esc leaves zoom");
}

#[test]
fn samples_sort_by_cpu_then_memory_and_keep_selection() {
    let f = Fixture::new();
    let mut s = f.state();
    update(&mut s, Action::Events(vec![sample(f.now)]), &f.ctx());
    assert_eq!(names(&s), vec!["postgres", "nginx", "sshd", "init"]);
    s.focus = BoxId::Processes;
    f.key(&mut s, KeyCode::Down);
    assert_eq!(s.metrics.selected_pid, Some(300));
    let e = f.key(&mut s, KeyCode::Char('M'));
    assert_eq!(names(&s), vec!["nginx", "postgres", "init", "sshd"]);
    assert_eq!(s.metrics.procs[s.metrics.selected].pid, 300, "selection follows the pid");
    assert_eq!(e, vec![s.metrics.save_prefs()]);
    assert!(
        matches!(&e[0], Effect::SaveUi { key, value } if key == "metrics.prefs" && value.contains(r#""sort":"memory","sort_desc":true"#))
    );
    f.key(&mut s, KeyCode::Char('M'));
    assert_eq!(names(&s)[0], "sshd", "same key again reverses");
    f.key(&mut s, KeyCode::Char('n'));
    assert_eq!(s.metrics.sort, SortKey::Name);
    assert_eq!(names(&s), vec!["init", "nginx", "postgres", "sshd"]);
}

#[test]
fn filter_takes_printable_keys_first_and_esc_clears() {
    let f = Fixture::new();
    let mut s = f.state();
    update(&mut s, Action::Events(vec![sample(f.now)]), &f.ctx());
    f.key(&mut s, KeyCode::Char('/'));
    assert!(s.metrics.filter_editing);
    f.chars(&mut s, "ngi");
    assert_eq!(names(&s), vec!["nginx"], "q/j/k-like letters typed into the filter, not run");
    f.chars(&mut s, "q");
    assert_eq!(s.metrics.filter.text(), "ngiq", "q is text while filtering");
    f.key(&mut s, KeyCode::Backspace);
    f.key(&mut s, KeyCode::Enter);
    assert!(!s.metrics.filter_editing);
    assert_eq!(names(&s), vec!["nginx"], "filter stays after Enter");
    f.key(&mut s, KeyCode::Esc);
    assert_eq!(s.metrics.procs.len(), 4, "Esc clears the filter");
    f.key(&mut s, KeyCode::Char('/'));
    f.chars(&mut s, "200");
    assert_eq!(names(&s), vec!["postgres"], "a pid matches exactly");
}

#[test]
fn window_steps_and_freeze_holds_the_snapshot() {
    let f = Fixture::new();
    let mut s = f.state();
    assert_eq!(s.metrics.window, Window::M5);
    let e = f.key(&mut s, KeyCode::Char(']'));
    assert_eq!(s.metrics.window, Window::M15);
    assert!(
        matches!(&e[..], [Effect::SaveUi { key, value }] if key == "metrics.prefs" && value.contains(r#""window":"15m""#)),
        "{e:?}"
    );
    f.key(&mut s, KeyCode::Char('['));
    f.key(&mut s, KeyCode::Char('['));
    f.key(&mut s, KeyCode::Char('['));
    assert_eq!(s.metrics.window, Window::M1, "clamped at the shortest");

    update(&mut s, Action::Events(vec![sample(f.now)]), &f.ctx());
    f.key(&mut s, KeyCode::Char('f'));
    assert_eq!(s.metrics.chart_end(), Some(f.now));
    update(&mut s, Action::Events(vec![sample(f.now + 5000)]), &f.ctx());
    assert_eq!(s.metrics.chart_end(), Some(f.now), "frozen charts do not move");
    assert_eq!(s.metrics.cur().series.latest("cpu.total"), 42.0, "but data keeps being recorded");
    f.key(&mut s, KeyCode::Char('f'));
    assert_eq!(s.metrics.chart_end(), Some(f.now + 5000));
}

#[test]
fn help_lists_keys_from_the_keymap_and_filters() {
    let f = Fixture::new();
    let mut s = f.state();
    f.key(&mut s, KeyCode::Char('?'));
    let Some(Overlay::Help(h)) = &s.overlay else { panic!("help not open") };
    assert!(h.all.iter().any(|r| r.action == "quit" && r.keys == "q"));
    assert_eq!(h.all[0].context, "metrics", "focused context first");
    f.chars(&mut s, "freeze");
    let Some(Overlay::Help(h)) = &s.overlay else { panic!("help closed by typing") };
    assert!(!h.shown.is_empty());
    assert!(
        h.shown.iter().all(|i| h.all[*i].action.contains("freeze") || h.all[*i].desc.to_lowercase().contains("freeze"))
    );
    f.key(&mut s, KeyCode::Esc);
    assert!(s.overlay.is_none());
}

#[test]
fn palette_fuzzy_matches_and_runs_the_action() {
    let f = Fixture::new();
    let mut s = f.state();
    f.key(&mut s, KeyCode::Char(':'));
    f.chars(&mut s, "zmtg");
    let Some(Overlay::Palette(p)) = &s.overlay else { panic!("palette not open") };
    assert_eq!(p.items[p.matches[0].0].action, UserAction::ZoomToggle, "fuzzy: z-m-t-g in zoom_toggle");
    assert!(!p.matches[0].1.is_empty(), "match positions for highlighting");
    f.key(&mut s, KeyCode::Enter);
    assert!(s.overlay.is_none());
    assert!(s.zoomed, "the chosen action ran");
    f.key(&mut s, KeyCode::Char(':'));
    f.chars(&mut s, "quit");
    assert_eq!(f.key(&mut s, KeyCode::Enter), vec![Effect::Quit]);
}

#[test]
fn chords_wait_then_match_or_reset() {
    let f = Fixture::new();
    let mut s = f.state();
    update(&mut s, Action::Events(vec![sample(f.now)]), &f.ctx());
    s.focus = BoxId::Processes;
    f.key(&mut s, KeyCode::Char('G'));
    assert_eq!(s.metrics.selected, 3);
    f.key(&mut s, KeyCode::Char('g'));
    assert_eq!(s.pending.len(), 1, "g waits for the second key");
    f.key(&mut s, KeyCode::Char('g'));
    assert!(s.pending.is_empty());
    assert_eq!(s.metrics.selected, 0, "g g jumps to the top");
    f.key(&mut s, KeyCode::Char('g'));
    f.key(&mut s, KeyCode::Char('x'));
    assert!(s.pending.is_empty(), "an unbound continuation resets the chord");
}

#[test]
fn unbound_keys_do_not_repaint_and_ticks_repaint_on_the_minute() {
    let f = Fixture::new();
    let mut s = f.state();
    s.dirty = false;
    f.key(&mut s, KeyCode::F(12));
    assert!(!s.dirty);
    let mut f2 = Fixture::new();
    f2.now = f.now - f.now.rem_euclid(60_000) + 59_000;
    let mut s2 = f2.state();
    s2.dirty = false;
    update(&mut s2, Action::Tick, &f2.ctx());
    assert!(!s2.dirty, "same minute: nothing to paint");
    f2.now += 2000;
    update(&mut s2, Action::Tick, &f2.ctx());
    assert!(s2.dirty, "the clock changed");
}

#[test]
fn message_popup_closes_and_hints_follow_the_keymap() {
    let f = Fixture::new();
    let mut s = f.state();
    assert!(s.hints.iter().any(|(k, d)| k == "?" && d == "help"));
    s.overlay = Some(Overlay::message("Problems", vec!["x".into()]));
    f.key(&mut s, KeyCode::Enter);
    assert!(s.overlay.is_none());
    // Any other key closes it too and does what it does (lifecycle_tests).
    s.overlay = Some(Overlay::message("Problems", vec!["x".into()]));
    f.key(&mut s, KeyCode::Char('j'));
    assert!(s.overlay.is_none(), "a message takes no keys of its own");
}

#[test]
fn history_snapshot_fills_the_charts() {
    let f = Fixture::new();
    let mut s = f.state();
    let step = 1000;
    let start = f.now / step - 10;
    let snap = crate::protocol::SeriesSnapshot {
        tiers: vec![crate::protocol::TierSnapshot {
            step_ms: step,
            start_slot: start,
            columns: vec![("cpu.total".into(), vec![7.0; 10])],
        }],
    };
    let env = Envelope {
        epoch: 1,
        seq: 0,
        ts: f.now,
        source: LOCAL_SOURCE.into(),
        topic: Topic::Metrics,
        event: Event::MetricsHistory(Box::new(snap)),
    };
    update(&mut s, Action::Events(vec![Arc::new(env)]), &f.ctx());
    assert_eq!(s.metrics.cur().series.latest("cpu.total"), 7.0);
    assert_eq!(s.metrics.chart_end(), Some(f.now), "history is drawn before any live sample");
    assert_eq!(s.sources[0].last_event, None, "a snapshot is not a sign of life");
}

fn sample_from(source: &str, ts: Ts, cpu: f32) -> Arc<Envelope> {
    let mut env = Envelope::clone(&sample(ts));
    env.source = source.into();
    if let Event::HostSample(s) = &mut env.event {
        s.cpu_total = cpu;
        s.hostname = source.into();
    }
    Arc::new(env)
}

#[test]
fn backends_become_sources_and_keys_switch_between_them() {
    let f = Fixture::new();
    let mut s = f.state();
    s.add_backend("prod");
    update(&mut s, Action::Link("prod".into(), Link::Connected), &f.ctx());
    update(&mut s, Action::Events(vec![sample(f.now), sample_from("prod", f.now, 91.0)]), &f.ctx());
    assert_eq!(s.metrics.sources.len(), 2);
    assert_eq!(s.metrics.cur().name, "local");
    f.key(&mut s, KeyCode::Char('>'));
    assert_eq!(s.metrics.cur().name, "prod");
    assert_eq!(s.metrics.shown().map(|h| h.cpu_total), Some(91.0));
    assert_eq!(s.metrics.procs.len(), 4, "the table follows the source");
    f.key(&mut s, KeyCode::Char('<'));
    assert_eq!(s.metrics.cur().name, "local");
    assert!(s.sources.iter().all(|src| src.is_live(f.now, s.stale_after())));
}

#[test]
fn a_dropped_backend_is_offline_since_the_first_failure() {
    let f = Fixture::new();
    let mut s = f.state();
    update(&mut s, Action::Link("prod".into(), Link::Connected), &f.ctx());
    update(&mut s, Action::Events(vec![sample_from("prod", f.now, 5.0)]), &f.ctx());
    let retry = |at| Link::Retrying { at, attempt: 1, error: "refused".into() };
    update(&mut s, Action::Link("prod".into(), retry(f.now + 1000)), &f.ctx());
    let mut later = Fixture::new();
    later.now = f.now + 5000;
    update(&mut s, Action::Link("prod".into(), retry(f.now + 9000)), &later.ctx());
    let prod = s.sources.iter().find(|x| x.name == "prod").unwrap();
    assert_eq!(prod.offline_since, Some(f.now), "kept from the first failure");
    assert!(!prod.is_live(later.now, s.stale_after()));
    update(&mut s, Action::Link("prod".into(), Link::Connected), &later.ctx());
    assert_eq!(s.sources.iter().find(|x| x.name == "prod").unwrap().offline_since, None);
    update(&mut s, Action::SourceReset("prod".into()), &later.ctx());
    assert!(s.metrics.sources.iter().find(|x| x.name == "prod").unwrap().latest.is_none(), "reset forgets");
}

#[test]
fn fleet_lists_sources_and_enter_shows_one() {
    let f = Fixture::new();
    let mut s = f.state();
    update(
        &mut s,
        Action::Events(vec![sample(f.now), sample_from("a", f.now, 1.0), sample_from("b", f.now, 2.0)]),
        &f.ctx(),
    );
    f.key(&mut s, KeyCode::Char('F'));
    assert!(matches!(s.overlay, Some(Overlay::Fleet { selected: 0 })));
    f.key(&mut s, KeyCode::Down);
    f.key(&mut s, KeyCode::Down);
    f.key(&mut s, KeyCode::Enter);
    assert!(s.overlay.is_none());
    assert_eq!(s.metrics.cur().name, "b");
}

#[test]
fn annotations_are_kept_per_source() {
    let f = Fixture::new();
    let mut s = f.state();
    let env = Envelope {
        epoch: 1,
        seq: 9,
        ts: f.now,
        source: LOCAL_SOURCE.into(),
        topic: Topic::Metrics,
        event: Event::Annotation { text: "deploy v42".into(), author: "ops".into() },
    };
    update(&mut s, Action::Events(vec![Arc::new(env)]), &f.ctx());
    assert_eq!(s.metrics.cur().annotations, vec![(f.now, "deploy v42".to_string(), "ops".to_string())]);
    assert_eq!(s.sources[0].last_event, Some(f.now));
}

#[test]
fn annotate_prompts_then_emits_a_command_with_a_fresh_id() {
    let f = Fixture::new();
    let mut s = f.state();
    s.instance = "p1".into();
    s.user = "ops".into();
    f.key(&mut s, KeyCode::Char('a'));
    assert!(matches!(&s.overlay, Some(Overlay::Annotate { source, .. }) if source == "local"));
    f.chars(&mut s, "deploy v42 q");
    let e = f.key(&mut s, KeyCode::Enter);
    let want = crate::protocol::Command::Metrics(MetricsCommand::Annotate {
        text: "deploy v42 q".into(),
        author: "ops".into(),
        at: Some(1_700_000_000_000),
    });
    assert_eq!(e, vec![Effect::Command { source: "local".into(), id: "p1-1".into(), command: want }]);
    assert!(s.overlay.is_none());
    f.key(&mut s, KeyCode::Char('a'));
    f.chars(&mut s, "x");
    let e = f.key(&mut s, KeyCode::Enter);
    assert!(matches!(&e[0], Effect::Command { id, .. } if id == "p1-2"), "ids never repeat");
    f.key(&mut s, KeyCode::Char('a'));
    assert!(f.key(&mut s, KeyCode::Enter).is_empty(), "an empty note is not sent");
}

#[test]
fn queued_counts_and_answers_show_in_state() {
    let f = Fixture::new();
    let mut s = f.state();
    update(&mut s, Action::Queued("prod".into(), 2), &f.ctx());
    assert_eq!(s.sources.iter().find(|x| x.name == "prod").map(|x| x.queued), Some(2));
    let mut effects = Vec::new();
    let cmd = crate::protocol::Command::Metrics(MetricsCommand::Annotate {
        text: "deploy".into(),
        author: String::new(),
        at: None,
    });
    s.send_command("prod".into(), cmd, "annotation recorded", &mut effects);
    let Some(Effect::Command { id, .. }) = effects.first() else { panic!("{effects:?}") };
    let done = Action::CommandDone { source: "prod".into(), id: id.clone(), result: Ok(serde_json::json!({"seq": 3})) };
    update(&mut s, done, &f.ctx());
    assert_eq!(s.notice, Some((f.now, "✓ annotation recorded on prod".to_string())));
    // An answer to a command sent before a restart (from the outbox) says less.
    let done = Action::CommandDone { source: "prod".into(), id: "old".into(), result: Err("nope".into()) };
    update(&mut s, done, &f.ctx());
    assert_eq!(s.notice, Some((f.now, "✗ prod refused (command): nope".to_string())));
}

#[test]
fn a_source_registered_early_takes_the_step_of_its_first_data() {
    let f = Fixture::new();
    let mut s = f.state();
    s.add_backend("prom");
    let step = 15_000;
    let snap = crate::protocol::SeriesSnapshot {
        tiers: vec![crate::protocol::TierSnapshot {
            step_ms: step,
            start_slot: f.now / step - 2,
            columns: vec![("cpu.total".into(), vec![3.0, 4.0])],
        }],
    };
    let env = Envelope {
        epoch: 0,
        seq: 0,
        ts: f.now,
        source: "prom".into(),
        topic: Topic::Metrics,
        event: Event::SeriesSamples(Box::new(snap)),
    };
    update(&mut s, Action::Events(vec![Arc::new(env)]), &f.ctx());
    let prom = s.metrics.sources.iter().find(|x| x.name == "prom").unwrap();
    assert_eq!(prom.series.latest("cpu.total"), 4.0, "15 s data is kept");
}

/// B7: a refused backend's alerts are unknown (no all-clear), and the
/// reconnect key asks the runtime to reconnect the source it is aimed at.
#[test]
fn a_refused_backend_is_unread_and_the_reconnect_key_targets_a_source() {
    let f = Fixture::new();
    let mut s = f.state();
    s.alerts.health.expect("prod");
    update(&mut s, Action::Events(vec![sample(f.now), sample_from("prod", f.now, 1.0)]), &f.ctx());
    let refused = Link::Refused { at: f.now + 60_000, status: 403, error: "HTTP 403: the token was refused".into() };
    update(&mut s, Action::Link("prod".into(), refused), &f.ctx());
    assert!(s.alerts.health.failed.contains_key("prod"), "its alerts are unknown while refused");
    assert!(s.sources.iter().find(|x| x.name == "prod").unwrap().offline_since.is_some());
    // On the local engine there is nothing to reconnect: say so, do nothing.
    let e = f.key(&mut s, KeyCode::Char('R'));
    assert!(e.is_empty());
    assert!(s.notice.as_ref().is_some_and(|n| n.1.contains("nothing to reconnect")));
    // In the fleet view, R reconnects the selected source.
    f.key(&mut s, KeyCode::Char('F'));
    f.key(&mut s, KeyCode::Down);
    let e = f.key(&mut s, KeyCode::Char('R'));
    assert!(matches!(&e[..], [Effect::Reconnect { source }] if source == "prod"), "{e:?}");
    // On the shown backend, R reconnects it.
    f.key(&mut s, KeyCode::Enter);
    let e = f.key(&mut s, KeyCode::Char('R'));
    assert!(matches!(&e[..], [Effect::Reconnect { source }] if source == "prod"), "{e:?}");
}

/// D20: `reload` asks the runtime to read everything again; its answer is
/// shown as a popup, and an applied config replaces the startup warnings.
#[test]
fn reload_is_an_effect_and_its_answer_is_shown() {
    let f = Fixture::new();
    let mut s = f.state();
    s.warnings = vec!["config.toml:1:1: old problem".into()];
    let e = update(&mut s, Action::User(UserAction::Reload), &f.ctx());
    assert!(matches!(&e[..], [Effect::Reload]), "{e:?}");
    let lines = vec!["configuration not reloaded (1 problem): …".into(), "config.toml:2:9: unknown theme".into()];
    update(&mut s, Action::Reloaded { ok: false, lines, warnings: None }, &f.ctx());
    assert!(
        matches!(&s.overlay, Some(Overlay::Message(m)) if m.title.contains("not everything") && m.lines.len() == 2)
    );
    assert_eq!(s.warnings.len(), 1, "a refused reload keeps the warnings in force");
    update(&mut s, Action::Reloaded { ok: true, lines: vec!["theme: a → b".into()], warnings: Some(vec![]) }, &f.ctx());
    assert!(matches!(&s.overlay, Some(Overlay::Message(m)) if m.title == "Reloaded"));
    assert!(s.warnings.is_empty(), "an applied config replaces them");
}

#[test]
fn a_source_without_data_shows_no_processes_of_another() {
    let f = Fixture::new();
    let mut s = f.state();
    update(&mut s, Action::Events(vec![sample(f.now)]), &f.ctx());
    s.add_backend("lab");
    assert_eq!(s.metrics.procs.len(), 4);
    f.key(&mut s, KeyCode::Char('>'));
    assert_eq!(s.metrics.cur().name, "lab");
    assert!(s.metrics.procs.is_empty(), "lab sent nothing: the local processes are not lab's");
    f.key(&mut s, KeyCode::Char('<'));
    assert_eq!(s.metrics.procs.len(), 4);
}

/// Tool events of an engine's `run_tool` commands (topic `tools`) reach the
/// reducer with the rest of a batch and change no pane: the tools pane shows
/// the runs it started itself.
#[test]
fn tool_events_on_the_bus_are_ignored_by_the_panes() {
    let f = Fixture::new();
    let mut s = f.state();
    update(&mut s, Action::Events(vec![sample(f.now)]), &f.ctx());
    let before = (format!("{:?}", s.metrics.cur().latest), s.metrics.sources.len(), s.tools.runs.len());
    let env = |seq, event| {
        Arc::new(Envelope { epoch: 1, seq, ts: f.now, source: "local".into(), topic: Topic::Tools, event })
    };
    let record = crate::protocol::tools::ToolRun {
        tool: "shell".into(),
        source: "builtin".into(),
        args: serde_json::json!({}),
        started: f.now,
        duration_ms: 1,
        ok: true,
        outcome: serde_json::json!({}),
        output: vec!["hi".into()],
        truncated: false,
        origin: Default::default(),
    };
    let batch = vec![
        env(10, Event::ToolOutput { run: "r1".into(), lines: vec!["hi".into()] }),
        env(11, Event::ToolFinished { run: "r1".into(), record: Box::new(record) }),
    ];
    update(&mut s, Action::Events(batch), &f.ctx());
    let after = (format!("{:?}", s.metrics.cur().latest), s.metrics.sources.len(), s.tools.runs.len());
    assert_eq!(after, before);
    assert!(s.alerts.sources.is_empty() && s.alerts.timeline.is_empty());
}
