//! Notifications over loopback: receivers that check the generic JSON and the
//! Slack bodies, a receiver that fails and then recovers, and the whole path
//! from a failing health check in the engine to a webhook and back.

mod deliveries;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use deliveries::{FailingCheck, announced, failing_check};
use opsdeck::clock::SystemClock;
use opsdeck::config::alerting::{NotifierConfig, NotifierKind, Target};
use opsdeck::engine::alerts::deliver::{self, Retry};
use opsdeck::engine::alerts::notify::{Notification, Reason, Status};
use opsdeck::engine::alerts::rules;
use opsdeck::engine::store::Store;
use opsdeck::engine::tools::Registry;
use opsdeck::engine::{Engine, EngineConfig};
use opsdeck::protocol::Event;
use opsdeck::protocol::alerts::{Alert, AlertState, Delivery, Severity};
use serde_json::Value;
use tokio::sync::mpsc;

/// A failure bound, not a synchronisation.
const LIMIT: Duration = Duration::from_secs(60);

struct Hook {
    /// Requests answered with `fail_status` before the receiver answers 200.
    fail_first: u32,
    fail_status: u16,
    hits: AtomicU32,
    tx: mpsc::UnboundedSender<(String, u16, Value)>,
}

/// A webhook receiver on loopback: every request is reported as (path, answered status, JSON body).
async fn receiver(fail_first: u32, fail_status: u16) -> (String, mpsc::UnboundedReceiver<(String, u16, Value)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let hook = Arc::new(Hook { fail_first, fail_status, hits: AtomicU32::new(0), tx });
    let app = axum::Router::new()
        .fallback(|State(h): State<Arc<Hook>>, uri: Uri, body: Bytes| async move {
            let n = h.hits.fetch_add(1, Ordering::SeqCst);
            let status = if n < h.fail_first { h.fail_status } else { 200 };
            let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let _ = h.tx.send((uri.path().to_string(), status, json));
            (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), "receiver says no")
        })
        .with_state(hook);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, rx)
}

async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>, what: &str) -> T {
    tokio::time::timeout(LIMIT, rx.recv()).await.unwrap_or_else(|_| panic!("{what} within the limit")).expect(what)
}

fn alert(id: &str, state: AlertState) -> Alert {
    Alert {
        id: id.into(),
        rule: "api".into(),
        origin: "check".into(),
        labels: BTreeMap::new(),
        severity: Severity::Critical,
        state,
        summary: "api: connection refused".into(),
        value: None,
        value_text: None,
        active_since: 1_700_000_000_000,
        firing_since: Some(1_700_000_000_000),
        resolved_at: (state == AlertState::Resolved).then_some(1_700_000_060_000),
        ack: None,
        silenced_by: Vec::new(),
        series: None,
    }
}

fn note(notifier: &str, status: Status, state: AlertState) -> Notification {
    Notification {
        notifier: notifier.into(),
        status,
        reason: if status == Status::Firing { Reason::New } else { Reason::Resolved },
        group_key: "alertname=api".into(),
        group: BTreeMap::from([("alertname".to_string(), "api".to_string())]),
        alerts: vec![alert("api", state)],
        at: 1_700_000_000_000,
    }
}

fn webhook(name: &str, url: String) -> NotifierConfig {
    NotifierConfig::new(name, NotifierKind::Webhook, Target::Url(url))
}

fn fast(give_up_ms: u64) -> Retry {
    Retry {
        first: Duration::from_millis(20),
        max: Duration::from_millis(100),
        give_up: Duration::from_millis(give_up_ms),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_is_retried_until_it_recovers_and_newer_state_replaces_the_old() {
    let (url, mut hits) = receiver(2, 500).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (out, mut deliveries) = mpsc::unbounded_channel::<Vec<Delivery>>();
    let (outbox, _tasks) = deliver::start(
        &[webhook("ops", format!("{url}/hook"))],
        fast(60_000),
        Arc::new(SystemClock),
        dir.path(),
        None,
        out,
    );
    outbox.send(note("ops", Status::Firing, AlertState::Firing));
    let first = next(&mut deliveries, "the first attempt").await;
    assert_eq!((first.len(), first[0].attempt, first[0].channel.as_str()), (1, 1, "webhook:ops"));
    assert_eq!(first[0].error.as_deref(), Some("HTTP 500 Internal Server Error: receiver says no"));
    // While it waits for its retry, the alert resolves: the newer state goes out instead.
    outbox.send(note("ops", Status::Resolved, AlertState::Resolved));
    let second = next(&mut deliveries, "the second attempt").await;
    assert_eq!(second[0].attempt, 2);
    assert!(second[0].error.as_deref().is_some_and(|e| e.starts_with("HTTP 500")), "{second:?}");
    let third = next(&mut deliveries, "the third attempt").await;
    assert_eq!((third[0].attempt, third[0].error.as_deref(), third[0].alert.as_str()), (3, None, "api"));
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next(&mut hits, "a request").await);
    }
    assert_eq!(
        got.iter().map(|(p, s, _)| (p.as_str(), *s)).collect::<Vec<_>>(),
        [("/hook", 500), ("/hook", 500), ("/hook", 200)]
    );
    assert_eq!(got[2].2["status"], "resolved", "the delivered body is the newest state");
    assert_eq!(got[2].2["alerts"][0]["state"], "resolved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_are_not_retried_and_server_errors_are_given_up() {
    let (gone, _hits) = receiver(u32::MAX, 404).await;
    let (down, _hits2) = receiver(u32::MAX, 503).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let secret =
        NotifierConfig::new("hidden", NotifierKind::Slack, Target::Secret("opsdeck-test-no-such-secret".into()));
    let notifiers = [webhook("gone", gone), webhook("down", down), secret];
    let (out, mut deliveries) = mpsc::unbounded_channel::<Vec<Delivery>>();
    let (outbox, _tasks) = deliver::start(&notifiers, fast(300), Arc::new(SystemClock), dir.path(), None, out);
    for n in ["gone", "down", "hidden"] {
        outbox.send(note(n, Status::Firing, AlertState::Firing));
    }
    let mut last: BTreeMap<String, Delivery> = BTreeMap::new();
    let done = |d: &Delivery| d.error.as_deref().is_some_and(|e| e.contains("not retried") || e.contains("gave up"));
    while last.len() < 3 || !last.values().all(done) {
        for d in next(&mut deliveries, "the final attempts").await {
            last.insert(d.channel.clone(), d);
        }
    }
    let gone = &last["webhook:gone"];
    assert_eq!((gone.attempt, gone.error.as_deref()), (1, Some("HTTP 404 Not Found: receiver says no (not retried)")));
    let down = &last["webhook:down"];
    assert!(down.attempt >= 2, "{down:?}");
    assert!(down.error.as_deref().is_some_and(|e| e.starts_with("HTTP 503") && e.ends_with(" attempts)")), "{down:?}");
    let hidden = last["slack:hidden"].error.clone().unwrap_or_default();
    assert!(hidden.contains("opsdeck-test-no-such-secret") && hidden.contains("gave up"), "{hidden}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bell_and_desktop_are_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let notifiers = [
        NotifierConfig::new("term", NotifierKind::Bell, Target::None),
        NotifierConfig::new("desk", NotifierKind::Desktop, Target::None),
    ];
    let (out, mut deliveries) = mpsc::unbounded_channel::<Vec<Delivery>>();
    let (outbox, _tasks) = deliver::start(&notifiers, fast(300), Arc::new(SystemClock), dir.path(), None, out);
    // The bell ignores resolved messages; the firing one is recorded.
    outbox.send(note("term", Status::Resolved, AlertState::Resolved));
    outbox.send(note("term", Status::Firing, AlertState::Firing));
    let bell = next(&mut deliveries, "the bell").await;
    assert_eq!((bell[0].channel.as_str(), bell[0].error.as_deref(), bell[0].attempt), ("bell", None, 1));
    outbox.send(note("desk", Status::Firing, AlertState::Firing));
    let desk = next(&mut deliveries, "the desktop notification").await;
    assert_eq!(desk[0].channel, "desktop");
    let on_path =
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("notify-send").is_file()));
    if !on_path {
        assert_eq!(
            desk[0].error.as_deref(),
            Some("notify-send not found (install libnotify-bin for desktop notifications) (not retried)")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_check_notifies_a_webhook_and_slack_and_its_recovery_resolves() {
    let (hook_url, mut hook) = receiver(0, 500).await;
    let (slack_url, mut slack) = receiver(0, 500).await;
    let FailingCheck { port, rules, dir, engine, mut bus } = failing_check();
    // The webhook waits for its group (1 s) and between messages (2 s); Slack sends at once.
    let notifiers = [
        NotifierConfig {
            group_wait: Duration::from_secs(1),
            group_interval: Duration::from_secs(2),
            ..webhook("ops", format!("{hook_url}/alerts"))
        },
        NotifierConfig {
            group_wait: Duration::ZERO,
            group_interval: Duration::ZERO,
            ..NotifierConfig::new("oncall", NotifierKind::Slack, Target::Url(format!("{slack_url}/services/T/B/x")))
        },
    ];
    engine.start_alerts(
        rules,
        Registry::with_builtins(opsdeck::jq::JqRunner::new(env!("CARGO_BIN_EXE_opsdeck"))),
        &notifiers,
        dir.path(),
    );

    let (path, status, body) = next(&mut hook, "the firing webhook").await;
    assert_eq!((path.as_str(), status), ("/alerts", 200));
    assert_eq!((body["version"].as_str(), body["status"].as_str()), (Some("1"), Some("firing")));
    assert_eq!(body["group"]["labels"], serde_json::json!({"alertname": "api"}));
    let a = &body["alerts"][0];
    assert_eq!(
        (a["id"].as_str(), a["origin"].as_str(), a["state"].as_str()),
        (Some("api{team=web}"), Some("check"), Some("firing"))
    );
    assert_eq!((a["severity"].as_str(), a["labels"]["team"].as_str()), (Some("critical"), Some("web")));
    assert!(a["firing_since"].as_str().is_some_and(|t| t.ends_with('Z')), "{a}");
    let ms =
        |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or("")).expect("a time").timestamp_millis();
    let firing_sent = ms(&body["sent_at"]);
    assert!(firing_sent - ms(&a["firing_since"]) >= 1000, "sent after the group wait: {body}");
    let (_, _, body) = next(&mut slack, "the firing Slack message").await;
    assert_eq!(body["text"], "🔴 FIRING (1): api");
    assert_eq!(body["blocks"][0]["type"], "section");
    assert!(
        body["blocks"][1]["text"]["text"].as_str().is_some_and(|t| t.starts_with("🔴 `critical` *api{team=web}*")),
        "{body}"
    );
    let d = announced(&mut bus, |d| d.channel == "slack:oncall").await;
    assert_eq!((d.alert.as_str(), d.error.as_deref()), ("api{team=web}", None));

    // It listens again: the check passes and both receivers are told.
    let _listening = std::net::TcpListener::bind(("127.0.0.1", port)).expect("listen on the checked port");
    let (_, _, body) = next(&mut hook, "the resolved webhook").await;
    assert_eq!((body["status"].as_str(), body["alerts"][0]["state"].as_str()), (Some("resolved"), Some("resolved")));
    assert!(body["alerts"][0]["resolved_at"].is_string(), "{body}");
    // `sent_at` is the attempt's time, a moment after the decision the interval counts from.
    assert!(ms(&body["sent_at"]) - firing_sent >= 1900, "no sooner than the group interval: {body}");
    let (_, _, body) = next(&mut slack, "the resolved Slack message").await;
    assert_eq!(body["text"], "✅ resolved: api");
    engine.shutdown();
}

/// A message waiting for its retry is kept in the store: quit, start again,
/// and it is sent — once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_waiting_for_its_retry_is_sent_once_after_a_restart() {
    // The first request fails, every later one succeeds.
    let (url, mut hits) = receiver(1, 503).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let open = || Store::open_unless_held(dir.path(), 1 << 20, || false, LIMIT).expect("store");
    let notifiers = [webhook("ops", format!("{url}/hook"))];
    let slow =
        Retry { first: Duration::from_secs(3600), max: Duration::from_secs(3600), give_up: Duration::from_secs(7200) };
    // One run of the delivery tasks on `store`'s queue.
    let run = |store: &Store, out| {
        deliver::start(
            &notifiers,
            slow,
            Arc::new(SystemClock),
            dir.path(),
            Some(store.notify_queue().expect("queue")),
            out,
        )
    };

    // First run: the attempt fails and the retry is an hour away; then opsdeck quits.
    let store = open();
    let (out, mut deliveries) = mpsc::unbounded_channel::<Vec<Delivery>>();
    let (outbox, tasks) = run(&store, out);
    outbox.send(note("ops", Status::Firing, AlertState::Firing));
    let first = next(&mut deliveries, "the failed attempt").await;
    assert_eq!(
        (first[0].attempt, first[0].error.as_deref()),
        (1, Some("HTTP 503 Service Unavailable: receiver says no"))
    );
    assert_eq!(next(&mut hits, "the first request").await.1, 503);
    drop(outbox);
    for t in tasks {
        t.abort();
        let _ = t.await;
    }
    assert_eq!(store.notify_queue().expect("queue").all().expect("read").len(), 1, "kept while waiting");
    drop(store);

    // Second run: the kept message goes out at once, as attempt 2.
    let store = open();
    let (out, mut deliveries) = mpsc::unbounded_channel::<Vec<Delivery>>();
    let (_outbox, tasks) = run(&store, out);
    let sent = next(&mut deliveries, "the attempt after the restart").await;
    assert_eq!((sent[0].attempt, sent[0].error.as_deref(), sent[0].alert.as_str()), (2, None, "api"));
    let (path, status, body) = next(&mut hits, "the request after the restart").await;
    assert_eq!((path.as_str(), status, body["status"].as_str()), ("/hook", 200, Some("firing")));
    assert!(store.notify_queue().expect("queue").all().expect("read").is_empty(), "gone once sent");
    for t in tasks {
        t.abort();
        let _ = t.await;
    }
    drop(store);

    // Third run: nothing is left to send; a notifier no longer configured loses its queue.
    let store = open();
    store.notify_queue().expect("queue").put("old", "alertname=x", b"{}").expect("put");
    let (out, _deliveries) = mpsc::unbounded_channel::<Vec<Delivery>>();
    let (_outbox, _tasks) = run(&store, out);
    assert!(store.notify_queue().expect("queue").all().expect("read").is_empty());
    assert!(hits.try_recv().is_err(), "the receiver got exactly two requests: {:?}", hits.try_recv());
}

/// An alert waiting for its group wait when opsdeck quits is still told after
/// a restart, once: the next message the receiver gets is the resolve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_waiting_for_its_group_is_sent_once_after_a_restart() {
    let (url, mut hits) = receiver(0, 500).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let src =
        format!("[[check]]\nname = \"api\"\ntcp = \"127.0.0.1:{port}\"\ninterval = \"200ms\"\ntimeout = \"1s\"\n");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let notifiers = [NotifierConfig {
        group_wait: Duration::from_secs(3),
        group_interval: Duration::ZERO,
        ..webhook("ops", format!("{url}/hook"))
    }];
    let start = || {
        let store = Store::open_unless_held(&data, 1 << 20, || false, LIMIT).expect("store");
        let engine = Engine::new(store, EngineConfig::default(), Arc::new(SystemClock)).expect("engine");
        let bus = engine.subscribe();
        let registry = Registry::with_builtins(opsdeck::jq::JqRunner::new(env!("CARGO_BIN_EXE_opsdeck")));
        engine.start_alerts(rules::parse("t.toml", &src).expect("rules"), registry, &notifiers, dir.path());
        (engine, bus)
    };

    // First run: the check fails and its alert fires; opsdeck quits during the group wait.
    let (engine, mut bus) = start();
    let firing_since = tokio::time::timeout(LIMIT, async {
        loop {
            if let Ok(env) = bus.recv().await
                && let Event::Alerts(u) = &env.event
                && let Some(t) = u.alerts.iter().find(|a| a.state == AlertState::Firing).and_then(|a| a.firing_since)
            {
                return t;
            }
        }
    })
    .await
    .expect("the alert fires");
    engine.shutdown();
    drop(engine);
    drop(bus);
    assert!(hits.try_recv().is_err(), "nothing sent before the group wait");

    // Second run: the wait goes on and the message goes out once.
    let (engine, _bus) = start();
    let (_, status, body) = next(&mut hits, "the firing message after the restart").await;
    assert_eq!((status, body["status"].as_str(), body["reason"].as_str()), (200, Some("firing"), Some("new")));
    let sent = chrono::DateTime::parse_from_rfc3339(body["sent_at"].as_str().unwrap_or("")).expect("sent_at");
    assert!(sent.timestamp_millis() - firing_since >= 3000, "sent after its group wait: {body}");
    // The port listens: the next message is the resolve, not the page again.
    let _listening = std::net::TcpListener::bind(("127.0.0.1", port)).expect("listen on the checked port");
    let (_, _, body) = next(&mut hits, "the resolved message").await;
    assert_eq!(body["status"].as_str(), Some("resolved"), "{body}");
    engine.shutdown();
}

/// An alert acknowledged (or silenced, or resolved) while the message about
/// it waits for its retry is withdrawn: the retry does not page for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_alert_is_not_paged_by_a_waiting_retry() {
    let (url, mut hits) = receiver(1, 503).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::temporary().expect("store");
    let queue = store.notify_queue().expect("queue");
    let slow =
        Retry { first: Duration::from_secs(3600), max: Duration::from_secs(3600), give_up: Duration::from_secs(7200) };
    let (out, mut deliveries) = mpsc::unbounded_channel::<Vec<Delivery>>();
    let (outbox, _tasks) = deliver::start(
        &[webhook("ops", format!("{url}/hook"))],
        slow,
        Arc::new(SystemClock),
        dir.path(),
        Some(queue.clone()),
        out,
    );
    outbox.send(note("ops", Status::Firing, AlertState::Firing));
    let first = next(&mut deliveries, "the failed attempt").await;
    assert_eq!(first[0].attempt, 1);
    assert_eq!(next(&mut hits, "the first request").await.1, 503);
    assert_eq!(queue.all().expect("read").len(), 1, "waiting for its retry");
    // The alert is acknowledged: the policy withdraws it (nothing left to page for).
    let mut withdraw = note("ops", Status::Firing, AlertState::Firing);
    (withdraw.reason, withdraw.alerts) = (Reason::Withdraw, Vec::new());
    outbox.send(withdraw);
    // Another group's message goes out after it (the task takes them in order).
    let mut other = note("ops", Status::Firing, AlertState::Firing);
    other.group_key = "alertname=other".into();
    outbox.send(other);
    let sent = next(&mut deliveries, "the other group's message").await;
    assert_eq!((sent[0].attempt, sent[0].error.as_deref()), (1, None));
    assert_eq!(next(&mut hits, "the other request").await.1, 200);
    assert!(queue.all().expect("read").is_empty(), "the withdrawn message is gone, not waiting for its retry");
}
