//! `edit_workflow`: which definition file the pane opens in the user's
//! editor, and which editor (`$EDITOR`, else `$VISUAL`, else `vi`).

use super::WorkflowsState;
use crate::app::BoxId;
use crate::protocol::LOCAL_SOURCE;

/// The editor when neither `$EDITOR` nor `$VISUAL` names one.
pub const FALLBACK_EDITOR: &str = "vi";

/// The editor command line from the environment (`var` looks a name up).
pub fn editor_from(var: impl Fn(&str) -> Option<String>) -> String {
    ["EDITOR", "VISUAL"]
        .iter()
        .find_map(|k| var(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty()))
        .unwrap_or_else(|| FALLBACK_EDITOR.to_string())
}

impl WorkflowsState {
    /// The definition file of the workflow the focused box shows (the
    /// selected workflow, or the selected or open run's), or why there is
    /// none to edit here.
    pub fn definition_to_edit(&self, focus: BoxId) -> Result<String, String> {
        if let Some((source, problem)) = self.selected_problem().filter(|_| focus == BoxId::WfList) {
            let path = problem_path(problem);
            if source != LOCAL_SOURCE {
                return Err(format!("{path} is on {source}: edit it there, this opsdeck cannot reach the file"));
            }
            return Ok(path.to_string());
        }
        let (source, name) = match focus {
            BoxId::WfList => self.selected_workflow().map(|(s, w)| (s.clone(), w.name.clone())),
            BoxId::WfRuns => self.selected_run().map(|r| (r.source.clone(), r.run.workflow.clone())),
            _ => self.opened().map(|r| (r.source.clone(), r.run.workflow.clone())),
        }
        .ok_or("select a workflow, or a run of one, to edit its definition")?;
        if source != LOCAL_SOURCE {
            return Err(format!(
                "{name}'s definition is on {source}: edit it there (its workflows folder), this opsdeck cannot reach the file"
            ));
        }
        let w = self.workflow_of(&source, &name).ok_or_else(|| {
            format!("{name} is no longer among the workflows (its file was removed or has a problem: see the list)")
        })?;
        if w.path.is_empty() {
            return Err(format!("{name} was not read from a file this opsdeck knows"));
        }
        Ok(w.path.clone())
    }

    /// The editor to run (`vi` when the runtime found none).
    pub fn editor(&self) -> &str {
        if self.editor.is_empty() { FALLBACK_EDITOR } else { &self.editor }
    }
}

/// The file of a problem line `path:line:col: what` (or `path: what`).
pub fn problem_path(problem: &str) -> &str {
    let mut from = 0;
    while let Some(i) = problem[from..].find(": ").map(|i| from + i) {
        let head = &problem[..i];
        let mut parts = head.rsplitn(3, ':');
        let (col, line, path) = (parts.next(), parts.next(), parts.next());
        let num = |s: Option<&str>| s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
        if num(col) && num(line) {
            return path.unwrap_or(head);
        }
        from = i + 2;
    }
    problem.split_once(": ").map_or(problem, |(p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_editor_is_editor_then_visual_then_vi() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(editor_from(env(&[("EDITOR", "nvim"), ("VISUAL", "code --wait")])), "nvim");
        assert_eq!(editor_from(env(&[("EDITOR", "  "), ("VISUAL", "code --wait")])), "code --wait");
        assert_eq!(editor_from(env(&[])), "vi");
        assert_eq!(WorkflowsState::default().editor(), "vi");
    }

    #[test]
    fn a_problem_names_its_file_before_line_and_column() {
        assert_eq!(problem_path("/cfg/workflows/bad.toml:3:1: unknown field `stpe`"), "/cfg/workflows/bad.toml");
        assert_eq!(problem_path("/c: d/x.toml:12:9: step a: no tool is named \"x\""), "/c: d/x.toml");
        assert_eq!(problem_path("/cfg/w.toml: cannot be read"), "/cfg/w.toml");
    }
}
