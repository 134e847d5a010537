//! Number formatting for people: binary byte prefixes, rates, percentages, ages.

pub use crate::text::units::{bytes, duration_ms};

/// Bytes per second.
pub fn rate(bps: f64) -> String {
    format!("{}/s", bytes(bps))
}

/// Compact byte rate for chart axes, with its unit: "0B/s", "1.5K/s",
/// "20M/s" (K, M, G: KiB, MiB, GiB).
pub fn rate_axis(bps: f64) -> String {
    let s = bytes(bps);
    let mut parts = s.split(' ');
    let (n, u) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    match u.chars().next() {
        Some(c) => format!("{n}{c}/s"),
        None => n.to_string(),
    }
}

pub fn pct(v: f64) -> String {
    format!("{v:.0}%")
}

/// Smallest "nice" binary value >= v (1, 2, 5 × 1024^k), at least 1 KiB.
pub fn nice_rate_ceiling(v: f64) -> f64 {
    let mut base = 1024.0f64;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if base * m >= v {
                return base * m;
            }
        }
        base *= 10.0;
        if base > 1e18 {
            return v;
        }
    }
}

/// 93784 s -> "1d 2h".
pub fn uptime(s: u64) -> String {
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else {
        format!("{m}m")
    }
}

/// An age in ms, rounded down, as kubectl prints one: "4s", "3m", "47h"
/// (hours up to two days), "3d5h" (under eight days), "30d", "2y45d" (from
/// two years). Negative ages (a clock that jumped) read "0s".
pub fn age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (h, d) = (s / 3600, s / 86_400);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        _ if h < 48 => format!("{h}h"),
        _ if d < 8 => match h % 24 {
            0 => format!("{d}d"),
            rest => format!("{d}d{rest}h"),
        },
        _ if d < 730 => format!("{d}d"),
        _ => match d % 365 {
            0 => format!("{}y", d / 365),
            rest => format!("{}y{rest}d", d / 365),
        },
    }
}

/// A duration to come in two units, never rounded down past what is left:
/// `1h 59m`, `2d 3h`, `45s`.
pub fn left(ms: i64) -> String {
    let s = (ms.max(0) as u64).div_ceil(1000);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s.div_ceil(60)),
        3600..86_400 => {
            let m = s.div_ceil(60);
            if m.is_multiple_of(60) { format!("{}h", m / 60) } else { format!("{}h {}m", m / 60, m % 60) }
        }
        _ => {
            let h = s.div_ceil(3600);
            if h.is_multiple_of(24) { format!("{}d", h / 24) } else { format!("{}d {}h", h / 24, h % 24) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_prefixes() {
        assert_eq!(bytes(0.0), "0 B");
        assert_eq!(bytes(1536.0), "1.5 KiB");
        assert_eq!(bytes(20.0 * 1024.0 * 1024.0), "20 MiB");
        assert_eq!(rate(2048.0), "2.0 KiB/s");
        assert_eq!(rate_axis(2048.0), "2.0K/s");
        assert_eq!(rate_axis(12.0), "12B/s", "the unit is on the axis");
        assert_eq!(rate_axis(0.0), "0B/s");
        assert_eq!(bytes(f64::NAN), "-");
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_rate_ceiling(0.0), 1024.0);
        assert_eq!(nice_rate_ceiling(1500.0), 2048.0);
        assert_eq!(nice_rate_ceiling(3000.0), 5120.0);
        assert_eq!(nice_rate_ceiling(6000.0), 10240.0);
    }

    #[test]
    fn run_durations() {
        let got: Vec<String> =
            [-5, 0, 450, 1234, 42_000, 125_000, 3_720_000, i64::MAX].into_iter().map(duration_ms).collect();
        assert_eq!(got, ["0ms", "0ms", "450ms", "1.2s", "42s", "2m 05s", "1h 02m", "2562047788015h 12m"]);
    }

    #[test]
    fn durations() {
        assert_eq!(uptime(93_784), "1d 2h");
        assert_eq!(uptime(3_700), "1h 1m");
        assert_eq!(age(4_200), "4s");
        assert_eq!(age(7_300_000), "2h");
        let h = 3_600_000;
        assert_eq!(age(47 * h + 59 * 60_000), "47h");
        assert_eq!(age(48 * h), "2d");
        assert_eq!(age(77 * h), "3d5h");
        assert_eq!(age(30 * 24 * h), "30d", "not 720h");
        assert_eq!(age(800 * 24 * h), "2y70d");
        assert_eq!(age(-5_000), "0s", "a clock that jumped back");
        assert_eq!(age(i64::MAX), format!("{}y{}d", i64::MAX / 1000 / 86_400 / 365, i64::MAX / 1000 / 86_400 % 365));
    }

    #[test]
    fn time_left_is_never_rounded_down() {
        assert_eq!(left(2 * 3_600_000 - 1_000), "2h", "1h 59m 59s left of 2 hours");
        assert_eq!(left(2 * 3_600_000 - 61_000), "1h 59m");
        assert_eq!(left(59_500), "1m", "60 s left reads as a minute");
        assert_eq!(left(90_000), "2m");
        assert_eq!(left(7 * 86_400_000), "7d");
        assert_eq!(left(7 * 86_400_000 - 3_600_001), "6d 23h");
        assert_eq!(left(-5), "0s");
    }
}
