//! Request errors in plain words: what failed and where, against real
//! loopback sockets (a closed port, a plain-HTTP server spoken TLS to, a
//! self-signed TLS server) and the resolver.

use super::*;

async fn closed_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    l.local_addr().expect("addr").port()
}

fn client() -> reqwest::Client {
    http_client().expect("client")
}

#[tokio::test]
async fn connection_refused_says_so_and_where() {
    let port = closed_port().await;
    let url = format!("http://127.0.0.1:{port}/v1/chat/completions?key=secret");
    let e = client().get(&url).send().await.unwrap_err();
    assert_eq!(request_error(&e), format!("connection refused (127.0.0.1:{port})"));
    assert_eq!(error_text(e), "connection refused");
}

#[tokio::test]
async fn a_host_that_does_not_resolve_is_a_dns_problem() {
    let e = client().get("http://nosuch.invalid/v1/models").send().await.unwrap_err();
    let got = request_error(&e);
    assert!(got.starts_with("DNS: ") && got.ends_with(" (nosuch.invalid:80)"), "{got}");
    assert!(!got.contains("error sending request") && !got.contains("os error"), "{got}");
}

#[tokio::test]
async fn https_to_a_plain_http_server_says_it_did_not_answer_in_tls() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = l.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
        }
    });
    let e = client().get(format!("https://127.0.0.1:{port}/")).send().await.unwrap_err();
    assert_eq!(
        request_error(&e),
        format!(
            "TLS: the server did not answer in TLS (does it want http:// rather than https://?) (127.0.0.1:{port})"
        )
    );
}

#[tokio::test]
async fn an_untrusted_certificate_says_how_to_trust_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&c, cert.cert.pem()).expect("write");
    std::fs::write(&k, cert.signing_key.serialize_pem()).expect("write");
    let port = tls_test_server(&c, &k).await;
    let e = client().get(format!("https://localhost:{port}/")).send().await.unwrap_err();
    assert_eq!(
        request_error(&e),
        format!("TLS: the server's certificate is not from a trusted CA (OPSDECK_CA_FILE adds one) (localhost:{port})")
    );
}

#[test]
fn resolver_messages_become_plain_words() {
    assert_eq!(dns_text("failed to lookup address information: Name or service not known"), "DNS: no such host");
    assert_eq!(
        dns_text("failed to lookup address information: Temporary failure in name resolution"),
        "DNS: the lookup failed for now (temporary failure in name resolution)"
    );
    assert_eq!(dns_text("dns error"), "DNS: the lookup failed");
    assert_eq!(dns_text("weird (os error 5)"), "DNS: weird");
}

#[test]
fn host_port_never_shows_the_path_or_query() {
    let u = reqwest::Url::parse("https://hooks.slack.com/services/T0/B0/SECRET?x=1").expect("url");
    assert_eq!(host_port(&u).as_deref(), Some("hooks.slack.com:443"));
    let u = reqwest::Url::parse("http://[::1]:8080/v1").expect("url");
    assert_eq!(host_port(&u).as_deref(), Some("[::1]:8080"));
}

/// A CA file with no certificate in it (a key, the wrong file) is an error,
/// not a silent "trust nothing more".
#[test]
fn a_ca_file_without_a_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").unwrap();
    let e = crate::net::tls_client_config(Some(&junk)).expect_err("refused");
    assert!(e.contains("no certificate found") && e.contains("junk.pem"), "{e}");
}
