//! Hostile HTTP/2 through the whole analyzer (the `h2` carrier), generated
//! deterministically: many streams, DATA on a closed stream, frames of
//! every unknown type, an extended CONNECT the server never allowed.
//! Nothing panics or hangs, what is followed stays capped, the damage is
//! named, and the intact traffic around it is still reported.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::synth::{Flow, Pcap};
use wsdissect::event::Event;
use wsdissect::findings::Dir;
use wsdissect::{Config, run as analyze};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    f.extend([kind, flags]);
    f.extend(stream.to_be_bytes());
    f.extend(payload);
    f
}

/// A header block of literals without indexing, new names (RFC 7541
/// section 6.2.2), no Huffman: independent of any table.
fn block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut b = Vec::new();
    for (n, v) in fields {
        assert!(n.len() < 127 && v.len() < 127);
        b.push(0);
        b.push(n.len() as u8);
        b.extend(n.as_bytes());
        b.push(v.len() as u8);
        b.extend(v.as_bytes());
    }
    b
}

const HEADERS: u8 = 1;
const DATA: u8 = 0;
const SETTINGS: u8 = 4;
const END_STREAM: u8 = 1;
const END_HEADERS: u8 = 4;

#[derive(Default, Debug)]
struct Seen {
    requests: Vec<(Option<u32>, String)>,
    responses: usize,
    handshakes: usize,
    messages: Vec<(Option<u32>, Dir, Vec<u8>)>,
    findings: BTreeMap<String, usize>,
}

fn run(cap: &Pcap) -> Seen {
    let mut s = Seen::default();
    let t = Instant::now();
    analyze(
        &cap.bytes[..],
        &Config::default(),
        &mut |ev: Event<'_>| match ev {
            Event::HttpHead(h) if h.from == Dir::Client => s
                .requests
                .push((h.session.stream, h.head.path.clone().unwrap_or_default())),
            Event::HttpHead(_) => s.responses += 1,
            Event::Handshake(..) => s.handshakes += 1,
            Event::Message(m) => s.messages.push((m.session.stream, m.from, m.data.to_vec())),
            Event::Finding(f) => *s.findings.entry(f.code.as_str().to_string()).or_default() += 1,
            _ => {}
        },
    )
    .unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(30),
        "took {:?}",
        t.elapsed()
    );
    s
}

/// A connection opened with the preface and both SETTINGS; `connect`:
/// the server allows extended CONNECT (RFC 8441 section 3).
fn opened(connect: bool) -> (Pcap, Flow) {
    let mut cap = Pcap::new();
    let mut f = Flow::new(1);
    f.open(&mut cap);
    let mut c = PREFACE.to_vec();
    c.extend(frame(SETTINGS, 0, 0, &[]));
    f.send(&mut cap, true, &c);
    let settings: &[u8] = if connect { &[0, 8, 0, 0, 0, 1] } else { &[] };
    f.send(&mut cap, false, &frame(SETTINGS, 0, 0, settings));
    (cap, f)
}

fn connect_ws(stream: u32) -> Vec<u8> {
    frame(
        HEADERS,
        END_HEADERS,
        stream,
        &block(&[
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", "http"),
            (":path", "/ws"),
            (":authority", "x"),
            ("sec-websocket-version", "13"),
        ]),
    )
}

fn get(stream: u32, path: &str, end: bool) -> Vec<u8> {
    frame(
        HEADERS,
        END_HEADERS | if end { END_STREAM } else { 0 },
        stream,
        &block(&[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", path),
            (":authority", "x"),
        ]),
    )
}

fn ok(stream: u32, end: bool) -> Vec<u8> {
    frame(
        HEADERS,
        END_HEADERS | if end { END_STREAM } else { 0 },
        stream,
        &block(&[(":status", "200")]),
    )
}

/// A masked text frame (client) or an unmasked one (server).
fn ws_text(client: bool, text: &[u8]) -> Vec<u8> {
    assert!(text.len() < 126);
    let key = [1, 2, 3, 4];
    let mut f = vec![0x81, text.len() as u8 | if client { 0x80 } else { 0 }];
    if client {
        f.extend(key);
        f.extend(text.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        f.extend(text);
    }
    f
}

#[test]
fn a_hundred_thousand_open_streams_stay_capped() {
    let (mut cap, mut f) = opened(true);
    // 100,000 requests that never end, then WebSockets on fresh streams.
    let mut c = Vec::new();
    for i in 0..100_000u32 {
        c.extend(get(2 * i + 1, "/held", false));
    }
    f.send(&mut cap, true, &c);
    let s = run(&cap);
    assert!(s.findings.contains_key("limit.reached"), "{:?}", s.findings);
    // Past the cap, streams are not followed: their heads are not reported.
    assert!(s.requests.len() < 100_000, "{}", s.requests.len());
    assert!(s.requests.len() >= 1000, "{}", s.requests.len());
    assert!(
        s.requests
            .iter()
            .all(|(st, p)| st.is_some_and(|x| x % 2 == 1) && p == "/held")
    );
}

#[test]
fn websockets_on_many_streams_keep_their_messages_apart() {
    let (mut cap, mut f) = opened(true);
    let n = 50u32;
    let mut c = Vec::new();
    for i in 0..n {
        c.extend(connect_ws(2 * i + 1));
    }
    f.send(&mut cap, true, &c);
    let mut s = Vec::new();
    for i in 0..n {
        s.extend(ok(2 * i + 1, false));
    }
    f.send(&mut cap, false, &s);
    // Interleaved DATA: each stream's message names its stream.
    for i in (0..n).rev() {
        let id = 2 * i + 1;
        let msg = format!("to {id}");
        f.send(
            &mut cap,
            true,
            &frame(DATA, 0, id, &ws_text(true, msg.as_bytes())),
        );
        let back = format!("from {id}");
        f.send(
            &mut cap,
            false,
            &frame(DATA, 0, id, &ws_text(false, back.as_bytes())),
        );
    }
    let seen = run(&cap);
    assert_eq!(seen.handshakes, n as usize);
    assert!(seen.findings.is_empty(), "{:?}", seen.findings);
    assert_eq!(seen.messages.len(), 2 * n as usize);
    for (stream, from, data) in &seen.messages {
        let id = stream.unwrap();
        let want = match from {
            Dir::Client => format!("to {id}"),
            Dir::Server => format!("from {id}"),
        };
        assert_eq!(data, want.as_bytes());
    }
}

#[test]
fn data_on_a_closed_stream_and_unknown_frame_types() {
    let (mut cap, mut f) = opened(false);
    f.send(&mut cap, true, &get(1, "/a", true));
    let mut s = ok(1, false);
    s.extend(frame(DATA, END_STREAM, 1, b"body"));
    // DATA on stream 1 after it closed (RFC 9113 section 5.1).
    s.extend(frame(DATA, 0, 1, b"late"));
    f.send(&mut cap, false, &s);
    // Every type this version does not define, on stream 0 and stream 3.
    let mut c = Vec::new();
    for kind in 0x0au8..=0xff {
        c.extend(frame(kind, 0xff, 0, &[kind; 7]));
        c.extend(frame(kind, 0, 3, &[]));
    }
    c.extend(get(3, "/b", true));
    f.send(&mut cap, true, &c);
    f.send(&mut cap, false, &ok(3, true));
    let seen = run(&cap);
    assert_eq!(
        seen.findings.get("h2.stream-error"),
        Some(&1),
        "{:?}",
        seen.findings
    );
    assert_eq!(seen.findings.len(), 1, "{:?}", seen.findings);
    let paths: Vec<&str> = seen.requests.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(paths, ["/a", "/b"]);
    assert_eq!(seen.responses, 2);
}

#[test]
fn extended_connect_the_server_never_allowed_is_named_and_still_decoded() {
    let (mut cap, mut f) = opened(false);
    f.send(&mut cap, true, &connect_ws(1));
    f.send(&mut cap, false, &ok(1, false));
    f.send(&mut cap, true, &frame(DATA, 0, 1, &ws_text(true, b"hi")));
    let seen = run(&cap);
    assert_eq!(
        seen.findings.get("h2.connect-protocol-not-enabled"),
        Some(&1),
        "{:?}",
        seen.findings
    );
    assert_eq!(seen.handshakes, 1);
    assert_eq!(seen.messages, [(Some(1), Dir::Client, b"hi".to_vec())]);
}
