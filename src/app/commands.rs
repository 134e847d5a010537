//! Commands to sources: ids, what each does (for its answer's message), and
//! the checks before one is sent (read-only, a source that is down).

use super::{AppState, Effect};

impl AppState {
    /// Send a command to a source; `what` names it in the answer's message.
    /// Returns the command's id, or `None` when it was refused here (read-only).
    pub fn send_command(
        &mut self,
        source: String,
        command: crate::protocol::Command,
        what: &str,
        effects: &mut Vec<Effect>,
    ) -> Option<String> {
        if self.read_only && command.changes_state() {
            self.refuse_read_only(command.describe());
            return None;
        }
        // A command that changes state waits in a backend's outbox while it
        // is down; a read is about now, and is not queued.
        if !command.changes_state() && self.source_down(&source) {
            let what = command.describe();
            self.notice = Some((self.now, format!("{source} is offline: {what} needs it connected (not queued)")));
            return None;
        }
        Some(self.send_unchecked(source, command, what, effects))
    }

    /// Send a command `--read-only` allows although it changes state (the
    /// caller checked it; the engine that runs it checks again).
    pub fn send_unchecked(
        &mut self,
        source: String,
        command: crate::protocol::Command,
        what: &str,
        effects: &mut Vec<Effect>,
    ) -> String {
        self.commands_sent += 1;
        let id = format!("{}-{}", self.instance, self.commands_sent);
        self.pending_commands.insert(id.clone(), what.to_string());
        effects.push(Effect::Command { source, id: id.clone(), command });
        id
    }

    /// Whether backend `source` is disconnected now.
    pub fn source_down(&self, source: &str) -> bool {
        self.sources.iter().any(|x| x.name == source && x.link.is_down())
    }
}
