//! Floats on the wire. JSON has no NaN or infinity: serde_json writes them as
//! `null`, so every float a peer may send is read back with `null` as NaN
//! ("no measurement"), never as a bad frame. Use with
//! `#[serde(deserialize_with = "float::…")]` on every float field of the
//! protocol types.

use serde::{Deserialize, Deserializer};

/// An `f32`; `null` reads as NaN.
pub fn f32_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
    Ok(Option::<f32>::deserialize(d)?.unwrap_or(f32::NAN))
}

/// An `f64`; `null` reads as NaN.
pub fn f64_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// A list of `f32`; each `null` reads as NaN (and a `null` list as empty).
pub fn vec_f32_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
    let v = Option::<Vec<Option<f32>>>::deserialize(d)?.unwrap_or_default();
    Ok(v.into_iter().map(|x| x.unwrap_or(f32::NAN)).collect())
}

/// Three `f64` (load averages); each `null` reads as NaN.
pub fn f64x3_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<[f64; 3], D::Error> {
    let v = <[Option<f64>; 3]>::deserialize(d)?;
    Ok(v.map(|x| x.unwrap_or(f64::NAN)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct T {
        #[serde(deserialize_with = "f32_or_nan")]
        a: f32,
        #[serde(deserialize_with = "vec_f32_or_nan")]
        v: Vec<f32>,
        #[serde(deserialize_with = "f64x3_or_nan")]
        l: [f64; 3],
    }

    #[test]
    fn non_finite_values_survive_the_round_trip_as_nan() {
        let t = T { a: f32::NAN, v: vec![1.0, f32::INFINITY, f32::NEG_INFINITY], l: [f64::NAN, 1.0, f64::MAX] };
        let text = serde_json::to_string(&t).unwrap();
        assert_eq!(text, r#"{"a":null,"v":[1.0,null,null],"l":[null,1.0,1.7976931348623157e+308]}"#);
        let back: T = serde_json::from_str(&text).unwrap();
        assert!(back.a.is_nan() && back.v[1].is_nan() && back.v[2].is_nan() && back.l[0].is_nan());
        assert_eq!((back.v[0], back.l[2]), (1.0, f64::MAX));
    }
}
