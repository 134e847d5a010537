//! Glue between the app and the alerts pane: commands to the alert's source,
//! the acknowledge and silence popups, and jumping to the metric.

use super::input::LineInput;
use super::overlay::AlertPopup;
use super::panes::alerts::{Ask, SILENCE_CHOICES};
use super::{AppState, BoxId, Ctx, Effect, Overlay, UserAction};
use crate::protocol::Command;

fn ask(state: &mut AppState, ask: Ask, ctx: &Ctx, effects: &mut Vec<Effect>) {
    if state.read_only {
        let refused = match &ask {
            Ask::Command { command, .. } if command.changes_state() => Some(command.describe()),
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
                Command::Unack { .. } => "acknowledgement taken back",
                Command::Unsilence { .. } => "silence ended",
                Command::SetRuleEnabled { enabled: true, .. } => "rule enabled",
                Command::SetRuleEnabled { enabled: false, .. } => "rule disabled",
                _ => "done",
            };
            state.send_command(source, command, what, effects);
        }
        Ask::AckNote { source, alert } => {
            let note = LineInput::new("a note: who is on it, what you are doing");
            state.overlay = Some(Overlay::Alert(Box::new(AlertPopup::Ack { source, alert, note })));
        }
        Ask::SilenceFor { source, alert } => {
            let comment = LineInput::new("why (e.g. maintenance until 14:00)");
            state.overlay = Some(Overlay::Alert(Box::new(AlertPopup::Silence { source, alert, selected: 1, comment })));
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
pub(super) fn on_popup(state: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    let Some(Overlay::Alert(mut p)) = state.overlay.take() else { return false };
    let by = state.user.clone();
    match (a, &mut *p) {
        (UserAction::Close, _) => {}
        (UserAction::Up, AlertPopup::Silence { selected, .. }) => {
            *selected = selected.saturating_sub(1);
            state.overlay = Some(Overlay::Alert(p));
        }
        (UserAction::Down, AlertPopup::Silence { selected, .. }) => {
            *selected = (*selected + 1).min(SILENCE_CHOICES.len() - 1);
            state.overlay = Some(Overlay::Alert(p));
        }
        (UserAction::Confirm, AlertPopup::Ack { source, alert, note }) => {
            let command =
                Command::Ack { alert: alert.clone(), note: note.text().trim().to_string(), by, at: Some(ctx.now) };
            state.send_command(source.clone(), command, "acknowledged", effects);
        }
        (UserAction::Confirm, AlertPopup::Silence { source, alert, selected, comment }) => {
            let Some(target) = state.alerts.alert(source, alert) else {
                state.notice = Some((ctx.now, format!("{alert} is gone")));
                return true;
            };
            let (minutes, label) = SILENCE_CHOICES[*selected];
            let text = comment.text().trim();
            let command = Command::Silence {
                matchers: target.matchers(),
                minutes,
                comment: if text.is_empty() { format!("silenced from opsdeck for {label}") } else { text.to_string() },
                by,
            };
            state.send_command(source.clone(), command, &format!("silenced for {label}"), effects);
        }
        _ => state.overlay = Some(Overlay::Alert(p)),
    }
    true
}
