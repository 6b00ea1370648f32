//! The benchmark's "capture+packet stages" line: read a capture through
//! wsdissect's own capture stage (`capture::read_capture`) and decode every
//! record with its packet stage (`packet::decode`), summing TCP payload
//! bytes, doing nothing else. (The floor every ratio is against is
//! examples/floor.rs, which uses no wsdissect code.)
//!
//! Usage: cargo run --release --example read_and_slice -- CAPTURE

fn main() {
    let path = std::env::args().nth(1).expect("CAPTURE");
    let file = std::fs::File::open(&path).expect("open");
    let mut packets = 0u64;
    let mut payload = 0u64;
    let summary = wsdissect::capture::read_capture(file, |rec| {
        packets += 1;
        if let wsdissect::packet::Decoded::Tcp(seg) = wsdissect::packet::decode(rec.link, rec.data)
        {
            payload += seg.payload.len() as u64;
        }
    })
    .expect("capture");
    println!(
        "{packets} packets, {payload} TCP payload bytes, {} bytes read",
        summary.bytes_read
    );
}
