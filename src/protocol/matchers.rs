//! Alertmanager label matchers: matching a label value, and the text form
//! `amtool` and Alertmanager's UI use (`alertname=disk_full team!=web
//! instance=~"db-[0-9]+"`), parsed with the column of each mistake.
//!
//! `=~` and `!~` are regular expressions over the whole value (anchored, as
//! Alertmanager's), in the `regex` crate's syntax, which is RE2's as
//! Alertmanager's Go regexp. A label an alert does not have is the empty
//! string.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use super::alerts::{Alert, MatchOp, Matcher};

/// What is wrong with a matcher text, and where (1-based column, in chars).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {col}: {what}")]
pub struct MatcherError {
    pub col: usize,
    pub what: String,
}

/// The largest compiled pattern accepted (bytes of the regex program): a
/// pasted monster is refused rather than slowing every evaluation.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// `pattern` anchored to the whole value, or why it is not a regular expression.
pub fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$")).size_limit(REGEX_SIZE_LIMIT).build().map_err(|e| match e {
        regex::Error::Syntax(s) => s.lines().last().unwrap_or("invalid").trim_start_matches("error: ").to_string(),
        regex::Error::CompiledTooBig(_) => "the pattern is too large".to_string(),
        other => other.to_string(),
    })
}

/// Compiled patterns, shared by every silence evaluation (bounded: cleared
/// past 512 patterns). A pattern that does not compile matches nothing.
fn cached(pattern: &str) -> Option<regex::Regex> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<regex::Regex>>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(re) = cache.get(pattern) {
        return re.clone();
    }
    if cache.len() >= 512 {
        cache.clear();
    }
    let re = compile(pattern).ok();
    cache.insert(pattern.to_string(), re.clone());
    re
}

impl Matcher {
    /// Whether a label with this value (empty when the alert lacks it) matches.
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Eq => value == self.value,
            MatchOp::NotEq => value != self.value,
            MatchOp::Re => cached(&self.value).is_some_and(|re| re.is_match(value)),
            MatchOp::NotRe => !cached(&self.value).is_some_and(|re| re.is_match(value)),
        }
    }

    /// Whether every matcher matches `alert` (its [`Alert::match_labels`]).
    pub fn all_match(matchers: &[Matcher], alert: &Alert) -> bool {
        let labels = alert.match_labels();
        matchers.iter().all(|m| m.matches(labels.get(&m.name).map_or("", String::as_str)))
    }
}

/// Why a set of matchers may not make a silence, as Alertmanager refuses
/// it: none at all, or every one matching an empty label (it would mute
/// every alert).
pub fn check_set(matchers: &[Matcher]) -> Result<(), String> {
    if matchers.is_empty() {
        return Err("a silence needs at least one matcher".into());
    }
    if let Some(bad) = matchers.iter().find(|m| !valid_name(&m.name)) {
        return Err(format!("`{}` is not a label name (letters, digits and _, not first a digit)", bad.name));
    }
    if let Some(bad) =
        matchers.iter().find(|m| matches!(m.op, MatchOp::Re | MatchOp::NotRe) && compile(&m.value).is_err())
    {
        let why = compile(&bad.value).err().unwrap_or_default();
        return Err(format!("`{}` is not a regular expression: {why}", bad.value));
    }
    if matchers.iter().all(|m| m.matches("")) {
        return Err("these matchers also match alerts without those labels, so they would mute every alert: \
                    add one that needs a value (e.g. alertname=NAME)"
            .into());
    }
    Ok(())
}

/// A Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn valid_name(name: &str) -> bool {
    let mut c = name.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_') && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// Matchers as text: space-separated, values quoted when they hold a space,
/// a quote, a comma, a brace or nothing ([`parse`] reads it back).
pub fn format(matchers: &[Matcher]) -> String {
    matchers
        .iter()
        .map(|m| {
            // `a=` then `~x` would read back as `a=~x`, a regex: quoted.
            let plain = !m.value.is_empty()
                && !m.value.starts_with('~')
                && !m.value.chars().any(|c| c.is_whitespace() || matches!(c, '"' | ',' | '{' | '}' | '\\'));
            let value = if plain { m.value.clone() } else { quote(&m.value) };
            format!("{}{}{value}", m.name, m.op.symbol())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote(v: &str) -> String {
    let mut s = String::with_capacity(v.len() + 2);
    s.push('"');
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// Parse matchers written as `amtool` takes them: `name=value`, `name!=value`,
/// `name=~regex`, `name!~regex`, separated by spaces or commas, optionally in
/// `{…}`; a value in double quotes may hold spaces (`\"` and `\\` escape).
/// Errors give the column of the matcher at fault.
pub fn parse(text: &str) -> Result<Vec<Matcher>, MatcherError> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let err = |col: usize, what: String| MatcherError { col: col + 1, what };
    let skip = |i: &mut usize| {
        while *i < chars.len() && (chars[*i].is_whitespace() || chars[*i] == ',') {
            *i += 1;
        }
    };
    skip(&mut i);
    let braced = chars.get(i) == Some(&'{');
    if braced {
        i += 1;
    }
    let mut out = Vec::new();
    loop {
        skip(&mut i);
        if i >= chars.len() {
            if braced {
                return Err(err(i, "missing `}` at the end".into()));
            }
            break;
        }
        if braced && chars[i] == '}' {
            i += 1;
            skip(&mut i);
            if i < chars.len() {
                return Err(err(i, "text after the closing `}`".into()));
            }
            break;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
            i += 1;
        }
        let name: String = chars[start..i].iter().collect();
        let op = match (chars.get(i), chars.get(i + 1)) {
            (Some('='), Some('~')) => Some((MatchOp::Re, 2)),
            (Some('!'), Some('~')) => Some((MatchOp::NotRe, 2)),
            (Some('!'), Some('=')) => Some((MatchOp::NotEq, 2)),
            (Some('='), _) => Some((MatchOp::Eq, 1)),
            _ => None,
        };
        let Some((op, len)) = op else {
            let word: String = chars[start..].iter().take_while(|c| !c.is_whitespace() && **c != ',').collect();
            let what = if name.is_empty() {
                format!("`{word}` does not start with a label name")
            } else {
                format!("`{word}` has no operator: use =, !=, =~ or !~ after `{name}`")
            };
            return Err(err(start, what));
        };
        if name.is_empty() {
            let word: String = chars[start..].iter().take_while(|c| !c.is_whitespace() && **c != ',').collect();
            return Err(err(start, format!("`{word}` does not start with a label name")));
        }
        if !valid_name(&name) {
            return Err(err(start, format!("`{name}` is not a label name (letters, digits and _, not first a digit)")));
        }
        i += len;
        let value_at = i;
        let value = if chars.get(i) == Some(&'"') {
            i += 1;
            let mut v = String::new();
            loop {
                match chars.get(i) {
                    None => return Err(err(value_at, format!("the value of `{name}` has no closing quote"))),
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some('\\') => {
                        match chars.get(i + 1) {
                            Some('n') => v.push('\n'),
                            Some(c @ ('"' | '\\')) => v.push(*c),
                            Some(c) => {
                                v.push('\\');
                                v.push(*c);
                            }
                            None => return Err(err(value_at, format!("the value of `{name}` has no closing quote"))),
                        }
                        i += 2;
                    }
                    Some(c) => {
                        v.push(*c);
                        i += 1;
                    }
                }
            }
            if i < chars.len() && !(chars[i].is_whitespace() || chars[i] == ',' || (braced && chars[i] == '}')) {
                return Err(err(i, "a space or a comma goes between matchers".into()));
            }
            v
        } else {
            let s = i;
            while i < chars.len() && !(chars[i].is_whitespace() || chars[i] == ',' || (braced && chars[i] == '}')) {
                i += 1;
            }
            chars[s..i].iter().collect()
        };
        if matches!(op, MatchOp::Re | MatchOp::NotRe)
            && let Err(why) = compile(&value)
        {
            return Err(err(value_at, format!("`{value}` is not a regular expression: {why}")));
        }
        out.push(Matcher { name, op, value });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, op: MatchOp, value: &str) -> Matcher {
        Matcher { name: name.into(), op, value: value.into() }
    }

    #[test]
    fn the_four_operators_match_whole_values() {
        assert!(m("team", MatchOp::Eq, "db").matches("db"));
        assert!(!m("team", MatchOp::Eq, "db").matches("db2"));
        assert!(m("team", MatchOp::NotEq, "db").matches(""));
        assert!(m("instance", MatchOp::Re, "db-[0-9]+").matches("db-12"));
        assert!(!m("instance", MatchOp::Re, "db-[0-9]+").matches("xdb-12"), "anchored at the start");
        assert!(!m("instance", MatchOp::Re, "db").matches("db-1"), "anchored at the end");
        assert!(m("instance", MatchOp::Re, "web|db.*").matches("db-1"));
        assert!(m("instance", MatchOp::NotRe, "web.*").matches("db-1"));
        // A pattern that does not compile matches nothing (and `!~` everything).
        assert!(!m("x", MatchOp::Re, "[").matches("["));
        assert!(m("x", MatchOp::NotRe, "[").matches("["));
    }

    #[test]
    fn amtool_text_is_parsed_with_the_column_of_each_mistake() {
        let got = parse(r#"alertname=disk_full team!=web instance=~"db-[0-9]+" env!~"stag.*""#).unwrap();
        assert_eq!(
            got,
            vec![
                m("alertname", MatchOp::Eq, "disk_full"),
                m("team", MatchOp::NotEq, "web"),
                m("instance", MatchOp::Re, "db-[0-9]+"),
                m("env", MatchOp::NotRe, "stag.*"),
            ]
        );
        assert_eq!(parse(r#"{team="db", summary="a \"b\" c"}"#).unwrap()[1].value, r#"a "b" c"#);
        assert_eq!(parse("  ").unwrap(), vec![]);
        assert_eq!(parse("team= x=1").unwrap(), vec![m("team", MatchOp::Eq, ""), m("x", MatchOp::Eq, "1")]);
        let e = |t: &str| parse(t).unwrap_err().to_string();
        assert_eq!(e("team=db owner~ana"), "column 9: `owner~ana` has no operator: use =, !=, =~ or !~ after `owner`");
        assert_eq!(e("=db"), "column 1: `=db` does not start with a label name");
        assert_eq!(e("1team=db"), "column 1: `1team` is not a label name (letters, digits and _, not first a digit)");
        assert!(e("x=~[").starts_with("column 4: `[` is not a regular expression"), "{}", e("x=~["));
        assert_eq!(e(r#"a="b"#), "column 3: the value of `a` has no closing quote");
        assert_eq!(e(r#"a="b"c"#), "column 6: a space or a comma goes between matchers");
        assert_eq!(e("{a=b"), "column 5: missing `}` at the end");
        assert_eq!(e("{a=b} c"), "column 7: text after the closing `}`");
        // Columns count characters, not bytes.
        assert_eq!(e("ä=1 b"), "column 1: `ä=1` does not start with a label name");
    }

    #[test]
    fn text_round_trips_through_format_and_parse() {
        let set = vec![
            m("alertname", MatchOp::Eq, "disk full"),
            m("a", MatchOp::NotEq, ""),
            m("b", MatchOp::Re, r#"x "y"|z,{2}"#),
            m("c", MatchOp::NotRe, "line\nbreak"),
            m("d", MatchOp::Eq, r"back\slash"),
            m("e", MatchOp::Eq, "~tilde"),
        ];
        let text = format(&set);
        assert_eq!(
            text,
            r#"alertname="disk full" a!="" b=~"x \"y\"|z,{2}" c!~"line\nbreak" d="back\\slash" e="~tilde""#
        );
        assert_eq!(parse(&text).unwrap(), set);
    }

    #[test]
    fn a_set_that_would_mute_everything_is_refused() {
        assert!(check_set(&[]).unwrap_err().contains("at least one matcher"));
        let err = check_set(&[m("team", MatchOp::Re, ".*")]).unwrap_err();
        assert!(err.contains("would mute every alert"), "{err}");
        assert!(check_set(&[m("team", MatchOp::NotEq, "db")]).is_err(), "!= matches the empty label");
        assert!(check_set(&[m("team", MatchOp::NotEq, "db"), m("alertname", MatchOp::Eq, "x")]).is_ok());
        assert!(check_set(&[m("bad-name", MatchOp::Eq, "x")]).unwrap_err().contains("not a label name"));
        assert!(check_set(&[m("x", MatchOp::Re, "(")]).unwrap_err().contains("not a regular expression"));
    }
}
