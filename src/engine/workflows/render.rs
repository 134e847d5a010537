//! Rendering a step's templates when it becomes ready: its `with`
//! arguments, its `if` condition, an approval's message and its named
//! `outputs` — from the run's inputs and the steps that ended before it
//! (`{{ inputs.host }}`, `{{ steps.probe.output.status }}`,
//! `{{ steps.probe.state }}`, `{{ result.status }}` in `outputs`).
//!
//! Strict: an undefined name is an error, never an empty string.
//! `{{ secret("name") }}` reads a secret through a [`Secrets`] source; every
//! value read is collected so the caller masks it (`••••`) in what it keeps
//! or shows.

use std::sync::{Arc, Mutex};

use minijinja::Environment;
use serde_json::{Map, Value};

use super::template;
use crate::protocol::workflow::StepRun;

/// Where `secret("name")` reads from (the keyring and its fallbacks in the
/// product; a map in tests). May block: called off the async threads.
pub trait Secrets: Send + Sync {
    /// The value, or why there is none (a sentence naming the secret).
    fn get(&self, name: &str) -> Result<String, String>;
}

/// The secrets of `opsdeck key` (environment, OS keyring, fallback file).
pub struct KeyringSecrets {
    pub config_dir: std::path::PathBuf,
}

impl Secrets for KeyringSecrets {
    fn get(&self, name: &str) -> Result<String, String> {
        match crate::secrets::get(name, &self.config_dir) {
            Ok(Some(found)) => Ok(found.value),
            Ok(None) => Err(format!("secret {name:?} is not set (set it with `opsdeck key set {name}`)")),
            Err(e) => Err(format!("secret {name:?}: {e}")),
        }
    }
}

/// What templates see: `inputs`, the ended steps and the run
/// (`run.id`, `run.attempt`, `run.workflow`, `run.version`).
pub struct Scope<'a> {
    pub inputs: &'a Map<String, Value>,
    pub steps: &'a [StepRun],
    pub run: Option<&'a crate::protocol::workflow::Run>,
}

impl Scope<'_> {
    fn value(&self, result: Option<&Value>) -> Value {
        let mut steps = Map::new();
        for s in self.steps {
            let mut o = Map::new();
            o.insert("state".into(), Value::String(s.state.word().into()));
            o.insert("output".into(), s.output.clone().unwrap_or(Value::Null));
            o.insert("outputs".into(), Value::Object(s.outputs.clone().into_iter().collect()));
            o.insert("error".into(), s.error.clone().map_or(Value::Null, Value::String));
            o.insert("attempt".into(), Value::from(s.attempt));
            steps.insert(s.id.clone(), Value::Object(o));
        }
        let mut root = Map::new();
        root.insert("inputs".into(), Value::Object(self.inputs.clone()));
        root.insert("steps".into(), Value::Object(steps));
        if let Some(r) = self.run {
            let run =
                serde_json::json!({ "id": r.id, "attempt": r.attempt, "workflow": r.workflow, "version": r.version });
            root.insert("run".into(), run);
        }
        if let Some(r) = result {
            root.insert("result".into(), r.clone());
        }
        Value::Object(root)
    }
}

/// Renders templates, remembering the secret values it read.
pub struct Renderer {
    env: Environment<'static>,
    read: Arc<Mutex<Vec<String>>>,
}

impl Renderer {
    pub fn new(secrets: Arc<dyn Secrets>) -> Self {
        let mut env = template::environment();
        let read: Arc<Mutex<Vec<String>>> = Arc::default();
        let seen = read.clone();
        env.add_function("secret", move |name: String| -> Result<String, minijinja::Error> {
            match secrets.get(&name) {
                Ok(v) => {
                    let mut s = seen.lock().unwrap_or_else(|p| p.into_inner());
                    if !v.is_empty() && !s.contains(&v) {
                        s.push(v.clone());
                    }
                    Ok(v)
                }
                Err(why) => Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, why)),
            }
        });
        Renderer { env, read }
    }

    /// The secret values read so far (to mask).
    pub fn secrets_read(&self) -> Vec<String> {
        self.read.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Every string of `with` rendered. A string that is one whole
    /// `{{ expression }}` keeps the expression's type (a number stays a number).
    pub fn with(&self, with: &Value, scope: &Scope<'_>) -> Result<Value, String> {
        if !has_template(with) {
            // Nothing to render: skip building the context (every step's
            // state and output), which grows with the run.
            return Ok(with.clone());
        }
        let ctx = scope.value(None);
        self.value(with, &ctx, "with")
    }

    fn value(&self, v: &Value, ctx: &Value, at: &str) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) => self.string(s, ctx).map_err(|e| format!("{at}: {e}"))?,
            Value::Array(a) => Value::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, x)| self.value(x, ctx, &format!("{at}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| Ok((k.clone(), self.value(x, ctx, &format!("{at}.{k}"))?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }

    fn string(&self, s: &str, ctx: &Value) -> Result<Value, String> {
        if !s.contains("{{") && !s.contains("{%") {
            return Ok(Value::String(s.to_string()));
        }
        if let Some(expr) = whole_expression(s) {
            let e = self.env.compile_expression(expr).map_err(describe)?;
            let v = e.eval(ctx).map_err(describe)?;
            if v.is_undefined() {
                return Err(format!("{expr} is undefined"));
            }
            return serde_json::to_value(&v).map_err(|e| e.to_string());
        }
        self.env.render_str(s, ctx).map(Value::String).map_err(describe)
    }

    /// Whether a condition holds: a template that renders to true/false
    /// (`{{ steps.a.state == 'failed' }}`) or a bare expression.
    pub fn condition(&self, src: &str, scope: &Scope<'_>) -> Result<bool, String> {
        let ctx = scope.value(None);
        if !src.contains("{{") {
            let e = self.env.compile_expression(src.trim()).map_err(describe)?;
            let v = e.eval(&ctx).map_err(describe)?;
            if v.is_undefined() {
                return Err(format!("{} is undefined", src.trim()));
            }
            return Ok(v.is_true());
        }
        let out = self.env.render_str(src, &ctx).map_err(describe)?;
        match out.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" | "" | "none" => Ok(false),
            other => Err(format!("the condition gave {other:?}, not true or false")),
        }
    }

    /// A template rendered to text (an approval's message).
    pub fn text(&self, src: &str, scope: &Scope<'_>) -> Result<String, String> {
        self.env.render_str(src, scope.value(None)).map_err(describe)
    }

    /// A step's named outputs from its result (`{{ result.… }}`).
    pub fn outputs(
        &self,
        outputs: &std::collections::BTreeMap<String, String>,
        result: &Value,
        scope: &Scope<'_>,
    ) -> Result<std::collections::BTreeMap<String, Value>, String> {
        if outputs.is_empty() {
            return Ok(std::collections::BTreeMap::new());
        }
        let ctx = scope.value(Some(result));
        outputs
            .iter()
            .map(|(k, t)| Ok((k.clone(), self.string(t, &ctx).map_err(|e| format!("outputs.{k}: {e}"))?)))
            .collect()
    }
}

/// Some string in `v` is a template (what [`Renderer::string`] would render).
fn has_template(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("{{") || s.contains("{%"),
        Value::Array(a) => a.iter().any(has_template),
        Value::Object(o) => o.values().any(has_template),
        _ => false,
    }
}

/// The inside of `{{ … }}` when `s` is exactly one such expression.
fn whole_expression(s: &str) -> Option<&str> {
    let t = s.trim();
    let inner = t.strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}") && !t.contains("{%")).then_some(inner.trim())
}

/// A template error as one sentence (kind, detail).
fn describe(e: minijinja::Error) -> String {
    match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    }
}

pub use super::output::mask;

/// A JSON value with every secret masked in its strings.
pub fn mask_value(v: &Value, secrets: &[String]) -> Value {
    if secrets.is_empty() {
        return v.clone();
    }
    match v {
        Value::String(s) => Value::String(mask(s, secrets)),
        Value::Array(a) => Value::Array(a.iter().map(|x| mask_value(x, secrets)).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), mask_value(x, secrets))).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::workflow::RunState;
    use serde_json::json;

    struct Map1;
    impl Secrets for Map1 {
        fn get(&self, name: &str) -> Result<String, String> {
            match name {
                "db" => Ok("hunter2".into()),
                _ => Err(format!("secret {name:?} is not set")),
            }
        }
    }

    fn scope_parts() -> (Map<String, Value>, Vec<StepRun>) {
        let inputs = json!({"host": "db1", "port": 5432}).as_object().cloned().unwrap();
        let mut probe = StepRun::new("probe", "http");
        probe.state = RunState::Succeeded;
        probe.output = Some(json!({"status": 200}));
        (inputs, vec![probe])
    }

    #[test]
    fn with_keeps_types_of_whole_expressions_and_renders_the_rest() {
        let (inputs, steps) = scope_parts();
        let r = Renderer::new(Arc::new(Map1));
        let scope = Scope { inputs: &inputs, steps: &steps, run: None };
        let w = json!({"url": "https://{{ inputs.host }}/x", "port": "{{ inputs.port }}", "n": 3, "l": ["{{ steps.probe.output.status }}"]});
        assert_eq!(r.with(&w, &scope).unwrap(), json!({"url": "https://db1/x", "port": 5432, "n": 3, "l": [200]}));
        let e = r.with(&json!({"u": "{{ inputs.nope }}"}), &scope).unwrap_err();
        assert!(e.starts_with("with.u: "), "{e}");
        assert!(e.contains("undefined"), "{e}");
    }

    #[test]
    fn conditions_are_true_or_false_or_an_error() {
        let (inputs, steps) = scope_parts();
        let r = Renderer::new(Arc::new(Map1));
        let scope = Scope { inputs: &inputs, steps: &steps, run: None };
        assert!(r.condition("{{ steps.probe.state == 'succeeded' }}", &scope).unwrap());
        assert!(!r.condition("steps.probe.output.status != 200", &scope).unwrap());
        assert!(r.condition("{{ inputs.host }}", &scope).is_err(), "db1 is neither true nor false");
        assert!(r.condition("steps.nope.state == 'x'", &scope).is_err());
    }

    #[test]
    fn secrets_are_read_remembered_and_masked() {
        let (inputs, steps) = scope_parts();
        let r = Renderer::new(Arc::new(Map1));
        let scope = Scope { inputs: &inputs, steps: &steps, run: None };
        let v = r.with(&json!({"command": "psql -p {{ secret('db') }}"}), &scope).unwrap();
        assert_eq!(v, json!({"command": "psql -p hunter2"}));
        assert_eq!(r.secrets_read(), ["hunter2"]);
        assert_eq!(mask_value(&v, &r.secrets_read()), json!({"command": "psql -p ••••"}));
        let e = r.with(&json!({"c": "{{ secret('nope') }}"}), &scope).unwrap_err();
        assert!(e.contains("secret \"nope\" is not set"), "{e}");
    }

    #[test]
    fn outputs_read_the_result() {
        let (inputs, steps) = scope_parts();
        let r = Renderer::new(Arc::new(Map1));
        let scope = Scope { inputs: &inputs, steps: &steps, run: None };
        let outs = [("status".to_string(), "{{ result.status }}".to_string())].into_iter().collect();
        let got = r.outputs(&outs, &json!({"status": 503}), &scope).unwrap();
        assert_eq!(got.get("status"), Some(&json!(503)));
    }
}
