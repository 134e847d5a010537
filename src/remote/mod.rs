//! Remote engines: `opsdeck serve` (the engine over WebSocket or stdio).

pub mod client;
pub mod prometheus;
pub mod server;
pub mod session;
pub mod token;

/// An HTTP client on rustls with the ring provider (no OpenSSL, no aws-lc).
pub fn http_client() -> Result<reqwest::Client, String> {
    use tokio_rustls::rustls;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}
