//! A backend that is down: the pane's reads (`show_run`, `step_log`) are not
//! queued in its outbox — they are asked once it is back — while the
//! commands that change runs are (the outbox delivers them later).

use super::*;
use crate::app::Link;

const EDGE: &str = "edge";

fn from_edge(fx: &Fx, s: &mut AppState, event: Event) {
    let env = Envelope { epoch: 1, seq: 1, ts: fx.now, source: EDGE.into(), topic: Topic::Workflows, event };
    fx.act(s, Action::Events(vec![Arc::new(env)]));
}

fn sent_to(effects: &[Effect]) -> Vec<(String, WorkflowsCommand)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Command { source, command: Command::Workflows(c), .. } => Some((source.clone(), c.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn reads_wait_for_a_backend_that_is_down_and_changes_are_queued() {
    let fx = Fx::new();
    let mut s = fx.state();
    from_edge(&fx, &mut s, Event::Workflows(Box::new(snapshot())));
    fx.act(&mut s, Action::Link(EDGE.into(), Link::Retrying { at: NOW + 5_000, attempt: 1, error: "refused".into() }));
    // Edge's failed run #3, opened: its steps are not asked for.
    fx.key(&mut s, KeyCode::Tab);
    let rows = s.workflows.run_rows();
    let at = rows.iter().position(|i| {
        let r = &s.workflows.runs[*i];
        r.source == EDGE && r.run.id == 3
    });
    s.workflows.runs_sel = at.expect("edge's run #3 listed");
    let effects = fx.key(&mut s, KeyCode::Enter);
    assert_eq!(s.workflows.open, Some((EDGE.to_string(), 3)));
    assert!(sent_to(&effects).is_empty(), "no read queued: {effects:?}");
    assert!(s.workflows.asked.is_empty());
    // A rerun changes the run: it goes to the outbox.
    s.focus = BoxId::WfRuns;
    let sent = sent_to(&fx.chars(&mut s, "f"));
    let want = WorkflowsCommand::RerunRun { run: 3, from: RerunFrom::Failed, current: false, inputs: None };
    assert_eq!(sent, [(EDGE.to_string(), want)]);
    // Back: the open run's steps are asked for at once.
    let effects = fx.act(&mut s, Action::Link(EDGE.into(), Link::Connected));
    let sent = sent_to(&effects);
    assert_eq!(sent, [(EDGE.to_string(), WorkflowsCommand::ShowRun { run: 3, attempt: None })]);
}

#[test]
fn a_read_for_a_backend_that_is_down_is_refused_not_queued() {
    let fx = Fx::new();
    let mut s = fx.state();
    fx.act(&mut s, Action::Link(EDGE.into(), Link::Retrying { at: NOW + 5_000, attempt: 2, error: "refused".into() }));
    let mut effects = Vec::new();
    let read = Command::Workflows(WorkflowsCommand::ShowRun { run: 1, attempt: None });
    assert_eq!(s.send_command(EDGE.into(), read, "reading a run", &mut effects), None);
    assert!(effects.is_empty());
    let (_, n) = s.notice.clone().expect("said");
    assert!(n.contains("edge is offline") && n.contains("not queued"), "{n}");
    let start = Command::Workflows(WorkflowsCommand::StartRun {
        workflow: "deploy".into(),
        inputs: Map::new(),
        by: "ana".into(),
    });
    assert!(s.send_command(EDGE.into(), start, "starting deploy", &mut effects).is_some(), "a start is queued");
    assert_eq!(effects.len(), 1);
}
