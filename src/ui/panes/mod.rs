//! One view module per pane, registered in [`VIEWS`] (the view side of
//! `app::pane::PANES`).

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::app::{AppState, BoxId, Pane};
use crate::config::theme::Theme;
use crate::ui::widgets::list::ListWindow;

pub mod alerts;
pub mod alerts_slo;
pub mod alerts_timeline;
pub mod alerts_uptime;
pub mod chat;
pub mod chat_attach;
pub mod chat_convs;
pub mod chat_draft;
pub mod chat_memo;
pub mod chat_tools;
pub mod metrics;
pub mod silence;
pub mod tools;
pub mod tools_diff;
pub mod tools_popup;
pub mod workflows;

/// How a pane is drawn: where its boxes go in the body, and each box.
pub struct PaneView {
    pub pane: Pane,
    /// The pane's boxes and their areas for a body area (not zoomed).
    pub layout: fn(Rect, &AppState) -> Vec<(BoxId, Rect)>,
    pub render_box: fn(&mut Frame, Rect, BoxId, &AppState, &Theme),
    /// Where a box's list is drawn (its area given), if the box shows one.
    pub list: fn(Rect, BoxId, &AppState) -> Option<ListWindow>,
}

/// Every pane's view.
pub static VIEWS: [PaneView; 5] = [
    PaneView {
        pane: Pane::Metrics,
        layout: metrics::layout,
        render_box: metrics::render_box,
        list: metrics::list_window,
    },
    PaneView {
        pane: Pane::Workflows,
        layout: workflows::layout,
        render_box: workflows::render_box,
        list: workflows::list_window,
    },
    PaneView { pane: Pane::Tools, layout: tools::layout, render_box: tools::render_box, list: tools::list_window },
    PaneView { pane: Pane::Chat, layout: chat::layout, render_box: chat::render_box, list: chat::list_window },
    PaneView { pane: Pane::Alerts, layout: alerts::layout, render_box: alerts::render_box, list: alerts::list_window },
];

/// The view of `pane`.
pub fn view(pane: Pane) -> &'static PaneView {
    VIEWS.iter().find(|v| v.pane == pane).unwrap_or(&VIEWS[0])
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_pane_has_a_view() {
        for p in crate::app::Pane::ALL {
            assert_eq!(super::view(p).pane, p);
        }
    }
}
