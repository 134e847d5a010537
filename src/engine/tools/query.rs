//! `data_query`: a jq filter (jaq) over JSON, or over CSV turned into records
//! (the header names the fields), so the same filter works on both. The
//! filter runs in a jq worker process under a budget ([`JqRunner`]).

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::text::Text;
use super::{RunFuture, Tool, ToolError, ToolSpec};
use crate::jq::{JqError, JqRunner};

pub struct DataQuery {
    spec: ToolSpec,
    jq: JqRunner,
}

impl DataQuery {
    /// Filters run through `jq`.
    pub fn new(jq: JqRunner) -> Self {
        let spec = ToolSpec {
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
        };
        DataQuery { spec, jq }
    }
}

/// How the data is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }
}

/// The format of `text` (BOM already removed). `format` `json`/`csv` is
/// obeyed; with `auto`, a `.csv` path is CSV; a `.json` path, or text that
/// starts with `{` or `[`, is JSON (and a JSON error is reported, never read
/// as CSV); other text is JSON if it parses as JSON, else CSV.
pub fn detect(format: &str, path: Option<&str>, text: &str) -> Format {
    let ext = |e: &str| path.is_some_and(|p| p.to_ascii_lowercase().ends_with(e));
    match format {
        "json" => Format::Json,
        "csv" => Format::Csv,
        _ if ext(".csv") => Format::Csv,
        _ if ext(".json") => Format::Json,
        _ if text.trim_start().starts_with(['{', '[']) => Format::Json,
        _ if serde_json::from_str::<Value>(text).is_ok() => Format::Json,
        _ => Format::Csv,
    }
}

/// Parse JSON; an error says where (`what:line:col`), and names a byte order
/// mark if the text had one.
pub fn parse_json(text: &Text, what: &str) -> Result<Value, ToolError> {
    serde_json::from_str(&text.text).map_err(|e| {
        let msg = e.to_string();
        let msg = msg.rsplit_once(" at line ").map_or(msg.as_str(), |(m, _)| m);
        let bom = if text.bom { " (after the UTF-8 byte order mark it starts with)" } else { "" };
        ToolError::Failed(format!(
            "{what}:{}:{}: not valid JSON{bom}: {msg}\n  hint: fix the JSON, or give format=csv if it is CSV",
            e.line(),
            e.column()
        ))
    })
}

/// Run `filter` over `input` through `jq`: a filter that does not parse is a
/// bad argument, anything else a failure.
pub async fn run_filter(jq: &JqRunner, filter: &str, input: &Value) -> Result<Vec<Value>, ToolError> {
    jq.run(filter, input).await.map_err(|e| match e {
        JqError::Syntax(p) => ToolError::BadArgument { field: "filter".into(), problem: p },
        other => ToolError::Failed(other.to_string()),
    })
}

impl Tool for DataQuery {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn run(&self, args: Value, out: mpsc::Sender<String>) -> RunFuture {
        let jq = self.jq.clone();
        Box::pin(async move {
            let filter = args.get("filter").and_then(Value::as_str).unwrap_or(".").to_string();
            let path = args.get("path").and_then(Value::as_str).map(str::to_string);
            let (text, from) = match (args.get("input").and_then(Value::as_str), &path) {
                (Some(t), None) => (Text::from_string(t.to_string()), "input".to_string()),
                (None, Some(p)) => (Text::read(p).await?, p.clone()),
                _ => {
                    return Err(ToolError::BadArgument {
                        field: "input".into(),
                        problem: "give exactly one of input or path".into(),
                    });
                }
            };
            let format =
                detect(args.get("format").and_then(Value::as_str).unwrap_or("auto"), path.as_deref(), &text.text);
            let input = match format {
                Format::Csv => {
                    crate::jq::csv_records(&text.text).map_err(|e| ToolError::Failed(format!("{from}: {e}")))?
                }
                Format::Json => parse_json(&text, &from)?,
            };
            let results = run_filter(&jq, &filter, &input).await?;
            for r in &results {
                let _ = out.send(r.to_string()).await;
            }
            Ok(json!({"format": format.name(), "results": results}))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_same_filter_works_on_json_and_csv() {
        let jq = JqRunner::in_process();
        let json_in = json!([{"host":"a","cpu":91},{"host":"b","cpu":12}]);
        let f = "[.[] | select(.cpu > 50) | .host]";
        assert_eq!(run_filter(&jq, f, &json_in).await.unwrap(), vec![json!(["a"])]);
        let csv_in = crate::jq::csv_records("host,cpu\na,91\nb,12.5\n").unwrap();
        assert_eq!(csv_in[1]["cpu"], json!(12.5));
        assert_eq!(run_filter(&jq, f, &csv_in).await.unwrap(), vec![json!(["a"])]);
        assert_eq!(run_filter(&jq, "map(.cpu) | add", &csv_in).await.unwrap(), vec![json!(103.5)]);
    }

    #[tokio::test]
    async fn bad_filters_and_failing_filters_are_errors() {
        let jq = JqRunner::in_process();
        assert!(matches!(run_filter(&jq, ".[", &json!(1)).await, Err(ToolError::BadArgument { .. })));
        let r = run_filter(&jq, "error(\"boom\")", &json!(1)).await;
        assert!(matches!(r, Err(ToolError::Failed(m)) if m.contains("boom")));
    }

    #[test]
    fn json_looking_text_and_json_paths_are_never_read_as_csv() {
        assert_eq!(detect("auto", Some("hosts.json"), "host,cpu\n"), Format::Json);
        assert_eq!(detect("auto", Some("HOSTS.JSON"), "{"), Format::Json);
        assert_eq!(detect("auto", None, "  \n[{\"host\": \"a\",]"), Format::Json);
        assert_eq!(detect("auto", None, "{oops"), Format::Json);
        assert_eq!(detect("auto", Some("x.csv"), "[a],b\n"), Format::Csv);
        assert_eq!(detect("auto", None, "host,cpu\na,1\n"), Format::Csv);
        assert_eq!(detect("auto", None, "42"), Format::Json);
        assert_eq!(detect("csv", None, "[1]"), Format::Csv);
    }

    #[test]
    fn a_json_error_says_where_and_names_the_bom() {
        let t = Text::from_string("\u{feff}[\n  {\"host\": \"a\",}\n]".into());
        let e = parse_json(&t, "hosts.json").unwrap_err().to_string();
        assert!(e.starts_with("hosts.json:2:16: not valid JSON (after the UTF-8 byte order mark"), "{e}");
        assert!(!e.contains(" at line "), "{e}");
    }

    #[tokio::test]
    async fn a_json_file_with_a_bom_is_read_as_json() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hosts.json");
        std::fs::write(&p, "\u{feff}[{\"host\":\"a\"},{\"host\":\"b\"}]").unwrap();
        let tool = DataQuery::new(JqRunner::in_process());
        let (tx, _rx) = mpsc::channel(16);
        let args = json!({"filter": "[.[].host]", "path": p.display().to_string()});
        let r = tool.run(args, tx).await.unwrap();
        assert_eq!(r, json!({"format": "json", "results": [["a", "b"]]}));
        // Broken JSON in a .json file is a JSON error, not CSV records.
        std::fs::write(&p, "\u{feff}[{\"host\":\"a\"},]").unwrap();
        let (tx, _rx) = mpsc::channel(16);
        let e = tool.run(json!({"filter": ".", "path": p.display().to_string()}), tx).await.unwrap_err();
        assert!(e.to_string().contains("hosts.json:1:") && e.to_string().contains("byte order mark"), "{e}");
    }
}
