//! Writes a deterministic synthetic capture for the benchmark.
//!
//! Usage: cargo run --release --example synth_capture -- OUT.pcap MIB [mixed|small] [--keylog KEYLOG]
//!
//! mixed: 2,000 interleaved connections, one in three over IPv6 (upgrade,
//! then text and binary frames of every length class: 7-bit, 16-bit and
//! 64-bit lengths, masked client frames with a fresh key each, fragmented
//! messages with a ping between fragments, a close at the end).
//! small: the same connections exchanging 2-172 byte frames, one a segment.
//! --keylog KEYLOG: the same traffic in TLS 1.3 (TLS_AES_128_GCM_SHA256),
//! its traffic secrets written to KEYLOG (NSS key log format); the capture
//! is a little larger than MIB (the record headers, tags and handshakes).
//!
//! The same arguments always give the same bytes.

#[path = "../tests/common/synth.rs"]
#[allow(dead_code)]
mod synth;
#[path = "../tests/common/synth_mixed.rs"]
mod synth_mixed;

fn create(path: &str) -> std::io::BufWriter<std::fs::File> {
    let file = std::fs::File::create(path).unwrap_or_else(|e| {
        eprintln!("{path}: {e}");
        std::process::exit(2);
    });
    std::io::BufWriter::new(file)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(out) = args.get(1) else {
        eprintln!("usage: synth_capture OUT.pcap MIB [mixed|small] [--keylog KEYLOG]");
        std::process::exit(2);
    };
    let mib: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100);
    let small = args.get(3).is_some_and(|p| p == "small");
    let keylog_path = args
        .iter()
        .position(|a| a == "--keylog")
        .and_then(|i| args.get(i + 1));
    let mut file = create(out);
    let mut keylog = keylog_path.map(|k| create(k));
    let (written, frames) = synth_mixed::generate(
        &mut file,
        mib << 20,
        small,
        keylog.as_mut().map(|k| k as &mut dyn std::io::Write),
    )
    .unwrap_or_else(|e| {
        eprintln!("{out}: {e}");
        std::process::exit(2);
    });
    eprintln!(
        "{out}: {} MiB, {} connections, {frames} frames",
        written >> 20,
        synth_mixed::CONNS
    );
}
