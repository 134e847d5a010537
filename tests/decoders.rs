//! External decoders against crafted answers on loopback: a tiny HTTP server
//! on 127.0.0.1:0 answers as a Prometheus or an Alertmanager would, with the
//! values real ones send (a timestamp in milliseconds, `null` where the spec
//! says `[]`, one malformed item).

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use opsdeck::app::panes::alerts::{SourceRead, Verdict};
use opsdeck::app::{Action, UserAction, update};
use opsdeck::clock::FixedClock;
use opsdeck::protocol::alerts::AlertsUpdate;
use opsdeck::protocol::{Envelope, Event, LOCAL_SOURCE, Topic};
use opsdeck::remote::alertmanager::{self, AlertmanagerSpec};
use opsdeck::remote::client::ClientMsg;
use opsdeck::remote::prometheus::{self, PromSpec};
use support::{NOW, Seed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A failure bound, not a synchronisation.
const LIMIT: Duration = Duration::from_secs(20);

/// Serve `answers` (path prefix → JSON body) on 127.0.0.1:0 until the test
/// ends; returns the base URL.
async fn fake_peer(answers: Vec<(&'static str, String)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let answers = answers.clone();
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 65_536 {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&req);
                let path = head.split_whitespace().nth(1).unwrap_or("/");
                let (status, body) = answers
                    .iter()
                    .find(|(p, _)| path.starts_with(p))
                    .map_or(("404 Not Found", String::new()), |(_, b)| ("200 OK", b.clone()));
                let resp = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    url
}

/// The issue's repro: one sample's timestamp in milliseconds made the poller
/// size a buffer of ~478 GB and abort. Slots now come from the range asked for.
#[tokio::test]
async fn buffers_are_never_sized_from_remote_timestamps() {
    let now = 1_795_933_160_000;
    let body = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up"},
        "values":[[1795933110.0,"20"],[1795933111.0,"21"],[1795933151000.0,"42"]]}]}}"#;
    let url = fake_peer(vec![("/api/v1/query_range", body.to_string())]).await;
    let spec = PromSpec {
        name: "prom".into(),
        url,
        interval: Duration::from_secs(1),
        queries: BTreeMap::from([("up".to_string(), "up".to_string())]),
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let poller = tokio::spawn(prometheus::run(spec, Arc::new(FixedClock(now)), tx));
    let tier = tokio::time::timeout(LIMIT, async {
        loop {
            match rx.recv().await.expect("the poller runs") {
                ClientMsg::Events(evs) => match &evs[0].event {
                    Event::SeriesSamples(s) => return s.tiers[0].clone(),
                    other => panic!("not samples: {other:?}"),
                },
                ClientMsg::Retrying { error, .. } => panic!("the poll failed: {error}"),
                _ => {}
            }
        }
    })
    .await
    .expect("samples within the limit");
    poller.abort();
    assert_eq!(tier.step_ms, 1000);
    assert_eq!(tier.start_slot, 1_795_933_110);
    let (name, col) = &tier.columns[0];
    assert_eq!((name.as_str(), col.as_slice()), ("up", [20.0, 21.0].as_slice()), "the stray sample is dropped");
}

/// The issue's alert (`"silencedBy": null, "inhibitedBy": null,
/// "annotations": null`) and one malformed item: the readable alerts still
/// show, the unreadable one is counted on screen, and no all-clear is given.
#[tokio::test]
async fn one_bad_alert_never_hides_the_others() {
    let alerts = r#"[
        {"annotations":null,"fingerprint":"4a","labels":{"alertname":"DiskFull","severity":"critical"},
         "startsAt":"2026-11-22T08:16:46.222Z","status":{"inhibitedBy":null,"silencedBy":null,"state":"active"},
         "receivers":null,"updatedAt":null,"endsAt":null,"generatorURL":null},
        {"fingerprint":"5b","labels":{"alertname":["not","a","string"]},"status":{"state":"active"}},
        {"annotations":{"summary":"api slow"},"fingerprint":"6c","labels":{"alertname":"ApiSlow"},
         "startsAt":"2026-11-22T08:10:00Z","status":{"inhibitedBy":[],"silencedBy":[],"state":"active"}}]"#;
    let url = fake_peer(vec![("/api/v2/alerts", alerts.into()), ("/api/v2/silences", "null".into())]).await;
    let spec = AlertmanagerSpec { name: "am".into(), url, interval: Duration::from_millis(100) };
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let poller = tokio::spawn(alertmanager::run(spec, tx));
    let (name, polled) = tokio::time::timeout(LIMIT, rx.recv()).await.expect("a poll").expect("the poller runs");
    poller.abort();
    let polled = polled.expect("the poll reads what it can");
    let mut rules: Vec<&str> = polled.update.alerts.iter().map(|a| a.rule.as_str()).collect();
    rules.sort();
    assert_eq!(rules, ["ApiSlow", "DiskFull"]);
    assert_eq!(polled.unreadable.alerts, 1);

    // Through the app, as the runtime feeds it: the count is on screen.
    let seed = Seed::new();
    let ctx = seed.ctx();
    let mut s = seed.state();
    update(&mut s, Action::User(UserAction::FocusPane5), &ctx);
    update(&mut s, quiet_local(), &ctx);
    let read = SourceRead::Partial(polled.unreadable.describe().expect("a description"));
    update(&mut s, Action::AlertSource { name: name.clone(), read }, &ctx);
    update(&mut s, alerts_of(&name, polled.update), &ctx);
    assert_eq!(s.alerts.rows.len(), 2, "both readable alerts are listed");
    let screen = draw(&s);
    assert!(screen.contains("⚠ am: 1 alert could not be read (alert item 2: "), "{screen}");
}

/// An Alertmanager that cannot be reached on a quiet host: the pane says so
/// instead of `✓ nothing is firing`.
#[tokio::test]
async fn an_unreachable_alertmanager_is_no_all_clear() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let spec = AlertmanagerSpec {
        name: "am".into(),
        url: format!("http://127.0.0.1:{port}"),
        interval: Duration::from_secs(1),
    };
    let http = opsdeck::net::http_client().expect("client");
    let e = alertmanager::poll(&http, &spec).await.expect_err("nothing listens there");
    let seed = Seed::new();
    let ctx = seed.ctx();
    let mut s = seed.state();
    update(&mut s, Action::User(UserAction::FocusPane5), &ctx);
    update(&mut s, quiet_local(), &ctx);
    assert_eq!(s.alerts.verdict(), Verdict::AllClear, "the local engine alone, read whole");
    update(&mut s, Action::AlertSource { name: "am".into(), read: SourceRead::Failed(e.clone()) }, &ctx);
    assert_eq!(s.alerts.verdict(), Verdict::Unknown { failed: 1, waiting: 0 });
    let screen = draw(&s);
    assert!(!screen.contains("nothing is firing"), "{screen}");
    assert!(screen.contains("1 source could not be read"), "{screen}");
    assert!(screen.contains("◌ am could not be read: alertmanager am: GET /api/v2/silences: "), "{screen}");
}

fn quiet_local() -> Action {
    alerts_of(LOCAL_SOURCE, AlertsUpdate::default())
}

fn alerts_of(source: &str, u: AlertsUpdate) -> Action {
    Action::Events(vec![Arc::new(Envelope {
        epoch: 1,
        seq: 1,
        ts: NOW,
        source: source.into(),
        topic: Topic::Alerts,
        event: Event::Alerts(Box::new(u)),
    })])
}

/// The whole screen, as text (lines joined by newlines).
fn draw(s: &opsdeck::app::AppState) -> String {
    let theme = opsdeck::config::theme::Theme::fallback(false);
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(140, 30)).expect("test backend");
    t.draw(|f| opsdeck::ui::render(f, s, &theme)).expect("draw");
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}
