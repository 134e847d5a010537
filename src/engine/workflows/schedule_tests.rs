//! Tests of schedules: fires in UTC and across both DST changes of
//! Europe/Berlin in 2026, catch-up after a gap, overlap decisions, and the
//! `[schedule]` table's mistakes at their line and column.

use super::*;

/// Milliseconds since the epoch of an RFC 3339 time.
fn ts(s: &str) -> Ts {
    s.parse::<Timestamp>().expect("an RFC 3339 time").as_millisecond()
}

/// An RFC 3339 time (UTC) of `t`, for messages.
fn shown(t: Option<Ts>) -> String {
    t.and_then(|t| Timestamp::from_millisecond(t).ok()).map_or("none".into(), |t| t.to_string())
}

fn schedule(cron: &str, zone: &str) -> Schedule {
    Schedule::new(cron, zone, Overlap::Skip, CatchUp::None).expect("a good schedule")
}

#[test]
fn next_fire_in_utc_is_strictly_after() {
    let s = schedule("0 3 * * *", "UTC");
    assert_eq!(shown(s.next_fire(ts("2026-01-01T00:00:00Z"))), "2026-01-01T03:00:00Z");
    assert_eq!(shown(s.next_fire(ts("2026-01-01T03:00:00Z"))), "2026-01-02T03:00:00Z", "not the same instant");
    assert_eq!(shown(s.next_fire(ts("2026-01-01T02:59:59.999Z"))), "2026-01-01T03:00:00Z");
    // Six fields: seconds first.
    let s = schedule("*/10 * * * * *", "UTC");
    assert_eq!(shown(s.next_fire(ts("2026-01-01T00:00:05.500Z"))), "2026-01-01T00:00:10Z");
    // A year field in the past has no next fire.
    let s = schedule("0 0 0 1 1 * 2020", "UTC");
    assert_eq!(s.next_fire(ts("2026-01-01T00:00:00Z")), None);
}

#[test]
fn a_time_skipped_by_the_spring_change_fires_when_the_clock_resumes() {
    // Europe/Berlin, 2026-03-29: at 02:00 CET (01:00Z) clocks jump to 03:00
    // CEST, so 02:30 does not exist that night. croner runs a fixed-time job
    // at the first instant after the gap: 03:00 CEST = 01:00Z.
    let s = schedule("30 2 * * *", "Europe/Berlin");
    assert_eq!(shown(s.next_fire(ts("2026-03-27T12:00:00Z"))), "2026-03-28T01:30:00Z", "02:30 CET");
    let gap = s.next_fire(ts("2026-03-28T12:00:00Z"));
    assert_eq!(shown(gap), "2026-03-29T01:00:00Z", "03:00 CEST, once");
    assert_eq!(shown(gap.and_then(|g| s.next_fire(g))), "2026-03-30T00:30:00Z", "02:30 CEST");
    // An every-30-minutes job just has no fires in the missing hour.
    let s = schedule("*/30 * * * *", "Europe/Berlin");
    assert_eq!(shown(s.next_fire(ts("2026-03-29T00:45:00Z"))), "2026-03-29T01:00:00Z", "01:45 CET → 03:00 CEST");
}

#[test]
fn a_time_repeated_by_the_autumn_change_fires_once() {
    // Europe/Berlin, 2026-10-25: at 03:00 CEST (01:00Z) clocks go back to
    // 02:00 CET, so 02:30 happens at 00:30Z and again at 01:30Z.
    let s = schedule("30 2 * * *", "Europe/Berlin");
    let first = s.next_fire(ts("2026-10-24T12:00:00Z"));
    assert_eq!(shown(first), "2026-10-25T00:30:00Z", "the first 02:30 (CEST)");
    assert_eq!(shown(first.and_then(|f| s.next_fire(f))), "2026-10-26T01:30:00Z", "not the second 02:30 (CET)");
    let (mut at, mut fires) = (ts("2026-10-24T00:00:00Z"), Vec::new());
    while let Some(next) = s.next_fire(at).filter(|&n| n < ts("2026-10-27T00:00:00Z")) {
        fires.push(shown(Some(next)));
        at = next;
    }
    assert_eq!(fires, ["2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]);
    // An every-30-minutes job follows real time: both halves of the repeated hour.
    let s = schedule("*/30 * * * *", "Europe/Berlin");
    let (mut at, mut fires) = (ts("2026-10-25T00:15:00Z"), Vec::new());
    while let Some(next) = s.next_fire(at).filter(|&n| n <= ts("2026-10-25T02:00:00Z")) {
        fires.push(shown(Some(next)));
        at = next;
    }
    let want = ["2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z", "2026-10-25T02:00:00Z"];
    assert_eq!(fires, want, "02:30 CEST, 02:00 CET, 02:30 CET, 03:00 CET");
}

#[test]
fn missed_gives_one_catch_up_fire_under_once_only() {
    let none = schedule("0 3 * * *", "UTC");
    assert_eq!(none.missed(ts("2026-01-01T00:00:00Z"), ts("2026-01-05T12:00:00Z")), None, "catch_up = none");
    let once = Schedule { catch_up: CatchUp::Once, ..none };
    // Four fires missed (1st to 4th... and the 5th at 03:00): one run, for the latest.
    assert_eq!(shown(once.missed(ts("2026-01-01T00:00:00Z"), ts("2026-01-05T12:00:00Z"))), "2026-01-05T03:00:00Z");
    // (last_seen, now]: a fire at now counts, a fire at last_seen does not.
    assert_eq!(shown(once.missed(ts("2026-01-04T12:00:00Z"), ts("2026-01-05T03:00:00Z"))), "2026-01-05T03:00:00Z");
    assert_eq!(once.missed(ts("2026-01-05T03:00:00Z"), ts("2026-01-05T12:00:00Z")), None);
    assert_eq!(once.missed(ts("2026-01-05T04:00:00Z"), ts("2026-01-05T12:00:00Z")), None, "no fire in the gap");
    assert_eq!(once.missed(ts("2026-01-05T12:00:00Z"), ts("2026-01-05T04:00:00Z")), None, "the clock went back");
}

#[test]
fn missed_after_years_is_one_search_not_a_walk() {
    // Every second for ten years would be 315 million fires; `missed`
    // searches backwards from now once.
    let every_second = Schedule::new("* * * * * *", "Europe/Berlin", Overlap::Skip, CatchUp::Once).unwrap();
    let started = std::time::Instant::now();
    let got = every_second.missed(ts("2016-01-01T00:00:00Z"), ts("2026-06-01T10:20:30.250Z"));
    assert_eq!(shown(got), "2026-06-01T10:20:30Z");
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "{:?}", started.elapsed());
}

#[test]
fn overlap_decides_what_a_fire_does() {
    use FireDecision::*;
    for overlap in [Overlap::Skip, Overlap::Queue, Overlap::CancelPrevious] {
        assert_eq!(decide(overlap, 0, 0), Start, "{overlap:?}: nothing running");
    }
    assert_eq!(decide(Overlap::Skip, 1, 0), Skip);
    assert_eq!(decide(Overlap::Skip, 3, 0), Skip);
    assert_eq!(decide(Overlap::Queue, 1, 0), Queue);
    assert_eq!(decide(Overlap::Queue, 1, 1), Skip, "at most one fire waits");
    assert_eq!(decide(Overlap::Queue, 0, 1), Skip, "the waiting fire is about to start");
    assert_eq!(decide(Overlap::CancelPrevious, 2, 0), CancelPreviousThenStart);
    assert_eq!(decide(Overlap::CancelPrevious, 0, 1), Start);
}

#[test]
fn schedules_that_cannot_be_used_say_why() {
    let e = Schedule::new("0 3 * *", "UTC", Overlap::Skip, CatchUp::None).unwrap_err();
    assert!(matches!(&e, ScheduleError::Cron { .. }), "{e}");
    assert!(e.to_string().starts_with("bad cron expression \"0 3 * *\": "), "{e}");
    let e = Schedule::new("0 0 30 2 *", "UTC", Overlap::Skip, CatchUp::None).unwrap_err();
    assert_eq!(e, ScheduleError::Never("0 0 30 2 *".into()));
    let e = Schedule::new("0 3 * * *", "Europe/Berlinn", Overlap::Skip, CatchUp::None).unwrap_err();
    assert_eq!(e.to_string(), "unknown time zone \"Europe/Berlinn\"");
    let s = schedule("@daily", "America/New_York");
    assert_eq!(shown(s.next_fire(ts("2026-07-01T12:00:00Z"))), "2026-07-02T04:00:00Z", "midnight EDT");
}

#[test]
fn the_schedule_table_is_read_and_its_mistakes_located() {
    use crate::engine::workflows::definition::parse;
    let step = "[[step]]\nid = \"a\"\nuses = \"shell\"\nwith = { command = \"true\" }\n";
    let good = format!(
        "name = \"w\"\nexpected_duration = \"10m\"\n[schedule]\ncron = \"0 3 * * *\"\ntimezone = \"Europe/Berlin\"\noverlap = \"queue\"\ncatch_up = \"once\"\n[trigger]\nalert = \"disk_full\"\n{step}"
    );
    let w = parse("wf.toml", &good).unwrap();
    let s = w.schedule.as_ref().expect("a schedule");
    assert_eq!((s.cron.as_str(), s.timezone.as_str()), ("0 3 * * *", "Europe/Berlin"));
    assert_eq!((s.overlap, s.catch_up), (Overlap::Queue, CatchUp::Once));
    assert_eq!(w.trigger_alert.as_deref(), Some("disk_full"));
    assert_eq!(w.expected_duration, Some(std::time::Duration::from_secs(600)));
    let plain = parse("wf.toml", &format!("name = \"w\"\n[schedule]\ncron = \"0 3 * * *\"\n{step}")).unwrap();
    let s = plain.schedule.expect("a schedule");
    assert_eq!((s.timezone.as_str(), s.overlap, s.catch_up), ("UTC", Overlap::Skip, CatchUp::None));
    assert_eq!((plain.trigger_alert, plain.expected_duration), (None, None));

    let bad = format!(
        "name = \"w\"\nexpected_duration = \"soon\"\n[schedule]\ncron = \"0 3 * *\"\ntimezone = \"Europe/Berlinn\"\noverlap = \"sometimes\"\ncatch_up = \"all\"\n[trigger]\nalert = \" \"\n{step}"
    );
    let e: Vec<String> = parse("wf.toml", &bad).unwrap_err().iter().map(ToString::to_string).collect();
    let has = |prefix: &str| e.iter().any(|l| l.starts_with(prefix));
    for want in [
        "wf.toml:2:21: invalid duration",
        "wf.toml:4:8: schedule: bad cron expression \"0 3 * *\": ",
        "wf.toml:5:12: schedule: unknown time zone \"Europe/Berlinn\"",
        "wf.toml:6:11: schedule: unknown overlap \"sometimes\"",
        "wf.toml:7:12: schedule: unknown catch_up \"all\"",
        "wf.toml:9:9: trigger: alert is empty",
    ] {
        assert!(has(want), "missing {want:?} in:\n{}", e.join("\n"));
    }
    assert_eq!(e.len(), 6, "{}", e.join("\n"));
    assert!(e.iter().all(|l| l.contains("\n  hint: ")), "{}", e.join("\n"));
    let e = parse("wf.toml", &format!("name = \"w\"\n[schedule]\ncrn = \"0 3 * * *\"\n{step}")).unwrap_err();
    assert_eq!(e.len(), 1, "only the bad key, not also a missing name: {e:?}");
    assert!(e[0].to_string().starts_with("wf.toml:3:1: unknown field `crn`"), "{}", e[0]);
}
