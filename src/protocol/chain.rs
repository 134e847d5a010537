//! Chains: a tool's result (or a jq-selected part of it) feeds the next tool's
//! argument. A chain is built from runs in the tools pane and saved by name;
//! the engine's chain executor (`engine::tools::chains`) runs it, evaluating
//! each link's jq filter in a jq worker. This module holds the shared types,
//! the saved record, how a link's outputs fill the next step's arguments and
//! the sentences that say how a run of a chain goes. No IO here.

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

/// One step of a chain: a tool, its fixed arguments and how it takes the
/// previous step's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The tool's name in the registry.
    pub tool: String,
    /// Fixed arguments (the linked one is filled at run time).
    pub args: Value,
    /// How it takes the previous step's result (`None`: it does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<Link>,
}

/// A named, linear chain of tool runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    /// The name it was saved under.
    pub name: String,
    /// The steps, run in order.
    pub steps: Vec<Step>,
}

/// Version of the saved chains record (`tools.chains`) this build writes.
pub const CHAINS_VERSION: u32 = 1;

/// The saved chains record: `{"version":1,"chains":[…]}`.
#[derive(Serialize)]
struct ChainsRecord<'a> {
    version: u32,
    chains: &'a [Chain],
}

/// The chains record to store.
pub fn write_chains(chains: &[Chain]) -> String {
    serde_json::to_string(&ChainsRecord { version: CHAINS_VERSION, chains }).unwrap_or_default()
}

/// Saved chains, decoded whole or not at all (user data is never replaced
/// by defaults). Reads the bare array earlier builds wrote (version 0).
///
/// Errors: not JSON, a chain of another shape, or a newer version.
pub fn read_chains(text: &str) -> Result<Vec<Chain>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let chains = match v {
        serde_json::Value::Array(_) => v,
        serde_json::Value::Object(mut o) => {
            match o.get("version").and_then(serde_json::Value::as_u64) {
                Some(n) if n == u64::from(CHAINS_VERSION) => {}
                Some(n) if n > u64::from(CHAINS_VERSION) => {
                    return Err(format!(
                        "version {n} was written by a newer opsdeck (this one reads {CHAINS_VERSION})"
                    ));
                }
                _ => return Err("no known version".into()),
            }
            o.remove("chains").ok_or("no chains")?
        }
        _ => return Err("neither a list of chains nor a chains record".into()),
    };
    serde_json::from_value(chains).map_err(|e| e.to_string())
}

impl Chain {
    /// `http_check → data_query → …`
    pub fn summary(&self) -> String {
        self.steps.iter().map(|s| s.tool.as_str()).collect::<Vec<_>>().join(" → ")
    }
}

/// A link's filter as it is evaluated: an empty filter means all of it (`.`).
pub fn filter_or_all(filter: &str) -> String {
    if filter.trim().is_empty() { ".".into() } else { filter.to_string() }
}

/// The outputs of a link's filter as one value: one output stays itself,
/// several become an array, none is `null`. (The filter itself runs in a jq
/// worker, never here.)
pub fn combine(mut outputs: Vec<Value>) -> Value {
    match outputs.len() {
        0 => Value::Null,
        1 => outputs.remove(0),
        _ => Value::Array(outputs),
    }
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

/// The arguments of `step`, given the value its link's filter selected from
/// the previous step's result (`None` when there is none).
pub fn step_args(step: &Step, linked: Option<Value>, schema: &Value) -> Result<Value, String> {
    let mut args = step.args.clone();
    let Some(link) = &step.link else { return Ok(args) };
    let v = linked.ok_or("the previous step has no result")?;
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

/// `chain NAME: step 2/3 TOOL`: step `step` (from 1) of `steps` started.
pub fn step_notice(name: &str, step: usize, steps: usize, tool: &str) -> String {
    format!("chain {name}: step {step}/{steps} {tool}")
}

/// Step `step` (from 1) waits for its link's `filter` over the result before it.
pub fn selecting_notice(name: &str, step: usize, steps: usize, tool: &str, filter: &str) -> String {
    format!("chain {name}: step {step}/{steps} {tool}: selecting {filter} from the result…")
}

/// The chain stopped at step `step` (from 1), whose `tool` failed (or whose
/// link could not be read), and why.
pub fn stopped_notice(name: &str, step: usize, steps: usize, tool: &str, why: &str) -> String {
    format!("✗ chain {name} stopped at step {step}/{steps} ({tool}): {why}")
}

/// Every one of the `steps` steps succeeded.
pub fn finished_notice(name: &str, steps: usize) -> String {
    format!("✓ chain {name} finished ({})", crate::text::count(steps as u64, "step", "steps"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn outputs_combine_one_many_none() {
        assert_eq!(combine(vec![json!("a")]), json!("a"));
        assert_eq!(combine(vec![json!("a"), json!("b")]), json!(["a", "b"]));
        assert_eq!(combine(vec![]), Value::Null);
        assert_eq!(filter_or_all("  "), ".");
        assert_eq!(filter_or_all(".a"), ".a");
    }

    #[test]
    fn linked_args_are_typed_and_nested() {
        let schema = json!({"properties":{"input":{"type":"string"},"opt":{"type":"object","properties":{"n":{"type":"integer"}}}}});
        let step = Step {
            tool: "data_query".into(),
            args: json!({"filter":"."}),
            link: Some(Link { filter: ".body".into(), arg: "input".into() }),
        };
        assert_eq!(step_args(&step, Some(json!({"a":1})), &schema).unwrap(), json!({"filter":".","input":"{\"a\":1}"}));
        let nested =
            Step { tool: "x".into(), args: json!({}), link: Some(Link { filter: ".n".into(), arg: "opt.n".into() }) };
        assert_eq!(step_args(&nested, Some(json!("7")), &schema).unwrap(), json!({"opt":{"n":7}}));
        assert!(step_args(&nested, None, &schema).is_err());
        let chain = Chain { name: "c".into(), steps: vec![step.clone(), nested] };
        assert_eq!(chain.summary(), "data_query → x");
        let back: Chain = serde_json::from_str(&serde_json::to_string(&chain).unwrap()).unwrap();
        assert_eq!(back, chain);
    }

    #[test]
    fn the_sentences_of_a_chain_run() {
        assert_eq!(step_notice("c", 1, 3, "text_stats"), "chain c: step 1/3 text_stats");
        assert_eq!(
            selecting_notice("c", 2, 3, "data_query", ".body"),
            "chain c: step 2/3 data_query: selecting .body from the result…"
        );
        assert_eq!(stopped_notice("c", 2, 3, "data_query", "boom"), "✗ chain c stopped at step 2/3 (data_query): boom");
        assert_eq!(finished_notice("c", 1), "✓ chain c finished (1 step)");
        assert_eq!(finished_notice("c", 3), "✓ chain c finished (3 steps)");
    }
}
