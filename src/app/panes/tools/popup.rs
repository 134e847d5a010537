//! Popups of the tools pane: confirm a mutating run, export a result, and the
//! three steps of chaining (jq selection, target argument, saving).

use ratatui::crossterm::event::KeyEvent;
use serde_json::Value;

use super::chain::{self, Chain, Link, Step};
use super::export::{self, Format};
use super::{Building, Out, ToolsState, file_stem};
use crate::app::input::LineInput;
use crate::app::{BoxId, Effect, UserAction};
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
    /// Step 1 of chaining: a jq filter over the result, with a live preview.
    ChainFilter {
        run: u64,
        result: Value,
        input: Box<LineInput>,
        preview: Result<Vec<String>, String>,
    },
    /// Step 3: which argument of the chosen tool takes the value.
    ChainArg {
        run: u64,
        filter: String,
        tool: String,
        /// (dotted path, type)
        args: Vec<(String, String)>,
        selected: usize,
    },
    SaveChain {
        input: Box<LineInput>,
    },
}

/// Lines of the preview shown under the filter.
const PREVIEW_LINES: usize = 12;

fn preview(filter: &str, result: &Value) -> Result<Vec<String>, String> {
    let v = chain::select(filter, result)?;
    let text = serde_json::to_string_pretty(&v).unwrap_or_default();
    let mut lines: Vec<String> = text.lines().take(PREVIEW_LINES).map(str::to_string).collect();
    let total = text.lines().count();
    if total > PREVIEW_LINES {
        lines.push(format!("… {} more lines", total - PREVIEW_LINES));
    }
    Ok(lines)
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
                format!("These steps change things outside opsdeck: {}", mutating.join(", ")),
                String::new(),
                "y / Enter runs the chain · n / Esc does not".into(),
            ],
            then: Pending::Chain(i),
        }
    }

    pub fn chain_filter(run: u64, result: &Value) -> ToolsPopup {
        let mut input = LineInput::new(". (all of it), or e.g. .body, .results[0].host");
        input.paste(".");
        ToolsPopup::ChainFilter { run, result: result.clone(), preview: preview(".", result), input: Box::new(input) }
    }

    /// `None` when the tool has no arguments to fill.
    pub fn chain_arg(run: u64, filter: String, tool: &ToolInfo) -> Option<ToolsPopup> {
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
        Some(ToolsPopup::ChainArg { run, filter, tool: tool.name.clone(), args, selected })
    }

    pub fn save_chain() -> ToolsPopup {
        ToolsPopup::SaveChain { input: Box::new(LineInput::new("a name, e.g. check-and-parse")) }
    }

    pub fn has_input(&self) -> bool {
        matches!(self, ToolsPopup::ChainFilter { .. } | ToolsPopup::SaveChain { .. })
    }

    pub fn input(&mut self, key: KeyEvent) -> bool {
        match self {
            ToolsPopup::ChainFilter { input, preview: p, result, .. } => {
                if !input.input(key) {
                    return false;
                }
                *p = preview(input.text(), result);
                true
            }
            ToolsPopup::SaveChain { input } => input.input(key),
            _ => false,
        }
    }

    pub fn paste(&mut self, text: &str) -> bool {
        match self {
            ToolsPopup::ChainFilter { input, preview: p, result, .. } => {
                input.paste(text);
                *p = preview(input.text(), result);
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
            U::Up => {
                *selected = selected.saturating_sub(1);
                false
            }
            U::Down => {
                *selected = (*selected + 1).min(Format::ALL.len() - 1);
                false
            }
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
        ToolsPopup::ChainFilter { run, input, preview: p, .. } => {
            if a != U::Confirm {
                return false;
            }
            if let Err(e) = p {
                out.notice = Some(format!("✗ filter: {e}"));
                return false;
            }
            tools.picking = Some((*run, input.text().to_string()));
            tools.filter = None;
            tools.relist();
            out.focus = Some(BoxId::ToolList);
            out.notice = Some("pick the tool that takes this value, then Enter (Esc stops)".into());
            true
        }
        ToolsPopup::ChainArg { run, filter, tool, args, selected } => match a {
            U::Up => {
                *selected = selected.saturating_sub(1);
                false
            }
            U::Down => {
                *selected = (*selected + 1).min(args.len().saturating_sub(1));
                false
            }
            U::Confirm => {
                let link = Link { filter: filter.clone(), arg: args[*selected].0.clone() };
                link_into_form(tools, *run, tool, link, &args[*selected].1, out);
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

/// Fill `tool`'s form with the selected part of `run`'s result and remember
/// the link, so running the form adds a step to the chain being built.
fn link_into_form(tools: &mut ToolsState, run: u64, tool: &str, link: Link, ty: &str, out: &mut Out) {
    let Some(r) = tools.run(run).cloned() else { return };
    let Some(result) = r.result() else { return };
    let value = match chain::select(&link.filter, result) {
        Ok(v) => chain::coerce(v, Some(ty)),
        Err(e) => {
            out.notice = Some(format!("✗ filter: {e}"));
            return;
        }
    };
    // A chain continues from its last run, or starts at this one.
    if tools.building.as_ref().is_none_or(|b| b.last_run != run) {
        tools.building = Some(Building {
            chain: Chain {
                name: String::new(),
                steps: vec![Step { tool: r.tool.clone(), args: r.args.clone(), link: None }],
            },
            last_run: run,
        });
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
