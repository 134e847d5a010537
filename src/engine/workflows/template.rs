//! Templates of workflow files (`{{ inputs.host }}`, `{{ steps.probe.output.status }}`):
//! minijinja in strict mode, so an undefined name is an error, never an
//! empty string. Here: reading a template and the names it uses, so a
//! definition is checked before it runs.

use std::collections::BTreeSet;

use minijinja::{Environment, UndefinedBehavior};

/// The environment workflow templates are read and rendered with. Booleans
/// print as `true`/`false` (not Jinja's `True`/`False`), as a shell command
/// or a URL expects.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_formatter(|out, state, value| {
        if value.kind() == minijinja::value::ValueKind::Bool {
            return out.write_str(if value.is_true() { "true" } else { "false" }).map_err(minijinja::Error::from);
        }
        minijinja::escape_formatter(out, state, value)
    });
    env
}

/// The names `src` reads, with their attribute paths (`inputs.host`,
/// `steps.probe.state`), or why it is not a template (a sentence).
pub fn names(src: &str) -> Result<BTreeSet<String>, String> {
    if !src.contains("{{") && !src.contains("{%") {
        return Ok(BTreeSet::new());
    }
    let env = environment();
    let t = env.template_from_str(src).map_err(|e| match e.detail() {
        Some(detail) => format!("{}: {detail}", e.kind()),
        None => e.kind().to_string(),
    })?;
    Ok(t.undeclared_variables(true).into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_with_their_paths_and_syntax_errors_are_said() {
        let n = names("https://{{ inputs.host }}/{{ steps.probe.output.status }}").unwrap();
        assert_eq!(n.into_iter().collect::<Vec<_>>(), ["inputs.host", "steps.probe.output.status"]);
        assert!(names("no template here").unwrap().is_empty());
        let e = names("{{ inputs.host").unwrap_err();
        assert!(e.starts_with("syntax error"), "{e}");
        let n = names("{% if steps.a.state == 'failed' %}x{% endif %}").unwrap();
        assert!(n.contains("steps.a.state"), "{n:?}");
    }

    #[test]
    fn an_undefined_name_is_an_error_when_rendered() {
        let env = environment();
        let ctx = minijinja::context! { inputs => minijinja::context! { host => "db1" } };
        assert_eq!(env.render_str("{{ inputs.host }}", &ctx).unwrap(), "db1");
        let flags = minijinja::context! { on => true, off => false };
        assert_eq!(env.render_str("{{ on }} {{ off }} {{ on and off }}", &flags).unwrap(), "true false false");
        let e = env.render_str("{{ inputs.hots }}", &ctx).unwrap_err();
        assert_eq!(e.kind(), minijinja::ErrorKind::UndefinedError);
    }
}
