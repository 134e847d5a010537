//! Types shared by the engine, remote backends and the UI. No IO here.
//!
//! Everything the engine announces is an [`Event`] wrapped in an [`Envelope`]
//! carrying the engine's `epoch` and a monotonically increasing `seq`.

use serde::{Deserialize, Serialize};

mod host;
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
    pub columns: Vec<(String, Vec<f32>)>,
}
