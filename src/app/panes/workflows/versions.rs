//! A workflow's versions (issue 12, pane 2): the list `list_versions`
//! answers (newest first), one version's text or a unified diff between two
//! (`show_version`), a mark to diff two stored versions, and which one a
//! rollback writes back. Answers are taken only while they are the latest
//! asked for this workflow (the command id is kept), so a slow one never
//! replaces a newer one.

use serde_json::Value;

use super::WorkflowsState;
use crate::app::BoxId;
use crate::protocol::Ts;

/// One stored version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    /// Content hash (12 hex digits).
    pub version: String,
    /// When the engine first read this content (Unix ms).
    pub first_seen: Ts,
    /// The engine said it is the file's content when it listed them.
    pub current: bool,
}

/// What the lower part of the versions box shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub version: String,
    /// `Some(base)` for a diff from `base` to `version`; `None` for the text.
    pub against: Option<String>,
    /// The `show_version` in flight (its command id).
    pub pending: Option<String>,
    /// The text's lines, or the diff's (each with its ` `, `-`, `+` or `@` prefix).
    pub lines: Vec<String>,
    pub error: Option<String>,
    /// Lines scrolled off the top.
    pub scroll: usize,
    /// Cells scrolled off the left (←/→), at most `widest - 1`.
    pub hscroll: usize,
    /// Cells of the widest line (what sideways scrolling can reach).
    pub widest: usize,
    /// The diff previews a rollback (no mark: the current version on the
    /// `-` side, the selected one on the `+` side); `false` for a diff of a
    /// marked version, whatever is current now.
    pub rollback_preview: bool,
}

/// Cells one ←/→ press scrolls the version text sideways.
pub const SIDEWAYS_STEP: usize = 8;

impl Shown {
    /// Nothing read yet: `version`'s text, or its diff from `against`.
    pub fn asked(version: String, against: Option<String>, pending: Option<String>, rollback_preview: bool) -> Shown {
        Shown {
            version,
            against,
            pending,
            lines: Vec::new(),
            error: None,
            scroll: 0,
            hscroll: 0,
            widest: 0,
            rollback_preview,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versions {
    pub source: String,
    pub workflow: String,
    /// Newest first.
    pub rows: Vec<VersionRow>,
    /// The `list_versions` in flight (its command id).
    pub loading: Option<String>,
    pub error: Option<String>,
    pub sel: usize,
    /// A version marked to diff the selected one against.
    pub mark: Option<String>,
    pub shown: Option<Shown>,
    /// The box focused before it opened (Esc goes back there).
    pub back: BoxId,
    /// Select this version once the list arrives (the open run's).
    pub prefer: Option<String>,
}

impl Versions {
    pub fn new(source: &str, workflow: &str, back: BoxId, prefer: Option<String>) -> Versions {
        Versions {
            source: source.to_string(),
            workflow: workflow.to_string(),
            rows: Vec::new(),
            loading: None,
            error: None,
            sel: 0,
            mark: None,
            shown: None,
            back,
            prefer,
        }
    }

    pub fn selected(&self) -> Option<&VersionRow> {
        self.rows.get(self.sel)
    }

    /// A `list_versions` answer (`[{version, first_seen, current}]`, oldest first).
    pub fn listed(&mut self, answer: Result<Value, String>) {
        self.loading = None;
        let v = match answer {
            Ok(v) => v,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
        let Some(items) = v.as_array() else {
            self.error = Some(format!("an answer that is not a list of versions: {v}"));
            return;
        };
        let mut rows: Vec<VersionRow> = items
            .iter()
            .filter_map(|i| {
                Some(VersionRow {
                    version: i.get("version")?.as_str()?.to_string(),
                    first_seen: i.get("first_seen").and_then(Value::as_i64).unwrap_or(0),
                    current: i.get("current").and_then(Value::as_bool).unwrap_or(false),
                })
            })
            .collect();
        rows.reverse();
        self.error = None;
        let keep = self.prefer.take().or_else(|| self.selected().map(|r| r.version.clone()));
        self.sel = keep
            .and_then(|k| rows.iter().position(|r| r.version == k))
            .or_else(|| rows.iter().position(|r| r.current))
            .unwrap_or(0);
        self.rows = rows;
    }

    /// A `show_version` answer: `{text, diff, …}`.
    pub fn version_shown(&mut self, answer: Result<Value, String>) {
        let Some(sh) = &mut self.shown else { return };
        sh.pending = None;
        sh.scroll = 0;
        sh.hscroll = 0;
        match answer {
            Ok(v) if sh.against.is_some() => match v.get("diff") {
                Some(Value::String(d)) if d.is_empty() => {
                    sh.lines = vec!["(the two versions are the same)".into()];
                }
                Some(Value::String(d)) => sh.lines = d.lines().map(str::to_string).collect(),
                _ => sh.error = Some("no version to diff against (the workflow has no file now)".into()),
            },
            Ok(v) => match v.get("text").and_then(Value::as_str) {
                Some(t) => sh.lines = t.lines().map(str::to_string).collect(),
                None => sh.error = Some(format!("an answer without the version's text: {v}")),
            },
            Err(e) => sh.error = Some(e),
        }
        sh.widest = sh.lines.iter().map(|l| crate::text::width(l)).max().unwrap_or(0);
    }

    /// Scroll the shown text sideways by `d` steps; whether it moved.
    pub fn scroll_sideways(&mut self, d: i64) -> bool {
        let Some(sh) = &mut self.shown else { return false };
        let before = sh.hscroll;
        let max = sh.widest.saturating_sub(1) as i64;
        sh.hscroll = (sh.hscroll as i64 + d * SIDEWAYS_STEP as i64).clamp(0, max) as usize;
        before != sh.hscroll
    }

    /// Scroll the shown text by `d` lines; whether it moved.
    pub fn scroll(&mut self, d: i64) -> bool {
        let Some(sh) = &mut self.shown else { return false };
        let before = sh.scroll;
        sh.scroll = (sh.scroll as i64 + d).clamp(0, sh.lines.len().saturating_sub(1) as i64) as usize;
        before != sh.scroll
    }
}

impl WorkflowsState {
    /// The workflow's current version: the one its source announces now,
    /// else the one the list said was current.
    pub fn current_version(&self) -> Option<String> {
        let v = self.versions.as_ref()?;
        self.workflow_of(&v.source, &v.workflow)
            .map(|w| w.version.clone())
            .or_else(|| v.rows.iter().find(|r| r.current).map(|r| r.version.clone()))
    }

    /// Runs the pane has loaded that ran `version` of the listed workflow.
    pub fn runs_of_version(&self, version: &str) -> usize {
        let Some(v) = &self.versions else { return 0 };
        self.runs
            .iter()
            .filter(|r| r.source == v.source && r.run.workflow == v.workflow && r.run.version == version)
            .count()
    }

    /// The `(version, against, rollback_preview)` the diff action shows:
    /// from the marked version (the one first seen earlier on the `-` side)
    /// or, without a mark, from the current version to the selected one
    /// (what a rollback would change; `rollback_preview` is then `true`).
    /// `Err` says why there is nothing to diff.
    pub fn diff_pair(&self) -> Result<(String, String, bool), String> {
        let Some(v) = &self.versions else { return Err("no versions listed".into()) };
        let Some(sel) = v.selected() else { return Err(format!("no stored versions of {} yet", v.workflow)) };
        if let Some(m) = v.mark.as_ref().filter(|m| **m != sel.version) {
            let pos = |x: &str| v.rows.iter().position(|r| r.version == x);
            // Rows are newest first: the larger index is the older version.
            return Ok(if pos(m) > pos(&sel.version) {
                (sel.version.clone(), m.clone(), false)
            } else {
                (m.clone(), sel.version.clone(), false)
            });
        }
        match self.current_version() {
            Some(cur) if cur == sel.version => Err(format!(
                "{} is the current version: select an older one, or mark one (m) to diff it with",
                sel.version
            )),
            Some(cur) => Ok((sel.version.clone(), cur, true)),
            None => Err(format!("{} has no current version to diff with: mark one (m)", v.workflow)),
        }
    }
}
