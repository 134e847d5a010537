//! Glue between the app and the metrics pane: its [`PaneSpec`].

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::pane::{self, Hint, PaneSpec};
use super::{AppState, BoxId, Ctx, Effect, KeyContext, Pane, UserAction};

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
    // The fleet view and annotations are the app's own popups.
    on_popup: |_, _, _, _| None,
    select: |s, b, i| b == BoxId::Processes && s.metrics.select_row(i),
    paste: |s, text| s.metrics.paste(text),
    scroll: |s, b, rows| s.metrics.scroll(b, rows as isize),
    resize: |_, _, _| {},
    hints,
};

/// The process filter, while it is typed into, takes every key: Enter keeps
/// it, Esc clears it.
fn capture(s: &mut AppState, key: KeyEvent) -> Option<bool> {
    if !s.metrics.filter_editing() {
        return None;
    }
    Some(match key.code {
        KeyCode::Enter => s.metrics.on_user(UserAction::Confirm, s.focus, &mut Vec::new()),
        KeyCode::Esc => s.metrics.clear_filter(),
        _ => s.metrics.filter_input(key),
    })
}

fn on_user(s: &mut AppState, a: UserAction, _ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    s.metrics.on_user(a, s.focus, effects)
}

fn hints(s: &AppState, _: BoxId) -> Vec<Hint> {
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
    v.extend(pane::bound(&[U::Help, U::CommandPalette, U::FocusNext]));
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
