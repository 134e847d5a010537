//! Reducer tests of `rerun_with_inputs` (`I`): the start form filled with a
//! run's inputs, edited, sent as `rerun_run` with the inputs.

use super::*;
use crate::app::panes::workflows::rerun::RerunOf;

/// Run #3 (deploy, failed, attempt 2) ran with host web-1 and version v1.
fn with_inputs(fx: &Fx, s: &mut AppState) {
    let mut r3 = run(3, 2, "deploy", RunState::Failed, NOW - 600_000, Some(90_000));
    r3.inputs.insert("host".into(), json!("web-1"));
    r3.inputs.insert("version".into(), json!("v1"));
    fx.event(s, Event::RunChanged(Box::new(r3)));
}

fn popup(s: &AppState) -> &WfPopup {
    match &s.overlay {
        Some(Overlay::Workflows(p)) => p,
        other => panic!("a workflows popup expected: {other:?}"),
    }
}

/// Each field's label and text (an enum's text is its value's JSON).
fn texts(p: &WfPopup) -> Vec<(String, String)> {
    let WfPopup::Start { form, .. } = p else { panic!("the start form expected: {p:?}") };
    form.fields.iter().map(|f| (f.label().to_string(), f.text.clone())).collect()
}

fn inputs(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs.iter().map(|(k, v)| (k.to_string(), json!(v))).collect()
}

#[test]
fn the_form_is_filled_with_the_runs_inputs_and_reruns_its_failed_steps_with_the_edits() {
    let fx = Fx::new();
    let mut s = fx.state();
    with_inputs(&fx, &mut s);
    fx.key(&mut s, KeyCode::Tab);
    fx.key(&mut s, KeyCode::Down);
    assert_eq!(s.workflows.selected_run().map(|r| r.run.id), Some(3));
    read_for_rerun(&fx, &mut s);
    let p = popup(&s);
    let WfPopup::Start { rerun, on_start: false, .. } = p else { panic!("{p:?}") };
    let again = Some(["roll".to_string()].into());
    let want =
        RerunOf { run: 3, attempt: 2, from: RerunFrom::Failed, version: "0123456789ab".into(), again, reused: true };
    assert_eq!(rerun.as_ref(), Some(&want), "roll failed: it reruns");
    assert_eq!(texts(p), [("host".into(), "web-1".into()), ("version".into(), "\"v1\"".into())]);
    // host: web-1 → web-2; version: v1 → v2; down to the rerun row.
    fx.key(&mut s, KeyCode::Enter);
    fx.key(&mut s, KeyCode::Backspace);
    fx.chars(&mut s, "2");
    fx.key(&mut s, KeyCode::Enter);
    fx.key(&mut s, KeyCode::Down);
    fx.key(&mut s, KeyCode::Enter);
    assert_eq!(texts(popup(&s)), [("host".into(), "web-2".into()), ("version".into(), "\"v2\"".into())]);
    fx.key(&mut s, KeyCode::Down);
    let sent = commands(&fx.key(&mut s, KeyCode::Enter));
    let want = WorkflowsCommand::RerunRun {
        run: 3,
        from: RerunFrom::Failed,
        current: false,
        inputs: Some(inputs(&[("host", "web-2"), ("version", "v2")])),
    };
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].1, want);
    assert!(s.overlay.is_none(), "sent: the form closes");
    assert!(s.pending_commands.values().any(|w| w.contains("run #3") && w.contains("edited inputs")));
}

#[test]
fn in_the_run_box_it_reruns_from_the_selected_step() {
    let fx = Fx::new();
    let mut s = fx.state();
    open_failed_run(&fx, &mut s);
    with_inputs(&fx, &mut s);
    // Select `approve` (the failed `roll` is selected first).
    fx.key(&mut s, KeyCode::Up);
    assert_eq!(s.workflows.selected_step().map(|s| s.id.as_str()), Some("approve"));
    fx.chars(&mut s, "I");
    let WfPopup::Start { rerun: Some(of), .. } = popup(&s) else { panic!() };
    assert_eq!(of.from, RerunFrom::Step("approve".into()));
    fx.key(&mut s, KeyCode::Down);
    fx.key(&mut s, KeyCode::Down);
    let sent = commands(&fx.key(&mut s, KeyCode::Enter));
    let want = WorkflowsCommand::RerunRun {
        run: 3,
        from: RerunFrom::Step("approve".into()),
        current: false,
        inputs: Some(inputs(&[("host", "web-1"), ("version", "v1")])),
    };
    assert_eq!(sent.iter().map(|c| &c.1).collect::<Vec<_>>(), [&want]);
}

#[test]
fn a_required_input_cleared_keeps_the_form_open_and_sends_nothing() {
    let fx = Fx::new();
    let mut s = fx.state();
    with_inputs(&fx, &mut s);
    fx.key(&mut s, KeyCode::Tab);
    fx.key(&mut s, KeyCode::Down);
    read_for_rerun(&fx, &mut s);
    fx.key(&mut s, KeyCode::Enter);
    for _ in 0.."web-1".len() {
        fx.key(&mut s, KeyCode::Backspace);
    }
    fx.key(&mut s, KeyCode::Enter);
    fx.key(&mut s, KeyCode::Down);
    fx.key(&mut s, KeyCode::Down);
    assert!(commands(&fx.key(&mut s, KeyCode::Enter)).is_empty(), "host is required");
    assert!(matches!(popup(&s), WfPopup::Start { rerun: Some(_), .. }), "the form stays open");
    assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains("fix the inputs")), "{:?}", s.notice);
    fx.key(&mut s, KeyCode::Esc);
    assert!(s.overlay.is_none(), "Esc leaves it, sending nothing");
}

#[test]
fn runs_that_cannot_be_rerun_with_inputs_say_why() {
    let fx = Fx::new();
    let mut s = fx.state();
    fx.key(&mut s, KeyCode::Tab);
    let said = |s: &AppState, what: &str| {
        assert!(s.overlay.is_none(), "{:?}", s.overlay);
        assert!(s.notice.as_ref().is_some_and(|(_, n)| n.contains(what)), "{what}: {:?}", s.notice);
    };
    // #4 is waiting: it has not ended.
    assert!(fx.chars(&mut s, "I").is_empty());
    said(&s, "rerun it once it has ended");
    // #2 (backup) takes no inputs.
    fx.key(&mut s, KeyCode::Down);
    fx.key(&mut s, KeyCode::Down);
    fx.chars(&mut s, "I");
    said(&s, "takes no inputs");
    // In the workflows list there is no run.
    s.focus = BoxId::WfList;
    fx.chars(&mut s, "I");
    said(&s, "select a run");
    // Under --read-only it is refused.
    s.read_only = true;
    s.focus = BoxId::WfRuns;
    fx.chars(&mut s, "I");
    said(&s, "read-only");
}

#[test]
fn a_run_that_succeeded_reruns_every_step() {
    let fx = Fx::new();
    let mut s = fx.state();
    fx.key(&mut s, KeyCode::Tab);
    for _ in 0..3 {
        fx.key(&mut s, KeyCode::Down);
    }
    assert_eq!(s.workflows.selected_run().map(|r| (r.run.id, r.run.state)), Some((1, RunState::Succeeded)));
    fx.chars(&mut s, "I");
    let WfPopup::Start { rerun: Some(of), .. } = popup(&s) else { panic!() };
    assert_eq!(of.from, RerunFrom::All, "nothing failed");
}

/// deploy as a chain: build reads `version`, approve and roll read `host`;
/// approve needs build, roll needs approve.
fn chained(s: &mut AppState) {
    let (_, deploy) = s.workflows.workflows.iter_mut().find(|(_, w)| w.name == "deploy").expect("deploy");
    let reads = |r: &[&str]| Some(r.iter().map(|s| s.to_string()).collect());
    for st in &mut deploy.steps {
        (st.needs, st.reads) = match st.id.as_str() {
            "build" => (vec![], reads(&["version"])),
            "approve" => (vec!["build".into()], reads(&["host"])),
            _ => (vec!["approve".into()], reads(&["host"])),
        };
    }
}

#[test]
fn from_a_step_inputs_only_reused_steps_read_are_fixed_and_only_steps_that_run_ask_consent() {
    let fx = Fx::new();
    let mut s = fx.state();
    chained(&mut s);
    open_failed_run(&fx, &mut s);
    with_inputs(&fx, &mut s);
    fx.key(&mut s, KeyCode::Up);
    assert_eq!(s.workflows.selected_step().map(|s| s.id.as_str()), Some("approve"));
    fx.chars(&mut s, "I");
    let WfPopup::Start { rerun: Some(of), form, .. } = popup(&s) else { panic!("{:?}", s.overlay) };
    let again: Vec<&str> = of.again.iter().flatten().map(String::as_str).collect();
    assert_eq!(again, ["approve", "roll"], "approve and what needs it run; build's output is reused");
    assert!(!of.runs("build"));
    let fixed: Vec<(&str, Option<&str>)> = form.fields.iter().map(|f| (f.label(), f.fixed.as_deref())).collect();
    assert_eq!(
        fixed,
        [("host", None), ("version", Some("fixed: read only by build (reused)"))],
        "version is read only by build"
    );
    // The fixed field cannot be reached or changed: ↓ from host goes to the rerun row.
    fx.key(&mut s, KeyCode::Down);
    let WfPopup::Start { on_start, .. } = popup(&s) else { panic!() };
    assert!(*on_start, "version is skipped");
    let sent = commands(&fx.key(&mut s, KeyCode::Enter));
    assert_eq!(sent.len(), 1, "{sent:?}");
}

/// From the first step of a chain every step runs again: nothing is said
/// to be reused; from a later one the earlier outputs are.
#[test]
fn from_the_first_step_nothing_is_said_to_be_reused() {
    let fx = Fx::new();
    let mut s = fx.state();
    chained(&mut s);
    open_failed_run(&fx, &mut s);
    with_inputs(&fx, &mut s);
    let word = |s: &mut AppState, step: &str| {
        while s.workflows.selected_step().is_some_and(|st| st.id != step) {
            fx.key(s, KeyCode::Up);
        }
        fx.chars(s, "I");
        let WfPopup::Start { rerun: Some(of), .. } = popup(s) else { panic!("{:?}", s.overlay) };
        let word = of.steps_word();
        fx.key(s, KeyCode::Esc);
        word
    };
    assert_eq!(word(&mut s, "approve"), "from step approve (earlier outputs reused)");
    assert_eq!(word(&mut s, "build"), "from step build");
}

/// `I` on run #3 in the runs list, its steps not read yet: they are read
/// first (which failed decides what reruns), then the form opens.
fn read_for_rerun(fx: &Fx, s: &mut AppState) {
    let sent = commands(&fx.chars(s, "I"));
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].1, WorkflowsCommand::ShowRun { run: 3, attempt: None }, "the steps are read first");
    assert!(s.overlay.is_none(), "no form that cannot say what reruns");
    let detail = json!({
        "run": s.workflows.find(LOCAL_SOURCE, 3).map(|r| r.run.clone()),
        "steps": [
            step("build", "shell", RunState::Succeeded, Some(NOW - 600_000), Some(20_000)),
            step("approve", "approve", RunState::Succeeded, Some(NOW - 580_000), Some(20_000)),
            step("roll", "shell", RunState::Failed, Some(NOW - 560_000), Some(50_000)),
        ]
    });
    answer(fx, s, &sent[0].0, Ok(detail));
}

#[test]
fn from_the_runs_list_the_steps_are_read_first_and_the_form_is_as_honest_as_from_a_step() {
    let fx = Fx::new();
    let mut s = fx.state();
    chained(&mut s);
    with_inputs(&fx, &mut s);
    fx.key(&mut s, KeyCode::Tab);
    fx.key(&mut s, KeyCode::Down);
    read_for_rerun(&fx, &mut s);
    let WfPopup::Start { rerun: Some(of), form, .. } = popup(&s) else { panic!("{:?}", s.overlay) };
    let again: Vec<&str> = of.again.iter().flatten().map(String::as_str).collect();
    assert_eq!(again, ["roll"], "only roll failed");
    let fixed: Vec<(&str, Option<&str>)> = form.fields.iter().map(|f| (f.label(), f.fixed.as_deref())).collect();
    assert_eq!(fixed, [("host", None), ("version", Some("fixed: read only by build (reused)"))]);
    // Pressed again, the steps are known: the form opens at once.
    fx.key(&mut s, KeyCode::Esc);
    assert!(commands(&fx.chars(&mut s, "I")).is_empty(), "read once");
    assert!(matches!(popup(&s), WfPopup::Start { rerun: Some(_), .. }));
}

#[test]
fn a_run_that_cannot_be_read_for_its_rerun_says_why_and_opens_nothing() {
    let fx = Fx::new();
    let mut s = fx.state();
    with_inputs(&fx, &mut s);
    fx.key(&mut s, KeyCode::Tab);
    fx.key(&mut s, KeyCode::Down);
    let sent = commands(&fx.chars(&mut s, "I"));
    answer(&fx, &mut s, &sent[0].0, Err("no run 3".into()));
    assert!(s.overlay.is_none());
    let text = s.notice.as_ref().map(|(_, t)| t.clone()).unwrap_or_default();
    assert!(text.contains("run #3") && text.contains("no run 3"), "{text}");
}

#[test]
fn a_required_field_filled_loses_its_mark_as_it_is_typed_and_when_left() {
    let fx = Fx::new();
    let mut s = fx.state();
    fx.key(&mut s, KeyCode::Down);
    fx.chars(&mut s, "s");
    let err = |s: &AppState| {
        let WfPopup::Start { form, .. } = popup(s) else { panic!("{:?}", s.overlay) };
        form.fields[0].error.clone()
    };
    // Start pressed with host empty: marked.
    fx.key(&mut s, KeyCode::Down);
    fx.key(&mut s, KeyCode::Down);
    fx.key(&mut s, KeyCode::Enter);
    assert_eq!(err(&s).as_deref(), Some("required"));
    fx.key(&mut s, KeyCode::Up);
    fx.key(&mut s, KeyCode::Up);
    fx.key(&mut s, KeyCode::Enter);
    fx.chars(&mut s, "w");
    assert_eq!(err(&s), None, "the mark follows the typing");
    fx.key(&mut s, KeyCode::Backspace);
    assert_eq!(err(&s).as_deref(), Some("required"), "emptied again: marked again");
    fx.chars(&mut s, "web-1");
    // ↓ leaves the field: its text is kept and checked, and the selection moves.
    fx.key(&mut s, KeyCode::Down);
    let WfPopup::Start { form, .. } = popup(&s) else { panic!() };
    assert!(form.editing.is_none(), "leaving the field ends its edit");
    assert_eq!((form.fields[0].text.as_str(), form.fields[0].error.as_ref(), form.selected), ("web-1", None, 1));
}

#[test]
fn left_and_right_move_the_cursor_of_an_edited_field() {
    let fx = Fx::new();
    let mut s = fx.state();
    fx.key(&mut s, KeyCode::Down);
    fx.chars(&mut s, "s");
    fx.key(&mut s, KeyCode::Enter);
    fx.chars(&mut s, "wb");
    fx.key(&mut s, KeyCode::Left);
    fx.chars(&mut s, "e");
    fx.key(&mut s, KeyCode::Right);
    fx.chars(&mut s, "1");
    fx.key(&mut s, KeyCode::Enter);
    let WfPopup::Start { form, .. } = popup(&s) else { panic!() };
    assert_eq!(form.fields[0].text, "web1");
}
