//! The host collector: one `sysinfo` refresh per tick, turned into a `HostSnapshot`.

use std::collections::HashSet;
use std::time::Instant;

use sysinfo::{
    CpuRefreshKind, Disks, MemoryRefreshKind, Networks, ProcessRefreshKind, ProcessesToUpdate, RefreshKind, System,
    UpdateKind,
};

use crate::protocol::{DiskInfo, HostSnapshot, NetInfo, ProcInfo, Ts};

/// Filesystems that are not storage a person cares about.
const PSEUDO_FS: &[&str] =
    &["tmpfs", "devtmpfs", "squashfs", "proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue", "nsfs", "ramfs"];

pub struct HostCollector {
    sys: System,
    /// User names by uid, read again when an unknown uid shows up (at most once a minute).
    users: std::collections::HashMap<u32, String>,
    users_read: Option<Instant>,
    disks: Option<Disks>,
    nets: Option<Networks>,
    last: Option<Instant>,
    hostname: String,
}

impl HostCollector {
    /// Fails when the platform's system information cannot be read at all.
    pub fn new() -> Result<Self, sysinfo::Error> {
        let sys = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing().with_usage())
                .with_memory(MemoryRefreshKind::everything()),
        )?;
        Ok(HostCollector {
            sys,
            users: Default::default(),
            users_read: None,
            // Disks and interfaces are optional: a host without them still has CPU and memory.
            disks: Disks::new_with_refreshed_list().ok(),
            nets: Networks::new_with_refreshed_list().ok(),
            last: None,
            hostname: System::host_name().unwrap_or_else(|_| "localhost".into()),
        })
    }

    /// Refresh everything and return the figures at `ts`. Rates are per second
    /// over the time since the previous call (zero on the first).
    pub fn collect(&mut self, ts: Ts) -> HostSnapshot {
        let now = Instant::now();
        let dt = self.last.map_or(0.0, |l| now.duration_since(l).as_secs_f64());
        self.last = Some(now);
        let rate = |bytes: u64| if dt > 0.0 { bytes as f64 / dt } else { 0.0 };

        self.sys.refresh_cpu_usage();
        self.sys.refresh_memory();
        self.sys.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing()
                .with_cpu()
                .with_memory()
                .with_cmd(UpdateKind::OnlyIfNotSet)
                .with_user(UpdateKind::OnlyIfNotSet)
                .without_tasks(),
        );
        if let Some(d) = &mut self.disks {
            d.refresh(true);
        }
        if let Some(n) = &mut self.nets {
            n.refresh(true);
        }

        let cpu_cores: Vec<f32> = self.sys.cpus().iter().map(|c| c.usage()).collect();
        let load = System::load_average().map_or([0.0; 3], |l| [l.one, l.five, l.fifteen]);
        let mut seen = HashSet::new();
        let mut disks = Vec::new();
        let (mut rd, mut wr) = (0.0, 0.0);
        for d in self.disks.iter().flat_map(|d| d.iter()) {
            let fs = d.file_system().to_string_lossy().into_owned();
            if PSEUDO_FS.contains(&fs.as_str()) || d.total_space() == 0 {
                continue;
            }
            let u = d.usage();
            let device = d.name().to_string_lossy().into_owned();
            let (r, w) = (rate(u.read_bytes), rate(u.written_bytes));
            if seen.insert(device.clone()) {
                rd += r;
                wr += w;
            }
            disks.push(DiskInfo {
                mount: d.mount_point().to_string_lossy().into_owned(),
                device,
                fs,
                total: d.total_space(),
                available: d.available_space(),
                read_bps: r,
                write_bps: w,
            });
        }
        disks.sort_by(|a, b| a.mount.cmp(&b.mount));

        let mut nets: Vec<NetInfo> = self
            .nets
            .iter()
            .flat_map(|n| n.iter())
            .filter(|(name, _)| name.as_os_str() != "lo")
            .map(|(name, n)| NetInfo {
                name: name.to_string_lossy().into_owned(),
                rx_bps: rate(n.received()),
                tx_bps: rate(n.transmitted()),
                rx_total: n.total_received(),
                tx_total: n.total_transmitted(),
            })
            .collect();
        nets.sort_by(|a, b| a.name.cmp(&b.name));

        let unknown = self.sys.processes().values().filter_map(|p| p.user_id()).any(|u| !self.users.contains_key(&**u));
        if unknown && self.users_read.is_none_or(|t| now.duration_since(t).as_secs() >= 60) {
            self.users_read = Some(now);
            if let Ok(list) = sysinfo::Users::new_with_refreshed_list() {
                self.users = list.iter().map(|u| (**u.id(), u.name().to_string())).collect();
            }
        }
        let users = &self.users;
        let procs = self
            .sys
            .processes()
            .values()
            .map(|p| ProcInfo {
                pid: p.pid().as_u32(),
                name: p.name().to_string_lossy().into_owned(),
                cmd: p.cmd().iter().map(|s| s.to_string_lossy()).collect::<Vec<_>>().join(" "),
                cpu: p.cpu_usage(),
                mem: p.memory(),
                status: p.status().to_string(),
                ppid: p.parent().map(|x| x.as_u32()),
                user: p
                    .user_id()
                    .map_or_else(String::new, |u| users.get(&**u).cloned().unwrap_or_else(|| format!("uid {}", **u))),
            })
            .collect();

        HostSnapshot {
            ts,
            hostname: self.hostname.clone(),
            uptime_s: System::uptime().unwrap_or(0),
            cpu_total: self.sys.global_cpu_usage(),
            cpu_cores,
            load,
            mem_total: self.sys.total_memory(),
            mem_used: self.sys.used_memory(),
            swap_total: self.sys.total_swap(),
            swap_used: self.sys.used_swap(),
            disks,
            disk_read_bps: rd,
            disk_write_bps: wr,
            nets,
            procs,
            procs_omitted: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_real_figures() {
        let mut c = HostCollector::new().unwrap();
        let a = c.collect(1000);
        let b = c.collect(2000);
        assert!(!b.cpu_cores.is_empty(), "at least one core");
        assert!(b.mem_total > 0 && b.mem_used <= b.mem_total);
        assert!((0.0..=100.0).contains(&b.cpu_total));
        assert!(b.procs.iter().any(|p| p.pid == std::process::id()), "sees itself");
        assert_eq!(a.ts, 1000);
    }
}
