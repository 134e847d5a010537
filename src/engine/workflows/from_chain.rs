//! A saved tool chain as a workflow file: one step per tool, each needing
//! the one before. A link's jq filter becomes a `data_query` step (the
//! built-in jq tool) over the previous step's output, and the linked
//! argument a template reading its result — so the file runs the filter
//! exactly as the chain did. A filter that is all of it (`.`) reads the
//! previous output directly.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::protocol::chain::{Chain, filter_or_all};

#[derive(Serialize)]
struct File {
    name: String,
    description: String,
    step: Vec<StepOut>,
}

#[derive(Serialize)]
struct StepOut {
    id: String,
    uses: String,
    #[serde(skip_serializing_if = "Map::is_empty")]
    with: Map<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    needs: Vec<String>,
}

/// Put `value` at a dotted `path` of `args` (objects made as needed).
fn set_path(args: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut cur = args;
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(p.to_string(), value);
            return;
        }
        let next = cur.entry(p.to_string()).or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        let Value::Object(m) = next else { return };
        cur = m;
    }
}

/// A workflow name from a chain's name: letters, digits, `-`, `_`, starting
/// with a letter (others become `-`).
pub fn workflow_name(chain: &str) -> String {
    let mut n: String = chain
        .trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .take(60)
        .collect();
    if !n.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        n.insert_str(0, "chain-");
    }
    n
}

/// The TOML text of a workflow that runs `chain`.
pub fn workflow_toml(chain: &Chain) -> String {
    let mut steps: Vec<StepOut> = Vec::new();
    let mut prev: Option<String> = None;
    for (i, s) in chain.steps.iter().enumerate() {
        let id = format!("s{}_{}", i + 1, s.tool.replace(['/', '.'], "_"));
        let mut with = s.args.as_object().cloned().unwrap_or_default();
        let mut needs: Vec<String> = prev.iter().cloned().collect();
        if let (Some(link), Some(p)) = (&s.link, &prev) {
            let filter = filter_or_all(&link.filter);
            let value = if filter.trim() == "." {
                format!("{{{{ steps.{p}.output }}}}")
            } else {
                let q = format!("s{}_select", i + 1);
                let mut qwith = Map::new();
                qwith.insert("filter".into(), Value::String(filter));
                qwith.insert("input".into(), Value::String(format!("{{{{ steps.{p}.output | tojson }}}}")));
                qwith.insert("format".into(), Value::String("json".into()));
                steps.push(StepOut { id: q.clone(), uses: "data_query".into(), with: qwith, needs: vec![p.clone()] });
                needs = vec![q.clone()];
                // One output stays itself, several are a list (as the chain combines them).
                format!(
                    "{{{{ steps.{q}.output.results[0] if steps.{q}.output.results | length == 1 else steps.{q}.output.results }}}}"
                )
            };
            set_path(&mut with, &link.arg, Value::String(value));
        }
        steps.push(StepOut { id: id.clone(), uses: s.tool.clone(), with, needs });
        prev = Some(id);
    }
    let file = File {
        name: workflow_name(&chain.name),
        description: format!("From the tool chain {:?}: {}", chain.name, chain.summary()),
        step: steps,
    };
    toml::to_string(&file).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::chain::{Link, Step};
    use serde_json::json;

    #[test]
    fn a_chain_becomes_a_workflow_that_checks_and_renders_its_links() {
        let chain = Chain {
            name: "probe then query".into(),
            steps: vec![
                Step { tool: "http_check".into(), args: json!({"url": "https://example.com"}), link: None },
                Step {
                    tool: "text_stats".into(),
                    args: json!({}),
                    link: Some(Link { filter: ".status".into(), arg: "text".into() }),
                },
                Step {
                    tool: "srv/echo".into(),
                    args: json!({"opts": {"x": 1}}),
                    link: Some(Link { filter: ".".into(), arg: "opts.body".into() }),
                },
            ],
        };
        let text = workflow_toml(&chain);
        let w = crate::engine::workflows::definition::parse("chain.toml", &text)
            .unwrap_or_else(|e| panic!("{text}\n{}", e.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")));
        assert_eq!(w.name, "probe-then-query");
        let ids: Vec<&str> = w.order();
        assert_eq!(ids, ["s1_http_check", "s2_select", "s2_text_stats", "s3_srv_echo"]);
        let sel = &w.steps[1];
        assert_eq!(sel.with["filter"], ".status");
        assert_eq!(sel.needs, ["s1_http_check"]);
        assert_eq!(w.steps[3].with["opts"], json!({"x": 1, "body": "{{ steps.s2_text_stats.output }}"}));

        // The linked argument renders as the chain would fill it.
        let r = crate::engine::workflows::render::Renderer::new(std::sync::Arc::new(NoSecrets));
        let inputs = Map::new();
        let mut q = crate::protocol::workflow::StepRun::new("s2_select", "data_query");
        q.output = Some(json!({"format": "json", "results": [200]}));
        let steps = [q];
        let scope = crate::engine::workflows::render::Scope { inputs: &inputs, steps: &steps, run: None };
        assert_eq!(r.with(&w.steps[2].with, &scope).unwrap(), json!({"text": 200}));
        let mut p = crate::protocol::workflow::StepRun::new("s1_http_check", "http_check");
        p.output = Some(json!({"status": 200, "ok": true}));
        let steps = [p];
        let scope = crate::engine::workflows::render::Scope { inputs: &inputs, steps: &steps, run: None };
        let input = r.with(&w.steps[1].with, &scope).unwrap();
        let parsed: Value = serde_json::from_str(input["input"].as_str().unwrap()).unwrap();
        assert_eq!(parsed, json!({"status": 200, "ok": true}), "the previous output as JSON text");
        assert_eq!(workflow_name("9 lives"), "chain-9-lives");
    }

    struct NoSecrets;
    impl crate::engine::workflows::render::Secrets for NoSecrets {
        fn get(&self, name: &str) -> Result<String, String> {
            Err(format!("no secret {name}"))
        }
    }
}
