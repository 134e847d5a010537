//! One collection of host figures.

use serde::{Deserialize, Serialize};

use super::Ts;

/// Everything the host collector measured at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct HostSnapshot {
    pub ts: Ts,
    pub hostname: String,
    pub uptime_s: u64,
    /// Total CPU busy, 0–100.
    #[serde(deserialize_with = "super::float::f32_or_nan")]
    pub cpu_total: f32,
    /// Per logical core, 0–100.
    #[serde(deserialize_with = "super::float::vec_f32_or_nan")]
    pub cpu_cores: Vec<f32>,
    #[serde(deserialize_with = "super::float::f64x3_or_nan")]
    pub load: [f64; 3],
    pub mem_total: u64,
    pub mem_used: u64,
    pub swap_total: u64,
    pub swap_used: u64,
    pub disks: Vec<DiskInfo>,
    /// Bytes per second read from / written to all disks.
    #[serde(deserialize_with = "super::float::f64_or_nan")]
    pub disk_read_bps: f64,
    #[serde(deserialize_with = "super::float::f64_or_nan")]
    pub disk_write_bps: f64,
    pub nets: Vec<NetInfo>,
    pub procs: Vec<ProcInfo>,
    /// Processes left out of `procs` (a sample replayed from the event log,
    /// or cut to fit a frame, keeps the busiest ones): the host ran
    /// `procs.len() + procs_omitted`. Absent on the wire when 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub procs_omitted: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A mounted filesystem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct DiskInfo {
    pub mount: String,
    pub device: String,
    pub fs: String,
    pub total: u64,
    pub available: u64,
    #[serde(deserialize_with = "super::float::f64_or_nan")]
    pub read_bps: f64,
    #[serde(deserialize_with = "super::float::f64_or_nan")]
    pub write_bps: f64,
}

impl DiskInfo {
    pub fn used(&self) -> u64 {
        self.total.saturating_sub(self.available)
    }
    pub fn used_pct(&self) -> f32 {
        if self.total == 0 { 0.0 } else { (self.used() as f64 * 100.0 / self.total as f64) as f32 }
    }
}

/// A network interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct NetInfo {
    pub name: String,
    #[serde(deserialize_with = "super::float::f64_or_nan")]
    pub rx_bps: f64,
    #[serde(deserialize_with = "super::float::f64_or_nan")]
    pub tx_bps: f64,
    pub rx_total: u64,
    pub tx_total: u64,
}

/// A process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ProcInfo {
    pub pid: u32,
    pub name: String,
    pub cmd: String,
    /// Percent of one core (may exceed 100 on several cores).
    #[serde(deserialize_with = "super::float::f32_or_nan")]
    pub cpu: f32,
    pub mem: u64,
    pub status: String,
    /// The parent's pid (the tree view), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u32>,
    /// Who runs it: a user name, or `uid N` when the name is unknown.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
}

impl HostSnapshot {
    /// How many processes the host ran (including those left out).
    pub fn procs_total(&self) -> usize {
        self.procs.len() + self.procs_omitted as usize
    }

    /// This snapshot with only the `n` busiest processes (by CPU, then
    /// memory), the rest counted in `procs_omitted`.
    pub fn with_top_procs(&self, n: usize) -> HostSnapshot {
        let mut procs: Vec<&ProcInfo> = self.procs.iter().collect();
        let busy = |p: &ProcInfo| if p.cpu.is_finite() { p.cpu } else { f32::MIN };
        procs.sort_by(|a, b| busy(b).total_cmp(&busy(a)).then(b.mem.cmp(&a.mem)));
        procs.truncate(n);
        let dropped = self.procs.len() - procs.len();
        HostSnapshot {
            ts: self.ts,
            hostname: self.hostname.clone(),
            uptime_s: self.uptime_s,
            cpu_total: self.cpu_total,
            cpu_cores: self.cpu_cores.clone(),
            load: self.load,
            mem_total: self.mem_total,
            mem_used: self.mem_used,
            swap_total: self.swap_total,
            swap_used: self.swap_used,
            disks: self.disks.clone(),
            disk_read_bps: self.disk_read_bps,
            disk_write_bps: self.disk_write_bps,
            nets: self.nets.clone(),
            procs: procs.into_iter().cloned().collect(),
            procs_omitted: self.procs_omitted.saturating_add(u32::try_from(dropped).unwrap_or(u32::MAX)),
        }
    }

    pub fn mem_pct(&self) -> f32 {
        pct(self.mem_used, self.mem_total)
    }
    pub fn swap_pct(&self) -> f32 {
        pct(self.swap_used, self.swap_total)
    }
    pub fn net_rx_bps(&self) -> f64 {
        self.nets.iter().map(|n| n.rx_bps).sum()
    }
    pub fn net_tx_bps(&self) -> f64 {
        self.nets.iter().map(|n| n.tx_bps).sum()
    }

    /// The named series values this snapshot contributes to history.
    pub fn series_values(&self) -> Vec<(String, f32)> {
        let mut v = Vec::with_capacity(12 + self.cpu_cores.len() + self.nets.len() * 2);
        v.push(("cpu.total".to_string(), self.cpu_total));
        for (i, c) in self.cpu_cores.iter().enumerate() {
            v.push((format!("cpu.core.{i}"), *c));
        }
        v.push(("load.1".into(), self.load[0] as f32));
        v.push(("load.5".into(), self.load[1] as f32));
        v.push(("load.15".into(), self.load[2] as f32));
        // The 5-minute load per core: comparable across machines (alert rules use it).
        if !self.cpu_cores.is_empty() {
            v.push(("load.per_core".into(), (self.load[1] / self.cpu_cores.len() as f64) as f32));
        }
        v.push(("mem.used_pct".into(), self.mem_pct()));
        v.push(("swap.used_pct".into(), self.swap_pct()));
        v.push(("disk.read_bps".into(), self.disk_read_bps as f32));
        v.push(("disk.write_bps".into(), self.disk_write_bps as f32));
        v.push(("net.rx_bps".into(), self.net_rx_bps() as f32));
        v.push(("net.tx_bps".into(), self.net_tx_bps() as f32));
        for d in &self.disks {
            v.push((format!("disk.used_pct:{}", d.mount), d.used_pct()));
        }
        v
    }
}

fn pct(used: u64, total: u64) -> f32 {
    if total == 0 { 0.0 } else { (used as f64 * 100.0 / total as f64) as f32 }
}
