//! `opsdeck check` (config, themes, keymaps, alert rules, workflows, each
//! problem at file:line:col) and `opsdeck paths`.

use super::*;

pub(super) fn check(cli: &Cli, paths: &Paths) -> ExitCode {
    let mut errors: Vec<ConfigError> = Vec::new();
    let implicit = paths.config_file();
    let file = cli.config.clone().unwrap_or(implicit);
    let mut notes = Vec::new();
    let config = match crate::text::file::read(&file) {
        Ok(src) => match parse_config_all(&file.display().to_string(), &src) {
            Ok(c) => Some(c),
            Err(e) => {
                errors.extend(e);
                None
            }
        },
        Err(e) if e.is_not_found() && cli.config.is_none() => {
            notes.push(format!("no config file at {}: the defaults are in use", file.display()));
            Some(Default::default())
        }
        Err(e) => {
            errors.push(ConfigError::unreadable(file.display().to_string(), &e));
            None
        }
    };
    errors.extend(Theme::check_all(Some(&paths.themes_dir())));
    errors.extend(Keymap::check_all(Some(&paths.keymaps_dir())));
    let (rules, rule_errors) = crate::engine::alerts::rules::load(Some(&paths.alerts_dir()));
    errors.extend(rule_errors);
    if let Some(c) = &config {
        let theme = cli.theme.as_deref().unwrap_or(&c.theme);
        if let Err(e) = Theme::load(theme, Some(&paths.themes_dir()), false) {
            errors.push(if cli.theme.is_some() { e } else { at_config_key(e, &file, "theme") });
        }
        let keymap = cli.keymap.as_deref().unwrap_or(&c.keymap);
        if let Err(e) = Keymap::load(keymap, Some(&paths.keymaps_dir())) {
            errors.push(if cli.keymap.is_some() { e } else { at_config_key(e, &file, "keymap") });
        }
    }
    errors.extend(check_workflows(paths, config.as_ref(), &rules));
    if let Some(c) = &config {
        errors.extend(check_ca_files(&file, c, paths));
    }
    errors.dedup();
    for n in &notes {
        crate::cli::out_line!("note: {n}");
    }
    if errors.is_empty() {
        crate::cli::out_line!(
            "ok: {} and the bundled and user themes, keymaps, alert rules and workflows are valid",
            file.display()
        );
        ExitCode::SUCCESS
    } else {
        for e in &errors {
            crate::cli::out_line!("{e}");
        }
        crate::cli::err_line!("{} problem{} found", errors.len(), if errors.len() == 1 { "" } else { "s" });
        ExitCode::FAILURE
    }
}

/// Each email notifier's `ca_file` is read as a delivery would read it (at
/// a send, a missing or wrong file would only show as failed deliveries);
/// a problem is located at the `ca_file` value of its `[[notifier]]`.
fn check_ca_files(file: &Path, config: &crate::config::settings::Config, paths: &Paths) -> Vec<ConfigError> {
    use crate::config::alerting::Target;
    let src = crate::text::file::read(file).unwrap_or_default();
    let spans = notifier_ca_spans(&src);
    let mut errors = Vec::new();
    for (i, n) in config.notifiers.iter().enumerate() {
        let Target::Email(t) = &n.target else { continue };
        if t.ca_file.is_none() {
            continue;
        }
        if let Err(e) = crate::engine::alerts::smtp::tls_parameters(t, &paths.config_dir) {
            let span = spans.get(i).cloned().flatten();
            errors.push(ConfigError::at(
                file.display().to_string(),
                &src,
                span,
                format!("notifier {}: {}", n.name, e.text),
                format!(
                    "ca_file is read relative to {}; give a PEM file of CA certificates",
                    paths.config_dir.display()
                ),
            ));
        }
    }
    errors
}

/// The span of each `[[notifier]]`'s `ca_file` value, in the file's order.
fn notifier_ca_spans(src: &str) -> Vec<Option<std::ops::Range<usize>>> {
    use toml::de::{DeTable, DeValue};
    let Ok(root) = DeTable::parse(src) else { return Vec::new() };
    let Some((_, v)) = root.get_ref().iter().find(|(k, _)| k.get_ref().as_ref() == "notifier") else {
        return Vec::new();
    };
    let DeValue::Array(items) = v.get_ref() else { return Vec::new() };
    items
        .iter()
        .map(|item| match item.get_ref() {
            DeValue::Table(t) => t.iter().find(|(k, _)| k.get_ref().as_ref() == "ca_file").map(|(_, v)| v.span()),
            _ => None,
        })
        .collect()
}

/// Every workflow of the workflows folder, with the names it uses outside
/// its file: built-in tools, MCP servers of `config` (any server when the
/// config could not be read) and alert rules and checks of `rules`.
fn check_workflows(
    paths: &Paths,
    config: Option<&crate::config::settings::Config>,
    rules: &crate::engine::alerts::rules::RuleSet,
) -> Vec<ConfigError> {
    use crate::engine::workflows::definition::load_dir_with;
    let servers = config.map(|c| c.mcp_servers.iter().map(|m| m.name.clone()).collect());
    // The chat pane's workflow drafts are checked against the same names.
    let known = crate::engine::workflows::propose::known_names(servers, rules);
    load_dir_with(&paths.workflows_dir(), Some(&known)).1
}

pub(super) fn print_paths(paths: &Paths, explicit: Option<&Path>) {
    let mark = |p: &Path| if p.exists() { "" } else { "  (not present)" };
    let config = explicit.map(Path::to_path_buf).unwrap_or_else(|| paths.config_file());
    let rows = [
        ("config", config),
        ("themes", paths.themes_dir()),
        ("keymaps", paths.keymaps_dir()),
        ("alert rules", paths.alerts_dir()),
        ("workflows", paths.workflows_dir()),
        ("data", paths.data_dir.clone()),
        ("exports", paths.exports_dir()),
        ("logs", paths.log_dir()),
        ("control socket", paths.control_socket()),
        ("secrets (fallback file)", secrets::fallback_file(&paths.config_dir)),
    ];
    for (k, p) in rows {
        crate::cli::out_line!("{k:<24} {}{}", p.display(), mark(&p));
    }
}
