//! The tool list: favorites first, then recently used, then the rest; a fuzzy
//! filter (nucleo) ranks by match instead.

use std::collections::BTreeSet;

use crate::text::rank::{Rank, Ranker};

use super::chain::Chain;
use crate::protocol::tools::ToolInfo;

/// How many recently used tools are lifted to the top.
pub const RECENT: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Favorite,
    Recent,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Tool(usize),
    Chain(usize),
}

/// One row of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub target: Target,
    pub mark: Mark,
    /// Matched positions in the name (filtering): char indices, mapped to
    /// byte ranges with [`crate::text::char_ranges`].
    pub hits: Vec<u32>,
}

/// Saved chains are keyed `chain:NAME` among favorites and recents.
pub fn chain_key(name: &str) -> String {
    format!("chain:{name}")
}

/// Build the rows. `recent` is tool names, most recent first.
pub fn rows(
    tools: &[ToolInfo],
    chains: &[Chain],
    favorites: &BTreeSet<String>,
    recent: &[String],
    filter: &str,
) -> Vec<Row> {
    let key = |t: Target| match t {
        Target::Tool(i) => tools[i].name.clone(),
        Target::Chain(i) => chain_key(&chains[i].name),
    };
    let all: Vec<Target> = (0..tools.len()).map(Target::Tool).chain((0..chains.len()).map(Target::Chain)).collect();
    let lifted: Vec<&String> = recent.iter().filter(|n| !favorites.contains(*n)).take(RECENT).collect();
    let mark = |k: &String| {
        if favorites.contains(k) {
            Mark::Favorite
        } else if lifted.contains(&k) {
            Mark::Recent
        } else {
            Mark::None
        }
    };
    if filter.trim().is_empty() {
        let mut rows: Vec<(u8, usize, Row)> = all
            .into_iter()
            .map(|t| {
                let k = key(t);
                let m = mark(&k);
                let (group, order) = match m {
                    Mark::Favorite => (0, 0),
                    Mark::Recent => (1, lifted.iter().position(|n| **n == k).unwrap_or(0)),
                    Mark::None => (2, 0),
                };
                (group, order, Row { target: t, mark: m, hits: Vec::new() })
            })
            .collect();
        // Stable: within a group, tools (sorted by name) come before chains.
        rows.sort_by_key(|(g, o, _)| (*g, *o));
        return rows.into_iter().map(|(_, _, r)| r).collect();
    }
    let mut ranker = Ranker::new(filter);
    let mut scored: Vec<(Rank, Row)> = Vec::new();
    for t in all {
        let summary;
        let (name, fields): (&str, [&str; 2]) = match t {
            Target::Tool(i) => (&tools[i].name, [&tools[i].source, &tools[i].description]),
            Target::Chain(i) => {
                summary = chains[i].summary();
                (&chains[i].name, ["chain", &summary])
            }
        };
        if let Some((rank, hits)) = ranker.rank(name, &fields) {
            scored.push((rank, Row { target: t, mark: mark(&key(t)), hits }));
        }
    }
    // Stable: equal ranks keep the list's order.
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    scored.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(name: &str, source: &str) -> ToolInfo {
        ToolInfo {
            name: name.into(),
            description: format!("{name} does things"),
            schema: json!({}),
            mutating: false,
            source: source.into(),
        }
    }

    #[test]
    fn favorites_then_recent_then_rest() {
        let tools = vec![tool("a", "builtin"), tool("b", "builtin"), tool("c", "builtin"), tool("srv/d", "srv")];
        let chains = vec![Chain { name: "nightly".into(), steps: vec![] }];
        let favs: BTreeSet<String> = ["c".to_string(), chain_key("nightly")].into();
        let recent = vec!["srv/d".to_string(), "c".to_string(), "a".to_string()];
        let r = rows(&tools, &chains, &favs, &recent, "");
        let order: Vec<(Target, Mark)> = r.iter().map(|r| (r.target, r.mark)).collect();
        assert_eq!(
            order,
            vec![
                (Target::Tool(2), Mark::Favorite),
                (Target::Chain(0), Mark::Favorite),
                (Target::Tool(3), Mark::Recent),
                (Target::Tool(0), Mark::Recent),
                (Target::Tool(1), Mark::None),
            ]
        );
    }

    #[test]
    fn fuzzy_filter_ranks_name_matches_and_finds_sources() {
        let tools =
            vec![tool("http_check", "builtin"), tool("tcp_check", "builtin"), tool("everything/echo", "everything")];
        let r = rows(&tools, &[], &BTreeSet::new(), &[], "htck");
        assert_eq!(r[0].target, Target::Tool(0));
        assert!(!r[0].hits.is_empty());
        let by_source = rows(&tools, &[], &BTreeSet::new(), &[], "everything");
        assert_eq!(by_source[0].target, Target::Tool(2));
        assert!(rows(&tools, &[], &BTreeSet::new(), &[], "zzzz").is_empty());
    }
}
