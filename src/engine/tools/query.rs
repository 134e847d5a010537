//! `data_query`: a jq filter (jaq) over JSON, or over CSV turned into records
//! (the header names the fields), so the same filter works on both.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{RunFuture, Tool, ToolError, ToolSpec};

pub struct DataQuery(ToolSpec);

impl DataQuery {
    pub fn new() -> Self {
        DataQuery(ToolSpec {
            name: "data_query".into(),
            description: "Run a jq filter over JSON or CSV (CSV rows become records), e.g. '.[] | select(.cpu > 50)'"
                .into(),
            schema: json!({"type":"object","required":["filter"],"properties":{
                "filter":{"type":"string","description":"jq filter"},
                "input":{"type":"string","description":"the data (or give path)"},
                "path":{"type":"string","description":"a .json or .csv file"},
                "format":{"type":"string","enum":["auto","json","csv"],"default":"auto"}}}),
            mutating: false,
            source: "builtin".into(),
            timeout: Duration::from_secs(30),
        })
    }
}

/// CSV text → array of records (see [`crate::jq::csv_records`]).
pub fn csv_records(text: &str) -> Result<Value, ToolError> {
    crate::jq::csv_records(text).map_err(|e| ToolError::Failed(e.to_string()))
}

/// Run `filter` over `input` (see [`crate::jq::run_filter`]).
pub fn run_filter(filter: &str, input: &Value) -> Result<Vec<Value>, ToolError> {
    crate::jq::run_filter(filter, input).map_err(|e| match e {
        crate::jq::JqError::Syntax(p) => ToolError::BadArgument { field: "filter".into(), problem: p },
        other => ToolError::Failed(other.to_string()),
    })
}

impl Tool for DataQuery {
    fn spec(&self) -> &ToolSpec {
        &self.0
    }

    fn run(&self, args: Value, out: mpsc::Sender<String>) -> RunFuture {
        Box::pin(async move {
            let filter = args.get("filter").and_then(Value::as_str).unwrap_or(".").to_string();
            let path = args.get("path").and_then(Value::as_str).map(str::to_string);
            let (text, from) = match (args.get("input").and_then(Value::as_str), &path) {
                (Some(t), None) => (t.to_string(), String::new()),
                (None, Some(p)) => {
                    (tokio::fs::read_to_string(p).await.map_err(|e| ToolError::Failed(format!("{p}: {e}")))?, p.clone())
                }
                _ => {
                    return Err(ToolError::BadArgument {
                        field: "input".into(),
                        problem: "give exactly one of input or path".into(),
                    });
                }
            };
            let format = args.get("format").and_then(Value::as_str).unwrap_or("auto");
            let csv = format == "csv"
                || (format == "auto" && (from.ends_with(".csv") || serde_json::from_str::<Value>(&text).is_err()));
            let input = if csv {
                csv_records(&text)?
            } else {
                serde_json::from_str(&text).map_err(|e| ToolError::Failed(format!("not JSON: {e}")))?
            };
            let results = tokio::task::spawn_blocking(move || run_filter(&filter, &input))
                .await
                .map_err(|e| ToolError::Failed(e.to_string()))??;
            for r in &results {
                let _ = out.send(r.to_string()).await;
            }
            Ok(json!({"format": if csv { "csv" } else { "json" }, "results": results}))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_filter_works_on_json_and_csv() {
        let json_in = json!([{"host":"a","cpu":91},{"host":"b","cpu":12}]);
        let f = "[.[] | select(.cpu > 50) | .host]";
        assert_eq!(run_filter(f, &json_in).unwrap(), vec![json!(["a"])]);
        let csv_in = csv_records("host,cpu\na,91\nb,12.5\n").unwrap();
        assert_eq!(csv_in[1]["cpu"], json!(12.5));
        assert_eq!(run_filter(f, &csv_in).unwrap(), vec![json!(["a"])]);
        assert_eq!(run_filter("map(.cpu) | add", &csv_in).unwrap(), vec![json!(103.5)]);
    }

    #[test]
    fn bad_filters_and_failing_filters_are_errors() {
        assert!(matches!(run_filter(".[", &json!(1)), Err(ToolError::BadArgument { .. })));
        assert!(matches!(run_filter("error(\"boom\")", &json!(1)), Err(ToolError::Failed(m)) if m.contains("boom")));
    }
}
