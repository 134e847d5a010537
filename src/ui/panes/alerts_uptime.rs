//! Health checks' uptime in the alerts pane's rules box: the 24 h / 7 d /
//! 30 d columns of each check, and the newest outages of the selected check
//! in a strip under the table (when the box has room for it).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::AppState;
use crate::app::panes::alerts::AlertsState;
use crate::config::theme::{Role, Theme};
use crate::protocol::alerts::RuleStatus;
use crate::protocol::uptime::{Outage, pct_text};
use crate::text;
use crate::ui::widgets::fit::fit_spans;
use crate::ui::widgets::fmt;

/// The columns' headers.
pub const HEADER: [&str; 3] = ["24H", "7D", "30D"];
/// Below this a figure is drawn in the warning colour (the figure is there
/// in any case: never colour alone).
const WARN_BELOW: f64 = 99.0;
/// Outage lines shown at most (plus the strip's title).
const STRIP_OUTAGES: usize = 3;
/// Table lines (header included) the strip always leaves to the table.
const TABLE_KEEPS: u16 = 4;

/// The three uptime cells of a row: empty for a rule (or a peer that sends none).
pub fn cells(r: &RuleStatus, base: Style, t: &Theme) -> [(String, Style); 3] {
    let Some(u) = &r.uptime else { return std::array::from_fn(|_| (String::new(), base)) };
    u.pcts().map(|p| {
        let style = match p {
            None => t.style(Role::TextDim),
            Some(p) if p < WARN_BELOW => t.style(Role::StatusWarn),
            Some(_) => base,
        };
        (pct_text(p), style)
    })
}

/// The check selected in the rules box, when it has outages to show.
fn selected_with_outages(a: &AlertsState) -> Option<&RuleStatus> {
    let (src, k) = a.rule_rows().into_iter().nth(a.rules_sel)?;
    let r = a.sources.get(&src)?.rules.get(k)?;
    r.uptime.as_ref().is_some_and(|u| !u.outages.is_empty()).then_some(r)
}

/// Lines the outage strip takes at the bottom of the rules box's `inner`
/// area (0 when no check with outages is selected, or the box is too low).
pub fn strip_height(inner: Rect, a: &AlertsState) -> u16 {
    let Some(r) = selected_with_outages(a) else { return 0 };
    let n = r.uptime.as_ref().map_or(0, |u| u.outages.len().min(STRIP_OUTAGES)) as u16;
    let room = inner.height.saturating_sub(TABLE_KEEPS);
    if room >= 2 { (n + 1).min(room) } else { 0 }
}

/// One outage: `11-22 08:16 → ongoing · 4m · status 503, expected 200`.
pub fn outage_text(o: &Outage, now: i64, utc_offset_s: i32) -> String {
    let tz = i64::from(utc_offset_s) * 1000;
    let at = |ts: i64, f: &str| {
        chrono::DateTime::from_timestamp_millis(ts.saturating_add(tz))
            .map_or_else(String::new, |d| d.format(f).to_string())
    };
    let end = match o.end {
        None => "ongoing".to_string(),
        // The same day: the time alone.
        Some(e) if at(e, "%m-%d") == at(o.start, "%m-%d") => at(e, "%H:%M"),
        Some(e) => at(e, "%m-%d %H:%M"),
    };
    let dur = fmt::age(o.duration_ms(now));
    let err = o.first_error.as_deref().map(|e| format!(" · {e}")).unwrap_or_default();
    format!("{} → {end} · {dur}{err}", at(o.start, "%m-%d %H:%M"))
}

/// The strip: the selected check's newest outages, under the table.
pub fn outages(f: &mut Frame, area: Rect, s: &AppState, t: &Theme) {
    let inner = area.inner(ratatui::layout::Margin::new(1, 1));
    let h = strip_height(inner, &s.alerts);
    let Some(r) = selected_with_outages(&s.alerts).filter(|_| h > 0) else { return };
    let Some(u) = &r.uptime else { return };
    let strip = Rect { y: inner.y + inner.height - h, height: h, ..inner };
    let w = usize::from(strip.width);
    let title = format!("outages of {} (newest first, {} in all)", r.name, u.outages.len());
    let mut lines = vec![Line::styled(text::fit(&text::clean(&title), w), t.style(Role::TableHeader))];
    for o in u.outages.iter().take(usize::from(h - 1)) {
        let (glyph, role) = if o.end.is_none() { ("▼ ", Role::StatusFailed) } else { ("○ ", Role::TextDim) };
        let body = text::clean(&outage_text(o, s.now, s.utc_offset_s)).into_owned();
        let spans = vec![Span::styled(glyph, t.style(role)), Span::styled(body, t.style(Role::Text))];
        lines.push(Line::from(fit_spans(spans, w)));
    }
    f.render_widget(Paragraph::new(lines), strip);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_reads_start_end_duration_and_error() {
        let start = 1_764_000_000_000; // 2025-11-24 16:00 UTC
        let o = Outage { start, end: Some(start + 25 * 60_000), first_error: Some("refused".into()) };
        assert_eq!(outage_text(&o, start + 3_600_000, 0), "11-24 16:00 → 16:25 · 25m · refused");
        let o = Outage { start, end: None, first_error: None };
        assert_eq!(outage_text(&o, start + 4 * 60_000, 3600), "11-24 17:00 → ongoing · 4m");
    }
}
