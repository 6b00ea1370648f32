//! The whole pipeline over arbitrary capture bytes: pcap or pcapng
//! framing, link layers, IP, TCP, HTTP, WebSocket, deflate. Seeded from
//! the captures in samples/.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsdissect::Config;
use wsdissect::event::Event;

fuzz_target!(|data: &[u8]| {
    let cfg = Config {
        max_ooo_bytes: 64 << 10,
        max_frame_bytes: 64 << 10,
        max_message_bytes: 64 << 10,
        max_inflated_bytes: 1 << 20,
        max_connections: 64,
        ..Config::default()
    };
    let mut frames = 0u64;
    let mut sink = |ev: Event<'_>| {
        if let Event::Frame(f) = ev {
            frames += 1;
            assert!(f.payload.len() as u64 <= f.header.payload_len);
            assert!(f.first_packet <= f.packet);
        }
    };
    let _ = wsdissect::run(data, &cfg, &mut sink);
});
