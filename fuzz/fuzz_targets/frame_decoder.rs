//! The WebSocket frame decoder over arbitrary stream bytes, cut into
//! arbitrary pieces, with gaps, with and without permessage-deflate.
//! Checks what must hold for every frame it reports.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use wsdissect::Config;
use wsdissect::event::{Event, ToSink};
use wsdissect::findings::Dir;
use wsdissect::session::SessionRef;
use wsdissect::ws::frame::parse_header;
use wsdissect::ws::stream::{Ctx, WsDecoder};

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else { return };
    let cfg = Config {
        max_frame_bytes: 4096,
        max_message_bytes: 8192,
        max_inflated_bytes: 1 << 20,
        ..Config::default()
    };
    let addr = "127.0.0.1:1".parse().unwrap();
    let session = SessionRef::conn(0, addr, addr);
    // Without a handshake, the bits choose how the stream is met: caught
    // mid-way (the strict frame hunt), known WebSocket with the 101's
    // negotiation cut, or the other direction already proven (relaxed).
    let mut dec = match (ctl & 1, ctl & 6) {
        (0, _) => WsDecoder::new(ctl & 2 != 0, ctl & 4 != 0),
        (_, 2) => WsDecoder::after_cut_handshake(),
        (_, 4) => WsDecoder::without_handshake_relaxed(true),
        (_, 6) => WsDecoder::negotiation_unknown(),
        _ => WsDecoder::without_handshake(),
    };
    let from = if ctl & 8 == 0 { Dir::Client } else { Dir::Server };
    let mut sink = |ev: Event<'_>| {
        // Findings may quote capture bytes: escaped, never raw.
        if let Event::Finding(f) = &ev {
            common::assert_clean(&f.message);
        }
        if let Event::Frame(f) = ev {
            assert!(f.payload.len() as u64 <= f.header.payload_len);
            assert_eq!(f.header_bytes.len(), f.header.header_len);
            // The header bytes decode to the header reported.
            let h = parse_header(f.header_bytes).expect("reported header parses");
            assert_eq!(h.payload_len, f.header.payload_len);
            assert_eq!(h.opcode, f.header.opcode);
        }
    };
    // Piece sizes come from the control byte's high bits and the data.
    let step = 1 + usize::from(ctl >> 4) * 7;
    let mut offset = 0u64;
    for (i, piece) in rest.chunks(step).enumerate() {
        let mut cx = Ctx {
            session,
            from: Some(from),
            sender: addr,
            receiver: addr,
            packet: i as u64 + 1,
            ts: 0.0,
            cfg: &cfg,
            out: &mut ToSink(&mut sink),
        };
        if piece.first() == Some(&0xEE) && ctl & 0x80 != 0 {
            dec.gap(u64::from(piece.len() as u8) * 1000, &mut cx);
        }
        dec.data(offset, piece, &mut cx);
        offset += piece.len() as u64;
        // The analyzer's budget for bytes held while hunting, made small.
        if dec.hunt_held() > 16 << 10 {
            dec.drop_hunt();
        }
    }
    let mut cx = Ctx {
        session,
        from: Some(from),
        sender: addr,
        receiver: addr,
        packet: 0,
        ts: 0.0,
        cfg: &cfg,
        out: &mut ToSink(&mut sink),
    };
    dec.finish(&mut cx);
});
