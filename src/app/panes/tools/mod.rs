//! The tools pane: the tool list, the argument form, live output and the run
//! history, with compare, chaining and export. Pure state; the runtime runs
//! the tools (`Effect::RunTool`) and reports back with [`ToolsAction`]s.

pub mod chain;
mod chain_run;
mod chain_workflow;
pub mod export;
pub mod form;
mod jq_jobs;
pub mod list;
mod nav;
pub mod popup;
mod run_actions;
pub mod runs;

use std::collections::BTreeSet;

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use crate::app::input::LineInput;
use crate::app::{BoxId, Effect, UserAction};
use crate::protocol::Ts;
use crate::protocol::tools::{ToolInfo, ToolRun};
use chain::{Chain, Link};
pub use chain_run::{ChainUpdate, RunningChain};
use form::Form;
pub use jq_jobs::{JqSlot, PREVIEW_TIMEOUT_MS};
use list::{Row, Target};
pub use popup::{Preview, ToolsPopup};
use runs::{DiffRow, RunView};

/// What the runtime tells the pane.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolsAction {
    /// The registry changed (start-up, an MCP server came or went).
    Catalog(Vec<ToolInfo>),
    /// Recorded runs, newest first (start-up).
    History(Vec<ToolRun>),
    /// Lines a running tool printed.
    Output { run: u64, lines: Vec<String> },
    /// A run ended; the record is what the history keeps.
    Finished { run: u64, record: ToolRun },
    /// MCP servers and how they are doing.
    Servers(Vec<ServerLine>),
    /// A jq evaluation asked for with `Effect::Jq` ended: every output, or
    /// why there is none. Answers to jobs nobody waits for any more are dropped.
    Jq { job: u64, result: Result<Vec<serde_json::Value>, String> },
    /// What the engine reports about a saved chain started with `Effect::RunChain`.
    Chain { chain_run: u64, event: ChainUpdate },
}

/// Choosing the tool that takes a selected value.
#[derive(Debug, Clone, PartialEq)]
pub struct Picking {
    /// The run whose result the value comes from.
    pub run: u64,
    /// The jq filter that selected it.
    pub filter: String,
    /// What the filter selected (evaluated by the worker for the preview).
    pub value: serde_json::Value,
}

/// One MCP server's state, for the list's footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLine {
    pub name: String,
    pub state: String,
    pub ok: bool,
}

/// The chain being built from runs in the pane.
#[derive(Debug, Clone, PartialEq)]
pub struct Building {
    pub chain: Chain,
    /// The run whose result the next step takes.
    pub last_run: u64,
    /// The run of the linked form still in flight, and the step it becomes
    /// if (and only if) it succeeds, with exactly the arguments it ran with.
    pub pending: Option<(u64, chain::Step)>,
    /// Where the linked form's step goes in `chain.steps` (a later good run
    /// of the same form replaces it).
    pub form_at: usize,
}

#[derive(Debug, Clone)]
pub struct ToolsState {
    pub catalog: Vec<ToolInfo>,
    pub chains: Vec<Chain>,
    pub favorites: BTreeSet<String>,
    pub servers: Vec<ServerLine>,
    pub filter: Option<LineInput>,
    pub filter_editing: bool,
    pub rows: Vec<Row>,
    pub list_sel: usize,
    pub form: Option<Form>,
    /// Forms of other tools, kept while the session lasts (moving in the list keeps what was typed).
    stash: std::collections::HashMap<String, Form>,
    /// The link of the form's tool to the previous chain step, when chaining.
    pub form_link: Option<Link>,
    pub runs: Vec<RunView>,
    next_run: u64,
    pub hist_sel: usize,
    /// The run the output box shows.
    pub shown: Option<u64>,
    /// First line shown; `follow` keeps the end in view while a run streams.
    pub scroll: usize,
    pub follow: bool,
    pub search: Option<LineInput>,
    pub search_editing: bool,
    pub matches: Vec<usize>,
    pub match_at: usize,
    /// The run marked for comparison, and an open comparison.
    pub mark: Option<u64>,
    pub diff: Option<(u64, u64, Vec<DiffRow>)>,
    pub building: Option<Building>,
    /// Choosing the tool that takes a run's selected result.
    pub picking: Option<Picking>,
    /// Saved chains running in the engine, followed until they end.
    pub chain_runs: Vec<RunningChain>,
    /// The last `chain_run` id handed out.
    chains_started: u64,
    /// Output box height, from the last render (for paging).
    pub page: usize,
    /// The last jq job number handed out.
    pub(crate) jobs: u64,
    /// The preview evaluation in flight, if any.
    pub preview_job: Option<u64>,
}

impl Default for ToolsState {
    fn default() -> Self {
        ToolsState {
            catalog: Vec::new(),
            chains: Vec::new(),
            favorites: BTreeSet::new(),
            servers: Vec::new(),
            filter: None,
            filter_editing: false,
            rows: Vec::new(),
            list_sel: 0,
            form: None,
            stash: Default::default(),
            form_link: None,
            runs: Vec::new(),
            next_run: 1,
            hist_sel: 0,
            shown: None,
            scroll: 0,
            follow: true,
            search: None,
            search_editing: false,
            matches: Vec::new(),
            match_at: 0,
            mark: None,
            diff: None,
            building: None,
            picking: None,
            chain_runs: Vec::new(),
            chains_started: 0,
            page: 10,
            jobs: 0,
            preview_job: None,
        }
    }
}

/// Effects and a message for the status bar.
pub struct Out<'a> {
    pub effects: &'a mut Vec<Effect>,
    pub notice: Option<String>,
    /// A popup to open.
    pub popup: Option<ToolsPopup>,
    /// Move focus to this box.
    pub focus: Option<BoxId>,
    pub now: Ts,
    pub read_only: bool,
}

impl ToolsState {
    pub fn update(&mut self, a: ToolsAction, out: &mut Out) -> bool {
        match a {
            ToolsAction::Catalog(mut tools) => {
                tools.sort_by(|a, b| a.name.cmp(&b.name));
                let selected = self.selected_key();
                self.catalog = tools;
                self.rows.clear();
                self.relist();
                if let Some(k) = selected {
                    self.select_key(&k);
                }
                // The open form's tool may have a new schema (or be gone).
                if let Some(f) = &self.form
                    && !self.catalog.iter().any(|t| t.name == f.tool)
                {
                    self.form = None;
                }
                if self.form.is_none() && self.picking.is_none() {
                    self.follow_selection();
                }
            }
            ToolsAction::History(records) => {
                for r in records.iter().rev() {
                    let id = self.alloc();
                    self.runs.insert(0, RunView::from_record(id, r));
                }
                self.runs.truncate(runs::RUNS_KEPT);
                self.relist();
            }
            ToolsAction::Output { run, lines } => {
                let Some(r) = self.run_mut(run) else { return false };
                r.push_lines(lines);
                if self.shown == Some(run) {
                    self.research();
                    return true;
                }
                return false;
            }
            ToolsAction::Finished { run, record } => {
                let Some(r) = self.run_mut(run) else { return false };
                r.finish(&record);
                let ok = r.ok();
                if self.shown == Some(run) {
                    self.research();
                }
                self.relist();
                self.building_step_ended(run, ok, out);
            }
            ToolsAction::Servers(s) => self.servers = s,
            // A preview answer nobody waits for any more (the popup's own
            // are taken before the pane: see `tools_pane::on_action`).
            ToolsAction::Jq { .. } => return false,
            ToolsAction::Chain { chain_run, event } => return self.chain_update(chain_run, event, out),
        }
        true
    }

    fn alloc(&mut self) -> u64 {
        let id = self.next_run;
        self.next_run += 1;
        id
    }

    pub fn run(&self, id: u64) -> Option<&RunView> {
        self.runs.iter().find(|r| r.id == id)
    }

    fn run_mut(&mut self, id: u64) -> Option<&mut RunView> {
        self.runs.iter_mut().find(|r| r.id == id)
    }

    pub fn shown_run(&self) -> Option<&RunView> {
        self.shown.and_then(|id| self.run(id))
    }

    pub fn tool(&self, name: &str) -> Option<&ToolInfo> {
        self.catalog.iter().find(|t| t.name == name)
    }

    /// Tool names by last use, most recent first.
    fn recent(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for r in &self.runs {
            if !seen.contains(&r.tool) {
                seen.push(r.tool.clone());
            }
        }
        seen
    }

    /// The filter changed: the best match is selected.
    fn refilter(&mut self) {
        self.rows.clear();
        self.list_sel = 0;
        self.relist();
        if self.picking.is_none() {
            self.follow_selection();
        }
    }

    /// Rebuild the rows; the selection stays on the same tool when it is still listed.
    pub fn relist(&mut self) {
        let keep = self.selected_key();
        let q = self.filter.as_ref().map(|f| f.text().to_string()).unwrap_or_default();
        self.rows = list::rows(&self.catalog, &self.chains, &self.favorites, &self.recent(), &q);
        self.list_sel = self.list_sel.min(self.rows.len().saturating_sub(1));
        if let Some(k) = keep {
            self.select_key(&k);
        }
    }

    fn key_of(&self, t: Target) -> String {
        match t {
            Target::Tool(i) => self.catalog[i].name.clone(),
            Target::Chain(i) => list::chain_key(&self.chains[i].name),
        }
    }

    pub fn selected(&self) -> Option<Target> {
        self.rows.get(self.list_sel).map(|r| r.target)
    }

    fn selected_key(&self) -> Option<String> {
        self.selected().filter(|t| self.valid(*t)).map(|t| self.key_of(t))
    }

    fn valid(&self, t: Target) -> bool {
        match t {
            Target::Tool(i) => i < self.catalog.len(),
            Target::Chain(i) => i < self.chains.len(),
        }
    }

    fn select_key(&mut self, key: &str) {
        if let Some(i) = self.rows.iter().position(|r| self.key_of(r.target) == key) {
            self.list_sel = i;
        }
    }

    /// Open the form of a tool (keeping it if it is already open).
    pub fn open_form(&mut self, name: &str) -> bool {
        if self.form.as_ref().is_some_and(|f| f.tool == name) {
            return false;
        }
        let Some(schema) = self.tool(name).map(|t| t.schema.clone()) else { return false };
        let fresh = self.stash.remove(name).unwrap_or_else(|| Form::new(name, &schema));
        if let Some(old) = self.form.replace(fresh) {
            self.stash.insert(old.tool.clone(), old);
        }
        self.form_link = None;
        true
    }

    /// The form shows the selected tool (or nothing, for a chain).
    fn follow_selection(&mut self) {
        match self.selected() {
            Some(Target::Tool(i)) => {
                let name = self.catalog[i].name.clone();
                self.open_form(&name);
            }
            Some(Target::Chain(_)) => {
                if let Some(old) = self.form.take() {
                    self.stash.insert(old.tool.clone(), old);
                }
            }
            None => {}
        }
    }

    /// A text field, the filter or the search takes every key.
    pub fn capturing(&self) -> bool {
        self.filter_editing || self.search_editing || self.form.as_ref().is_some_and(|f| f.editing.is_some())
    }

    pub fn text_key(&mut self, key: KeyEvent) -> bool {
        if let Some(f) = self.form.as_mut().filter(|f| f.editing.is_some()) {
            return f.edit_key(key);
        }
        let (input, editing) = if self.filter_editing {
            (&mut self.filter, &mut self.filter_editing)
        } else if self.search_editing {
            (&mut self.search, &mut self.search_editing)
        } else {
            return false;
        };
        match key.code {
            KeyCode::Enter => *editing = false,
            KeyCode::Esc => {
                *editing = false;
                *input = None;
            }
            _ => {
                if !input.as_mut().is_some_and(|i| i.input(key)) {
                    return false;
                }
            }
        }
        if self.filter_editing || self.filter.is_none() {
            self.refilter();
        }
        self.research();
        true
    }

    pub fn paste(&mut self, text: &str) -> bool {
        if let Some(f) = self.form.as_mut().filter(|f| f.editing.is_some()) {
            return f.paste(text);
        }
        if self.filter_editing {
            let changed = self.filter.as_mut().is_some_and(|f| f.paste(text));
            self.refilter();
            return changed;
        }
        if self.search_editing {
            let changed = self.search.as_mut().is_some_and(|f| f.paste(text));
            self.research();
            return changed;
        }
        false
    }

    /// Recompute search matches in the shown run.
    fn research(&mut self) {
        let q = self.search.as_ref().map(|s| s.text().to_string()).unwrap_or_default();
        self.matches = self.shown_run().map(|r| runs::search(&r.text_lines(), &q)).unwrap_or_default();
        self.match_at = self.match_at.min(self.matches.len().saturating_sub(1));
    }

    fn show(&mut self, id: u64) {
        self.shown = Some(id);
        self.diff = None;
        self.scroll = 0;
        self.follow = self.run(id).is_some_and(RunView::running);
        self.match_at = 0;
        self.research();
    }

    /// Bound actions while a box of this pane has focus.
    pub fn on_user(&mut self, a: UserAction, focus: BoxId, out: &mut Out) -> bool {
        use UserAction as U;
        match (a, focus) {
            (U::RunTool, _) => self.run_selected(out),
            (U::CancelRun, _) => self.cancel(out),
            (U::Rerun, _) => self.rerun(focus, out),
            (U::MarkRun, _) => self.mark_run(focus, out),
            (U::CompareRuns, _) => self.compare(focus, out),
            (U::Export | U::CopyResult | U::ChainNext, _) => self.result_action(a, focus, out),
            (U::SaveChain, _) => match &self.building {
                Some(b) if b.chain.steps.len() >= 2 => {
                    out.popup = Some(ToolsPopup::save_chain());
                    true
                }
                Some(Building { pending: Some((run, step)), .. }) => {
                    out.notice =
                        Some(format!("{} (#{run}) joins the chain when its run succeeds; S saves it then", step.tool));
                    true
                }
                _ => {
                    out.notice = Some("nothing to save: chain a result into another tool first (p)".into());
                    true
                }
            },
            (U::Close, _) if self.picking.is_some() => {
                self.picking = None;
                out.notice = Some("chaining cancelled".into());
                true
            }
            (U::Close, BoxId::ToolOutput) if self.diff.is_some() => {
                self.diff = None;
                true
            }
            (U::Close, BoxId::ToolOutput) if self.search.is_some() => {
                self.search = None;
                self.research();
                true
            }
            (U::Close, BoxId::ToolList) if self.filter.is_some() => {
                self.filter = None;
                self.relist();
                true
            }
            (U::Filter, BoxId::ToolOutput) => {
                self.search.get_or_insert_with(|| LineInput::new("search the output"));
                self.search_editing = true;
                true
            }
            (U::Filter, _) => {
                self.filter.get_or_insert_with(|| LineInput::new("fuzzy filter: name, source, description"));
                self.filter_editing = true;
                out.focus = Some(BoxId::ToolList);
                true
            }
            (U::SearchNext | U::SearchPrev, _) => self.next_match(if a == U::SearchNext { 1 } else { -1 }),
            (U::FavoriteToggle, BoxId::ToolList) => self.toggle_favorite(out),
            (U::DeleteEntry, BoxId::ToolList) => self.delete_chain(out),
            (U::SaveChainWorkflow, _) => self.save_chain_workflow(out),
            (U::Confirm, BoxId::ToolList) => self.confirm_list(out),
            (U::Confirm, BoxId::ToolForm) => self.form.as_mut().is_some_and(Form::activate),
            // Enter on the output opens (or folds again) the result after streamed lines.
            (U::Confirm, BoxId::ToolOutput) if self.diff.is_none() => {
                let Some(id) = self.shown else { return false };
                let Some(r) = self.runs.iter_mut().find(|r| r.id == id) else { return false };
                if r.output.is_empty() || r.result_lines.is_empty() {
                    return false;
                }
                r.result_open = !r.result_open;
                self.research();
                true
            }
            (U::Left | U::Right, BoxId::ToolForm) => {
                self.form.as_mut().is_some_and(|f| f.step(if a == U::Right { 1 } else { -1 }))
            }
            (U::Confirm, BoxId::ToolHistory) => {
                let Some(r) = self.runs.get(self.hist_sel).cloned() else { return false };
                self.show(r.id);
                if self.open_form(&r.tool) || self.form.as_ref().is_some_and(|f| f.tool == r.tool) {
                    if let Some(f) = &mut self.form {
                        f.fill(&r.args);
                    }
                    self.select_key(&r.tool);
                }
                true
            }
            (U::Up | U::Down | U::PageUp | U::PageDown | U::Top | U::Bottom, _) => self.motion(a, focus),
            _ => false,
        }
    }

    fn confirm_list(&mut self, out: &mut Out) -> bool {
        match self.selected() {
            Some(Target::Tool(i)) => {
                let name = self.catalog[i].name.clone();
                if let Some(picking) = self.picking.take() {
                    out.popup = ToolsPopup::chain_arg(picking.clone(), &self.catalog[i]);
                    if out.popup.is_none() {
                        out.notice = Some(format!("{name} takes no arguments; pick another tool"));
                        self.picking = Some(picking);
                    }
                    return true;
                }
                self.open_form(&name);
                out.focus = Some(BoxId::ToolForm);
                true
            }
            // A saved chain opens: its steps in the arguments box; r runs it.
            Some(Target::Chain(_)) => {
                if let Some(old) = self.form.take() {
                    self.stash.insert(old.tool.clone(), old);
                }
                out.focus = Some(BoxId::ToolForm);
                true
            }
            None => false,
        }
    }

    fn toggle_favorite(&mut self, out: &mut Out) -> bool {
        let Some(t) = self.selected() else { return false };
        let key = self.key_of(t);
        if !self.favorites.remove(&key) {
            self.favorites.insert(key.clone());
        }
        self.relist();
        self.select_key(&key);
        let value = serde_json::to_string(&self.favorites).unwrap_or_default();
        out.effects.push(Effect::SaveUi { key: "tools.favorites".into(), value });
        true
    }

    fn delete_chain(&mut self, out: &mut Out) -> bool {
        let Some(Target::Chain(i)) = self.selected() else { return false };
        let c = self.chains.remove(i);
        self.favorites.remove(&list::chain_key(&c.name));
        self.rows.clear();
        self.relist();
        out.notice = Some(format!("chain {} deleted", c.name));
        self.save_chains(out);
        true
    }

    pub fn save_chains(&self, out: &mut Out) {
        let value = chain::write_chains(&self.chains);
        out.effects.push(Effect::SaveUi { key: "tools.chains".into(), value });
    }

    /// The run an action applies to: the history selection there, else the shown run.
    fn target_run(&self, focus: BoxId) -> Option<&RunView> {
        if focus == BoxId::ToolHistory { self.runs.get(self.hist_sel) } else { self.shown_run() }
    }

    /// Restore a saved record (`tools.favorites`, `tools.chains`), whole or
    /// not at all: on an error nothing changes, and the caller keeps the
    /// unreadable record aside (it is the user's data).
    pub fn restore(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "tools.favorites" => self.favorites = serde_json::from_str(value).map_err(|e| e.to_string())?,
            "tools.chains" => self.chains = chain::read_chains(value)?,
            _ => {}
        }
        self.relist();
        Ok(())
    }
}

/// `http_check-20261122-101500`: a file name for a run's export.
pub fn file_stem(r: &RunView) -> String {
    let t = chrono::DateTime::from_timestamp_millis(r.started).unwrap_or_default();
    let tool: String = r.tool.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' }).collect();
    format!("{tool}-{}-{}", t.format("%Y%m%d-%H%M%S"), r.id)
}

#[cfg(test)]
mod tests;
