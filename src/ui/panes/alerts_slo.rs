//! SLOs in the alerts pane: the budget cell of an SLO's row in the rules
//! box, the budget and burn rates in an SLO alert's detail, and the chart of
//! its error budget's burndown over the SLO window (with the zero line).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::app::AppState;
use crate::config::theme::{Role, Theme};
use crate::protocol::alerts::{Alert, AlertsUpdate};
use crate::protocol::slo::SloStatus;
use crate::ui::widgets::chart::{ChartSeries, Threshold, TimeChart};
use crate::ui::widgets::fmt;

/// The SLO of an alert (its rule) in its source's update.
pub fn status_of<'a>(u: Option<&'a AlertsUpdate>, name: &str) -> Option<&'a SloStatus> {
    u?.slos.iter().find(|s| s.name == name)
}

/// `71 %` (one decimal under 10 %, so a nearly spent budget is not `0 %`).
fn pct(v: f64) -> String {
    let p = v * 100.0;
    if p.abs() < 10.0 { format!("{p:.1} %") } else { format!("{p:.0} %") }
}

fn burn(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |b| format!("{b:.1}×"))
}

/// How the budget reads: failed when spent, a warning under a quarter left.
fn budget_role(left: f64) -> Role {
    if left <= 0.0 {
        Role::StatusFailed
    } else if left < 0.25 {
        Role::StatusWarn
    } else {
        Role::StatusOk
    }
}

/// The rules box's last column for an SLO: `✓ 71 % budget left · 1h 0.4×`
/// (`✗` when spent, `⚠` under a quarter), or why there is nothing yet.
pub fn rule_cell(s: Option<&SloStatus>, t: &Theme) -> (String, Style) {
    match s.and_then(|s| s.budget_left.map(|l| (s, l))) {
        None => ("○ no events in the window yet".into(), t.style(Role::TextDim)),
        Some((s, l)) => {
            let glyph = match budget_role(l) {
                Role::StatusFailed => "✗",
                Role::StatusWarn => "⚠",
                _ => "✓",
            };
            (format!("{glyph} {} budget left · 1h {}", pct(l), burn(s.burn_1h)), t.style(budget_role(l)))
        }
    }
}

/// The detail's line for an SLO alert: budget left and the four burn rates.
pub fn detail_line(s: &SloStatus, key: Span<'static>, t: &Theme) -> Line<'static> {
    let budget = match s.budget_left {
        Some(l) => Span::styled(format!("{} left", pct(l)), t.style(budget_role(l))),
        None => Span::styled("no events yet".to_string(), t.style(Role::TextDim)),
    };
    let burns = format!(
        " · burn 5m {} 30m {} 1h {} 6h {}",
        burn(s.burn_5m),
        burn(s.burn_30m),
        burn(s.burn_1h),
        burn(s.burn_6h)
    );
    Line::from(vec![key, budget, Span::styled(burns, t.style(Role::TextDim))])
}

/// The budget's burndown over the SLO window, in percent, with a dashed
/// zero line; below it the budget is overspent.
pub fn budget_chart(f: &mut Frame, area: Rect, s: &AppState, src: &str, al: &Alert, t: &Theme) {
    let Some(slo) = status_of(s.alerts.sources.get(src), &al.rule) else { return };
    let pts: Vec<f64> = slo.burndown.iter().map(|v| f64::from(*v) * 100.0).collect();
    let finite = || pts.iter().copied().filter(|v| v.is_finite());
    let lo = finite().fold(0.0f64, f64::min);
    let hi = 100.0;
    let mut c = TimeChart {
        marker: s.metrics.marker,
        // Room under the zero line, so it shows (a threshold at the edge is
        // not drawn); overspent, the zero line is the middle label.
        y_min: if lo < 0.0 { (lo / 100.0).floor().min(-1.0) * 100.0 } else { -20.0 },
        y_max: hi,
        y_fmt: |v| format!("{v:.0}%"),
        x_labels: [format!("-{}", fmt::age(slo.window_min.saturating_mul(60_000))), "now".into()],
        series: Vec::new(),
        thresholds: vec![Threshold { value: 0.0, style: t.style(Role::TextDim), critical: false }],
        marks: Vec::new(),
        axis_style: t.style(Role::ChartAxis),
        label_style: t.style(Role::ChartLabel),
    };
    let n = c.x_dots(area);
    let len = pts.len();
    let values: Vec<f32> = (0..n)
        .map(|i| if len == 0 { f32::NAN } else { pts[((i * len + len - 1) / n.max(1)).min(len - 1)] as f32 })
        .collect();
    c.series.push(ChartSeries { values, style: t.style(Role::ChartSeries1) });
    f.render_widget(c, area);
}
