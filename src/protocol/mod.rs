//! Types shared by the engine, remote backends and the UI. No IO here.
//!
//! Everything the engine announces is an [`Event`] wrapped in an [`Envelope`]
//! carrying the engine's `epoch` and a monotonically increasing `seq`.

use serde::{Deserialize, Serialize};

pub mod alerts;
pub mod attach;
pub mod chain;
pub mod chat;
pub mod chat_export;
mod command;
pub mod control;
pub mod float;
mod host;
pub mod matchers;
pub mod slo;
pub mod tools;
pub mod uptime;
pub mod wire;
pub mod workflow;
pub use command::{AlertsCommand, Command, HostCommand, MetricsCommand, SIGNALS, ToolsCommand};
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
    /// Workflow runs: the workflows, runs' and steps' changes, steps' output.
    Workflows,
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
    /// The workflows an engine can start and its newest runs (at subscription,
    /// and when the workflow files change).
    Workflows(Box<workflow::WorkflowsSnapshot>),
    /// A run's header changed (its state, start, end); on disk before it is sent.
    RunChanged(Box<workflow::Run>),
    /// A step of a run changed; on disk before it is sent.
    StepChanged { run: workflow::RunId, attempt: u32, step: Box<workflow::StepRun> },
    /// Lines a step printed, in order (a batch of at most 512 lines).
    StepOutput { run: workflow::RunId, attempt: u32, step: String, lines: Vec<String> },
}

/// How far back a command's `at` may place it (7 days, in ms): older times are
/// taken as this bound, so a lying or long-offline client cannot rewrite history.
pub const MAX_BACKDATE_MS: Ts = 7 * 24 * 3_600_000;

/// The time a command takes effect: its `at` clamped to
/// [`now` − [`MAX_BACKDATE_MS`], `now`] (never in the future), or `now`.
pub fn made_at(at: Option<Ts>, now: Ts) -> Ts {
    at.map_or(now, |t| t.clamp(now.saturating_sub(MAX_BACKDATE_MS), now))
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
        let want = Command::Tools(ToolsCommand::RunTool {
            run: "r1".into(),
            tool: "text_stats".into(),
            args: serde_json::Value::Null,
            confirmed: false,
        });
        assert_eq!(run, want, "args and confirmed are optional");
        assert!(run.changes_state() && Command::Tools(ToolsCommand::CancelTool { run: "r1".into() }).changes_state());
        let cancel = serde_json::to_value(Command::Tools(ToolsCommand::CancelTool { run: "r1".into() })).unwrap();
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
