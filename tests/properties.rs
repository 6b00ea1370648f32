//! Property tests: header encode/decode round trips, unmasking with a phase
//! against the byte loop, and the stream decoder's independence from where
//! TCP cut the bytes.

use proptest::prelude::*;
use wsdissect::Config;
use wsdissect::event::{Event, SessionRef, ToSink};
use wsdissect::findings::{Code, Dir};
use wsdissect::ws::frame::{
    FrameHeader, LengthForm, OpCode, encode_header, minimal_form, parse_header,
};
use wsdissect::ws::mask::{unmask_in_place, unmask_into};
use wsdissect::ws::stream::{Ctx, WsDecoder};

fn header_strategy() -> impl Strategy<Value = FrameHeader> {
    (
        any::<[bool; 4]>(),
        0u8..16,
        proptest::option::of(any::<[u8; 4]>()),
        prop_oneof![0u64..126, 0u64..0x1_0000, any::<u64>()],
        0u8..3,
    )
        .prop_map(|([fin, rsv1, rsv2, rsv3], op, mask_key, len, form)| {
            // Any form that can hold the length, minimal or not.
            let form = match (form, minimal_form(len)) {
                (_, LengthForm::Ext64) | (2, _) => LengthForm::Ext64,
                (_, LengthForm::Ext16) | (1, _) => LengthForm::Ext16,
                _ => LengthForm::Short,
            };
            let header_len =
                2 + match form {
                    LengthForm::Short => 0,
                    LengthForm::Ext16 => 2,
                    LengthForm::Ext64 => 8,
                } + if mask_key.is_some() { 4 } else { 0 };
            FrameHeader {
                fin,
                rsv1,
                rsv2,
                rsv3,
                opcode: OpCode::from_u8(op),
                mask_key,
                payload_len: len,
                length_form: form,
                header_len,
            }
        })
}

/// The masking loop from RFC 6455 section 5.3, byte by byte.
fn xor_loop(data: &[u8], key: [u8; 4], phase: u64) -> Vec<u8> {
    data.iter()
        .enumerate()
        .map(|(i, b)| b ^ key[((phase + i as u64) % 4) as usize])
        .collect()
}

proptest! {
    #[test]
    fn header_round_trips(h in header_strategy(), tail in proptest::collection::vec(any::<u8>(), 0..8)) {
        let mut bytes = Vec::new();
        encode_header(&h, &mut bytes);
        prop_assert_eq!(bytes.len(), h.header_len);
        bytes.extend_from_slice(&tail);
        prop_assert_eq!(parse_header(&bytes), Some(h));
        // Any strict prefix is "not enough bytes yet", never a wrong header.
        for cut in 0..h.header_len {
            prop_assert_eq!(parse_header(&bytes[..cut]), None);
        }
    }

    #[test]
    fn unmasking_matches_the_byte_loop(
        data in proptest::collection::vec(any::<u8>(), 0..300),
        key in any::<[u8; 4]>(),
        phase in any::<u64>(),
        skip in 0usize..8,
    ) {
        let expect = xor_loop(&data, key, phase);
        // In place, also from an unaligned start inside a larger buffer.
        let mut buf = vec![0u8; skip];
        buf.extend_from_slice(&data);
        unmask_in_place(&mut buf[skip..], key, phase);
        prop_assert_eq!(&buf[skip..], &expect[..]);
        let mut out = vec![9u8; 3];
        unmask_into(&data, key, phase, &mut out);
        prop_assert_eq!(&out[3..], &expect[..]);
        prop_assert_eq!(&out[..3], &[9u8; 3][..]);
        // Twice is the identity.
        unmask_in_place(&mut buf[skip..], key, phase);
        prop_assert_eq!(&buf[skip..], &data[..]);
    }

    #[test]
    fn unmasking_split_anywhere_with_the_phase_carried(
        data in proptest::collection::vec(any::<u8>(), 0..200),
        key in any::<[u8; 4]>(),
        cuts in proptest::collection::vec(0usize..200, 0..6),
    ) {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
        cuts.sort();
        let mut whole = Vec::new();
        let mut at = 0;
        for c in cuts.into_iter().chain([data.len()]) {
            unmask_into(&data[at..c], key, at as u64, &mut whole);
            at = c;
        }
        prop_assert_eq!(whole, xor_loop(&data, key, 0));
    }

    #[test]
    fn decoded_frames_do_not_depend_on_segment_boundaries(
        frames in proptest::collection::vec(
            (0u8..3, proptest::collection::vec(any::<u8>(), 0..400), any::<[u8; 4]>()),
            1..8),
        cuts in proptest::collection::vec(1usize..300, 0..20),
    ) {
        // A client stream of whole binary, ping and empty frames (masked, minimal lengths).
        let mut stream = Vec::new();
        let mut expect = Vec::new();
        for (kind, payload, key) in &frames {
            let (op, payload) = match kind {
                0 => (OpCode::Binary, &payload[..]),
                1 => (OpCode::Ping, &payload[..payload.len().min(125)]),
                _ => (OpCode::Binary, &payload[..0]),
            };
            let h = FrameHeader {
                fin: true,
                rsv1: false,
                rsv2: false,
                rsv3: false,
                opcode: op,
                mask_key: Some(*key),
                payload_len: payload.len() as u64,
                length_form: minimal_form(payload.len() as u64),
                header_len: 0,
            };
            let mut hb = Vec::new();
            encode_header(&h, &mut hb);
            stream.extend_from_slice(&hb);
            stream.extend(xor_loop(payload, *key, 0));
            expect.push((op.as_u8(), payload.to_vec()));
        }
        let decode = |pieces: &[&[u8]]| {
            let cfg = Config::default();
            let addr = "127.0.0.1:1".parse().unwrap();
            let session = SessionRef::conn(0, addr, addr);
            let mut got = Vec::new();
            let mut findings: Vec<Code> = Vec::new();
            let mut sink = |ev: Event<'_>| match ev {
                Event::Frame(f) => got.push((f.header.opcode.as_u8(), f.payload.to_vec())),
                Event::Finding(f) => findings.push(f.code),
                _ => {}
            };
            let mut dec = WsDecoder::new(false, false);
            let mut offset = 0;
            for (i, p) in pieces.iter().enumerate() {
                let mut cx = Ctx { session, from: Some(Dir::Client), sender: addr, receiver: addr,
                    packet: i as u64 + 1, ts: 0.0, cfg: &cfg, out: &mut ToSink(&mut sink) };
                dec.data(offset, p, &mut cx);
                offset += p.len() as u64;
            }
            let mut cx = Ctx { session, from: Some(Dir::Client), sender: addr, receiver: addr,
                packet: 0, ts: 0.0, cfg: &cfg, out: &mut ToSink(&mut sink) };
            dec.finish(&mut cx);

            (got.clone(), findings.clone())
        };
        let mut pieces = Vec::new();
        let mut rest = &stream[..];
        for c in cuts {
            let (a, b) = rest.split_at(c.min(rest.len()));
            pieces.push(a);
            rest = b;
        }
        pieces.push(rest);
        let (whole, whole_findings) = decode(&[&stream]);
        let (split, split_findings) = decode(&pieces);
        prop_assert_eq!(&whole, &expect);
        prop_assert_eq!(&split, &expect);
        prop_assert_eq!(whole_findings, split_findings);
    }
}
