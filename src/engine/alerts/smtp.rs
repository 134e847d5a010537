//! Sending an email notification to an SMTP relay (lettre over tokio and
//! rustls with ring): implicit TLS, STARTTLS (required) or, to a loopback
//! host only, no TLS; AUTH PLAIN/LOGIN with the password read from its secret
//! at each attempt (so `opsdeck key set` takes effect without a restart).
//!
//! The SMTP exchange is driven command by command (lettre's connection API)
//! rather than through `AsyncSmtpTransport::send`, so that each refusal is
//! known by its step: a refused login, sender or recipient is named in the
//! error. When some recipients are refused and others accepted, the message
//! goes to the accepted ones and the refusal is reported (not retried, which
//! would send it twice).
//!
//! Errors: a 5xx reply is permanent (not retried) and quoted with its code
//! (`SMTP 535 5.7.8 …`); a 4xx reply, a connection or TLS failure and a
//! timeout (10 s for the whole exchange) are retried by the caller.

use std::path::Path;
use std::time::Duration;

use lettre::Message;
use lettre::address::Address;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};

use super::email;
use super::notify::Notification;
use crate::config::email::{EmailTarget, TlsMode};

/// The whole SMTP exchange, from connecting to the end of DATA.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Characters of a reply's text kept in an error.
const REPLY_CHARS: usize = 300;

/// Why a message was not (fully) sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// What happened and how to fix it; never the password.
    pub text: String,
    /// Trying again will not help (a 5xx reply, a configuration problem).
    pub permanent: bool,
}

fn permanent(text: String) -> SendError {
    SendError { text, permanent: true }
}

fn transient(text: String) -> SendError {
    SendError { text, permanent: false }
}

/// Build the message for `n` and send it to `t`'s relay; secrets and
/// `ca_file` (relative to `config_dir`) are read now.
pub async fn deliver(t: &EmailTarget, n: &Notification, config_dir: &Path) -> Result<(), SendError> {
    let msg = email::message(t, n).map_err(permanent)?;
    let login = match (&t.username, &t.password_secret) {
        (Some(user), Some(secret)) => Some(Credentials::new(user.clone(), password(secret, config_dir).await?)),
        _ => None,
    };
    let tls = match t.tls {
        TlsMode::None => None,
        TlsMode::Starttls | TlsMode::Tls => Some(tls_parameters(t, config_dir)?),
    };
    match tokio::time::timeout(TIMEOUT, exchange(t, tls, login, &msg)).await {
        Ok(r) => r,
        Err(_) => Err(transient(format!("SMTP {}:{}: no answer within {}s", t.host, t.port, TIMEOUT.as_secs()))),
    }
}

/// The password kept in the secret `name` (environment, keyring, file).
async fn password(name: &str, config_dir: &Path) -> Result<String, SendError> {
    let (n, dir) = (name.to_string(), config_dir.to_path_buf());
    match tokio::task::spawn_blocking(move || crate::secrets::get(&n, &dir)).await {
        Ok(Ok(Some(found))) => Ok(found.value),
        Ok(Ok(None)) => {
            Err(transient(format!("no secret named {name} for the SMTP password (opsdeck key set {name})")))
        }
        Ok(Err(e)) => Err(transient(format!("reading the secret {name}: {e}"))),
        Err(e) => Err(transient(format!("reading the secret {name}: {e}"))),
    }
}

/// System roots plus the certificates of `ca_file`, checked against `host`
/// (also by `opsdeck check`, which says what is wrong with a `ca_file`).
pub fn tls_parameters(t: &EmailTarget, config_dir: &Path) -> Result<TlsParameters, SendError> {
    let mut b = TlsParameters::builder(t.host.clone());
    if let Some(file) = &t.ca_file {
        let path = config_dir.join(file);
        let shown = path.display();
        let pem = std::fs::read(&path)
            .map_err(|e| permanent(format!("ca_file {shown}: {} (check the path)", crate::net::io_text(&e))))?;
        let found = rustls_pemfile::certs(&mut pem.as_slice()).filter(Result::is_ok).count();
        if found == 0 {
            return Err(permanent(format!("ca_file {shown}: no certificate found (a PEM file of CA certificates)")));
        }
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| permanent(format!("ca_file {shown}: not PEM certificates ({e})")))?;
        b = b.add_root_certificate(cert);
    }
    b.build_rustls().map_err(|e| permanent(format!("TLS setup: {e}")))
}

/// `SMTP 535 5.7.8 Authentication failed`, or the error's own words.
pub fn reply_text(e: &SmtpError) -> String {
    let detail = std::error::Error::source(e).map(|s| s.to_string()).unwrap_or_default();
    let detail = email::one_line(detail.trim(), REPLY_CHARS);
    match e.status() {
        Some(code) if detail.is_empty() => format!("SMTP {code}"),
        Some(code) => format!("SMTP {code} {detail}"),
        None => {
            // A connection or TLS failure: rustls's reason, else the IO error, in plain words.
            let causes = crate::net::causes(e);
            if let Some(tls) = causes.iter().find_map(|c| c.downcast_ref::<tokio_rustls::rustls::Error>()) {
                return tls_text(tls);
            }
            match causes.iter().find_map(|c| c.downcast_ref::<std::io::Error>()) {
                Some(io) => crate::net::io_text(io),
                None => crate::net::strip_os_error(&e.to_string()),
            }
        }
    }
}

/// A TLS failure in plain words, with the fix where there is one.
fn tls_text(e: &tokio_rustls::rustls::Error) -> String {
    use tokio_rustls::rustls::{CertificateError as C, Error as E};
    match e {
        E::InvalidCertificate(C::UnknownIssuer) => {
            "TLS: the relay's certificate is not from a trusted CA (for a private CA set ca_file)".into()
        }
        E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "TLS: the relay's certificate is for another host name (host must be a name it carries)".into()
        }
        E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            "TLS: the relay's certificate has expired".into()
        }
        E::InvalidMessage(_) | E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
            "TLS: the relay did not answer in TLS (tls = \"tls\" is for port 465; use tls = \"starttls\" on 587)".into()
        }
        // A self-signed certificate (BadSignature), one not for a server, and the rest: not trusted.
        E::InvalidCertificate(why) => format!(
            "TLS: the relay's certificate is not trusted ({why:?}; for a private CA or a self-signed relay set \
             ca_file to its CA certificate)"
        ),
        other => format!("TLS: {other}"),
    }
}

/// A failed step: 5xx permanent, anything else retried; `fix` says what to check.
fn step_error(e: &SmtpError, what: &str, fix: &str) -> SendError {
    let text = format!("{} ({what}{fix})", reply_text(e));
    if e.is_permanent() { permanent(text) } else { transient(text) }
}

async fn exchange(
    t: &EmailTarget,
    tls: Option<TlsParameters>,
    login: Option<Credentials>,
    msg: &Message,
) -> Result<(), SendError> {
    let hello = ClientId::default();
    let at = format!("{}:{}", t.host, t.port);
    let implicit = if t.tls == TlsMode::Tls { tls.clone() } else { None };
    let mut conn =
        AsyncSmtpConnection::connect_tokio1((t.host.as_str(), t.port), Some(TIMEOUT), &hello, implicit, None)
            .await
            .map_err(|e| {
                let mut err = step_error(&e, &format!("connecting to {at}"), "");
                // A 5xx greeting (554 no service) may pass; a refused connection may end.
                err.permanent = false;
                err
            })?;
    // A failed STARTTLS handshake leaves lettre's connection without a
    // stream (a QUIT on it panics in debug builds, lettre issue #678): after
    // any STARTTLS failure the connection is dropped, which closes the socket.
    if t.tls == TlsMode::Starttls {
        starttls(&mut conn, tls, &hello, &at).await?;
    }
    let result = session(&mut conn, t, login, msg, &at).await;
    conn.abort().await;
    result
}

/// Upgrade the plain connection: STARTTLS is required, never skipped.
async fn starttls(
    conn: &mut AsyncSmtpConnection,
    tls: Option<TlsParameters>,
    hello: &ClientId,
    at: &str,
) -> Result<(), SendError> {
    let Some(params) = tls else { return Err(permanent("TLS parameters missing".into())) };
    if !conn.can_starttls() {
        return Err(permanent(format!(
            "SMTP {at} does not offer STARTTLS, which tls = \"starttls\" requires (for a relay on port 465 \
             use tls = \"tls\")"
        )));
    }
    conn.starttls(params, hello).await.map_err(|e| {
        let mut err = step_error(&e, &format!("STARTTLS with {at}"), "");
        err.permanent = e.is_permanent();
        err
    })
}

async fn session(
    conn: &mut AsyncSmtpConnection,
    t: &EmailTarget,
    login: Option<Credentials>,
    msg: &Message,
    at: &str,
) -> Result<(), SendError> {
    if let Some(creds) = &login {
        let user = t.username.as_deref().unwrap_or_default();
        let secret = t.password_secret.as_deref().unwrap_or_default();
        conn.auth(&[Mechanism::Plain, Mechanism::Login], creds).await.map_err(|e| {
            if e.status().is_none() && e.is_client() {
                // No mechanism in common (the relay offers no AUTH, or not before TLS).
                return permanent(format!(
                    "SMTP {at} offers no AUTH PLAIN or LOGIN{}: check the relay needs a login, or remove username",
                    if conn.is_encrypted() { "" } else { " without TLS" }
                ));
            }
            step_error(
                &e,
                &format!("logging in to {at} as {user}"),
                &format!(": check username, and the password with opsdeck key set {secret}"),
            )
        })?;
    }
    let envelope = msg.envelope();
    let mut options = Vec::new();
    if envelope.to().iter().chain(envelope.from()).any(|a| !a.to_string().is_ascii()) {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Err(permanent(format!(
                "SMTP {at} does not accept non-ASCII addresses (no SMTPUTF8): use ASCII addresses in from and to"
            )));
        }
        options.push(MailParameter::SmtpUtfEight);
    }
    let raw = msg.formatted();
    if !raw.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let from = envelope.from().cloned();
    let sender = from.as_ref().map(Address::to_string).unwrap_or_default();
    conn.command(Mail::new(from, options))
        .await
        .map_err(|e| step_error(&e, &format!("the relay refused the sender {sender}"), ": check from"))?;
    let (mut accepted, mut refused) = (0usize, Vec::new());
    for to in envelope.to() {
        match conn.command(Rcpt::new(to.clone(), Vec::new())).await {
            Ok(_) => accepted += 1,
            Err(e) if e.is_permanent() => refused.push(format!("{} for recipient {to}", reply_text(&e))),
            Err(e) => return Err(step_error(&e, &format!("recipient {to}"), "; tried again later")),
        }
    }
    let refused_text = |sent: bool| {
        let others = if sent {
            format!("; sent to the other {}", crate::text::count(accepted as u64, "recipient", "recipients"))
        } else {
            String::new()
        };
        format!("{} (check to{others})", refused.join("; "))
    };
    if accepted == 0 {
        return Err(permanent(refused_text(false)));
    }
    conn.command(Data).await.map_err(|e| step_error(&e, "the relay refused DATA", ""))?;
    conn.message(&raw).await.map_err(|e| step_error(&e, "the relay refused the message", ""))?;
    if refused.is_empty() { Ok(()) } else { Err(permanent(refused_text(true))) }
}
