//! What a theme file says: semantic roles, colour and modifier names, "did you
//! mean" suggestions, and the parser that turns one file into a located [`Body`].

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use ratatui::style::{Color, Modifier};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::config::error::ConfigError;

macro_rules! roles {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// A semantic style slot. Widgets ask the theme for a role, never for a colour.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Role {
            $(#[doc = concat!("`", $name, "`")] $variant),*
        }

        impl Role {
            /// Every role, in documentation order.
            pub const ALL: &'static [Role] = &[$(Role::$variant),*];

            /// The dotted name used in theme files, e.g. `"border.focused"`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Role::$variant => $name),*
                }
            }
        }
    };
}

roles! {
    Text => "text",
    TextDim => "text.dim",
    TextAccent => "text.accent",
    Border => "border",
    BorderFocused => "border.focused",
    Title => "title",
    TitleFocused => "title.focused",
    StatusBar => "status.bar",
    StatusOk => "status.ok",
    StatusWarn => "status.warn",
    StatusFailed => "status.failed",
    StatusInfo => "status.info",
    ChartAxis => "chart.axis",
    ChartLabel => "chart.label",
    ChartSeries1 => "chart.series.1",
    ChartSeries2 => "chart.series.2",
    ChartSeries3 => "chart.series.3",
    ChartSeries4 => "chart.series.4",
    ChartSeries5 => "chart.series.5",
    ChartSeries6 => "chart.series.6",
    ChartWarn => "chart.warn",
    ChartCrit => "chart.crit",
    GaugeFill => "gauge.fill",
    GaugeEmpty => "gauge.empty",
    TableHeader => "table.header",
    Selection => "selection",
    HintKey => "hint.key",
    HintDesc => "hint.desc",
    PopupBorder => "popup.border",
    PopupTitle => "popup.title",
    Input => "input",
    InputCursor => "input.cursor",
    Match => "match",
    Error => "error",
}

impl Role {
    /// Number of roles.
    pub const COUNT: usize = Role::ALL.len();

    /// The role with this dotted name.
    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.iter().copied().find(|r| r.name() == name)
    }

    /// Position in [`Role::ALL`].
    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const ANSI: [(&str, Color); 16] = [
    ("black", Color::Black),
    ("red", Color::Red),
    ("green", Color::Green),
    ("yellow", Color::Yellow),
    ("blue", Color::Blue),
    ("magenta", Color::Magenta),
    ("cyan", Color::Cyan),
    ("gray", Color::Gray),
    ("darkgray", Color::DarkGray),
    ("lightred", Color::LightRed),
    ("lightgreen", Color::LightGreen),
    ("lightyellow", Color::LightYellow),
    ("lightblue", Color::LightBlue),
    ("lightmagenta", Color::LightMagenta),
    ("lightcyan", Color::LightCyan),
    ("white", Color::White),
];

/// How to write a colour, for hints.
pub(crate) const COLOR_FORMS: &str = "#rrggbb, an ANSI name (black, red, green, yellow, blue, magenta, cyan, gray, \
     darkgray, lightred, lightgreen, lightyellow, lightblue, lightmagenta, lightcyan, white), \
     reset, indexed(N) or a number 0-255";

/// A literal colour: `#rrggbb`, an ANSI name, `reset` or `indexed(N)`.
pub(crate) fn parse_color(s: &str) -> Option<Color> {
    let lower = s.trim().to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix('#') {
        if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let n = u32::from_str_radix(hex, 16).ok()?;
        let [_, r, g, b] = n.to_be_bytes();
        return Some(Color::Rgb(r, g, b));
    }
    if let Some(n) = lower.strip_prefix("indexed(").and_then(|r| r.strip_suffix(')')) {
        return n.trim().parse::<u8>().ok().map(Color::Indexed);
    }
    if lower == "reset" {
        return Some(Color::Reset);
    }
    ANSI.iter().find(|(name, _)| *name == lower).map(|&(_, c)| c)
}

/// Whether `s` is meant as a literal colour rather than a palette name.
pub(crate) fn looks_literal(s: &str) -> bool {
    let s = s.trim();
    s.starts_with('#') || s.to_ascii_lowercase().starts_with("indexed(")
}

/// Modifier names accepted in `modifiers = [...]`.
pub(crate) const MODIFIERS: [(&str, Modifier); 6] = [
    ("bold", Modifier::BOLD),
    ("dim", Modifier::DIM),
    ("italic", Modifier::ITALIC),
    ("underlined", Modifier::UNDERLINED),
    ("reversed", Modifier::REVERSED),
    ("crossed_out", Modifier::CROSSED_OUT),
];

pub(crate) fn parse_modifier(s: &str) -> Option<Modifier> {
    MODIFIERS.iter().find(|(n, _)| *n == s).map(|&(_, m)| m)
}

/// `did you mean "x"?` for the up to three candidates closest to `word`, or "".
pub(crate) fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let quoted = crate::text::nearest(word, candidates).into_iter().map(|c| format!("\"{c}\""));
    let names: Vec<String> = quoted.collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => format!("did you mean {one}?"),
        [init @ .., last] => format!("did you mean {} or {last}?", init.join(", ")),
    }
}

/// A colour as written in a role: resolved against the merged palette later.
#[derive(Debug, Clone)]
pub(crate) enum ColorRef {
    Name(String),
    Fixed(Color),
}

/// A role's style as written, with the spans of its colours.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawStyle {
    pub fg: Option<(ColorRef, Range<usize>)>,
    pub bg: Option<(ColorRef, Range<usize>)>,
    pub modifiers: Modifier,
}

/// The content of one theme file.
#[derive(Debug, Default)]
pub(crate) struct Body {
    pub inherits: Option<(String, Range<usize>)>,
    pub palette: HashMap<String, Color>,
    pub roles: Vec<(Role, RawStyle)>,
}

/// Collects located errors for one file.
struct Diag<'a> {
    path: &'a str,
    src: &'a str,
    errs: Vec<ConfigError>,
}

impl Diag<'_> {
    fn push(&mut self, span: Range<usize>, message: impl Into<String>, hint: impl Into<String>) {
        let e = ConfigError::at(self.path, self.src, Some(span), message, hint);
        self.errs.push(e);
    }
}

type Item<'a> = Spanned<DeValue<'a>>;

/// Parse one theme file; every error in it, sorted by position.
pub(crate) fn parse_body(path: &str, src: &str) -> Result<Body, Vec<ConfigError>> {
    let doc = DeTable::parse(src).map_err(|e| vec![ConfigError::from_toml(path, src, &e, "")])?;
    let errs = Vec::new();
    let mut d = Diag { path, src, errs };
    let mut body = Body::default();
    for (key, value) in doc.get_ref() {
        let (k, span) = (key.get_ref().as_ref(), value.span());
        match (k, value.get_ref()) {
            ("inherits", DeValue::String(s)) => body.inherits = Some((s.to_string(), span)),
            ("palette", DeValue::Table(t)) => {
                for (name, v) in t {
                    match literal(v) {
                        Ok(c) => drop(body.palette.insert(name.get_ref().to_string(), c)),
                        Err((msg, hint)) => d.push(v.span(), msg, hint),
                    }
                }
            }
            ("roles", DeValue::Table(t)) => {
                for (name, v) in t {
                    match Role::from_name(name.get_ref()) {
                        Some(role) => body.roles.push((role, style(v, &mut d))),
                        None => {
                            let msg = format!("unknown role \"{}\"", name.get_ref());
                            d.push(name.span(), msg, role_hint(name.get_ref(), v));
                        }
                    }
                }
            }
            ("inherits", _) => {
                let hint = "e.g. inherits = \"default-dark\"";
                d.push(span, "`inherits` must be a string", hint);
            }
            ("palette" | "roles", _) => {
                let hint = format!("write [{k}]");
                d.push(span, format!("`{k}` must be a table"), hint);
            }
            _ => {
                let hint = "a theme file has only `inherits`, [palette] and [roles]";
                d.push(key.span(), format!("unknown key \"{k}\""), hint);
            }
        }
    }
    if d.errs.is_empty() {
        return Ok(body);
    }
    d.errs.sort_by_key(|e| (e.line, e.col));
    Err(d.errs)
}

fn role_hint(name: &str, value: &Item<'_>) -> String {
    let near = did_you_mean(name, Role::ALL.iter().map(|r| r.name()));
    let style_keys = ["fg", "bg", "modifiers"];
    let quote = match value.get_ref() {
        DeValue::Table(t) if !t.keys().all(|k| style_keys.contains(&k.get_ref().as_ref())) => {
            "quote dotted role names (\"chart.series.1\" = ...); "
        }
        _ => "",
    };
    let hint = format!("{near} {quote}every role is listed in docs/themes.md");
    hint.trim_start().to_string()
}

/// A palette value: a literal colour or a number 0-255.
fn literal(v: &Item<'_>) -> Result<Color, (String, String)> {
    let (msg, hint) = match v.get_ref() {
        DeValue::String(s) => match parse_color(s) {
            Some(c) => return Ok(c),
            None => (format!("invalid colour \"{s}\""), format!("colours are {COLOR_FORMS}")),
        },
        DeValue::Integer(i) => match u8::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => return Ok(Color::Indexed(n)),
            Err(_) => (format!("colour index {i} is out of range"), "use 0-255".into()),
        },
        other => (format!("expected a colour, found {}", other.type_str()), COLOR_FORMS.into()),
    };
    Err((msg, hint))
}

/// A role colour: like [`literal`], or a palette/ANSI name resolved later.
fn color_ref(v: &Item<'_>, d: &mut Diag<'_>) -> Option<(ColorRef, Range<usize>)> {
    let found = match v.get_ref() {
        DeValue::String(s) if !looks_literal(s) => Ok(ColorRef::Name(s.to_string())),
        _ => literal(v).map(ColorRef::Fixed),
    };
    let pushed = found.map_err(|(msg, hint)| d.push(v.span(), msg, hint));
    pushed.ok().map(|c| (c, v.span()))
}

/// A role value: a colour (shorthand for `fg`) or `{ fg, bg, modifiers }`.
fn style(v: &Item<'_>, d: &mut Diag<'_>) -> RawStyle {
    let mut raw = RawStyle::default();
    let DeValue::Table(t) = v.get_ref() else {
        raw.fg = color_ref(v, d);
        return raw;
    };
    for (key, val) in t {
        match (key.get_ref().as_ref(), val.get_ref()) {
            ("fg", _) => raw.fg = color_ref(val, d),
            ("bg", _) => raw.bg = color_ref(val, d),
            ("modifiers", DeValue::Array(items)) => {
                for item in items {
                    match item.get_ref().as_str().and_then(parse_modifier) {
                        Some(m) => raw.modifiers |= m,
                        None => {
                            let written = d.src.get(item.span()).unwrap_or("?");
                            let msg = format!("unknown modifier {written}");
                            let names: Vec<&str> = MODIFIERS.iter().map(|(n, _)| *n).collect();
                            d.push(item.span(), msg, format!("use {}", names.join(", ")));
                        }
                    }
                }
            }
            ("modifiers", _) => d.push(val.span(), "`modifiers` must be a list", "e.g. [\"bold\"]"),
            (k, _) => {
                let hint = "a style has fg, bg and modifiers; quote dotted names: \"a.b\" = ...";
                d.push(key.span(), format!("unknown style key \"{k}\""), hint);
            }
        }
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for &role in Role::ALL {
            assert_eq!(Role::from_name(role.name()), Some(role));
            assert_eq!(Role::ALL[role.index()], role);
        }
        assert_eq!(Role::COUNT, 34);
        assert_eq!(Role::from_name("nope"), None);
    }

    #[test]
    fn colours_parse() {
        assert_eq!(parse_color("#89B4fa"), Some(Color::Rgb(0x89, 0xb4, 0xfa)));
        assert_eq!(parse_color("lightcyan"), Some(Color::LightCyan));
        assert_eq!(parse_color("indexed(208)"), Some(Color::Indexed(208)));
        assert_eq!(parse_color("reset"), Some(Color::Reset));
        for bad in ["#12345", "#12345g", "indexed(256)", "light cyan", ""] {
            assert_eq!(parse_color(bad), None, "{bad}");
        }
    }

    /// The errors in a file as `line:col: message` lines, and the first hint.
    fn errs(src: &str) -> (String, String) {
        let errs = parse_body("t.toml", src).unwrap_err();
        let lines: Vec<String> = errs.iter().map(|e| format!("{}:{}: {}", e.line, e.col, e.message)).collect();
        (lines.join("\n"), errs[0].hint.clone())
    }

    #[test]
    fn bad_colours_are_located() {
        let src = "[palette]\nok = \"red\"\nblue = \"#12345\"\n[roles]\nerror = { bg = 256 }\n";
        let (got, hint) = errs(src);
        assert_eq!(got, "3:8: invalid colour \"#12345\"\n5:16: colour index 256 is out of range");
        assert!(hint.starts_with("colours are #rrggbb, an ANSI name (black, red,"), "{hint}");
        let (got, _) = errs("[roles]\ntext = \"#abc\"\ntitle = true\n");
        assert_eq!(got, "2:8: invalid colour \"#abc\"\n3:9: expected a colour, found boolean");
    }

    #[test]
    fn unknown_role_suggests_nearest() {
        let (got, hint) = errs("[roles]\ntext = \"red\"\n  \"border.focussed\" = \"red\"\n");
        assert_eq!(got, "3:3: unknown role \"border.focussed\"");
        let want = "did you mean \"border.focused\"? every role is listed in docs/themes.md";
        assert_eq!(hint, want);
        let (got, hint) = errs("[roles]\nchart.series.1 = \"red\"\n");
        assert_eq!(got, "2:1: unknown role \"chart\"");
        assert!(hint.starts_with("quote dotted role names (\"chart.series.1\" = ...);"), "{hint}");
        let (got, hint) = errs("[roles]\nborder.focused = \"red\"\n");
        assert_eq!(got, "2:8: unknown style key \"focused\"");
        assert!(hint.contains("quote dotted names"), "{hint}");
    }

    #[test]
    fn unknown_keys_and_modifiers() {
        let (got, hint) = errs("name = \"x\"\n[roles]\nmatch = { modifiers = [\"bold\", \"blink\"] }\n");
        assert_eq!(got, "1:1: unknown key \"name\"\n3:32: unknown modifier \"blink\"");
        assert_eq!(hint, "a theme file has only `inherits`, [palette] and [roles]");
        let (got, _) = errs("inherits = 3\npalette = []\n");
        assert_eq!(got, "1:12: `inherits` must be a string\n2:11: `palette` must be a table");
    }

    #[test]
    fn syntax_error_is_located() {
        let (got, hint) = errs("[roles]\ntext = \"red\n");
        assert_eq!(got, "2:12: invalid basic string, expected `\"`");
        assert!(hint.starts_with("check the TOML syntax"), "{hint}");
    }

    #[test]
    fn suggestions() {
        let roles = Role::ALL.iter().map(|r| r.name());
        assert_eq!(did_you_mean("border.focussed", roles), "did you mean \"border.focused\"?");
        assert_eq!(did_you_mean("zzzzzz", ["text"]), "");
        let near = did_you_mean("ab", ["ac", "ad", "xyzw"]);
        assert_eq!(near, "did you mean \"ac\" or \"ad\"?");
    }
}
