//! Step processes an opsdeck that was killed (`kill -9`, a crash, power cut
//! of the terminal) left running.
//!
//! A `shell` step runs in its own process group, which cancel kills; but a
//! killed opsdeck kills nothing, and its steps' processes live on as orphans.
//! Resuming the interrupted run would then start the step again beside the
//! old copy. So every step process carries [`OWNER_VAR`] in its environment,
//! naming the data directory whose engine started it, and the next engine on
//! that directory stops the processes that still carry it (SIGKILL, process
//! group and all) before it marks the runs interrupted. Only one engine holds
//! a data directory at a time, so a process carrying its name is a leftover.
//! A process that cleared its environment (`env -i`) is not found.

use std::path::Path;

/// The environment variable naming the data directory whose engine started
/// a step process: `OPSDECK_STEP_OWNER=/home/ana/.local/share/opsdeck`.
pub const OWNER_VAR: &str = "OPSDECK_STEP_OWNER";

/// The owner value of an engine whose store is at `data_dir`.
pub fn owner(data_dir: &Path) -> String {
    data_dir.display().to_string()
}

/// Stop every process (other than this one) whose environment says
/// `OWNER_VAR=owner`, with its process group when it leads one. Returns the
/// pids stopped, in ascending order. Processes of other users, and those
/// that end meanwhile, are skipped; nothing here fails.
pub fn stop(owner: &str) -> Vec<u32> {
    let me = std::process::id();
    let mut found = carrying(Path::new("/proc"), owner);
    found.retain(|p| *p != me);
    for &pid in &found {
        kill(pid);
    }
    found
}

/// The pids under `proc_root` (a `/proc`) whose environment holds
/// `OWNER_VAR=owner` exactly.
fn carrying(proc_root: &Path, owner: &str) -> Vec<u32> {
    let want = format!("{OWNER_VAR}={owner}");
    let Ok(dir) = std::fs::read_dir(proc_root) else { return Vec::new() };
    let mut pids: Vec<u32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // Unreadable (another user's, or gone): not ours to stop.
            std::fs::read(proc_root.join(pid.to_string()).join("environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == want.as_bytes()))
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// SIGKILL `pid`, and its process group when it leads one (a `sh` of a step
/// does: what it started in the group goes too).
fn kill(pid: u32) {
    #[cfg(unix)]
    {
        use rustix::process::{Pid, Signal, getpgid, kill_process, kill_process_group};
        let Some(p) = i32::try_from(pid).ok().filter(|p| *p > 1).and_then(Pid::from_raw) else { return };
        if getpgid(Some(p)).is_ok_and(|g| g == p) {
            let _ = kill_process_group(p, Signal::KILL);
        }
        let _ = kill_process(p, Signal::KILL);
        tracing::warn!(pid, "stopped a step process a killed opsdeck left running");
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::{Command, Stdio};

    use super::*;

    /// A `sh` leading its own group, with a `sleep` in it, as a step runs.
    fn step_process(owner: &str) -> std::process::Child {
        Command::new("sh")
            .arg("-c")
            .arg("sleep 60 & wait")
            .env(OWNER_VAR, owner)
            .stdin(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("sh")
    }

    /// Whether any process of group `pgid` is alive.
    fn group_alive(pgid: u32) -> bool {
        std::fs::read_dir("/proc").expect("proc").filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()).any(
            |pid| {
                std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                    // pid (comm) state ppid pgrp …: comm may hold spaces, so read after its ')'.
                    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
                    let fields: Vec<&str> = after.split_whitespace().collect();
                    fields.first() != Some(&"Z") && fields.get(2) == Some(&pgid.to_string().as_str())
                })
            },
        )
    }

    #[test]
    fn the_step_processes_of_this_data_dir_are_stopped_with_their_group_and_no_others() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mine = owner(dir.path());
        let other = format!("{mine}-other");
        let mut leftover = step_process(&mine);
        let mut bystander = step_process(&other);
        let pgid = leftover.id();
        // The variable is in the environment once sh has exec'd: wait for it to show.
        let seen = (0..200).any(|_| {
            if carrying(Path::new("/proc"), &mine).contains(&pgid) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
            false
        });
        assert!(seen, "the leftover carries the owner");
        // Its sleep is in its group, and reported as carrying it too.
        let stopped = stop(&mine);
        assert!(stopped.contains(&pgid), "{stopped:?}");
        let status = leftover.wait().expect("wait");
        assert_eq!(status.signal(), Some(9), "SIGKILLed");
        let gone = (0..200).any(|_| {
            if !group_alive(pgid) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
            false
        });
        assert!(gone, "the whole group is gone, sleep included");
        assert!(bystander.try_wait().expect("try_wait").is_none(), "another data dir's step is left alone");
        let _ = bystander.kill();
        let _ = bystander.wait();
    }

    #[test]
    fn an_owner_is_matched_exactly_never_by_prefix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let env = |pid: &str, vars: &[&str]| {
            std::fs::create_dir_all(root.join(pid)).expect("dir");
            std::fs::write(root.join(pid).join("environ"), vars.join("\0")).expect("environ");
        };
        env("10", &["PATH=/bin", "OPSDECK_STEP_OWNER=/data/a"]);
        env("11", &["OPSDECK_STEP_OWNER=/data/ab"]);
        env("12", &["XOPSDECK_STEP_OWNER=/data/a"]);
        env("self", &["OPSDECK_STEP_OWNER=/data/a"]);
        env("13", &["OPSDECK_STEP_OWNER=/data/a", ""]);
        assert_eq!(carrying(root, "/data/a"), [10, 13]);
        assert!(carrying(&root.join("missing"), "/data/a").is_empty());
    }
}
