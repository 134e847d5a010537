//! Checks of `[[provider]]` and `[chat]` that serde cannot make, each at its
//! place in config.toml: unique provider names usable as key names, a
//! `base_url` that is an http(s) URL, no key among the extra headers,
//! `max_tokens` below `context_tokens`, and fallback entries that are
//! `provider/model` naming a configured provider and, when that provider
//! lists its `models`, one of them (an empty `models` is listed by the
//! server at run time: not checked here, which reads no network).

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::error::ConfigError;
use crate::protocol::chat::ModelRef;

#[derive(Deserialize)]
struct Spans {
    #[serde(default)]
    provider: Vec<Provider>,
    #[serde(default)]
    chat: Option<Chat>,
}

#[derive(Deserialize)]
struct Provider {
    name: Option<Spanned<String>>,
    base_url: Option<Spanned<String>>,
    #[serde(default)]
    models: Vec<String>,
    #[serde(default)]
    headers: BTreeMap<Spanned<String>, toml::Value>,
    context_tokens: Option<Spanned<i64>>,
    max_tokens: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
struct Chat {
    #[serde(default)]
    fallback: Vec<Spanned<String>>,
    temperature: Option<Spanned<f64>>,
}

/// Headers that carry keys: never in config.toml (DESIGN.md §10).
const KEY_HEADERS: [&str; 4] = ["authorization", "x-api-key", "api-key", "proxy-authorization"];

/// The problems of `src` (the text of `path`), in file order.
pub(crate) fn check(path: &str, src: &str) -> Vec<ConfigError> {
    let Ok(spans) = toml::from_str::<Spans>(src) else { return Vec::new() };
    let mut found: Vec<(Range<usize>, String, String)> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for p in &spans.provider {
        if let Some(name) = &p.name {
            let n = name.get_ref().as_str();
            if names.contains(&n) {
                found.push((
                    name.span(),
                    format!("provider name {n:?} is used twice"),
                    "give each [[provider]] its own name".into(),
                ));
            } else if n.is_empty() || n.contains('/') || crate::secrets::check_name(&format!("provider:{n}")).is_err() {
                found.push((
                    name.span(),
                    format!("provider name {n:?} cannot name a model (provider/model) and its key (provider:NAME)"),
                    "use letters, digits, '-', '_' and '.', e.g. \"local\" or \"openrouter\"".into(),
                ));
            }
            if !names.contains(&n) {
                names.push(n);
            }
        }
        if let Some(url) = &p.base_url
            && let Err(what) = check_url(url.get_ref())
        {
            found.push((
                url.span(),
                format!("base_url {:?}: {what}", url.get_ref()),
                "e.g. base_url = \"http://127.0.0.1:11434/v1\" or \"https://api.openai.com/v1\"".into(),
            ));
        }
        for key in p.headers.keys() {
            let k = key.get_ref();
            if KEY_HEADERS.contains(&k.to_ascii_lowercase().as_str()) {
                let who = p.name.as_ref().map_or("NAME".to_string(), |n| n.get_ref().clone());
                found.push((key.span(), format!("header {k:?} carries a key, and keys never live in config.toml"), format!("remove it and run `opsdeck key set provider:{who}`: the key is sent as the provider's API wants it")));
            } else if reqwest::header::HeaderName::from_bytes(k.as_bytes()).is_err() {
                found.push((
                    key.span(),
                    format!("{k:?} is not a valid HTTP header name"),
                    "use letters, digits and '-', e.g. \"HTTP-Referer\"".into(),
                ));
            }
        }
        let context = p.context_tokens.as_ref().map_or(8192, |c| *c.get_ref());
        if let Some(max) = &p.max_tokens
            && (*max.get_ref() <= 0 || *max.get_ref() >= context)
        {
            found.push((
                max.span(),
                format!("max_tokens {} must be above 0 and below context_tokens ({context})", max.get_ref()),
                "the request's messages get the rest of the context window".into(),
            ));
        }
    }
    if let Some(chat) = &spans.chat {
        for entry in &chat.fallback {
            let e = entry.get_ref();
            match ModelRef::parse(e) {
                None => found.push((
                    entry.span(),
                    format!("fallback entry {e:?} is not provider/model"),
                    "e.g. fallback = [\"local/smollm2\", \"openrouter/meta-llama/llama-3-8b\"]".into(),
                )),
                Some(m) if !names.contains(&m.provider.as_str()) => found.push((
                    entry.span(),
                    format!("fallback entry {e:?} names no [[provider]] {:?}", m.provider),
                    if names.is_empty() {
                        "add a [[provider]] with that name".to_string()
                    } else {
                        format!("configured providers: {}", names.join(", "))
                    },
                )),
                Some(m) => {
                    let models = spans
                        .provider
                        .iter()
                        .find(|p| p.name.as_ref().is_some_and(|n| *n.get_ref() == m.provider))
                        .map_or(&[][..], |p| p.models.as_slice());
                    if !models.is_empty() && !models.contains(&m.model) {
                        found.push((
                            entry.span(),
                            format!("fallback entry {e:?}: provider {} has no model {:?}", m.provider, m.model),
                            format!("its models: {} (or add it to its `models`)", models.join(", ")),
                        ));
                    }
                }
            }
        }
        if let Some(t) = &chat.temperature
            && !(0.0..=2.0).contains(t.get_ref())
        {
            found.push((
                t.span(),
                format!("temperature {} is out of range", t.get_ref()),
                "use a value from 0 to 2".into(),
            ));
        }
    }
    found.sort_by_key(|(span, _, _)| span.start);
    found.into_iter().map(|(at, m, h)| ConfigError::at(path, src, Some(at), m, h)).collect()
}

fn check_url(url: &str) -> Result<(), String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(format!("the scheme is {:?}; use http or https", u.scheme()));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("no host".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::settings::parse_config_all;

    fn problems(src: &str) -> Vec<String> {
        match parse_config_all("config.toml", src) {
            Ok(_) => Vec::new(),
            Err(e) => e.iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn a_good_provider_table_passes() {
        let src = "[chat]\nfallback = [\"local/smollm2\", \"or/meta-llama/llama-3-8b\"]\ntemperature = 0.2\n\n\
                   [[provider]]\nname = \"local\"\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:8080/v1\"\nmodels = [\"smollm2\"]\n\n\
                   [[provider]]\nname = \"or\"\nkind = \"openai\"\nbase_url = \"https://openrouter.ai/api/v1\"\nheaders = { \"HTTP-Referer\" = \"https://x\" }\nfirst_token_timeout = \"30s\"\n";
        assert_eq!(problems(src), Vec::<String>::new());
    }

    #[test]
    fn each_problem_is_placed_and_says_how_to_fix_it() {
        let src = "[chat]\nfallback = [\"nobody/m\", \"bare\", \"a/nosuch\"]\ntemperature = 3.0\n\
                   [[provider]]\nname = \"a\"\nkind = \"openai\"\nbase_url = \"ftp://h/v1\"\nmodels = [\"m1\", \"m2\"]\nheaders = { Authorization = \"Bearer x\" }\nmax_tokens = 9000\n\
                   [[provider]]\nname = \"a\"\nkind = \"anthropic\"\nbase_url = \"not a url\"\n\
                   [[provider]]\nname = \"b c\"\nkind = \"openai\"\nbase_url = \"http://h\"\n";
        let got = problems(src);
        let expect = [
            "config.toml:2:13: fallback entry \"nobody/m\" names no [[provider]] \"nobody\"\n  hint: configured providers: a, b c",
            "config.toml:2:25: fallback entry \"bare\" is not provider/model",
            "config.toml:2:33: fallback entry \"a/nosuch\": provider a has no model \"nosuch\"\n  hint: its models: m1, m2 (or add it to its `models`)",
            "config.toml:3:15: temperature 3 is out of range",
            "config.toml:7:12: base_url \"ftp://h/v1\": the scheme is \"ftp\"; use http or https",
            "config.toml:9:13: header \"Authorization\" carries a key, and keys never live in config.toml\n  hint: remove it and run `opsdeck key set provider:a`",
            "config.toml:10:14: max_tokens 9000 must be above 0 and below context_tokens (8192)",
            "config.toml:12:8: provider name \"a\" is used twice",
            "config.toml:14:12: base_url \"not a url\": not a URL",
            "config.toml:16:8: provider name \"b c\" cannot name a model",
        ];
        assert_eq!(got.len(), expect.len(), "{got:#?}");
        for (g, e) in got.iter().zip(expect) {
            assert!(g.starts_with(e), "{g}\n  expected to start with\n{e}");
        }
    }
}
