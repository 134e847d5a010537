//! The metrics pane: tiered history for charts, the latest host snapshot,
//! the process table (sort, filter, selection), window and freeze.

use ratatui::crossterm::event::KeyEvent;

use crate::app::input::LineInput;
use crate::app::{BoxId, Effect, UserAction};
use crate::config::settings::{Config, Marker, SortKey, Thresholds, Window};
use crate::protocol::{Envelope, Event, HostSnapshot, LOCAL_SOURCE, ProcInfo, Ts};
use crate::series::{TieredSeries, default_tiers};

/// What one source (the local engine or a backend) has sent.
pub struct SourceData {
    pub name: String,
    pub series: TieredSeries,
    pub latest: Option<Box<HostSnapshot>>,
    /// When stored history was loaded: the chart's right edge until a live sample arrives.
    pub history_at: Option<Ts>,
    /// Annotations (time, text, author), oldest first, at most [`MAX_ANNOTATIONS`].
    pub annotations: Vec<(Ts, String, String)>,
}

/// Annotations kept per source.
pub const MAX_ANNOTATIONS: usize = 100;

impl SourceData {
    fn new(name: &str, refresh_ms: i64) -> Self {
        SourceData {
            name: name.into(),
            series: TieredSeries::new(&default_tiers(refresh_ms)),
            latest: None,
            history_at: None,
            annotations: Vec::new(),
        }
    }
}

/// Metrics-specific actions (besides the bound `UserAction`s).
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsAction {
    SetWindow(Window),
    SetMarker(Marker),
    SetSort(SortKey, bool),
}

pub struct MetricsState {
    /// Every source seen, the local engine first.
    pub sources: Vec<SourceData>,
    /// Index into `sources` of the one on screen.
    pub current: usize,
    pub window: Window,
    pub marker: Marker,
    /// When frozen: the instant the charts and table stay at.
    pub frozen: Option<(Ts, Box<HostSnapshot>)>,
    pub sort: SortKey,
    pub sort_desc: bool,
    pub filter: LineInput,
    pub filter_editing: bool,
    /// Processes after filter and sort (what the table shows).
    pub procs: Vec<ProcInfo>,
    /// Show processes as a tree; `guides[i]` is drawn before `procs[i]`'s name.
    pub tree: bool,
    pub guides: Vec<String>,
    pub selected: usize,
    pub selected_pid: Option<u32>,
    pub disk_offset: usize,
    pub thresholds: Thresholds,
    pub refresh_ms: i64,
}

impl MetricsState {
    pub fn new(config: &Config) -> Self {
        let refresh_ms = config.refresh.as_millis() as i64;
        MetricsState {
            sources: vec![SourceData::new(LOCAL_SOURCE, refresh_ms)],
            current: 0,
            window: config.metrics.window,
            marker: config.metrics.marker,
            frozen: None,
            sort: config.metrics.sort,
            sort_desc: default_desc(config.metrics.sort),
            filter: LineInput::new("name, command or pid"),
            filter_editing: false,
            tree: false,
            guides: Vec::new(),
            procs: Vec::new(),
            selected: 0,
            selected_pid: None,
            disk_offset: 0,
            thresholds: config.metrics.thresholds,
            refresh_ms,
        }
    }

    /// The source on screen.
    pub fn cur(&self) -> &SourceData {
        &self.sources[self.current.min(self.sources.len() - 1)]
    }

    /// Switch to the next (+1) or previous (-1) source; false if there is only one.
    pub fn cycle_source(&mut self, delta: isize) -> bool {
        let n = self.sources.len() as isize;
        if n < 2 {
            return false;
        }
        self.select_source((self.current as isize + delta).rem_euclid(n) as usize);
        true
    }

    /// Show source `i`; frozen views and selections belong to the old one.
    pub fn select_source(&mut self, i: usize) {
        if i < self.sources.len() && i != self.current {
            self.current = i;
            self.frozen = None;
            self.selected = 0;
            self.selected_pid = None;
            self.disk_offset = 0;
            self.rebuild_procs();
        }
    }

    /// Make sure a source exists (a backend that has not sent anything yet can be shown).
    pub fn ensure_source(&mut self, name: &str) {
        let refresh = self.refresh_ms;
        self.source_mut(name, refresh);
    }

    fn source_mut(&mut self, name: &str, refresh_ms: i64) -> &mut SourceData {
        let i = match self.sources.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.sources.push(SourceData::new(name, refresh_ms));
                self.sources.len() - 1
            }
        };
        &mut self.sources[i]
    }

    /// Forget what a source sent (its history was reset); a snapshot follows.
    pub fn reset_source(&mut self, name: &str) {
        if let Some(src) = self.sources.iter_mut().find(|s| s.name == name) {
            let refresh = src.series.tiers.first().map_or(self.refresh_ms, |t| t.spec.step_ms);
            *src = SourceData::new(name, refresh);
        }
    }

    /// The snapshot on screen: the frozen one, else the latest.
    pub fn shown(&self) -> Option<&HostSnapshot> {
        match &self.frozen {
            Some((_, s)) => Some(s),
            None => self.cur().latest.as_deref(),
        }
    }

    /// End of the chart window: the frozen instant, else the latest sample,
    /// else when history was loaded (so stored history shows before any sample).
    pub fn chart_end(&self) -> Option<Ts> {
        let cur = self.cur();
        self.frozen.as_ref().map(|f| f.0).or(cur.latest.as_ref().map(|l| l.ts)).or(cur.history_at)
    }

    pub fn ingest(&mut self, env: &Envelope) {
        let is_current = self.cur().name == env.source;
        let refresh = self.refresh_ms;
        match &env.event {
            Event::HostSample(snap) => {
                let src = self.source_mut(&env.source, refresh);
                src.series.push(snap.ts, &snap.series_values());
                src.latest = Some(snap.clone());
                if is_current && self.frozen.is_none() {
                    self.rebuild_procs();
                }
            }
            Event::Annotation { text, author } => {
                let src = self.source_mut(&env.source, refresh);
                // Kept in time order: one delivered late from an outbox goes where it was made.
                let at = src.annotations.partition_point(|a| a.0 <= env.ts);
                src.annotations.insert(at, (env.ts, text.clone(), author.clone()));
                if src.annotations.len() > MAX_ANNOTATIONS {
                    src.annotations.remove(0);
                }
            }
            Event::Alerts(_)
            | Event::ToolOutput { .. }
            | Event::ToolFinished { .. }
            | Event::Workflows(_)
            | Event::RunChanged(_)
            | Event::StepChanged { .. }
            | Event::StepOutput { .. } => {}
            Event::MetricsHistory(snap) | Event::SeriesSamples(snap) => {
                // A remote source's finest tier follows its own refresh interval.
                let step = snap.tiers.first().map_or(refresh, |t| t.step_ms);
                let src = self.source_mut(&env.source, step);
                // Created before its first data (or the remote changed its interval): re-tier.
                if src.series.tiers.iter().all(|t| t.spec.step_ms != step) {
                    src.series = TieredSeries::new(&default_tiers(step));
                }
                src.series.load_snapshot(snap);
                src.history_at = Some(env.ts);
            }
        }
    }

    pub fn filter_editing(&self) -> bool {
        self.filter_editing
    }

    pub fn has_filter(&self) -> bool {
        self.filter_editing || !self.filter.text().is_empty()
    }

    /// Esc on the filter: cleared, and typing in it stops. Whether there was one.
    pub fn clear_filter(&mut self) -> bool {
        if !self.has_filter() {
            return false;
        }
        self.filter = LineInput::new("name, command or pid");
        self.filter_editing = false;
        self.rebuild_procs();
        true
    }

    /// Show only the processes of `user` (the filter reads `user:NAME`).
    pub fn filter_user(&mut self, user: &str) -> bool {
        self.filter = LineInput::new("name, command or pid");
        self.filter.paste(&format!("user:{user}"));
        self.filter_editing = false;
        self.rebuild_procs();
        true
    }

    /// The process the table's selection is on.
    pub fn selected_proc(&self) -> Option<&ProcInfo> {
        self.procs.get(self.selected)
    }

    pub fn filter_input(&mut self, key: KeyEvent) -> bool {
        let changed = self.filter.input(key);
        if changed {
            self.selected = 0;
            self.selected_pid = None;
            self.rebuild_procs();
        }
        changed
    }

    pub fn paste(&mut self, text: &str) -> bool {
        if !self.filter_editing {
            return false;
        }
        self.filter.paste(text);
        self.rebuild_procs();
        true
    }

    /// Re-apply filter and sort to the shown snapshot, keeping the selected pid.
    pub fn rebuild_procs(&mut self) {
        let q = self.filter.text().trim();
        // A source with no snapshot yet has no processes: never the last one's.
        let Some(src) = self.shown() else {
            self.procs.clear();
            self.guides.clear();
            self.selected = 0;
            return;
        };
        // `user:NAME` terms keep one user's processes; the other words are
        // matched as one phrase against the name, the command or the pid.
        let (users, words): (Vec<&str>, Vec<&str>) = q.split_whitespace().partition(|w| w.starts_with("user:"));
        let user = users.last().map(|u| &u["user:".len()..]);
        let q = words.join(" ");
        let mut v: Vec<ProcInfo> = src
            .procs
            .iter()
            .filter(|p| {
                user.is_none_or(|u| p.user == u)
                    && (q.is_empty()
                        || crate::text::contains_ci(&p.name, &q)
                        || crate::text::contains_ci(&p.cmd, &q)
                        || p.pid.to_string() == q)
            })
            .cloned()
            .collect();
        let desc = self.sort_desc;
        v.sort_by(|a, b| {
            let o = match self.sort {
                SortKey::Cpu => a.cpu.total_cmp(&b.cpu).then(a.mem.cmp(&b.mem)),
                SortKey::Memory => a.mem.cmp(&b.mem).then(a.cpu.total_cmp(&b.cpu)),
                SortKey::Pid => a.pid.cmp(&b.pid),
                SortKey::Name => crate::text::cmp_ci(&a.name, &b.name),
            };
            let o = if desc { o.reverse() } else { o };
            o.then(a.pid.cmp(&b.pid))
        });
        (self.procs, self.guides) = if self.tree { super::process_tree::arrange(v) } else { (v, Vec::new()) };
        if let Some(pid) = self.selected_pid
            && let Some(i) = self.procs.iter().position(|p| p.pid == pid)
        {
            self.selected = i;
        }
        self.selected = self.selected.min(self.procs.len().saturating_sub(1));
    }

    fn select(&mut self, i: isize) {
        let last = self.procs.len().saturating_sub(1) as isize;
        self.selected = i.clamp(0, last.max(0)) as usize;
        self.selected_pid = self.procs.get(self.selected).map(|p| p.pid);
    }

    /// A click on row `i` of the process table.
    pub fn select_row(&mut self, i: usize) -> bool {
        if i >= self.procs.len() || i == self.selected {
            return false;
        }
        self.select(i as isize);
        true
    }

    /// Mouse wheel over a box.
    pub fn scroll(&mut self, b: BoxId, delta: isize) -> bool {
        match b {
            BoxId::Processes => {
                self.select(self.selected as isize + delta);
                true
            }
            BoxId::Disks => {
                let n = self.shown().map_or(0, |s| s.disks.len());
                self.disk_offset = (self.disk_offset as isize + delta).clamp(0, n.saturating_sub(1) as isize) as usize;
                true
            }
            _ => false,
        }
    }

    fn set_sort(&mut self, key: SortKey, effects: &mut Vec<Effect>) {
        if self.sort == key {
            self.sort_desc = !self.sort_desc;
        } else {
            self.sort = key;
            self.sort_desc = default_desc(key);
        }
        self.rebuild_procs();
        effects.push(self.save_prefs());
    }

    pub fn update(&mut self, a: MetricsAction, _effects: &mut [Effect]) -> bool {
        match a {
            MetricsAction::SetWindow(w) => self.window = w,
            MetricsAction::SetMarker(m) => self.marker = m,
            MetricsAction::SetSort(k, desc) => {
                self.sort = k;
                self.sort_desc = desc;
                self.rebuild_procs();
            }
        }
        true
    }

    /// Bound actions while a metrics box has focus.
    pub fn on_user(&mut self, a: UserAction, focus: BoxId, effects: &mut Vec<Effect>) -> bool {
        use UserAction as U;
        let page = 10;
        let nav =
            |s: &mut Self, d: isize| s.scroll(if focus == BoxId::Disks { BoxId::Disks } else { BoxId::Processes }, d);
        match a {
            U::Up => return nav(self, -1),
            U::Down => return nav(self, 1),
            U::PageUp => return nav(self, -page),
            U::PageDown => return nav(self, page),
            U::Top => return nav(self, -(isize::MAX / 2)),
            U::Bottom => return nav(self, isize::MAX / 2),
            U::WindowNext | U::WindowPrev => {
                let w = self.window.step(if a == U::WindowNext { 1 } else { -1 });
                if w == self.window {
                    return false;
                }
                self.window = w;
                effects.push(self.save_prefs());
            }
            U::FreezeToggle => {
                self.frozen = match self.frozen.take() {
                    Some(_) => None,
                    None => self.cur().latest.as_ref().map(|l| (l.ts, l.clone())),
                };
                self.rebuild_procs();
            }
            U::MarkerCycle => {
                self.marker = self.marker.next();
                effects.push(self.save_prefs());
            }
            U::Filter => self.filter_editing = true,
            U::Close => return self.clear_filter(),
            U::Confirm => {
                if !self.filter_editing {
                    return false;
                }
                self.filter_editing = false;
            }
            U::SortNext => self.set_sort(self.sort.next(), effects),
            U::SortCpu => self.set_sort(SortKey::Cpu, effects),
            U::SortMemory => self.set_sort(SortKey::Memory, effects),
            U::SortPid => self.set_sort(SortKey::Pid, effects),
            U::SortName => self.set_sort(SortKey::Name, effects),
            U::SortReverse => {
                self.sort_desc = !self.sort_desc;
                self.rebuild_procs();
                effects.push(self.save_prefs());
            }
            U::TreeToggle => {
                self.tree = !self.tree;
                self.rebuild_procs();
                effects.push(self.save_prefs());
            }
            _ => return false,
        }
        true
    }
}

fn default_desc(k: SortKey) -> bool {
    matches!(k, SortKey::Cpu | SortKey::Memory)
}

pub fn sort_name(k: SortKey) -> &'static str {
    match k {
        SortKey::Cpu => "cpu",
        SortKey::Memory => "memory",
        SortKey::Pid => "pid",
        SortKey::Name => "name",
    }
}
