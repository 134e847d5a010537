//! Any jq filter over any JSON input, evaluated the way opsdeck evaluates
//! them: through the bounded runner, in a worker process. Every evaluation
//! must end with outputs or an error the worker meant to give (too slow, out
//! of memory, recursion too deep, a bad filter...), never a worker that died
//! of something else (a panic) and never a hang. Input: the filter, a NUL
//! byte, then the JSON input (anything else is `null`).
//!
//! This binary is its own jq worker: started as `jq_eval __jq-worker`, it
//! answers one request and exits, before libFuzzer reads any corpus.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use opsdeck::jq::{JqError, JqRunner, Limits};

struct Harness {
    rt: tokio::runtime::Runtime,
    runner: JqRunner,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
        let exe = std::env::current_exe().expect("the fuzz target's own path");
        let limits = Limits { timeout: Duration::from_secs(1), memory_bytes: 512 << 20, ..Limits::default() };
        Harness { rt, runner: JqRunner::new(exe).with_limits(limits) }
    })
}

fuzz_target!(
    init: {
        if std::env::args_os().nth(1).is_some_and(|a| a == opsdeck::jq::WORKER_ARG) {
            std::process::exit(if opsdeck::cli::jq_worker::serve() { 0 } else { 1 });
        }
    },
    |data: &[u8]| {
        let (filter, input) = match data.iter().position(|b| *b == 0) {
            Some(i) => (&data[..i], &data[i + 1..]),
            None => (data, &[][..]),
        };
        let Ok(filter) = std::str::from_utf8(filter) else { return };
        let input: serde_json::Value = serde_json::from_slice(input).unwrap_or(serde_json::Value::Null);
        let h = harness();
        let r = h.rt.block_on(h.runner.run(filter, &input));
        if let Err(JqError::Worker(why)) = &r {
            panic!("{filter:?} over {input}: the worker failed: {why}");
        }
    }
);
