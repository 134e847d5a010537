//! Names of `[[table]]` entries that must be unique, read with their place in
//! the file so that an error points at the second use (one pass over the
//! text for every kind).
//!
//! - `[[mcp_server]]` and `[[notifier]]` names are unique within their kind.
//! - Every `[[backend]]`, `[[prometheus]]`, `[[alertmanager]]` and
//!   `[[prefect]]` is a source of events and the target of commands,
//!   addressed by its name alone: so a name is used once across all four kinds, and never `local`, which names
//!   the opsdeck engine in this process (an `[[alertmanager]] name = "local"`
//!   used to take over the local alert commands).

use serde::Deserialize;
use toml::Spanned;

use super::error::ConfigError;
use crate::protocol::LOCAL_SOURCE;

#[derive(Deserialize)]
struct Spans {
    #[serde(default)]
    mcp_server: Vec<Named>,
    #[serde(default)]
    notifier: Vec<Named>,
    #[serde(default)]
    backend: Vec<Named>,
    #[serde(default)]
    prometheus: Vec<Named>,
    #[serde(default)]
    alertmanager: Vec<Named>,
    #[serde(default)]
    prefect: Vec<Named>,
}

#[derive(Deserialize)]
struct Named {
    name: Spanned<String>,
}

/// The naming errors in `src` (the text of `path`): the first of each group.
pub(crate) fn check(path: &str, src: &str) -> Vec<ConfigError> {
    let Ok(spans) = toml::from_str::<Spans>(src) else { return Vec::new() };
    let groups: [&[(&str, &[Named])]; 3] = [
        &[("mcp_server", &spans.mcp_server)],
        &[("notifier", &spans.notifier)],
        &[
            ("backend", &spans.backend),
            ("prometheus", &spans.prometheus),
            ("alertmanager", &spans.alertmanager),
            ("prefect", &spans.prefect),
        ],
    ];
    groups
        .iter()
        .filter_map(|g| first_problem(g, g.len() > 1))
        .map(|(at, m, h)| ConfigError::at(path, src, Some(at), m, h))
        .collect()
}

/// The first name of `group` (one namespace), in the order of the file, that
/// is taken, or `local` when the group is the sources: (span, message, hint).
/// File order, not kind order: the later of two entries is the one flagged,
/// whatever their kinds.
fn first_problem(group: &[(&str, &[Named])], sources: bool) -> Option<(std::ops::Range<usize>, String, String)> {
    let mut entries: Vec<(&str, &Named)> =
        group.iter().flat_map(|(kind, list)| list.iter().map(|n| (*kind, n))).collect();
    entries.sort_by_key(|(_, n)| n.name.span().start);
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (kind, n) in entries {
        let name = n.name.get_ref().as_str();
        let problem = if sources && name == LOCAL_SOURCE {
            Some((
                format!("{kind} name \"{LOCAL_SOURCE}\" is reserved: it names the opsdeck engine in this process"),
                format!("give this [[{kind}]] another name, e.g. \"{kind}-1\""),
            ))
        } else if let Some((first, _)) = seen.iter().find(|(_, s)| *s == name) {
            Some(if *first == kind {
                (format!("{kind} name {name:?} is used twice"), format!("give each [[{kind}]] its own name"))
            } else {
                (
                    format!("{kind} name {name:?} is already the name of a [[{first}]]"),
                    "source names are one namespace across backends, Prometheus, Alertmanager and Prefect \
                     servers: give each its own name"
                        .to_string(),
                )
            })
        } else {
            None
        };
        if let Some((message, hint)) = problem {
            return Some((n.name.span(), message, hint));
        }
        seen.push((kind, name));
    }
    None
}
