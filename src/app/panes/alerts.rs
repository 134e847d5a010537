//! The alerts pane: every source's alerts (firing, pending, acknowledged,
//! silenced, resolved) sorted by severity and age, a detail view with the
//! timeline, and the rules and health checks. Pure state; acknowledgements,
//! silences and rule toggles go out as commands to the alert's source.

use crate::protocol::AlertsCommand;
use std::collections::BTreeMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent};

pub use super::alert_sources::{SourceHealth, SourceRead, Verdict};
use crate::app::input::LineInput;
use crate::app::{BoxId, UserAction};
use crate::protocol::alerts::{Alert, AlertState, AlertsUpdate, Delivery, Transition};
use crate::protocol::{Command, Envelope, Event, LOCAL_SOURCE};

/// Transitions and deliveries kept for the timeline.
pub const TIMELINE_KEPT: usize = 5_000;

/// How an alert is shown, in list order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shown {
    Firing,
    Pending,
    Acknowledged,
    Silenced,
    Resolved,
}

impl Shown {
    pub fn of(a: &Alert) -> Shown {
        match a.state {
            AlertState::Resolved => Shown::Resolved,
            _ if !a.silenced_by.is_empty() => Shown::Silenced,
            _ if a.ack.is_some() => Shown::Acknowledged,
            AlertState::Firing => Shown::Firing,
            AlertState::Pending => Shown::Pending,
        }
    }

    /// Glyph and word: state is never shown by colour alone.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Shown::Firing => ("▲", "firing"),
            Shown::Pending => ("△", "pending"),
            Shown::Acknowledged => ("✔", "acked"),
            Shown::Silenced => ("⊘", "silenced"),
            Shown::Resolved => ("○", "resolved"),
        }
    }
}

/// Silence durations offered, in minutes.
pub const SILENCE_CHOICES: [(u32, &str); 7] = [
    (15, "15 minutes"),
    (60, "1 hour"),
    (120, "2 hours"),
    (240, "4 hours"),
    (480, "8 hours"),
    (1440, "1 day"),
    (10080, "1 week"),
];

#[derive(Debug, Clone)]
pub struct AlertsState {
    /// The latest update of each source.
    pub sources: BTreeMap<String, AlertsUpdate>,
    pub timeline: Vec<(String, Transition)>,
    pub deliveries: Vec<(String, Delivery)>,
    /// (source, alert id) in display order.
    pub rows: Vec<(String, String)>,
    pub selected: usize,
    pub rules_sel: usize,
    pub filter: Option<LineInput>,
    pub filter_editing: bool,
    pub show_resolved: bool,
    /// A `bell` notification arrived (the app rings and clears it).
    pub bell: bool,
    /// Which alert sources are known, failed, or read in part.
    pub health: SourceHealth,
}

impl Default for AlertsState {
    fn default() -> Self {
        AlertsState {
            sources: BTreeMap::new(),
            timeline: Vec::new(),
            deliveries: Vec::new(),
            rows: Vec::new(),
            selected: 0,
            rules_sel: 0,
            filter: None,
            filter_editing: false,
            show_resolved: true,
            bell: false,
            health: SourceHealth::new(),
        }
    }
}

/// Does `a` pass a filter: `k=v` terms must match labels, other words the rule or summary.
pub fn passes(a: &Alert, filter: &str) -> bool {
    filter.split_whitespace().all(|term| match term.split_once('=') {
        Some((k, v)) => {
            let got = if k == "alertname" { Some(&a.rule) } else { a.labels.get(k) };
            got.is_some_and(|g| g == v)
        }
        None => crate::text::contains_ci(&a.rule, term) || crate::text::contains_ci(&a.summary, term),
    })
}

/// What the pane asks of the app: a command to a source, or a popup.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    Command {
        source: String,
        command: Command,
    },
    AckNote {
        source: String,
        alert: String,
    },
    /// Open the silence dialog on `alert` (or empty, for the local engine's alerts).
    SilenceFor {
        source: String,
        alert: Option<String>,
    },
    JumpTo {
        source: String,
        series: String,
    },
    Notice(String),
    /// Ask "are you sure?" before sending `command` (`question` says what
    /// it will do): a single Enter on the rules box must not end a silence
    /// or turn a rule off by accident.
    Confirm {
        source: String,
        command: Command,
        question: String,
    },
}

impl AlertsState {
    pub fn ingest(&mut self, env: &Envelope) -> bool {
        let Event::Alerts(u) = &env.event else { return false };
        // A transition is known by when, which alert and to what: firing and
        // resolved in the same millisecond are two.
        let known: std::collections::HashSet<(i64, &str, crate::protocol::alerts::AlertState)> = self
            .timeline
            .iter()
            .filter(|(s, _)| *s == env.source)
            .map(|(_, t)| (t.at, t.alert.as_str(), t.to))
            .collect();
        let new: Vec<Transition> =
            u.transitions.iter().filter(|t| !known.contains(&(t.at, t.alert.as_str(), t.to))).cloned().collect();
        self.timeline.extend(new.into_iter().map(|t| (env.source.clone(), t)));
        self.timeline.sort_by_key(|(_, t)| t.at);
        let extra = self.timeline.len().saturating_sub(TIMELINE_KEPT);
        self.timeline.drain(..extra);
        // A full state after a reconnect repeats deliveries: keep each once.
        let seen: std::collections::HashSet<(i64, &str, &str, u32)> = self
            .deliveries
            .iter()
            .filter(|(s, _)| *s == env.source)
            .map(|(_, d)| (d.at, d.alert.as_str(), d.channel.as_str(), d.attempt))
            .collect();
        let fresh: Vec<Delivery> = u
            .deliveries
            .iter()
            .filter(|d| !seen.contains(&(d.at, d.alert.as_str(), d.channel.as_str(), d.attempt)))
            .cloned()
            .collect();
        // The terminal bell is a notifier (`kind = "bell"`): ring for its new deliveries.
        if fresh.iter().any(|d| d.channel == "bell" && d.error.is_none()) {
            self.bell = true;
        }
        self.deliveries.extend(fresh.into_iter().map(|d| (env.source.clone(), d)));
        let extra = self.deliveries.len().saturating_sub(TIMELINE_KEPT);
        self.deliveries.drain(..extra);
        let mut u = (**u).clone();
        u.transitions.clear();
        u.deliveries.clear();
        self.sources.insert(env.source.clone(), u);
        self.resort();
        true
    }

    /// Record how a read of an alert source went (an Alertmanager poll).
    pub fn source_read(&mut self, name: String, read: SourceRead) -> bool {
        self.health.record(name, read)
    }

    /// What to say when no alert is listed: never the all-clear while a
    /// source could not be read, has not answered, or was read in part.
    pub fn verdict(&self) -> Verdict {
        self.health.verdict(|n| self.sources.contains_key(n))
    }

    pub fn alert(&self, source: &str, id: &str) -> Option<&Alert> {
        self.sources.get(source)?.alerts.iter().find(|a| a.id == id)
    }

    pub fn selected_alert(&self) -> Option<(&str, &Alert)> {
        let (s, id) = self.rows.get(self.selected)?;
        Some((s, self.alert(s, id)?))
    }

    /// Counts for the status bar: (firing not acknowledged or silenced, pending, acknowledged).
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for a in self.sources.values().flat_map(|u| &u.alerts) {
            match Shown::of(a) {
                Shown::Firing => c.0 += 1,
                Shown::Pending => c.1 += 1,
                Shown::Acknowledged => c.2 += 1,
                _ => {}
            }
        }
        c
    }

    pub fn resort(&mut self) {
        let keep = self.rows.get(self.selected).cloned();
        let q = self.filter.as_ref().map(|f| f.text().to_string()).unwrap_or_default();
        let mut all: Vec<(&String, &Alert)> = self
            .sources
            .iter()
            .flat_map(|(s, u)| u.alerts.iter().map(move |a| (s, a)))
            .filter(|(_, a)| self.show_resolved || a.state != AlertState::Resolved)
            .filter(|(_, a)| passes(a, &q))
            .collect();
        all.sort_by(|(_, a), (_, b)| {
            (Shown::of(a), std::cmp::Reverse(a.severity), a.active_since, &a.id).cmp(&(
                Shown::of(b),
                std::cmp::Reverse(b.severity),
                b.active_since,
                &b.id,
            ))
        });
        self.rows = all.into_iter().map(|(s, a)| (s.clone(), a.id.clone())).collect();
        self.selected = keep.and_then(|k| self.rows.iter().position(|r| *r == k)).unwrap_or(0);
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
    }

    /// Rules and checks of every source: (source, index into its rules).
    pub fn rule_rows(&self) -> Vec<(String, usize)> {
        self.sources.iter().flat_map(|(s, u)| (0..u.rules.len()).map(move |i| (s.clone(), i))).collect()
    }

    /// Silences of every source not yet expired: (source, index into its silences).
    pub fn silence_rows(&self) -> Vec<(String, usize)> {
        self.sources.iter().flat_map(|(s, u)| (0..u.silences.len()).map(move |i| (s.clone(), i))).collect()
    }

    /// How many alerts of `source` a silence mutes now.
    pub fn muted_by(&self, source: &str, id: &str) -> usize {
        self.sources
            .get(source)
            .map_or(0, |u| u.alerts.iter().filter(|a| a.silenced_by.iter().any(|s| s == id)).count())
    }

    /// A click on row `i` of the alert list or the rules box.
    pub fn select_row(&mut self, focus: BoxId, i: usize) -> bool {
        let n_rules = self.rule_rows().len() + self.silence_rows().len();
        let (sel, len) = match focus {
            BoxId::AlertList => (&mut self.selected, self.rows.len()),
            BoxId::AlertRules => (&mut self.rules_sel, n_rules),
            _ => return false,
        };
        let changed = i < len && i != *sel;
        if changed {
            *sel = i;
        }
        changed
    }

    /// Bracketed paste into the filter while it is typed into.
    pub fn paste(&mut self, text: &str) -> bool {
        if !self.filter_editing || !self.filter.as_mut().is_some_and(|f| f.paste(text)) {
            return false;
        }
        self.selected = 0;
        self.resort();
        true
    }

    pub fn filter_key(&mut self, key: KeyEvent) -> bool {
        match key.code {
            KeyCode::Enter => self.filter_editing = false,
            KeyCode::Esc => {
                self.filter_editing = false;
                self.filter = None;
            }
            _ => {
                if !self.filter.as_mut().is_some_and(|f| f.input(key)) {
                    return false;
                }
            }
        }
        self.selected = 0;
        self.resort();
        true
    }

    /// A bound action while a box of this pane has focus.
    pub fn on_user(&mut self, a: UserAction, focus: BoxId, by: &str) -> (bool, Option<Ask>) {
        use UserAction as U;
        let sel = self.selected_alert().map(|(s, a)| (s.to_string(), a.clone()));
        let need = || Some(Ask::Notice("no alert selected".into()));
        match (a, focus) {
            (U::Up | U::Down | U::PageUp | U::PageDown | U::Top | U::Bottom, BoxId::AlertRules) => {
                let n = self.rule_rows().len() + self.silence_rows().len();
                crate::app::list::apply(a, &mut self.rules_sel, n, crate::app::list::PAGE);
                (true, None)
            }
            (U::Up | U::Down | U::PageUp | U::PageDown | U::Top | U::Bottom, _) => {
                crate::app::list::apply(a, &mut self.selected, self.rows.len(), crate::app::list::PAGE);
                (true, None)
            }
            (U::Confirm | U::JumpToMetric, BoxId::AlertRules) => {
                let rows = self.rule_rows();
                if self.rules_sel >= rows.len() {
                    // A silence row: end it.
                    let sil = self.silence_rows();
                    let Some((source, i)) = sil.get(self.rules_sel - rows.len()) else { return (false, None) };
                    let silence = &self.sources[source].silences[*i];
                    let matchers: Vec<String> =
                        silence.matchers.iter().map(|m| format!("{}{}{}", m.name, m.op.symbol(), m.value)).collect();
                    let question = format!(
                        "End silence {} ({}) on {source} now? The alerts it mutes notify again.",
                        silence.id,
                        matchers.join(", ")
                    );
                    let command = Command::Alerts(AlertsCommand::Unsilence { id: silence.id.clone() });
                    return (true, Some(Ask::Confirm { source: source.clone(), command, question }));
                }
                let Some((source, i)) = rows.get(self.rules_sel) else { return (false, None) };
                let r = &self.sources[source].rules[*i];
                let command =
                    Command::Alerts(AlertsCommand::SetRuleEnabled { name: r.name.clone(), enabled: !r.enabled });
                if r.enabled {
                    let kind = match r.kind.as_str() {
                        "slo" => "SLO",
                        "check" => "check",
                        _ => "rule",
                    };
                    let question = format!(
                        "Turn {kind} {} off on {source}? Its alerts resolve, and it stays silent until turned on again.",
                        r.name
                    );
                    return (true, Some(Ask::Confirm { source: source.clone(), command, question }));
                }
                (true, Some(Ask::Command { source: source.clone(), command }))
            }
            (U::Filter, _) => {
                self.filter.get_or_insert_with(|| LineInput::new("team=db, or words of the rule or summary"));
                self.filter_editing = true;
                (true, None)
            }
            (U::Close, _) if self.filter.is_some() => {
                self.filter = None;
                self.resort();
                (true, None)
            }
            (U::ToggleResolved, _) => {
                self.show_resolved = !self.show_resolved;
                self.resort();
                (true, None)
            }
            (U::Acknowledge, _) => match sel {
                Some((_, a)) if a.state == AlertState::Resolved => {
                    (true, Some(Ask::Notice(format!("{} is resolved: nothing to acknowledge", a.id))))
                }
                Some((source, a)) if a.ack.is_some() => (
                    true,
                    Some(Ask::Command { source, command: Command::Alerts(AlertsCommand::Unack { alert: a.id }) }),
                ),
                Some((source, a)) => (true, Some(Ask::AckNote { source, alert: a.id })),
                None => (true, need()),
            },
            (U::SilenceAlert, _) => match sel {
                Some((source, a)) => (true, Some(Ask::SilenceFor { source, alert: Some(a.id) })),
                // Nothing selected: a silence written from scratch.
                None => (true, Some(Ask::SilenceFor { source: LOCAL_SOURCE.into(), alert: None })),
            },
            (U::Unsilence, _) => match sel {
                Some((source, a)) => match a.silenced_by.first() {
                    Some(id) => (
                        true,
                        Some(Ask::Command {
                            source,
                            command: Command::Alerts(AlertsCommand::Unsilence { id: id.clone() }),
                        }),
                    ),
                    None => (true, Some(Ask::Notice(format!("{} is not silenced", a.id)))),
                },
                None => (true, need()),
            },
            (U::JumpToMetric, _) => match sel {
                Some((source, a)) => match a.series.clone().filter(|s| !s.starts_with("check:")) {
                    Some(series) => (true, Some(Ask::JumpTo { source, series })),
                    None => (true, Some(Ask::Notice(format!("{} does not watch a metric", a.id)))),
                },
                None => (true, need()),
            },
            _ => {
                let _ = by;
                (false, None)
            }
        }
    }
}

#[cfg(test)]
#[path = "alerts_tests.rs"]
mod tests;
