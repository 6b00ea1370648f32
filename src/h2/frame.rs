//! Streaming HTTP/2 frame parser (RFC 9113 section 4 and 6) for one
//! direction of a connection, fed the reassembled TCP bytes in pieces.
//!
//! "Not enough bytes yet" is an answer, not an error: [`FrameParser::push`]
//! keeps what it cannot use yet and returns every complete item. Memory is
//! bounded: a frame is buffered only up to the announced
//! SETTINGS_MAX_FRAME_SIZE (16 MiB - 1 at most); a longer one is skipped
//! without buffering it. A header block split over HEADERS/PUSH_PROMISE and
//! CONTINUATION frames is joined up to [`FrameLimits::max_header_block`];
//! past that the block is dropped (a finding), and the HPACK context with it.

use nom::IResult;
use nom::Parser;
use nom::number::complete::{be_u8, be_u24, be_u32};

/// The client connection preface (RFC 9113 section 3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Frame header length.
pub const HEADER_LEN: usize = 9;
/// SETTINGS_MAX_FRAME_SIZE before any SETTINGS.
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 16_384;
/// The largest SETTINGS_MAX_FRAME_SIZE allowed.
pub const MAX_MAX_FRAME_SIZE: u32 = (1 << 24) - 1;

pub mod kind {
    pub const DATA: u8 = 0x0;
    pub const HEADERS: u8 = 0x1;
    pub const PRIORITY: u8 = 0x2;
    pub const RST_STREAM: u8 = 0x3;
    pub const SETTINGS: u8 = 0x4;
    pub const PUSH_PROMISE: u8 = 0x5;
    pub const PING: u8 = 0x6;
    pub const GOAWAY: u8 = 0x7;
    pub const WINDOW_UPDATE: u8 = 0x8;
    pub const CONTINUATION: u8 = 0x9;
}

pub mod flag {
    pub const END_STREAM: u8 = 0x1;
    pub const ACK: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;
    pub const PADDED: u8 = 0x8;
    pub const PRIORITY: u8 = 0x20;
}

pub mod setting {
    pub const HEADER_TABLE_SIZE: u16 = 0x1;
    pub const ENABLE_PUSH: u16 = 0x2;
    pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
    pub const MAX_FRAME_SIZE: u16 = 0x5;
    pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;
    /// RFC 8441 section 3.
    pub const ENABLE_CONNECT_PROTOCOL: u16 = 0x8;
}

/// The 9-byte frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub length: u32,
    pub kind: u8,
    pub flags: u8,
    pub stream_id: u32,
}

impl FrameHeader {
    pub fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
}

/// The name of an HTTP/2 error code (RFC 9113 section 7), as RST_STREAM
/// and GOAWAY carry it; `None` for a code the RFC does not define.
pub fn error_code_name(code: u32) -> Option<&'static str> {
    Some(match code {
        0x0 => "NO_ERROR",
        0x1 => "PROTOCOL_ERROR",
        0x2 => "INTERNAL_ERROR",
        0x3 => "FLOW_CONTROL_ERROR",
        0x4 => "SETTINGS_TIMEOUT",
        0x5 => "STREAM_CLOSED",
        0x6 => "FRAME_SIZE_ERROR",
        0x7 => "REFUSED_STREAM",
        0x8 => "CANCEL",
        0x9 => "COMPRESSION_ERROR",
        0xa => "CONNECT_ERROR",
        0xb => "ENHANCE_YOUR_CALM",
        0xc => "INADEQUATE_SECURITY",
        0xd => "HTTP_1_1_REQUIRED",
        _ => return None,
    })
}

/// nom parser for the frame header (the reserved bit is dropped).
pub fn frame_header(input: &[u8]) -> IResult<&[u8], FrameHeader> {
    let (rest, (length, kind, flags, sid)) = (be_u24, be_u8, be_u8, be_u32).parse(input)?;
    Ok((
        rest,
        FrameHeader {
            length,
            kind,
            flags,
            stream_id: sid & 0x7fff_ffff,
        },
    ))
}

/// Stream dependency of HEADERS/PRIORITY (RFC 9113 section 5.3, deprecated
/// but still sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priority {
    pub exclusive: bool,
    pub depends_on: u32,
    pub weight: u8,
}

/// A frame's decoded payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// DATA: the application bytes without padding; `data_offset` is where
    /// they start in this direction's byte stream.
    Data {
        data: Vec<u8>,
        data_offset: u64,
        pad: u8,
    },
    /// HEADERS: the fragment goes into a [`Item::HeaderBlock`].
    Headers {
        priority: Option<Priority>,
        fragment_len: usize,
        pad: u8,
    },
    Priority(Priority),
    RstStream {
        code: u32,
    },
    Settings {
        ack: bool,
        values: Vec<(u16, u32)>,
    },
    PushPromise {
        promised: u32,
        fragment_len: usize,
        pad: u8,
    },
    Ping {
        ack: bool,
        data: [u8; 8],
    },
    GoAway {
        last_stream: u32,
        code: u32,
        debug: Vec<u8>,
    },
    WindowUpdate {
        increment: u32,
    },
    Continuation {
        fragment_len: usize,
    },
    /// An extension frame type we do not know (section 5.5): skipped.
    Unknown,
    /// Longer than SETTINGS_MAX_FRAME_SIZE: skipped unread.
    Oversized,
    /// The payload contradicts its type (e.g. a 7-byte PING).
    Malformed(&'static str),
}

/// One parsed frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub header: FrameHeader,
    /// Offset of the frame's first header byte in this direction's stream.
    pub offset: u64,
    pub payload: Payload,
}

/// A complete header block (HEADERS or PUSH_PROMISE + CONTINUATIONs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderBlock {
    pub stream_id: u32,
    /// `Some(id)` for PUSH_PROMISE.
    pub promised: Option<u32>,
    pub end_stream: bool,
    pub priority: Option<Priority>,
    pub block: Vec<u8>,
    /// Offset of the first frame of the block.
    pub offset: u64,
}

/// Something the parser noticed that is not a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The client's first bytes are not the connection preface.
    BadPreface { offset: u64 },
    /// A frame longer than the SETTINGS_MAX_FRAME_SIZE in force.
    FrameTooLarge { offset: u64, length: u32, max: u32 },
    /// A header block past [`FrameLimits::max_header_block`]; dropped.
    HeaderBlockTooLarge { offset: u64, stream_id: u32 },
    /// A frame other than CONTINUATION in the middle of a header block, or
    /// a CONTINUATION without one (section 6.10).
    BadContinuation { offset: u64, stream_id: u32 },
    /// The stream ended inside a frame.
    Truncated { offset: u64 },
    /// Frame boundaries found again after hunting (mid-connection start or
    /// a gap); `skipped` bytes of this piece were not frames we could use.
    Resynced { offset: u64, skipped: u64 },
}

/// What [`FrameParser::push`] returns, in stream order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Preface { offset: u64 },
    Frame(Frame),
    HeaderBlock(HeaderBlock),
    Problem(Problem),
}

/// Caps of one parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLimits {
    pub max_header_block: usize,
}

impl Default for FrameLimits {
    fn default() -> Self {
        FrameLimits {
            max_header_block: 1 << 20,
        }
    }
}

#[derive(Debug)]
struct Pending {
    stream_id: u32,
    promised: Option<u32>,
    end_stream: bool,
    priority: Option<Priority>,
    block: Vec<u8>,
    offset: u64,
    /// Past the cap: fragments are counted, not kept.
    dropped: bool,
    /// END_HEADERS seen.
    complete: bool,
}

/// The parser for one direction.
#[derive(Debug)]
pub struct FrameParser {
    limits: FrameLimits,
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    offset: u64,
    /// Bytes of preface still to match (client direction from the start).
    preface_left: usize,
    max_frame_size: u32,
    /// Bytes of an oversized frame still to skip.
    skip: u64,
    pending: Option<Pending>,
    /// Frame boundaries unknown (a capture that starts mid-connection, or
    /// after a gap): looking for the next plausible frame header.
    hunting: bool,
}

impl FrameParser {
    /// `expect_preface`: the client direction seen from its first byte.
    pub fn new(expect_preface: bool, limits: FrameLimits) -> Self {
        FrameParser {
            limits,
            buf: Vec::new(),
            offset: 0,
            preface_left: if expect_preface { PREFACE.len() } else { 0 },
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            skip: 0,
            pending: None,
            hunting: false,
        }
    }

    /// A parser for a stream that starts at an unknown point of the
    /// connection: bytes are skipped up to the first run of plausible frame
    /// headers (see [`find_boundary`]).
    pub fn mid_stream(limits: FrameLimits) -> Self {
        let mut p = FrameParser::new(false, limits);
        p.hunting = true;
        // The SETTINGS in force are unknown: accept any legal frame size.
        p.max_frame_size = MAX_MAX_FRAME_SIZE;
        p
    }

    /// Start counting offsets at `offset` (bytes before it belonged to
    /// HTTP/1.1, e.g. an `Upgrade: h2c` exchange).
    pub fn with_offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// The receiver of this direction announced SETTINGS_MAX_FRAME_SIZE.
    pub fn set_max_frame_size(&mut self, v: u32) {
        self.max_frame_size = v.clamp(DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE);
    }

    /// Bytes held waiting for the rest of a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len() + self.pending.as_ref().map_or(0, |p| p.block.len())
    }

    /// True while frame boundaries are unknown.
    pub fn is_hunting(&self) -> bool {
        self.hunting
    }

    /// Offset of the next byte expected.
    pub fn offset(&self) -> u64 {
        self.offset + self.buf.len() as u64
    }

    /// `len` bytes of the TCP stream are missing: the frame in progress and
    /// any header block are dropped, and the parser hunts for the next
    /// frame boundary (HTTP/2 has no resynchronisation marker, so this is
    /// a heuristic: [`find_boundary`]).
    pub fn gap(&mut self, len: u64) {
        self.offset = self.offset() + len;
        self.hunting = true;
        self.buf.clear();
        self.skip = 0;
        self.preface_left = 0;
        self.pending = None;
    }

    /// The stream ended: a partial frame is a problem.
    pub fn finish(&mut self, out: &mut Vec<Item>) {
        if !self.hunting && (!self.buf.is_empty() || self.skip > 0) {
            out.push(Item::Problem(Problem::Truncated {
                offset: self.offset,
            }));
        }
        self.buf.clear();
    }

    /// Feed the next bytes of the stream.
    pub fn push(&mut self, mut data: &[u8], out: &mut Vec<Item>) {
        if self.hunting {
            // Hunt with the default size: a boundary test on lengths up to
            // 2^24-1 would accept far more random bytes.
            match find_boundary(data, self.max_frame_size.min(DEFAULT_MAX_FRAME_SIZE)) {
                Some(i) => {
                    self.offset += i as u64;
                    data = &data[i..];
                    self.hunting = false;
                    out.push(Item::Problem(Problem::Resynced {
                        offset: self.offset,
                        skipped: i as u64,
                    }));
                }
                None => {
                    self.offset += data.len() as u64;
                    return;
                }
            }
        }
        if self.skip > 0 {
            let n = (data.len() as u64).min(self.skip);
            self.skip -= n;
            self.offset += n;
            data = &data[n as usize..];
        }
        if self.preface_left > 0 {
            let start = PREFACE.len() - self.preface_left;
            let n = data.len().min(self.preface_left);
            if data[..n] != PREFACE[start..start + n] {
                out.push(Item::Problem(Problem::BadPreface {
                    offset: self.offset - start as u64,
                }));
                self.preface_left = 0;
            } else {
                self.preface_left -= n;
                self.offset += n as u64;
                data = &data[n..];
                if self.preface_left == 0 {
                    out.push(Item::Preface {
                        offset: self.offset - PREFACE.len() as u64,
                    });
                }
            }
        }
        if data.is_empty() {
            return;
        }
        // Parse straight from `data` when nothing is buffered.
        if self.buf.is_empty() {
            let used = self.parse_frames(data, out);
            self.buf.extend_from_slice(&data[used..]);
        } else {
            self.buf.extend_from_slice(data);
            let buf = std::mem::take(&mut self.buf);
            let used = self.parse_frames(&buf, out);
            self.buf = buf;
            self.buf.drain(..used);
        }
        // A skip that started inside this call consumed from the tail.
        if self.skip > 0 && !self.buf.is_empty() {
            let n = (self.buf.len() as u64).min(self.skip);
            self.skip -= n;
            self.offset += n;
            self.buf.drain(..n as usize);
        }
    }

    /// Parse whole frames from `input`; returns the bytes used.
    fn parse_frames(&mut self, input: &[u8], out: &mut Vec<Item>) -> usize {
        let mut used = 0;
        while self.skip == 0 {
            let rest = &input[used..];
            let Ok((body, h)) = frame_header(rest) else {
                break;
            };
            let offset = self.offset;
            if h.length > self.max_frame_size {
                out.push(Item::Problem(Problem::FrameTooLarge {
                    offset,
                    length: h.length,
                    max: self.max_frame_size,
                }));
                self.note_frame(&h, offset, out);
                out.push(Item::Frame(Frame {
                    header: h,
                    offset,
                    payload: Payload::Oversized,
                }));
                let avail = body.len().min(h.length as usize);
                used += HEADER_LEN + avail;
                self.offset += (HEADER_LEN + avail) as u64;
                self.skip = u64::from(h.length) - avail as u64;
                // A skipped HEADERS/CONTINUATION breaks its header block.
                if matches!(
                    h.kind,
                    kind::HEADERS | kind::CONTINUATION | kind::PUSH_PROMISE
                ) {
                    if let Some(p) = self.pending.as_mut() {
                        if !p.dropped {
                            out.push(Item::Problem(Problem::HeaderBlockTooLarge {
                                offset: p.offset,
                                stream_id: p.stream_id,
                            }));
                        }
                        p.dropped = true;
                        if h.has(flag::END_HEADERS) {
                            self.pending = None;
                        }
                    } else if !h.has(flag::END_HEADERS) {
                        self.pending = Some(Pending {
                            stream_id: h.stream_id,
                            promised: None,
                            end_stream: h.has(flag::END_STREAM),
                            priority: None,
                            block: Vec::new(),
                            offset,
                            dropped: true,
                            complete: false,
                        });
                    } else {
                        out.push(Item::Problem(Problem::HeaderBlockTooLarge {
                            offset,
                            stream_id: h.stream_id,
                        }));
                    }
                }
                continue;
            }
            let len = h.length as usize;
            if body.len() < len {
                break;
            }
            let payload = &body[..len];
            used += HEADER_LEN + len;
            self.offset += (HEADER_LEN + len) as u64;
            self.frame(h, offset, payload, out);
        }
        used
    }

    /// CONTINUATION discipline, checked for every frame header.
    fn note_frame(&mut self, h: &FrameHeader, offset: u64, out: &mut Vec<Item>) {
        let in_block = self.pending.is_some();
        let cont = h.kind == kind::CONTINUATION;
        if in_block && (!cont || self.pending.as_ref().map(|p| p.stream_id) != Some(h.stream_id))
            || !in_block && cont
        {
            out.push(Item::Problem(Problem::BadContinuation {
                offset,
                stream_id: h.stream_id,
            }));
            if in_block && !cont {
                // The block can never complete: drop it.
                self.pending = None;
            }
        }
    }

    fn frame(&mut self, h: FrameHeader, offset: u64, p: &[u8], out: &mut Vec<Item>) {
        self.note_frame(&h, offset, out);
        let payload = match h.kind {
            kind::DATA => match strip_padding(&h, p, 0) {
                Ok((data, pad, _)) => Payload::Data {
                    data: data.to_vec(),
                    data_offset: offset + HEADER_LEN as u64 + u64::from(h.has(flag::PADDED)),
                    pad,
                },
                Err(e) => Payload::Malformed(e),
            },
            kind::HEADERS => {
                let prio_len = if h.has(flag::PRIORITY) { 5 } else { 0 };
                match strip_padding(&h, p, prio_len) {
                    Ok((frag, pad, pre)) => {
                        let priority = (prio_len > 0).then(|| priority(pre));
                        self.start_block(&h, None, priority, frag, offset, out);
                        Payload::Headers {
                            priority,
                            fragment_len: frag.len(),
                            pad,
                        }
                    }
                    Err(e) => Payload::Malformed(e),
                }
            }
            kind::PUSH_PROMISE => match strip_padding(&h, p, 4) {
                Ok((frag, pad, pre)) => {
                    let promised = be32(pre) & 0x7fff_ffff;
                    self.start_block(&h, Some(promised), None, frag, offset, out);
                    Payload::PushPromise {
                        promised,
                        fragment_len: frag.len(),
                        pad,
                    }
                }
                Err(e) => Payload::Malformed(e),
            },
            kind::CONTINUATION => {
                self.continue_block(&h, p, out);
                Payload::Continuation {
                    fragment_len: p.len(),
                }
            }
            kind::PRIORITY if p.len() == 5 => Payload::Priority(priority(p)),
            kind::PRIORITY => Payload::Malformed("PRIORITY length is not 5"),
            kind::RST_STREAM if p.len() == 4 => Payload::RstStream { code: be32(p) },
            kind::RST_STREAM => Payload::Malformed("RST_STREAM length is not 4"),
            kind::SETTINGS => {
                if !p.len().is_multiple_of(6) {
                    Payload::Malformed("SETTINGS length is not a multiple of 6")
                } else if h.has(flag::ACK) && !p.is_empty() {
                    Payload::Malformed("SETTINGS ACK with a payload")
                } else {
                    let values = p
                        .chunks_exact(6)
                        .map(|c| (u16::from_be_bytes([c[0], c[1]]), be32(&c[2..])))
                        .collect();
                    Payload::Settings {
                        ack: h.has(flag::ACK),
                        values,
                    }
                }
            }
            kind::PING => match <[u8; 8]>::try_from(p) {
                Ok(data) => Payload::Ping {
                    ack: h.has(flag::ACK),
                    data,
                },
                Err(_) => Payload::Malformed("PING length is not 8"),
            },
            kind::GOAWAY if p.len() >= 8 => Payload::GoAway {
                last_stream: be32(p) & 0x7fff_ffff,
                code: be32(&p[4..]),
                debug: p[8..].iter().copied().take(1024).collect(),
            },
            kind::GOAWAY => Payload::Malformed("GOAWAY shorter than 8"),
            kind::WINDOW_UPDATE if p.len() == 4 => Payload::WindowUpdate {
                increment: be32(p) & 0x7fff_ffff,
            },
            kind::WINDOW_UPDATE => Payload::Malformed("WINDOW_UPDATE length is not 4"),
            _ => Payload::Unknown,
        };
        out.push(Item::Frame(Frame {
            header: h,
            offset,
            payload,
        }));
        // The block item follows the frame that completed it.
        self.flush_block(out);
    }

    fn start_block(
        &mut self,
        h: &FrameHeader,
        promised: Option<u32>,
        priority: Option<Priority>,
        frag: &[u8],
        offset: u64,
        out: &mut Vec<Item>,
    ) {
        let dropped = frag.len() > self.limits.max_header_block;
        if dropped {
            out.push(Item::Problem(Problem::HeaderBlockTooLarge {
                offset,
                stream_id: h.stream_id,
            }));
        }
        self.pending = Some(Pending {
            stream_id: h.stream_id,
            promised,
            end_stream: h.has(flag::END_STREAM),
            priority,
            block: if dropped { Vec::new() } else { frag.to_vec() },
            offset,
            dropped,
            complete: h.has(flag::END_HEADERS),
        });
    }

    fn continue_block(&mut self, h: &FrameHeader, frag: &[u8], out: &mut Vec<Item>) {
        let max = self.limits.max_header_block;
        let Some(p) = self.pending.as_mut() else {
            return;
        };
        if p.stream_id != h.stream_id {
            return;
        }
        if !p.dropped {
            if p.block.len() + frag.len() > max {
                p.dropped = true;
                p.block = Vec::new();
                out.push(Item::Problem(Problem::HeaderBlockTooLarge {
                    offset: p.offset,
                    stream_id: p.stream_id,
                }));
            } else {
                p.block.extend_from_slice(frag);
            }
        }
        if h.has(flag::END_HEADERS) {
            p.complete = true;
        }
    }

    fn flush_block(&mut self, out: &mut Vec<Item>) {
        let complete = self.pending.as_ref().is_some_and(|p| p.complete);
        if !complete {
            return;
        }
        let Some(p) = self.pending.take() else {
            return;
        };
        if p.dropped {
            // Already reported; the HPACK layer must forget its table.
            return;
        }
        out.push(Item::HeaderBlock(HeaderBlock {
            stream_id: p.stream_id,
            promised: p.promised,
            end_stream: p.end_stream,
            priority: p.priority,
            block: p.block,
            offset: p.offset,
        }));
    }
}

/// Positions tried per piece when hunting for a frame boundary.
const MAX_HUNT: usize = 64 << 10;

/// Could `h` (with its raw reserved bit `r`) start a frame? Only known
/// types with the flags, stream ids and lengths RFC 9113 allows them, and
/// no CONTINUATION (its block's start is lost anyway).
fn plausible(h: &FrameHeader, reserved: bool, max: u32) -> bool {
    let len = h.length;
    let f = h.flags;
    let s0 = h.stream_id == 0;
    if reserved || len > max {
        return false;
    }
    match h.kind {
        kind::DATA => !s0 && f & !0x09 == 0,
        kind::HEADERS => !s0 && f & !0x2d == 0,
        kind::PRIORITY => !s0 && f == 0 && len == 5,
        kind::RST_STREAM => !s0 && f == 0 && len == 4,
        kind::SETTINGS => s0 && f & !0x01 == 0 && len.is_multiple_of(6) && (f == 0 || len == 0),
        kind::PUSH_PROMISE => !s0 && f & !0x0c == 0 && len >= 4,
        kind::PING => s0 && f & !0x01 == 0 && len == 8,
        kind::GOAWAY => s0 && f == 0 && len >= 8,
        kind::WINDOW_UPDATE => f == 0 && len == 4,
        _ => false,
    }
}

/// Where in `data` a run of frames plausibly starts: the first offset
/// (tried up to `MAX_HUNT`) from which consecutive plausible headers
/// chain to the end of the piece, or run past it after at least two
/// headers (one is enough at offset 0: a sender's write usually starts
/// with a frame, and a TCP segment with a write).
pub fn find_boundary(data: &[u8], max_frame_size: u32) -> Option<usize> {
    let limit = data.len().min(MAX_HUNT);
    (0..limit).find(|&i| {
        let mut pos = i;
        let mut n = 0;
        while let Some(hb) = data.get(pos..pos + HEADER_LEN) {
            let Ok((_, h)) = frame_header(hb) else {
                return false;
            };
            if !plausible(&h, hb[5] & 0x80 != 0, max_frame_size) {
                return false;
            }
            n += 1;
            pos += HEADER_LEN + h.length as usize;
            if pos == data.len() {
                return true;
            }
        }
        // The last header runs past the piece, or fewer than 9 bytes are left.
        n >= 2 || (n == 1 && i == 0)
    })
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn priority(p: &[u8]) -> Priority {
    let dep = be32(p);
    Priority {
        exclusive: dep & 0x8000_0000 != 0,
        depends_on: dep & 0x7fff_ffff,
        weight: p[4],
    }
}

/// Split a padded payload: `(content, pad length, fixed prefix of
/// `prefix` bytes after the pad length)`.
fn strip_padding<'a>(
    h: &FrameHeader,
    p: &'a [u8],
    prefix: usize,
) -> Result<(&'a [u8], u8, &'a [u8]), &'static str> {
    let (pad, rest) = if h.has(flag::PADDED) {
        match p.split_first() {
            Some((&n, rest)) => (n, rest),
            None => return Err("PADDED frame without a pad length"),
        }
    } else {
        (0, p)
    };
    if rest.len() < prefix + pad as usize {
        return Err("padding longer than the payload");
    }
    let (pre, rest) = rest.split_at(prefix);
    Ok((&rest[..rest.len() - pad as usize], pad, pre))
}

/// What a run of bytes from one side of a connection caught mid-way shows
/// of HTTP/2 (see [`strict_chain`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChainEvidence {
    /// Frames chained exactly from the start.
    pub frames: u32,
    /// Of them, frames that end exactly where a TCP segment ends.
    pub aligned: u32,
    /// A header that HTTP/2 never sends was met: not HTTP/2 from the start.
    pub broken: bool,
    /// Votes from the first header field of HEADERS blocks (request
    /// pseudo-headers of the static table: client; `:status`: server) and
    /// PUSH_PROMISE (server): positive for client, negative for server.
    pub client_votes: i32,
}

/// Whether `d` (one side's bytes from a segment start, `ends` the segment
/// ends within it) is a chain of HTTP/2 frames only HTTP/2 gives: every
/// header of a defined type with flags that type defines, the reserved
/// bit clear, the stream-id rule of the type (0 for SETTINGS, PING,
/// GOAWAY; never 0 for DATA, HEADERS, PRIORITY, RST_STREAM, PUSH_PROMISE,
/// CONTINUATION), the fixed lengths (PRIORITY 5, RST_STREAM 4, PING 8,
/// WINDOW_UPDATE 4 with a non-zero increment, SETTINGS a multiple of 6
/// and empty when an ACK, GOAWAY at least 8), padding inside the frame,
/// a length within the default SETTINGS_MAX_FRAME_SIZE, and CONTINUATION
/// exactly where an open header block needs it.
pub fn strict_chain(d: &[u8], ends: &[usize]) -> ChainEvidence {
    let mut ev = ChainEvidence::default();
    let mut pos = 0usize;
    // The stream of a header block awaiting CONTINUATION.
    let mut open_block: Option<u32> = None;
    while let Some(hb) = d.get(pos..pos + HEADER_LEN) {
        let Ok((_, h)) = frame_header(hb) else {
            ev.broken = true;
            return ev;
        };
        let reserved = hb.get(5).is_some_and(|b| b & 0x80 != 0);
        let len = h.length as usize;
        let payload_end = pos + HEADER_LEN + len;
        let payload = d.get(pos + HEADER_LEN..payload_end);
        let s0 = h.stream_id == 0;
        let f = h.flags;
        let padded_ok = |fixed: usize| {
            // The pad length byte is in the payload: padding must fit.
            if f & flag::PADDED == 0 {
                return len >= fixed;
            }
            match payload.and_then(|p| p.first()) {
                Some(&pad) => 1 + fixed + pad as usize <= len,
                None => len > fixed,
            }
        };
        let ok = !reserved
            && h.length <= DEFAULT_MAX_FRAME_SIZE
            && match open_block {
                Some(s) => h.kind == kind::CONTINUATION && h.stream_id == s && f & !0x04 == 0,
                None => match h.kind {
                    kind::DATA => !s0 && f & !0x09 == 0 && padded_ok(0),
                    kind::HEADERS => {
                        let prio = if f & flag::PRIORITY != 0 { 5 } else { 0 };
                        !s0 && f & !0x2d == 0 && padded_ok(prio)
                    }
                    kind::PRIORITY => !s0 && f == 0 && len == 5,
                    kind::RST_STREAM => !s0 && f == 0 && len == 4,
                    kind::SETTINGS => {
                        s0 && f & !0x01 == 0 && len.is_multiple_of(6) && (f == 0 || len == 0)
                    }
                    kind::PUSH_PROMISE => !s0 && f & !0x0c == 0 && padded_ok(4),
                    kind::PING => s0 && f & !0x01 == 0 && len == 8,
                    kind::GOAWAY => s0 && f == 0 && len >= 8,
                    kind::WINDOW_UPDATE => {
                        f == 0
                            && len == 4
                            && payload.is_none_or(|p| {
                                p.len() == 4 && u32::from_be_bytes([p[0], p[1], p[2], p[3]]) != 0
                            })
                    }
                    _ => false,
                },
            };
        if !ok {
            ev.broken = true;
            return ev;
        }
        if h.kind == kind::HEADERS
            && let Some(p) = payload
        {
            let skip =
                usize::from(f & flag::PADDED != 0) + if f & flag::PRIORITY != 0 { 5 } else { 0 };
            if let Some(&b) = p.get(skip) {
                ev.client_votes += first_field_vote(b);
            }
        }
        if h.kind == kind::PUSH_PROMISE {
            ev.client_votes -= 1;
        }
        if matches!(
            h.kind,
            kind::HEADERS | kind::PUSH_PROMISE | kind::CONTINUATION
        ) {
            open_block = (f & flag::END_HEADERS == 0).then_some(h.stream_id);
        }
        if payload.is_none() {
            // The frame runs past what is held: more bytes will tell.
            return ev;
        }
        ev.frames += 1;
        if ends.contains(&payload_end) {
            ev.aligned += 1;
        }
        pos = payload_end;
    }
    ev
}

/// Which side a header block's first representation suggests (RFC 7541
/// Appendix A): an indexed field or a literal with an indexed name from
/// the static table's request pseudo-headers (1-7) votes client, from its
/// `:status` entries (8-14) server.
fn first_field_vote(b: u8) -> i32 {
    let index = if b & 0x80 != 0 {
        b & 0x7f
    } else if b & 0xc0 == 0x40 {
        b & 0x3f
    } else if b & 0xe0 == 0 {
        b & 0x0f
    } else {
        0
    };
    match index {
        1..=7 => 1,
        8..=14 => -1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, sid: u32, payload: &[u8]) -> Vec<u8> {
        let mut v = (payload.len() as u32).to_be_bytes()[1..].to_vec();
        v.extend([kind, flags]);
        v.extend(sid.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    fn all(p: &mut FrameParser, bytes: &[u8], step: usize) -> Vec<Item> {
        let mut out = Vec::new();
        for c in bytes.chunks(step) {
            p.push(c, &mut out);
        }
        p.finish(&mut out);
        out
    }

    #[test]
    fn header_fields_and_reserved_bit() {
        let (_, h) = frame_header(&[0, 1, 2, 4, 1, 0x80, 0, 0, 7]).unwrap();
        assert_eq!(
            h,
            FrameHeader {
                length: 258,
                kind: 4,
                flags: 1,
                stream_id: 7
            }
        );
        assert!(frame_header(&[0; 8]).is_err());
    }

    /// Byte-by-byte feeding gives the same items as one piece; CONTINUATION
    /// joins the block; the preface is recognised.
    #[test]
    fn pieces_of_any_size() {
        let mut bytes = PREFACE.to_vec();
        bytes.extend(frame(kind::SETTINGS, 0, 0, &[0, 8, 0, 0, 0, 1]));
        bytes.extend(frame(kind::HEADERS, flag::END_STREAM, 1, &[0x82, 0x86]));
        bytes.extend(frame(kind::CONTINUATION, 0, 1, &[0x84]));
        bytes.extend(frame(kind::CONTINUATION, flag::END_HEADERS, 1, &[0x41]));
        bytes.extend(frame(kind::PING, 0, 0, &[1; 8]));
        let one = all(
            &mut FrameParser::new(true, FrameLimits::default()),
            &bytes,
            4096,
        );
        let tiny = all(
            &mut FrameParser::new(true, FrameLimits::default()),
            &bytes,
            1,
        );
        assert_eq!(one, tiny);
        assert_eq!(one[0], Item::Preface { offset: 0 });
        let block = one
            .iter()
            .find_map(|i| match i {
                Item::HeaderBlock(b) => Some(b.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(block.block, vec![0x82, 0x86, 0x84, 0x41]);
        assert!(block.end_stream);
        assert_eq!(block.offset, (PREFACE.len() + 15) as u64);
        assert!(!one.iter().any(|i| matches!(i, Item::Problem(_))));
    }

    #[test]
    fn bad_preface_and_bad_continuation() {
        let mut bytes = b"GET / HTTP/1.1\r\n\r\n".to_vec();
        bytes.extend(frame(kind::CONTINUATION, flag::END_HEADERS, 1, &[0x82]));
        let mut p = FrameParser::new(true, FrameLimits::default());
        let items = all(&mut p, &bytes, 7);
        assert!(matches!(
            items[0],
            Item::Problem(Problem::BadPreface { .. })
        ));
        // A HEADERS interrupted by another frame type.
        let mut bytes = frame(kind::HEADERS, 0, 1, &[0x82]);
        bytes.extend(frame(kind::PING, 0, 0, &[0; 8]));
        let items = all(
            &mut FrameParser::new(false, FrameLimits::default()),
            &bytes,
            100,
        );
        assert!(
            items
                .iter()
                .any(|i| matches!(i, Item::Problem(Problem::BadContinuation { .. })))
        );
        assert!(!items.iter().any(|i| matches!(i, Item::HeaderBlock(_))));
    }

    #[test]
    fn fixed_length_frames_checked() {
        let bytes = [
            frame(kind::PING, 0, 0, &[0; 7]),
            frame(kind::RST_STREAM, 0, 1, &[0; 3]),
            frame(kind::SETTINGS, flag::ACK, 0, &[0; 6]),
            frame(kind::WINDOW_UPDATE, 0, 0, &[0; 5]),
            frame(kind::DATA, flag::PADDED, 1, &[9, 1, 2]),
        ]
        .concat();
        let items = all(
            &mut FrameParser::new(false, FrameLimits::default()),
            &bytes,
            64,
        );
        let bad = items
            .iter()
            .filter(|i| {
                matches!(
                    i,
                    Item::Frame(Frame {
                        payload: Payload::Malformed(_),
                        ..
                    })
                )
            })
            .count();
        assert_eq!(bad, 5);
    }

    #[test]
    fn boundary_hunt() {
        let a = frame(kind::DATA, 0, 1, &[0xaa; 30]);
        let b = frame(kind::WINDOW_UPDATE, 0, 0, &[0, 0, 1, 0]);
        let c = frame(kind::HEADERS, flag::END_HEADERS, 3, &[0x82]);
        let whole = [a.clone(), b.clone(), c.clone()].concat();
        assert_eq!(find_boundary(&whole, DEFAULT_MAX_FRAME_SIZE), Some(0));
        // Cut 4 bytes into the first header: the next frame is found.
        assert_eq!(
            find_boundary(&whole[4..], DEFAULT_MAX_FRAME_SIZE),
            Some(a.len() - 4)
        );
        // Payload bytes of 0xaa never look like a frame.
        assert_eq!(find_boundary(&[0xaa; 100], DEFAULT_MAX_FRAME_SIZE), None);
        // Mid-stream parser skips to it and parses on.
        let mut p = FrameParser::mid_stream(FrameLimits::default());
        let items = all(&mut p, &whole[4..], 1 << 20);
        assert!(
            matches!(items[0], Item::Problem(Problem::Resynced { skipped, .. }) if skipped == a.len() as u64 - 4)
        );
        assert!(
            items
                .iter()
                .any(|i| matches!(i, Item::HeaderBlock(h) if h.stream_id == 3))
        );
    }
}
