//! `[[prefect]]`: Prefect 3 servers (or Prefect Cloud workspaces) whose flow
//! runs join the runs pane.
//!
//! The `url` is the API URL (`PREFECT_API_URL`), not the UI's address. A URL
//! with no path (`http://host:4200`) is where the Prefect server serves its
//! UI, never its API (always mounted under `/api`), so it is an error that
//! says to add `/api`; so is a Prefect Cloud UI address (`app.prefect.cloud`).
//! Any other path is accepted: Prefect Cloud's API URLs go on past `/api`
//! (`https://api.prefect.cloud/api/accounts/ID/workspaces/ID`), and a reverse
//! proxy may put the API under a prefix of its own.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::alerting::{check_name, check_url};
use super::settings::parse_duration;

/// How often the logs of active runs and the deployments are read unless `poll` says otherwise.
pub const DEFAULT_POLL: Duration = Duration::from_secs(5);
/// The shortest `poll` accepted.
pub const MIN_POLL: Duration = Duration::from_secs(1);
/// The longest `poll` accepted.
pub const MAX_POLL: Duration = Duration::from_secs(600);

/// One `[[prefect]]` table: a Prefect 3 server (or Prefect Cloud workspace) whose flow runs join the runs pane.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawPrefect")]
pub struct PrefectConfig {
    /// Unique source name (one namespace with backends, Prometheus and Alertmanager servers).
    pub name: String,
    /// The API URL, e.g. `http://127.0.0.1:4200/api` (http or https; a trailing `/` is dropped).
    pub url: String,
    /// Keyring entry holding a bearer API key (Prefect Cloud style); `None`: no auth.
    pub key_secret: Option<String>,
    /// How often the logs of active runs and the deployments are read (default 5 s, 1 s ..= 10 min).
    pub poll: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrefect {
    name: String,
    url: String,
    key_secret: Option<String>,
    #[serde(default = "default_poll", deserialize_with = "de_poll")]
    poll: Duration,
}

fn default_poll() -> Duration {
    DEFAULT_POLL
}

fn de_poll<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    let dur = parse_duration(&s).map_err(serde::de::Error::custom)?;
    if !(MIN_POLL..=MAX_POLL).contains(&dur) {
        return Err(serde::de::Error::custom(format!(
            "prefect poll {s:?} is out of range: write a duration from 1s to 10m"
        )));
    }
    Ok(dur)
}

/// Why `url` (trailing `/` already dropped) is no Prefect API URL, if it is not.
/// Messages never echo what the user wrote past the origin.
fn check_api_url(what: &str, url: &str) -> Result<(), String> {
    check_url(what, url)?;
    let Ok(u) = url::Url::parse(url) else { return Err(format!("{what}: url is not a URL")) };
    if !u.username().is_empty() || u.password().is_some() {
        return Err(format!(
            "{what}: url contains a user name or password: remove it (an API key goes in the keyring, see key_secret)"
        ));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(format!(
            "{what}: url has a '?' query or '#' fragment: remove it, API paths are appended to the url"
        ));
    }
    let origin = u.origin().ascii_serialization();
    if u.host_str() == Some("app.prefect.cloud") {
        return Err(format!(
            "{what}: url is the Prefect Cloud UI ({origin}): use the workspace's API URL, \
             https://api.prefect.cloud/api/accounts/ACCOUNT_ID/workspaces/WORKSPACE_ID (`prefect config view` shows it)"
        ));
    }
    if u.path() == "/" {
        return Err(format!(
            "{what}: url {origin} has no path, which is the Prefect UI's address: the API is under /api, \
             write url = \"{origin}/api\""
        ));
    }
    Ok(())
}

impl TryFrom<RawPrefect> for PrefectConfig {
    type Error = String;

    fn try_from(raw: RawPrefect) -> Result<Self, String> {
        check_name("prefect", &raw.name)?;
        let what = format!("prefect {}", raw.name);
        let url = raw.url.trim_end_matches('/').to_string();
        check_api_url(&what, &url)?;
        if let Some(s) = &raw.key_secret {
            crate::secrets::check_name(s).map_err(|e| format!("{what}: key_secret: {e}"))?;
        }
        Ok(PrefectConfig { name: raw.name, url, key_secret: raw.key_secret, poll: raw.poll })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigError;
    use crate::config::settings::parse_config;

    fn err(src: &str) -> ConfigError {
        parse_config("c.toml", src).unwrap_err()
    }

    /// The error of one `[[prefect]]` table whose `url` is `url`: at the table, with the docs hint.
    fn url_err(url: &str) -> ConfigError {
        let e = err(&format!("[[prefect]]\nname = \"pf\"\nurl = \"{url}\"\n"));
        assert_eq!((e.line, e.col), (1, 1), "{e}");
        assert_eq!(e.hint, "see the [[prefect]] keys in docs/config.md", "{e}");
        assert!(e.message.starts_with("prefect pf: url "), "{e}");
        e
    }

    #[test]
    fn parses_with_defaults_and_drops_a_trailing_slash() {
        let c = parse_config(
            "c.toml",
            "[[prefect]]\nname = \"pf\"\nurl = \"http://127.0.0.1:4200/api/\"\n\n\
             [[prefect]]\nname = \"cloud\"\nurl = \"https://api.prefect.cloud/api/accounts/a1/workspaces/w2\"\n\
             key_secret = \"prefect:cloud\"\npoll = \"1m\"\n",
        )
        .unwrap();
        assert_eq!(
            c.prefect,
            vec![
                PrefectConfig {
                    name: "pf".into(),
                    url: "http://127.0.0.1:4200/api".into(),
                    key_secret: None,
                    poll: Duration::from_secs(5),
                },
                PrefectConfig {
                    name: "cloud".into(),
                    url: "https://api.prefect.cloud/api/accounts/a1/workspaces/w2".into(),
                    key_secret: Some("prefect:cloud".into()),
                    poll: Duration::from_secs(60),
                },
            ]
        );
        // A reverse proxy's prefix is kept; the poll bounds are inclusive.
        let c = parse_config(
            "c.toml",
            "[[prefect]]\nname = \"a\"\nurl = \"https://ops.example/prefect/api\"\npoll = \"1s\"\n\
             [[prefect]]\nname = \"b\"\nurl = \"http://h:4200/api\"\npoll = \"10m\"\n",
        )
        .unwrap();
        assert_eq!(c.prefect[0].url, "https://ops.example/prefect/api");
        assert_eq!((c.prefect[0].poll, c.prefect[1].poll), (MIN_POLL, MAX_POLL));
    }

    #[test]
    fn a_url_without_a_path_is_the_ui_and_says_to_add_api() {
        for url in ["http://127.0.0.1:4200", "http://127.0.0.1:4200/", "http://127.0.0.1:4200///"] {
            let e = url_err(url);
            assert!(e.message.contains("has no path"), "{e}");
            assert!(e.message.contains("write url = \"http://127.0.0.1:4200/api\""), "{e}");
        }
        let e = url_err("https://app.prefect.cloud/account/a1/workspace/w2/dashboard");
        assert!(e.message.contains("Prefect Cloud UI"), "{e}");
        assert!(e.message.contains("https://api.prefect.cloud/api/accounts/ACCOUNT_ID/workspaces/WORKSPACE_ID"), "{e}");
    }

    #[test]
    fn bad_urls_say_why_without_echoing_credentials() {
        let e = url_err("ftp://h:4200/api");
        assert!(e.message.contains("http:// or https://"), "{e}");
        let e = url_err("127.0.0.1:4200/api");
        assert!(e.message.contains("http:// or https://") || e.message.contains("not a URL"), "{e}");
        let e = url_err("not a url");
        assert!(e.message.contains("not a URL"), "{e}");
        let e = url_err("http://admin:hunter2@h:4200/api");
        assert!(e.message.contains("user name or password") && e.message.contains("key_secret"), "{e}");
        assert!(!e.message.contains("hunter2"), "{e}");
        let e = url_err("http://h:4200/api?token=hunter2");
        assert!(e.message.contains("query") && !e.message.contains("hunter2"), "{e}");
        let e = url_err("http://h:4200/api#x");
        assert!(e.message.contains("fragment"), "{e}");
    }

    #[test]
    fn names_secrets_keys_and_polls_are_checked_at_their_place() {
        let e = err("[[prefect]]\nname = \"a b\"\nurl = \"http://h:4200/api\"\n");
        assert!(e.message.contains("prefect name \"a b\" contains spaces"), "{e}");
        assert_eq!((e.line, e.col, e.hint.as_str()), (1, 1, "see the [[prefect]] keys in docs/config.md"), "{e}");
        let e = err("[[prefect]]\nname = \"\"\nurl = \"http://h:4200/api\"\n");
        assert!(e.message.contains("prefect name is empty"), "{e}");
        let e = err("[[prefect]]\nname = \"pf\"\nurl = \"http://h:4200/api\"\nkey_secret = \"my key\"\n");
        assert!(e.message.starts_with("prefect pf: key_secret: invalid secret name \"my key\""), "{e}");
        assert!(e.message.contains("use letters, digits"), "{e}");
        let e = err("[[prefect]]\nname = \"pf\"\nurl = \"http://h:4200/api\"\nkey_secret = \"\"\n");
        assert!(e.message.contains("key_secret: invalid secret name"), "{e}");
        let e = err("[[prefect]]\nname = \"pf\"\nurl = \"http://h:4200/api\"\napi_key = \"x\"\n");
        assert!(e.message.contains("unknown field `api_key`"), "{e}");
        assert_eq!((e.line, e.col), (4, 1), "{e}");
        assert!(e.hint.contains("docs/config.md"), "{e}");
        let e = err("[[prefect]]\nname = \"pf\"\n");
        assert!(e.message.contains("missing field `url`"), "{e}");
        for (poll, want, hint) in [
            ("500ms", "prefect poll \"500ms\" is out of range: write a duration from 1s to 10m", "[[prefect]]"),
            ("11m", "prefect poll \"11m\" is out of range", "[[prefect]]"),
            ("often", "invalid duration \"often\"", "\"500ms\""),
            ("99999999999999999999h", "is out of range", "[[prefect]]"),
        ] {
            let e = err(&format!("[[prefect]]\nname = \"pf\"\nurl = \"http://h:4200/api\"\npoll = \"{poll}\"\n"));
            assert!(e.message.contains(want), "{poll}: {e}");
            assert_eq!((e.line, e.col), (4, 8), "{poll}: {e}");
            assert!(e.hint.contains(hint), "{poll}: {e}");
        }
        let e = err("[[prefect]]\nname = \"pf\"\nurl = \"http://h:4200/api\"\npoll = 5\n");
        assert!(e.message.contains("invalid type"), "{e}");
    }

    #[test]
    fn a_prefect_server_shares_the_source_namespace() {
        let e = err(
            "[[backend]]\nname = \"prod\"\nurl = \"wss://h:7317\"\n\n[[prefect]]\nname = \"prod\"\nurl = \"http://h:4200/api\"\n",
        );
        assert_eq!((e.line, e.col), (6, 8), "{e}");
        assert!(e.message.contains("prefect name \"prod\" is already the name of a [[backend]]"), "{e}");
        assert!(e.hint.contains("Prefect"), "{e}");
        let e = err(
            "[[prefect]]\nname = \"pf\"\nurl = \"http://h:4200/api\"\n\n[[alertmanager]]\nname = \"pf\"\nurl = \"http://am:9093\"\n",
        );
        assert_eq!((e.line, e.col), (6, 8), "{e}");
        assert!(e.message.contains("alertmanager name \"pf\" is already the name of a [[prefect]]"), "{e}");
        let e = err(
            "[[prefect]]\nname = \"pf\"\nurl = \"http://a:4200/api\"\n[[prefect]]\nname = \"pf\"\nurl = \"http://b:4200/api\"\n",
        );
        assert_eq!((e.line, e.col), (5, 8), "{e}");
        assert!(e.message.contains("prefect name \"pf\" is used twice"), "{e}");
        let e = err("[[prefect]]\nname = \"local\"\nurl = \"http://h:4200/api\"\n");
        assert_eq!((e.line, e.col), (2, 8), "{e}");
        assert!(e.message.contains("prefect name \"local\" is reserved"), "{e}");
        assert!(e.hint.contains("give this [[prefect]] another name"), "{e}");
    }
}
