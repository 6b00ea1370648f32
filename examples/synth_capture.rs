//! Writes a deterministic synthetic capture for the benchmark.
//!
//! Usage: cargo run --release --example synth_capture -- OUT.pcap MIB [mixed|small]
//!
//! mixed: ~2,000 interleaved IPv4 connections (upgrade, then frames of every
//! length class: 7-bit, 16-bit and 64-bit lengths, masked client frames,
//! fragmented messages with pings between fragments, a close at the end).
//! small: many connections exchanging 2-40 byte frames.

#[path = "../tests/common/synth.rs"]
mod synth;

use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = args.get(1).expect("OUT.pcap");
    let mib: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100);
    let small = args.get(3).is_some_and(|p| p == "small");
    let target = mib << 20;
    let mut file = std::io::BufWriter::new(std::fs::File::create(out).expect("create"));
    let mut cap = synth::Pcap::new();
    let conns = 2000u32;
    let mut flows: Vec<synth::Flow> = (0..conns).map(synth::Flow::new).collect();
    for f in flows.iter_mut() {
        f.open(&mut cap);
        f.upgrade(&mut cap, false);
    }
    let mut written = 0u64;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut frames = 0u64;
    while written + cap.bytes.len() as u64 <= target {
        let i = (next() % u64::from(conns)) as usize;
        let from_client = next() % 2 == 0;
        let r = next();
        let len = if small {
            2 + (r % 39) as usize
        } else {
            match r % 100 {
                0..=59 => (r >> 8) as usize % 126,
                60..=94 => 126 + (r >> 8) as usize % 8000,
                _ => 65536 + (r >> 8) as usize % 200_000,
            }
        };
        let payload: Vec<u8> = (0..len)
            .map(|j| (j as u8).wrapping_mul(31) ^ (r as u8))
            .collect();
        let mut bytes = Vec::new();
        if !small && r % 17 == 0 && len > 10 {
            // A fragmented text-free binary message with a ping between fragments.
            let cut = len / 2;
            bytes.extend(synth::frame(from_client, 0x02, &payload[..cut]));
            bytes.extend(synth::frame(from_client, 0x89, b"ping"));
            bytes.extend(synth::frame(from_client, 0x80, &payload[cut..]));
            frames += 3;
        } else {
            bytes.extend(synth::frame(from_client, 0x82, &payload));
            frames += 1;
        }
        flows[i].send(&mut cap, from_client, &bytes);
        if cap.bytes.len() > 8 << 20 {
            written += cap.bytes.len() as u64;
            file.write_all(&cap.bytes).expect("write");
            cap.bytes.clear();
        }
    }
    for f in flows.iter_mut() {
        f.send(&mut cap, true, &synth::frame(true, 0x88, &[0x03, 0xe8]));
        frames += 1;
    }
    written += cap.bytes.len() as u64;
    file.write_all(&cap.bytes).expect("write");
    eprintln!(
        "{out}: {} MiB, {conns} connections, {frames} frames",
        written >> 20
    );
}
