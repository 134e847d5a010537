//! `opsdeck __jq-worker` (hidden): evaluate one jq filter for a parent
//! opsdeck ([`crate::jq::JqRunner`]) and exit. The request comes on stdin,
//! the answer goes to stdout as JSON. The worker limits itself first (address
//! space, CPU time) and evaluates on a thread with a known stack, so a runaway
//! filter ends this process, never its parent: an overflowed stack aborts with
//! "has overflowed its stack", exhausted memory with "memory allocation of …
//! failed", and the parent turns either into a clear error.

use std::io::{Read, Write};
use std::process::ExitCode;

use crate::jq::{Answer, JqError, Request};

/// Run the worker; the exit code is 0 whenever an answer was written.
pub fn main() -> ExitCode {
    if serve() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Read the request, answer it; false when the answer could not be written.
/// (Public for programs that embed the worker, e.g. the fuzz target.)
pub fn serve() -> bool {
    let mut raw = Vec::new();
    if let Err(e) = std::io::stdin().lock().read_to_end(&mut raw) {
        return reply(&Answer::Err(JqError::Worker(format!("reading the request: {}", crate::net::io_text(&e)))));
    }
    let request: Request = match serde_json::from_slice(&raw) {
        Ok(r) => r,
        Err(e) => return reply(&Answer::Err(JqError::Input(format!("unreadable request: {e}")))),
    };
    drop(raw);
    if let Err(e) = limit_self(&request) {
        return reply(&Answer::Err(JqError::Worker(format!("cannot limit the worker: {e}"))));
    }
    let stack = request.stack_bytes;
    let eval =
        std::thread::Builder::new().name("jq".into()).stack_size(stack).spawn(move || crate::jq::answer(&request));
    let bytes = match eval.map(|h| h.join()) {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => return reply(&Answer::Err(JqError::Worker("the evaluation panicked".into()))),
        Err(e) => return reply(&Answer::Err(JqError::Worker(format!("cannot start the evaluation: {e}")))),
    };
    write_out(&bytes)
}

fn reply(a: &Answer) -> bool {
    write_out(&serde_json::to_vec(a).unwrap_or_default())
}

/// False when the parent is gone (or gave up): nobody to tell.
fn write_out(bytes: &[u8]) -> bool {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|()| out.flush()).is_ok()
}

/// Address space and CPU time, hard limits included (they only go down).
#[cfg(unix)]
fn limit_self(r: &Request) -> Result<(), String> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let set = |res, soft: u64, hard: u64| setrlimit(res, Rlimit { current: Some(soft), maximum: Some(hard) });
    set(Resource::As, r.memory_bytes, r.memory_bytes).map_err(|e| format!("address space: {e}"))?;
    // SIGXCPU at the soft limit (the parent reads it as "too slow"), SIGKILL a second later.
    let cpu = r.cpu_seconds.max(1);
    set(Resource::Cpu, cpu, cpu + 1).map_err(|e| format!("CPU time: {e}"))?;
    Ok(())
}

#[cfg(not(unix))]
fn limit_self(_: &Request) -> Result<(), String> {
    Ok(())
}
