//! Schedules (overlap, catch-up), alert triggers and retention, on tokio's
//! paused clock with the scripted executor of service_tests.rs.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::engine::store::Store;
use crate::engine::workflows::service::tests::{World, store_share, world, world_at};
use crate::protocol::workflow::{RunState, Trigger};

/// 2026-01-01T00:00:00Z.
const NEW_YEAR: i64 = 1_767_225_600_000;

fn every_minute(overlap: &str, catch_up: &str) -> String {
    format!(
        r#"
name = "tick"
[schedule]
cron = "* * * * *"
overlap = "{overlap}"
catch_up = "{catch_up}"
[[step]]
id = "work"
uses = "sleep"
with = {{ ms = 90000 }}
"#
    )
}

fn runs(w: &World) -> Vec<(u64, RunState, Trigger, i64)> {
    let mut r: Vec<_> = w
        .engine
        .store()
        .list_runs(None, 100, |_| true)
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.state, r.trigger, r.created - NEW_YEAR))
        .collect();
    r.reverse();
    r
}

#[tokio::test(start_paused = true)]
async fn a_schedule_fires_at_its_times_and_skips_while_a_run_is_in_flight() {
    let w = world_at(Store::temporary().unwrap(), &[&every_minute("skip", "none")], NEW_YEAR);
    let info = w.svc.snapshot().workflows;
    assert_eq!(info[0].next_fire, Some(NEW_YEAR + 60_000), "the next fire is shown");
    tokio::time::sleep(Duration::from_secs(185)).await;
    let got = runs(&w);
    // 00:01 starts a 90 s run; 00:02 finds it running (skipped); 00:03 starts the next.
    let starts: Vec<i64> = got.iter().map(|r| r.3).collect();
    assert_eq!(starts, [60_000, 180_000], "{got:?}");
    assert_eq!(got[0].2, Trigger::Schedule { fire_at: NEW_YEAR + 60_000 });
}

#[tokio::test(start_paused = true)]
async fn a_queued_fire_starts_when_the_running_one_ends() {
    let w = world_at(Store::temporary().unwrap(), &[&every_minute("queue", "none")], NEW_YEAR);
    tokio::time::sleep(Duration::from_secs(155)).await;
    let starts: Vec<i64> = runs(&w).iter().map(|r| r.3).collect();
    // 00:02's fire waits for the run of 00:01 to end at 00:02:30.
    assert_eq!(starts, [60_000, 150_000]);
}

#[tokio::test(start_paused = true)]
async fn cancel_previous_stops_the_running_run_and_starts_anew() {
    let w = world_at(Store::temporary().unwrap(), &[&every_minute("cancel_previous", "none")], NEW_YEAR);
    tokio::time::sleep(Duration::from_secs(125)).await;
    let got = runs(&w);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].1, RunState::Cancelled);
    assert_eq!(got[1].3, 120_000);
}

#[tokio::test(start_paused = true)]
async fn a_fire_missed_while_down_is_caught_up_once_or_not_at_all() {
    for (catch_up, want) in [("once", 1), ("none", 0)] {
        let store = Arc::new(Store::temporary().unwrap());
        let def = every_minute("skip", catch_up).replace("* * * * *", "0 3 * * *");
        {
            // Seen at 00:00 (first sight: nothing missed), then opsdeck stops.
            let w = world_at(store_share(&store), &[&def], NEW_YEAR);
            tokio::task::yield_now().await;
            assert!(runs(&w).is_empty());
            w.engine.shutdown();
        }
        // Back at 10:00: the fire of 03:00 was missed.
        let w = world_at(store_share(&store), &[&def], NEW_YEAR + 10 * 3_600_000);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let got = runs(&w);
        assert_eq!(got.len(), want, "catch_up = {catch_up}: {got:?}");
        if want == 1 {
            assert_eq!(got[0].2, Trigger::Schedule { fire_at: NEW_YEAR + 3 * 3_600_000 });
        }
    }
}

#[tokio::test(start_paused = true)]
async fn an_alert_that_starts_firing_starts_its_workflow_with_its_labels() {
    let w = world(&[
        r#"
name = "broken"
[[step]]
id = "x"
uses = "fail"
"#,
        r#"
name = "triage"
[trigger]
alert = "workflow_failed"
[inputs.workflow]
type = "string"
required = true
[[step]]
id = "look"
uses = "ok"
with = { what = "{{ inputs.workflow }}" }
"#,
    ]);
    w.engine.start_alerts(
        Default::default(),
        crate::engine::tools::Registry::default(),
        &[],
        std::path::Path::new("/nonexistent"),
    );
    let run = w.start("broken", json!({}));
    assert_eq!(w.ended(run).await.state, RunState::Failed);
    let mut triage = None;
    for _ in 0..1000 {
        triage = w.engine.store().list_runs(None, 10, |r| r.workflow == "triage").unwrap().pop();
        if triage.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let t = triage.expect("the alert started triage");
    assert_eq!(t.trigger, Trigger::Alert { rule: "workflow_failed".into() });
    assert_eq!(t.inputs.get("workflow"), Some(&json!("broken")), "the alert's label is the input");
    assert_eq!(w.ended(t.id).await.state, RunState::Succeeded, "a read-only step needs no approval");
}

#[tokio::test(start_paused = true)]
async fn old_runs_beyond_the_newest_of_each_workflow_are_pruned() {
    let w = world(&[
        "name = \"a\"\n[[step]]\nid = \"s\"\nuses = \"ok\"\n",
        "name = \"b\"\n[[step]]\nid = \"s\"\nuses = \"ok\"\n",
    ]);
    for _ in 0..5 {
        let r = w.start("a", json!({}));
        w.ended(r).await;
    }
    let b = w.start("b", json!({}));
    w.ended(b).await;
    // 31 days later, keeping 2 per workflow.
    tokio::time::sleep(Duration::from_secs(31 * 86_400)).await;
    let mut retention = crate::config::settings::WorkflowsConfig { keep_runs: 2, keep_days: 30 };
    let young = w.start("a", json!({}));
    w.ended(young).await;
    let gone = super::prune_with(&w.svc, retention).unwrap();
    assert_eq!(gone, 4, "a keeps its 2 newest (one of them young), b keeps its only run");
    let left: Vec<(String, u64)> =
        w.engine.store().list_runs(None, 100, |_| true).unwrap().into_iter().map(|r| (r.workflow, r.id)).collect();
    assert_eq!(left, [("a".to_string(), young), ("b".to_string(), b), ("a".to_string(), 5)]);
    assert!(w.svc.detail(1, None).is_err(), "run 1 is gone with its steps");
    retention.keep_days = 365;
    assert_eq!(super::prune_with(&w.svc, retention).unwrap(), 0);
}
