//! What the WebSocket decoder produces: frames, messages, per-direction
//! counts, and the [`Output`] it hands them to. Nothing here knows about the
//! pipeline's events: the carrier that drives a decoder turns its output
//! into events.

use crate::findings::{Code, Dir, Finding};
use crate::session::SessionRef;
use crate::ws::frame::{FrameHeader, OpCode};

/// Receives what a [`crate::ws::stream::WsDecoder`] decodes, in stream order.
pub trait Output {
    /// A whole frame (its findings were reported just before).
    fn frame(&mut self, f: &FrameRecord<'_>);
    /// A whole data message (after its last frame).
    fn message(&mut self, m: &MessageRecord<'_>);
    /// A rule broken, or bytes missing.
    fn finding(&mut self, f: Finding);
    /// Whether anyone reads data frames (text, binary, continuation):
    /// when not, the decoder does not build them. Control frames are
    /// always handed over (a pong is paired with its ping from them).
    fn wants_frames(&mut self) -> bool {
        true
    }
    /// Whether anyone reads messages: when not, the decoder does not build them.
    fn wants_messages(&mut self) -> bool {
        true
    }
}

/// One decoded frame.
#[derive(Debug, Clone, Copy)]
pub struct FrameRecord<'a> {
    /// The session the frame belongs to.
    pub session: SessionRef,
    /// Which way it went.
    pub from: Dir,
    /// The packet whose arrival completed the frame, and its time.
    pub packet: u64,
    /// Seconds since the epoch.
    pub ts: f64,
    /// The packet that carried the frame's first byte.
    pub first_packet: u64,
    /// How many TCP segments carried the frame.
    pub segments: u32,
    /// Stream offset of the frame's first byte in its direction.
    pub offset: u64,
    /// The decoded header.
    pub header: FrameHeader,
    /// The raw header bytes as on the wire.
    pub header_bytes: &'a [u8],
    /// The unmasked payload as far as it was kept (all of it unless a cap
    /// or a gap intervened; see `payload_complete`).
    pub payload: &'a [u8],
    /// Whether `payload` holds the whole payload.
    pub payload_complete: bool,
    /// The data message this frame carries part of: its number in this
    /// session and direction (see [`MessageRecord::index`]). `None` for
    /// control frames (also those between a message's fragments) and for
    /// continuations that belong to no message the decoder saw begin.
    pub message: Option<u64>,
    /// For a pong: the ping of the other side it answers (RFC 6455
    /// section 5.5.3), as paired by the carrier that sees both directions.
    pub answers: Option<PingRef>,
    /// The status code of a close frame (with a payload of two bytes or more).
    pub close_code: Option<u16>,
    /// The reason bytes of a close frame (after the code).
    pub close_reason: Option<&'a [u8]>,
    /// The codes of the rules this record breaks.
    pub findings: &'a [Code],
}

/// One reassembled (and, where compressed, inflated) data message.
#[derive(Debug)]
pub struct MessageRecord<'a> {
    /// The session the frame belongs to.
    pub session: SessionRef,
    /// Which way it went.
    pub from: Dir,
    /// Its number among the data messages begun in this session and
    /// direction, from 1 (a message abandoned by a gap or by a new one
    /// still takes its number): its frames are the frames of this session
    /// and direction whose `message` is this.
    pub index: u64,
    /// Text or binary.
    pub opcode: OpCode,
    /// Frames it took.
    pub frames: u32,
    /// The packet of its first frame's first byte.
    pub first_packet: u64,
    /// The packet that completed it.
    pub last_packet: u64,
    /// The time of `first_packet`.
    pub first_ts: f64,
    /// The time of `last_packet`.
    pub last_ts: f64,
    /// permessage-deflate compressed (RSV1 on its first frame).
    pub compressed: bool,
    /// Payload bytes on the wire (compressed size when compressed).
    pub wire_len: u64,
    /// Length after inflation (equal to `wire_len` when not compressed).
    pub len: u64,
    /// The message body as far as it was kept.
    pub data: &'a [u8],
    /// Whether `data` holds the whole message.
    pub data_complete: bool,
    /// Whether the body could be decoded at all (false after a gap or an
    /// inflate failure: then `data` is not to be trusted).
    pub decodable: bool,
    /// The codes of the rules this record breaks.
    pub findings: &'a [Code],
}

/// A ping frame, as a pong that answers it names it: by the other side's
/// stream offset of its first byte (unique in the session), with its packet
/// and time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PingRef {
    /// Stream offset of the ping frame's first byte, in its direction.
    pub offset: u64,
    /// The packet that completed the ping frame.
    pub packet: u64,
    /// Its time (seconds since the epoch).
    pub ts: f64,
}

/// The frame header's bits as on the wire, read from
/// [`FrameRecord::header_bytes`] (not re-encoded from the decoded header):
/// what a teaching view draws, bit for bit.
#[derive(Debug, Clone, Copy)]
pub struct RawHeader<'a>(pub &'a [u8]);

impl RawHeader<'_> {
    fn byte(&self, i: usize) -> u8 {
        self.0.get(i).copied().unwrap_or(0)
    }
    /// FIN, RSV1, RSV2, RSV3 (each 0 or 1).
    pub fn flag_bits(&self) -> [u8; 4] {
        let b = self.byte(0);
        [b >> 7, b >> 6 & 1, b >> 5 & 1, b >> 4 & 1]
    }
    /// The 4-bit opcode.
    pub fn opcode_bits(&self) -> u8 {
        self.byte(0) & 0x0f
    }
    /// The MASK bit.
    pub fn mask_bit(&self) -> u8 {
        self.byte(1) >> 7
    }
    /// The 7-bit payload length field (126 and 127 announce a longer form).
    pub fn len7(&self) -> u8 {
        self.byte(1) & 0x7f
    }
    /// The extended payload length bytes (2 or 8, none in the 7-bit form).
    pub fn ext_len(&self) -> &[u8] {
        let n = match self.len7() {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        self.0.get(2..2 + n).unwrap_or_default()
    }
    /// The masking key bytes, when the MASK bit is set.
    pub fn mask_key(&self) -> Option<&[u8]> {
        if self.mask_bit() == 0 {
            return None;
        }
        let at = 2 + self.ext_len().len();
        self.0.get(at..at + 4)
    }
}

impl FrameRecord<'_> {
    /// The header's bits as on the wire.
    pub fn raw_header(&self) -> RawHeader<'_> {
        RawHeader(self.header_bytes)
    }
}

/// Per-direction counts for the connection summary.
///
/// `repr(C)`: the counts every frame updates first (they share the
/// decoder's first cache line, see `WsDecoder`).
#[derive(Debug, Clone, Default)]
#[repr(C)]
pub struct DirStats {
    /// Frames sent.
    pub frames: u64,
    /// Data messages sent.
    pub messages: u64,
    /// WebSocket payload bytes on the wire.
    pub payload_bytes: u64,
    /// The code of this side's first close frame.
    pub close_code: Option<u16>,
    /// Its reason.
    pub close_reason: Option<String>,
}
