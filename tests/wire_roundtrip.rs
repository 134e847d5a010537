//! B7: every value the engine can produce survives the server's encoder and
//! the client's decoder — NaN and infinities (sent as `null`), missing
//! measurements, empty lists, extreme numbers, any Unicode. The property:
//! decoding never fails, and decoding then encoding again gives the same text.

use std::collections::BTreeMap;
use std::sync::Arc;

use opsdeck::protocol::alerts::{Alert, AlertState, AlertsUpdate, RuleStatus, Severity, Transition};
use opsdeck::protocol::tools::{RunOrigin, ToolRun};
use opsdeck::protocol::wire::{ServerFrame, decode_server, encode, encode_events};
use opsdeck::protocol::{
    DiskInfo, Envelope, Event, HostSnapshot, NetInfo, ProcInfo, SeriesSnapshot, TierSnapshot, Topic,
};
use proptest::prelude::*;

fn f32s() -> impl Strategy<Value = f32> {
    prop_oneof![any::<f32>(), Just(f32::NAN), Just(f32::INFINITY), Just(f32::NEG_INFINITY), Just(f32::MAX)]
}

fn f64s() -> impl Strategy<Value = f64> {
    prop_oneof![any::<f64>(), Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), Just(f64::MIN)]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![".{0,12}", Just(String::new()), Just("\u{0}\u{202e}İK\u{1F600}".to_string())]
}

fn host() -> impl Strategy<Value = HostSnapshot> {
    (
        (any::<i64>(), text(), any::<u64>(), f32s(), prop::collection::vec(f32s(), 0..4)),
        (prop::array::uniform3(f64s()), any::<u64>(), any::<u64>(), f64s(), f64s()),
        (text(), f64s(), f64s(), f32s(), any::<u32>()),
    )
        .prop_map(
            |(
                (ts, hostname, uptime_s, cpu_total, cpu_cores),
                (load, mem_total, mem_used, r, w),
                (name, a, b, c, pid),
            )| {
                HostSnapshot {
                    ts,
                    hostname,
                    uptime_s,
                    cpu_total,
                    cpu_cores,
                    load,
                    mem_total,
                    mem_used,
                    disk_read_bps: r,
                    disk_write_bps: w,
                    disks: vec![DiskInfo { mount: name.clone(), read_bps: a, write_bps: b, ..Default::default() }],
                    nets: vec![NetInfo { name: name.clone(), rx_bps: b, tx_bps: a, ..Default::default() }],
                    procs: vec![ProcInfo { pid, name, cpu: c, ..Default::default() }],
                    ..Default::default()
                }
            },
        )
}

fn alerts() -> impl Strategy<Value = AlertsUpdate> {
    (text(), prop::option::of(f64s()), prop::collection::vec(f32s(), 0..5), any::<i64>(), text()).prop_map(
        |(name, value, latency_ms, at, summary)| AlertsUpdate {
            alerts: vec![Alert {
                id: name.clone(),
                rule: name.clone(),
                origin: "local".into(),
                labels: BTreeMap::from([(name.clone(), summary.clone())]),
                severity: Severity::Critical,
                state: AlertState::Firing,
                summary: summary.clone(),
                value,
                value_text: None,
                active_since: at,
                firing_since: Some(at),
                resolved_at: None,
                ack: None,
                silenced_by: Vec::new(),
                series: None,
            }],
            transitions: vec![Transition {
                alert: name.clone(),
                from: None,
                to: AlertState::Pending,
                at,
                value,
                value_text: Some(summary),
            }],
            slos: vec![opsdeck::protocol::slo::SloStatus {
                name: name.clone(),
                objective: 99.9,
                window_min: 43_200,
                sli: "check api".into(),
                budget_left: value,
                burn_5m: value,
                burn_30m: None,
                burn_1h: value,
                burn_6h: None,
                burndown: latency_ms.clone(),
                burndown_step_min: 60,
                at,
            }],
            rules: vec![RuleStatus {
                name,
                kind: "check".into(),
                detail: "tcp 127.0.0.1:59999".into(),
                severity: Severity::Critical,
                enabled: true,
                latency_ms,
                last_error: Some("connection refused".into()),
                uptime: None,
            }],
            ..Default::default()
        },
    )
}

fn series() -> impl Strategy<Value = SeriesSnapshot> {
    prop::collection::vec(f32s(), 0..6).prop_map(|col| SeriesSnapshot {
        tiers: vec![TierSnapshot { step_ms: 1000, start_slot: -3, columns: vec![("cpu".into(), col)] }],
    })
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        host().prop_map(|h| Event::HostSample(Box::new(h))),
        alerts().prop_map(|a| Event::Alerts(Box::new(a))),
        series().prop_map(|s| Event::SeriesSamples(Box::new(s))),
        series().prop_map(|s| Event::MetricsHistory(Box::new(s))),
        (text(), text()).prop_map(|(text, author)| Event::Annotation { text, author }),
        (text(), prop::collection::vec(text(), 0..4)).prop_map(|(run, lines)| Event::ToolOutput { run, lines }),
        tool_run().prop_map(|(run, record)| Event::ToolFinished { run, record: Box::new(record) }),
    ]
}

/// A finished run as `tool_finished` carries it: any text, numbers, a result
/// with a float that may not be a number.
fn tool_run() -> impl Strategy<Value = (String, ToolRun)> {
    (text(), text(), any::<i64>(), any::<u64>(), any::<bool>(), f64s(), prop::collection::vec(text(), 0..3)).prop_map(
        |(run, line, started, duration_ms, ok, x, output)| {
            let record = ToolRun {
                tool: "shell".into(),
                source: "builtin".into(),
                args: serde_json::json!({ "command": line }),
                started,
                duration_ms,
                ok,
                outcome: if ok { serde_json::json!({ "value": x, "line": line }) } else { serde_json::json!(line) },
                output,
                truncated: !ok,
                origin: RunOrigin::Pane,
            };
            (run, record)
        },
    )
}

proptest! {
    #[test]
    fn every_engine_value_survives_the_wire(events in prop::collection::vec(event(), 1..4), seq in any::<u64>()) {
        let envs: Vec<Arc<Envelope>> = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| Arc::new(Envelope {
                epoch: 1,
                seq: seq.wrapping_add(i as u64),
                ts: 0,
                source: "local".into(),
                topic: Topic::Metrics,
                event,
            }))
            .collect();
        let sent = encode_events(&envs);
        let decoded = decode_server(&sent);
        prop_assert!(decoded.is_ok(), "{:?}\n{sent}", decoded.err());
        let Ok(ServerFrame::Events { events }) = decoded else { panic!("an events frame") };
        prop_assert_eq!(events.len(), envs.len(), "no event dropped");
        prop_assert_eq!(encode(&ServerFrame::Events { events }), sent);
    }
}

proptest! {
    /// Command results (`ack` frames) carry what `Engine::handle` returns —
    /// ids, counts and texts from the user — and survive the wire unchanged.
    #[test]
    fn every_command_result_survives_the_wire(id in text(), note in text(), n in any::<i64>(), x in f64s(), ok in any::<bool>()) {
        let result = serde_json::json!({ "id": note, "count": n, "value": x, "ok": ok, "items": [note, null] });
        let frame = ServerFrame::Ack { id: id.clone(), result: result.clone() };
        let sent = encode(&frame);
        let back = decode_server(&sent);
        prop_assert!(back.is_ok(), "{:?}\n{sent}", back.err());
        let Ok(ServerFrame::Ack { id: got_id, result: got }) = back else { panic!("an ack frame") };
        prop_assert_eq!(got_id, id);
        prop_assert_eq!(got, result);
    }
}

/// The resumable log keeps a host sample's busiest processes and counts the
/// rest; live subscribers get them all.
#[test]
fn the_event_log_keeps_the_busiest_processes_of_a_sample() {
    use opsdeck::clock::SystemClock;
    use opsdeck::engine::store::Store;
    use opsdeck::engine::{Engine, EngineConfig, LOGGED_PROCS};
    use opsdeck::protocol::{Event, Topic};
    let engine =
        Engine::new(Store::temporary().expect("store"), EngineConfig::default(), std::sync::Arc::new(SystemClock))
            .expect("engine");
    let procs: Vec<ProcInfo> =
        (0..200).map(|i| ProcInfo { pid: i, name: format!("p{i}"), cpu: i as f32, ..Default::default() }).collect();
    let live =
        engine.publish(Topic::Metrics, 0, Event::HostSample(Box::new(HostSnapshot { procs, ..Default::default() })));
    let Event::HostSample(sent) = &live.event else { panic!() };
    assert_eq!(sent.procs.len(), 200, "live: every process");
    engine.write_pending().expect("write the log");
    let logged = engine.store().events_between(live.seq, live.seq).expect("read the log");
    let Event::HostSample(kept) = &logged[0].event else { panic!() };
    assert_eq!((kept.procs.len(), kept.procs_total()), (LOGGED_PROCS, 200));
    assert_eq!(kept.procs[0].pid, 199, "the busiest first");
}
