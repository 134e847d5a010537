//! A saved tool chain written as a new workflow file (`Effect::SaveWorkflow`):
//! into the workflows folder, never over a file that is there.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Suffixes tried after `<stem>.toml`: `<stem>-2.toml` … `<stem>-99.toml`.
const MAX_SUFFIX: u32 = 99;

/// Write `contents` to the first of `<stem>.toml`, `<stem>-2.toml`, … that
/// does not exist in `dir` (created if missing); its path. A workflow's name
/// must be unique in the folder, so contents that begin `name = "<stem>"`
/// are written as `name = "<stem>-N"` into `<stem>-N.toml`.
pub fn write_new(dir: &Path, stem: &str, contents: &str) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    for n in 1..=MAX_SUFFIX {
        let name = if n == 1 { format!("{stem}.toml") } else { format!("{stem}-{n}.toml") };
        let path = dir.join(name);
        // `create_new` fails on a file that is there: nothing is overwritten.
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(mut f) => {
                let body = if n == 1 { contents.to_string() } else { renamed(contents, stem, &format!("{stem}-{n}")) };
                f.write_all(body.as_bytes())?;
                f.sync_all()?;
                return Ok(path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{stem}.toml to {stem}-{MAX_SUFFIX}.toml all exist: rename the chain or tidy the folder"),
    ))
}

/// `contents` with its leading `name = "<from>"` line naming `to` instead
/// (unchanged when it does not begin so).
fn renamed(contents: &str, from: &str, to: &str) -> String {
    let line = |n: &str| format!("name = {}\n", toml::Value::String(n.to_string()));
    match contents.strip_prefix(&line(from)) {
        Some(rest) => format!("{}{rest}", line(to)),
        None => contents.to_string(),
    }
}

/// The status line's words for [`write_new`]'s outcome.
pub fn saved_notice(dir: &Path, stem: &str, outcome: io::Result<PathBuf>) -> String {
    match outcome {
        Ok(p) => format!("✓ chain saved as workflow {}: it shows in the workflows pane (2) once read", p.display()),
        Err(e) => format!(
            "✗ the workflow file {} could not be written: {} (check the folder's permissions)",
            dir.join(format!("{stem}.toml")).display(),
            crate::net::io_text(&e)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_never_replaces_one_that_is_there() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("workflows");
        let first = write_new(&dir, "probe", "name = \"probe\"\n").unwrap();
        assert_eq!(first, dir.join("probe.toml"));
        let second = write_new(&dir, "probe", "name = \"probe\"\n[[step]]\n").unwrap();
        assert_eq!(second, dir.join("probe-2.toml"));
        // Two files naming one workflow would leave one of them out.
        assert_eq!(std::fs::read_to_string(&second).unwrap(), "name = \"probe-2\"\n[[step]]\n", "named after its file");
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "name = \"probe\"\n", "the first is left as it was");
        assert_eq!(write_new(&dir, "probe", "x").unwrap(), dir.join("probe-3.toml"));
        let said = saved_notice(&dir, "probe", Ok(second.clone()));
        assert!(said.starts_with('✓') && said.contains("probe-2.toml"), "{said}");
    }

    #[test]
    fn a_folder_that_cannot_be_made_is_reported_with_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let blocker = tmp.path().join("workflows");
        std::fs::write(&blocker, "a file where the folder should be").unwrap();
        let out = write_new(&blocker, "probe", "x");
        assert!(out.is_err());
        let said = saved_notice(&blocker, "probe", out);
        assert!(said.starts_with('✗') && said.contains("probe.toml"), "{said}");
    }
}
