//! `attach_to_chat` through the app: each pane's selection becomes a
//! pending attachment (focus stays), a run's missing steps and log are read
//! first, and the chat input removes, dedupes, caps and sends them.

use std::sync::Arc;

use serde_json::json;

use super::super::panes::chat::attach::MAX_PENDING;
use super::super::panes::tools::ToolsAction;
use super::super::panes::workflows::WfRun;
use super::super::tests::{Fixture, sample};
use super::*;
use crate::app::{Action, update};
use crate::protocol::alerts::{Alert, AlertState, AlertsUpdate, Severity};
use crate::protocol::chat::{ChatMessage, ModelRef, Role};
use crate::protocol::tools::{RunOrigin, ToolRun};
use crate::protocol::workflow::{Run, RunState, Trigger};
use crate::protocol::{Envelope, Event, LOCAL_SOURCE, Topic};

fn attach_key(fx: &Fixture, s: &mut AppState) -> Vec<Effect> {
    fx.key(s, ratatui::crossterm::event::KeyCode::Char('@'))
}

fn notice(s: &AppState) -> String {
    s.notice.as_ref().map(|(_, n)| n.clone()).unwrap_or_default()
}

fn titles(s: &AppState) -> Vec<String> {
    s.chat.attach.items.iter().map(|p| p.attachment.title.clone()).collect()
}

/// The app with 10 minutes of samples, `disk.used_pct:/` among them.
fn with_samples(fx: &Fixture) -> AppState {
    let mut s = fx.state();
    let batch: Vec<_> = (0..600).rev().map(|i| sample(fx.now - i * 1000)).collect();
    update(&mut s, Action::Events(batch), &fx.ctx());
    s
}

fn alert() -> Alert {
    Alert {
        id: "cpu_high".into(),
        rule: "cpu_high".into(),
        origin: "rule".into(),
        labels: Default::default(),
        severity: Severity::Warning,
        state: AlertState::Firing,
        summary: "CPU above 40%".into(),
        value: Some(42.0),
        value_text: None,
        active_since: 1_700_000_000_000 - 120_000,
        firing_since: Some(1_700_000_000_000 - 60_000),
        resolved_at: None,
        ack: None,
        silenced_by: vec![],
        series: Some("cpu.total".into()),
    }
}

fn alerts_state(fx: &Fixture) -> AppState {
    let mut s = with_samples(fx);
    let u = AlertsUpdate { alerts: vec![alert()], ..Default::default() };
    let env = Envelope {
        epoch: 1,
        seq: 2,
        ts: fx.now,
        source: LOCAL_SOURCE.into(),
        topic: Topic::Alerts,
        event: Event::Alerts(Box::new(u)),
    };
    update(&mut s, Action::Events(vec![Arc::new(env)]), &fx.ctx());
    fx.key(&mut s, ratatui::crossterm::event::KeyCode::Char('5'));
    assert_eq!(s.focus, BoxId::AlertList);
    s
}

#[test]
fn an_alert_is_attached_with_its_values_and_focus_stays() {
    let fx = Fixture::new();
    let mut s = alerts_state(&fx);
    let effects = attach_key(&fx, &mut s);
    assert!(effects.is_empty(), "nothing to run: {effects:?}");
    assert_eq!(s.focus, BoxId::AlertList, "lazygit-like: the pane stays");
    assert_eq!(titles(&s), ["alert cpu_high"]);
    assert_eq!(notice(&s), "attached alert cpu_high to the chat — 4 to ask");
    let text = &s.chat.attach.items[0].attachment.text;
    assert!(text.contains("state: firing since 2023-11-14 22:12:20 UTC"), "{text}");
    // 10 minutes of samples in the 17 minutes shown (30 spans of 34 s from
    // 21:56:21): the 18 spans with samples, each 42%, the last 33 s ago.
    assert!(text.contains("series cpu.total (18 values, oldest first):\n  22:03:09 42\n"), "{text}");
    assert!(text.ends_with("  22:12:47 42\n"), "{text}");
    // Attached again: the same one, brought up to date; no copy.
    attach_key(&fx, &mut s);
    assert_eq!(s.chat.attach.items.len(), 1);
    assert!(notice(&s).contains("was attached already: updated"), "{}", notice(&s));
}

#[test]
fn rules_are_not_attached_and_the_chat_pane_says_where_to_attach_from() {
    let fx = Fixture::new();
    let mut s = alerts_state(&fx);
    s.focus = BoxId::AlertRules;
    attach_key(&fx, &mut s);
    assert!(s.chat.attach.items.is_empty());
    assert!(notice(&s).contains("select an alert in the alerts list"), "{}", notice(&s));
    // In the chat pane `@` is typed into the input; from the palette it says where to use it.
    fx.key(&mut s, ratatui::crossterm::event::KeyCode::Char('4'));
    update(&mut s, Action::User(UserAction::AttachToChat), &fx.ctx());
    assert!(notice(&s).contains("metrics, workflows, tools or alerts pane"), "{}", notice(&s));
    assert!(!s.applies(UserAction::AttachToChat));
}

#[test]
fn a_metrics_snapshot_of_the_shown_source_is_attached() {
    let fx = Fixture::new();
    let mut s = fx.state();
    attach_key(&fx, &mut s);
    assert!(notice(&s).contains("no sample from local yet"), "{}", notice(&s));
    let mut s = with_samples(&fx);
    assert_eq!(s.focus.pane(), Pane::Metrics);
    attach_key(&fx, &mut s);
    assert_eq!(titles(&s), ["metrics host at 22:13:20"]);
    let text = &s.chat.attach.items[0].attachment.text;
    assert!(text.contains("cpu: 42% busy; 2 cores: 40 44"), "{text}");
    assert!(text.contains("postgres"), "{text}");
}

fn tools_state(fx: &Fixture, running: bool) -> AppState {
    let mut s = fx.state();
    let record = ToolRun {
        tool: "http_check".into(),
        source: "builtin".into(),
        args: json!({"url": "https://status.example.com/health"}),
        started: fx.now - 60_000,
        duration_ms: 84,
        ok: false,
        outcome: json!("expected status 200, got 503"),
        output: vec!["GET https://status.example.com/health".into(), "503 Service Unavailable".into()],
        truncated: false,
        origin: RunOrigin::Pane,
    };
    update(&mut s, Action::Tools(ToolsAction::History(vec![record])), &fx.ctx());
    fx.key(&mut s, ratatui::crossterm::event::KeyCode::Char('3'));
    s.focus = BoxId::ToolHistory;
    if running {
        s.tools.runs[0].state = super::super::panes::tools::runs::RunState::Running;
    }
    s
}

#[test]
fn a_tool_result_is_attached_from_the_history() {
    let fx = Fixture::new();
    let mut s = tools_state(&fx, true);
    attach_key(&fx, &mut s);
    assert!(notice(&s).contains("is still running: attach it once it ends"), "{}", notice(&s));
    assert!(s.chat.attach.items.is_empty());
    let mut s = tools_state(&fx, false);
    attach_key(&fx, &mut s);
    assert_eq!(s.focus, BoxId::ToolHistory);
    assert_eq!(titles(&s), ["tool http_check url=https://status.example.com/health failed"]);
    let text = &s.chat.attach.items[0].attachment.text;
    assert!(text.contains("error:\nexpected status 200, got 503"), "{text}");
    assert!(text.contains("  503 Service Unavailable\n"), "{text}");
}

fn wf_run(fx: &Fixture) -> WfRun {
    let run = Run {
        id: 7,
        attempt: 1,
        workflow: "deploy".into(),
        version: "0123456789ab".into(),
        inputs: Default::default(),
        trigger: Trigger::Manual { by: "ana".into() },
        state: RunState::Failed,
        created: fx.now - 100_000,
        started: Some(fx.now - 100_000),
        ended: Some(fx.now - 10_000),
        error: Some("step roll failed".into()),
        steps: vec!["build".into(), "roll".into()],
        first_started: None,
        external: None,
    };
    WfRun::new(LOCAL_SOURCE, run)
}

fn step(id: &str, state: RunState, fx: &Fixture) -> StepRun {
    let mut st = StepRun::new(id, "shell");
    st.state = state;
    st.attempt = 1;
    st.started = Some(fx.now - 90_000);
    st.ended = Some(fx.now - 20_000);
    st
}

fn runs_state(fx: &Fixture, r: WfRun) -> AppState {
    let mut s = fx.state();
    s.workflows.runs.push(r);
    fx.key(&mut s, ratatui::crossterm::event::KeyCode::Char('2'));
    s.focus = BoxId::WfRuns;
    s
}

fn commands(effects: &[Effect]) -> Vec<(String, WorkflowsCommand)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Command { id, command: Command::Workflows(c), .. } => Some((id.clone(), c.clone())),
            _ => None,
        })
        .collect()
}

fn done(fx: &Fixture, s: &mut AppState, id: &str, result: Result<Value, String>) -> Vec<Effect> {
    update(s, Action::CommandDone { source: LOCAL_SOURCE.into(), id: id.into(), result }, &fx.ctx())
}

#[test]
fn a_run_the_pane_has_whole_is_attached_at_once() {
    let fx = Fixture::new();
    let mut r = wf_run(&fx);
    r.steps = vec![step("build", RunState::Succeeded, &fx), step("roll", RunState::Failed, &fx)];
    r.steps_loaded = true;
    r.logs.insert("roll".into(), (0..80).map(|i| format!("line {i}")).collect());
    r.logs_asked.insert("roll".into());
    let mut s = runs_state(&fx, r);
    let effects = attach_key(&fx, &mut s);
    assert!(commands(&effects).is_empty(), "{effects:?}");
    assert_eq!(s.focus, BoxId::WfRuns);
    assert_eq!(titles(&s), ["run deploy #7 failed"]);
    let text = &s.chat.attach.items[0].attachment.text;
    assert!(text.contains("log of step roll (last 60 of 80 lines):\n  line 20\n"), "{text}");
}

#[test]
fn a_run_whose_steps_and_log_are_not_read_is_gathered_first() {
    let fx = Fixture::new();
    let mut s = runs_state(&fx, wf_run(&fx));
    let effects = attach_key(&fx, &mut s);
    let sent = commands(&effects);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, WorkflowsCommand::ShowRun { run: 7, attempt: Some(1) });
    assert!(s.chat.attach.items.is_empty());
    assert!(notice(&s).contains("reading run #7 from local for the chat"), "{}", notice(&s));
    // Attaching it again while it is read asks nothing more.
    assert!(commands(&attach_key(&fx, &mut s)).is_empty());
    let detail = json!({
        "run": wf_run(&fx).run,
        "steps": [step("roll", RunState::Failed, &fx), step("build", RunState::Succeeded, &fx)],
    });
    let effects = done(&fx, &mut s, &sent[0].0, Ok(detail));
    let sent = commands(&effects);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].1, WorkflowsCommand::StepLog { run: 7, attempt: Some(1), step: "roll".into() });
    assert!(s.chat.attach.items.is_empty());
    done(&fx, &mut s, &sent[0].0, Ok(json!({"lines": ["pulling image", "\u{1b}[31mcrash\u{0}"]})));
    assert_eq!(titles(&s), ["run deploy #7 failed"]);
    assert!(s.chat.attach.gathers.is_empty());
    assert!(notice(&s).starts_with("attached run deploy #7 failed to the chat"), "{}", notice(&s));
    let text = &s.chat.attach.items[0].attachment.text;
    // Steps in the definition's order; the log cleaned.
    assert!(text.find("✓ build").unwrap() < text.find("✗ roll").unwrap(), "{text}");
    assert!(text.contains("log of step roll (2 lines):\n  pulling image\n  ␛[31mcrash"), "{text}");
    assert!(!s.pending_commands.values().any(|w| w.contains("for the chat")), "answered reads are forgotten");
}

#[test]
fn a_run_that_cannot_be_read_attaches_nothing_and_says_why() {
    let fx = Fixture::new();
    let mut s = runs_state(&fx, wf_run(&fx));
    let sent = commands(&attach_key(&fx, &mut s));
    done(&fx, &mut s, &sent[0].0, Err("no run 7".into()));
    assert!(s.chat.attach.items.is_empty() && s.chat.attach.gathers.is_empty());
    assert!(notice(&s).contains("could not be read for the chat: no run 7 — nothing attached"), "{}", notice(&s));
}

fn chat_ready(s: &mut AppState) {
    s.chat.providers = 1;
    s.chat.models = vec![ModelRef::parse("local/m").expect("model")];
}

#[test]
fn attachments_are_removed_capped_and_sent_with_the_question() {
    let fx = Fixture::new();
    let mut s = alerts_state(&fx);
    attach_key(&fx, &mut s);
    fx.key(&mut s, ratatui::crossterm::event::KeyCode::Char('1'));
    attach_key(&fx, &mut s);
    assert_eq!(s.chat.attach.items.len(), 2);
    // The chat input: C-x removes the last one.
    fx.key(&mut s, ratatui::crossterm::event::KeyCode::Char('4'));
    assert_eq!(s.focus, BoxId::ChatInput);
    let cx = ratatui::crossterm::event::KeyEvent::new(
        ratatui::crossterm::event::KeyCode::Char('x'),
        ratatui::crossterm::event::KeyModifiers::CONTROL,
    );
    update(&mut s, Action::Key(cx), &fx.ctx());
    assert_eq!(titles(&s), ["alert cpu_high"]);
    assert!(notice(&s).starts_with("removed metrics host at 22:13:20 from the next question (1 left)"));
    assert!(s.chat.input.text().is_empty(), "C-x is not typed");
    // Send: the attachment goes onto the user message, which is saved; none wait any more.
    chat_ready(&mut s);
    fx.chars(&mut s, "why?");
    let effects = fx.key(&mut s, ratatui::crossterm::event::KeyCode::Enter);
    let user: &ChatMessage = s.chat.conv.messages.iter().find(|m| m.role == Role::User).expect("sent");
    assert_eq!(user.content, "why?");
    assert_eq!(user.attachments.len(), 1);
    assert_eq!(user.attachments[0].title, "alert cpu_high");
    assert!(s.chat.attach.items.is_empty());
    let asked = effects.iter().find_map(|e| match e {
        Effect::Chat(super::super::panes::chat::ChatEffect::Ask { messages, .. }) => Some(messages.clone()),
        _ => None,
    });
    assert_eq!(asked.expect("asked")[0].attachments.len(), 1, "the model reads it");
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Chat(super::super::panes::chat::ChatEffect::Save(c))
            if c.messages[0].attachments.len() == 1)),
        "saved with the message"
    );
    // The transcript's `x` clears what waits.
    fx.key(&mut s, ratatui::crossterm::event::KeyCode::Esc);
    s.chat.attach.items.clear();
    for i in 0..MAX_PENDING + 1 {
        s.chat
            .attach
            .add(format!("k{i}"), Attachment { kind: "alert".into(), title: format!("a{i}"), text: "x".into() });
    }
    assert_eq!(s.chat.attach.items.len(), MAX_PENDING, "capped");
    fx.key(&mut s, ratatui::crossterm::event::KeyCode::Char('x'));
    assert!(s.chat.attach.items.is_empty());
    assert_eq!(notice(&s), format!("removed {MAX_PENDING} attachments from the next question"));
}

#[test]
fn the_ninth_attachment_is_refused_with_a_notice() {
    let fx = Fixture::new();
    let mut s = alerts_state(&fx);
    for i in 0..MAX_PENDING {
        s.chat
            .attach
            .add(format!("k{i}"), Attachment { kind: "alert".into(), title: format!("a{i}"), text: "x".into() });
    }
    attach_key(&fx, &mut s);
    assert_eq!(s.chat.attach.items.len(), MAX_PENDING);
    assert!(notice(&s).contains("a question carries at most 8 attachments"), "{}", notice(&s));
}

#[test]
fn attachments_alone_make_a_question_and_come_back_when_it_is_edited() {
    let fx = Fixture::new();
    let mut s = alerts_state(&fx);
    attach_key(&fx, &mut s);
    fx.key(&mut s, ratatui::crossterm::event::KeyCode::Char('4'));
    chat_ready(&mut s);
    fx.key(&mut s, ratatui::crossterm::event::KeyCode::Enter);
    assert_eq!(s.chat.conv.messages[0].attachments.len(), 1, "sent without text");
    assert_eq!(s.chat.conv.meta.title, "alert cpu_high");
    assert!(s.chat.history.is_empty(), "no empty entry to recall");
    // Stop, then edit the last question: its attachment waits again.
    update(&mut s, Action::User(UserAction::ChatStop), &fx.ctx());
    update(&mut s, Action::User(UserAction::ChatEditLast), &fx.ctx());
    assert_eq!(titles(&s), ["alert cpu_high"]);
}

#[test]
fn recent_points_are_bounded_and_skip_gaps() {
    let fx = Fixture::new();
    let s = with_samples(&fx);
    let data = &s.metrics.sources[0].series;
    let points = recent_points(data, "cpu.total", fx.now - 3_600_000, fx.now);
    assert!(!points.is_empty() && points.len() <= ALERT_POINTS, "{}", points.len());
    assert!(points.windows(2).all(|w| w[0].0 < w[1].0), "oldest first");
    assert!(points.iter().all(|(_, v)| *v == 42.0));
    assert!(recent_points(data, "nope", fx.now - 1000, fx.now).is_empty());
    // A window from a hostile time still ends.
    assert!(recent_points(data, "cpu.total", i64::MIN, fx.now).len() <= ALERT_POINTS);
}

#[test]
fn a_gather_left_unanswered_is_given_up_on_the_next_attach() {
    let mut fx = Fixture::new();
    let mut s = runs_state(&fx, wf_run(&fx));
    let first = commands(&attach_key(&fx, &mut s));
    assert_eq!(s.chat.attach.gathers.len(), 1);
    fx.now += GATHER_TIMEOUT_MS;
    let again = commands(&attach_key(&fx, &mut s));
    assert_eq!(again.len(), 1, "asked anew");
    assert_ne!(again[0].0, first[0].0);
    assert_eq!(s.chat.attach.gathers.len(), 1);
    // The late answer to the first read attaches nothing.
    let detail = json!({"run": wf_run(&fx).run, "steps": []});
    done(&fx, &mut s, &first[0].0, Ok(detail));
    assert!(s.chat.attach.items.is_empty());
}
