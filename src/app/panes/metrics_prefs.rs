//! The metrics pane's preferences as one typed record (`metrics.prefs` in
//! the ui records): the chart window, the chart glyphs, the process sort and
//! the tree view. Saved whole on every change and restored whole, so a
//! preference added later is never one the restore forgets (the tree view
//! was saved and never read back when each had a key of its own).
//!
//! Values are the labels the pane shows (`15m`, `braille`, `cpu`); one this
//! build does not know keeps the default: preferences are not user data.

use serde::{Deserialize, Serialize};

use super::metrics::{MetricsState, sort_name};
use crate::app::Effect;
use crate::config::settings::{Marker, SortKey, Window};

/// The ui record's key.
pub const PREFS_KEY: &str = "metrics.prefs";
/// The keys of earlier builds, one per preference (read when there is no record).
pub const LEGACY_KEYS: [&str; 4] = ["metrics.window", "metrics.marker", "metrics.sort", "metrics.tree"];

/// `{"version":1,"window":"15m","marker":"braille","sort":"cpu","sort_desc":true,"tree":false}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsPrefs {
    #[serde(default)]
    pub version: u32,
    pub window: String,
    pub marker: String,
    pub sort: String,
    pub sort_desc: bool,
    #[serde(default)]
    pub tree: bool,
}

impl MetricsState {
    /// The preferences as they stand.
    pub fn prefs(&self) -> MetricsPrefs {
        MetricsPrefs {
            version: 1,
            window: self.window.label().into(),
            marker: self.marker.label().into(),
            sort: sort_name(self.sort).into(),
            sort_desc: self.sort_desc,
            tree: self.tree,
        }
    }

    /// The effect that saves them.
    pub fn save_prefs(&self) -> Effect {
        Effect::SaveUi { key: PREFS_KEY.into(), value: serde_json::to_string(&self.prefs()).unwrap_or_default() }
    }

    /// Apply a saved record; a value this build does not know keeps its default.
    pub fn apply_prefs(&mut self, p: &MetricsPrefs) {
        if let Some(w) = Window::ALL.into_iter().find(|w| w.label() == p.window) {
            self.window = w;
        }
        if let Some(m) = [Marker::Braille, Marker::Block, Marker::Ascii].into_iter().find(|m| m.label() == p.marker) {
            self.marker = m;
        }
        if let Some(k) =
            [SortKey::Cpu, SortKey::Memory, SortKey::Pid, SortKey::Name].into_iter().find(|s| sort_name(*s) == p.sort)
        {
            self.sort = k;
            self.sort_desc = p.sort_desc;
        }
        self.tree = p.tree;
        self.rebuild_procs();
    }

    /// Restore a saved ui record: the [`PREFS_KEY`] record, or one of the
    /// [`LEGACY_KEYS`] of earlier builds.
    pub fn restore(&mut self, key: &str, value: &str) {
        match key {
            PREFS_KEY => {
                if let Ok(p) = serde_json::from_str::<MetricsPrefs>(value) {
                    self.apply_prefs(&p);
                }
            }
            "metrics.window" | "metrics.marker" | "metrics.sort" | "metrics.tree" => {
                let mut p = self.prefs();
                match key {
                    "metrics.window" => p.window = value.into(),
                    "metrics.marker" => p.marker = value.into(),
                    "metrics.tree" => p.tree = value == "true",
                    _ => {
                        let (k, d) = value.split_once(':').unwrap_or((value, ""));
                        (p.sort, p.sort_desc) = (k.into(), d == "true");
                    }
                }
                self.apply_prefs(&p);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::panes::metrics::MetricsState;

    fn state() -> MetricsState {
        MetricsState::new(&crate::config::settings::Config::default())
    }

    #[test]
    fn every_preference_survives_a_save_and_a_restore() {
        let mut a = state();
        a.window = Window::H1;
        a.marker = Marker::Ascii;
        a.sort = SortKey::Name;
        a.sort_desc = true;
        a.tree = true;
        let Effect::SaveUi { key, value } = a.save_prefs() else { panic!() };
        let mut b = state();
        b.restore(&key, &value);
        assert_eq!(b.prefs(), a.prefs());
    }

    #[test]
    fn the_keys_of_earlier_builds_are_read_and_unknown_values_keep_defaults() {
        let mut s = state();
        for (k, v) in [("metrics.window", "15m"), ("metrics.sort", "memory:false"), ("metrics.tree", "true")] {
            s.restore(k, v);
        }
        assert_eq!((s.window, s.sort, s.sort_desc, s.tree), (Window::M15, SortKey::Memory, false, true));
        let default = state().prefs();
        s.restore(PREFS_KEY, r#"{"version":1,"window":"9y","marker":"sparkles","sort":"mood","sort_desc":true}"#);
        assert_eq!((s.window, s.marker, s.sort), (Window::M15, default_marker(), SortKey::Memory));
        assert!(!s.tree, "absent: off");
        assert_eq!(default.version, 1);
    }

    fn default_marker() -> Marker {
        state().marker
    }
}
