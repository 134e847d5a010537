//! `opsdeck-supervise`: the small process that waits for the TUI and gives
//! the terminal back if it dies (see `opsdeck::runtime::supervisor`). `opsdeck`
//! replaces itself with this program when it starts the TUI on a terminal;
//! it is not meant to be run by hand.

#![forbid(unsafe_code)]

use std::process::ExitCode;

#[cfg(not(unix))]
fn main() -> ExitCode {
    eprintln!("opsdeck-supervise: only used on Unix");
    ExitCode::from(2)
}

#[cfg(unix)]
fn main() -> ExitCode {
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    use opsdeck::runtime::supervisor::{DISABLE_ENV, TUI_EXE_ENV, supervise};

    let Some(exe) = std::env::var_os(TUI_EXE_ENV).map(std::path::PathBuf::from) else {
        eprintln!("opsdeck-supervise: started by `opsdeck` to watch its TUI; run `opsdeck` instead");
        return ExitCode::from(2);
    };
    if let Some(code) = supervise(&exe) {
        return code;
    }
    // The TUI could not be started as a child: run it here, unsupervised.
    let err = Command::new(&exe).args(std::env::args_os().skip(1)).env(DISABLE_ENV, "1").env_remove(TUI_EXE_ENV).exec();
    eprintln!("opsdeck-supervise: cannot start {}: {}", exe.display(), opsdeck::net::io_text(&err));
    ExitCode::FAILURE
}
