//! Alerts over the wire: a subscriber of `opsdeck serve` gets the alert state
//! first and every change after; alert commands (acknowledge, silence,
//! unsilence) work remotely and answer like any command.

mod wire;

use opsdeck::protocol::Command;
use opsdeck::protocol::alerts::{AlertState, AlertsUpdate};
use opsdeck::protocol::wire::{ClientFrame, ServerFrame};
use opsdeck::protocol::{Event, Topic};
use wire::{Ws, connect, next_frame, send, start};

/// The next `alerts` event that satisfies `ok`, answering nothing else.
async fn alerts_until(ws: &mut Ws, ok: impl Fn(&AlertsUpdate) -> bool) -> AlertsUpdate {
    loop {
        if let Some(ServerFrame::Events { events }) = next_frame(ws).await {
            for e in events {
                if let Event::Alerts(u) = &e.event
                    && ok(u)
                {
                    assert_eq!(e.topic, Topic::Alerts);
                    return (**u).clone();
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_state_and_commands_over_the_wire() {
    let home = tempfile::tempdir().expect("tempdir");
    let dir = home.path().join("config/opsdeck/alerts");
    std::fs::create_dir_all(&dir).expect("alerts dir");
    std::fs::write(
        dir.join("t.toml"),
        "[[rule]]\nname = \"always\"\ncondition = \"cpu.total >= 0\"\nlabels = { team = \"db\" }\n",
    )
    .expect("rule");
    let server = start(home.path(), &["--no-auth"]);
    let mut ws = connect(server.addr, None).await.expect("connect");
    send(&mut ws, &ClientFrame::Subscribe { topics: vec![Topic::Metrics, Topic::Alerts], since: None }).await;
    let u =
        alerts_until(&mut ws, |u| u.alerts.iter().any(|a| a.id == "always{team=db}" && a.state == AlertState::Firing))
            .await;
    assert!(u.rules.iter().any(|r| r.name == "cpu_high"), "bundled rules are listed too");

    let cmd = |id: &str, command: Command| ClientFrame::Command { id: id.into(), command };
    send(
        &mut ws,
        &cmd(
            "a1",
            Command::Alerts(opsdeck::protocol::AlertsCommand::Ack {
                alert: "always{team=db}".into(),
                note: "on it".into(),
                by: "ana".into(),
                at: None,
            }),
        ),
    )
    .await;
    let u = alerts_until(&mut ws, |u| u.alerts.iter().any(|a| a.ack.is_some())).await;
    assert_eq!(
        u.alerts.iter().find(|a| a.ack.is_some()).and_then(|a| a.ack.clone()).map(|a| a.note),
        Some("on it".into())
    );

    let matchers = u.alerts.iter().find(|a| a.rule == "always").map(|a| a.matchers()).expect("the alert");
    send(
        &mut ws,
        &cmd(
            "s1",
            Command::Alerts(opsdeck::protocol::AlertsCommand::Silence {
                matchers,
                minutes: 30,
                comment: "maint".into(),
                by: "ana".into(),
            }),
        ),
    )
    .await;
    let u = alerts_until(&mut ws, |u| u.alerts.iter().any(|a| !a.silenced_by.is_empty())).await;
    let sid = u.silences[0].id.clone();
    send(&mut ws, &cmd("u1", Command::Alerts(opsdeck::protocol::AlertsCommand::Unsilence { id: sid }))).await;
    alerts_until(&mut ws, |u| u.alerts.iter().all(|a| a.silenced_by.is_empty()) && !u.silences.is_empty()).await;

    // A bad command is an error with its id, not a crash.
    send(
        &mut ws,
        &cmd(
            "x1",
            Command::Alerts(opsdeck::protocol::AlertsCommand::Ack {
                alert: "nope".into(),
                note: String::new(),
                by: String::new(),
                at: None,
            }),
        ),
    )
    .await;
    loop {
        match next_frame(&mut ws).await.expect("frames") {
            ServerFrame::Error { id: Some(id), message, .. } => {
                assert_eq!(id, "x1");
                assert!(message.contains("no alert"), "{message}");
                break;
            }
            _ => continue,
        }
    }
}

/// A subscriber gets the topics it asked for and no others: one that asks
/// for alerts alone sees no history, sample or annotation, even though the
/// host is sampled every second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_gets_only_the_topics_it_asked_for() {
    let home = tempfile::tempdir().expect("tempdir");
    let server = start(home.path(), &["--no-auth"]);
    let mut ws = connect(server.addr, None).await.expect("connect");
    send(&mut ws, &ClientFrame::Subscribe { topics: vec![Topic::Alerts], since: None }).await;
    let mut topics = Vec::new();
    let mut samples_seen_by_a_metrics_client = 0;
    let mut other = connect(server.addr, None).await.expect("connect");
    send(&mut other, &ClientFrame::Subscribe { topics: vec![Topic::Metrics], since: None }).await;
    // Two host samples reach the metrics subscriber...
    while samples_seen_by_a_metrics_client < 2 {
        if let Some(ServerFrame::Events { events }) = next_frame(&mut other).await {
            assert!(
                events.iter().all(|e| e.topic == Topic::Metrics),
                "{:?}",
                events.iter().map(|e| e.topic).collect::<Vec<_>>()
            );
            samples_seen_by_a_metrics_client +=
                events.iter().filter(|e| matches!(e.event, Event::HostSample(_))).count();
        }
    }
    // ...while the alerts subscriber, told of a silence, has seen alerts alone.
    let cmd = ClientFrame::Command {
        id: "s1".into(),
        command: Command::Alerts(opsdeck::protocol::AlertsCommand::Silence {
            matchers: opsdeck::protocol::matchers::parse("team=db").expect("matcher"),
            minutes: 30,
            comment: "maint".into(),
            by: "ana".into(),
        }),
    };
    send(&mut ws, &cmd).await;
    loop {
        match next_frame(&mut ws).await {
            Some(ServerFrame::Events { events }) => {
                topics.extend(events.iter().map(|e| e.topic));
                if events.iter().any(|e| matches!(&e.event, Event::Alerts(u) if !u.silences.is_empty())) {
                    break;
                }
            }
            Some(_) => {}
            None => panic!("the server closed the connection"),
        }
    }
    assert!(topics.iter().all(|t| *t == Topic::Alerts), "{topics:?}");
}
