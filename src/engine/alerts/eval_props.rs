//! Property: over any sample stream (gaps, late and duplicate samples, varied
//! refresh and evaluation times, the clock stepping back), no alert resolves while its condition holds
//! on the samples it had, and the value shown is the one its decision used.

use std::time::Duration;

use proptest::prelude::*;

use super::eval::{Evaluator, Samples};
use super::expr::{self, Reading};
use super::rules::{Rule, parse};
use crate::protocol::alerts::{Alert, AlertState};

const RULES: &[&str] = &[
    "avg(cpu.total, 2m) > 90",
    "rate(cpu.total, 1m) > 0.5",
    "predict(disk.used_pct:*, 10m, 5m) >= 100",
    "cpu.total > 90",
    "absent(cpu.total, 30s)",
];

/// One step of a stream: time passes, maybe a sample (late by some ms, or a
/// duplicate of the previous stamp), then an evaluation.
#[derive(Debug, Clone)]
struct Step {
    advance_ms: i64,
    sample: Option<(i64, bool, f32, f32, f32)>,
}

fn step() -> impl Strategy<Value = Step> {
    (
        // Mostly a refresh or so; sometimes a gap; rarely the clock stepping back.
        prop_oneof![16 => 0i64..3_000, 2 => 0i64..400_000, 1 => -8_000_000i64..0],
        proptest::option::weighted(0.85, (0i64..20_000, any::<bool>(), 80.0f32..100.0, 90.0f32..101.0, 90.0f32..101.0)),
    )
        .prop_map(|(advance_ms, sample)| Step { advance_ms, sample })
}

fn rule(condition: &str, for_s: u64, keep_s: u64) -> Rule {
    let src = format!(
        "[[rule]]\nname = \"r\"\ncondition = \"{condition}\"\nfor = \"{for_s}s\"\nkeep_firing_for = \"{keep_s}s\"\n"
    );
    parse("p.toml", &src).expect("rule").rules.remove(0)
}

proptest! {
    #[test]
    fn alerts_resolve_only_on_a_decision_that_does_not_hold(
        which in 0..RULES.len(),
        for_s in prop_oneof![Just(0u64), 1u64..120],
        keep_s in prop_oneof![Just(0u64), 1u64..60],
        step_s in 1u64..12,
        steps in proptest::collection::vec(step(), 1..400),
    ) {
        let r = rule(RULES[which], for_s, keep_s);
        let mut samples = Samples::new(Duration::from_secs(step_s), Duration::from_secs(2 * 3600));
        let mut ev = Evaluator::default();
        let (mut now, mut last_ts) = (1_000_000_000i64, 0i64);
        for st in steps {
            now += st.advance_ms;
            if let Some((late, dup, cpu, root, data)) = st.sample {
                let ts = if dup && last_ts > 0 { last_ts } else { now - late };
                last_ts = ts;
                samples.push(ts, &[
                    ("cpu.total".into(), cpu),
                    ("disk.used_pct:/".into(), root),
                    ("disk.used_pct:/data".into(), data),
                ]);
            }
            samples.expire(now);
            // What the condition says on exactly these samples, per alert id.
            let reference: Vec<(String, Reading)> = samples
                .matching(r.condition.series())
                .into_iter()
                .map(|(name, instance)| {
                    let mut labels = r.labels.clone();
                    if let Some(i) = instance {
                        labels.insert("instance".into(), i);
                    }
                    let reading = expr::evaluate(&r.condition, &samples.get(&name), now, samples.step_ms());
                    (Alert::make_id(&r.name, &labels), reading)
                })
                .collect();
            let transitions = ev.eval_rule(&r, &samples, now);
            for tr in &transitions {
                let Some((_, reading)) = reference.iter().find(|(id, _)| *id == tr.alert) else { continue };
                match reading {
                    Reading::Decided { holds, value, text } => {
                        prop_assert!(
                            !(tr.to == AlertState::Resolved && *holds),
                            "resolved while holding: {tr:?} {reading:?}"
                        );
                        prop_assert_eq!((&tr.value, &tr.value_text), (value, text), "transition {:?}", tr);
                    }
                    Reading::NoData => prop_assert!(false, "a transition without data: {tr:?}"),
                }
            }
            for (id, reading) in &reference {
                // A resolved alert keeps the value that resolved it.
                let active = ev.alerts.get(id).filter(|a| a.state != AlertState::Resolved);
                if let (Some(a), Reading::Decided { value, text, .. }) = (active, reading) {
                    prop_assert_eq!((&a.value, &a.value_text), (value, text), "shown value of {}", id);
                }
            }
        }
    }
}
