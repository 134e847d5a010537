//! The runs list's time filter: every run, or those created within the
//! last hour, day or week of the state's clock (cycled with `run_time_filter`).

use crate::protocol::Ts;

/// How far back the runs list reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeFilter {
    #[default]
    All,
    Hour,
    Day,
    Week,
}

impl TimeFilter {
    pub const ALL: [TimeFilter; 4] = [TimeFilter::All, TimeFilter::Hour, TimeFilter::Day, TimeFilter::Week];

    /// The words of the list's title: `any time`, `last 1h`, …
    pub fn word(self) -> &'static str {
        match self {
            TimeFilter::All => "any time",
            TimeFilter::Hour => "last 1h",
            TimeFilter::Day => "last 24h",
            TimeFilter::Week => "last 7d",
        }
    }

    /// How far back, in ms (`None`: no limit).
    pub fn span_ms(self) -> Option<Ts> {
        match self {
            TimeFilter::All => None,
            TimeFilter::Hour => Some(3_600_000),
            TimeFilter::Day => Some(24 * 3_600_000),
            TimeFilter::Week => Some(7 * 24 * 3_600_000),
        }
    }

    /// Whether a run created at `created` is shown at `now`.
    pub fn keeps(self, created: Ts, now: Ts) -> bool {
        self.span_ms().is_none_or(|span| created >= now - span)
    }

    pub fn next(self) -> TimeFilter {
        let i = Self::ALL.iter().position(|f| *f == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_filter_keeps_runs_up_to_its_edge_and_cycles_back_to_all() {
        let now = 1_000_000_000;
        assert!(TimeFilter::All.keeps(0, now));
        assert!(TimeFilter::Hour.keeps(now - 3_600_000, now));
        assert!(!TimeFilter::Hour.keeps(now - 3_600_001, now));
        assert!(TimeFilter::Day.keeps(now - 3_600_001, now));
        assert!(!TimeFilter::Day.keeps(now - 24 * 3_600_000 - 1, now));
        assert!(TimeFilter::Week.keeps(now - 24 * 3_600_000 - 1, now));
        let mut f = TimeFilter::All;
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.push(f);
            f = f.next();
        }
        assert_eq!(seen, TimeFilter::ALL);
        assert_eq!(f, TimeFilter::All);
    }
}
