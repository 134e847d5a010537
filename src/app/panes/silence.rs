//! The silence dialog: matchers as `amtool` writes them (`team=db
//! severity!=info instance=~"db-[0-9]+"`), a duration and a comment, with a
//! live preview of the alerts it would mute before it is created.

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::alerts::{AlertsState, SILENCE_CHOICES};
use crate::app::input::LineInput;
use crate::protocol::alerts::{Alert, AlertState, Matcher};
use crate::protocol::matchers;

/// The dialog's fields, top to bottom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SilenceField {
    Matchers,
    Duration,
    Comment,
}

impl SilenceField {
    const ORDER: [SilenceField; 3] = [SilenceField::Matchers, SilenceField::Duration, SilenceField::Comment];

    fn step(self, d: isize) -> SilenceField {
        let i = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0) as isize;
        Self::ORDER[(i + d).rem_euclid(Self::ORDER.len() as isize) as usize]
    }
}

/// A silence being written, for the alerts of `source`.
#[derive(Debug, Clone)]
pub struct SilenceDraft {
    pub source: String,
    /// The alert it was opened on (the popup's title), if any.
    pub alert: Option<String>,
    pub matchers: LineInput,
    /// Index in [`SILENCE_CHOICES`].
    pub duration: usize,
    pub comment: LineInput,
    pub field: SilenceField,
}

/// What the draft would do now: its matchers (or what is wrong with them)
/// and the current alerts of its source it would mute.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview<'a> {
    pub matchers: Result<Vec<Matcher>, String>,
    pub mutes: Vec<&'a Alert>,
    /// Current (not resolved) alerts of the source.
    pub of: usize,
}

impl SilenceDraft {
    /// A draft whose matchers pick `alert` exactly (its `alertname` and
    /// labels); or empty, to write from scratch.
    pub fn new(source: String, alert: Option<&Alert>) -> SilenceDraft {
        let mut m = LineInput::new("e.g. team=db severity!=info instance=~\"db-[0-9]+\"");
        if let Some(a) = alert {
            m.paste(&matchers::format(&a.matchers()));
        }
        SilenceDraft {
            source,
            alert: alert.map(Alert::display_name),
            matchers: m,
            duration: 1,
            comment: LineInput::new("why (e.g. maintenance until 14:00)"),
            field: if alert.is_some() { SilenceField::Duration } else { SilenceField::Matchers },
        }
    }

    /// Minutes and label of the chosen duration.
    pub fn duration(&self) -> (u32, &'static str) {
        SILENCE_CHOICES[self.duration.min(SILENCE_CHOICES.len() - 1)]
    }

    /// Move to the next (+1) or previous (-1) field.
    pub fn move_field(&mut self, d: isize) {
        self.field = self.field.step(d);
    }

    /// A key not bound in the popup: the focused text field's, or on the
    /// duration `h`/`l`/←/→/Space to choose and `j`/`k` to move on.
    pub fn key(&mut self, key: KeyEvent) -> bool {
        let n = SILENCE_CHOICES.len();
        match self.field {
            SilenceField::Matchers => self.matchers.input(key),
            SilenceField::Comment => self.comment.input(key),
            SilenceField::Duration => match key.code {
                KeyCode::Left | KeyCode::Char('h') => {
                    self.duration = (self.duration + n - 1) % n;
                    true
                }
                KeyCode::Right | KeyCode::Char('l' | ' ') => {
                    self.duration = (self.duration + 1) % n;
                    true
                }
                KeyCode::Char('j') => {
                    self.move_field(1);
                    true
                }
                KeyCode::Char('k') => {
                    self.move_field(-1);
                    true
                }
                _ => false,
            },
        }
    }

    /// Pasted text goes to the focused text field.
    pub fn paste(&mut self, text: &str) -> bool {
        match self.field {
            SilenceField::Matchers => self.matchers.paste(text),
            SilenceField::Comment => self.comment.paste(text),
            SilenceField::Duration => false,
        }
    }

    /// The matchers parsed and checked, and the alerts they mute now.
    pub fn preview<'a>(&self, alerts: &'a AlertsState) -> Preview<'a> {
        let current: Vec<&Alert> = alerts
            .sources
            .get(&self.source)
            .map(|u| u.alerts.iter().filter(|a| a.state != AlertState::Resolved).collect())
            .unwrap_or_default();
        let parsed = matchers::parse(self.matchers.text())
            .map_err(|e| e.to_string())
            .and_then(|m| matchers::check_set(&m).map(|()| m));
        let mutes = match &parsed {
            Ok(m) => current.iter().copied().filter(|a| Matcher::all_match(m, a)).collect(),
            Err(_) => Vec::new(),
        };
        Preview { matchers: parsed, mutes, of: current.len() }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ratatui::crossterm::event::KeyModifiers;

    use super::*;
    use crate::protocol::alerts::Severity;

    fn alert(rule: &str, labels: &[(&str, &str)], state: AlertState) -> Alert {
        let labels: BTreeMap<String, String> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Alert {
            id: Alert::make_id(rule, &labels),
            rule: rule.into(),
            origin: "rule".into(),
            labels,
            severity: Severity::Warning,
            state,
            summary: String::new(),
            value: None,
            value_text: None,
            active_since: 0,
            firing_since: None,
            resolved_at: None,
            ack: None,
            silenced_by: Vec::new(),
            series: None,
        }
    }

    fn typed(d: &mut SilenceDraft, s: &str) {
        for c in s.chars() {
            d.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    #[test]
    fn matchers_are_edited_and_the_preview_counts_what_they_mute() {
        let mut a = AlertsState::default();
        let u = a.sources.entry("local".into()).or_default();
        u.alerts = vec![
            alert("disk_full", &[("team", "db"), ("instance", "db-1")], AlertState::Firing),
            alert("cpu_high", &[("team", "db"), ("instance", "db-2")], AlertState::Pending),
            alert("cpu_high", &[("team", "web"), ("instance", "web-1")], AlertState::Firing),
            alert("load_high", &[("team", "db")], AlertState::Resolved),
        ];
        let first = a.sources["local"].alerts[0].clone();
        let mut d = SilenceDraft::new("local".into(), Some(&first));
        assert_eq!(d.matchers.text(), "alertname=disk_full instance=db-1 team=db");
        assert_eq!(d.field, SilenceField::Duration, "opened on an alert: its matchers are ready");
        let p = d.preview(&a);
        assert_eq!((p.mutes.len(), p.of), (1, 3), "resolved alerts are not counted");
        // "silence team=db": clear the field and type one matcher.
        d.move_field(-1);
        d.key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        typed(&mut d, "team=db");
        let p = d.preview(&a);
        assert_eq!(p.mutes.iter().map(|a| a.rule.as_str()).collect::<Vec<_>>(), ["disk_full", "cpu_high"]);
        // Regular expressions and negations.
        typed(&mut d, " instance!~\"db-1|web.*\"");
        assert_eq!(d.preview(&a).mutes.len(), 1);
        // A mistake is said with its column and mutes nothing.
        typed(&mut d, " owner~ana");
        let p = d.preview(&a);
        assert!(p.matchers.as_ref().unwrap_err().contains("column 32: `owner~ana` has no operator"), "{p:?}");
        assert!(p.mutes.is_empty());
        // A set that matches every alert is refused.
        d.key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        typed(&mut d, "team=~.*");
        assert!(d.preview(&a).matchers.unwrap_err().contains("would mute every alert"));
    }

    #[test]
    fn the_duration_is_chosen_with_arrows_and_j_k_move_on() {
        let mut d = SilenceDraft::new("local".into(), None);
        assert_eq!(d.field, SilenceField::Matchers);
        typed(&mut d, "jk");
        assert_eq!(d.matchers.text(), "jk", "letters are text in a text field");
        d.move_field(1);
        assert_eq!(d.duration(), (60, "1 hour"));
        d.key(KeyEvent::new(KeyCode::Right, KeyModifiers::NONE));
        typed(&mut d, "l");
        assert_eq!(d.duration(), (240, "4 hours"));
        typed(&mut d, "hhhh");
        assert_eq!(d.duration(), (10080, "1 week"), "wraps around");
        typed(&mut d, "j");
        assert_eq!(d.field, SilenceField::Comment);
        typed(&mut d, "maintenance");
        assert_eq!(d.comment.text(), "maintenance");
        d.move_field(1);
        assert_eq!(d.field, SilenceField::Matchers, "wraps to the top");
    }
}
