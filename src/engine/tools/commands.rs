//! Tool runs as engine commands: `run_tool` and `cancel_tool` go to the
//! engine's [`ToolService`] (started with [`Engine::start_tools`]), and each
//! run's output and end are published on the bus (`Topic::Tools`), so a
//! remote client of `opsdeck serve` runs tools as the TUI does.
//!
//! Output reaches the bus in batches gathered for up to [`PUBLISH_WINDOW`]
//! (at most [`BATCH_LINES`] lines and about [`BATCH_BYTES`] an event, a longer
//! line cut), so a chatty run costs the resumable event log a few events a
//! second, not one per line.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::RunOptions;
use super::service::{BATCH_BYTES, BATCH_LINES, RunId, RunRequest, ToolEvent, ToolService};
use crate::engine::{CommandError, Engine};
use crate::protocol::tools::RunOrigin;
use crate::protocol::{Command, Event, ToolsCommand, Topic};

/// How long output is gathered before it is published.
pub const PUBLISH_WINDOW: Duration = Duration::from_millis(100);
/// Longest run id a client may choose, in characters.
pub const MAX_RUN_ID: usize = 128;
/// Events from the service waiting to be published (runs wait beyond).
const EVENT_QUEUE: usize = 256;

/// The engine's tools service and the channel its runs report to.
pub(crate) struct Tools {
    service: ToolService,
    events: mpsc::Sender<ToolEvent>,
}

impl Engine {
    /// Run tools for commands through `service` (its runs are recorded by
    /// the service's own log) and publish their output and ends on
    /// `Topic::Tools`. `opsdeck serve` starts it with the built-ins and the
    /// configured MCP servers. Needs a tokio runtime; replaces a service
    /// started before (its runs in flight go on, unannounced).
    pub fn start_tools(&self, service: ToolService) {
        let (events, rx) = mpsc::channel(EVENT_QUEUE);
        *self.inner.tools.lock().unwrap_or_else(|p| p.into_inner()) = Some(Tools { service, events });
        let task = tokio::spawn(publish_loop(self.clone(), rx));
        self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner()).push(task);
    }

    /// The tools service, if [`Engine::start_tools`] was called.
    pub fn tool_service(&self) -> Option<ToolService> {
        self.inner.tools.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|t| t.service.clone())
    }

    /// `run_tool` and `cancel_tool`. A run is checked before it starts (the
    /// tool exists, the arguments fit its schema, a tool that changes things
    /// was confirmed), so a usage error is the command's error, not a run.
    pub(in crate::engine) fn tool_command(&self, command: ToolsCommand) -> Result<Value, CommandError> {
        let (service, events) = {
            let tools = self.inner.tools.lock().unwrap_or_else(|p| p.into_inner());
            let Some(t) = tools.as_ref() else {
                return Err(CommandError::Invalid(format!(
                    "{} is refused: this engine runs no tools (opsdeck serve does)",
                    Command::Tools(command).describe()
                )));
            };
            (t.service.clone(), t.events.clone())
        };
        match command {
            ToolsCommand::RunTool { run, tool, args, confirmed } => {
                if run.is_empty() || run.chars().count() > MAX_RUN_ID {
                    return Err(CommandError::Invalid(format!("a run id must be 1 to {MAX_RUN_ID} characters")));
                }
                let args = if args.is_null() { json!({}) } else { args };
                let found = service.registry().borrow().get(&tool);
                let found = found.map_err(|e| CommandError::Invalid(e.to_string()))?;
                let spec = found.spec();
                if spec.mutating && !confirmed {
                    return Err(CommandError::Invalid(format!(
                        "{tool} changes things and needs confirmation (send confirmed: true once a person agreed)"
                    )));
                }
                super::validate(&spec.schema, &args).map_err(|e| CommandError::Invalid(e.to_string()))?;
                let opts = RunOptions { confirmed, read_only: self.inner.cfg.read_only };
                let req = RunRequest { run: run.clone(), tool, args, opts, origin: RunOrigin::Pane };
                service.run(req, events).map_err(|e| CommandError::Invalid(e.to_string()))?;
                Ok(json!({ "run": run }))
            }
            ToolsCommand::CancelTool { run } => {
                let cancelled = service.cancel(&run);
                Ok(json!({ "run": run, "cancelled": cancelled }))
            }
        }
    }
}

/// One run's lines waiting to be published.
struct Pending {
    run: RunId,
    lines: Vec<String>,
    bytes: usize,
}

/// Publish the service's events: output gathered for [`PUBLISH_WINDOW`]
/// per run, a run's end after its last output.
async fn publish_loop(engine: Engine, mut rx: mpsc::Receiver<ToolEvent>) {
    while let Some(first) = rx.recv().await {
        let deadline = Instant::now() + PUBLISH_WINDOW;
        let mut pending: Vec<Pending> = Vec::new();
        let mut next = Some(first);
        while let Some(event) = next.take() {
            match event {
                ToolEvent::Output { run, lines } => gather(&engine, &mut pending, run, lines),
                ToolEvent::Finished { run, record, .. } => {
                    // Every run's lines so far first: a run's end follows all its output.
                    flush(&engine, &mut pending);
                    engine.publish(Topic::Tools, engine.inner.clock.now_ms(), Event::ToolFinished { run, record });
                }
            }
            if pending.is_empty() {
                break;
            }
            if let Ok(Some(e)) = tokio::time::timeout_at(deadline, rx.recv()).await {
                next = Some(e);
            }
        }
        flush(&engine, &mut pending);
    }
}

/// Add `lines` to `run`'s pending batch, publishing it whenever it is full.
fn gather(engine: &Engine, pending: &mut Vec<Pending>, run: RunId, lines: Vec<String>) {
    let at = match pending.iter().position(|p| p.run == run) {
        Some(i) => i,
        None => {
            pending.push(Pending { run, lines: Vec::new(), bytes: 0 });
            pending.len() - 1
        }
    };
    for line in lines {
        let line = cut_line(line, BATCH_BYTES);
        let p = &mut pending[at];
        if !p.lines.is_empty() && (p.lines.len() >= BATCH_LINES || p.bytes + line.len() > BATCH_BYTES) {
            let lines = std::mem::take(&mut p.lines);
            p.bytes = 0;
            publish_output(engine, p.run.clone(), lines);
        }
        p.bytes += line.len();
        p.lines.push(line);
    }
}

/// Publish every pending batch.
fn flush(engine: &Engine, pending: &mut Vec<Pending>) {
    for p in pending.drain(..) {
        if !p.lines.is_empty() {
            publish_output(engine, p.run, p.lines);
        }
    }
}

fn publish_output(engine: &Engine, run: RunId, lines: Vec<String>) {
    engine.publish(Topic::Tools, engine.inner.clock.now_ms(), Event::ToolOutput { run, lines });
}

/// `line` cut to at most `max` bytes (on a character boundary), saying so.
pub(super) fn cut_line(mut line: String, max: usize) -> String {
    if line.len() <= max {
        return line;
    }
    let total = line.len();
    let mut end = max.saturating_sub(64);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    line.truncate(end);
    line.push_str(&format!(" … ({} of {total} bytes cut)", total - end));
    line
}
