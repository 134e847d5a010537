//! A real SMTP server for the email tests: aiosmtpd 1.4.6 from the venv
//! `.ci/test` installs into `$OPSDECK_SMTP_DIR/venv` (default
//! `~/.cache/opsdeck-smtp`), running `tests/peers/smtp_sink.py` on 127.0.0.1
//! with a port the kernel picks. Each accepted message is a JSON file in the
//! sink's folder.
//!
//! ```ignore
//! let sink = SmtpSink::start(&SinkOptions::default());
//! // send to 127.0.0.1:{sink.port} …
//! let got = sink.wait_for(1);  // the messages, in the order received
//! ```
//!
//! The server runs in a process group of its own, killed when the guard drops;
//! it also exits when its stdin (a pipe this side holds) closes, so a test
//! process killed before its drops ran leaves nothing behind.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// A failure bound for the server to listen and greet (about 0.3 s), not a synchronisation.
const START_LIMIT: Duration = Duration::from_secs(30);
/// A failure bound for messages to arrive.
const MESSAGE_LIMIT: Duration = Duration::from_secs(60);
/// How often the waits look again.
const POLL: Duration = Duration::from_millis(50);

/// How the sink behaves.
#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    /// `RCPT TO` these addresses is answered `550 5.1.1 Mailbox unavailable`.
    pub refuse: Vec<String>,
    /// Certificate and key PEM files: STARTTLS offered and required…
    pub tls: Option<(PathBuf, PathBuf)>,
    /// …or, with this, TLS from the first byte (as on port 465).
    pub implicit_tls: bool,
    /// User and password: AUTH PLAIN/LOGIN required (after STARTTLS); any other login gets 535.
    pub login: Option<(String, String)>,
}

/// One message the sink accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The accepted envelope recipients.
    pub to: Vec<String>,
    /// The message as sent (headers and body, CRLF line ends).
    pub data: String,
}

/// A running sink, killed (its process group) when dropped.
pub struct SmtpSink {
    child: Child,
    /// Closing it makes the server exit.
    _watch: Option<ChildStdin>,
    /// `out/` (the messages), `ready`, `log`.
    dir: tempfile::TempDir,
    pub port: u16,
}

impl SmtpSink {
    /// Starts the sink and returns once it has greeted a connection with 220.
    /// Panics (failing the test) when the venv is missing or it does not come up within 30 s.
    pub fn start(opts: &SinkOptions) -> SmtpSink {
        let python = venv().join("bin/python");
        assert!(
            python.exists(),
            "{} is missing: run `bash .ci/test` (it installs aiosmtpd==1.4.6 into $OPSDECK_SMTP_DIR/venv)",
            python.display()
        );
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("out")).expect("mkdir");
        let log = std::fs::File::create(dir.path().join("log")).expect("log file");
        let mut cmd = Command::new(&python);
        cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/smtp_sink.py"))
            .arg("--out")
            .arg(dir.path().join("out"))
            .arg("--ready")
            .arg(dir.path().join("ready"));
        for a in &opts.refuse {
            cmd.args(["--refuse", a]);
        }
        if let Some((cert, key)) = &opts.tls {
            cmd.arg("--cert").arg(cert).arg("--key").arg(key);
            if opts.implicit_tls {
                cmd.arg("--implicit");
            }
        }
        if let Some((user, password)) = &opts.login {
            cmd.args(["--user", user, "--password", password]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e} (run `bash .ci/test`)", python.display()));
        let watch = child.stdin.take();
        let mut sink = SmtpSink { child, _watch: watch, dir, port: 0 };
        let deadline = Instant::now() + START_LIMIT;
        loop {
            if let Some(status) = sink.child.try_wait().ok().flatten() {
                panic!("the SMTP sink exited ({status}) before it listened:\n{}", sink.log());
            }
            if sink.port == 0 {
                sink.port = std::fs::read_to_string(sink.dir.path().join("ready"))
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(0);
            }
            if sink.port != 0 && sink.greets(opts.implicit_tls) {
                return sink;
            }
            if Instant::now() > deadline {
                panic!("the SMTP sink did not greet within {START_LIMIT:?}:\n{}", sink.log());
            }
            std::thread::sleep(POLL);
        }
    }

    /// Whether a connection gets the `220` greeting now (2 s bound); with
    /// implicit TLS the greeting is inside TLS, so a connection is enough.
    fn greets(&self, implicit_tls: bool) -> bool {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else { return false };
        if implicit_tls {
            return true;
        }
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut line = String::new();
        let _ = BufReader::new(stream).read_line(&mut line);
        line.starts_with("220 ")
    }

    /// The messages accepted so far, in the order received.
    pub fn messages(&self) -> Vec<Received> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path().join("out"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "json"));
        files.sort();
        files
            .iter()
            .map(|p| {
                let v: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(p).expect("read message")).expect("message JSON");
                Received {
                    from: v["mail_from"].as_str().unwrap_or_default().to_string(),
                    to: v["rcpt_tos"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|t| t.as_str().map(String::from)).collect())
                        .unwrap_or_default(),
                    data: v["data"].as_str().unwrap_or_default().to_string(),
                }
            })
            .collect()
    }

    /// Waits until at least `n` messages have arrived and returns them all.
    /// Panics after 60 s with the sink's log.
    pub fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + MESSAGE_LIMIT;
        loop {
            let got = self.messages();
            if got.len() >= n {
                return got;
            }
            if Instant::now() > deadline {
                panic!("{} of {n} messages within {MESSAGE_LIMIT:?}; sink log:\n{}", got.len(), self.log());
            }
            std::thread::sleep(POLL);
        }
    }

    /// The sink's stdout and stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `.ci/test` installs the venv.
fn venv() -> PathBuf {
    std::env::var_os("OPSDECK_SMTP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/opsdeck-smtp"))
        .join("venv")
}
