//! The transports under a backend connection: a WebSocket (`ws://`, `wss://`,
//! TLS through rustls) or an `ssh` child running `opsdeck serve --stdio`,
//! each carrying one text frame per message.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::{BackendSpec, Failure};
use crate::protocol::wire::{ClientFrame, MAX_FRAME_BYTES, encode};

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(super) struct SshConn {
    child: Child,
    stdin: ChildStdin,
    lines: tokio::io::Lines<BufReader<ChildStdout>>,
}

pub(super) enum Conn {
    Ws(Box<Ws>),
    Ssh(Box<SshConn>),
}

impl Conn {
    pub(super) async fn open(spec: &BackendSpec) -> Result<Conn, Failure> {
        if let Some(rest) = spec.url.strip_prefix("ssh://") {
            return Ok(Self::ssh(rest, &spec.ssh)?);
        }
        if !(spec.url.starts_with("ws://") || spec.url.starts_with("wss://")) {
            return Err(format!("{}: unsupported URL (use ws://, wss:// or ssh://)", spec.url).into());
        }
        let url = format!("{}/v1/stream", spec.url.trim_end_matches('/').trim_end_matches("/v1/stream"));
        let mut req = url.as_str().into_client_request().map_err(|e| format!("{url}: {e}"))?;
        if let Some(t) = &spec.token {
            let v = format!("Bearer {t}")
                .parse()
                .map_err(|_| "the token has characters a header cannot carry".to_string())?;
            req.headers_mut().insert("Authorization", v);
        }
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME_BYTES));
        let connector = if url.starts_with("wss://") { Some(tls_connector(spec.ca_file.as_deref())?) } else { None };
        let fut = tokio_tungstenite::connect_async_tls_with_config(req, Some(config), false, connector);
        match tokio::time::timeout(Duration::from_secs(15), fut).await {
            Err(_) => Err("connect timed out".into()),
            Ok(Err(tokio_tungstenite::tungstenite::Error::Http(resp)))
                if matches!(resp.status().as_u16(), 401 | 403) =>
            {
                let status = resp.status().as_u16();
                let why = if spec.token.is_some() { "the token was refused" } else { "no token is set" };
                let text = format!(
                    "HTTP {status}: {why}; set it with `opsdeck key set backend:{}`, then reconnect",
                    spec.name
                );
                Err(Failure::Refused { status, text })
            }
            Ok(Err(e)) => Err(crate::net::strip_os_error(&e.to_string()).into()),
            Ok(Ok((ws, _))) => Ok(Conn::Ws(Box::new(ws))),
        }
    }

    /// `ssh://[user@]host[:port]`: runs `opsdeck serve --stdio` there with `program`.
    pub(super) fn ssh(rest: &str, program: &str) -> Result<Conn, String> {
        let target = rest.trim_end_matches('/');
        let (host, port) = match target.rsplit_once(':') {
            Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => (h, Some(p)),
            _ => (target, None),
        };
        if host.is_empty() || host.starts_with('-') {
            return Err(format!("ssh://{rest}: not a host"));
        }
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(["-T", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=15"]);
        if let Some(p) = port {
            cmd.args(["-p", p]);
        }
        cmd.arg("--").arg(host).args(["opsdeck", "serve", "--stdio"]);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        cmd.kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| format!("starting {program}: {}", crate::net::io_text(&e)))?;
        let stdin = child.stdin.take().ok_or("ssh: no stdin")?;
        let stdout = child.stdout.take().ok_or("ssh: no stdout")?;
        Ok(Conn::Ssh(Box::new(SshConn { child, stdin, lines: BufReader::new(stdout).lines() })))
    }

    pub(super) async fn send(&mut self, text: String) -> Result<(), String> {
        match self {
            Conn::Ws(ws) => ws.send(Message::Text(text.into())).await.map_err(|e| e.to_string()),
            Conn::Ssh(c) => {
                let stdin = &mut c.stdin;
                stdin.write_all(text.as_bytes()).await.map_err(|e| e.to_string())?;
                stdin.write_all(b"\n").await.map_err(|e| e.to_string())?;
                stdin.flush().await.map_err(|e| e.to_string())
            }
        }
    }

    /// The next text frame; `None` when the peer closed.
    pub(super) async fn recv(&mut self) -> Option<Result<String, String>> {
        match self {
            Conn::Ws(ws) => loop {
                match ws.next().await? {
                    Ok(Message::Text(t)) => return Some(Ok(t.to_string())),
                    Ok(Message::Close(_)) => return None,
                    Ok(_) => continue,
                    Err(e) => return Some(Err(e.to_string())),
                }
            },
            Conn::Ssh(c) => match c.lines.next_line().await {
                Ok(Some(l)) if l.len() > MAX_FRAME_BYTES => Some(Err("frame over the size limit".into())),
                Ok(Some(l)) => Some(Ok(l)),
                Ok(None) => None,
                Err(e) => Some(Err(e.to_string())),
            },
        }
    }

    pub(super) async fn ping(&mut self, nonce: u64) -> Result<(), String> {
        match self {
            Conn::Ws(ws) => {
                ws.send(Message::Ping(nonce.to_be_bytes().to_vec().into())).await.map_err(|e| e.to_string())
            }
            Conn::Ssh(_) => self.send(encode(&ClientFrame::Ping { nonce })).await,
        }
    }

    pub(super) async fn close(&mut self) {
        match self {
            Conn::Ws(ws) => {
                // The inherent close (sends a Close frame), not SinkExt::close on the Box.
                let _ = Ws::close(ws, None).await;
            }
            Conn::Ssh(c) => {
                let _ = c.child.kill().await;
            }
        }
    }
}

fn tls_connector(ca_file: Option<&std::path::Path>) -> Result<tokio_tungstenite::Connector, String> {
    Ok(tokio_tungstenite::Connector::Rustls(crate::net::tls_client_config(ca_file)?))
}
