//! The keys of an email `[[notifier]]` (docs/config.md "Notifiers",
//! docs/alerts.md "Email"): the SMTP relay, its TLS mode, the addresses, the
//! login and the subject template. Checked here, so a wrong address or an
//! unknown template name is a located config error, not a failed delivery.

use std::path::PathBuf;

use lettre::message::Mailbox;
use serde::{Deserialize, Deserializer};

/// The subject when the notifier gives none.
pub const DEFAULT_SUBJECT: &str = "[{{ status }}] {{ alertname }} ({{ count }})";

/// The names a subject template may use (docs/alerts.md "Email").
pub const SUBJECT_NAMES: [&str; 7] = ["status", "alertname", "count", "severity", "group", "labels", "notifier"];

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS, which is required (default port 587).
    Starttls,
    /// TLS from the first byte ("SMTPS", default port 465).
    Tls,
    /// No encryption at all (default port 25); only to a loopback host.
    None,
}

impl TlsMode {
    /// The port used when `port` is not given: 587, 465 or 25.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
            TlsMode::None => 25,
        }
    }
}

/// Where and how an email notifier sends (every field checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailTarget {
    /// The relay's host name or IP address (also the name its certificate must carry).
    pub host: String,
    /// `port`, else [`TlsMode::default_port`].
    pub port: u16,
    /// `tls`, default STARTTLS.
    pub tls: TlsMode,
    /// The sender (`From:` and the envelope sender), `Name <addr>` or `addr`.
    pub from: Mailbox,
    /// At least one recipient.
    pub to: Vec<Mailbox>,
    /// The login; with `password_secret`, or neither.
    pub username: Option<String>,
    /// The name of the secret holding the password (never the password itself).
    pub password_secret: Option<String>,
    /// A minijinja template over [`SUBJECT_NAMES`].
    pub subject: String,
    /// A PEM file of certificates to trust besides the system roots (relative
    /// paths are from the config directory).
    pub ca_file: Option<PathBuf>,
}

/// The email keys of a `[[notifier]]` table as written (all optional there).
#[derive(Debug, Default)]
pub(super) struct RawEmail {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub tls: Option<TlsMode>,
    pub from: Option<Mailbox>,
    pub to: Option<Vec<Mailbox>>,
    pub username: Option<String>,
    pub password_secret: Option<String>,
    pub subject: Option<String>,
    pub ca_file: Option<PathBuf>,
}

impl RawEmail {
    /// Whether any email key was written (they are refused for other kinds).
    pub fn any(&self) -> bool {
        self.host.is_some()
            || self.port.is_some()
            || self.tls.is_some()
            || self.from.is_some()
            || self.to.is_some()
            || self.username.is_some()
            || self.password_secret.is_some()
            || self.subject.is_some()
            || self.ca_file.is_some()
    }

    /// The checked target; `what` (`notifier NAME`) starts every message.
    pub fn check(self, what: &str) -> Result<EmailTarget, String> {
        let host = self.host.ok_or_else(|| format!("{what}: needs host (the SMTP relay, e.g. smtp.example.com)"))?;
        let host = host.trim().trim_start_matches('[').trim_end_matches(']').to_string();
        let name_ok = host.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
        if host.is_empty() || !(name_ok || host.parse::<std::net::IpAddr>().is_ok()) {
            return Err(format!(
                "{what}: host {host:?} is not a host name or IP address (no port, no scheme; an international \
                 name in its ASCII xn-- form)"
            ));
        }
        let tls = self.tls.unwrap_or(TlsMode::Starttls);
        if tls == TlsMode::None && !is_loopback(&host) {
            return Err(format!(
                "{what}: tls = \"none\" sends the password and the alerts in clear text; it is only allowed to a \
                 loopback host (localhost, 127.0.0.1, ::1), not {host}: use tls = \"starttls\" or \"tls\""
            ));
        }
        let port = self.port.unwrap_or_else(|| tls.default_port());
        if port == 0 {
            return Err(format!("{what}: port 0 is not a port"));
        }
        let from =
            self.from.ok_or_else(|| format!("{what}: needs from (the sender, e.g. \"opsdeck <ops@example.com>\")"))?;
        let to = self.to.unwrap_or_default();
        if to.is_empty() {
            return Err(format!(
                "{what}: needs to, a list of at least one address (e.g. to = [\"oncall@example.com\"])"
            ));
        }
        match (&self.username, &self.password_secret) {
            (Some(_), None) => return Err(format!("{what}: username needs password_secret (the name of a secret)")),
            (None, Some(_)) => return Err(format!("{what}: password_secret needs username")),
            _ => {}
        }
        if let Some(secret) = &self.password_secret {
            crate::secrets::check_name(secret).map_err(|e| format!("{what}: password_secret: {e}"))?;
        }
        if self.ca_file.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            return Err(format!("{what}: ca_file is empty"));
        }
        Ok(EmailTarget {
            host,
            port,
            tls,
            from,
            to,
            username: self.username,
            password_secret: self.password_secret,
            subject: self.subject.unwrap_or_else(|| DEFAULT_SUBJECT.to_string()),
            ca_file: self.ca_file,
        })
    }
}

/// `localhost`, `127.x.x.x`, `::1` (bracketed or not).
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Why `src` is not an email address (a sentence naming it), if it is not.
pub fn parse_mailbox(key: &str, src: &str) -> Result<Mailbox, String> {
    src.parse::<Mailbox>().map_err(|e| format!("notifier {key}: {src:?} is not an email address ({e})"))
}

/// `from = "…"`: one mailbox, the error located at the value.
pub(super) fn de_from<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Mailbox>, D::Error> {
    let s = String::deserialize(d)?;
    parse_mailbox("from", &s).map(Some).map_err(serde::de::Error::custom)
}

/// `to = ["…"]`: the first address that does not parse is named.
pub(super) fn de_to<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Mailbox>>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    let mut out = Vec::with_capacity(list.len());
    for (i, s) in list.iter().enumerate() {
        let m = parse_mailbox(&format!("to[{i}]"), s).map_err(serde::de::Error::custom)?;
        out.push(m);
    }
    Ok(Some(out))
}

/// `subject = "…"`: a template that parses and uses only [`SUBJECT_NAMES`].
pub(super) fn de_subject<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = String::deserialize(d)?;
    check_subject(&s).map_err(serde::de::Error::custom)?;
    Ok(Some(s))
}

/// Why `src` is not a usable subject template, if it is not.
pub fn check_subject(src: &str) -> Result<(), String> {
    let env = minijinja::Environment::new();
    let t = env.template_from_str(src).map_err(|e| match e.detail() {
        Some(detail) => format!("notifier subject: {}: {detail}", e.kind()),
        None => format!("notifier subject: {}", e.kind()),
    })?;
    let mut unknown: Vec<String> =
        t.undeclared_variables(false).into_iter().filter(|n| !SUBJECT_NAMES.contains(&n.as_str())).collect();
    unknown.sort();
    if let Some(name) = unknown.first() {
        return Err(format!(
            "notifier subject: unknown name {name:?}; the subject may use {}",
            SUBJECT_NAMES.join(", ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::alerting::{NotifierKind, Target};
    use crate::config::settings::parse_config;

    use super::*;

    fn err(src: &str) -> crate::config::ConfigError {
        parse_config("c.toml", src).unwrap_err()
    }

    const HEAD: &str = "[[notifier]]\nname = \"mail\"\nkind = \"email\"\n";

    #[test]
    fn an_email_notifier_parses_with_defaults() {
        let c = parse_config(
            "c.toml",
            &format!(
                "{HEAD}host = \"smtp.example.com\"\nfrom = \"opsdeck <ops@example.com>\"\n\
                 to = [\"oncall@example.com\", \"Lead <lead@example.com>\"]\nusername = \"ops\"\n\
                 password_secret = \"smtp:mail\"\n"
            ),
        )
        .unwrap();
        let n = &c.notifiers[0];
        assert_eq!((n.kind.clone(), n.channel()), (NotifierKind::Email, "email:mail".to_string()));
        let Target::Email(e) = &n.target else { panic!("{:?}", n.target) };
        assert_eq!((e.host.as_str(), e.port, e.tls), ("smtp.example.com", 587, TlsMode::Starttls));
        assert_eq!(e.from.email.to_string(), "ops@example.com");
        assert_eq!(e.to.len(), 2);
        assert_eq!(e.to[1].name.as_deref(), Some("Lead"));
        assert_eq!(e.subject, DEFAULT_SUBJECT);
        assert_eq!(e.password_secret.as_deref(), Some("smtp:mail"));
        let c = parse_config(
            "c.toml",
            &format!(
                "{HEAD}host = \"127.0.0.1\"\ntls = \"none\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\n\
                 subject = \"{{{{ labels.instance }}}}: {{{{ count }}}}\"\nca_file = \"relay.pem\"\n"
            ),
        )
        .unwrap();
        let Target::Email(e) = &c.notifiers[0].target else { panic!() };
        assert_eq!((e.port, e.tls, e.ca_file.clone()), (25, TlsMode::None, Some(PathBuf::from("relay.pem"))));
        let c =
            parse_config("c.toml", &format!("{HEAD}host = \"h\"\ntls = \"tls\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\n"))
                .unwrap();
        let Target::Email(e) = &c.notifiers[0].target else { panic!() };
        assert_eq!(e.port, 465);
    }

    #[test]
    fn email_errors_are_located_and_say_how_to_fix() {
        let ok = "host = \"h\"\nfrom = \"a@b.c\"\n";
        let e = err(&format!("{HEAD}{ok}to = [\"d@e.f\", \"not an address\"]\n"));
        assert!(e.message.contains("to[1]") && e.message.contains("\"not an address\""), "{e}");
        assert_eq!((e.line, e.col), (6, 6), "{e}");
        assert!(e.hint.contains("[[notifier]]"), "{e}");
        let e = err(&format!("{HEAD}host = \"h\"\nfrom = \"@@\"\nto = [\"d@e.f\"]\n"));
        assert!(e.message.contains("from") && e.message.contains("not an email address"), "{e}");
        assert_eq!((e.line, e.col), (5, 8), "{e}");
        let e = err(&format!("{HEAD}{ok}to = []\n"));
        assert!(e.message.contains("at least one"), "{e}");
        let e = err(&format!("{HEAD}{ok}"));
        assert!(e.message.contains("needs to"), "{e}");
        let e = err(&format!("{HEAD}from = \"a@b.c\"\nto = [\"d@e.f\"]\n"));
        assert!(e.message.contains("needs host"), "{e}");
        let e =
            err(&format!("{HEAD}host = \"smtp.example.com\"\ntls = \"none\"\nfrom = \"a@b.c\"\nto = [\"d@e.f\"]\n"));
        assert!(e.message.contains("loopback") && e.message.contains("smtp.example.com"), "{e}");
        let e = err(&format!("{HEAD}{ok}to = [\"d@e.f\"]\ntls = \"ssl\"\n"));
        assert!(e.message.contains("unknown variant `ssl`"), "{e}");
        assert_eq!((e.line, e.col), (7, 7), "{e}");
        let e = err(&format!("{HEAD}{ok}to = [\"d@e.f\"]\nusername = \"u\"\n"));
        assert!(e.message.contains("password_secret"), "{e}");
        let e = err(&format!("{HEAD}{ok}to = [\"d@e.f\"]\nusername = \"u\"\npassword_secret = \"a b\"\n"));
        assert!(e.message.contains("invalid secret name"), "{e}");
        let e = err(&format!("{HEAD}{ok}to = [\"d@e.f\"]\nsubject = \"{{{{ alert }}}}\"\n"));
        assert!(e.message.contains("unknown name \"alert\"") && e.message.contains("alertname"), "{e}");
        assert_eq!((e.line, e.col), (7, 11), "{e}");
        let e = err(&format!("{HEAD}{ok}to = [\"d@e.f\"]\nsubject = \"{{{{ status\"\n"));
        assert!(e.message.contains("syntax error"), "{e}");
        // The keys of one kind are refused for the others.
        let e = err(&format!("{HEAD}{ok}to = [\"d@e.f\"]\nurl = \"https://h/\"\n"));
        assert!(e.message.contains("url and url_secret are for webhook and slack"), "{e}");
        let e = err("[[notifier]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"https://h/\"\nto = [\"d@e.f\"]\n");
        assert!(e.message.contains("from, to") && e.message.contains("not webhook"), "{e}");
        let e = err("[[notifier]]\nname = \"a\"\nkind = \"bell\"\nhost = \"h\"\n");
        assert!(e.message.contains("are for email notifiers"), "{e}");
    }

    #[test]
    fn loopback_hosts() {
        for h in ["localhost", "127.0.0.1", "127.3.2.1", "::1", "[::1]", "LOCALHOST"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["smtp.example.com", "10.0.0.1", "localhost.evil.com", "0.0.0.0"] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
