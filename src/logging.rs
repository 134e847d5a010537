//! Logging to a daily-rotated file in the state dir; never to the terminal.

use std::path::Path;

use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;

/// Files kept.
const KEEP_FILES: usize = 7;

/// Start logging into `dir`. `OPSDECK_LOG` sets the filter (default `info,rmcp=warn`).
///
/// Lines are written as they are logged, by the thread that logs them: logging
/// is sparse (no line per frame or per sample), a line is one `write` to the
/// page cache, and no writer thread waits for the rare one.
pub fn init(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("{}: cannot create the log directory: {}", dir.display(), crate::net::io_text(&e)))?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("opsdeck")
        .filename_suffix("log")
        .max_log_files(KEEP_FILES)
        .build(dir)
        .map_err(|e| {
            format!("{}: cannot open the log file: {}", dir.display(), crate::net::strip_os_error(&e.to_string()))
        })?;
    let filter = EnvFilter::try_from_env("OPSDECK_LOG").unwrap_or_else(|_| EnvFilter::new("info,rmcp=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(appender)
        .with_ansi(false)
        .with_target(true)
        .try_init()
        .map_err(|e| e.to_string())
}
