#![deny(clippy::indexing_slicing, clippy::cast_possible_truncation)]
//! The per-direction WebSocket stream decoder.
//!
//! Bytes arrive in stream order, in pieces as TCP delivered them. A frame
//! that lies whole inside one piece is decoded in place (unmasked into the
//! thread's scratch buffer when masked); a frame spanning pieces has its
//! payload processed piece by piece (unmasking with the key phase carried
//! across) and kept only as far as the caps and the consumer's wishes allow.
//! Messages are judged as they stream: UTF-8 incrementally, inflation with
//! bounded output. After a gap the decoder skips to the next place where a
//! chain of plausible frame headers begins.

use crate::config::Config;
use crate::findings::{Code, Dir, Finding, Location};
use crate::session::SessionRef;
use crate::ws::close;
use crate::ws::deflate::{InflateStop, Inflater};
use crate::ws::frame::{FrameHeader, MAX_HEADER_LEN, OpCode, parse_header};
use crate::ws::mask::unmask_into;
use crate::ws::record::{DirStats, FrameRecord, MessageRecord, Output};
use crate::ws::rules::{self, judge_header};
use crate::ws::utf8::Utf8Stream;

/// Buffers larger than this are released after use, so that thousands of
/// connections do not each keep the capacity of their largest frame.
const KEEP_CAPACITY: usize = 64 << 10;

thread_local! {
    /// The buffer masked payloads are unmasked into, one for all the
    /// decoders of a thread: it stays in cache, where one a decoder would
    /// be cold whenever thousands of connections take turns (and each would
    /// keep the capacity of its largest frame).
    static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// `bytes` unmasked with `key` from mask position `phase`, in the
/// thread's unmasking buffer, taken for them (a new one if it is in use);
/// give it back with [`put_scratch`].
fn unmask_to_scratch(bytes: &[u8], key: [u8; 4], phase: u64) -> Vec<u8> {
    let mut v = SCRATCH.take();
    v.clear();
    unmask_into(bytes, key, phase, &mut v);
    v
}

/// Gives the unmasking buffer back, unless it grew past `KEEP_CAPACITY`.
/// A buffer without capacity (never taken: nothing was unmasked) leaves
/// the thread's alone, without touching the thread-local.
fn put_scratch(v: Vec<u8>) {
    if v.capacity() != 0 && v.capacity() <= KEEP_CAPACITY {
        SCRATCH.set(v);
    }
}

/// Positions tried per chunk when looking for a frame boundary after a gap.
const MAX_RESYNC_SCAN: usize = 64 << 10;

/// Bytes held while looking for the first frame of a stream caught mid-way;
/// a chain of frames must prove itself within them.
const HUNT_MAX_BYTES: usize = 64 << 10;
/// Segment starts held as candidate frame boundaries meanwhile.
const HUNT_MAX_PIECES: usize = 16;
/// A lock-on needs this many frames chained exactly, of which this many
/// end where a TCP segment ends (WebSocket senders write a frame at a time)...
const HUNT_MIN_FRAMES: u32 = 3;
const HUNT_MIN_ALIGNED: u32 = 2;
/// ...or this many frames chained inside the held bytes.
const HUNT_MANY_FRAMES: u32 = 6;
/// A frame declaring more than this is not believed while hunting.
const HUNT_MAX_FRAME: u64 = 1 << 31;

/// What the decoder is told about the packet being processed.
pub struct Ctx<'s> {
    /// The session the direction belongs to.
    pub session: SessionRef,
    /// This direction's role, when known.
    pub from: Option<Dir>,
    /// The addresses of this direction (sender, receiver), to settle the
    /// roles from masking when no handshake or SYN told them.
    pub sender: std::net::SocketAddr,
    /// See `sender`.
    pub receiver: std::net::SocketAddr,
    /// The packet whose arrival delivered the bytes.
    pub packet: u64,
    /// Its time.
    pub ts: f64,
    /// Caps and what the consumer wants kept.
    pub cfg: &'s Config,
    /// Where frames, messages and findings go.
    pub out: &'s mut dyn Output,
}

impl Ctx<'_> {
    /// The consumer keeps this session's frame payloads.
    fn keep_frames(&self) -> bool {
        self.cfg.keep_frame_payload && self.cfg.keep_for.keeps(self.session.conn)
    }

    /// The consumer keeps this session's message bodies.
    fn keep_bodies(&self) -> bool {
        self.cfg.keep_message_data && self.cfg.keep_for.keeps(self.session.conn)
    }

    fn finding(&mut self, code: Code, offset: Option<u64>, message: String) {
        let at = Location::session(self.session)
            .from(self.from)
            .packet(self.packet)
            .offset(offset);
        self.out.finding(Finding::new(code, at, message));
    }

    /// Settles client and server from this direction's masking (RFC 6455
    /// section 5.1: a client masks every frame, a server none).
    fn settle_roles(&mut self, masked: bool) {
        if self.from.is_some() {
            return;
        }
        let (client, server) = if masked {
            (self.sender, self.receiver)
        } else {
            (self.receiver, self.sender)
        };
        self.session.client = client;
        self.session.server = server;
        self.from = Some(if masked { Dir::Client } else { Dir::Server });
    }
}

/// The frame being received.
struct Cur {
    h: FrameHeader,
    header: [u8; MAX_HEADER_LEN],
    /// Payload bytes accounted for (received or lost).
    received: u64,
    first_packet: u64,
    segments: u32,
    last_packet: u64,
    offset: u64,
    findings: Vec<Finding>,
    /// How many of `findings` were already reported (at header time).
    reported: usize,
    /// Bytes were lost from its payload.
    damaged: bool,
    /// It carries part of a data message.
    in_message: bool,
    /// That message's number (see [`MessageRecord::index`]).
    message: Option<u64>,
}

/// One spare box a thread for the frame and for the message in progress:
/// every frame that spans segments has one of each, and without the spare
/// it would allocate and free both (docs/performance.md, "Step: fewer
/// lines a segment").
mod spare {
    use std::cell::Cell;

    use super::{Cur, Msg};

    thread_local! {
        static CUR: Cell<Option<Box<Cur>>> = const { Cell::new(None) };
        static MSG: Cell<Option<Box<Msg>>> = const { Cell::new(None) };
    }

    fn fill<T>(spare: Option<Box<T>>, value: T) -> Box<T> {
        match spare {
            Some(mut b) => {
                *b = value;
                b
            }
            None => Box::new(value),
        }
    }

    /// `c` boxed, in this thread's spare box when there is one.
    pub(super) fn cur(c: Cur) -> Box<Cur> {
        fill(CUR.take(), c)
    }

    /// `m` boxed, in this thread's spare box when there is one.
    pub(super) fn msg(m: Msg) -> Box<Msg> {
        fill(MSG.take(), m)
    }

    /// A finished frame's box, kept for the next one.
    pub(super) fn keep_cur(b: Box<Cur>) {
        CUR.set(Some(b));
    }

    /// A finished message's box, kept for the next one.
    pub(super) fn keep_msg(b: Box<Msg>) {
        MSG.set(Some(b));
    }
}

/// A count of header bytes held (at most [`MAX_HEADER_LEN`]) as stored.
fn hdr_count(n: usize) -> u8 {
    u8::try_from(n.min(MAX_HEADER_LEN)).unwrap_or(0)
}

/// The data message being assembled.
struct Msg {
    /// Its number among the messages begun in this direction, from 1.
    index: u64,
    opcode: OpCode,
    frames: u32,
    first_packet: u64,
    first_ts: f64,
    compressed: bool,
    wire_len: u64,
    len: u64,
    utf8: Utf8Stream,
    damaged: bool,
    kept_all: bool,
    /// Its body is kept whatever the consumer wants (the app stage decodes it).
    keep: bool,
    /// Inflation stopped (error or cap); the rest is skipped.
    inflate_stopped: bool,
    findings: Vec<Code>,
}

impl Msg {
    /// A piece of the message body (after inflation, where compressed):
    /// counted, judged as UTF-8 for text, and kept up to the cap when
    /// `copy` and the consumer wants bodies (`keep`).
    fn absorb(&mut self, piece: &[u8], copy: bool, keep: bool, buf: &mut Vec<u8>, cfg: &Config) {
        self.len += piece.len() as u64;
        if self.opcode == OpCode::Text {
            self.utf8.push(piece);
        }
        if copy && (keep || self.keep) {
            let room = cfg.max_message_bytes.saturating_sub(buf.len());
            if piece.len() > room {
                self.kept_all = false;
            }
            buf.extend_from_slice(head(piece, room));
        }
    }
}

/// Decoder for one direction of one connection.
///
/// `repr(C)`, in the order a whole frame reads them: the flags, the
/// frame and message in progress (boxed) and the counts every frame
/// updates fill the first cache line; what only gaps, hunting and deflate
/// use comes last (docs/performance.md, "Step: per-connection state" and
/// "Step: fewer lines a segment").
#[repr(C)]
pub struct WsDecoder {
    /// The stream is known to be WebSocket: a handshake led to it, or a
    /// strict chain of frames was found. Until then nothing is decoded.
    proven: bool,
    synced: bool,
    /// Whole single-frame messages that break no rule take
    /// [`Self::fast_frame`] (off only in tests, to compare the two paths).
    fast_path: bool,
    /// Keep message bodies even when the consumer keeps none: the app
    /// stage decodes this session's subprotocol.
    pub keep_data: bool,
    close_sent: bool,
    /// A gap hid whether a fragmented message was open: the next frames
    /// cannot be judged for interleaving or stray continuations.
    msg_state_unknown: bool,
    /// Bytes that may or may not have been this stream's were lost (an
    /// HTTP/2 connection's gap): the next frame header must look like one
    /// ([`Self::find_boundary`]) before it is believed.
    doubtful: bool,
    /// The decoder started without a handshake (mid-connection capture).
    pub no_handshake: bool,
    /// The connection's other direction is known to be WebSocket: a
    /// shorter chain is enough to lock on.
    relaxed: bool,
    /// permessage-deflate negotiated; `None` when the handshake was not seen.
    deflate: Option<bool>,
    no_context_takeover: bool,
    /// The inflate window is not known (capture began mid-connection, or bytes
    /// were lost) and context takeover is in force.
    inflate_ctx_lost: bool,
    /// The inflater is inside a message that did not end cleanly (bytes
    /// lost, abandoned): it must be reset before the next message, or that
    /// message's bytes would be read as the middle of the old one.
    inflate_mid: bool,
    /// `deflate.no-context` was reported once for this direction.
    no_context_reported: bool,
    /// Bytes in `hdr` (at most MAX_HEADER_LEN).
    hdr_len: u8,
    /// Boxed, as the message: a frame or message that spans segments
    /// is the rarer case, and the whole frame's path reads only that
    /// there is none (the first line holds all it reads and writes).
    cur: Option<Box<Cur>>,
    msg: Option<Box<Msg>>,
    /// Data messages begun in this direction (their numbers).
    begun: u64,
    pub stats: DirStats,
    hdr: [u8; MAX_HEADER_LEN],
    hdr_first_packet: u64,
    /// The last packet that brought bytes of the held header, and how many
    /// packets did (a header can be cut over several segments).
    hdr_last_packet: u64,
    hdr_segments: u32,
    hdr_offset: u64,
    /// Bytes skipped while looking for a frame boundary.
    pub skipped: u64,
    /// The packet where the first frame of a stream caught mid-way begins.
    pub locked_at: Option<u64>,
    /// Boxed: only permessage-deflate sessions have one (200 bytes).
    inflater: Option<Box<Inflater>>,
    frame_buf: Vec<u8>,
    msg_buf: Vec<u8>,
    /// The segments held while looking for the first frame (stream caught
    /// mid-way).
    hunt: Hunt,
}

/// Segments of a stream caught mid-way, held until a chain of frames that
/// starts at one of them proves the stream is WebSocket.
#[derive(Default)]
struct Hunt {
    buf: Vec<u8>,
    /// Stream offset of `buf[0]`.
    start: u64,
    /// Where each segment starts in `buf`, with its packet and time.
    pieces: Vec<(usize, u64, f64)>,
}

/// What a candidate chain of frames shows so far.
#[derive(Debug, PartialEq)]
enum Chain {
    /// Not WebSocket from here.
    No,
    /// Well formed so far; more bytes are needed to decide.
    Maybe,
    /// Enough frames chain exactly.
    Yes,
}

impl WsDecoder {
    /// A decoder after a handshake. `deflate` is whether permessage-deflate
    /// was negotiated, `no_context_takeover` whether this direction resets
    /// its window per message.
    pub fn new(deflate: bool, no_context_takeover: bool) -> Self {
        WsDecoder {
            deflate: Some(deflate),
            no_context_takeover,
            synced: true,
            hdr: [0; MAX_HEADER_LEN],
            hdr_len: 0,
            hdr_first_packet: 0,
            hdr_last_packet: 0,
            hdr_segments: 0,
            hdr_offset: 0,
            cur: None,
            msg: None,
            close_sent: false,
            begun: 0,
            inflater: None,
            inflate_ctx_lost: false,
            inflate_mid: false,
            frame_buf: Vec::new(),
            msg_buf: Vec::new(),
            stats: DirStats::default(),
            skipped: 0,
            msg_state_unknown: false,
            doubtful: false,
            no_context_reported: false,
            no_handshake: false,
            proven: true,
            locked_at: None,
            relaxed: false,
            hunt: Hunt::default(),
            keep_data: false,
            fast_path: true,
        }
    }

    /// A decoder at the start of a stream whose negotiation is not known (the
    /// 101 was cut): frames start here, RSV1 messages are inflated if they can be.
    pub fn negotiation_unknown() -> Self {
        WsDecoder {
            deflate: None,
            ..Self::new(false, false)
        }
    }

    /// A decoder for a stream whose handshake was not captured: it must find
    /// a frame boundary first, and knows nothing of extensions.
    pub fn without_handshake() -> Self {
        WsDecoder {
            deflate: None,
            synced: false,
            inflate_ctx_lost: true,
            no_handshake: true,
            msg_state_unknown: true,
            proven: false,
            ..Self::new(false, false)
        }
    }

    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// A decoder for a direction known to be WebSocket (a 101 was seen) whose
    /// negotiation was cut: it looks for a frame boundary as after a gap,
    /// without the strict proof a stream caught mid-way needs.
    pub fn after_cut_handshake() -> Self {
        WsDecoder {
            proven: true,
            ..Self::without_handshake()
        }
    }

    /// A decoder without handshake for a connection whose other direction
    /// is already known to be WebSocket (`relaxed`), or not.
    pub fn without_handshake_relaxed(relaxed: bool) -> Self {
        WsDecoder {
            relaxed,
            ..Self::without_handshake()
        }
    }

    /// Still looking for the first frame of a stream caught mid-way.
    pub fn is_hunting(&self) -> bool {
        !self.proven
    }

    /// Bytes held while hunting (counted in the capture-wide budget of
    /// bytes held for later). Nothing once the stream is proven (the hunt
    /// is over, see `lock_on`): `proven` is read on every segment anyway,
    /// the hunt's buffer lies at the cold end of the decoder.
    pub fn hunt_held(&self) -> usize {
        if self.proven { 0 } else { self.hunt.buf.len() }
    }

    /// The capture-wide budget is spent: the held bytes are let go (the
    /// hunt goes on from the next segment).
    pub fn drop_hunt(&mut self) {
        self.skipped += self.hunt.buf.len() as u64;
        self.hunt = Hunt::default();
    }

    /// Whether anything was decoded.
    pub fn saw_frames(&self) -> bool {
        self.stats.frames > 0
    }

    /// Feeds bytes starting at stream `offset`.
    pub fn data(&mut self, mut offset: u64, mut bytes: &[u8], cx: &mut Ctx<'_>) {
        if !self.proven {
            self.hunt_piece(offset, bytes, cx);
            return;
        }
        while !bytes.is_empty() {
            if !self.synced {
                match self.find_boundary(bytes, cx.from) {
                    Some(p) => {
                        if p > 0 {
                            // Bytes of the stream are skipped: any message
                            // still open (after a doubtful gap) lost them.
                            self.lose_open_message();
                        }
                        self.skipped += p as u64;
                        bytes = tail(bytes, p);
                        offset += p as u64;
                        self.synced = true;
                    }
                    None => {
                        self.skipped += bytes.len() as u64;
                        return;
                    }
                }
            }
            if let Some(cur) = self.cur.as_mut() {
                let remaining = cur.h.payload_len - cur.received;
                let take = at_most(remaining, bytes.len());
                if cur.last_packet != cx.packet {
                    cur.segments += 1;
                    cur.last_packet = cx.packet;
                }
                self.payload_piece(head(bytes, take), cx);
                bytes = tail(bytes, take);
                offset += take as u64;
                if self
                    .cur
                    .as_ref()
                    .is_some_and(|c| c.received == c.h.payload_len)
                {
                    self.complete_frame(None, cx);
                }
                continue;
            }
            if self.doubtful && self.hdr_len == 0 && parse_header(bytes).is_some() {
                // Where a frame header is due after a doubtful gap, it
                // must look like one (otherwise the scan goes on from here).
                // One cut by the piece's end is held and judged whole below.
                self.doubtful = false;
                self.synced = false;
                continue;
            }
            if self.hdr_len == 0 {
                if let Some(h) = parse_header(bytes) {
                    let total = (h.header_len as u64).saturating_add(h.payload_len);
                    if total <= bytes.len() as u64 {
                        let total = at_most(total, bytes.len());
                        let frame = head(bytes, total);
                        if !self.fast_frame(&h, frame, offset, cx) {
                            self.whole_frame(h, frame, offset, cx);
                        }
                        bytes = tail(bytes, total);
                        offset += total as u64;
                        continue;
                    }
                    let (head, rest) = bytes.split_at(h.header_len);
                    self.start_frame(h, head, offset, cx.packet, cx);
                    bytes = rest;
                    offset += h.header_len as u64;
                    continue;
                }
                // parse_header only fails on fewer than MAX_HEADER_LEN bytes.
                let n = bytes.len().min(MAX_HEADER_LEN);
                if let Some(d) = self.hdr.get_mut(..n) {
                    d.copy_from_slice(head(bytes, n));
                }
                self.hdr_len = hdr_count(n);
                self.hdr_first_packet = cx.packet;
                self.hdr_last_packet = cx.packet;
                self.hdr_segments = 1;
                self.hdr_offset = offset;
                return;
            }
            if cx.packet != self.hdr_last_packet {
                self.hdr_last_packet = cx.packet;
                self.hdr_segments += 1;
            }
            let had = usize::from(self.hdr_len);
            let need = (MAX_HEADER_LEN - had).min(bytes.len());
            if let Some(d) = self.hdr.get_mut(had..had + need) {
                d.copy_from_slice(head(bytes, need));
            }
            let have = had + need;
            match parse_header(head(&self.hdr, have)) {
                Some(h)
                    if self.doubtful && !self.plausible(&h, cx.from.map(|f| f == Dir::Client)) =>
                {
                    // Not a frame header after all (this stream did lose
                    // bytes): its held bytes are skipped, and the scan for
                    // a boundary goes on in this piece.
                    self.doubtful = false;
                    self.skipped += had as u64;
                    self.hdr_len = 0;
                    self.synced = false;
                    self.lose_open_message();
                }
                Some(h) => {
                    self.doubtful = false;
                    let used = h.header_len - had;
                    let head = self.hdr;
                    let (first, at) = (self.hdr_first_packet, self.hdr_offset);
                    self.hdr_len = 0;
                    self.start_frame(h, self::head(&head, h.header_len), at, first, cx);
                    if let Some(c) = self.cur.as_mut() {
                        c.segments = self.hdr_segments;
                        c.last_packet = cx.packet;
                    }
                    bytes = tail(bytes, used);
                    offset += used as u64;
                    if h.payload_len == 0 {
                        self.complete_frame(None, cx);
                    }
                }
                None => {
                    self.hdr_len = hdr_count(have);
                    return;
                }
            }
        }
    }

    /// `len` bytes are missing from the stream at the current position.
    pub fn gap(&mut self, len: u64, cx: &mut Ctx<'_>) {
        if !self.proven {
            // A chain cannot be followed across missing bytes.
            self.skipped += self.hunt.buf.len() as u64;
            self.hunt = Hunt::default();
            return;
        }
        if !self.synced {
            return;
        }
        let mut len = len;
        if let Some(cur) = self.cur.as_mut() {
            let remaining = cur.h.payload_len - cur.received;
            let lost = remaining.min(len);
            cur.received += lost;
            cur.damaged = true;
            len -= lost;
            if let Some(m) = self.msg.as_mut()
                && cur.in_message
            {
                m.damaged = true;
                m.wire_len += lost;
            }
            if cur.in_message
                && let Some(m) = self.msg.as_mut()
                && m.compressed
            {
                // The rest of it cannot be inflated without the lost bytes.
                m.inflate_stopped = true;
                self.inflate_ctx_lost = true;
            }
            if cur.received == cur.h.payload_len {
                self.complete_frame(None, cx);
            }
        }
        if len > 0 || self.hdr_len > 0 {
            // A header was lost: look for the next frame boundary.
            self.hdr_len = 0;
            self.synced = false;
            self.lose_open_message();
        }
    }

    /// Up to `len` bytes are missing, of this stream or of others: a
    /// connection that carries several streams (HTTP/2) lost `len` bytes,
    /// and whose they were is unknown. The frame being read goes on as
    /// though none were its own, counted damaged; the next frame header
    /// must then look like one before it is believed (when this stream did
    /// lose bytes, the frame took some of what follows, and the scan for a
    /// boundary skips the rest) instead of being read blindly.
    pub fn gap_uncertain(&mut self, len: u64, cx: &mut Ctx<'_>) {
        if len == 0 {
            return;
        }
        if !self.proven || !self.synced {
            self.gap(len, cx);
            return;
        }
        if self.hdr_len > 0 {
            // A header cut by the gap: its rest may be lost.
            self.gap(len, cx);
            return;
        }
        if let Some(cur) = self.cur.as_mut() {
            cur.damaged = true;
        } else if self.deflate != Some(false) && !self.no_context_takeover {
            // A whole compressed message may have been lost.
            self.inflate_ctx_lost = true;
        }
        if let Some(m) = self.msg.as_mut() {
            // The open message may have lost bytes or whole fragments.
            m.damaged = true;
            if m.compressed {
                m.inflate_stopped = true;
                self.inflate_ctx_lost = true;
            }
        }
        // Whether a fragmented message is open (or its last fragment was
        // lost) is not known: the next frames are not judged for it.
        self.msg_state_unknown = true;
        self.doubtful = true;
    }

    /// Bytes of the stream were lost or skipped where they cannot be
    /// counted: whatever message was open is dropped, the next frames
    /// cannot be judged for interleaving, and any message among those bytes
    /// may have fed the inflate window.
    fn lose_open_message(&mut self) {
        if self.msg.take().is_some_and(|m| m.compressed) {
            self.inflate_ctx_lost = true;
        }
        self.msg_state_unknown = true;
        if self.deflate != Some(false) && !self.no_context_takeover {
            self.inflate_ctx_lost = true;
        }
    }

    /// The stream ended with the capture: an unfinished frame is reported.
    pub fn finish(&mut self, cx: &mut Ctx<'_>) {
        self.finish_as(cx, "the capture ends");
    }

    /// The stream ended as `ended` says ("the capture ends", "the stream
    /// is reset (RST_STREAM CANCEL)", ...): an unfinished frame is
    /// reported with it.
    pub fn finish_as(&mut self, cx: &mut Ctx<'_>, ended: &str) {
        if let Some(cur) = self.cur.take() {
            let msg = format!(
                "{ended} {} bytes into a {} frame that declares {} payload bytes",
                cur.received,
                cur.h.opcode.name(),
                cur.h.payload_len
            );
            cx.finding(Code::StreamIncompleteFrame, Some(cur.offset), msg);
        } else if self.hdr_len > 0 {
            let msg = format!(
                "{ended} inside a frame header ({} of at least 2 bytes)",
                self.hdr_len
            );
            cx.finding(Code::StreamIncompleteFrame, Some(self.hdr_offset), msg);
            self.hdr_len = 0;
        }
    }

    /// A segment of a stream caught mid-way, before any frame was found: it
    /// is held, and each held segment start is tried as a frame boundary.
    /// Only a chain strict enough that other protocols do not give it (see
    /// [`Self::strict_chain`]) locks on; the held segments are then decoded
    /// as they came (their packets and times), and the rest follows.
    fn hunt_piece(&mut self, offset: u64, bytes: &[u8], cx: &mut Ctx<'_>) {
        if bytes.is_empty() {
            return;
        }
        let h = &mut self.hunt;
        if h.start + h.buf.len() as u64 != offset || bytes.len() > HUNT_MAX_BYTES {
            self.skipped += h.buf.len() as u64;
            h.buf.clear();
            h.pieces.clear();
            h.start = offset;
        }
        if bytes.len() > HUNT_MAX_BYTES {
            // Too large to hold: tried on its own.
            if self.strict_chain(bytes, &[bytes.len()], hunt_role(cx)) == Chain::Yes {
                self.locked_at = Some(cx.packet);
                self.lock_on(cx, |d, cx| d.data(offset, bytes, cx));
            } else {
                self.skipped += bytes.len() as u64;
                h_reset(&mut self.hunt, offset + bytes.len() as u64);
            }
            return;
        }
        let h = &mut self.hunt;
        h.pieces.push((h.buf.len(), cx.packet, cx.ts));
        h.buf.extend_from_slice(bytes);
        self.hunt_evaluate(cx);
    }

    /// The other direction of this connection locked on: this one is
    /// WebSocket too, and one well-formed frame from a segment start to a
    /// segment end is enough from now on (the held segments are tried again).
    pub fn relax(&mut self, cx: &mut Ctx<'_>) {
        if self.proven || self.relaxed {
            return;
        }
        self.relaxed = true;
        if !self.hunt.pieces.is_empty() {
            self.hunt_evaluate(cx);
        }
    }

    pub fn is_relaxed(&self) -> bool {
        self.relaxed
    }

    /// Tries each held segment start as the first frame boundary.
    fn hunt_evaluate(&mut self, cx: &mut Ctx<'_>) {
        let h = &mut self.hunt;
        // Drop the oldest segments past the caps.
        let mut drop = 0;
        while drop + 1 < h.pieces.len()
            && (h.pieces.len() - drop > HUNT_MAX_PIECES
                || h.buf.len() - h.pieces.get(drop).map_or(0, |p| p.0) > HUNT_MAX_BYTES)
        {
            drop += 1;
        }
        let mut ends: Vec<usize> = h.pieces.iter().skip(1).map(|p| p.0).collect();
        ends.push(h.buf.len());
        let mut found = None;
        let mut rejected = 0;
        for (i, &(at, _, _)) in self.hunt.pieces.iter().enumerate().skip(drop) {
            let rel: Vec<usize> = ends.iter().skip(i).map(|e| e - at).collect();
            match self.strict_chain(tail(&self.hunt.buf, at), &rel, hunt_role(cx)) {
                Chain::Yes => {
                    found = Some(i);
                    break;
                }
                Chain::No if i == drop + rejected => rejected += 1,
                _ => {}
            }
        }
        if let Some(i) = found {
            let h = std::mem::take(&mut self.hunt);
            let (packet, ts) = (cx.packet, cx.ts);
            let (first_at, first_packet) = h.pieces.get(i).map_or((0, cx.packet), |p| (p.0, p.1));
            self.skipped += first_at as u64;
            self.locked_at = Some(first_packet);
            self.lock_on(cx, |d, cx| {
                for (j, &(at, p, t)) in h.pieces.iter().enumerate().skip(i) {
                    let end = h.pieces.get(j + 1).map_or(h.buf.len(), |n| n.0);
                    cx.packet = p;
                    cx.ts = t;
                    d.data(
                        h.start + at as u64,
                        h.buf.get(at..end).unwrap_or_default(),
                        cx,
                    );
                }
                cx.packet = packet;
                cx.ts = ts;
            });
            return;
        }
        // Segments that cannot start a chain are let go.
        let h = &mut self.hunt;
        let keep = drop + rejected;
        if keep > 0 {
            let cut = h.pieces.get(keep).map_or(h.buf.len(), |p| p.0);
            self.skipped += cut as u64;
            h.buf.drain(..cut);
            h.pieces.drain(..keep);
            for p in &mut h.pieces {
                p.0 -= cut;
            }
            h.start += cut as u64;
        }
        if h.buf.capacity() > KEEP_CAPACITY && h.buf.len() < KEEP_CAPACITY / 2 {
            h.buf.shrink_to(KEEP_CAPACITY);
        }
    }

    /// The stream is WebSocket from here: decode what `replay` feeds.
    fn lock_on(&mut self, cx: &mut Ctx<'_>, replay: impl FnOnce(&mut Self, &mut Ctx<'_>)) {
        self.proven = true;
        self.synced = true;
        self.hunt = Hunt::default();
        replay(self, cx);
    }

    /// Whether `d` (from a segment start) is a chain of frames that only
    /// WebSocket gives: each header well formed (a known opcode, control
    /// frames final and at most 125 bytes, the shortest length form, RSV1
    /// only on a message's first frame and RSV2/RSV3 never, no empty
    /// non-final fragment), one masking rule for the direction, messages
    /// well nested (no data frame inside an open message, no continuation
    /// outside one), uncompressed text valid UTF-8, close codes valid; and
    /// enough of them chained exactly (`ends` are the segment ends in `d`).
    fn strict_chain(&self, d: &[u8], ends: &[usize], from: Option<Dir>) -> Chain {
        let mut i = 0usize;
        let (mut n, mut aligned) = (0u32, 0u32);
        let mut masked = from.map(|f| f == Dir::Client);
        // Whether a message is open (None: unknown, at the chain's start),
        // and whether it is uncompressed text.
        let mut open: Option<bool> = None;
        let mut text = false;
        // A message boundary was seen: a data or control frame, or a final
        // fragment. A run of non-final continuations alone is what a 2-byte
        // length prefix below 256 looks like (DNS over TCP): never enough.
        let mut boundary = false;
        let mut scratch = Vec::new();
        // Enough frames chained; the rest of the held bytes must agree.
        let mut enough = false;
        let undecided = |enough: bool| if enough { Chain::Yes } else { Chain::Maybe };
        loop {
            let Some(h) = parse_header(tail(d, i)) else {
                return undecided(enough);
            };
            let total = (h.header_len as u64).saturating_add(h.payload_len);
            let well_formed = !matches!(h.opcode, OpCode::Reserved(_))
                && !h.rsv2
                && !h.rsv3
                && (!h.rsv1 || (h.opcode.is_data() && self.deflate != Some(false)))
                && (!h.opcode.is_control() || (h.fin && h.payload_len <= 125))
                && h.length_form == crate::ws::frame::minimal_form(h.payload_len)
                && masked.is_none_or(|m| m == h.masked())
                && (h.fin || h.payload_len > 0 || h.opcode.is_control())
                && h.payload_len < HUNT_MAX_FRAME;
            if !well_formed {
                return Chain::No;
            }
            masked = Some(h.masked());
            boundary |= h.fin || h.opcode != OpCode::Continuation;
            match h.opcode {
                OpCode::Text | OpCode::Binary => {
                    if open == Some(true) {
                        return Chain::No;
                    }
                    open = Some(!h.fin);
                    text = h.opcode == OpCode::Text && !h.rsv1;
                }
                OpCode::Continuation => {
                    if open == Some(false) {
                        return Chain::No;
                    }
                    if open.is_none() {
                        text = false; // the message's type is not known
                    }
                    open = Some(!h.fin);
                }
                _ => {}
            }
            if total > HUNT_MAX_BYTES as u64 {
                // Too large to hold: the chain ends with its header, which
                // counts as a frame (not one ending at a segment end).
                return if enough || (boundary && self.chain_enough(n + 1, aligned)) {
                    Chain::Yes
                } else {
                    Chain::No
                };
            }
            let end = i + at_most(total, usize::MAX);
            let Some(payload) = d.get(i + h.header_len..end) else {
                return undecided(enough);
            };
            let clear: &[u8] = match h.mask_key {
                Some(k) if text || h.opcode == OpCode::Close => {
                    scratch.clear();
                    unmask_into(payload, k, 0, &mut scratch);
                    &scratch
                }
                _ => payload,
            };
            if text && h.opcode != OpCode::Continuation {
                // Whole UTF-8, or (for a first fragment) cut only at its end.
                if let Err(e) = simdutf8::compat::from_utf8(clear)
                    && (h.fin || e.error_len().is_some())
                {
                    return Chain::No;
                }
            }
            // Text carries no C0 control but tab, LF and CR (JSON and the
            // like escape them); binary data that happens to be UTF-8 does.
            if text
                && !h.opcode.is_control()
                && clear
                    .iter()
                    .any(|&c| (c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r')) || c == 0x7f)
            {
                return Chain::No;
            }
            if h.opcode == OpCode::Close {
                match clear.len() {
                    0 => {}
                    1 => return Chain::No,
                    _ => {
                        let Some((&[a, b], reason)) = clear.split_first_chunk::<2>() else {
                            return Chain::No;
                        };
                        let code = u16::from_be_bytes([a, b]);
                        if close::judge_code(code).is_some() || !crate::ws::utf8::valid(reason) {
                            return Chain::No;
                        }
                    }
                }
            }
            n += 1;
            if ends.contains(&end) {
                aligned += 1;
            }
            enough |= boundary && self.chain_enough(n, aligned);
            if end == d.len() {
                return undecided(enough);
            }
            i = end;
        }
    }

    /// Whether `n` chained frames, `aligned` of them ending at a segment
    /// end, are enough to lock on.
    fn chain_enough(&self, n: u32, aligned: u32) -> bool {
        (n >= HUNT_MIN_FRAMES && aligned >= HUNT_MIN_ALIGNED)
            || n >= HUNT_MANY_FRAMES
            || (self.relaxed && (aligned >= 1 || n >= 2))
    }

    /// Whether `bytes` starts with a believable chain of frames.
    fn find_boundary(&self, bytes: &[u8], from: Option<Dir>) -> Option<usize> {
        let scan = bytes.len().min(MAX_RESYNC_SCAN);
        (0..scan).find(|&p| self.chain_plausible(tail(bytes, p), p == 0, from))
    }

    fn chain_plausible(&self, d: &[u8], at_piece_start: bool, from: Option<Dir>) -> bool {
        let mut i = 0usize;
        let mut n = 0;
        let mut masked = from.map(|f| f == Dir::Client);
        loop {
            let Some(h) = parse_header(tail(d, i)) else {
                // A header cut by the end of the piece.
                return n >= 1 && d.len() - i < MAX_HEADER_LEN;
            };
            if !self.plausible(&h, masked) {
                return false;
            }
            masked = Some(h.masked());
            n += 1;
            let end = (i as u64)
                .saturating_add(h.header_len as u64)
                .saturating_add(h.payload_len);
            if end == d.len() as u64 {
                return true;
            }
            if end > d.len() as u64 {
                return n >= 2 || at_piece_start;
            }
            i = at_most(end, d.len());
        }
    }

    fn plausible(&self, h: &FrameHeader, masked: Option<bool>) -> bool {
        let known = !matches!(h.opcode, OpCode::Reserved(_));
        let rsv_ok =
            !h.rsv2 && !h.rsv3 && (!h.rsv1 || (h.opcode.is_data() && self.deflate != Some(false)));
        let control_ok = !h.opcode.is_control() || (h.fin && h.payload_len <= 125);
        let mask_ok = masked.is_none_or(|m| m == h.masked());
        let len_ok = h.length_form == crate::ws::frame::minimal_form(h.payload_len);
        let continuation_ok =
            h.opcode != OpCode::Continuation || self.msg.is_some() || self.msg_state_unknown;
        known && rsv_ok && control_ok && mask_ok && len_ok && continuation_ok
    }

    fn start_frame(
        &mut self,
        h: FrameHeader,
        head: &[u8],
        offset: u64,
        first_packet: u64,
        cx: &mut Ctx<'_>,
    ) {
        cx.settle_roles(h.masked());
        let mut findings = Vec::new();
        let rcx = rules::Context {
            from: cx.from,
            deflate: self.deflate,
            message_open: self.msg.is_some(),
        };
        judge_header(&h, &rcx, &mut findings);
        if self.msg_state_unknown {
            findings.retain(|f| {
                !matches!(
                    f.code,
                    Code::MessageInterleavedData | Code::MessageUnexpectedContinuation
                )
            });
            if h.opcode.is_data() {
                self.msg_state_unknown = false;
            }
        }
        let data_like = h.opcode.is_data() || h.opcode == OpCode::Continuation;
        if self.close_sent && data_like {
            findings.push(Finding::new(Code::CloseDataAfterClose, Location::default(), format!(
                "a {} frame follows this side's Close frame; RFC 6455 section 5.5.1 forbids sending data after Close", h.opcode.name())));
        }
        let mut in_message = false;
        if h.opcode.is_data() {
            // A new message (interleaving already judged): the open one is abandoned.
            let compressed = h.rsv1 && self.deflate != Some(false);
            self.begun += 1;
            self.msg = Some(spare::msg(Msg {
                index: self.begun,
                opcode: h.opcode,
                frames: 0,
                first_packet,
                first_ts: cx.ts,
                compressed,
                wire_len: 0,
                len: 0,
                utf8: Utf8Stream::new(),
                damaged: false,
                kept_all: true,
                keep: self.keep_data,
                inflate_stopped: false,
                findings: Vec::new(),
            }));
            self.msg_buf.clear();
            if compressed {
                self.begin_inflate(cx);
            }
            in_message = true;
        } else if h.opcode == OpCode::Continuation && self.msg.is_some() {
            in_message = true;
        }
        let mut message = None;
        if let Some(m) = self.msg.as_mut()
            && in_message
        {
            m.frames += 1;
            message = Some(m.index);
        }
        // Header rules are reported now: a frame may never complete (a 2^63 length).
        for f in &findings {
            cx.finding(f.code, Some(offset), f.message.clone());
        }
        let reported = findings.len();
        let mut header = [0u8; MAX_HEADER_LEN];
        if let Some(d) = header.get_mut(..head.len()) {
            d.copy_from_slice(head);
        }
        self.frame_buf.clear();
        self.cur = Some(spare::cur(Cur {
            h,
            header,
            received: 0,
            first_packet,
            segments: 1,
            last_packet: cx.packet,
            offset,
            findings,
            reported,
            damaged: false,
            in_message,
            message,
        }));
    }

    fn begin_inflate(&mut self, cx: &mut Ctx<'_>) {
        let cfg = cx.cfg;
        let inf = self.inflater.get_or_insert_with(|| {
            Box::new(Inflater::new(cfg.max_inflated_bytes, cfg.max_inflate_ratio))
        });
        if self.no_context_takeover {
            inf.reset();
            self.inflate_ctx_lost = false;
        } else if self.inflate_mid {
            // The previous message did not end cleanly: its window is lost.
            inf.reset();
            self.inflate_ctx_lost = true;
        }
        self.inflate_mid = true;
        inf.begin_message();
    }

    /// Whether anything downstream reads the current frame's clear bytes:
    /// a consumer keeping payloads or bodies, a control frame, or a text or
    /// compressed message (UTF-8 and inflation). Otherwise unmasking is skipped.
    fn wants_clear(&self, cx: &Ctx<'_>) -> bool {
        let Some(cur) = self.cur.as_ref() else {
            return false;
        };
        cx.keep_frames()
            || cx.keep_bodies()
            || self.keep_data
            || cur.h.opcode.is_control()
            || (cur.in_message
                && self
                    .msg
                    .as_ref()
                    .is_some_and(|m| m.compressed || m.opcode == OpCode::Text))
    }

    /// The common case in one step: a whole text or binary frame that is
    /// a message of its own, uncompressed, in a direction whose role is
    /// known, breaking no rule (header, UTF-8, order), while the consumer
    /// keeps no payload. It gives the frame, the message and the counts
    /// [`Self::whole_frame`] gives (a test holds the two to the same
    /// events); anything else, and text that is not UTF-8, returns false
    /// having done nothing, for the general path.
    fn fast_frame(&mut self, h: &FrameHeader, frame: &[u8], offset: u64, cx: &mut Ctx<'_>) -> bool {
        let Some(from) = cx.from else { return false };
        let clean = self.fast_path
            && h.fin
            && h.opcode.is_data()
            && !h.rsv1
            && !h.rsv2
            && !h.rsv3
            && h.masked() == (from == Dir::Client)
            && h.length_form == crate::ws::frame::minimal_form(h.payload_len)
            && h.payload_len >> 63 == 0
            && self.cur.is_none()
            && self.msg.is_none()
            && !self.msg_state_unknown
            && !self.close_sent
            && !self.keep_data
            && !cx.keep_frames()
            && !cx.keep_bodies();
        if !clean {
            return false;
        }
        let Some((header_bytes, payload)) = frame.split_at_checked(h.header_len) else {
            return false;
        };
        let text = h.opcode == OpCode::Text;
        // Taken only to unmask (only text is read, for UTF-8).
        let mut scratch = Vec::new();
        let shown: &[u8] = match h.mask_key {
            _ if !text => &[],
            Some(k) => {
                scratch = unmask_to_scratch(payload, k, 0);
                &scratch
            }
            None => payload,
        };
        if text && !crate::ws::utf8::valid(shown) {
            put_scratch(scratch);
            return false;
        }
        self.begun += 1;
        let len = payload.len() as u64;
        if cx.out.wants_frames() {
            cx.out.frame(&FrameRecord {
                session: cx.session,
                from,
                packet: cx.packet,
                ts: cx.ts,
                first_packet: cx.packet,
                segments: 1,
                offset,
                header: *h,
                header_bytes,
                payload: shown,
                payload_complete: shown.len() as u64 == h.payload_len,
                message: Some(self.begun),
                answers: None,
                close_code: None,
                close_reason: None,
                findings: &[],
            });
        }
        self.stats.frames += 1;
        self.stats.payload_bytes += len;
        if cx.out.wants_messages() {
            cx.out.message(&MessageRecord {
                session: cx.session,
                from,
                index: self.begun,
                opcode: h.opcode,
                frames: 1,
                first_packet: cx.packet,
                last_packet: cx.packet,
                first_ts: cx.ts,
                last_ts: cx.ts,
                compressed: false,
                wire_len: len,
                len,
                data: shown,
                data_complete: true,
                decodable: true,
                findings: &[],
            });
        }
        self.stats.messages += 1;
        put_scratch(scratch);
        true
    }

    fn whole_frame(&mut self, h: FrameHeader, frame: &[u8], offset: u64, cx: &mut Ctx<'_>) {
        let (head, payload) = frame.split_at(h.header_len);
        self.start_frame(h, head, offset, cx.packet, cx);
        let mut scratch = Vec::new();
        let wanted = self.wants_clear(cx);
        let clear: &[u8] = match h.mask_key {
            // Nobody reads these bytes: only their length counts.
            Some(_) if !wanted => payload,
            Some(k) => {
                scratch = unmask_to_scratch(payload, k, 0);
                &scratch
            }
            None => payload,
        };
        if let Some(cur) = self.cur.as_mut() {
            cur.received = payload.len() as u64;
        }
        // A whole uncompressed single-frame message is its own body: no copy.
        let single =
            h.fin && h.opcode.is_data() && !self.msg.as_ref().is_some_and(|m| m.compressed);
        self.message_piece(clear, !single, cx);
        self.complete_frame(Some(if wanted { clear } else { &[] }), cx);
        put_scratch(scratch);
    }

    /// A piece of the current frame's payload, still masked.
    fn payload_piece(&mut self, piece: &[u8], cx: &mut Ctx<'_>) {
        let wanted = self.wants_clear(cx);
        let keep_frames = cx.keep_frames();
        let Some(cur) = self.cur.as_mut() else { return };
        let phase = cur.received;
        cur.received += piece.len() as u64;
        let keep = keep_frames || cur.h.opcode.is_control();
        let mask_key = cur.h.mask_key;
        let mut scratch = Vec::new();
        let clear: &[u8] = match mask_key {
            Some(_) if !wanted => piece,
            Some(k) => {
                scratch = unmask_to_scratch(piece, k, phase);
                &scratch
            }
            None => piece,
        };
        if keep {
            let room = cx.cfg.max_frame_bytes.saturating_sub(self.frame_buf.len());
            self.frame_buf.extend_from_slice(head(clear, room));
        }
        if cur.in_message {
            self.message_piece(clear, true, cx);
        }
        put_scratch(scratch);
    }

    /// A piece of the open message's wire payload (unmasked).
    fn message_piece(&mut self, clear: &[u8], copy: bool, cx: &mut Ctx<'_>) {
        let Some(m) = self.msg.as_mut() else { return };
        if !self.cur.as_ref().is_some_and(|c| c.in_message) {
            return;
        }
        m.wire_len += clear.len() as u64;
        if !m.compressed {
            m.absorb(clear, copy, cx.keep_bodies(), &mut self.msg_buf, cx.cfg);
            return;
        }
        if m.inflate_stopped || clear.is_empty() {
            return;
        }
        let Some(inf) = self.inflater.as_mut() else {
            return;
        };
        let buf = &mut self.msg_buf;
        let keep = cx.keep_bodies();
        let r = inf.push(clear, &mut |out: &[u8]| {
            m.absorb(out, true, keep, buf, cx.cfg)
        });
        if let Err(stop) = r {
            self.inflate_failed(stop, cx);
        }
    }

    fn inflate_failed(&mut self, stop: InflateStop, cx: &mut Ctx<'_>) {
        let Some(m) = self.msg.as_mut() else { return };
        m.inflate_stopped = true;
        let offset = self.cur.as_ref().map(|c| c.offset);
        match stop {
            InflateStop::Limit(n) => {
                m.damaged = true;
                cx.finding(Code::LimitReached, offset, format!(
                    "a compressed message inflated past {n} bytes (the cap on size or inflate ratio); the rest of it is skipped"));
                // The window is unknown from here on.
                self.inflate_ctx_lost = !self.no_context_takeover;
                if let Some(inf) = self.inflater.as_mut() {
                    inf.reset();
                }
            }
            InflateStop::Corrupt(e) => {
                if self.inflate_ctx_lost || m.damaged {
                    m.findings.push(Code::DeflateNoContext);
                    if !self.no_context_reported {
                        self.no_context_reported = true;
                        cx.finding(Code::DeflateNoContext, offset, format!(
                            "a compressed message cannot be inflated because the capture lacks the earlier messages its window refers to ({e}); later ones that refer to them are marked undecodable"));
                    }
                } else {
                    m.findings.push(Code::DeflateInflateError);
                    cx.finding(Code::DeflateInflateError, offset, format!(
                        "a compressed message is not a valid deflate stream: {e} (RFC 7692 section 7.2.2)"));
                }
                m.damaged = true;
                self.inflate_ctx_lost = !self.no_context_takeover;
                if let Some(inf) = self.inflater.as_mut() {
                    inf.reset();
                }
            }
        }
    }

    fn complete_frame(&mut self, whole: Option<&[u8]>, cx: &mut Ctx<'_>) {
        let Some(mut cur) = self.cur.take() else {
            return;
        };
        let payload: &[u8] = whole.unwrap_or(&self.frame_buf);
        let complete = !cur.damaged && payload.len() as u64 == cur.h.payload_len;
        let mut close_code = None;
        let mut close_reason = None;
        if cur.h.opcode == OpCode::Close && !cur.damaged {
            match payload.len() {
                0 => {}
                1 => cur.findings.push(Finding::new(Code::ClosePayloadTooShort, Location::default(),
                    "the close frame carries 1 byte; RFC 6455 section 5.5.1 requires 0 bytes or a 2-byte status code")),
                _ => {
                    let (code, reason) = match payload.split_first_chunk::<2>() {
                        Some((&[a, b], reason)) => (u16::from_be_bytes([a, b]), reason),
                        None => (0, &[][..]),
                    };
                    close_code = Some(code);
                    if let Some(c) = close::judge_code(code) {
                        let why = if c == Code::CloseReservedCode {
                            "is reserved and must not be sent in a Close frame (RFC 6455 section 7.4.1)"
                        } else {
                            "is not a valid status code (RFC 6455 section 7.4)"
                        };
                        cur.findings.push(Finding::new(c, Location::default(), format!("close code {code} {why}")));
                    }
                    if !crate::ws::utf8::valid(reason) {
                        cur.findings.push(Finding::new(Code::CloseInvalidUtf8Reason, Location::default(),
                            "the close reason is not valid UTF-8 (RFC 6455 section 5.5.1)"));
                    }
                    close_reason = Some(reason);
                }
            }
        }
        if cur.damaged {
            cur.findings.push(Finding::new(
                Code::TcpGap,
                Location::default(),
                format!(
                    "bytes of this {} frame's payload are missing from the capture",
                    cur.h.opcode.name()
                ),
            ));
        }
        for f in cur.findings.get(cur.reported..).unwrap_or_default() {
            if f.code != Code::TcpGap {
                cx.finding(f.code, Some(cur.offset), f.message.clone());
            }
        }
        // A data frame nobody reads is not built (control frames always
        // are: a pong is paired with its ping from them).
        if cur.h.opcode.is_control() || cx.out.wants_frames() {
            emit_frame(&cur, payload, complete, (close_code, close_reason), cx);
        }
        self.stats.frames += 1;
        self.stats.payload_bytes += cur.h.payload_len.min(cur.received);
        if cur.h.opcode == OpCode::Close {
            self.close_sent = true;
            if self.stats.close_code.is_none() {
                self.stats.close_code = close_code;
                self.stats.close_reason =
                    close_reason.map(|r| String::from_utf8_lossy(r).into_owned());
            }
        }
        if cur.in_message && cur.h.fin {
            let single = whole.filter(|_| {
                cur.h.opcode.is_data() && self.msg.as_ref().is_some_and(|m| !m.compressed)
            });
            self.complete_message(single, cx);
        }
        if self.frame_buf.capacity() > KEEP_CAPACITY {
            self.frame_buf = Vec::new();
        }
        spare::keep_cur(cur);
    }

    fn complete_message(&mut self, single: Option<&[u8]>, cx: &mut Ctx<'_>) {
        let Some(mut m) = self.msg.take() else { return };
        if m.compressed
            && !m.inflate_stopped
            && !m.damaged
            && let Some(inf) = self.inflater.as_mut()
        {
            let buf = &mut self.msg_buf;
            let keep = cx.keep_bodies();
            let r = inf.finish(&mut |out: &[u8]| m.absorb(out, true, keep, buf, cx.cfg));
            // Ended cleanly: the next message continues from this window.
            self.inflate_mid = r.is_err();
            if let Err(stop) = r {
                self.msg = Some(m);
                self.inflate_failed(stop, cx);
                m = match self.msg.take() {
                    Some(m) => m,
                    None => return,
                };
            }
        }
        if m.compressed
            && self.no_context_takeover
            && let Some(inf) = self.inflater.as_mut()
        {
            inf.reset();
        }
        if !m.compressed {
            // Bytes lost in gaps count too: the length is the one on the wire.
            m.len = m.wire_len;
        }
        let decodable = !m.damaged && !m.inflate_stopped;
        if decodable && m.opcode == OpCode::Text && !m.utf8.finish() {
            m.findings.push(Code::MessageInvalidUtf8);
            cx.finding(Code::MessageInvalidUtf8, None, format!(
                "a text message of {} bytes{} is not valid UTF-8; RFC 6455 section 8.1 requires text messages to be UTF-8",
                m.len, if m.compressed { " (after inflation)" } else { "" }));
        }
        if cx.out.wants_messages() {
            self.emit_message(&m, single, decodable, cx);
        }
        self.stats.messages += 1;
        if self.msg_buf.capacity() > KEEP_CAPACITY {
            self.msg_buf = Vec::new();
        }
        spare::keep_msg(m);
    }

    /// Hands a finished message to the output.
    fn emit_message(&self, m: &Msg, single: Option<&[u8]>, decodable: bool, cx: &mut Ctx<'_>) {
        let data: &[u8] = single.unwrap_or(&self.msg_buf);
        let rec = MessageRecord {
            session: cx.session,
            from: cx.from.unwrap_or(Dir::Client),
            index: m.index,
            opcode: m.opcode,
            frames: m.frames,
            first_packet: m.first_packet,
            last_packet: cx.packet,
            first_ts: m.first_ts,
            last_ts: cx.ts,
            compressed: m.compressed,
            wire_len: m.wire_len,
            len: m.len,
            data,
            data_complete: decodable
                && (single.is_some() || (m.kept_all && (cx.keep_bodies() || m.keep))),
            decodable,
            findings: &m.findings,
        };
        cx.out.message(&rec);
    }
}

/// Hands a finished frame to the output.
fn emit_frame(
    cur: &Cur,
    payload: &[u8],
    complete: bool,
    (close_code, close_reason): (Option<u16>, Option<&[u8]>),
    cx: &mut Ctx<'_>,
) {
    let codes: Vec<Code> = cur.findings.iter().map(|f| f.code).collect();
    let rec = FrameRecord {
        session: cx.session,
        from: cx.from.unwrap_or(Dir::Client),
        packet: cx.packet,
        ts: cx.ts,
        first_packet: cur.first_packet,
        segments: cur.segments,
        offset: cur.offset,
        header: cur.h,
        header_bytes: head(&cur.header, cur.h.header_len),
        payload,
        payload_complete: complete,
        message: cur.message,
        answers: None,
        close_code,
        close_reason,
        findings: &codes,
    };
    cx.out.frame(&rec);
}

/// This direction's role for the hunt: the one known (SYN, handshake, the
/// other direction's masking), else a guess from the ports when they leave
/// no doubt (a well-known or registered port below 10000 facing an
/// ephemeral one, 32768 and up: the ephemeral side is the client). The
/// guess only makes the hunt stricter (a client must mask, a server must
/// not): an MQTT client's unmasked SUBSCRIBE packets, which are valid
/// binary frame headers, do not pass for a server's frames.
fn hunt_role(cx: &Ctx<'_>) -> Option<Dir> {
    if cx.from.is_some() {
        return cx.from;
    }
    let (s, r) = (cx.sender.port(), cx.receiver.port());
    if s >= 32768 && r < 10000 {
        Some(Dir::Client)
    } else if r >= 32768 && s < 10000 {
        Some(Dir::Server)
    } else {
        None
    }
}

fn h_reset(h: &mut Hunt, offset: u64) {
    h.buf.clear();
    h.pieces.clear();
    h.start = offset;
}

/// `b[..n]`, or all of `b` when it is shorter.
fn head(b: &[u8], n: usize) -> &[u8] {
    b.get(..n).unwrap_or(b)
}

/// `b[n..]`, or nothing when `b` is shorter.
fn tail(b: &[u8], n: usize) -> &[u8] {
    b.get(n..).unwrap_or_default()
}

/// A 64-bit count as a `usize`, at most `max`.
fn at_most(n: u64, max: usize) -> usize {
    usize::try_from(n).map_or(max, |n| n.min(max))
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    use crate::event::Event;
    use std::net::SocketAddr;

    /// A whole frame of a proven stream reads the flags, whether a frame
    /// or message is in progress, and updates the counts: all in the
    /// decoder's first cache line (it is boxed, so it starts on a
    /// 16-byte boundary at least; the line's start is not promised, but
    /// 64 bytes from the start is what fits one when it is).
    #[test]
    fn a_whole_frames_decoder_state_lies_in_the_first_64_bytes() {
        use std::mem::{offset_of, size_of};
        let stats = offset_of!(WsDecoder, stats);
        let counts_end = stats + offset_of!(DirStats, payload_bytes) + size_of::<u64>();
        assert!(counts_end <= 64, "the counts end at byte {counts_end}");
        for (name, at, size) in [
            ("proven", offset_of!(WsDecoder, proven), 1),
            ("hdr_len", offset_of!(WsDecoder, hdr_len), 1),
            (
                "cur",
                offset_of!(WsDecoder, cur),
                size_of::<Option<Box<Cur>>>(),
            ),
            (
                "msg",
                offset_of!(WsDecoder, msg),
                size_of::<Option<Box<Msg>>>(),
            ),
            ("begun", offset_of!(WsDecoder, begun), size_of::<u64>()),
        ] {
            assert!(at + size <= 64, "{name} ends at byte {}", at + size);
        }
        assert!(offset_of!(DirStats, frames) < offset_of!(DirStats, close_reason));
    }

    /// (opcode, fin, payload, close code) of every frame, plus messages and finding codes.
    type Seen = (
        Vec<(u8, bool, Vec<u8>, Option<u16>)>,
        Vec<(u8, Vec<u8>)>,
        Vec<Code>,
    );

    fn feed(pieces: &[&[u8]], from: Dir) -> Seen {
        let cfg = Config::default();
        let mut seen: Seen = Default::default();
        let mut sink = |ev: Event<'_>| match ev {
            Event::Frame(f) => seen.0.push((
                f.header.opcode.as_u8(),
                f.header.fin,
                f.payload.to_vec(),
                f.close_code,
            )),
            Event::Message(m) => seen.1.push((m.opcode.as_u8(), m.data.to_vec())),
            Event::Finding(f) => seen.2.push(f.code),
            _ => {}
        };
        let a: SocketAddr = "10.0.0.1:1000".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let mut d = WsDecoder::new(false, false);
        let mut offset = 0;
        for (i, p) in pieces.iter().enumerate() {
            let mut cx = Ctx {
                session: crate::session::SessionRef::conn(0, a, b),
                from: Some(from),
                sender: a,
                receiver: b,
                packet: i as u64 + 1,
                ts: 0.0,
                cfg: &cfg,
                out: &mut crate::event::ToSink(&mut sink),
            };
            d.data(offset, p, &mut cx);
            offset += p.len() as u64;
        }
        seen
    }

    /// A piece of a server's stream: bytes, or a gap of an HTTP/2
    /// connection (lost bytes that may or may not be this stream's).
    enum Piece<'a> {
        Bytes(&'a [u8]),
        Uncertain(u64),
    }

    /// Frames (opcode, fin, payload length), messages (opcode, data,
    /// decodable) and finding codes of a server's stream.
    #[allow(clippy::type_complexity)]
    fn feed_uncertain(
        pieces: &[Piece<'_>],
    ) -> (Vec<(u8, bool, u64)>, Vec<(u8, Vec<u8>, bool)>, Vec<Code>) {
        let cfg = Config::default();
        let (mut frames, mut messages, mut findings) = (Vec::new(), Vec::new(), Vec::new());
        let mut sink = |ev: Event<'_>| match ev {
            Event::Frame(f) => {
                frames.push((f.header.opcode.as_u8(), f.header.fin, f.header.payload_len))
            }
            Event::Message(m) => messages.push((m.opcode.as_u8(), m.data.to_vec(), m.decodable)),
            Event::Finding(f) => findings.push(f.code),
            _ => {}
        };
        let a: SocketAddr = "10.0.0.1:1000".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let mut d = WsDecoder::new(false, false);
        let mut offset = 0;
        for (i, p) in pieces.iter().enumerate() {
            let mut cx = Ctx {
                session: crate::session::SessionRef::conn(0, a, b),
                from: Some(Dir::Server),
                sender: b,
                receiver: a,
                packet: i as u64 + 1,
                ts: 0.0,
                cfg: &cfg,
                out: &mut crate::event::ToSink(&mut sink),
            };
            match p {
                Piece::Bytes(x) => {
                    d.data(offset, x, &mut cx);
                    offset += x.len() as u64;
                }
                Piece::Uncertain(n) => {
                    d.gap_uncertain(*n, &mut cx);
                    offset += n;
                }
            }
        }
        (frames, messages, findings)
    }

    /// An HTTP/2 connection's gap between two fragments of a message (whole
    /// DATA frames lost, so the next one starts at a frame boundary): the
    /// open message cannot be judged, and nothing false is said of it.
    #[test]
    fn a_doubtful_gap_between_fragments_judges_nothing_it_cannot_see() {
        use Piece::*;
        // The final fragment lost, then a new message: not interleaving.
        let (frames, _, findings) = feed_uncertain(&[
            Bytes(&[0x01, 2, b'a', b'b']),
            Uncertain(3),
            Bytes(&[0x81, 2, b'd', b'e']),
        ]);
        assert_eq!(frames.len(), 2);
        assert!(findings.is_empty(), "{findings:?}");
        // A middle fragment lost (it held the end of a character): the
        // message is not decodable, and not called invalid UTF-8.
        let (frames, messages, findings) = feed_uncertain(&[
            Bytes(&[0x01, 2, 0xe2, 0x82]),
            Uncertain(3),
            Bytes(&[0x80, 1, b'x']),
        ]);
        assert_eq!(frames.len(), 2);
        assert!(findings.is_empty(), "{findings:?}");
        assert!(messages.iter().all(|m| !m.2), "{messages:?}");
        // The first fragment lost: its continuation is still a frame, and
        // not a stray one.
        let (frames, _, findings) = feed_uncertain(&[
            Bytes(&[0x81, 1, b'a']),
            Uncertain(4),
            Bytes(&[0x80, 2, b'c', b'd', 0x81, 1, b'z']),
        ]);
        assert_eq!(frames, vec![(1, true, 1), (0, true, 2), (1, true, 1)]);
        assert!(findings.is_empty(), "{findings:?}");
    }

    /// After a gap that was not this stream's, a frame header cut over two
    /// DATA frames is held and judged whole, not skipped.
    #[test]
    fn a_header_cut_after_a_doubtful_gap_is_held_and_judged_whole() {
        use Piece::*;
        for pieces in [
            // Inside a frame when the gap came.
            vec![
                Bytes(&[0x82, 10, 0, 1, 2, 3][..]),
                Uncertain(100),
                Bytes(&[4, 5, 6, 7, 8, 9, 0x81]),
                Bytes(&[3, b'a', b'b', b'c']),
                Bytes(&[0x81, 1, b'z']),
            ],
            // Between frames.
            vec![
                Bytes(&[0x81, 1, b'a'][..]),
                Uncertain(100),
                Bytes(&[0x81]),
                Bytes(&[3, b'a', b'b', b'c']),
                Bytes(&[0x81, 1, b'z']),
            ],
        ] {
            let (frames, messages, findings) = feed_uncertain(&pieces);
            assert_eq!(frames.len(), 3, "{frames:?}");
            assert!(messages.iter().any(|m| m.1 == b"abc"), "{messages:?}");
            assert!(findings.iter().all(|c| *c == Code::TcpGap), "{findings:?}");
        }
        // The stream did lose bytes: the frame it was in takes some of what
        // follows, the rest is no header and is skipped, and the next frame
        // is found; nothing is called a violation.
        let (frames, _, findings) = feed_uncertain(&[
            Bytes(&[0x82, 10, 0, 1, 2, 3]),
            Uncertain(3),
            Bytes(&[7, 8, 9, 0x81]),
            Bytes(&[3, b'a', b'b', b'c']),
            Bytes(&[0x81, 1, b'z']),
        ]);
        assert_eq!(frames.last(), Some(&(1, true, 1)), "{frames:?}");
        assert!(findings.iter().all(|c| *c == Code::TcpGap), "{findings:?}");
    }

    /// A frame whose header came in `cut` pieces, each its own packet, then
    /// the payload in one more: its first packet and segment count, as
    /// tshark counts them ("N Reassembled TCP Segments").
    #[test]
    fn a_header_cut_over_several_segments_counts_each_of_them() {
        let cfg = Config::default();
        let a: SocketAddr = "10.0.0.1:1000".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:80".parse().unwrap();
        // A masked 300-byte binary frame: 2 + 2 + 4 header bytes.
        let mut frame = vec![0x82, 0xfe, 0x01, 0x2c, 1, 2, 3, 4];
        frame.extend_from_slice(&[0u8; 300]);
        for cut in [
            vec![1, 1],
            vec![2, 1, 1, 1],
            vec![1, 1, 1, 1, 1, 1, 1],
            vec![3, 2],
        ] {
            let mut seen = Vec::new();
            let mut sink = |ev: Event<'_>| {
                if let Event::Frame(f) = ev {
                    seen.push((f.first_packet, f.packet, f.segments));
                }
            };
            let mut d = WsDecoder::new(false, false);
            let mut pieces: Vec<&[u8]> = Vec::new();
            let mut at = 0;
            for n in &cut {
                pieces.push(&frame[at..at + n]);
                at += n;
            }
            pieces.push(&frame[at..]);
            let mut offset = 0;
            for (i, p) in pieces.iter().enumerate() {
                let mut cx = Ctx {
                    session: crate::session::SessionRef::conn(0, a, b),
                    from: Some(Dir::Client),
                    sender: a,
                    receiver: b,
                    packet: 10 + i as u64,
                    ts: 0.0,
                    cfg: &cfg,
                    out: &mut crate::event::ToSink(&mut sink),
                };
                d.data(offset, p, &mut cx);
                offset += p.len() as u64;
            }
            let segments = pieces.len() as u32;
            assert_eq!(
                seen,
                vec![(10, 10 + u64::from(segments) - 1, segments)],
                "{cut:?}"
            );
        }
    }

    /// RFC 6455 section 5.7 examples, as a client would send them (masked),
    /// plus a 256-byte and a 64 KiB binary frame and a close with a reason.
    fn stream() -> Vec<u8> {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let mut v = Vec::new();
        let mut frame = |b0: u8, payload: &[u8]| {
            let h = crate::ws::frame::FrameHeader {
                fin: b0 & 0x80 != 0,
                rsv1: false,
                rsv2: false,
                rsv3: false,
                opcode: OpCode::from_u8(b0 & 0x0f),
                mask_key: Some(key),
                payload_len: payload.len() as u64,
                length_form: crate::ws::frame::minimal_form(payload.len() as u64),
                header_len: 0,
            };
            crate::ws::frame::encode_header(&h, &mut v);
            let start = v.len();
            v.extend_from_slice(payload);
            crate::ws::mask::unmask_in_place(&mut v[start..], key, 0);
        };
        frame(0x81, b"Hello");
        frame(0x01, b"Hel");
        frame(0x89, b"ping!");
        frame(0x80, b"lo");
        frame(0x82, &[7u8; 256]);
        frame(0x82, &[9u8; 65536]);
        frame(0x81, "é".as_bytes());
        frame(0x88, b"\x03\xe8bye");
        v
    }

    #[test]
    fn rfc_examples_decode_into_frames_and_messages() {
        let (frames, messages, findings) = feed(&[&stream()], Dir::Client);
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(frames.len(), 8);
        assert_eq!(frames[0].2, b"Hello");
        assert_eq!(frames[7].3, Some(1000));
        let texts: Vec<&[u8]> = messages.iter().map(|m| m.1.as_slice()).collect();
        assert_eq!(texts[0], b"Hello");
        assert_eq!(texts[1], b"Hello"); // fragmented around a ping
        assert_eq!(messages[2].1.len(), 256);
        assert_eq!(messages[3].1.len(), 65536);
        assert_eq!(texts[4], "é".as_bytes());
    }

    #[test]
    fn every_split_point_gives_the_same_result() {
        let s = stream();
        let whole = feed(&[&s], Dir::Client);
        // Every split point in the small frames, and a sample of them in the big ones.
        let points: Vec<usize> = (0..400)
            .chain((400..s.len()).step_by(997))
            .chain(s.len() - 40..s.len())
            .collect();
        for cut in points {
            assert_eq!(
                feed(&[&s[..cut], &s[cut..]], Dir::Client),
                whole,
                "cut at {cut}"
            );
        }
        // And one byte at a time.
        let small = &s[..60];
        let pieces: Vec<&[u8]> = small.chunks(1).collect();
        assert_eq!(feed(&pieces, Dir::Client), feed(&[small], Dir::Client));
    }

    #[test]
    fn text_split_mid_character_is_valid_as_a_whole() {
        let mut v = Vec::new();
        v.extend_from_slice(&[0x01, 0x01, 0xc3]); // first byte of "é"
        v.extend_from_slice(&[0x80, 0x01, 0xa9]); // its second byte
        let (_, messages, findings) = feed(&[&v], Dir::Server);
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(messages[0].1, "é".as_bytes());
        let bad = [0x81, 0x02, 0xc3, 0x28];
        let (_, _, findings) = feed(&[&bad], Dir::Server);
        assert_eq!(findings, vec![Code::MessageInvalidUtf8]);
    }

    #[test]
    fn huge_declared_length_allocates_nothing_up_front() {
        // 2^62 bytes declared, 10 delivered: no frame completes, nothing panics.
        let mut v = vec![0x82, 0x7f, 0x40, 0, 0, 0, 0, 0, 0, 0];
        v.extend_from_slice(&[1u8; 10]);
        let (frames, _, findings) = feed(&[&v], Dir::Server);
        assert!(frames.is_empty());
        assert!(findings.is_empty());
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
mod fast_path_tests {
    use super::*;
    use crate::event::{Event, Sink};
    use crate::ws::frame::{FrameHeader, LengthForm, encode_header, minimal_form};
    use proptest::prelude::*;
    use std::net::SocketAddr;
    use std::ops::ControlFlow;

    /// Every event as its full debug text, and whether it wants data frames and messages.
    struct Rec(Vec<String>, u32);

    impl Sink for Rec {
        fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
            self.0.push(format!("{ev:?}"));
            ControlFlow::Continue(())
        }
        fn wants(&self) -> u32 {
            self.1
        }
    }

    /// One frame: opcode, FIN, RSV1, masked, a non-minimal length form,
    /// and its payload.
    type Spec = (u8, bool, bool, bool, bool, Vec<u8>);

    fn encode(specs: &[Spec]) -> Vec<u8> {
        let mut v = Vec::new();
        for (i, (op, fin, rsv1, masked, long, payload)) in specs.iter().enumerate() {
            let len = payload.len() as u64;
            let h = FrameHeader {
                fin: *fin,
                rsv1: *rsv1,
                rsv2: false,
                rsv3: false,
                opcode: OpCode::from_u8(*op),
                mask_key: masked.then_some([i as u8, 0x5a, 0xa5, 0x3c]),
                payload_len: len,
                length_form: if *long && len < 126 {
                    LengthForm::Ext16
                } else {
                    minimal_form(len)
                },
                header_len: 0,
            };
            encode_header(&h, &mut v);
            let at = v.len();
            v.extend_from_slice(payload);
            if let Some(k) = h.mask_key {
                crate::ws::mask::unmask_in_place(&mut v[at..], k, 0);
            }
        }
        v
    }

    fn run(
        bytes: &[u8],
        cuts: &[usize],
        from: Option<Dir>,
        fast: bool,
        wants: u32,
        keep: bool,
    ) -> Vec<String> {
        let cfg = Config {
            keep_frame_payload: keep,
            keep_message_data: keep,
            ..Config::default()
        };
        let mut rec = Rec(Vec::new(), wants);
        let a: SocketAddr = "10.0.0.1:1000".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let mut d = WsDecoder::new(false, false);
        d.fast_path = fast;
        let mut at = 0;
        for (i, &c) in cuts.iter().chain([&bytes.len()]).enumerate() {
            let c = c.clamp(at, bytes.len());
            let mut cx = Ctx {
                session: crate::session::SessionRef::conn(0, a, b),
                from,
                sender: a,
                receiver: b,
                packet: i as u64 + 1,
                ts: i as f64,
                cfg: &cfg,
                out: &mut crate::event::ToSink(&mut rec),
            };
            d.data(at as u64, &bytes[at..c], &mut cx);
            if i == cuts.len() {
                d.finish(&mut cx);
            }
            at = c;
        }
        rec.0.push(format!("{:?} {}", d.stats, d.skipped));
        rec.0
    }

    fn spec() -> impl Strategy<Value = Spec> {
        let payload = prop_oneof![
            3 => "[a-z é✓𝄞]{0,40}".prop_map(String::into_bytes),
            1 => prop::collection::vec(any::<u8>(), 0..300),
        ];
        (
            prop::sample::select(vec![1u8, 1, 2, 2, 0, 8, 9, 10, 3]),
            prop::bool::weighted(0.85),
            prop::bool::weighted(0.05),
            any::<bool>(),
            prop::bool::weighted(0.05),
            payload,
        )
            .prop_map(|(op, fin, rsv1, masked, long, mut payload)| {
                if op >= 8 {
                    payload.truncate(125);
                }
                (op, fin, rsv1, masked, long, payload)
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// Frame streams of every kind (fragments, control frames, rule
        /// breaks, invalid UTF-8, either masking), cut anywhere: the fast
        /// path gives the events the general path gives, byte for byte,
        /// for a consumer wanting everything or findings only, keeping
        /// payloads or not, with the role known or not.
        #[test]
        fn the_fast_path_gives_the_general_paths_events(
            specs in prop::collection::vec(spec(), 1..12),
            cuts in prop::collection::vec(0usize..4000, 0..6),
            role in prop::sample::select(vec![Some(Dir::Client), Some(Dir::Server), None]),
            few in any::<bool>(),
            keep in any::<bool>(),
        ) {
            let bytes = encode(&specs);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            use crate::stage::kinds::{CONN_END, FINDING, HANDSHAKE};
            let wants = if few { FINDING | HANDSHAKE | CONN_END } else { u32::MAX };
            let slow = run(&bytes, &cuts, role, false, wants, keep);
            let fast = run(&bytes, &cuts, role, true, wants, keep);
            prop_assert_eq!(fast, slow);
        }
    }

    /// The fast path is taken (the test above compares something): the
    /// general path's `start_frame` clears `msg_buf`, the fast path does
    /// not touch it.
    #[test]
    fn clean_single_frames_take_the_fast_path() {
        let bytes = encode(&[
            (1, true, false, true, false, "héllo".into()),
            (2, true, false, true, false, vec![1, 2, 3]),
        ]);
        let a: SocketAddr = "10.0.0.1:1000".parse().unwrap();
        let cfg = Config {
            keep_frame_payload: false,
            keep_message_data: false,
            ..Config::default()
        };
        let mut rec = Rec(Vec::new(), u32::MAX);
        let mut cx = Ctx {
            session: crate::session::SessionRef::conn(0, a, a),
            from: Some(Dir::Client),
            sender: a,
            receiver: a,
            packet: 1,
            ts: 0.0,
            cfg: &cfg,
            out: &mut crate::event::ToSink(&mut rec),
        };
        for fast in [true, false] {
            let mut d = WsDecoder::new(false, false);
            d.fast_path = fast;
            d.msg_buf.extend_from_slice(b"primed");
            d.data(0, &bytes, &mut cx);
            assert_eq!((d.stats.frames, d.stats.messages), (2, 2));
            assert_eq!(d.msg_buf.is_empty(), !fast, "fast path {fast}");
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
mod cut_compressed_tests {
    use super::*;
    use crate::event::Event;
    use flate2::{Compress, Compression, FlushCompress};
    use std::net::SocketAddr;

    fn deflate_sync(c: &mut Compress, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 64);
        c.compress_vec(data, &mut out, FlushCompress::Sync).unwrap();
        out.truncate(out.len() - 4);
        out
    }

    fn server_frame(opcode: u8, rsv1: bool, payload: &[u8]) -> Vec<u8> {
        let h = crate::ws::frame::FrameHeader {
            fin: true,
            rsv1,
            rsv2: false,
            rsv3: false,
            opcode: OpCode::from_u8(opcode),
            mask_key: None,
            payload_len: payload.len() as u64,
            length_form: crate::ws::frame::minimal_form(payload.len() as u64),
            header_len: 0,
        };
        let mut v = Vec::new();
        crate::ws::frame::encode_header(&h, &mut v);
        v.extend_from_slice(payload);
        v
    }

    /// A compressed message cut by the snapshot length leaves the inflater
    /// inside its (stored) block; the next message must not be read as the
    /// rest of that block (its deflate bytes plus `00 00 ff ff` as text).
    #[test]
    fn message_after_a_cut_compressed_one_is_not_read_as_its_middle() {
        let mut c = Compress::new(Compression::default(), false);
        // Incompressible bytes (xorshift): deflate stores them as they are.
        let mut x = 0x2545_f491_u32;
        let noise: Vec<u8> = (0..3000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x >> 24) as u8
            })
            .collect();
        let first = server_frame(2, true, &deflate_sync(&mut c, &noise));
        let second = server_frame(1, true, &deflate_sync(&mut c, b"hello text"));
        let cfg = Config::default();
        let mut messages = Vec::new();
        let mut codes = Vec::new();
        let mut sink = |ev: Event<'_>| match ev {
            Event::Message(m) => messages.push((m.decodable, m.data.to_vec())),
            Event::Finding(f) => codes.push(f.code),
            _ => {}
        };
        let a: SocketAddr = "10.0.0.1:1000".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let mut cx = Ctx {
            session: crate::session::SessionRef::conn(0, a, b),
            from: Some(Dir::Server),
            sender: b,
            receiver: a,
            packet: 1,
            ts: 0.0,
            cfg: &cfg,
            out: &mut crate::event::ToSink(&mut sink),
        };
        // Negotiation not seen (cut); the stream starts at a frame boundary.
        let mut d = WsDecoder::after_cut_handshake();
        let kept = 60;
        d.data(0, &first[..kept], &mut cx);
        d.gap((first.len() - kept) as u64, &mut cx);
        d.data(first.len() as u64, &second, &mut cx);
        assert!(!codes.contains(&Code::MessageInvalidUtf8), "{codes:?}");
        assert_eq!(messages.len(), 2);
        assert!(!messages[0].0, "the cut message is undecodable");
        if messages[1].0 {
            assert_eq!(messages[1].1, b"hello text");
        }
    }
}
