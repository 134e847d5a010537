//! Reducer tests of a Prefect server's runs in the pane (issue 14): they
//! join the runs list by their Prefect names beside local runs, grow steps
//! as task runs start, and only what Prefect offers is offered (a retry for
//! a deployment's run; no rerun from a step, with edited inputs, resume or
//! approval), each refusal said without a command sent.

use super::*;
use crate::protocol::workflow::ExternalRun;

fn prefect_run(id: u64, name: &str, state: RunState, deployment: bool) -> Run {
    let mut r = run(id, 1, "etl/nightly", state, NOW - 60_000, state.is_final().then_some(30_000));
    r.steps = vec!["flow-run".into()];
    r.error = (state == RunState::Failed).then(|| "Flow run encountered an exception: kaboom".into());
    r.external = Some(ExternalRun {
        id: format!("uuid-{id}"),
        name: name.into(),
        state_name: if state == RunState::Failed { "Crashed".into() } else { state.word().into() },
        deployment: deployment.then(|| "dep-1".into()),
    });
    r
}

fn from_prefect(fx: &Fx, s: &mut AppState, event: Event) {
    let env = Envelope { epoch: 9, seq: 1, ts: fx.now, source: "prefect".into(), topic: Topic::Workflows, event };
    fx.act(s, Action::Events(vec![Arc::new(env)]));
}

/// The runs list with Prefect's run `name` selected.
fn select(fx: &Fx, s: &mut AppState, name: &str) {
    while s.focus != BoxId::WfRuns {
        fx.key(s, KeyCode::Tab);
    }
    for _ in 0..s.workflows.runs.len() {
        if s.workflows.selected_run().and_then(|r| r.run.external.as_ref()).is_some_and(|x| x.name == name) {
            return;
        }
        fx.key(s, KeyCode::Down);
    }
    panic!("{name} is not in the runs list");
}

fn commands(effects: &[Effect]) -> Vec<&Command> {
    effects.iter().filter_map(|e| if let Effect::Command { command, .. } = e { Some(command) } else { None }).collect()
}

#[test]
fn prefect_runs_join_the_list_by_name_and_grow_steps_as_task_runs_start() {
    let fx = Fx::new();
    let mut s = fx.state();
    let r = prefect_run(0x187fd26cb1154, "brave-otter", RunState::Running, true);
    // The source's snapshot comes first (its deployments, its newest runs).
    from_prefect(&fx, &mut s, Event::Workflows(Box::default()));
    from_prefect(&fx, &mut s, Event::RunChanged(Box::new(r.clone())));
    assert!(s.workflows.sources_shown(), "two sources: the SOURCE column shows");
    assert_eq!(s.workflows.run_name("prefect", r.id), "brave-otter");
    assert_eq!(s.workflows.run_name(LOCAL_SOURCE, 3), "#3");
    let mut task = step("extract-0", "task", RunState::Running, Some(NOW - 50_000), None);
    task.attempt = 1;
    from_prefect(&fx, &mut s, Event::StepChanged { run: r.id, attempt: 1, step: Box::new(task) });
    let wr = s.workflows.runs.iter().find(|w| w.source == "prefect").expect("the Prefect run");
    let ids: Vec<&str> = wr.steps.iter().map(|st| st.id.as_str()).collect();
    assert_eq!(ids, ["flow-run", "extract-0"], "a step not in the header's list comes last, not lost");
    // The same number from the local source is another run.
    assert!(s.workflows.runs.iter().any(|w| w.source == LOCAL_SOURCE && w.run.id == 3));
}

#[test]
fn a_failed_deployment_run_offers_a_retry_and_nothing_prefect_lacks() {
    let fx = Fx::new();
    let mut s = fx.state();
    from_prefect(&fx, &mut s, Event::RunChanged(Box::new(prefect_run(77, "calm-owl", RunState::Failed, true))));
    select(&fx, &mut s, "calm-owl");
    let hints: Vec<String> = s.hints.iter().map(|h| h.1.clone()).collect();
    assert!(hints.iter().any(|h| h == "retry"), "{hints:?}");
    assert!(!hints.iter().any(|h| h.contains("edit inputs")), "{hints:?}");

    for (code, says) in
        [(KeyCode::Char('R'), "retries whole runs only"), (KeyCode::Char('I'), "retries whole runs only")]
    {
        let effects = fx.key(&mut s, code);
        assert!(commands(&effects).is_empty(), "{code:?} sends nothing");
        assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains(says)), "{code:?}: {:?}", s.notice);
    }
    let effects = fx.key(&mut s, KeyCode::Char('f'));
    let sent = commands(&effects);
    assert!(
        matches!(sent[..], [Command::Workflows(WorkflowsCommand::RerunRun { run: 77, .. })]),
        "the retry goes to Prefect: {sent:?}"
    );
}

#[test]
fn a_script_run_is_not_offered_a_retry_and_its_cancel_says_what_prefect_does() {
    let fx = Fx::new();
    let mut s = fx.state();
    from_prefect(&fx, &mut s, Event::RunChanged(Box::new(prefect_run(78, "lone-wolf", RunState::Failed, false))));
    select(&fx, &mut s, "lone-wolf");
    let hints: Vec<String> = s.hints.iter().map(|h| h.1.clone()).collect();
    assert!(!hints.iter().any(|h| h == "retry" || h.contains("rerun")), "{hints:?}");
    let effects = fx.key(&mut s, KeyCode::Char('f'));
    assert!(commands(&effects).is_empty());
    assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains("no deployment on prefect")), "{:?}", s.notice);

    from_prefect(&fx, &mut s, Event::RunChanged(Box::new(prefect_run(79, "busy-bee", RunState::Running, false))));
    select(&fx, &mut s, "busy-bee");
    fx.key(&mut s, KeyCode::Char('x'));
    let Some(Overlay::Workflows(p)) = &s.overlay else { panic!("a confirmation: {:?}", s.overlay) };
    let WfPopup::Confirm { question, lines, source, .. } = &**p else { panic!("{p:?}") };
    assert_eq!(question, "Cancel run busy-bee (etl/nightly)?");
    assert_eq!(source, "prefect");
    assert!(lines[0].contains("no deployment runs it"), "{lines:?}");
}

#[test]
fn a_paused_prefect_run_offers_resume_and_cancel_through_the_approval_popup() {
    let fx = Fx::new();
    let mut s = fx.state();
    let mut paused = prefect_run(80, "still-pond", RunState::Waiting, false);
    paused.external.as_mut().unwrap().state_name = "Paused".into();
    from_prefect(&fx, &mut s, Event::RunChanged(Box::new(paused)));
    let mut step = step("flow-run", "flow", RunState::Waiting, Some(NOW - 30_000), None);
    step.attempt = 1;
    from_prefect(&fx, &mut s, Event::StepChanged { run: 80, attempt: 1, step: Box::new(step) });
    select(&fx, &mut s, "still-pond");
    let hints: Vec<String> = s.hints.iter().map(|h| h.1.clone()).collect();
    assert!(hints.iter().any(|h| h == "resume") && hints.iter().any(|h| h == "cancel"), "{hints:?}");
    fx.key(&mut s, KeyCode::Char('a'));
    assert!(
        matches!(&s.overlay, Some(Overlay::Workflows(p)) if matches!(&**p, WfPopup::Decide { .. })),
        "{:?}",
        s.overlay
    );
    let effects = fx.key(&mut s, KeyCode::Enter);
    let sent = commands(&effects);
    assert!(matches!(sent[..], [Command::Workflows(WorkflowsCommand::Approve { run: 80, .. })]), "{sent:?}");
}
