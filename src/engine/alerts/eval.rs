//! Rule evaluation: recent samples per series, and the pending → firing →
//! resolved state machine with `for` and `keep_firing_for`. Pure: time comes
//! in as an argument.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use super::expr::{self, Reading};
use super::rules::Rule;
use crate::protocol::Ts;
use crate::protocol::alerts::{Alert, AlertState, Severity, Transition};
use crate::series::STEP_BACK_MS;

/// Recent samples of every series, at most one per `step_ms`, kept for `keep_ms`.
#[derive(Debug, Default)]
pub struct Samples {
    series: BTreeMap<String, VecDeque<(Ts, f64)>>,
    step_ms: i64,
    keep_ms: i64,
}

impl Samples {
    pub fn new(step: Duration, keep: Duration) -> Self {
        Samples { series: BTreeMap::new(), step_ms: step.as_millis() as i64, keep_ms: keep.as_millis() as i64 }
    }

    pub fn push(&mut self, ts: Ts, values: &[(String, f32)]) {
        for (name, v) in values {
            if !v.is_finite() {
                continue;
            }
            let q = self.series.entry(name.clone()).or_default();
            // The clock stepped back: samples stamped after `ts` are from the
            // wrong time; drop them so recording goes on (the gap stays a gap).
            if q.back().is_some_and(|b| ts < b.0 - self.step_ms.max(STEP_BACK_MS)) {
                while q.back().is_some_and(|b| b.0 >= ts) {
                    q.pop_back();
                }
            }
            let n = q.len();
            if n > 0 && ts <= q[n - 1].0 {
                continue;
            }
            // Points stay about a step apart; the newest value is always kept.
            if n >= 2 && ts - q[n - 2].0 < self.step_ms {
                q[n - 1] = (ts, f64::from(*v));
            } else {
                q.push_back((ts, f64::from(*v)));
            }
            while q.front().is_some_and(|f| f.0 < ts - self.keep_ms) {
                q.pop_front();
            }
        }
    }

    /// The spacing of kept samples.
    pub fn step_ms(&self) -> i64 {
        self.step_ms
    }

    /// Forget samples older than the keep time at `now`, and series left empty
    /// (a disk that was unmounted), so their alerts resolve as gone.
    pub fn expire(&mut self, now: Ts) {
        for q in self.series.values_mut() {
            while q.front().is_some_and(|f| f.0 < now - self.keep_ms) {
                q.pop_front();
            }
        }
        self.series.retain(|_, q| !q.is_empty());
    }

    pub fn get(&self, name: &str) -> Vec<(Ts, f64)> {
        self.series.get(name).map(|q| q.iter().copied().collect()).unwrap_or_default()
    }

    /// Series matching `pattern` (a trailing `*` matches any suffix): (name, the part `*` matched).
    pub fn matching(&self, pattern: &str) -> Vec<(String, Option<String>)> {
        match pattern.strip_suffix('*') {
            Some(prefix) => self
                .series
                .range(prefix.to_string()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .map(|(k, _)| (k.clone(), Some(k[prefix.len()..].to_string())))
                .collect(),
            None => vec![(pattern.to_string(), None)],
        }
    }
}

/// `{{value}}`, `{{instance}}`, `{{labels.NAME}}` in a summary.
/// `{{value}}` is the value in operator terms when there is such a text.
pub fn render_summary(
    template: &str,
    value: Option<f64>,
    text: Option<&str>,
    labels: &BTreeMap<String, String>,
) -> String {
    let number = |v: f64| {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    let v = text.map(str::to_string).or(value.map(number)).unwrap_or_else(|| "-".to_string());
    let mut out = template.replace("{{value}}", &v);
    out = out.replace("{{instance}}", labels.get("instance").map_or("", String::as_str));
    for (k, val) in labels {
        out = out.replace(&format!("{{{{labels.{k}}}}}"), val);
    }
    out
}

/// What one evaluation says about one alert.
pub struct Observation<'a> {
    pub rule: &'a str,
    pub origin: &'a str,
    pub labels: BTreeMap<String, String>,
    pub severity: Severity,
    pub summary: &'a str,
    pub series: Option<String>,
    pub holds: bool,
    /// The value the decision (`holds`) was made on, and it in operator terms.
    pub value: Option<f64>,
    pub value_text: Option<String>,
    pub for_: Duration,
    pub keep_firing_for: Duration,
}

/// Every alert's state; resolved ones are kept until [`Evaluator::forget_resolved`].
#[derive(Debug, Default)]
pub struct Evaluator {
    pub alerts: BTreeMap<String, Alert>,
    last_true: HashMap<String, Ts>,
}

impl Evaluator {
    /// Apply one observation; returns the transition it caused, if any.
    pub fn observe(&mut self, o: Observation, now: Ts) -> Option<Transition> {
        let id = Alert::make_id(o.rule, &o.labels);
        let summary = render_summary(o.summary, o.value, o.value_text.as_deref(), &o.labels);
        let for_ms = o.for_.as_millis() as i64;
        let keep_ms = o.keep_firing_for.as_millis() as i64;
        // The clock stepped back: times stamped after now count from now, so
        // `for` and `keep_firing_for` do not wait for the old time to return.
        if let Some(a) = self.alerts.get_mut(&id)
            && a.active_since > now
        {
            a.active_since = now;
            a.firing_since = a.firing_since.map(|t| t.min(now));
        }
        if let Some(t) = self.last_true.get_mut(&id) {
            *t = (*t).min(now);
        }
        let alert = self.alerts.get_mut(&id);
        let (from, to) = match (alert.as_ref().map(|a| a.state), o.holds) {
            (None | Some(AlertState::Resolved), true) => {
                let to = if for_ms == 0 { AlertState::Firing } else { AlertState::Pending };
                let from = alert.as_ref().map(|a| a.state);
                let a = Alert {
                    id: id.clone(),
                    rule: o.rule.into(),
                    origin: o.origin.into(),
                    labels: o.labels,
                    severity: o.severity,
                    state: to,
                    summary,
                    value: o.value,
                    value_text: o.value_text,
                    active_since: now,
                    firing_since: (to == AlertState::Firing).then_some(now),
                    resolved_at: None,
                    ack: None,
                    silenced_by: Vec::new(),
                    series: o.series,
                };
                self.alerts.insert(id.clone(), a);
                self.last_true.insert(id.clone(), now);
                (from, to)
            }
            (Some(state), true) => {
                let a = alert?;
                (a.value, a.value_text, a.summary) = (o.value, o.value_text, summary);
                self.last_true.insert(id.clone(), now);
                if state == AlertState::Pending && now - a.active_since >= for_ms {
                    a.state = AlertState::Firing;
                    a.firing_since = Some(now);
                    (Some(state), AlertState::Firing)
                } else {
                    return None;
                }
            }
            (Some(AlertState::Pending), false) => {
                let a = alert?;
                (a.value, a.value_text, a.summary) = (o.value, o.value_text, summary);
                a.state = AlertState::Resolved;
                a.resolved_at = Some(now);
                (Some(AlertState::Pending), AlertState::Resolved)
            }
            (Some(AlertState::Firing), false) => {
                let last = self.last_true.get(&id).copied().unwrap_or(now);
                let a = alert?;
                // The value shown is the one this (not holding) decision used.
                (a.value, a.value_text, a.summary) = (o.value, o.value_text, summary);
                if now - last < keep_ms {
                    return None;
                }
                a.state = AlertState::Resolved;
                a.resolved_at = Some(now);
                // An acknowledgement ends with the alert.
                a.ack = None;
                (Some(AlertState::Firing), AlertState::Resolved)
            }
            (None | Some(AlertState::Resolved), false) => return None,
        };
        let (value, value_text) = self.alerts.get(&id).map(|a| (a.value, a.value_text.clone())).unwrap_or_default();
        Some(Transition { alert: id, from, to, at: now, value, value_text })
    }

    /// Evaluate a metric rule against the samples.
    pub fn eval_rule(&mut self, rule: &Rule, samples: &Samples, now: Ts) -> Vec<Transition> {
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for (name, instance) in samples.matching(rule.condition.series()) {
            let data = samples.get(&name);
            let mut labels = rule.labels.clone();
            if let Some(i) = instance {
                labels.insert("instance".into(), i);
            }
            seen.push(Alert::make_id(&rule.name, &labels));
            // One evaluation gives both the decision and the value shown; with
            // too little data the alert keeps its state (neither fires nor resolves).
            let Reading::Decided { holds, value, text } =
                expr::evaluate(&rule.condition, &data, now, samples.step_ms())
            else {
                continue;
            };
            out.extend(self.observe(obs(rule, labels, Some(name), holds, value, text), now));
        }
        // Instances that disappeared (a disk unmounted) no longer hold.
        let gone: Vec<Alert> = self
            .alerts
            .values()
            .filter(|a| a.rule == rule.name && a.origin == "rule" && !seen.contains(&a.id))
            .cloned()
            .collect();
        for a in gone {
            out.extend(self.observe(obs(rule, a.labels, a.series, false, None, None), now));
        }
        out
    }

    /// Drop resolved alerts older than `before`.
    pub fn forget_resolved(&mut self, before: Ts) {
        self.alerts.retain(|_, a| a.state != AlertState::Resolved || a.resolved_at.is_some_and(|t| t >= before));
        let alerts = &self.alerts;
        self.last_true.retain(|id, _| alerts.contains_key(id));
    }
}

fn obs(
    rule: &Rule,
    labels: BTreeMap<String, String>,
    series: Option<String>,
    holds: bool,
    value: Option<f64>,
    value_text: Option<String>,
) -> Observation<'_> {
    Observation {
        rule: &rule.name,
        origin: "rule",
        labels,
        severity: rule.severity,
        summary: &rule.summary,
        series,
        holds,
        value,
        value_text,
        for_: rule.for_,
        keep_firing_for: rule.keep_firing_for,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::alerts::rules::parse;

    const S: i64 = 1000;

    fn rule(src: &str) -> Rule {
        parse("t.toml", src).unwrap().rules.remove(0)
    }

    fn run(
        ev: &mut Evaluator,
        r: &Rule,
        samples: &mut Samples,
        t: i64,
        values: &[(&str, f32)],
    ) -> Vec<(Option<AlertState>, AlertState)> {
        let v: Vec<(String, f32)> = values.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        samples.push(t, &v);
        ev.eval_rule(r, samples, t).into_iter().map(|tr| (tr.from, tr.to)).collect()
    }

    #[test]
    fn pending_then_firing_after_for_then_resolved() {
        let r = rule("[[rule]]\nname = \"hot\"\ncondition = \"cpu.total > 90\"\nfor = \"30s\"\n");
        let (mut ev, mut s) = (Evaluator::default(), Samples::new(Duration::from_secs(1), Duration::from_secs(3600)));
        assert_eq!(run(&mut ev, &r, &mut s, 0, &[("cpu.total", 50.0)]), vec![]);
        assert_eq!(run(&mut ev, &r, &mut s, 10 * S, &[("cpu.total", 95.0)]), vec![(None, AlertState::Pending)]);
        assert_eq!(run(&mut ev, &r, &mut s, 30 * S, &[("cpu.total", 96.0)]), vec![]);
        assert_eq!(
            run(&mut ev, &r, &mut s, 40 * S, &[("cpu.total", 97.0)]),
            vec![(Some(AlertState::Pending), AlertState::Firing)]
        );
        let a = &ev.alerts["hot"];
        assert_eq!((a.value, a.firing_since, a.active_since), (Some(97.0), Some(40 * S), 10 * S));
        assert_eq!(a.summary, "hot: cpu.total > 90 (value 97)");
        assert_eq!(
            run(&mut ev, &r, &mut s, 50 * S, &[("cpu.total", 10.0)]),
            vec![(Some(AlertState::Firing), AlertState::Resolved)]
        );
        assert_eq!(ev.alerts["hot"].resolved_at, Some(50 * S));
    }

    #[test]
    fn keep_firing_for_rides_out_flapping() {
        let r = rule("[[rule]]\nname = \"hot\"\ncondition = \"cpu.total > 90\"\nkeep_firing_for = \"20s\"\n");
        let (mut ev, mut s) = (Evaluator::default(), Samples::new(Duration::from_secs(1), Duration::from_secs(3600)));
        assert_eq!(
            run(&mut ev, &r, &mut s, 0, &[("cpu.total", 95.0)]),
            vec![(None, AlertState::Firing)],
            "for = 0 fires at once"
        );
        // Flaps below and above: still one firing alert.
        assert_eq!(run(&mut ev, &r, &mut s, 5 * S, &[("cpu.total", 10.0)]), vec![]);
        assert_eq!(run(&mut ev, &r, &mut s, 10 * S, &[("cpu.total", 99.0)]), vec![]);
        assert_eq!(run(&mut ev, &r, &mut s, 25 * S, &[("cpu.total", 10.0)]), vec![]);
        assert_eq!(
            run(&mut ev, &r, &mut s, 31 * S, &[("cpu.total", 10.0)]),
            vec![(Some(AlertState::Firing), AlertState::Resolved)]
        );
        // Fires again: a new episode from a resolved alert.
        assert_eq!(
            run(&mut ev, &r, &mut s, 40 * S, &[("cpu.total", 95.0)]),
            vec![(Some(AlertState::Resolved), AlertState::Firing)]
        );
    }

    #[test]
    fn pending_that_stops_holding_resolves_without_firing() {
        let r = rule("[[rule]]\nname = \"hot\"\ncondition = \"cpu.total > 90\"\nfor = \"1m\"\n");
        let (mut ev, mut s) = (Evaluator::default(), Samples::new(Duration::from_secs(1), Duration::from_secs(3600)));
        run(&mut ev, &r, &mut s, 0, &[("cpu.total", 95.0)]);
        assert_eq!(
            run(&mut ev, &r, &mut s, 10 * S, &[("cpu.total", 5.0)]),
            vec![(Some(AlertState::Pending), AlertState::Resolved)]
        );
        assert_eq!(ev.alerts["hot"].firing_since, None);
    }

    #[test]
    fn wildcard_series_are_one_alert_each_and_vanishing_ones_resolve() {
        let r = rule(
            "[[rule]]\nname = \"full\"\ncondition = \"disk.used_pct:* > 95\"\nsummary = \"{{instance}} at {{value}}%\"\n",
        );
        let (mut ev, mut s) = (Evaluator::default(), Samples::new(Duration::from_secs(1), Duration::from_secs(3600)));
        let t = run(
            &mut ev,
            &r,
            &mut s,
            0,
            &[("disk.used_pct:/", 50.0), ("disk.used_pct:/var", 97.5), ("cpu.total", 99.0)],
        );
        assert_eq!(t, vec![(None, AlertState::Firing)]);
        let a = &ev.alerts["full{instance=/var}"];
        assert_eq!((a.summary.as_str(), a.series.as_deref()), ("/var at 97.5%", Some("disk.used_pct:/var")));
        // /var is gone from the samples (a new Samples: unmounted).
        let mut s2 = Samples::new(Duration::from_secs(1), Duration::from_secs(3600));
        let t = run(&mut ev, &r, &mut s2, S, &[("disk.used_pct:/", 50.0)]);
        assert_eq!(t, vec![(Some(AlertState::Firing), AlertState::Resolved)]);
    }

    #[test]
    fn absence_of_data_and_disk_filling_prediction() {
        let absent = rule("[[rule]]\nname = \"quiet\"\ncondition = \"absent(cpu.total, 30s)\"\n");
        let filling = rule("[[rule]]\nname = \"filling\"\ncondition = \"predict(disk.used_pct:*, 4h, 1h) >= 100\"\n");
        let (mut ev, mut s) = (Evaluator::default(), Samples::new(Duration::from_secs(10), Duration::from_secs(7200)));
        // 60% → 75% over the last hour: +15%/h, 100% in under 4 h.
        for i in 0..=60 {
            s.push(i * 60 * S, &[("disk.used_pct:/data".into(), 60.0 + i as f32 * 0.25), ("cpu.total".into(), 5.0)]);
        }
        let now = 3600 * S;
        assert_eq!(ev.eval_rule(&absent, &s, now), vec![]);
        let t = ev.eval_rule(&filling, &s, now);
        assert_eq!(t.len(), 1);
        assert!((t[0].value.unwrap() - 135.0).abs() < 0.01, "{t:?}");
        // No cpu sample for 31 s: absent fires.
        let t = ev.eval_rule(&absent, &s, now + 31 * S);
        assert_eq!((t[0].to, ev.alerts["quiet"].value), (AlertState::Firing, None));
    }

    /// After the clock steps back, `for` and `keep_firing_for` count from the
    /// new time instead of waiting for the old one to come back.
    #[test]
    fn alert_timers_survive_a_clock_stepped_back() {
        let r = rule(
            "[[rule]]\nname = \"hot\"\ncondition = \"cpu.total > 90\"\nfor = \"30s\"\nkeep_firing_for = \"20s\"\n",
        );
        let (mut ev, mut s) = (Evaluator::default(), Samples::new(Duration::from_secs(1), Duration::from_secs(3600)));
        let t0 = 10_000 * S;
        assert_eq!(run(&mut ev, &r, &mut s, t0, &[("cpu.total", 95.0)]), vec![(None, AlertState::Pending)]);
        let back = t0 - 7200 * S;
        assert_eq!(run(&mut ev, &r, &mut s, back, &[("cpu.total", 95.0)]), vec![]);
        assert_eq!(
            run(&mut ev, &r, &mut s, back + 30 * S, &[("cpu.total", 96.0)]),
            vec![(Some(AlertState::Pending), AlertState::Firing)]
        );
        assert_eq!(
            run(&mut ev, &r, &mut s, back + 60 * S, &[("cpu.total", 10.0)]),
            vec![(Some(AlertState::Firing), AlertState::Resolved)]
        );
    }

    /// After the clock steps back, new samples are kept (not dropped as older
    /// than the newest) and the ones stamped after them are forgotten.
    #[test]
    fn samples_follow_a_clock_stepped_back() {
        let mut s = Samples::new(Duration::from_secs(10), Duration::from_secs(7200));
        let t0 = 10_000_000;
        for i in 0..10 {
            s.push(t0 + i * 10 * S, &[("x".into(), 1.0)]);
        }
        let back = t0 - 2 * 3600 * S;
        s.push(back, &[("x".into(), 2.0)]);
        s.push(back + 10 * S, &[("x".into(), 3.0)]);
        assert_eq!(s.get("x"), vec![(back, 2.0), (back + 10 * S, 3.0)]);
        // A late sample (a few seconds) is not a step back.
        s.push(back + 5 * S, &[("x".into(), 9.0)]);
        assert_eq!(s.get("x").last(), Some(&(back + 10 * S, 3.0)));
    }

    #[test]
    fn samples_keep_one_per_step_and_expire() {
        let mut s = Samples::new(Duration::from_secs(10), Duration::from_secs(60));
        for t in 0..=120 {
            s.push(t * S, &[("x".into(), t as f32)]);
        }
        let got = s.get("x");
        assert!(got.len() <= 8, "{got:?}");
        assert!(got.first().unwrap().0 >= 60 * S);
        assert_eq!(got.last().unwrap().1, 120.0);
        assert_eq!(
            render_summary(
                "{{labels.team}} {{value}}",
                Some(2.50),
                None,
                &[("team".to_string(), "db".to_string())].into()
            ),
            "db 2.5"
        );
    }
}
