//! `opsdeck serve`: the engine over WebSocket (`/v1/stream`), plus `/healthz`
//! and `/metrics` (Prometheus text), optionally over TLS; or over stdio.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::IncomingStream;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use super::{session, token};
use crate::engine::Engine;
use crate::protocol::wire::{ErrorCode, MAX_FRAME_BYTES, ServerFrame, encode};

/// Server keepalive: a WebSocket ping this often; a peer silent for
/// `DEAD_AFTER` is dropped.
pub const PING_EVERY: Duration = Duration::from_secs(15);
pub const DEAD_AFTER: Duration = Duration::from_secs(45);
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// TLS handshakes in progress at once; more connections wait in the kernel's
/// accept queue.
const TLS_HANDSHAKES: usize = 64;
/// Outbound frames queued per client before the session waits.
const OUT_QUEUE: usize = 64;

pub struct ServeOptions {
    pub listen: SocketAddr,
    /// `None` = no authentication (only allowed on loopback; checked by the caller).
    pub token: Option<String>,
    pub tls: Option<(PathBuf, PathBuf)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{addr}: cannot listen: {source}\n  hint: pick a free port with --listen, e.g. 127.0.0.1:0")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(
        "{path}: {what}\n  hint: give a PEM certificate chain with --tls-cert and its PEM private key with --tls-key"
    )]
    Tls { path: String, what: String },
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

struct Shared {
    engine: Engine,
    token: Option<String>,
}

fn router(engine: Engine, token: Option<String>) -> Router {
    let shared = Arc::new(Shared { engine, token });
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/stream", get(stream))
        .with_state(shared)
}

/// Bind and serve until `shutdown` resolves. Returns the bound address through `bound`.
pub async fn serve(
    engine: Engine,
    opts: ServeOptions,
    bound: Option<tokio::sync::oneshot::Sender<SocketAddr>>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let tcp = TcpListener::bind(opts.listen).await.map_err(|source| ServeError::Bind { addr: opts.listen, source })?;
    let addr = tcp.local_addr()?;
    if let Some(b) = bound {
        let _ = b.send(addr);
    }
    let app = router(engine, opts.token).into_make_service_with_connect_info::<PeerAddr>();
    match opts.tls {
        None => {
            tracing::info!(%addr, "serving over plain HTTP");
            axum::serve(tcp, app).with_graceful_shutdown(shutdown).await?;
        }
        Some((cert, key)) => {
            let acceptor = tls_acceptor(&cert, &key)?;
            tracing::info!(%addr, "serving over TLS");
            axum::serve(TlsListener::new(tcp, acceptor)?, app).with_graceful_shutdown(shutdown).await?;
        }
    }
    Ok(())
}

fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<TlsAcceptor, ServeError> {
    let config =
        crate::net::tls_server_config(cert, key).map_err(|e| ServeError::Tls { path: e.path, what: e.what })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The peer's address, for logs (works for plain and TLS listeners).
#[derive(Clone, Copy, Debug)]
struct PeerAddr(SocketAddr);

impl Connected<IncomingStream<'_, TcpListener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        PeerAddr(*stream.remote_addr())
    }
}

/// Connections whose TLS handshake has completed. The handshakes run
/// concurrently (at most [`TLS_HANDSHAKES`], each for at most
/// [`TLS_HANDSHAKE_TIMEOUT`]) in tasks of their own, so a client that opens a
/// TCP connection and sends nothing holds up nobody else.
struct TlsListener {
    ready: mpsc::Receiver<(tokio_rustls::server::TlsStream<TcpStream>, SocketAddr)>,
    addr: SocketAddr,
    /// Accepts and hands out handshakes; stopped when the listener goes.
    acceptor: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<Self> {
        let addr = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(TLS_HANDSHAKES);
        let acceptor = tokio::spawn(accept_loop(tcp, acceptor, tx));
        Ok(TlsListener { ready, addr, acceptor })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(tokio_rustls::server::TlsStream<TcpStream>, SocketAddr)>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(TLS_HANDSHAKES));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let (conn, addr) = match tcp.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if ready.is_closed() {
            return;
        }
        let (acceptor, ready) = (acceptor.clone(), ready.clone());
        tokio::spawn(async move {
            let _slot = slot;
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(conn)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, addr)).await;
                }
                Ok(Err(e)) => tracing::debug!(%addr, "TLS handshake failed: {e}"),
                Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept loop only ends when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

async fn healthz(State(s): State<Arc<Shared>>) -> Response {
    let body = format!(
        "{{\"status\":\"ok\",\"version\":\"{}\",\"epoch\":{},\"head_seq\":{}}}\n",
        env!("CARGO_PKG_VERSION"),
        s.engine.epoch(),
        s.engine.head_seq()
    );
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn metrics(State(s): State<Arc<Shared>>) -> Response {
    let body = prometheus_text(&s.engine);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

async fn stream(
    State(s): State<Arc<Shared>>,
    ConnectInfo(PeerAddr(addr)): ConnectInfo<PeerAddr>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    if let Some(expected) = &s.token {
        let presented = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(token::bearer);
        if !presented.is_some_and(|p| token::matches(expected, p)) {
            // Never log what was presented.
            tracing::warn!(%addr, "refused /v1/stream: {} bearer token", if presented.is_some() { "wrong" } else { "no" });
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "missing or wrong bearer token\n",
            )
                .into_response();
        }
    }
    match ws {
        Ok(ws) => {
            let engine = s.engine.clone();
            ws.max_message_size(MAX_FRAME_BYTES).on_upgrade(move |socket| ws_session(engine, socket, addr))
        }
        Err(rejection) => rejection.into_response(),
    }
}

async fn ws_session(engine: Engine, mut socket: WebSocket, addr: SocketAddr) {
    tracing::info!(%addr, "stream client connected");
    let (in_tx, in_rx) = mpsc::channel::<String>(16);
    let (out_tx, mut out_rx) = mpsc::channel::<String>(OUT_QUEUE);
    let sess = tokio::spawn(session::run(engine, session::Peer::Remote, in_rx, out_tx.clone()));
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.reset();
    let mut last_heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            m = socket.recv() => match m {
                Some(Ok(Message::Text(t))) => {
                    last_heard = tokio::time::Instant::now();
                    if in_tx.send(t.to_string()).await.is_err() { break; }
                }
                Some(Ok(Message::Binary(_))) => {
                    last_heard = tokio::time::Instant::now();
                    let f = ServerFrame::Error { code: ErrorCode::BinaryFrame, message: "only text frames are used".into(), id: None };
                    if socket.send(Message::Text(encode(&f).into())).await.is_err() { break; }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => last_heard = tokio::time::Instant::now(),
                Some(Ok(Message::Close(_))) | None => break,
                Some(Err(e)) => {
                    tracing::debug!(%addr, "stream read: {e}");
                    let f = ServerFrame::Error { code: ErrorCode::FrameTooLarge, message: e.to_string(), id: None };
                    let _ = socket.send(Message::Text(encode(&f).into())).await;
                    break;
                }
            },
            f = out_rx.recv() => match f {
                Some(text) => if socket.send(Message::Text(text.into())).await.is_err() { break; },
                None => break,
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > DEAD_AFTER {
                    tracing::info!(%addr, "stream client silent for {DEAD_AFTER:?}: dropping it");
                    break;
                }
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() { break; }
            }
        }
    }
    sess.abort();
    let _ = socket.send(Message::Close(None)).await;
    tracing::info!(%addr, "stream client disconnected");
}

/// The same protocol over stdin/stdout, one JSON frame per line (for `ssh host opsdeck serve --stdio`).
pub async fn serve_stdio(engine: Engine) -> std::io::Result<()> {
    serve_lines(engine, session::Peer::Remote, tokio::io::stdin(), tokio::io::stdout()).await
}

/// Serve one client speaking the protocol as JSON lines on `reader`/`writer`
/// (stdio, or a control-socket connection) until it closes its side.
pub async fn serve_lines<R, W>(engine: Engine, peer: session::Peer, reader: R, mut writer: W) -> std::io::Result<()>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (in_tx, in_rx) = mpsc::channel::<String>(16);
    let (out_tx, mut out_rx) = mpsc::channel::<String>(OUT_QUEUE);
    let sess = tokio::spawn(session::run(engine, peer, in_rx, out_tx.clone()));
    let writer = tokio::spawn(async move {
        while let Some(line) = out_rx.recv().await {
            if writer.write_all(line.as_bytes()).await.is_err() || writer.write_all(b"\n").await.is_err() {
                return;
            }
            if writer.flush().await.is_err() {
                return;
            }
        }
    });
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        // Bounded read: a line over the limit is refused without buffering it whole.
        let n = (&mut reader).take(MAX_FRAME_BYTES as u64 + 1).read_until(b'\n', &mut buf).await?;
        if n == 0 {
            break;
        }
        if buf.len() > MAX_FRAME_BYTES {
            let f = ServerFrame::Error {
                code: ErrorCode::FrameTooLarge,
                message: format!("line over {MAX_FRAME_BYTES} bytes"),
                id: None,
            };
            let _ = out_tx.send(encode(&f)).await;
            break;
        }
        let line = String::from_utf8_lossy(&buf).trim_end_matches(['\n', '\r']).to_string();
        if line.is_empty() {
            continue;
        }
        if in_tx.send(line).await.is_err() {
            break;
        }
    }
    drop(in_tx);
    let _ = sess.await;
    drop(out_tx);
    let _ = writer.await;
    Ok(())
}

/// A sample value as the text exposition format spells it: `NaN`, `+Inf`,
/// `-Inf` (Rust's `inf` fails a scrape whole).
fn num(v: f64) -> String {
    match v {
        v if v.is_nan() => "NaN".into(),
        f64::INFINITY => "+Inf".into(),
        f64::NEG_INFINITY => "-Inf".into(),
        v => v.to_string(),
    }
}

/// The newest host sample in the Prometheus text exposition format.
pub fn prometheus_text(engine: &Engine) -> String {
    let mut o = String::new();
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    let family = |o: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
    };
    family(&mut o, "opsdeck_up", "gauge", "1 while the engine runs.");
    let _ = writeln!(o, "opsdeck_up 1");
    family(&mut o, "opsdeck_events_head_seq", "gauge", "Sequence number of the newest event.");
    let _ = writeln!(o, "opsdeck_events_head_seq {}", engine.head_seq());
    let Some(h) = engine.latest_sample() else { return o };
    family(&mut o, "opsdeck_host_cpu_usage_percent", "gauge", "CPU busy, all cores.");
    let _ = writeln!(o, "opsdeck_host_cpu_usage_percent {}", num(h.cpu_total.into()));
    family(&mut o, "opsdeck_host_cpu_core_usage_percent", "gauge", "CPU busy per logical core.");
    for (i, c) in h.cpu_cores.iter().enumerate() {
        let _ = writeln!(o, "opsdeck_host_cpu_core_usage_percent{{core=\"{i}\"}} {}", num((*c).into()));
    }
    family(&mut o, "opsdeck_host_load", "gauge", "Load average.");
    for (p, v) in ["1", "5", "15"].iter().zip(h.load) {
        let _ = writeln!(o, "opsdeck_host_load{{period=\"{p}m\"}} {}", num(v));
    }
    family(&mut o, "opsdeck_host_memory_bytes", "gauge", "Memory.");
    let _ = writeln!(o, "opsdeck_host_memory_bytes{{kind=\"used\"}} {}", h.mem_used);
    let _ = writeln!(o, "opsdeck_host_memory_bytes{{kind=\"total\"}} {}", h.mem_total);
    let _ = writeln!(o, "opsdeck_host_memory_bytes{{kind=\"swap_used\"}} {}", h.swap_used);
    let _ = writeln!(o, "opsdeck_host_memory_bytes{{kind=\"swap_total\"}} {}", h.swap_total);
    family(&mut o, "opsdeck_host_filesystem_bytes", "gauge", "Filesystem size and free space.");
    for d in &h.disks {
        let m = esc(&d.mount);
        let _ = writeln!(o, "opsdeck_host_filesystem_bytes{{mount=\"{m}\",kind=\"total\"}} {}", d.total);
        let _ = writeln!(o, "opsdeck_host_filesystem_bytes{{mount=\"{m}\",kind=\"available\"}} {}", d.available);
    }
    family(&mut o, "opsdeck_host_disk_io_bytes_per_second", "gauge", "Disk IO rate, all disks.");
    let _ = writeln!(o, "opsdeck_host_disk_io_bytes_per_second{{direction=\"read\"}} {}", num(h.disk_read_bps));
    let _ = writeln!(o, "opsdeck_host_disk_io_bytes_per_second{{direction=\"write\"}} {}", num(h.disk_write_bps));
    family(&mut o, "opsdeck_host_network_bytes_total", "counter", "Bytes through each interface.");
    for n in &h.nets {
        let i = esc(&n.name);
        let _ = writeln!(o, "opsdeck_host_network_bytes_total{{interface=\"{i}\",direction=\"rx\"}} {}", n.rx_total);
        let _ = writeln!(o, "opsdeck_host_network_bytes_total{{interface=\"{i}\",direction=\"tx\"}} {}", n.tx_total);
    }
    o
}

#[cfg(test)]
mod tests {
    use super::num;

    #[test]
    fn metrics_values_are_spelled_as_the_text_format_wants() {
        assert_eq!(
            [num(f64::NAN), num(f64::INFINITY), num(f64::NEG_INFINITY), num(2.5)],
            ["NaN", "+Inf", "-Inf", "2.5"]
        );
    }
}
