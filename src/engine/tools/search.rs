//! `file_search`: a regular expression over a directory tree, honouring
//! .gitignore, with context lines (the crates ripgrep is built from).

use std::path::Path;
use std::time::Duration;

use grep_regex::RegexMatcherBuilder;
use grep_searcher::{Searcher, SearcherBuilder, Sink, SinkContext, SinkContextKind, SinkMatch};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{RunFuture, Tool, ToolError, ToolSpec};

pub struct FileSearch(ToolSpec);

impl FileSearch {
    pub fn new() -> Self {
        FileSearch(ToolSpec {
            name: "file_search".into(),
            description: "Search files under a directory for a regular expression (honours .gitignore), with context"
                .into(),
            schema: json!({"type":"object","required":["pattern"],"properties":{
                "pattern":{"type":"string","description":"regular expression (Rust syntax)"},
                "path":{"type":"string","description":"directory or file to search","default":"."},
                "context":{"type":"integer","description":"lines before and after each match","default":0},
                "ignore_case":{"type":"boolean","default":false},
                "hidden":{"type":"boolean","description":"also search hidden files","default":false},
                "max_results":{"type":"integer","default":200}}}),
            mutating: false,
            source: "builtin".into(),
            timeout: Duration::from_secs(60),
        })
    }
}

/// One match with its context lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub path: String,
    pub line: u64,
    pub text: String,
    pub before: Vec<String>,
    pub after: Vec<String>,
}

struct Collect<'a> {
    path: String,
    hits: &'a mut Vec<Hit>,
    pending_before: Vec<String>,
    max: usize,
}

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim_end_matches(['\n', '\r']).to_string()
}

impl Sink for Collect<'_> {
    type Error = std::io::Error;

    fn matched(&mut self, _: &Searcher, m: &SinkMatch<'_>) -> Result<bool, Self::Error> {
        self.hits.push(Hit {
            path: self.path.clone(),
            line: m.line_number().unwrap_or(0),
            text: text_of(m.bytes()),
            before: std::mem::take(&mut self.pending_before),
            after: Vec::new(),
        });
        Ok(self.hits.len() < self.max)
    }

    fn context(&mut self, _: &Searcher, c: &SinkContext<'_>) -> Result<bool, Self::Error> {
        match c.kind() {
            SinkContextKind::Before => self.pending_before.push(text_of(c.bytes())),
            SinkContextKind::After => {
                if let Some(h) = self.hits.last_mut() {
                    h.after.push(text_of(c.bytes()));
                }
            }
            SinkContextKind::Other => {}
        }
        Ok(true)
    }
}

/// A regex error about the user's pattern, without the library's wrapper
/// around it (`(?:()`) or its multi-line caret drawing: `"(": unclosed group`.
fn regex_problem(pattern: &str, error: &str) -> String {
    let what = error.lines().rev().find_map(|l| l.trim().strip_prefix("error: ")).unwrap_or_else(|| error.trim());
    format!("{pattern:?} is not a valid regular expression: {what}")
}

/// Search `root`; returns hits (at most `max`) and how many files were read.
fn search(
    root: &Path,
    pattern: &str,
    context: usize,
    ignore_case: bool,
    hidden: bool,
    max: usize,
) -> Result<(Vec<Hit>, usize), ToolError> {
    let matcher = RegexMatcherBuilder::new().case_insensitive(ignore_case).build(pattern).map_err(|e| {
        ToolError::BadArgument { field: "pattern".into(), problem: regex_problem(pattern, &e.to_string()) }
    })?;
    let mut searcher = SearcherBuilder::new().line_number(true).before_context(context).after_context(context).build();
    if !root.exists() {
        return Err(ToolError::BadArgument {
            field: "path".into(),
            problem: format!("{}: no such file or directory", root.display()),
        });
    }
    let mut hits = Vec::new();
    let mut files = 0;
    let walker = ignore::WalkBuilder::new(root).hidden(!hidden).require_git(false).build();
    for entry in walker.flatten() {
        if hits.len() >= max {
            break;
        }
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        files += 1;
        let path = entry.path().display().to_string();
        let mut sink = Collect { path, hits: &mut hits, pending_before: Vec::new(), max };
        // Unreadable or binary files are skipped, like rg does.
        let _ = searcher.search_path(&matcher, entry.path(), &mut sink);
    }
    Ok((hits, files))
}

impl Tool for FileSearch {
    fn spec(&self) -> &ToolSpec {
        &self.0
    }

    fn run(&self, args: Value, out: mpsc::Sender<String>) -> RunFuture {
        Box::pin(async move {
            let pattern = args.get("pattern").and_then(Value::as_str).unwrap_or_default().to_string();
            let root = args.get("path").and_then(Value::as_str).unwrap_or(".").to_string();
            let context = args.get("context").and_then(Value::as_u64).unwrap_or(0).min(20) as usize;
            let ignore_case = args.get("ignore_case").and_then(Value::as_bool).unwrap_or(false);
            let hidden = args.get("hidden").and_then(Value::as_bool).unwrap_or(false);
            let max = args.get("max_results").and_then(Value::as_u64).unwrap_or(200).clamp(1, 10_000) as usize;
            let (hits, files) = tokio::task::spawn_blocking(move || {
                search(Path::new(&root), &pattern, context, ignore_case, hidden, max)
            })
            .await
            .map_err(|e| ToolError::Failed(e.to_string()))??;
            for h in &hits {
                let _ = out.send(format!("{}:{}: {}", h.path, h.line, h.text)).await;
            }
            let truncated = hits.len() >= max;
            Ok(json!({"matches": hits, "files_searched": files, "truncated": truncated}))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn honours_gitignore_and_keeps_context() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join(".gitignore"), "target/\n").unwrap();
        std::fs::create_dir_all(d.join("target")).unwrap();
        std::fs::create_dir_all(d.join("src")).unwrap();
        std::fs::write(d.join("target/out.log"), "ERROR in build output\n").unwrap();
        std::fs::write(d.join("src/app.log"), "start\nok\nERROR: disk full\nretrying\nstop\n").unwrap();
        let (hits, files) = search(d, "error", 1, true, false, 100).unwrap();
        assert_eq!(hits.len(), 1, "target/ is ignored: {hits:?}");
        assert_eq!(files, 1);
        let h = &hits[0];
        assert!(h.path.ends_with("src/app.log"));
        assert_eq!((h.line, h.text.as_str()), (3, "ERROR: disk full"));
        assert_eq!(h.before, vec!["ok"]);
        assert_eq!(h.after, vec!["retrying"]);
        assert!(search(d, "ERROR", 0, false, false, 100).unwrap().0.len() == 1, "case-sensitive still finds it");
        assert!(search(d, "(", 0, false, false, 10).is_err(), "a bad regex is an argument error");
        assert!(search(&d.join("nope"), "x", 0, false, false, 10).is_err());
    }
}
