//! The streamable HTTP transport: rmcp's reqwest client on opsdeck's rustls
//! configuration, a bearer token from the secrets store, and recovery of a
//! session the server forgot.
//!
//! Servers written after the TypeScript SDK's example answer a request with an
//! unknown session id (after the server restarted) with `400` and a JSON-RPC
//! error without an id, which rmcp cannot route: the call would hang until its
//! timeout, and every later call too. Such an answer is turned into "session
//! expired", so rmcp initializes a new session and retries the request once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::BoxStream;
use reqwest::header::{HeaderName, HeaderValue};
use rmcp::ServiceExt;
use rmcp::model::{ClientJsonRpcMessage, JsonRpcMessage};
use rmcp::service::ClientInitializeError;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpClient, StreamableHttpClientTransportConfig, StreamableHttpError,
    StreamableHttpPostResponse,
};
use sse_stream::Sse;

use super::connect::{ConnectError, Handler, Service};

/// reqwest, plus: an id-less error answer to a request in a session means the session is gone.
#[derive(Clone)]
pub(super) struct Client(reqwest::Client);

type PostResult = Result<StreamableHttpPostResponse, StreamableHttpError<reqwest::Error>>;

fn forgotten_session(session_id: &Option<Arc<str>>, r: PostResult) -> PostResult {
    match r {
        Ok(StreamableHttpPostResponse::Json(JsonRpcMessage::Error(e), _)) if e.id.is_none() && session_id.is_some() => {
            tracing::info!(target: "mcp", "the server forgot our session ({}); starting a new one", e.error.message);
            Err(StreamableHttpError::SessionExpired)
        }
        r => r,
    }
}

impl StreamableHttpClient for Client {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> PostResult {
        let r = self.0.post_message(uri, message, session_id.clone(), auth_header, custom_headers).await;
        forgotten_session(&session_id, r)
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> PostResult {
        let r = self
            .0
            .post_message_with_max_sse_event_size(
                uri,
                message,
                session_id.clone(),
                auth_header,
                custom_headers,
                max_sse_event_size,
            )
            .await;
        forgotten_session(&session_id, r)
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        self.0.delete_session(uri, session_id, auth_header, custom_headers).await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        self.0.get_stream(uri, session_id, last_event_id, auth_header, custom_headers).await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        self.0
            .get_stream_with_max_sse_event_size(
                uri,
                session_id,
                last_event_id,
                auth_header,
                custom_headers,
                max_sse_event_size,
            )
            .await
    }
}

/// The innermost cause of an error in plain words: a request error as
/// `crate::net::request_error` says it (`connection refused (127.0.0.1:9)`),
/// else the innermost cause rather than the chain of transport wrappers.
pub(super) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut e = e;
    loop {
        if let Some(r) = e.downcast_ref::<reqwest::Error>() {
            return crate::net::request_error(r);
        }
        // rmcp's client error does not name the reqwest error as its source.
        let next = match e.downcast_ref::<StreamableHttpError<reqwest::Error>>() {
            Some(StreamableHttpError::Client(inner)) => Some(inner as &(dyn std::error::Error + 'static)),
            _ => e.source(),
        };
        match next {
            Some(n) => e = n,
            None => return crate::net::strip_os_error(&e.to_string()),
        }
    }
}

/// Why the handshake failed, without the transport wrappers.
pub(super) fn init_error(e: &ClientInitializeError) -> String {
    match e {
        ClientInitializeError::TransportError { error, .. } => root_cause(error),
        e => root_cause(e),
    }
}

/// Connect to a streamable HTTP server (bearer token from the secret `token_secret`).
pub(super) async fn connect(
    handler: Handler,
    url: &str,
    token_secret: Option<&str>,
    config_dir: &Path,
    timeout: Duration,
) -> Result<Service, ConnectError> {
    let token = match token_secret {
        None => None,
        Some(secret) => {
            let (name, dir) = (secret.to_string(), config_dir.to_path_buf());
            let found = tokio::task::spawn_blocking(move || crate::secrets::get(&name, &dir))
                .await
                .map_err(|e| ConnectError::Retry(format!("reading the token: {e}")))?;
            match found {
                Ok(Some(found)) => Some(found.value),
                Ok(None) => {
                    return Err(ConnectError::Fatal(format!(
                        "no secret named {secret} for its token (opsdeck key set {secret})"
                    )));
                }
                Err(e) => return Err(ConnectError::Retry(format!("reading the token: {e}"))),
            }
        }
    };
    let ca_file = std::env::var_os("OPSDECK_CA_FILE").filter(|v| !v.is_empty()).map(PathBuf::from);
    let tls = crate::net::tls_client_config(ca_file.as_deref()).map_err(ConnectError::Fatal)?;
    // No overall timeout: responses may be long SSE streams. Calls are bounded by the tool timeout.
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| ConnectError::Fatal(format!("HTTP client: {e}")))?;
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    if let Some(t) = token {
        config = config.auth_header(t);
    }
    let transport = StreamableHttpClientTransport::with_client(Client(client), config);
    match tokio::time::timeout(timeout, handler.serve(transport)).await {
        Ok(Ok(service)) => Ok(service),
        Ok(Err(e)) => Err(ConnectError::Retry(format!("cannot connect to {url}: {}", init_error(&e)))),
        Err(_) => Err(ConnectError::Retry(format!("no answer from {url} within {timeout:?}"))),
    }
}
