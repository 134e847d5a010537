//! A real `opsdeck serve` process and a WebSocket client for protocol tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use opsdeck::protocol::wire::{ClientFrame, ServerFrame, decode_server, encode};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A failure bound, not a synchronisation.
pub const LIMIT: Duration = Duration::from_secs(20);

pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn envs(cmd: &mut Command, home: &Path) {
    cmd.env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("OPSDECK_RUNTIME_DIR", home.join("run"))
        .env_remove("OPSDECK_TOKEN")
        .env_remove("OPSDECK_DATA_DIR");
}

/// Start `opsdeck serve` on a free loopback port; read the bound address from stderr.
pub fn start(home: &Path, extra: &[&str]) -> Server {
    start_at(home, "127.0.0.1:0", extra)
}

pub fn start_at(home: &Path, listen: &str, extra: &[&str]) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    cmd.args(["--refresh", "100ms", "serve", "--listen", listen]).args(extra);
    envs(&mut cmd, home);
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn serve");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(a) = line.strip_prefix("opsdeck serve: listening on ") {
                let _ = tx.send(a.trim().to_string());
            }
        }
    });
    let addr = rx.recv_timeout(LIMIT).expect("server did not report its address").parse().expect("address");
    Server { child, addr }
}

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(addr: SocketAddr, token: Option<&str>) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut req = format!("ws://{addr}/v1/stream").into_client_request().expect("request");
    if let Some(t) = token {
        req.headers_mut().insert("Authorization", format!("Bearer {t}").parse().expect("header"));
    }
    Ok(tokio_tungstenite::connect_async(req).await?.0)
}

pub async fn send(ws: &mut Ws, frame: &ClientFrame) {
    ws.send(Message::Text(encode(frame).into())).await.expect("send");
}

/// Next protocol frame (skipping WebSocket control frames); None when closed.
pub async fn next_frame(ws: &mut Ws) -> Option<ServerFrame> {
    loop {
        match timeout(LIMIT, ws.next()).await.expect("a frame within the limit")? {
            Ok(Message::Text(t)) => return Some(decode_server(&t).expect("valid server frame")),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}
