//! The chat pane's tool popups: the choice of tools a conversation offers
//! (a filtered table with on/off marks) and a waiting call's argument form
//! (the tools pane's form widget).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Row, Table};

use crate::app::panes::chat::{CallForm, ChatToolsPopup, ToolChoice};
use crate::config::theme::{Role, Theme};
use crate::text;
use crate::ui::overlay::{centered, input_line, popup};
use crate::ui::panes::tools::render_fields;
use crate::ui::widgets::columns::{self, Col};
use crate::ui::widgets::list::{ListWindow, draw_position};

pub fn render(f: &mut Frame, body: Rect, p: &ChatToolsPopup, t: &Theme) {
    match p {
        ChatToolsPopup::Choice(c) => choice(f, centered(body, 90, 85, 110), c, t),
        ChatToolsPopup::EditCall(form) => call_form(f, body, form, t),
    }
}

fn choice(f: &mut Frame, area: Rect, c: &ToolChoice, t: &Theme) {
    f.render_widget(Clear, area);
    let block = popup("Tools offered in this conversation (Space toggles, Enter keeps, Esc cancels)", area.width, t);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height < 4 {
        return;
    }
    let dim = t.style(Role::TextDim);
    let w = usize::from(inner.width);
    // Below the table: servers gone, and why a toggle did nothing.
    let mut notes: Vec<Line> = Vec::new();
    let missing = c.missing();
    if !missing.is_empty() {
        let names = missing.iter().map(|n| text::clean(n).into_owned()).collect::<Vec<_>>().join(", ");
        let l = format!("not in the registry now (skipped until their server is back): {names}");
        notes.push(Line::styled(text::fit(&l, w), t.style(Role::StatusWarn)));
    }
    if let Some(p) = &c.problem {
        notes.push(Line::styled(text::fit(&format!("✗ {p}"), w), t.style(Role::Error)));
    }
    let notes_h = (notes.len() as u16).min(inner.height.saturating_sub(4));
    let [q, summary, list, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(2),
        Constraint::Length(notes_h),
    ])
    .areas(inner);
    input_line(f, q, "/ ", &c.filter, t);
    let how = match &c.chosen {
        None => "the read-only default",
        Some(_) => "chosen for this conversation",
    };
    let mut line = format!("{} of {} offered · {how}", c.count(), c.rows.len());
    if c.read_only {
        line.push_str(" · --read-only: tools that change things stay off");
    }
    f.render_widget(Span::styled(text::fit(&line, w), dim), summary);
    let rows_area = Rect { y: list.y + 1, height: list.height.saturating_sub(1), ..list };
    let window = ListWindow::new(rows_area, c.selected, c.shown.len());
    draw_position(f, area, &window, t);
    let widest = |cell: &dyn Fn(&crate::app::panes::chat::ChoiceRow) -> usize| c.rows.iter().map(cell).max();
    let cols = [
        Col::fixed(6),
        Col::text(widest(&|r| text::width(&r.name)).unwrap_or(4).max(4), 8).keep(16),
        Col::text(widest(&|r| text::width(&r.source)).unwrap_or(6).max(6), 6).drop(2),
        Col::fixed(10),
        Col::text(widest(&|r| text::width(&r.description)).unwrap_or(11).max(11), 8).grow().drop(1),
    ];
    let plan = columns::plan(&cols, 1, list.width);
    let cw: Vec<usize> = (0..cols.len()).map(|k| plan.width(k)).collect();
    let rows = c.shown.iter().enumerate().skip(window.offset).take(window.visible()).map(|(i, &ri)| {
        let r = &c.rows[ri];
        let sel = i == c.selected;
        let locked = c.read_only && r.mutating;
        let mark = match (locked, c.is_on(r)) {
            (true, _) => "[-]",
            (false, true) => "[x]",
            (false, false) => "[ ]",
        };
        let (kind, kind_role) = match (r.mutating, locked) {
            (false, _) => ("read-only", Role::StatusOk),
            (true, false) => ("⚠ changes", Role::StatusWarn),
            (true, true) => ("✗ changes", Role::TextDim),
        };
        let style = if sel { t.style(Role::Selection) } else { t.style(Role::Text) };
        Row::new(plan.pick([
            Span::raw(format!("{}{mark}", if sel { "▸ " } else { "  " })),
            Span::raw(text::fit(&text::clean(&r.name), cw[1])),
            Span::styled(text::fit(&text::clean(&r.source), cw[2]), t.style(Role::TextDim)),
            Span::styled(kind, t.style(kind_role)),
            Span::styled(text::fit(&r.description, cw[4]), t.style(Role::TextDim)),
        ]))
        .style(style)
    });
    let header = plan.pick(["  ON", "NAME", "SERVER", "KIND", "DESCRIPTION"]);
    let table = Table::new(rows, plan.constraints()).header(Row::new(header).style(t.style(Role::TableHeader)));
    f.render_widget(table, list);
    if c.shown.is_empty() && list.height > 1 {
        let r = Rect::new(list.x, list.y + 1, list.width, 1);
        f.render_widget(Span::styled("  no tool matches the filter", dim), r);
    }
    f.render_widget(Paragraph::new(notes), foot);
}

fn call_form(f: &mut Frame, body: Rect, c: &CallForm, t: &Theme) {
    let dim = t.style(Role::TextDim);
    let outer = centered(body, 80, 100, 100);
    let w = usize::from(outer.width.saturating_sub(2)).max(1);
    let mut about: Vec<Line> = Vec::new();
    if !c.tool.description.is_empty() {
        for l in text::wrap_words(&text::clean(c.tool.description.lines().next().unwrap_or("")), w).into_iter().take(2)
        {
            about.push(Line::styled(l, dim));
        }
    }
    let asked = serde_json::from_str::<serde_json::Value>(&c.asked).map_or_else(|_| c.asked.clone(), |v| v.to_string());
    let asked = text::fit(&text::clean(&format!("the model asked: {asked}")), w);
    about.push(Line::styled(asked, t.style(Role::TextAccent)));
    if c.tool.mutating {
        about.push(Line::styled(
            text::fit(&format!("⚠ {} changes things outside opsdeck: running it is your consent", c.tool.name), w),
            t.style(Role::StatusWarn),
        ));
    }
    let fields_h = c.form.fields.len().max(1) + c.form.error_count();
    let problem_h = usize::from(c.problem.is_some());
    let height = (about.len() + fields_h + problem_h + 5) as u16;
    let mut r = outer;
    r.height = height.min(body.height);
    r.y = body.y + body.height.saturating_sub(r.height) / 2;
    f.render_widget(Clear, r);
    let source = if c.tool.source == "builtin" { String::new() } else { format!(" ({})", c.tool.source) };
    let title = format!("Edit the call: {}{source} (Enter edits a field, Esc back to y/N)", c.tool.name);
    let block = popup(&title, r.width, t);
    let inner = block.inner(r);
    f.render_widget(block, r);
    let about_h = (about.len() as u16).min(inner.height.saturating_sub(3));
    f.render_widget(Paragraph::new(about), Rect { height: about_h, ..inner });
    let below = 2 + problem_h as u16;
    let fields = Rect { y: inner.y + about_h + 1, height: inner.height.saturating_sub(about_h + 1 + below), ..inner };
    if c.form.fields.is_empty() {
        f.render_widget(Span::styled(" It takes no arguments.", dim), fields);
    } else {
        render_fields(f, fields, !c.on_run, &c.form, t);
    }
    let bottom = inner.y + inner.height;
    if let Some(p) = &c.problem
        && inner.height > 2
    {
        let pr = Rect { y: bottom.saturating_sub(2), height: 1, ..inner };
        f.render_widget(Span::styled(text::fit(&format!("✗ {p}"), w), t.style(Role::Error)), pr);
    }
    if inner.height > 0 {
        let button = Rect { y: bottom - 1, height: 1, ..inner };
        let style =
            if c.on_run { t.style(Role::Selection).add_modifier(Modifier::BOLD) } else { t.style(Role::TextAccent) };
        let label = if c.on_run {
            "▸ ▶ Run with these arguments (Enter)"
        } else {
            "  ▶ Run with these arguments (↓ to here, Enter)"
        };
        f.render_widget(Span::styled(text::fit(label, button.width.into()), style), button);
    }
}
