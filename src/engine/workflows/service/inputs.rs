//! A workflow's inputs as the engine reads them: given values (text from the
//! command line, JSON from elsewhere) typed and defaulted by the definition,
//! and the word a step's `uses` is shown as.

use serde_json::{Map, Value};

use crate::engine::workflows::definition::{InputKind, Uses, Workflow};

/// `shell`, `http`, `approve` or the tool's name.
pub fn uses_word(u: &Uses) -> String {
    match u {
        Uses::Shell => "shell".into(),
        Uses::Http => "http".into(),
        Uses::Approve => "approve".into(),
        Uses::Tool(t) => t.clone(),
    }
}

/// The inputs of a run of `def`: each given value read as its input's type
/// (text from a command line is parsed: `port=5432`), defaults filled in;
/// an unknown input, a missing required one or a value of the wrong type is
/// refused with its name.
pub fn typed_inputs(def: &Workflow, given: Map<String, Value>) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for k in given.keys() {
        if !def.inputs.iter().any(|i| &i.name == k) {
            let names: Vec<&str> = def.inputs.iter().map(|i| i.name.as_str()).collect();
            return Err(format!(
                "workflow {} has no input {k:?} (its inputs: {})",
                def.name,
                if names.is_empty() { "none".to_string() } else { names.join(", ") }
            ));
        }
    }
    for i in &def.inputs {
        let v = match given.get(&i.name) {
            Some(v) => read_input(&i.kind, v).map_err(|why| format!("input {}: {why}", i.name))?,
            None => match &i.default {
                Some(d) => d.clone(),
                None if i.required => {
                    return Err(format!("input {} is required (give it with --input {}=…)", i.name, i.name));
                }
                None => continue,
            },
        };
        out.insert(i.name.clone(), v);
    }
    Ok(out)
}

fn read_input(kind: &InputKind, v: &Value) -> Result<Value, String> {
    let text = v.as_str().map(str::trim);
    match kind {
        InputKind::String => v.as_str().map(|s| Value::String(s.into())).ok_or_else(|| format!("{v} is not text")),
        InputKind::SecretName => {
            let s = v.as_str().ok_or_else(|| format!("{v} is not a secret's name"))?;
            crate::secrets::check_name(s).map_err(|e| e.to_string())?;
            Ok(Value::String(s.into()))
        }
        InputKind::Integer => match (v.as_i64(), text.and_then(|t| t.parse::<i64>().ok())) {
            (Some(n), _) | (None, Some(n)) => Ok(Value::from(n)),
            _ => Err(format!("{v} is not an integer")),
        },
        InputKind::Number => match (v.as_f64(), text.and_then(|t| t.parse::<f64>().ok())) {
            (Some(n), _) | (None, Some(n)) if n.is_finite() => Ok(Value::from(n)),
            _ => Err(format!("{v} is not a finite number")),
        },
        InputKind::Boolean => match (v.as_bool(), text) {
            (Some(b), _) => Ok(Value::Bool(b)),
            (None, Some("true" | "yes" | "1")) => Ok(Value::Bool(true)),
            (None, Some("false" | "no" | "0")) => Ok(Value::Bool(false)),
            _ => Err(format!("{v} is not true or false")),
        },
        InputKind::Enum(values) => match v.as_str() {
            Some(s) if values.iter().any(|x| x == s) => Ok(Value::String(s.into())),
            _ => Err(format!("{v} is not one of {}", values.join(", "))),
        },
    }
}
