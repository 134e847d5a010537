//! The config, rule, keymap, theme and condition parsers fed mutated real
//! files and arbitrary text: they never panic or hang, and every error they
//! report points inside the text it was given (a line that exists, a column
//! within it), in the file it came from. Run longer with PROPTEST_CASES.

use std::path::Path;

use opsdeck::config::ConfigError;
use opsdeck::config::keymap::Keymap;
use opsdeck::config::settings::parse_config_all;
use opsdeck::config::theme::Theme;
use opsdeck::engine::alerts::{expr, rules};
use proptest::prelude::*;

const CONFIG: &str = r#"theme = "default-dark"
keymap = "default"
refresh = "1s"
mouse = true

[metrics]
window = "5m"
marker = "braille"
sort = "cpu"

[metrics.thresholds]
cpu = { warn = 75, crit = 90 }
memory = { warn = 80, crit = 95 }

[storage]
cache_mb = 16

[[backend]]
name = "prod"
url = "wss://prod.example:7317"

[[prometheus]]
name = "prom"
url = "http://127.0.0.1:9090"
interval = "15s"
queries = { "cpu.total" = '100 - avg(rate(node_cpu_seconds_total{mode="idle"}[1m])) * 100' }

[[notifier]]
name = "ops"
kind = "webhook"
url = "http://127.0.0.1:9/hook"

[[alertmanager]]
name = "am"
url = "http://127.0.0.1:9093"
"#;

const RULES: &str = include_str!("../assets/alerts/default.toml");
const KEYMAP: &str = include_str!("../keymaps/default.toml");
const THEME: &str = include_str!("../themes/default-dark.toml");

/// Tokens that break parsers: TOML structure, odd Unicode, huge numbers, NUL,
/// self-references (`inherits` the file's own name), durations out of range.
const TOKENS: &[&str] = &[
    "\"",
    "'",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    ",",
    "\n",
    "\r\n",
    "#",
    "\\",
    "\u{0}",
    "\u{feff}",
    "İ",
    "\u{212A}",
    "\u{202e}",
    "🦀",
    "1e999",
    "-1",
    "18446744073709551616",
    "nan",
    "inf",
    "0",
    "\"\"",
    "true",
    "[metrics]",
    "[[rule]]",
    "[[check]]",
    "[[backend]]",
    "inherits = \"mine\"",
    "inherits = \"default-dark\"",
    "name = \"x\"",
    "for = \"99999999h\"",
    "refresh = \"0ns\"",
    "condition = \"avg(cpu.total, 0s) >\"",
    "run = \"quit\"",
    "on = \"<C-\"",
    "on = [\"g\", \"g\", \"g\"]",
    "fg = \"#zzzzzz\"",
    "fg = \"red\"",
    "tcp = \"[::1]:99999\"",
    "interval = \"1ms\"",
    "predict(disk.used_pct:*, 4h, 1h) >= 100",
    "keys = [",
    "= \"",
];

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, &'static str),
    Delete(usize, usize),
    Duplicate(usize, usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), prop::sample::select(TOKENS)).prop_map(|(at, t)| Edit::Insert(at, t)),
        (any::<usize>(), 1usize..40).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), 1usize..80).prop_map(|(at, n)| Edit::Duplicate(at, n)),
    ];
    prop::collection::vec(edit, 1..6)
}

/// The nearest char boundary at or below `at % (len + 1)`.
fn boundary(s: &str, at: usize) -> usize {
    let mut i = at % (s.len() + 1);
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(seed: &str, edits: &[Edit]) -> String {
    let mut s = seed.to_string();
    for e in edits {
        match *e {
            Edit::Insert(at, t) => {
                let i = boundary(&s, at);
                s.insert_str(i, t);
            }
            Edit::Delete(at, n) => {
                let i = boundary(&s, at);
                let j = boundary(&s, i + n).max(i);
                s.replace_range(i..j, "");
            }
            Edit::Duplicate(at, n) => {
                let i = boundary(&s, at);
                let j = boundary(&s, i + n).max(i);
                let piece = s[i..j].to_string();
                s.insert_str(j, &piece);
            }
        }
    }
    s
}

/// An error points into `src` (or at no position), in `path`.
fn located_inside(e: &ConfigError, path: &str, src: &str) -> Result<(), TestCaseError> {
    prop_assert!(e.path.ends_with(path) || e.path.starts_with("<bundled>"), "{} is not {path}", e.path);
    if e.line == 0 {
        return Ok(());
    }
    let text = src.strip_prefix('\u{feff}').unwrap_or(src);
    let lines: Vec<&str> = text.split('\n').collect();
    prop_assert!(e.line <= lines.len(), "line {} of {}: {e}", e.line, lines.len());
    let chars = lines[e.line - 1].trim_end_matches('\r').chars().count();
    prop_assert!(e.col <= chars + 1, "col {} of a {chars}-character line: {e}", e.col);
    Ok(())
}

/// Write `src` to `dir/mine.toml` for the loaders that read files.
fn mine(dir: &Path, src: &str) {
    std::fs::write(dir.join("mine.toml"), src).expect("write");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn config_parser_locates_every_error(e in edits()) {
        let src = apply(CONFIG, &e);
        if let Err(errors) = parse_config_all("config.toml", &src) {
            prop_assert!(!errors.is_empty(), "an error with no problem in it");
            for err in &errors {
                located_inside(err, "config.toml", &src)?;
            }
        }
    }

    #[test]
    fn rule_parser_locates_every_error(e in edits()) {
        let src = apply(RULES, &e);
        if let Err(errors) = rules::parse_all("rules.toml", &src) {
            prop_assert!(!errors.is_empty());
            for err in &errors {
                located_inside(err, "rules.toml", &src)?;
            }
        }
    }

    #[test]
    fn conditions_never_panic(s in "\\PC{0,40}", e in edits()) {
        let _ = expr::parse(&s);
        let _ = expr::parse(&apply("avg(cpu.total, 2m) > 90 and predict(disk.used_pct:*, 4h, 1h) >= 100", &e));
    }

    #[test]
    fn keymap_loader_locates_every_error(e in edits()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = apply(KEYMAP, &e);
        mine(dir.path(), &src);
        if let Err(err) = Keymap::load("mine", Some(dir.path())) {
            located_inside(&err, "mine.toml", &src)?;
        }
        prop_assert_eq!(Keymap::check_all(Some(dir.path())).is_empty(), Keymap::load("mine", Some(dir.path())).is_ok());
    }

    #[test]
    fn theme_loader_locates_every_error(e in edits()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = apply(THEME, &e);
        mine(dir.path(), &src);
        if let Err(err) = Theme::load("mine", Some(dir.path()), false) {
            located_inside(&err, "mine.toml", &src)?;
        }
    }

    #[test]
    fn arbitrary_text_never_panics_any_parser(src in "\\PC{0,200}") {
        let _ = parse_config_all("config.toml", &src);
        let _ = rules::parse_all("rules.toml", &src);
        let dir = tempfile::tempdir().expect("tempdir");
        mine(dir.path(), &src);
        let _ = Keymap::load("mine", Some(dir.path()));
        let _ = Theme::load("mine", Some(dir.path()), true);
    }
}

fn op() -> impl Strategy<Value = opsdeck::protocol::alerts::MatchOp> {
    use opsdeck::protocol::alerts::MatchOp;
    prop::sample::select(MatchOp::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Silence matchers as a person types them: any text parses or says
    /// where it is wrong (a column inside the text), never panics.
    #[test]
    fn matcher_text_never_panics_and_errors_point_inside(text in "[a-z_=!~\" ,{}\\\\.*|()\\[\\]0-9é]{0,40}") {
        if let Err(e) = opsdeck::protocol::matchers::parse(&text) {
            prop_assert!(e.col >= 1 && e.col <= text.chars().count() + 1, "{e} in {text:?}");
        }
    }

    /// Whatever the matchers, their text form reads back the same.
    #[test]
    fn matchers_round_trip_through_their_text(
        set in prop::collection::vec(("[a-zA-Z_][a-zA-Z0-9_]{0,8}", op(), "\\PC{0,12}"), 0..5)
    ) {
        use opsdeck::protocol::alerts::{MatchOp, Matcher};
        let set: Vec<Matcher> = set
            .into_iter()
            .map(|(name, op, value)| {
                // A regex value is escaped so that it is a valid pattern.
                let value = if matches!(op, MatchOp::Re | MatchOp::NotRe) { regex::escape(&value) } else { value };
                Matcher { name, op, value }
            })
            .collect();
        let text = opsdeck::protocol::matchers::format(&set);
        prop_assert_eq!(opsdeck::protocol::matchers::parse(&text).map_err(|e| e.to_string()), Ok(set), "{}", text);
    }
}
