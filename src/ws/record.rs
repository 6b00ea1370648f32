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
}

/// One decoded frame.
#[derive(Debug)]
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
    /// The first payload bytes as on the wire (still masked), for teaching.
    pub masked_prefix: &'a [u8],
    /// For close frames with a payload of two bytes or more.
    /// The status code of a close frame.
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

/// Per-direction counts for the connection summary.
#[derive(Debug, Clone, Default)]
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
