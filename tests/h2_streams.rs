//! HTTP/2 streams in the outputs (issue 15): the `stream` column of the
//! frames and messages tables when a record is HTTP/2 (none for HTTP/1.1
//! only), and pongs paired with their pings per stream, as over HTTP/1.1.
//! On the real Hypercorn + Python h2 recording `samples/h2/h2-ws.pcap`
//! (two WebSockets on streams 1 and 3; a ping `p1` answered by a pong).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use wsdissect::event::Event;
use wsdissect::ws::frame::OpCode;
use wsdissect::{Config, run as analyze};

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

fn cli(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1));
    String::from_utf8(out.stdout).unwrap()
}

fn columns(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Each table row's `stream` cell is the stream of the JSON record in the
/// same place; an HTTP/1.1-only table has no such column.
#[test]
fn stream_column_when_http2() {
    let cap = sample("h2/h2-ws.pcap");
    let cap = cap.to_str().unwrap();
    for (cmd, first) in [("frames", "pkt"), ("messages", "pkts")] {
        let table = cli(&[cmd, "-q", cap]);
        let json: Vec<Value> = cli(&[cmd, "-q", "--format", "json", cap])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let mut lines = table.lines();
        let header = columns(lines.next().unwrap());
        assert_eq!(header[0], first, "{table}");
        let at = header
            .iter()
            .position(|c| *c == "stream")
            .expect("a stream column");
        assert_eq!(header[at - 1], "conn");
        let rows: Vec<&str> = lines.collect();
        assert_eq!(rows.len(), json.len());
        let mut streams = std::collections::BTreeSet::new();
        for (row, rec) in rows.iter().zip(&json) {
            let cells = columns(row);
            assert_eq!(
                cells[at],
                rec["stream"].as_u64().unwrap().to_string(),
                "{row}"
            );
            streams.insert(cells[at].to_string());
        }
        assert_eq!(streams.len(), 2, "streams 1 and 3: {streams:?}");
    }
    let h1 = sample("python-echo.pcap");
    for cmd in ["frames", "messages"] {
        let table = cli(&[cmd, "-q", h1.to_str().unwrap()]);
        let header = columns(table.lines().next().unwrap());
        assert!(!header.contains(&"stream"), "{header:?}");
        assert_eq!(header[3], "dir", "{header:?}");
    }
}

/// A pong on an HTTP/2 stream names the ping it answers: the other side's
/// ping on the same stream with the same payload, before it.
#[test]
fn pongs_pair_with_pings_per_stream() {
    struct F {
        stream: Option<u32>,
        from: &'static str,
        op: OpCode,
        packet: u64,
        offset: u64,
        ts: f64,
        payload: Vec<u8>,
        answers: Option<(u64, u64, f64)>,
    }
    let bytes = std::fs::read(sample("h2/h2-ws.pcap")).unwrap();
    let mut frames = Vec::new();
    analyze(&bytes[..], &Config::default(), &mut |ev: Event<'_>| {
        if let Event::Frame(f) = ev {
            frames.push(F {
                stream: f.session.stream,
                from: f.from.as_str(),
                op: f.header.opcode,
                packet: f.packet,
                offset: f.offset,
                ts: f.ts,
                payload: f.payload.to_vec(),
                answers: f.answers.map(|a| (a.offset, a.packet, a.ts)),
            });
        }
    })
    .unwrap();
    let pongs: Vec<&F> = frames.iter().filter(|f| f.op == OpCode::Pong).collect();
    assert!(!pongs.is_empty(), "h2-ws.pcap has a pong");
    for p in pongs {
        let ping = frames
            .iter()
            .find(|f| {
                f.op == OpCode::Ping
                    && f.stream == p.stream
                    && f.from != p.from
                    && f.payload == p.payload
                    && f.packet <= p.packet
            })
            .expect("its ping");
        assert_eq!(p.answers, Some((ping.offset, ping.packet, ping.ts)));
        assert!(p.ts >= ping.ts);
    }
}
