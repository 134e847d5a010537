//! Logging to a daily-rotated file in the state dir; never to the terminal.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;

/// Files kept.
const KEEP_FILES: usize = 7;
/// Lines queued for the writer thread before new ones are dropped.
const LOG_QUEUE_LINES: usize = 1024;

/// Start logging into `dir`. `OPSDECK_LOG` sets the filter (default `info,rmcp=warn`).
/// Keep the guard alive until exit so buffered lines are written.
pub fn init(dir: &Path) -> Result<WorkerGuard, String> {
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
    // The default queue preallocates 128,000 lines (4 MiB resident); logging is sparse.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .lossy(true)
        .finish(appender);
    let filter = EnvFilter::try_from_env("OPSDECK_LOG").unwrap_or_else(|_| EnvFilter::new("info,rmcp=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .with_target(true)
        .try_init()
        .map_err(|e| e.to_string())?;
    Ok(guard)
}
