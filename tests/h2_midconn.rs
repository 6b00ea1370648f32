//! HTTP/2 caught mid-connection (issue 15): no SYN, no preface, no
//! SETTINGS, HPACK history lost. The connection is recognised by its
//! frames chaining exactly, streams are followed by id, a stream whose
//! extended CONNECT was before the capture is still decoded as WebSocket
//! when its DATA chains as strictly as a TCP stream caught mid-way must,
//! and `h2.hpack-no-context` is raised once per connection and direction,
//! exactly where tshark 4.0.17 shows header fields as `<unknown>`.
//!
//! The cuts are made here the way `editcap -r NAME.pcap OUT K-LAST` makes
//! them (the records from packet K on); `samples/h2/cuts.tshark.jsonl` is
//! tshark's view of each (`samples/record/h2_cuts_expect.sh`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;
use wsdissect::event::Event;
use wsdissect::findings::Dir;
use wsdissect::{Config, run as analyze};

fn h2(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples/h2")
        .join(name)
}

fn jsonl(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A classic little-endian pcap from its `k`th record on (1-based), as
/// `editcap -r IN OUT K-LAST` writes it.
fn cut(pcap: &[u8], k: usize) -> Vec<u8> {
    assert_eq!(&pcap[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "classic LE pcap");
    let mut out = pcap[..24].to_vec();
    let mut pos = 24;
    let mut n = 1;
    while pos + 16 <= pcap.len() {
        let caplen = u32::from_le_bytes(pcap[pos + 8..pos + 12].try_into().unwrap()) as usize;
        let end = pos + 16 + caplen;
        if n >= k {
            out.extend_from_slice(&pcap[pos..end]);
        }
        pos = end;
        n += 1;
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Frame {
    client_port: u16,
    stream: Option<u32>,
    from: &'static str,
    packet: u64,
    opcode: u8,
    payload: Vec<u8>,
}

#[derive(Default)]
struct Seen {
    frames: Vec<Frame>,
    /// (code, client port, direction) of every finding.
    findings: Vec<(String, u16, Option<&'static str>)>,
    /// Data messages: (stream, from, bytes).
    messages: Vec<(Option<u32>, &'static str, Vec<u8>)>,
}

fn run(bytes: &[u8]) -> Seen {
    let mut s = Seen::default();
    analyze(bytes, &Config::default(), &mut |ev: Event<'_>| match ev {
        Event::Frame(f) => s.frames.push(Frame {
            client_port: f.session.client.port(),
            stream: f.session.stream,
            from: f.from.as_str(),
            packet: f.packet,
            opcode: f.header.opcode.as_u8(),
            payload: f.payload.to_vec(),
        }),
        Event::Message(m) if m.opcode.is_data() => {
            s.messages
                .push((m.session.stream, m.from.as_str(), m.data.to_vec()));
        }
        Event::Finding(f) => s.findings.push((
            f.code.as_str().to_string(),
            f.at.session.map_or(0, |x| x.client.port()),
            f.at.from.map(Dir::as_str),
        )),
        _ => {}
    })
    .unwrap();
    s
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The real capture that starts 1.2 s into the connection: the WebSocket
/// on stream 1 (its CONNECT long before) is found, its messages are a run
/// of the logged ones ending with the last, and the lost HPACK history is
/// one `h2.hpack-no-context` per direction.
#[test]
fn h2_midconn_websocket_is_followed_on_its_stream() {
    let s = run(&std::fs::read(h2("h2-midconn.pcap")).unwrap());
    let log = jsonl(&h2("h2-midconn.sent.jsonl"));
    for side in ["client", "server"] {
        let logged: Vec<String> = log
            .iter()
            .filter(|r| r["side"] == side)
            .map(|r| r["data_hex"].as_str().unwrap().to_string())
            .collect();
        let ours: Vec<String> = s
            .messages
            .iter()
            .filter(|m| m.1 == side)
            .map(|m| {
                assert_eq!(m.0, Some(1), "WebSocket on stream 1");
                hex(&m.2)
            })
            .collect();
        assert!(ours.len() >= 10, "{side}: {} messages", ours.len());
        let start = logged.len() - ours.len();
        assert_eq!(ours, logged[start..], "{side}: a run ending with the last");
        // The capture began 1.2 s in, a message every 100 ms: a dozen missed at most.
        assert!(start <= 13, "{side}: {start} logged messages missed");
    }
    let count = |code: &str, dir: &str| {
        s.findings
            .iter()
            .filter(|f| f.0 == code && f.2 == Some(dir))
            .count()
    };
    assert_eq!(
        count("h2.hpack-no-context", "client"),
        1,
        "{:?}",
        s.findings
    );
    assert_eq!(
        count("h2.hpack-no-context", "server"),
        1,
        "{:?}",
        s.findings
    );
    assert!(
        s.findings
            .iter()
            .all(|f| matches!(&*f.0, "h2.hpack-no-context" | "stream.no-handshake")),
        "{:?}",
        s.findings
    );
}

/// Each h2 sample cut at several packets: every WebSocket frame found after
/// the cut is the uncut capture's frame at that packet (same stream,
/// direction, opcode and payload), in the same order; where enough frames
/// follow the cut all of them are found; and `h2.hpack-no-context` is
/// raised for exactly the connections and directions where tshark shows a
/// header field it cannot resolve, once each.
#[test]
fn cuts_find_the_uncut_frames_and_flag_lost_hpack_history() {
    let expect = jsonl(&h2("cuts.tshark.jsonl"));
    assert!(expect.len() >= 30, "cuts.tshark.jsonl");
    let mut cuts_with_frames = 0;
    let mut cuts_with_no_context = 0;
    for e in &expect {
        let name = e["capture"].as_str().unwrap();
        let k = e["cut"].as_u64().unwrap() as usize;
        let whole = std::fs::read(h2(name)).unwrap();
        let uncut = run(&whole);
        let s = run(&cut(&whole, k));
        let shift = k as u64 - 1;
        let ours: Vec<Frame> = s
            .frames
            .iter()
            .map(|f| Frame {
                packet: f.packet + shift,
                ..f.clone()
            })
            .collect();
        let after: Vec<&Frame> = uncut
            .frames
            .iter()
            .filter(|f| f.packet >= k as u64)
            .collect();
        // Per stream and direction, ours are the uncut ones from some frame on.
        let keys: BTreeSet<_> = after
            .iter()
            .map(|f| (f.client_port, f.stream, f.from))
            .collect();
        for key in &keys {
            let want: Vec<&Frame> = after
                .iter()
                .copied()
                .filter(|f| (f.client_port, f.stream, f.from) == *key)
                .collect();
            let got: Vec<&Frame> = ours
                .iter()
                .filter(|f| (f.client_port, f.stream, f.from) == *key)
                .collect();
            assert!(got.len() <= want.len(), "{name}@{k} {key:?}");
            assert_eq!(
                got,
                want[want.len() - got.len()..],
                "{name}@{k} {key:?}: frames differ from the uncut capture's"
            );
        }
        assert!(
            ours.iter()
                .all(|f| keys.contains(&(f.client_port, f.stream, f.from))),
            "{name}@{k}: a frame the uncut capture does not have"
        );
        // h2-ws.pcap cut before its second WebSocket's first messages: all found.
        if name == "h2-ws.pcap" && k <= 16 {
            assert_eq!(ours.len(), after.len(), "{name}@{k}");
            assert!(!ours.is_empty());
            cuts_with_frames += 1;
        }
        let want: BTreeSet<(u16, String)> = e["unknown"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                (
                    u[0].as_u64().unwrap() as u16,
                    u[1].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let got: Vec<(u16, String)> = s
            .findings
            .iter()
            .filter(|f| f.0 == "h2.hpack-no-context")
            .map(|f| (f.1, f.2.unwrap().to_string()))
            .collect();
        let got_set: BTreeSet<_> = got.iter().cloned().collect();
        assert_eq!(got.len(), got_set.len(), "{name}@{k}: once per direction");
        assert_eq!(
            got_set, want,
            "{name}@{k}: h2.hpack-no-context where tshark lacks context"
        );
        cuts_with_no_context += usize::from(!want.is_empty());
        // Nothing else is invented on a cut of clean traffic.
        assert!(
            s.findings.iter().all(|f| matches!(
                &*f.0,
                "h2.hpack-no-context" | "stream.no-handshake" | "stream.incomplete-frame"
            )),
            "{name}@{k}: {:?}",
            s.findings
        );
    }
    assert!(cuts_with_frames >= 3, "{cuts_with_frames}");
    assert!(cuts_with_no_context >= 10, "{cuts_with_no_context}");
}
