//! Writes a deterministic synthetic capture for the benchmark.
//!
//! Usage: cargo run --release --example synth_capture -- OUT.pcap MIB [mixed|small]
//!
//! mixed: 2,000 interleaved connections, one in three over IPv6 (upgrade,
//! then text and binary frames of every length class: 7-bit, 16-bit and
//! 64-bit lengths, masked client frames with a fresh key each, fragmented
//! messages with a ping between fragments, a close at the end).
//! small: the same connections exchanging 2-172 byte frames, one a segment.
//!
//! The same arguments always give the same bytes.

#[path = "../tests/common/synth.rs"]
#[allow(dead_code)]
mod synth;

use std::io::Write;

const CONNS: u32 = 2000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(out) = args.get(1) else {
        eprintln!("usage: synth_capture OUT.pcap MIB [mixed|small]");
        std::process::exit(2);
    };
    let mib: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100);
    let small = args.get(3).is_some_and(|p| p == "small");
    let target = mib << 20;
    let file = std::fs::File::create(out).unwrap_or_else(|e| {
        eprintln!("{out}: {e}");
        std::process::exit(2);
    });
    let mut file = std::io::BufWriter::new(file);
    let mut cap = synth::Pcap::new();
    let mut flows: Vec<synth::Flow> = (0..CONNS)
        .map(|n| {
            if n % 3 == 2 {
                synth::Flow::new_v6(n)
            } else {
                synth::Flow::new(n)
            }
        })
        .collect();
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
    // Text payloads are cut from this (valid UTF-8 at every char boundary).
    let text: String = "WebSocket — frames, ping/pong, ünïcödé ✓ "
        .repeat(8000)
        .chars()
        .collect();
    let mut bytes = Vec::new();
    while written + cap.bytes.len() as u64 <= target {
        let i = (next() % u64::from(CONNS)) as usize;
        let from_client = next() % 2 == 0;
        let r = next();
        let key = (next() as u32).to_be_bytes();
        let len = if small {
            2 + (r % 171) as usize
        } else {
            match r % 100 {
                0..=60 => (r >> 8) as usize % 126,
                61..=97 => 126 + (r >> 8) as usize % 6000,
                _ => 65536 + (r >> 8) as usize % 120_000,
            }
        };
        let is_text = (r >> 40) % 2 == 0;
        let payload: Vec<u8> = if is_text {
            let mut end = len.min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.as_bytes()[..end].to_vec()
        } else {
            (0..len)
                .map(|j| (j as u8).wrapping_mul(31) ^ (r as u8))
                .collect()
        };
        let op = if is_text { 0x1 } else { 0x2 };
        bytes.clear();
        if !small && r % 17 == 0 && len > 10 {
            // A fragmented message with a ping between its fragments.
            let mut cut = len / 2;
            while is_text && !text.is_char_boundary(cut) {
                cut -= 1;
            }
            bytes.extend(synth::frame_keyed(from_client, op, &payload[..cut], key));
            bytes.extend(synth::frame_keyed(from_client, 0x89, b"ping", key));
            bytes.extend(synth::frame_keyed(from_client, 0x80, &payload[cut..], key));
            frames += 3;
        } else {
            bytes.extend(synth::frame_keyed(from_client, 0x80 | op, &payload, key));
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
    file.flush().expect("write");
    eprintln!(
        "{out}: {} MiB, {CONNS} connections, {frames} frames",
        written >> 20
    );
}
