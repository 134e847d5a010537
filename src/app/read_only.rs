//! `--read-only`: what the app says when it refuses something.

use super::AppState;

/// The message for something refused because opsdeck runs `--read-only`.
pub fn read_only_refusal(what: &str) -> String {
    format!("✗ read-only: {what} is refused (opsdeck runs --read-only; restart without it to change things)")
}

impl AppState {
    /// Say on the status bar that `what` (e.g. "acknowledging an alert") is refused under `--read-only`.
    pub fn refuse_read_only(&mut self, what: &str) {
        self.notice = Some((self.now, read_only_refusal(what)));
    }
}

impl AppState {
    /// An action `--read-only` still allows although it changes state:
    /// starting the selected workflow when none of its steps change things
    /// (the engine that runs it checks the same again).
    pub fn read_only_allows(&self, a: super::UserAction) -> bool {
        a == super::UserAction::StartWorkflow
            && self.focus == super::BoxId::WfList
            && self.workflows.selected_workflow().is_some_and(|(_, w)| w.steps.iter().all(|s| !s.mutating))
    }
}
