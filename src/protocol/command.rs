//! Commands: what a client asks an engine to do, one nested enum per domain
//! service of the engine ([`Command::Metrics`], [`Command::Alerts`],
//! [`Command::Host`], [`Command::Tools`]; workflows and chat join as their
//! own). On the wire a command stays one flat object tagged by `type`
//! (`{"type":"ack","alert":…}`): the domain is found from the type, so the
//! nesting changes nothing for clients.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use super::workflow::WorkflowsCommand;
use super::{Ts, alerts};

/// Something a client asks an engine to do. Sent with an id; replaying an id
/// returns the first answer and never runs the command twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Command {
    /// The metrics timeline (annotations).
    Metrics(MetricsCommand),
    /// The alert engine: acknowledgements, silences, rules.
    Alerts(AlertsCommand),
    /// The host the engine runs on: its processes.
    Host(HostCommand),
    /// The engine's tools service.
    Tools(ToolsCommand),
    /// The workflow engine: runs and their steps.
    Workflows(WorkflowsCommand),
}

/// Commands of the metrics timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum MetricsCommand {
    /// Record an annotation event (at most 1,000 characters).
    Annotate {
        text: String,
        #[serde(default)]
        author: String,
        /// When the user made it (Unix ms): a command that waited in the outbox
        /// while offline is still drawn at this time. The engine clamps it to
        /// [now − [`MAX_BACKDATE_MS`](super::MAX_BACKDATE_MS), now]; absent
        /// means "when it arrives".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<Ts>,
    },
}

impl MetricsCommand {
    const TYPES: &[&str] = &["annotate"];
}

/// Commands of the alert engine (and of an Alertmanager source).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AlertsCommand {
    /// "I'm on it": the alert stays visible and stops notifying until it resolves.
    Ack {
        alert: String,
        note: String,
        by: String,
        /// When the user acknowledged (Unix ms), as for `annotate`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<Ts>,
    },
    /// Take back an acknowledgement.
    Unack { alert: String },
    /// Mute alerts whose labels match, for `minutes`.
    Silence { matchers: Vec<alerts::Matcher>, minutes: u32, comment: String, by: String },
    /// End a silence now.
    Unsilence { id: String },
    /// Turn a rule or health check on or off.
    SetRuleEnabled { name: String, enabled: bool },
}

impl AlertsCommand {
    const TYPES: &[&str] = &["ack", "unack", "silence", "unsilence", "set_rule_enabled"];
}

/// Commands about the host the engine runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HostCommand {
    /// What the host knows of one process (answer: `{pid, name, cmd, user,
    /// started (Unix s), threads, open_files, cgroup, status, parent, memory}`;
    /// fields it cannot read are null).
    ProcessDetails { pid: u32 },
    /// Send a signal to a process: one of [`SIGNALS`] by name (`TERM`).
    Signal { pid: u32, signal: String },
}

impl HostCommand {
    const TYPES: &[&str] = &["process_details", "signal"];
}

/// Commands of the engine's tools service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ToolsCommand {
    /// Run a tool of the engine's registry (answer: `{"run": run}` at once;
    /// the output and the end follow as `tool_output` and `tool_finished`
    /// events on the `tools` topic). `run` (1 to 128 characters) is the
    /// client's id for the run; `confirmed` says a person confirmed it
    /// (required for tools that change things).
    RunTool {
        run: String,
        tool: String,
        #[serde(default)]
        args: serde_json::Value,
        #[serde(default)]
        confirmed: bool,
    },
    /// Cancel a tool run in flight (answer: `{"run": run, "cancelled": bool}`).
    CancelTool { run: String },
}

impl ToolsCommand {
    const TYPES: &[&str] = &["run_tool", "cancel_tool"];
}

/// Every command `type`, for the message about an unknown one.
const ALL_TYPES: &[&str] = &[
    "annotate",
    "ack",
    "unack",
    "silence",
    "unsilence",
    "set_rule_enabled",
    "process_details",
    "signal",
    "run_tool",
    "cancel_tool",
    "start_run",
    "cancel_run",
    "resume_run",
    "abandon_run",
    "rerun_run",
    "approve",
    "reject",
    "list_runs",
    "show_run",
    "step_log",
    "list_workflows",
    "list_versions",
    "show_version",
    "rollback",
];

impl<'de> Deserialize<'de> for Command {
    /// The domain is chosen by `type`; the domain's enum reads the rest (and
    /// refuses unknown fields).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let Some(kind) = v.get("type").and_then(serde_json::Value::as_str) else {
            return Err(D::Error::missing_field("type"));
        };
        let read = |r: Result<Command, serde_json::Error>| r.map_err(D::Error::custom);
        if MetricsCommand::TYPES.contains(&kind) {
            read(MetricsCommand::deserialize(v).map(Command::Metrics))
        } else if AlertsCommand::TYPES.contains(&kind) {
            read(AlertsCommand::deserialize(v).map(Command::Alerts))
        } else if HostCommand::TYPES.contains(&kind) {
            read(HostCommand::deserialize(v).map(Command::Host))
        } else if ToolsCommand::TYPES.contains(&kind) {
            read(ToolsCommand::deserialize(v).map(Command::Tools))
        } else if WorkflowsCommand::TYPES.contains(&kind) {
            read(WorkflowsCommand::deserialize(v).map(Command::Workflows))
        } else {
            Err(D::Error::unknown_variant(kind, ALL_TYPES))
        }
    }
}

/// The signals `HostCommand::Signal` sends, the default first.
pub const SIGNALS: [&str; 9] = ["TERM", "KILL", "INT", "HUP", "QUIT", "STOP", "CONT", "USR1", "USR2"];

impl Command {
    /// Whether running the command changes an engine's state (everything a
    /// read-only client or a read-only engine refuses). The match is exhaustive
    /// on purpose: a new command must decide.
    pub fn changes_state(&self) -> bool {
        match self {
            // An annotation is written to the engine's timeline and log.
            Command::Metrics(MetricsCommand::Annotate { .. }) => true,
            Command::Alerts(
                AlertsCommand::Ack { .. }
                | AlertsCommand::Unack { .. }
                | AlertsCommand::Silence { .. }
                | AlertsCommand::Unsilence { .. }
                | AlertsCommand::SetRuleEnabled { .. },
            ) => true,
            Command::Host(HostCommand::ProcessDetails { .. }) => false,
            // A signal changes the host, not just opsdeck.
            Command::Host(HostCommand::Signal { .. }) => true,
            // Any tool may change something (a shell command, an HTTP POST, an
            // MCP tool without readOnlyHint), and the protocol cannot tell
            // which without the engine's registry: every run counts as a change.
            Command::Tools(ToolsCommand::RunTool { .. }) => true,
            // Cancelling ends someone's run and records it cancelled. A
            // read-only engine starts no run to cancel, and a read-only client
            // must not stop the runs of others.
            Command::Tools(ToolsCommand::CancelTool { .. }) => true,
            // Starting, stopping and answering runs change them; listing and
            // showing only read.
            Command::Workflows(c) => !c.reads_only(),
        }
    }

    /// A short name of what the command does, for refusals ("read-only: …").
    pub fn describe(&self) -> &'static str {
        match self {
            Command::Metrics(MetricsCommand::Annotate { .. }) => "recording an annotation",
            Command::Alerts(c) => match c {
                AlertsCommand::Ack { .. } => "acknowledging an alert",
                AlertsCommand::Unack { .. } => "taking back an acknowledgement",
                AlertsCommand::Silence { .. } => "silencing alerts",
                AlertsCommand::Unsilence { .. } => "ending a silence",
                AlertsCommand::SetRuleEnabled { enabled: true, .. } => "enabling a rule",
                AlertsCommand::SetRuleEnabled { enabled: false, .. } => "disabling a rule",
            },
            Command::Host(HostCommand::ProcessDetails { .. }) => "reading a process's details",
            Command::Host(HostCommand::Signal { .. }) => "sending a signal to a process",
            Command::Tools(ToolsCommand::RunTool { .. }) => "running a tool",
            Command::Tools(ToolsCommand::CancelTool { .. }) => "cancelling a tool run",
            Command::Workflows(c) => c.describe(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_of_each() -> Vec<Command> {
        vec![
            Command::Metrics(MetricsCommand::Annotate { text: "t".into(), author: "a".into(), at: Some(5) }),
            Command::Alerts(AlertsCommand::Ack { alert: "a".into(), note: "n".into(), by: "b".into(), at: None }),
            Command::Alerts(AlertsCommand::Unack { alert: "a".into() }),
            Command::Alerts(AlertsCommand::Silence {
                matchers: vec![],
                minutes: 5,
                comment: String::new(),
                by: "b".into(),
            }),
            Command::Alerts(AlertsCommand::Unsilence { id: "s".into() }),
            Command::Alerts(AlertsCommand::SetRuleEnabled { name: "r".into(), enabled: true }),
            Command::Host(HostCommand::ProcessDetails { pid: 1 }),
            Command::Host(HostCommand::Signal { pid: 1, signal: "TERM".into() }),
            Command::Tools(ToolsCommand::RunTool {
                run: "r".into(),
                tool: "t".into(),
                args: serde_json::json!({}),
                confirmed: false,
            }),
            Command::Tools(ToolsCommand::CancelTool { run: "r".into() }),
            Command::Workflows(WorkflowsCommand::StartRun {
                workflow: "w".into(),
                inputs: Default::default(),
                by: "b".into(),
            }),
            Command::Workflows(WorkflowsCommand::CancelRun { run: 1 }),
            Command::Workflows(WorkflowsCommand::ResumeRun { run: 1, rerun_unsafe: false }),
            Command::Workflows(WorkflowsCommand::AbandonRun { run: 1 }),
            Command::Workflows(WorkflowsCommand::RerunRun {
                run: 1,
                from: super::super::workflow::RerunFrom::Failed,
                current: true,
                inputs: None,
            }),
            Command::Workflows(WorkflowsCommand::Approve {
                run: 1,
                step: "s".into(),
                by: "b".into(),
                note: String::new(),
            }),
            Command::Workflows(WorkflowsCommand::Reject { run: 1, step: "s".into(), by: "b".into(), note: "n".into() }),
            Command::Workflows(WorkflowsCommand::ListRuns { workflow: None, state: None, before: None, limit: 5 }),
            Command::Workflows(WorkflowsCommand::ShowRun { run: 1, attempt: Some(1) }),
            Command::Workflows(WorkflowsCommand::StepLog { run: 1, attempt: None, step: "s".into() }),
            Command::Workflows(WorkflowsCommand::ListWorkflows),
            Command::Workflows(WorkflowsCommand::ListVersions { workflow: "w".into() }),
            Command::Workflows(WorkflowsCommand::ShowVersion {
                workflow: "w".into(),
                version: "v".into(),
                against: None,
            }),
            Command::Workflows(WorkflowsCommand::Rollback { workflow: "w".into(), version: "v".into() }),
        ]
    }

    /// Every command is one flat object tagged by `type`, as before the
    /// nesting, and reads back into its own domain.
    #[test]
    fn every_command_keeps_its_flat_wire_shape_and_its_domain() {
        let all = one_of_each();
        let mut types = Vec::new();
        for c in &all {
            let v = serde_json::to_value(c).unwrap();
            let kind = v["type"].as_str().expect("a type").to_string();
            assert_eq!(serde_json::from_value::<Command>(v).unwrap(), *c, "{kind}");
            types.push(kind);
        }
        assert_eq!(types, ALL_TYPES, "every type listed once, in order");
        let ack = r#"{"type":"ack","alert":"disk","note":"","by":"ops"}"#;
        assert_eq!(
            serde_json::from_str::<Command>(ack).unwrap(),
            Command::Alerts(AlertsCommand::Ack {
                alert: "disk".into(),
                note: String::new(),
                by: "ops".into(),
                at: None
            })
        );
    }

    #[test]
    fn an_unknown_type_or_field_is_refused_with_its_name() {
        let e = serde_json::from_str::<Command>(r#"{"type":"teleport"}"#).unwrap_err().to_string();
        assert!(e.starts_with("unknown variant `teleport`, expected one of `annotate`"), "{e}");
        let e = serde_json::from_str::<Command>(r#"{"type":"unack","alert":"a","extra":1}"#).unwrap_err().to_string();
        assert!(e.contains("unknown field `extra`"), "{e}");
        let e = serde_json::from_str::<Command>(r#"{"alert":"a"}"#).unwrap_err().to_string();
        assert!(e.contains("missing field `type`"), "{e}");
        let e =
            serde_json::from_str::<Command>(r#"{"type":"signal","pid":"x","signal":"TERM"}"#).unwrap_err().to_string();
        assert!(e.contains("invalid type"), "{e}");
    }
}
