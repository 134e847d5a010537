//! Starting, cancelling, re-running and comparing runs; running chains; the
//! actions on a run's result (export, copy, chain).

use serde_json::Value;

use super::chain::{self, Chain, Step};
use super::list::Target;
use super::runs::{self, RunView};
use super::{ActiveChain, JqSlot, LINK_TIMEOUT_MS, Out, ToolsPopup, ToolsState, export, file_stem};
use crate::app::{BoxId, Effect, UserAction};

impl ToolsState {
    /// Start a run of `tool` with `args` (already validated and, if needed, confirmed).
    pub fn start(&mut self, tool: &str, args: Value, confirmed: bool, out: &mut Out) -> u64 {
        let id = self.alloc();
        let source = self.tool(tool).map_or_else(String::new, |t| t.source.clone());
        self.runs.insert(0, RunView::live(id, tool, &source, args.clone(), out.now));
        self.runs.truncate(runs::RUNS_KEPT);
        self.hist_sel = 0;
        self.show(id);
        out.effects.push(Effect::RunTool { run: id, tool: tool.into(), args, confirmed });
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
    /// The steps of `chain` whose tool changes things (or is not known now,
    /// so cannot be vouched for).
    pub fn mutating_steps<'a>(&self, chain: &'a super::chain::Chain) -> Vec<&'a str> {
        chain.steps.iter().filter(|s| self.tool(&s.tool).is_none_or(|t| t.mutating)).map(|s| s.tool.as_str()).collect()
    }

    pub fn run_chain(&mut self, i: usize, out: &mut Out) -> bool {
        let Some(chain) = self.chains.get(i).cloned() else { return false };
        let mutating = self.mutating_steps(&chain);
        if !mutating.is_empty() && out.read_only {
            out.notice = Some(format!("✗ chain {} has steps that change things; opsdeck runs --read-only", chain.name));
            return true;
        }
        if !mutating.is_empty() {
            out.popup = Some(ToolsPopup::confirm_chain(i, &chain, &mutating));
            return true;
        }
        self.start_chain(chain, false, out);
        true
    }
    pub fn start_chain(&mut self, chain: Chain, confirmed: bool, out: &mut Out) {
        let Some(first) = chain.steps.first() else { return };
        let (tool, args) = (first.tool.clone(), first.args.clone());
        if self.active.take().is_some_and(|a| a.link_job.is_some()) {
            out.effects.push(Effect::CancelJq { slot: JqSlot::ChainLink });
        }
        let run = self.start(&tool, args, confirmed, out);
        out.notice = Some(format!("chain {}: step 1/{} {tool}", chain.name, chain.steps.len()));
        self.active = Some(ActiveChain { chain, step: 0, run, confirmed, link_job: None });
    }
    /// Start step `a.step + 1` of a running chain with `args`.
    pub(super) fn start_chain_step(&mut self, mut a: ActiveChain, tool: &str, args: Value, out: &mut Out) {
        a.run = self.start(tool, args, a.confirmed, out);
        a.step += 1;
        out.notice = Some(format!("chain {}: step {}/{} {tool}", a.chain.name, a.step + 1, a.chain.steps.len()));
        self.active = Some(a);
    }
    /// After a chain step ends: start the next one, or say how it ended.
    pub(super) fn chain_advance(&mut self, run: u64, ok: bool, err: Option<String>, out: &mut Out) {
        let Some(mut a) = self.active.take().filter(|a| a.run == run) else { return };
        let n = a.chain.steps.len();
        if !ok {
            out.notice = Some(format!(
                "✗ chain {} stopped at step {}/{n} ({}): {}",
                a.chain.name,
                a.step + 1,
                a.chain.steps[a.step].tool,
                err.unwrap_or_default()
            ));
            return;
        }
        if a.step + 1 >= n {
            out.notice =
                Some(format!("✓ chain {} finished ({})", a.chain.name, crate::text::count(n as u64, "step", "steps")));
            return;
        }
        let next = a.chain.steps[a.step + 1].clone();
        let prev = self.run(run).and_then(RunView::result).cloned();
        match (&next.link, prev) {
            // The link's filter runs in a jq worker; the answer starts the step.
            (Some(link), Some(prev)) => {
                let job = self.next_job();
                out.effects.push(Effect::Jq {
                    slot: JqSlot::ChainLink,
                    job,
                    filter: chain::filter_or_all(&link.filter),
                    input: prev,
                    timeout_ms: LINK_TIMEOUT_MS,
                });
                out.notice = Some(format!(
                    "chain {}: step {}/{n} {}: selecting {} from the result…",
                    a.chain.name,
                    a.step + 2,
                    next.tool,
                    chain::filter_or_all(&link.filter)
                ));
                a.link_job = Some(job);
                self.active = Some(a);
            }
            (Some(_), None) => {
                out.notice =
                    Some(format!("✗ chain {} step {}: the previous step has no result", a.chain.name, a.step + 2));
            }
            (None, _) => self.start_chain_step(a, &next.tool, next.args.clone(), out),
        }
    }
    pub(super) fn cancel(&mut self, out: &mut Out) -> bool {
        let running = self.shown_run().filter(|r| r.running()).or_else(|| self.runs.iter().find(|r| r.running()));
        match running {
            Some(r) => {
                out.effects.push(Effect::CancelTool { run: r.id });
                out.notice = Some(format!("cancelling #{} {}", r.id, r.tool));
                if self.active.as_ref().is_some_and(|a| a.run == r.id) {
                    self.active = None;
                }
            }
            None => match self.active.take_if(|a| a.link_job.is_some()) {
                Some(a) => {
                    out.effects.push(Effect::CancelJq { slot: JqSlot::ChainLink });
                    out.notice = Some(format!("chain {} cancelled", a.chain.name));
                }
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
