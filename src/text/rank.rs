//! One ranking for every filter that picks from named entries: the command
//! palette, the help filter and the tool list. A name that *is* the query
//! comes first, then names that start with it, then names with a word that
//! starts with it (`ack` in `silence_ack`), then names that contain it, then
//! fuzzy matches of the name (nucleo); other fields (a description, keys, a
//! source) match only when they contain the query, and rank last — scattered
//! letters in a long description are not a match.

use nucleo_matcher::Matcher;
use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};

use super::{find_ci, folded, haystack};

/// How well an entry matched; larger is better. Compare whole values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rank {
    /// 5 exact name, 4 name prefix, 3 word prefix, 2 name contains, 1 fuzzy name, 0 another field contains.
    pub tier: u8,
    /// Within a tier: nucleo's score of the name (0 for other fields).
    pub score: u32,
}

/// A ranker holds nucleo's matcher and buffers; make one per filtering pass.
pub struct Ranker {
    matcher: Matcher,
    buf: Vec<char>,
    query: String,
    pattern: Pattern,
}

impl Ranker {
    pub fn new(query: &str) -> Ranker {
        Ranker {
            matcher: Matcher::new(nucleo_matcher::Config::DEFAULT),
            buf: Vec::new(),
            query: query.trim().to_string(),
            pattern: Pattern::parse(query, CaseMatching::Ignore, Normalization::Smart),
        }
    }

    /// The rank of an entry called `name` with other searchable `fields`,
    /// and the matched **char** indices of `name` (map them with
    /// [`super::char_ranges`]); `None` when it does not match. An empty
    /// query matches everything equally.
    pub fn rank(&mut self, name: &str, fields: &[&str]) -> Option<(Rank, Vec<u32>)> {
        let q = self.query.as_str();
        if q.is_empty() {
            return Some((Rank { tier: 0, score: 0 }, Vec::new()));
        }
        let mut hits = Vec::new();
        let fuzzy = self.pattern.indices(haystack(name, &mut self.buf), &mut self.matcher, &mut hits);
        let score = fuzzy.unwrap_or(0);
        let (fname, fq) = (folded(name), folded(q));
        let found = find_ci(name, q);
        let tier = if fname == fq {
            5
        } else if fname.starts_with(&fq) {
            4
        } else if found.iter().any(|r| r.start > 0 && name[..r.start].ends_with(|c: char| !c.is_alphanumeric())) {
            3
        } else if !found.is_empty() {
            2
        } else if fuzzy.is_some() {
            1
        } else if fields.iter().any(|f| super::contains_ci(f, q)) {
            return Some((Rank { tier: 0, score: 0 }, Vec::new()));
        } else {
            return None;
        };
        // A substring match marks that substring; a fuzzy one nucleo's chars.
        if let Some(r) = found.first() {
            let start = name[..r.start].chars().count() as u32;
            let len = name[r.clone()].chars().count() as u32;
            hits = (start..start + len).collect();
        } else {
            hits.sort_unstable();
            hits.dedup();
        }
        Some((Rank { tier, score }, hits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order<'a>(q: &str, entries: &[(&'a str, &str)]) -> Vec<&'a str> {
        let mut r = Ranker::new(q);
        let mut v: Vec<(Rank, usize, &str)> =
            entries.iter().enumerate().filter_map(|(i, (n, d))| r.rank(n, &[d]).map(|(k, _)| (k, i, *n))).collect();
        v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        v.into_iter().map(|(_, _, n)| n).collect()
    }

    #[test]
    fn exact_and_prefix_names_come_first() {
        let palette = [
            ("chain_next", "Feed the result into another tool"),
            ("reconnect", "Reconnect the shown backend now"),
            ("reload", "Read config.toml, the theme, the keymap and the alert rules again"),
        ];
        assert_eq!(order("reload", &palette), vec!["reload"], "`:reload` offers reload, not chain_next");
        assert_eq!(order("re", &palette)[..2], ["reconnect", "reload"]);
        let help =
            [("close", "Close the popup or clear the filter; take back"), ("acknowledge", "acknowledge / take back")];
        assert_eq!(order("ack", &help), vec!["acknowledge", "close"], "a name beats a description");
        let tools = [("shell", "Run a shell command"), ("data_query", "jq over JSON or CSV data")];
        assert_eq!(order("data", &tools), vec!["data_query"], "no fuzzy match in descriptions");
        assert_eq!(order("query", &tools), vec!["data_query"], "a word of the name");
        assert_eq!(order("dq", &tools), vec!["data_query"], "fuzzy on names");
        assert!(order("zzz", &tools).is_empty());
    }

    #[test]
    fn hits_are_char_indices_of_the_name() {
        let mut r = Ranker::new("İi");
        let (_, hits) = r.rank("KİİX", &[]).expect("case-folded substring");
        assert_eq!(hits, vec![1, 2]);
    }
}
