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
