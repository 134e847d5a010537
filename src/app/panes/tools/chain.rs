//! Chains: a tool's result (or a jq-selected part of it) feeds the next tool's
//! argument. A chain is built from runs in the pane and can be saved by name.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How a step takes its input from the previous step's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// A jq filter over the previous result (`.` for all of it).
    pub filter: String,
    /// The argument it fills (a dotted path for nested objects).
    pub arg: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub tool: String,
    /// Fixed arguments (the linked one is filled at run time).
    pub args: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<Link>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chain {
    pub name: String,
    pub steps: Vec<Step>,
}

impl Chain {
    /// `http_check → data_query → …`
    pub fn summary(&self) -> String {
        self.steps.iter().map(|s| s.tool.as_str()).collect::<Vec<_>>().join(" → ")
    }
}

/// Apply `filter` to `result`: one output stays itself, several become an array.
pub fn select(filter: &str, result: &Value) -> Result<Value, String> {
    let f = if filter.trim().is_empty() { "." } else { filter };
    let mut out = crate::jq::run_filter(f, result).map_err(|e| e.to_string())?;
    Ok(match out.len() {
        0 => Value::Null,
        1 => out.remove(0),
        _ => Value::Array(out),
    })
}

/// The value as a given argument type wants it: text fields take strings as
/// they are and anything else as JSON text.
pub fn coerce(value: Value, arg_type: Option<&str>) -> Value {
    match (arg_type, value) {
        (Some("string") | None, Value::String(s)) => Value::String(s),
        (Some("string"), v) => Value::String(v.to_string()),
        (Some("integer"), Value::String(s)) => s.trim().parse::<i64>().map_or(Value::String(s), Value::from),
        (Some("number"), Value::String(s)) => {
            s.trim().parse::<f64>().ok().filter(|n| n.is_finite()).map_or(Value::String(s), Value::from)
        }
        (_, v) => v,
    }
}

/// The arguments of `step` given the previous step's result.
pub fn step_args(step: &Step, prev: Option<&Value>, schema: &Value) -> Result<Value, String> {
    let mut args = step.args.clone();
    let Some(link) = &step.link else { return Ok(args) };
    let prev = prev.ok_or("the previous step has no result")?;
    let v = select(&link.filter, prev)?;
    let ptr = format!("/properties/{}/type", link.arg.replace('.', "/properties/"));
    let v = coerce(v, schema.pointer(&ptr).and_then(Value::as_str));
    if !args.is_object() {
        args = Value::Object(Map::new());
    }
    let mut cur = &mut args;
    let parts: Vec<&str> = link.arg.split('.').collect();
    for (i, p) in parts.iter().enumerate() {
        let Value::Object(m) = cur else { return Err(format!("argument {} is not an object", link.arg)) };
        if i + 1 == parts.len() {
            m.insert(p.to_string(), v);
            break;
        }
        cur = m.entry(p.to_string()).or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn select_one_many_none() {
        let r = json!({"items":[{"h":"a"},{"h":"b"}]});
        assert_eq!(select(".items[0].h", &r).unwrap(), json!("a"));
        assert_eq!(select(".items[].h", &r).unwrap(), json!(["a", "b"]));
        assert_eq!(select("empty", &r).unwrap(), Value::Null);
        assert_eq!(select("", &r).unwrap(), r);
        assert!(select(".[", &r).is_err());
    }

    #[test]
    fn linked_args_are_typed_and_nested() {
        let schema = json!({"properties":{"input":{"type":"string"},"opt":{"type":"object","properties":{"n":{"type":"integer"}}}}});
        let step = Step {
            tool: "data_query".into(),
            args: json!({"filter":"."}),
            link: Some(Link { filter: ".body".into(), arg: "input".into() }),
        };
        let prev = json!({"body":{"a":1}});
        assert_eq!(step_args(&step, Some(&prev), &schema).unwrap(), json!({"filter":".","input":"{\"a\":1}"}));
        let nested =
            Step { tool: "x".into(), args: json!({}), link: Some(Link { filter: ".n".into(), arg: "opt.n".into() }) };
        assert_eq!(step_args(&nested, Some(&json!({"n":"7"})), &schema).unwrap(), json!({"opt":{"n":7}}));
        assert!(step_args(&nested, None, &schema).is_err());
        let chain = Chain { name: "c".into(), steps: vec![step.clone(), nested] };
        assert_eq!(chain.summary(), "data_query → x");
        let back: Chain = serde_json::from_str(&serde_json::to_string(&chain).unwrap()).unwrap();
        assert_eq!(back, chain);
    }
}
