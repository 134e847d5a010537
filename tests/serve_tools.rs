//! Tools over the wire: a client of `opsdeck serve` runs a tool with a
//! `run_tool` command and follows its output and end on the `tools` topic;
//! it can cancel a run by its id; a client that asks only for metrics and
//! alerts (as older builds do) gets no tool events.

use opsdeck::protocol::wire::{ClientFrame, ServerFrame};
use opsdeck::protocol::{Command, Event, Topic};

mod wire;

use wire::{connect, next_frame, send, start};

fn run_tool(run: &str, command: &str) -> Command {
    Command::Tools(opsdeck::protocol::ToolsCommand::RunTool {
        run: run.into(),
        tool: "shell".into(),
        args: serde_json::json!({ "command": command }),
        confirmed: true,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_runs_a_tool_follows_its_output_and_cancels_another() {
    let home = tempfile::tempdir().expect("tempdir");
    let server = start(home.path(), &["--no-auth"]);
    let mut ws = connect(server.addr, None).await.expect("connect");
    let mut old = connect(server.addr, None).await.expect("connect");
    send(&mut ws, &ClientFrame::Subscribe { topics: vec![Topic::Tools], since: None }).await;
    send(&mut old, &ClientFrame::Subscribe { topics: vec![Topic::Metrics, Topic::Alerts], since: None }).await;
    send(&mut ws, &ClientFrame::Command { id: "c-1".into(), command: run_tool("r1", "printf 'one\\ntwo\\n'") }).await;
    send(&mut ws, &ClientFrame::Command { id: "c-2".into(), command: run_tool("r2", "echo up; exec sleep 60") }).await;
    let (mut lines, mut acks, mut finished) = (Vec::new(), Vec::new(), Vec::new());
    let (mut cancel_sent, mut last_tool_seq) = (false, 0);
    while finished.len() < 2 {
        match next_frame(&mut ws).await.expect("frames") {
            ServerFrame::Ack { id, result } => acks.push((id, result)),
            ServerFrame::Events { events } => {
                for e in events {
                    if matches!(e.event, Event::MetricsHistory(_)) {
                        continue;
                    }
                    assert_eq!(e.topic, Topic::Tools, "only the topic asked for: {:?}", e.event);
                    last_tool_seq = last_tool_seq.max(e.seq);
                    match e.event {
                        Event::ToolOutput { run, lines: l } => {
                            if run == "r2" && !cancel_sent {
                                let command =
                                    Command::Tools(opsdeck::protocol::ToolsCommand::CancelTool { run: "r2".into() });
                                send(&mut ws, &ClientFrame::Command { id: "c-3".into(), command }).await;
                                cancel_sent = true;
                            }
                            lines.extend(l.into_iter().map(|l| (run.clone(), l)));
                        }
                        Event::ToolFinished { run, record } => finished.push((run, *record)),
                        other => panic!("{other:?}"),
                    }
                }
            }
            ServerFrame::Error { code, message, id } => panic!("{id:?}: {code:?} {message}"),
            _ => {}
        }
    }
    finished.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(finished[0].0, "r1");
    assert!(finished[0].1.ok, "{:?}", finished[0].1);
    assert_eq!(finished[0].1.output, ["one", "two"]);
    assert_eq!((finished[1].0.as_str(), finished[1].1.outcome.as_str()), ("r2", Some("cancelled")));
    let r1: Vec<&str> = lines.iter().filter(|(r, _)| r == "r1").map(|(_, l)| l.as_str()).collect();
    assert_eq!(r1, ["one", "two"], "streamed in order");
    acks.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(acks[0], ("c-1".to_string(), serde_json::json!({"run": "r1"})));
    assert_eq!(acks[1], ("c-2".to_string(), serde_json::json!({"run": "r2"})));
    assert_eq!(acks[2], ("c-3".to_string(), serde_json::json!({"run": "r2", "cancelled": true})));
    // The client that asked only for metrics and alerts sees the events
    // before and after the tool events, and none of them.
    let mut newest = 0;
    while newest <= last_tool_seq {
        if let ServerFrame::Events { events } = next_frame(&mut old).await.expect("frames") {
            assert!(events.iter().all(|e| e.topic != Topic::Tools), "no tool events for it");
            newest = events.iter().map(|e| e.seq).max().unwrap_or(newest).max(newest);
        }
    }
}
