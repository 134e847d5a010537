//! What a bound key or palette entry does: popups first (fleet, annotate,
//! each pane's own, then help and the palette), then the global actions,
//! then the focused pane's `on_user`, and last the generic Esc levels.

use super::{AppState, Ctx, Effect, KeyContext, Overlay, UserAction, input, list, pane};
use crate::protocol::MetricsCommand;

/// Applies one user action; `true` when the state changed (a repaint is due).
pub(super) fn on_user(state: &mut AppState, a: UserAction, ctx: &Ctx, effects: &mut Vec<Effect>) -> bool {
    if let Some(changed) = super::lifecycle::on_quit_popup(state, a, ctx, effects) {
        return changed;
    }
    if let Some(Overlay::Fleet { selected }) = &mut state.overlay {
        let n = state.metrics.sources.len();
        if let Some(moved) = list::apply(a, selected, n, list::PAGE) {
            return moved;
        }
        match a {
            UserAction::Confirm => {
                let i = *selected;
                state.overlay = None;
                state.metrics.select_source(i);
                state.refresh_hints(ctx.keymap);
            }
            UserAction::Reconnect => {
                if let Some(src) = state.metrics.sources.get(*selected) {
                    effects.push(Effect::Reconnect { source: src.name.clone() });
                }
            }
            UserAction::Close | UserAction::Fleet | UserAction::Quit => {
                state.overlay = None;
                state.refresh_hints(ctx.keymap);
            }
            _ => return false,
        }
        return true;
    }
    if let Some(Overlay::Annotate { source, input }) = &state.overlay {
        match a {
            UserAction::Confirm => {
                let text = input.text().trim().to_string();
                let source = source.clone();
                state.overlay = None;
                state.refresh_hints(ctx.keymap);
                if !text.is_empty() {
                    let command = crate::protocol::Command::Metrics(MetricsCommand::Annotate {
                        text,
                        author: state.user.clone(),
                        at: Some(ctx.now),
                    });
                    state.send_command(source, command, "annotation recorded", effects);
                }
            }
            UserAction::Close => {
                state.overlay = None;
                state.refresh_hints(ctx.keymap);
            }
            _ => return false,
        }
        return true;
    }
    for p in pane::PANES {
        if let Some(changed) = (p.on_popup)(state, a, ctx, effects) {
            return changed;
        }
    }
    if let Some(o) = &mut state.overlay {
        let (close, run) = o.on_action(a, ctx.keymap);
        if close {
            state.overlay = None;
            state.refresh_hints(ctx.keymap);
        }
        if let Some(next) = run {
            return on_user(state, next, ctx, effects) || close;
        }
        return true;
    }
    use UserAction as U;
    match a {
        U::Quit => super::lifecycle::quit(state, ctx, effects),
        U::Suspend => effects.push(Effect::Suspend),
        U::Redraw => effects.push(Effect::Redraw),
        U::Help => {
            state.overlay = Some(Overlay::help(ctx.keymap, state.focus.context()));
            state.refresh_hints(ctx.keymap);
        }
        U::CommandPalette => {
            let ctxs = [state.focus.context(), KeyContext::Global];
            let palette = Overlay::palette(ctx.keymap, &ctxs, |a| state.applies(a));
            state.overlay = Some(palette);
            state.refresh_hints(ctx.keymap);
        }
        U::FocusNext | U::FocusPrev => {
            let order = pane::spec_of(state.focus).boxes;
            let i = order.iter().position(|(b, _)| *b == state.focus).unwrap_or(0) as i32;
            let d = if a == U::FocusNext { 1 } else { -1 };
            state.focus = order[(i + d).rem_euclid(order.len() as i32) as usize].0;
        }
        U::FocusPane1 | U::FocusPane2 | U::FocusPane3 | U::FocusPane4 | U::FocusPane5 => {
            let n = match a {
                U::FocusPane1 => 1,
                U::FocusPane2 => 2,
                U::FocusPane3 => 3,
                U::FocusPane4 => 4,
                _ => 5,
            };
            let Some(spec) = pane::by_number(n) else { return false };
            // The pane's last focused box; pressed again, where it starts.
            state.focus = if state.focus.pane() == spec.pane {
                spec.start
            } else {
                state.last_focus.get(&spec.pane).copied().unwrap_or(spec.start)
            };
        }
        U::SourceNext | U::SourcePrev => {
            return state.metrics.cycle_source(if a == U::SourceNext { 1 } else { -1 });
        }
        U::Annotate if state.read_only => state.refuse_read_only("recording an annotation"),
        U::Annotate => {
            let source = state.metrics.cur().name.clone();
            state.overlay = Some(Overlay::Annotate {
                source,
                input: Box::new(input::LineInput::new("what happened? e.g. deploy v42")),
            });
            state.refresh_hints(ctx.keymap);
        }
        U::Reload => {
            state.notice = Some((ctx.now, "reloading config.toml, theme, keymap and rules…".into()));
            effects.push(Effect::Reload);
        }
        U::Reconnect => {
            let source = state.metrics.cur().name.clone();
            if source == crate::protocol::LOCAL_SOURCE {
                let text = "the local engine runs in this process: nothing to reconnect (F lists every source)";
                state.notice = Some((ctx.now, text.into()));
            } else {
                effects.push(Effect::Reconnect { source });
            }
        }
        U::Fleet => {
            state.overlay = Some(Overlay::Fleet { selected: state.metrics.current });
            state.refresh_hints(ctx.keymap);
        }
        U::ZoomToggle => state.zoomed = !state.zoomed,
        U::AttachToChat => return super::attach::attach(state, ctx, effects),
        other => {
            let spec = pane::spec_of(state.focus);
            if (spec.on_user)(state, other, ctx, effects) {
                return true;
            }
            // Esc pops one level when the pane had nothing of its own to close
            // (a filter, a search, a comparison): zoom → normal, then back to
            // the pane's main box (form → list, detail → list).
            return match other {
                U::Close if state.zoomed => {
                    state.zoomed = false;
                    true
                }
                U::Close if state.focus != spec.start => {
                    state.focus = spec.start;
                    true
                }
                _ => false,
            };
        }
    }
    true
}
