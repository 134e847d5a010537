//! Remote engines: `opsdeck serve` (the engine over WebSocket or stdio).

pub mod alertmanager;
pub mod client;
pub mod prometheus;
pub mod server;
pub mod session;
pub mod token;

/// A rustls client configuration on the ring provider (no OpenSSL, no aws-lc):
/// the system's roots, plus the PEM certificates in `ca_file` if given.
pub fn tls_client_config(ca_file: Option<&std::path::Path>) -> Result<tokio_rustls::rustls::ClientConfig, String> {
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(extra) = ca_file {
        let shown = extra.display();
        let file = std::fs::File::open(extra).map_err(|e| format!("{shown}: {e}"))?;
        for cert in rustls_pemfile::certs(&mut std::io::BufReader::new(file)) {
            roots.add(cert.map_err(|e| format!("{shown}: {e}"))?).map_err(|e| format!("{shown}: {e}"))?;
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// An HTTP client (reqwest) on that TLS configuration.
pub fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls_client_config(None)?)
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// A request error as one line with its causes, without the URL (which may be
/// a credential, like a Slack webhook's).
pub fn error_text(e: reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let e = e.without_url();
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        let text = s.to_string();
        if !msg.contains(&text) {
            msg = format!("{msg}: {text}");
        }
        src = s.source();
    }
    msg
}
