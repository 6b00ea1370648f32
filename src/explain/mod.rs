//! `explain`: a walkthrough of one WebSocket connection for teaching.
//!
//! [`ExplainSink`] picks a connection from the event stream and builds a
//! [`Walkthrough`]: plain data, with every number computed from the bytes
//! (the accept key's SHA-1 and base64, each header bit, the length form, the
//! unmasking XOR). The text, HTML and JSON renderers only lay it out.

pub mod app;
pub mod deflate;
pub mod h2;
pub mod html;
pub mod tcp;
pub mod text;
pub mod tls;

use std::collections::{HashMap, VecDeque};

use base64::Engine;
use serde::Serialize;

use crate::event::{
    ConnSummary, Event, FrameRecord, MessageRecord, SegmentRecord, SessionRef, Sink, TcpRecord,
};
use crate::findings::{Dir, Finding};
use crate::handshake::{self, Handshake};
use crate::http::HttpHead;
use crate::ws::close;
use crate::ws::frame::{LengthForm, OpCode};

/// The GUID of RFC 6455 section 1.3, appended to the key.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// Payload bytes kept per frame for display.
pub const KEEP_PAYLOAD: usize = 4096;
/// Bytes of a binary payload shown as a hex dump, per frame and per message.
const FRAME_HEX: usize = 64;
const MESSAGE_HEX: usize = 32;
/// Bytes of a message's text kept for the list of messages.
const MESSAGE_TEXT: usize = 2048;
/// Rows of the unmasking table.
pub const UNMASK_ROWS: usize = 8;
/// Messages, pings and findings listed at most (the counts go on).
const MAX_LIST: usize = 1000;
/// Handshakes of not-yet-chosen connections remembered (for `--packet`).
const MAX_PENDING_HANDSHAKES: usize = 4096;
/// TCP control segments (SYN, FIN, RST, retransmissions too) kept for the
/// chosen connection, and for each not-yet-chosen one.
const MAX_TCP_MARKS: usize = 24;
const MAX_PENDING_TCP_MARKS: usize = 8;

/// Which part of the capture to walk through.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// A connection id; else the first WebSocket connection.
    pub conn: Option<u64>,
    /// Only this frame of the connection (1-based, as numbered in the walkthrough).
    pub frame: Option<usize>,
    /// Only the frames this packet carried (and their connection).
    pub packet: Option<u64>,
    /// At most this many frames in detail.
    pub max_frames: Option<usize>,
    /// The HTTP/2 stream of the WebSocket session (several may share a
    /// connection); else the connection's first.
    pub stream: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConnInfo {
    pub id: u64,
    pub client: String,
    pub server: String,
    pub first_packet: Option<u64>,
    pub last_packet: Option<u64>,
    pub first_ts: Option<f64>,
    pub last_ts: Option<f64>,
    /// How the client was told apart from the server.
    pub client_by: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct HeaderEx {
    pub name: String,
    pub value: String,
    pub meaning: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AcceptEx {
    pub key: String,
    /// How many bytes the key decodes to (16 for a valid key).
    pub key_bytes: Option<usize>,
    pub guid: &'static str,
    pub concatenated: String,
    pub sha1_hex: String,
    pub base64: String,
    /// What the server sent.
    pub sent: Option<String>,
    pub ok: Option<bool>,
    pub verdict: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HandshakeEx {
    pub request_packet: u64,
    pub response_packet: Option<u64>,
    pub request_line: String,
    pub request_headers: Vec<HeaderEx>,
    pub response_line: Option<String>,
    pub response_headers: Vec<HeaderEx>,
    pub status: Option<u16>,
    pub accept: Option<AcceptEx>,
    pub extensions: Option<String>,
    pub subprotocol: Option<String>,
    /// Sentences on what was negotiated.
    pub negotiated: Vec<String>,
    /// When the request and the 101 arrived (seconds since the capture's
    /// first packet), for the sequence diagram.
    #[serde(skip)]
    pub request_ts: Option<f64>,
    #[serde(skip)]
    pub response_ts: Option<f64>,
}

/// A TCP control segment of the connection, for the sequence diagram.
#[derive(Debug, Clone, Serialize)]
pub struct TcpMarkEx {
    /// `SYN`, `SYN/ACK`, `ACK` (the handshake's third segment), `FIN`, `RST`.
    pub kind: &'static str,
    pub from: Option<Dir>,
    pub packet: u64,
    /// Seconds since the capture's first packet.
    pub ts: f64,
}

/// One field of the frame header, as in the RFC 6455 section 5.2 diagram.
#[derive(Debug, Clone, Serialize)]
pub struct BitField {
    pub name: &'static str,
    /// The field's bits as on the wire ("1", "0001", ...).
    pub bits: String,
    pub value: String,
    pub meaning: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnmaskRow {
    pub i: usize,
    pub masked: u8,
    pub key: u8,
    pub clear: u8,
    /// The clear byte as a character, when printable ASCII.
    pub ch: Option<char>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FrameEx {
    pub index: usize,
    pub from: Dir,
    pub packet: u64,
    pub first_packet: u64,
    pub segments: u32,
    pub ts: f64,
    pub offset: u64,
    pub header_hex: String,
    pub fields: Vec<BitField>,
    pub fin: bool,
    pub rsv1: bool,
    pub rsv2: bool,
    pub rsv3: bool,
    pub opcode: u8,
    pub opcode_name: &'static str,
    pub masked: bool,
    pub mask_key: Option<String>,
    pub payload_len: u64,
    pub length_form: &'static str,
    pub unmask: Vec<UnmaskRow>,
    /// How the payload is shown: text, json, hex, compressed or empty.
    pub payload_kind: &'static str,
    pub payload_shown: String,
    /// How many of the payload's `payload_len` bytes `payload_shown` shows.
    pub payload_shown_bytes: u64,
    /// Whether the whole payload was kept (`payload_shown_bytes` says how
    /// much of it `payload_shown` shows).
    pub payload_complete: bool,
    pub close_code: Option<u16>,
    pub close_meaning: Option<&'static str>,
    pub close_reason: Option<String>,
    /// The message this frame belongs to (1-based), for data frames.
    pub message: Option<usize>,
    /// Over HTTP/2: the stream and the DATA frames that carried it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub h2: Option<h2::CarryEx>,
    pub findings: Vec<&'static str>,
    /// The TCP segments that carried it and the ACK of its last byte (when
    /// the capture's segments were read and its bytes are the TCP stream's).
    pub tcp: Option<tcp::FrameTcp>,
    /// Ready to be written (a data frame waits for its message to complete).
    #[serde(skip)]
    pub settled: bool,
    /// Waiting for the acknowledgment of its last byte.
    #[serde(skip)]
    pub ack_pending: bool,
    /// The header as on the wire, and the first payload bytes as on the
    /// wire (masked when masked), for the 32-bit diagram.
    #[serde(skip)]
    pub header_bytes: Vec<u8>,
    #[serde(skip)]
    pub wire_prefix: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageEx {
    pub index: usize,
    pub from: Dir,
    pub opcode_name: &'static str,
    pub frames: Vec<usize>,
    /// Control frames that arrived between its fragments.
    pub interleaved: Vec<usize>,
    pub compressed: bool,
    pub wire_len: u64,
    pub len: u64,
    pub kind: &'static str,
    pub shown: String,
    /// How many of the message's `len` bytes `shown` shows.
    pub shown_bytes: u64,
    pub findings: Vec<&'static str>,
    /// The subprotocol units this message completed (the app stage's
    /// records, see [`app`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub app: Vec<app::AppEx>,
    /// Units past [`app::MAX_UNITS`], counted.
    #[serde(skip_serializing_if = "is_zero")]
    pub app_more: u64,
    /// Longer than explain keeps (64 KiB): not given to the subprotocol
    /// decoder here (`wsdissect app` decodes it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub app_cut: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Serialize)]
pub struct PingEx {
    pub ping_frame: usize,
    pub from: Dir,
    pub pong_frame: Option<usize>,
    pub rtt_ms: Option<f64>,
    pub payload: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PacketEx {
    pub packet: u64,
    pub frames: Vec<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingEx {
    /// Its place among all the findings of the run (to merge lists in order).
    #[serde(skip)]
    pub seq: u64,
    pub code: &'static str,
    pub severity: &'static str,
    pub from: Option<Dir>,
    pub packet: Option<u64>,
    pub frame: Option<usize>,
    pub message: String,
}

impl FindingEx {
    /// Where it was seen: `packet #N`, `, frame I` when tied to a frame.
    pub fn at(&self) -> String {
        let p = self
            .packet
            .map_or_else(|| "the capture".to_string(), |p| format!("packet #{p}"));
        match self.frame {
            Some(i) => format!("{p}, frame {i}"),
            None => p,
        }
    }
}

/// What the renderers show: everything before the frames (when the output
/// starts) or after them (when the capture has been read).
#[derive(Debug, Clone, Serialize)]
pub struct Walkthrough {
    pub capture: String,
    pub conn: Option<ConnInfo>,
    pub handshake: Option<HandshakeEx>,
    /// At the start: the first frames (the HTML diagram draws them); at the
    /// end: empty (every frame was written as it came).
    pub frames: Vec<FrameEx>,
    /// At the start: whether more frames follow those in `frames`.
    pub more_frames: bool,
    /// Frames written in detail.
    pub frames_shown: u64,
    /// Frames of the connection left out (by --max-frames / --frame / --packet).
    pub frames_not_shown: u64,
    pub messages: Vec<MessageEx>,
    /// Messages of the connection not listed (past the list's cap).
    pub messages_not_listed: u64,
    pub pings: Vec<PingEx>,
    /// Packets that carried more than one frame.
    pub shared_packets: Vec<PacketEx>,
    /// Frames split over several TCP segments.
    pub split_frames: Vec<SplitEx>,
    pub findings: Vec<FindingEx>,
    /// Findings of the connection not listed (past the list's cap).
    pub findings_not_listed: u64,
    /// What was asked for but not found (a connection id, a frame, a packet).
    pub not_found: Option<String>,
    /// Every push channel of the capture (filled in by the caller from a
    /// `push::PushSink` run beside this one).
    pub push: Vec<crate::push::PushRecord>,
    /// Push channels left out of `push`.
    pub push_not_shown: usize,
    /// Whether the connection's span (packets, seconds) was known when the
    /// output started (else the end says it).
    pub span_at_start: bool,
    /// The connection's TCP handshake, FINs and RSTs seen so far.
    pub tcp: Vec<TcpMarkEx>,
    /// The capture's first packet (epoch seconds): the base of relative times.
    pub t0: f64,
    /// The subprotocol decoded beside the messages (the app stage's).
    #[serde(skip)]
    pub app_protocol: Option<&'static str>,
    /// At the start: the TLS layer beneath (records decrypted step by step).
    #[serde(skip)]
    pub tls: Option<tls::TlsEx>,
    /// At the start: the HTTP/2 layer beneath (the extended CONNECT).
    #[serde(skip)]
    pub h2: Option<h2::H2Ex>,
    /// At the end: the connection's TCP acknowledgments, keepalives and
    /// heartbeats (when its segments were read).
    pub tcp_story: Option<tcp::TcpStory>,
    /// At the end: permessage-deflate explained (when negotiated).
    pub deflate_story: Option<deflate::DeflateEx>,
}

/// What the carriers beneath showed of one connection (layer records).
#[derive(Debug, Default)]
struct ConnLayers {
    tls: Vec<crate::tlscore::TlsTeach>,
    h2: h2::H2Log,
}

/// Connections whose layers are kept before one is chosen.
const MAX_PENDING_LAYERS: usize = 256;

/// A frame carried by several TCP segments.
#[derive(Debug, Clone, Serialize)]
pub struct SplitEx {
    pub frame: usize,
    pub payload_len: u64,
    pub segments: u32,
    pub first_packet: u64,
    pub packet: u64,
}

/// How the walkthrough is laid out.
#[derive(Debug, Clone, Copy)]
pub enum Format {
    Text(text::Style),
    Html,
    Json,
}

/// Where the walkthrough's bytes go, as they are written.
pub type Emit<'a> = Box<dyn FnMut(&[u8]) + 'a>;

/// Frames held before the output starts: a connection with no more is laid
/// out whole (the HTML diagram draws an arrow for each); past it the rest
/// streams, frame by frame.
pub const HEAD_FRAMES: usize = 1000;
/// Frames held, once the output has started, waiting for their message to
/// complete (to say which message they belong to).
const MAX_QUEUE: usize = 4096;
/// Frames remembered to tie findings to them.
const RECENT_FRAMES: usize = 256;
/// Connections counted while `--packet` has not chosen one yet, and per
/// such connection: frames listed for its open message (per direction) and
/// unanswered pings remembered.
const MAX_CANDIDATES: usize = 4096;
const CANDIDATE_LIST: usize = 64;
const CANDIDATE_PINGS: usize = 16;

/// The data message open in one direction, as the decoder numbers it
/// ([`FrameRecord::message`]): the connection's indices of its frames so
/// far, and of the control frames between them.
#[derive(Debug, Default)]
struct OpenMsg {
    n: u64,
    frames: Vec<usize>,
    interleaved: Vec<usize>,
}

/// What is counted on a connection from its start, whether it is the one
/// walked through or (for `--packet`) may become it: enough to number its
/// frames and messages from the connection's start.
#[derive(Debug, Default)]
struct Tally {
    frames: usize,
    /// Data messages completed.
    messages: usize,
    open: [Option<OpenMsg>; 2],
    first_frame_ts: Option<f64>,
    /// Candidates only: pings seen (the list's cap), the listed ones still
    /// waiting for a pong, with their direction and offset.
    pings: usize,
    waiting: VecDeque<(usize, u64, PingEx)>,
    /// Candidates only: the finding count when it became a candidate, the
    /// findings it had before (kept aside, as for every connection), those
    /// since that a walkthrough would list and not list, and of them those
    /// of the packet asked for.
    since_seq: u64,
    pre: usize,
    listed: usize,
    not_listed: u64,
    findings: Vec<FindingEx>,
}

impl Tally {
    /// Counts a frame: its index on the connection, and whether it belongs
    /// to a data message (it waits for the message to complete). Lists of
    /// the open message's frames keep at most `cap` indices.
    fn frame(&mut self, f: &FrameRecord<'_>, cap: usize) -> (usize, bool) {
        self.frames += 1;
        let index = self.frames;
        self.first_frame_ts.get_or_insert(f.ts);
        let Some(open) = self.open.get_mut(f.from.index()) else {
            return (index, false);
        };
        match f.message {
            Some(n) => {
                let o = match open {
                    Some(o) if o.n == n => o,
                    _ => open.insert(OpenMsg {
                        n,
                        ..OpenMsg::default()
                    }),
                };
                if o.frames.len() < cap {
                    o.frames.push(index);
                }
                (index, true)
            }
            None => {
                if f.header.opcode.is_control()
                    && let Some(o) = open
                    && o.interleaved.len() < cap
                {
                    o.interleaved.push(index);
                }
                (index, false)
            }
        }
    }

    /// A data message completed: its index on the connection, and its
    /// frames and the control frames between them.
    fn message(&mut self, m: &MessageRecord<'_>) -> (usize, OpenMsg) {
        self.messages += 1;
        let open = self
            .open
            .get_mut(m.from.index())
            .and_then(Option::take)
            .unwrap_or_default();
        (self.messages, open)
    }
}

/// The TCP control segments and the 101's (packet, time) of a connection
/// not (yet) chosen.
#[derive(Debug, Default)]
struct PendingTcp {
    marks: Vec<TcpRecord>,
    response: Option<(u64, f64)>,
    /// Its segments (the latest few) and their sequence-space state.
    log: Option<tcp::TcpLog>,
}

/// A frame waiting for the acknowledgment of its last byte.
#[derive(Debug)]
struct AckWait {
    /// Its end in its side's stream.
    end: u64,
    index: usize,
    /// When its last byte came (epoch seconds).
    ts: f64,
}

/// Frames waiting for their ACK, per side.
const MAX_ACK_WAIT: usize = 4096;

/// Walks through one connection: picks it from the event stream and writes
/// its walkthrough as the frames arrive, in memory bounded whatever the
/// number of frames, reading the capture once. For `--packet` the
/// connection is chosen at the first frame or handshake the packet carried;
/// until then each connection that may be it is counted from its start
/// (its frames, messages, the open messages' frames, the pings waiting),
/// so that frames keep the numbers they have from the connection's start.
/// Message membership and ping/pong pairing are read from the records.
pub struct ExplainSink<'a> {
    sel: Selection,
    capture: String,
    format: Format,
    emit: Emit<'a>,
    chosen: Option<SessionRef>,
    /// Handshakes seen before a connection was chosen (for `--packet`).
    pending: HashMap<u64, Handshake>,
    /// Findings on connections not (yet) chosen: a handshake's findings
    /// come before the handshake event that chooses its connection.
    pending_findings: HashMap<u64, Vec<FindingEx>>,
    hs: Option<Handshake>,
    summary: Option<ConnSummary>,
    /// Frames waiting to be written, in order.
    queue: VecDeque<FrameEx>,
    /// Whether the start of the walkthrough has been written.
    started: bool,
    span_at_start: bool,
    /// Text section numbers used so far.
    sections: usize,
    /// Frames written in detail.
    written: u64,
    /// Indices of the frames shown, when focused on a few (--frame, --packet).
    focus_shown: Vec<usize>,
    /// The chosen connection's frames and messages counted, shown or not.
    tally: Tally,
    /// `--packet`: the connections that may be chosen, counted from their
    /// start (their first handshake or frame) until one is.
    cands: HashMap<u64, Tally>,
    messages: Vec<MessageEx>,
    /// Messages counted into the list (the list's cap), and past it.
    messages_listed: usize,
    messages_not_listed: u64,
    findings: Vec<FindingEx>,
    /// Findings counted into the list (the list's cap), and past it.
    findings_listed: usize,
    findings_not_listed: u64,
    /// Findings seen in the run so far.
    finding_seq: u64,
    /// (from, offset) of the latest shown frames, to tie findings to frames.
    recent: VecDeque<((u8, u64), usize)>,
    pings: Vec<PingEx>,
    /// Pings seen (the list's cap).
    pings_count: usize,
    /// The listed pings waiting for a pong: (direction, offset) -> place in `pings`.
    ping_at: HashMap<(usize, u64), usize>,
    /// The packet of the latest whole frame and the frames it carried.
    cur_packet: Option<PacketEx>,
    shared_packets: Vec<PacketEx>,
    split_frames: Vec<SplitEx>,
    /// The capture's first packet: the base of every relative time.
    capture_ts: Option<f64>,
    deflate: bool,
    done: bool,
    /// Frames drawn on the HTML diagram (the first ones).
    drawn: usize,
    /// TCP control segments of the chosen connection (epoch seconds).
    tcp: Vec<TcpRecord>,
    /// The 101's packet and time on the chosen connection.
    response_at: Option<(u64, f64)>,
    /// The same for connections not (yet) chosen, the oldest forgotten first.
    pending_tcp: HashMap<u64, PendingTcp>,
    pending_tcp_order: VecDeque<u64>,
    /// The subprotocol the app stage decoded on the chosen session.
    app_protocol: Option<&'static str>,
    /// Layers (TLS, HTTP/2) of the chosen connection, and of those that
    /// may still be chosen.
    layers: ConnLayers,
    pending_layers: HashMap<u64, ConnLayers>,
    /// The chosen connection's segments (see [`tcp`]).
    seglog: Option<tcp::TcpLog>,
    /// Its frames waiting for their ACK, per side.
    ack_wait: [VecDeque<AckWait>; 2],
    /// permessage-deflate, per direction: the latest inflated bytes (the
    /// window a back-reference may reach; `None` once unknown), and the
    /// compressed bytes of the open message when it is one short frame.
    deflate_window: [Option<Vec<u8>>; 2],
    deflate_open: [Option<Vec<u8>>; 2],
    deflate_walks: Vec<deflate::DeflateMessageEx>,
    deflate_not_walked: u64,
}

/// Compressed messages walked through token by token.
const DEFLATE_WALKS: usize = 6;

impl<'a> ExplainSink<'a> {
    pub fn new(sel: Selection, capture: &str, format: Format, emit: Emit<'a>) -> Self {
        ExplainSink {
            sel,
            capture: capture.to_string(),
            format,
            emit,
            chosen: None,
            pending: HashMap::new(),
            pending_findings: HashMap::new(),
            hs: None,
            summary: None,
            queue: VecDeque::new(),
            started: false,
            span_at_start: false,
            sections: 0,
            written: 0,
            focus_shown: Vec::new(),
            tally: Tally::default(),
            cands: HashMap::new(),
            messages: Vec::new(),
            messages_listed: 0,
            messages_not_listed: 0,
            findings: Vec::new(),
            findings_listed: 0,
            findings_not_listed: 0,
            finding_seq: 0,
            recent: VecDeque::new(),
            pings: Vec::new(),
            pings_count: 0,
            ping_at: HashMap::new(),
            cur_packet: None,
            shared_packets: Vec::new(),
            split_frames: Vec::new(),
            capture_ts: None,
            deflate: false,
            done: false,
            drawn: 0,
            tcp: Vec::new(),
            response_at: None,
            pending_tcp: HashMap::new(),
            pending_tcp_order: VecDeque::new(),
            app_protocol: None,
            layers: ConnLayers::default(),
            pending_layers: HashMap::new(),
            seglog: None,
            ack_wait: [VecDeque::new(), VecDeque::new()],
            deflate_window: [Some(Vec::new()), Some(Vec::new())],
            deflate_open: [None, None],
            deflate_walks: Vec::new(),
            deflate_not_walked: 0,
        }
    }

    /// Whether the chosen connection has ended (the rest of the capture
    /// cannot change the walkthrough).
    pub fn done(&self) -> bool {
        self.done
    }

    /// The connection the walkthrough is of, once chosen.
    pub fn chosen_conn(&self) -> Option<u64> {
        self.chosen.map(|c| c.conn)
    }

    fn focused(&self) -> bool {
        self.sel.frame.is_some() || self.sel.packet.is_some()
    }

    fn is_chosen(&self, c: &SessionRef) -> bool {
        self.chosen.is_some_and(|x| x.conn == c.conn)
    }

    /// The chosen WebSocket session itself (over HTTP/2: its stream).
    fn is_chosen_session(&self, c: &SessionRef) -> bool {
        self.chosen
            .is_some_and(|x| x.conn == c.conn && x.stream == c.stream)
    }

    /// `--stream`: whether a session may be the one asked for.
    fn stream_ok(&self, c: &SessionRef) -> bool {
        self.sel.stream.is_none_or(|s| c.stream == Some(s))
    }

    /// A layer record (TLS, HTTP/2) of the chosen connection, or of one
    /// that may still be chosen.
    fn layer(&mut self, l: &crate::layer::LayerRecord) {
        let conn = l.session.conn;
        let target = if self.is_chosen(&l.session) {
            &mut self.layers
        } else if self.chosen.is_none() && self.sel.conn.is_none_or(|id| id == conn) {
            if !self.pending_layers.contains_key(&conn)
                && self.pending_layers.len() >= MAX_PENDING_LAYERS
            {
                return;
            }
            self.pending_layers.entry(conn).or_default()
        } else {
            return;
        };
        match &l.layer {
            crate::layer::Layer::Tls(t) => {
                if target.tls.len() < 2 {
                    target.tls.push((**t).clone());
                }
            }
            other => target.h2.add(l.packet, other),
        }
    }

    /// The layers' sections, for the start of the walkthrough.
    fn layers_shown(&self) -> (Option<tls::TlsEx>, Option<h2::H2Ex>) {
        if self.focused() {
            return (None, None);
        }
        let t = self.layers.tls.first().map(|first| {
            let mut ex = tls::tls_ex(first);
            let mut recs: Vec<&crate::tlscore::TlsTeach> = self.layers.tls.iter().collect();
            recs.sort_by_key(|t| t.dir.index());
            for r in recs {
                match tls::record_ex(r) {
                    Ok(x) => ex.records.push(x),
                    Err(e) => ex.notes.push(e),
                }
            }
            ex
        });
        let h = match self.chosen.and_then(|c| c.stream) {
            Some(s) if self.layers.h2.seen => Some(self.layers.h2.ex(s)),
            _ => None,
        };
        (t, h)
    }

    fn choose(&mut self, c: SessionRef) {
        self.chosen = Some(c);
        self.layers = self.pending_layers.remove(&c.conn).unwrap_or_default();
        self.pending_layers = HashMap::new();
        if let Some(s) = c.stream {
            self.layers.h2.follow(s);
        }
        if let Some(hs) = self.pending.remove(&c.conn) {
            self.deflate = hs.deflate.is_some();
            self.hs = Some(hs);
        }
        let pre = self.pending_findings.remove(&c.conn).unwrap_or_default();
        self.findings_listed += pre.len();
        match self.cands.remove(&c.conn) {
            None => self.findings.extend(pre),
            Some(mut t) => {
                // Counted since its first handshake or frame: the findings
                // in the order a walkthrough begun there would list them.
                let all = std::mem::take(&mut self.findings);
                let (before, after): (Vec<_>, Vec<_>) =
                    all.into_iter().partition(|f| f.seq <= t.since_seq);
                let mut mine = std::mem::take(&mut t.findings).into_iter().peekable();
                let mut theirs = after.into_iter().peekable();
                self.findings = before;
                self.findings.extend(pre);
                while let Some(next) = match (mine.peek(), theirs.peek()) {
                    (Some(a), Some(b)) if a.seq < b.seq => mine.next(),
                    (_, Some(_)) => theirs.next(),
                    (Some(_), None) => mine.next(),
                    (None, None) => None,
                } {
                    self.findings.push(next);
                }
                self.findings_listed += t.listed;
                self.findings_not_listed += t.not_listed;
                self.messages_listed = t.messages.min(MAX_LIST);
                self.messages_not_listed = (t.messages - self.messages_listed) as u64;
                self.pings_count = t.pings;
                for (d, offset, p) in std::mem::take(&mut t.waiting) {
                    self.ping_at.insert((d, offset), self.pings.len());
                    self.pings.push(p);
                }
                self.tally = t;
            }
        }
        if let Some(p) = self.pending_tcp.remove(&c.conn) {
            self.tcp = p.marks;
            self.response_at = p.response;
            self.seglog = p.log.map(|mut l| {
                l.widen();
                l
            });
        }
        self.pending.clear();
        self.pending_findings.clear();
        self.pending_tcp.clear();
        self.pending_tcp_order.clear();
        self.cands = HashMap::new();
    }

    /// `--packet`: the tally of a connection that may still be chosen,
    /// begun at its first handshake or frame (where a walkthrough of it
    /// would begin).
    fn candidate(&mut self, conn: u64) -> Option<&mut Tally> {
        self.sel.packet?;
        if !self.cands.contains_key(&conn) && self.cands.len() < MAX_CANDIDATES {
            let pre = self.pending_findings.get(&conn).map_or(0, Vec::len);
            self.cands.insert(
                conn,
                Tally {
                    since_seq: self.finding_seq,
                    pre,
                    ..Tally::default()
                },
            );
        }
        self.cands.get_mut(&conn)
    }

    /// A frame of a connection that may still be chosen: counted.
    fn candidate_frame(&mut self, f: &FrameRecord<'_>) {
        let Some(t) = self.candidate(f.session.conn) else {
            return;
        };
        let (index, _) = t.frame(f, CANDIDATE_LIST);
        let d = f.from.index();
        match f.header.opcode {
            OpCode::Ping => {
                if t.pings < MAX_LIST {
                    if t.waiting.len() >= CANDIDATE_PINGS {
                        t.waiting.pop_front();
                    }
                    t.waiting.push_back((d, f.offset, ping_ex(index, f)));
                }
                t.pings += 1;
            }
            OpCode::Pong => {
                if let Some(a) = f.answers
                    && let Some(i) = t
                        .waiting
                        .iter()
                        .position(|w| w.0 == 1 - d && w.1 == a.offset)
                {
                    t.waiting.remove(i);
                }
            }
            _ => {}
        }
    }

    /// A message of a connection that may still be chosen: counted.
    fn candidate_message(&mut self, m: &MessageRecord<'_>) {
        if self.may_choose(&m.session)
            && let Some(t) = self.cands.get_mut(&m.session.conn)
        {
            t.message(m);
        }
    }

    /// The TCP side of a connection's life (kept for the chosen one, and
    /// for a few thousand candidates): its control segments, and when its
    /// 101 answer came.
    fn tcp_event(
        &mut self,
        conn: &SessionRef,
        mark: Option<&TcpRecord>,
        response: Option<(u64, f64)>,
    ) {
        if self.is_chosen(conn) {
            if let Some(m) = mark
                && self.tcp.len() < MAX_TCP_MARKS
            {
                self.tcp.push(*m);
            }
            if response.is_some() && self.response_at.is_none() {
                self.response_at = response;
            }
            return;
        }
        if !self.may_choose(conn) {
            return;
        }
        if !self.pending_tcp.contains_key(&conn.conn) {
            if self.pending_tcp_order.len() >= MAX_PENDING_HANDSHAKES
                && let Some(old) = self.pending_tcp_order.pop_front()
            {
                self.pending_tcp.remove(&old);
            }
            self.pending_tcp_order.push_back(conn.conn);
        }
        // A connection counted for --packet keeps as many as the chosen one.
        let cap = if self.cands.contains_key(&conn.conn) {
            MAX_TCP_MARKS
        } else {
            MAX_PENDING_TCP_MARKS
        };
        let e = self.pending_tcp.entry(conn.conn).or_default();
        if let Some(m) = mark
            && e.marks.len() < cap
        {
            e.marks.push(*m);
        }
        if response.is_some() && e.response.is_none() {
            e.response = response;
        }
    }

    /// A TCP segment (sent when the run's config asks for them): logged
    /// for the chosen connection, and for a few of the not-yet-chosen ones
    /// (their latest segments only).
    fn segment_event(&mut self, s: &SegmentRecord) {
        let t0 = self.capture_ts.unwrap_or(s.ts);
        if self.is_chosen(&s.session) {
            let log = self.seglog.get_or_insert_with(|| {
                let mut l = tcp::TcpLog::new(usize::MAX);
                l.set_t0(t0);
                l
            });
            if let Some(mv) = log.segment(s) {
                self.acked(mv);
            }
            return;
        }
        if !self.may_choose(&s.session) {
            return;
        }
        if !self.pending_tcp.contains_key(&s.session.conn) {
            if self.pending_tcp_order.len() >= MAX_PENDING_HANDSHAKES
                && let Some(old) = self.pending_tcp_order.pop_front()
            {
                self.pending_tcp.remove(&old);
            }
            self.pending_tcp_order.push_back(s.session.conn);
        }
        let e = self.pending_tcp.entry(s.session.conn).or_default();
        e.log
            .get_or_insert_with(|| {
                let mut l = tcp::TcpLog::new(tcp::PENDING_RING);
                l.set_t0(t0);
                l
            })
            .segment(s);
    }

    /// An acknowledgment moved forward: the frames whose last byte it
    /// covers get it.
    fn acked(&mut self, mv: tcp::AckMove) {
        let side = usize::from(mv.of_side.min(1));
        let Some(log) = self.seglog.as_mut() else {
            return;
        };
        let mut any = false;
        while let Some(w) = self.ack_wait[side].front() {
            if i64::try_from(w.end).unwrap_or(i64::MAX) > mv.upto {
                break;
            }
            let Some(w) = self.ack_wait[side].pop_front() else {
                break;
            };
            let ack = log.ack_of(side, &mv, w.ts);
            if let Ok(i) = self.queue.binary_search_by_key(&w.index, |f| f.index)
                && let Some(f) = self.queue.get_mut(i)
            {
                if let Some(t) = f.tcp.as_mut() {
                    t.ack = Some(ack);
                }
                f.ack_pending = false;
                any = true;
            }
        }
        if any && self.started {
            self.drain(false);
        }
    }

    /// A frame's TCP: its segments, and a wait for its ACK.
    fn frame_tcp(&mut self, index: usize, f: &FrameRecord<'_>) -> Option<tcp::FrameTcp> {
        let log = self.seglog.as_mut()?;
        let side = log.side_of(f.from)?;
        let end = f.offset + f.header_bytes.len() as u64 + f.header.payload_len;
        let mut t = log.frame(side, f.offset, end, f.first_packet, f.packet)?;
        log.count_frame(side);
        // Acknowledged already (an ACK the reassembler waited for)?
        if let Some(mv) = log.last_move[side]
            && i64::try_from(end).is_ok_and(|e| e <= mv.upto)
        {
            if let Some(mv) = log.earlier_ack(side, t.end) {
                t.ack = Some(log.ack_of(side, &mv, f.ts));
            }
            return Some(t);
        }
        let q = &mut self.ack_wait[side];
        if q.len() >= MAX_ACK_WAIT {
            q.pop_front();
            log.count_unacked(side);
        }
        q.push_back(AckWait {
            end,
            index,
            ts: f.ts,
        });
        Some(t)
    }

    fn may_choose(&self, c: &SessionRef) -> bool {
        self.chosen.is_none() && self.sel.conn.is_none_or(|id| id == c.conn)
    }

    fn handshake(&mut self, c: SessionRef, hs: &Handshake) {
        if self.is_chosen_session(&c) {
            self.deflate = hs.deflate.is_some();
            self.hs = Some(hs.clone());
            return;
        }
        if !self.may_choose(&c) || !self.stream_ok(&c) {
            return;
        }
        let by_packet = self
            .sel
            .packet
            .is_some_and(|p| p == hs.packet || Some(p) == hs.response_packet);
        if self.sel.packet.is_none() || by_packet || self.sel.conn == Some(c.conn) {
            self.choose(c);
            self.deflate = hs.deflate.is_some();
            self.hs = Some(hs.clone());
        } else {
            self.candidate(c.conn);
            if self.pending.len() < MAX_PENDING_HANDSHAKES {
                self.pending.insert(c.conn, hs.clone());
            }
        }
    }

    fn wanted(&self, index: usize, f: &FrameRecord<'_>) -> bool {
        if let Some(n) = self.sel.frame {
            return index == n;
        }
        if let Some(p) = self.sel.packet {
            return f.first_packet <= p && p <= f.packet;
        }
        self.sel.max_frames.is_none_or(|m| index <= m)
    }

    fn frame(&mut self, f: &FrameRecord<'_>) {
        if !self.is_chosen_session(&f.session) {
            let covers = self
                .sel
                .packet
                .is_none_or(|p| f.first_packet <= p && p <= f.packet);
            let by_id = self.sel.conn == Some(f.session.conn);
            if !self.may_choose(&f.session) || !self.stream_ok(&f.session) {
                return;
            }
            if !(covers || by_id) {
                self.candidate_frame(f);
                return;
            }
            self.choose(f.session);
        }
        // Counted for every frame, shown or not; a data frame waits for its
        // message to complete (to say which it is).
        let (index, waits) = self.tally.frame(f, usize::MAX);
        let settled = !waits;
        let d = f.from.index();
        let frame_tcp = self.frame_tcp(index, f);
        if self.deflate && f.message.is_some() {
            // The first frame of a compressed message, whole and short: its
            // bytes are walked through when the message completes.
            self.deflate_open[d] = (f.header.rsv1
                && f.header.fin
                && f.payload_complete
                && f.payload.len() <= deflate::MAX_INPUT)
                .then(|| f.payload.to_vec());
        }
        match f.header.opcode {
            OpCode::Ping => {
                if let Some(l) = self.seglog.as_mut() {
                    l.ping(index, f.packet, f.from, f.ts);
                }
                if self.pings_count < MAX_LIST {
                    self.ping_at.insert((d, f.offset), self.pings.len());
                    self.pings.push(ping_ex(index, f));
                }
                self.pings_count += 1;
            }
            OpCode::Pong => {
                // The ping it answers, as the carrier paired them.
                if let Some(a) = f.answers
                    && let Some(i) = self.ping_at.remove(&(1 - d, a.offset))
                    && let Some(p) = self.pings.get_mut(i)
                {
                    p.pong_frame = Some(index);
                    p.rtt_ms = Some((f.ts - a.ts) * 1000.0);
                    if let Some(l) = self.seglog.as_mut() {
                        l.pong(p.ping_frame, index, (f.ts - a.ts) * 1000.0);
                    }
                }
            }
            _ => {}
        }
        if !self.wanted(index, f) {
            return;
        }
        if f.first_packet == f.packet {
            match &mut self.cur_packet {
                Some(p) if p.packet == f.packet => p.frames.push(index),
                cur => {
                    if let Some(p) = cur.take()
                        && p.frames.len() > 1
                        && self.shared_packets.len() < MAX_LIST
                    {
                        self.shared_packets.push(p);
                    }
                    *cur = Some(PacketEx {
                        packet: f.packet,
                        frames: vec![index],
                    });
                }
            }
        }
        if f.segments > 1 && self.split_frames.len() < MAX_LIST {
            self.split_frames.push(SplitEx {
                frame: index,
                payload_len: f.header.payload_len,
                segments: f.segments,
                first_packet: f.first_packet,
                packet: f.packet,
            });
        }
        if self.focused() && self.focus_shown.len() < MAX_LIST {
            self.focus_shown.push(index);
        }
        let mut ex = frame_ex(index, f, self.deflate, self.base_ts());
        ex.settled = settled;
        if f.session.stream.is_some() {
            let end = f.offset + f.header.header_len as u64 + f.header.payload_len;
            ex.h2 = self.layers.h2.carry(f.from, f.offset, end);
        }
        ex.ack_pending = frame_tcp.as_ref().is_some_and(|t| t.ack.is_none());
        ex.tcp = frame_tcp;
        if self.recent.len() >= RECENT_FRAMES {
            self.recent.pop_front();
        }
        self.recent.push_back(((d as u8, f.offset), index));
        self.queue.push_back(ex);
        self.drain(false);
    }

    fn base_ts(&self) -> f64 {
        self.capture_ts
            .or(self.hs.as_ref().map(|h| h.ts))
            .or(self.tally.first_frame_ts)
            .unwrap_or(0.0)
    }

    fn message(&mut self, m: &MessageRecord<'_>) {
        if !self.is_chosen_session(&m.session) {
            self.candidate_message(m);
            return;
        }
        let (
            index,
            OpenMsg {
                frames,
                interleaved,
                ..
            },
        ) = self.tally.message(m);
        self.deflate_message(index, m);
        for f in self.queue.iter_mut() {
            if frames.binary_search(&f.index).is_ok() {
                f.message = Some(index);
                f.settled = true;
            }
        }
        let touches_focus = self.focused()
            && frames
                .iter()
                .any(|i| self.focus_shown.binary_search(i).is_ok());
        if self.messages_listed >= MAX_LIST && !touches_focus {
            self.messages_not_listed += 1;
            self.drain(false);
            return;
        }
        self.messages_listed += 1;
        let (kind, shown, shown_bytes) = if !m.decodable {
            ("undecodable", String::new(), 0)
        } else {
            // A listed message keeps the start of its text (the walkthrough
            // shows a few lines of it), cut at a character boundary.
            let mut cut = m.data.len().min(MESSAGE_TEXT);
            if let Err(e) = std::str::from_utf8(&m.data[..cut])
                && e.error_len().is_none()
            {
                cut = e.valid_up_to();
            }
            show_payload(
                &m.data[..cut],
                m.opcode == OpCode::Text,
                m.data_complete && cut == m.data.len(),
                MESSAGE_HEX,
                m.len,
            )
        };
        self.messages.push(MessageEx {
            index,
            from: m.from,
            opcode_name: m.opcode.name(),
            frames,
            interleaved,
            compressed: m.compressed,
            wire_len: m.wire_len,
            len: m.len,
            kind,
            shown,
            shown_bytes,
            findings: m.findings.iter().map(|c| c.as_str()).collect(),
            app: Vec::new(),
            app_more: 0,
            // Only where a subprotocol is decoded (or will be, by the handshake).
            app_cut: m.decodable
                && !m.data_complete
                && (self.app_protocol.is_some()
                    || self.hs.as_ref().is_some_and(|h| {
                        crate::app::dispatch(h.subprotocol.as_deref(), Some(&h.path), None)
                            .is_some()
                    })),
        });
        self.drain(false);
    }

    /// A subprotocol unit of the chosen session: beside the message of its
    /// direction that completed it (the latest, as the app stage derives
    /// its records from each message as it completes).
    fn app(&mut self, r: &crate::app::AppRecord) {
        let Some(ch) = self.chosen else { return };
        if r.conn != ch.conn || r.stream != ch.stream.map(u64::from) {
            return;
        }
        self.app_protocol.get_or_insert(r.protocol);
        let d = app::dir_of(r);
        if let Some(m) = self.messages.iter_mut().rev().find(|m| m.from == d) {
            if m.app.len() < app::MAX_UNITS {
                m.app.push(app::app_ex(r));
            } else {
                m.app_more += 1;
            }
        }
    }

    /// A message of the chosen connection, for the permessage-deflate
    /// section: walked through when compressed and short, and kept as the
    /// window of the next one (context takeover).
    fn deflate_message(&mut self, index: usize, m: &MessageRecord<'_>) {
        let Some(params) = self.hs.as_ref().and_then(|h| h.deflate.clone()) else {
            return;
        };
        let d = m.from.index().min(1);
        let (reset, bits) = match m.from {
            Dir::Client => (
                params.client_no_context_takeover,
                params.client_max_window_bits,
            ),
            Dir::Server => (
                params.server_no_context_takeover,
                params.server_max_window_bits,
            ),
        };
        let window_len = 1usize << bits.unwrap_or(15).clamp(8, 15);
        let open = self.deflate_open[d].take();
        if m.compressed {
            match open {
                Some(bytes) if self.deflate_walks.len() < DEFLATE_WALKS => {
                    let empty = Vec::new();
                    let window = if reset {
                        &empty
                    } else {
                        self.deflate_window[d].as_ref().unwrap_or(&empty)
                    };
                    let window = &window[window.len().saturating_sub(window_len)..];
                    let (walk, error) = match deflate::walk(window, &bytes) {
                        Ok(w) => (Some(w), None),
                        Err(e) => (None, Some(e.to_string())),
                    };
                    let mut ex = deflate::DeflateMessageEx {
                        message: index,
                        from: m.from,
                        wire_len: m.wire_len,
                        len: m.len,
                        compressed_hex: bytes
                            .iter()
                            .map(|b| format!("{b:02x}"))
                            .collect::<Vec<_>>()
                            .join(" "),
                        context_takeover: !reset,
                        walk,
                        error,
                        says: String::new(),
                    };
                    ex.says = deflate::message_says(&ex);
                    self.deflate_walks.push(ex);
                }
                _ => self.deflate_not_walked += 1,
            }
        }
        // The window for the next message of this direction.
        let w = &mut self.deflate_window[d];
        if reset {
            *w = Some(Vec::new());
        } else if let Some(v) = w {
            if m.data_complete && m.decodable {
                v.extend_from_slice(m.data);
                let cut = v.len().saturating_sub(deflate::WINDOW);
                v.drain(..cut);
            } else {
                *w = None;
            }
        }
    }

    fn finding(&mut self, f: &Finding) {
        self.finding_seq += 1;
        let seq = self.finding_seq;
        let ours = match (f.conn(), self.chosen) {
            (Some(c), Some(ch)) => c == ch.conn,
            (None, _) => true,
            (Some(c), None) => {
                let listed = self.findings_listed;
                let packet = self.sel.packet;
                if let Some(t) = self.cands.get_mut(&c) {
                    // Counted as a walkthrough of it would count it; kept
                    // when of the packet asked for.
                    if listed + t.pre + t.listed < MAX_LIST {
                        t.listed += 1;
                        if packet.is_some() && f.packet() == packet && t.findings.len() < MAX_LIST {
                            t.findings.push(finding_ex(f, None, seq));
                        }
                    } else {
                        t.not_listed += 1;
                    }
                } else if self.sel.conn.is_none_or(|id| id == c)
                    && (self.pending_findings.len() < MAX_PENDING_HANDSHAKES
                        || self.pending_findings.contains_key(&c))
                {
                    // Kept until we know whether this connection is the one.
                    let v = self.pending_findings.entry(c).or_default();
                    if v.len() < 64 {
                        v.push(finding_ex(f, None, seq));
                    }
                }
                false
            }
        };
        if !ours {
            return;
        }
        let frame = f.from().zip(f.offset()).and_then(|(d, o)| {
            let at = (d.index() as u8, o);
            self.recent.iter().rev().find(|r| r.0 == at).map(|r| r.1)
        });
        let touches_focus =
            self.focused() && frame.is_some_and(|i| self.focus_shown.binary_search(&i).is_ok());
        if self.findings_listed < MAX_LIST || touches_focus {
            self.findings_listed += 1;
            self.findings.push(finding_ex(f, frame, seq));
        } else {
            self.findings_not_listed += 1;
        }
    }

    fn conn_info(&self) -> Option<ConnInfo> {
        self.chosen.map(|c| ConnInfo {
            id: c.conn,
            client: c.client.to_string(),
            server: c.server.to_string(),
            first_packet: self.summary.as_ref().map(|s| s.first_packet),
            last_packet: self.summary.as_ref().map(|s| s.last_packet),
            first_ts: self.summary.as_ref().map(|s| s.first_ts),
            last_ts: self.summary.as_ref().map(|s| s.last_ts),
            client_by: if self.hs.is_some() {
                "it sent the upgrade request"
            } else {
                "it masks its frames (no handshake in the capture)"
            },
        })
    }

    fn handshake_shown(&self) -> Option<HandshakeEx> {
        let hs = self.hs.as_ref()?;
        if self.focused() {
            // Focused on some frames: the handshake only when asked for by packet.
            let p = self.sel.packet?;
            if p != hs.packet && Some(p) != hs.response_packet {
                return None;
            }
        }
        let t0 = self.base_ts();
        let mut ex = handshake_ex(hs);
        ex.request_ts = Some(hs.ts - t0);
        ex.response_ts = self
            .response_at
            .filter(|r| Some(r.0) == hs.response_packet)
            .map(|r| r.1 - t0);
        Some(ex)
    }

    fn tcp_marks(&self) -> Vec<TcpMarkEx> {
        let t0 = self.base_ts();
        self.tcp
            .iter()
            .map(|m| TcpMarkEx {
                kind: m.kind.as_str(),
                from: m.from,
                packet: m.packet,
                ts: m.ts - t0,
            })
            .collect()
    }

    fn not_found(&self) -> Option<String> {
        if self.chosen.is_none() {
            Some(match (&self.sel.conn, &self.sel.packet) {
                _ if self.sel.stream.is_some() => format!(
                    "no WebSocket session on HTTP/2 stream {} in this capture{}",
                    self.sel.stream.unwrap_or_default(),
                    self.sel
                        .conn
                        .map_or(String::new(), |c| format!(" (connection {c})"))
                ),
                (Some(c), _) => {
                    format!("connection {c} is not a WebSocket connection in this capture")
                }
                (_, Some(p)) => format!("packet {p} carries no WebSocket frame or handshake"),
                _ => "no WebSocket connection in this capture".to_string(),
            })
        } else {
            self.sel.frame.filter(|&n| n > self.tally.frames).map(|n| {
                format!(
                    "the connection has {} frames; there is no frame {n}",
                    self.tally.frames
                )
            })
        }
    }

    fn write(&mut self, s: &str) {
        if !s.is_empty() {
            (self.emit)(s.as_bytes());
        }
    }

    /// Writes everything before the frames, with the first frames in view.
    fn start(&mut self, ended: bool) {
        self.started = true;
        self.span_at_start = self.summary.is_some();
        let mut w = Walkthrough {
            capture: self.capture.clone(),
            conn: self.conn_info(),
            handshake: self.handshake_shown(),
            frames: self.queue.iter().take(HEAD_FRAMES).cloned().collect(),
            more_frames: !ended || self.queue.len() > HEAD_FRAMES,
            frames_shown: if ended { self.queue.len() as u64 } else { 0 },
            frames_not_shown: if ended {
                (self.tally.frames - self.queue.len()) as u64
            } else {
                0
            },
            messages: Vec::new(),
            messages_not_listed: 0,
            pings: Vec::new(),
            shared_packets: Vec::new(),
            split_frames: Vec::new(),
            findings: Vec::new(),
            findings_not_listed: 0,
            not_found: if ended { self.not_found() } else { None },
            push: Vec::new(),
            push_not_shown: 0,
            span_at_start: self.span_at_start,
            tcp: self.tcp_marks(),
            t0: self.base_ts(),
            app_protocol: self.app_protocol,
            tls: None,
            h2: None,
            tcp_story: None,
            deflate_story: None,
        };
        (w.tls, w.h2) = self.layers_shown();
        self.drawn = w.frames.len();
        let mut out = String::new();
        match self.format {
            Format::Text(st) => self.sections = text::head(&w, st, &mut out),
            Format::Html => html::head(&w, &mut out),
            Format::Json => json_head(&w, ended, &mut out),
        }
        self.write(&out);
    }

    /// Writes the frames that are ready: settled ones at the head of the
    /// queue (all of them with `all`, or past the queue's cap).
    fn drain(&mut self, all: bool) {
        if !self.started {
            if self.queue.len() <= HEAD_FRAMES && !all {
                return;
            }
            self.start(all);
        }
        let mut out = String::new();
        while let Some(f) = self.queue.front() {
            let nth = self.written as usize + 1;
            if !(all || (f.settled && !f.ack_pending) || self.queue.len() > MAX_QUEUE) {
                break;
            }
            let Some(f) = self.queue.pop_front() else {
                break;
            };
            match self.format {
                Format::Text(st) => text::frame(&mut out, st, &f, self.written == 0),
                Format::Html => html::frame(&mut out, &f, nth, nth <= self.drawn),
                Format::Json => json_record(&mut out, "explain-frame", &f),
            }
            self.written += 1;
            if out.len() > 1 << 16 {
                self.write(&out);
                out.clear();
            }
        }
        self.write(&out);
    }

    /// Writes the rest of the walkthrough once the capture has been read:
    /// the frames still held, then messages, segments, pings, findings and
    /// the capture's push channels. Returns what was asked for but not
    /// found, if anything.
    pub fn finish(
        mut self,
        push: Vec<crate::push::PushRecord>,
        push_not_shown: usize,
    ) -> Option<String> {
        // Frames whose ACK never came.
        for side in 0..2 {
            for w in std::mem::take(&mut self.ack_wait[side]) {
                if let Some(l) = self.seglog.as_mut() {
                    l.count_unacked(side);
                }
                if let Ok(i) = self.queue.binary_search_by_key(&w.index, |f| f.index)
                    && let Some(t) = self.queue.get_mut(i).and_then(|f| f.tcp.as_mut())
                {
                    t.unacked = Some(
                        "no segment of the other side acknowledged its last byte in the capture"
                            .to_string(),
                    );
                }
            }
        }
        self.drain(true);
        if let Some(p) = self.cur_packet.take()
            && p.frames.len() > 1
            && self.shared_packets.len() < MAX_LIST
        {
            self.shared_packets.push(p);
        }
        let mut messages = std::mem::take(&mut self.messages);
        let mut pings = std::mem::take(&mut self.pings);
        let mut findings = std::mem::take(&mut self.findings);
        if self.focused() {
            // Focused on some frames: keep what concerns them.
            let shown = &self.focus_shown;
            let has = |i: &usize| shown.binary_search(i).is_ok();
            messages.retain(|m| m.frames.iter().any(has));
            pings.retain(|p| has(&p.ping_frame) || p.pong_frame.as_ref().is_some_and(has));
            findings.retain(|f| {
                f.frame.as_ref().is_some_and(has)
                    || self.sel.packet.is_some() && self.sel.packet == f.packet
            });
        }
        let not_found = self.not_found();
        let w = Walkthrough {
            capture: self.capture.clone(),
            conn: self.conn_info(),
            handshake: None,
            frames: Vec::new(),
            more_frames: false,
            frames_shown: self.written,
            frames_not_shown: self.tally.frames as u64 - self.written,
            messages,
            messages_not_listed: self.messages_not_listed,
            pings,
            shared_packets: std::mem::take(&mut self.shared_packets),
            split_frames: std::mem::take(&mut self.split_frames),
            findings,
            findings_not_listed: self.findings_not_listed,
            not_found: not_found.clone(),
            push,
            push_not_shown,
            span_at_start: self.span_at_start,
            tcp: self.tcp_marks(),
            t0: self.base_ts(),
            app_protocol: self.app_protocol,
            tls: None,
            h2: None,
            tcp_story: if self.focused() {
                None
            } else {
                self.seglog.as_ref().map(tcp::TcpLog::story)
            },
            deflate_story: self
                .hs
                .as_ref()
                .and_then(|h| h.deflate.as_ref())
                .filter(|_| !self.focused())
                .map(|d| deflate::DeflateEx {
                    params: deflate::params(d),
                    messages: std::mem::take(&mut self.deflate_walks),
                    not_walked: self.deflate_not_walked,
                }),
        };
        let mut out = String::new();
        match self.format {
            Format::Text(st) => text::tail(&w, st, self.sections, &mut out),
            Format::Html => html::tail(&w, &mut out),
            Format::Json => json_tail(&w, &mut out),
        }
        self.write(&out);
        not_found
    }
}

impl Sink for ExplainSink<'_> {
    fn event(&mut self, ev: Event<'_>) -> std::ops::ControlFlow<()> {
        match ev {
            Event::Start(s) => {
                self.capture_ts.get_or_insert(s.ts);
            }
            Event::Handshake(c, hs) => self.handshake(c, hs),
            Event::Frame(f) => self.frame(f),
            Event::Message(m) => self.message(m),
            Event::Finding(f) => self.finding(f),
            Event::ConnEnd(s) => {
                if self.is_chosen(&s.session) {
                    self.summary = Some(s.clone());
                    self.done = true;
                    if self.focused() {
                        // Only its frames are wanted (no push section):
                        // the rest of the capture cannot change them.
                        return std::ops::ControlFlow::Break(());
                    }
                } else {
                    self.pending.remove(&s.session.conn);
                    self.pending_findings.remove(&s.session.conn);
                    self.pending_tcp.remove(&s.session.conn);
                    self.pending_layers.remove(&s.session.conn);
                    self.cands.remove(&s.session.conn);
                }
            }
            Event::Tcp(t) => self.tcp_event(&t.session, Some(t), None),
            Event::Segment(s) => self.segment_event(s),
            Event::HttpHead(h) => {
                if h.from == Dir::Server && h.head.status == Some(101) {
                    self.tcp_event(&h.session, None, Some((h.packet, h.ts)));
                }
            }
            Event::App(r) => self.app(r),
            Event::Layer(l) => self.layer(l),
            Event::HttpBody(_) | Event::HttpEnd(_) | Event::Sse(_) => {}
        }
        std::ops::ControlFlow::Continue(())
    }
}

fn finding_ex(f: &Finding, frame: Option<usize>, seq: u64) -> FindingEx {
    FindingEx {
        seq,
        code: f.code.as_str(),
        severity: f.code.severity().as_str(),
        from: f.from(),
        packet: f.packet(),
        frame,
        message: f.message.clone(),
    }
}

/// A ping as the list of pings shows it (no pong yet).
fn ping_ex(index: usize, f: &FrameRecord<'_>) -> PingEx {
    PingEx {
        ping_frame: index,
        from: f.from,
        pong_frame: None,
        rtt_ms: None,
        payload: crate::render::preview(f.payload, true, 40),
    }
}

/// The accept computation of RFC 6455 section 4.2.2, step by step.
pub fn accept_ex(key: &str, sent: Option<&str>) -> AcceptEx {
    let digest = handshake::accept_digest(key);
    let sha1_hex = digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
    let key_bytes = base64::engine::general_purpose::STANDARD
        .decode(key.trim())
        .ok()
        .map(|v| v.len());
    let ok = sent.map(|s| s.trim() == b64);
    let verdict = match (sent, ok) {
        (None, _) => "the server sent no Sec-WebSocket-Accept: a client must fail the connection (section 4.1)".to_string(),
        (Some(_), Some(true)) => "matches: the server read this key and speaks WebSocket".to_string(),
        (Some(s), _) => format!(
            "does not match: the server sent {s}, not {b64}; a client must fail the connection (section 4.1)"
        ),
    };
    AcceptEx {
        key: key.to_string(),
        key_bytes,
        guid: GUID,
        concatenated: format!("{key}{GUID}"),
        sha1_hex,
        base64: b64,
        sent: sent.map(str::to_string),
        ok,
        verdict,
    }
}

fn header_meaning(name: &str, value: &str, request: bool) -> Option<String> {
    let v = value.trim();
    let m = match name.to_ascii_lowercase().as_str() {
        "host" => "the server's name and port; required in every HTTP/1.1 request".to_string(),
        "upgrade" if request => format!(
            "asks the server to switch this connection from HTTP to {v} (must name \"websocket\")"
        ),
        "upgrade" => format!("the server agrees to switch to {v}"),
        "connection" if request => {
            "must contain \"Upgrade\": the Upgrade header is for this hop".to_string()
        }
        "connection" => "\"Upgrade\": this connection now changes protocol".to_string(),
        "sec-websocket-key" => {
            let n = base64::engine::general_purpose::STANDARD
                .decode(v)
                .map(|b| b.len())
                .unwrap_or(0);
            format!(
                "a fresh random nonce, base64 of 16 bytes (this one decodes to {n}); \
                 the server proves it read it in Sec-WebSocket-Accept"
            )
        }
        "sec-websocket-version" => {
            if v == "13" {
                "13, the only version RFC 6455 defines".to_string()
            } else {
                format!("{v}: RFC 6455 requires 13")
            }
        }
        "sec-websocket-extensions" if request => {
            format!("extensions the client offers: {v}")
        }
        "sec-websocket-extensions" => format!("extensions the server accepts: {v}"),
        "sec-websocket-protocol" if request => {
            format!("subprotocols the client can speak, in order of preference: {v}")
        }
        "sec-websocket-protocol" => format!("the one subprotocol the server chose: {v}"),
        "sec-websocket-accept" => {
            "base64(SHA-1(key + GUID)): proof that the server understood the handshake".to_string()
        }
        "origin" => {
            "the page that opened the socket (sent by browsers); servers may refuse foreign origins"
                .to_string()
        }
        _ => return None,
    };
    Some(m)
}

fn headers_ex(h: &HttpHead, request: bool) -> Vec<HeaderEx> {
    h.headers
        .iter()
        .map(|(n, v)| HeaderEx {
            name: n.to_string(),
            value: v.to_string(),
            meaning: header_meaning(n, v, request).unwrap_or_default(),
        })
        .collect()
}

fn handshake_ex(hs: &Handshake) -> HandshakeEx {
    let req = &hs.request;
    let h2 = hs.kind == handshake::UpgradeKind::ExtendedConnect;
    let request_line = if h2 {
        // RFC 8441: pseudo-header fields of an HTTP/2 HEADERS frame.
        format!(
            "{} {} (HTTP/2 extended CONNECT, :protocol websocket)",
            req.method.as_deref().unwrap_or("?"),
            req.path.as_deref().unwrap_or("?")
        )
    } else {
        format!(
            "{} {} HTTP/1.{}",
            req.method.as_deref().unwrap_or("?"),
            req.path.as_deref().unwrap_or("?"),
            req.version
        )
    };
    let response_line = hs.response.as_ref().map(|r| {
        if h2 {
            return format!("HTTP/2 :status {}", r.status.unwrap_or(0));
        }
        format!(
            "HTTP/1.{} {} {}",
            r.version,
            r.status.unwrap_or(0),
            r.reason.as_deref().unwrap_or("")
        )
        .trim_end()
        .to_string()
    });
    let accept = hs
        .key
        .as_deref()
        .filter(|_| hs.response.is_some())
        .map(|k| accept_ex(k, hs.accept.as_deref()));
    let mut negotiated = Vec::new();
    match hs.status {
        Some(101) => negotiated.push(
            "101 Switching Protocols: from the next byte on, both sides speak WebSocket frames"
                .to_string(),
        ),
        Some(s) if h2 && (200..300).contains(&s) => negotiated.push(format!(
            "{s} on an extended CONNECT (RFC 8441 section 5): the stream is a WebSocket from its next DATA byte on; the HTTP/2 connection goes on carrying other streams"
        )),
        Some(s) if h2 => negotiated.push(format!(
            "{s}: the server refused the extended CONNECT; the stream carries no WebSocket"
        )),
        Some(s) => negotiated.push(format!(
            "{s}: the server refused the upgrade; the connection stays HTTP"
        )),
        None => negotiated.push("the server's answer is not in the capture".to_string()),
    }
    if let Some(d) = &hs.deflate {
        let mut s = "permessage-deflate (RFC 7692): data messages may be compressed; \
                     a compressed message has RSV1 set on its first frame"
            .to_string();
        if d.client_no_context_takeover {
            s.push_str("; the client resets its compression window after every message");
        }
        if d.server_no_context_takeover {
            s.push_str("; the server resets its compression window after every message");
        }
        if let Some(b) = d.server_max_window_bits {
            s.push_str(&format!("; the server's window is at most 2^{b} bytes"));
        }
        if let Some(b) = d.client_max_window_bits {
            s.push_str(&format!("; the client's window is at most 2^{b} bytes"));
        }
        negotiated.push(s);
    } else if hs.upgraded() {
        negotiated.push("no extension: RSV1-3 must stay 0 in every frame".to_string());
    }
    if let Some(p) = &hs.subprotocol {
        negotiated.push(format!(
            "subprotocol {p}: the application protocol spoken inside the messages"
        ));
    }
    HandshakeEx {
        request_packet: hs.packet,
        response_packet: hs.response_packet,
        request_line,
        request_headers: headers_ex(req, true),
        response_line,
        response_headers: hs
            .response
            .as_ref()
            .map(|r| headers_ex(r, false))
            .unwrap_or_default(),
        status: hs.status,
        accept,
        extensions: hs.extensions.clone(),
        subprotocol: hs.subprotocol.clone(),
        negotiated,
        request_ts: None,
        response_ts: None,
    }
}

fn bits(v: u64, n: usize) -> String {
    (0..n)
        .rev()
        .map(|i| if v >> i & 1 == 1 { '1' } else { '0' })
        .collect()
}

fn opcode_meaning(op: OpCode) -> &'static str {
    match op {
        OpCode::Continuation => "continues the message its earlier frames began",
        OpCode::Text => "starts a text message (UTF-8)",
        OpCode::Binary => "starts a binary message",
        OpCode::Close => "control: starts the closing handshake",
        OpCode::Ping => "control: a heartbeat the peer must answer with a pong",
        OpCode::Pong => "control: answers a ping (or a one-way heartbeat)",
        OpCode::Reserved(_) => {
            "reserved: no meaning is defined, a receiver must fail the connection"
        }
    }
}

/// The payload's first bytes as on the wire: the kept (unmasked) payload
/// masked again with the frame's key (payload byte i XOR key[i % 4]).
fn on_wire(payload: &[u8], key: Option<[u8; 4]>, n: usize) -> Vec<u8> {
    let first = payload.iter().take(n);
    match key {
        Some(k) => first.zip(k.iter().cycle()).map(|(c, k)| c ^ k).collect(),
        None => first.copied().collect(),
    }
}

fn frame_ex(index: usize, f: &FrameRecord<'_>, deflate: bool, t0: f64) -> FrameEx {
    let h = &f.header;
    // Every bit drawn is read from the header bytes as they were on the wire.
    let raw = f.raw_header();
    let [fin, rsv1, rsv2, rsv3] = raw.flag_bits();
    let len7 = u64::from(raw.len7());
    let mut fields = vec![
        BitField {
            name: "FIN",
            bits: bits(u64::from(fin), 1),
            value: (h.fin as u8).to_string(),
            meaning: if h.fin {
                "final fragment: this frame ends its message".into()
            } else {
                "more fragments of this message follow".into()
            },
        },
        BitField {
            name: "RSV1",
            bits: bits(u64::from(rsv1), 1),
            value: (h.rsv1 as u8).to_string(),
            meaning: match (h.rsv1, deflate) {
                (true, true) => {
                    "set: this message is compressed (permessage-deflate claims RSV1)".into()
                }
                (true, false) => "set, but no extension was negotiated that claims it".into(),
                (false, true) => "clear: not compressed (or not the message's first frame)".into(),
                (false, false) => "reserved for extensions; 0".into(),
            },
        },
        BitField {
            name: "RSV2",
            bits: bits(u64::from(rsv2), 1),
            value: (h.rsv2 as u8).to_string(),
            meaning: if h.rsv2 {
                "set, but no extension claims it".into()
            } else {
                "reserved; 0".into()
            },
        },
        BitField {
            name: "RSV3",
            bits: bits(u64::from(rsv3), 1),
            value: (h.rsv3 as u8).to_string(),
            meaning: if h.rsv3 {
                "set, but no extension claims it".into()
            } else {
                "reserved; 0".into()
            },
        },
        BitField {
            name: "opcode",
            bits: bits(u64::from(raw.opcode_bits()), 4),
            value: format!("0x{:x} ({})", h.opcode.as_u8(), h.opcode.name()),
            meaning: opcode_meaning(h.opcode).into(),
        },
        BitField {
            name: "MASK",
            bits: bits(u64::from(raw.mask_bit()), 1),
            value: (h.masked() as u8).to_string(),
            meaning: match (h.masked(), f.from) {
                (true, Dir::Client) => {
                    "masked: a client must mask every frame it sends (section 5.3)".into()
                }
                (false, Dir::Server) => "not masked: a server must never mask (section 5.1)".into(),
                (true, Dir::Server) => "masked, but a server must not mask".into(),
                (false, Dir::Client) => "not masked, but a client must mask".into(),
            },
        },
        BitField {
            name: "payload len",
            bits: bits(len7, 7),
            value: len7.to_string(),
            meaning: match len7 {
                126 => "126: the length is in the next 2 bytes (16-bit form)".into(),
                127 => "127: the length is in the next 8 bytes (64-bit form)".into(),
                n => format!("{n}: the payload length itself (7-bit form, 0-125)"),
            },
        },
    ];
    let ext = match h.length_form {
        LengthForm::Short => None,
        LengthForm::Ext16 => Some(2usize),
        LengthForm::Ext64 => Some(8),
    };
    if let Some(n) = ext {
        let hex: Vec<String> = raw.ext_len().iter().map(|b| format!("{b:02x}")).collect();
        let (lo, hi) = if n == 2 {
            ("126", "65535")
        } else {
            ("65536", "2^63 - 1")
        };
        let minimal = crate::ws::frame::minimal_form(h.payload_len) == h.length_form;
        fields.push(BitField {
            name: if n == 2 { "ext len 16" } else { "ext len 64" },
            bits: hex.join(" "),
            value: h.payload_len.to_string(),
            meaning: if minimal {
                format!("{} bytes, big-endian: this form is for lengths {lo} to {hi}", h.payload_len)
            } else {
                format!(
                    "{} bytes, big-endian, in a longer form than needed (section 5.2 requires the minimal one)",
                    h.payload_len
                )
            },
        });
    }
    let mask_key = raw.mask_key().map(|k| {
        k.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    });
    if let Some(k) = &mask_key {
        fields.push(BitField {
            name: "masking key",
            bits: k.clone(),
            value: k.replace(' ', ""),
            meaning: "4 random bytes chosen by the client per frame; payload byte i is XORed with key[i % 4]".into(),
        });
    }
    let unmask = match h.mask_key {
        Some(k) => on_wire(f.payload, h.mask_key, UNMASK_ROWS)
            .into_iter()
            .zip(f.payload)
            .zip(k.iter().cycle())
            .enumerate()
            .map(|(i, ((m, &c), &key))| UnmaskRow {
                i,
                masked: m,
                key,
                clear: c,
                ch: (c.is_ascii_graphic() || c == b' ').then_some(c as char),
            })
            .collect(),
        None => Vec::new(),
    };
    let compressed = deflate && h.rsv1;
    let kept = &f.payload[..f.payload.len().min(KEEP_PAYLOAD)];
    let whole = f.payload_complete && kept.len() as u64 == h.payload_len;
    let (payload_kind, payload_shown, payload_shown_bytes) = if h.payload_len == 0 {
        ("empty", String::new(), 0)
    } else if compressed {
        let n = kept.len().min(FRAME_HEX);
        (
            "compressed",
            hex_dump(kept, FRAME_HEX, h.payload_len),
            n as u64,
        )
    } else if h.opcode == OpCode::Close {
        ("close", String::new(), 0)
    } else {
        show_payload(
            kept,
            h.opcode == OpCode::Text || h.opcode.is_control(),
            whole,
            FRAME_HEX,
            h.payload_len,
        )
    };
    FrameEx {
        index,
        from: f.from,
        packet: f.packet,
        first_packet: f.first_packet,
        segments: f.segments,
        ts: f.ts - t0,
        offset: f.offset,
        header_hex: f
            .header_bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" "),
        fields,
        fin: h.fin,
        rsv1: h.rsv1,
        rsv2: h.rsv2,
        rsv3: h.rsv3,
        opcode: h.opcode.as_u8(),
        opcode_name: h.opcode.name(),
        masked: h.masked(),
        mask_key: mask_key.map(|k| k.replace(' ', "")),
        payload_len: h.payload_len,
        length_form: match h.length_form {
            LengthForm::Short => "7-bit",
            LengthForm::Ext16 => "16-bit",
            LengthForm::Ext64 => "64-bit",
        },
        unmask,
        payload_kind,
        payload_shown,
        payload_shown_bytes,
        payload_complete: whole,
        close_code: f.close_code,
        close_meaning: f.close_code.map(close::meaning),
        close_reason: f
            .close_reason
            .map(|r| String::from_utf8_lossy(r).into_owned()),
        message: None,
        h2: None,
        findings: f.findings.iter().map(|c| c.as_str()).collect(),
        tcp: None,
        settled: true,
        ack_pending: false,
        header_bytes: f.header_bytes.to_vec(),
        wire_prefix: on_wire(f.payload, h.mask_key, 4),
    }
}

/// A payload for people: text, pretty JSON, or a hex dump; with how many
/// of its `total` bytes (`data` may be a kept prefix) it shows.
fn show_payload(
    data: &[u8],
    text: bool,
    complete: bool,
    hex_max: usize,
    total: u64,
) -> (&'static str, String, u64) {
    if data.is_empty() {
        return ("empty", String::new(), 0);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if complete
            && (s.starts_with('{') || s.starts_with('['))
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(s)
            && let Ok(p) = serde_json::to_string_pretty(&v)
        {
            return ("json", p, data.len() as u64);
        }
        if text || s.chars().all(|c| !c.is_control() || c == '\n' || c == '\t') {
            return ("text", s.to_string(), data.len() as u64);
        }
    }
    let n = data.len().min(hex_max);
    ("hex", hex_dump(data, hex_max, total), n as u64)
}

/// Which way a frame or message went, in words.
pub fn arrow(d: Dir) -> &'static str {
    match d {
        Dir::Client => "client \u{2192} server",
        Dir::Server => "server \u{2192} client",
    }
}

impl FrameEx {
    /// The TCP segments that carried the frame, in words.
    pub fn carried_by(&self) -> String {
        if self.segments > 1 {
            format!(
                "{} TCP segments, packets #{} to #{}",
                self.segments, self.first_packet, self.packet
            )
        } else {
            format!("packet #{}", self.packet)
        }
    }
}

/// Frame numbers with runs collapsed: "1, 4, 7-10".
pub fn ranges(ids: &[usize]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while j + 1 < ids.len() && ids[j + 1] == ids[j] + 1 {
            j += 1;
        }
        out.push(match j - i {
            0 => ids[i].to_string(),
            1 => format!("{}, {}", ids[i], ids[j]),
            _ => format!("{}-{}", ids[i], ids[j]),
        });
        i = j + 1;
    }
    out.join(", ")
}

/// Lines of 16 bytes: offset, hex, ASCII; at most `max` of `data`, then
/// how many of the payload's `total` bytes are left out.
pub fn hex_dump(data: &[u8], max: usize, total: u64) -> String {
    let shown = &data[..data.len().min(max)];
    let mut out = String::new();
    for (row, chunk) in shown.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        out.push_str(&format!(
            "{:04x}  {:<47}  {ascii}\n",
            row * 16,
            hex.join(" ")
        ));
    }
    let more = total.saturating_sub(shown.len() as u64);
    if more > 0 {
        out.push_str(&format!("…  ({more} more bytes)\n"));
    }
    out
}

/// One JSON line: `v`'s fields after a `type`, by the one JSON writer.
fn json_record<T: Serialize>(out: &mut String, ty: &str, v: &T) {
    let mut line = Vec::new();
    if crate::render::json::write_tagged(&mut line, ty, None, v).is_ok() {
        out.push_str(&String::from_utf8_lossy(&line));
    }
}

/// The walkthrough as JSON lines, its start: the `explain` record (its
/// counts are null when frames were still coming; `explain-end` has them)
/// and the handshake.
fn json_head(w: &Walkthrough, ended: bool, out: &mut String) {
    #[derive(Serialize)]
    struct Head<'a> {
        capture: &'a str,
        conn: &'a Option<ConnInfo>,
        frames_shown: Option<u64>,
        frames_not_shown: Option<u64>,
        not_found: &'a Option<String>,
    }
    json_record(
        out,
        "explain",
        &Head {
            capture: &w.capture,
            conn: &w.conn,
            frames_shown: ended.then_some(w.frames_shown),
            frames_not_shown: ended.then_some(w.frames_not_shown),
            not_found: &w.not_found,
        },
    );
    if let Some(t) = &w.tls {
        json_record(out, "explain-tls", t);
    }
    if let Some(h) = &w.h2 {
        json_record(out, "explain-h2", h);
    }
    if let Some(h) = &w.handshake {
        json_record(out, "explain-handshake", h);
    }
}

/// The walkthrough as JSON lines, after the frames: messages, pings,
/// findings, push channels, then `explain-end` with the counts.
fn json_tail(w: &Walkthrough, out: &mut String) {
    for m in &w.messages {
        json_record(out, "explain-message", m);
    }
    for p in &w.pings {
        json_record(out, "explain-ping", p);
    }
    if let Some(t) = &w.tcp_story {
        json_record(out, "explain-tcp", t);
    }
    if let Some(d) = &w.deflate_story {
        json_record(out, "explain-deflate", d);
    }
    for f in &w.findings {
        json_record(out, "finding", f);
    }
    #[derive(Serialize)]
    struct PushEx<'a> {
        #[serde(flatten)]
        channel: &'a crate::push::PushRecord,
        timeline: &'a [crate::push::TimelineItem],
    }
    for p in &w.push {
        json_record(
            out,
            "explain-push",
            &PushEx {
                channel: p,
                timeline: &p.timeline,
            },
        );
    }
    #[derive(Serialize)]
    struct End<'a> {
        capture: &'a str,
        frames_shown: u64,
        frames_not_shown: u64,
        messages_not_listed: u64,
        findings_not_listed: u64,
        push_not_shown: usize,
        not_found: &'a Option<String>,
        shared_packets: &'a [PacketEx],
        split_frames: &'a [SplitEx],
    }
    json_record(
        out,
        "explain-end",
        &End {
            capture: &w.capture,
            frames_shown: w.frames_shown,
            frames_not_shown: w.frames_not_shown,
            messages_not_listed: w.messages_not_listed,
            findings_not_listed: w.findings_not_listed,
            push_not_shown: w.push_not_shown,
            not_found: &w.not_found,
            shared_packets: &w.shared_packets,
            split_frames: &w.split_frames,
        },
    );
}
