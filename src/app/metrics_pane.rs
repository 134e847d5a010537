//! Glue between the app and the metrics pane: its [`PaneSpec`].

use crate::protocol::HostCommand;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

use serde_json::Value;

use super::overlay::SignalPopup;
use super::pane::{self, Hint, PaneSpec};
use super::{AppState, BoxId, Ctx, Effect, KeyContext, Overlay, Pane, UserAction, list};
use crate::protocol::{Command, SIGNALS};

pub(super) static SPEC: PaneSpec = PaneSpec {
    pane: Pane::Metrics,
    number: 1,
    title: "Metrics",
    boxes: &[
        (BoxId::Cpu, "CPU"),
        (BoxId::Memory, "Memory"),
        (BoxId::Network, "Network"),
        (BoxId::Disks, "Disks"),
        (BoxId::Processes, "Processes"),
    ],
    // A btop/htop user's first move is j/k in the process list.
    start: BoxId::Processes,
    context: KeyContext::Metrics,
    capture,
    on_user,
    on_popup,
    select: |s, b, i| b == BoxId::Processes && s.metrics.select_row(i),
    paste: |s, text| s.metrics.paste(text),
    scroll: |s, b, rows| s.metrics.scroll(b, rows as isize),
    resize: |_, _, _| {},
    hints,
};

/// The process filter, while it is typed into, takes every key: Enter keeps
/// it, Esc clears it.
fn capture(s: &mut AppState, key: KeyEvent, _: &crate::config::keymap::Keymap) -> Option<bool> {
    if !s.metrics.filter_editing() {
        return None;
    }
    Some(match key.code {
        KeyCode::Enter => s.metrics.on_user(UserAction::Confirm, s.focus, &mut Vec::new()),
        KeyCode::Esc => s.metrics.clear_filter(),
        _ => s.metrics.filter_input(key),
    })
}

fn on_user(s: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    let on_process = s.focus == BoxId::Processes;
    match a {
        // Enter on a process: its details, from the host that runs it.
        UserAction::Confirm if on_process && !s.metrics.filter_editing() => {
            let Some(p) = s.metrics.selected_proc() else { return false };
            let (source, pid) = (s.metrics.cur().name.clone(), p.pid);
            if !s.process_host_up(&source, "reading a process's details", ctx.now) {
                return true;
            }
            s.notice = Some((ctx.now, format!("reading process {pid}…")));
            if let Some(id) =
                s.send_command(source, Command::Host(HostCommand::ProcessDetails { pid }), "process details", effects)
            {
                s.details_pending.insert(id);
            }
            true
        }
        UserAction::FilterUser => {
            let Some(user) = s.metrics.selected_proc().map(|p| p.user.clone()) else { return false };
            if user.is_empty() {
                s.notice = Some((ctx.now, "this host does not say who runs its processes".into()));
                return true;
            }
            s.metrics.filter_user(&user)
        }
        UserAction::SignalProcess if s.read_only => {
            s.refuse_read_only("sending a signal to a process");
            true
        }
        UserAction::SignalProcess => {
            let Some(p) = s.metrics.selected_proc() else { return false };
            let popup = SignalPopup {
                source: s.metrics.cur().name.clone(),
                pid: p.pid,
                name: p.name.clone(),
                selected: 0,
                confirming: false,
            };
            s.overlay = Some(Overlay::Signal(Box::new(popup)));
            true
        }
        a => s.metrics.on_user(a, s.focus, effects),
    }
}

/// The signal popup: a list of signals (TERM first), Enter asks "send it?",
/// `y`/Enter sends, `n`/Esc goes back, Esc again closes.
fn on_popup(s: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> Option<bool> {
    let Some(Overlay::Signal(p)) = &mut s.overlay else { return None };
    if !p.confirming && list::apply(a, &mut p.selected, SIGNALS.len(), list::PAGE).is_some() {
        return Some(true);
    }
    match a {
        UserAction::Confirm if !p.confirming => p.confirming = true,
        UserAction::Confirm => {
            let (source, pid, name) = (p.source.clone(), p.pid, p.name.clone());
            let signal = SIGNALS[p.selected.min(SIGNALS.len() - 1)].to_string();
            s.overlay = None;
            if !s.process_host_up(&source, "sending a signal", ctx.now) {
                return Some(true);
            }
            // Reads right after ✓ (done) and after "refused" alike.
            let what = format!("{signal} to process {pid} ({name})");
            s.send_command(source, Command::Host(HostCommand::Signal { pid, signal }), &what, effects);
        }
        UserAction::Close if p.confirming => p.confirming = false,
        UserAction::Close | UserAction::Quit => s.overlay = None,
        _ => return Some(false),
    }
    Some(true)
}

/// A process's details arrived (or could not be read): shown in a message.
pub(super) fn details_answered(s: &mut AppState, source: &str, result: Result<Value, String>, ctx: &Ctx) {
    let v = match result {
        Ok(v) => v,
        Err(e) => {
            s.notice = Some((ctx.now, format!("✗ {source}: {e}")));
            return;
        }
    };
    let text = |k: &str| match &v[k] {
        Value::Null => "-".to_string(),
        Value::String(x) => x.clone(),
        other => other.to_string(),
    };
    let started =
        v["started"].as_i64().and_then(|t| chrono::DateTime::from_timestamp(t + i64::from(s.utc_offset_s), 0));
    let lines = vec![
        format!("command    {}", text("cmd")),
        format!("user       {}", text("user")),
        format!("started    {}", started.map_or_else(|| "-".into(), |d| d.format("%Y-%m-%d %H:%M:%S").to_string())),
        format!("state      {}", text("status")),
        format!("parent     {}", text("parent")),
        format!("threads    {}", text("threads")),
        format!("open files {}", text("open_files")),
        format!(
            "memory     {}",
            v["memory"].as_u64().map_or_else(|| "-".into(), |b| format!("{:.1} MiB", b as f64 / 1_048_576.0))
        ),
        format!("cgroup     {}", text("cgroup")),
    ];
    let title = format!("Process {} {} on {source}", text("pid"), text("name"));
    // The answer is on screen: "reading process N…" is done.
    s.notice = None;
    s.overlay = Some(Overlay::message(title, lines));
}

fn hints(s: &AppState, focus: BoxId) -> Vec<Hint> {
    use UserAction as U;
    if s.metrics.filter_editing() {
        return pane::editing_line();
    }
    let mut v = Vec::new();
    if s.zoomed {
        v.push(Hint::Bound(U::Close, Some("unzoom")));
    } else if s.metrics.has_filter() {
        v.push(Hint::Bound(U::Close, Some("clear filter")));
    }
    if s.metrics.frozen.is_some() {
        v.push(Hint::Bound(U::FreezeToggle, Some("unfreeze")));
    }
    v.extend(pane::bound(&[U::Help, U::CommandPalette]));
    if focus == BoxId::Processes {
        v.extend([Hint::Bound(U::Confirm, Some("details")), Hint::Bound(U::SignalProcess, None)]);
    }
    v.push(Hint::Bound(U::FocusNext, None));
    if !s.zoomed {
        v.push(Hint::Bound(U::ZoomToggle, None));
    }
    v.push(Hint::Bound(U::WindowNext, None));
    if s.metrics.frozen.is_none() {
        v.push(Hint::Bound(U::FreezeToggle, None));
    }
    v.extend(pane::bound(&[U::Filter, U::SortNext, U::Quit]));
    v
}

impl AppState {
    /// Whether `source` is reachable now; if not, says so in a notice. A
    /// process action is about this moment: never queued in a backend's
    /// outbox (a pid signalled an hour later may be another process).
    fn process_host_up(&mut self, source: &str, what: &str, now: crate::protocol::Ts) -> bool {
        let down = self.sources.iter().any(|x| x.name == source && x.link.is_down());
        if down {
            self.notice = Some((now, format!("{source} is offline: {what} needs it connected (not queued)")));
        }
        !down
    }
}
