//! Secrets (provider API keys, backend tokens): the OS keyring first, then a
//! documented fallback. Secrets are never logged, and never written to sled or
//! config.
//!
//! Order for reading: `OPSDECK_SECRET_<NAME>` environment variable, then the
//! keyring, then the 0600 fallback file. Keyring stores tried: Secret Service
//! (when a session bus exists; it persists across reboots), then the Linux
//! kernel keyutils store (works headless over SSH; joins a session keyring when
//! the process has none; keys live in the user's persistent keyring, which the
//! kernel drops after reboot or days of disuse). `OPSDECK_KEYRING` forces one:
//! `secret-service`, `keyutils` or `file`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry};

const SERVICE: &str = "opsdeck";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("invalid secret name {0:?}: use letters, digits, '-', '_', ':' and '.' (e.g. openai or backend:prod)")]
    BadName(String),
    #[error("{path}: {what}\n  hint: {hint}")]
    File { path: String, what: String, hint: String },
    #[error("keyring ({store}): {source}")]
    Keyring { store: &'static str, source: keyring_core::Error },
}

/// A secret that was found: its value, where it came from, and a warning to
/// show (a fallback file readable by others). Library code never prints: the
/// caller decides where the warning goes (stderr in the CLI, the log and the
/// status bar in the TUI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub value: String,
    pub backend: Backend,
    pub warning: Option<String>,
}

/// Where a secret was stored or found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Env(String),
    Keyring(&'static str),
    File(PathBuf),
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Env(v) => write!(f, "environment variable {v}"),
            Backend::Keyring(s) => write!(f, "OS keyring ({s})"),
            Backend::File(p) => write!(f, "file {}", p.display()),
        }
    }
}

/// Remove opsdeck's own secrets (`OPSDECK_SECRET_*`, `OPSDECK_TOKEN`) from
/// what a child process inherits (MCP servers, shell steps).
pub fn scrub_child_env(cmd: &mut tokio::process::Command) {
    for (k, _) in std::env::vars_os() {
        if k.to_str().is_some_and(is_secret_var) {
            cmd.env_remove(&k);
        }
    }
}

/// Environment variables of opsdeck that a child must not see.
pub fn is_secret_var(key: &str) -> bool {
    key.starts_with("OPSDECK_SECRET_") || key == "OPSDECK_TOKEN"
}

pub fn check_name(name: &str) -> Result<(), SecretError> {
    let ok =
        !name.is_empty() && name.len() <= 128 && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_:.".contains(c));
    if ok { Ok(()) } else { Err(SecretError::BadName(name.into())) }
}

/// `OPSDECK_SECRET_BACKEND_PROD` for `backend:prod`.
pub fn env_var_name(name: &str) -> String {
    let up: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("OPSDECK_SECRET_{up}")
}

/// The first keyring store that works here, with its name; or why none does.
pub fn keyring() -> Result<(Arc<CredentialStore>, &'static str), String> {
    let forced = std::env::var("OPSDECK_KEYRING").unwrap_or_default();
    let mut why = Vec::new();
    if forced == "file" {
        return Err("OPSDECK_KEYRING=file".into());
    }
    let has_bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty());
    if (forced.is_empty() && has_bus) || forced == "secret-service" {
        match dbus_secret_service_keyring_store::Store::new() {
            Ok(s) => {
                let s: Arc<CredentialStore> = s;
                match probe(&s) {
                    Ok(()) => return Ok((s, "secret-service")),
                    Err(e) => why.push(format!("Secret Service: {e}")),
                }
            }
            Err(e) => why.push(format!("Secret Service: {e}")),
        }
    } else if forced.is_empty() {
        why.push("Secret Service: no session bus (DBUS_SESSION_BUS_ADDRESS is unset)".into());
    }
    #[cfg(target_os = "linux")]
    if forced.is_empty() || forced == "keyutils" {
        // Join a session keyring if the process has none (else access fails with EACCES).
        if let Err(e) = linux_keyutils::KeyRing::from_special_id(linux_keyutils::KeyRingIdentifier::Session, true) {
            why.push(format!("keyutils: no session keyring: {e}"));
        } else {
            match linux_keyutils_keyring_store::Store::new() {
                Ok(s) => {
                    let s: Arc<CredentialStore> = s;
                    match probe(&s) {
                        Ok(()) => return Ok((s, "keyutils")),
                        Err(e) => why.push(format!("keyutils: {e}")),
                    }
                }
                Err(e) => why.push(format!("keyutils: {e}")),
            }
        }
    }
    Err(why.join("; "))
}

fn probe(store: &Arc<CredentialStore>) -> Result<(), keyring_core::Error> {
    let e = store.build(SERVICE, "__opsdeck_probe__", None)?;
    match e.get_password() {
        Ok(_) | Err(keyring_core::Error::NoEntry) => Ok(()),
        Err(err) => Err(err),
    }
}

fn entry(store: &Arc<CredentialStore>, name: &str) -> Result<Entry, keyring_core::Error> {
    store.build(SERVICE, name, None)
}

/// The fallback file (0600 TOML of name = secret).
pub fn fallback_file(config_dir: &Path) -> PathBuf {
    config_dir.join("secrets.toml")
}

/// The fallback file's table, and a warning when others may read it.
fn read_file(path: &Path) -> Result<(toml::Table, Option<String>), SecretError> {
    let shown = path.display().to_string();
    let src = match crate::text::file::read(path) {
        Ok(s) => s,
        Err(e) if e.is_not_found() => return Ok((toml::Table::new(), None)),
        Err(e) => {
            return Err(SecretError::File { path: shown, what: e.to_string(), hint: e.hint().into() });
        }
    };
    let mut warning = None;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(path)
            && m.permissions().mode() & 0o077 != 0
        {
            tracing::warn!("{shown} is readable by others; run chmod 600 on it");
            warning = Some(format!("{shown} is readable by other users: chmod 600 {shown}"));
        }
    }
    let table = src.parse::<toml::Table>().map_err(|e| SecretError::File {
        path: shown,
        what: e.message().to_string(),
        hint: "the file holds lines like name = \"secret\"".into(),
    })?;
    Ok((table, warning))
}

fn write_file(path: &Path, table: &toml::Table) -> Result<(), SecretError> {
    let shown = path.display().to_string();
    let err = |what: String| SecretError::File {
        path: shown.clone(),
        what,
        hint: "check the directory exists and is writable".into(),
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| err(format!("cannot create directory: {}", crate::net::io_text(&e))))?;
    }
    let tmp = path.with_extension("toml.tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(|e| err(format!("cannot write: {}", crate::net::io_text(&e))))?;
    f.write_all(table.to_string().as_bytes()).map_err(|e| err(format!("cannot write: {}", crate::net::io_text(&e))))?;
    f.sync_all().map_err(|e| err(format!("cannot write: {}", crate::net::io_text(&e))))?;
    std::fs::rename(&tmp, path).map_err(|e| err(format!("cannot replace: {e}")))
}

/// Store a secret. Returns where it went and, for the file fallback, why the keyring was not used.
pub fn set(name: &str, value: &str, config_dir: &Path) -> Result<(Backend, Option<String>), SecretError> {
    check_name(name)?;
    match keyring() {
        Ok((store, label)) => {
            entry(&store, name)
                .and_then(|e| e.set_password(value))
                .map_err(|source| SecretError::Keyring { store: label, source })?;
            Ok((Backend::Keyring(label), None))
        }
        Err(why) => {
            let path = fallback_file(config_dir);
            let (mut t, _) = read_file(&path)?;
            t.insert(name.into(), toml::Value::String(value.into()));
            write_file(&path, &t)?;
            Ok((Backend::File(path), Some(why)))
        }
    }
}

/// Find a secret: environment, keyring, file. Never prints; a warning about
/// the fallback file comes back in [`Found::warning`].
pub fn get(name: &str, config_dir: &Path) -> Result<Option<Found>, SecretError> {
    check_name(name)?;
    let var = env_var_name(name);
    if let Ok(v) = std::env::var(&var)
        && !v.is_empty()
    {
        return Ok(Some(Found { value: v, backend: Backend::Env(var), warning: None }));
    }
    if let Ok((store, label)) = keyring() {
        match entry(&store, name).and_then(|e| e.get_password()) {
            Ok(value) => return Ok(Some(Found { value, backend: Backend::Keyring(label), warning: None })),
            Err(keyring_core::Error::NoEntry) => {}
            Err(source) => return Err(SecretError::Keyring { store: label, source }),
        }
    }
    let path = fallback_file(config_dir);
    let (table, warning) = read_file(&path)?;
    Ok(table.get(name).and_then(|v| v.as_str()).map(|v| Found {
        value: v.to_string(),
        backend: Backend::File(path),
        warning,
    }))
}

/// Remove a secret from the keyring and the file. Returns where it was found.
pub fn remove(name: &str, config_dir: &Path) -> Result<Vec<Backend>, SecretError> {
    check_name(name)?;
    let mut removed = Vec::new();
    if let Ok((store, label)) = keyring() {
        match entry(&store, name).and_then(|e| e.delete_credential()) {
            Ok(()) => removed.push(Backend::Keyring(label)),
            Err(keyring_core::Error::NoEntry) => {}
            Err(source) => return Err(SecretError::Keyring { store: label, source }),
        }
    }
    let path = fallback_file(config_dir);
    let (mut t, _) = read_file(&path)?;
    if t.remove(name).is_some() {
        write_file(&path, &t)?;
        removed.push(Backend::File(path));
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_env_vars() {
        assert!(check_name("backend:prod").is_ok());
        assert!(check_name("a b").is_err());
        assert!(check_name("").is_err());
        assert_eq!(env_var_name("backend:prod-1"), "OPSDECK_SECRET_BACKEND_PROD_1");
    }

    #[test]
    fn fallback_file_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = fallback_file(dir.path());
        let mut t = toml::Table::new();
        t.insert("openai".into(), "sk-test".into());
        write_file(&path, &t).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let (table, warning) = read_file(&path).unwrap();
        assert_eq!(table.get("openai").and_then(|v| v.as_str()), Some("sk-test"));
        assert_eq!(warning, None);
    }

    /// A fallback file others can read gives a warning to the caller; the
    /// library prints nothing (it also runs inside the TUI).
    #[cfg(unix)]
    #[test]
    fn a_readable_fallback_file_is_a_returned_warning() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = fallback_file(dir.path());
        std::fs::write(&path, "openai = \"sk-test\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (table, warning) = read_file(&path).unwrap();
        assert_eq!(table.get("openai").and_then(|v| v.as_str()), Some("sk-test"));
        let warning = warning.expect("a warning");
        assert!(warning.contains("chmod 600"), "{warning}");
    }
}
