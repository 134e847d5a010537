//! `[[notifier]]` (where alert notifications go) and `[[alertmanager]]`
//! (Alertmanagers whose alerts and silences join the alerts pane).

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::email::{EmailTarget, RawEmail, TlsMode};
use super::settings::parse_duration;
use crate::protocol::alerts::Severity;

/// How often a still-firing group is notified again unless `repeat` says otherwise.
pub const DEFAULT_REPEAT: Duration = Duration::from_secs(4 * 3600);
/// How long a new group waits for more alerts before its first message
/// (Alertmanager's `group_wait`).
pub const DEFAULT_GROUP_WAIT: Duration = Duration::from_secs(10);
/// How long a notified group waits before a message about what changed in it
/// (Alertmanager's `group_interval`).
pub const DEFAULT_GROUP_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// What a notifier does with a notification.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifierKind {
    /// POST the generic JSON body (docs/alerts.md) to a URL.
    Webhook,
    /// POST a Slack-compatible body (`text` + `blocks`) to an incoming-webhook URL.
    Slack,
    /// Record a delivery on channel `bell`; the TUI rings the terminal bell.
    Bell,
    /// `notify-send`, where it exists.
    Desktop,
    /// An email (plain text and HTML) through an SMTP relay.
    Email,
}

impl NotifierKind {
    pub fn name(&self) -> &'static str {
        match self {
            NotifierKind::Webhook => "webhook",
            NotifierKind::Slack => "slack",
            NotifierKind::Bell => "bell",
            NotifierKind::Desktop => "desktop",
            NotifierKind::Email => "email",
        }
    }
}

/// Where a webhook or Slack notifier posts, or an email notifier sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Bell and desktop notifiers.
    None,
    Url(String),
    /// The name of a secret holding the URL (Slack webhook URLs are credentials).
    Secret(String),
    /// The SMTP relay, addresses and login of an email notifier.
    Email(Box<EmailTarget>),
}

/// One `[[notifier]]` table, validated.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawNotifier")]
pub struct NotifierConfig {
    /// Unique. Deliveries name their channel `webhook:NAME`, `slack:NAME` or
    /// `email:NAME` (`bell` and `desktop` for those kinds).
    pub name: String,
    pub kind: NotifierKind,
    pub target: Target,
    /// Only alerts of these severities; empty = all.
    pub severities: Vec<Severity>,
    /// Alerts with the same values of these labels go out as one message
    /// (`alertname` is the rule, `severity` its severity). Empty = one group for all.
    pub group_by: Vec<String>,
    /// A new group's first message waits this long for more alerts of the
    /// group (they go out together); 0 = at once.
    pub group_wait: Duration,
    /// After a message, what changes in the group (new alerts, resolved ones)
    /// waits until this long after it; 0 = at once.
    pub group_interval: Duration,
    /// A group still firing is notified again after this long.
    pub repeat: Duration,
    /// Whether to say when a notified alert resolves.
    pub send_resolved: bool,
}

impl NotifierConfig {
    /// A notifier of `kind` with the defaults (all severities, grouped by
    /// `alertname`, group wait 10 s, group interval 5 min, repeat 4h,
    /// resolved sent).
    pub fn new(name: impl Into<String>, kind: NotifierKind, target: Target) -> Self {
        NotifierConfig {
            name: name.into(),
            kind,
            target,
            severities: Vec::new(),
            group_by: vec!["alertname".into()],
            group_wait: DEFAULT_GROUP_WAIT,
            group_interval: DEFAULT_GROUP_INTERVAL,
            repeat: DEFAULT_REPEAT,
            send_resolved: true,
        }
    }

    /// The `Delivery::channel` of its deliveries.
    pub fn channel(&self) -> String {
        match self.kind {
            NotifierKind::Webhook | NotifierKind::Slack | NotifierKind::Email => {
                format!("{}:{}", self.kind.name(), self.name)
            }
            NotifierKind::Bell | NotifierKind::Desktop => self.kind.name().to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotifier {
    name: String,
    kind: NotifierKind,
    url: Option<String>,
    url_secret: Option<String>,
    #[serde(default)]
    severities: Vec<Severity>,
    group_by: Option<Vec<String>>,
    #[serde(default = "default_group_wait", deserialize_with = "de_group_wait")]
    group_wait: Duration,
    #[serde(default = "default_group_interval", deserialize_with = "de_group_interval")]
    group_interval: Duration,
    #[serde(default = "default_repeat", deserialize_with = "de_repeat")]
    repeat: Duration,
    send_resolved: Option<bool>,
    // Email notifiers only (config/email.rs).
    host: Option<String>,
    port: Option<u16>,
    tls: Option<TlsMode>,
    #[serde(default, deserialize_with = "super::email::de_from")]
    from: Option<lettre::message::Mailbox>,
    #[serde(default, deserialize_with = "super::email::de_to")]
    to: Option<Vec<lettre::message::Mailbox>>,
    username: Option<String>,
    password_secret: Option<String>,
    #[serde(default, deserialize_with = "super::email::de_subject")]
    subject: Option<String>,
    ca_file: Option<std::path::PathBuf>,
}

fn default_repeat() -> Duration {
    DEFAULT_REPEAT
}

fn default_group_wait() -> Duration {
    DEFAULT_GROUP_WAIT
}

fn default_group_interval() -> Duration {
    DEFAULT_GROUP_INTERVAL
}

/// A `group_wait` or `group_interval` (`what`): `0s` (at once) to `1h`.
fn de_wait<'de, D: Deserializer<'de>>(d: D, what: &str) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    let dur = parse_duration(&s).map_err(serde::de::Error::custom)?;
    if dur > Duration::from_secs(3600) {
        return Err(serde::de::Error::custom(format!("{what} {s:?} is out of range (0s to 1h)")));
    }
    Ok(dur)
}

fn de_group_wait<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    de_wait(d, "group_wait")
}

fn de_group_interval<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    de_wait(d, "group_interval")
}

fn de_repeat<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    let dur = parse_duration(&s).map_err(serde::de::Error::custom)?;
    if dur < Duration::from_secs(1) || dur > Duration::from_secs(30 * 24 * 3600) {
        return Err(serde::de::Error::custom(format!("repeat {s:?} is out of range (1s to 720h)")));
    }
    Ok(dur)
}

/// Why a notifier, Alertmanager or Prefect name is not usable, if it is not
/// (`what` starts the message: `prefect name "a b" contains spaces …`).
pub(super) fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err(format!("{what} name is empty"));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control() || c == ':' || c == '/') {
        return Err(format!("{what} name {name:?} contains spaces, ':' or '/'"));
    }
    Ok(())
}

/// Why `url` is not an http(s) URL with a host, if it is not; the message
/// starts with `what` and never echoes the URL (it may be a credential).
pub(super) fn check_url(what: &str, url: &str) -> Result<(), String> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        // Never echo the URL back: a Slack webhook URL is a credential.
        Ok(u) => Err(format!("{what}: url must be http:// or https:// (got {}:)", u.scheme())),
        Err(e) => Err(format!("{what}: url is not a URL: {e}")),
    }
}

impl TryFrom<RawNotifier> for NotifierConfig {
    type Error = String;

    fn try_from(raw: RawNotifier) -> Result<Self, String> {
        check_name("notifier", &raw.name)?;
        let name = raw.name;
        let what = format!("notifier {name}");
        let kind = raw.kind;
        let email = RawEmail {
            host: raw.host,
            port: raw.port,
            tls: raw.tls,
            from: raw.from,
            to: raw.to,
            username: raw.username,
            password_secret: raw.password_secret,
            subject: raw.subject,
            ca_file: raw.ca_file,
        };
        if kind != NotifierKind::Email && email.any() {
            return Err(format!(
                "{what}: host, port, tls, from, to, username, password_secret, subject and ca_file are for email \
                 notifiers (kind = \"email\"), not {}",
                kind.name()
            ));
        }
        let target = match (&kind, raw.url, raw.url_secret) {
            (NotifierKind::Email, None, None) => Target::Email(Box::new(email.check(&what)?)),
            (NotifierKind::Bell | NotifierKind::Desktop, None, None) => Target::None,
            (NotifierKind::Bell | NotifierKind::Desktop | NotifierKind::Email, _, _) => {
                return Err(format!(
                    "{what}: url and url_secret are for webhook and slack notifiers ({} has none)",
                    kind.name()
                ));
            }
            (_, Some(_), Some(_)) => return Err(format!("{what}: give either url or url_secret, not both")),
            (_, None, None) => return Err(format!("{what}: needs url (or url_secret, the name of a secret)")),
            (_, Some(url), None) => {
                check_url(&what, &url)?;
                Target::Url(url)
            }
            (_, None, Some(secret)) => {
                crate::secrets::check_name(&secret).map_err(|e| format!("{what}: url_secret: {e}"))?;
                Target::Secret(secret)
            }
        };
        let group_by = raw.group_by.unwrap_or_else(|| vec!["alertname".into()]);
        if let Some(l) = group_by.iter().find(|l| l.trim().is_empty()) {
            return Err(format!("{what}: group_by has an empty label name {l:?}"));
        }
        Ok(NotifierConfig {
            name,
            kind,
            target,
            severities: raw.severities,
            group_by,
            group_wait: raw.group_wait,
            group_interval: raw.group_interval,
            repeat: raw.repeat,
            send_resolved: raw.send_resolved.unwrap_or(true),
        })
    }
}

/// One `[[alertmanager]]` table: an Alertmanager (API v2) polled as an alerts source.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawAlertmanager")]
pub struct AlertmanagerConfig {
    /// Unique; its alerts' origin (and source) is `alertmanager:NAME`.
    pub name: String,
    /// e.g. `http://127.0.0.1:9093`.
    pub url: String,
    pub interval: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlertmanager {
    name: String,
    url: String,
    #[serde(default = "default_am_interval", deserialize_with = "super::settings::de_duration")]
    interval: Duration,
}

fn default_am_interval() -> Duration {
    Duration::from_secs(15)
}

impl TryFrom<RawAlertmanager> for AlertmanagerConfig {
    type Error = String;

    fn try_from(raw: RawAlertmanager) -> Result<Self, String> {
        check_name("alertmanager", &raw.name)?;
        check_url(&format!("alertmanager {}", raw.name), &raw.url)?;
        Ok(AlertmanagerConfig { name: raw.name, url: raw.url, interval: raw.interval })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::settings::parse_config;

    #[test]
    fn notifiers_parse_with_defaults() {
        let c = parse_config(
            "c.toml",
            "[[notifier]]\nname = \"ops\"\nkind = \"webhook\"\nurl = \"https://hooks.example/x\"\n\n\
             [[notifier]]\nname = \"oncall\"\nkind = \"slack\"\nurl_secret = \"slack:oncall\"\n\
             severities = [\"critical\"]\ngroup_by = [\"alertname\", \"instance\"]\nrepeat = \"30m\"\n\
             group_wait = \"0s\"\ngroup_interval = \"1m\"\n\
             send_resolved = false\n\n[[notifier]]\nname = \"term\"\nkind = \"bell\"\n",
        )
        .unwrap();
        assert_eq!(
            c.notifiers[0],
            NotifierConfig::new("ops", NotifierKind::Webhook, Target::Url("https://hooks.example/x".into()))
        );
        let s = &c.notifiers[1];
        assert_eq!(s.target, Target::Secret("slack:oncall".into()));
        assert_eq!(
            (s.severities.as_slice(), s.repeat, s.send_resolved),
            (&[Severity::Critical][..], Duration::from_secs(1800), false)
        );
        assert_eq!(s.group_by, ["alertname", "instance"]);
        assert_eq!((s.group_wait, s.group_interval), (Duration::ZERO, Duration::from_secs(60)));
        let ops = &c.notifiers[0];
        assert_eq!((ops.group_wait, ops.group_interval), (Duration::from_secs(10), Duration::from_secs(300)));
        assert_eq!((s.channel(), c.notifiers[2].channel()), ("slack:oncall".to_string(), "bell".to_string()));
    }

    #[test]
    fn alertmanagers_parse_with_defaults() {
        let c = parse_config("c.toml", "[[alertmanager]]\nname = \"am\"\nurl = \"http://127.0.0.1:9093\"\n").unwrap();
        assert_eq!(
            c.alertmanagers,
            vec![AlertmanagerConfig {
                name: "am".into(),
                url: "http://127.0.0.1:9093".into(),
                interval: Duration::from_secs(15)
            }]
        );
    }

    fn err(src: &str) -> crate::config::ConfigError {
        parse_config("c.toml", src).unwrap_err()
    }

    #[test]
    fn invalid_tables_are_located() {
        let e = err("[[notifier]]\nname = \"a\"\nkind = \"pager\"\n");
        assert!(e.message.contains("unknown variant `pager`"), "{e}");
        assert_eq!((e.line, e.col), (3, 8), "{e}");
        assert!(!e.hint.is_empty(), "{e}");
        let e = err("[[notifier]]\nname = \"a\"\nkind = \"slack\"\n");
        assert!(e.message.contains("needs url"), "{e}");
        // A table refused as a whole is located at that table, not at the first [[notifier]].
        let e = err("[[notifier]]\nname = \"a\"\nkind = \"bell\"\n\n[[notifier]]\nname = \"b\"\nkind = \"slack\"\n");
        assert!(e.message.contains("notifier b: needs url") && (5..=7).contains(&e.line), "{e}");
        let e = err("[[notifier]]\nname = \"a\"\nkind = \"slack\"\nurl = \"https://h/\"\nurl_secret = \"s\"\n");
        assert!(e.message.contains("not both"), "{e}");
        let e = err("[[notifier]]\nname = \"a\"\nkind = \"bell\"\nurl = \"https://h/\"\n");
        assert!(e.message.contains("for webhook and slack"), "{e}");
        let e = err("[[notifier]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"ftp://secret@h/\"\n");
        assert!(e.message.contains("http://") && !e.message.contains("secret@"), "{e}");
        let e = err("[[notifier]]\nname = \"a\"\nkind = \"bell\"\nseverities = [\"dire\"]\n");
        assert!(e.message.contains("unknown variant `dire`"), "{e}");
        let e = err("[[notifier]]\nname = \"a\"\nkind = \"bell\"\nrepeat = \"0s\"\n");
        assert!(e.message.contains("out of range"), "{e}");
        assert_eq!((e.line, e.col), (4, 10), "{e}");
        let e = err("[[notifier]]\nname = \"a\"\nkind = \"bell\"\ngroup_wait = \"2h\"\n");
        assert!(e.message.contains("group_wait \"2h\" is out of range"), "{e}");
        assert_eq!((e.line, e.col), (4, 14), "{e}");
        let e = err("[[notifier]]\nname = \"a\"\nkind = \"bell\"\ngroup_interval = \"-1s\"\n");
        assert!(e.message.contains("invalid duration"), "{e}");
        let e = err("[[notifier]]\nname = \"a b\"\nkind = \"bell\"\n");
        assert!(e.message.contains("spaces"), "{e}");
        let e = err("[[notifier]]\nname = \"a\"\nkind = \"bell\"\n\n[[notifier]]\nname = \"a\"\nkind = \"desktop\"\n");
        assert_eq!((e.line, e.col), (6, 8), "{e}");
        let e = err("[[alertmanager]]\nname = \"am\"\nurl = \"http://h:9093\"\ninterval = \"soon\"\n");
        assert_eq!((e.line, e.col), (4, 12), "{e}");
        let e = err("[[alertmanager]]\nname = \"am\"\nurl = \"h:9093\"\n");
        assert!(e.message.contains("http://"), "{e}");
        let e = err("[[alertmanager]]\nname = \"am\"\nurl = \"http://h:9093\"\nreceiver = \"x\"\n");
        assert!(e.message.contains("unknown field `receiver`"), "{e}");
    }
}
