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
