//! A scripted HTTP/1.1 server on 127.0.0.1:0 for chat tests: each connection
//! gets the next scripted response (the last one repeats), written as
//! chunked pieces (whole, or trickled a byte per chunk), and the server
//! records every request and tells when a client closed a connection it was
//! holding open.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// One piece of a scripted response body.
#[derive(Debug, Clone)]
pub enum Step {
    /// Written as one chunk.
    Bytes(Vec<u8>),
    /// Written one byte per chunk, each flushed.
    Trickle(Vec<u8>),
    /// Close the connection now, without the body's last chunk (a drop).
    Drop,
    /// Write nothing more; hold the connection until the client closes it.
    Hang,
}

/// One scripted response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<Step>,
}

impl Reply {
    /// A `text/event-stream` response of these steps.
    pub fn sse(body: Vec<Step>) -> Self {
        Reply { status: 200, headers: vec![("content-type".into(), "text/event-stream".into())], body }
    }

    /// A JSON (or text) response with a status.
    pub fn json(status: u16, body: &str) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: vec![Step::Bytes(body.as_bytes().to_vec())],
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
}

/// `data: …\n\n` for each item.
pub fn events(data: &[&str]) -> Vec<u8> {
    data.iter().map(|d| format!("data: {d}\n\n")).collect::<String>().into_bytes()
}

/// `event: NAME\ndata: …\n\n` for each pair.
pub fn named_events(events: &[(&str, &str)]) -> Vec<u8> {
    events.iter().map(|(n, d)| format!("event: {n}\ndata: {d}\n\n")).collect::<String>().into_bytes()
}

/// A request as the server read it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON request body")
    }
}

pub struct Server {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    /// A message each time a client closes a connection held by `Step::Hang`.
    pub closed: mpsc::UnboundedReceiver<()>,
}

impl Server {
    pub async fn start(replies: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (closed_tx, closed) = mpsc::unbounded_channel();
        let recorded = requests.clone();
        tokio::spawn(async move {
            let mut n = 0usize;
            while let Ok((sock, _)) = listener.accept().await {
                let reply = replies[n.min(replies.len() - 1)].clone();
                n += 1;
                let (recorded, closed_tx) = (recorded.clone(), closed_tx.clone());
                tokio::spawn(async move { serve(sock, reply, recorded, closed_tx).await });
            }
        });
        Server { port, requests, closed }
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

/// A port nothing listens on (bound, then released).
pub async fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    l.local_addr().expect("addr").port()
}

async fn serve(
    mut sock: TcpStream,
    reply: Reply,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    closed: mpsc::UnboundedSender<()>,
) {
    let Some(req) = read_request(&mut sock).await else { return };
    recorded.lock().unwrap().push(req);
    let reason = match reply.status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut head = format!("HTTP/1.1 {} {reason}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n", reply.status);
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    if sock.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    for step in &reply.body {
        let pieces: Vec<&[u8]> = match step {
            Step::Bytes(b) => vec![b.as_slice()],
            Step::Trickle(b) => b.chunks(1).collect(),
            Step::Drop => return,
            Step::Hang => {
                let mut buf = [0u8; 256];
                // Until the client closes (read 0) or resets the connection.
                while let Ok(n) = sock.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
                let _ = closed.send(());
                return;
            }
        };
        for p in pieces {
            if p.is_empty() {
                continue;
            }
            let chunk = [format!("{:x}\r\n", p.len()).as_bytes(), p, b"\r\n"].concat();
            if sock.write_all(&chunk).await.is_err() || sock.flush().await.is_err() {
                return;
            }
        }
    }
    let _ = sock.write_all(b"0\r\n\r\n").await;
    let _ = sock.shutdown().await;
}

async fn read_request(sock: &mut TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Recorded { method, path, headers, body: buf[head_end..head_end + len].to_vec() })
}
