//! The workflows pane's popups: the start form, "are you sure?", and
//! approve/reject with the step's message and a note.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::app::AppState;
use crate::app::panes::workflows::WfPopup;
use crate::app::panes::workflows::rerun::RerunOf;
use crate::config::theme::{Role, Theme};
use crate::protocol::workflow::WorkflowInfo;
use crate::text;
use crate::ui::overlay::{centered, input_line, popup};
use crate::ui::panes::tools::render_fields;

fn place(body: Rect, width_pct: u16, max_w: u16, height: usize) -> Rect {
    let mut r = centered(body, width_pct, 100, max_w);
    r.height = (height as u16).min(body.height);
    r.y = body.y + body.height.saturating_sub(r.height) / 2;
    r
}

fn wrapped(s: &str, width: u16, style: ratatui::style::Style) -> Vec<Line<'static>> {
    text::wrap_words(&text::clean(s), usize::from(width.saturating_sub(2)).max(1))
        .into_iter()
        .map(|l| Line::styled(l, style))
        .collect()
}

pub fn render(f: &mut Frame, body: Rect, _s: &AppState, p: &WfPopup, t: &Theme) {
    let dim = t.style(Role::TextDim);
    match p {
        WfPopup::Start { source, workflow, form, on_start, rerun } => {
            let width = centered(body, 80, 100, 100).width;
            // What the run will do: its steps, those that change things marked;
            // in a rerun, only the steps that run again ask for consent.
            let runs = |id: &str| rerun.as_ref().is_none_or(|of| of.runs(id));
            let mutating: Vec<&str> =
                workflow.steps.iter().filter(|s| s.mutating && runs(&s.id)).map(|s| s.id.as_str()).collect();
            let mut about = Vec::new();
            if let Some(of) = rerun {
                about.extend(rerun_lines(of, workflow, width, t));
            }
            if !workflow.description.is_empty() {
                about.extend(wrapped(&workflow.description, width, dim));
            }
            let steps: Vec<String> = workflow
                .steps
                .iter()
                .map(|s| match (runs(&s.id), s.mutating) {
                    (false, _) => format!("{} (reused)", s.id),
                    (true, true) => format!("{} ⚠", s.id),
                    (true, false) => s.id.clone(),
                })
                .collect();
            if workflow.steps.is_empty() {
                // A Prefect deployment: what its flow does is the flow's own code.
                let say = format!(
                    "Starts a flow run on {source}: its steps are the flow's own (its task runs show as they start), and they may change anything the flow touches."
                );
                about.extend(wrapped(&say, width, t.style(Role::StatusWarn)));
            } else {
                about.extend(wrapped(&format!("steps: {}", steps.join(" → ")), width, t.style(Role::Text)));
            }
            if mutating.is_empty() && !workflow.steps.is_empty() {
                let say = match rerun {
                    Some(_) => "No step that runs again changes anything outside opsdeck.",
                    None => "No step changes anything outside opsdeck.",
                };
                about.extend(wrapped(say, width, t.style(Role::StatusOk)));
            } else if !mutating.is_empty() {
                let list = mutating.join(", ");
                let one = mutating.len() == 1;
                let them = if one { "it" } else { "them" };
                let say = match rerun {
                    Some(of) => {
                        let may = if of.again.is_none() { "may run" } else { "runs" };
                        let steps = match (one, of.again.is_none()) {
                            (true, _) => format!("A step that {may} again changes"),
                            (false, true) => "Steps that may run again and change".to_string(),
                            (false, false) => "Steps that run again and change".to_string(),
                        };
                        format!("⚠ {steps} things outside opsdeck: {list}. Rerunning is your consent to run {them}.")
                    }
                    None => format!(
                        "⚠ {} things outside opsdeck: {list}. Starting is your consent to run {them}.",
                        if one { "1 step changes".to_string() } else { format!("{} steps change", mutating.len()) }
                    ),
                };
                about.extend(wrapped(&say, width, t.style(Role::StatusWarn)));
            }
            let fixed = form.fields.iter().filter(|f| f.fixed.is_some()).count();
            if fixed > 0 {
                let say = "Inputs marked fixed are read only by steps whose outputs are reused: a new value would change nothing.";
                about.extend(wrapped(say, width, dim));
            }
            let fields_h = form.fields.len().max(1) + form.error_count();
            let r = place(body, 80, 100, about.len() + fields_h + 5);
            f.render_widget(Clear, r);
            let title = match rerun {
                Some(of) => format!("Rerun #{} {} on {source} with edited inputs", of.run, workflow.name),
                None => format!("Start {} on {source}", workflow.name),
            };
            let block = popup(&title, r.width, t);
            let inner = block.inner(r);
            f.render_widget(block, r);
            let about_h = (about.len() as u16).min(inner.height.saturating_sub(3));
            f.render_widget(Paragraph::new(about), Rect { height: about_h, ..inner });
            let fields = Rect { y: inner.y + about_h + 1, height: inner.height.saturating_sub(about_h + 3), ..inner };
            if form.fields.is_empty() {
                f.render_widget(Span::styled(" It takes no inputs.", dim), fields);
            } else {
                render_fields(f, fields, !*on_start, form, t);
            }
            let button = Rect { y: inner.y + inner.height.saturating_sub(1), height: 1.min(inner.height), ..inner };
            let style = if *on_start {
                t.style(Role::Selection).add_modifier(Modifier::BOLD)
            } else {
                t.style(Role::TextAccent)
            };
            let label = match (rerun.is_some(), *on_start) {
                (false, true) => "▸ ▶ Start the run (Enter)",
                (false, false) => "  ▶ Start the run (↓ to here, Enter)",
                (true, true) => "▸ ↻ Rerun with these inputs (Enter)",
                (true, false) => "  ↻ Rerun with these inputs (↓ to here, Enter)",
            };
            f.render_widget(Span::styled(text::fit(label, button.width.into()), style), button);
        }
        WfPopup::Confirm { question, lines, .. } => {
            let width = centered(body, 70, 100, 76).width;
            let mut shown = wrapped(question, width, t.style(Role::Text).add_modifier(Modifier::BOLD));
            for l in lines {
                shown.extend(wrapped(l, width, t.style(Role::Text)));
            }
            shown.push(Line::raw(""));
            shown.extend(wrapped("Enter: yes, do it · Esc: no, keep it", width, dim));
            let r = place(body, 70, 76, shown.len() + 2);
            f.render_widget(Clear, r);
            let block = popup("Are you sure?", r.width, t);
            let inner = block.inner(r);
            f.render_widget(block, r);
            f.render_widget(Paragraph::new(shown), inner);
        }
        WfPopup::Decide { run, step, approve, message, note, .. } => {
            let width = centered(body, 70, 100, 90).width;
            let verb = if *approve { "Approve" } else { "Reject" };
            let mut shown = wrapped(message, width, t.style(Role::Text).add_modifier(Modifier::BOLD));
            shown.push(Line::raw(""));
            let what = if *approve {
                "Approving lets the run go on past this step."
            } else {
                "Rejecting fails this step; the steps after it do not run."
            };
            shown.extend(wrapped(what, width, dim));
            let r = place(body, 70, 90, shown.len() + 5);
            f.render_widget(Clear, r);
            let title = format!("{verb} step {step} of run #{run}? (Enter {}, Esc cancels)", verb.to_lowercase());
            let block = popup(&title, r.width, t);
            let inner = block.inner(r);
            f.render_widget(block, r);
            let text_h = (shown.len() as u16).min(inner.height.saturating_sub(2));
            f.render_widget(Paragraph::new(shown), Rect { height: text_h, ..inner });
            if inner.height > text_h + 1 {
                let line = Rect { y: inner.y + text_h + 1, height: 1, ..inner };
                input_line(f, line, "note ", note, t);
            }
        }
    }
}

/// What a rerun with edited inputs does, above the form.
fn rerun_lines(of: &RerunOf, workflow: &WorkflowInfo, width: u16, t: &Theme) -> Vec<Line<'static>> {
    let say = format!(
        "Reruns {} as attempt {} of run #{}, with the inputs below (filled with attempt {}'s).",
        of.steps_word(),
        of.attempt + 1,
        of.run,
        of.attempt
    );
    let mut v = wrapped(&say, width, t.style(Role::Text));
    if of.version != workflow.version {
        let say = format!(
            "⚠ The run ran version {}; the file is now {}. The inputs are the current file's; the rerun runs {}.",
            of.version, workflow.version, of.version
        );
        v.extend(wrapped(&say, width, t.style(Role::StatusWarn)));
    }
    v
}
