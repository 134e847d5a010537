//! The effect executor: carries out what `app::update` asks for, off the
//! loop. It owns the sources registry, the tool runner (tool runs and saved
//! chains, both in the engine's tools service), the tasks it spawned
//! (by id, to cancel them) and the few paths effects write to. Answers come
//! back through the inbox as actions. Effects that need the terminal
//! itself (quit, suspend, redraw) are the loop's (`event_loop.rs`).

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use super::sources::Sources;
use super::tasks::{TaskId, Tasks};
use super::{Local, Msg, jq_jobs, reload, tools, workflow_files};
use crate::app::{Action, Effect};
use crate::remote::control::Records;

/// Where the loop hands the effects it does not carry out itself.
pub trait Effects {
    /// Carry out `effect` without blocking: anything slow runs in a task
    /// and answers through the inbox.
    fn apply(&mut self, effect: Effect);

    /// The configuration was reloaded: what is built from it (the chat's
    /// providers) is built again.
    fn reloaded(&mut self, _config: &crate::config::settings::Config) {}
}

/// The TUI's executor.
pub struct Executor {
    pub read_only: bool,
    pub sources: Sources,
    pub runner: tools::Runner,
    pub jq: crate::jq::JqRunner,
    pub tasks: Tasks<TaskId>,
    pub local: Local,
    pub records: Records,
    pub inbox: mpsc::Sender<Msg>,
    /// Where exports and the clipboard's copies go.
    pub exports_dir: PathBuf,
    /// Reads config.toml, the theme and the keymap again.
    pub reload: Option<reload::Loader>,
    /// The alert rules folder, read again on reload when the engine is here.
    pub alerts_dir: Option<PathBuf>,
    /// Where saved chains are written as workflow files (the config dir's workflows/).
    pub workflows_dir: PathBuf,
    /// The chat pane's streams, tool calls and conversations.
    pub chat: super::chat::ChatRunner,
}

impl Executor {
    /// An action answered from a blocking thread.
    fn notice_later(&self, work: impl FnOnce() -> String + Send + 'static) {
        let inbox = self.inbox.clone();
        tokio::task::spawn_blocking(move || {
            let _ = inbox.blocking_send(Msg::Action(Action::Notice(work())));
        });
    }
}

impl Effects for Executor {
    fn reloaded(&mut self, config: &crate::config::settings::Config) {
        self.chat.reload(config);
    }

    fn apply(&mut self, effect: Effect) {
        match effect {
            // The loop's; never sent here.
            Effect::Quit | Effect::Suspend | Effect::Redraw | Effect::EditFile { .. } => {}
            Effect::Chat(crate::app::panes::chat::ChatEffect::CopyCode { text }) => match last_code_block(&text) {
                Some(code) => self.apply(Effect::Copy { text: code, name: "chat-code.txt".into() }),
                None => {
                    let _ = self.inbox.try_send(Msg::Action(Action::Notice("the message has no code block".into())));
                }
            },
            Effect::Chat(e) => self.chat.apply(e),
            // The app refuses these already; the executor never sends one either.
            // A start passes: the app let only a workflow that changes nothing
            // through, and the engine that runs it checks the same again.
            Effect::Command { source, id, command }
                if self.read_only
                    && command.changes_state()
                    && !matches!(
                        command,
                        crate::protocol::Command::Workflows(
                            crate::protocol::workflow::WorkflowsCommand::StartRun { .. }
                        )
                    ) =>
            {
                let result = Err(format!("read-only: {} is refused (opsdeck runs --read-only)", command.describe()));
                let _ = self.inbox.try_send(Msg::Action(Action::CommandDone { source, id, result }));
            }
            Effect::Command { source, id, command } => self.sources.send(source, id, command, &self.inbox),
            Effect::Reconnect { source } => self.sources.reconnect(&source, &self.inbox),
            Effect::Reload => reload::start(self.reload.clone(), self.alerts_dir.clone(), &self.local, &self.inbox),
            Effect::RunTool { run, tool, args, confirmed } => self.runner.run(run, tool, args, confirmed),
            Effect::CancelTool { run } => self.runner.cancel(run),
            Effect::RunChain { chain_run, chain, confirmed } => self.runner.run_chain(chain_run, chain, confirmed),
            Effect::CancelChain { chain_run } => self.runner.cancel_chain(chain_run),
            Effect::Jq { slot, job, filter, input, timeout_ms } => {
                let task = jq_jobs::evaluate(
                    &self.jq,
                    job,
                    filter,
                    input,
                    Duration::from_millis(timeout_ms),
                    self.inbox.clone(),
                );
                self.tasks.spawn(TaskId::Jq(slot), task);
            }
            Effect::CancelJq { slot } => {
                self.tasks.cancel(&TaskId::Jq(slot));
            }
            Effect::Export { name, contents } => {
                let dir = self.exports_dir.clone();
                self.notice_later(move || match tools::write_export_new(&dir, &name, &contents) {
                    Ok(p) => format!("✓ exported to {}", p.display()),
                    Err(e) => format!("✗ export to {}: {}", dir.join(&name).display(), crate::net::io_text(&e)),
                });
            }
            Effect::SaveWorkflow { stem, contents } => {
                let dir = self.workflows_dir.clone();
                self.notice_later(move || {
                    let outcome = workflow_files::write_new(&dir, &stem, &contents);
                    workflow_files::saved_notice(&dir, &stem, outcome)
                });
            }
            Effect::Bell => {
                use std::io::Write as _;
                let mut out = std::io::stdout();
                let _ = out.write_all(b"\x07").and_then(|_| out.flush());
            }
            Effect::Copy { text, name } => {
                // The sequence goes out between frames (this runs on the loop
                // thread); the file is written off it.
                let sent = tools::send_osc52(&text);
                let dir = self.exports_dir.clone();
                self.notice_later(move || {
                    let file = tools::write_export(&dir, &name, &text);
                    tools::copy_notice(sent, text.len(), &dir, file)
                });
            }
            Effect::SaveUi { key, value } => {
                let r = self.records.clone();
                tokio::task::spawn_blocking(move || {
                    if let Err(err) = r.ui_put(&key, &value) {
                        tracing::warn!("saving ui preference {key}: {err}");
                    }
                });
            }
        }
    }
}

/// The last fenced code block of Markdown `text` (the one a person most
/// likely wants from an answer), without its fences.
fn last_code_block(text: &str) -> Option<String> {
    crate::ui::widgets::markdown::code_blocks(text).pop().map(|b| b.text)
}
