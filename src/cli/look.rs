//! Loading what the TUI looks and reacts like — config.toml, then the theme
//! and keymap it names (or the command line overrides) — at start and on
//! `reload` (D20). At start a theme or keymap named in config.toml that fails
//! falls back to the bundled default with a warning at its config.toml line;
//! on reload every problem is an error and the ones in force stay.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::Paths;
use crate::config::keymap::Keymap;
use crate::config::settings::{Config, at_config_key, load_config};
use crate::config::theme::Theme;
use crate::runtime::reload::Loaded;

/// What the command line says over config.toml; kept across reloads.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub theme: Option<String>,
    pub keymap: Option<String>,
    pub no_color: bool,
    pub refresh: Option<Duration>,
    pub no_mouse: bool,
}

impl super::Cli {
    pub(super) fn overrides(&self) -> Overrides {
        Overrides {
            config: self.config.clone(),
            theme: self.theme.clone(),
            keymap: self.keymap.clone(),
            no_color: super::no_color(self),
            refresh: self.refresh,
            no_mouse: self.no_mouse,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Start,
    Reload,
}

/// The theme and keymap for `config` (or the overrides), with warnings.
/// Errors: an explicit `--theme`/`--keymap` that fails; under
/// [`Mode::Reload`], any that fails. Each error names where it came from.
pub fn load(
    o: &Overrides,
    config: &Config,
    paths: &Paths,
    mode: Mode,
) -> Result<(Theme, Keymap, Vec<String>), Vec<String>> {
    let config_file = o.config.clone().unwrap_or_else(|| paths.config_file());
    let (mut warnings, mut errors) = (Vec::new(), Vec::new());
    let theme = match Theme::load(o.theme.as_deref().unwrap_or(&config.theme), Some(&paths.themes_dir()), o.no_color) {
        Ok(t) => Some(t),
        Err(e) if o.theme.is_some() => {
            errors.push(e.to_string());
            None
        }
        Err(e) => {
            let located = at_config_key(e, &config_file, "theme").to_string();
            if mode == Mode::Reload {
                errors.push(located)
            } else {
                warnings.push(located)
            }
            None
        }
    };
    let keymap = match Keymap::load(o.keymap.as_deref().unwrap_or(&config.keymap), Some(&paths.keymaps_dir())) {
        Ok(k) => Some(k),
        Err(e) if o.keymap.is_some() => {
            errors.push(e.to_string());
            None
        }
        Err(e) => {
            let located = at_config_key(e, &config_file, "keymap").to_string();
            if mode == Mode::Reload {
                errors.push(located)
            } else {
                warnings.push(located)
            }
            None
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let theme = theme.unwrap_or_else(|| Theme::fallback(o.no_color));
    Ok((theme, keymap.unwrap_or_else(Keymap::fallback), warnings))
}

/// Read config.toml, the theme and the keymap again (blocking file reads).
/// Errors: every problem found; nothing of it is to be applied.
pub fn reload(o: &Overrides, paths: &Paths) -> Result<Loaded, Vec<String>> {
    let loaded = load_config(o.config.as_deref(), &paths.config_file()).map_err(|e| vec![e.to_string()])?;
    if !loaded.warnings.is_empty() {
        return Err(loaded.warnings.iter().map(ToString::to_string).collect());
    }
    let mut config = loaded.config;
    if let Some(r) = o.refresh {
        config.refresh = r;
    }
    if o.no_mouse {
        config.mouse = false;
    }
    let (theme, keymap, warnings) = load(o, &config, paths, Mode::Reload)?;
    Ok(Loaded { config, theme, keymap, warnings })
}
