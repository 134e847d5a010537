//! Workflows through the real binary (issue 12, Tests): Ctrl-C on
//! `opsdeck run` kills a shell step's children; a secret leaves no trace on
//! disk or on screen; a client of `opsdeck serve` starts, watches and
//! cancels runs over the wire; a second terminal approves a step of a run
//! held by `serve`; `--dry-run`, unknown workflows and bad inputs.
//! Crash recovery is in workflows_crash.rs.

use std::io::{BufRead, BufReader, Read, Write};

use opsdeck::protocol::wire::{ClientFrame, ServerFrame};
use opsdeck::protocol::workflow::{RunDetail, RunId, RunState, WorkflowsCommand};
use opsdeck::protocol::{Command, Event, Topic};

mod wf;
mod wire;

use wf::{Home, LIMIT, USER, gone, text, wait_for};

/// The secret of the secrets test: letters and digits only, so a byte grep
/// finds it however a file escapes strings.
const SECRET: &str = "Zq7sEcretVa1ue93kX";

/// SIGINT is caught by `pid` (its handler is installed): /proc/PID/status SigCgt.
fn catches_sigint(pid: u32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { return false };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (2 - 1)) != 0)
}

#[test]
fn ctrl_c_on_opsdeck_run_cancels_the_run_and_kills_the_steps_children() {
    let home = Home::new();
    let pids = home.path().join("pids.txt");
    home.workflow(
        "spawner",
        &format!(
            "name = \"spawner\"\n\n[[step]]\nid = \"fork\"\nuses = \"shell\"\n\
             with = {{ command = 'sleep 300 & echo $! >> {p}; sleep 300 & echo $! >> {p}; echo forked; wait' }}\n\n\
             [[step]]\nid = \"never\"\nuses = \"shell\"\nneeds = [\"fork\"]\nwith = {{ command = 'echo never' }}\n",
            p = pids.display()
        ),
    );
    let child = home.cmd(&["run", "spawner", "--json"]).spawn().expect("spawn opsdeck run");
    let pid = child.id();
    let sleeps: Vec<u32> = wait_for("both background sleeps to write their pids", || {
        let t = std::fs::read_to_string(&pids).ok()?;
        let v: Vec<u32> = t.lines().filter_map(|l| l.trim().parse().ok()).collect();
        (v.len() == 2).then_some(v)
    });
    assert!(sleeps.iter().all(|p| !gone(*p)), "the sleeps run before Ctrl-C");
    wait_for("opsdeck run to handle SIGINT", || catches_sigint(pid).then_some(()));
    wf::signal(pid, rustix::process::Signal::INT);
    let out = wf::wait_output(child, LIMIT, "opsdeck run spawner");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a cancelled run exits 1: {err}");
    assert!(err.contains("cancelling run #"), "{err}");
    let d: RunDetail = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));
    assert_eq!(d.run.state, RunState::Cancelled, "{d:?}");
    assert_eq!(d.steps[0].state, RunState::Cancelled, "{:?}", d.steps[0]);
    assert_eq!(d.steps[1].state, RunState::Cancelled, "the next step never started: {:?}", d.steps[1]);
    assert!(d.steps[1].started.is_none());
    for p in sleeps {
        wait_for(&format!("background sleep {p} of the cancelled step to be killed"), || gone(p).then_some(()));
    }
    // The record on disk says so too.
    assert_eq!(home.show(d.run.id).run.state, RunState::Cancelled);
}

/// A one-request HTTP server on loopback: answers 200 with the request it
/// got as the body (so the secret comes back in the step's output), and
/// hands the request over.
fn echo_server() -> (u16, std::sync::mpsc::Receiver<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut s, _)) = listener.accept() else { return };
        let _ = s.set_read_timeout(Some(LIMIT));
        let mut reader = BufReader::new(s.try_clone().expect("clone"));
        let mut head = String::new();
        let mut len = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
            head.push_str(&line);
        }
        let mut body = vec![0; len];
        let _ = reader.read_exact(&mut body);
        let request = format!("{head}\r\n{}", String::from_utf8_lossy(&body));
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{request}",
            request.len()
        );
        let _ = s.write_all(reply.as_bytes());
        let _ = tx.send(request);
    });
    (port, rx)
}

#[test]
fn a_secret_leaves_no_trace_in_the_store_the_logs_or_the_output() {
    let home = Home::new();
    let (port, requests) = echo_server();
    home.workflow(
        "secretive",
        &format!(
            r#"name = "secretive"

[[step]]
id = "say"
uses = "shell"
with = {{ command = 'echo "token={{{{ secret("x") }}}}"; echo "to stderr {{{{ secret("x") }}}}" >&2' }}

[[step]]
id = "call"
uses = "http"
needs = ["say"]
outputs = {{ echoed = "{{{{ result.body }}}}" }}

[step.with]
url = "http://127.0.0.1:{port}/hook"
method = "POST"
headers = {{ authorization = "Bearer {{{{ secret('x') }}}}" }}
body = "key={{{{ secret('x') }}}}"
"#
        ),
    );
    let var = opsdeck::secrets::env_var_name("x");
    let mut cmd = home.cmd(&["run", "secretive", "--json"]);
    cmd.env(&var, SECRET);
    for k in ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"] {
        cmd.env_remove(k);
    }
    let out = wf::output_within(cmd, LIMIT);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    // The value was used: the server got it in the header and the body.
    let request = requests.recv_timeout(LIMIT).expect("the http step's request");
    assert!(request.contains(&format!("Bearer {SECRET}")), "{request}");
    assert!(request.contains(&format!("key={SECRET}")), "{request}");
    // The screen: neither stdout nor stderr of opsdeck run has it.
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET), "{stdout}\n{stderr}");
    let d: RunDetail = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(d.run.state, RunState::Succeeded);
    let n = d.run.id.to_string();

    // Nothing on disk: the store (runs, steps, logs, event log, command results) and the logs.
    let (data, state) = (home.data_dir(), home.state_dir());
    assert!(wf::file_count(&data) > 0, "the store is in {}", data.display());
    for dir in [&data, &state] {
        let found = wf::files_containing(dir, SECRET.as_bytes());
        assert!(found.is_empty(), "the secret's value is in {found:?}");
    }

    // What a person reads afterwards shows it masked.
    let shown = home.ok(&["runs", "show", &n, "--json"]);
    assert!(!shown.contains(SECRET), "{shown}");
    let d: RunDetail = serde_json::from_str(&shown).expect("detail");
    let say = &d.steps[0];
    assert_eq!(say.args.as_ref().map(|a| a["command"].to_string()).unwrap_or_default().matches("••••").count(), 2);
    assert_eq!(say.output.as_ref().map(|o| o["stdout"].clone()), Some("token=••••".into()), "{say:?}");
    let call = &d.steps[1];
    assert_eq!(call.state, RunState::Succeeded, "{call:?}");
    let args = call.args.clone().expect("args");
    assert_eq!(args["headers"]["authorization"], "Bearer ••••");
    assert_eq!(args["body"], "key=••••");
    let echoed = call.outputs.get("echoed").and_then(|v| v.as_str()).unwrap_or_default().to_string();
    assert!(echoed.contains("Bearer ••••") && echoed.contains("key=••••"), "the echoed request, masked: {echoed}");
    let log = home.ok(&["runs", "show", &n, "--log", "say"]);
    assert!(log.contains("token=••••") && log.contains("stderr: to stderr ••••"), "{log}");
    assert!(!log.contains(SECRET));
    let text_view = home.ok(&["runs", "show", &n]);
    assert!(!text_view.contains(SECRET), "{text_view}");
}

/// Frames from `ws` until `done` holds for an event of the `workflows`
/// topic; returns those events. Acks are kept in `acks`; an error fails.
async fn until(ws: &mut wire::Ws, acks: &mut Acks, mut done: impl FnMut(&Event) -> bool) -> Vec<Event> {
    let mut seen = Vec::new();
    loop {
        match wire::next_frame(ws).await.expect("the stream stays open") {
            ServerFrame::Events { events } => {
                for e in events.iter().filter(|e| e.topic == Topic::Workflows) {
                    seen.push(e.event.clone());
                    if done(&e.event) {
                        return seen;
                    }
                }
            }
            ServerFrame::Ack { id, result } => {
                acks.insert(id, result);
            }
            ServerFrame::Error { code, message, id } => panic!("{id:?}: {code:?} {message}"),
            _ => {}
        }
    }
}

type Acks = std::collections::HashMap<String, serde_json::Value>;

/// The answer to command `id` (reading on until it comes).
async fn ack(ws: &mut wire::Ws, acks: &mut Acks, id: &str) -> serde_json::Value {
    while !acks.contains_key(id) {
        match wire::next_frame(ws).await.expect("the stream stays open") {
            ServerFrame::Ack { id, result } => {
                acks.insert(id, result);
            }
            ServerFrame::Error { code, message, id } => panic!("{id:?}: {code:?} {message}"),
            _ => {}
        }
    }
    acks[id].clone()
}

fn command(id: &str, c: WorkflowsCommand) -> ClientFrame {
    ClientFrame::Command { id: id.into(), command: Command::Workflows(c) }
}

fn start_run(id: &str, workflow: &str) -> ClientFrame {
    command(
        id,
        WorkflowsCommand::StartRun { workflow: workflow.into(), inputs: Default::default(), by: "a client".into() },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_starts_watches_and_cancels_runs_on_serve() {
    let home = Home::new();
    home.workflow(
        "quick",
        "name = \"quick\"\n\n[[step]]\nid = \"hello\"\nuses = \"shell\"\nwith = { command = 'echo hello from the step' }\n\n\
         [[step]]\nid = \"bye\"\nuses = \"shell\"\nneeds = [\"hello\"]\nwith = { command = 'echo bye' }\n",
    );
    home.workflow(
        "long",
        "name = \"long\"\n\n[[step]]\nid = \"wait\"\nuses = \"shell\"\nwith = { command = 'echo waiting; exec sleep 300' }\n",
    );
    let server = wire::start(home.path(), &["--no-auth"]);
    let mut ws = wire::connect(server.addr, None).await.expect("connect");
    let mut acks = Acks::new();
    wire::send(&mut ws, &ClientFrame::Subscribe { topics: vec![Topic::Workflows], since: None }).await;
    let first = until(&mut ws, &mut acks, |e| matches!(e, Event::Workflows(_))).await;
    let Some(Event::Workflows(snap)) = first.last() else { unreachable!() };
    let mut names: Vec<&str> = snap.workflows.iter().map(|w| w.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["long", "quick"], "the snapshot at subscription lists the workflows");
    let quick = snap.workflows.iter().find(|w| w.name == "quick").expect("quick");
    assert_eq!(quick.steps.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["hello", "bye"]);
    assert!(snap.runs.is_empty(), "no run yet");

    // A quick run, watched to its end.
    wire::send(&mut ws, &start_run("w-1", "quick")).await;
    let events =
        until(&mut ws, &mut acks, |e| matches!(e, Event::RunChanged(r) if r.workflow == "quick" && r.state.is_final()))
            .await;
    let Some(Event::RunChanged(end)) = events.last() else { unreachable!() };
    assert_eq!(end.state, RunState::Succeeded, "{end:?}");
    let id = end.id;
    assert_eq!(ack(&mut ws, &mut acks, "w-1").await, serde_json::json!({ "run": id }));
    assert!(events.iter().any(|e| matches!(e, Event::RunChanged(r) if r.id == id && r.state == RunState::Running)));
    let step_states: Vec<(String, RunState)> = events
        .iter()
        .filter_map(|e| match e {
            Event::StepChanged { run, step, .. } if *run == id => Some((step.id.clone(), step.state)),
            _ => None,
        })
        .collect();
    for s in ["hello", "bye"] {
        for st in [RunState::Running, RunState::Succeeded] {
            assert!(step_states.contains(&(s.to_string(), st)), "step {s} {} announced: {step_states:?}", st.word());
        }
    }
    let output: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::StepOutput { run, step, lines, .. } if *run == id => {
                Some(lines.iter().map(|l| format!("{step}: {l}")).collect::<Vec<_>>())
            }
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(output, ["hello: hello from the step", "bye: bye"]);

    // A long run, cancelled once its step prints.
    wire::send(&mut ws, &start_run("w-2", "long")).await;
    let mut long = None;
    until(&mut ws, &mut acks, |e| match e {
        Event::StepOutput { run, lines, .. } if lines.iter().any(|l| l == "waiting") => {
            long = Some(*run);
            true
        }
        _ => false,
    })
    .await;
    let long = long.expect("the long run's output");
    assert_eq!(ack(&mut ws, &mut acks, "w-2").await, serde_json::json!({ "run": long }));
    wire::send(&mut ws, &command("w-3", WorkflowsCommand::CancelRun { run: long })).await;
    let events =
        until(&mut ws, &mut acks, |e| matches!(e, Event::RunChanged(r) if r.id == long && r.state.is_final())).await;
    let Some(Event::RunChanged(end)) = events.last() else { unreachable!() };
    assert_eq!(end.state, RunState::Cancelled, "{end:?}");
    assert_eq!(ack(&mut ws, &mut acks, "w-3").await, serde_json::json!({ "run": long, "cancelled": true }));
    assert!(
        events.iter().any(|e| matches!(e, Event::StepChanged { run, step, .. }
            if *run == long && step.id == "wait" && step.state == RunState::Cancelled)),
        "the step is cancelled too: {events:?}"
    );
    drop(server);
}

#[test]
fn a_second_terminal_approves_a_step_of_a_run_held_by_serve() {
    let home = Home::new();
    home.workflow(
        "gated",
        "name = \"gated\"\n\n[[step]]\nid = \"ask\"\nuses = \"approve\"\nmessage = \"go ahead?\"\n\n\
         [[step]]\nid = \"after\"\nuses = \"shell\"\nneeds = [\"ask\"]\nwith = { command = 'echo approved and done' }\n",
    );
    let server = wire::start(home.path(), &["--no-auth"]);
    let run: RunId = home.ok(&["run", "gated"]).trim().parse().expect("opsdeck run prints the run's number");
    let n = run.to_string();
    wait_for("the approve step to wait", || {
        let d = home.show(run);
        (d.steps[0].state == RunState::Waiting).then_some(())
    });
    let waiting = home.show(run);
    assert_eq!(waiting.run.state, RunState::Waiting);
    assert_eq!(waiting.steps[0].args.as_ref().map(|a| a["message"].clone()), Some("go ahead?".into()));
    home.ok(&["runs", "approve", &n, "ask", "--note", "looks fine"]);
    let d = wait_for("the run to end", || {
        let d = home.show(run);
        d.run.state.is_final().then_some(d)
    });
    assert_eq!(d.run.state, RunState::Succeeded, "{d:?}");
    let decision = d.steps[0].decision.clone().expect("the decision is recorded");
    assert!(decision.approved);
    assert_eq!(decision.by, USER, "who approved");
    assert_eq!(decision.note, "looks fine");
    assert!(decision.at >= d.steps[0].started.unwrap_or(i64::MAX), "when: {decision:?}");
    assert_eq!(d.steps[1].state, RunState::Succeeded);
    let log = home.ok(&["runs", "show", &n, "--log", "after"]);
    assert_eq!(log.trim(), "approved and done");
    // A second approval is refused: the step is no longer waiting.
    let again = home.out(&["runs", "approve", &n, "ask"]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again.stderr));
    assert!(text(&again.stderr).contains("not waiting"), "{}", text(&again.stderr));
    drop(server);
}

#[test]
fn dry_run_prints_the_plan_and_runs_nothing_and_bad_usage_is_refused() {
    let home = Home::new();
    let marker = home.path().join("ran.txt");
    home.workflow(
        "plan",
        &format!(
            "name = \"plan\"\n\n[inputs.host]\ntype = \"string\"\nrequired = true\n\n\
             [[step]]\nid = \"connect\"\nuses = \"shell\"\n\
             with = {{ command = 'echo {{{{ inputs.host }}}} {{{{ secret(\"x\") }}}} > {m}' }}\n",
            m = marker.display()
        ),
    );
    home.workflow("other", "name = \"other\"\n\n[[step]]\nid = \"a\"\nuses = \"shell\"\nwith = { command = 'true' }\n");
    let mut cmd = home.cmd(&["run", "plan", "--dry-run", "-i", "host=db1"]);
    cmd.env(opsdeck::secrets::env_var_name("x"), SECRET);
    let out = wf::output_within(cmd, LIMIT);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("plan of plan"), "{stdout}");
    assert!(stdout.contains("connect") && stdout.contains("[changes things]"), "{stdout}");
    assert!(stdout.contains("echo db1 ••••"), "resolved, the secret masked: {stdout}");
    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET), "{stdout}\n{stderr}");
    assert!(!marker.exists(), "a dry run runs nothing");
    assert_eq!(home.runs(), [], "a dry run records no run");

    let out = home.out(&["run", "nope"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("nope") && err.contains("other") && err.contains("plan"), "names the workflows: {err}");

    let out = home.out(&["run", "plan", "--input", "bad"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("KEY=VALUE"), "{}", text(&out.stderr));
    let out = home.out(&["run", "plan"]);
    assert_eq!(out.status.code(), Some(1), "a missing required input: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("input host is required"), "{}", text(&out.stderr));
    assert_eq!(home.runs(), [], "nothing was started");
}
