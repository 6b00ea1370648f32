//! The TLS decryption core over arbitrary bytes of both directions, in
//! arbitrary pieces, with gaps; without a key log, with the real key logs
//! of samples/tls (so seeds from those captures decrypt and mutations reach
//! the record layer behind the keys), and with made-up secrets for the
//! random the input's ClientHello carries. Nothing may panic, plaintext
//! stays within a record, offsets within what was fed, findings printable,
//! and memory within the module's documented buffers.
#![no_main]

mod common;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use wsdissect::tlscore::record::{MAX_HANDSHAKE, MAX_RECORD};
use wsdissect::tlscore::{Dir, KeyLog, MAX_EARLY_HELD, RESYNC_BUFFER, TlsConn, TlsEvent};

#[global_allocator]
static A: common::Counting = common::Counting;

/// What one direction may hold: a partial record, a handshake message, the
/// resync window, 0-RTT records held for the ServerHello; twice over for
/// growth of vectors, plus the records collected from one feed step.
const BOUND: usize =
    2 * 2 * (MAX_RECORD + MAX_HANDSHAKE + RESYNC_BUFFER + MAX_EARLY_HELD) + (256 << 10);

fn sample_keys() -> &'static KeyLog {
    static K: OnceLock<KeyLog> = OnceLock::new();
    K.get_or_init(|| {
        let mut k = KeyLog::new();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../samples/tls");
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if e.path().extension().is_some_and(|x| x == "keys") {
                    if let Ok(t) = std::fs::read(e.path()) {
                        k.add_text(&t);
                    }
                }
            }
        }
        k
    })
}

fn dir(d: u8) -> Dir {
    if d == 0 { Dir::Client } else { Dir::Server }
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let ops = common::ops(rest);
    // Pieces: each step fed whole, or cut into pieces of `step` bytes.
    let step = match ctl >> 4 {
        0 => usize::MAX,
        n => usize::from(n) * usize::from(n),
    };
    let mut keys = match ctl & 3 {
        0 => KeyLog::new(),
        _ => sample_keys().clone(),
    };
    if ctl & 3 == 2 {
        // Made-up secrets for the ClientHello's random, read off the input first.
        let mut probe = TlsConn::new();
        let empty = KeyLog::new();
        for op in &ops {
            if let common::Op::Data(0, b) = op {
                probe.feed(Dir::Client, b, 1, &empty, &mut |_| {});
            }
            if probe.client_random().is_some() {
                break;
            }
        }
        if let Some(r) = probe.client_random() {
            let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
            let s: Vec<u8> = (0..48u8).map(|i| i.wrapping_mul(ctl | 1)).collect();
            let r = hex(&r);
            for label in [
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                "CLIENT_TRAFFIC_SECRET_0",
                "SERVER_TRAFFIC_SECRET_0",
                "CLIENT_EARLY_TRAFFIC_SECRET",
            ] {
                keys.add_line(format!("{label} {r} {}", hex(&s[..32])).as_bytes());
            }
            keys.add_line(format!("CLIENT_RANDOM {r} {}", hex(&s)).as_bytes());
        }
    }
    let base = common::mark();
    let mut conn = TlsConn::new();
    // Per direction: bytes fed plus gaps, and the last plaintext's end.
    let mut fed = [0u64; 2];
    let mut last_end = [0u64; 2];
    let check = |ev: TlsEvent, fed: &[u64; 2], last_end: &mut [u64; 2]| match ev {
        TlsEvent::Data(p) => {
            let i = usize::from(p.dir == Dir::Server);
            assert!(
                p.data.len() <= MAX_RECORD,
                "plaintext of {} bytes",
                p.data.len()
            );
            assert!(
                p.end_offset <= fed[i],
                "end {} past {} fed",
                p.end_offset,
                fed[i]
            );
            assert!(p.end_offset >= last_end[i], "plaintext out of order");
            last_end[i] = p.end_offset;
        }
        TlsEvent::Finding(f) => common::assert_clean(&f.message),
    };
    for (n, op) in ops.iter().enumerate() {
        let packet = n as u64 + 1;
        match *op {
            common::Op::Data(d, b) => {
                for piece in b.chunks(step.min(b.len().max(1))) {
                    fed[usize::from(d)] += piece.len() as u64;
                    let f = fed;
                    conn.feed(dir(d), piece, packet, &keys, &mut |ev| {
                        check(ev, &f, &mut last_end)
                    });
                }
            }
            common::Op::Gap(d, len) => {
                fed[usize::from(d)] += len;
                conn.gap(dir(d), len);
            }
        }
        let peak = common::peak_since(base);
        assert!(peak <= BOUND, "{peak} bytes held (bound {BOUND})");
    }
    let f = fed;
    conn.finish(&keys, &mut |ev| check(ev, &f, &mut last_end));
    let s = conn.summary();
    for t in [&s.sni, &s.alpn].into_iter().flatten() {
        common::assert_clean(t);
    }
    // The hello's ALPN offers are kept as the wire's bytes (shown only
    // through the summary's escaped text, checked above): each within
    // the one-byte length the extension gives it.
    if let Some(ch) = conn.client_hello() {
        assert!(ch.alpn.iter().all(|a| a.len() <= 255));
    }
});
