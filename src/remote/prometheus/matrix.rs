//! Reading a `query_range` answer without trusting it: the slots a poll may
//! fill come from the range opsdeck asked for, never from the answer's
//! timestamps; samples outside it are dropped and counted; `null` reads as
//! empty; an unreadable sample or series is skipped alone.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::decode::{cut, kind};
use crate::protocol::{TierSnapshot, Ts};

/// Points of one series per poll, at most (Prometheus' own limit, 11,000).
pub const MAX_SLOTS: usize = 11_000;
/// The shortest step asked for.
pub const MIN_STEP_MS: i64 = 1_000;
/// The longest step accepted (a longer interval is a configuration mistake).
pub const MAX_STEP_MS: i64 = 86_400_000;
/// History fetched on the first poll (and at most after an outage).
pub const FIRST_RANGE_MS: i64 = 3_600_000;

/// The time range of one `query_range` poll and its step: every slot a poll
/// may fill lies in it, so nothing is sized from the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotRange {
    pub start: Ts,
    pub end: Ts,
    pub step_ms: i64,
}

impl SlotRange {
    /// `[start, end]` in steps of `step_ms`; a range over [`MAX_SLOTS`]
    /// steps keeps its newest part.
    ///
    /// Errors: a step under 1 s or over 1 day, or `end` before `start`.
    pub fn new(start: Ts, end: Ts, step_ms: i64) -> Result<SlotRange, String> {
        if !(MIN_STEP_MS..=MAX_STEP_MS).contains(&step_ms) {
            return Err(format!("a step of {step_ms} ms is outside 1 s to 1 day: set `interval` within it"));
        }
        if end < start {
            return Err(format!("the range ends ({end}) before it starts ({start})"));
        }
        let earliest = end.saturating_sub((MAX_SLOTS as i64 - 1) * step_ms);
        Ok(SlotRange { start: start.max(earliest), end, step_ms })
    }

    /// The range of the next poll at `now`: from two steps before what was
    /// fetched (late samples), at most [`FIRST_RANGE_MS`] back (after an
    /// outage or on the first poll), and never in the future (a clock that
    /// stepped back).
    pub fn next(now: Ts, fetched_to: Option<Ts>, step_ms: i64) -> Result<SlotRange, String> {
        let earliest = now.saturating_sub(FIRST_RANGE_MS.max(2 * step_ms.clamp(0, MAX_STEP_MS)));
        let start = fetched_to.map_or(earliest, |t| t.saturating_sub(2 * step_ms.clamp(0, MAX_STEP_MS)));
        SlotRange::new(start.clamp(earliest, now), now, step_ms)
    }

    pub fn first_slot(&self) -> i64 {
        self.start.div_euclid(self.step_ms)
    }

    pub fn last_slot(&self) -> i64 {
        self.end.div_euclid(self.step_ms)
    }

    /// How many slots the range covers (at most [`MAX_SLOTS`] + 1).
    pub fn slots(&self) -> usize {
        usize::try_from(self.last_slot() - self.first_slot() + 1).unwrap_or(0)
    }

    /// The slot of a sample taken at `t` seconds, if it lies in the range.
    pub fn slot_of(&self, t: f64) -> Option<i64> {
        let ms = (t * 1000.0).round();
        if !ms.is_finite() || ms < self.start as f64 || ms > self.end as f64 {
            return None;
        }
        Some((ms as i64).div_euclid(self.step_ms))
    }
}

/// One query's answer, read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    /// `(slot, value)` of the charted series (the first by labels), all in the range.
    pub points: Vec<(i64, f32)>,
    /// Series in the answer (only the first is charted).
    pub series: usize,
    /// Samples dropped for lying outside the range asked for.
    pub outside: usize,
    /// Samples or series that could not be read.
    pub unreadable: usize,
}

/// Read a `query_range` answer (JSON) for `range`.
///
/// Errors: not JSON, a Prometheus error (`status` other than `success`), or
/// not a range vector.
pub fn decode(body: &[u8], range: &SlotRange) -> Result<Answer, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not a Prometheus answer: {e}"))?;
    let Value::Object(top) = v else { return Err(format!("not a Prometheus answer: {}", kind(&v))) };
    let status = top.get("status").and_then(Value::as_str).unwrap_or("");
    if status != "success" {
        let why = match top.get("error") {
            Some(Value::String(e)) if !e.is_empty() => e.as_str(),
            _ if status.is_empty() => "no status in the answer",
            _ => status,
        };
        return Err(cut(why, 300));
    }
    let data = match top.get("data") {
        Some(Value::Object(d)) => d,
        _ => return Err("no data in the answer".into()),
    };
    match data.get("resultType").and_then(Value::as_str) {
        Some("matrix") => {}
        Some(other) => return Err(format!("expected a range vector, got {}", cut(other, 40))),
        None => return Err("expected a range vector, got no resultType".into()),
    }
    let list: &[Value] = match data.get("result") {
        Some(Value::Array(l)) => l,
        None | Some(Value::Null) => &[],
        Some(other) => return Err(format!("expected a list of series, got {}", kind(other))),
    };
    let mut answer = Answer { series: list.len(), ..Answer::default() };
    // The first series by labels, so the choice is stable.
    let mut first: Option<(Labels, &Map<String, Value>)> = None;
    for s in list {
        let Value::Object(s) = s else {
            answer.unreadable += 1;
            continue;
        };
        let labels = labels(s.get("metric"));
        if first.as_ref().is_none_or(|(l, _)| labels < *l) {
            first = Some((labels, s));
        }
    }
    let Some((_, s)) = first else { return Ok(answer) };
    let values: &[Value] = match s.get("values") {
        Some(Value::Array(l)) => l,
        None | Some(Value::Null) => &[],
        Some(_) => {
            answer.unreadable += 1;
            &[]
        }
    };
    for item in values {
        let Some((t, v)) = sample(item) else {
            answer.unreadable += 1;
            continue;
        };
        match range.slot_of(t) {
            None => answer.outside += 1,
            // NaN is a Prometheus value meaning "no value": a gap.
            Some(slot) if v.is_finite() => answer.points.push((slot, v)),
            Some(_) => {}
        }
    }
    Ok(answer)
}

/// A series' labels, sorted.
type Labels<'a> = BTreeMap<&'a str, &'a str>;

/// A series' labels: its string-valued `metric` entries (anything else reads as none).
fn labels(v: Option<&Value>) -> Labels<'_> {
    match v {
        Some(Value::Object(m)) => m.iter().filter_map(|(k, v)| Some((k.as_str(), v.as_str()?))).collect(),
        _ => BTreeMap::new(),
    }
}

/// `[t, "value"]`: seconds and a value (a string, as Prometheus sends it, or a number).
fn sample(item: &Value) -> Option<(f64, f32)> {
    let Value::Array(pair) = item else { return None };
    let [t, v] = pair.as_slice() else { return None };
    let t = t.as_f64()?;
    let v = match v {
        Value::String(s) => s.trim().parse::<f32>().ok()?,
        Value::Number(n) => n.as_f64()? as f32,
        _ => return None,
    };
    Some((t, v))
}

/// Answers of several queries (opsdeck series name → answer) as one tier of
/// the range's step. Only slots inside `range` exist, so the tier is at most
/// `range.slots()` long whatever the answers held.
pub fn to_tier(range: &SlotRange, answers: &[(String, Answer)]) -> Option<TierSnapshot> {
    let (first, last) = (range.first_slot(), range.last_slot());
    let slots =
        || answers.iter().flat_map(|(_, a)| a.points.iter().map(|p| p.0)).filter(|s| (first..=last).contains(s));
    let start = slots().min()?;
    let end = slots().max()?;
    let len = usize::try_from(end - start + 1).ok()?.min(range.slots());
    let columns = answers
        .iter()
        .filter(|(_, a)| a.series > 0)
        .map(|(name, a)| {
            let mut col = vec![f32::NAN; len];
            for &(slot, v) in &a.points {
                if let Some(x) = usize::try_from(slot - start).ok().and_then(|i| col.get_mut(i)) {
                    *x = v;
                }
            }
            (name.clone(), col)
        })
        .collect();
    Some(TierSnapshot { step_ms: range.step_ms, start_slot: start, columns })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start_s: i64, end_s: i64, step_s: i64) -> SlotRange {
        SlotRange::new(start_s * 1000, end_s * 1000, step_s * 1000).unwrap()
    }

    #[test]
    fn range_results_become_a_tier_with_gaps() {
        let json = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"instance":"b"},"values":[[100,"9"]]},
            {"metric":{"instance":"a"},"values":[[100,"1.5"],[130,"2.5"],[145,"NaN"]]}]}}"#;
        let r = range(100, 145, 15);
        let a = decode(json, &r).unwrap();
        assert_eq!((a.series, a.outside, a.unreadable), (2, 0, 0));
        let tier = to_tier(&r, &[("cpu.total".into(), a)]).unwrap();
        assert_eq!(tier.start_slot, 6);
        let col = &tier.columns[0].1;
        assert_eq!(col[0], 1.5, "the first series by labels (instance=a)");
        assert!(col[1].is_nan(), "a missing step is a gap");
        assert_eq!(col[2], 2.5);
        assert_eq!(col.len(), 3, "a NaN value is no point (a trailing one adds no slot)");
    }

    /// The issue's repro: one timestamp in milliseconds among seconds made a
    /// buffer of (1795933151000 - 1795933110) / 1 slots (~478 GB).
    #[test]
    fn slots_come_from_the_requested_range_not_from_sample_timestamps() {
        let json = br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},
            "values":[[1795933110.0,"20"],[1795933111.0,"21"],[1795933151000.0,"42"],[-1e300,"1"],[1e308,"2"]]}]}}"#;
        let r = SlotRange::new(1_795_933_100_000, 1_795_933_160_000, 1_000).unwrap();
        let a = decode(json, &r).unwrap();
        assert_eq!((a.points.len(), a.outside), (2, 3), "out-of-range samples are dropped and counted");
        let tier = to_tier(&r, &[("x".into(), a)]).unwrap();
        assert_eq!((tier.start_slot, tier.columns[0].1.as_slice()), (1_795_933_110, [20.0, 21.0].as_slice()));
    }

    #[test]
    fn slot_counts_are_bounded_by_the_range_and_a_hard_maximum() {
        let r = range(0, 60, 15);
        assert_eq!(r.slots(), 5, "(end - start) / step + 1");
        let huge = SlotRange::new(0, 1_000_000_000_000, 1_000).unwrap();
        assert_eq!(huge.slots(), MAX_SLOTS, "a long range keeps its newest MAX_SLOTS steps");
        assert_eq!(huge.end, 1_000_000_000_000);
        assert!(SlotRange::new(0, 10, 0).is_err(), "a zero step");
        assert!(SlotRange::new(0, 10, -5).is_err(), "a negative step");
        assert!(SlotRange::new(0, 10, 2 * MAX_STEP_MS).is_err(), "an absurd step");
        assert!(SlotRange::new(10, 0, 1_000).is_err(), "end before start");
        // The next poll: never more than an hour back, never in the future.
        let now = 10_000_000_000;
        assert_eq!(SlotRange::next(now, None, 1_000).unwrap().start, now - FIRST_RANGE_MS);
        assert_eq!(SlotRange::next(now, Some(now - 5_000), 1_000).unwrap().start, now - 7_000);
        assert_eq!(SlotRange::next(now, Some(0), 1_000).unwrap().start, now - FIRST_RANGE_MS, "after an outage");
        assert_eq!(SlotRange::next(now, Some(now + 7_200_000), 1_000).unwrap().start, now, "the clock stepped back");
    }

    #[test]
    fn nulls_and_odd_items_read_as_empty_or_are_skipped_alone() {
        let r = range(0, 100, 1);
        let ok = |j: &str| decode(j.as_bytes(), &r);
        let a = ok(r#"{"status":"success","data":{"resultType":"matrix","result":null}}"#).unwrap();
        assert_eq!(a, Answer::default());
        let a = ok(r#"{"status":"success","warnings":null,"data":{"resultType":"matrix","result":[
            {"metric":null,"values":[[1,"1"],null,[2],[3,null],["x","2"],[4,5],[5,"6"]]}, 7, null]}}"#)
        .unwrap();
        assert_eq!(a.points, [(1, 1.0), (4, 5.0), (5, 6.0)]);
        assert_eq!((a.series, a.unreadable), (3, 6));
        let a =
            ok(r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":null},"values":null}]}}"#)
                .unwrap();
        assert_eq!((a.series, a.points.len()), (1, 0));
        assert_eq!(ok(r#"{"status":"error","error":"bad_data: parse error"}"#).unwrap_err(), "bad_data: parse error");
        assert_eq!(ok(r#"{"status":null}"#).unwrap_err(), "no status in the answer");
        assert!(ok(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#).is_err());
        assert!(ok("[]").is_err() && ok("nul").is_err());
    }
}
