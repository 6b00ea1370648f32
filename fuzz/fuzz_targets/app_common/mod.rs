//! Shared by the subprotocol targets (app_mqtt, app_stomp, app_socketio,
//! app_graphql): drives one decoder of src/app with a sequence of
//! WebSocket messages read from the input, then checks what came out.
//!
//! Input: `[h][len lo][len hi][bytes...]` steps (fuzz/seed.sh writes them
//! from the samples' real messages): `h & 1` the direction (0 client,
//! 1 server), `h & 2` a binary message, `h & 4` an Engine.IO polling body
//! rather than a WebSocket message; `h = 0xfe, 0xff` a message of that
//! direction lost (`Decoder::lost`).
#![allow(dead_code)]

use std::io::Write as _;

use wsdissect::app::{Decoder, Msg, Output, Protocol, Session};
use wsdissect::event::{Event, Sink, StartRecord};
use wsdissect::findings::Dir;
use wsdissect::render::PayloadMode;
use wsdissect::render::app::{AppFormat, AppJson, AppSink};
use wsdissect::render::json::write_record;

/// Runs `data` through a `protocol` decoder and checks the invariants:
/// nothing panics, memory stays within a bound of the input whatever a
/// length field says, every record serialises as an `app` JSON line, table
/// and CSV rows carry no control byte, and finding sentences are printable.
pub fn drive(protocol: Protocol, data: &[u8]) {
    let base = super::common::mark();
    let mut d = Decoder::new(
        protocol,
        Session {
            conn: 7,
            client: "127.0.0.1:40000".into(),
            server: "127.0.0.1:9000".into(),
            stream: None,
        },
    );
    let mut out = Output::default();
    let mut rest = data;
    let mut packet = 0u64;
    let mut messages = 0usize;
    while let [h, lo, hi, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        let (body, next) = tail.split_at(len);
        rest = next;
        let from = if h & 1 == 0 { Dir::Client } else { Dir::Server };
        packet += 1;
        messages += 1;
        if h >> 1 == 0x7f {
            d.lost(from);
            continue;
        }
        let m = Msg {
            from,
            binary: h & 2 != 0,
            payload: body,
            packet,
            ts: packet as f64,
        };
        if h & 4 != 0 {
            d.polling_body(&m, &mut out);
        } else {
            d.message(&m, &mut out);
        }
    }
    d.finish(&mut out);
    let peak = super::common::peak_since(base);
    let bound = (1 << 20) + 2048 * data.len();
    assert!(peak <= bound, "{peak} bytes at the peak for {} input bytes", data.len());
    // Units come from bytes: never more records than bytes and messages.
    assert!(out.records.len() <= data.len() + messages + 1);
    for f in &out.findings {
        assert!(
            !f.message.chars().any(char::is_control),
            "control character in {:?}",
            f.message
        );
        assert!(f.packet >= 1 && f.packet <= packet.max(1));
    }
    let mut line = Vec::new();
    for r in &out.records {
        assert_eq!(r.protocol, protocol.as_str());
        for mode in [PayloadMode::Text, PayloadMode::Hex, PayloadMode::Base64, PayloadMode::None] {
            line.clear();
            write_record(&mut line, Some("fuzz"), &AppJson::new(r, mode)).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&line).unwrap();
            assert_eq!(v["type"], "app");
            assert_eq!(v["kind"], r.kind.as_str());
        }
    }
    for format in [AppFormat::Table, AppFormat::Csv] {
        let mut sink = AppSink::new(Vec::new(), format, PayloadMode::Text, Some(80));
        let _ = sink.event(Event::Start(&StartRecord { ts: 0.0 }));
        for r in &out.records {
            let _ = sink.event(Event::App(r));
        }
        let _ = sink.out.w.flush();
        let text = String::from_utf8(std::mem::take(&mut sink.out.w)).unwrap();
        for c in text.chars() {
            assert!(c == '\n' || c == '\r' || !c.is_control(), "control {c:?} in {format:?} output");
        }
    }
}
