//! Two runs of one tool side by side: changed lines marked `-` (older, left)
//! and `+` (newer, right), never by colour alone.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::panes::tools::ToolsState;
use crate::app::panes::tools::runs::DiffRow;
use crate::config::theme::{Role, Theme};
use crate::text;
use crate::ui::boxed;

pub fn render(f: &mut Frame, area: Rect, focused: bool, d: (u64, u64, &[DiffRow]), ts: &ToolsState, t: &Theme) {
    let (a, b, rows) = d;
    let changed = rows.iter().filter(|r| !r.same).count();
    let tool = ts.run(b).map(|r| r.tool.clone()).unwrap_or_default();
    let title = vec![
        Span::raw(format!("Compare {tool} #{a} ↔ #{b}")),
        Span::styled(
            if changed == 0 {
                " · identical".to_string()
            } else {
                format!(" · {} differ · Esc closes", crate::text::count(changed as u64, "line", "lines"))
            },
            t.style(Role::TextDim),
        ),
    ];
    let block = boxed(Line::from(title), focused, t, area.width);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [left, sep, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    let h = inner.height as usize;
    let top = ts.scroll.min(rows.len().saturating_sub(h));
    // Output lines are outside text: cleaned, and cut with `…` at the edge.
    let side = |pick: fn(&DiffRow) -> &Option<String>, sign: &'static str, role: Role, w: u16| -> Vec<Line<'static>> {
        rows.iter()
            .skip(top)
            .take(h)
            .map(|r| match (pick(r), r.same) {
                (Some(l), true) => Line::styled(text::fit(&format!("  {l}"), w.into()), t.style(Role::TextDim)),
                (Some(l), false) => Line::styled(text::fit(&format!("{sign} {l}"), w.into()), t.style(role)),
                (None, _) => Line::raw(""),
            })
            .collect()
    };
    f.render_widget(Paragraph::new(side(|r| &r.left, "-", Role::StatusFailed, left.width)), left);
    f.render_widget(Paragraph::new(side(|r| &r.right, "+", Role::StatusOk, right.width)), right);
    let bar: Vec<Line> = (0..h).map(|_| Line::styled("│", t.style(Role::Border))).collect();
    f.render_widget(Paragraph::new(bar), sep);
}
