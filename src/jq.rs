//! jq filters (jaq) and CSV → records: pure computation, used by the
//! `data_query` tool and by tool chaining in the app.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;
use serde_json::Value;

/// Most outputs one filter may produce.
pub const MAX_OUTPUTS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JqError {
    /// The filter does not parse or compile.
    #[error("{0}")]
    Syntax(String),
    /// The filter raised an error while running.
    #[error("filter failed: {0}")]
    Runtime(String),
    #[error("CSV {0}")]
    Csv(String),
    #[error("input: {0}")]
    Input(String),
}

/// CSV text → array of records (the header names the fields); numeric-looking
/// fields become numbers.
pub fn csv_records(text: &str) -> Result<Value, JqError> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let headers = rdr.headers().map_err(|e| JqError::Csv(format!("header: {e}")))?.clone();
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| JqError::Csv(format!("row {}: {e}", i + 2)))?;
        let mut obj = serde_json::Map::new();
        for (h, v) in headers.iter().zip(rec.iter()) {
            let val = match v.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => v.parse::<f64>().ok().filter(|f| f.is_finite()).map_or_else(|| Value::from(v), Value::from),
            };
            obj.insert(h.to_string(), val);
        }
        rows.push(Value::Object(obj));
    }
    Ok(Value::Array(rows))
}

/// Run `filter` over `input`, collecting every output (at most [`MAX_OUTPUTS`]).
pub fn run_filter(filter: &str, input: &Value) -> Result<Vec<Value>, JqError> {
    let defs = jaq_core::defs().chain(jaq_std::defs()).chain(jaq_json::defs());
    let funs = jaq_core::funs().chain(jaq_std::funs()).chain(jaq_json::funs());
    let loader = Loader::new(defs);
    let arena = Arena::default();
    let modules = loader
        .load(&arena, File { code: filter, path: () })
        .map_err(|e| JqError::Syntax(format!("cannot parse: {e:?}")))?;
    let compiled = Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|e| JqError::Syntax(format!("cannot compile: {e:?}")))?;
    let text = input.to_string();
    let val = jaq_json::read::parse_single(text.as_bytes()).map_err(|e| JqError::Input(e.to_string()))?;
    let ctx = Ctx::<data::JustLut<Val>>::new(&compiled.lut, Vars::new([]));
    let mut out = Vec::new();
    for r in compiled.id.run((ctx, val)).map(unwrap_valr) {
        let v = r.map_err(|e| JqError::Runtime(e.to_string()))?;
        let json: Value = serde_json::from_str(&v.to_string()).map_err(|e| JqError::Runtime(e.to_string()))?;
        out.push(json);
        if out.len() >= MAX_OUTPUTS {
            break;
        }
    }
    Ok(out)
}
