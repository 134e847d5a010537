//! A shell step of a killed opsdeck (the tester's report: `kill -9` while a
//! `sleep 30` step ran; the step lived on, and `resume` started it a second
//! time beside it). The next engine on the data directory stops what the
//! killed one left running — the step's whole process group — before it
//! marks the run interrupted.

use opsdeck::protocol::workflow::RunState;

mod wf;

use wf::{Home, gone, wait_for};

/// The live processes whose process group is `pgid`.
fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                // pid (comm) state ppid pgrp …: comm may hold spaces, so read after its last ')'.
                let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
                fields.first() != Some(&"Z") && fields.get(2) == Some(&pgid.to_string().as_str())
            })
        })
        .collect()
}

#[test]
fn a_killed_servers_shell_step_is_stopped_with_its_group_when_the_next_engine_starts() {
    let home = Home::new();
    let started = home.path().join("started");
    let started_s = started.display().to_string();
    assert!(!started_s.contains(['\'', '"', ' ']), "a path the shell command can hold as is: {started_s}");
    home.workflow(
        "nap",
        &format!(
            "name = \"nap\"\n\n[[step]]\nid = \"nap\"\nuses = \"shell\"\nwith = {{ command = 'touch {started_s}; sleep 300; echo woke' }}\n"
        ),
    );
    let server = home.serve();
    home.ok(&["run", "nap"]);
    wait_for("the step to start", || started.exists().then_some(()));
    let sh = wait_for("the step's sh", || wf::processes_mentioning(&started_s).first().copied());
    let members = wait_for("its sleep", || {
        let m = group_members(sh);
        (m.len() >= 2).then_some(m)
    });
    drop(server); // SIGKILL: nothing stops the step
    assert!(!gone(sh), "a killed serve leaves its step running (what this test is about)");

    // The next engine on the data directory (here a headless `opsdeck runs`).
    let runs = home.runs();
    assert_eq!(runs.iter().map(|r| r.state).collect::<Vec<_>>(), [RunState::Interrupted]);
    for pid in &members {
        wait_for("the leftover step process to be stopped", || gone(*pid).then_some(()));
    }
    assert!(group_members(sh).is_empty(), "the whole group is gone");
}
