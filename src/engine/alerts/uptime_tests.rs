use proptest::prelude::*;

use super::*;
use crate::engine::alerts::checks::Outcome;
use crate::engine::alerts::core::AlertCore;
use crate::engine::alerts::rules::parse;

/// A minute boundary that is not an hour's (so windows cut hours in two).
const T0: Ts = 29_833_333 * MINUTE_MS;
const DAY_MIN: i64 = 1_440;

fn core(retries: u32, store: Option<&Store>) -> AlertCore {
    let src = format!("[[check]]\nname = \"api\"\ntcp = \"127.0.0.1:1\"\ninterval = \"60s\"\nretries = {retries}\n");
    AlertCore::new(parse("t.toml", &src).expect("rules"), store)
}

fn outcome(at: Ts, ok: bool, error: &str) -> Outcome {
    Outcome { at, ok, latency_ms: ok.then_some(3.0), error: (!ok).then(|| error.to_string()) }
}

/// The scripted outages of the 30 days: (first minute, minutes, error).
const SCRIPT: [(i64, i64, &str); 3] = [
    (2 * DAY_MIN + 17, 100, "connection refused"),
    (25 * DAY_MIN + 300, 30, "status 503, expected 2xx"),
    (29 * DAY_MIN + 1_000, 12, "timed out"),
];

/// 30 days of one probe a minute (5 s into it) with [`SCRIPT`]'s outages,
/// through the core, written to `store` every hour. Returns the time of
/// the last probe.
fn thirty_days(c: &mut AlertCore, store: &Store) -> Ts {
    let mut last = T0;
    for m in 0..30 * DAY_MIN {
        let at = T0 + m * MINUTE_MS + 5_000;
        let bad = SCRIPT.iter().find(|(from, n, _)| (*from..from + n).contains(&m));
        c.check_outcome("api", outcome(at, bad.is_none(), bad.map_or("", |b| b.2)), at);
        if m % 60 == 59 {
            c.update(at).1.write(store).expect("write");
        }
        last = at;
    }
    c.update(last).1.write(store).expect("write");
    last
}

fn pct(up: i64, total: i64) -> f64 {
    up as f64 * 100.0 / total as f64
}

#[test]
fn uptime_over_a_synthetic_30_day_history_has_the_known_answer_and_survives_a_restart() {
    let store = Store::temporary().expect("store");
    let mut c = core(1, Some(&store));
    let now = thirty_days(&mut c, &store);
    let st = c.rule_statuses().into_iter().find(|r| r.name == "api").expect("api");
    let u = st.uptime.expect("a check has uptime");
    // 24 h: the 1,440 minutes up to now hold the 12-minute outage; 7 d also
    // the 30-minute one; 30 d every probe, all three (142 down).
    let want = [pct(1_440 - 12, 1_440), pct(10_080 - 42, 10_080), pct(43_200 - 142, 43_200)];
    for (got, want) in u.pcts().into_iter().zip(want) {
        let got = got.expect("data");
        assert!((got - want).abs() < 1e-9, "{got} != {want}");
    }
    assert_eq!(format!("{:.3}", want[0]), "99.167");
    let expected: Vec<Outage> = SCRIPT
        .iter()
        .rev()
        .map(|(from, n, e)| Outage {
            start: T0 + from * MINUTE_MS + 5_000,
            end: Some(T0 + (from + n) * MINUTE_MS + 5_000),
            first_error: Some(e.to_string()),
        })
        .collect();
    assert_eq!(u.outages, expected, "newest first");
    assert_eq!(u.outages[0].duration_ms(now), 12 * MINUTE_MS);

    // Restart: the store reopened gives the same figures and outages.
    drop(c);
    let mut again = core(1, Some(&store.reopen().expect("reopen")));
    assert!(again.restore_problems.is_empty(), "{:?}", again.restore_problems);
    again.update(now);
    let u2 = again.rule_statuses().into_iter().find(|r| r.name == "api").and_then(|r| r.uptime);
    assert_eq!(u2, Some(u));
}

#[test]
fn a_failed_probe_within_retries_counts_up_and_the_outage_starts_when_the_check_fails() {
    let mut b = core(2, None);
    let at = |m: i64| T0 + m * MINUTE_MS;
    b.check_outcome("api", outcome(at(0), true, ""), at(0));
    b.check_outcome("api", outcome(at(1), false, "refused"), at(1));
    b.check_outcome("api", outcome(at(2), false, "reset"), at(2));
    b.check_outcome("api", outcome(at(3), false, "reset"), at(3));
    b.check_outcome("api", outcome(at(4), true, ""), at(4));
    let u = b.uptime.status_at("api", at(4), 10);
    // Up: minutes 0, 1 (within retries), 4; down: 2, 3.
    assert_eq!(u.pct_24h, Some(60.0));
    assert_eq!(u.outages, vec![Outage { start: at(2), end: Some(at(4)), first_error: Some("reset".into()) }]);
}

#[test]
fn a_check_without_probes_shows_no_figures_and_a_rule_none() {
    let c = core(1, None);
    let st = c.rule_statuses();
    assert_eq!(st[0].uptime, Some(Uptime::default()));
    assert_eq!(st[0].uptime.as_ref().map(Uptime::pcts), Some([None, None, None]));
    // Probes older than a window leave it empty, not 100 %.
    let mut book = UptimeBook::default();
    book.record("api", T0, true, None);
    let u = book.status_at("api", T0 + 2 * DAY_MIN * MINUTE_MS, 10);
    assert_eq!(u.pcts(), [None, Some(100.0), Some(100.0)]);
}

#[test]
fn a_clock_stepped_back_counts_in_its_own_minute_and_never_panics() {
    let mut book = UptimeBook::default();
    book.record("api", T0 + 10 * MINUTE_MS, true, None);
    book.record("api", T0, false, Some("refused"));
    book.advance(T0);
    let w = book.take_writes();
    let minutes: Vec<(i64, Bucket)> = w.buckets.iter().map(|(_, m, b)| (*m, *b)).collect();
    let m0 = T0 / MINUTE_MS;
    assert_eq!(minutes, vec![(m0 + 10, Bucket { up: 1, down: 0 }), (m0, Bucket { up: 0, down: 1 })]);
    // The window ends at the stepped-back now: the later minute is not in it.
    assert_eq!(book.status("api").pct_24h, Some(0.0));
    // The outage it opened ends no earlier than it began.
    book.record("api", T0 - 5 * MINUTE_MS, true, None);
    let o = &book.status("api").outages[0];
    assert_eq!((o.start, o.end), (T0, Some(T0)));
    for t in [i64::MIN, i64::MAX, 0, -1] {
        book.record("edge", t, t % 2 == 0, Some("x"));
        book.advance(t);
        let u = book.status("edge");
        assert!(u.pcts().iter().flatten().all(|p| (0.0..=100.0).contains(p)));
    }
}

#[test]
fn pruning_keeps_ninety_days_and_a_removed_checks_history_until_then() {
    let store = Store::temporary().expect("store");
    let now = T0 + 200 * DAY_MIN * MINUTE_MS;
    let mut book = UptimeBook::default();
    for (name, days_ago) in [("old", 120), ("old", 100), ("api", 100), ("api", 89), ("api", 1)] {
        let at = now - days_ago * DAY_MIN * MINUTE_MS;
        book.record(name, at, false, Some("down"));
        book.record(name, at + MINUTE_MS, true, None);
    }
    store.write_uptime(&book.take_writes()).expect("write");
    assert_eq!(store.uptime_names().expect("names"), ["api", "old"]);
    let gone = store.prune_uptime(now).expect("prune");
    assert_eq!(gone, 3 * 2 + 3, "three probes' buckets and outages older than 90 days");
    assert_eq!(store.uptime_names().expect("names"), ["api"], "a name with nothing left leaves the index");
    let loaded = store.read_uptime(KEEP_MINUTES, 100).expect("read");
    let [(name, buckets, outages)] = &loaded[..] else { panic!("{loaded:?}") };
    assert_eq!((name.as_str(), buckets.len(), outages.len()), ("api", 4, 2));
    assert!(outages.iter().all(|o| o.start >= now - 90 * DAY_MIN * MINUTE_MS));
    assert_eq!(store.prune_uptime(now).expect("again"), 0);
}

const KEEP_MINUTES: i64 = 90 * DAY_MIN;

#[test]
fn memory_of_thirty_days() {
    let mut book = UptimeBook::default();
    for m in 0..30 * DAY_MIN {
        for c in 0..10 {
            book.record(&format!("check{c}"), T0 + m * MINUTE_MS, m % 97 != 0, Some("x"));
        }
        if m % 1_000 == 0 {
            book.take_writes();
        }
    }
    book.take_writes();
    let bytes = book.memory_bytes();
    // 10 checks × 721 hours × ~270 bytes.
    assert!((1_800_000..2_100_000).contains(&bytes), "{bytes}");
    // A further 60 days at the same pace keep it there: older hours go.
    for m in 30 * DAY_MIN..32 * DAY_MIN {
        book.record("check0", T0 + m * MINUTE_MS, true, None);
    }
    book.advance(T0 + 32 * DAY_MIN * MINUTE_MS);
    assert!(book.memory_bytes() <= bytes + 270, "{}", book.memory_bytes());
}

proptest! {
    #[test]
    fn percentages_are_always_within_0_and_100_and_finite(
        steps in proptest::collection::vec((-3_600_000i64..7_200_000, any::<bool>()), 1..300),
        start in any::<i64>(),
    ) {
        let mut book = UptimeBook::default();
        let mut t = start;
        for (dt, up) in steps {
            t = t.saturating_add(dt);
            book.record("c", t, up, (!up).then_some("e"));
            book.advance(t);
            let u = book.status("c");
            for p in u.pcts().into_iter().flatten() {
                prop_assert!(p.is_finite() && (0.0..=100.0).contains(&p), "{p}");
            }
            for o in &u.outages {
                prop_assert!(o.duration_ms(t) >= 0);
            }
        }
    }
}

/// Through the engine: a probe that fails is counted on the alert task,
/// written by the alert writer, and announced with the rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_counts_a_probe_writes_it_and_announces_it() {
    use std::sync::Arc;
    let engine = crate::engine::Engine::new(
        Store::temporary().expect("store"),
        crate::engine::EngineConfig::default(),
        Arc::new(crate::clock::FixedClock(T0)),
    )
    .expect("engine");
    let rules =
        parse("t.toml", "[[check]]\nname = \"api\"\ntcp = \"127.0.0.1:1\"\ninterval = \"1h\"\n").expect("rules");
    let registry = crate::engine::tools::Registry::with_builtins(crate::jq::JqRunner::in_process());
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(engine.start_alerts(rules, registry, &[], dir.path()).is_empty());
    // The first probe runs at once; poll (a failure bound, not a
    // synchronisation) until the writer has stored it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let loaded = loop {
        let e = engine.clone();
        let loaded = tokio::task::spawn_blocking(move || e.inner.store.read_uptime(MEMORY_MIN, 10))
            .await
            .expect("join")
            .expect("read");
        if !loaded.is_empty() {
            break loaded;
        }
        assert!(std::time::Instant::now() < deadline, "no probe was stored");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let [(name, buckets, outages)] = &loaded[..] else { panic!("{loaded:?}") };
    assert_eq!((name.as_str(), &buckets[..]), ("api", &[(T0 / MINUTE_MS, Bucket { up: 0, down: 1 })][..]));
    assert_eq!((outages.len(), outages[0].start, outages[0].end), (1, T0, None));
    let e = engine.clone();
    let snap = tokio::task::spawn_blocking(move || e.alerts_event()).await.expect("join").expect("a snapshot");
    let crate::protocol::Event::Alerts(u) = snap.event else { panic!("alerts") };
    let api = u.rules.iter().find(|r| r.name == "api").and_then(|r| r.uptime.clone()).expect("uptime");
    assert_eq!((api.pct_24h, api.outages.len()), (Some(0.0), 1));
    engine.shutdown();
}
