//! Judging a frame header against RFC 6455 (and RFC 7692 for RSV1).
//! Decoding the bits is `frame.rs`; this only decides what they break.
#![deny(clippy::indexing_slicing, clippy::cast_possible_truncation)]
#![warn(missing_docs)]

use crate::findings::{Code, Dir, Finding, Location};
use crate::ws::frame::{FrameHeader, LengthForm, OpCode, minimal_form};

/// What the judge needs to know about the direction.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// Which side sent the frame, when known.
    pub from: Option<Dir>,
    /// permessage-deflate negotiated: `None` when the handshake was not seen.
    pub deflate: Option<bool>,
    /// A fragmented data message is open in this direction.
    pub message_open: bool,
}

/// Every rule a header breaks, each with a sentence citing its section.
pub fn judge_header(h: &FrameHeader, cx: &Context, out: &mut Vec<Finding>) {
    match (cx.from, h.masked()) {
        (Some(Dir::Client), false) => out.push(Finding::new(Code::FrameClientUnmasked, Location::default(),
            "a client frame is not masked; RFC 6455 section 5.1 requires every client-to-server frame to be masked")),
        (Some(Dir::Server), true) => out.push(Finding::new(Code::FrameServerMasked, Location::default(),
            "a server frame is masked; RFC 6455 section 5.1 forbids masking server-to-client frames")),
        _ => {}
    }
    // RSV1 belongs to permessage-deflate, and only on the first frame of a
    // data message (RFC 7692 section 6); RSV2/RSV3 to no extension we know.
    if h.rsv1 {
        let why = match cx.deflate {
            Some(false) => Some("no extension was negotiated that defines it"),
            _ if h.opcode.is_control() => {
                Some("permessage-deflate never sets it on control frames (RFC 7692 section 6.1)")
            }
            _ if !h.opcode.is_data() => Some(
                "permessage-deflate sets it only on the first frame of a message (RFC 7692 section 6.1)",
            ),
            _ => None,
        };
        if let Some(why) = why {
            out.push(Finding::new(
                Code::FrameRsvWithoutExtension,
                Location::default(),
                format!(
                    "RSV1 is set but {why}; RFC 6455 section 5.2 requires it to be 0 otherwise"
                ),
            ));
        }
    }
    if h.rsv2 || h.rsv3 {
        let bits = match (h.rsv2, h.rsv3) {
            (true, true) => "RSV2 and RSV3 are",
            (true, false) => "RSV2 is",
            _ => "RSV3 is",
        };
        out.push(Finding::new(Code::FrameRsvWithoutExtension, Location::default(), format!(
            "{bits} set but no negotiated extension defines them; RFC 6455 section 5.2 requires them to be 0")));
    }
    if let OpCode::Reserved(v) = h.opcode {
        out.push(Finding::new(Code::FrameReservedOpcode, Location::default(), format!(
            "opcode 0x{v:X} is reserved; RFC 6455 section 5.2 requires the connection to fail on it")));
    }
    if h.opcode.is_control() {
        if h.payload_len > 125 {
            out.push(Finding::new(Code::FrameControlTooLong, Location::default(), format!(
                "a {} frame carries {} bytes; RFC 6455 section 5.5 limits control frames to 125", h.opcode.name(), h.payload_len)));
        }
        if !h.fin {
            out.push(Finding::new(Code::FrameControlFragmented, Location::default(), format!(
                "a {} frame has FIN clear; RFC 6455 section 5.5 forbids fragmenting control frames", h.opcode.name())));
        }
    }
    if h.length_form == LengthForm::Ext64 && h.payload_len >> 63 != 0 {
        out.push(Finding::new(Code::FrameLengthMsbSet, Location::default(), format!(
            "the 64-bit length 0x{:016X} has its most significant bit set; RFC 6455 section 5.2 requires it to be 0", h.payload_len)));
    } else if h.length_form != minimal_form(h.payload_len) {
        let form = match h.length_form {
            LengthForm::Ext16 => "16-bit",
            LengthForm::Ext64 => "64-bit",
            LengthForm::Short => "7-bit",
        };
        out.push(Finding::new(Code::FrameNonMinimalLength, Location::default(), format!(
            "a payload length of {} is sent in the {form} form; RFC 6455 section 5.2 requires the minimal number of bytes", h.payload_len)));
    }
    match h.opcode {
        OpCode::Continuation if !cx.message_open => out.push(Finding::new(Code::MessageUnexpectedContinuation, Location::default(),
            "a continuation frame arrives with no fragmented message open (RFC 6455 section 5.4)")),
        OpCode::Text | OpCode::Binary if cx.message_open => out.push(Finding::new(Code::MessageInterleavedData, Location::default(), format!(
            "a new {} frame starts while a fragmented message is still open; RFC 6455 section 5.4 forbids interleaving", h.opcode.name()))),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::ws::frame::parse_header;

    fn codes(bytes: &[u8], cx: Context) -> Vec<Code> {
        let h = parse_header(bytes).unwrap();
        let mut v = Vec::new();
        judge_header(&h, &cx, &mut v);
        v.into_iter().map(|f| f.code).collect()
    }

    const CLIENT: Context = Context {
        from: Some(Dir::Client),
        deflate: Some(false),
        message_open: false,
    };
    const SERVER: Context = Context {
        from: Some(Dir::Server),
        deflate: Some(false),
        message_open: false,
    };

    #[test]
    fn clean_frames_raise_nothing() {
        assert!(codes(&[0x81, 0x85, 1, 2, 3, 4], CLIENT).is_empty());
        assert!(codes(&[0x81, 0x05], SERVER).is_empty());
        assert!(codes(&[0x89, 0x7D], SERVER).is_empty()); // a 125-byte ping
        let deflate = Context {
            deflate: Some(true),
            ..SERVER
        };
        assert!(codes(&[0xC1, 0x05], deflate).is_empty());
    }

    #[test]
    fn each_header_rule() {
        assert_eq!(codes(&[0x81, 0x05], CLIENT), [Code::FrameClientUnmasked]);
        assert_eq!(
            codes(&[0x81, 0x85, 1, 2, 3, 4], SERVER),
            [Code::FrameServerMasked]
        );
        assert_eq!(
            codes(&[0xC1, 0x05], SERVER),
            [Code::FrameRsvWithoutExtension]
        );
        assert_eq!(
            codes(&[0xA1, 0x05], SERVER),
            [Code::FrameRsvWithoutExtension]
        );
        let deflate = Context {
            deflate: Some(true),
            ..SERVER
        };
        assert_eq!(
            codes(&[0xC9, 0x00], deflate),
            [Code::FrameRsvWithoutExtension]
        );
        assert_eq!(codes(&[0x83, 0x00], SERVER), [Code::FrameReservedOpcode]);
        assert_eq!(
            codes(&[0x89, 0x7E, 0x00, 0xC8], SERVER),
            [Code::FrameControlTooLong]
        );
        assert_eq!(codes(&[0x09, 0x00], SERVER), [Code::FrameControlFragmented]);
        assert_eq!(
            codes(&[0x82, 0x7E, 0x00, 0x05], SERVER),
            [Code::FrameNonMinimalLength]
        );
        assert_eq!(
            codes(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF], SERVER),
            [Code::FrameNonMinimalLength]
        );
        assert_eq!(
            codes(&[0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 1], SERVER),
            [Code::FrameLengthMsbSet]
        );
        assert_eq!(
            codes(&[0x80, 0x00], SERVER),
            [Code::MessageUnexpectedContinuation]
        );
        let open = Context {
            message_open: true,
            ..SERVER
        };
        assert_eq!(codes(&[0x81, 0x00], open), [Code::MessageInterleavedData]);
        assert!(codes(&[0x80, 0x00], open).is_empty());
    }
}
