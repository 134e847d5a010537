//! Tool input schemas as servers write them (Pydantic and friends: `$ref`
//! into `$defs`, `anyOf`/`oneOf` with a `null` branch, `allOf`, type lists)
//! turned into the plain shape the form, `parse_args` and `validate` read:
//! every property with one concrete `type` where the schema says one.

use serde_json::{Map, Value};

/// `$ref` chains deeper than this are left unresolved (and untyped).
const MAX_DEPTH: usize = 32;

/// The schema with local `$ref`s resolved, the first non-null branch of
/// `anyOf`/`oneOf` taken, simple `allOf`s merged and `["integer","null"]`
/// types reduced to `integer`. Unknown or cyclic references become an
/// untyped schema (any JSON value). `$defs`/`definitions` are dropped.
pub fn normalize(schema: &Value) -> Value {
    let defs: Map<String, Value> = ["$defs", "definitions"]
        .iter()
        .filter_map(|k| schema.get(*k).and_then(Value::as_object))
        .flat_map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())))
        .collect();
    let mut out = walk(schema, &defs, 0);
    if let Some(o) = out.as_object_mut() {
        o.remove("$defs");
        o.remove("definitions");
    }
    out
}

fn walk(v: &Value, defs: &Map<String, Value>, depth: usize) -> Value {
    let Some(obj) = v.as_object() else { return v.clone() };
    if depth > MAX_DEPTH {
        return Value::Object(Map::new());
    }
    // A reference: its target, with the referring schema's own keys (description, default) kept.
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").or_else(|| r.strip_prefix("#/definitions/"));
        let target = name.and_then(|n| defs.get(n)).map_or(Value::Object(Map::new()), |t| walk(t, defs, depth + 1));
        return merge_outer(obj, target, &["$ref"]);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = obj.get(key).and_then(Value::as_array) {
            let first = branches.iter().map(|b| walk(b, defs, depth + 1)).find(|b| !is_null_type(b));
            return merge_outer(obj, first.unwrap_or(Value::Object(Map::new())), &[key]);
        }
    }
    if let Some(parts) = obj.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for p in parts.iter().map(|p| walk(p, defs, depth + 1)) {
            if let Value::Object(m) = p {
                for (k, v) in m {
                    match (merged.get_mut(&k), v) {
                        (Some(Value::Object(a)), Value::Object(b)) => a.extend(b),
                        (_, v) => {
                            merged.insert(k, v);
                        }
                    }
                }
            }
        }
        return merge_outer(obj, Value::Object(merged), &["allOf"]);
    }
    let mut out = Map::new();
    for (k, val) in obj {
        let v = match k.as_str() {
            "properties" | "patternProperties" => match val.as_object() {
                Some(props) => {
                    Value::Object(props.iter().map(|(n, s)| (n.clone(), walk(s, defs, depth + 1))).collect())
                }
                None => val.clone(),
            },
            "items" | "additionalProperties" => walk(val, defs, depth + 1),
            // ["integer", "null"] → "integer".
            "type" => match val.as_array() {
                Some(types) => {
                    types.iter().find(|t| t.as_str() != Some("null")).cloned().unwrap_or(Value::String("null".into()))
                }
                None => val.clone(),
            },
            _ => val.clone(),
        };
        out.insert(k.clone(), v);
    }
    Value::Object(out)
}

/// `{"type":"null"}` (a branch that only allows null).
fn is_null_type(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
}

/// `inner` with the outer schema's keys (except `skip`) laid over it.
fn merge_outer(outer: &Map<String, Value>, inner: Value, skip: &[&str]) -> Value {
    let mut m = match inner {
        Value::Object(m) => m,
        other => return other,
    };
    for (k, v) in outer {
        if !skip.contains(&k.as_str()) && k != "$defs" && k != "definitions" {
            m.insert(k.clone(), v.clone());
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pydantic_shapes_become_plain_types() {
        let s = json!({
            "type": "object",
            "$defs": {"Query": {"type": "object", "properties": {"text": {"type": "string"}, "limit": {"type": "integer"}}}},
            "properties": {
                "query": {"$ref": "#/$defs/Query", "description": "what to look for"},
                "limit": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": null, "title": "Limit"},
                "mode": {"oneOf": [{"type": "null"}, {"type": "string", "enum": ["a", "b"]}]},
                "tags": {"type": ["array", "null"], "items": {"$ref": "#/$defs/Query"}},
                "both": {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}}, {"properties": {"b": {"type": "integer"}}}]}
            },
            "required": ["query"]
        });
        let n = normalize(&s);
        assert!(n.get("$defs").is_none());
        assert_eq!(n["properties"]["query"]["type"], "object");
        assert_eq!(n["properties"]["query"]["description"], "what to look for");
        assert_eq!(n["properties"]["query"]["properties"]["limit"]["type"], "integer");
        assert_eq!(n["properties"]["limit"]["type"], "integer");
        assert_eq!(n["properties"]["limit"]["title"], "Limit");
        assert_eq!(n["properties"]["mode"]["type"], "string");
        assert_eq!(n["properties"]["mode"]["enum"], json!(["a", "b"]));
        assert_eq!(n["properties"]["tags"]["type"], "array");
        assert_eq!(n["properties"]["tags"]["items"]["type"], "object");
        assert_eq!(n["properties"]["both"]["properties"]["a"]["type"], "string");
        assert_eq!(n["properties"]["both"]["properties"]["b"]["type"], "integer");
        assert_eq!(n["required"], json!(["query"]));
    }

    #[test]
    fn cyclic_and_unknown_references_end() {
        let s = json!({
            "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}},
            "type": "object",
            "properties": {"n": {"$ref": "#/$defs/Node"}, "x": {"$ref": "https://example.com/s.json"}}
        });
        let n = normalize(&s);
        assert_eq!(n["properties"]["n"]["type"], "object");
        assert_eq!(n["properties"]["x"], json!({}), "an unknown reference is any value");
        // The cycle was cut somewhere below, without a stack overflow.
        let mut depth = 0;
        let mut cur = &n["properties"]["n"];
        while let Some(next) = cur.get("properties").and_then(|p| p.get("next")) {
            cur = next;
            depth += 1;
        }
        assert!(depth <= MAX_DEPTH, "{depth}");
    }
}
