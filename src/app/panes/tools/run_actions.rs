//! Starting, cancelling, re-running and comparing runs; the actions on a
//! run's result (export, copy, chain).

use serde_json::Value;

use super::chain::Step;
use super::list::Target;
use super::runs::{self, RunView};
use super::{Out, ToolsPopup, ToolsState, export, file_stem};
use crate::app::{BoxId, Effect, UserAction};

impl ToolsState {
    /// Start a run of `tool` with `args` (already validated and, if needed, confirmed).
    pub fn start(&mut self, tool: &str, args: Value, confirmed: bool, out: &mut Out) -> u64 {
        let id = self.open_run(tool, args.clone(), out.now);
        out.effects.push(Effect::RunTool { run: id, tool: tool.into(), args, confirmed });
        id
    }
    /// A new live run of `tool` at the top of the history, shown (a run of
    /// the pane's own, or a step of a chain the engine runs).
    pub(super) fn open_run(&mut self, tool: &str, args: Value, now: crate::protocol::Ts) -> u64 {
        let id = self.alloc();
        let source = self.tool(tool).map_or_else(String::new, |t| t.source.clone());
        self.runs.insert(0, RunView::live(id, tool, &source, args, now));
        self.runs.truncate(runs::RUNS_KEPT);
        self.hist_sel = 0;
        self.show(id);
        id
    }
    /// `r`: run the selected chain, or the form's tool with its arguments.
    pub(super) fn run_selected(&mut self, out: &mut Out) -> bool {
        if let Some(Target::Chain(i)) = self.selected()
            && self.form.is_none()
        {
            return self.run_chain(i, out);
        }
        let Some(form) = &mut self.form else {
            out.notice = Some("choose a tool first (Enter on the list)".into());
            return true;
        };
        let Some(args) = form.args() else {
            out.notice = Some(format!(
                "✗ {} to fix before {} can run",
                crate::text::count(form.error_count() as u64, "field", "fields"),
                form.tool
            ));
            out.focus = Some(BoxId::ToolForm);
            return true;
        };
        let tool = form.tool.clone();
        let mutating = self.tool(&tool).is_some_and(|t| t.mutating);
        if mutating && out.read_only {
            out.notice = Some(format!("✗ {tool} changes things; opsdeck runs --read-only"));
            return true;
        }
        if mutating {
            out.popup = Some(ToolsPopup::confirm_run(&tool, &args));
            return true;
        }
        self.start_form_run(&tool, args, false, out);
        true
    }
    /// Start the form's run. A chained form's run becomes a step of the chain
    /// being built once it succeeds, with exactly these arguments
    /// ([`ToolsState::building_step_ended`]); until then the form stays linked.
    pub fn start_form_run(&mut self, tool: &str, args: Value, confirmed: bool, out: &mut Out) {
        let link = self.form_link.clone();
        let id = self.start(tool, args.clone(), confirmed, out);
        if let (Some(link), Some(b)) = (link, &mut self.building) {
            let mut fixed = args;
            if let Some(m) = fixed.as_object_mut() {
                m.remove(link.arg.split('.').next().unwrap_or_default());
            }
            b.pending = Some((id, Step { tool: tool.into(), args: fixed, link: Some(link) }));
            out.notice = Some(format!("chain: {tool} joins the chain when this run (#{id}) succeeds"));
        }
    }
    /// `x`: cancel the shown run if it runs, else the newest running one (a
    /// chain's step cancels its chain); else a chain selecting its next input.
    pub(super) fn cancel(&mut self, out: &mut Out) -> bool {
        let running = self.shown_run().filter(|r| r.running()).or_else(|| self.runs.iter().find(|r| r.running()));
        match running {
            Some(r) => match self.chain_of_run(r.id) {
                Some(c) => self.cancel_chain(c, out),
                None => {
                    out.effects.push(Effect::CancelTool { run: r.id });
                    out.notice = Some(format!("cancelling #{} {}", r.id, r.tool));
                }
            },
            None => match self.chain_runs.last() {
                Some(c) => self.cancel_chain(c, out),
                None => out.notice = Some("no run in progress".into()),
            },
        }
        true
    }
    pub(super) fn rerun(&mut self, focus: BoxId, out: &mut Out) -> bool {
        let Some(r) = self.target_run(focus).cloned() else { return false };
        let Some(t) = self.tool(&r.tool) else {
            out.notice = Some(format!("✗ {} is not available now", r.tool));
            return true;
        };
        if t.mutating && out.read_only {
            out.notice = Some(format!("✗ {} changes things; opsdeck runs --read-only", r.tool));
        } else if t.mutating {
            out.popup = Some(ToolsPopup::confirm_run(&r.tool, &r.args));
        } else {
            self.start(&r.tool, r.args, false, out);
        }
        true
    }
    pub(super) fn mark_run(&mut self, focus: BoxId, out: &mut Out) -> bool {
        let Some(r) = self.target_run(focus) else { return false };
        let (id, tool) = (r.id, r.tool.clone());
        self.mark = if self.mark == Some(id) { None } else { Some(id) };
        out.notice = Some(match self.mark {
            Some(_) => format!("#{id} marked: select another {tool} run and press d to compare"),
            None => format!("#{id} unmarked"),
        });
        true
    }
    pub(super) fn compare(&mut self, focus: BoxId, out: &mut Out) -> bool {
        let Some(b) = self.target_run(focus).cloned() else { return false };
        // The marked run, else the previous run of the same tool.
        let a = self
            .mark
            .filter(|m| *m != b.id)
            .and_then(|m| self.run(m))
            .or_else(|| self.runs.iter().find(|r| r.tool == b.tool && r.id < b.id && !r.running()))
            .cloned();
        let Some(a) = a else {
            out.notice = Some(format!("nothing to compare #{} with: mark a run with m", b.id));
            return true;
        };
        if a.tool != b.tool {
            out.notice = Some(format!("compare runs of one tool (#{} is {}, #{} is {})", a.id, a.tool, b.id, b.tool));
            return true;
        }
        let (old, new) = if a.id < b.id { (a, b) } else { (b, a) };
        self.diff = Some((old.id, new.id, runs::diff(&old, &new)));
        self.scroll = 0;
        self.follow = false;
        out.focus = Some(BoxId::ToolOutput);
        true
    }
    pub(super) fn result_action(&mut self, a: UserAction, focus: BoxId, out: &mut Out) -> bool {
        let Some(r) = self.target_run(focus) else {
            out.notice = Some("no run selected".into());
            return true;
        };
        if r.running() {
            out.notice = Some(format!("#{} is still running", r.id));
            return true;
        }
        match a {
            UserAction::Export => out.popup = Some(ToolsPopup::Export { run: r.id, selected: 0 }),
            UserAction::CopyResult => {
                out.effects.push(Effect::Copy { text: export::clipboard_text(r), name: file_stem(r) + ".txt" });
            }
            _ => {
                let Some(result) = r.result() else {
                    out.notice = Some(format!("#{} failed: only a result can feed the next tool", r.id));
                    return true;
                };
                out.popup = Some(ToolsPopup::chain_filter(r.id, result));
            }
        }
        true
    }
}
