//! Hostile and damaged captures, generated deterministically: nothing
//! panics or hangs, memory stays bounded, the damage is named, and the
//! intact frames around it are still reported.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::synth::{Flow, Pcap, frame, pcapng};
use flate2::{Compress, Compression, FlushCompress};
use wsdissect::event::Event;
use wsdissect::{Config, run as analyze};

#[derive(Default, Debug)]
struct Seen {
    frames: Vec<(u8, Vec<u8>)>,
    messages: usize,
    findings: BTreeMap<String, usize>,
}

fn run_with(bytes: &[u8], cfg: &Config, limit: Duration) -> Seen {
    let mut s = Seen::default();
    let t = Instant::now();
    analyze(bytes, cfg, &mut |ev: Event<'_>| match ev {
        Event::Frame(f) => s.frames.push((f.header.opcode.as_u8(), f.payload.to_vec())),
        Event::Message(_) => s.messages += 1,
        Event::Finding(f) => *s.findings.entry(f.code.as_str().to_string()).or_default() += 1,
        _ => {}
    })
    .unwrap();
    assert!(t.elapsed() < limit, "took {:?}", t.elapsed());
    s
}

fn run(bytes: &[u8]) -> Seen {
    run_with(bytes, &Config::default(), Duration::from_secs(20))
}

/// A capture holding one connection, opened and upgraded (with
/// permessage-deflate when asked), ready for frames.
fn upgraded(deflate: bool) -> (Pcap, Flow) {
    let mut cap = Pcap::new();
    let mut f = Flow::new(1);
    f.open(&mut cap);
    f.upgrade(&mut cap, deflate);
    (cap, f)
}

fn marker(i: u32) -> Vec<u8> {
    format!("intact {i}").into_bytes()
}

fn has_marker(s: &Seen, i: u32) -> bool {
    s.frames.iter().any(|f| f.1 == marker(i))
}

#[test]
fn huge_length_fields_end_the_stream_not_the_run() {
    for len_field in [1u64 << 62, (1u64 << 63) | 5, u64::MAX] {
        let mut cap = Pcap::new();
        let mut a = Flow::new(1);
        let mut b = Flow::new(2);
        for f in [&mut a, &mut b] {
            f.open(&mut cap);
            f.upgrade(&mut cap, false);
        }
        a.send(&mut cap, false, &frame(false, 0x81, &marker(1)));
        let mut hostile = vec![0x82, 0x7f];
        hostile.extend_from_slice(&len_field.to_be_bytes());
        hostile.extend_from_slice(&[0u8; 3000]);
        a.send(&mut cap, false, &hostile);
        b.send(&mut cap, false, &frame(false, 0x81, &marker(2)));
        let s = run(&cap.bytes);
        assert!(has_marker(&s, 1) && has_marker(&s, 2), "{len_field:x}");
        assert_eq!(
            s.findings.get("stream.incomplete-frame"),
            Some(&1),
            "{len_field:x}"
        );
        if len_field >> 63 != 0 {
            assert_eq!(s.findings.get("frame.length-msb-set"), Some(&1));
        }
    }
}

#[test]
fn a_million_tiny_frames() {
    let (mut cap, mut f) = upgraded(false);
    let one = frame(false, 0x82, b"");
    let batch: Vec<u8> = one
        .iter()
        .copied()
        .cycle()
        .take(one.len() * 50_000)
        .collect();
    for _ in 0..20 {
        f.send(&mut cap, false, &batch);
    }
    let s = run_with(
        &cap.bytes,
        &Config {
            keep_frame_payload: false,
            keep_message_data: false,
            ..Config::default()
        },
        Duration::from_secs(30),
    );
    assert_eq!(s.frames.len(), 1_000_000);
    assert!(s.findings.is_empty(), "{:?}", s.findings);
}

#[test]
fn a_fragmented_message_that_never_ends_stays_within_its_cap() {
    let (mut cap, mut f) = upgraded(false);
    f.send(&mut cap, false, &frame(false, 0x02, &[1u8; 1000]));
    let cont = frame(false, 0x00, &[2u8; 60_000]);
    for _ in 0..200 {
        f.send(&mut cap, false, &cont); // 12 MB, never FIN
    }
    let cfg = Config {
        max_message_bytes: 1 << 20,
        ..Config::default()
    };
    let s = run_with(&cap.bytes, &cfg, Duration::from_secs(20));
    assert_eq!(s.frames.len(), 201);
    assert_eq!(s.messages, 0);
}

#[test]
fn endless_http_headers_are_refused_and_later_connections_still_decode() {
    let mut cap = Pcap::new();
    let mut a = Flow::new(1);
    a.open(&mut cap);
    let mut junk = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..100_000 {
        junk.extend_from_slice(format!("X-Header-{i}: {}\r\n", "v".repeat(20)).as_bytes());
    }
    a.send(&mut cap, true, &junk);
    let mut b = Flow::new(2);
    b.open(&mut cap);
    b.upgrade(&mut cap, false);
    b.send(&mut cap, false, &frame(false, 0x81, &marker(7)));
    let s = run(&cap.bytes);
    assert!(has_marker(&s, 7));
    assert!(
        s.frames.len() < 5,
        "headers mistaken for frames: {}",
        s.frames.len()
    );
}

#[test]
fn fifty_thousand_open_connections() {
    let mut cap = Pcap::new();
    for n in 0..50_000 {
        let mut f = Flow::new(n);
        f.open(&mut cap);
        if n % 1000 == 0 {
            f.upgrade(&mut cap, false);
            f.send(&mut cap, false, &frame(false, 0x81, &marker(n)));
        }
    }
    let s = run_with(&cap.bytes, &Config::default(), Duration::from_secs(30));
    assert_eq!(s.frames.len(), 50);
    assert!((0..50_000).step_by(1000).all(|n| has_marker(&s, n)));
    // With a cap of 1000 live connections the oldest are closed early, and said so.
    let s = run_with(
        &cap.bytes,
        &Config {
            max_connections: 1000,
            ..Config::default()
        },
        Duration::from_secs(30),
    );
    assert_eq!(s.frames.len(), 50);
    assert!(s.findings.get("limit.reached").is_some_and(|&n| n > 0));
}

#[test]
fn a_hole_that_never_fills_is_bounded_and_named() {
    let (mut cap, mut f) = upgraded(false);
    f.send(&mut cap, false, &frame(false, 0x81, &marker(1)));
    // Skip 100 bytes, then pile up 20 MB behind the hole, never acknowledged.
    f.seq[1] = f.seq[1].wrapping_add(100);
    let big = frame(false, 0x82, &[5u8; 60_000]);
    for _ in 0..350 {
        f.send(&mut cap, false, &big);
    }
    let cfg = Config {
        max_ooo_bytes: 1 << 20,
        ..Config::default()
    };
    let s = run_with(&cap.bytes, &cfg, Duration::from_secs(20));
    assert!(has_marker(&s, 1));
    assert!(s.findings.get("tcp.gap").is_some_and(|&n| n >= 1));
    assert!(s.findings.get("limit.reached").is_some_and(|&n| n >= 1));
    // Decoding resumed at a frame boundary after the hole: most big frames survive.
    assert!(
        s.frames.iter().filter(|f| f.0 == 2).count() > 300,
        "{}",
        s.frames.len()
    );
}

#[test]
fn conflicting_retransmission_is_named_and_first_copy_kept() {
    let (mut cap, f) = upgraded(false);
    let first = frame(false, 0x81, b"first copy");
    let second = frame(false, 0x81, b"other copy");
    let seq = f.seq[1];
    // Out of order: a later frame arrives before the hole, twice with different bytes.
    let later = frame(false, 0x81, &marker(2));
    let later_seq = seq.wrapping_add(first.len() as u32);
    cap.record(&f.segment(false, later_seq, "A", &later), None);
    let mut evil = later.clone();
    let n = evil.len();
    evil[n - 1] ^= 0xff;
    cap.record(&f.segment(false, later_seq, "A", &evil), None);
    cap.record(&f.segment(false, seq, "A", &first), None);
    cap.record(&f.segment(false, seq, "A", &second), None);
    let s = run(&cap.bytes);
    assert_eq!(s.findings.get("tcp.overlap-conflict"), Some(&1));
    assert_eq!(s.frames[0].1, b"first copy");
    assert!(has_marker(&s, 2));
}

fn deflate_raw(data: &[u8]) -> Vec<u8> {
    let mut c = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(data.len() / 100 + 1024);
    c.compress_vec(data, &mut out, FlushCompress::Sync).unwrap();
    out.truncate(out.len() - 4);
    out
}

#[test]
fn deflate_bombs_stop_at_the_cap_whole_or_in_fragments() {
    let zeros = vec![0u8; 256 << 20];
    let bomb = deflate_raw(&zeros);
    drop(zeros);
    assert!(bomb.len() < 300 << 10);
    for fragments in [1usize, 300] {
        let mut cap = Pcap::new();
        let mut f = Flow::new(1);
        f.open(&mut cap);
        f.upgrade(&mut cap, true);
        let pieces: Vec<&[u8]> = bomb.chunks(bomb.len().div_ceil(fragments)).collect();
        for (i, p) in pieces.iter().enumerate() {
            let fin = if i + 1 == pieces.len() { 0x80 } else { 0 };
            let op = if i == 0 { 0x42 } else { 0x00 }; // RSV1 on the first frame only
            f.send(&mut cap, false, &frame(false, fin | op, p));
        }
        f.send(&mut cap, false, &frame(false, 0x81, &marker(3)));
        let s = run(&cap.bytes);
        assert_eq!(s.findings.get("limit.reached"), Some(&1), "{fragments}");
        assert!(has_marker(&s, 3), "the frame after the bomb is decoded");
    }
}

#[test]
fn damaged_files_never_panic() {
    // Every cut, and byte flips at many places, of real pcap and pcapng captures.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for sample in ["node-fragments.pcap", "multi-if.pcapng"] {
        let real =
            std::fs::read(format!("{}/samples/{sample}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        for cut in (0..real.len()).step_by(97) {
            let _ = analyze(&real[..cut], &Config::default(), &mut |_: Event<'_>| {});
        }
        for _ in 0..300 {
            let mut m = real.clone();
            for _ in 0..8 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = (x as usize) % m.len();
                m[at] ^= (x >> 32) as u8 | 1;
            }
            let _ = analyze(&m[..], &Config::default(), &mut |_: Event<'_>| {});
        }
    }
    // Random bytes behind a valid pcap header.
    let mut cap = Pcap::new();
    for i in 0..2000u64 {
        let data: Vec<u8> = (0..(i % 300)).map(|j| (i * 31 + j * 7) as u8).collect();
        cap.record(&data, None);
    }
    let s = run(&cap.bytes);
    assert!(s.frames.is_empty());
}

#[test]
fn snapped_packets_are_truncation_not_garbage() {
    let (mut cap, mut f) = upgraded(false);
    f.send(&mut cap, false, &frame(false, 0x81, &marker(1)));
    let big = frame(false, 0x82, &[9u8; 1000]);
    let p = f.segment(false, f.seq[1], "A", &big);
    cap.record(&p, Some(200));
    f.seq[1] = f.seq[1].wrapping_add(big.len() as u32);
    f.send(&mut cap, false, &frame(false, 0x81, &marker(2)));
    let s = run(&cap.bytes);
    assert!(has_marker(&s, 1) && has_marker(&s, 2));
    assert_eq!(s.findings.get("tcp.truncated"), Some(&1));
}

/// The binary under an address-space limit: the run must finish within it.
fn check_under_limit(bytes: &[u8], name: &str, limit_mib: u64) -> std::process::Output {
    let dir = std::env::temp_dir().join(format!("wsdissect-adv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {}; exec \"$0\" check --format json \"$1\"",
            limit_mib * 1024
        ))
        .arg(env!("CARGO_BIN_EXE_wsdissect"))
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    out
}

#[test]
fn memory_stays_bounded_on_bombs_and_many_connections() {
    // A 1 GiB deflate bomb (about 1 MB on the wire) under 512 MiB of address space.
    let mut c = Compress::new(Compression::best(), false);
    let chunk = vec![0u8; 16 << 20];
    let mut bomb = Vec::new();
    for _ in 0..64 {
        c.compress_vec(&chunk, &mut bomb, FlushCompress::None)
            .unwrap();
        bomb.reserve(64 << 10);
    }
    c.compress_vec(&[], &mut bomb, FlushCompress::Sync).unwrap();
    bomb.truncate(bomb.len() - 4);
    let (mut cap, mut f) = upgraded(true);
    f.send(&mut cap, false, &frame(false, 0xC2, &bomb));
    f.send(&mut cap, false, &frame(false, 0x81, &marker(9)));
    let out = check_under_limit(&cap.bytes, "bomb.pcap", 512);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("limit.reached"));

    let mut cap = Pcap::new();
    for n in 0..50_000 {
        let mut f = Flow::new(n);
        f.open(&mut cap);
        f.upgrade(&mut cap, false);
        f.send(&mut cap, true, &frame(true, 0x81, b"hello"));
    }
    let out = check_under_limit(&cap.bytes, "conns.pcap", 512);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Inserts 802.1Q tags (TPID, TCI) after the Ethernet addresses.
fn tagged(eth: &[u8], tags: &[[u8; 4]]) -> Vec<u8> {
    let mut v = eth[..12].to_vec();
    for t in tags {
        v.extend_from_slice(t);
    }
    v.extend_from_slice(&eth[12..]);
    v
}

#[test]
fn vlan_qinq_and_ethernet_padding_are_read_through() {
    let (mut cap, mut f) = upgraded(false);
    let dot1q = [[0x81, 0x00, 0x00, 0x64]];
    let qinq = [[0x88, 0xa8, 0x00, 0x0a], [0x81, 0x00, 0x00, 0x64]];
    for (i, tags) in [&dot1q[..], &qinq[..]].into_iter().enumerate() {
        let fr = frame(false, 0x81, &marker(i as u32));
        let p = f.segment(false, f.seq[1], "A", &fr);
        cap.record(&tagged(&p, tags), None);
        f.seq[1] = f.seq[1].wrapping_add(fr.len() as u32);
    }
    // A 2-byte ping in a 56-byte Ethernet frame, padded to the 60-byte
    // minimum with bytes that are not TCP payload.
    let ping = frame(false, 0x89, &[]);
    let mut p = f.segment(false, f.seq[1], "A", &ping);
    assert!(p.len() < 60);
    p.resize(60, 0xEE);
    cap.record(&p, None);
    f.seq[1] = f.seq[1].wrapping_add(ping.len() as u32);
    f.send(&mut cap, false, &frame(false, 0x81, &marker(2)));
    let s = run(&cap.bytes);
    assert!((0..3).all(|i| has_marker(&s, i)), "{s:?}");
    assert!(s.frames.iter().any(|f| f.0 == 0x9 && f.1.is_empty()));
    assert!(
        s.findings.is_empty(),
        "padding is not stream data: {:?}",
        s.findings
    );
}

/// Splits an Ethernet/IPv4 packet into IP fragments at the given offsets of
/// its IP payload (multiples of 8).
fn ip_fragments_at(eth: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let ihl = usize::from(eth[14] & 0x0f) * 4;
    let (head, payload) = eth.split_at(14 + ihl);
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(payload.len());
    bounds
        .windows(2)
        .map(|w| {
            let (off, end) = (w[0], w[1]);
            let mut v = head.to_vec();
            let total = (ihl + end - off) as u16;
            v[16..18].copy_from_slice(&total.to_be_bytes());
            let more = end < payload.len();
            let flags = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
            v[20..22].copy_from_slice(&flags.to_be_bytes());
            // The header checksum is left as it was: we do not verify it.
            v.extend_from_slice(&payload[off..end]);
            v
        })
        .collect()
}

fn ip_fragments(eth: &[u8], at: usize) -> [Vec<u8>; 2] {
    let mut v = ip_fragments_at(eth, &[at]);
    let b = v.pop().unwrap();
    let a = v.pop().unwrap();
    [a, b]
}

/// Splits an Ethernet/IPv6 packet (no extension headers) into fragments at
/// the given offsets of its payload, each with a fragment header.
fn ipv6_fragments_at(eth: &[u8], cuts: &[usize], id: u32) -> Vec<Vec<u8>> {
    let (head, payload) = eth.split_at(14 + 40);
    let next = head[14 + 6];
    let mut bounds = vec![0];
    bounds.extend_from_slice(cuts);
    bounds.push(payload.len());
    bounds
        .windows(2)
        .map(|w| {
            let (off, end) = (w[0], w[1]);
            let mut v = head.to_vec();
            v[14 + 4..14 + 6].copy_from_slice(&((8 + end - off) as u16).to_be_bytes());
            v[14 + 6] = 44; // Fragment
            let more = u16::from(end < payload.len());
            v.extend_from_slice(&[next, 0]);
            v.extend_from_slice(&((off as u16) | more).to_be_bytes());
            v.extend_from_slice(&id.to_be_bytes());
            v.extend_from_slice(&payload[off..end]);
            v
        })
        .collect()
}

#[test]
fn ip_fragments_are_reassembled_in_any_order_with_duplicates() {
    for (v6, order) in [
        (false, &[0usize, 1, 2][..]),
        (false, &[2, 0, 1][..]),
        (false, &[1, 1, 2, 0, 2][..]),
        (true, &[0, 1, 2][..]),
        (true, &[2, 1, 0, 0][..]),
    ] {
        let mut cap = Pcap::new();
        let mut f = if v6 { Flow::new_v6(1) } else { Flow::new(1) };
        f.open(&mut cap);
        f.upgrade(&mut cap, false);
        f.send(&mut cap, false, &frame(false, 0x81, &marker(0)));
        let big = frame(false, 0x82, &[5u8; 1200]);
        let p = f.segment(false, f.seq[1], "A", &big);
        let pieces = if v6 {
            ipv6_fragments_at(&p, &[512, 1024], 77)
        } else {
            ip_fragments_at(&p, &[400, 800])
        };
        for &i in order {
            cap.record(&pieces[i], None);
        }
        f.seq[1] = f.seq[1].wrapping_add(big.len() as u32);
        f.send(&mut cap, false, &frame(false, 0x81, &marker(1)));
        let s = run(&cap.bytes);
        assert!(
            s.findings.is_empty(),
            "v6 {v6} order {order:?}: {:?}",
            s.findings
        );
        assert!(
            s.frames.iter().any(|fr| fr.1 == vec![5u8; 1200]),
            "v6 {v6} order {order:?}: the fragmented frame is decoded"
        );
        assert!(has_marker(&s, 0) && has_marker(&s, 1), "{s:?}");
    }
}

#[test]
fn ip_fragments_that_never_complete_are_named_and_the_stream_goes_on() {
    let (mut cap, mut f) = upgraded(false);
    f.send(&mut cap, false, &frame(false, 0x81, &marker(0)));
    let big = frame(false, 0x82, &[5u8; 600]);
    let p = f.segment(false, f.seq[1], "A", &big);
    // Only the first fragment was captured.
    let [first, _] = ip_fragments(&p, 256);
    cap.record(&first, None);
    f.seq[1] = f.seq[1].wrapping_add(big.len() as u32);
    f.send(&mut cap, false, &frame(false, 0x81, &marker(1)));
    // The client acknowledges everything: the fragmented bytes were lost to the capture.
    let ack = f.segment(true, f.seq[0], "A", &[]);
    cap.record(&ack, None);
    f.send(&mut cap, false, &frame(false, 0x81, &marker(2)));
    let s = run(&cap.bytes);
    assert_eq!(
        s.findings.get("capture.ip-fragment"),
        Some(&1),
        "{:?}",
        s.findings
    );
    assert!(s.findings.contains_key("tcp.gap"), "{:?}", s.findings);
    assert!(has_marker(&s, 0) && has_marker(&s, 2), "{s:?}");
}

#[test]
fn overlapping_fragments_with_different_bytes_are_dropped_and_named() {
    let (mut cap, mut f) = upgraded(false);
    let big = frame(false, 0x82, &[5u8; 600]);
    let p = f.segment(false, f.seq[1], "A", &big);
    let pieces = ip_fragments_at(&p, &[256]);
    // A second fragment that starts 8 bytes early, with other bytes there.
    let mut forged = ip_fragments_at(&p, &[248]).pop().unwrap();
    forged[14 + 20 + 3] ^= 0xff;
    cap.record(&pieces[0], None);
    cap.record(&forged, None);
    cap.record(&pieces[1], None);
    f.seq[1] = f.seq[1].wrapping_add(big.len() as u32);
    f.send(&mut cap, false, &frame(false, 0x81, &marker(1)));
    let s = run(&cap.bytes);
    assert!(
        s.findings.contains_key("capture.ip-fragment"),
        "{:?}",
        s.findings
    );
    assert!(!s.frames.iter().any(|fr| fr.1 == vec![5u8; 600]), "{s:?}");
    assert!(has_marker(&s, 1), "{s:?}");
}

#[test]
fn a_flood_of_fragments_stays_bounded_in_time_and_memory() {
    let (mut cap, mut f) = upgraded(false);
    f.send(&mut cap, false, &frame(false, 0x81, &marker(0)));
    // 200,000 first fragments of datagrams that never complete, each at the
    // highest offset (so each would claim a 64 KiB buffer), distinct ids.
    let p = f.segment(false, f.seq[1], "A", &[9u8; 64]);
    let mut piece = ip_fragments_at(&p, &[8]).remove(0);
    for id in 0..200_000u32 {
        piece[18..20].copy_from_slice(&(id as u16).to_be_bytes());
        // Vary the source too, so ids do not repeat.
        piece[26 + 1] = (id >> 16) as u8;
        piece[20..22].copy_from_slice(&(0x2000u16 | 8190).to_be_bytes());
        cap.record(&piece, None);
    }
    f.send(&mut cap, false, &frame(false, 0x81, &marker(1)));
    // What the pool holds is capped (32 MiB; see the unit tests in
    // src/defrag.rs): the binary runs under 256 MiB of address space, and
    // quickly, and names the caps.
    let out = check_under_limit(&cap.bytes, "frag-flood.pcap", 256);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = run_with(&cap.bytes, &Config::default(), Duration::from_secs(20));
    assert_eq!(
        s.findings.get("limit.reached"),
        Some(&1),
        "{:?}",
        s.findings
    );
    assert_eq!(
        s.findings.get("capture.ip-fragment"),
        Some(&1),
        "{:?}",
        s.findings
    );
    assert!(has_marker(&s, 0) && has_marker(&s, 1), "{s:?}");
}

/// The Ethernet records of a capture built with `synth::Pcap`.
fn records(cap: &Pcap) -> Vec<Vec<u8>> {
    let b = &cap.bytes;
    let mut at = 24;
    let mut out = Vec::new();
    while at + 16 <= b.len() {
        let len = u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
        out.push(b[at + 16..at + 16 + len].to_vec());
        at += 16 + len;
    }
    out
}

#[test]
fn pcapng_unsupported_interface_and_inconsistent_block_length() {
    let (mut cap, mut f) = upgraded(false);
    for i in 0..4 {
        f.send(&mut cap, false, &frame(false, 0x81, &marker(i)));
    }
    let recs = records(&cap);
    let n = recs.len();
    // Interface 1 is a link type we do not decode (USB, 189): its packets
    // are named once, and interface 0 decodes on.
    let mut packets: Vec<(u32, Vec<u8>)> = recs.into_iter().map(|r| (0, r)).collect();
    packets.insert(n - 2, (1, vec![0xAB; 40]));
    packets.insert(n - 2, (1, vec![0xCD; 40]));
    let good = pcapng(&[1, 189], &packets);
    let s = run(&good);
    assert!((0..4).all(|i| has_marker(&s, i)), "{s:?}");
    assert_eq!(
        s.findings.get("capture.unsupported-link"),
        Some(&1),
        "{:?}",
        s.findings
    );
    // The block of the last frame's packet gets a trailing length that
    // disagrees with its leading one: reading stops there, named, and every
    // frame before it is kept.
    let mut bad = good.clone();
    let last_len = u32::from_le_bytes(bad[bad.len() - 4..].try_into().unwrap());
    let at = bad.len() - 4;
    bad[at..].copy_from_slice(&(last_len + 8).to_le_bytes());
    let s = run(&bad);
    assert!((0..3).all(|i| has_marker(&s, i)), "{s:?}");
    assert_eq!(
        s.findings.get("capture.truncated"),
        Some(&1),
        "{:?}",
        s.findings
    );
}

#[test]
fn a_pcap_of_an_unsupported_link_type_exits_2_naming_it() {
    let mut cap = Pcap::with_link(189);
    cap.record(&[0u8; 64], None);
    let dir = std::env::temp_dir().join(format!("wsdissect-link-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("usb.pcap");
    std::fs::write(&path, &cap.bytes).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(["frames", path.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("usb.pcap") && err.contains("unsupported link type 189"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn holes_on_many_connections_share_one_memory_budget() {
    // 60 connections, each with a hole and 6 MB piled up behind it (under the
    // 8 MiB per-stream cap): 360 MB in all, against a 64 MiB capture-wide
    // budget. The binary must stay under 256 MiB and decode on.
    let mut cap = Pcap::new();
    let big = frame(false, 0x82, &[5u8; 60_000]);
    let mut flows: Vec<Flow> = (0..60).map(Flow::new).collect();
    for f in flows.iter_mut() {
        f.open(&mut cap);
        f.upgrade(&mut cap, false);
        f.send(&mut cap, false, &frame(false, 0x81, &marker(1)));
        f.seq[1] = f.seq[1].wrapping_add(100); // the hole
    }
    for _ in 0..100 {
        for f in flows.iter_mut() {
            f.send(&mut cap, false, &big);
        }
    }
    let out = check_under_limit(&cap.bytes, "holes.pcap", 256);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("limit.reached") && text.contains("tcp.gap"),
        "{text}"
    );
    let s = run(&cap.bytes);
    assert_eq!(s.frames.iter().filter(|f| f.1 == marker(1)).count(), 60);
    // Most big frames are decoded once each stream stops waiting.
    assert!(
        s.frames.iter().filter(|f| f.0 == 2).count() > 4500,
        "{}",
        s.frames.len()
    );
}

/// Wall seconds, peak RSS (MiB, from GNU time where installed) and exit
/// status of the binary run with `args` under 256 MiB of address space, its
/// output discarded. (wait4 of a child of this big test process would
/// report this process's own peak: Linux carries it across exec.)
fn measured(args: &[&str]) -> (f64, Option<u64>, i32) {
    let time = std::path::Path::new("/usr/bin/time").exists();
    let script = format!(
        "ulimit -v {}; exec {}\"$0\" \"$@\"",
        256 * 1024,
        if time {
            "/usr/bin/time -f 'rss %M' "
        } else {
            ""
        }
    );
    let t0 = Instant::now();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_wsdissect"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let rss = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("rss "))
        .next_back()
        .and_then(|k| k.trim().parse::<u64>().ok())
        .map(|kib| kib / 1024);
    let code = out.status.code().unwrap_or(-1);
    (t0.elapsed().as_secs_f64(), rss, code)
}

/// Every command over `cap`: each must exit 0 within `secs` and 256 MiB.
/// `more` then looks at the capture (its path) for what it must show.
fn every_command_bounded(cap: &Pcap, name: &str, secs: f64, more: impl Fn(&str)) {
    let dir = std::env::temp_dir().join(format!("wsdissect-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, &cap.bytes).unwrap();
    let p = path.to_str().unwrap();
    // Unoptimised builds are an order of magnitude slower.
    let secs = if cfg!(debug_assertions) {
        secs * 10.0
    } else {
        secs
    };
    let runs: &[&[&str]] = &[
        &["frames", p],
        &["frames", "--format", "json", p],
        &["messages", "--format", "json", p],
        &["conns", p],
        &["check", p],
        &["check", "--format", "json", p],
        &["explain", "--color", "never", "--max-frames", "100000", p],
        &["explain", "--format", "html", "--max-frames", "100000", p],
        &["explain", "--format", "json", "--max-frames", "100000", p],
        &["push", p],
        &["push", "--format", "json", p],
    ];
    let mut report = Vec::new();
    let mut verdicts = Vec::new();
    for args in runs {
        let (t, rss, code) = measured(args);
        report.push(format!("{args:?}: {t:.1} s, {rss:?} MiB, exit {code}"));
        eprintln!("{}", report.last().unwrap());
        verdicts.push(code == 0 && rss.is_none_or(|r| r <= 256) && t <= secs);
    }
    more(p);
    let _ = std::fs::remove_dir_all(&dir);
    for (ok, line) in verdicts.iter().zip(&report) {
        assert!(ok, "over {name}: {line}\n{}", report.join("\n"));
    }
}

/// 100,000 short HTTP/1.1 connections and no WebSocket: half from 100,000
/// different clients (a channel each), half from one client to one path (one
/// channel of 50,000 exchanges).
fn hundred_thousand_http_connections() -> Pcap {
    let mut cap = Pcap::new();
    for n in 0..100_000u32 {
        let mut f = Flow::new(n);
        if n % 2 == 1 {
            f.client = ([10, 200, 0, 1], 1024 + (n / 2) as u16);
        }
        f.open(&mut cap);
        let req = format!("GET /item/{n}?q={n} HTTP/1.1\r\nHost: example.test\r\n\r\n");
        let req = if n % 2 == 1 {
            "GET /poll HTTP/1.1\r\nHost: example.test\r\n\r\n".to_string()
        } else {
            req
        };
        f.send(&mut cap, true, req.as_bytes());
        f.send(
            &mut cap,
            false,
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        );
        let fin = f.segment(true, f.seq[0], "FA", &[]);
        cap.record(&fin, None);
        f.seq[0] += 1;
        let fin = f.segment(false, f.seq[1], "FA", &[]);
        cap.record(&fin, None);
        f.seq[1] += 1;
    }
    cap
}

#[test]
fn every_command_over_a_hundred_thousand_http_connections() {
    let cap = hundred_thousand_http_connections();
    every_command_bounded(&cap, "http100k.pcap", 20.0, |p| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsdissect"))
            .args(["push", "--format", "json", p])
            .output()
            .unwrap();
        let recs: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        // The one client polling /poll is classified over all its requests.
        let poll: Vec<_> = recs.iter().filter(|r| r["path"] == "/poll").collect();
        assert_eq!(poll.len(), 1);
        assert_eq!(poll[0]["requests"], 50_000);
        assert_eq!(poll[0]["technique"], "polling", "{}", poll[0]["reason"]);
        // The channels past the cap are said to be left out.
        assert!(
            recs.iter()
                .any(|r| r["type"] == "finding" && r["code"] == "limit.reached")
        );
        let channels = recs.iter().filter(|r| r["type"] == "push").count();
        assert!((1000..=50_001).contains(&channels), "{channels}");
    });
}
#[test]
fn every_command_over_a_hundred_thousand_tiny_frames() {
    let (mut cap, mut f) = upgraded(false);
    for i in 0..100_000u32 {
        let client = i % 2 == 0;
        f.send(
            &mut cap,
            client,
            &frame(client, 0x81, format!("m{i}").as_bytes()),
        );
    }
    every_command_bounded(&cap, "frames100k.pcap", 20.0, |p| {
        // Streamed, the walkthrough still has every frame, each tied to its
        // message (one a frame here), and counts right.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsdissect"))
            .args(["explain", "--format", "json", "--max-frames", "100000", p])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut frames = 0u64;
        let mut end = None;
        for l in text.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            if v["type"] == "explain-frame" {
                frames += 1;
                assert_eq!(v["index"], frames);
                assert_eq!(v["message"], frames, "{l}");
                assert_eq!(v["payload_len"], format!("m{}", frames - 1).len());
            } else if v["type"] == "explain-end" {
                end = Some(v);
            }
        }
        assert_eq!(frames, 100_000);
        let end = end.unwrap();
        assert_eq!(end["frames_shown"], 100_000);
        assert_eq!(end["frames_not_shown"], 0);
        let listed = text
            .lines()
            .filter(|l| l.starts_with("{\"type\":\"explain-message\""))
            .count() as u64;
        assert_eq!(
            listed + end["messages_not_listed"].as_u64().unwrap(),
            100_000
        );
    });
}

#[test]
fn every_command_over_a_hundred_thousand_http_connections_left_open() {
    // SYN, SYN/ACK, a request and its answer, and no FIN: 100,000 live
    // connections at the end of the capture (about 35 MB).
    let mut cap = Pcap::new();
    for n in 0..100_000u32 {
        let mut f = Flow::new(n);
        f.open(&mut cap);
        let req = format!("GET /item/{n} HTTP/1.1\r\nHost: example.test\r\n\r\n");
        f.send(&mut cap, true, req.as_bytes());
        f.send(
            &mut cap,
            false,
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        );
    }
    every_command_bounded(&cap, "http100k-open.pcap", 20.0, |_| {});
}
