//! When a workflow starts by itself: a cron `[schedule]` in a time zone
//! (croner on jiff's time zone database), what a fire does while earlier
//! runs are still going ([`Overlap`]), and the fire missed while opsdeck was
//! down ([`CatchUp`]). Everything here is pure: times are [`Ts`]
//! (milliseconds since the Unix epoch, UTC) given by the caller, so the
//! scheduler can run it on an injected clock.
//!
//! ```toml
//! [schedule]
//! cron = "0 3 * * *"            # 5 fields; 6 with seconds first; 7 with a year last
//! timezone = "Europe/Berlin"     # an IANA name; default UTC
//! overlap = "skip"               # skip | queue | cancel_previous
//! catch_up = "none"              # none | once
//! ```
//!
//! Time zone changes follow croner's rules: a time that a clock change skips
//! (02:30 on the night clocks go forward) fires at the first instant after
//! the gap (03:00) for a job at a fixed time, and is passed over by a job
//! that runs every N minutes; a time that happens twice (02:30 on the night
//! clocks go back) fires once, at the first of the two, for a fixed-time job,
//! and on both for an interval job (they are an hour of real time apart).

use std::ops::Range;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;
use toml::Spanned;

use crate::protocol::Ts;

/// What a fire does while runs of the same workflow are still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overlap {
    /// The fire is dropped (the default).
    #[default]
    Skip,
    /// The fire waits until the running runs end; at most one fire waits,
    /// so a later one while one is already waiting is dropped.
    Queue,
    /// The running runs are cancelled, then the fire starts a run.
    CancelPrevious,
}

/// What happens to fires missed while opsdeck was not running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CatchUp {
    /// They are lost; the schedule goes on from now (the default).
    #[default]
    None,
    /// One run for the latest missed fire, however many were missed.
    Once,
}

/// What the scheduler does with one fire (see [`decide`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FireDecision {
    /// Start a run now.
    Start,
    /// Drop this fire.
    Skip,
    /// Keep this fire and start it when the running runs have ended.
    Queue,
    /// Cancel every running run of the workflow, then start one.
    CancelPreviousThenStart,
}

/// What one fire does under `overlap`, given the workflow's runs that are
/// running now (`running_runs`) and fires already waiting (`queued`).
/// Nothing running and nothing waiting always starts. Under
/// [`Overlap::Queue`] at most one fire waits (as in most schedulers): a
/// fire while one already waits is dropped, since the waiting one will run
/// the same definition moments later.
pub fn decide(overlap: Overlap, running_runs: usize, queued: usize) -> FireDecision {
    match overlap {
        _ if running_runs == 0 && queued == 0 => FireDecision::Start,
        Overlap::Skip if running_runs > 0 => FireDecision::Skip,
        Overlap::Skip => FireDecision::Start,
        Overlap::Queue if queued > 0 => FireDecision::Skip,
        Overlap::Queue => FireDecision::Queue,
        Overlap::CancelPrevious if running_runs > 0 => FireDecision::CancelPreviousThenStart,
        Overlap::CancelPrevious => FireDecision::Start,
    }
}

/// Why a schedule cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// croner refused the expression (its reason).
    #[error("bad cron expression {cron:?}: {reason}")]
    Cron { cron: String, reason: String },
    /// The expression is valid but names no time that exists (`0 0 30 2 *`).
    #[error("cron expression {0:?} never fires")]
    Never(String),
    /// Not a time zone of the database.
    #[error("unknown time zone {0:?}")]
    TimeZone(String),
}

/// A checked `[schedule]`: a cron expression read in a time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// The expression as written.
    pub cron: String,
    /// The IANA name of the zone the expression is read in (`UTC` unless given).
    pub timezone: String,
    pub overlap: Overlap,
    pub catch_up: CatchUp,
    pattern: croner::Cron,
    zone: TimeZone,
}

impl Schedule {
    /// A schedule of `cron` (5 fields, 6 with seconds first, 7 with a year
    /// last, or a nickname such as `@daily`) read in the IANA zone
    /// `timezone` (the system's database, else the one built in).
    pub fn new(cron: &str, timezone: &str, overlap: Overlap, catch_up: CatchUp) -> Result<Schedule, ScheduleError> {
        let pattern = parse_cron(cron)?;
        let zone = zone(timezone)?;
        Ok(Schedule { cron: cron.to_string(), timezone: timezone.to_string(), overlap, catch_up, pattern, zone })
    }

    /// The first fire strictly after `after` (ms since the epoch, UTC), or
    /// `None` when there is none (a year field in the past, or out of range).
    pub fn next_fire(&self, after: Ts) -> Option<Ts> {
        let start = Timestamp::from_millisecond(after).ok()?.to_zoned(self.zone.clone());
        let next = self.pattern.find_next_occurrence(&start, false).ok()?;
        Some(next.timestamp().as_millisecond())
    }

    /// The fire a catch-up run stands for, after opsdeck was last running
    /// at `last_seen` and is again at `now`: under [`CatchUp::Once`] the
    /// latest fire in `(last_seen, now]`, under [`CatchUp::None`] (or with
    /// none in that range) `None`. The work does not grow with the gap: it
    /// is one search backwards from `now`, never a walk over the missed fires.
    pub fn missed(&self, last_seen: Ts, now: Ts) -> Option<Ts> {
        if self.catch_up == CatchUp::None || now <= last_seen {
            return None;
        }
        let end = Timestamp::from_millisecond(now).ok()?.to_zoned(self.zone.clone());
        let latest = self.pattern.find_previous_occurrence(&end, true).ok()?.timestamp().as_millisecond();
        (latest > last_seen && latest <= now).then_some(latest)
    }
}

/// A cron expression as croner reads it, and one that fires at some time.
fn parse_cron(cron: &str) -> Result<croner::Cron, ScheduleError> {
    let pattern = croner::Cron::from_str(cron)
        .map_err(|e| ScheduleError::Cron { cron: cron.to_string(), reason: e.to_string() })?;
    // croner accepts days that never come (30 February): one search from
    // the epoch, in UTC (the same wall clock times as any zone), finds them.
    let epoch = Timestamp::UNIX_EPOCH.to_zoned(TimeZone::UTC);
    match pattern.find_next_occurrence(&epoch, true) {
        Ok(_) => Ok(pattern),
        Err(_) => Err(ScheduleError::Never(cron.to_string())),
    }
}

/// The zone of an IANA name.
fn zone(name: &str) -> Result<TimeZone, ScheduleError> {
    TimeZone::get(name).map_err(|_| ScheduleError::TimeZone(name.to_string()))
}

/// `[schedule]` as the file writes it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScheduleToml {
    cron: Spanned<String>,
    #[serde(default)]
    timezone: Option<Spanned<String>>,
    #[serde(default)]
    overlap: Option<Spanned<String>>,
    #[serde(default)]
    catch_up: Option<Spanned<String>>,
}

/// One problem of a `[schedule]`: where, what, and a hint.
pub(crate) type Problem = (Range<usize>, String, &'static str);

const CRON_HINT: &str =
    "cron is 5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, e.g. \"0 3 * * *\"";
const ZONE_HINT: &str = "use an IANA time zone name such as UTC, Europe/Berlin or America/New_York";

impl ScheduleToml {
    /// The checked schedule, or every problem at its place.
    pub(crate) fn check(&self) -> Result<Schedule, Vec<Problem>> {
        let mut problems: Vec<Problem> = Vec::new();
        let pattern = parse_cron(self.cron.get_ref().trim())
            .map_err(|e| problems.push((self.cron.span(), format!("schedule: {e}"), CRON_HINT)))
            .ok();
        let timezone = self.timezone.as_ref().map_or("UTC", |t| t.get_ref().as_str()).trim();
        let zone = zone(timezone)
            .map_err(|e| {
                let at = self.timezone.as_ref().map_or(self.cron.span(), Spanned::span);
                problems.push((at, format!("schedule: {e}"), ZONE_HINT));
            })
            .ok();
        let overlap = word(
            &self.overlap,
            &mut problems,
            "overlap",
            "use skip, queue or cancel_previous",
            &[("skip", Overlap::Skip), ("queue", Overlap::Queue), ("cancel_previous", Overlap::CancelPrevious)],
        );
        let catch_up = word(
            &self.catch_up,
            &mut problems,
            "catch_up",
            "use none or once",
            &[("none", CatchUp::None), ("once", CatchUp::Once)],
        );
        match (pattern, zone, overlap, catch_up) {
            (Some(pattern), Some(zone), Some(overlap), Some(catch_up)) if problems.is_empty() => Ok(Schedule {
                cron: self.cron.get_ref().trim().to_string(),
                timezone: timezone.to_string(),
                overlap,
                catch_up,
                pattern,
                zone,
            }),
            _ => Err(problems),
        }
    }
}

/// The value of the one of `words` written at `v` (the default when absent),
/// or `None` and a problem at `v`.
fn word<T: Copy + Default>(
    v: &Option<Spanned<String>>,
    problems: &mut Vec<Problem>,
    key: &str,
    hint: &'static str,
    words: &[(&str, T)],
) -> Option<T> {
    let Some(v) = v else { return Some(T::default()) };
    let found = words.iter().find(|(w, _)| *w == v.get_ref().trim()).map(|(_, t)| *t);
    if found.is_none() {
        problems.push((v.span(), format!("schedule: unknown {key} {:?}", v.get_ref()), hint));
    }
    found
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
