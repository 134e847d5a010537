//! Email notifications: the message (pure, tested here) — its subject from
//! the notifier's template, a plain-text part and an HTML part listing each
//! alert (id, rule, severity, value, labels, since when and for how long,
//! summary) and how to acknowledge. Sending is in [`super::smtp`].
//!
//! Everything that comes from alerts is hostile text: in headers (the
//! subject) control characters, CR and LF included, become spaces, so no
//! header can be added through a label; in HTML everything is escaped.

use std::collections::BTreeMap;

use lettre::Message;
use lettre::message::MultiPart;

use super::notify::{Notification, Status, rfc3339};
use crate::config::email::{DEFAULT_SUBJECT, EmailTarget};
use crate::protocol::alerts::{Alert, AlertState, Severity};

/// Alerts listed in one message (then `…and N more`).
const LISTED: usize = 50;
/// Longest subject, in characters (the rest is cut with `…`).
const SUBJECT_CHARS: usize = 200;
/// Longest label value or summary shown, in characters.
const TEXT_CHARS: usize = 2000;

/// How to acknowledge, said in every firing message: each firing alert has
/// its `opsdeck ack` command (src/cli/ack.rs); `a` is the default key of
/// `acknowledge` in keymaps/default.toml.
pub const ACK_HINT: &str = "To acknowledge (stops the repeats): run the ack command shown with the alert where \
                            opsdeck runs (add --note \"what you are doing\"), or select it in the alerts pane and \
                            press a.";

/// `s` quoted for a POSIX shell: in single quotes, a `'` as `'\''`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// `s` with every control character (CR, LF, tab, NUL, DEL, C1) and line or
/// paragraph separator turned into a space, at most `max` characters.
pub fn one_line(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() || c == '\u{2028}' || c == '\u{2029}' { ' ' } else { c })
        .take(max)
        .collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

/// `&`, `<`, `>`, `"` and `'` escaped for HTML text and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn status_upper(s: Status) -> &'static str {
    match s {
        Status::Firing => "FIRING",
        Status::Resolved => "RESOLVED",
    }
}

fn state_upper(s: AlertState) -> &'static str {
    match s {
        AlertState::Pending => "PENDING",
        AlertState::Firing => "FIRING",
        AlertState::Resolved => "RESOLVED",
    }
}

fn severity_rank(s: Severity) -> u8 {
    match s {
        Severity::Info => 0,
        Severity::Warning => 1,
        Severity::Critical => 2,
    }
}

/// The group's name: its `alertname`, else the one rule all alerts share, else `alerts`.
fn alertname(n: &Notification) -> String {
    if let Some(a) = n.group.get("alertname") {
        return a.clone();
    }
    match n.alerts.first() {
        Some(first) if n.alerts.iter().all(|a| a.rule == first.rule) => first.rule.clone(),
        _ => "alerts".into(),
    }
}

/// The alerts the message is about: the firing ones while any fires, else all listed.
fn counted(n: &Notification) -> usize {
    let firing = n.alerts.iter().filter(|a| a.state == AlertState::Firing).count();
    if n.status == Status::Firing { firing } else { n.alerts.len() }
}

/// The labels every listed alert has with the same value, plus the group's.
fn shared_labels(n: &Notification) -> BTreeMap<String, String> {
    let mut shared: BTreeMap<String, String> = n.alerts.first().map(Alert::match_labels).unwrap_or_default();
    for a in n.alerts.iter().skip(1) {
        let l = a.match_labels();
        shared.retain(|k, v| l.get(k) == Some(v));
    }
    shared.extend(n.group.clone());
    shared
}

/// The subject: `template` (docs/alerts.md "Email") rendered, made one line
/// of at most 200 characters. A template that fails to render (it was checked
/// when the config was read) gives the default subject.
pub fn subject(template: &str, n: &Notification) -> String {
    let severity = n.alerts.iter().map(|a| a.severity).max_by_key(|s| severity_rank(*s)).unwrap_or(Severity::Info);
    let ctx = minijinja::context! {
        status => status_upper(n.status),
        alertname => alertname(n),
        count => counted(n),
        severity => severity.name(),
        group => n.group_key.clone(),
        labels => shared_labels(n),
        notifier => n.notifier.clone(),
    };
    let env = minijinja::Environment::new();
    let render = |src: &str| env.render_str(src, ctx.clone());
    let text = render(template).or_else(|_| render(DEFAULT_SUBJECT)).unwrap_or_else(|_| "opsdeck alert".into());
    one_line(text.trim(), SUBJECT_CHARS)
}

/// `12.5`, or the value in operator terms, or None.
fn value(a: &Alert) -> Option<String> {
    match (&a.value_text, a.value.filter(|v| v.is_finite())) {
        (Some(t), Some(v)) => Some(format!("{t} (value {})", crate::text::units::number(v))),
        (Some(t), None) => Some(t.clone()),
        (None, Some(v)) => Some(crate::text::units::number(v)),
        (None, None) => None,
    }
}

/// When it started and for how long it has fired (or, resolved, how long it lasted).
fn timing(a: &Alert, now: i64) -> (&'static str, String) {
    let since = a.firing_since.unwrap_or(a.active_since);
    match (a.state, a.resolved_at) {
        (AlertState::Resolved, Some(end)) => (
            "lasted",
            format!("{} → {} ({})", rfc3339(since), rfc3339(end), crate::text::units::duration_ms(end - since)),
        ),
        _ => ("since", format!("{} (for {})", rfc3339(since), crate::text::units::duration_ms(now - since))),
    }
}

/// The rows shown for one alert: (field, text), all one line each.
fn rows(a: &Alert, now: i64) -> Vec<(&'static str, String)> {
    let mut r = vec![("rule", one_line(&format!("{} ({})", a.rule, a.origin), TEXT_CHARS))];
    r.push(("summary", one_line(&a.summary, TEXT_CHARS)));
    if let Some(v) = value(a) {
        r.push(("value", one_line(&v, TEXT_CHARS)));
    }
    if !a.labels.is_empty() {
        let l: Vec<String> = a.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        r.push(("labels", one_line(&l.join(", "), TEXT_CHARS)));
    }
    let (what, when) = timing(a, now);
    r.push((what, when));
    if a.state == AlertState::Firing && a.ack.is_none() {
        r.push(("ack", format!("opsdeck ack {}", shell_quote(&one_line(&a.id, TEXT_CHARS)))));
    }
    r
}

/// The heading: `FIRING: 2 alerts of api` / `RESOLVED: api (1 alert)`.
fn heading(n: &Notification) -> String {
    let count = crate::text::count(counted(n) as u64, "alert", "alerts");
    let name = one_line(&alertname(n), TEXT_CHARS);
    match (n.status, name.as_str()) {
        // Alerts of several rules in one group (`group_by = []`): no name to give.
        (Status::Firing, "alerts") => format!("FIRING: {count}"),
        (Status::Resolved, "alerts") => format!("RESOLVED: {count}, all resolved"),
        (Status::Firing, _) => format!("FIRING: {count} of {name}"),
        (Status::Resolved, _) => format!("RESOLVED: {name} ({count}, all resolved)"),
    }
}

/// The plain-text part.
pub fn plain(n: &Notification) -> String {
    let mut out = format!("{}\n\n", heading(n));
    for a in n.alerts.iter().take(LISTED) {
        out.push_str(&format!("{} {} {}\n", state_upper(a.state), a.severity.name(), one_line(&a.id, TEXT_CHARS)));
        for (k, v) in rows(a, n.at) {
            out.push_str(&format!("  {k:<8} {v}\n"));
        }
        out.push('\n');
    }
    if n.alerts.len() > LISTED {
        out.push_str(&format!("…and {} more\n\n", n.alerts.len() - LISTED));
    }
    if n.status == Status::Firing {
        out.push_str(ACK_HINT);
        out.push_str("\n\n");
    }
    out.push_str(&format!(
        "-- \nopsdeck notifier {}, group {}, sent {}\n",
        one_line(&n.notifier, TEXT_CHARS),
        one_line(if n.group_key.is_empty() { "(all)" } else { &n.group_key }, TEXT_CHARS),
        rfc3339(n.at)
    ));
    out
}

/// The HTML part: the same content as [`plain`], every alert-derived text escaped.
pub fn html(n: &Notification) -> String {
    let e = |s: &str| html_escape(s);
    let mut out = String::from("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n");
    out.push_str(&format!("<h2>{}</h2>\n", e(&heading(n))));
    for a in n.alerts.iter().take(LISTED) {
        out.push_str(&format!(
            "<h3>{} <code>{}</code> {}</h3>\n<table>\n",
            state_upper(a.state),
            e(a.severity.name()),
            e(&one_line(&a.id, TEXT_CHARS))
        ));
        for (k, v) in rows(a, n.at) {
            out.push_str(&format!("<tr><th align=\"left\">{}</th><td>{}</td></tr>\n", e(k), e(&v)));
        }
        out.push_str("</table>\n");
    }
    if n.alerts.len() > LISTED {
        out.push_str(&format!("<p>…and {} more</p>\n", n.alerts.len() - LISTED));
    }
    if n.status == Status::Firing {
        out.push_str(&format!("<p>{}</p>\n", e(ACK_HINT)));
    }
    out.push_str(&format!(
        "<hr><p><small>opsdeck notifier {}, group {}, sent {}</small></p>\n</body></html>\n",
        e(&one_line(&n.notifier, TEXT_CHARS)),
        e(&one_line(if n.group_key.is_empty() { "(all)" } else { &n.group_key }, TEXT_CHARS)),
        e(&rfc3339(n.at))
    ));
    out
}

/// The whole message (From, To, Subject, Message-ID, Date, both parts), or
/// why lettre could not build it.
pub fn message(t: &EmailTarget, n: &Notification) -> Result<Message, String> {
    let mut b = Message::builder()
        .from(t.from.clone())
        .subject(subject(&t.subject, n))
        .message_id(None)
        .user_agent(concat!("opsdeck/", env!("CARGO_PKG_VERSION")).to_string());
    for to in &t.to {
        b = b.to(to.clone());
    }
    b.multipart(MultiPart::alternative_plain_html(plain(n), html(n))).map_err(|e| format!("building the email: {e}"))
}

#[cfg(test)]
#[path = "email_tests.rs"]
mod tests;
