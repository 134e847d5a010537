//! Two runs side by side: a label column, the older run left and the newer
//! right. A row whose sides differ starts with `≠` (never colour alone);
//! durations of the right side carry their change from the left (`+29s`).

use ratatui::Frame;
use ratatui::layout::{Margin, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use serde_json::Value;

use super::{dur, run_label, state_style, state_text};
use crate::app::AppState;
use crate::app::panes::workflows::{CmpRow, Side};
use crate::config::theme::{Role, Theme};
use crate::text;
use crate::ui::boxed;

/// `+29s`, `−5s`, `±0`.
fn delta(d: i64) -> String {
    match d {
        0 => "±0".into(),
        d if d > 0 => format!("+{}", dur(d)),
        d => format!("−{}", dur(-d)),
    }
}

/// `s` cut to `w` cells and padded to them.
pub(super) fn pad(s: &str, w: usize) -> String {
    let mut x = text::fit(s, w);
    let n = w.saturating_sub(text::width(&x));
    x.extend(std::iter::repeat_n(' ', n));
    x
}

/// A JSON value on one line: a string as it is, anything else as compact JSON.
pub(super) fn one_line(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// A side's text and style in `w` cells. A duration's change is left out
/// when the whole does not fit: cut, `(+1ms)` would read `(+1m…`.
fn side(s: &Side, t: &Theme, w: usize) -> (String, Style) {
    let dim = t.style(Role::TextDim);
    let fits = |with: String, without: String| if text::width(&with) <= w { with } else { without };
    match s {
        Side::Absent => ("—".into(), dim),
        Side::Reading => ("reading…".into(), dim),
        Side::Text(x) => (x.clone(), t.style(Role::Text)),
        Side::State(st) => (state_text(*st), state_style(*st, t)),
        Side::Dur { ms, delta: d } => {
            let x = ms.map(dur).unwrap_or_else(|| "not started".into());
            let x = match d {
                Some(d) => fits(format!("{x} ({})", delta(*d)), x),
                None => x,
            };
            (x, t.style(Role::Text))
        }
        Side::Step { state, attempt, ms, delta: d, reused } => {
            let parts = |with_delta: bool| {
                let mut parts = vec![state_text(*state)];
                if *attempt > 0 {
                    parts.push(format!("try {attempt}"));
                }
                if let Some(ms) = ms {
                    match d {
                        Some(d) if with_delta => parts.push(format!("{} ({})", dur(*ms), delta(*d))),
                        _ => parts.push(dur(*ms)),
                    }
                }
                if *reused {
                    parts.push("reused".into());
                }
                parts.join(" · ")
            };
            (fits(parts(true), parts(false)), state_style(*state, t))
        }
        Side::Json(v) => (one_line(v), t.style(Role::Text)),
    }
}

pub(super) fn render(f: &mut Frame, area: Rect, focused: bool, s: &AppState, t: &Theme) {
    let w = &s.workflows;
    let dim = t.style(Role::TextDim);
    let inner = area.inner(Margin::new(1, 1));
    let Some((a, b)) = w.compared() else {
        f.render_widget(boxed(Line::raw("Compare"), focused, t, area.width), area);
        let msg = "Nothing compared: mark a run in the runs list, select another run and compare them \
                   (without a mark, a run is compared with its workflow's previous run).";
        f.render_widget(Paragraph::new(Line::styled(msg, dim)).wrap(ratatui::widgets::Wrap { trim: false }), inner);
        return;
    };
    let rows = w.compare_rows(s.now);
    let differ = rows.iter().filter(|r| r.differs()).count();
    let mut facts = vec![if differ == 0 {
        "no row differs".to_string()
    } else {
        format!("{} ≠", text::count(differ as u64, "row differs", "rows differ"))
    }];
    let reading: Vec<String> =
        [a, b].iter().filter(|r| !r.steps_loaded).map(|r| format!("reading #{}…", r.run.id)).collect();
    facts.extend(reading);
    facts.push("Esc closes".into());
    let title = Line::from(vec![
        Span::raw(format!("Compare {} ↔ {} {}", run_label(&a.run), run_label(&b.run), b.run.workflow)),
        Span::styled(format!(" · {}", facts.join(" · ")), dim),
    ]);
    f.render_widget(boxed(title, focused, t, area.width), area);
    let h = inner.height as usize;
    let top = w.compare.as_ref().map_or(0, |c| c.scroll).min(rows.len().saturating_sub(h));
    let label_w = rows
        .iter()
        .map(|r| match r {
            CmpRow::Field { label, .. } => text::width(label),
            CmpRow::Section(_) => 0,
        })
        .max()
        .unwrap_or(0)
        .clamp(8, 24);
    // `≠ label left │ right`: 2 + label_w + 1 + col + 3 + right_w cells.
    let width = usize::from(inner.width);
    let col = width.saturating_sub(label_w + 6) / 2;
    let right_w = width.saturating_sub(label_w + 6 + col);
    let lines: Vec<Line> = rows
        .iter()
        .skip(top)
        .take(h)
        .map(|r| match r {
            CmpRow::Section(name) => {
                let rule = "─".repeat(width.saturating_sub(text::width(name) + 4));
                Line::styled(format!("── {name} {rule}"), t.style(Role::TableHeader))
            }
            CmpRow::Field { label, left, right, differs } => {
                let (l, ls) = side(left, t, col);
                let (r, rs) = side(right, t, right_w);
                let mark = if *differs { "≠ " } else { "  " };
                let label_style = if *differs { t.style(Role::StatusWarn).add_modifier(Modifier::BOLD) } else { dim };
                Line::from(vec![
                    Span::styled(mark, t.style(Role::StatusWarn).add_modifier(Modifier::BOLD)),
                    Span::styled(pad(&text::fit(label, label_w), label_w + 1), label_style),
                    Span::styled(pad(&l, col), ls),
                    Span::styled(" │ ", t.style(Role::Border)),
                    Span::styled(text::fit(&r, right_w), rs),
                ])
            }
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::workflow::RunState;

    #[test]
    fn a_duration_change_that_does_not_fit_is_left_out_not_cut() {
        let t = Theme::fallback(false);
        let step =
            Side::Step { state: RunState::Succeeded, attempt: 1, ms: Some(2_000), delta: Some(1), reused: false };
        let (wide, _) = side(&step, &t, 60);
        assert!(wide.ends_with("2s (+1ms)"), "{wide}");
        let (narrow, _) = side(&step, &t, text::width(&wide) - 1);
        assert!(narrow.ends_with("· 2s") && !narrow.contains('('), "{narrow}");
        let run = Side::Dur { ms: Some(2_000), delta: Some(-5_000) };
        assert_eq!(side(&run, &t, 20).0, "2s (−5s)");
        assert_eq!(side(&run, &t, 5).0, "2s");
    }
}
