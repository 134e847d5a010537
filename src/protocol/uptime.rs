//! A health check's availability as the engine announces it (issue 15):
//! the share of its probes that were up over the last 24 hours, 7 days and
//! 30 days, and its newest outages. Carried in `RuleStatus::uptime`.

use serde::{Deserialize, Deserializer, Serialize};

use super::Ts;

/// Outages carried per check in a [`RuleStatus`](super::alerts::RuleStatus)
/// (the newest; the store keeps more).
pub const OUTAGES_SHOWN: usize = 10;

/// Availability of one check. Percentages are of probes: `up / (up + down)
/// × 100` over the window ending now, `None` when the window holds no probe
/// (shown as `—`; never NaN, never 100 % of nothing).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Uptime {
    /// The last 24 hours (1,440 minutes, the current one included), 0–100.
    #[serde(default, deserialize_with = "pct_or_none")]
    pub pct_24h: Option<f64>,
    /// The last 7 days (10,080 minutes), 0–100.
    #[serde(default, deserialize_with = "pct_or_none")]
    pub pct_7d: Option<f64>,
    /// The last 30 days (43,200 minutes), 0–100.
    #[serde(default, deserialize_with = "pct_or_none")]
    pub pct_30d: Option<f64>,
    /// The newest outages, newest first (at most [`OUTAGES_SHOWN`]).
    #[serde(default, deserialize_with = "outages_or_empty")]
    pub outages: Vec<Outage>,
}

impl Uptime {
    /// The three percentages, 24 h first.
    pub fn pcts(&self) -> [Option<f64>; 3] {
        [self.pct_24h, self.pct_7d, self.pct_30d]
    }
}

/// A run of down probes: from the first probe that found the check failing
/// (after its `retries`) to the first healthy probe after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outage {
    /// When the first down probe came back (Unix ms).
    pub start: Ts,
    /// When the first healthy probe after it came back; `None` while ongoing.
    #[serde(default)]
    pub end: Option<Ts>,
    /// The error of the first down probe.
    #[serde(default)]
    pub first_error: Option<String>,
}

impl Outage {
    /// How long it lasted (ms; until `now` while ongoing; never negative).
    pub fn duration_ms(&self, now: Ts) -> i64 {
        self.end.unwrap_or(now).saturating_sub(self.start).max(0)
    }
}

/// A percentage, rounded down so that a check that was ever down never reads
/// `100%`: `100%`, `99.95%`, `7.50%`; `—` with no probe in the window.
pub fn pct_text(p: Option<f64>) -> String {
    match p {
        Some(p) if p >= 100.0 => "100%".into(),
        Some(p) if p.is_finite() && p >= 0.0 => format!("{:.2}%", (p * 100.0).floor() / 100.0),
        _ => "—".into(),
    }
}

/// A percentage from a peer: `null`, a non-number or a value outside 0–100
/// reads as no data rather than a figure that cannot be.
fn pct_or_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(v.and_then(|v| v.as_f64()).filter(|p| p.is_finite() && (0.0..=100.0).contains(p)))
}

/// Outages from a peer; `null` reads as none.
fn outages_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Outage>, D::Error> {
    Ok(Option::<Vec<Outage>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_down_and_nothing_is_a_dash() {
        assert_eq!(pct_text(Some(100.0)), "100%");
        assert_eq!(pct_text(Some(99.999)), "99.99%", "never 100% after a down probe");
        assert_eq!(pct_text(Some(7.5)), "7.50%");
        assert_eq!(pct_text(None), "—");
        assert_eq!(pct_text(Some(f64::NAN)), "—");
    }

    #[test]
    fn a_peer_without_uptime_or_with_impossible_figures_still_decodes() {
        let u: Uptime = serde_json::from_str(r#"{"pct_24h":null,"pct_7d":101,"pct_30d":"x","outages":null}"#).unwrap();
        assert_eq!(u, Uptime::default());
        let r: crate::protocol::alerts::RuleStatus = serde_json::from_str(
            r#"{"name":"api","kind":"check","detail":"tcp a:1","severity":"critical","enabled":true}"#,
        )
        .unwrap();
        assert_eq!(r.uptime, None);
        let u = Uptime {
            pct_24h: Some(99.5),
            outages: vec![Outage { start: 1, end: None, first_error: None }],
            ..Uptime::default()
        };
        assert_eq!(serde_json::from_value::<Uptime>(serde_json::to_value(&u).unwrap()).unwrap(), u);
    }
}
