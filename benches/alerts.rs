//! `cargo bench --bench alerts`: what the alert core costs per evaluation
//! (every host sample and every 5 s) and per update (every change) with ten
//! health checks holding 30 days of one probe a minute (uptime) and five
//! SLOs over them with full 30-day windows (burn rates, budget, burndown).

use divan::{Bencher, black_box};
use opsdeck::engine::alerts::checks::Outcome;
use opsdeck::engine::alerts::core::AlertCore;
use opsdeck::engine::alerts::rules;

fn main() {
    divan::main();
}

const MIN: i64 = 60_000;
const START: i64 = 1_780_000_000_000;
const DAYS: i64 = 30;

/// Ten checks and five SLOs, fed 30 days of probes (one in 500 failing).
fn core() -> (AlertCore, i64) {
    let mut src = String::new();
    for i in 0..10 {
        src.push_str(&format!("[[check]]\nname = \"c{i}\"\ntcp = \"127.0.0.1:1\"\ninterval = \"60s\"\n\n"));
    }
    for i in 0..5 {
        src.push_str(&format!("[[slo]]\nname = \"s{i}\"\nobjective = 99.9\nwindow = \"30d\"\ncheck = \"c{i}\"\n\n"));
    }
    let set = rules::parse("bench.toml", &src).expect("rules");
    let mut core = AlertCore::new(set, None);
    let minutes = DAYS * 24 * 60;
    for m in 0..minutes {
        let at = START + m * MIN;
        for i in 0..10 {
            let ok = (m + i) % 500 != 0;
            let error = (!ok).then(|| "connection refused".to_string());
            core.check_outcome(&format!("c{i}"), Outcome { at, ok, latency_ms: Some(1.0), error }, at);
        }
        if m % 60 == 0 {
            core.evaluate(at);
            let _ = core.update(at);
        }
    }
    (core, START + minutes * MIN)
}

/// One evaluation a second apart (rules, checks' alerts, SLO burn rates).
#[divan::bench(sample_count = 50)]
fn evaluate_10_checks_5_slos_30_days(b: Bencher) {
    let (mut core, mut now) = core();
    b.bench_local(|| {
        now += 1000;
        core.evaluate(black_box(now));
    });
}

/// One update (what is announced and what is written) a second apart.
#[divan::bench(sample_count = 50)]
fn update_10_checks_5_slos_30_days(b: Bencher) {
    let (mut core, mut now) = core();
    b.bench_local(|| {
        now += 1000;
        black_box(core.update(black_box(now)));
    });
}

/// One probe outcome recorded (uptime minute bucket, SLO events).
#[divan::bench(sample_count = 50)]
fn probe_outcome_10_checks_5_slos(b: Bencher) {
    let (mut core, mut now) = core();
    b.bench_local(|| {
        now += 1000;
        core.check_outcome("c0", Outcome { at: now, ok: true, latency_ms: Some(1.0), error: None }, black_box(now));
    });
}
