//! A folder of workflow files, and a file's version.

use crate::config::error::ConfigError;

use super::{Known, Workflow, parse_with};

/// Every `*.toml` workflow in `dir` (in file-name order; blocking file
/// reads), and the problems of those that could not be used: a file with a
/// problem is left out, and so is a second workflow of a name already taken
/// (said at its `name`). A missing folder is no workflows and no problem.
pub fn load_dir(dir: &std::path::Path) -> (Vec<Workflow>, Vec<ConfigError>) {
    load_dir_with(dir, None)
}

/// [`load_dir`] with each file read by [`parse_with`] `known`.
pub fn load_dir_with(dir: &std::path::Path, known: Option<&Known>) -> (Vec<Workflow>, Vec<ConfigError>) {
    let files = crate::text::file::toml_files(dir);
    let (mut found, mut errors): (Vec<Workflow>, Vec<ConfigError>) = (Vec::new(), Vec::new());
    for p in files {
        let shown = p.display().to_string();
        let src = match crate::text::file::read(&p) {
            Ok(src) => src,
            Err(e) => {
                errors.push(ConfigError::unreadable(&shown, &e));
                continue;
            }
        };
        match parse_with(&shown, &src, known) {
            Ok(w) => match found.iter().find(|o| o.name == w.name) {
                Some(_) => {
                    let at = src.find(&format!("\"{}\"", w.name)).map(|i| i + 1..i + 1 + w.name.len());
                    let msg = format!("workflow name {} is taken by another file of this folder", w.name);
                    errors.push(ConfigError::at(&shown, &src, at, msg, "give each workflow its own name"));
                }
                None => found.push(w),
            },
            Err(e) => errors.extend(e),
        }
    }
    (found, errors)
}

/// The first 12 hex digits of the SHA-256 of `src`.
pub fn version_of(src: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(src.as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect()
}
