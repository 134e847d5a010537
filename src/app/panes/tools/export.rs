//! A run's result as JSON, CSV or Markdown (pure; the runtime writes the file).

use serde_json::{Map, Value, json};

use super::runs::RunView;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Markdown,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Json, Format::Csv, Format::Markdown];

    pub fn ext(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Markdown => "md",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Format::Json => "JSON: the whole run (arguments, output, result)",
            Format::Csv => "CSV: the result as a table",
            Format::Markdown => "Markdown: arguments, result table, output",
        }
    }
}

/// The rows of a result seen as a table: an array of objects, one object, or
/// an object holding one such array (e.g. `{"results": [...]}`).
/// A CSV cell: strings as they are, other values as JSON, null empty.
fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn table(v: &Value) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    let rows: Vec<&Map<String, Value>> = match v {
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
            items.iter().filter_map(Value::as_object).collect()
        }
        Value::Object(m) => {
            let arrays: Vec<&Value> = m.values().filter(|x| x.is_array()).collect();
            if let [one] = arrays.as_slice()
                && let Some((cols, rows)) = table(one)
            {
                // The records of the one array, each with the object's other
                // fields in front (text_stats: lines, words, chars on every
                // top term), so nothing of the result is left out.
                let outer: Vec<(&String, &Value)> = m.iter().filter(|(_, v)| !v.is_array()).collect();
                let names: Vec<String> = outer
                    .iter()
                    .map(|(k, _)| if cols.contains(k) { format!("{k} (outer)") } else { k.to_string() })
                    .collect();
                let cols = names.into_iter().chain(cols).collect();
                let values: Vec<String> = outer.iter().map(|(_, v)| cell(Some(v))).collect();
                let rows = rows.into_iter().map(|r| values.iter().cloned().chain(r).collect()).collect();
                return Some((cols, rows));
            }
            vec![m]
        }
        _ => return None,
    };
    let mut cols: Vec<String> = Vec::new();
    for r in &rows {
        for k in r.keys() {
            if !cols.contains(k) {
                cols.push(k.clone());
            }
        }
    }
    let body = rows.iter().map(|r| cols.iter().map(|c| cell(r.get(c))).collect()).collect();
    Some((cols, body))
}

/// The file contents for `run` in `format`.
pub fn render(run: &RunView, format: Format) -> String {
    let outcome = run.outcome.clone().unwrap_or(Value::Null);
    match format {
        Format::Json => {
            let v = json!({
                "tool": run.tool, "source": run.source, "args": run.args, "started": run.started,
                "ok": run.ok(), "result": outcome, "output": run.output,
            });
            serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            match table(&outcome) {
                Some((cols, rows)) => {
                    let _ = w.write_record(&cols);
                    for r in rows {
                        let _ = w.write_record(&r);
                    }
                }
                None => {
                    let _ = w.write_record(["value"]);
                    let _ = w.write_record([outcome.as_str().map_or_else(|| outcome.to_string(), str::to_string)]);
                }
            }
            String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
        }
        Format::Markdown => {
            let esc = |s: &str| s.replace('|', "\\|").replace('\n', " ");
            let mut s = format!("# {} ({})\n\n", run.tool, run.source);
            s.push_str(&format!("- outcome: {}\n", if run.ok() { "ok" } else { "failed" }));
            if let Some(args) = run.args.as_object().filter(|a| !a.is_empty()) {
                s.push_str("\n| argument | value |\n|---|---|\n");
                for (k, v) in args {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    s.push_str(&format!("| {} | {} |\n", esc(k), esc(&v)));
                }
            }
            s.push_str("\n## Result\n\n");
            match table(&outcome) {
                Some((cols, rows)) if run.ok() => {
                    s.push_str(&format!("| {} |\n", cols.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")));
                    s.push_str(&format!("|{}\n", "---|".repeat(cols.len())));
                    for r in rows {
                        s.push_str(&format!("| {} |\n", r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")));
                    }
                }
                _ => {
                    s.push_str("```json\n");
                    s.push_str(&serde_json::to_string_pretty(&outcome).unwrap_or_default());
                    s.push_str("\n```\n");
                }
            }
            if !run.output.is_empty() {
                s.push_str("\n## Output\n\n```\n");
                for l in &run.output {
                    s.push_str(&l.replace("```", "'''"));
                    s.push('\n');
                }
                s.push_str("```\n");
            }
            s
        }
    }
}

/// Text to put on the clipboard: the result (pretty JSON, or the string itself).
pub fn clipboard_text(run: &RunView) -> String {
    match &run.outcome {
        Some(Value::String(s)) => s.clone(),
        Some(v) => serde_json::to_string_pretty(v).unwrap_or_default(),
        None => run.output.join("\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::tools::ToolRun;

    fn run(outcome: Value) -> RunView {
        RunView::from_record(
            1,
            &ToolRun {
                tool: "data_query".into(),
                source: "builtin".into(),
                args: json!({"filter":".[] | a|b"}),
                started: 0,
                duration_ms: 1,
                ok: true,
                outcome,
                output: vec!["line".into()],
                truncated: false,
                origin: Default::default(),
            },
        )
    }

    #[test]
    fn csv_of_records_nested_in_an_object() {
        let r = run(json!({"format":"json","results":[{"host":"a","cpu":91},{"host":"b,c","mem":2}]}));
        // Columns in key order (serde_json sorts object keys), union over the
        // rows, after the object's own fields.
        assert_eq!(render(&r, Format::Csv), "format,cpu,host,mem\njson,91,a,\njson,,\"b,c\",2\n");
        let stats = run(json!({"chars":11,"lines":1,"top_terms":[{"count":1,"term":"hello"}],"words":2}));
        assert_eq!(
            render(&stats, Format::Csv),
            "chars,lines,words,count,term\n11,1,2,1,hello\n",
            "text_stats keeps lines, words and chars"
        );
        let scalar = run(json!(42));
        assert_eq!(render(&scalar, Format::Csv), "value\n42\n");
    }

    #[test]
    fn markdown_has_arguments_table_and_output() {
        let r = run(json!([{"host":"a"}]));
        let md = render(&r, Format::Markdown);
        assert!(md.starts_with("# data_query (builtin)\n"), "{md}");
        assert!(md.contains("| filter | .[] \\| a\\|b |"), "{md}");
        assert!(md.contains("| host |\n|---|\n| a |\n"), "{md}");
        assert!(md.contains("## Output\n\n```\nline\n```"), "{md}");
    }

    #[test]
    fn json_is_the_whole_run() {
        let v: Value = serde_json::from_str(&render(&run(json!({"x":1})), Format::Json)).unwrap();
        assert_eq!(v["result"], json!({"x":1}));
        assert_eq!(v["output"], json!(["line"]));
        assert_eq!(clipboard_text(&run(json!("plain"))), "plain");
    }
}
