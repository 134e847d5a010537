//! `opsdeck serve --read-only` over loopback: every command that changes state
//! is refused with `ErrorCode::ReadOnly`, whoever sends it; the stream still works.

use opsdeck::protocol::alerts::{MatchOp, Matcher};
use opsdeck::protocol::wire::{ClientFrame, ErrorCode, ServerFrame};
use opsdeck::protocol::{Command, Event, Topic};

mod wire;

use wire::{connect, next_frame, send, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_read_only_refuses_state_changes_from_clients() {
    let home = tempfile::tempdir().expect("tempdir");
    // The global flag after the subcommand, as an operator would type it.
    let server = start(home.path(), &["--no-auth", "--read-only"]);
    let mut ws = connect(server.addr, None).await.expect("connect");
    send(&mut ws, &ClientFrame::Subscribe { topics: vec![Topic::Metrics, Topic::Alerts], since: None }).await;
    let commands = [
        Command::Alerts(opsdeck::protocol::AlertsCommand::Ack {
            alert: "disk_filling".into(),
            note: "on it".into(),
            by: "ops".into(),
            at: None,
        }),
        Command::Alerts(opsdeck::protocol::AlertsCommand::Silence {
            matchers: vec![Matcher { name: "alertname".into(), op: MatchOp::Eq, value: "disk_filling".into() }],
            minutes: 60,
            comment: "maintenance".into(),
            by: "ops".into(),
        }),
        Command::Alerts(opsdeck::protocol::AlertsCommand::SetRuleEnabled {
            name: "disk_filling".into(),
            enabled: false,
        }),
        Command::Metrics(opsdeck::protocol::MetricsCommand::Annotate {
            text: "deploy v42".into(),
            author: "ops".into(),
            at: None,
        }),
        Command::Tools(opsdeck::protocol::ToolsCommand::RunTool {
            run: "r1".into(),
            tool: "text_stats".into(),
            args: serde_json::json!({"text": "a"}),
            confirmed: false,
        }),
        Command::Tools(opsdeck::protocol::ToolsCommand::CancelTool { run: "r1".into() }),
    ];
    let n = commands.len();
    for (i, command) in commands.into_iter().enumerate() {
        send(&mut ws, &ClientFrame::Command { id: format!("ro-{i}"), command }).await;
    }
    let (mut refused, mut welcomed, mut annotations) = (Vec::new(), false, 0);
    while refused.len() < n {
        match next_frame(&mut ws).await.expect("frames") {
            ServerFrame::Welcome { .. } => welcomed = true,
            ServerFrame::Error { code, message, id: Some(id) } => {
                assert_eq!(code, ErrorCode::ReadOnly, "{id}: {message}");
                assert!(message.starts_with("read-only: ") && message.contains("--read-only"), "{message}");
                refused.push(id);
            }
            ServerFrame::Ack { id, result } => panic!("{id} was run on a read-only server: {result}"),
            ServerFrame::Events { events } => {
                annotations += events.iter().filter(|e| matches!(e.event, Event::Annotation { .. })).count()
            }
            _ => {}
        }
    }
    refused.sort();
    assert_eq!(refused, ["ro-0", "ro-1", "ro-2", "ro-3", "ro-4", "ro-5"]);
    assert!(welcomed, "reading still works");
    assert_eq!(annotations, 0, "nothing was recorded");
}
