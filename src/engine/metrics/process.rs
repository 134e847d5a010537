//! One process on demand: its details (`HostCommand::ProcessDetails`) and
//! signals (`HostCommand::Signal`), through sysinfo (no `unsafe` here) and
//! `/proc/PID/cgroup`.

use crate::protocol::HostCommand;
use serde_json::{Value, json};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, Signal, System, UpdateKind, Users};

use crate::protocol::SIGNALS;

/// A system that knows process `pid` (everything about it), or an error
/// that says it is gone.
fn one(pid: u32) -> Result<System, String> {
    let mut sys = System::new_with_specifics(sysinfo::RefreshKind::nothing()).map_err(|e| e.to_string())?;
    let kind = ProcessRefreshKind::everything().with_cmd(UpdateKind::Always).with_user(UpdateKind::Always);
    sys.refresh_processes_specifics(ProcessesToUpdate::Some(&[Pid::from_u32(pid)]), true, kind);
    if sys.process(Pid::from_u32(pid)).is_none() {
        return Err(format!("process {pid} is gone (it ended, or this host has no such process)"));
    }
    Ok(sys)
}

/// The name of a user id, from the system's user list (`uid N` if unknown).
pub fn user_name(users: &Users, uid: &sysinfo::Uid) -> String {
    users.get_user_by_id(uid).map_or_else(|| format!("uid {}", **uid), |u| u.name().to_string())
}

/// The host's commands: a process's details, or a signal (see
/// [`HostCommand`](crate::protocol::HostCommand)).
pub fn command(c: crate::protocol::HostCommand) -> Result<Value, String> {
    match c {
        HostCommand::ProcessDetails { pid } => details(pid),
        HostCommand::Signal { pid, signal: name } => signal(pid, &name),
    }
}

/// Details of `pid`: see `HostCommand::ProcessDetails` for the shape.
pub fn details(pid: u32) -> Result<Value, String> {
    let sys = one(pid)?;
    let p = sys.process(Pid::from_u32(pid)).ok_or_else(|| format!("process {pid} is gone"))?;
    let users = Users::new_with_refreshed_list().ok();
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok().map(|c| cgroup_paths(&c));
    Ok(json!({
        "pid": pid,
        "name": p.name().to_string_lossy(),
        "cmd": p.cmd().iter().map(|s| s.to_string_lossy()).collect::<Vec<_>>().join(" "),
        "user": p.user_id().map(|u| users.as_ref().map_or_else(|| format!("uid {}", **u), |us| user_name(us, u))),
        "started": p.start_time(),
        "threads": p.tasks().map(|t| t.len().max(1)),
        "open_files": p.open_files(),
        "cgroup": cgroup,
        "status": p.status().to_string(),
        "parent": p.parent().map(|x| x.as_u32()),
        "memory": p.memory(),
    }))
}

/// The cgroup(s) of a `/proc/PID/cgroup` text: the v2 path (`0::/system.slice/x.service`),
/// or under cgroup v1 the distinct paths of its controllers, the root `/` only
/// when there is nothing else.
fn cgroup_paths(text: &str) -> String {
    let mut paths: Vec<&str> = Vec::new();
    for p in text.lines().filter_map(|l| l.splitn(3, ':').nth(2)).map(str::trim) {
        if !p.is_empty() && p != "/" && !paths.contains(&p) {
            paths.push(p);
        }
    }
    if paths.is_empty() { "/".to_string() } else { paths.join(", ") }
}

/// Send `signal` (a name from [`SIGNALS`]) to `pid`; answer `{pid, signal}`.
pub fn signal(pid: u32, signal: &str) -> Result<Value, String> {
    let sig = match signal {
        "TERM" => Signal::Term,
        "KILL" => Signal::Kill,
        "INT" => Signal::Interrupt,
        "HUP" => Signal::Hangup,
        "QUIT" => Signal::Quit,
        "STOP" => Signal::Stop,
        "CONT" => Signal::Continue,
        "USR1" => Signal::User1,
        "USR2" => Signal::User2,
        other => return Err(format!("unknown signal `{other}`: use one of {}", SIGNALS.join(", "))),
    };
    if pid <= 1 || pid == std::process::id() {
        return Err(format!("opsdeck does not signal process {pid} (init or itself)"));
    }
    let sys = one(pid)?;
    let p = sys.process(Pid::from_u32(pid)).ok_or_else(|| format!("process {pid} is gone"))?;
    match p.kill_with(sig) {
        Some(true) => Ok(json!({ "pid": pid, "signal": signal })),
        Some(false) => Err(format!("{signal} to {pid} was refused (not your process? it needs the same user or root)")),
        None => Err(format!("{signal} is not available on this system")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroups_read_as_their_distinct_paths() {
        assert_eq!(cgroup_paths("0::/system.slice/postgresql.service\n"), "/system.slice/postgresql.service");
        let v1 = "12:pids:/docker/6dfae8\n11:cpu,cpuacct:/docker/6dfae8\n10:memory:/\n1:name=systemd:/docker/6dfae8\n";
        assert_eq!(cgroup_paths(v1), "/docker/6dfae8");
        assert_eq!(cgroup_paths("3:cpu:/\n2:memory:/\n"), "/");
        assert_eq!(cgroup_paths("garbage"), "/");
    }

    #[test]
    fn details_of_a_real_process_and_errors_in_words() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().expect("sleep");
        let pid = child.id();
        // Just after exec the kernel names the process before its command
        // line is readable (empty for a moment): ask until it is.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let d = loop {
            let d = details(pid).expect("details");
            if d["cmd"].as_str() != Some("") || std::time::Instant::now() > deadline {
                break d;
            }
            std::thread::yield_now();
        };
        assert_eq!((d["pid"].as_u64(), d["name"].as_str()), (Some(u64::from(pid)), Some("sleep")));
        assert_eq!(d["cmd"].as_str(), Some("sleep 30"));
        assert!(d["started"].as_u64().is_some_and(|s| s > 1_600_000_000), "{d}");
        assert!(d["user"].as_str().is_some_and(|u| !u.is_empty()), "{d}");
        assert!(signal(pid, "BOGUS").unwrap_err().contains("unknown signal `BOGUS`"));
        assert!(signal(1, "TERM").unwrap_err().contains("does not signal process 1"));
        assert_eq!(signal(pid, "TERM").expect("sent"), json!({"pid": pid, "signal": "TERM"}));
        let status = child.wait().expect("wait");
        assert!(!status.success(), "TERM ended it: {status:?}");
        assert!(details(pid).unwrap_err().contains("is gone"));
    }
}
