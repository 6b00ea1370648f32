//! The HTTP/2 carrier: one TCP connection decoded by [`crate::h2::Connection`]
//! (frames, HPACK, streams), each stream turned into the events every
//! other consumer already reads.
//!
//! - Every request and response becomes `HttpHead`/`HttpBody`/`HttpEnd`
//!   on the stream's own session ([`SessionRef::on_stream`]), so the SSE
//!   stage and `push` see one HTTP exchange per stream.
//! - An RFC 8441 extended CONNECT with `:protocol: websocket` is a
//!   WebSocket handshake ([`UpgradeKind::ExtendedConnect`]); once answered
//!   with a 2xx the stream's DATA payloads in each direction are the
//!   WebSocket byte stream, decoded by [`WsDecoder`] like over HTTP/1.1.
//! - The HTTP/2 layer's findings (`h2.*`) are reported on the stream.
//!
//! Recognised by the client connection preface, or by a server whose first
//! bytes are a SETTINGS frame on stream 0 (the server may speak first);
//! the HTTP/1.1 carrier hands a connection over after a 101 to `Upgrade: h2c`
//! ([`H2::upgraded`]).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{Carrier, Cx, Link, Probe};
use crate::event::{ConnSummary, DirStats, Event, HttpBodyRecord, HttpEndRecord, HttpHeadRecord};
use crate::findings::{Code, Dir, Finding, Location, Severity};
use crate::h2::hpack::Field;
use crate::h2::{self, ConnLimits, Connection, H2Finding, HeadersKind, Start};
use crate::handshake::{self, Handshake, UpgradeKind};
use crate::http::HttpHead;
use crate::session::SessionRef;
use crate::tcp::GapKind;
use crate::ws::session::Pings;
use crate::ws::stream::{Ctx, WsDecoder};

/// Recognises HTTP/2 from a side's first bytes, captured from the start:
/// the client preface, or a server's SETTINGS frame.
pub const PROBE: Probe = Probe {
    name: "h2",
    probe: |link, side, bytes, from_start, packet| {
        // A preface is the start even when the SYN was not captured.
        if !from_start && !bytes.starts_with(h2::PREFACE) {
            let _ = packet;
            return H2::mid_trial(bytes).map(|h| Box::new(h) as Box<dyn Carrier>);
        }
        // Judged before the carrier is built: most connections are not
        // HTTP/2, and building one costs more than the test.
        let client_unseen =
            if bytes.starts_with(h2::PREFACE) && link.client_side.is_none_or(|c| c == side) {
                link.client_side = Some(side);
                false
            } else if is_server_settings(bytes) && link.client_side.is_none_or(|c| c != side) {
                link.client_side = Some(1 - side);
                true
            } else {
                return None;
            };
        let mut h = H2::new(Start::Preface);
        h.client_unseen = client_unseen;
        Some(Box::new(h) as Box<dyn Carrier>)
    },
};

/// A SETTINGS frame (not an ACK) on stream 0, whole in `bytes`, of a length
/// a server's first SETTINGS has (a few 6-byte settings).
fn is_server_settings(bytes: &[u8]) -> bool {
    let [l0, l1, l2, kind, flags, s0, s1, s2, s3, ..] = *bytes else {
        return false;
    };
    let len = u32::from_be_bytes([0, l0, l1, l2]) as usize;
    kind == h2::frame::kind::SETTINGS
        && flags == 0
        && [s0, s1, s2, s3] == [0; 4]
        && len.is_multiple_of(6)
        && len <= 6 * 16
        && bytes.len() >= h2::frame::HEADER_LEN + len
        && bytes[h2::frame::HEADER_LEN..h2::frame::HEADER_LEN + len]
            .chunks_exact(6)
            // Identifiers 1-6 and 8 are defined; unknown ones are ignored by
            // peers but a server's first frame uses few others.
            .all(|s| u16::from_be_bytes([s[0], s[1]]) <= 0xff)
}

/// Streams followed at once per connection (each WebSocket among them
/// holds two decoders).
const MAX_STREAMS: usize = 1024;

/// A WebSocket carried by one stream (RFC 8441).
struct WsStream {
    /// By [`Dir::index`]: the client's and the server's decoder.
    dec: [Box<WsDecoder>; 2],
    /// Bytes of each direction's WebSocket stream so far (frame offsets).
    offset: [u64; 2],
    /// The direction ended (END_STREAM, RST_STREAM or the capture's end).
    done: [bool; 2],
    /// A stream whose HEADERS the capture lacks (caught mid-connection):
    /// its DATA is hunted for WebSocket frames; whether they were found.
    hunted: Option<bool>,
    /// The session's pings waiting for a pong, to pair them (each stream
    /// is its own session).
    pings: Pings,
}

/// What is followed of one stream.
#[derive(Default)]
struct StreamCx {
    /// An HTTP message is open in that direction (head seen, no end yet).
    open: [bool; 2],
    /// The extended CONNECT's handshake, judged when answered.
    hs: Option<Box<Handshake>>,
    /// The handshake record was sent.
    hs_emitted: bool,
    ws: Option<WsStream>,
}

/// See the module documentation.
pub struct H2 {
    conn: Connection,
    /// Stream offset where HTTP/2 begins on each side (after an h2c upgrade).
    begin: [u64; 2],
    /// The client's bytes after its upgrade request, fed before anything else.
    held_client: Option<(u64, Vec<u8>)>,
    /// Streams with something of ours to follow, by id.
    streams: HashMap<u32, StreamCx>,
    /// Stream 1 of an h2c upgrade: the exchange the HTTP/1.1 request began,
    /// reported on the connection's session so that its answer pairs with it.
    upgrade_stream: bool,
    events: Vec<h2::Event>,
    /// WebSocket counts of ended streams, by direction.
    stats: [DirStats; 2],
    /// The handshake `conns` shows for the connection: the first one that
    /// opened a WebSocket, else the first one; and its stream (0: none),
    /// whose close codes the summary shows when it has them (several
    /// sessions share the connection).
    first_hs: Option<Box<Handshake>>,
    first_hs_stream: u32,
    /// Recognised by the server's SETTINGS: the client's first bytes are
    /// still to come (and may be HTTP/1.1 after all).
    client_unseen: bool,
    /// The `limit.reached` for [`MAX_STREAMS`] was reported.
    capped: bool,
    /// Caught mid-connection: streams whose HEADERS were not seen are
    /// hunted for WebSocket frames.
    mid: bool,
    /// Caught mid-connection and not yet shown to be HTTP/2: the bytes
    /// held while the evidence grows.
    trial: Option<Box<Trial>>,
    /// The evidence never grew strong enough: the HTTP/1.1 carrier (and
    /// its hunt for WebSocket frames) had the bytes at the capture's end.
    fallback: Option<Box<super::http1::Http1>>,
    /// `h2.hpack-no-context` by direction: header blocks, their unknown
    /// and total fields, and where the first was.
    no_context: [NoContext; 2],
}

/// The header blocks of one direction that used header table entries the
/// capture never showed; reported once, at the connection's end.
#[derive(Default)]
struct NoContext {
    blocks: u64,
    unknown_fields: u64,
    fields: u64,
    /// The first such block: its finding's location and stream.
    first: Option<(u64, u64, Option<u32>)>,
    /// The next Headers event belongs to a block that raised the finding.
    counting: bool,
}

/// Bytes held for a connection caught mid-way until its frames chain
/// strongly enough to call it HTTP/2 (or break, and it is handed to the
/// HTTP/1.1 carrier with them).
#[derive(Default)]
struct Trial {
    /// Each piece as it came: side, stream offset, packet, time, bytes
    /// (or, for lost bytes, their count).
    pieces: Vec<(usize, u64, u64, f64, Piece)>,
    held: usize,
    /// Per side: the bytes from the side's first piece on, and the ends
    /// of its pieces; `None` while the side has sent nothing, or when its
    /// first piece did not start at a frame header (it is hunted later).
    sides: [Option<(Vec<u8>, Vec<usize>)>; 2],
    /// A side's first piece did not start with a frame header.
    unaligned: [bool; 2],
    /// The capture-wide budget took the held bytes.
    released: bool,
}

/// What a connection on trial was given.
enum Piece {
    Data(Vec<u8>),
    Gap(u64, GapKind),
}

/// Bytes held per connection on trial.
const TRIAL_MAX_BYTES: usize = 64 << 10;
/// Frames chained exactly (over both sides), and how many of them end
/// where a segment ends, before a connection caught mid-way is HTTP/2.
const TRIAL_MIN_FRAMES: u32 = 4;
const TRIAL_MIN_ALIGNED: u32 = 3;

impl H2 {
    /// A connection decoded from its start.
    pub fn new(start: Start) -> Self {
        H2 {
            conn: Connection::new(start, ConnLimits::default()),
            begin: [0; 2],
            held_client: None,
            streams: HashMap::new(),
            upgrade_stream: false,
            events: Vec::new(),
            stats: Default::default(),
            first_hs: None,
            first_hs_stream: 0,
            client_unseen: false,
            capped: false,
            mid: false,
            trial: None,
            fallback: None,
            no_context: Default::default(),
        }
    }

    /// `h2.hpack-no-context`, once per direction that had it: how many
    /// header blocks and fields the missing history left unknown.
    fn report_no_context(&mut self, cx: &mut Cx<'_>) {
        for dir in [Dir::Client, Dir::Server] {
            let n = &self.no_context[dir.index()];
            let Some((packet, offset, stream)) = n.first else {
                continue;
            };
            let session = match stream {
                Some(s) if s != 0 => self.session(cx.link, s),
                _ => cx.link.session(),
            };
            let at = Location::session(session)
                .from(Some(dir))
                .packet(packet)
                .offset(Some(offset));
            let msg = format!(
                "{} header block{} from the {} referred to header table entries the capture never showed (its start or some bytes are missing): {} of {} fields in them unknown; streams are still followed by id",
                n.blocks,
                if n.blocks == 1 { "" } else { "s" },
                dir.as_str(),
                n.unknown_fields,
                n.fields
            );
            cx.report(Finding::new(Code::H2HpackNoContext, at, msg));
        }
    }

    /// A connection caught mid-way whose `side` begins (as captured) with
    /// `bytes`: on trial when they start a chain of HTTP/2 frames.
    fn mid_trial(bytes: &[u8]) -> Option<Self> {
        let ev = h2::frame::strict_chain(bytes, &[bytes.len()]);
        if ev.broken || ev.frames == 0 && bytes.len() < h2::frame::HEADER_LEN {
            return None;
        }
        let mut h = H2::new(Start::MidConnection);
        h.mid = true;
        h.trial = Some(Box::default());
        Some(h)
    }

    /// On trial: holds `bytes` and weighs the evidence; commits to HTTP/2
    /// (replaying what was held) or hands the connection to HTTP/1.1.
    fn trial_data(&mut self, cx: &mut Cx<'_>, side: usize, offset: u64, bytes: &[u8]) {
        let Some(t) = self.trial.as_mut() else {
            return;
        };
        let held_now = !t.released && t.held + bytes.len() <= TRIAL_MAX_BYTES;
        if held_now {
            let piece = Piece::Data(bytes.to_vec());
            t.pieces.push((side, offset, cx.packet, cx.ts, piece));
            t.held += bytes.len();
        } else {
            t.released = true;
        }
        match t.sides.get_mut(side) {
            Some(Some((buf, ends))) if buf.len() + bytes.len() <= TRIAL_MAX_BYTES => {
                buf.extend_from_slice(bytes);
                ends.push(buf.len());
            }
            Some(slot @ None) if !t.unaligned[side] => {
                let ev = h2::frame::strict_chain(bytes, &[bytes.len()]);
                if ev.broken {
                    t.unaligned[side] = true;
                } else {
                    *slot = Some((bytes.to_vec(), vec![bytes.len()]));
                }
            }
            _ => {}
        }
        let mut total = h2::frame::ChainEvidence::default();
        let mut votes = [0i32; 2];
        for (i, s) in t.sides.iter().enumerate() {
            if let Some((buf, ends)) = s {
                let ev = h2::frame::strict_chain(buf, ends);
                if ev.broken {
                    self.fall_back(cx, held_now);
                    return;
                }
                total.frames += ev.frames;
                total.aligned += ev.aligned;
                votes[i] = ev.client_votes;
            }
        }
        let strong = total.frames >= TRIAL_MIN_FRAMES && total.aligned >= TRIAL_MIN_ALIGNED;
        if strong || t.released {
            if strong {
                self.commit(cx, votes);
            } else {
                self.fall_back(cx, held_now);
            }
        }
    }

    /// The connection is HTTP/2: the roles are settled and what was held
    /// is decoded as it came.
    fn commit(&mut self, cx: &mut Cx<'_>, votes: [i32; 2]) {
        let Some(t) = self.trial.take() else {
            return;
        };
        if cx.link.client_side.is_none() {
            let by_votes = votes[0] - votes[1];
            cx.link.client_side = Some(if by_votes != 0 {
                usize::from(by_votes < 0)
            } else {
                // Nothing in the frames tells: the ephemeral (higher) port is the client's.
                usize::from(cx.link.addr[1].port() > cx.link.addr[0].port())
            });
        }
        let (packet, ts) = (cx.packet, cx.ts);
        for (side, offset, p, when, piece) in &t.pieces {
            cx.packet = *p;
            cx.ts = *when;
            match piece {
                Piece::Data(bytes) => self.data_h2(cx, *side, *offset, bytes),
                Piece::Gap(len, kind) => self.gap_h2(cx, *side, *offset, *len, *kind),
            }
        }
        cx.packet = packet;
        cx.ts = ts;
    }

    /// Not HTTP/2 after all: the HTTP/1.1 carrier gets the held bytes and
    /// the connection (the current call's bytes, when `last_is_current`,
    /// are given again by the hand-over).
    fn fall_back(&mut self, cx: &mut Cx<'_>, last_is_current: bool) {
        let next = self.replay_http1(cx, last_is_current);
        if cx.handover.is_none() {
            cx.hand_over(next);
        }
    }

    /// A fresh HTTP/1.1 carrier given the pieces held on trial.
    fn replay_http1(&mut self, cx: &mut Cx<'_>, skip_last: bool) -> Box<super::http1::Http1> {
        let mut next = Box::new(super::http1::Http1::new());
        let Some(t) = self.trial.take() else {
            return next;
        };
        let (packet, ts) = (cx.packet, cx.ts);
        let n = t.pieces.len().saturating_sub(usize::from(skip_last));
        for (side, offset, p, when, piece) in t.pieces.iter().take(n) {
            cx.packet = *p;
            cx.ts = *when;
            match piece {
                Piece::Data(bytes) => next.data(cx, *side, *offset, bytes),
                Piece::Gap(len, kind) => next.gap(cx, *side, *offset, *len, *kind),
            }
        }
        cx.packet = packet;
        cx.ts = ts;
        next
    }

    /// After an HTTP/1.1 `Upgrade: h2c` answered by 101 (RFC 7540 section
    /// 3.2): HTTP/2 begins at `client_offset` of the client's side and
    /// `server_offset` of the server's; `held` are the client's bytes from
    /// `client_offset` already read; `settings` the request's
    /// `HTTP2-Settings` header. Stream 1 answers the upgraded request.
    pub fn upgraded(
        link: &Link,
        client_offset: u64,
        server_offset: u64,
        held: Vec<u8>,
        settings: Option<&str>,
    ) -> Self {
        let mut h = H2::new(Start::Upgrade {
            client_offset,
            server_offset,
        });
        if let Some(p) =
            settings.and_then(|s| URL_SAFE_NO_PAD.decode(s.trim().trim_end_matches('=')).ok())
        {
            h.conn.upgrade_settings(&p);
        }
        let c = link.client_side.unwrap_or(0);
        h.begin[c] = client_offset;
        h.begin[1 - c] = server_offset;
        h.held_client = Some((client_offset, held));
        h.upgrade_stream = true;
        h.streams.insert(
            1,
            StreamCx {
                open: [false, false],
                ..StreamCx::default()
            },
        );
        h
    }

    /// The session of stream `id`.
    fn session(&self, link: &Link, id: u32) -> SessionRef {
        if self.upgrade_stream && id == 1 {
            link.session()
        } else {
            link.session().on_stream(id)
        }
    }

    fn feed(&mut self, cx: &mut Cx<'_>, dir: Dir, bytes: &[u8]) {
        let mut evs = std::mem::take(&mut self.events);
        if cx.cfg.layers {
            self.conn.teach();
        }
        self.conn.feed(dir, bytes, &mut evs);
        self.handle(cx, &mut evs);
        self.events = evs;
    }

    fn handle(&mut self, cx: &mut Cx<'_>, evs: &mut Vec<h2::Event>) {
        let mut reps = if cx.cfg.layers {
            self.conn.take_representations()
        } else {
            Vec::new()
        };
        for ev in evs.drain(..) {
            if cx.cfg.layers {
                self.layer(cx, &ev, &mut reps);
            }
            match ev {
                h2::Event::Headers {
                    from,
                    stream,
                    kind,
                    fields,
                    end_stream,
                    ..
                } => self.headers(cx, from, stream, kind, &fields, end_stream),
                h2::Event::Data {
                    from,
                    stream,
                    data,
                    end_stream,
                    ..
                } => self.data_frame(cx, from, stream, &data, end_stream),
                h2::Event::RstStream { stream, code, .. } => {
                    self.end_all(cx, stream, Ended::Reset(code))
                }
                h2::Event::Finding(f) => self.finding(cx, f),
                h2::Event::Preface { .. }
                | h2::Event::Frame { .. }
                | h2::Event::Settings { .. }
                | h2::Event::GoAway { .. }
                | h2::Event::ExtendedConnect { .. }
                | h2::Event::ConnectResponse { .. }
                | h2::Event::StreamClosed { .. } => {}
            }
        }
    }

    /// `explain`: the frame as a layer record (before it is acted on, so a
    /// DATA frame's WebSocket offset is where its bytes go).
    fn layer(
        &self,
        cx: &mut Cx<'_>,
        ev: &h2::Event,
        reps: &mut Vec<(Dir, u32, Vec<h2::hpack::Rep>)>,
    ) {
        use crate::layer::{Layer, LayerRecord};
        let text = |b: &Option<Vec<u8>>| {
            b.as_deref()
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        let (stream, layer) = match ev {
            h2::Event::Preface { .. } => (0, Layer::H2Preface),
            h2::Event::Frame {
                from,
                header,
                offset,
            } => (
                header.stream_id,
                Layer::H2Frame {
                    from: *from,
                    kind: header.kind,
                    flags: header.flags,
                    stream: header.stream_id,
                    length: header.length,
                    offset: *offset,
                },
            ),
            h2::Event::Settings {
                from, ack, values, ..
            } => (
                0,
                Layer::H2Settings {
                    from: *from,
                    ack: *ack,
                    values: values.clone(),
                },
            ),
            h2::Event::Headers {
                from,
                stream,
                fields,
                end_stream,
                ..
            } => {
                let r = match reps.iter().position(|r| r.0 == *from && r.1 == *stream) {
                    Some(i) => reps.remove(i).2,
                    None => Vec::new(),
                };
                (
                    *stream,
                    Layer::H2Headers {
                        from: *from,
                        stream: *stream,
                        fields: fields
                            .iter()
                            .map(|f| (text(&f.name), text(&f.value)))
                            .collect(),
                        reps: r,
                        end_stream: *end_stream,
                    },
                )
            }
            h2::Event::Data {
                from,
                stream,
                data,
                end_stream,
                ..
            } => (
                *stream,
                Layer::H2Data {
                    from: *from,
                    stream: *stream,
                    len: data.len(),
                    end_stream: *end_stream,
                    ws_offset: self
                        .streams
                        .get(stream)
                        .and_then(|s| s.ws.as_ref())
                        .map(|ws| ws.offset[from.index()]),
                },
            ),
            _ => return,
        };
        let session = if stream == 0 {
            cx.link.session()
        } else {
            self.session(cx.link, stream)
        };
        let rec = LayerRecord {
            session,
            packet: cx.packet,
            ts: cx.ts,
            layer,
        };
        cx.emit(Event::Layer(&rec));
    }

    fn finding(&mut self, cx: &mut Cx<'_>, f: H2Finding) {
        if f.code == Code::H2HpackNoContext.as_str()
            && let Some(from) = f.from
        {
            // Counted, and reported once per direction at the end.
            let n = &mut self.no_context[from.index()];
            n.blocks += 1;
            n.counting = true;
            if n.first.is_none() {
                n.first = Some((cx.packet, f.offset, f.stream));
            }
            return;
        }
        let code = match (f.code, f.severity) {
            // The capture ends inside a frame: a capture matter, not a broken rule.
            ("h2.malformed-frame", Severity::Warning) => Code::StreamIncompleteFrame,
            (c, _) => match Code::parse(c) {
                Some(c) => c,
                None => Code::H2MalformedFrame,
            },
        };
        let session = match f.stream {
            Some(s) if s != 0 => self.session(cx.link, s),
            _ => cx.link.session(),
        };
        let at = Location::session(session)
            .from(f.from)
            .packet(cx.packet)
            .offset(Some(f.offset));
        cx.report(Finding::new(code, at, f.message));
    }

    fn headers(
        &mut self,
        cx: &mut Cx<'_>,
        from: Dir,
        id: u32,
        kind: HeadersKind,
        fields: &[Field],
        end_stream: bool,
    ) {
        let n = &mut self.no_context[from.index()];
        if std::mem::take(&mut n.counting) {
            n.unknown_fields += fields.iter().filter(|f| !f.is_known()).count() as u64;
            n.fields += fields.len() as u64;
        }
        let session = self.session(cx.link, id);
        let head = head_of(fields);
        let (packet, ts) = (cx.packet, cx.ts);
        let as_from = match kind {
            // A pushed response's request is the one the client would have sent.
            HeadersKind::PushPromise { .. } => Dir::Client,
            _ => from,
        };
        if kind == HeadersKind::Trailers {
            if end_stream {
                self.end(cx, id, from, Ended::EndStream);
            }
            return;
        }
        if !self.streams.contains_key(&id) && self.streams.len() >= MAX_STREAMS {
            if !self.capped {
                self.capped = true;
                cx.finding(
                    Code::LimitReached,
                    Some(from),
                    packet,
                    None,
                    format!(
                        "more than {MAX_STREAMS} HTTP/2 streams open at once: the exchanges of further streams are not followed"
                    ),
                );
            }
            return;
        }
        let st = self.streams.entry(id).or_default();
        // A promised request is never sent: only its response is awaited.
        if matches!(kind, HeadersKind::Request | HeadersKind::Response) {
            st.open[from.index()] = true;
        }
        let websocket = kind == HeadersKind::Request && is_websocket(fields);
        let answer = kind == HeadersKind::Response && st.hs.is_some() && !st.hs_emitted;
        // The upgraded request (stream 1 after h2c) was reported by HTTP/1.1.
        let report = !(self.upgrade_stream && id == 1 && kind == HeadersKind::Request);
        if report {
            cx.emit(Event::HttpHead(&HttpHeadRecord {
                session,
                from: as_from,
                packet,
                ts,
                head: &head,
                rtt: cx.link.rtt(),
            }));
        }
        if websocket {
            cx.link.websocket = true;
            let hs = handshake::from_request(head, UpgradeKind::ExtendedConnect, packet, ts);
            if let Some(st) = self.streams.get_mut(&id) {
                st.hs = Some(Box::new(hs));
            }
        } else if answer {
            self.answer(cx, id, head);
        }
        if end_stream && !matches!(kind, HeadersKind::PushPromise { .. }) {
            self.end(cx, id, from, Ended::EndStream);
        }
    }

    /// The answer to an extended CONNECT: the handshake is judged and sent;
    /// a 2xx opens the WebSocket.
    fn answer(&mut self, cx: &mut Cx<'_>, id: u32, head: HttpHead) {
        let session = self.session(cx.link, id);
        let Some(st) = self.streams.get_mut(&id) else {
            return;
        };
        let Some(mut hs) = st.hs.take() else {
            return;
        };
        handshake::add_response(&mut hs, head, cx.packet);
        if hs.upgraded() {
            let d = hs.deflate.clone();
            let on = d.is_some();
            let d = d.unwrap_or_default();
            // The app stage decodes this session: keep its message bodies.
            let keep = crate::stage::app::protocol_for(cx.cfg, hs.subprotocol.as_deref(), &hs.path)
                .is_some();
            let mut dec = [
                Box::new(WsDecoder::new(on, d.client_no_context_takeover)),
                Box::new(WsDecoder::new(on, d.server_no_context_takeover)),
            ];
            for x in &mut dec {
                x.keep_data = keep;
            }
            st.ws = Some(WsStream {
                dec,
                offset: [0; 2],
                done: [false; 2],
                hunted: None,
                pings: Pings::default(),
            });
            // The stream is the WebSocket's now, not an HTTP message.
            st.open = [false; 2];
        }
        st.hs = Some(hs);
        self.emit_handshake(cx, id, session);
        if self.streams.get(&id).is_some_and(|s| s.ws.is_some()) {
            cx.proven_websocket();
        }
    }

    /// Reports a stream's handshake findings, then the handshake itself.
    fn emit_handshake(&mut self, cx: &mut Cx<'_>, id: u32, session: SessionRef) {
        let Some(st) = self.streams.get_mut(&id) else {
            return;
        };
        if st.hs_emitted {
            return;
        }
        st.hs_emitted = true;
        let Some(hs) = st.hs.as_deref() else {
            return;
        };
        for f in &hs.findings {
            let mut f = f.clone();
            f.at.session = Some(session);
            if f.at.packet.is_none() {
                f.at.packet = Some(cx.packet);
            }
            cx.report(f);
        }
        cx.emit(Event::Handshake(session, hs));
        let shown_refused = self.first_hs.as_deref().is_some_and(|h| !h.upgraded());
        if self.first_hs.is_none() || (shown_refused && hs.upgraded()) {
            self.first_hs = Some(Box::new(hs.clone()));
            self.first_hs_stream = id;
        }
    }

    fn data_frame(&mut self, cx: &mut Cx<'_>, from: Dir, id: u32, data: &[u8], end: bool) {
        let session = self.session(cx.link, id);
        if self.mid && !self.streams.contains_key(&id) && self.streams.len() < MAX_STREAMS {
            // Opened before the capture began: if its DATA chains as
            // WebSocket frames as strictly as a TCP stream caught mid-way
            // must, it is a WebSocket session (the CONNECT was not seen).
            self.streams.insert(
                id,
                StreamCx {
                    ws: Some(WsStream {
                        dec: [
                            Box::new(WsDecoder::without_handshake_relaxed(cx.link.websocket)),
                            Box::new(WsDecoder::without_handshake_relaxed(cx.link.websocket)),
                        ],
                        offset: [0; 2],
                        done: [false; 2],
                        hunted: Some(false),
                        pings: Pings::default(),
                    }),
                    ..StreamCx::default()
                },
            );
        }
        if let Some(ws) = self.streams.get_mut(&id).and_then(|s| s.ws.as_mut()) {
            let i = from.index();
            if !ws.done[i] {
                let at = ws.offset[i];
                ws.offset[i] += data.len() as u64;
                let d = &mut ws.dec[i];
                ws_call(cx, &mut ws.pings, session, from, |w| d.data(at, data, w));
                if ws.hunted == Some(false) && d.saw_frames() {
                    ws.hunted = Some(true);
                    let locked_at = d.locked_at.unwrap_or(cx.packet);
                    cx.link.websocket = true;
                    cx.proven_websocket();
                    let at = Location::session(session)
                        .from(Some(from))
                        .packet(locked_at);
                    cx.report(Finding::new(
                        Code::StreamNoHandshake,
                        at,
                        format!("WebSocket frames were found in the DATA of HTTP/2 stream {id}, whose extended CONNECT was not captured; extensions are inferred"),
                    ));
                    self.relax_hunts(cx);
                }
            }
            if end {
                self.end(cx, id, from, Ended::EndStream);
            }
            return;
        }
        if !data.is_empty() {
            cx.emit(Event::HttpBody(&HttpBodyRecord {
                session,
                from,
                packet: cx.packet,
                ts: cx.ts,
                bytes: data,
            }));
        }
        if end {
            self.end(cx, id, from, Ended::EndStream);
        }
    }

    /// The connection carries WebSocket: every stream still hunted (the
    /// other direction of the one that locked on, streams opened before the
    /// capture) may lock on a shorter chain now.
    fn relax_hunts(&mut self, cx: &mut Cx<'_>) {
        let mut ids: Vec<u32> = self
            .streams
            .iter()
            .filter(|(_, s)| s.ws.as_ref().is_some_and(|w| w.hunted.is_some()))
            .map(|(&id, _)| id)
            .collect();
        ids.sort_unstable();
        for id in ids {
            let session = self.session(cx.link, id);
            let Some(ws) = self.streams.get_mut(&id).and_then(|s| s.ws.as_mut()) else {
                continue;
            };
            for (i, dir) in [Dir::Client, Dir::Server].into_iter().enumerate() {
                let d = &mut ws.dec[i];
                if !ws.done[i] && d.is_hunting() && !d.is_relaxed() {
                    ws_call(cx, &mut ws.pings, session, dir, |w| d.relax(w));
                }
            }
            if ws.hunted == Some(false) && ws.dec.iter().any(|d| d.saw_frames()) {
                ws.hunted = Some(true);
            }
        }
    }

    /// One direction of a stream ended (END_STREAM) or was cut (`how`).
    fn end(&mut self, cx: &mut Cx<'_>, id: u32, from: Dir, how: Ended) {
        let complete = matches!(how, Ended::EndStream);
        let session = self.session(cx.link, id);
        let i = from.index();
        let Some(st) = self.streams.get_mut(&id) else {
            return;
        };
        if let Some(ws) = st.ws.as_mut() {
            if !ws.done[i] {
                ws.done[i] = true;
                let d = &mut ws.dec[i];
                let ended = how.phrase();
                ws_call(cx, &mut ws.pings, session, from, |w| d.finish_as(w, &ended));
                add_stats(&mut self.stats[i], &d.stats, id == self.first_hs_stream);
            }
        } else if st.open[i] {
            st.open[i] = false;
            cx.emit(Event::HttpEnd(&HttpEndRecord {
                session,
                from,
                packet: cx.packet,
                ts: cx.ts,
                complete,
            }));
        }
        self.forget(id);
    }

    /// Both directions of a stream end (RST_STREAM, or the capture's end).
    fn end_all(&mut self, cx: &mut Cx<'_>, id: u32, how: Ended) {
        // An unanswered extended CONNECT is still reported.
        if self.streams.get(&id).is_some_and(|s| s.hs.is_some()) {
            let session = self.session(cx.link, id);
            self.emit_handshake(cx, id, session);
        }
        let open = self.streams.get(&id).map(|s| {
            let ws = s.ws.as_ref().map(|w| w.done);
            [0, 1].map(|i| match ws {
                Some(done) => !done[i],
                None => s.open[i],
            })
        });
        for (i, dir) in [Dir::Client, Dir::Server].into_iter().enumerate() {
            if open.is_some_and(|o| o[i]) {
                self.end(cx, id, dir, how);
            }
        }
        self.streams.remove(&id);
    }

    /// Lets go of a stream with nothing left to follow.
    fn forget(&mut self, id: u32) {
        let done = self.streams.get(&id).is_some_and(|s| match &s.ws {
            Some(ws) => ws.done == [true; 2],
            None => s.open == [false; 2] && (s.hs.is_none() || s.hs_emitted),
        });
        if done {
            self.streams.remove(&id);
        }
    }
}

/// How one direction of a stream came to its end.
#[derive(Debug, Clone, Copy)]
enum Ended {
    /// END_STREAM: the peer finished it.
    EndStream,
    /// RST_STREAM with this error code (either peer).
    Reset(u32),
    /// The capture (or the connection in it) ended first.
    Capture,
}

impl Ended {
    /// How a finding about a frame left unfinished says it ended.
    fn phrase(self) -> String {
        match self {
            Ended::EndStream => "the stream ends (END_STREAM)".to_string(),
            Ended::Reset(code) => match crate::h2::frame::error_code_name(code) {
                Some(name) => format!("the stream is reset (RST_STREAM {name})"),
                None => format!("the stream is reset (RST_STREAM, error code {code:#x})"),
            },
            Ended::Capture => "the capture ends".to_string(),
        }
    }
}

/// Runs `f` with a WebSocket decoder context for direction `from` of a
/// stream, pairing pongs with the stream's pings.
fn ws_call<T>(
    cx: &mut Cx<'_>,
    pings: &mut Pings,
    session: SessionRef,
    from: Dir,
    f: impl FnOnce(&mut Ctx<'_>) -> T,
) -> T {
    let ends = match from {
        Dir::Client => (session.client, session.server),
        Dir::Server => (session.server, session.client),
    };
    super::ws_call(cx, Some(pings), session, Some(from), ends, f)
}

/// Adds a stream's counts to the connection's. The close code and reason
/// are the first stream's to have one, or those of the session `conns`
/// shows (`shown`), over any other's on the same connection.
fn add_stats(to: &mut DirStats, s: &DirStats, shown: bool) {
    to.frames += s.frames;
    to.messages += s.messages;
    to.payload_bytes += s.payload_bytes;
    if to.close_code.is_none() || (shown && s.close_code.is_some()) {
        to.close_code = s.close_code;
        to.close_reason.clone_from(&s.close_reason);
    }
}

/// RFC 8441: `:method CONNECT` with `:protocol websocket`.
fn is_websocket(fields: &[Field]) -> bool {
    let has = |n: &str, v: &str| {
        fields.iter().any(|f| {
            f.name.as_deref() == Some(n.as_bytes())
                && f.value_str().is_some_and(|x| x.eq_ignore_ascii_case(v))
        })
    };
    has(":method", "CONNECT") && has(":protocol", "websocket")
}

/// An HTTP head from a decoded header block: method, path and status from
/// the pseudo-headers, `:authority` as `host`; fields whose name or value
/// the capture never showed are left out.
fn head_of(fields: &[Field]) -> HttpHead {
    let mut h = HttpHead {
        version: 1,
        ..HttpHead::default()
    };
    let mut authority = None;
    for f in fields {
        let (Some(n), Some(v)) = (f.name.as_deref(), f.value.as_deref()) else {
            continue;
        };
        let n = String::from_utf8_lossy(n);
        let v = String::from_utf8_lossy(v).into_owned();
        h.len += n.len() + v.len() + 32;
        match &*n {
            ":method" => h.method = Some(v),
            ":path" => h.path = Some(v),
            ":status" => h.status = v.parse().ok(),
            ":authority" => authority = Some(v),
            _ if n.starts_with(':') => {}
            _ => h.headers.push(&n, &v),
        }
    }
    if let Some(a) = authority
        && h.header("host").is_none()
    {
        h.headers.push("host", &a);
    }
    h
}

impl H2 {
    fn data_h2(&mut self, cx: &mut Cx<'_>, side: usize, offset: u64, bytes: &[u8]) {
        let Some(dir) = cx.link.dir_of(side) else {
            return;
        };
        if dir == Dir::Client && std::mem::take(&mut self.client_unseen) && offset == 0 {
            let n = bytes.len().min(h2::PREFACE.len());
            if bytes.get(..n) != h2::PREFACE.get(..n) {
                // A server that speaks HTTP/2 at once to an HTTP/1.1 client
                // (an `Upgrade: h2c` it answers without a 101): the client's
                // side is HTTP/1.1.
                cx.hand_over(Box::new(super::http1::Http1::new()));
                return;
            }
        }
        if let Some((_, held)) = self.held_client.take()
            && !held.is_empty()
        {
            self.feed(cx, Dir::Client, &held);
        }
        let begin = self.begin[side];
        let end = offset.saturating_add(bytes.len() as u64);
        if end <= begin {
            return;
        }
        let skip = usize::try_from(begin.saturating_sub(offset)).unwrap_or(usize::MAX);
        let rest = bytes.get(skip..).unwrap_or_default();
        self.feed(cx, dir, rest);
    }
}

impl Carrier for H2 {
    fn data(&mut self, cx: &mut Cx<'_>, side: usize, offset: u64, bytes: &[u8]) {
        if self.trial.is_some() {
            self.trial_data(cx, side, offset, bytes);
            return;
        }
        self.data_h2(cx, side, offset, bytes);
    }

    fn gap(&mut self, cx: &mut Cx<'_>, side: usize, offset: u64, len: u64, kind: GapKind) {
        if let Some(f) = self.fallback.as_mut() {
            f.gap(cx, side, offset, len, kind);
            return;
        }
        if let Some(t) = self.trial.as_mut() {
            // The side's chain cannot go on over lost bytes: it no longer
            // adds evidence, and the gap is replayed with the rest.
            if let Some(slot) = t.sides.get_mut(side)
                && slot.is_some()
            {
                t.unaligned[side] = true;
                *slot = None;
            }
            t.pieces
                .push((side, offset, cx.packet, cx.ts, Piece::Gap(len, kind)));
            return;
        }
        self.gap_h2(cx, side, offset, len, kind);
    }

    fn finish(&mut self, cx: &mut Cx<'_>) {
        if self.trial.is_some() {
            // The evidence never grew strong enough.
            let mut f = self.replay_http1(cx, false);
            f.finish(cx);
            self.fallback = Some(f);
            return;
        }
        self.finish_h2(cx);
        self.report_no_context(cx);
    }

    fn decodes(&self, side: usize) -> bool {
        self.fallback.as_ref().is_some_and(|f| f.decodes(side))
    }

    fn summarize(&self, link: &Link, s: &mut ConnSummary) -> bool {
        match self.fallback.as_deref() {
            Some(f) => f.summarize(link, s),
            None => self.summarize_h2(link, s),
        }
    }

    fn held(&self) -> usize {
        self.conn.buffered() + self.trial.as_ref().map_or(0, |t| t.held)
    }

    fn release_held(&mut self) {
        if let Some(t) = self.trial.as_mut() {
            // The held bytes go; the next bytes decide with what is left.
            t.released = true;
            t.pieces.clear();
            t.sides = Default::default();
            t.held = 0;
        }
    }
}

impl H2 {
    fn gap_h2(&mut self, cx: &mut Cx<'_>, side: usize, _offset: u64, len: u64, _kind: GapKind) {
        let Some(dir) = cx.link.dir_of(side) else {
            return;
        };
        self.conn.gap(dir, len);
        // Which streams' DATA the lost bytes carried is unknown: each
        // WebSocket of that direction may have lost up to all of them, and
        // looks for its next frame.
        let mut ids: Vec<u32> = self
            .streams
            .iter()
            .filter(|(_, s)| s.ws.as_ref().is_some_and(|w| !w.done[dir.index()]))
            .map(|(&id, _)| id)
            .collect();
        ids.sort_unstable();
        for id in ids {
            let session = self.session(cx.link, id);
            if let Some(ws) = self.streams.get_mut(&id).and_then(|s| s.ws.as_mut()) {
                let d = &mut ws.dec[dir.index()];
                ws_call(cx, &mut ws.pings, session, dir, |w| d.gap_uncertain(len, w));
            }
        }
    }

    fn finish_h2(&mut self, cx: &mut Cx<'_>) {
        let mut evs = std::mem::take(&mut self.events);
        self.conn.finish(&mut evs);
        self.handle(cx, &mut evs);
        let mut ids: Vec<u32> = self.streams.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            self.end_all(cx, id, Ended::Capture);
        }
    }

    fn summarize_h2(&self, link: &Link, s: &mut ConnSummary) -> bool {
        let mut stats = self.stats.clone();
        let mut open: Vec<(&u32, &StreamCx)> = self.streams.iter().collect();
        open.sort_unstable_by_key(|(id, _)| **id);
        for (&id, st) in open {
            if let Some(ws) = &st.ws {
                for ((to, d), done) in stats.iter_mut().zip(&ws.dec).zip(ws.done) {
                    if !done {
                        add_stats(to, &d.stats, id == self.first_hs_stream);
                    }
                }
            }
        }
        s.stats = stats;
        if let Some(h) = self.first_hs.as_deref() {
            s.handshake_seen = true;
            s.status = h.status;
            s.accept_ok = h.accept_ok;
            s.path = Some(h.path.clone());
            s.subprotocol = h.subprotocol.clone();
            s.extensions = h.extensions.clone();
        }
        link.websocket
    }
}
