//! How a workflow's parts refer to each other and to what is outside its
//! file: the `needs` graph (a cycle is found and named), the names templates
//! read, and the tools and alert rules it names.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

use serde_json::Value;
use toml::Spanned;

use super::{Cx, Step, StepToml};

/// Names outside a workflow file that it may use, for the checks that need
/// them (`opsdeck check`); without them ([`super::parse`]) any tool and
/// alert rule name is taken on trust.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    /// The built-in tools (as `Registry::with_builtins` has them).
    pub tools: BTreeSet<String>,
    /// The MCP servers of the config: `SERVER/TOOL` is accepted for these
    /// (their tools are only known once a server runs). `None`: any server.
    pub mcp_servers: Option<BTreeSet<String>>,
    /// Alert rules and health checks (bundled and the user's) a
    /// `trigger.alert` may name.
    pub alerts: BTreeSet<String>,
}

impl Cx<'_> {
    /// With [`Known`] names: each step's tool and the trigger's alert exist.
    /// An empty `trigger.alert` is always a problem.
    pub(super) fn outside_names(&mut self, raw: &[Spanned<StepToml>], alert: Option<&Spanned<String>>) {
        if let Some(a) = alert.filter(|a| a.get_ref().trim().is_empty()) {
            self.error(a.span(), "trigger: alert is empty".into(), "name an alert rule: alert = \"disk_full\"");
        }
        let Some(known) = self.known else { return };
        if let Some(a) = alert.filter(|a| !a.get_ref().trim().is_empty()) {
            let name = a.get_ref().trim();
            if !known.alerts.contains(name) {
                let hint =
                    nearest(name, &known.alerts, "name a [[rule]] or [[check]] of the alert rules (opsdeck paths)");
                self.error(a.span(), format!("trigger: no alert rule or check is named {name:?}"), &hint);
            }
        }
        for s in raw {
            let uses = &s.get_ref().uses;
            let name = uses.get_ref().trim();
            if matches!(name, "" | "shell" | "http" | "approve") {
                continue;
            }
            let (problem, hint) = match name.split_once('/') {
                Some((server, tool)) => match &known.mcp_servers {
                    _ if server.is_empty() || tool.is_empty() => (
                        format!("tool {name:?} is not SERVER/TOOL"),
                        "write the MCP server's name, a /, and its tool's".to_string(),
                    ),
                    Some(servers) if !servers.contains(server) => (
                        format!("no MCP server is named {server:?} (in {name:?})"),
                        nearest(server, servers, "add an [[mcp_server]] of that name to config.toml"),
                    ),
                    _ => continue,
                },
                None if known.tools.contains(name) => continue,
                None => (
                    format!("no tool is named {name:?}"),
                    nearest(
                        name,
                        &known.tools,
                        "use a built-in tool (opsdeck tool --list), SERVER/TOOL, shell, http or approve",
                    ),
                ),
            };
            let id = s.get_ref().id.get_ref();
            self.error(uses.span(), format!("step {id}: {problem}"), &hint);
        }
    }

    /// Every template of every step reads only what it may: the inputs,
    /// the steps it needs (directly or through others), `result` in its
    /// `outputs`, and `secret(…)`.
    pub(super) fn templates(&mut self, raw: &[Spanned<StepToml>], steps: &[Step], inputs: &[&str]) {
        for (st, step) in raw.iter().zip(steps) {
            let before = ancestors(steps, &step.id);
            let mut texts: Vec<(String, Range<usize>, bool)> = Vec::new();
            let with_span = st.get_ref().with.as_ref().map_or(st.span(), Spanned::span);
            strings(&step.with, &mut |t| texts.push((t.to_string(), with_span.clone(), false)));
            for t in step.condition.iter().chain(step.message.iter()) {
                texts.push((t.clone(), st.span(), false));
            }
            texts.extend(step.outputs.values().map(|t| (t.clone(), st.span(), true)));
            for (text, span, is_output) in texts {
                let names = match crate::engine::workflows::template::names(&text) {
                    Ok(n) => n,
                    Err(why) => {
                        let at = locate(self.src, &text, span);
                        self.error(at, format!("step {}: {why} in {text:?}", step.id), TEMPLATE_HINT);
                        continue;
                    }
                };
                for name in names {
                    let mut parts = name.split('.');
                    let problem = match (parts.next(), parts.next()) {
                        (Some("inputs"), Some(i)) if inputs.contains(&i) => None,
                        (Some("inputs"), Some(i)) => Some(format!("no input is named {i}")),
                        (Some("steps"), Some(id)) if before.contains(&id) => None,
                        (Some("steps"), Some(id)) if steps.iter().any(|s| s.id == id) => {
                            Some(format!("{id} is not a step {} needs, so its result is not known yet", step.id))
                        }
                        (Some("steps"), Some(id)) => Some(format!("no step is named {id}")),
                        (Some("result"), _) if is_output => None,
                        (Some("secret"), None) => None,
                        (Some("run"), Some("id" | "attempt" | "workflow" | "version")) => None,
                        _ => Some(format!("{name} is not defined")),
                    };
                    if let Some(p) = problem {
                        let at = locate(self.src, &text, span.clone());
                        self.error(at, format!("step {}: {p} (in {text:?})", step.id), TEMPLATE_HINT);
                    }
                }
            }
        }
    }
}

impl Step {
    /// The inputs this step's templates read (arguments, condition, message,
    /// outputs), in `all`'s order; a template that reads `inputs` as a whole
    /// reads every one.
    pub fn input_reads(&self, all: &[String]) -> Vec<String> {
        let mut texts: Vec<String> = Vec::new();
        strings(&self.with, &mut |t| texts.push(t.to_string()));
        texts.extend(self.condition.iter().chain(self.message.iter()).cloned());
        texts.extend(self.outputs.values().cloned());
        let mut read: BTreeSet<String> = BTreeSet::new();
        for t in &texts {
            // A template that does not parse was refused with the file; read as "every input".
            let names = crate::engine::workflows::template::names(t).unwrap_or_else(|_| ["inputs".into()].into());
            for n in &names {
                let mut parts = n.split('.');
                match (parts.next(), parts.next()) {
                    (Some("inputs"), Some(i)) => {
                        read.insert(i.to_string());
                    }
                    (Some("inputs"), None) => return all.to_vec(),
                    _ => {}
                }
            }
        }
        all.iter().filter(|a| read.contains(*a)).cloned().collect()
    }
}

const TEMPLATE_HINT: &str = "templates read inputs.NAME, steps.ID.… of the steps this one needs, run.id/attempt/workflow/version, result.… in outputs, and secret(\"name\")";

/// The steps `id` needs, directly or through the steps it needs.
fn ancestors<'a>(steps: &'a [Step], id: &str) -> Vec<&'a str> {
    let mut found: Vec<&str> = Vec::new();
    let mut todo: Vec<&str> =
        steps.iter().find(|s| s.id == id).map(|s| s.needs.iter().map(String::as_str).collect()).unwrap_or_default();
    while let Some(n) = todo.pop() {
        if found.contains(&n) {
            continue;
        }
        if let Some(s) = steps.iter().find(|s| s.id == n) {
            found.push(&s.id);
            todo.extend(s.needs.iter().map(String::as_str));
        }
    }
    found
}

/// Every string inside `v`.
fn strings(v: &Value, f: &mut impl FnMut(&str)) {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, f)),
        Value::Object(o) => o.values().for_each(|x| strings(x, f)),
        _ => {}
    }
}

/// Where `text` is first written in `src` from the start of `from` (the
/// step or table it belongs to), else `from`.
fn locate(src: &str, text: &str, from: Range<usize>) -> Range<usize> {
    src.get(from.start..)
        .and_then(|rest| rest.find(text))
        .map_or(from.clone(), |at| from.start + at..from.start + at + text.len())
}

/// The indices of a cycle of `needs` (each needs the next... the last needs
/// the first), if there is one.
pub(super) fn find_cycle(steps: &[Spanned<StepToml>]) -> Option<Vec<usize>> {
    let index: HashMap<&str, usize> =
        steps.iter().enumerate().map(|(i, s)| (s.get_ref().id.get_ref().as_str(), i)).collect();
    let needs: Vec<Vec<usize>> = steps
        .iter()
        .map(|s| s.get_ref().needs.iter().filter_map(|n| index.get(n.get_ref().as_str()).copied()).collect())
        .collect();
    // 0 = unvisited, 1 = on the path, 2 = done.
    let mut mark = vec![0u8; steps.len()];
    let mut path = Vec::new();
    fn visit(i: usize, needs: &[Vec<usize>], mark: &mut [u8], path: &mut Vec<usize>) -> Option<Vec<usize>> {
        mark[i] = 1;
        path.push(i);
        for &j in &needs[i] {
            if j == i {
                continue; // said as "needs itself"
            }
            if mark[j] == 1 {
                let from = path.iter().position(|&p| p == j).unwrap_or(0);
                return Some(path[from..].to_vec());
            }
            if mark[j] == 0
                && let Some(c) = visit(j, needs, mark, path)
            {
                return Some(c);
            }
        }
        path.pop();
        mark[i] = 2;
        None
    }
    (0..steps.len()).find_map(|i| if mark[i] == 0 { visit(i, &needs, &mut mark, &mut path) } else { None })
}

/// "did you mean `a`? " + `tail`, when a name of `names` is close to `word`.
fn nearest(word: &str, names: &BTreeSet<String>, tail: &str) -> String {
    names
        .iter()
        .map(|n| (strsim::levenshtein(word, n), n))
        .filter(|(d, n)| *d <= (n.len().max(word.len()) / 3).max(1))
        .min()
        .map_or(tail.to_string(), |(_, n)| format!("did you mean `{n}`? {tail}"))
}
