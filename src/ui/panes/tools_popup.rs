//! Popups of the tools pane.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use crate::app::panes::tools::export::Format;
use crate::app::panes::tools::{Preview, ToolsPopup};
use crate::config::theme::{Role, Theme};
use crate::text;
use crate::ui::overlay::{centered, input_line, popup, sized, text_size};

fn choices<'a>(items: impl Iterator<Item = String>, selected: usize, t: &Theme) -> Vec<Line<'a>> {
    items
        .enumerate()
        .map(|(i, s)| {
            let sel = i == selected;
            let style = if sel { t.style(Role::Selection) } else { t.style(Role::Text) };
            Line::styled(format!("{}{}", if sel { "▸ " } else { "  " }, text::clean(&s)), style)
        })
        .collect()
}

pub fn render(f: &mut Frame, body: Rect, p: &ToolsPopup, t: &Theme) {
    match p {
        ToolsPopup::Confirm { title, lines, .. } => {
            let (w, h) = text_size(lines, usize::from(body.width).saturating_sub(4) * 9 / 10);
            let area = sized(body, title, w, h);
            f.render_widget(Clear, area);
            let body: Vec<Line> =
                lines.iter().map(|l| Line::styled(text::clean(l).into_owned(), t.style(Role::Text))).collect();
            f.render_widget(Paragraph::new(body).block(popup(title, area.width, t)).wrap(Wrap { trim: false }), area);
        }
        ToolsPopup::Export { run, selected } => {
            let title = format!("Export run #{run} (Enter writes the file)");
            let area = sized(body, &title, 52, Format::ALL.len() + 2);
            f.render_widget(Clear, area);
            let mut lines = choices(Format::ALL.iter().map(|f| f.label().to_string()), *selected, t);
            lines.push(Line::raw(""));
            lines.push(Line::styled("Files go to the exports directory (opsdeck paths).", t.style(Role::TextDim)));
            f.render_widget(Paragraph::new(lines).block(popup(&title, area.width, t)), area);
        }
        ToolsPopup::ChainFilter { run, input, preview, .. } => {
            let area = centered(body, 80, 70, 100);
            f.render_widget(Clear, area);
            let title = format!("Chain #{run}: select with jq, then Enter to pick the next tool");
            let block = popup(&title, area.width, t);
            let inner = block.inner(area);
            f.render_widget(block, area);
            if inner.height < 3 {
                return;
            }
            let [q, gap, rest] =
                Layout::vertical([Constraint::Length(1), Constraint::Length(1), Constraint::Min(1)]).areas(inner);
            input_line(f, q, "jq ", input, t);
            f.render_widget(Span::styled("value:", t.style(Role::TextDim)), gap);
            let lines: Vec<Line> = match preview {
                Preview::Ready { lines, .. } => {
                    lines.iter().map(|s| Line::styled(text::fit(s, rest.width.into()), t.style(Role::Text))).collect()
                }
                Preview::Stale | Preview::Evaluating { .. } => {
                    vec![Line::styled("… evaluating (Esc closes)", t.style(Role::TextDim))]
                }
                Preview::Failed(e) => {
                    vec![Line::styled(text::fit(&format!("✗ {e}"), rest.width.into()), t.style(Role::Error))]
                }
            };
            f.render_widget(Paragraph::new(lines), rest);
        }
        ToolsPopup::ChainArg { tool, args, selected, picking } => {
            let title = format!("Which argument of {tool} takes `{}`?", picking.filter);
            let items: Vec<String> = args.iter().map(|(p, ty)| format!("  {p}  ({ty})")).collect();
            let (w, _) = text_size(&items, usize::from(body.width));
            let area = sized(body, &title, w, items.len());
            f.render_widget(Clear, area);
            let items = items.into_iter().map(|i| i[2..].to_string());
            f.render_widget(Paragraph::new(choices(items, *selected, t)).block(popup(&title, area.width, t)), area);
        }
        ToolsPopup::SaveChain { input } => {
            let mut area = centered(body, 60, 10, 70);
            area.height = area.height.min(3);
            f.render_widget(Clear, area);
            let block = popup("Save chain as (Enter saves, Esc cancels)", area.width, t);
            let inner = block.inner(area);
            f.render_widget(block, area);
            if inner.height > 0 {
                input_line(f, inner, "name ", input, t);
            }
        }
    }
}
