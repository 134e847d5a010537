//! Popups of the tools pane: confirm a mutating run, export a result, and the
//! three steps of chaining (jq selection, target argument, saving).

use ratatui::crossterm::event::KeyEvent;
use serde_json::Value;

use super::chain::{self, Chain, Link, Step};
use super::export::{self, Format};
use super::{Building, Out, Picking, ToolsState, file_stem};
use crate::app::input::LineInput;
use crate::app::{BoxId, Effect, UserAction, list};
use crate::protocol::tools::ToolInfo;

/// What a confirmation starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    Run { tool: String, args: Value },
    Chain(usize),
}

#[derive(Debug, Clone)]
pub enum ToolsPopup {
    Confirm {
        title: String,
        lines: Vec<String>,
        then: Pending,
    },
    Export {
        run: u64,
        selected: usize,
    },
    /// Step 1 of chaining: a jq filter over the result, with a live preview
    /// (evaluated in a jq worker, see [`ToolsState::schedule_preview`]).
    ChainFilter {
        run: u64,
        result: Value,
        input: Box<LineInput>,
        preview: Preview,
    },
    /// Step 3: which argument of the chosen tool takes the value.
    ChainArg {
        picking: Picking,
        tool: String,
        /// (dotted path, type)
        args: Vec<(String, String)>,
        selected: usize,
    },
    SaveChain {
        input: Box<LineInput>,
    },
}

/// The chain popup's preview of what the filter selects.
#[derive(Debug, Clone, PartialEq)]
pub enum Preview {
    /// The filter changed; an evaluation is asked for after this update.
    Stale,
    /// A jq worker is evaluating; only the answer to `job` counts.
    Evaluating { job: u64 },
    /// What the filter selected, and its first lines for the screen.
    Ready { value: Value, lines: Vec<String> },
    /// Why there is no value (a bad filter, "too slow: …").
    Failed(String),
}

/// Lines of the preview shown under the filter.
const PREVIEW_LINES: usize = 12;

impl Preview {
    /// The answer to a preview evaluation.
    pub fn answered(result: Result<Vec<Value>, String>) -> Preview {
        match result {
            Ok(outputs) => {
                let value = chain::combine(outputs);
                let text = serde_json::to_string_pretty(&value).unwrap_or_default();
                let mut lines: Vec<String> = text.lines().take(PREVIEW_LINES).map(str::to_string).collect();
                let total = text.lines().count();
                if total > PREVIEW_LINES {
                    lines.push(format!(
                        "… {} more",
                        crate::text::count((total - PREVIEW_LINES) as u64, "line", "lines")
                    ));
                }
                Preview::Ready { value, lines }
            }
            Err(e) => Preview::Failed(e),
        }
    }
}

/// (dotted path, type) of every argument, nested objects expanded.
fn arg_paths(schema: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else { return };
    for (name, p) in props {
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        let ty = p.get("type").and_then(Value::as_str).unwrap_or("any").to_string();
        if ty == "object" && p.get("properties").is_some() {
            arg_paths(p, &path, out);
        } else {
            out.push((path, ty));
        }
    }
}

impl ToolsPopup {
    pub fn confirm_run(tool: &str, args: &Value) -> ToolsPopup {
        let mut lines = vec![format!("{tool} changes things outside opsdeck. Run it with:")];
        for (k, v) in args.as_object().into_iter().flatten() {
            lines.push(format!("  {k} = {}", v.as_str().map_or_else(|| v.to_string(), str::to_string)));
        }
        lines.push(String::new());
        lines.push("y / Enter runs it · n / Esc does not".into());
        ToolsPopup::Confirm {
            title: format!("Run {tool}?"),
            lines,
            then: Pending::Run { tool: tool.into(), args: args.clone() },
        }
    }

    pub fn confirm_chain(i: usize, chain: &Chain, mutating: &[&str]) -> ToolsPopup {
        ToolsPopup::Confirm {
            title: format!("Run chain {}?", chain.name),
            lines: vec![
                chain.summary(),
                match mutating {
                    [one] => format!("This step changes things outside opsdeck: {one}"),
                    _ => format!("These steps change things outside opsdeck: {}", mutating.join(", ")),
                },
                String::new(),
                "y / Enter runs the chain · n / Esc does not".into(),
            ],
            then: Pending::Chain(i),
        }
    }

    pub fn chain_filter(run: u64, result: &Value) -> ToolsPopup {
        let mut input = LineInput::new(". (all of it), or e.g. .body, .results[0].host");
        input.paste(".");
        ToolsPopup::ChainFilter { run, result: result.clone(), preview: Preview::Stale, input: Box::new(input) }
    }

    /// The answer to preview job `job`, if this popup still waits for it.
    pub fn preview_answered(&mut self, job: u64, result: Result<Vec<Value>, String>) -> bool {
        match self {
            ToolsPopup::ChainFilter { preview, .. } if *preview == (Preview::Evaluating { job }) => {
                *preview = Preview::answered(result);
                true
            }
            _ => false,
        }
    }

    /// `None` when the tool has no arguments to fill.
    pub fn chain_arg(picking: Picking, tool: &ToolInfo) -> Option<ToolsPopup> {
        let mut args = Vec::new();
        arg_paths(&tool.schema, "", &mut args);
        if args.is_empty() {
            return None;
        }
        // Start on a likely input: a required string argument.
        let required: Vec<&str> = tool
            .schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let selected = args.iter().position(|(p, _)| required.contains(&p.as_str())).unwrap_or(0);
        Some(ToolsPopup::ChainArg { picking, tool: tool.name.clone(), args, selected })
    }

    pub fn save_chain() -> ToolsPopup {
        ToolsPopup::SaveChain { input: Box::new(LineInput::new("a name, e.g. check-and-parse")) }
    }

    pub fn has_input(&self) -> bool {
        matches!(self, ToolsPopup::ChainFilter { .. } | ToolsPopup::SaveChain { .. })
    }

    pub fn input(&mut self, key: KeyEvent) -> bool {
        match self {
            ToolsPopup::ChainFilter { input, preview, .. } => {
                let before = input.text().to_string();
                if !input.input(key) {
                    return false;
                }
                if input.text() != before {
                    *preview = Preview::Stale;
                }
                true
            }
            ToolsPopup::SaveChain { input } => input.input(key),
            _ => false,
        }
    }

    pub fn paste(&mut self, text: &str) -> bool {
        match self {
            ToolsPopup::ChainFilter { input, preview, .. } => {
                if input.paste(text) {
                    *preview = Preview::Stale;
                }
                true
            }
            ToolsPopup::SaveChain { input } => input.paste(text),
            _ => false,
        }
    }
}

/// A bound action while a tools popup is open; returns true to close it.
pub fn on_action(tools: &mut ToolsState, p: &mut ToolsPopup, a: UserAction, out: &mut Out) -> bool {
    use UserAction as U;
    if matches!(a, U::Close) {
        return true;
    }
    match p {
        ToolsPopup::Confirm { then, .. } => {
            if a != U::Confirm {
                return false;
            }
            match then.clone() {
                Pending::Run { tool, args } => tools.start_form_run(&tool, args, true, out),
                Pending::Chain(i) => {
                    if let Some(c) = tools.chains.get(i).cloned() {
                        tools.start_chain(c, true, out);
                    }
                }
            }
            true
        }
        ToolsPopup::Export { run, selected } => match a {
            _ if list::apply(a, selected, Format::ALL.len(), list::PAGE).is_some() => false,
            U::Confirm => {
                if let Some(r) = tools.run(*run) {
                    let f = Format::ALL[*selected];
                    let name = format!("{}.{}", file_stem(r), f.ext());
                    out.effects.push(Effect::Export { name, contents: export::render(r, f) });
                }
                true
            }
            _ => false,
        },
        ToolsPopup::ChainFilter { run, input, preview, .. } => {
            if a != U::Confirm {
                return false;
            }
            let value = match preview {
                Preview::Ready { value, .. } => value.clone(),
                Preview::Failed(e) => {
                    out.notice = Some(format!("✗ filter: {e}"));
                    return false;
                }
                Preview::Stale | Preview::Evaluating { .. } => {
                    out.notice = Some("the filter is still being evaluated (Esc closes)".into());
                    return false;
                }
            };
            tools.picking = Some(Picking { run: *run, filter: input.text().to_string(), value });
            tools.filter = None;
            tools.relist();
            out.focus = Some(BoxId::ToolList);
            out.notice = Some("pick the tool that takes this value, then Enter (Esc stops)".into());
            true
        }
        ToolsPopup::ChainArg { picking, tool, args, selected } => match a {
            _ if list::apply(a, selected, args.len(), list::PAGE).is_some() => false,
            U::Confirm => {
                let link = Link { filter: picking.filter.clone(), arg: args[*selected].0.clone() };
                let value = chain::coerce(picking.value.clone(), Some(&args[*selected].1));
                link_into_form(tools, picking.run, tool, link, value, out);
                true
            }
            _ => false,
        },
        ToolsPopup::SaveChain { input } => {
            if a != U::Confirm {
                return false;
            }
            let name = input.text().trim().to_string();
            if name.is_empty() {
                out.notice = Some("a chain needs a name".into());
                return false;
            }
            if let Some(b) = tools.building.take() {
                let chain = Chain { name: name.clone(), steps: b.chain.steps };
                tools.chains.retain(|c| c.name != name);
                tools.chains.push(chain);
                tools.chains.sort_by(|a, b| a.name.cmp(&b.name));
                tools.relist();
                tools.save_chains(out);
                out.notice = Some(format!("✓ chain {name} saved: it is in the tool list"));
            }
            true
        }
    }
}

/// Fill `tool`'s form with `value` (selected from `run`'s result by the
/// link's filter) and remember the link, so a successful run of the form adds
/// a step to the chain being built.
fn link_into_form(tools: &mut ToolsState, run: u64, tool: &str, link: Link, value: Value, out: &mut Out) {
    let Some(r) = tools.run(run).cloned() else { return };
    if r.result().is_none() {
        return;
    }
    // A chain continues from its last run, or starts at this one.
    if tools.building.as_ref().is_none_or(|b| b.last_run != run) {
        tools.building = Some(Building {
            chain: Chain {
                name: String::new(),
                steps: vec![Step { tool: r.tool.clone(), args: r.args.clone(), link: None }],
            },
            last_run: run,
            pending: None,
            form_at: 1,
        });
    }
    if let Some(b) = &mut tools.building {
        b.form_at = b.chain.steps.len();
        b.pending = None;
    }
    tools.form = None;
    tools.open_form(tool);
    if let Some(f) = &mut tools.form
        && let Some(i) = f.find(&link.arg)
    {
        f.fields[i].set_value(&value);
        f.selected = i;
        f.notes = vec![(i, format!("← #{run} {} | {}", r.tool, link.filter))];
    }
    tools.select_key(tool);
    tools.form_link = Some(link);
    out.focus = Some(BoxId::ToolForm);
    out.notice = Some(format!("{tool}: fill the rest and press r to run this chain step"));
}
