//! What a reload changed in the chat's configuration, for the "Reloaded"
//! summary: the `[[provider]]` tables added, removed and changed (and in
//! what), and `[chat]`. Both take effect at once: the providers are built
//! again and their keys read again on every reload.

use crate::config::chat::{ChatConfig, ProviderConfig};

/// Lines for the reload summary: `providers: added ollama; removed old;
/// changed local (base_url, models)`, or that they are unchanged (keys read
/// again); `[chat]: applied` when it changed. Nothing when there were and
/// are no providers.
pub fn describe(old: (&[ProviderConfig], &ChatConfig), new: (&[ProviderConfig], &ChatConfig)) -> Vec<String> {
    let ((was, old_chat), (now, new_chat)) = (old, new);
    let mut parts = Vec::new();
    let added: Vec<&str> =
        now.iter().filter(|p| !was.iter().any(|o| o.name == p.name)).map(|p| p.name.as_str()).collect();
    let removed: Vec<&str> =
        was.iter().filter(|o| !now.iter().any(|p| p.name == o.name)).map(|o| o.name.as_str()).collect();
    let changed: Vec<String> = now
        .iter()
        .filter_map(|p| {
            let o = was.iter().find(|o| o.name == p.name)?;
            let fields = changed_fields(o, p);
            (!fields.is_empty()).then(|| format!("{} ({})", p.name, fields.join(", ")))
        })
        .collect();
    if !added.is_empty() {
        parts.push(format!("added {}", added.join(", ")));
    }
    if !removed.is_empty() {
        parts.push(format!("removed {}", removed.join(", ")));
    }
    if !changed.is_empty() {
        parts.push(format!("changed {}", changed.join(", ")));
    }
    let mut lines = Vec::new();
    if !parts.is_empty() {
        lines.push(format!("providers: {} (keys read again)", parts.join("; ")));
    } else if !now.is_empty() {
        lines.push("providers: unchanged (keys read again)".into());
    }
    if old_chat != new_chat {
        lines.push("[chat]: applied".into());
    }
    lines
}

/// The settings of a `[[provider]]` that differ, by their config.toml names.
fn changed_fields(a: &ProviderConfig, b: &ProviderConfig) -> Vec<&'static str> {
    [
        ("kind", a.kind != b.kind),
        ("base_url", a.base_url != b.base_url),
        ("models", a.models != b.models),
        ("headers", a.headers != b.headers),
        ("connect_timeout", a.connect_timeout != b.connect_timeout),
        ("first_token_timeout", a.first_token_timeout != b.first_token_timeout),
        ("idle_timeout", a.idle_timeout != b.idle_timeout),
        ("context_tokens", a.context_tokens != b.context_tokens),
        ("max_tokens", a.max_tokens != b.max_tokens),
        ("prices", a.price_input != b.price_input || a.price_output != b.price_output),
    ]
    .into_iter()
    .filter_map(|(k, differs)| differs.then_some(k))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::chat::ProviderKind;

    fn p(name: &str, url: &str, models: &[&str]) -> ProviderConfig {
        ProviderConfig::new(name, ProviderKind::Openai, url, models)
    }

    #[test]
    fn added_removed_and_changed_providers_are_named() {
        let chat = ChatConfig::default();
        let was = [p("local", "http://127.0.0.1:8080/v1", &["smollm2"]), p("old", "http://h/v1", &["m"])];
        let mut local = p("local", "http://127.0.0.1:8081/v1", &["smollm2", "qwen"]);
        local.context_tokens = 2048;
        let now = [local, p("ollama", "http://127.0.0.1:11434/v1", &["llama3.2"])];
        let fb = ChatConfig { fallback: vec!["ollama/llama3.2".into()], ..Default::default() };
        assert_eq!(
            describe((&was, &chat), (&now, &fb)),
            [
                "providers: added ollama; removed old; changed local (base_url, models, context_tokens) (keys read again)",
                "[chat]: applied",
            ]
        );
        assert_eq!(describe((&was, &chat), (&was, &chat)), ["providers: unchanged (keys read again)"]);
        assert_eq!(describe((&[], &chat), (&[], &chat)), Vec::<String>::new());
        // `a` in the empty chat pane: the first provider appears.
        assert_eq!(describe((&[], &chat), (&now[1..], &chat)), ["providers: added ollama (keys read again)"]);
    }
}
