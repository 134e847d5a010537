//! Email notifications against a real SMTP server (aiosmtpd, tests/peers/smtp.rs):
//! a failing health check in the engine mails its firing and its resolution
//! (plain SMTP to loopback); STARTTLS + AUTH with the password from a secret;
//! a wrong password (535, not retried) and refused recipients (550, named).

mod deliveries;
mod peers;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use deliveries::{FailingCheck, announced, failing_check};
use opsdeck::clock::SystemClock;
use opsdeck::config::alerting::NotifierConfig;
use opsdeck::engine::alerts::deliver::{self, Retry};
use opsdeck::engine::alerts::notify::{Notification, Reason, Status};
use opsdeck::engine::tools::Registry;
use opsdeck::protocol::alerts::{Alert, AlertState, Delivery, Severity};
use peers::smtp::{Received, SinkOptions, SmtpSink};
use tokio::sync::mpsc;

/// A failure bound, not a synchronisation.
const LIMIT: Duration = Duration::from_secs(60);

fn fast() -> Retry {
    Retry { first: Duration::from_millis(20), max: Duration::from_millis(100), give_up: Duration::from_secs(30) }
}

/// The notifiers of a `config.toml` text (the real config path).
fn notifiers(toml: &str) -> Vec<NotifierConfig> {
    opsdeck::config::settings::parse_config("config.toml", toml).unwrap_or_else(|e| panic!("{e}")).notifiers
}

/// A secret in the 0600 fallback file of `config_dir` (what `opsdeck key set`
/// writes when no keyring is usable; read after the environment and the keyring).
fn store_secrets(config_dir: &Path, secrets: &[(&str, &str)]) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(opsdeck::secrets::fallback_file(config_dir))
        .expect("secrets file");
    for (name, value) in secrets {
        writeln!(f, "{name:?} = {value:?}").expect("write secret");
    }
}

/// The decoded text of the first MIME part of `content_type` in `data`.
fn part(data: &str, content_type: &str) -> String {
    let start =
        data.find(&format!("Content-Type: {content_type}")).unwrap_or_else(|| panic!("{content_type} in\n{data}"));
    let rest = &data[start..];
    let (head, body) = rest.split_once("\r\n\r\n").expect("part body");
    let boundary = header(data, "Content-Type");
    let boundary = boundary.split("boundary=").nth(1).expect("a boundary").trim_matches('"');
    let body = &body[..body.find(&format!("\r\n--{boundary}")).unwrap_or(body.len())];
    let bytes = if head.contains("Content-Transfer-Encoding: base64") {
        base64::engine::general_purpose::STANDARD.decode(body.replace("\r\n", "")).expect("base64")
    } else if head.contains("Content-Transfer-Encoding: quoted-printable") {
        let b = body.replace("=\r\n", "");
        let mut out = Vec::new();
        let raw = b.as_bytes();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == b'=' && i + 3 <= raw.len() {
                out.push(u8::from_str_radix(&b[i + 1..i + 3], 16).expect("QP escape"));
                i += 3;
            } else {
                out.push(raw[i]);
                i += 1;
            }
        }
        out
    } else {
        body.as_bytes().to_vec()
    };
    String::from_utf8(bytes).expect("UTF-8 text").replace("\r\n", "\n")
}

/// The value of header `name` (unfolded).
fn header(data: &str, name: &str) -> String {
    let head = data.split("\r\n\r\n").next().unwrap_or("").replace("\r\n ", " ");
    head.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in\n{head}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_check_is_mailed_and_so_is_its_recovery() {
    let sink = SmtpSink::start(&SinkOptions::default());
    let FailingCheck { port, rules, dir, engine, mut bus } = failing_check();
    // No group wait or interval: the firing and the resolution are mailed as they happen.
    let cfg = notifiers(&format!(
        "[[notifier]]\nname = \"mail\"\nkind = \"email\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\
         group_wait = \"0s\"\ngroup_interval = \"0s\"\nfrom = \"opsdeck <ops@example.com>\"\nto = [\"oncall@example.com\", \"Lead <lead@example.com>\"]\n",
        sink.port
    ));
    engine.start_alerts_with(
        rules,
        Registry::with_builtins(opsdeck::jq::JqRunner::new(env!("CARGO_BIN_EXE_opsdeck"))),
        &cfg,
        dir.path(),
        fast(),
    );

    let d = announced(&mut bus, |d| d.channel == "email:mail").await;
    assert_eq!((d.alert.as_str(), d.error.as_deref(), d.attempt), ("api{team=web}", None, 1));
    // The sink wrote the message before it answered 250: it is there, once.
    let got = sink.messages();
    assert_eq!(got.len(), 1, "{got:?}");
    let Received { from, to, data } = &got[0];
    assert_eq!(
        (from.as_str(), to.as_slice()),
        ("ops@example.com", &["oncall@example.com".to_string(), "lead@example.com".to_string()][..])
    );
    assert_eq!(header(data, "From"), "opsdeck <ops@example.com>");
    assert_eq!(header(data, "To"), "oncall@example.com, Lead <lead@example.com>");
    assert_eq!(header(data, "Subject"), "[FIRING] api (1)");
    assert!(header(data, "Content-Type").starts_with("multipart/alternative"), "{data}");
    assert!(header(data, "Message-ID").starts_with('<'), "{data}");
    let plain = part(data, "text/plain");
    assert!(plain.starts_with("FIRING: 1 alert of api\n\nFIRING critical api{team=web}\n"), "{plain}");
    assert!(plain.contains("  rule     api (check)\n"), "{plain}");
    assert!(plain.contains("  labels   team=web\n"), "{plain}");
    assert!(plain.contains("\n-- \nopsdeck notifier mail, group alertname=api, sent "), "{plain}");
    assert!(plain.contains("press a"), "{plain}");
    let html = part(data, "text/html");
    assert!(html.contains("<h2>FIRING: 1 alert of api</h2>"), "{html}");
    let summary = plain.lines().find_map(|l| l.strip_prefix("  summary  ")).expect("a summary line").to_string();
    assert!(
        !summary.is_empty() && html.contains(&summary.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;"))
    );

    // It listens again: the check passes and the resolution is mailed with how long it lasted.
    let _listening = std::net::TcpListener::bind(("127.0.0.1", port)).expect("listen on the checked port");
    let got = tokio::task::spawn_blocking(move || {
        let got = sink.wait_for(2);
        drop(sink);
        got
    })
    .await
    .expect("wait");
    assert_eq!(got.len(), 2, "one message per change, no duplicates: {got:?}");
    let data = &got[1].data;
    assert_eq!(header(data, "Subject"), "[RESOLVED] api (1)");
    let plain = part(data, "text/plain");
    assert!(plain.starts_with("RESOLVED: api (1 alert, all resolved)"), "{plain}");
    let lasted = plain.lines().find_map(|l| l.strip_prefix("  lasted   ")).expect("how long it lasted");
    assert!(lasted.contains("Z → ") && lasted.ends_with(')'), "{lasted}");
    assert!(!plain.contains("To acknowledge"), "{plain}");
    engine.shutdown();
}

fn alert() -> Alert {
    Alert {
        id: "disk{instance=db1}".into(),
        rule: "disk".into(),
        origin: "rule".into(),
        labels: BTreeMap::from([("instance".to_string(), "db1".to_string())]),
        severity: Severity::Warning,
        state: AlertState::Firing,
        summary: "disk almost full".into(),
        value: Some(93.5),
        value_text: None,
        active_since: 1_700_000_000_000,
        firing_since: Some(1_700_000_000_000),
        resolved_at: None,
        ack: None,
        silenced_by: Vec::new(),
        series: None,
    }
}

fn note(notifier: &str) -> Notification {
    Notification {
        notifier: notifier.into(),
        status: Status::Firing,
        reason: Reason::New,
        group_key: "alertname=disk".into(),
        group: BTreeMap::from([("alertname".to_string(), "disk".to_string())]),
        alerts: vec![alert()],
        at: 1_700_000_060_000,
    }
}

/// The last attempt of each channel, once every channel has a final one (sent, not retried, gave up).
async fn finals(rx: &mut mpsc::UnboundedReceiver<Vec<Delivery>>, channels: usize) -> BTreeMap<String, Delivery> {
    let mut last: BTreeMap<String, Delivery> = BTreeMap::new();
    let done = |d: &Delivery| d.error.as_deref().is_none_or(|e| e.contains("(not retried)") || e.contains("(gave up"));
    while last.len() < channels || !last.values().all(done) {
        let batch = tokio::time::timeout(LIMIT, rx.recv()).await.expect("deliveries within the limit").expect("open");
        for d in batch {
            last.insert(d.channel.clone(), d);
        }
    }
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_and_auth_with_the_password_from_a_secret_and_a_wrong_one_is_not_retried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("certificate");
    let (cert_pem, key_pem) = (dir.path().join("relay.pem"), dir.path().join("relay-key.pem"));
    std::fs::write(&cert_pem, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_pem, cert.signing_key.serialize_pem()).expect("write key");
    let sink = SmtpSink::start(&SinkOptions {
        tls: Some((cert_pem, key_pem)),
        login: Some(("alerts".into(), "s3cret pass".into())),
        ..SinkOptions::default()
    });
    store_secrets(
        dir.path(),
        &[("smtp:opsdeck-email-test-good", "s3cret pass"), ("smtp:opsdeck-email-test-bad", "wrong")],
    );
    let common = format!(
        "kind = \"email\"\nhost = \"127.0.0.1\"\nport = {}\nfrom = \"ops@example.com\"\nto = [\"oncall@example.com\"]\n\
         username = \"alerts\"\nca_file = \"relay.pem\"\n",
        sink.port
    );
    let cfg = notifiers(&format!(
        "[[notifier]]\nname = \"good\"\n{common}password_secret = \"smtp:opsdeck-email-test-good\"\n\n\
         [[notifier]]\nname = \"bad\"\n{common}password_secret = \"smtp:opsdeck-email-test-bad\"\n"
    ));
    let (out, mut deliveries) = mpsc::unbounded_channel::<Vec<Delivery>>();
    let (outbox, _tasks) = deliver::start(&cfg, fast(), Arc::new(SystemClock), dir.path(), None, out);
    outbox.send(note("good"));
    outbox.send(note("bad"));
    let last = finals(&mut deliveries, 2).await;
    let good = &last["email:good"];
    assert_eq!((good.attempt, good.error.as_deref()), (1, None), "{good:?}\n{}", sink.log());
    let bad = &last["email:bad"];
    let error = bad.error.clone().unwrap_or_default();
    assert_eq!(bad.attempt, 1, "a refused login is not retried: {bad:?}");
    assert!(error.starts_with("SMTP 535 5.7.8 Authentication credentials invalid"), "{error}");
    assert!(error.contains("as alerts") && error.contains("opsdeck key set smtp:opsdeck-email-test-bad"), "{error}");
    assert!(error.ends_with("(not retried)") && !error.contains("wrong"), "{error}");
    let got = sink.messages();
    assert_eq!(got.len(), 1, "only the right password sent: {got:?}");
    assert_eq!(header(&got[0].data, "Subject"), "[FIRING] disk (1)");
    assert!(part(&got[0].data, "text/plain").contains("  value    93.5\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_recipients_are_named() {
    let sink = SmtpSink::start(&SinkOptions { refuse: vec!["nobody@example.com".into()], ..SinkOptions::default() });
    let dir = tempfile::tempdir().expect("tempdir");
    let common = format!(
        "kind = \"email\"\nhost = \"localhost\"\nport = {}\ntls = \"none\"\nfrom = \"ops@example.com\"\n",
        sink.port
    );
    let cfg = notifiers(&format!(
        "[[notifier]]\nname = \"some\"\n{common}to = [\"oncall@example.com\", \"nobody@example.com\"]\n\n\
         [[notifier]]\nname = \"none\"\n{common}to = [\"nobody@example.com\"]\n"
    ));
    let (out, mut deliveries) = mpsc::unbounded_channel::<Vec<Delivery>>();
    let (outbox, _tasks) = deliver::start(&cfg, fast(), Arc::new(SystemClock), dir.path(), None, out);
    outbox.send(note("some"));
    outbox.send(note("none"));
    let last = finals(&mut deliveries, 2).await;
    let some = &last["email:some"];
    assert_eq!(
        (some.attempt, some.error.as_deref()),
        (
            1,
            Some(
                "SMTP 550 5.1.1 Mailbox unavailable for recipient nobody@example.com (check to; sent to the other \
                 1 recipient) (not retried)"
            )
        )
    );
    let none = &last["email:none"];
    assert_eq!(
        (none.attempt, none.error.as_deref()),
        (1, Some("SMTP 550 5.1.1 Mailbox unavailable for recipient nobody@example.com (check to) (not retried)"))
    );
    let got = sink.messages();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].to, ["oncall@example.com"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_trusts_the_ca_file_and_says_so_when_it_is_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let (cert_pem, key_pem) = (dir.path().join("relay.pem"), dir.path().join("relay-key.pem"));
    std::fs::write(&cert_pem, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_pem, cert.signing_key.serialize_pem()).expect("write key");
    let sink =
        SmtpSink::start(&SinkOptions { tls: Some((cert_pem, key_pem)), implicit_tls: true, ..SinkOptions::default() });
    let common = format!(
        "kind = \"email\"\nhost = \"localhost\"\nport = {}\ntls = \"tls\"\nfrom = \"ops@example.com\"\n\
         to = [\"oncall@example.com\"]\n",
        sink.port
    );
    let cfg = notifiers(&format!(
        "[[notifier]]\nname = \"trusting\"\n{common}ca_file = \"relay.pem\"\n\n[[notifier]]\nname = \"plain\"\n{common}"
    ));
    let (out, mut deliveries) = mpsc::unbounded_channel::<Vec<Delivery>>();
    let retry = Retry { give_up: Duration::from_millis(200), ..fast() };
    let (outbox, _tasks) = deliver::start(&cfg, retry, Arc::new(SystemClock), dir.path(), None, out);
    outbox.send(note("trusting"));
    outbox.send(note("plain"));
    let last = finals(&mut deliveries, 2).await;
    assert_eq!(last["email:trusting"].error, None, "{:?}\n{}", last["email:trusting"], sink.log());
    // Without ca_file the self-signed certificate is refused; retried (it is a connection failure), then given up.
    let error = last["email:plain"].error.clone().unwrap_or_default();
    assert!(
        error.starts_with("TLS: the relay's certificate is not from a trusted CA (for a private CA set ca_file) (connecting to localhost:")
            && error.contains("(gave up"),
        "{error}"
    );
    assert_eq!(sink.messages().len(), 1);
}

/// A STARTTLS handshake that fails (the relay's certificate is not trusted)
/// is a delivery error, retried — never a panic of the delivery task (a
/// failed upgrade leaves lettre's connection without a stream).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_starttls_handshake_is_an_error_and_the_notifier_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let (cert_pem, key_pem) = (dir.path().join("relay.pem"), dir.path().join("relay-key.pem"));
    std::fs::write(&cert_pem, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_pem, cert.signing_key.serialize_pem()).expect("write key");
    let sink = SmtpSink::start(&SinkOptions { tls: Some((cert_pem, key_pem)), ..SinkOptions::default() });
    let cfg = notifiers(&format!(
        "[[notifier]]\nname = \"plain\"\nkind = \"email\"\nhost = \"localhost\"\nport = {}\ntls = \"starttls\"\n\
         from = \"ops@example.com\"\nto = [\"oncall@example.com\"]\n",
        sink.port
    ));
    let (out, mut deliveries) = mpsc::unbounded_channel::<Vec<Delivery>>();
    let retry = Retry { give_up: Duration::from_millis(200), ..fast() };
    let (outbox, _tasks) = deliver::start(&cfg, retry, Arc::new(SystemClock), dir.path(), None, out);
    outbox.send(note("plain"));
    let last = finals(&mut deliveries, 1).await;
    let error = last["email:plain"].error.clone().unwrap_or_default();
    assert!(
        error.starts_with("TLS: the relay's certificate is not from a trusted CA") && error.contains("(gave up"),
        "{error}"
    );
    // The task is alive: a second message is tried too.
    outbox.send(note("plain"));
    let again = finals(&mut deliveries, 1).await;
    assert!(again["email:plain"].error.as_deref().is_some_and(|e| e.starts_with("TLS:")), "{again:?}");
    assert!(sink.messages().is_empty());
}
