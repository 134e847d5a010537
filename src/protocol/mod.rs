//! Types shared by the engine, remote backends and the UI. No IO here.
//!
//! Everything the engine announces is an [`Event`] wrapped in an [`Envelope`]
//! carrying the engine's `epoch` and a monotonically increasing `seq`.

use serde::{Deserialize, Serialize};

pub mod alerts;
pub mod control;
pub mod float;
mod host;
pub mod matchers;
pub mod tools;
pub mod wire;
pub use host::{DiskInfo, HostSnapshot, NetInfo, ProcInfo};

/// Milliseconds since the Unix epoch, UTC.
pub type Ts = i64;

/// Version of the protocol types; bumped on incompatible change.
pub const PROTOCOL_VERSION: u32 = 1;

/// Name of the in-process engine as a source.
pub const LOCAL_SOURCE: &str = "local";

/// What a subscriber can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Metrics,
    Alerts,
    /// Tool runs started by `run_tool` commands: their output and their end.
    Tools,
}

/// One sequenced event from a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub epoch: u64,
    pub seq: u64,
    pub ts: Ts,
    pub source: String,
    pub topic: Topic,
    pub event: Event,
}

/// A change in an engine's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// One collection of the host's figures.
    HostSample(Box<HostSnapshot>),
    /// Stored history of a source's series, sent once at subscription so charts
    /// survive restarts.
    MetricsHistory(Box<SeriesSnapshot>),
    /// New points of named series from a poller (e.g. Prometheus); a live update.
    SeriesSamples(Box<SeriesSnapshot>),
    /// A note on the engine's timeline ("deploy started"), from an `annotate` command.
    Annotation { text: String, author: String },
    /// The alert engine's state changed.
    Alerts(Box<alerts::AlertsUpdate>),
    /// Lines a tool run (from a `run_tool` command) printed, in order: a
    /// batch of at most 512 lines and about 64 KiB (a longer line is cut).
    ToolOutput { run: String, lines: Vec<String> },
    /// A tool run ended (cancelled runs too); `record` is what the engine's
    /// history keeps (output capped at 64 KiB).
    ToolFinished { run: String, record: Box<tools::ToolRun> },
}

/// How far back a command's `at` may place it (7 days, in ms): older times are
/// taken as this bound, so a lying or long-offline client cannot rewrite history.
pub const MAX_BACKDATE_MS: Ts = 7 * 24 * 3_600_000;

/// The time a command takes effect: its `at` clamped to
/// [`now` − [`MAX_BACKDATE_MS`], `now`] (never in the future), or `now`.
pub fn made_at(at: Option<Ts>, now: Ts) -> Ts {
    at.map_or(now, |t| t.clamp(now.saturating_sub(MAX_BACKDATE_MS), now))
}

/// Something a client asks an engine to do. Sent with an id; replaying an id
/// returns the first answer and never runs the command twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Record an annotation event (at most 1,000 characters).
    Annotate {
        text: String,
        #[serde(default)]
        author: String,
        /// When the user made it (Unix ms): a command that waited in the outbox
        /// while offline is still drawn at this time. The engine clamps it to
        /// [now − [`MAX_BACKDATE_MS`], now]; absent means "when it arrives".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<Ts>,
    },
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
    /// What the host knows of one process (answer: `{pid, name, cmd, user,
    /// started (Unix s), threads, open_files, cgroup, status, parent, memory}`;
    /// fields it cannot read are null).
    ProcessDetails { pid: u32 },
    /// Send a signal to a process: one of [`SIGNALS`] by name (`TERM`).
    Signal { pid: u32, signal: String },
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

/// The signals `Command::Signal` sends, the default first.
pub const SIGNALS: [&str; 9] = ["TERM", "KILL", "INT", "HUP", "QUIT", "STOP", "CONT", "USR1", "USR2"];

impl Command {
    /// Whether running the command changes an engine's state (everything a
    /// read-only client or a read-only engine refuses). The match is exhaustive
    /// on purpose: a new command must decide.
    pub fn changes_state(&self) -> bool {
        match self {
            // An annotation is written to the engine's timeline and log.
            Command::Annotate { .. } => true,
            Command::Ack { .. } | Command::Unack { .. } => true,
            Command::Silence { .. } | Command::Unsilence { .. } => true,
            Command::SetRuleEnabled { .. } => true,
            Command::ProcessDetails { .. } => false,
            // A signal changes the host, not just opsdeck.
            Command::Signal { .. } => true,
            // Any tool may change something (a shell command, an HTTP POST, an
            // MCP tool without readOnlyHint), and the protocol cannot tell
            // which without the engine's registry: every run counts as a change.
            Command::RunTool { .. } => true,
            // Cancelling ends someone's run and records it cancelled. A
            // read-only engine starts no run to cancel, and a read-only client
            // must not stop the runs of others.
            Command::CancelTool { .. } => true,
        }
    }

    /// A short name of what the command does, for refusals ("read-only: …").
    pub fn describe(&self) -> &'static str {
        match self {
            Command::Annotate { .. } => "recording an annotation",
            Command::Ack { .. } => "acknowledging an alert",
            Command::Unack { .. } => "taking back an acknowledgement",
            Command::Silence { .. } => "silencing alerts",
            Command::Unsilence { .. } => "ending a silence",
            Command::SetRuleEnabled { enabled: true, .. } => "enabling a rule",
            Command::SetRuleEnabled { enabled: false, .. } => "disabling a rule",
            Command::ProcessDetails { .. } => "reading a process's details",
            Command::Signal { .. } => "sending a signal to a process",
            Command::RunTool { .. } => "running a tool",
            Command::CancelTool { .. } => "cancelling a tool run",
        }
    }
}

/// History of a set of named series, per storage tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SeriesSnapshot {
    pub tiers: Vec<TierSnapshot>,
}

/// One tier: fixed `step_ms`, slot `start_slot` (= ts / step), one column per
/// series, `NaN` where no sample was taken (a gap).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TierSnapshot {
    pub step_ms: i64,
    pub start_slot: i64,
    /// `NaN` gaps travel as JSON `null`.
    #[serde(with = "gaps_as_null")]
    pub columns: Vec<(String, Vec<f32>)>,
}

/// JSON has no NaN: gaps are written as `null` and read back as NaN.
mod gaps_as_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(cols: &[(String, Vec<f32>)], s: S) -> Result<S::Ok, S::Error> {
        let opt: Vec<(&str, Vec<Option<f32>>)> =
            cols.iter().map(|(n, v)| (n.as_str(), v.iter().map(|x| x.is_finite().then_some(*x)).collect())).collect();
        opt.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, Vec<f32>)>, D::Error> {
        let opt: Vec<(String, Vec<Option<f32>>)> = Vec::deserialize(d)?;
        Ok(opt.into_iter().map(|(n, v)| (n, v.into_iter().map(|x| x.unwrap_or(f32::NAN)).collect())).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_commands_and_events_have_their_documented_shapes() {
        let run: Command = serde_json::from_str(r#"{"type":"run_tool","run":"r1","tool":"text_stats"}"#).unwrap();
        let want = Command::RunTool {
            run: "r1".into(),
            tool: "text_stats".into(),
            args: serde_json::Value::Null,
            confirmed: false,
        };
        assert_eq!(run, want, "args and confirmed are optional");
        assert!(run.changes_state() && Command::CancelTool { run: "r1".into() }.changes_state());
        let cancel = serde_json::to_value(Command::CancelTool { run: "r1".into() }).unwrap();
        assert_eq!(cancel, serde_json::json!({"type": "cancel_tool", "run": "r1"}));
        let out = Event::ToolOutput { run: "r1".into(), lines: vec!["a".into()] };
        let v = serde_json::to_value(&out).unwrap();
        assert_eq!(v, serde_json::json!({"type": "tool_output", "run": "r1", "lines": ["a"]}));
        assert_eq!(serde_json::to_value(Topic::Tools).unwrap(), "tools");
    }

    #[test]
    fn gaps_survive_json() {
        let t = TierSnapshot { step_ms: 1000, start_slot: 5, columns: vec![("cpu".into(), vec![1.0, f32::NAN, 3.0])] };
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("[1.0,null,3.0]"), "{json}");
        let back: TierSnapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back.columns[0].1[0], 1.0);
        assert!(back.columns[0].1[1].is_nan());
    }
}
