//! `edit_workflow`'s IO: the editor command line (`$EDITOR`, `code -w`) is
//! resolved to a program before the terminal is handed over, so a missing
//! editor is said in the TUI and never by a shell on the terminal; the
//! editor's error output is read (not left on the screen) and its last line
//! said when it fails.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

use tokio::io::AsyncReadExt;

use super::event_loop::Screen;

/// At most this much of the editor's error output is kept (its end).
const STDERR_KEPT: usize = 4096;

/// Run `editor` on `path` with the terminal (the TUI handed over until it
/// exits): what to say (the file edited, or what went wrong and how to fix
/// it), and the terminal's size after.
pub(super) async fn edit_file(
    screen: &mut impl Screen,
    editor: &str,
    path: &Path,
) -> (Result<String, String>, Option<(u16, u16)>) {
    let path_var = std::env::var_os("PATH");
    let home = std::env::var_os("HOME").map(PathBuf::from);
    if let Err(why) = resolve(editor, path_var.as_deref(), home.as_deref(), is_executable) {
        return (Err(why), None);
    }
    if let Err(e) = screen.hand_over() {
        let size = screen.take_back().ok();
        return (Err(format!("✗ the terminal could not be handed to the editor: {e}")), size);
    }
    let ran = run(editor, path).await;
    let size = screen.take_back();
    let said = edit_outcome(editor, path, ran);
    match size {
        Ok(size) => (said, Some(size)),
        Err(e) => (Err(format!("{}; the terminal could not be taken back: {e}", said.unwrap_or_else(|e| e))), None),
    }
}

/// Run the editor; its exit status and the end of what it wrote on stderr.
async fn run(editor: &str, path: &Path) -> io::Result<(std::process::ExitStatus, String)> {
    let mut child = editor_command(editor, path).spawn()?;
    let mut err = Vec::new();
    if let Some(mut stderr) = child.stderr.take() {
        let mut buf = [0u8; 1024];
        loop {
            match stderr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    err.extend_from_slice(&buf[..n]);
                    let cut = err.len().saturating_sub(STDERR_KEPT);
                    err.drain(..cut);
                }
            }
        }
    }
    let status = child.wait().await?;
    Ok((status, String::from_utf8_lossy(&err).into_owned()))
}

/// `editor` is a command line (`vim`, `code --wait`): a shell runs it with
/// the path as its last argument, as git runs `$EDITOR`. Its stderr is read
/// here: whatever it says there would otherwise stay on the terminal.
fn editor_command(editor: &str, path: &Path) -> tokio::process::Command {
    let mut c = tokio::process::Command::new("sh");
    c.arg("-c").arg(format!("{editor} \"$1\"")).arg(editor).arg(path);
    c.stderr(std::process::Stdio::piped());
    c.kill_on_drop(true);
    c
}

/// Whether `p` is a file this user may run.
#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// The program `editor` runs, found as the shell would find it (on `PATH`,
/// or at a path when it names one), or what to say when it is not there.
/// `Ok(None)`: the program is named by shell syntax this does not read
/// (`$VAR`, `` ` ``): the shell is left to find it.
pub(super) fn resolve(
    editor: &str,
    path_var: Option<&OsStr>,
    home: Option<&Path>,
    is_exec: impl Fn(&Path) -> bool,
) -> Result<Option<PathBuf>, String> {
    let words = split_words(editor);
    // `VAR=value editor …`: the program is the first word that is no assignment.
    let Some(program) = words.iter().find(|w| !is_assignment(w)) else {
        return Err(format!("✗ the editor `{editor}` names no program: {FIX}"));
    };
    if program.contains(['$', '`', '(', ';', '|', '&']) {
        return Ok(None);
    }
    let named = match (program.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(program),
    };
    if program.contains('/') {
        return if is_exec(&named) {
            Ok(Some(named))
        } else {
            Err(format!("✗ the editor `{editor}` was not found: {} is not a program; {FIX}", named.display()))
        };
    }
    let found = path_var.into_iter().flat_map(std::env::split_paths).map(|d| d.join(program)).find(|p| is_exec(p));
    found.map(Some).ok_or_else(|| format!("✗ the editor `{editor}` was not found: no `{program}` on your PATH; {FIX}"))
}

/// How to fix a missing editor.
const FIX: &str = "set $EDITOR (or $VISUAL) to an installed editor, e.g. `export EDITOR=nano`, and restart opsdeck";

/// `NAME=value` before the program.
fn is_assignment(w: &str) -> bool {
    w.split_once('=').is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// Words as a shell splits them: blanks separate, quotes ('…', "…") and a
/// backslash keep blanks in a word.
fn split_words(s: &str) -> Vec<String> {
    let (mut words, mut cur, mut in_word) = (Vec::new(), String::new(), false);
    let mut chars = s.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') => cur.extend(chars.next()),
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                cur.extend(chars.next());
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// What the status line says after the editor: the file edited, or what
/// went wrong (with the last line the editor wrote on stderr) and how to fix it.
fn edit_outcome(
    editor: &str,
    path: &Path,
    ran: io::Result<(std::process::ExitStatus, String)>,
) -> Result<String, String> {
    let file = path.display();
    let said = |err: &str| {
        let last = err.lines().map(str::trim).rfind(|l| !l.is_empty());
        last.map(|l| format!(" — it said: {}", crate::text::clean(l))).unwrap_or_default()
    };
    Err(match ran {
        Ok((s, _)) if s.success() => {
            return Ok(format!(
                "✓ edited {file}: the workflows are read again within seconds (problems show in the list)"
            ));
        }
        // The shell's words for a command it cannot find or run.
        Ok((s, err)) if matches!(s.code(), Some(126 | 127)) => {
            format!("✗ the editor `{editor}` could not be run{}: {FIX}", said(&err))
        }
        Ok((s, err)) => match s.code() {
            Some(code) => {
                format!("✗ the editor `{editor}` exited with status {code}{}: {file} may be unchanged", said(&err))
            }
            None => format!("✗ the editor `{editor}` was stopped by a signal{}: {file} may be unchanged", said(&err)),
        },
        Err(e) => format!("✗ the editor `{editor}` could not be started ({e}): is `sh` on your PATH?"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(editor: &str, on_path: &'static [&'static str]) -> Result<Option<PathBuf>, String> {
        let exec = move |p: &Path| on_path.iter().any(|x| Path::new(x) == p);
        resolve(editor, Some(OsStr::new("/usr/local/bin:/usr/bin")), Some(Path::new("/home/u")), exec)
    }

    #[test]
    fn the_program_is_found_on_path_with_its_arguments_and_assignments_left_aside() {
        assert_eq!(found("vim", &["/usr/bin/vim"]), Ok(Some("/usr/bin/vim".into())));
        assert_eq!(found("code -w", &["/usr/local/bin/code", "/usr/bin/code"]), Ok(Some("/usr/local/bin/code".into())));
        assert_eq!(found("TERM=xterm  nvim -p", &["/usr/bin/nvim"]), Ok(Some("/usr/bin/nvim".into())));
        assert_eq!(found("'/opt/my editor/ed' --wait", &["/opt/my editor/ed"]), Ok(Some("/opt/my editor/ed".into())));
        assert_eq!(found("~/bin/ed", &["/home/u/bin/ed"]), Ok(Some("/home/u/bin/ed".into())));
        assert_eq!(found("$HOME/bin/ed", &[]), Ok(None), "shell syntax: the shell finds it");
    }

    #[test]
    fn a_missing_program_is_named_with_the_fix() {
        let e = found("code -w", &["/usr/bin/vim"]).unwrap_err();
        assert!(e.contains("`code -w` was not found") && e.contains("no `code` on your PATH"), "{e}");
        assert!(e.contains("set $EDITOR (or $VISUAL)"), "{e}");
        let e = found("/opt/nope/ed", &[]).unwrap_err();
        assert!(e.contains("/opt/nope/ed is not a program"), "{e}");
        assert!(found("  ", &[]).unwrap_err().contains("names no program"));
    }

    #[test]
    fn words_split_as_a_shell_splits_them() {
        assert_eq!(split_words(r#"a "b c" d\ e 'f"g'"#), vec!["a", "b c", "d e", "f\"g"]);
        assert_eq!(split_words(""), Vec::<String>::new());
    }
}
