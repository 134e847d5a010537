//! What is known of each alert source (the local engine, each backend, each
//! Alertmanager), so the alerts pane never says "nothing is firing" while a
//! source's state is unknown: one that could not be read, or has not
//! answered yet, or was read only in part.

use std::collections::{BTreeMap, BTreeSet};

use crate::protocol::LOCAL_SOURCE;

/// How the last read of an alert source went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceRead {
    /// Read whole.
    Whole,
    /// Read, but some items could not be: what, in words.
    Partial(String),
    /// Could not be read: why.
    Failed(String),
}

/// What the alerts pane may say when it lists no alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// These sources have not answered yet.
    Waiting(Vec<String>),
    /// `failed` sources could not be read (and `waiting` have not answered):
    /// their alerts are unknown.
    Unknown { failed: usize, waiting: usize },
    /// Every source answered, but some items of `sources` could not be read.
    Partial { sources: usize },
    /// Every source was read whole and nothing is firing.
    AllClear,
}

/// The alert sources and how each was read.
#[derive(Debug, Clone, Default)]
pub struct SourceHealth {
    /// Sources whose state must be known before an all-clear.
    pub expected: BTreeSet<String>,
    /// Sources that could not be read, with why.
    pub failed: BTreeMap<String, String>,
    /// Sources read in part, with what could not be read.
    pub partial: BTreeMap<String, String>,
}

impl SourceHealth {
    /// The local engine is always expected.
    pub fn new() -> Self {
        SourceHealth { expected: BTreeSet::from([LOCAL_SOURCE.to_string()]), ..Default::default() }
    }

    /// A source whose alerts must be known (a backend, an Alertmanager).
    pub fn expect(&mut self, name: &str) -> bool {
        self.expected.insert(name.to_string())
    }

    /// Record how a read went; true if that changed anything.
    pub fn record(&mut self, name: String, read: SourceRead) -> bool {
        let mut changed = self.expect(&name);
        match read {
            SourceRead::Whole => {
                changed |= self.failed.remove(&name).is_some();
                changed |= self.partial.remove(&name).is_some();
            }
            SourceRead::Partial(what) => {
                changed |= self.failed.remove(&name).is_some();
                changed |= self.partial.insert(name, what.clone()).as_ref() != Some(&what);
            }
            SourceRead::Failed(why) => {
                changed |= self.failed.insert(name, why.clone()).as_ref() != Some(&why);
            }
        }
        changed
    }

    /// The verdict when no alert is listed, given the sources that have
    /// answered at least once (`answered`).
    pub fn verdict(&self, answered: impl Fn(&str) -> bool) -> Verdict {
        let waiting: Vec<String> =
            self.expected.iter().filter(|n| !answered(n.as_str()) && !self.failed.contains_key(*n)).cloned().collect();
        if !self.failed.is_empty() {
            return Verdict::Unknown { failed: self.failed.len(), waiting: waiting.len() };
        }
        if !waiting.is_empty() {
            return Verdict::Waiting(waiting);
        }
        if !self.partial.is_empty() {
            return Verdict::Partial { sources: self.partial.len() };
        }
        Verdict::AllClear
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_source_never_yields_the_all_clear() {
        let mut h = SourceHealth::new();
        assert_eq!(h.verdict(|_| false), Verdict::Waiting(vec![LOCAL_SOURCE.into()]));
        assert_eq!(h.verdict(|_| true), Verdict::AllClear);
        assert!(h.record("am".into(), SourceRead::Failed("connection refused".into())));
        assert_eq!(h.verdict(|n| n == LOCAL_SOURCE), Verdict::Unknown { failed: 1, waiting: 0 });
        assert_eq!(h.verdict(|_| true), Verdict::Unknown { failed: 1, waiting: 0 }, "old alerts are no answer");
        assert!(h.record("am".into(), SourceRead::Partial("1 alert could not be read".into())));
        assert_eq!(h.verdict(|_| true), Verdict::Partial { sources: 1 });
        assert!(!h.record("am".into(), SourceRead::Partial("1 alert could not be read".into())), "no change");
        assert!(h.record("am".into(), SourceRead::Whole));
        assert_eq!(h.verdict(|_| true), Verdict::AllClear);
        h.expect("prod");
        assert_eq!(h.verdict(|n| n != "prod"), Verdict::Waiting(vec!["prod".into()]));
    }

    /// Through the reducer: a configured Alertmanager and a backend are
    /// expected; the backend offline is a source that could not be read.
    #[test]
    fn every_expected_source_must_be_known_before_the_all_clear() {
        use std::sync::Arc;

        use crate::app::{Action, AppState, Ctx, Link, update};
        use crate::config::alerting::AlertmanagerConfig;
        use crate::config::keymap::Keymap;
        use crate::config::settings::Config;
        use crate::protocol::{Envelope, Event, Topic};

        let mut config = Config::default();
        config.alertmanagers.push(AlertmanagerConfig {
            name: "am".into(),
            url: "http://127.0.0.1:9".into(),
            interval: std::time::Duration::from_secs(15),
        });
        let keymap = Keymap::fallback();
        let ctx = Ctx { now: 1_700_000_000_000, keymap: &keymap, config: &config };
        let mut s = AppState::new(&ctx);
        s.add_backend("prod");
        s.alerts.health.expect("prod");
        let quiet = |source: &str| {
            Action::Events(vec![Arc::new(Envelope {
                epoch: 1,
                seq: 1,
                ts: ctx.now,
                source: source.into(),
                topic: Topic::Alerts,
                event: Event::Alerts(Box::default()),
            })])
        };
        update(&mut s, quiet(LOCAL_SOURCE), &ctx);
        assert_eq!(s.alerts.verdict(), Verdict::Waiting(vec!["am".into(), "prod".into()]));
        update(&mut s, quiet("am"), &ctx);
        update(&mut s, quiet("prod"), &ctx);
        assert_eq!(s.alerts.verdict(), Verdict::AllClear);
        let offline = Link::Retrying { at: ctx.now + 1000, attempt: 1, error: "connection refused".into() };
        update(&mut s, Action::Link("prod".into(), offline), &ctx);
        assert_eq!(s.alerts.verdict(), Verdict::Unknown { failed: 1, waiting: 0 });
        assert_eq!(s.alerts.health.failed["prod"], "offline: connection refused");
        update(&mut s, Action::Link("prod".into(), Link::Connecting), &ctx);
        assert_eq!(s.alerts.verdict(), Verdict::Unknown { failed: 1, waiting: 0 }, "not yet back");
        update(&mut s, Action::Link("prod".into(), Link::Connected), &ctx);
        assert_eq!(s.alerts.verdict(), Verdict::AllClear);
        // A Prometheus (a metrics source, not expected) going offline changes nothing.
        s.add_backend("prom");
        let offline = Link::Retrying { at: ctx.now + 1000, attempt: 1, error: "refused".into() };
        update(&mut s, Action::Link("prom".into(), offline), &ctx);
        assert_eq!(s.alerts.verdict(), Verdict::AllClear);
    }
}
