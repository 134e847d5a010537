//! Keymaps: which keys (and chords) run which [`UserAction`] in which [`KeyContext`].
//!
//! Bundled keymaps live in `keymaps/*.toml`; a user file `<user_dir>/NAME.toml` either
//! overrides the bundled keymap of the same name or defines a new one (optionally
//! `inherits = "default"`). See docs/keymaps.md for the file format.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::actions::{KeyContext, UserAction};
use crate::config::error::{ConfigError, line_col};
pub use crate::config::keys::{KeyPress, format_keys, parse_key};

const BUNDLED: [(&str, &str); 2] = [
    ("default", include_str!("../../../keymaps/default.toml")),
    ("emacs", include_str!("../../../keymaps/emacs.toml")),
];
const BUNDLED_NAMES: [&str; 2] = [BUNDLED[0].0, BUNDLED[1].0];
const KEY_HINT: &str = "keys are one character (q, G, ?) or a name like <Enter>, <Esc>, <Tab>, <S-Tab>, <Space>, \
    <PageDown>, <F5>, with C-/A-/S- modifiers inside the brackets (<C-r>); write a chord as [\"g\", \"g\"]";

/// One key sequence bound to an action.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    pub keys: Vec<KeyPress>,
    pub action: UserAction,
    pub desc: String,
}

/// Result of looking up the keys typed so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Run this action (and reset the pending chord).
    Matched(UserAction),
    /// The keys start a chord: wait for the next key.
    Pending,
    /// Nothing bound: reset the pending chord.
    NoMatch,
}

/// A loaded keymap: a name and, per context, bindings in priority order.
#[derive(Debug, Clone)]
pub struct Keymap {
    name: String,
    contexts: [Vec<Binding>; 8],
}

fn slot(ctx: KeyContext) -> usize {
    match ctx {
        KeyContext::Global => 0,
        KeyContext::Metrics => 1,
        KeyContext::Tools => 2,
        KeyContext::Alerts => 3,
        KeyContext::Popup => 4,
        KeyContext::Workflows => 5,
        KeyContext::Chat => 6,
        KeyContext::ChatInput => 7,
    }
}

fn bundled_src(name: &str) -> Option<&'static str> {
    BUNDLED.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

fn bundled_path(name: &str) -> String {
    format!("<bundled>/keymaps/{name}.toml")
}

impl Keymap {
    pub fn bundled_names() -> &'static [&'static str] {
        &BUNDLED_NAMES
    }

    /// Load keymap `name`: the user's `NAME.toml` (layered on the bundled keymap of the same
    /// name, or on `inherits`), else the bundled one. Returns the first error.
    pub fn load(name: &str, user_dir: Option<&Path>) -> Result<Keymap, ConfigError> {
        let mut loader = Loader::new(user_dir);
        let layers = loader.build(name);
        if let Some(e) = loader.errs.into_iter().next() {
            return Err(e);
        }
        let Some(layers) = layers else {
            let path =
                user_dir.map_or_else(|| bundled_path(name), |d| d.join(format!("{name}.toml")).display().to_string());
            let hint = format!("bundled keymaps: {}; or create that file", BUNDLED_NAMES.join(", "));
            return Err(ConfigError::file(path, format!("unknown keymap `{name}`"), hint));
        };
        Ok(Keymap { name: name.to_string(), contexts: layers.map(|l| l.into_iter().map(|e| e.binding).collect()) })
    }

    /// The bundled default keymap; cannot fail.
    pub fn fallback() -> Keymap {
        // The tests load every bundled keymap, so the empty keymap is never used.
        let empty = |_| Keymap { name: "default".into(), contexts: Default::default() };
        Keymap::load("default", None).unwrap_or_else(empty)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn bindings(&self, ctx: KeyContext) -> &[Binding] {
        &self.contexts[slot(ctx)]
    }

    /// `contexts` in priority order (e.g. `[Popup]` or `[Metrics, Global]`); `pressed` = keys
    /// typed so far in the pending chord. Contexts are tried in order: the first one that binds
    /// `pressed` exactly gives `Matched`; the first one where `pressed` starts a longer binding
    /// gives `Pending` (so a chord in a more specific context shadows a single key in a later
    /// one). `NoMatch` otherwise, and for an empty `pressed`.
    pub fn lookup(&self, contexts: &[KeyContext], pressed: &[KeyPress]) -> Lookup {
        if pressed.is_empty() {
            return Lookup::NoMatch;
        }
        for &ctx in contexts {
            let list = self.bindings(ctx);
            if let Some(b) = list.iter().find(|b| b.keys == pressed) {
                return Lookup::Matched(b.action);
            }
            if list.iter().any(|b| b.keys.len() > pressed.len() && b.keys.starts_with(pressed)) {
                return Lookup::Pending;
            }
        }
        Lookup::NoMatch
    }

    /// First binding of `action` in the given contexts (for hints and the palette).
    pub fn binding_for(&self, contexts: &[KeyContext], action: UserAction) -> Option<&Binding> {
        contexts.iter().find_map(|&ctx| self.bindings(ctx).iter().find(|b| b.action == action))
    }

    /// Validate every bundled keymap and every `*.toml` in `user_dir`; all errors.
    pub fn check_all(user_dir: Option<&Path>) -> Vec<ConfigError> {
        let mut bundled = Loader::new(None);
        for (name, src) in BUNDLED {
            bundled.build_from(&bundled_path(name), src, name, false);
        }
        let mut user = Loader::new(user_dir);
        user.errs = bundled.errs;
        if let Some(dir) = user_dir {
            match std::fs::read_dir(dir) {
                Ok(rd) => {
                    let mut files: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                    files.retain(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"));
                    files.sort();
                    for stem in files.iter().filter_map(|p| p.file_stem().and_then(|s| s.to_str())) {
                        user.build(stem);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => user.errs.push(ConfigError::file(dir.display().to_string(), e.to_string(), "")),
            }
        }
        let mut out: Vec<ConfigError> = Vec::new();
        for e in user.errs {
            if !out.contains(&e) {
                out.push(e);
            }
        }
        out
    }
}

/// A binding while loading, with where it was written (for conflict messages).
#[derive(Clone)]
struct Entry {
    binding: Binding,
    path: String,
    at: (usize, usize),
}

type Layers = [Vec<Entry>; 8];

struct Loader<'a> {
    user_dir: Option<&'a Path>,
    stack: Vec<String>,
    errs: Vec<ConfigError>,
}

/// The file being applied: where errors go.
struct FileCx<'s> {
    path: String,
    src: &'s str,
    errs: Vec<ConfigError>,
}

impl FileCx<'_> {
    fn err(&mut self, span: Range<usize>, msg: impl Into<String>, hint: impl Into<String>) {
        self.errs.push(ConfigError::at(self.path.clone(), self.src, Some(span), msg, hint));
    }

    fn err_at(&mut self, (line, col): (usize, usize), message: String, hint: &str) {
        let (path, hint) = (self.path.clone(), hint.to_string());
        self.errs.push(ConfigError { path, line, col, message, hint });
    }
}

impl<'a> Loader<'a> {
    fn new(user_dir: Option<&'a Path>) -> Self {
        Loader { user_dir, stack: Vec::new(), errs: Vec::new() }
    }

    fn user_file(&self, name: &str) -> Option<PathBuf> {
        self.user_dir.map(|d| d.join(format!("{name}.toml"))).filter(|p| p.is_file())
    }

    /// `None`: no such keymap, or its file cannot be read or parsed (error recorded).
    fn build(&mut self, name: &str) -> Option<Layers> {
        if let Some(path) = self.user_file(name) {
            let shown = path.display().to_string();
            match crate::text::file::read(&path) {
                Ok(src) => self.build_from(&shown, &src, name, true),
                Err(e) => {
                    self.errs.push(ConfigError::unreadable(shown, &e));
                    None
                }
            }
        } else {
            self.build_from(&bundled_path(name), bundled_src(name)?, name, false)
        }
    }

    fn build_from(&mut self, path: &str, src: &str, name: &str, user: bool) -> Option<Layers> {
        let doc = match DeTable::parse(src) {
            Ok(doc) => doc,
            Err(e) => {
                self.errs.push(ConfigError::from_toml(path, src, &e, "see docs/keymaps.md for the file format"));
                return None;
            }
        };
        let mut f = FileCx { path: path.to_string(), src, errs: Vec::new() };
        let before = self.errs.len();
        let inherits = doc.get_ref().iter().find(|(k, _)| k.get_ref() == "inherits");
        let base = match inherits.map(|(_, v)| (v.get_ref().as_str(), v.span())) {
            Some((None, span)) => {
                f.err(span, "`inherits` must be a string", "name a keymap, e.g. inherits = \"default\"");
                None
            }
            Some((Some(parent), _)) if parent == name && user && bundled_src(name).is_some() => {
                self.build_from(&bundled_path(name), bundled_src(name)?, name, false)
            }
            Some((Some(parent), span)) => {
                if parent == name || self.stack.iter().any(|s| s == parent) {
                    let chain = format!("{} -> {name} -> {parent}", self.stack.join(" -> "));
                    f.err(span, format!("keymap inherits itself ({})", chain.trim_start_matches(" -> ")), "");
                    None
                } else if bundled_src(parent).is_none() && self.user_file(parent).is_none() {
                    let names = BUNDLED_NAMES.map(String::from);
                    let hint = nearest_hint(parent, &names, "or a keymap file next to this one");
                    f.err(span, format!("unknown keymap `{parent}`"), hint);
                    None
                } else {
                    self.stack.push(name.to_string());
                    let base = self.build(parent);
                    self.stack.pop();
                    base
                }
            }
            None if user && bundled_src(name).is_some() => {
                self.build_from(&bundled_path(name), bundled_src(name)?, name, false)
            }
            None => Some(Layers::default()),
        };
        let base_ok = base.is_some() && self.errs.len() == before;
        let mut layers = base.unwrap_or_default();
        let mut popup_span = None;
        for (key, value) in doc.get_ref() {
            let key_name: &str = key.get_ref();
            if key_name == "inherits" {
                continue;
            }
            let Some(ctx) = KeyContext::from_name(key_name) else {
                let names = KeyContext::ALL.map(|c| c.name().to_string());
                let tail = format!("contexts are {}; `inherits` names a base keymap", KeyContext::list());
                f.err(key.span(), format!("unknown context `{key_name}`"), nearest_hint(key_name, &names, &tail));
                continue;
            };
            let DeValue::Table(table) = value.get_ref() else {
                f.err(
                    value.span(),
                    format!("`{key_name}` must be a table"),
                    format!("write [{key_name}] with keys = [...]"),
                );
                continue;
            };
            if ctx == KeyContext::Popup {
                popup_span = Some(key.span());
            }
            apply_context(&mut f, ctx, table, &mut layers[slot(ctx)], base_ok);
        }
        for ctx in KeyContext::ALL {
            resolve_conflicts(&mut f, ctx, &mut layers[slot(ctx)]);
        }
        if base_ok
            && f.errs.is_empty()
            && !layers[slot(KeyContext::Popup)].iter().any(|e| e.binding.action == UserAction::Close)
        {
            let (msg, hint) =
                ("no key closes popups", "bind `close` in [popup], e.g. { on = \"<Esc>\", run = \"close\" }");
            match popup_span {
                Some(span) => f.err(span, msg, hint),
                None => f.errs.push(ConfigError::file(path, msg, hint)),
            }
        }
        f.errs.sort_by_key(|e| (e.line, e.col));
        self.errs.append(&mut f.errs);
        Some(layers)
    }
}

fn apply_context(f: &mut FileCx, ctx: KeyContext, table: &DeTable, list: &mut Vec<Entry>, base_ok: bool) {
    let (mut keys, mut prepend, mut append, mut unbind) = (None, Vec::new(), Vec::new(), Vec::new());
    for (key, value) in table {
        match key.get_ref().as_ref() {
            "keys" => keys = Some(entries(f, value)),
            "prepend" => prepend = entries(f, value),
            "append" => append = entries(f, value),
            "unbind" => match value.get_ref() {
                DeValue::Array(items) => {
                    unbind = items.iter().filter_map(|v| Some((key_seq(f, v)?, v.span()))).collect()
                }
                _ => f.err(value.span(), "`unbind` must be an array of keys", "e.g. unbind = [\"q\", [\"g\", \"g\"]]"),
            },
            other => f.err(
                key.span(),
                format!("unknown key `{other}` in [{}]", ctx.name()),
                "a context table may have: keys, prepend, append, unbind",
            ),
        }
    }
    if let Some(keys) = keys {
        *list = keys;
    }
    for (seq, span) in unbind {
        let len = list.len();
        list.retain(|e| e.binding.keys != seq);
        if list.len() == len && base_ok {
            let msg = format!("cannot unbind `{}`: it is not bound in [{}]", format_keys(&seq), ctx.name());
            f.err(span, msg, "remove it from `unbind`; keymap files list what is bound");
        }
    }
    prepend.append(list);
    prepend.append(&mut append);
    *list = prepend;
}

/// Drop bindings shadowed by an earlier one with the same keys (an error within one file),
/// and report chords that another binding's keys would cut short.
fn resolve_conflicts(f: &mut FileCx, ctx: KeyContext, list: &mut Vec<Entry>) {
    let mut kept: Vec<Entry> = Vec::new();
    for e in list.drain(..) {
        if let Some(prev) = kept.iter().find(|p| p.binding.keys == e.binding.keys) {
            if prev.path == f.path && e.path == f.path {
                let msg = format!(
                    "`{}` is bound twice in [{}] (also to `{}` on line {})",
                    format_keys(&e.binding.keys),
                    ctx.name(),
                    prev.binding.action.name(),
                    prev.at.0
                );
                f.err_at(e.at, msg, "keep one of the two bindings");
            }
            continue;
        }
        kept.push(e);
    }
    let place = |e: &Entry, f: &FileCx| {
        if e.path == f.path { format!("line {}", e.at.0) } else { format!("{}:{}:{}", e.path, e.at.0, e.at.1) }
    };
    let mut found = Vec::new();
    for short in &kept {
        for long in &kept {
            let (s, l) = (&short.binding.keys, &long.binding.keys);
            if s.len() >= l.len() || !l.starts_with(s) || (short.path != f.path && long.path != f.path) {
                continue;
            }
            let (here, other) = match (short.path == f.path, long.path == f.path) {
                (true, true) if short.at > long.at => (short, long),
                (true, true) => (long, short),
                (true, false) => (short, long),
                _ => (long, short),
            };
            let msg = format!(
                "ambiguous chord in [{}]: `{}` ({}) is a prefix of `{}` ({}); `{}` is at {}",
                ctx.name(),
                format_keys(s),
                short.binding.action.name(),
                format_keys(l),
                long.binding.action.name(),
                format_keys(&other.binding.keys),
                place(other, f)
            );
            found.push((here.at, msg));
        }
    }
    for (at, msg) in found {
        f.err_at(at, msg, "a key cannot both run an action and start a chord: change one, or `unbind` the other");
    }
    *list = kept;
}

/// `keys`, `prepend` or `append`: an array of `{ on, run, desc }`.
fn entries(f: &mut FileCx, value: &Spanned<DeValue>) -> Vec<Entry> {
    let DeValue::Array(items) = value.get_ref() else {
        f.err(value.span(), "expected an array of bindings", "e.g. keys = [{ on = \"q\", run = \"quit\" }]");
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items.iter() {
        let DeValue::Table(table) = item.get_ref() else {
            f.err(item.span(), "expected a binding table", "e.g. { on = \"q\", run = \"quit\", desc = \"quit\" }");
            continue;
        };
        let (mut on, mut run, mut desc, mut bad) = (None, None, None, false);
        for (key, v) in table {
            let name: &str = key.get_ref();
            match (name, v.get_ref().as_str()) {
                ("on", _) => match key_seq(f, v) {
                    Some(seq) => on = Some((seq, line_col(f.src, v.span().start))),
                    None => bad = true,
                },
                ("run", Some(r)) => match UserAction::from_name(r) {
                    Some(a) => run = Some(a),
                    None => {
                        let names: Vec<String> = UserAction::ALL.iter().map(|a| a.name().to_string()).collect();
                        let hint = nearest_hint(r, &names, "all actions are listed in docs/keymaps.md");
                        f.err(v.span(), format!("unknown action `{r}`"), hint);
                        bad = true;
                    }
                },
                ("desc", Some(d)) => desc = Some(d.to_string()),
                ("run" | "desc", None) => {
                    f.err(v.span(), format!("`{name}` must be a string"), "quote it, e.g. run = \"quit\"");
                    bad = true;
                }
                _ => f.err(key.span(), format!("unknown field `{name}` in binding"), "a binding has: on, run, desc"),
            }
        }
        let missing = if on.is_none() { "on" } else { "run" };
        match (on, run) {
            (Some((keys, at)), Some(action)) => {
                let desc = desc.unwrap_or_else(|| action.desc().to_string());
                out.push(Entry { binding: Binding { keys, action, desc }, path: f.path.clone(), at });
            }
            _ if !bad => {
                f.err(item.span(), format!("binding has no `{missing}`"), "e.g. { on = \"q\", run = \"quit\" }")
            }
            _ => {}
        }
    }
    out
}

/// `"q"` or `["g", "g"]`; errors are recorded and give `None`.
fn key_seq(f: &mut FileCx, value: &Spanned<DeValue>) -> Option<Vec<KeyPress>> {
    let one = |f: &mut FileCx, v: &Spanned<DeValue>| match v.get_ref().as_str() {
        Some(s) => parse_key(s).map_err(|e| f.err(v.span(), format!("bad key `{s}`: {e}"), KEY_HINT)).ok(),
        None => {
            f.err(v.span(), "expected a key string", KEY_HINT);
            None
        }
    };
    match value.get_ref() {
        DeValue::Array(items) if items.is_empty() => {
            f.err(value.span(), "empty key sequence", KEY_HINT);
            None
        }
        DeValue::Array(items) => items.iter().map(|v| one(f, v)).collect::<Vec<_>>().into_iter().collect(),
        _ => one(f, value).map(|k| vec![k]),
    }
}

/// "did you mean `a`, `b`? " + `tail`.
fn nearest_hint(word: &str, names: &[String], tail: &str) -> String {
    // Names containing the word first (`sort_mem` → `sort_memory`), then by edit distance.
    let mut scored: Vec<(bool, usize, &str)> = names
        .iter()
        .map(|n| (!(word.len() >= 3 && n.contains(word)), strsim::levenshtein(word, n), n.as_str()))
        .filter(|(far, d, n)| !far || *d <= (n.len().max(word.len()) / 3).max(2))
        .collect();
    scored.sort();
    let near: Vec<String> = scored.iter().take(3).map(|(_, _, n)| format!("`{n}`")).collect();
    if near.is_empty() { tail.to_string() } else { format!("did you mean {}? {tail}", near.join(", ")) }
}

#[cfg(test)]
mod tests;
