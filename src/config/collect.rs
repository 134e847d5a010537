//! Every independent error of a TOML file, not only the first: each top-level
//! key, and each entry of a top-level array of tables (`[[backend]]`,
//! `[[rule]]` …), is checked on its own, with positions in the original text.

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue, Deserializer};

use super::error::ConfigError;

/// Deserialize `T` from `src`. On failure, one error per bad top-level key or
/// array entry (a syntax error is one error: nothing after it can be trusted).
/// `hint` turns a message into a fix.
pub fn deserialize_all<T: DeserializeOwned>(
    path: &str,
    src: &str,
    hint: impl Fn(&str) -> String,
) -> Result<T, Vec<ConfigError>> {
    let err = |e: &toml::de::Error| ConfigError::from_toml(path, src, e, hint(e.message()));
    let root = DeTable::parse(src).map_err(|e| vec![err(&e)])?;
    let span = root.span();
    let whole = T::deserialize(Deserializer::from(root.clone()));
    let Err(first) = whole else { return whole.map_err(|_| Vec::new()) };
    let mut errors = Vec::new();
    let one = |key: &Spanned<toml::de::DeString<'_>>, value: Spanned<DeValue<'_>>| {
        let mut t = DeTable::new();
        t.insert(key.clone(), value);
        T::deserialize(Deserializer::from(Spanned::new(span.clone(), t))).err()
    };
    for (key, value) in root.get_ref().iter() {
        match value.get_ref() {
            DeValue::Array(items) if items.iter().all(|i| matches!(i.get_ref(), DeValue::Table(_))) => {
                for item in items {
                    let mut single = DeArray::new();
                    single.push(item.clone());
                    // The entry's own span: an error without a place of its
                    // own (a `try_from` check of the whole entry) points at
                    // this entry, not at the first `[[key]]` of the file.
                    let v = Spanned::new(item.span(), DeValue::Array(single));
                    errors.extend(one(key, v).map(|e| err(&e)));
                }
            }
            _ => errors.extend(one(key, value.clone()).map(|e| err(&e))),
        }
    }
    // A problem only the whole document shows (e.g. a missing required key).
    if errors.is_empty() {
        errors.push(err(&first));
    }
    errors.sort_by_key(|e| (e.line, e.col));
    errors.dedup();
    Err(errors)
}

/// The span of a top-level key's value (e.g. `theme`), to point at it.
pub fn value_span(src: &str, key: &str) -> Option<std::ops::Range<usize>> {
    let root = DeTable::parse(src).ok()?;
    root.get_ref().iter().find(|(k, _)| k.get_ref().as_ref() == key).map(|(_, v)| v.span())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        #[serde(default)]
        a: u32,
        #[serde(default)]
        b: u32,
        #[serde(default)]
        item: Vec<Item>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        name: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(try_from = "Item")]
    #[allow(dead_code)]
    struct Checked(String);

    impl TryFrom<Item> for Checked {
        type Error = String;
        fn try_from(i: Item) -> Result<Self, String> {
            if i.name.contains(' ') { Err(format!("item {:?} has a space", i.name)) } else { Ok(Checked(i.name)) }
        }
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct CheckedDoc {
        item: Vec<Checked>,
    }

    /// A check of a whole entry (no key of its own) points at that entry.
    #[test]
    fn an_entry_refused_as_a_whole_is_located_at_the_entry() {
        let src = "[[item]]\nname = \"a\"\n\n[[item]]\nname = \"b\"\n\n[[item]]\nname = \"c d\"\n";
        let errs = deserialize_all::<CheckedDoc>("c.toml", src, |_| String::new()).unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert!(errs[0].message.contains("has a space"), "{errs:#?}");
        assert!((7..=8).contains(&errs[0].line), "the third entry (lines 7-8): {errs:#?}");
    }

    #[test]
    fn every_independent_error_is_reported_with_its_position() {
        let src = "a = \"x\"\nb = \"y\"\n[[item]]\nname = 1\n[[item]]\nname = \"ok\"\n[[item]]\nnmae = \"z\"\n";
        let errs = deserialize_all::<Doc>("c.toml", src, |_| String::new()).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 2, 4, 8], "{errs:#?}");
        assert!(deserialize_all::<Doc>("c.toml", "a = 1\n[[item]]\nname = \"n\"\n", |_| String::new()).is_ok());
        let syntax = deserialize_all::<Doc>("c.toml", "a = \n", |_| String::new()).unwrap_err();
        assert_eq!(syntax.len(), 1);
        assert_eq!(value_span("a = 1\ntheme = \"x\"\n", "theme"), Some(14..17));
    }
}
