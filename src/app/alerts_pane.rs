//! Glue between the app and the alerts pane: commands to the alert's source,
//! the acknowledge and silence popups, and jumping to the metric.

use crate::protocol::AlertsCommand;
use ratatui::crossterm::event::KeyEvent;

use super::input::LineInput;
use super::overlay::AlertPopup;
use super::pane::{self, Hint, PaneSpec};
use super::panes::alerts::Ask;
use super::panes::silence::{SilenceDraft, SilenceField};
use super::{AppState, BoxId, Ctx, Effect, KeyContext, Overlay, Pane, UserAction};
use crate::protocol::Command;
use crate::text;

pub(super) static SPEC: PaneSpec = PaneSpec {
    pane: Pane::Alerts,
    number: 5,
    title: "Alerts",
    boxes: &[(BoxId::AlertList, "Alerts"), (BoxId::AlertDetail, "Detail"), (BoxId::AlertRules, "Rules and checks")],
    start: BoxId::AlertList,
    context: KeyContext::Alerts,
    capture,
    on_user,
    on_popup,
    select: |s, b, i| s.alerts.select_row(b, i),
    paste: |s, text| s.alerts.paste(text),
    scroll: |s, b, rows| {
        let a = if rows < 0 { UserAction::Up } else { UserAction::Down };
        let by = s.user.clone();
        (0..rows.unsigned_abs()).fold(false, |acc, _| s.alerts.on_user(a, b, &by).0 || acc)
    },
    resize: |_, _, _| {},
    hints,
};

/// The filter, while it is typed into, takes every key.
fn capture(s: &mut AppState, key: KeyEvent, _: &crate::config::keymap::Keymap) -> Option<bool> {
    s.alerts.filter_editing.then(|| s.alerts.filter_key(key))
}

fn hints(s: &AppState, focus: BoxId) -> Vec<Hint> {
    use UserAction as U;
    if s.alerts.filter_editing {
        return pane::editing_line();
    }
    let mut v = Vec::new();
    if s.zoomed {
        v.push(Hint::Bound(U::Close, Some("unzoom")));
    } else if s.alerts.filter.is_some() {
        v.push(Hint::Bound(U::Close, Some("clear filter")));
    }
    if focus == BoxId::AlertRules {
        // The rows after the rules are silences: Enter ends one.
        let on_silence = s.alerts.rules_sel >= s.alerts.rule_rows().len();
        v.extend([
            Hint::Bound(U::Help, None),
            Hint::Bound(U::Confirm, Some(if on_silence { "end silence" } else { "on/off" })),
            Hint::Bound(U::FocusNext, None),
            Hint::Bound(U::FocusPane1, None),
            Hint::Bound(U::Quit, None),
        ]);
        return v;
    }
    v.extend(pane::bound(&[
        U::Help,
        U::Acknowledge,
        U::SilenceAlert,
        U::Unsilence,
        U::JumpToMetric,
        U::Filter,
        U::ToggleResolved,
        U::FocusNext,
    ]));
    v
}

fn ask(state: &mut AppState, ask: Ask, ctx: &Ctx, effects: &mut Vec<Effect>) {
    if state.read_only {
        let refused = match &ask {
            Ask::Command { command, .. } | Ask::Confirm { command, .. } if command.changes_state() => {
                Some(command.describe())
            }
            Ask::AckNote { .. } => Some("acknowledging an alert"),
            Ask::SilenceFor { .. } => Some("silencing alerts"),
            _ => None,
        };
        if let Some(what) = refused {
            state.refuse_read_only(what);
            return;
        }
    }
    match ask {
        Ask::Command { source, command } => {
            let what = match &command {
                Command::Alerts(AlertsCommand::Unack { .. }) => "acknowledgement taken back",
                Command::Alerts(AlertsCommand::Unsilence { .. }) => "silence ended",
                Command::Alerts(AlertsCommand::SetRuleEnabled { enabled: true, .. }) => "turned on",
                Command::Alerts(AlertsCommand::SetRuleEnabled { enabled: false, .. }) => "turned off",
                _ => "done",
            };
            state.send_command(source, command, what, effects);
        }
        Ask::AckNote { source, alert } => {
            let note = LineInput::new("a note: who is on it, what you are doing");
            state.overlay = Some(Overlay::Alert(Box::new(AlertPopup::Ack { source, alert, note: Box::new(note) })));
        }
        Ask::SilenceFor { source, alert } => {
            let target = alert.as_deref().and_then(|id| state.alerts.alert(&source, id));
            let draft = SilenceDraft::new(source.clone(), target);
            state.overlay = Some(Overlay::Alert(Box::new(AlertPopup::Silence(Box::new(draft)))));
        }
        Ask::JumpTo { source, series } => {
            state.focus = match series.split(['.', ':']).next().unwrap_or_default() {
                "mem" | "swap" => BoxId::Memory,
                "net" => BoxId::Network,
                "disk" => BoxId::Disks,
                _ => BoxId::Cpu,
            };
            if let Some(i) = state.metrics.sources.iter().position(|s| s.name == source) {
                state.metrics.select_source(i);
            }
            state.notice = Some((ctx.now, format!("{series} on {source}")));
        }
        Ask::Notice(n) => state.notice = Some((ctx.now, n)),
        Ask::Confirm { source, command, question } => {
            state.overlay = Some(Overlay::Alert(Box::new(AlertPopup::Confirm { source, command, question })));
        }
    }
}

pub(super) fn on_user(state: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    // Enter on the rules box toggles the rule.
    let a = if a == UserAction::JumpToMetric && state.focus == BoxId::AlertRules { UserAction::Confirm } else { a };
    let by = state.user.clone();
    let (changed, asked) = state.alerts.on_user(a, state.focus, &by);
    if let Some(x) = asked {
        ask(state, x, ctx, effects);
        return true;
    }
    changed
}

/// A bound action while an alerts popup is open.
fn on_popup(state: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> Option<bool> {
    if !matches!(state.overlay, Some(Overlay::Alert(_))) {
        return None;
    }
    let Some(Overlay::Alert(mut p)) = state.overlay.take() else { return None };
    let by = state.user.clone();
    match (a, &mut *p) {
        (UserAction::Close, _) => {}
        (UserAction::Up | UserAction::FocusPrev, AlertPopup::Silence(d)) => {
            d.move_field(-1);
            state.overlay = Some(Overlay::Alert(p));
        }
        (UserAction::Down | UserAction::FocusNext, AlertPopup::Silence(d)) => {
            d.move_field(1);
            state.overlay = Some(Overlay::Alert(p));
        }
        (UserAction::Confirm, AlertPopup::Confirm { source, command, .. }) => {
            let what = match command {
                Command::Alerts(AlertsCommand::Unsilence { .. }) => "silence ended",
                _ => "turned off",
            };
            state.send_command(source.clone(), command.clone(), what, effects);
        }
        (UserAction::Confirm, AlertPopup::Ack { source, alert, note }) => {
            let command = Command::Alerts(AlertsCommand::Ack {
                alert: alert.clone(),
                note: note.text().trim().to_string(),
                by,
                at: Some(ctx.now),
            });
            state.send_command(source.clone(), command, "acknowledged", effects);
        }
        (UserAction::Confirm, AlertPopup::Silence(d)) => {
            let preview = d.preview(&state.alerts);
            let (mutes, of) = (preview.mutes.len(), preview.of);
            let matchers = match preview.matchers {
                Ok(m) => m,
                Err(why) => {
                    // Said, and the dialog stays open to fix it.
                    state.notice = Some((ctx.now, format!("matchers: {why}")));
                    d.field = SilenceField::Matchers;
                    state.overlay = Some(Overlay::Alert(p));
                    return Some(true);
                }
            };
            let (minutes, label) = d.duration();
            let text = d.comment.text().trim();
            let command = Command::Alerts(AlertsCommand::Silence {
                matchers,
                minutes,
                comment: if text.is_empty() { format!("silenced from opsdeck for {label}") } else { text.to_string() },
                by,
            });
            let what =
                format!("silenced for {label}: mutes {} of {of} now", text::count(mutes as u64, "alert", "alerts"));
            state.send_command(d.source.clone(), command, &what, effects);
        }
        _ => state.overlay = Some(Overlay::Alert(p)),
    }
    Some(true)
}
