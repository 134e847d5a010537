//! `opsdeck key set|get|delete NAME`: secrets in the OS keyring (or its
//! fallbacks), read from a terminal without echo or from a pipe.

use super::*;

fn read_secret(name: &str) -> std::io::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        crate::cli::err_text!("secret for {name} (input hidden): ");
        ratatui::crossterm::terminal::enable_raw_mode()?;
        let mut s = String::new();
        let r = (|| -> std::io::Result<()> {
            use ratatui::crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers, read};
            loop {
                if let Event::Key(k) = read()? {
                    if k.kind == KeyEventKind::Release {
                        continue;
                    }
                    match k.code {
                        KeyCode::Enter => return Ok(()),
                        KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                            return Err(std::io::Error::new(std::io::ErrorKind::Interrupted, "cancelled"));
                        }
                        KeyCode::Backspace => {
                            s.pop();
                        }
                        KeyCode::Char(c) => s.push(c),
                        _ => {}
                    }
                }
            }
        })();
        ratatui::crossterm::terminal::disable_raw_mode()?;
        crate::cli::err_line!();
        r.map(|()| s)
    } else {
        let mut s = String::new();
        stdin.lock().read_to_string(&mut s)?;
        Ok(s.trim_end_matches(['\n', '\r']).to_string())
    }
}

pub(super) fn key(op: &KeyOp, paths: &Paths) -> ExitCode {
    match op {
        KeyOp::Set { name } => {
            if let Err(e) = secrets::check_name(name) {
                return fail(e);
            }
            let value = match read_secret(name) {
                Ok(v) if !v.is_empty() => v,
                Ok(_) => return fail("empty secret: nothing stored"),
                Err(e) => return fail(format!("reading the secret: {e}")),
            };
            match secrets::set(name, &value, &paths.config_dir) {
                Ok((backend, why)) => {
                    if let Some(why) = why {
                        crate::cli::err_line!("warning: no OS keyring available ({why})");
                        crate::cli::err_line!(
                            "warning: stored in the 0600 fallback file instead; or set {} in the environment",
                            secrets::env_var_name(name)
                        );
                    }
                    crate::cli::err_line!("stored {name} in the {backend}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        KeyOp::Get { name } => match secrets::get(name, &paths.config_dir) {
            Ok(Some(found)) => {
                if let Some(w) = &found.warning {
                    crate::cli::err_line!("warning: {w}");
                }
                crate::cli::out_line!("{}", found.value);
                crate::cli::err_line!("(from the {})", found.backend);
                ExitCode::SUCCESS
            }
            Ok(None) => fail(format!("no secret named {name}\n  hint: opsdeck key set {name}")),
            Err(e) => fail(e),
        },
        KeyOp::Rm { name } => match secrets::remove(name, &paths.config_dir) {
            Ok(v) if v.is_empty() => fail(format!("no secret named {name}")),
            Ok(v) => {
                for b in v {
                    crate::cli::err_line!("removed {name} from the {b}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
    }
}
