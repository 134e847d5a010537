//! Source names. Every `[[backend]]`, `[[prometheus]]` and `[[alertmanager]]`
//! is a source of events and the target of commands, addressed by its name
//! alone: so a name is used once across all three kinds, and never `local`,
//! which names the opsdeck engine in this process (an `[[alertmanager]]
//! name = "local"` used to take over the local alert commands).

use serde::Deserialize;

use super::error::ConfigError;
use crate::protocol::LOCAL_SOURCE;

#[derive(Deserialize)]
struct Spans {
    #[serde(default)]
    backend: Vec<Named>,
    #[serde(default)]
    prometheus: Vec<Named>,
    #[serde(default)]
    alertmanager: Vec<Named>,
}

#[derive(Deserialize)]
struct Named {
    name: toml::Spanned<String>,
}

/// The first source name that is `local` or already taken, as an error at
/// its place in `src` (the text of `path`).
pub(crate) fn check_names(path: &str, src: &str) -> Result<(), ConfigError> {
    let Ok(spans) = toml::from_str::<Spans>(src) else { return Ok(()) };
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (kind, list) in
        [("backend", &spans.backend), ("prometheus", &spans.prometheus), ("alertmanager", &spans.alertmanager)]
    {
        for n in list {
            let name = n.name.get_ref().as_str();
            let problem = if name == LOCAL_SOURCE {
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
                        "source names are one namespace across backends, Prometheus and Alertmanager servers: \
                         give each its own name"
                            .to_string(),
                    )
                })
            } else {
                None
            };
            if let Some((message, hint)) = problem {
                return Err(ConfigError::at(path, src, Some(n.name.span()), message, hint));
            }
            seen.push((kind, name));
        }
    }
    Ok(())
}
