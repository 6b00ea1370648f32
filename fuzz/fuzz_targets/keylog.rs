//! The key log parser over arbitrary text, read as a stream (in buffers of
//! any size) and as a pcapng secrets block: never panics, the two readers
//! agree, and the entries are exactly those of the valid lines, checked
//! against a model written from the format's description
//! (`LABEL <64 hex digits> <hex secret>`, one a line).
#![no_main]

use std::collections::HashMap;
use std::io::BufReader;

use libfuzzer_sys::fuzz_target;
use wsdissect::tlscore::KeyLog;
use wsdissect::tlscore::keylog::MAX_LINE;

fn unhex(s: &[u8]) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    s.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

/// The model: which valid lines set which secret (the last one wins).
fn model(text: &[u8]) -> (u64, HashMap<([u8; 32], usize), Vec<u8>>) {
    let mut n = 0;
    let mut m = HashMap::new();
    for line in text.split(|&b| b == b'\n') {
        if line.len() > MAX_LINE {
            continue;
        }
        let words: Vec<&[u8]> = line
            .trim_ascii()
            .split(|&c| c == b' ' || c == b'\t')
            .filter(|w| !w.is_empty())
            .collect();
        let [label, random, secret] = words[..] else {
            continue;
        };
        let slot = match label {
            b"CLIENT_RANDOM" => 0,
            b"CLIENT_HANDSHAKE_TRAFFIC_SECRET" => 1,
            b"SERVER_HANDSHAKE_TRAFFIC_SECRET" => 2,
            b"CLIENT_TRAFFIC_SECRET_0" => 3,
            b"SERVER_TRAFFIC_SECRET_0" => 4,
            b"CLIENT_EARLY_TRAFFIC_SECRET" => 5,
            _ => continue,
        };
        // Hex digits only: from_str_radix would also take a sign.
        if ![random, secret]
            .iter()
            .all(|w| w.iter().all(u8::is_ascii_hexdigit))
        {
            continue;
        }
        let (Some(r), Some(s)) = (unhex(random), unhex(secret)) else {
            continue;
        };
        let Ok(r) = <[u8; 32]>::try_from(r.as_slice()) else {
            continue;
        };
        let ok = if slot == 0 {
            s.len() == 48
        } else {
            matches!(s.len(), 32 | 48)
        };
        if ok {
            n += 1;
            m.insert((r, slot), s);
        }
    }
    (n, m)
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, text)) = data.split_first() else {
        return;
    };
    let mut a = KeyLog::new();
    a.add_text(text);
    let mut b = KeyLog::new();
    let cap = 1 + usize::from(ctl) * 3;
    b.read_from(BufReader::with_capacity(cap, text))
        .expect("reading memory never fails");
    let (n, m) = model(text);
    for k in [&a, &b] {
        assert_eq!(k.stats.entries, n, "entries");
        for ((r, slot), s) in &m {
            let got = k.get(r).expect("a valid line's random is known");
            let v = [
                &got.master_secret,
                &got.client_handshake,
                &got.server_handshake,
                &got.client_traffic,
                &got.server_traffic,
                &got.client_early,
            ][*slot];
            assert_eq!(v.as_deref(), Some(&s[..]), "slot {slot}");
        }
        // Every random held came from a valid line.
        let randoms: std::collections::HashSet<_> = m.keys().map(|(r, _)| *r).collect();
        assert_eq!(k.len(), randoms.len());
    }
    assert_eq!(a.stats.garbage, b.stats.garbage, "garbage lines");
    assert_eq!(a.stats.other_labels, b.stats.other_labels, "other labels");
});
