//! jq filters (jaq) and CSV → records, used by the `data_query` tool and by
//! tool chaining in the app.
//!
//! jaq has no recursion limit and no fuel, and its evaluation cannot be
//! interrupted between two outputs (`last(repeat(1))` never yields): a filter
//! can loop forever, take all memory, or overflow the stack, which aborts the
//! whole process. So filters are never evaluated in a process that must stay
//! alive: [`JqRunner`] runs them in a worker process (the opsdeck binary in its
//! hidden [`WORKER_ARG`] mode) under a time, memory, stack and output budget,
//! and turns every way the worker can end into a [`JqError`].
//! [`run_filter`] is the pure evaluation the worker calls.

mod runner;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use runner::{JqRunner, Limits, WORKER_ARG};

/// Most outputs one filter may produce (more is an error, never a silent cut).
pub const MAX_OUTPUTS: usize = 100_000;
/// Most bytes of JSON text all outputs of one filter may add up to.
pub const MAX_OUTPUT_BYTES: usize = 16 * 1024 * 1024;

/// Why a filter gave no answer. Serialised between the worker and its parent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
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
    /// The stack overflowed: a recursion without an end, or one too deep.
    #[error("filter failed: recursion too deep (a recursive definition that never ends?)")]
    TooDeep,
    /// Still running when the time budget (milliseconds) ran out; the worker was killed.
    #[error("too slow: still running after {}", seconds(*.0))]
    TooSlow(u64),
    /// The worker ran out of its memory budget (bytes).
    #[error("filter failed: out of memory (it needed more than {})", mebibytes(*.0))]
    OutOfMemory(u64),
    /// More outputs than the budget allows.
    #[error("filter failed: more than {0} results; narrow it, e.g. with limit(100; …) or first(…)")]
    TooManyOutputs(usize),
    /// The outputs' JSON text is over the budget (bytes).
    #[error("filter failed: its results are over {}; narrow it, e.g. with limit(100; …) or .[0:100]", mebibytes(*.0 as u64))]
    TooLarge(usize),
    /// The worker could not be started or ended in a way it should not.
    #[error("jq worker: {0}")]
    Worker(String),
}

/// `2 s`, `2.5 s`.
fn seconds(ms: u64) -> String {
    if ms.is_multiple_of(1000) { format!("{} s", ms / 1000) } else { format!("{:.1} s", ms as f64 / 1000.0) }
}

/// `1024 MiB`, `0.5 MiB`.
fn mebibytes(bytes: u64) -> String {
    let mib = bytes as f64 / (1024.0 * 1024.0);
    if mib >= 1.0 { format!("{mib:.0} MiB") } else { format!("{mib:.1} MiB") }
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

/// Run `filter` over `input` in this process, collecting every output (at most
/// [`MAX_OUTPUTS`], [`MAX_OUTPUT_BYTES`]).
///
/// Unbounded: a filter may loop forever or overflow the stack (which aborts
/// the process). Only the worker process calls this with a user's filter;
/// everything else goes through [`JqRunner`].
pub fn run_filter(filter: &str, input: &Value) -> Result<Vec<Value>, JqError> {
    run_filter_bounded(filter, input, MAX_OUTPUTS, MAX_OUTPUT_BYTES)
}

/// [`run_filter`] with explicit output budgets: more outputs than
/// `max_outputs`, or more than `max_bytes` of JSON text, is an error.
pub fn run_filter_bounded(
    filter: &str,
    input: &Value,
    max_outputs: usize,
    max_bytes: usize,
) -> Result<Vec<Value>, JqError> {
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
    let mut bytes = 0usize;
    for r in compiled.id.run((ctx, val)).map(unwrap_valr) {
        let v = r.map_err(|e| JqError::Runtime(e.to_string()))?;
        if out.len() >= max_outputs {
            return Err(JqError::TooManyOutputs(max_outputs));
        }
        let text = v.to_string();
        bytes = bytes.saturating_add(text.len());
        if bytes > max_bytes {
            return Err(JqError::TooLarge(max_bytes));
        }
        let json: Value = serde_json::from_str(&text).map_err(|e| JqError::Runtime(not_json(&text, &e)))?;
        out.push(json);
    }
    Ok(out)
}

/// An output JSON cannot carry (`nan`, `infinite`, a too deeply nested value).
fn not_json(text: &str, e: &serde_json::Error) -> String {
    let head: String = text.chars().take(40).collect();
    format!("a result is not JSON ({head}): {e}")
}

/// What the parent sends the worker on its stdin.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    pub filter: String,
    pub input: Value,
    pub max_outputs: usize,
    pub max_output_bytes: usize,
    /// Address-space limit the worker sets on itself (bytes).
    pub memory_bytes: u64,
    /// Stack of the thread that evaluates (bytes).
    pub stack_bytes: usize,
    /// CPU-time limit the worker sets on itself (seconds): a backstop if the
    /// parent is gone and cannot kill it.
    pub cpu_seconds: u64,
}

/// What the worker answers on its stdout.
#[derive(Debug, Serialize, Deserialize)]
pub enum Answer {
    Ok(Vec<Value>),
    Err(JqError),
}

/// The worker's work: a [`Request`] in, an [`Answer`] out (as JSON bytes).
pub fn answer(request: &Request) -> Vec<u8> {
    let a = match run_filter_bounded(&request.filter, &request.input, request.max_outputs, request.max_output_bytes) {
        Ok(v) => Answer::Ok(v),
        Err(e) => Answer::Err(e),
    };
    serde_json::to_vec(&a).unwrap_or_else(|e| {
        serde_json::to_vec(&Answer::Err(JqError::Worker(format!("cannot write the answer: {e}")))).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn outputs_over_the_budget_are_an_error_never_a_silent_cut() {
        assert_eq!(run_filter_bounded("range(3)", &json!(null), 3, 1000).unwrap(), vec![json!(0), json!(1), json!(2)]);
        assert_eq!(run_filter_bounded("range(4)", &json!(null), 3, 1000), Err(JqError::TooManyOutputs(3)));
        assert_eq!(run_filter_bounded("repeat(1)", &json!(null), 10, 1000), Err(JqError::TooManyOutputs(10)));
        assert_eq!(run_filter_bounded("[range(100)]", &json!(null), 10, 50), Err(JqError::TooLarge(50)));
    }

    #[test]
    fn errors_survive_the_trip_between_worker_and_parent() {
        for e in [
            JqError::Syntax("x".into()),
            JqError::TooDeep,
            JqError::TooSlow(2000),
            JqError::OutOfMemory(1 << 30),
            JqError::TooManyOutputs(5),
        ] {
            let back: JqError = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
            assert_eq!(back, e);
        }
        assert_eq!(JqError::TooSlow(2000).to_string(), "too slow: still running after 2 s");
        assert_eq!(
            JqError::OutOfMemory(1 << 30).to_string(),
            "filter failed: out of memory (it needed more than 1024 MiB)"
        );
        assert!(JqError::TooDeep.to_string().starts_with("filter failed: recursion too deep"));
    }
}
