//! Snapshots of the workflows pane after a new user's findings: a rerun
//! form that fixes inputs only reused steps read, popups cut with `…`, the
//! versions box scrolled sideways, and problem lines of workflow files.

mod support;

use opsdeck::app::panes::tools::ToolsPopup;
use opsdeck::app::{Action, Overlay, UserAction, update};
use ratatui::crossterm::event::KeyCode;
use serde_json::json;

use support::workflows::*;
use support::{NOW, Seed};

/// Rerun with edited inputs from step approve of run #5: build (reused)
/// is the only step that reads `version`, so it is fixed; the consent
/// names roll only (build does not run).
#[test]
fn rerun_from_a_step_fixes_inputs_only_reused_steps_read_80x24() {
    let seed = Seed::new();
    let mut s = failed_run_open(&seed);
    for (_, w) in s.workflows.workflows.iter_mut().filter(|(_, w)| w.name == "deploy") {
        for st in &mut w.steps {
            st.reads = Some(if st.id == "build" { vec!["version".into()] } else { Vec::new() });
        }
        w.inputs[0].required = false;
        w.inputs.push(opsdeck::protocol::workflow::InputInfo { name: "canary".into(), ..w.inputs[0].clone() });
    }
    for st in s.workflows.workflows.iter_mut().flat_map(|(_, w)| w.steps.iter_mut()).filter(|st| st.id == "roll") {
        st.reads = Some(vec!["canary".into()]);
    }
    let r5 = s.workflows.runs.iter_mut().find(|r| r.run.id == 5).expect("run #5");
    r5.run.inputs.insert("version".into(), json!("v2.4.0"));
    r5.run.inputs.insert("canary".into(), json!("web-3"));
    key(&seed, &mut s, KeyCode::Up);
    assert_eq!(s.workflows.selected_step().map(|s| s.id.as_str()), Some("approve"));
    update(&mut s, Action::User(UserAction::RerunWithInputs), &seed.ctx());
    let t = draw(&s, 80, 24);
    let text = screen(&t);
    assert!(text.contains("fixed: read only by build (reused)"), "{text}");
    assert!(
        text.contains("A step that runs again changes things outside opsdeck: roll.") && !text.contains("build, roll"),
        "only roll: {text}"
    );
    insta::assert_snapshot!(t.backend());
}

/// The save-chain popup: its title and the status bar say Enter saves.
#[test]
fn save_chain_popup_says_enter_saves_80x24() {
    let seed = Seed::new();
    let mut s = state(&seed);
    s.overlay = Some(Overlay::Tools(Box::new(ToolsPopup::save_chain())));
    s.refresh_hints(&seed.keymap);
    let t = draw(&s, 80, 24);
    let text = screen(&t);
    assert!(text.contains("Enter saves") && text.contains("save"), "{text}");
    assert!(!text.contains("Enter run"), "Enter does not run anything here: {text}");
    insta::assert_snapshot!(t.backend());
}

/// At 60 columns the approve popup's title does not fit: its key hint is
/// left out (never cut bare), the question kept whole.
#[test]
fn approve_popup_title_fits_60x20() {
    let seed = Seed::new();
    let mut s = state(&seed);
    s.focus = opsdeck::app::BoxId::WfRuns;
    key(&seed, &mut s, KeyCode::Down);
    update(&mut s, Action::User(UserAction::ApproveStep), &seed.ctx());
    let t = draw(&s, 60, 20);
    let text = screen(&t);
    assert!(text.contains("Approve step approve of run #7? ═") && !text.contains("(Ente"), "{text}");
    insta::assert_snapshot!(t.backend());
}

/// A problem line at 80 columns: a selectable row cut with `…`; Enter
/// shows the whole message.
#[test]
fn problem_row_selected_and_shown_80x24() {
    let seed = Seed::new();
    let mut s = state(&seed);
    key(&seed, &mut s, KeyCode::Up);
    let t = draw(&s, 80, 24);
    let text = screen(&t);
    assert!(text.contains("▸⚠ local: /home/ana/.config/opsdeck/workflows/cert.toml:4:9: unknown tool `ce…"), "{text}");
    key(&seed, &mut s, KeyCode::Enter);
    let t = draw(&s, 80, 24);
    assert!(screen(&t).contains("`certbot`") && screen(&t).contains("E opens it"), "{}", screen(&t));
    insta::assert_snapshot!(t.backend());
}

/// The report: after a rollback (the oldest version is the file's content
/// again), a diff of a marked version was headed as a rollback from the
/// current file. Each side is named in words; no rollback is claimed.
#[test]
fn a_marked_diff_after_a_rollback_names_each_side_80x24() {
    let seed = Seed::new();
    let mut s = versions(&seed);
    for (_, w) in s.workflows.workflows.iter_mut().filter(|(_, w)| w.name == "deploy") {
        w.version = "0a1b2c3d4e5f".into();
    }
    key(&seed, &mut s, KeyCode::Down);
    chars(&seed, &mut s, "m");
    key(&seed, &mut s, KeyCode::Up);
    let id = ask(&seed, &mut s, UserAction::VersionDiff, "show_version");
    let diff = "--- 0a1b2c3d4e5f\n+++ 1b2c3d4e5f60\n@@ -1 +1 @@\n-timeout = \"30s\"\n+timeout = \"60s\"\n";
    answer(&seed, &mut s, id, json!({"diff": diff}));
    let text = screen(&draw(&s, 120, 40));
    assert!(text.contains("- 0a1b2c3 (30d old, current file) → + 1b2c3d4 (2d old)"), "{text}");
    assert!(!text.contains("rolling back"), "a marked diff is not a rollback preview");
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

/// `→` five times in a diff whose lines are wider than 80 columns: the
/// header says the column, hidden text on the left is marked `…`, and the
/// `-`/`+` prefixes stay put.
#[test]
fn version_diff_scrolled_sideways_80x24() {
    let seed = Seed::new();
    let mut s = version_diff(&seed);
    for _ in 0..5 {
        key(&seed, &mut s, KeyCode::Right);
    }
    let text = screen(&draw(&s, 80, 24));
    assert!(text.contains("col 41 ←/→ · - current file 3f9a0c2 → + 1b2c3d4"), "{text}");
    assert!(text.contains("-…") && text.contains("deploy/web\""), "the end of the long line is in view: {text}");
    insta::assert_snapshot!(draw(&s, 80, 24).backend());
}

/// Starting backup, whose one step upload changes things: the consent
/// agrees in number ("1 step changes …, your consent to run it").
#[test]
fn start_form_with_one_step_that_changes_things_80x24() {
    let seed = Seed::new();
    let mut s = state(&seed);
    for _ in 0..5 {
        if s.workflows.selected_workflow().is_some_and(|(_, w)| w.name == "backup") {
            break;
        }
        key(&seed, &mut s, KeyCode::Down);
    }
    update(&mut s, Action::User(UserAction::StartWorkflow), &seed.ctx());
    let t = draw(&s, 80, 24);
    let text = screen(&t);
    assert!(text.contains("⚠ 1 step changes things outside opsdeck: upload."), "{text}");
    assert!(text.contains("your consent to run it."), "{text}");
    insta::assert_snapshot!(t.backend());
}

/// A NEXT wider than its column (`in 18h 5m` in 8 cells) is cut with `…`,
/// never bare (`in 18h 5`).
#[test]
fn workflows_list_cuts_a_long_next_with_an_ellipsis_80x24() {
    let seed = Seed::new();
    let mut s = state(&seed);
    for (_, w) in s.workflows.workflows.iter_mut().filter(|(_, w)| w.name == "health-sweep") {
        w.next_fire = Some(NOW + (18 * 60 + 5) * 60_000);
    }
    let t = draw(&s, 80, 24);
    let text = screen(&t);
    assert!(text.contains("in 18h") && !text.contains("in 18h 5 "), "{text}");
    let row = text.lines().find(|l| l.contains("health-sweep")).expect("health-sweep's row");
    assert!(row.contains("in 18h …") || row.contains("in 18h…"), "{row}");
    insta::assert_snapshot!(t.backend());
}

/// The position counts the problem row as a row: `1/N` on it, `2/N` on
/// the first workflow (both said 1/N-1).
#[test]
fn the_workflows_lists_position_counts_problem_rows() {
    let seed = Seed::new();
    let mut s = state(&seed);
    let (src, health) = s.workflows.workflows.last().cloned().expect("a workflow");
    for i in 0..9 {
        s.workflows.workflows.push((
            src.clone(),
            opsdeck::protocol::workflow::WorkflowInfo { name: format!("check-{i}"), ..health.clone() },
        ));
    }
    let n = s.workflows.workflows.len() + s.workflows.problems.len();
    let pos = |s: &opsdeck::app::AppState| {
        let text = screen(&draw(s, 80, 24));
        let top = text.lines().take(12).collect::<Vec<_>>().join("\n");
        (1..=n).find(|k| top.contains(&format!(" {k}/{n} "))).unwrap_or_else(|| panic!("no position of {n}: {top}"))
    };
    assert_eq!(s.workflows.problem_sel, None);
    assert_eq!(pos(&s), 2, "the first workflow is the second row");
    key(&seed, &mut s, KeyCode::Up);
    assert_eq!(s.workflows.problem_sel, Some(0), "the problem row is selected");
    assert_eq!(pos(&s), 1);
}

/// A rejected step's detail says the rejection once, with its note (the
/// step's error `rejected by root` is not repeated above it).
#[test]
fn a_rejected_step_says_the_rejection_once_120x40() {
    let seed = Seed::new();
    let mut s = state(&seed);
    s.focus = opsdeck::app::BoxId::WfRuns;
    for _ in 0..2 {
        key(&seed, &mut s, KeyCode::Down);
    }
    let mut detail = failed_detail();
    for st in detail.steps.iter_mut().filter(|st| st.id == "approve") {
        st.state = opsdeck::protocol::workflow::RunState::Failed;
        st.error = Some("rejected by root".into());
        st.decision = Some(opsdeck::protocol::workflow::Decision {
            approved: false,
            by: "root".into(),
            at: NOW,
            note: "nope".into(),
        });
    }
    let show = ask(&seed, &mut s, UserAction::Confirm, "show_run");
    answer(&seed, &mut s, show, serde_json::to_value(detail).expect("json"));
    while s.workflows.selected_step().is_some_and(|st| st.id != "approve") {
        key(&seed, &mut s, KeyCode::Up);
    }
    let t = draw(&s, 120, 40);
    let text = screen(&t);
    assert_eq!(text.matches("rejected by root").count(), 1, "{text}");
    assert!(text.contains("✗ rejected by root: nope"), "{text}");
    insta::assert_snapshot!(t.backend());
}

/// A click on a workflow row selects the workflow drawn there, with files
/// left out listed above the table (the click was mapped as if they were
/// not there, one row per problem too high).
#[test]
fn a_click_selects_the_workflow_drawn_under_it_below_the_problem_rows() {
    let seed = Seed::new();
    let mut s = state(&seed);
    key(&seed, &mut s, KeyCode::Up); // the problem row selected
    let screen_area = ratatui::layout::Rect::new(0, 0, 80, 24);
    let t = draw(&s, 80, 24);
    let buf = t.backend().buffer();
    let row_of = |needle: &str| {
        (0..24u16).find(|y| (0..80u16).map(|x| buf[(x, *y)].symbol()).collect::<String>().contains(needle))
    };
    let name = s.workflows.workflows[1].1.name.clone();
    let y = row_of(&format!(" {name} ")).expect("the second workflow is drawn");
    let (b, item) = opsdeck::ui::hit_test(screen_area, &s, 20, y).expect("a box there");
    assert_eq!((b, item), (opsdeck::app::BoxId::WfList, Some(1)), "the row drawn at y {y} is workflow 1");
    update(&mut s, Action::Mouse(opsdeck::app::MouseInput::Click(b, item)), &seed.ctx());
    assert_eq!((s.workflows.problem_sel, s.workflows.wf_sel), (None, 1), "the clicked workflow, not the problem row");
}
