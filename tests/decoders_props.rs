//! Property tests of the external decoders (Prometheus `query_range`,
//! Alertmanager alerts and silences): any JSON — nulls, huge, negative and
//! odd numbers, odd Unicode, wrong types, nesting — and any bytes are read
//! without a panic, and what comes out is bounded by the range asked for and
//! by what came in. `PROPTEST_CASES=N` runs more cases.

use proptest::prelude::*;
use serde_json::{Map, Number, Value, json};

use opsdeck::remote::alertmanager::{self, MAX_ITEMS};
use opsdeck::remote::prometheus::matrix;
use opsdeck::remote::prometheus::{MAX_SLOTS, SlotRange};

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        Just(json!(1e308)),
        Just(json!(-1e308)),
        Just(json!(5e-324)),
        Just(json!(1_795_933_151_000.0)),
        Just(json!(1_795_933_110.0)),
        Just(json!(-1)),
        Just(json!(0)),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,12}",
        Just("NaN".to_string()),
        Just("+Inf".to_string()),
        Just("-Inf".to_string()),
        Just("1e39".to_string()),
        Just("\u{212A}\u{130}\u{202E}\u{0}\u{FEFF}😀".to_string()),
        Just("2026-11-22T08:16:46.222Z".to_string()),
        Just("active".to_string()),
        Just("unprocessed".to_string()),
        Just("matrix".to_string()),
        Just("success".to_string()),
        Just("alertname".to_string()),
    ]
}

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf =
        prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::Bool), number(), text().prop_map(Value::String)];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value that is often of the right shape, with any JSON in any place.
fn maybe(shape: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
    prop_oneof![3 => shape, 1 => any_json()].boxed()
}

fn object(fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    let (names, values): (Vec<_>, Vec<_>) = fields.into_iter().unzip();
    (values, prop::collection::vec(any::<bool>(), names.len()))
        .prop_map(move |(vals, keep)| {
            let mut m = Map::new();
            for ((n, v), k) in names.iter().zip(vals).zip(keep) {
                if k {
                    m.insert((*n).to_string(), v);
                }
            }
            Value::Object(m)
        })
        .boxed()
}

fn sample() -> BoxedStrategy<Value> {
    maybe((number(), prop_oneof![text().prop_map(Value::String), number()]).prop_map(|(t, v)| json!([t, v]))).boxed()
}

fn series() -> BoxedStrategy<Value> {
    maybe(object(vec![
        ("metric", maybe(prop::collection::btree_map(text(), any_json(), 0..4).prop_map(|m| json!(m))).boxed()),
        ("values", maybe(prop::collection::vec(sample(), 0..40).prop_map(Value::Array)).boxed()),
    ]))
    .boxed()
}

fn query_range_answer() -> impl Strategy<Value = Value> {
    let data = object(vec![
        ("resultType", maybe(Just(json!("matrix"))).boxed()),
        ("result", maybe(prop::collection::vec(series(), 0..6).prop_map(Value::Array)).boxed()),
    ]);
    maybe(object(vec![
        ("status", maybe(Just(json!("success"))).boxed()),
        ("data", maybe(data).boxed()),
        ("error", any_json().boxed()),
    ]))
}

fn string_list() -> BoxedStrategy<Value> {
    maybe(prop::collection::vec(text().prop_map(Value::String), 0..3).prop_map(Value::Array)).boxed()
}

fn string_map() -> BoxedStrategy<Value> {
    maybe(prop::collection::btree_map(text(), text(), 0..4).prop_map(|m| json!(m))).boxed()
}

fn am_alert() -> BoxedStrategy<Value> {
    let status = object(vec![
        ("state", maybe(text().prop_map(Value::String)).boxed()),
        ("silencedBy", string_list()),
        ("inhibitedBy", string_list()),
    ]);
    maybe(object(vec![
        ("fingerprint", maybe(text().prop_map(Value::String)).boxed()),
        ("labels", string_map()),
        ("annotations", string_map()),
        ("startsAt", maybe(text().prop_map(Value::String)).boxed()),
        ("status", maybe(status).boxed()),
    ]))
    .boxed()
}

fn am_silence() -> BoxedStrategy<Value> {
    let matcher = object(vec![
        ("name", maybe(text().prop_map(Value::String)).boxed()),
        ("value", maybe(text().prop_map(Value::String)).boxed()),
        ("isRegex", any_json().boxed()),
        ("isEqual", any_json().boxed()),
    ]);
    maybe(object(vec![
        ("id", maybe(text().prop_map(Value::String)).boxed()),
        ("status", maybe(object(vec![("state", maybe(Just(json!("active"))).boxed())])).boxed()),
        ("comment", maybe(text().prop_map(Value::String)).boxed()),
        ("createdBy", maybe(text().prop_map(Value::String)).boxed()),
        ("startsAt", maybe(text().prop_map(Value::String)).boxed()),
        ("endsAt", maybe(text().prop_map(Value::String)).boxed()),
        ("matchers", maybe(prop::collection::vec(matcher, 0..3).prop_map(Value::Array)).boxed()),
    ]))
    .boxed()
}

fn list_of(item: BoxedStrategy<Value>) -> impl Strategy<Value = Value> {
    maybe(prop::collection::vec(item, 0..12).prop_map(Value::Array))
}

/// Items in a list (0 for anything else).
fn items_in(v: &Value) -> usize {
    v.as_array().map_or(0, Vec::len)
}

/// Samples in every series of an answer (an upper bound of points read).
fn samples_in(v: &Value) -> usize {
    v.pointer("/data/result")
        .and_then(Value::as_array)
        .map_or(0, |l| l.iter().map(|s| s.get("values").map_or(0, items_in)).max().unwrap_or(0))
}

fn range() -> impl Strategy<Value = SlotRange> {
    prop_oneof![
        Just(SlotRange::new(1_795_933_100_000, 1_795_933_160_000, 1_000).unwrap()),
        Just(SlotRange::new(0, 3_600_000, 15_000).unwrap()),
        (any::<i64>(), 0i64..10_000_000, 1_000i64..100_000)
            .prop_filter_map("a valid range", |(s, len, step)| SlotRange::new(s, s.checked_add(len)?, step).ok()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn prometheus_answers_never_panic_and_stay_in_the_range(v in query_range_answer(), r in range()) {
        let body = serde_json::to_vec(&v).unwrap();
        if let Ok(a) = matrix::decode(&body, &r) {
            prop_assert!(a.points.len() <= samples_in(&v));
            prop_assert!(a.points.iter().all(|(s, _)| (r.first_slot()..=r.last_slot()).contains(s)));
            prop_assert!(a.points.iter().all(|(_, x)| x.is_finite()));
            if let Some(t) = matrix::to_tier(&r, &[("x".into(), a)]) {
                prop_assert!(t.columns.iter().all(|(_, c)| c.len() <= r.slots() && c.len() <= MAX_SLOTS + 1));
            }
        }
    }

    #[test]
    fn any_range_is_bounded_or_refused(start in any::<i64>(), end in any::<i64>(), step in any::<i64>(),
                                       fetched in proptest::option::of(any::<i64>())) {
        if let Ok(r) = SlotRange::new(start, end, step) {
            prop_assert!(r.slots() <= MAX_SLOTS + 1 && r.start <= r.end);
            let _ = r.slot_of(f64::from_bits(start as u64));
        }
        if let Ok(r) = SlotRange::next(end, fetched, step) {
            prop_assert!(r.slots() <= MAX_SLOTS + 1 && r.end == end);
        }
    }

    #[test]
    fn alertmanager_answers_never_panic_and_never_grow(alerts in list_of(am_alert()), silences in list_of(am_silence())) {
        let (a, s) = (serde_json::to_vec(&alerts).unwrap(), serde_json::to_vec(&silences).unwrap());
        if let Ok(p) = alertmanager::decode("alertmanager:am", &a, &s) {
            prop_assert!(p.update.alerts.len() + p.unreadable.alerts <= items_in(&alerts));
            prop_assert!(p.update.silences.len() <= items_in(&silences).min(MAX_ITEMS));
            prop_assert!(p.unreadable.silences <= items_in(&silences));
            let _ = p.unreadable.describe();
        } else {
            prop_assert!(!alerts.is_array() && !alerts.is_null() || !silences.is_array() && !silences.is_null());
        }
    }

    #[test]
    fn any_bytes_are_refused_or_read(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let r = SlotRange::new(0, 60_000, 1_000).unwrap();
        let _ = matrix::decode(&bytes, &r);
        let _ = alertmanager::decode("alertmanager:am", &bytes, b"[]");
        let _ = alertmanager::decode("alertmanager:am", b"[]", &bytes);
    }
}

#[test]
fn deep_nesting_is_refused_not_a_stack_overflow() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = SlotRange::new(0, 60_000, 1_000).unwrap();
    assert!(matrix::decode(deep.as_bytes(), &r).is_err());
    assert!(alertmanager::decode("alertmanager:am", deep.as_bytes(), b"[]").is_err());
    let nested = format!(r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"values":{deep}}}]}}}}"#);
    assert!(matrix::decode(nested.as_bytes(), &r).is_err());
}

#[test]
fn lists_past_the_limit_are_cut_and_counted() {
    let many = format!("[{}]", vec![r#"{"fingerprint":"f","labels":{"alertname":"A"}}"#; MAX_ITEMS + 5].join(","));
    let p = alertmanager::decode("alertmanager:am", many.as_bytes(), b"[]").unwrap();
    assert_eq!((p.update.alerts.len(), p.unreadable.dropped), (1, 5), "one id, deduplicated; 5 past the limit");
    assert!(p.unreadable.describe().unwrap().contains("past the limit"));
}
