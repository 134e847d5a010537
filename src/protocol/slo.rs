//! SLOs as the engine announces them (in [`AlertsUpdate::slos`](super::alerts::AlertsUpdate)).

use serde::{Deserialize, Serialize};

use super::Ts;

/// One SLO's error budget and burn rates, as of the minute `at`.
///
/// Fractions, not percentages: `budget_left` 0.71 is 71 % of the budget
/// left, below 0 overspent. Burn rates are the error ratio over a window
/// divided by the allowed one (`1 − objective`): 1 spends the budget exactly
/// over the SLO window. `null` (`None`) where a window had no events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SloStatus {
    pub name: String,
    /// Good events wanted, in percent (99.9).
    pub objective: f64,
    /// The SLO window, in minutes.
    pub window_min: i64,
    /// What the events are: `check api`, or `ERRORS / TOTAL` (two series).
    pub sli: String,
    #[serde(default)]
    pub budget_left: Option<f64>,
    #[serde(default)]
    pub burn_5m: Option<f64>,
    #[serde(default)]
    pub burn_30m: Option<f64>,
    #[serde(default)]
    pub burn_1h: Option<f64>,
    #[serde(default)]
    pub burn_6h: Option<f64>,
    /// The budget's burndown over the window, oldest first: one point every
    /// `burndown_step_min` minutes, the last at `at` (fractions; NaN, `null`
    /// on the wire, before the first event). At most 720 points.
    #[serde(default, deserialize_with = "super::float::vec_f32_or_nan")]
    pub burndown: Vec<f32>,
    #[serde(default)]
    pub burndown_step_min: i64,
    /// The start of the minute the figures are for (the minutes before it count).
    #[serde(default)]
    pub at: Ts,
}
