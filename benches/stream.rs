//! `cargo bench --bench stream`: events per second from `opsdeck serve`'s
//! session to a WebSocket client on loopback, and the UI's work per frame when
//! ingesting at that rate.

#[path = "../tests/support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::sync::Arc;

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use futures_util::{SinkExt, StreamExt};
use opsdeck::app::{Action, update};
use opsdeck::clock::SystemClock;
use opsdeck::config::theme::Theme;
use opsdeck::engine::store::Store;
use opsdeck::engine::{Engine, EngineConfig};
use opsdeck::protocol::wire::{ClientFrame, ServerFrame, decode_server, encode};
use opsdeck::protocol::{Envelope, Event, LOCAL_SOURCE, SeriesSnapshot, TierSnapshot, Topic};
use opsdeck::remote::server::{ServeOptions, serve};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio_tungstenite::tungstenite::Message;

fn main() {
    divan::main();
}

/// Events per iteration.
const N: usize = 20_000;

/// A small event: one point of one series (~150 bytes of JSON).
fn small(i: usize) -> Event {
    Event::SeriesSamples(Box::new(SeriesSnapshot {
        tiers: vec![TierSnapshot {
            step_ms: 1000,
            start_slot: i as i64,
            columns: vec![("cpu.total".into(), vec![(i % 100) as f32])],
        }],
    }))
}

/// Publish N small events in the engine (persisted, group-committed) and wait
/// until a WebSocket client on loopback has received all of them.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn server_to_client_small_events(b: Bencher) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let engine =
        Engine::new(Store::open(dir.path(), 64 << 20).expect("store"), EngineConfig::default(), Arc::new(SystemClock))
            .expect("engine");
    let (addr, mut ws) = rt.block_on(async {
        engine.start();
        let (tx, rx) = tokio::sync::oneshot::channel::<SocketAddr>();
        let opts = ServeOptions { listen: "127.0.0.1:0".parse().expect("addr"), token: None, tls: None };
        tokio::spawn(serve(engine.clone(), opts, Some(tx), std::future::pending()));
        let addr = rx.await.expect("bound");
        let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/v1/stream")).await.expect("connect");
        let sub = ClientFrame::Subscribe { topics: vec![Topic::Metrics], since: None };
        ws.send(Message::Text(encode(&sub).into())).await.expect("subscribe");
        (addr, ws)
    });
    let _ = addr;
    b.counter(ItemsCount::new(N)).bench_local(|| {
        rt.block_on(async {
            let target = engine.head_seq() + N as u64;
            let e = engine.clone();
            // A high-rate producer publishes in batches (one log write each).
            let producer = tokio::task::spawn_blocking(move || {
                for chunk in (0..N).collect::<Vec<_>>().chunks(512) {
                    e.publish_batch(Topic::Metrics, chunk.iter().map(|i| (0, small(*i))).collect());
                }
            });
            let mut last = 0;
            while last < target {
                match ws.next().await {
                    Some(Ok(Message::Text(t))) => {
                        if let Ok(ServerFrame::Events { events }) = decode_server(&t) {
                            last = events.last().map_or(last, |e| e.seq);
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => panic!("stream ended"),
                }
            }
            producer.await.expect("producer");
        })
    });
    engine.shutdown();
}

/// The UI's work for one frame's worth of that rate: 3,200 small events
/// (16 ms at 200,000/s) through `update`, then a full 200x50 render.
#[divan::bench(sample_count = 20)]
fn ui_ingest_16ms_of_200k_per_s_and_render(b: Bencher) {
    let seed = support::Seed::new();
    let mut state = seed.state();
    let theme = Theme::fallback(false);
    let mut term = Terminal::new(TestBackend::new(200, 50)).expect("backend");
    let batch: Vec<Arc<Envelope>> = (0..3200)
        .map(|i| {
            Arc::new(Envelope {
                epoch: 1,
                seq: i as u64,
                ts: support::NOW,
                source: LOCAL_SOURCE.into(),
                topic: Topic::Metrics,
                event: small(i),
            })
        })
        .collect();
    b.bench_local(|| {
        update(&mut state, Action::Events(batch.clone()), &seed.ctx());
        term.draw(|f| opsdeck::ui::render(f, black_box(&state), &theme)).expect("draw");
    });
}

/// Publishing one event at a time, then writing the log (one chunk, fsync).
#[divan::bench(sample_count = 10, sample_size = 1)]
fn publish_one_by_one(b: Bencher) {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine =
        Engine::new(Store::open(dir.path(), 64 << 20).expect("store"), EngineConfig::default(), Arc::new(SystemClock))
            .expect("engine");
    b.counter(ItemsCount::new(N)).bench_local(|| {
        for i in 0..N {
            engine.publish(Topic::Metrics, 0, small(i));
        }
        engine.write_pending().expect("write");
    });
}

/// Publishing in batches of 512, then writing the log.
#[divan::bench(sample_count = 10, sample_size = 1)]
fn publish_in_batches_of_512(b: Bencher) {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine =
        Engine::new(Store::open(dir.path(), 64 << 20).expect("store"), EngineConfig::default(), Arc::new(SystemClock))
            .expect("engine");
    let idx: Vec<usize> = (0..N).collect();
    b.counter(ItemsCount::new(N)).bench_local(|| {
        for chunk in idx.chunks(512) {
            engine.publish_batch(Topic::Metrics, chunk.iter().map(|i| (0, small(*i))).collect());
        }
        engine.write_pending().expect("write");
    });
}

/// Encoding and decoding one full `events` frame of 512 small events (each side's share).
#[divan::bench(sample_count = 20)]
fn frame_encode_decode_512(b: Bencher) {
    let events: Vec<Envelope> = (0..512)
        .map(|i| Envelope {
            epoch: 1,
            seq: i as u64,
            ts: 0,
            source: LOCAL_SOURCE.into(),
            topic: Topic::Metrics,
            event: small(i),
        })
        .collect();
    let frame = ServerFrame::Events { events };
    b.counter(ItemsCount::new(512usize)).bench_local(|| black_box(decode_server(&encode(black_box(&frame)))));
}
