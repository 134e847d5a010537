//! Attachments in the chat pane (issue 13): those waiting for the next
//! question, one line each above the input, and those a sent question
//! carries, folded to their title lines under it (the model reads the text).

use ratatui::text::Line;

use crate::app::panes::chat::ChatState;
use crate::config::theme::{Role as R, Theme};
use crate::protocol::attach::kind;
use crate::protocol::chat::Attachment;
use crate::text;
use crate::ui::widgets::fmt;

/// Lines of the input box the waiting attachments take, at most a third of
/// the box's `height` (the rest say how many more there are).
pub fn pending_rows(c: &ChatState, height: u16) -> u16 {
    let n = c.attach.items.len() + usize::from(!c.attach.gathers.is_empty());
    (n as u16).min((height / 3).max(1))
}

/// The glyph of an attachment's kind (the title names the kind too).
fn glyph(kind_: &str) -> &'static str {
    match kind_ {
        kind::ALERT => "▲",
        kind::RUN => "▶",
        kind::TOOL_RESULT => "◆",
        kind::METRICS => "▤",
        _ => "▫",
    }
}

/// `▲ alert disk_full{mount=/var} · 1.2 KiB` cut to `width` cells.
fn line(a: &Attachment, lead: &str, width: usize) -> String {
    let size = fmt::bytes(a.text.len() as f64);
    let l = format!("{lead}{} {} · {size}", glyph(&a.kind), text::clean(&a.title));
    text::fit(&l, width)
}

/// The waiting attachments' lines (`rows` of them at most), for the top of the input box.
pub fn pending_lines(c: &ChatState, rows: u16, width: usize, t: &Theme) -> Vec<Line<'static>> {
    let rows = usize::from(rows);
    let mut out: Vec<Line<'static>> = Vec::new();
    let items = &c.attach.items;
    let room = if items.len() > rows { rows.saturating_sub(1) } else { rows };
    // The newest are the ones removed first: they stay in view.
    let start = items.len().saturating_sub(room);
    for p in &items[start..] {
        out.push(Line::styled(line(&p.attachment, "+ ", width), t.style(R::TextAccent)));
    }
    if start > 0 {
        out.insert(0, Line::styled(text::fit(&format!("+ … {start} more attached"), width), t.style(R::TextDim)));
        out.truncate(rows);
    }
    if !c.attach.gathers.is_empty() && out.len() < rows {
        let runs: Vec<String> = c.attach.gathers.iter().map(|g| format!("#{}", g.run)).collect();
        let l = format!("⟳ reading run {} to attach…", runs.join(", "));
        out.push(Line::styled(text::fit(&l, width), t.style(R::StatusInfo)));
    }
    out
}

/// A sent message's attachments, folded: one line each, indented.
pub fn sent_lines(attachments: &[Attachment], width: usize, t: &Theme) -> Vec<Line<'static>> {
    attachments.iter().map(|a| Line::styled(line(a, "  + ", width), t.style(R::TextDim))).collect()
}
