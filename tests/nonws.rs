//! Non-WebSocket TCP is left alone (issue 12, item 1).
//!
//! `samples/nonws/` holds real traffic of other protocols recorded on
//! loopback by `samples/record/nonws.sh` (HTTPS over TLS 1.2 and 1.3, wss://,
//! HTTP/2 h2c, PostgreSQL, MQTT, Redis, SSH, random bytes), whole and with
//! their first packets dropped (mid-stream). tshark finds no WebSocket in any
//! of them; neither may we: no frame, no message, no WebSocket finding, no
//! `conns` row as WebSocket, and `check` exits 0. TLS is recognised and
//! reported (`tls.no-keys`, the `tls` object) with what the recorder set up.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::synth::{Flow, Pcap, frame};
use serde::Deserialize;
use wsdissect::event::Event;
use wsdissect::findings::Severity;
use wsdissect::tls::TlsInfo;
use wsdissect::{Config, run as analyze};

#[derive(Default, Debug)]
struct Seen {
    frames: usize,
    messages: usize,
    errors: Vec<String>,
    codes: BTreeMap<String, usize>,
    ws_conns: usize,
    tls: Vec<TlsInfo>,
}

fn run(bytes: &[u8]) -> Seen {
    let mut s = Seen::default();
    analyze(bytes, &Config::default(), &mut |ev: Event<'_>| match ev {
        Event::Frame(_) => s.frames += 1,
        Event::Message(_) => s.messages += 1,
        Event::Finding(f) => {
            if f.severity() == Severity::Error {
                s.errors.push(f.message.clone());
            }
            *s.codes.entry(f.code.as_str().to_string()).or_default() += 1;
        }
        Event::ConnEnd(c) => {
            if c.websocket {
                s.ws_conns += 1;
            }
            if let Some(t) = &c.tls {
                s.tls.push(t.clone());
            }
        }
        _ => {}
    })
    .unwrap();
    s
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/nonws")
}

fn captures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    v.sort();
    v
}

#[test]
fn no_frame_from_other_protocols_whole_or_mid_stream() {
    let files = captures();
    assert!(files.len() >= 20, "nonws corpus missing");
    let mut mid = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        mid += usize::from(name.starts_with("mid-"));
        let s = run(&std::fs::read(path).unwrap());
        assert_eq!(s.frames, 0, "{name}: frames");
        assert_eq!(s.messages, 0, "{name}: messages");
        assert_eq!(s.ws_conns, 0, "{name}: WebSocket connections");
        assert!(s.errors.is_empty(), "{name}: {:?}", s.errors);
        for code in s.codes.keys() {
            assert_eq!(code, "tls.no-keys", "{name}: unexpected finding");
        }
        if name.starts_with("mid-https") || name.starts_with("mid-wss") || !name.starts_with("mid-")
        {
            // TLS caught mid-way (after both hellos) is still TLS, by its records.
            let tls = name.contains("https") || name.contains("wss");
            assert_eq!(!s.tls.is_empty(), tls, "{name}: TLS recognised");
        }
    }
    assert!(mid >= 10, "mid-stream variants missing");
}

#[derive(Deserialize)]
struct TlsCase {
    file: String,
    conns: usize,
    version: String,
    cipher: Option<String>,
    sni: String,
    alpn: String,
}

#[derive(Deserialize)]
struct Manifest {
    tls: Vec<TlsCase>,
}

#[test]
fn tls_is_recognised_with_what_the_recorder_configured() {
    let m: Manifest =
        serde_json::from_str(&std::fs::read_to_string(dir().join("manifest.json")).unwrap())
            .unwrap();
    assert!(m.tls.len() >= 3);
    for case in &m.tls {
        let s = run(&std::fs::read(dir().join(&case.file)).unwrap());
        let f = &case.file;
        assert_eq!(s.tls.len(), case.conns, "{f}: TLS connections");
        assert_eq!(s.codes.get("tls.no-keys"), Some(&case.conns), "{f}");
        for t in &s.tls {
            assert_eq!(t.version.as_deref(), Some(case.version.as_str()), "{f}");
            assert_eq!(t.sni.as_deref(), Some(case.sni.as_str()), "{f}");
            assert_eq!(t.alpn.as_deref(), Some(case.alpn.as_str()), "{f}");
            if let Some(c) = &case.cipher {
                assert_eq!(t.cipher.as_deref(), Some(c.as_str()), "{f}");
            }
            assert!(!t.decrypted);
        }
        // Its first connection caught after the ClientHello (its first four
        // packets dropped) is still TLS, by the ServerHello.
        let mid = dir().join(format!("mid-{}-4.pcap", f.trim_end_matches(".pcap")));
        let s = run(&std::fs::read(&mid).unwrap());
        assert_eq!(s.tls.len(), case.conns, "{}", mid.display());
        assert!(s.tls[0].sni.is_none() && s.tls[0].version.is_some());
    }
}

#[test]
fn check_exits_0_on_the_whole_corpus() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .arg("check")
        .arg("-q")
        .args(captures())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("0 errors"), "{text}");
    let conns = std::process::Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(["conns", "--format", "json", "-q"])
        .arg(dir().join("https-tls12.pcap"))
        .output()
        .unwrap();
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&conns.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 6);
    for r in rows {
        assert_eq!(r["tls"]["sni"], "tls12.nonws.test");
        assert_eq!(r["tls"]["decrypted"], false);
        assert_eq!(r["client_to_server"]["frames"], 0);
    }
}

/// Deterministic bytes that look like ciphertext.
fn noise(seed: &mut u64, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            (*seed >> 24) as u8
        })
        .collect()
}

/// Random bytes both ways, in segments of random sizes.
fn random_flow(syn: bool, seed: u64) -> Vec<u8> {
    let mut cap = Pcap::new();
    let mut f = Flow::new(7);
    if syn {
        f.open(&mut cap);
    }
    let mut s = seed;
    for i in 0..600 {
        let n = 1 + (noise(&mut s, 2).iter().map(|&b| b as usize).sum::<usize>() * 3);
        let p = noise(&mut s, n);
        f.send(&mut cap, i % 3 != 0, &p);
    }
    cap.bytes
}

#[test]
fn random_bytes_over_tcp_yield_no_frames() {
    for seed in [1u64, 0x9e37_79b9_7f4a_7c15, 42, 7_777_777] {
        for syn in [true, false] {
            let s = run(&random_flow(syn, seed));
            assert_eq!(s.frames, 0, "seed {seed} syn {syn}");
            assert!(s.codes.is_empty(), "seed {seed} syn {syn}: {:?}", s.codes);
        }
    }
}

#[test]
fn a_websocket_stream_caught_mid_way_is_still_found_after_noise() {
    // No SYN: the stream starts with the tail of a lost frame, then frames.
    let mut cap = Pcap::new();
    let mut f = Flow::new(8);
    let mut s = 5u64;
    f.send(&mut cap, false, &noise(&mut s, 300));
    for i in 0..5 {
        f.send(
            &mut cap,
            false,
            &frame(false, 0x81, format!("update {i}").as_bytes()),
        );
        f.send(
            &mut cap,
            true,
            &frame(true, 0x81, format!("ack {i}").as_bytes()),
        );
    }
    let seen = run(&cap.bytes);
    assert_eq!(seen.frames, 10, "{seen:?}");
    assert_eq!(seen.ws_conns, 1);
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
}

#[test]
fn a_stream_whose_start_was_seen_and_did_not_upgrade_is_not_websocket() {
    // Valid-looking frames, but the connection began (SYN) without an upgrade.
    let mut cap = Pcap::new();
    let mut f = Flow::new(9);
    f.open(&mut cap);
    for i in 0..10 {
        f.send(&mut cap, true, &frame(true, 0x82, &[i; 40]));
        f.send(&mut cap, false, &frame(false, 0x82, &[i; 40]));
    }
    let seen = run(&cap.bytes);
    assert_eq!(seen.frames, 0);
    assert_eq!(seen.ws_conns, 0);
}

#[test]
fn once_one_direction_locks_the_other_needs_only_one_frame() {
    // No SYN; the server pushes five updates, the client answers once.
    let mut cap = Pcap::new();
    let mut f = Flow::new(10);
    for i in 0..5 {
        f.send(
            &mut cap,
            false,
            &frame(false, 0x81, format!("tick {i}").as_bytes()),
        );
    }
    f.send(&mut cap, true, &frame(true, 0x88, b"\x03\xe8"));
    let seen = run(&cap.bytes);
    assert_eq!(seen.frames, 6, "{seen:?}");
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
}

#[test]
fn a_frame_too_large_to_hold_ends_a_chain_that_still_locks() {
    // No SYN: two small frames, then a 100,000-byte one, then a close.
    let mut cap = Pcap::new();
    let mut f = Flow::new(11);
    f.send(&mut cap, false, &frame(false, 0x81, b"first"));
    f.send(&mut cap, false, &frame(false, 0x81, b"second"));
    f.send(&mut cap, false, &frame(false, 0x82, &vec![7u8; 100_000]));
    f.send(&mut cap, false, &frame(false, 0x88, b"\x03\xe8"));
    let seen = run(&cap.bytes);
    assert_eq!(seen.frames, 4, "{seen:?}");
    assert_eq!(seen.messages, 3);
}

/// Raw (unmasked) frame bytes with any first byte, for hostile chains.
fn raw(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![b0, payload.len() as u8];
    v.extend_from_slice(payload);
    v
}

#[test]
fn seven_bit_binary_data_chaining_as_text_fragments_is_not_locked_on() {
    // Pixel-like bytes below 0x80 (valid UTF-8, full of NULs and controls)
    // whose values happen to chain as a text fragment and continuations,
    // in one segment of a stream caught mid-way (no SYN).
    let mut seg = raw(0x01, &[0x6a, 0x4c, 0x00, 0x1f, 0x69, 0x4b, 0x00, 0x21]);
    for i in 0..6u8 {
        seg.extend(raw(
            0x00,
            &[0x6c, 0x4e, 0x00, 0x27 + i, 0x6a, 0x4d, 0x00, 0x1e],
        ));
    }
    seg.extend(raw(0x80, &[0x01, 0x02, 0x00, 0x1b]));
    let mut cap = Pcap::new();
    let mut f = Flow::new(12);
    f.send(&mut cap, false, &seg);
    let seen = run(&cap.bytes);
    assert_eq!(seen.frames, 0, "{seen:?}");
}

#[test]
fn a_chain_contradicted_later_in_the_held_bytes_is_not_locked_on() {
    // Seven well-formed binary frames, then a header with RSV2 and RSV3 set
    // and a reserved opcode, all in one segment: not a frame boundary.
    let mut seg = Vec::new();
    for i in 0..7u8 {
        seg.extend(raw(0x82, &[i; 30]));
    }
    seg.extend(raw(0x34, &[0; 40]));
    let mut cap = Pcap::new();
    let mut f = Flow::new(13);
    f.send(&mut cap, false, &seg);
    let seen = run(&cap.bytes);
    assert_eq!(seen.frames, 0, "{seen:?}");
}
