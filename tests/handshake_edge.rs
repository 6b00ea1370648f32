//! Handshakes that are cut, partial or oversized (issue 12, items 2, 3, 24),
//! on captures recorded from real peers over kernel TCP.

mod common;

use std::process::Command;

use common::sample;
use wsdissect::event::Event;
use wsdissect::{Config, run as analyze};

/// A message: side, decodable, compressed, key, finding codes, packets.
type Msg = (
    String,
    bool,
    bool,
    common::MsgKey,
    Vec<String>,
    std::ops::RangeInclusive<u64>,
);

/// What a run saw: messages, findings (code, message), frame count, packets
/// of frames whose payload was not all captured, and the negotiated deflate.
#[derive(Default)]
struct Seen {
    messages: Vec<Msg>,
    cut_frames: Vec<u64>,
    findings: Vec<(String, String)>,
    frames: usize,
    handshake_deflate: Option<bool>,
}

fn run(path: &std::path::Path) -> Seen {
    let mut s = Seen::default();
    analyze(
        std::fs::File::open(path).unwrap(),
        &Config::default(),
        &mut |ev: Event<'_>| match ev {
            Event::Message(m) => s.messages.push((
                m.from.as_str().to_string(),
                m.decodable,
                m.compressed,
                common::key(m.from.as_str(), m.opcode.as_u8(), m.data),
                m.findings.iter().map(|c| c.as_str().to_string()).collect(),
                m.first_packet..=m.last_packet,
            )),
            Event::Finding(f) => s
                .findings
                .push((f.code.as_str().to_string(), f.message.clone())),
            Event::Frame(f) => {
                s.frames += 1;
                if !f.payload_complete {
                    s.cut_frames.push(f.packet);
                }
            }
            Event::Handshake(_, h) => s.handshake_deflate = Some(h.deflate.is_some()),
            _ => {}
        },
    )
    .unwrap();
    s
}

fn check_status(path: &std::path::Path) -> Option<i32> {
    Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .arg("check")
        .arg(path)
        .output()
        .unwrap()
        .status
        .code()
}

/// Item 2: permessage-deflate captured with `tcpdump -s 128`. The upgrade
/// is cut, so the negotiation is unknown; RSV1 messages are inflated where
/// they can be and equal the applications' log byte for byte, the others are
/// undecodable, and nothing compressed is judged as text.
#[test]
fn snapped_handshake_compressed_messages_inflate_or_are_undecodable() {
    let path = sample("deflate/snapped-128.pcap");
    let sent = common::load_sent(&path.with_extension("sent.jsonl"));
    let s = run(&path);
    let codes: Vec<&str> = s.findings.iter().map(|f| f.0.as_str()).collect();
    assert!(
        !codes.contains(&"message.invalid-utf8"),
        "compressed bytes judged as text: {codes:?}"
    );
    assert_eq!(
        check_status(&path),
        Some(0),
        "check fails on a snapped capture"
    );
    // The capture holds every message (some cut): the i-th message of a side
    // is the i-th that side logged.
    for side in ["client", "server"] {
        let want: Vec<_> = sent.iter().filter(|m| m.0 == side).collect();
        let got: Vec<_> = s.messages.iter().filter(|m| m.0 == side).collect();
        assert_eq!(got.len(), want.len(), "{side}: message count");
        let mut inflated = 0;
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                g.2,
                "{side} message {i}: RSV1 message not treated as compressed"
            );
            if g.1 {
                assert_eq!(
                    &g.3, *w,
                    "{side} message {i}: inflated bytes differ from the log"
                );
                inflated += 1;
            } else {
                let cut = s.cut_frames.iter().any(|p| g.5.contains(p));
                assert!(
                    cut || g.4.iter().any(|c| c == "deflate.no-context"),
                    "{side} message {i}: undecodable without a reason: {:?}",
                    g.4
                );
            }
        }
        // Hello, Hello (from the shared window), the fox, and the empty text.
        assert!(inflated >= 4, "{side}: only {inflated} inflated");
    }
    // The note says the handshake was cut, not that it was never captured.
    let note = s
        .findings
        .iter()
        .find(|f| f.0 == "stream.no-handshake")
        .expect("stream.no-handshake");
    assert!(
        note.1.contains("snapshot length") && !note.1.contains("not captured"),
        "{}",
        note.1
    );
}

/// A connection whose start was never captured keeps the old sentence.
#[test]
fn mid_connection_note_says_not_captured() {
    let s = run(&sample("midconn.pcap"));
    let note = s
        .findings
        .iter()
        .find(|f| f.0 == "stream.no-handshake")
        .expect("stream.no-handshake");
    assert!(
        note.1.contains("not captured") && !note.1.contains("snapshot"),
        "{}",
        note.1
    );
}

/// Item 24: one Sec-WebSocket-Extensions header of 10,000 offers (~300 KiB,
/// past the 64 KiB cap on a head), accepted by Node ws with
/// permessage-deflate. The oversized head is reported, the 101's
/// negotiation is used, every frame after it is decoded and every message
/// inflates byte-exact against the log.
#[test]
fn oversized_handshake_is_reported_and_everything_after_it_decoded() {
    let path = sample("deflate/oversized-extensions.pcap");
    let sent = common::load_sent(&path.with_extension("sent.jsonl"));
    let cfg = Config::default();
    let mut s = Seen::default();
    let (mut data_frames, mut msg_frames) = (0u32, 0u32);
    let mut controls = Vec::new();
    let mut request_len = 0;
    analyze(
        std::fs::File::open(&path).unwrap(),
        &cfg,
        &mut |ev: Event<'_>| match ev {
            Event::Frame(f) => {
                s.frames += 1;
                if f.header.opcode.is_control() {
                    controls.push(f.header.opcode.name());
                } else {
                    data_frames += 1;
                }
            }
            Event::Message(m) => {
                assert!(m.decodable && m.data_complete, "packet {}", m.first_packet);
                msg_frames += m.frames;
                s.messages.push((
                    m.from.as_str().to_string(),
                    m.decodable,
                    m.compressed,
                    common::key(m.from.as_str(), m.opcode.as_u8(), m.data),
                    Vec::new(),
                    m.first_packet..=m.last_packet,
                ));
            }
            Event::Finding(f) => s
                .findings
                .push((f.code.as_str().to_string(), f.message.clone())),
            Event::Handshake(_, h) => {
                s.handshake_deflate = Some(h.deflate.is_some());
                request_len = h.request.len;
                assert_eq!(h.status, Some(101));
                assert_eq!(
                    h.accept_ok,
                    Some(true),
                    "the key after the long header was read"
                );
            }
            _ => {}
        },
    )
    .unwrap();
    assert!(
        request_len > cfg.max_http_header_bytes * 4,
        "the request is not oversized: {request_len}"
    );
    assert_eq!(s.handshake_deflate, Some(true), "negotiation lost");
    // One finding: the limit, naming the header that could not be kept.
    assert_eq!(s.findings.len(), 1, "{:?}", s.findings);
    assert_eq!(s.findings[0].0, "limit.reached");
    assert!(s.findings[0].1.contains("Sec-WebSocket-Extensions"));
    assert_eq!(check_status(&path), Some(0));
    // Every frame decoded: data frames all belong to messages, and the
    // ping, its pong and both closes are there.
    assert_eq!(data_frames, msg_frames);
    controls.sort();
    assert_eq!(controls, ["close", "close", "ping", "pong"]);
    // Every message, in order per side, byte-exact; most were compressed.
    for side in ["client", "server"] {
        let want: Vec<_> = sent.iter().filter(|m| m.0 == side).collect();
        let got: Vec<_> = s
            .messages
            .iter()
            .filter(|m| m.0 == side)
            .map(|m| &m.3)
            .collect();
        assert_eq!(got, want, "{side}");
    }
    let compressed = s.messages.iter().filter(|m| m.2).count();
    assert!(
        compressed * 4 >= s.messages.len() * 3,
        "{compressed} compressed"
    );
}

/// The same session with `tcpdump -s 356`: the request is whole, the 101
/// loses its last bytes to the snapshot length. The handshake is taken from
/// what was seen (a 101 whose accept matches), the client's frames are
/// decoded from their start and the server's found past the cut: every
/// message inflates byte-exact or is one whose frames were cut.
#[test]
fn cut_101_still_upgrades_the_connection() {
    let path = sample("deflate/snapped-101.pcap");
    let sent = common::load_sent(&path.with_extension("sent.jsonl"));
    let mut status = None;
    let mut accept_ok = None;
    let mut s = Seen::default();
    analyze(
        std::fs::File::open(&path).unwrap(),
        &Config::default(),
        &mut |ev: Event<'_>| match ev {
            Event::Handshake(_, h) => {
                status = h.status;
                accept_ok = h.accept_ok;
                s.handshake_deflate = Some(h.deflate.is_some());
            }
            Event::Frame(f) => {
                s.frames += 1;
                if !f.payload_complete {
                    s.cut_frames.push(f.packet);
                }
            }
            Event::Message(m) => s.messages.push((
                m.from.as_str().to_string(),
                m.decodable,
                m.compressed,
                common::key(m.from.as_str(), m.opcode.as_u8(), m.data),
                m.findings.iter().map(|c| c.as_str().to_string()).collect(),
                m.first_packet..=m.last_packet,
            )),
            Event::Finding(f) => s
                .findings
                .push((f.code.as_str().to_string(), f.message.clone())),
            _ => {}
        },
    )
    .unwrap();
    assert_eq!((status, accept_ok), (Some(101), Some(true)));
    assert_eq!(s.handshake_deflate, Some(true));
    // Only the snapshot length's cuts are reported.
    for (code, msg) in &s.findings {
        assert_eq!(code, "tcp.truncated", "{msg}");
    }
    assert_eq!(check_status(&path), Some(0));
    for side in ["client", "server"] {
        let want: Vec<_> = sent.iter().filter(|m| m.0 == side).collect();
        let got: Vec<_> = s.messages.iter().filter(|m| m.0 == side).collect();
        assert_eq!(got.len(), want.len(), "{side}: message count");
        let mut inflated = 0;
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(g.2, "{side} message {i} not compressed");
            if g.1 {
                assert_eq!(&g.3, *w, "{side} message {i}");
                inflated += 1;
            } else {
                assert!(
                    s.cut_frames.iter().any(|p| g.5.contains(p))
                        || g.4.iter().any(|c| c == "deflate.no-context"),
                    "{side} message {i}: undecodable without a reason"
                );
            }
        }
        assert!(inflated >= 4, "{side}: only {inflated} inflated");
    }
}
