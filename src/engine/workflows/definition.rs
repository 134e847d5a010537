//! Workflow definitions: one `workflows/NAME.toml` file each (DESIGN.md §4,
//! issue 12). A definition is read whole and checked before anything runs:
//! typed inputs, steps with unique ids, `needs` naming steps that exist and
//! forming no cycle, what each kind of step requires, durations and retry
//! numbers in range. Every problem is a [`ConfigError`] at its line and
//! column; a file with any problem is not used.
//!
//! ```toml
//! name = "restart-api"
//! description = "Drain, restart and probe the API"
//! [inputs.host]
//! type = "string"
//! required = true
//! [[step]]
//! id = "drain"
//! uses = "http"
//! with = { method = "POST", url = "https://{{ inputs.host }}/drain" }
//! [[step]]
//! id = "ok"
//! uses = "approve"
//! message = "Restart {{ inputs.host }}?"
//! needs = ["drain"]
//! ```

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

use crate::config::error::ConfigError;
use crate::config::settings::parse_duration;
use crate::engine::workflows::schedule::{Schedule, ScheduleToml};

const HINT: &str = "see docs/workflows.md for the workflow file format";

/// Longest a step may run unless it says otherwise.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(600);
/// Steps of one run at once unless the workflow says otherwise.
pub const DEFAULT_CONCURRENCY: usize = 4;

/// A checked workflow definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    pub name: String,
    pub description: String,
    /// In the order of the file.
    pub inputs: Vec<Input>,
    /// In the order of the file (not yet in run order: see [`Workflow::order`]).
    pub steps: Vec<Step>,
    /// Steps of one run at once (at least 1).
    pub concurrency: usize,
    /// Mutating steps of runs started by an alert or a schedule need no approval.
    pub unattended: bool,
    /// The definition's version: the first 12 hex digits of the SHA-256 of
    /// the file's text (a run records the version it ran).
    pub version: String,
    /// The file it was read from, as given to [`parse`].
    pub path: String,
    /// `[schedule]`: when it starts by itself.
    pub schedule: Option<Schedule>,
    /// `[trigger] alert`: the alert rule (or health check) whose firing starts it.
    pub trigger_alert: Option<String>,
    /// A run that takes longer raises an alert.
    pub expected_duration: Option<Duration>,
}

/// A typed input of a workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub name: String,
    pub kind: InputKind,
    pub description: String,
    /// Of the input's type (checked).
    pub default: Option<Value>,
    pub required: bool,
}

/// What an input holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKind {
    String,
    Integer,
    Number,
    Boolean,
    /// One of these values.
    Enum(Vec<String>),
    /// The name of a secret in the keyring (its value is never shown).
    SecretName,
}

/// What a step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uses {
    /// A tool of the registry: a built-in, or `SERVER/TOOL` of an MCP server.
    Tool(String),
    /// `with.command` through `sh -c`.
    Shell,
    /// One HTTP request: `with.url` (and `method`, `headers`, `body`).
    Http,
    /// Waits until a person approves or rejects (`message` says what).
    Approve,
}

/// How a failed step is tried again (Temporal's retry policy).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = no retry).
    pub max_attempts: u32,
    pub initial_interval: Duration,
    /// Each wait is the previous one times this (at least 1).
    pub backoff_coefficient: f64,
    pub max_interval: Duration,
    /// Fraction of a wait chosen at random, 0 to 1.
    pub jitter: f64,
    /// Errors containing one of these are not retried.
    pub non_retryable: Vec<String>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 1,
            initial_interval: Duration::from_secs(1),
            backoff_coefficient: 2.0,
            max_interval: Duration::from_secs(60),
            jitter: 0.1,
            non_retryable: Vec::new(),
        }
    }
}

/// A checked step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: String,
    pub uses: Uses,
    /// Arguments (a JSON object; strings may hold `{{ … }}` templates).
    pub with: Value,
    /// Steps that must end first.
    pub needs: Vec<String>,
    /// A condition (template) that must hold for the step to run.
    pub condition: Option<String>,
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub continue_on_error: bool,
    /// Named outputs (templates over the step's result).
    pub outputs: BTreeMap<String, String>,
    /// Running it twice is harmless (a resume may run it again without asking).
    pub idempotent: bool,
    /// What an `approve` step asks.
    pub message: Option<String>,
}

impl Workflow {
    /// Step ids in an order that runs every step after the ones it needs
    /// (file order among steps that are ready together).
    pub fn order(&self) -> Vec<&str> {
        let mut done: Vec<&str> = Vec::with_capacity(self.steps.len());
        while done.len() < self.steps.len() {
            let before = done.len();
            for s in &self.steps {
                if !done.contains(&s.id.as_str()) && s.needs.iter().all(|n| done.contains(&n.as_str())) {
                    done.push(&s.id);
                }
            }
            if done.len() == before {
                break; // a cycle: refused by `parse`, never here
            }
        }
        done
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    /// Required; optional here so that a mistake elsewhere is not also
    /// said as a missing name (each key is checked on its own).
    #[serde(default)]
    name: Option<Spanned<String>>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    inputs: BTreeMap<String, Spanned<InputToml>>,
    #[serde(default)]
    step: Vec<Spanned<StepToml>>,
    #[serde(default)]
    concurrency: Option<Spanned<i64>>,
    #[serde(default)]
    unattended: bool,
    #[serde(default)]
    schedule: Option<ScheduleToml>,
    #[serde(default)]
    trigger: Option<TriggerToml>,
    #[serde(default)]
    expected_duration: Option<Spanned<String>>,
    /// The inputs' names (kept when `inputs` is taken apart).
    #[serde(skip)]
    inputs_names: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggerToml {
    alert: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputToml {
    #[serde(rename = "type")]
    kind: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    default: Option<Spanned<toml::Value>>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepToml {
    id: Spanned<String>,
    uses: Spanned<String>,
    #[serde(default)]
    with: Option<Spanned<toml::Table>>,
    #[serde(default)]
    needs: Vec<Spanned<String>>,
    #[serde(rename = "if", default)]
    condition: Option<String>,
    #[serde(default)]
    timeout: Option<Spanned<String>>,
    #[serde(default)]
    retry: Option<Spanned<RetryToml>>,
    #[serde(default)]
    continue_on_error: bool,
    #[serde(default)]
    outputs: BTreeMap<String, String>,
    #[serde(default = "yes")]
    idempotent: bool,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetryToml {
    #[serde(default)]
    max_attempts: Option<i64>,
    #[serde(default)]
    initial_interval: Option<Spanned<String>>,
    #[serde(default)]
    backoff_coefficient: Option<f64>,
    #[serde(default)]
    max_interval: Option<Spanned<String>>,
    #[serde(default)]
    jitter: Option<f64>,
    #[serde(default)]
    non_retryable: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Read and check one workflow file; every problem, each at its position.
/// Tool and alert rule names are taken on trust (see [`parse_with`]).
pub fn parse(path: &str, src: &str) -> Result<Workflow, Vec<ConfigError>> {
    parse_with(path, src, None)
}

/// [`parse`], and with `known` also: every tool a step uses is a built-in
/// or `SERVER/TOOL` of a configured MCP server, and `trigger.alert` names a
/// rule or check that exists.
pub fn parse_with(path: &str, src: &str, known: Option<&Known>) -> Result<Workflow, Vec<ConfigError>> {
    let f: FileToml = crate::config::collect::deserialize_all(path, src, |_| HINT.to_string())?;
    let cx = Cx { path, src, errors: Vec::new(), known };
    cx.workflow(f)
}

struct Cx<'a> {
    path: &'a str,
    src: &'a str,
    errors: Vec<ConfigError>,
    known: Option<&'a Known>,
}

impl Cx<'_> {
    fn error(&mut self, span: Range<usize>, message: String, hint: &str) {
        self.errors.push(ConfigError::at(self.path, self.src, Some(span), message, hint));
    }

    fn duration(&mut self, v: &Option<Spanned<String>>, default: Duration) -> Duration {
        match v {
            None => default,
            Some(s) => parse_duration(s.get_ref()).unwrap_or_else(|m| {
                self.error(s.span(), m, "durations look like 30s, 5m, 1h");
                default
            }),
        }
    }

    fn workflow(mut self, f: FileToml) -> Result<Workflow, Vec<ConfigError>> {
        let name = match &f.name {
            Some(n) if !is_id(n.get_ref().trim()) => {
                self.error(n.span(), format!("workflow name {:?} is not a name", n.get_ref()), ID_HINT);
                String::new()
            }
            Some(n) => n.get_ref().trim().to_string(),
            None => {
                self.errors.push(ConfigError::file(self.path, "a workflow needs a name", "name = \"restart-api\""));
                String::new()
            }
        };
        let concurrency = match &f.concurrency {
            None => DEFAULT_CONCURRENCY,
            Some(c) if (1..=256).contains(c.get_ref()) => *c.get_ref() as usize,
            Some(c) => {
                self.error(c.span(), format!("concurrency {} is out of range", c.get_ref()), "use 1 to 256");
                DEFAULT_CONCURRENCY
            }
        };
        let mut f = f;
        f.inputs_names = f.inputs.keys().cloned().collect();
        let inputs = std::mem::take(&mut f.inputs).into_iter().filter_map(|(n, i)| self.input(n, i)).collect();
        let steps: Vec<Step> = f.step.iter().filter_map(|s| self.step(s)).collect();
        if f.step.is_empty() {
            self.errors.push(ConfigError::file(self.path, "a workflow needs at least one [[step]]", HINT));
        }
        self.graph(&f.step);
        self.outside_names(&f.step, f.trigger.as_ref().map(|t| &t.alert));
        let schedule = f.schedule.as_ref().and_then(|s| match s.check() {
            Ok(s) => Some(s),
            Err(problems) => {
                problems.into_iter().for_each(|(at, what, hint)| self.error(at, what, hint));
                None
            }
        });
        let expected_duration =
            f.expected_duration.is_some().then(|| self.duration(&f.expected_duration, Duration::ZERO));
        if self.errors.is_empty() {
            let input_names: Vec<&str> = f.inputs_names.iter().map(String::as_str).collect();
            self.templates(&f.step, &steps, &input_names);
        }
        if !self.errors.is_empty() {
            self.errors.sort_by_key(|e| (e.line, e.col)); // stable: in order of checking at one place
            return Err(self.errors);
        }
        let version = version_of(self.src);
        Ok(Workflow {
            name,
            description: f.description,
            inputs,
            steps,
            concurrency,
            unattended: f.unattended,
            version,
            path: self.path.to_string(),
            schedule,
            trigger_alert: f.trigger.map(|t| t.alert.into_inner().trim().to_string()),
            expected_duration,
        })
    }

    fn input(&mut self, name: String, i: Spanned<InputToml>) -> Option<Input> {
        let span = i.span();
        let i = i.into_inner();
        if !is_id(&name) {
            self.error(span.clone(), format!("input name {name:?} is not a name"), ID_HINT);
        }
        let kind = match i.kind.get_ref().as_str() {
            "string" => InputKind::String,
            "integer" => InputKind::Integer,
            "number" => InputKind::Number,
            "boolean" => InputKind::Boolean,
            "secret-name" => InputKind::SecretName,
            "enum" if !i.values.is_empty() => InputKind::Enum(i.values.clone()),
            "enum" => {
                self.error(
                    i.kind.span(),
                    format!("input {name}: an enum needs its values"),
                    "add values = [\"a\", \"b\"]",
                );
                return None;
            }
            other => {
                let hint = "use string, integer, number, boolean, enum or secret-name";
                self.error(i.kind.span(), format!("input {name}: unknown type {other:?}"), hint);
                return None;
            }
        };
        let default = match i.default {
            None => None,
            Some(d) => match typed(&kind, d.get_ref()) {
                Ok(v) => Some(v),
                Err(why) => {
                    self.error(
                        d.span(),
                        format!("input {name}: the default {why}"),
                        "give a default of the input's type",
                    );
                    None
                }
            },
        };
        Some(Input { name, kind, description: i.description, default, required: i.required })
    }

    fn step(&mut self, s: &Spanned<StepToml>) -> Option<Step> {
        let st = s.get_ref();
        let id = st.id.get_ref().clone();
        if !is_id(&id) {
            self.error(st.id.span(), format!("step id {id:?} is not a name"), ID_HINT);
        }
        let uses = match st.uses.get_ref().trim() {
            "shell" => Uses::Shell,
            "http" => Uses::Http,
            "approve" => Uses::Approve,
            "" => {
                self.error(st.uses.span(), format!("step {id}: uses is empty"), USES_HINT);
                return None;
            }
            tool => Uses::Tool(tool.to_string()),
        };
        let with = match &st.with {
            None => Value::Object(Default::default()),
            Some(t) => serde_json::to_value(t.get_ref()).unwrap_or(Value::Null),
        };
        let with_span = st.with.as_ref().map_or(s.span(), Spanned::span);
        let needs_arg = |key: &str| with.get(key).is_none_or(|v| v.as_str().is_none_or(|t| t.trim().is_empty()));
        match &uses {
            Uses::Shell if needs_arg("command") => {
                self.error(
                    with_span,
                    format!("step {id}: a shell step needs with.command"),
                    "with = { command = \"…\" }",
                );
            }
            Uses::Http if needs_arg("url") => {
                self.error(
                    with_span,
                    format!("step {id}: an http step needs with.url"),
                    "with = { url = \"https://…\" }",
                );
            }
            Uses::Approve if st.message.as_deref().is_none_or(|m| m.trim().is_empty()) => {
                self.error(
                    s.span(),
                    format!("step {id}: an approve step needs a message"),
                    "message = \"Restart the API?\"",
                );
            }
            _ => {}
        }
        let timeout = self.duration(&st.timeout, DEFAULT_STEP_TIMEOUT);
        let retry = st.retry.as_ref().map_or_else(RetryPolicy::default, |r| self.retry(&id, r));
        Some(Step {
            id,
            uses,
            with,
            needs: st.needs.iter().map(|n| n.get_ref().clone()).collect(),
            condition: st.condition.clone(),
            timeout,
            retry,
            continue_on_error: st.continue_on_error,
            outputs: st.outputs.clone(),
            idempotent: st.idempotent,
            message: st.message.clone(),
        })
    }

    fn retry(&mut self, id: &str, r: &Spanned<RetryToml>) -> RetryPolicy {
        let (span, t) = (r.span(), r.get_ref());
        let d = RetryPolicy::default();
        let max_attempts = match t.max_attempts {
            None => 3,
            Some(n @ 1..=100) => n as u32,
            Some(n) => {
                self.error(span.clone(), format!("step {id}: max_attempts {n} is out of range"), "use 1 to 100");
                1
            }
        };
        let backoff_coefficient = t.backoff_coefficient.unwrap_or(d.backoff_coefficient);
        if !(1.0..=10.0).contains(&backoff_coefficient) {
            self.error(
                span.clone(),
                format!("step {id}: backoff_coefficient {backoff_coefficient} is out of range"),
                "use 1 to 10",
            );
        }
        let jitter = t.jitter.unwrap_or(d.jitter);
        if !(0.0..=1.0).contains(&jitter) {
            self.error(span.clone(), format!("step {id}: jitter {jitter} is out of range"), "use 0 to 1");
        }
        let initial_interval = self.duration(&t.initial_interval, d.initial_interval);
        let max_interval = self.duration(&t.max_interval, d.max_interval);
        if max_interval < initial_interval {
            self.error(
                span,
                format!("step {id}: max_interval is shorter than initial_interval"),
                "make max_interval the longer",
            );
        }
        RetryPolicy {
            max_attempts,
            initial_interval,
            backoff_coefficient,
            max_interval,
            jitter,
            non_retryable: t.non_retryable.clone(),
        }
    }

    /// Unique ids, `needs` that exist and are not the step itself, no cycle.
    fn graph(&mut self, steps: &[Spanned<StepToml>]) {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, s) in steps.iter().enumerate() {
            let id = s.get_ref().id.get_ref().as_str();
            if seen.insert(id, i).is_some() {
                self.error(s.get_ref().id.span(), format!("step id {id} is used twice"), "give each step its own id");
            }
        }
        for s in steps {
            let st = s.get_ref();
            for n in &st.needs {
                if n.get_ref() == st.id.get_ref() {
                    self.error(n.span(), format!("step {} needs itself", st.id.get_ref()), "remove it from needs");
                } else if !seen.contains_key(n.get_ref().as_str()) {
                    let msg = format!(
                        "step {} needs {:?}, which is not a step of this workflow",
                        st.id.get_ref(),
                        n.get_ref()
                    );
                    self.error(n.span(), msg, "name the id of a [[step]] of this file");
                }
            }
        }
        if let Some(cycle) = links::find_cycle(steps) {
            let first = &steps[cycle[0]];
            let names: Vec<&str> =
                cycle.iter().chain(cycle.first()).map(|&i| steps[i].get_ref().id.get_ref().as_str()).collect();
            self.error(
                first.get_ref().id.span(),
                format!("steps need each other in a cycle: {}", names.join(" → ")),
                "break the cycle: one of them must not need the other",
            );
        }
    }
}

const ID_HINT: &str = "names are letters, digits, `-` and `_`, starting with a letter (1 to 64)";
const USES_HINT: &str = "use a tool's name (or SERVER/TOOL), shell, http or approve";

/// A name of a workflow, input or step.
fn is_id(s: &str) -> bool {
    s.len() <= 64
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A TOML value as the JSON value of an input of `kind`, or why it is not one.
fn typed(kind: &InputKind, v: &toml::Value) -> Result<Value, String> {
    match (kind, v) {
        (InputKind::String | InputKind::SecretName, toml::Value::String(s)) => Ok(Value::String(s.clone())),
        (InputKind::Integer, toml::Value::Integer(n)) => Ok(Value::from(*n)),
        (InputKind::Number, toml::Value::Integer(n)) => Ok(Value::from(*n as f64)),
        (InputKind::Number, toml::Value::Float(f)) if f.is_finite() => Ok(Value::from(*f)),
        (InputKind::Boolean, toml::Value::Boolean(b)) => Ok(Value::Bool(*b)),
        (InputKind::Enum(values), toml::Value::String(s)) if values.contains(s) => Ok(Value::String(s.clone())),
        (InputKind::Enum(values), toml::Value::String(s)) => Err(format!("{s:?} is not one of {}", values.join(", "))),
        (_, other) => Err(format!("is a {}, not a {}", other.type_str(), kind.name())),
    }
}

impl InputKind {
    /// The name of the type as the file spells it.
    pub fn name(&self) -> &'static str {
        match self {
            InputKind::String => "string",
            InputKind::Integer => "integer",
            InputKind::Number => "number",
            InputKind::Boolean => "boolean",
            InputKind::Enum(_) => "enum",
            InputKind::SecretName => "secret-name",
        }
    }
}

mod folder;
mod links;

pub use crate::text::file::toml_files;
pub use folder::{load_dir, load_dir_with, version_of};
pub use links::Known;

#[cfg(test)]
#[path = "definition_tests.rs"]
mod tests;
