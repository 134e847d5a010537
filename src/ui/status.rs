//! The status bar: sources and their state, key hints from the keymap, warnings, clock.

use chrono::{FixedOffset, Offset, TimeZone, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{AppState, Link};
use crate::config::theme::{Role, Theme};
use crate::text;
use crate::ui::widgets::fit::spans_width;
use crate::ui::widgets::fmt;

pub fn render(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let bar = t.style(Role::StatusBar);
    let mut left: Vec<Span> = Vec::new();
    let stale_after = s.stale_after();
    let tz = FixedOffset::east_opt(s.utc_offset_s).unwrap_or_else(|| Utc.fix());
    let hhmm =
        |ts: i64| tz.timestamp_millis_opt(ts).single().map(|d| d.format("%H:%M").to_string()).unwrap_or_default();
    for src in &s.sources {
        let (glyph, word, role) = match (&src.link, src.last_event) {
            (Link::Connecting, _) => ("○", "connecting".to_string(), Role::StatusInfo),
            (Link::Retrying { at, .. }, _) => {
                let since = src.offline_since.map(|t| format!(", offline since {}", hhmm(t))).unwrap_or_default();
                ("◌", format!("retry in {}{since}", fmt::age(at - s.now)), Role::StatusFailed)
            }
            (Link::Refused { status, .. }, _) => (
                "⊘",
                format!("refused ({status}): opsdeck key set backend:{}, then R", text::clean(&src.name)),
                Role::StatusFailed,
            ),
            (_, None) => ("○", "waiting".to_string(), Role::StatusInfo),
            (_, Some(ts)) if s.now - ts <= stale_after => ("●", "live".to_string(), Role::StatusOk),
            (_, Some(ts)) => ("◌", format!("stale {}", fmt::age(s.now - ts)), Role::StatusWarn),
        };
        left.push(Span::styled(format!(" {glyph} {} {word} ", text::clean(&src.name)), t.style(role)));
        if src.queued > 0 {
            left.push(Span::styled(format!("⧗ {} queued ", src.queued), t.style(Role::StatusWarn)));
        }
    }
    // Alert counts, on every screen.
    let (firing, pending, acked) = s.alerts.counts();
    if firing > 0 {
        left.push(Span::styled(
            format!(" ▲ {firing} firing "),
            t.style(Role::StatusFailed).add_modifier(ratatui::style::Modifier::BOLD),
        ));
    }
    if pending > 0 {
        left.push(Span::styled(format!(" △ {pending} pending "), t.style(Role::StatusWarn)));
    }
    if acked > 0 {
        left.push(Span::styled(format!(" ✔ {acked} acked "), t.style(Role::StatusInfo)));
    }
    // Workflow runs in flight, waiting for a person, failed in the last day.
    let (running, waiting, failed) = s.workflows.counts(s.now);
    if running > 0 {
        left.push(Span::styled(format!(" ▶{running} running "), t.style(Role::StatusInfo)));
    }
    if waiting > 0 {
        left.push(Span::styled(
            format!(" ⏸{waiting} waiting "),
            t.style(Role::StatusWarn).add_modifier(ratatui::style::Modifier::BOLD),
        ));
    }
    if failed > 0 {
        left.push(Span::styled(format!(" ✗{failed} failed "), t.style(Role::StatusFailed)));
    }
    // Counts of zero are no all-clear while a source's alerts are unknown.
    let unread = s.alerts.health.failed.len();
    if unread > 0 {
        let what = if unread == 1 { "1 alert source" } else { "alert sources" };
        let n = if unread == 1 { String::new() } else { format!("{unread} ") };
        left.push(Span::styled(format!(" ◌ {n}{what} unread "), t.style(Role::StatusFailed)));
    }
    if !s.pending.is_empty() {
        left.push(Span::styled(
            format!(" {} … ", crate::config::keymap::format_keys(&s.pending)),
            t.style(Role::HintKey),
        ));
    }
    let clock = tz.timestamp_millis_opt(s.now).single().map(|d| d.format("%H:%M").to_string()).unwrap_or_default();
    let mut right = Vec::new();
    if !s.warnings.is_empty() {
        let n = s.warnings.len();
        right.push(Span::styled(
            format!(" ⚠ {n} config problem{} (defaults in use) ", if n == 1 { "" } else { "s" }),
            t.style(Role::StatusWarn),
        ));
    }
    let notice_at = right.len();
    if s.read_only {
        right.push(Span::styled(" read-only ", t.style(Role::StatusInfo)));
    }
    right.push(Span::styled(format!(" {clock} "), bar));
    // A notice (often outside text: a path, an error) takes what the rest of
    // the right part leaves, cut with `…`, so the clock never disappears.
    if let Some((at, notice)) = &s.notice
        && s.now - at < 5_000
    {
        let room = usize::from(area.width).saturating_sub(spans_width(&right) + 3);
        if room > 0 {
            right.insert(notice_at, Span::styled(format!(" {} ", text::fit(notice, room)), t.style(Role::StatusInfo)));
        }
    }
    let rw = spans_width(&right);
    // Whole hints only, as many as fit before the right part.
    let mut used = spans_width(&left);
    for (k, d) in &s.hints {
        let w = text::width(k) + text::width(d) + 3;
        if used + w + rw > usize::from(area.width) {
            break;
        }
        used += w;
        left.push(Span::styled(format!(" {}", text::clean(k)), t.style(Role::HintKey)));
        left.push(Span::styled(format!(" {} ", text::clean(d)), t.style(Role::HintDesc)));
    }
    f.render_widget(Paragraph::new(Line::from(left)).style(bar), area);
    if usize::from(area.width) > rw {
        let rw = rw as u16;
        f.render_widget(
            Paragraph::new(Line::from(right)).style(bar),
            Rect::new(area.x + area.width - rw, area.y, rw, 1),
        );
    }
}
