//! A workflow file proposed from outside the folder (the chat assistant's
//! drafts): checked with exactly the checks `opsdeck check` runs on the
//! folder's files ([`known_names`] + [`definition::parse_with`], and a
//! name no other file of the folder has), placed where it would be saved,
//! with the text it would replace. Blocking file reads; nothing is written
//! except by [`save`].

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::definition::{self, Known};
use crate::config::error::ConfigError;

/// A proposal longer than this is refused unread (a workflow is a page or two).
pub const MAX_PROPOSAL_BYTES: usize = 256 * 1024;

/// The names `opsdeck check` checks a workflow's outside references
/// against: the built-in tools, the configured MCP servers (`None`: any
/// server, when the config could not be read) and the alert rules, health
/// checks and SLOs of `rules`.
pub fn known_names(mcp_servers: Option<BTreeSet<String>>, rules: &crate::engine::alerts::rules::RuleSet) -> Known {
    // Building the registry runs nothing: the jq runner is only a path here.
    let builtins = crate::engine::tools::Registry::with_builtins(crate::jq::JqRunner::for_this_program());
    Known {
        tools: builtins.specs().iter().map(|s| s.name.clone()).collect(),
        mcp_servers,
        alerts: (rules.rules.iter().map(|r| r.name.clone()))
            .chain(rules.checks.iter().map(|c| c.name.clone()))
            .chain(rules.slos.iter().map(|s| s.name.clone()))
            .collect(),
    }
}

/// A proposal that checks, and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The workflow's `name`.
    pub name: String,
    /// The file it is saved as: the file of the folder's workflow of that
    /// name, else `<name>.toml` in the folder.
    pub path: PathBuf,
    /// That file's text now (`None`: a new file). A change is shown as a diff
    /// against it, and saved only while the file still holds it.
    pub previous: Option<String>,
}

/// Check `content` as a workflow file of `dir`, as `opsdeck check` would
/// once it is saved there: every problem as `path:line:col: message` (with
/// its hint) in [`ConfigError`]s, the path being the file it would be
/// saved as (`workflows/<name>.toml` relative to the folder's parent, so a
/// model is not told the user's home).
pub fn check(dir: &Path, content: &str, known: &Known) -> Result<Placed, Vec<ConfigError>> {
    if content.len() > MAX_PROPOSAL_BYTES {
        let msg = format!("the file is {} bytes; a workflow file may be {MAX_PROPOSAL_BYTES} at most", content.len());
        return Err(vec![ConfigError::file("workflows/proposal.toml", msg, "propose a shorter workflow")]);
    }
    let name = name_of(content);
    let folder = folder_names(dir);
    let path = match name.as_deref().and_then(|n| folder.iter().find(|(w, _)| w.as_deref() == Some(n))) {
        Some((_, p)) => p.clone(),
        None => dir.join(format!("{}.toml", file_stem(name.as_deref().unwrap_or("proposal")))),
    };
    let shown = format!("workflows/{}", path.file_name().map(|f| f.to_string_lossy()).unwrap_or_default());
    let w = definition::parse_with(&shown, content, Some(known))?;
    // `load_dir` leaves out a second file of a name already taken.
    if let Some((_, other)) = folder.iter().find(|(n, p)| n.as_deref() == Some(w.name.as_str()) && *p != path) {
        let at = content.find(&format!("\"{}\"", w.name)).map(|i| i + 1..i + 1 + w.name.len());
        let msg = format!("workflow name {} is taken by another file of this folder ({})", w.name, other.display());
        return Err(vec![ConfigError::at(&shown, content, at, msg, "give each workflow its own name")]);
    }
    let previous = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => {
            let msg = format!("{} cannot be read to compare: {}", path.display(), crate::net::io_text(&e));
            return Err(vec![ConfigError::file(&shown, msg, "check the folder's permissions")]);
        }
    };
    Ok(Placed { name: w.name, path, previous })
}

/// The problems of [`check`] as the text a model (or a person) reads: one
/// `path:line:col: message` (and its hint) per problem.
pub fn problems_text(errors: &[ConfigError]) -> String {
    errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n")
}

/// Write `content` to `placed.path` atomically (a temporary file in the
/// folder renamed over it): only while the file holds `placed.previous`
/// (a new file only while there is none), so a file changed since the diff
/// was shown is never overwritten.
pub fn save(placed: &Placed, content: &str) -> io::Result<()> {
    let dir = placed.path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let now = match std::fs::read_to_string(&placed.path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if now != placed.previous {
        let why = match now {
            Some(_) if placed.previous.is_none() => "a file of that name appeared since the draft was checked",
            Some(_) => "the file changed since the diff was shown",
            None => "the file was removed since the diff was shown",
        };
        return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{why}: review the draft again")));
    }
    let file = placed.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    // Dot-named and not `.toml`: the folder's reader never takes it for a workflow.
    let tmp = dir.join(format!(".{file}.draft-{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
        if placed.previous.is_none() {
            // A link fails on a name that is taken: a file that appeared meanwhile stays.
            std::fs::hard_link(&tmp, &placed.path)?;
            std::fs::remove_file(&tmp)
        } else {
            std::fs::rename(&tmp, &placed.path)
        }
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    Ok(())
}

/// A unified diff from `previous` to `content` (3 lines of context), headed
/// with the file's name.
pub fn diff(file: &str, previous: &str, content: &str) -> String {
    similar::TextDiff::from_lines(previous, content)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{file} (on disk)"), &format!("{file} (proposed)"))
        .to_string()
}

/// The `name` a file gives at its top level, when it reads as TOML.
fn name_of(src: &str) -> Option<String> {
    let v: toml::Table = toml::from_str(src).ok()?;
    v.get("name")?.as_str().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// A file stem from a workflow name: letters, digits, `-`, `_` kept, the
/// rest `-` (a name that checks is already so), at most 60.
fn file_stem(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .take(60)
        .collect();
    if s.is_empty() { "proposal".into() } else { s }
}

/// Every `*.toml` file of `dir` with the workflow name it gives (when it
/// reads as TOML), in file-name order.
fn folder_names(dir: &Path) -> Vec<(Option<String>, PathBuf)> {
    super::definition::toml_files(dir)
        .into_iter()
        .map(|p| (crate::text::file::read(&p).ok().and_then(|s| name_of(&s)), p))
        .collect()
}

#[cfg(test)]
#[path = "propose_tests.rs"]
mod tests;
