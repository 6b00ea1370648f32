//! RFC 6455 section 5.2 frame header: decoding the bits, nothing more.
//! Judging them against the RFC is `rules.rs`.
#![deny(clippy::indexing_slicing, clippy::cast_possible_truncation)]
#![warn(missing_docs)]

use nom::IResult;
use nom::number::streaming::{be_u8, be_u16, be_u32, be_u64};

/// Frame opcode; reserved values are kept, never lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation,
    /// 0x1: the first frame of a text message.
    Text,
    /// 0x2: the first frame of a binary message.
    Binary,
    /// 0x8: close (section 5.5.1).
    Close,
    /// 0x9: ping (section 5.5.2).
    Ping,
    /// 0xA: pong (section 5.5.3).
    Pong,
    /// 0x3-0x7 (non-control) and 0xB-0xF (control).
    Reserved(u8),
}

impl OpCode {
    /// Decodes the low four bits of `v`; the high bits are ignored.
    pub fn from_u8(v: u8) -> OpCode {
        match v & 0x0F {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            other => OpCode::Reserved(other),
        }
    }
    /// The four-bit opcode value.
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
            OpCode::Reserved(v) => v,
        }
    }
    /// The lower-case name used in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            OpCode::Continuation => "continuation",
            OpCode::Text => "text",
            OpCode::Binary => "binary",
            OpCode::Close => "close",
            OpCode::Ping => "ping",
            OpCode::Pong => "pong",
            OpCode::Reserved(_) => "reserved",
        }
    }
    /// Control frames have the high bit of the opcode set (section 5.5).
    pub fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }
    /// Text or binary: the opcodes that start a data message.
    pub fn is_data(self) -> bool {
        matches!(self, OpCode::Text | OpCode::Binary)
    }
}

/// Which payload length encoding the header used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthForm {
    /// 7-bit length, 0-125.
    Short,
    /// 126 then a 16-bit length.
    Ext16,
    /// 127 then a 64-bit length.
    Ext64,
}

/// Bit masks and values of the first two header bytes.
const FIN: u8 = 0x80;
const RSV1: u8 = 0x40;
const RSV2: u8 = 0x20;
const RSV3: u8 = 0x10;
const OPCODE: u8 = 0x0F;
const MASK: u8 = 0x80;
const LEN7: u8 = 0x7F;
const LEN_EXT16: u8 = 126;
const LEN_EXT64: u8 = 127;
/// The longest header: 2 + 8 (64-bit length) + 4 (masking key).
pub const MAX_HEADER_LEN: usize = 14;

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN: this is the final frame of its message.
    pub fin: bool,
    /// RSV1 (permessage-deflate's "compressed" bit).
    pub rsv1: bool,
    /// RSV2, defined by no extension we know.
    pub rsv2: bool,
    /// RSV3, defined by no extension we know.
    pub rsv3: bool,
    /// The frame opcode.
    pub opcode: OpCode,
    /// The masking key, when the MASK bit is set.
    pub mask_key: Option<[u8; 4]>,
    /// The declared payload length, as on the wire (may have bit 63 set).
    pub payload_len: u64,
    /// Which length encoding the header used.
    pub length_form: LengthForm,
    /// Bytes the header occupies (2 to 14).
    pub header_len: usize,
}

impl FrameHeader {
    /// The MASK bit: a masking key follows the length.
    pub fn masked(&self) -> bool {
        self.mask_key.is_some()
    }
}

fn header(input: &[u8]) -> IResult<&[u8], FrameHeader> {
    let (rest, b0) = be_u8(input)?;
    let (rest, b1) = be_u8(rest)?;
    let len7 = b1 & LEN7;
    let (rest, payload_len, length_form) = match len7 {
        LEN_EXT16 => {
            let (r, l) = be_u16(rest)?;
            (r, u64::from(l), LengthForm::Ext16)
        }
        LEN_EXT64 => {
            let (r, l) = be_u64(rest)?;
            (r, l, LengthForm::Ext64)
        }
        l => (rest, u64::from(l), LengthForm::Short),
    };
    let (rest, mask_key) = if b1 & MASK != 0 {
        // The key is four bytes in wire order; a big-endian read and
        // `to_be_bytes` give them back unchanged.
        let (r, k) = be_u32(rest)?;
        (r, Some(k.to_be_bytes()))
    } else {
        (rest, None)
    };
    let h = FrameHeader {
        fin: b0 & FIN != 0,
        rsv1: b0 & RSV1 != 0,
        rsv2: b0 & RSV2 != 0,
        rsv3: b0 & RSV3 != 0,
        opcode: OpCode::from_u8(b0 & OPCODE),
        mask_key,
        payload_len,
        length_form,
        header_len: input.len() - rest.len(),
    };
    Ok((rest, h))
}

/// Parses a header at the start of `input`. `None` means more bytes are needed.
pub fn parse_header(input: &[u8]) -> Option<FrameHeader> {
    // Most frames: a 7-bit or 16-bit length, read directly (the same as
    // the parser below, which a test holds it to).
    let [b0, b1, rest @ ..] = input else {
        return None;
    };
    let (payload_len, length_form, rest) = match b1 & LEN7 {
        LEN_EXT64 => return nom_header(input),
        LEN_EXT16 => {
            let [l0, l1, rest @ ..] = rest else {
                return None;
            };
            (
                u64::from(u16::from_be_bytes([*l0, *l1])),
                LengthForm::Ext16,
                rest,
            )
        }
        l => (u64::from(l), LengthForm::Short, rest),
    };
    let mask_key = match b1 & MASK {
        0 => None,
        _ => Some(*rest.first_chunk::<4>()?),
    };
    Some(FrameHeader {
        fin: b0 & FIN != 0,
        rsv1: b0 & RSV1 != 0,
        rsv2: b0 & RSV2 != 0,
        rsv3: b0 & RSV3 != 0,
        opcode: OpCode::from_u8(b0 & OPCODE),
        mask_key,
        payload_len,
        length_form,
        header_len: input.len() - rest.len() + if mask_key.is_some() { 4 } else { 0 },
    })
}

/// [`parse_header`] with nom's streaming parsers.
fn nom_header(input: &[u8]) -> Option<FrameHeader> {
    match header(input) {
        Ok((_, h)) => Some(h),
        // The only failure of these streaming parsers is Incomplete.
        Err(_) => None,
    }
}

/// Encodes a header (for tests, benchmarks and the explain diagrams).
pub fn encode_header(h: &FrameHeader, out: &mut Vec<u8>) {
    let mut b0 = h.opcode.as_u8() & OPCODE;
    for (bit, on) in [(FIN, h.fin), (RSV1, h.rsv1), (RSV2, h.rsv2), (RSV3, h.rsv3)] {
        if on {
            b0 |= bit;
        }
    }
    out.push(b0);
    let m = if h.mask_key.is_some() { MASK } else { 0 };
    // The 7-bit and 16-bit forms keep the low bits of the length, as the
    // wire does; the caller picks a form that fits (see `minimal_form`).
    let [.., lo16_hi, lo16_lo] = h.payload_len.to_be_bytes();
    match h.length_form {
        LengthForm::Short => out.push(m | (lo16_lo & LEN7)),
        LengthForm::Ext16 => {
            out.push(m | LEN_EXT16);
            out.extend_from_slice(&[lo16_hi, lo16_lo]);
        }
        LengthForm::Ext64 => {
            out.push(m | LEN_EXT64);
            out.extend_from_slice(&h.payload_len.to_be_bytes());
        }
    }
    if let Some(k) = h.mask_key {
        out.extend_from_slice(&k);
    }
}

/// The shortest length form for a payload length (section 5.2).
pub fn minimal_form(len: u64) -> LengthForm {
    if len <= 125 {
        LengthForm::Short
    } else if len <= 0xFFFF {
        LengthForm::Ext16
    } else {
        LengthForm::Ext64
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_examples() {
        // Section 5.7: a single-frame unmasked text message "Hello".
        let h = parse_header(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]).unwrap();
        assert!(h.fin && !h.rsv1 && h.mask_key.is_none());
        assert_eq!(
            (h.opcode, h.payload_len, h.header_len),
            (OpCode::Text, 5, 2)
        );
        // A single-frame masked text message "Hello".
        let h = parse_header(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f]).unwrap();
        assert_eq!(h.mask_key, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(h.header_len, 6);
        // A fragmented unmasked text message: "Hel" then "lo".
        let h = parse_header(&[0x01, 0x03, 0x48, 0x65, 0x6c]).unwrap();
        assert!(!h.fin);
        let h = parse_header(&[0x80, 0x02, 0x6c, 0x6f]).unwrap();
        assert_eq!((h.fin, h.opcode), (true, OpCode::Continuation));
        // Unmasked ping and masked pong.
        assert_eq!(parse_header(&[0x89, 0x05]).unwrap().opcode, OpCode::Ping);
        let h = parse_header(&[0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d]).unwrap();
        assert_eq!(h.opcode, OpCode::Pong);
        // 256 bytes binary in a single unmasked message.
        let h = parse_header(&[0x82, 0x7E, 0x01, 0x00]).unwrap();
        assert_eq!(
            (h.payload_len, h.length_form, h.header_len),
            (256, LengthForm::Ext16, 4)
        );
        // 64 KiB binary in a single unmasked message.
        let h = parse_header(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]).unwrap();
        assert_eq!(
            (h.payload_len, h.length_form, h.header_len),
            (65536, LengthForm::Ext64, 10)
        );
    }

    #[test]
    fn every_split_point_needs_more_then_agrees() {
        let full = [0x82u8, 0xFF, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00, 1, 2, 3, 4];
        let whole = parse_header(&full).unwrap();
        assert_eq!(whole.header_len, 14);
        for n in 0..full.len() {
            assert_eq!(parse_header(&full[..n]), None, "prefix {n}");
        }
    }

    #[test]
    fn reserved_opcodes_are_kept() {
        for v in 0u8..16 {
            assert_eq!(OpCode::from_u8(v).as_u8(), v);
        }
        assert_eq!(OpCode::from_u8(0xB), OpCode::Reserved(0xB));
        assert!(OpCode::Reserved(0xB).is_control());
        assert!(!OpCode::Reserved(0x3).is_control());
    }

    #[test]
    fn encode_keeps_the_low_bits_when_the_form_is_too_short() {
        // The 7-bit and 16-bit forms carry only the low bits of the length
        // (what the `as` casts did before the checked rewrite).
        let mut h = parse_header(&[0x82, 0x05]).unwrap();
        h.payload_len = 0x0123_4567_89AB_CDEF;
        for (form, want) in [
            (LengthForm::Short, vec![0x82u8, 0xEF & 0x7F]),
            (LengthForm::Ext16, vec![0x82, 0x7E, 0xCD, 0xEF]),
            (
                LengthForm::Ext64,
                vec![0x82, 0x7F, 0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF],
            ),
        ] {
            let mut v = Vec::new();
            encode_header(
                &FrameHeader {
                    length_form: form,
                    ..h
                },
                &mut v,
            );
            assert_eq!(v, want, "{form:?}");
        }
        h.mask_key = Some([9, 8, 7, 6]);
        let mut v = Vec::new();
        encode_header(&h, &mut v);
        assert_eq!(v, [0x82, 0x80 | 0x6F, 9, 8, 7, 6]);
        assert_eq!(parse_header(&v).unwrap().mask_key, Some([9, 8, 7, 6]));
    }

    #[test]
    fn encode_then_decode_is_identity() {
        let mut seed = 7u64;
        for _ in 0..2000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = match seed >> 62 {
                0 => (seed >> 8) % 126,
                1 => (seed >> 8) % 0x10000,
                _ => seed >> 1,
            };
            let h = FrameHeader {
                fin: seed & 1 != 0,
                rsv1: seed & 2 != 0,
                rsv2: seed & 4 != 0,
                rsv3: seed & 8 != 0,
                opcode: OpCode::from_u8((seed >> 4) as u8),
                mask_key: (seed & 0x100 != 0).then(|| ((seed >> 16) as u32).to_be_bytes()),
                payload_len: len,
                length_form: minimal_form(len),
                header_len: 0,
            };
            let mut v = Vec::new();
            encode_header(&h, &mut v);
            let d = parse_header(&v).unwrap();
            assert_eq!(
                d,
                FrameHeader {
                    header_len: v.len(),
                    ..h
                }
            );
        }
    }

    proptest::proptest! {
        /// The direct path for the common forms gives what the nom parser
        /// gives, on any bytes (headers of every form, cut anywhere).
        #[test]
        fn the_direct_path_agrees_with_the_parser(
            b0 in proptest::prelude::any::<u8>(),
            b1 in proptest::prelude::any::<u8>(),
            rest in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20),
            cut in 0usize..24,
        ) {
            let mut bytes = vec![b0, b1];
            bytes.extend_from_slice(&rest);
            let bytes = &bytes[..cut.min(bytes.len())];
            proptest::prop_assert_eq!(parse_header(bytes), nom_header(bytes));
        }
    }
}
