//! Low-level network helpers shared by the engine and `remote`: the rustls
//! client and server configurations (ring provider: no OpenSSL, no aws-lc),
//! the HTTP client, and request errors as one readable line. Depends on
//! nothing of ours, so every layer may use it (DESIGN.md §2).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use tokio_rustls::rustls;

/// A PEM file that could not be used for TLS: its path and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {what}")]
pub struct TlsFileError {
    pub path: String,
    pub what: String,
}

fn file_error(p: &Path, what: impl Into<String>) -> TlsFileError {
    TlsFileError { path: p.display().to_string(), what: what.into() }
}

/// A rustls client configuration on the ring provider: the system's roots,
/// plus the PEM certificates in `ca_file` if given.
///
/// Built once per CA file and shared: the system's roots are read and parsed
/// once per process, a CA file again only when its length or modification
/// time changed (an HTTPS health check every few seconds reads nothing).
///
/// Errors: `ca_file` cannot be read or holds no usable certificate.
pub fn tls_client_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    static BUILT: Mutex<Vec<(ConfigKey, Arc<rustls::ClientConfig>)>> = Mutex::new(Vec::new());
    let key = match ca_file {
        None => None,
        Some(p) => match std::fs::metadata(p) {
            Ok(m) => Some((p.to_path_buf(), m.len(), m.modified().ok())),
            // Reading it says what is wrong.
            Err(_) => return build_client_config(ca_file).map(Arc::new),
        },
    };
    if let Some((_, c)) = BUILT.lock().unwrap_or_else(|p| p.into_inner()).iter().find(|(k, _)| *k == key) {
        return Ok(c.clone());
    }
    let config = Arc::new(build_client_config(ca_file)?);
    let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
    // An edited file replaces its older version; a handful of files at most.
    built.retain(|(k, _)| k.as_ref().map(|k| &k.0) != key.as_ref().map(|k| &k.0));
    if built.len() >= 16 {
        built.remove(0);
    }
    built.push((key, config.clone()));
    Ok(config)
}

/// A CA file as last seen: path, length, modification time (`None`: the system roots alone).
type ConfigKey = Option<(PathBuf, u64, Option<std::time::SystemTime>)>;

/// The system's trusted roots, read once.
fn native_roots() -> &'static [rustls::pki_types::CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<rustls::pki_types::CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

fn build_client_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in native_roots() {
        let _ = roots.add(cert.clone());
    }
    if let Some(extra) = ca_file {
        let file = std::fs::File::open(extra).map_err(|e| file_error(extra, crate::net::io_text(&e)).to_string())?;
        let mut found = 0;
        for cert in rustls_pemfile::certs(&mut std::io::BufReader::new(file)) {
            let cert = cert.map_err(|e| file_error(extra, format!("not a PEM certificate: {e}")).to_string())?;
            roots.add(cert).map_err(|e| file_error(extra, e.to_string()).to_string())?;
            found += 1;
        }
        // A file without one (a key, a typo'd path to another file) would trust nothing more, silently.
        if found == 0 {
            return Err(file_error(extra, "no certificate found (a PEM file of CA certificates)").to_string());
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// A rustls server configuration from a PEM certificate chain and its PEM
/// private key.
pub fn tls_server_config(cert: &Path, key: &Path) -> Result<rustls::ServerConfig, TlsFileError> {
    let open = |p: &Path| std::fs::File::open(p).map_err(|e| file_error(p, format!("cannot read: {}", io_text(&e))));
    let certs: Vec<_> = rustls_pemfile::certs(&mut std::io::BufReader::new(open(cert)?))
        .collect::<Result<_, _>>()
        .map_err(|e| file_error(cert, format!("not a PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(file_error(cert, "no certificate found"));
    }
    let key_der = rustls_pemfile::private_key(&mut std::io::BufReader::new(open(key)?))
        .map_err(|e| file_error(key, format!("not a PEM key: {e}")))?
        .ok_or_else(|| file_error(key, "no private key found"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| file_error(cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| file_error(key, format!("certificate and key do not fit: {e}")))
}

/// An HTTP client (reqwest) on the client TLS configuration, with a 10 s
/// timeout per request.
pub fn http_client() -> Result<reqwest::Client, String> {
    let tls = tls_client_config(None)?;
    reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// A request error in plain words, without where (the URL may be a
/// credential, like a Slack webhook's) and without OS error numbers:
/// `connection refused`, `timed out connecting`, `DNS: no such host`,
/// `TLS: the server's certificate is not from a trusted CA …`; otherwise the
/// innermost cause (`connection closed before message completed`).
pub fn error_text(e: reqwest::Error) -> String {
    what_failed(&e)
}

/// A request error as [`error_text`] says it, then where it went as
/// `(host:port)` — never the path or query, which may hold a credential:
/// `connection refused (127.0.0.1:9)`.
pub fn request_error(e: &reqwest::Error) -> String {
    match e.url().and_then(host_port) {
        Some(at) => format!("{} ({at})", what_failed(e)),
        None => what_failed(e),
    }
}

/// `host:port` of `url` (the scheme's port when none is given; IPv6 hosts
/// in brackets).
pub fn host_port(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str().filter(|h| !h.is_empty())?;
    Some(match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

fn what_failed(e: &reqwest::Error) -> String {
    let causes = causes(e);
    for s in &causes {
        if let Some(tls) = s.downcast_ref::<rustls::Error>() {
            return format!("TLS: {}", tls_text(tls));
        }
    }
    if e.is_timeout() {
        return if e.is_connect() { "timed out connecting".into() } else { "timed out".into() };
    }
    if causes.iter().any(|s| s.to_string().starts_with("dns error")) {
        let last = causes.last().map(|s| s.to_string()).unwrap_or_default();
        return dns_text(&last);
    }
    for s in &causes {
        if let Some(plain) = s.downcast_ref::<std::io::Error>().and_then(|io| plain_kind(io.kind())) {
            return plain.to_string();
        }
    }
    let last = match causes.last() {
        Some(s) => match s.downcast_ref::<std::io::Error>() {
            Some(io) => io_text(io),
            None => s.to_string(),
        },
        None => e.to_string(),
    };
    let last = strip_os_error(&last);
    if e.is_body() || e.is_decode() { format!("reading the answer: {last}") } else { last }
}

/// Every cause of `e`, outermost first (at most 32). `io::Error::source`
/// skips the error an `io::Error` wraps (rustls's, inside two of them):
/// those are followed too. For reqwest's errors and lettre's alike.
pub(crate) fn causes<'a>(e: &'a (dyn std::error::Error + 'static)) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut out: Vec<&(dyn std::error::Error + 'static)> = Vec::new();
    let mut next = std::error::Error::source(e);
    while let Some(s) = next {
        if out.len() >= 32 {
            break;
        }
        out.push(s);
        next = match s.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref) {
            Some(inner) => Some(inner),
            None => s.source(),
        };
    }
    out
}

/// A resolver's message in plain words.
fn dns_text(msg: &str) -> String {
    let m = msg.to_ascii_lowercase();
    if ["not known", "no address associated", "nodename nor servname", "no such host", "nxdomain"]
        .iter()
        .any(|k| m.contains(k))
    {
        return "DNS: no such host".into();
    }
    if m.contains("temporary failure") {
        return "DNS: the lookup failed for now (temporary failure in name resolution)".into();
    }
    let detail = msg.trim_start_matches("failed to lookup address information: ").trim();
    if detail.is_empty() || detail == "dns error" {
        "DNS: the lookup failed".into()
    } else {
        format!("DNS: {}", strip_os_error(detail))
    }
}

/// A TLS failure in plain words, with what to do where there is something.
fn tls_text(e: &rustls::Error) -> String {
    use rustls::{CertificateError as C, Error as E};
    match e {
        E::InvalidCertificate(c) => match c {
            C::UnknownIssuer => "the server's certificate is not from a trusted CA (OPSDECK_CA_FILE adds one)".into(),
            C::Expired | C::ExpiredContext { .. } => "the server's certificate has expired".into(),
            C::NotValidYet | C::NotValidYetContext { .. } => "the server's certificate is not valid yet".into(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "the server's certificate is for another host name".into()
            }
            C::Revoked => "the server's certificate was revoked".into(),
            other => format!("the server's certificate was refused: {other}"),
        },
        E::InvalidMessage(_) | E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
            "the server did not answer in TLS (does it want http:// rather than https://?)".into()
        }
        E::AlertReceived(a) => format!("the server refused the handshake ({a:?})"),
        other => other.to_string(),
    }
}

/// An IO error in plain words, without the `(os error N)` suffix the standard
/// library appends: `connection refused`, `no such file or directory`.
pub fn io_text(e: &std::io::Error) -> String {
    match plain_kind(e.kind()) {
        Some(plain) => plain.to_string(),
        None => strip_os_error(&e.to_string()),
    }
}

/// The plain words for an IO error's kind, when there are some.
fn plain_kind(kind: std::io::ErrorKind) -> Option<&'static str> {
    use std::io::ErrorKind as K;
    Some(match kind {
        K::NotFound => "no such file or directory",
        K::PermissionDenied => "permission denied",
        K::ConnectionRefused => "connection refused",
        K::ConnectionReset => "connection reset by the peer",
        K::ConnectionAborted => "connection aborted",
        K::NotConnected => "not connected",
        K::AddrInUse => "address already in use",
        K::AddrNotAvailable => "address not available on this host",
        K::BrokenPipe => "the other end closed the connection",
        K::AlreadyExists => "already exists",
        K::TimedOut => "timed out",
        K::UnexpectedEof => "ended too early",
        K::IsADirectory => "is a directory, not a file",
        K::NotADirectory => "not a directory",
        K::DirectoryNotEmpty => "directory not empty",
        K::ReadOnlyFilesystem => "read-only file system",
        K::StorageFull => "no space left on the device",
        K::HostUnreachable => "host unreachable",
        K::NetworkUnreachable => "network unreachable",
        K::NetworkDown => "network down",
        _ => return None,
    })
}

/// `Connection refused (os error 111)` → `Connection refused`.
pub fn strip_os_error(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(" (os error ") {
        out.push_str(&rest[..i]);
        let after = &rest[i + " (os error ".len()..];
        match after.find(')') {
            Some(j) if after[..j].chars().all(|c| c.is_ascii_digit() || c == '-') => rest = &after[j + 1..],
            _ => {
                out.push_str(" (os error ");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// An HTTPS server on a loopback port answering every request with
/// `200 ok`, for tests of TLS clients: `cert` and `key` are PEM files.
#[cfg(test)]
pub(crate) async fn tls_test_server(cert: &Path, key: &Path) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let config = tls_server_config(cert, key).expect("test certificate");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = tcp.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((s, _)) = tcp.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(s).await else { return };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_config_is_built_once_per_ca_file_and_again_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        std::fs::write(&ca, cert.cert.pem()).unwrap();
        let first = tls_client_config(Some(&ca)).unwrap();
        assert!(Arc::ptr_eq(&first, &tls_client_config(Some(&ca)).unwrap()), "the second probe reads nothing");
        assert!(Arc::ptr_eq(&tls_client_config(None).unwrap(), &tls_client_config(None).unwrap()));
        std::fs::write(&ca, format!("{}\n", cert.cert.pem())).unwrap();
        assert!(!Arc::ptr_eq(&first, &tls_client_config(Some(&ca)).unwrap()), "an edited CA file is read again");
        assert!(tls_client_config(Some(&dir.path().join("missing.pem"))).unwrap_err().contains("missing.pem"));
    }

    #[test]
    fn os_error_numbers_are_removed() {
        assert_eq!(strip_os_error("Connection refused (os error 111)"), "Connection refused");
        assert_eq!(strip_os_error("a (os error 2): b (os error 13)"), "a: b");
        assert_eq!(strip_os_error("kept (os error x)"), "kept (os error x)");
        let e = std::io::Error::from_raw_os_error(111);
        assert_eq!(io_text(&e), "connection refused");
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(io_text(&e), "no such file or directory");
    }
}

#[cfg(test)]
#[path = "net_errors_tests.rs"]
mod errors_tests;
