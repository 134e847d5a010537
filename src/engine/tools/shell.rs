//! `shell`: run a command line with `sh -c`. Mutating: it always needs a
//! person's confirmation and is refused under `--read-only`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use super::{RunFuture, Tool, ToolError, ToolSpec};

pub struct Shell(ToolSpec);

impl Shell {
    pub fn new() -> Self {
        Shell(ToolSpec {
            name: "shell".into(),
            description: "Run a command line with sh -c (asks for confirmation; off under --read-only)".into(),
            schema: json!({"type":"object","required":["command"],"properties":{
                "command":{"type":"string","description":"the command line"},
                "cwd":{"type":"string","description":"working directory"}}}),
            mutating: true,
            source: "builtin".into(),
            timeout: Duration::from_secs(600),
        })
    }
}

impl Tool for Shell {
    fn spec(&self) -> &ToolSpec {
        &self.0
    }

    fn run(&self, args: Value, out: mpsc::Sender<String>) -> RunFuture {
        Box::pin(async move {
            let command = args.get("command").and_then(Value::as_str).unwrap_or_default().to_string();
            let mut cmd = tokio::process::Command::new("sh");
            cmd.arg("-c")
                .arg(&command)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true);
            if let Some(dir) = args.get("cwd").and_then(Value::as_str) {
                cmd.current_dir(dir);
            }
            let started = Instant::now();
            let mut child =
                cmd.spawn().map_err(|e| ToolError::Failed(format!("starting sh: {}", crate::net::io_text(&e))))?;
            let mut stdout = BufReader::new(child.stdout.take().ok_or(ToolError::Failed("no stdout".into()))?).lines();
            let mut stderr = BufReader::new(child.stderr.take().ok_or(ToolError::Failed("no stderr".into()))?).lines();
            let (mut out_open, mut err_open, mut lines) = (true, true, 0usize);
            while out_open || err_open {
                tokio::select! {
                    l = stdout.next_line(), if out_open => match l {
                        Ok(Some(l)) => { lines += 1; let _ = out.send(l).await; }
                        _ => out_open = false,
                    },
                    l = stderr.next_line(), if err_open => match l {
                        Ok(Some(l)) => { lines += 1; let _ = out.send(format!("stderr: {l}")).await; }
                        _ => err_open = false,
                    },
                }
            }
            let status = child.wait().await.map_err(|e| ToolError::Failed(e.to_string()))?;
            let ms = started.elapsed().as_millis() as u64;
            match status.code() {
                Some(0) => Ok(json!({"exit_code": 0, "lines": lines, "duration_ms": ms})),
                Some(c) => Err(ToolError::Failed(format!("{command:?} exited with status {c}"))),
                None => Err(ToolError::Failed(format!("{command:?} was killed by a signal"))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tools::{Registry, RunOptions};

    #[tokio::test]
    async fn needs_confirmation_is_off_when_read_only_and_streams_output() {
        let r = Registry::with_builtins(crate::jq::JqRunner::in_process());
        let (tx, mut rx) = mpsc::channel(16);
        let args = json!({"command": "echo hi; echo oops >&2"});
        assert!(
            matches!(r.run("shell", args.clone(), tx.clone()).await, Err(ToolError::Refused(m)) if m.contains("confirmation"))
        );
        let ro = RunOptions { confirmed: true, read_only: true };
        assert!(
            matches!(r.run_with("shell", args.clone(), tx.clone(), ro).await, Err(ToolError::Refused(m)) if m.contains("read-only"))
        );
        let ok = RunOptions { confirmed: true, read_only: false };
        let v = r.run_with("shell", args, tx.clone(), ok).await.unwrap();
        assert_eq!(v["exit_code"], 0);
        let mut lines = Vec::new();
        while let Ok(l) = rx.try_recv() {
            lines.push(l);
        }
        lines.sort();
        assert_eq!(lines, vec!["hi", "stderr: oops"]);
        let e = r.run_with("shell", json!({"command": "exit 3"}), tx, ok).await.unwrap_err();
        assert!(e.to_string().contains("status 3"));
    }
}
