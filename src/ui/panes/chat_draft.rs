//! The workflow draft under the chat transcript: where it goes, why it
//! does not check (when it does not), the diff against the file it changes
//! or the whole new file with line numbers, and the keys to save, edit or
//! drop it. Changed lines are marked `+`/`-`, never by colour alone.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::panes::chat::{ChatState, Proposal};
use crate::config::theme::{Role as R, Theme};
use crate::text;
use crate::ui::boxed;

/// Rows the draft takes of a transcript area `h` rows high (0: none shown).
pub fn height(c: &ChatState, h: u16) -> u16 {
    match &c.proposal {
        Some(_) if h >= 10 => (h * 2 / 3).max(6),
        _ => 0,
    }
}

pub fn render(f: &mut Frame, area: Rect, c: &ChatState, t: &Theme) {
    let Some(p) = &c.proposal else { return };
    let dim = t.style(R::TextDim);
    let file = p
        .place
        .as_ref()
        .and_then(|pl| pl.path.file_name())
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "?".into());
    let (what, role) = match (&p.place, &p.problems) {
        (_, Some(_)) => ("does not check".to_string(), R::StatusFailed),
        (Some(pl), None) if pl.previous.is_some() => (format!("✓ checks · a change to {file}"), R::StatusOk),
        (Some(_), None) => (format!("✓ checks · new file {file}"), R::StatusOk),
        (None, None) => ("unchecked".to_string(), R::StatusWarn),
    };
    let title = Line::from(vec![Span::raw("Workflow draft · "), Span::styled(what, t.style(role))]);
    let block = boxed(title, false, t, area.width);
    let body = block.inner(area);
    f.render_widget(block, area);
    if body.height == 0 || body.width == 0 {
        return;
    }
    let w = usize::from(body.width);
    let [k_save, k_edit, k_drop] = &c.draft_keys;
    let keys = if p.problems.is_some() {
        format!("{k_edit} edit in $EDITOR · {k_drop} drop · nothing is saved")
    } else {
        format!("{k_save} save · {k_edit} edit in $EDITOR · {k_drop} drop")
    };
    let mut lines = lines(p, w, t);
    let room = usize::from(body.height).saturating_sub(1);
    if lines.len() > room {
        let more = lines.len() - room + 1;
        lines.truncate(room.saturating_sub(1));
        let l = format!("… {} more ({k_edit} shows it whole; z zooms)", text::count(more as u64, "line", "lines"));
        lines.push(Line::styled(text::fit(&l, w), dim));
    }
    // The keys stay on the box's last row.
    let [top, last] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(body);
    f.render_widget(Paragraph::new(lines), top);
    f.render_widget(Paragraph::new(Line::styled(text::fit(&keys, w), t.style(R::TextAccent))), last);
}

/// The problems (when any), then the diff (a change) or the numbered file.
fn lines(p: &Proposal, w: usize, t: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if let Some(problems) = &p.problems {
        // A problem is said whole (wrapped); its hint follows, dimmed.
        for l in problems.lines() {
            let (said, style) = if l.starts_with(char::is_whitespace) {
                (format!("  {}", text::clean(l.trim())), t.style(R::TextDim))
            } else {
                (format!("✗ {}", text::clean(l.trim())), t.style(R::StatusFailed))
            };
            for part in text::wrap_words(&said, w.max(1)) {
                out.push(Line::styled(part, style));
            }
        }
    }
    if let Some(diff) = p.place.as_ref().and_then(|pl| pl.diff.as_deref()).filter(|_| p.problems.is_none()) {
        // The file names are in the title: the headers are left out.
        for l in diff.lines().skip_while(|l| l.starts_with("---") || l.starts_with("+++")) {
            let role = if l.starts_with("@@") {
                R::TextDim
            } else if l.starts_with('+') {
                R::StatusOk
            } else if l.starts_with('-') {
                R::StatusFailed
            } else {
                R::Text
            };
            out.push(Line::styled(text::fit(&text::clean(l), w), t.style(role)));
        }
        return out;
    }
    let n = p.content.lines().count().max(1);
    let digits = n.to_string().len();
    for (i, l) in p.content.lines().enumerate() {
        let num = Span::styled(format!("{:>digits$} │ ", i + 1), t.style(R::TextDim));
        let room = w.saturating_sub(digits + 3);
        out.push(Line::from(vec![num, Span::styled(text::fit(&text::clean(l), room), t.style(R::Text))]));
    }
    out
}
