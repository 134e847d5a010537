//! The chat pane's workflow drafts (`ChatEffect::Draft`): checked with the
//! checks of `opsdeck check` (engine/workflows/propose.rs) against the
//! workflows folder, the alert rules and the configured MCP servers;
//! saved atomically into the folder; copied to a scratch file for
//! `$EDITOR`. Blocking file IO, off the loop; every outcome is an action.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;

use crate::app::Action;
use crate::app::panes::chat::ChatAction;
use crate::app::panes::chat::draft::{DraftAction, DraftEffect, Origin, Placement};
use crate::engine::workflows::propose;

/// Where drafts are checked against and written.
#[derive(Debug, Clone)]
pub struct DraftDesk {
    /// The workflows folder drafts are saved into.
    pub workflows_dir: PathBuf,
    /// The alert rules folder (a trigger must name a rule of it, or a bundled one).
    pub alerts_dir: PathBuf,
    /// Scratch copies for the editor (never read as workflows).
    pub scratch_dir: PathBuf,
    /// The configured MCP servers' names (`SERVER/TOOL` steps).
    pub mcp_servers: BTreeSet<String>,
}

impl DraftDesk {
    /// The MCP servers of a reloaded config.
    pub fn reloaded(&mut self, config: &crate::config::settings::Config) {
        self.mcp_servers = config.mcp_servers.iter().map(|m| m.name.clone()).collect();
    }

    /// Carry out `e` off the loop; the outcome goes to `inbox`.
    pub fn apply(&self, e: DraftEffect, inbox: mpsc::Sender<Action>) {
        let desk = self.clone();
        tokio::task::spawn_blocking(move || {
            let a = desk.run(e);
            let _ = inbox.blocking_send(Action::Chat(ChatAction::Draft(a)));
        });
    }

    /// `e`'s outcome (blocking).
    pub fn run(&self, e: DraftEffect) -> DraftAction {
        match e {
            DraftEffect::Check { origin, content } => {
                let result = self.check(&content);
                DraftAction::Checked { origin, content, result }
            }
            DraftEffect::Save { content, place } => {
                // Checked again: the folder or the rules may have changed since.
                let result = match self.check(&content) {
                    Ok(now) if now.path != place.path => Err(format!(
                        "it would now go to {} instead of {}: review the draft again (O, then save)",
                        now.path.display(),
                        place.path.display()
                    )),
                    Ok(_) => {
                        let placed =
                            propose::Placed { name: place.name, path: place.path.clone(), previous: place.previous };
                        match propose::save(&placed, &content) {
                            Ok(()) => Ok(placed.path),
                            // A refusal of `save` says why in its own words.
                            Err(e) if e.get_ref().is_some() => Err(format!("{}: {e}", placed.path.display())),
                            Err(e) => Err(format!("{}: {}", placed.path.display(), crate::net::io_text(&e))),
                        }
                    }
                    Err(problems) => Err(format!("it does not check any more:\n{problems}")),
                };
                DraftAction::Saved(result)
            }
            DraftEffect::Open { name, content } => match self.scratch(&name, &content) {
                Ok(path) => DraftAction::ReadyToEdit { path },
                Err(e) => DraftAction::Saved(Err(format!(
                    "the draft could not be copied for the editor into {}: {}",
                    self.scratch_dir.display(),
                    crate::net::io_text(&e)
                ))),
            },
            DraftEffect::Reread { path } => match crate::text::file::read(&path) {
                Ok(content) => {
                    let result = self.check(&content);
                    DraftAction::Checked { origin: Origin::Edited, content, result }
                }
                Err(e) => DraftAction::Checked {
                    origin: Origin::Edited,
                    content: String::new(),
                    result: Err(format!("{}: {e}", path.display())),
                },
            },
        }
    }

    /// Check `content` as `opsdeck check` would once saved; the diff for a change.
    fn check(&self, content: &str) -> Result<Placement, String> {
        let (rules, _) = crate::engine::alerts::rules::load(Some(&self.alerts_dir));
        let known = propose::known_names(Some(self.mcp_servers.clone()), &rules);
        let placed = propose::check(&self.workflows_dir, content, &known).map_err(|e| propose::problems_text(&e))?;
        let file = placed.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let diff = placed.previous.as_deref().map(|prev| propose::diff(&file, prev, content));
        Ok(Placement { name: placed.name, path: placed.path, previous: placed.previous, diff })
    }

    /// Write `content` to `<scratch>/<name>.toml` (replaced if there).
    fn scratch(&self, name: &str, content: &str) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.scratch_dir)?;
        let stem: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
            .take(60)
            .collect();
        let path = self.scratch_dir.join(format!("{stem}.toml"));
        std::fs::write(&path, content)?;
        Ok(path)
    }
}

/// The scratch folder under `exports_dir`.
pub fn scratch_dir(exports_dir: &Path) -> PathBuf {
    exports_dir.join("workflow-drafts")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str =
        "name = \"probe\"\n[[step]]\nid = \"get\"\nuses = \"http_check\"\nwith = { url = \"https://example.com\" }\n";

    fn desk(root: &Path) -> DraftDesk {
        DraftDesk {
            workflows_dir: root.join("workflows"),
            alerts_dir: root.join("alerts"),
            scratch_dir: scratch_dir(&root.join("exports")),
            mcp_servers: BTreeSet::new(),
        }
    }

    #[test]
    fn a_draft_is_checked_saved_edited_and_checked_again() {
        let tmp = tempfile::tempdir().unwrap();
        let d = desk(tmp.path());
        let origin = Origin::Answer { turn: 1 };
        let DraftAction::Checked { result: Ok(place), .. } = d.run(DraftEffect::Check { origin, content: GOOD.into() })
        else {
            panic!("checks")
        };
        assert_eq!(place.path, d.workflows_dir.join("probe.toml"));
        let saved = d.run(DraftEffect::Save { content: GOOD.into(), place: place.clone() });
        assert_eq!(saved, DraftAction::Saved(Ok(d.workflows_dir.join("probe.toml"))));
        // Saved again with the same (now stale) placement: the file is there now.
        let again = d.run(DraftEffect::Save { content: GOOD.into(), place });
        assert!(matches!(&again, DraftAction::Saved(Err(e)) if e.contains("appeared")), "{again:?}");
        // A change diffs against the file.
        let changed = GOOD.replace("example.com", "example.org");
        let origin = Origin::Call { turn: 2, call: "c1".into() };
        let DraftAction::Checked { result: Ok(place), .. } =
            d.run(DraftEffect::Check { origin, content: changed.clone() })
        else {
            panic!("checks")
        };
        assert!(place.diff.as_deref().unwrap().contains("+with = { url = \"https://example.org\" }"));
        // The editor's copy is outside the workflows folder; read back and checked.
        let DraftAction::ReadyToEdit { path } = d.run(DraftEffect::Open { name: "probe".into(), content: changed })
        else {
            panic!("a scratch copy")
        };
        assert!(!path.starts_with(&d.workflows_dir));
        std::fs::write(&path, "name = \"probe\"\n[[step]]\nid = \"get\"\nuses = \"shell\"\n").unwrap();
        let DraftAction::Checked { origin: Origin::Edited, result: Err(e), .. } = d.run(DraftEffect::Reread { path })
        else {
            panic!("does not check")
        };
        assert!(e.starts_with("workflows/probe.toml:"), "{e}");
    }
}
