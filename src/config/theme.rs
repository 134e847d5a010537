//! Colour themes: bundled TOML files, user overrides, `inherits`, and NO_COLOR.
//!
//! A theme file has an optional `inherits`, a `[palette]` of named colours and a
//! `[roles]` table mapping each [`Role`] to a style (see docs/themes.md). Palettes
//! and roles merge down the inheritance chain, child over parent, and role colours
//! are looked up in the merged palette, so a child can re-colour its parent.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};

use crate::config::error::ConfigError;
pub use crate::config::theme_role::Role;
use crate::config::theme_role::{Body, COLOR_FORMS, ColorRef, RawStyle, did_you_mean, parse_body, parse_color};

const BUNDLED_NAMES: [&str; 3] = ["default-dark", "default-light", "high-contrast"];
const BUNDLED_SRC: [&str; 3] = [
    include_str!("../../themes/default-dark.toml"),
    include_str!("../../themes/default-light.toml"),
    include_str!("../../themes/high-contrast.toml"),
];
/// Base of user themes that neither set `inherits` nor share a bundled theme's name.
const FALLBACK: &str = "default-dark";

/// Roles that must stay distinguishable without colour, and the cue always added under NO_COLOR.
const MONO_CUES: [(Role, Modifier); 7] = [
    (Role::BorderFocused, Modifier::BOLD),
    (Role::TitleFocused, Modifier::REVERSED),
    (Role::Selection, Modifier::REVERSED),
    (Role::StatusFailed, Modifier::BOLD),
    (Role::ChartCrit, Modifier::BOLD),
    (Role::Match, Modifier::BOLD.union(Modifier::UNDERLINED)),
    (Role::InputCursor, Modifier::REVERSED),
];

/// A fully resolved theme: one style per [`Role`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    name: String,
    styles: [Style; Role::COUNT],
    /// False under NO_COLOR (every colour dropped).
    color: bool,
}

impl Theme {
    /// Bundled names, in order: ["default-dark", "default-light", "high-contrast"].
    pub fn bundled_names() -> &'static [&'static str] {
        &BUNDLED_NAMES
    }

    /// Load a theme by name. A user file `<user_dir>/<name>.toml` overrides (partially: roles/palette
    /// it does not set come from the bundled theme of the same name, or from its `inherits`).
    /// A user theme with a new name is fine too. `no_color` => monochrome: no fg/bg anywhere,
    /// modifiers kept, and focus, selection, failure, matches and the cursor get bold/reversed.
    pub fn load(name: &str, user_dir: Option<&Path>, no_color: bool) -> Result<Theme, ConfigError> {
        match build(user_dir, name) {
            Ok(theme) => Ok(theme.colored(!no_color)),
            Err(errs) => Err(errs
                .into_iter()
                .next()
                .unwrap_or_else(|| ConfigError::file(bundled_path(name), "theme could not be loaded", ""))),
        }
    }

    /// Built-in default-dark, cannot fail (used when the configured theme is broken).
    pub fn fallback(no_color: bool) -> Theme {
        let blank = || Theme { name: FALLBACK.to_string(), styles: [Style::new(); Role::COUNT], color: true };
        build(None, FALLBACK).unwrap_or_else(|_| blank()).colored(!no_color)
    }

    /// The name it was loaded under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The style of `role`.
    pub fn style(&self, role: Role) -> Style {
        self.styles[role.index()]
    }

    /// Validate every bundled theme and every *.toml in user_dir; all errors, none fatal.
    pub fn check_all(user_dir: Option<&Path>) -> Vec<ConfigError> {
        let mut all = Vec::new();
        let users = match user_dir.map(user_theme_names) {
            Some(Ok(names)) => names,
            Some(Err(e)) => {
                let path = user_dir.map_or(String::new(), |d| d.display().to_string());
                all.extend(file_err(path, format!("cannot list theme files: {e}"), ""));
                Vec::new()
            }
            None => Vec::new(),
        };
        let bundled = BUNDLED_NAMES.iter().map(|n| (n.to_string(), None));
        for (name, dir) in bundled.chain(users.into_iter().map(|n| (n, user_dir))) {
            for e in build(dir, &name).err().unwrap_or_default() {
                if !all.contains(&e) {
                    all.push(e);
                }
            }
        }
        all
    }

    /// Without colour (NO_COLOR): drop every fg/bg, keep modifiers, add the cues of [`MONO_CUES`].
    /// Whether colours are drawn (false under NO_COLOR): syntax highlighting asks.
    pub fn has_color(&self) -> bool {
        self.color
    }

    fn colored(mut self, color: bool) -> Theme {
        self.color = color;
        if !color {
            for style in &mut self.styles {
                (style.fg, style.bg) = (None, None);
            }
            for (role, cue) in MONO_CUES {
                self.styles[role.index()].add_modifier |= cue;
            }
        }
        self
    }
}

fn bundled(name: &str) -> Option<(&'static str, &'static str)> {
    let i = BUNDLED_NAMES.iter().position(|n| *n == name)?;
    Some((BUNDLED_NAMES[i], BUNDLED_SRC[i]))
}

fn file_err(path: impl Into<String>, message: String, hint: &str) -> Vec<ConfigError> {
    vec![ConfigError::file(path, message, hint)]
}

fn bundled_path(name: &str) -> String {
    format!("<bundled>/themes/{name}.toml")
}

fn user_file(dir: Option<&Path>, name: &str) -> Option<PathBuf> {
    dir.map(|d| d.join(format!("{name}.toml"))).filter(|p| p.is_file())
}

/// Stems of the `*.toml` files in `dir`, sorted; none if it does not exist.
fn user_theme_names(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        entries => entries?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
            .filter(|stem| !stem.starts_with('.'))
            .collect(),
    };
    names.sort();
    Ok(names)
}

fn theme_hint(dir: Option<&Path>, name: &str) -> String {
    let users = dir.and_then(|d| user_theme_names(d).ok());
    let users = users.iter().flatten().map(String::as_str);
    let near = did_you_mean(name, BUNDLED_NAMES.into_iter().chain(users));
    let bundled = BUNDLED_NAMES.join(", ");
    let text = format!("{near} bundled themes are {bundled}; a user theme NAME is the file");
    format!("{} NAME.toml in the themes directory", text.trim_start())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Bundled(&'static str),
    User(PathBuf),
}

/// One parsed theme file.
struct Layer {
    name: String,
    source: Source,
    path: String,
    src: String,
    body: Body,
}

impl Layer {
    fn read(name: String, source: Source) -> Result<Layer, Vec<ConfigError>> {
        let (path, src) = match &source {
            Source::Bundled(n) => (bundled_path(n), bundled(n).map_or("", |b| b.1).to_string()),
            Source::User(p) => match crate::text::file::read(p) {
                Ok(src) => (p.display().to_string(), src),
                Err(e) => return Err(vec![ConfigError::unreadable(p.display().to_string(), &e)]),
            },
        };
        let body = parse_body(&path, &src)?;
        Ok(Layer { name, source, path, src, body })
    }

    fn err(&self, span: Option<Range<usize>>, msg: String, hint: &str) -> Vec<ConfigError> {
        vec![ConfigError::at(&self.path, &self.src, span, msg, hint)]
    }

    /// Where this layer inherits from: its `inherits`, else (user files only) the bundled theme
    /// of the same name, else default-dark. Bundled themes only inherit bundled ones.
    fn parent(&self, dir: Option<&Path>) -> Result<Option<(String, Source)>, Vec<ConfigError>> {
        let Some((target, span)) = &self.body.inherits else {
            let base = bundled(&self.name).map_or(FALLBACK, |b| b.0);
            return Ok(matches!(self.source, Source::User(_)).then(|| (base.to_string(), Source::Bundled(base))));
        };
        // A user file inheriting its own bundled namesake means the bundled one.
        let own = *target == self.name && bundled(target).is_some();
        let user = match self.source {
            Source::User(_) if !own => user_file(dir, target),
            _ => None,
        };
        match (user, bundled(target)) {
            (Some(path), _) => Ok(Some((target.clone(), Source::User(path)))),
            (None, Some((n, _))) => Ok(Some((target.clone(), Source::Bundled(n)))),
            (None, None) => {
                let msg = format!("unknown theme \"{target}\" in inherits");
                Err(self.err(Some(span.clone()), msg, &theme_hint(dir, target)))
            }
        }
    }
}

/// Theme `name` with its whole inheritance chain, or every error found on the way.
fn build(dir: Option<&Path>, name: &str) -> Result<Theme, Vec<ConfigError>> {
    let start = match (user_file(dir, name), bundled(name)) {
        _ if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) => {
            let hint = "a theme name is a file name without .toml, e.g. default-dark";
            let msg = "invalid theme name".to_string();
            return Err(file_err(format!("theme \"{name}\""), msg, hint));
        }
        (Some(path), _) => Source::User(path),
        (None, Some((n, _))) => Source::Bundled(n),
        (None, None) => {
            let file = |d: &Path| d.join(format!("{name}.toml")).display().to_string();
            let path = dir.map_or_else(|| bundled_path(name), file);
            let msg = format!("unknown theme \"{name}\"");
            return Err(file_err(path, msg, &theme_hint(dir, name)));
        }
    };
    // Read the chain, leaf first.
    let mut layers: Vec<Layer> = Vec::new();
    let mut next = Some((name.to_string(), start));
    while let Some((name, source)) = next.take() {
        let layer = Layer::read(name, source)?;
        next = layer.parent(dir)?;
        if let Some((parent, src)) = &next
            && (layer.source == *src || layers.iter().any(|l| l.source == *src))
        {
            let mut names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
            names.extend([layer.name.as_str(), parent]);
            let span = layer.body.inherits.as_ref().map(|(_, s)| s.clone());
            let msg = format!("inheritance cycle: {}", names.join(" -> "));
            return Err(layer.err(span, msg, "remove `inherits` from one of these themes"));
        }
        layers.push(layer);
    }
    let styles = resolve(&layers)?;
    let missing = Role::ALL.iter().filter(|r| styles[r.index()].is_none());
    let missing: Vec<&str> = missing.map(|r| r.name()).collect();
    if let (false, Some(leaf)) = (missing.is_empty(), layers.first()) {
        let msg = format!("roles not defined: {}", missing.join(", "));
        let hint = "define them under [roles] or set inherits";
        return Err(file_err(&leaf.path, msg, hint));
    }
    Ok(Theme { name: name.to_string(), styles: styles.map(Option::unwrap_or_default), color: true })
}

/// Merge palettes and roles (root first) and resolve colours; `None` for undefined roles.
fn resolve(layers: &[Layer]) -> Result<[Option<Style>; Role::COUNT], Vec<ConfigError>> {
    let mut palette: HashMap<&str, Color> = HashMap::new();
    let mut slots: [Option<(&Layer, &RawStyle)>; Role::COUNT] = [None; Role::COUNT];
    for layer in layers.iter().rev() {
        palette.extend(layer.body.palette.iter().map(|(k, v)| (k.as_str(), *v)));
        for (role, raw) in &layer.body.roles {
            slots[role.index()] = Some((layer, raw));
        }
    }
    let mut errs = Vec::new();
    let mut color = |layer: &Layer, c: &Option<(ColorRef, Range<usize>)>| match c {
        None => None,
        Some((ColorRef::Fixed(c), _)) => Some(*c),
        Some((ColorRef::Name(n), span)) => {
            let found = palette.get(n.as_str()).copied().or_else(|| parse_color(n));
            if found.is_none() {
                let near = did_you_mean(n, palette.keys().copied());
                let hint = format!("{near} define it in [palette] or use {COLOR_FORMS}");
                let msg = format!("unknown palette name \"{n}\"");
                errs.extend(layer.err(Some(span.clone()), msg, hint.trim()));
            }
            found
        }
    };
    let styles = slots.map(|slot| {
        let (layer, raw) = slot?;
        let mut style = Style::new().add_modifier(raw.modifiers);
        (style.fg, style.bg) = (color(layer, &raw.fg), color(layer, &raw.bg));
        Some(style)
    });
    if errs.is_empty() { Ok(styles) } else { Err(errs) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch theme directory, removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new(tag: &str, files: &[(&str, &str)]) -> Dir {
            let id = format!("opsdeck-theme-{}-{tag}", std::process::id());
            let dir = std::env::temp_dir().join(id);
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            for (name, text) in files {
                std::fs::write(dir.join(name), text).unwrap();
            }
            Dir(dir)
        }

        fn load(&self, name: &str) -> Theme {
            Theme::load(name, Some(&self.0), false).unwrap()
        }

        /// The error loading `name` as `file:line:col: message` (file relative), and its hint.
        fn err(&self, name: &str) -> (String, String) {
            let e = Theme::load(name, Some(&self.0), false).unwrap_err();
            let at = format!("{}:{}:{}: {}", e.path, e.line, e.col, e.message);
            (at.replace(&format!("{}/", self.0.display()), ""), e.hint)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn stock(name: &str, no_color: bool) -> Theme {
        Theme::load(name, None, no_color).unwrap()
    }

    fn fg(theme: &Theme, role: Role) -> Option<Color> {
        theme.style(role).fg
    }

    #[test]
    fn bundled_themes_load_and_define_every_role() {
        let names = ["default-dark", "default-light", "high-contrast"];
        assert_eq!(Theme::bundled_names(), names);
        for name in names {
            let theme = stock(name, false);
            assert_eq!(theme.name(), name);
            let body = parse_body(name, bundled(name).unwrap().1).unwrap();
            let mut defined: Vec<Role> = body.roles.iter().map(|(r, _)| *r).collect();
            defined.sort();
            assert!(body.inherits.is_some() || defined == Role::ALL, "{name}");
            for &role in Role::ALL {
                assert_ne!(theme.style(role), Style::new(), "{name}: {role}");
            }
        }
        assert_eq!(Theme::check_all(None), vec![]);
        assert_eq!(Theme::fallback(false), stock("default-dark", false));
        let lum = |name| match stock(name, false).style(Role::Text).bg {
            Some(Color::Rgb(r, g, b)) => u32::from(r) + u32::from(g) + u32::from(b),
            other => panic!("{other:?}"),
        };
        assert!(lum("default-light") > 600 && lum("default-dark") < 150);
    }

    #[test]
    fn inherits_child_overrides_parent_fills() {
        let base = "inherits = \"default-light\"\n[palette]\nacc = \"#ff0000\"\n[roles]\n\
                    \"text.accent\" = \"acc\"\ntitle = \"acc\"\n";
        let child = "inherits = \"base\"\n[palette]\nacc = \"#00ff00\"\n[roles]\n\
                     title = { fg = 4, modifiers = [\"italic\"] }\n";
        let dir = Dir::new("inherits", &[("base.toml", base), ("child.toml", child)]);
        let (child, light) = (dir.load("child"), stock("default-light", false));
        // The parent's role, coloured by the child's palette.
        assert_eq!(fg(&child, Role::TextAccent), Some(Color::Rgb(0, 255, 0)));
        let title = Style::new().fg(Color::Indexed(4)).italic();
        assert_eq!(child.style(Role::Title), title);
        assert_eq!(child.style(Role::Border), light.style(Role::Border));
        assert_eq!(fg(&dir.load("base"), Role::Title), Some(Color::Rgb(255, 0, 0)));
        // A new user theme without `inherits` builds on default-dark.
        let dir = Dir::new("implicit", &[("mine.toml", "[roles]\nmatch = 208\n")]);
        let (mine, dark) = (dir.load("mine"), Theme::fallback(false));
        assert_eq!(mine.style(Role::Match), Style::new().fg(Color::Indexed(208)));
        assert_eq!(mine.style(Role::Text), dark.style(Role::Text));
    }

    #[test]
    fn user_file_partially_overrides_bundled_theme() {
        let text = "[roles]\nselection = { bg = \"#ff00ff\", modifiers = [\"reversed\"] }\n\
                    \"hint.key\" = \"indexed(3)\"\n";
        let dir = Dir::new("override", &[("default-dark.toml", text)]);
        let (user, dark) = (dir.load("default-dark"), Theme::fallback(false));
        for &role in Role::ALL {
            let want = match role {
                Role::Selection => Style::new().bg(Color::Rgb(255, 0, 255)).reversed(),
                Role::HintKey => Style::new().fg(Color::Indexed(3)),
                _ => dark.style(role),
            };
            assert_eq!(user.style(role), want, "{role}");
        }
        // Overriding a palette entry re-colours every role that uses it.
        let text = "[palette]\nred = \"lightred\"\n";
        let dir = Dir::new("palette", &[("default-light.toml", text)]);
        let (user, light) = (dir.load("default-light"), stock("default-light", false));
        assert_eq!(fg(&user, Role::Error), Some(Color::LightRed));
        assert_eq!(fg(&user, Role::StatusFailed), Some(Color::LightRed));
        assert_eq!(user.style(Role::Text), light.style(Role::Text));
    }

    #[test]
    fn file_errors_are_located() {
        let syntax = ("syntax.toml", "[roles]\ntext = \"red\n");
        let palname = ("palname.toml", "[roles]\ntext = { fg = \"blu\" }\n");
        let dir = Dir::new("errors", &[syntax, palname]);
        let want = "syntax.toml:2:12: invalid basic string, expected `\"`";
        assert_eq!(dir.err("syntax").0, want);
        let (at, hint) = dir.err("palname");
        assert_eq!(at, "palname.toml:2:15: unknown palette name \"blu\"");
        let want = "did you mean \"blue\"? define it in [palette] or use #rrggbb";
        assert!(hint.starts_with(want), "{hint}");
    }

    #[test]
    fn inheritance_cycle_and_unknown_parent() {
        let files = [
            ("a.toml", "inherits = \"b\"\n"),
            ("b.toml", "# b\ninherits = \"a\"\n"),
            ("me.toml", "inherits = \"me\"\n"),
            ("t.toml", "inherits = \"default-drak\"\n"),
        ];
        let dir = Dir::new("cycle", &files);
        let want = "b.toml:2:12: inheritance cycle: a -> b -> a";
        assert_eq!(dir.err("a").0, want);
        assert_eq!(dir.err("me").0, "me.toml:1:12: inheritance cycle: me -> me");
        let (at, hint) = dir.err("t");
        assert_eq!(at, "t.toml:1:12: unknown theme \"default-drak\" in inherits");
        assert!(hint.starts_with("did you mean \"default-dark\"?"), "{hint}");
        let e = Theme::load("nope", None, false).unwrap_err();
        let want = "<bundled>/themes/nope.toml: unknown theme \"nope\"";
        assert_eq!(e.to_string().lines().next(), Some(want));
        let e = Theme::load("../x", None, false).unwrap_err();
        assert_eq!(e.message, "invalid theme name");
    }

    #[test]
    fn check_all_reports_every_file_once() {
        let files = [
            ("good.toml", "inherits = \"high-contrast\"\n"),
            ("bad.toml", "[palette]\nx = \"#zzzzzz\"\n[roles]\ntexxt = \"red\"\n"),
            ("kid.toml", "inherits = \"bad\"\n"),
            ("notes.txt", "not a theme"),
        ];
        let dir = Dir::new("checkall", &files);
        let errs = Theme::check_all(Some(&dir.0));
        let bad = dir.0.join("bad.toml").display().to_string();
        let got: Vec<_> = errs.iter().map(|e| (&e.path, e.line, e.col)).collect();
        assert_eq!(got, [(&bad, 2, 5), (&bad, 4, 1)]);
        let contrast = stock("high-contrast", false);
        assert_eq!(dir.load("good").style(Role::Text), contrast.style(Role::Text));
    }

    #[test]
    fn no_color_strips_colour_and_keeps_state_visible() {
        for &name in Theme::bundled_names() {
            let (mono, colour) = (stock(name, true), stock(name, false));
            for &role in Role::ALL {
                let (s, kept) = (mono.style(role), colour.style(role).add_modifier);
                assert_eq!((s.fg, s.bg), (None, None), "{name}: {role}");
                assert!(s.add_modifier.contains(kept), "{name}: {role}");
            }
            for (role, cue) in MONO_CUES {
                let m = mono.style(role).add_modifier;
                let visible = m.intersects(Modifier::BOLD | Modifier::REVERSED);
                assert!(m.contains(cue) && visible, "{name}: {role}");
            }
        }
        let mono = Theme::fallback(true);
        assert_eq!(mono, stock("default-dark", true));
        assert!(mono.style(Role::Selection).add_modifier.contains(Modifier::REVERSED));
    }
}
