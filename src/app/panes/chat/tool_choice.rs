//! Which tools a conversation offers the model: the choice popup's state
//! (every tool in the registry, filtered by typing, toggled with Space) and
//! the offered set as the next request sees it.
//!
//! The choice is kept in [`ConversationMeta::tools`]: `None` is the default
//! (every read-only tool, so a read-only tool a server adds later is offered
//! too), `Some(names)` an explicit list. A name whose tool is gone (its MCP
//! server stopped) stays in the list, is skipped while it is gone and comes
//! back with its server. Mutating tools can be offered (every call of one
//! still asks); under `--read-only` they are shown and cannot be turned on.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::ChatState;
use crate::app::input::LineInput;
use crate::protocol::chat::ConversationMeta;
use crate::protocol::tools::ToolInfo;

/// One row of the choice popup: a tool of the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceRow {
    pub name: String,
    /// `builtin`, or the MCP server's name.
    pub source: String,
    pub mutating: bool,
    /// The description's first line (cleaned of control characters).
    pub description: String,
}

/// The tool-choice popup of the open conversation.
#[derive(Debug, Clone)]
pub struct ToolChoice {
    pub filter: LineInput,
    /// Every tool of the registry, read-only ones first, then by source and name.
    pub rows: Vec<ChoiceRow>,
    /// Indices into `rows` that pass the filter, in order.
    pub shown: Vec<usize>,
    /// Index into `shown`.
    pub selected: usize,
    /// The choice being made: `None` the read-only default, else the names offered.
    pub chosen: Option<Vec<String>>,
    /// opsdeck runs with `--read-only`: mutating tools cannot be turned on.
    pub read_only: bool,
    /// Why the last toggle did nothing (shown in the popup until the next key).
    pub problem: Option<String>,
    /// The conversation the choice is for (another one opened meanwhile keeps its own).
    pub conversation: crate::protocol::chat::ConversationId,
}

/// Tools offered to the model by `meta` now: those named in its list that
/// the registry (`catalog`) still has, or by default the read-only ones;
/// under `read_only` never a mutating one.
pub fn offered_now<'a>(meta: &ConversationMeta, catalog: &'a [ToolInfo], read_only: bool) -> Vec<&'a ToolInfo> {
    super::offered(meta, catalog).into_iter().filter(|t| !(read_only && t.mutating)).collect()
}

/// Names offered by the choice `chosen` among `rows` (the default: the read-only ones).
fn names_of(chosen: &Option<Vec<String>>, rows: &[ChoiceRow]) -> Vec<String> {
    match chosen {
        Some(names) => names.clone(),
        None => rows.iter().filter(|r| !r.mutating).map(|r| r.name.clone()).collect(),
    }
}

impl ToolChoice {
    /// The popup for `meta`'s choice over the registry `catalog`.
    pub fn new(meta: &ConversationMeta, catalog: &[ToolInfo], read_only: bool) -> ToolChoice {
        let mut rows: Vec<ChoiceRow> = catalog
            .iter()
            .map(|t| ChoiceRow {
                name: t.name.clone(),
                source: t.source.clone(),
                mutating: t.mutating,
                description: crate::text::clean(t.description.lines().next().unwrap_or("")).trim().to_string(),
            })
            .collect();
        rows.sort_by(|a, b| (a.mutating, &a.source, &a.name).cmp(&(b.mutating, &b.source, &b.name)));
        rows.dedup_by(|a, b| a.name == b.name);
        let mut c = ToolChoice {
            filter: LineInput::new("type to filter by name, server or description"),
            shown: (0..rows.len()).collect(),
            rows,
            selected: 0,
            chosen: meta.tools.clone(),
            read_only,
            problem: None,
            conversation: meta.id.clone(),
        };
        c.refilter();
        c
    }

    /// Is the tool named `name` offered by the choice as it stands (a
    /// mutating one never under `--read-only`)?
    pub fn is_on(&self, row: &ChoiceRow) -> bool {
        if self.read_only && row.mutating {
            return false;
        }
        match &self.chosen {
            Some(names) => names.contains(&row.name),
            None => !row.mutating,
        }
    }

    /// How many tools of the registry the choice offers now.
    pub fn count(&self) -> usize {
        self.rows.iter().filter(|r| self.is_on(r)).count()
    }

    /// Names in the choice whose tool is not in the registry now (a server gone).
    pub fn missing(&self) -> Vec<&str> {
        match &self.chosen {
            Some(names) => {
                names.iter().filter(|n| !self.rows.iter().any(|r| &r.name == *n)).map(String::as_str).collect()
            }
            None => Vec::new(),
        }
    }

    /// The selected row, if any passes the filter.
    pub fn current(&self) -> Option<&ChoiceRow> {
        self.shown.get(self.selected).and_then(|i| self.rows.get(*i))
    }

    /// Turn the selected tool on or off. A mutating tool under `--read-only`
    /// stays off (`problem` says why).
    pub fn toggle(&mut self) -> bool {
        let Some(row) = self.current().cloned() else { return false };
        if self.read_only && row.mutating {
            self.problem = Some(format!(
                "{} changes things and opsdeck runs with --read-only: it cannot be offered (restart without --read-only)",
                row.name
            ));
            return true;
        }
        let on = self.is_on(&row);
        let mut names = names_of(&self.chosen, &self.rows);
        if on {
            names.retain(|n| n != &row.name);
        } else {
            names.push(row.name.clone());
        }
        self.chosen = Some(names);
        self.problem = None;
        true
    }

    /// Back to the default: every read-only tool, now and as servers add them.
    pub fn reset(&mut self) -> bool {
        self.chosen = None;
        self.problem = None;
        true
    }

    /// A key for the filter; Space toggles the selected tool instead (names
    /// hold no spaces).
    pub fn key(&mut self, key: KeyEvent) -> bool {
        if key.code == KeyCode::Char(' ') {
            return self.toggle();
        }
        self.problem = None;
        self.filter.input(key) && self.refilter()
    }

    pub fn paste(&mut self, text: &str) -> bool {
        self.filter.paste(text) && self.refilter()
    }

    /// Rows whose name, server or description holds every word of the
    /// filter (ignoring case), in the rows' order.
    fn refilter(&mut self) -> bool {
        let words: Vec<String> = self.filter.text().split_whitespace().map(str::to_lowercase).collect();
        self.shown = (0..self.rows.len())
            .filter(|i| {
                let r = &self.rows[*i];
                let hay = format!("{} {} {}", r.name, r.source, r.description).to_lowercase();
                words.iter().all(|w| hay.contains(w.as_str()))
            })
            .collect();
        self.selected = self.selected.min(self.shown.len().saturating_sub(1));
        true
    }
}

impl ChatState {
    /// Keep the popup's choice for the open conversation (saved when the
    /// conversation is; a new one keeps it for its first question). A list
    /// equal to nothing changed is kept as it is.
    pub fn set_tools(&mut self, choice: &ToolChoice, out: &mut super::Out) -> bool {
        if choice.conversation != self.conv.meta.id {
            out.notice = Some("another conversation opened meanwhile: its tools are unchanged (T again)".into());
            return true;
        }
        let before = self.conv.meta.tools.clone();
        self.conv.meta.tools = choice.chosen.clone().map(|mut names| {
            names.sort();
            names.dedup();
            names
        });
        let n = offered_now(&self.conv.meta, out.catalog, out.read_only).len();
        out.notice = Some(match &self.conv.meta.tools {
            None => format!("tools: {n} offered (the read-only default) in this conversation"),
            Some(_) => format!("tools: {n} offered in this conversation"),
        });
        if before != self.conv.meta.tools {
            self.save(out);
        }
        true
    }

    /// `tools: 5 offered` for the open conversation (what the next request sends).
    pub fn tools_label(&self, catalog: &[ToolInfo], read_only: bool) -> String {
        format!("tools: {} offered", offered_now(&self.conv.meta, catalog, read_only).len())
    }
}
