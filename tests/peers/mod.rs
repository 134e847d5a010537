//! Helpers for tests that run real third-party peers (Prometheus,
//! Alertmanager, MCP servers, a llama.cpp server, a Prefect server, an SMTP server): a child killed when the
//! test ends, and a free loopback port.
#![allow(dead_code)]

pub mod llama;
pub mod prefect;
pub mod smtp;

use std::process::Child;

/// A child process killed (by its pid) when the test ends, however it ends.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nothing listens on right now (127.0.0.1).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}
