//! The dependency rule of DESIGN.md §2, checked on the source: the engine and
//! the low-level modules never import the layers above them (terminal,
//! command line, app, views, remote), so `serve` and the TUI share one engine
//! that cannot write to the screen.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let p = entry.expect("entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Every `crate::<module>` a file names, outside comments.
fn imports(src: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in src.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            found.push(name);
            rest = after;
        }
    }
    found
}

#[test]
fn lower_layers_do_not_import_the_layers_above() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let above = ["runtime", "cli", "app", "ui", "remote"];
    let lower = [
        "engine",
        "protocol",
        "secrets.rs",
        "net.rs",
        "decode.rs",
        "jq.rs",
        "jq",
        "series.rs",
        "clock.rs",
        "logging.rs",
        "text",
    ];
    let mut files = Vec::new();
    for l in lower {
        let p = root.join(l);
        if p.is_dir() {
            rust_files(&p, &mut files);
        } else {
            files.push(p);
        }
    }
    assert!(files.len() > 20, "the engine's files were found");
    let mut bad = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).expect("read");
        for m in imports(&src) {
            if above.contains(&m.as_str()) {
                bad.push(format!("{} imports crate::{m}", f.strip_prefix(&root).unwrap_or(f).display()));
            }
        }
    }
    assert!(bad.is_empty(), "lower layers import upper ones:\n{}", bad.join("\n"));
}

#[test]
fn the_engine_never_prints() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root.join("engine"), &mut files);
    rust_files(&root.join("jq"), &mut files);
    for f in ["secrets.rs", "net.rs", "decode.rs", "jq.rs", "series.rs"] {
        files.push(root.join(f));
    }
    let mut bad = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).expect("read");
        for (n, line) in src.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if [
                "println!",
                "eprintln!",
                "print!(",
                "eprint!(",
                "io::stdout()",
                "io::stderr()",
                "err_line!",
                "out_line!",
            ]
            .iter()
            .any(|p| code.contains(p))
            {
                bad.push(format!("{}:{}: {}", f.strip_prefix(&root).unwrap_or(f).display(), n + 1, line.trim()));
            }
        }
    }
    assert!(bad.is_empty(), "library code writes to the terminal:\n{}", bad.join("\n"));
}

/// The top-level modules import one another without a cycle (issue 11:
/// engine, remote, runtime, cli, config and app in particular; the keymap
/// and the reducer share the leaf `actions`).
#[test]
fn top_level_modules_have_no_import_cycle() {
    use std::collections::{BTreeMap, BTreeSet};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(&root).expect("read src") {
        let p = entry.expect("entry").path();
        let name = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        if ["lib", "main", "bin"].contains(&name.as_str()) {
            continue;
        }
        let mut files = Vec::new();
        if p.is_dir() {
            rust_files(&p, &mut files);
        } else if p.extension().is_some_and(|e| e == "rs") {
            files.push(p.clone());
        }
        let deps = graph.entry(name.clone()).or_default();
        for f in files {
            let src = std::fs::read_to_string(&f).expect("read");
            deps.extend(imports(&src).into_iter().filter(|m| *m != name));
        }
    }
    assert!(graph.len() > 10 && graph["config"].contains("actions"), "{graph:?}");
    // Depth-first search for a back edge, reporting the cycle.
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut cycle = path[i..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for d in graph.get(n).into_iter().flatten().filter(|d| graph.contains_key(*d)) {
            if let Some(c) = visit(d, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        if let Some(cycle) = visit(n, &graph, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" → "));
        }
    }
}
