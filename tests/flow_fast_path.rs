//! The flow table's in-order fast path (`FlowTable::set_fast_path`) is held
//! to the general reassembly: generated segment streams (WebSocket
//! connections with and without their handshake, split, reordered,
//! duplicated, overlapping with conflicting bytes, with holes, snapped
//! segments, FIN, RST, port reuse, several connections interleaved) give
//! the same events, in the same order, with the fast path on and off,
//! under the default caps and under tight ones (the out-of-order budget,
//! eviction) and with explain's segment log and one kept connection.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;
use wsdissect::config::{Config, KeepFor};
use wsdissect::event::Event;
use wsdissect::flow::FlowTable;
use wsdissect::packet::Segment;

/// xorshift64: the streams are drawn from one seed proptest chooses.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}

/// One segment, owning its payload.
#[derive(Clone)]
struct Seg {
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: Option<u32>,
    syn: bool,
    fin: bool,
    rst: bool,
    payload: Vec<u8>,
    missing: u32,
}

fn frame(rng: &mut Rng, masked: bool) -> Vec<u8> {
    let len = match rng.below(4) {
        0 => 0,
        1 => rng.below(126) as usize,
        2 => 126 + rng.below(400) as usize,
        _ => rng.below(20) as usize,
    };
    let (b0, payload): (u8, Vec<u8>) = match rng.below(6) {
        0 => (0x82, (0..len).map(|_| rng.next() as u8).collect()),
        1 => (0x89, vec![b'p'; len.min(125)]),
        2 => (0x8a, vec![b'q'; len.min(125)]),
        // Text, sometimes invalid UTF-8.
        3 if rng.chance(4) => (0x81, vec![0xc3; len.max(1)]),
        _ => (0x81, (0..len).map(|i| b'a' + (i % 26) as u8).collect()),
    };
    let mut v = vec![b0];
    let m = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => v.push(m | n as u8),
        n => {
            v.push(m | 126);
            v.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    if masked {
        let key = (rng.next() as u32).to_be_bytes();
        v.extend_from_slice(&key);
        v.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        v.extend_from_slice(&payload);
    }
    v
}

/// The bytes of both directions: an upgrade and frames (or, caught
/// mid-way, frames only), or plain HTTP.
fn streams(rng: &mut Rng, handshake: bool) -> [Vec<u8>; 2] {
    let mut c = Vec::new();
    let mut s = Vec::new();
    if handshake {
        c.extend_from_slice(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        );
        if rng.chance(6) {
            // Rejected: HTTP on both sides.
            s.extend_from_slice(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!");
            return [c, s];
        }
        s.extend_from_slice(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        );
    }
    for _ in 0..rng.below(12) {
        c.extend(frame(rng, true));
        s.extend(frame(rng, false));
    }
    if rng.chance(3) {
        c.extend_from_slice(&[0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2]);
        s.extend_from_slice(&[0x88, 0x02, 0x03, 0xe8]);
    }
    [c, s]
}

fn addr(n: u64, v6: bool, port: u16) -> SocketAddr {
    let ip = if v6 {
        IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, n as u16))
    } else {
        IpAddr::V4(Ipv4Addr::new(10, 0, (n >> 8) as u8, n as u8))
    };
    SocketAddr::new(ip, port)
}

/// One connection's segments in sending order, then mangled.
fn connection(rng: &mut Rng, n: u64, port: u16, out: &mut Vec<Seg>) {
    let v6 = rng.chance(4);
    let (ca, sa) = (addr(n, v6, port), addr(1000, v6, 8080));
    let handshake = !rng.chance(4);
    let bytes = streams(rng, handshake);
    let mut seq = [rng.next() as u32, rng.next() as u32];
    let mut segs = Vec::new();
    let ends = |side: usize| if side == 0 { (ca, sa) } else { (sa, ca) };
    let seg = |side: usize, seq: u32, ack: Option<u32>, payload: Vec<u8>| {
        let (src, dst) = ends(side);
        Seg {
            src,
            dst,
            seq,
            ack,
            syn: false,
            fin: false,
            rst: false,
            payload,
            missing: 0,
        }
    };
    if handshake || rng.chance(2) {
        let mut s = seg(0, seq[0], None, vec![]);
        s.syn = true;
        segs.push(s);
        seq[0] = seq[0].wrapping_add(1);
        let mut s = seg(1, seq[1], Some(seq[0]), vec![]);
        s.syn = true;
        segs.push(s);
        seq[1] = seq[1].wrapping_add(1);
        segs.push(seg(0, seq[0], Some(seq[1]), vec![]));
    }
    // Both directions cut into pieces, taking turns at random.
    let mut at = [0usize; 2];
    while at[0] < bytes[0].len() || at[1] < bytes[1].len() {
        let side = if at[0] >= bytes[0].len() {
            1
        } else if at[1] >= bytes[1].len() {
            0
        } else {
            rng.below(2) as usize
        };
        let most = if rng.chance(3) { 8 } else { 300 };
        let n = (1 + rng.below(most) as usize).min(bytes[side].len() - at[side]);
        let piece = bytes[side][at[side]..at[side] + n].to_vec();
        let ack = (!rng.chance(10)).then(|| seq[1 - side]);
        segs.push(seg(side, seq[side], ack, piece));
        seq[side] = seq[side].wrapping_add(n as u32);
        at[side] += n;
        if rng.chance(3) {
            // A pure ACK from the other side.
            segs.push(seg(1 - side, seq[1 - side], Some(seq[side]), vec![]));
        }
    }
    match rng.below(4) {
        0 => {
            let mut f = seg(0, seq[0], Some(seq[1]), vec![]);
            f.fin = true;
            segs.push(f);
            let mut f = seg(1, seq[1], Some(seq[0].wrapping_add(1)), vec![]);
            f.fin = true;
            segs.push(f);
            segs.push(seg(
                0,
                seq[0].wrapping_add(1),
                Some(seq[1].wrapping_add(1)),
                vec![],
            ));
        }
        1 => {
            let mut r = seg(rng.below(2) as usize, seq[0], None, vec![]);
            r.rst = true;
            segs.push(r);
        }
        _ => {}
    }
    // Mangling.
    let mut i = 0;
    while i < segs.len() {
        match rng.below(24) {
            0 if i + 1 < segs.len() => segs.swap(i, i + 1),
            1 => {
                let d = segs[i].clone();
                segs.insert(i + 1, d);
                i += 1;
            }
            2 if !segs[i].syn => {
                segs.remove(i); // lost
                continue;
            }
            3 if !segs[i].payload.is_empty() => {
                // A retransmission that carries different bytes.
                let mut d = segs[i].clone();
                let k = rng.below(d.payload.len() as u64) as usize;
                d.payload[k] ^= 0x5a;
                let to = rng.below(4) as usize;
                segs.insert((i + to).min(segs.len()), d);
            }
            4 if segs[i].payload.len() > 2 => {
                // Snapped: the capture kept only the first bytes.
                let keep = rng.below(segs[i].payload.len() as u64) as usize;
                let cut = segs[i].payload.len() - keep;
                segs[i].payload.truncate(keep);
                segs[i].missing = cut as u32;
            }
            5 if segs[i].payload.len() > 2 => {
                // Overlap: the same bytes from a little earlier.
                let mut d = segs[i].clone();
                let back = 1 + rng.below(3) as u32;
                d.seq = d.seq.wrapping_sub(back);
                let mut p = vec![0u8; back as usize];
                p.extend_from_slice(&d.payload);
                d.payload = p;
                segs.insert(i + 1, d);
                i += 1;
            }
            6 if i + 3 < segs.len() => {
                // Held back a few places.
                let s = segs.remove(i);
                let to = i + 1 + rng.below(3) as usize;
                segs.insert(to.min(segs.len()), s);
            }
            _ => {}
        }
        i += 1;
    }
    out.extend(segs);
}

/// Several connections (some on a reused port pair), interleaved.
fn capture(seed: u64) -> Vec<Seg> {
    let mut rng = Rng(seed | 1);
    let conns = 1 + rng.below(6);
    let mut lists: Vec<Vec<Seg>> = Vec::new();
    for n in 0..conns {
        let mut segs = Vec::new();
        let port = 40000 + n as u16;
        connection(&mut rng, n, port, &mut segs);
        if rng.chance(4) {
            // The port pair used again after this connection.
            connection(&mut rng, n, port, &mut segs);
        }
        lists.push(segs);
    }
    let mut at = vec![0usize; lists.len()];
    let mut all = Vec::new();
    loop {
        let open: Vec<usize> = (0..lists.len())
            .filter(|&i| at[i] < lists[i].len())
            .collect();
        if open.is_empty() {
            break;
        }
        // Runs of one connection, as real captures have.
        let i = open[rng.below(open.len() as u64) as usize];
        for _ in 0..1 + rng.below(5) {
            if let Some(s) = lists[i].get(at[i]) {
                all.push(s.clone());
                at[i] += 1;
            }
        }
    }
    all
}

fn config(which: u64) -> Config {
    let mut cfg = Config::default();
    match which {
        1 => {
            cfg.max_ooo_total = 40;
            cfg.max_ooo_bytes = 64;
            cfg.max_ooo_segments = 3;
        }
        2 => cfg.max_connections = 2,
        3 => {
            cfg.segment_log = true;
            cfg.keep_frame_payload = true;
            cfg.keep_message_data = true;
            cfg.keep_for = KeepFor::one(Some(1));
        }
        _ => {}
    }
    cfg
}

fn events(segs: &[Seg], cfg: &Config, fast: bool) -> Vec<String> {
    let mut table = FlowTable::new(cfg);
    table.set_fast_path(fast);
    let mut got = Vec::new();
    let mut sink = |ev: Event<'_>| got.push(format!("{ev:?}"));
    for (i, s) in segs.iter().enumerate() {
        let seg = Segment {
            src: s.src,
            dst: s.dst,
            seq: s.seq,
            ack: s.ack,
            syn: s.syn,
            fin: s.fin,
            rst: s.rst,
            payload: &s.payload,
            missing: s.missing,
            psh: !s.payload.is_empty(),
            window: 512,
            wscale: None,
        };
        table.segment(&seg, i as u64 + 1, i as f64 * 0.001, &mut sink);
    }
    table.finish(&mut sink);
    got
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn fast_path_gives_the_slow_paths_events(seed in any::<u64>(), which in 0u64..4) {
        let segs = capture(seed);
        let cfg = config(which);
        let slow = events(&segs, &cfg, false);
        let fast = events(&segs, &cfg, true);
        prop_assert_eq!(slow, fast);
    }
}

/// The generator reaches what the fast path must not change: frames,
/// findings, gaps and conflicts (else the property above proves little).
#[test]
fn generated_streams_reach_the_interesting_cases() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 1..200u64 {
        let segs = capture(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        for e in events(&segs, &config(seed % 4), true) {
            for code in [
                "Frame(",
                "Message(",
                "Handshake(",
                "TcpGap",
                "TcpTruncated",
                "TcpOverlapConflict",
                "LimitReached",
                "Segment(",
                "StreamNoHandshake",
            ] {
                if e.contains(code) {
                    seen.insert(code);
                }
            }
        }
    }
    assert_eq!(seen.len(), 9, "seen only {seen:?}");
}

/// A connection written in both address forms (IPv4, and IPv4-mapped
/// IPv6, as when two taps are merged) is one connection, and each
/// segment goes to the side of its sender, however written: the upgrade
/// request, cut in two, is whole only if both halves reach the client's
/// stream, and the 101 written in the other form reaches the server's.
/// (Before 2026-12-03 the side came from comparing the written
/// addresses, and the second half went to the server's stream.)
#[test]
fn a_connection_in_both_address_forms_keeps_its_sides() {
    let v4 = |s: &str| s.parse::<SocketAddr>().unwrap();
    let mapped = |a: SocketAddr| match a {
        SocketAddr::V4(a) => SocketAddr::new(IpAddr::V6(a.ip().to_ipv6_mapped()), a.port()),
        other => other,
    };
    let (c, s) = (v4("10.0.0.1:40000"), v4("10.0.0.2:80"));
    let request = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let response =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                     Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    let (cut, cisn, sisn) = (40usize, 1000u32, 5000u32);
    let seg = |src, dst, seq, ack, syn, payload: &[u8]| Seg {
        src,
        dst,
        seq,
        ack,
        syn,
        fin: false,
        rst: false,
        payload: payload.to_vec(),
        missing: 0,
    };
    let rest = cisn + 1 + cut as u32;
    let segs = [
        seg(c, s, cisn, None, true, b""),
        seg(s, c, sisn, Some(cisn + 1), true, b""),
        seg(c, s, cisn + 1, Some(sisn + 1), false, &request[..cut]),
        seg(
            mapped(c),
            mapped(s),
            rest,
            Some(sisn + 1),
            false,
            &request[cut..],
        ),
        seg(
            mapped(s),
            mapped(c),
            sisn + 1,
            Some(cisn + 1 + request.len() as u32),
            false,
            response,
        ),
    ];
    for fast in [true, false] {
        let got = events(&segs, &Config::default(), fast);
        let handshakes: Vec<&String> = got.iter().filter(|e| e.starts_with("Handshake(")).collect();
        assert_eq!(handshakes.len(), 1, "fast path {fast}: {got:#?}");
        assert!(
            handshakes[0].contains("status: Some(101)"),
            "fast path {fast}: {}",
            handshakes[0]
        );
        let ends = got.iter().filter(|e| e.starts_with("ConnEnd(")).count();
        assert_eq!(ends, 1, "one connection, fast path {fast}: {got:#?}");
    }
}
