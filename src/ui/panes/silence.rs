//! The silence dialog (see `app::panes::silence`): its three fields and,
//! under them, what the matchers mute now or what is wrong with them.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use super::alerts::shown_style;
use crate::app::AppState;
use crate::app::panes::alerts::Shown;
use crate::app::panes::silence::{SilenceDraft, SilenceField};
use crate::config::theme::{Role, Theme};
use crate::text;
use crate::ui::overlay::popup as popup_block;
use crate::ui::widgets::fit::fit_spans;

/// At most this many muted alerts are listed under the preview line.
const MUTED_SHOWN: usize = 5;

/// The silence dialog: matchers, duration, comment, and what it mutes now.
pub fn popup(f: &mut Frame, body: Rect, s: &AppState, d: &SilenceDraft, t: &Theme) {
    let title = match &d.alert {
        Some(a) => format!("Silence {}", text::clean(a)),
        None => format!("New silence on {}", text::clean(&d.source)),
    };
    let preview = d.preview(&s.alerts);
    // The line under the fields: what is wrong, or what it mutes.
    let (headline, role) = match &preview.matchers {
        Err(why) => (format!("✗ {why}"), Role::StatusFailed),
        Ok(_) if preview.mutes.is_empty() => (
            format!(
                "mutes none of the {} now (it still mutes matching alerts that fire later)",
                text::count(preview.of as u64, "current alert", "current alerts")
            ),
            Role::StatusWarn,
        ),
        Ok(_) => (
            format!("mutes {} of {} now:", preview.mutes.len(), text::count(preview.of as u64, "alert", "alerts")),
            Role::StatusInfo,
        ),
    };
    let listed = preview.mutes.len().min(MUTED_SHOWN) + usize::from(preview.mutes.len() > MUTED_SHOWN);
    // As wide as the matchers and the headline want (up to the screen); a
    // headline still too long wraps rather than being cut.
    let want_w = (text::width(d.matchers.text()) + 12).max(text::width(&headline)).max(68);
    let first = crate::ui::overlay::sized(body, &title, want_w, 6 + listed);
    let inner_w = usize::from(first.width.saturating_sub(2)).max(1);
    let head_rows = text::width(&headline).div_ceil(inner_w).max(1);
    let r = crate::ui::overlay::sized(body, &title, want_w, 5 + head_rows + listed);
    f.render_widget(Clear, r);
    let block = popup_block(&title, r.width, t);
    let inner = block.inner(r);
    f.render_widget(block, r);
    if inner.height < 4 {
        return;
    }
    let row = |k: u16| Rect { y: inner.y + k, height: 1, ..inner };
    let label = |field: SilenceField, name: &str| {
        let on = d.field == field;
        Span::styled(
            format!("{}{name:<9}", if on { "▸" } else { " " }),
            t.style(if on { Role::TextAccent } else { Role::TextDim }),
        )
    };
    let field_input =
        |f: &mut Frame, r: Rect, field: SilenceField, name: &str, input: &crate::app::input::LineInput| {
            let [p, i] = Layout::horizontal([Constraint::Length(10), Constraint::Min(1)]).areas(r);
            f.render_widget(label(field, name), p);
            // Only the focused field shows its cursor.
            let cursor = if d.field == field { t.style(Role::InputCursor) } else { t.style(Role::Input) };
            f.render_widget(&input.widget(t.style(Role::Input), cursor), i);
        };
    field_input(f, row(0), SilenceField::Matchers, "matchers", &d.matchers);
    f.render_widget(
        Line::styled("          =  !=  =~ regex  !~ regex · \"a b\" for spaces", t.style(Role::TextDim)),
        row(1),
    );
    let (_, dur) = d.duration();
    let choice =
        if d.field == SilenceField::Duration { format!("‹ {dur} ›  (←/→)") } else { format!("‹ {dur} ›") };
    f.render_widget(Line::from(vec![label(SilenceField::Duration, "for"), Span::raw(choice)]), row(2));
    field_input(f, row(3), SilenceField::Comment, "comment", &d.comment);
    if inner.height < 6 {
        return;
    }
    let head_rows = (head_rows as u16).min(inner.height - 5);
    let head = Rect { y: inner.y + 5, height: head_rows, ..inner };
    f.render_widget(
        Paragraph::new(Line::styled(text::clean(&headline).into_owned(), t.style(role))).wrap(Wrap { trim: false }),
        head,
    );
    let mut lines = Vec::new();
    for a in preview.mutes.iter().take(MUTED_SHOWN) {
        let sh = Shown::of(a);
        lines.push(Line::from(vec![
            Span::styled(format!("  {} ", sh.label().0), shown_style(sh, a.severity, t)),
            Span::raw(text::clean(&a.display_name()).into_owned()),
        ]));
    }
    if preview.mutes.len() > MUTED_SHOWN {
        lines.push(Line::styled(format!("  … and {} more", preview.mutes.len() - MUTED_SHOWN), t.style(Role::TextDim)));
    }
    let rest = Rect { y: head.y + head_rows, height: inner.height - 5 - head_rows, ..inner };
    let lines: Vec<Line> =
        lines.into_iter().map(|l| Line::from(fit_spans(l.spans, usize::from(rest.width))).style(l.style)).collect();
    f.render_widget(Paragraph::new(lines), rest);
}
