//! Tests of the store (kept beside it to keep store.rs short).

use super::*;
use crate::protocol::Command;
use crate::protocol::{AlertsCommand, MetricsCommand};

#[test]
fn rows_round_trip_in_time_order_and_prune() {
    let s = Store::temporary().unwrap();
    for slot in [-5i64, 3, 1, 2] {
        s.write_metrics_row(0, slot, &[("cpu".into(), slot as f32), ("mem".into(), 1.5)]).unwrap();
    }
    s.write_metrics_row(1, 2, &[("cpu".into(), 9.0)]).unwrap();
    let rows = s.read_metrics_rows(0, i64::MIN).unwrap();
    let slots: Vec<i64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(slots, vec![-5, 1, 2, 3]);
    assert_eq!(rows[1].1, vec![("cpu".to_string(), 1.0), ("mem".to_string(), 1.5)]);
    assert_eq!(s.prune_metrics(0, 2).unwrap(), 2);
    assert_eq!(s.read_metrics_rows(0, i64::MIN).unwrap().len(), 2);
    assert_eq!(s.read_metrics_rows(1, 0).unwrap().len(), 1, "other tier untouched");
}

#[test]
fn event_log_chunks_range_and_prune() {
    use crate::protocol::{Envelope, Event, Topic};
    use std::sync::Arc;
    let s = Store::temporary().unwrap();
    let env = |seq: u64| {
        Arc::new(Envelope {
            epoch: 1,
            seq,
            ts: seq as i64,
            source: "local".into(),
            topic: Topic::Metrics,
            event: Event::MetricsHistory(Box::default()),
        })
    };
    // chunks [1..=3], [4], [5..=10]
    s.append_events(&[env(1), env(2), env(3)]).unwrap();
    s.append_events(&[env(4)]).unwrap();
    s.append_events(&(5..=10).map(env).collect::<Vec<_>>()).unwrap();
    assert_eq!(s.event_bounds().unwrap(), Some((1, 10)));
    let seqs = |a, b| s.events_between(a, b).unwrap().iter().map(|e| e.seq).collect::<Vec<u64>>();
    assert_eq!(seqs(2, 6), vec![2, 3, 4, 5, 6], "across chunk borders");
    assert_eq!(seqs(7, 7), vec![7], "inside a chunk");
    assert_eq!(seqs(11, 20), Vec::<u64>::new());
    assert!(s.events_between(9, 2).unwrap().is_empty());
    assert_eq!(s.prune_events(6).unwrap(), 2, "whole chunks older than the newest 6");
    assert_eq!(s.event_bounds().unwrap(), Some((5, 10)));
}

#[test]
fn outbox_is_per_source_ordered_and_durable() {
    use crate::protocol::Command;
    let dir = tempfile::tempdir().unwrap();
    let note = |t: &str| Command::Metrics(MetricsCommand::Annotate { text: t.into(), author: String::new(), at: None });
    {
        let s = Store::open(dir.path(), DEFAULT_CACHE_BYTES).unwrap();
        s.outbox_push("prod", "a", &note("one")).unwrap();
        s.outbox_push("prod-2", "x", &note("other")).unwrap();
        s.outbox_push("prod", "b", &note("two")).unwrap();
    }
    let s = Store::reopen_dir(dir.path(), DEFAULT_CACHE_BYTES).unwrap();
    let ids: Vec<String> = s.outbox_list("prod").unwrap().into_iter().map(|x| x.0).collect();
    assert_eq!(ids, vec!["a", "b"], "in order, and not prod-2's");
    assert!(s.outbox_remove("prod", "a").unwrap());
    assert!(!s.outbox_remove("prod", "a").unwrap());
    assert_eq!(s.outbox_list("prod").unwrap().len(), 1);
}

#[test]
fn tool_history_newest_first_and_pruned() {
    use crate::engine::tools::ToolRun;
    let s = Store::temporary().unwrap();
    for i in 0..5i64 {
        let run = ToolRun {
            tool: format!("t{i}"),
            source: "builtin".into(),
            args: serde_json::json!({}),
            started: 1000 + i,
            duration_ms: 1,
            ok: true,
            outcome: serde_json::json!(i),
            output: vec![],
            truncated: false,
            origin: Default::default(),
        };
        s.record_tool_run(&run).unwrap();
    }
    let names: Vec<String> = s.tool_runs(2).unwrap().into_iter().map(|r| r.tool).collect();
    assert_eq!(names, vec!["t4", "t3"]);
    assert_eq!(s.prune_tool_runs(3).unwrap(), 2);
    assert_eq!(s.tool_runs(10).unwrap().last().map(|r| r.tool.clone()), Some("t2".to_string()));
}

#[test]
fn reopen_keeps_dictionary_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::open(dir.path(), DEFAULT_CACHE_BYTES).unwrap();
        s.write_metrics_row(0, 7, &[("net.rx_bps".into(), 42.0)]).unwrap();
        s.flush().unwrap();
    }
    let s = Store::reopen_dir(dir.path(), DEFAULT_CACHE_BYTES).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(s.read_metrics_rows(0, 0).unwrap(), vec![(7, vec![("net.rx_bps".to_string(), 42.0)])]);
}

#[test]
fn second_open_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let _a = Store::open(dir.path(), DEFAULT_CACHE_BYTES).unwrap();
    let err = Store::open(dir.path(), DEFAULT_CACHE_BYTES).err().expect("second open must fail");
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("another opsdeck is already using"));
}

/// The lock of a process that just died can outlive it by a moment (a
/// child it was starting holds the file until its exec): the crash test
/// restarted `serve` into that moment. Held here by a handle another thread
/// drops 150 ms later.
fn held_for_a_moment(dir: &std::path::Path) -> std::thread::JoinHandle<()> {
    let held = Store::open(dir, DEFAULT_CACHE_BYTES).unwrap();
    assert!(matches!(Store::open(dir, DEFAULT_CACHE_BYTES), Err(StoreError::Locked { .. })), "held");
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(150));
        drop(held);
    })
}

#[test]
fn a_lock_no_running_opsdeck_holds_is_waited_out() {
    let dir = tempfile::tempdir().unwrap();
    let release = held_for_a_moment(dir.path());
    let s = Store::open_unless_held(dir.path(), DEFAULT_CACHE_BYTES, || false, std::time::Duration::from_secs(30));
    assert!(s.is_ok(), "opened once the lock was let go: {:?}", s.err());
    release.join().unwrap();
}

#[test]
fn a_lock_whose_holder_answers_is_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let release = held_for_a_moment(dir.path());
    let s = Store::open_unless_held(dir.path(), DEFAULT_CACHE_BYTES, || true, std::time::Duration::from_secs(30));
    // Not waited for: the caller attaches to the holder instead.
    assert!(matches!(s, Err(StoreError::Locked { .. })), "{:?}", s.err());
    release.join().unwrap();
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::open(dir.path(), DEFAULT_CACHE_BYTES).unwrap();
        s.meta.insert(b"schema_version", &(SCHEMA_VERSION + 1).to_be_bytes()).unwrap();
        s.flush().unwrap();
    }
    let err = Store::reopen_dir(dir.path(), DEFAULT_CACHE_BYTES).err().expect("must refuse");
    assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
}

/// Rows stamped after a time (before the clock stepped back) are deleted; older ones stay.
#[test]
fn rows_after_a_time_are_deleted() {
    let s = Store::temporary().unwrap();
    for slot in [-5_000i64, 0, 1_000, 2_000, i64::MAX - 1] {
        s.write_metrics_row(0, slot, &[("cpu".into(), 1.0)]).unwrap();
    }
    s.write_metrics_row(1, 5_000, &[("cpu".into(), 1.0)]).unwrap();
    assert_eq!(s.delete_metrics_after(0, 1_000).unwrap(), 2);
    assert_eq!(
        s.read_metrics_rows(0, i64::MIN).unwrap().iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![-5_000, 0, 1_000]
    );
    assert_eq!(s.read_metrics_rows(1, i64::MIN).unwrap().len(), 1, "other tiers untouched");
    assert_eq!(s.delete_metrics_after(0, i64::MAX).unwrap(), 0);
}

#[test]
fn old_command_results_are_pruned_newest_kept() {
    let s = Store::temporary().unwrap();
    for i in 0..30 {
        s.put_command_result(&format!("c{i}"), &serde_json::json!({"n": i})).unwrap();
    }
    assert_eq!(s.prune_commands(50).unwrap(), 0, "under the bound: nothing");
    assert_eq!(s.prune_commands(10).unwrap(), 20);
    assert_eq!(s.command_result("c19").unwrap(), None, "an old id is forgotten");
    assert_eq!(s.command_result("c20").unwrap(), Some(serde_json::json!({"n": 20})));
    assert_eq!(s.command_result("c29").unwrap(), Some(serde_json::json!({"n": 29})));
}

#[test]
fn schema_1_moves_saved_chains_and_favorites_to_the_user_tree() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::open(dir.path(), 1 << 20).unwrap();
        // A store as schema 1 left it: user data among the preferences.
        s.meta.insert(b"schema_version", &1u32.to_be_bytes()).unwrap();
        s.ui.insert(b"tools.chains", &b"[]"[..]).unwrap();
        s.ui.insert(b"tools.chains.unreadable.7", &b"?"[..]).unwrap();
        s.ui.insert(b"tools.favorites", &b"[\"shell\"]"[..]).unwrap();
        s.ui.insert(b"metrics.window", &b"15m"[..]).unwrap();
        s.flush().unwrap();
    }
    let s = Store::reopen_dir(dir.path(), 1 << 20).unwrap();
    assert_eq!(s.schema_version().unwrap(), 2);
    let user: Vec<_> = s.user.iter().map(|kv| String::from_utf8(kv.unwrap().0).unwrap()).collect();
    assert_eq!(user, ["tools.chains", "tools.chains.unreadable.7", "tools.favorites"]);
    let ui: Vec<_> = s.ui.iter().map(|kv| String::from_utf8(kv.unwrap().0).unwrap()).collect();
    assert_eq!(ui, ["metrics.window"], "preferences stay");
    assert_eq!(s.ui_get("tools.favorites").unwrap().as_deref(), Some(&b"[\"shell\"]"[..]), "read where it went");
    s.ui_put("tools.chains", b"[1]").unwrap();
    assert_eq!(s.user.get(b"tools.chains").unwrap().as_deref(), Some(&b"[1]"[..]));
    assert!(s.ui.get(b"tools.chains").unwrap().is_none());
}

/// Outbox records: the bare `[id, command]` pair of earlier builds is read
/// and delivered; one written by a newer build, or not JSON, is set aside
/// (kept whole), reported once, and never blocks the others.
#[test]
fn outbox_records_of_an_earlier_shape_are_read_and_unreadable_ones_set_aside() {
    let s = Store::temporary().unwrap();
    let unack = |a: &str| Command::Alerts(AlertsCommand::Unack { alert: a.into() });
    let key = |n: u8| {
        let mut k = b"db\0".to_vec();
        k.extend([0, 0, 0, 0, 0, 0, 0, n]);
        k
    };
    s.outbox.insert(&key(1), &serde_json::to_vec(&("old-1", unack("a"))).unwrap()).unwrap();
    s.outbox.insert(&key(2), br#"{"version":7,"id":"new-1","command":{"type":"teleport"}}"#).unwrap();
    s.outbox.insert(&key(3), b"\x00garbage").unwrap();
    s.outbox_push("db", "cur-1", &unack("b")).unwrap();
    let values: Vec<String> = s.outbox.iter().map(|kv| String::from_utf8_lossy(&kv.unwrap().1).into_owned()).collect();
    assert!(values.iter().any(|v| v.starts_with(r#"{"version":1,"id":"cur-1""#)), "written versioned: {values:?}");

    let queued = s.outbox_list("db").unwrap();
    let mut ids: Vec<&str> = queued.iter().map(|q| q.0.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["cur-1", "old-1"]);
    assert!(queued.contains(&("old-1".into(), unack("a"))));
    let report = s.unreadable_report().unwrap();
    assert_eq!(report.len(), 2, "{report:?}");
    assert!(report[0].starts_with("a command queued for db: version 7, written by a newer opsdeck"), "{}", report[0]);
    assert!(report[1].starts_with("a command queued for db: not JSON"), "{}", report[1]);
    assert!(s.unreadable_report().unwrap().is_empty(), "said once");
    let kept: Vec<String> =
        s.unreadable.iter().map(|kv| String::from_utf8_lossy(&kv.unwrap().1).into_owned()).collect();
    assert!(kept[0].contains(r#"teleport"#), "kept whole: {}", kept[0]);

    assert!(s.outbox_remove("db", "old-1").unwrap(), "an earlier shape is removed on its ack");
    assert_eq!(s.outbox_list("db").unwrap().len(), 1);
}

/// Tool history: records without a version (earlier builds) are read; one
/// that cannot be read is set aside and the rest still shown.
#[test]
fn tool_history_of_an_earlier_shape_is_read_and_an_unreadable_run_is_set_aside() {
    let s = Store::temporary().unwrap();
    let run = |t: i64| crate::protocol::tools::ToolRun {
        tool: "text_stats".into(),
        source: "builtin".into(),
        args: serde_json::json!({}),
        started: t,
        duration_ms: 1,
        ok: true,
        outcome: serde_json::json!({"words": t}),
        output: vec![],
        truncated: false,
        origin: Default::default(),
    };
    let mut old = serde_json::to_value(run(1)).unwrap();
    old.as_object_mut().unwrap().remove("origin");
    s.tool_runs.insert(&[0, 0, 0, 0, 0, 0, 0, 1, 0], &serde_json::to_vec(&old).unwrap()).unwrap();
    s.tool_runs.insert(&[0, 0, 0, 0, 0, 0, 0, 2, 0], br#"{"version":1,"tool":42}"#).unwrap();
    s.record_tool_run(&run(3)).unwrap();
    let runs = s.tool_runs(10).unwrap();
    assert_eq!(runs.iter().map(|r| r.started).collect::<Vec<_>>(), [3, 1], "newest first, both shapes");
    let report = s.unreadable_report().unwrap();
    assert_eq!(report.len(), 1);
    assert!(report[0].starts_with("a tool run in the history: version 1: invalid type"), "{}", report[0]);
    assert_eq!(s.tool_runs.len(), 2, "moved out of the history");
    assert_eq!(s.unreadable.len(), 1, "and kept");
}
