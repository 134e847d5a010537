//! Any text a peer may send over the WebSocket: decoding a client or a server
//! frame never panics, and a decoded frame encodes again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use opsdeck::protocol::wire::{decode_client, decode_server, encode};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(f) = decode_client(text) {
        let _ = encode(&f);
    }
    if let Ok(f) = decode_server(text) {
        let _ = encode(&f);
    }
});
