//! Where opsdeck reads and writes: XDG directories, each overridable.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// config.toml, themes/, keymaps/, alerts/, workflows/.
    pub config_dir: PathBuf,
    /// The sled database.
    pub data_dir: PathBuf,
    /// Logs.
    pub state_dir: PathBuf,
    /// The control socket's directory (mode 0700): `OPSDECK_RUNTIME_DIR`, else
    /// `$XDG_RUNTIME_DIR/opsdeck`, else `/tmp/opsdeck-UID`.
    pub runtime_dir: PathBuf,
}

impl Paths {
    /// `OPSDECK_CONFIG_DIR`, `OPSDECK_DATA_DIR`, `OPSDECK_STATE_DIR` win; then
    /// `$XDG_CONFIG_HOME/opsdeck`, `$XDG_DATA_HOME/opsdeck`, `$XDG_STATE_HOME/opsdeck`;
    /// then the platform defaults.
    pub fn from_env() -> Paths {
        Self::resolve(|k| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from))
    }

    pub fn resolve(var: impl Fn(&str) -> Option<PathBuf>) -> Paths {
        let home = var("HOME").unwrap_or_else(|| PathBuf::from("."));
        let xdg = |key: &str, fallback: &str| var(key).unwrap_or_else(|| home.join(fallback)).join("opsdeck");
        let proj = directories::ProjectDirs::from("", "", "opsdeck");
        let on_linux = cfg!(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"));
        let config = var("OPSDECK_CONFIG_DIR").unwrap_or_else(|| match (&proj, on_linux) {
            (Some(p), false) => p.config_dir().to_path_buf(),
            _ => xdg("XDG_CONFIG_HOME", ".config"),
        });
        let data = var("OPSDECK_DATA_DIR").unwrap_or_else(|| match (&proj, on_linux) {
            (Some(p), false) => p.data_dir().to_path_buf(),
            _ => xdg("XDG_DATA_HOME", ".local/share"),
        });
        let state = var("OPSDECK_STATE_DIR").unwrap_or_else(|| match (&proj, on_linux) {
            (Some(p), false) => p.data_local_dir().join("state"),
            _ => xdg("XDG_STATE_HOME", ".local/state"),
        });
        let runtime = var("OPSDECK_RUNTIME_DIR").unwrap_or_else(|| match var("XDG_RUNTIME_DIR") {
            Some(r) => r.join("opsdeck"),
            None => std::env::temp_dir().join(format!("opsdeck-{}", rustix::process::getuid().as_raw())),
        });
        Paths { config_dir: config, data_dir: data, state_dir: state, runtime_dir: runtime }
    }

    /// The Unix socket of the process that holds [`Paths::data_dir`]
    /// (`control-HASH.sock`, HASH = FNV-1a of the data dir's absolute path), so
    /// two data dirs never share a socket. See `remote::control`.
    pub fn control_socket(&self) -> PathBuf {
        let dir = std::path::absolute(&self.data_dir).unwrap_or_else(|_| self.data_dir.clone());
        let dir = dir.canonicalize().unwrap_or(dir);
        let hash = dir
            .as_os_str()
            .as_encoded_bytes()
            .iter()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3));
        self.runtime_dir.join(format!("control-{hash:016x}.sock"))
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }
    pub fn themes_dir(&self) -> PathBuf {
        self.config_dir.join("themes")
    }
    pub fn keymaps_dir(&self) -> PathBuf {
        self.config_dir.join("keymaps")
    }
    /// Alert rule files (`*.toml` with `[[rule]]` and `[[check]]` tables).
    pub fn alerts_dir(&self) -> PathBuf {
        self.config_dir.join("alerts")
    }
    /// Workflow files (`*.toml`, one workflow each).
    pub fn workflows_dir(&self) -> PathBuf {
        self.config_dir.join("workflows")
    }
    /// Exported tool results and the clipboard fallback.
    pub fn exports_dir(&self) -> PathBuf {
        self.data_dir.join("exports")
    }
    pub fn log_dir(&self) -> PathBuf {
        self.state_dir.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn xdg_and_overrides() {
        let env: HashMap<&str, &str> = [("HOME", "/h"), ("XDG_CONFIG_HOME", "/x/c"), ("OPSDECK_DATA_DIR", "/d")].into();
        let p = Paths::resolve(|k| env.get(k).map(PathBuf::from));
        assert_eq!(p.config_dir, PathBuf::from("/x/c/opsdeck"));
        assert_eq!(p.workflows_dir(), PathBuf::from("/x/c/opsdeck/workflows"));
        assert_eq!(p.data_dir, PathBuf::from("/d"));
        assert_eq!(p.state_dir, PathBuf::from("/h/.local/state/opsdeck"));
    }

    #[test]
    fn control_socket_is_per_data_dir_in_the_runtime_dir() {
        let env: HashMap<&str, &str> =
            [("HOME", "/h"), ("XDG_RUNTIME_DIR", "/run/user/7"), ("OPSDECK_DATA_DIR", "/d1")].into();
        let a = Paths::resolve(|k| env.get(k).map(PathBuf::from));
        assert_eq!(a.runtime_dir, PathBuf::from("/run/user/7/opsdeck"));
        let b = Paths { data_dir: "/d2".into(), ..a.clone() };
        assert_ne!(a.control_socket(), b.control_socket(), "two data dirs, two sockets");
        assert_eq!(a.control_socket(), a.clone().control_socket(), "stable");
        assert!(a.control_socket().starts_with("/run/user/7/opsdeck"));
        // Unix socket paths are limited to 108 bytes: the name stays short.
        assert!(a.control_socket().file_name().is_some_and(|n| n.len() < 40));
        let env: HashMap<&str, &str> = [("HOME", "/h"), ("OPSDECK_RUNTIME_DIR", "/r")].into();
        assert_eq!(Paths::resolve(|k| env.get(k).map(PathBuf::from)).runtime_dir, PathBuf::from("/r"));
    }
}
