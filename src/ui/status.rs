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
            (Link::Connected, _) if src.on_change => ("●", "live".to_string(), Role::StatusOk),
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
    let width = usize::from(area.width);
    // Laid out by priority, each part cut with `…` (never a bare cut) or left
    // out to leave room for the ones before it: the clock; the sources and
    // counts; read-only; the first key hint; the problem labels at their
    // shortest; a notice; the labels in full; more key hints.
    let clock = Span::styled(format!(" {clock} "), bar);
    let mut room = width.saturating_sub(text::width(&clock.content));
    let mut left = fit_spans(left, room);
    room = room.saturating_sub(spans_width(&left));
    let mut right = vec![clock];
    if s.read_only
        && let Some(r) = fit_span(Span::styled(" read-only ", t.style(Role::StatusInfo)), room)
    {
        room -= text::width(&r.content);
        right.insert(0, r);
    }
    // Whole hints only: the first before everything else, the rest last.
    let hint_w = |(k, d): &(String, String)| text::width(k) + text::width(d) + 3;
    let mut hints: Vec<&(String, String)> = Vec::new();
    for h in s.hints.iter().take(ESSENTIAL_HINTS) {
        if hint_w(h) > room {
            break;
        }
        room -= hint_w(h);
        hints.push(h);
    }
    // Each label at its shortest first (a notice still fits beside them),
    // then as long as the room left after the notice allows.
    let labels = labels(s);
    let mut shown: Vec<usize> = Vec::new();
    for l in &labels {
        let w = text::width(&l[2]) + 2;
        shown.push(if w <= room { 2 } else { 3 });
        room = room.saturating_sub(if w <= room { w } else { 0 });
    }
    // A notice (often outside text: a path, an error) takes what is left,
    // cut with `…`; one with too little room to be read is left out.
    let mut notice_span = None;
    if let Some((at, notice)) = &s.notice
        && s.now - at < 5_000
        && room >= MIN_NOTICE + 2
    {
        // A notice ending with a path (`✓ exported to /…/chat-1.md`) is cut
        // in the middle so the file name stays; others keep their start.
        let ends_with_path = notice.split_whitespace().next_back().is_some_and(|w| w.contains('/'));
        let text = if ends_with_path { text::fit_middle(notice, room - 2) } else { text::fit(notice, room - 2) };
        room -= text::width(&text) + 2;
        notice_span = Some(Span::styled(format!(" {text} "), t.style(Role::StatusInfo)));
    }
    for (l, form) in labels.iter().zip(shown.iter_mut()) {
        if *form == 3 {
            continue;
        }
        let now = text::width(&l[*form]);
        if let Some(longer) = (0..*form).find(|f| text::width(&l[*f]) - now <= room) {
            room -= text::width(&l[longer]) - now;
            *form = longer;
        }
    }
    let kept = labels.iter().zip(&shown).filter(|(_, f)| **f < 3);
    let spans = kept.map(|(l, f)| Span::styled(format!(" {} ", l[*f]), t.style(Role::StatusWarn)));
    // Shown in this order: the notice, the labels, read-only, the clock.
    let mut before: Vec<Span> = notice_span.into_iter().chain(spans.rev()).collect();
    before.append(&mut right);
    let right = before;
    for h in s.hints.iter().skip(hints.len()) {
        if hint_w(h) > room {
            break;
        }
        room -= hint_w(h);
        hints.push(h);
    }
    for (k, d) in hints {
        left.push(Span::styled(format!(" {}", text::clean(k)), t.style(Role::HintKey)));
        left.push(Span::styled(format!(" {} ", text::clean(d)), t.style(Role::HintDesc)));
    }
    let rw = spans_width(&right);
    f.render_widget(Paragraph::new(Line::from(left)).style(bar), area);
    if width >= rw {
        let rw = rw as u16;
        f.render_widget(
            Paragraph::new(Line::from(right)).style(bar),
            Rect::new(area.x + area.width - rw, area.y, rw, 1),
        );
    }
}

/// The problem labels, most important first, each in three forms (full,
/// short, shortest): configuration problems, other problems at start, runs
/// found interrupted.
fn labels(s: &AppState) -> Vec<[String; 3]> {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut v = Vec::new();
    if !s.warnings.is_empty() {
        let n = s.warnings.len();
        let short = format!("⚠ {n} config problem{}", plural(n));
        v.push([format!("{short} (defaults in use)"), short, format!("⚠ {n} config")]);
    }
    if !s.start.problems.is_empty() {
        let n = s.start.problems.len();
        let short = format!("⚠ {n} problem{} at start", plural(n));
        v.push([short.clone(), short, format!("⚠ {n} at start")]);
    }
    if let Some(full) = s.start.interrupted_label() {
        let n = s.start.interrupted;
        let short = format!("⏹ {n} run{} interrupted", plural(n));
        v.push([format!("⏹ {full}"), short, format!("⏹ {n} interrupted")]);
    }
    v
}

/// The key hints kept ahead of a notice and the labels (help).
const ESSENTIAL_HINTS: usize = 1;
/// A notice narrower than this is not shown (it could not be read).
const MIN_NOTICE: usize = 12;
/// A segment narrower than this is left out rather than cut.
const MIN_CUT: usize = 6;

/// `span` in at most `room` columns: whole, cut with `…` (keeping its
/// padding), or left out when that would leave too little to read.
fn fit_span(span: Span<'_>, room: usize) -> Option<Span<'_>> {
    if text::width(&span.content) <= room {
        return Some(span);
    }
    // Only its padding does not fit: it goes first.
    let trimmed = span.content.trim_end();
    if text::width(trimmed) <= room {
        return Some(Span::styled(trimmed.to_string(), span.style));
    }
    if room < MIN_CUT {
        return None;
    }
    let inner = span.content.trim_matches(' ');
    Some(Span::styled(format!(" {} ", text::fit(inner, room - 2)), span.style))
}

/// Whole spans while they fit; the first that does not is cut with `…` (or
/// left out), and the rest are left out.
fn fit_spans(spans: Vec<Span<'_>>, room: usize) -> Vec<Span<'_>> {
    let mut out = Vec::new();
    let mut left = room;
    for s in spans {
        let w = text::width(&s.content);
        if w <= left {
            left -= w;
            out.push(s);
            continue;
        }
        out.extend(fit_span(s, left));
        break;
    }
    out
}
