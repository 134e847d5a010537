//! `cargo bench`: full-screen render, metrics ingest, store write/read of an hour.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;

use divan::{Bencher, black_box};
use opsdeck::app::{Action, update};
use opsdeck::config::theme::Theme;
use opsdeck::engine::metrics::{Recorder, load_history};
use opsdeck::engine::store::Store;
use opsdeck::protocol::{Envelope, Event, LOCAL_SOURCE, ProcInfo, Topic};
use opsdeck::series::default_tiers;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn main() {
    divan::main();
}

/// One full frame of the seeded screen at 200x50 into a TestBackend.
#[divan::bench]
fn render_full_screen_200x50(b: Bencher) {
    let seed = support::Seed::new();
    let state = seed.state();
    let theme = Theme::fallback(false);
    let mut term = Terminal::new(TestBackend::new(200, 50)).expect("backend");
    b.bench_local(|| {
        term.draw(|f| opsdeck::ui::render(f, black_box(&state), &theme)).expect("draw");
    });
}

/// One host sample with 400 processes through the reducer (series push, sort, filter).
#[divan::bench]
fn ingest_one_sample_400_procs(b: Bencher) {
    let seed = support::Seed::new();
    let mut state = seed.state();
    let mut snap = support::snapshot(support::NOW, 0);
    snap.procs = (0..400)
        .map(|i| ProcInfo {
            pid: i,
            name: format!("proc-{i}"),
            cmd: format!("/usr/bin/proc-{i} --serve"),
            cpu: (i % 17) as f32,
            mem: u64::from(i) << 20,
            status: "Sleeping".into(),
            ppid: Some(i / 8),
            user: "svc".into(),
        })
        .collect();
    let mut ts = support::NOW;
    b.bench_local(|| {
        ts += 1000;
        let mut s = snap.clone();
        s.ts = ts;
        let env = Arc::new(Envelope {
            epoch: 1,
            seq: 1,
            ts,
            source: LOCAL_SOURCE.into(),
            topic: Topic::Metrics,
            event: Event::HostSample(Box::new(s)),
        });
        update(&mut state, Action::Events(vec![env]), &seed.ctx());
    });
}

fn hour_of_values() -> Vec<(i64, Vec<(String, f32)>)> {
    (0..3600i64)
        .map(|i| {
            let ts = support::NOW - (3600 - i) * 1000;
            (ts, support::snapshot(ts, i).series_values())
        })
        .collect()
}

/// Persist one hour of 1 s samples (all tiers) into a fresh store.
#[divan::bench(sample_count = 10)]
fn store_write_one_hour(b: Bencher) {
    let rows = hour_of_values();
    let tiers = default_tiers(1000);
    b.with_inputs(|| Store::temporary().expect("store")).bench_local_values(|store| {
        let mut rec = Recorder::new(&tiers);
        for (ts, values) in &rows {
            rec.record(&store, *ts, values).expect("write");
        }
        store
    });
}

/// Load all tiers' history back (what start-up does).
#[divan::bench(sample_count = 10)]
fn store_read_one_hour(b: Bencher) {
    let rows = hour_of_values();
    let tiers = default_tiers(1000);
    let store = Store::temporary().expect("store");
    let mut rec = Recorder::new(&tiers);
    for (ts, values) in &rows {
        rec.record(&store, *ts, values).expect("write");
    }
    b.bench_local(|| black_box(load_history(&store, &tiers, support::NOW).expect("read")));
}

/// One real host collection (sysinfo: CPU, memory, every process, disks, networks).
#[divan::bench(sample_count = 50)]
fn collect_host_once(b: Bencher) {
    let mut c = opsdeck::engine::metrics::collector::HostCollector::new().expect("sysinfo");
    c.collect(0);
    let mut ts = 0;
    b.bench_local(|| {
        ts += 1000;
        black_box(c.collect(ts))
    });
}

/// One alert evaluation as the engine runs it on every host sample: the
/// bundled rules (with their windows, wildcard disks and the 4 h prediction)
/// over two hours of samples of 16 cores and 20 disks.
#[divan::bench(sample_count = 20)]
fn alerts_evaluate_bundled_rules(b: Bencher) {
    use opsdeck::engine::alerts::core::AlertCore;
    use opsdeck::engine::alerts::rules::{BUNDLED, BUNDLED_PATH, parse};
    let rules = parse(BUNDLED_PATH, BUNDLED).expect("bundled rules");
    let mut core = AlertCore::new(rules, None);
    let t0 = 1_700_000_000_000i64;
    for s in 0..7200 {
        let mut v: Vec<(String, f32)> =
            vec![("cpu.total".into(), (s % 100) as f32), ("mem.used_pct".into(), 50.0), ("load.5".into(), 1.0)];
        v.extend((0..16).map(|c| (format!("cpu.core.{c}"), 10.0)));
        v.extend((0..20).map(|d| (format!("disk.used_pct:/mnt/d{d}"), 60.0 + s as f32 / 7200.0)));
        core.ingest(t0 + s * 1000, &v);
    }
    let now = t0 + 7200 * 1000;
    b.bench_local(|| {
        core.evaluate(black_box(now));
        black_box(core.has_fresh())
    });
}

/// The key the tuimeasure figure presses on the metrics pane: Down/Up (the
/// process selection) in turn, each through `update` and a whole 200x50
/// frame written by the real backend (into a sink).
#[divan::bench(sample_count = 100, sample_size = 10)]
fn key_down_up_and_draw_200x50(b: Bencher) {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let seed = support::Seed::new();
    let mut state = seed.state();
    state.size = (200, 50);
    let theme = Theme::fallback(false);
    let backend =
        opsdeck::runtime::backend::LeanBackend::with_size(std::io::sink(), ratatui::layout::Size::new(200, 50));
    let mut term = Terminal::new(backend).expect("backend");
    term.draw(|f| opsdeck::ui::render(f, &state, &theme)).expect("draw");
    let mut i = 0;
    b.bench_local(|| {
        let code = if i % 2 == 0 { KeyCode::Down } else { KeyCode::Up };
        i += 1;
        update(&mut state, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)), &seed.ctx());
        term.draw(|f| opsdeck::ui::render(f, black_box(&state), &theme)).expect("draw");
    });
}
