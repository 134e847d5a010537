use super::*;
use KeyContext::{Global, Metrics, Popup};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn keys(ks: &[&str]) -> Vec<KeyPress> {
    ks.iter().map(|s| parse_key(s).expect(s)).collect()
}

/// A fresh user directory holding `files`; removed on drop.
struct UserDir(PathBuf);

impl UserDir {
    fn new(files: &[(&str, &str)]) -> UserDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("opsdeck-keymap-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        for (name, src) in files {
            std::fs::write(dir.join(format!("{name}.toml")), src).expect("write");
        }
        UserDir(dir)
    }
}

impl Drop for UserDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn bundled_keymaps_parse_and_bind_every_action() {
    assert_eq!(Keymap::check_all(None), Vec::new());
    for (name, src) in BUNDLED {
        let km = Keymap::load(name, None).expect(name);
        assert_eq!(km.name(), name);
        for action in UserAction::ALL {
            assert!(km.binding_for(&KeyContext::ALL, *action).is_some(), "{name}: {action:?} unbound");
        }
        assert_eq!(src.matches("run =").count(), src.matches("desc =").count(), "{name}: every entry has a desc");
    }
    assert_eq!(Keymap::fallback().name(), "default");
    assert_eq!(Keymap::bundled_names(), ["default", "emacs"]);
}

#[test]
fn chords_and_context_priority() {
    let km = Keymap::fallback();
    assert_eq!(km.lookup(&[Global], &keys(&["g"])), Lookup::Pending);
    assert_eq!(km.lookup(&[Global], &keys(&["g", "g"])), Lookup::Matched(UserAction::Top));
    assert_eq!(km.lookup(&[Global], &keys(&["g", "x"])), Lookup::NoMatch);
    assert_eq!(km.lookup(&[Global], &[]), Lookup::NoMatch);
    assert_eq!(km.lookup(&[Metrics, Global], &keys(&["<Esc>"])), Lookup::Matched(UserAction::Close));
    assert_eq!(km.lookup(&[Metrics, Global], &keys(&["q"])), Lookup::Matched(UserAction::Quit));
    assert_eq!(km.lookup(&[Metrics, Global], &keys(&["g"])), Lookup::Pending);
    assert_eq!(km.lookup(&[Popup], &keys(&["q"])), Lookup::Matched(UserAction::Close));
    // A popup without a text field moves with j/k (one with a field types them first).
    assert_eq!(km.lookup(&[Popup], &keys(&["j"])), Lookup::Matched(UserAction::Down));
    assert_eq!(km.lookup(&[Global], &keys(&["n"])), Lookup::NoMatch);
    let up = km.binding_for(&[Popup, Global], UserAction::Up).expect("up");
    assert_eq!(format_keys(&up.keys), "↑");
    assert_eq!(km.binding_for(&[Popup], UserAction::Quit), None);
    let emacs = Keymap::load("emacs", None).expect("emacs");
    let chord = keys(&["<C-x>", "<C-c>"]);
    assert_eq!(emacs.lookup(&[Metrics, Global], &chord[..1]), Lookup::Pending);
    assert_eq!(emacs.lookup(&[Metrics, Global], &chord), Lookup::Matched(UserAction::Quit));
    assert_eq!(emacs.lookup(&[Global], &keys(&["<M-<>"])), Lookup::Matched(UserAction::Top));
}

#[test]
fn shifted_events_match() {
    let km = Keymap::fallback();
    let ev = |code, mods| KeyPress::from_event(&KeyEvent::new(code, mods));
    let shift = KeyModifiers::SHIFT;
    let at = |k| km.lookup(&[Metrics, Global], &[k]);
    assert_eq!(at(ev(KeyCode::Char('G'), shift)), Lookup::Matched(UserAction::Bottom));
    assert_eq!(at(ev(KeyCode::Char('M'), shift)), Lookup::Matched(UserAction::SortMemory));
    assert_eq!(at(ev(KeyCode::Char('?'), shift)), Lookup::Matched(UserAction::Help));
    assert_eq!(at(ev(KeyCode::BackTab, shift)), Lookup::Matched(UserAction::FocusPrev));
    assert_eq!(at(ev(KeyCode::BackTab, KeyModifiers::NONE)), Lookup::Matched(UserAction::FocusPrev));
    assert_eq!(at(ev(KeyCode::Char('z'), KeyModifiers::CONTROL)), Lookup::Matched(UserAction::Suspend));
}

#[test]
fn user_overrides() {
    let dir = UserDir::new(&[
        (
            "default",
            "[global]\nprepend = [{ on = \"j\", run = \"page_down\", desc = \"big down\" }]\n\
             unbind = [\"q\", [\"g\", \"g\"]]\nappend = [{ on = \"g\", run = \"top\" }]\n\
             [popup]\nkeys = [{ on = \"<Esc>\", run = \"close\" }]\n",
        ),
        ("mine", "inherits = \"default\"\n[metrics]\nprepend = [{ on = \"g\", run = \"freeze_toggle\" }]\n"),
        (
            "bare",
            "[global]\nkeys = [{ on = \"x\", run = \"quit\" }]\n[popup]\nkeys = [{ on = \"x\", run = \"close\" }]\n",
        ),
    ]);
    let d = Some(dir.0.as_path());
    let km = Keymap::load("default", d).expect("default");
    assert_eq!(km.lookup(&[Global], &keys(&["j"])), Lookup::Matched(UserAction::PageDown));
    assert_eq!(km.bindings(Global)[0].desc, "big down");
    assert_eq!(km.lookup(&[Global], &keys(&["q"])), Lookup::NoMatch);
    assert_eq!(km.lookup(&[Global], &keys(&["<C-c>"])), Lookup::Matched(UserAction::Quit));
    assert_eq!(km.lookup(&[Global], &keys(&["g"])), Lookup::Matched(UserAction::Top));
    assert_eq!(km.bindings(Global).last().map(|b| b.desc.as_str()), Some(UserAction::Top.desc()));
    assert_eq!(km.bindings(Popup).len(), 1);
    assert_eq!(km.bindings(Metrics), Keymap::fallback().bindings(Metrics));
    // `j` now pages down: the bundled `j` → down is shadowed, so hints show `↓`.
    assert_eq!(km.binding_for(&[Global], UserAction::Down).map(|b| format_keys(&b.keys)), Some("↓".into()));

    let mine = Keymap::load("mine", d).expect("mine");
    assert_eq!(mine.name(), "mine");
    assert_eq!(mine.lookup(&[Metrics, Global], &keys(&["g"])), Lookup::Matched(UserAction::FreezeToggle));
    assert_eq!(mine.lookup(&[Global], &keys(&["q"])), Lookup::NoMatch, "inherits the user's default");
    assert_eq!(mine.lookup(&[Metrics], &keys(&["f"])), Lookup::Matched(UserAction::FreezeToggle));

    let bare = Keymap::load("bare", d).expect("bare");
    assert!(bare.bindings(Metrics).is_empty());
    assert_eq!(bare.bindings(Global).len(), 1);

    assert_eq!(Keymap::load("default", None).expect("bundled").bindings(Global)[0].action, UserAction::Quit);
    assert_eq!(Keymap::check_all(d), Vec::new());
    let missing = Keymap::load("nope", d).expect_err("unknown");
    assert!(missing.message.contains("unknown keymap `nope`"), "{missing}");
}

/// A user file that builds on the default keymap (its line 1).
macro_rules! on_default {
    ($src:literal) => {
        concat!("inherits = \"default\"\n", $src)
    };
}

#[test]
fn errors_are_located() {
    // (a.toml, b.toml, line:col, message part, hint part); keymap `a` is loaded and the
    // error is in a.toml, or in b.toml when there is one.
    let cases = [
        (
            on_default!("[global]\nprepend = [{ on = \"x\", run = \"sort_mem\" }]"),
            "",
            (3, 30),
            "unknown action `sort_mem`",
            "did you mean `sort_memory`,",
        ),
        (on_default!("[globl]"), "", (2, 2), "unknown context `globl`", "`global`"),
        (
            on_default!("[global]\nappend = [{ on = [\"g\", \"<Foo>\"], run = \"top\" }]"),
            "",
            (3, 24),
            "bad key `<Foo>`: unknown key name `Foo`",
            "<Enter>",
        ),
        (on_default!("[global]\nbinds = []"), "", (3, 1), "unknown key `binds` in [global]", "prepend"),
        (
            on_default!("[popup]\nunbind = [\"x\", [\"g\", \"g\"]]"),
            "",
            (3, 11),
            "cannot unbind `x`: it is not bound in [popup]",
            "",
        ),
        (
            on_default!("[global]\nprepend = [{ on = \"g\", run = \"help\" }]"),
            "",
            (3, 19),
            "ambiguous chord in [global]: `g` (help) is a prefix of `g g` (top); \
             `g g` is at <bundled>/keymaps/default.toml:",
            "unbind",
        ),
        (
            on_default!(
                "[metrics]\nkeys = [\n{ on = [\"x\", \"y\"], run = \"close\" },\n{ on = \"x\", run = \"filter\" }]"
            ),
            "",
            (5, 8),
            "`x` (filter) is a prefix of `x y` (close); `x y` is at line 4",
            "",
        ),
        (
            on_default!("[popup]\nkeys = [\n{ on = \"q\", run = \"close\" },\n{ on = \"q\", run = \"confirm\" }]"),
            "",
            (5, 8),
            "`q` is bound twice in [popup] (also to `close` on line 4)",
            "",
        ),
        (on_default!("[popup]\nkeys = [{ run = \"close\" }]"), "", (3, 9), "binding has no `on`", ""),
        (on_default!("[popup]\nappend = [{ on = \"q\", run = 1 }]"), "", (3, 29), "`run` must be a string", ""),
        (
            on_default!("[popup]\nappend = [{ on = \"q\", run = \"close\", why = 1 }]"),
            "",
            (3, 38),
            "unknown field `why` in binding",
            "desc",
        ),
        ("[global]\nkeys = [{ on = \"x\", run = \"quit\" }]", "", (0, 0), "no key closes popups", "[popup]"),
        ("[global\n", "", (1, 8), "", ""),
        ("inherits = \"defualt\"", "", (1, 12), "unknown keymap `defualt`", "`default`"),
        ("inherits = \"b\"", "inherits = \"a\"", (1, 12), "keymap inherits itself (a -> b -> a)", ""),
    ];
    for (a, b, at, msg, hint) in cases {
        let dir = UserDir::new(&[("a", a), ("b", b)][..if b.is_empty() { 1 } else { 2 }]);
        let err = Keymap::load("a", Some(&dir.0)).expect_err(a);
        assert_eq!((err.line, err.col), at, "{err}");
        assert!(err.message.contains(msg) && err.hint.contains(hint), "{err}");
        let file = if b.is_empty() { "a.toml" } else { "b.toml" };
        assert!(err.path.starts_with(&dir.0.display().to_string()) && err.path.ends_with(file), "{err}");
    }
}

#[test]
fn check_all_reports_every_file() {
    let dir = UserDir::new(&[
        ("default", "[global]\nunbind = [\"nope\"]\n"),
        ("emacs", "[metrics]\nkeys = [{ on = \"<C-Frob>\", run = \"filter\" }]\n"),
        ("mine", "inherits = \"default\"\n"),
    ]);
    let errs = Keymap::check_all(Some(&dir.0));
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].path.ends_with("default.toml") && errs[0].line == 2, "{}", errs[0]);
    assert!(errs[1].path.ends_with("emacs.toml") && errs[1].message.contains("<C-Frob>"), "{}", errs[1]);
}

/// The actions table of docs/keymaps.md, built from the bundled keymaps.
fn actions_table() -> String {
    let maps = [Keymap::load("default", None).expect("default"), Keymap::load("emacs", None).expect("emacs")];
    let cell = |km: &Keymap, a: UserAction| {
        KeyContext::ALL
            .iter()
            .filter_map(|ctx| {
                let keys: Vec<String> = km
                    .bindings(*ctx)
                    .iter()
                    .filter(|b| b.action == a)
                    .map(|b| format!("`{}`", format_keys(&b.keys)))
                    .collect();
                (!keys.is_empty()).then(|| format!("{}: {}", ctx.name(), keys.join(" ")))
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut out = String::from("| action | what it does | default | emacs |\n| --- | --- | --- | --- |\n");
    for a in UserAction::ALL {
        out.push_str(&format!("| `{}` | {} | {} | {} |\n", a.name(), a.desc(), cell(&maps[0], *a), cell(&maps[1], *a)));
    }
    out
}

/// docs/keymaps.md lists every action with its bundled keys; `UPDATE_DOCS=1` rewrites the table.
#[test]
fn docs_list_every_action_with_its_keys() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/keymaps.md");
    let doc = std::fs::read_to_string(path).expect("docs/keymaps.md");
    let start = doc.find("| action | what it does |").expect("the actions table");
    let end = start + doc[start..].find("\n\n").expect("the end of the table") + 1;
    let want = actions_table();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, format!("{}{}{}", &doc[..start], want, &doc[end..])).expect("writing the docs");
        return;
    }
    assert!(doc[start..end] == want, "docs/keymaps.md is out of date: run UPDATE_DOCS=1 cargo test --lib docs_list");
}

/// docs/keymaps.md's table of contexts is the code's list (`UPDATE_DOCS=1` rewrites it).
#[test]
fn docs_list_every_context() {
    use crate::actions::KeyContext;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/keymaps.md");
    let doc = std::fs::read_to_string(path).expect("docs/keymaps.md");
    let start = doc.find("| context | used when |").expect("the contexts table");
    let end = start + doc[start..].find("\n\n").expect("the end of the table") + 1;
    let mut want = String::from("| context | used when |\n| --- | --- |\n");
    for c in KeyContext::ALL {
        want.push_str(&format!("| `{}` | {} |\n", c.name(), c.used_when()));
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, format!("{}{}{}", &doc[..start], want, &doc[end..])).expect("writing the docs");
        return;
    }
    assert!(doc[start..end] == want, "docs/keymaps.md is out of date: run UPDATE_DOCS=1 cargo test --lib docs_list");
    assert_eq!(
        KeyContext::list(),
        "[global], [metrics], [workflows], [tools], [alerts], [chat], [chat_input] and [popup]"
    );
}
