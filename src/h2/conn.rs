//! One HTTP/2 connection seen from outside: both directions' frame
//! parsers and HPACK decoders, the streams by id, and events out as data.
//!
//! A carrier feeds each direction's reassembled TCP bytes to
//! [`Connection::feed`] in capture order and reads [`Event`]s back. Nothing
//! here prints; findings are [`H2Finding`] values with the stable code
//! strings of DESIGN.md (`h2.hpack-no-context`,
//! `h2.connect-protocol-not-enabled`, `limit.reached`) and a few of our own
//! (`h2.malformed-frame`, `h2.hpack-malformed`, `h2.stream-error`).
//!
//! Memory: the frame parsers hold at most one frame each (bounded by
//! SETTINGS_MAX_FRAME_SIZE) and one header block (bounded); DATA is handed
//! out as it arrives, never accumulated; streams are kept only while open,
//! up to [`ConnLimits::max_streams`] (a closed stream is recognised by its id
//! being below the highest one seen, RFC 9113 section 5.1.1).

use std::collections::HashMap;

use super::frame::{self, FrameHeader, FrameLimits, FrameParser, Item, Payload, Problem, kind};
use super::hpack::{self, Decoder, Field, Signal};
use crate::findings::{Dir, Severity};

/// Caps of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Open streams followed at once.
    pub max_streams: usize,
    pub frame: FrameLimits,
    pub hpack: hpack::Limits,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            max_streams: 10_000,
            frame: FrameLimits::default(),
            hpack: hpack::Limits::default(),
        }
    }
}

/// How the capture meets the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// From the client's connection preface (h2c prior knowledge, or TLS
    /// with ALPN h2).
    Preface,
    /// After an HTTP/1.1 `Upgrade: h2c` answered by 101: stream 1 is the
    /// upgraded request (half-closed by the client); the client still sends
    /// the preface. Offsets are where HTTP/2 begins in each direction.
    Upgrade {
        client_offset: u64,
        server_offset: u64,
    },
    /// In the middle: no preface, HPACK history unknown.
    MidConnection,
}

/// Stream state as an observer can tell it (RFC 9113 section 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamState {
    Open,
    /// One side sent END_STREAM; `Dir` is the side that finished.
    HalfClosed(Dir),
    Closed,
}

/// What we know of one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    pub id: u32,
    pub state: StreamState,
    pub method: Option<String>,
    pub path: Option<String>,
    pub authority: Option<String>,
    pub scheme: Option<String>,
    /// RFC 8441 `:protocol` (e.g. `websocket`).
    pub protocol: Option<String>,
    /// The final `:status`.
    pub status: Option<u16>,
    /// Promised by the server with PUSH_PROMISE.
    pub pushed: bool,
}

impl StreamInfo {
    fn new(id: u32) -> Self {
        StreamInfo {
            id,
            state: StreamState::Open,
            method: None,
            path: None,
            authority: None,
            scheme: None,
            protocol: None,
            status: None,
            pushed: false,
        }
    }
    /// RFC 8441 extended CONNECT for a WebSocket.
    pub fn is_websocket(&self) -> bool {
        self.method.as_deref() == Some("CONNECT")
            && self
                .protocol
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case("websocket"))
    }
}

/// Which header block this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadersKind {
    Request,
    /// A 1xx answer.
    Informational,
    Response,
    Trailers,
    /// The request of a PUSH_PROMISE (on the promised stream).
    PushPromise {
        parent: u32,
    },
}

/// A finding of the HTTP/2 layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H2Finding {
    /// Stable code string (DESIGN.md), e.g. `h2.hpack-no-context`.
    pub code: &'static str,
    pub severity: Severity,
    pub from: Option<Dir>,
    pub stream: Option<u32>,
    /// Offset in `from`'s byte stream.
    pub offset: u64,
    pub message: String,
}

/// What the connection reports, in the order it happened per direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The client connection preface.
    Preface {
        offset: u64,
    },
    /// Every frame's header, for listings and `explain`.
    Frame {
        from: Dir,
        header: FrameHeader,
        offset: u64,
    },
    Settings {
        from: Dir,
        ack: bool,
        values: Vec<(u16, u32)>,
        offset: u64,
    },
    /// A decoded header block.
    Headers {
        from: Dir,
        stream: u32,
        kind: HeadersKind,
        fields: Vec<Field>,
        end_stream: bool,
        offset: u64,
    },
    /// A DATA payload (padding removed). `data_offset` is where the bytes
    /// lie in `from`'s stream, for mapping back to packets.
    Data {
        from: Dir,
        stream: u32,
        data: Vec<u8>,
        data_offset: u64,
        end_stream: bool,
    },
    RstStream {
        from: Dir,
        stream: u32,
        code: u32,
        offset: u64,
    },
    GoAway {
        from: Dir,
        last_stream: u32,
        code: u32,
        debug: Vec<u8>,
        offset: u64,
    },
    /// RFC 8441: a WebSocket requested on `stream`. `enabled`: whether the
    /// server's SETTINGS_ENABLE_CONNECT_PROTOCOL=1 was seen (None when the
    /// capture never showed the server's first SETTINGS).
    ExtendedConnect {
        stream: u32,
        protocol: String,
        enabled: Option<bool>,
        offset: u64,
    },
    /// The answer to an extended CONNECT (200 accepts).
    ConnectResponse {
        stream: u32,
        status: u16,
        offset: u64,
    },
    /// The stream is closed (both END_STREAMs, or RST_STREAM).
    StreamClosed {
        stream: u32,
    },
    Finding(H2Finding),
}

/// One HTTP/2 connection.
#[derive(Debug)]
pub struct Connection {
    limits: ConnLimits,
    parsers: [FrameParser; 2],
    hpack: [Decoder; 2],
    streams: HashMap<u32, StreamInfo>,
    /// Highest stream id opened by each side's numbering (odd: client,
    /// even: server pushes).
    highest: [u32; 2],
    /// The server's first SETTINGS seen, and ENABLE_CONNECT_PROTOCOL in it.
    server_settings_seen: bool,
    connect_protocol: bool,
    from_start: bool,
    streams_capped: bool,
    items: Vec<Item>,
    /// Teaching (`explain`): each header block's representations, kept
    /// until [`Connection::take_representations`].
    teach: bool,
    taught: Vec<(Dir, u32, Vec<hpack::Rep>)>,
}

/// Header blocks' representations held for teaching between two takes.
const MAX_TAUGHT: usize = 256;

impl Connection {
    pub fn new(start: Start, limits: ConnLimits) -> Self {
        let (preface, offs, from_start) = match start {
            Start::Preface => (true, [0, 0], true),
            Start::Upgrade {
                client_offset,
                server_offset,
            } => (true, [client_offset, server_offset], true),
            Start::MidConnection => (false, [0, 0], false),
        };
        let hp = |_| {
            if from_start {
                Decoder::new(limits.hpack)
            } else {
                Decoder::mid_connection(limits.hpack)
            }
        };
        let mut c = Connection {
            limits,
            parsers: if from_start {
                [
                    FrameParser::new(preface, limits.frame).with_offset(offs[0]),
                    FrameParser::new(false, limits.frame).with_offset(offs[1]),
                ]
            } else {
                [
                    FrameParser::mid_stream(limits.frame),
                    FrameParser::mid_stream(limits.frame),
                ]
            },
            hpack: [hp(0), hp(1)],
            streams: HashMap::new(),
            highest: [0, 0],
            server_settings_seen: false,
            connect_protocol: false,
            from_start,
            streams_capped: false,
            items: Vec::new(),
            teach: false,
            taught: Vec::new(),
        };
        if let Start::Upgrade { .. } = start {
            let mut s = StreamInfo::new(1);
            s.state = StreamState::HalfClosed(Dir::Client);
            c.streams.insert(1, s);
            c.highest[0] = 1;
        }
        c
    }

    /// Keep each header block's representations (RFC 7541 section 6) for
    /// [`Connection::take_representations`] (`explain`).
    pub fn teach(&mut self) {
        self.teach = true;
    }

    /// The representations of the header blocks decoded since the last
    /// call: (direction, stream, representations), in order.
    pub fn take_representations(&mut self) -> Vec<(Dir, u32, Vec<hpack::Rep>)> {
        std::mem::take(&mut self.taught)
    }

    /// A stream still open (or half-closed).
    pub fn stream(&self, id: u32) -> Option<&StreamInfo> {
        self.streams.get(&id)
    }

    /// Streams followed right now.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// Whether the server allowed extended CONNECT (RFC 8441 section 3).
    pub fn connect_protocol_enabled(&self) -> Option<bool> {
        (self.server_settings_seen || self.connect_protocol).then_some(self.connect_protocol)
    }

    /// Bytes held by the parsers (bounded).
    pub fn buffered(&self) -> usize {
        self.parsers.iter().map(FrameParser::buffered).sum()
    }

    /// Feed the next bytes `from` one side.
    pub fn feed(&mut self, from: Dir, bytes: &[u8], out: &mut Vec<Event>) {
        let mut items = std::mem::take(&mut self.items);
        self.parsers[from.index()].push(bytes, &mut items);
        for item in items.drain(..) {
            self.item(from, item, out);
        }
        self.items = items;
    }

    /// `len` bytes of `from`'s TCP stream are missing (the carrier reports
    /// the gap itself, e.g. as `tcp.gap`): the frame in progress is dropped,
    /// the HPACK table of that direction becomes unknown, and frames are
    /// followed again from the next plausible frame header.
    pub fn gap(&mut self, from: Dir, len: u64) {
        self.parsers[from.index()].gap(len);
        self.hpack[from.index()].lose_context();
    }

    /// The client's settings carried by an `Upgrade: h2c` request's
    /// `HTTP2-Settings` header (the base64url-decoded SETTINGS payload,
    /// RFC 7540 section 3.2.1): they bound what the server sends.
    pub fn upgrade_settings(&mut self, payload: &[u8]) {
        let values: Vec<(u16, u32)> = payload
            .chunks_exact(6)
            .map(|c| {
                (
                    u16::from_be_bytes([c[0], c[1]]),
                    u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
                )
            })
            .collect();
        self.apply_settings(Dir::Client, &values);
    }

    /// Offset of the next byte expected from `from`.
    pub fn offset(&self, from: Dir) -> u64 {
        self.parsers[from.index()].offset()
    }

    /// The capture ended.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        for d in [Dir::Client, Dir::Server] {
            let mut items = Vec::new();
            self.parsers[d.index()].finish(&mut items);
            for item in items {
                self.item(d, item, out);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        out: &mut Vec<Event>,
        code: &'static str,
        severity: Severity,
        from: Option<Dir>,
        stream: Option<u32>,
        offset: u64,
        message: String,
    ) {
        out.push(Event::Finding(H2Finding {
            code,
            severity,
            from,
            stream,
            offset,
            message,
        }));
    }

    fn item(&mut self, from: Dir, item: Item, out: &mut Vec<Event>) {
        match item {
            Item::Preface { offset } => out.push(Event::Preface { offset }),
            Item::Problem(p) => self.problem(from, p, out),
            Item::HeaderBlock(b) => self.header_block(from, b, out),
            Item::Frame(f) => {
                out.push(Event::Frame {
                    from,
                    header: f.header,
                    offset: f.offset,
                });
                self.frame(from, f, out);
            }
        }
    }

    fn problem(&mut self, from: Dir, p: Problem, out: &mut Vec<Event>) {
        let (code, sev, stream, offset, msg) = match p {
            Problem::BadPreface { offset } => (
                "h2.malformed-frame",
                Severity::Error,
                None,
                offset,
                "the client's first bytes are not the HTTP/2 connection preface".to_string(),
            ),
            Problem::FrameTooLarge {
                offset,
                length,
                max,
            } => (
                "h2.malformed-frame",
                Severity::Error,
                None,
                offset,
                format!("frame of {length} bytes over SETTINGS_MAX_FRAME_SIZE {max}: skipped"),
            ),
            Problem::HeaderBlockTooLarge { offset, stream_id } => {
                // Its insertions are lost to the HPACK table.
                self.hpack[from.index()].lose_context();
                (
                    "limit.reached",
                    Severity::Warning,
                    Some(stream_id),
                    offset,
                    format!(
                        "header block over {} bytes: dropped, header table context lost",
                        self.limits.frame.max_header_block
                    ),
                )
            }
            Problem::BadContinuation { offset, stream_id } => {
                self.hpack[from.index()].lose_context();
                (
                    "h2.malformed-frame",
                    Severity::Error,
                    Some(stream_id),
                    offset,
                    "CONTINUATION out of place (RFC 9113 section 6.10)".to_string(),
                )
            }
            // Expected after a gap or a mid-connection start; nothing to
            // report beyond the gap itself.
            Problem::Resynced { .. } => return,
            Problem::Truncated { offset } => (
                "h2.malformed-frame",
                Severity::Warning,
                None,
                offset,
                "the capture ends inside a frame".to_string(),
            ),
        };
        self.finding(out, code, sev, Some(from), stream, offset, msg);
    }

    fn frame(&mut self, from: Dir, f: frame::Frame, out: &mut Vec<Event>) {
        let h = f.header;
        let sid = h.stream_id;
        match f.payload {
            Payload::Data {
                data, data_offset, ..
            } => {
                let end = h.has(frame::flag::END_STREAM);
                if !self.stream_usable(from, sid, f.offset, "DATA", out) {
                    return;
                }
                out.push(Event::Data {
                    from,
                    stream: sid,
                    data,
                    data_offset,
                    end_stream: end,
                });
                if end {
                    self.end_stream(from, sid, out);
                }
            }
            Payload::Settings { ack, values } => {
                if !ack {
                    self.apply_settings(from, &values);
                }
                out.push(Event::Settings {
                    from,
                    ack,
                    values,
                    offset: f.offset,
                });
            }
            Payload::RstStream { code } => {
                // RFC 9113 section 6.4: never on stream 0.
                if sid == 0 {
                    self.stream_usable(from, sid, f.offset, "RST_STREAM", out);
                    return;
                }
                out.push(Event::RstStream {
                    from,
                    stream: sid,
                    code,
                    offset: f.offset,
                });
                if self.streams.remove(&sid).is_some() {
                    out.push(Event::StreamClosed { stream: sid });
                }
            }
            Payload::GoAway {
                last_stream,
                code,
                debug,
            } => out.push(Event::GoAway {
                from,
                last_stream,
                code,
                debug,
                offset: f.offset,
            }),
            Payload::Oversized => {
                if matches!(
                    h.kind,
                    kind::HEADERS | kind::CONTINUATION | kind::PUSH_PROMISE
                ) {
                    self.hpack[from.index()].lose_context();
                }
            }
            Payload::Malformed(what) => {
                if matches!(h.kind, kind::HEADERS | kind::PUSH_PROMISE) {
                    self.hpack[from.index()].lose_context();
                }
                self.finding(
                    out,
                    "h2.malformed-frame",
                    Severity::Error,
                    Some(from),
                    Some(sid),
                    f.offset,
                    what.to_string(),
                );
            }
            Payload::Headers { .. }
            | Payload::PushPromise { .. }
            | Payload::Continuation { .. }
            | Payload::Priority(_)
            | Payload::Ping { .. }
            | Payload::WindowUpdate { .. }
            | Payload::Unknown => {}
        }
    }

    fn apply_settings(&mut self, from: Dir, values: &[(u16, u32)]) {
        // Settings constrain what the *other* side sends.
        let peer = from.other().index();
        for &(id, v) in values {
            match id {
                frame::setting::HEADER_TABLE_SIZE => self.hpack[peer].set_settings_limit(v),
                frame::setting::MAX_FRAME_SIZE => self.parsers[peer].set_max_frame_size(v),
                frame::setting::ENABLE_CONNECT_PROTOCOL if from == Dir::Server => {
                    self.connect_protocol = v == 1;
                }
                _ => {}
            }
        }
        if from == Dir::Server {
            self.server_settings_seen = true;
        }
    }

    /// Whether a frame on `sid` belongs to a stream we follow; flags DATA
    /// on streams that are closed or were never opened.
    fn stream_usable(
        &mut self,
        from: Dir,
        sid: u32,
        offset: u64,
        what: &str,
        out: &mut Vec<Event>,
    ) -> bool {
        if sid == 0 {
            self.finding(
                out,
                "h2.malformed-frame",
                Severity::Error,
                Some(from),
                Some(0),
                offset,
                format!("{what} on stream 0"),
            );
            return false;
        }
        if let Some(s) = self.streams.get(&sid) {
            if s.state == StreamState::HalfClosed(from) {
                self.finding(
                    out,
                    "h2.stream-error",
                    Severity::Error,
                    Some(from),
                    Some(sid),
                    offset,
                    format!("{what} after END_STREAM from the same side (RFC 9113 section 5.1)"),
                );
                return false;
            }
            return true;
        }
        let parity = usize::from(sid.is_multiple_of(2));
        if !self.from_start || self.streams_capped {
            // Mid-connection or over the cap: follow it by id.
            self.open(sid, out, offset);
            return true;
        }
        let closed = sid <= self.highest[parity];
        self.finding(
            out,
            "h2.stream-error",
            Severity::Error,
            Some(from),
            Some(sid),
            offset,
            if closed {
                format!("{what} on closed stream {sid} (RFC 9113 section 5.1)")
            } else {
                format!("{what} on idle stream {sid} (RFC 9113 section 5.1)")
            },
        );
        false
    }

    /// Start following `sid`, within the cap.
    fn open(&mut self, sid: u32, out: &mut Vec<Event>, offset: u64) -> bool {
        let parity = usize::from(sid.is_multiple_of(2));
        self.highest[parity] = self.highest[parity].max(sid);
        if self.streams.contains_key(&sid) {
            return true;
        }
        if self.streams.len() >= self.limits.max_streams {
            if !self.streams_capped {
                self.streams_capped = true;
                self.finding(
                    out,
                    "limit.reached",
                    Severity::Warning,
                    None,
                    Some(sid),
                    offset,
                    format!(
                        "more than {} streams open at once: further streams are decoded but not followed",
                        self.limits.max_streams
                    ),
                );
            }
            return false;
        }
        self.streams.insert(sid, StreamInfo::new(sid));
        true
    }

    fn end_stream(&mut self, from: Dir, sid: u32, out: &mut Vec<Event>) {
        let Some(s) = self.streams.get_mut(&sid) else {
            return;
        };
        s.state = match s.state {
            StreamState::Open => StreamState::HalfClosed(from),
            StreamState::HalfClosed(d) if d != from => StreamState::Closed,
            other => other,
        };
        if s.state == StreamState::Closed {
            self.streams.remove(&sid);
            out.push(Event::StreamClosed { stream: sid });
        }
    }

    fn header_block(&mut self, from: Dir, b: frame::HeaderBlock, out: &mut Vec<Event>) {
        let decoded = self.hpack[from.index()].decode(&b.block);
        let target = b.promised.unwrap_or(b.stream_id);
        if self.teach && self.taught.len() < MAX_TAUGHT {
            self.taught
                .push((from, target, hpack::representations(&b.block)));
        }
        // One no-context finding per block, however many references.
        let unknown: Vec<String> = decoded
            .signals
            .iter()
            .filter_map(|s| match s {
                Signal::NoContext { index } => Some(index.to_string()),
                _ => None,
            })
            .collect();
        if !unknown.is_empty() {
            self.finding(
                out,
                "h2.hpack-no-context",
                Severity::Warning,
                Some(from),
                Some(target),
                b.offset,
                format!(
                    "header table index {} refers to entries the capture never showed: {} of {} fields unknown",
                    unknown.join(", "),
                    decoded.fields.iter().filter(|f| !f.is_known()).count(),
                    decoded.fields.len()
                ),
            );
        }
        for sig in &decoded.signals {
            let (sev, msg) = match sig {
                Signal::NoContext { .. } => continue,
                Signal::BadIndex { index } => (
                    Severity::Error,
                    format!("header table index {index} beyond the table (RFC 7541 section 2.3.3)"),
                ),
                Signal::SizeUpdateOverLimit { requested, limit } => (
                    Severity::Error,
                    format!(
                        "table size update to {requested} above SETTINGS_HEADER_TABLE_SIZE {limit} (RFC 7541 section 6.3)"
                    ),
                ),
                Signal::SizeUpdateNotAtStart => (
                    Severity::Error,
                    "table size update after a header field (RFC 7541 section 4.2)".to_string(),
                ),
                Signal::TableCapped { requested, cap } => (
                    Severity::Warning,
                    format!("header table of {requested} bytes: only {cap} bytes followed"),
                ),
                Signal::StringTooLong { len } => (
                    Severity::Warning,
                    format!("header string of {len} bytes not kept"),
                ),
                Signal::HeaderListTooLarge { size } => (
                    Severity::Warning,
                    format!("header list over {size} bytes: the rest not kept"),
                ),
                Signal::Malformed { what, at } => (
                    Severity::Error,
                    format!("{what} at byte {at} of the header block"),
                ),
            };
            self.finding(
                out,
                sig.code(),
                sev,
                Some(from),
                Some(target),
                b.offset,
                msg,
            );
        }
        if b.stream_id == 0 || b.promised == Some(0) {
            let what = if b.stream_id == 0 {
                "header block on stream 0"
            } else {
                // RFC 9113 section 6.6: it must name a new stream.
                "PUSH_PROMISE promising stream 0"
            };
            self.finding(
                out,
                "h2.malformed-frame",
                Severity::Error,
                Some(from),
                Some(0),
                b.offset,
                what.to_string(),
            );
            return;
        }
        let field = |n: &str| {
            decoded
                .fields
                .iter()
                .find(|f| f.name.as_deref() == Some(n.as_bytes()))
                .and_then(|f| f.value_str())
                .map(str::to_string)
        };
        let kind = if let Some(_p) = b.promised {
            HeadersKind::PushPromise {
                parent: b.stream_id,
            }
        } else if from == Dir::Client {
            if self.streams.contains_key(&target) || target <= self.highest[0] && self.from_start {
                HeadersKind::Trailers
            } else {
                HeadersKind::Request
            }
        } else {
            match field(":status").and_then(|s| s.parse::<u16>().ok()) {
                Some(s) if (100..200).contains(&s) => HeadersKind::Informational,
                Some(_) => HeadersKind::Response,
                None if self
                    .streams
                    .get(&target)
                    .is_some_and(|s| s.status.is_some()) =>
                {
                    HeadersKind::Trailers
                }
                // Mid-connection: status may be in an unknown field.
                None => HeadersKind::Response,
            }
        };
        // A request on a stream with a lower id than seen is on a closed
        // stream; a request mid-connection is just followed.
        if kind == HeadersKind::Request {
            // Over the cap the stream is not followed; its headers are
            // still reported below.
            self.open(target, out, b.offset);
        }
        if let HeadersKind::PushPromise { .. } = kind
            && self.open(target, out, b.offset)
            && let Some(s) = self.streams.get_mut(&target)
        {
            s.pushed = true;
            // Reserved (remote): only the server sends on it (RFC 9113
            // section 5.1), so the client's side counts as finished.
            s.state = StreamState::HalfClosed(Dir::Client);
        }
        if matches!(kind, HeadersKind::Response | HeadersKind::Informational)
            && !self.streams.contains_key(&target)
            && !self.from_start
        {
            self.open(target, out, b.offset);
        }
        if let Some(s) = self.streams.get_mut(&target) {
            match kind {
                HeadersKind::Request | HeadersKind::PushPromise { .. } => {
                    s.method = field(":method");
                    s.path = field(":path");
                    s.authority = field(":authority");
                    s.scheme = field(":scheme");
                    s.protocol = field(":protocol");
                }
                HeadersKind::Response => {
                    s.status = field(":status").and_then(|v| v.parse().ok());
                }
                _ => {}
            }
        }
        let info = self.streams.get(&target).cloned();
        out.push(Event::Headers {
            from,
            stream: target,
            kind,
            fields: decoded.fields,
            end_stream: b.end_stream,
            offset: b.offset,
        });
        if let Some(s) = info {
            if kind == HeadersKind::Request
                && let Some(p) = s.protocol.clone()
                && s.method.as_deref() == Some("CONNECT")
            {
                let enabled = if self.from_start || self.server_settings_seen {
                    Some(self.connect_protocol)
                } else {
                    None
                };
                if enabled == Some(false) {
                    self.finding(
                        out,
                        "h2.connect-protocol-not-enabled",
                        Severity::Error,
                        Some(from),
                        Some(target),
                        b.offset,
                        format!(
                            "extended CONNECT (:protocol {p}) without the server's SETTINGS_ENABLE_CONNECT_PROTOCOL=1 (RFC 8441 section 3)"
                        ),
                    );
                }
                out.push(Event::ExtendedConnect {
                    stream: target,
                    protocol: p,
                    enabled,
                    offset: b.offset,
                });
            }
            if kind == HeadersKind::Response
                && s.protocol.is_some()
                && s.method.as_deref() == Some("CONNECT")
                && let Some(status) = s.status
            {
                out.push(Event::ConnectResponse {
                    stream: target,
                    status,
                    offset: b.offset,
                });
            }
        }
        if b.end_stream && !matches!(kind, HeadersKind::PushPromise { .. }) {
            self.end_stream(from, target, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
        f.extend([kind, flags]);
        f.extend(stream.to_be_bytes());
        f.extend(payload);
        f
    }

    #[test]
    fn push_promise_of_stream_0_opens_no_stream_0() {
        // Found by fuzz/fuzz_targets/h2_frames.rs: a PUSH_PROMISE whose
        // promised stream id is 0 gave a request on stream 0.
        let mut c = Connection::new(Start::Preface, ConnLimits::default());
        let mut out = Vec::new();
        let mut client = frame::PREFACE.to_vec();
        client.extend(frame(frame::kind::HEADERS, 0x5, 1, &[0x82, 0x84, 0x86]));
        c.feed(Dir::Client, &client, &mut out);
        // Promised stream 0, header block ":method GET".
        let server = frame(frame::kind::PUSH_PROMISE, 0x4, 1, &[0, 0, 0, 0, 0x82]);
        c.feed(Dir::Server, &server, &mut out);
        c.finish(&mut out);
        for ev in &out {
            match ev {
                Event::Headers { stream, .. } | Event::StreamClosed { stream } => {
                    assert_ne!(*stream, 0, "{ev:?}")
                }
                _ => {}
            }
        }
        assert!(c.stream(0).is_none());
        assert!(out.iter().any(|e| matches!(e,
            Event::Finding(f) if f.code == "h2.malformed-frame" && f.stream == Some(0))));
    }

    #[test]
    fn rst_stream_on_stream_0_is_a_malformed_frame() {
        // Found by fuzz/fuzz_targets/h2_frames.rs: RST_STREAM on stream 0
        // (RFC 9113 section 6.4: a connection error) came out as a reset
        // of stream 0.
        let mut c = Connection::new(Start::Preface, ConnLimits::default());
        let mut out = Vec::new();
        let mut client = frame::PREFACE.to_vec();
        client.extend(frame(frame::kind::RST_STREAM, 0, 0, &[0, 0, 0, 8]));
        c.feed(Dir::Client, &client, &mut out);
        assert!(
            !out.iter().any(|e| matches!(e, Event::RstStream { .. })),
            "{out:?}"
        );
        assert!(out.iter().any(|e| matches!(e,
            Event::Finding(f) if f.code == "h2.malformed-frame" && f.stream == Some(0))));
    }
}
