//! The selected alert's timeline in the detail box: its transitions and the
//! notification attempts about it, newest first; a failed attempt's answer
//! (the SMTP or HTTP reply, which says what to fix) is wrapped, never cut.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::AppState;
use crate::config::theme::{Role, Theme};
use crate::protocol::alerts::{Alert, AlertState};
use crate::text;
use crate::ui::widgets::fit::fit_spans;

/// Lines a failed attempt's text may take.
const FAILED_LINES: usize = 4;

/// The timeline of `al` (of source `src`) in `area`.
pub(super) fn timeline(f: &mut Frame, area: Rect, s: &AppState, src: &str, al: &Alert, t: &Theme) {
    if area.height < 2 {
        return;
    }
    let dim = t.style(Role::TextDim);
    let mut lines = vec![Line::styled("timeline", t.style(Role::TableHeader))];
    let tz = i64::from(s.utc_offset_s) * 1000;
    let clock = |ts: i64| {
        chrono::DateTime::from_timestamp_millis(ts + tz)
            .map(|d| d.format("%m-%d %H:%M:%S").to_string())
            .unwrap_or_default()
    };
    let mut events: Vec<(i64, Line)> = s
        .alerts
        .timeline
        .iter()
        .filter(|(source, tr)| source == src && tr.alert == al.id)
        .map(|(_, tr)| {
            let to = match tr.to {
                AlertState::Firing => "▲ firing",
                AlertState::Pending => "△ pending",
                AlertState::Resolved => "○ resolved",
            };
            let v = tr
                .value_text
                .as_deref()
                .map(|t| format!(" ({})", text::clean(t)))
                .or(tr.value.map(|v| format!(" ({v:.2})")))
                .unwrap_or_default();
            (tr.at, Line::from(vec![Span::styled(format!("{} ", clock(tr.at)), dim), Span::raw(format!("{to}{v}"))]))
        })
        .collect();
    let w = usize::from(area.width);
    let mut failed: Vec<(i64, Vec<Line>)> = Vec::new();
    events.extend(s.alerts.deliveries.iter().filter(|(source, d)| source == src && d.alert == al.id).filter_map(
        |(_, d)| {
            let stamp = Span::styled(format!("{} ", clock(d.at)), dim);
            match &d.error {
                None => {
                    let sent = text::clean(&format!("✉ sent to {}", d.channel)).into_owned();
                    Some((d.at, Line::from(vec![stamp, Span::styled(sent, t.style(Role::StatusOk))])))
                }
                Some(e) => {
                    // An SMTP or HTTP answer is the fix: wrapped (up to FAILED_LINES lines) under its time, never cut.
                    let text =
                        text::clean(&format!("✉ {} failed (attempt {}): {e}", d.channel, d.attempt)).into_owned();
                    let indent = stamp.content.chars().count();
                    let style = t.style(Role::StatusFailed);
                    let rows = text::wrap_words(&text, w.saturating_sub(indent).max(10));
                    let n = rows.len();
                    let mut shown: Vec<Line> = rows
                        .into_iter()
                        .take(FAILED_LINES)
                        .enumerate()
                        .map(|(i, r)| {
                            let lead = if i == 0 { stamp.clone() } else { Span::raw(" ".repeat(indent)) };
                            Line::from(vec![lead, Span::styled(r, style)])
                        })
                        .collect();
                    if n > FAILED_LINES
                        && let Some(last) = shown.last_mut()
                    {
                        last.spans.push(Span::styled("…", style));
                    }
                    failed.push((d.at, shown));
                    None
                }
            }
        },
    ));
    let mut rows: Vec<(i64, Vec<Line>)> = events.into_iter().map(|(at, l)| (at, vec![l])).collect();
    rows.extend(failed);
    rows.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    lines.extend(
        rows.into_iter()
            .flat_map(|(_, ls)| ls)
            .map(|l| Line::from(fit_spans(l.spans, w)))
            .take(area.height as usize - 1),
    );
    f.render_widget(Paragraph::new(lines), area);
}
