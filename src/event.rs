//! The typed event stream the library emits. Every output (table, JSON
//! lines, check, explain) is a consumer of these events; nothing is parsed
//! twice and nothing in the pipeline prints.

use std::net::SocketAddr;

use crate::findings::{Code, Dir, Finding};
use crate::handshake::Handshake;
use crate::ws::frame::{FrameHeader, OpCode};

/// Which connection an event belongs to, and who is client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnRef {
    pub id: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
}

/// One decoded frame.
#[derive(Debug)]
pub struct FrameRecord<'a> {
    pub conn: ConnRef,
    pub from: Dir,
    /// The packet whose arrival completed the frame, and its time.
    pub packet: u64,
    pub ts: f64,
    /// The packet that carried the frame's first byte.
    pub first_packet: u64,
    /// How many TCP segments carried the frame.
    pub segments: u32,
    /// Stream offset of the frame's first byte in its direction.
    pub offset: u64,
    pub header: FrameHeader,
    /// The raw header bytes as on the wire.
    pub header_bytes: &'a [u8],
    /// The unmasked payload as far as it was kept (all of it unless a cap
    /// or a gap intervened; see `payload_complete`).
    pub payload: &'a [u8],
    pub payload_complete: bool,
    /// The first payload bytes as on the wire (still masked), for teaching.
    pub masked_prefix: &'a [u8],
    /// For close frames with a payload of two bytes or more.
    pub close_code: Option<u16>,
    pub close_reason: Option<&'a [u8]>,
    pub findings: &'a [Code],
}

/// One reassembled (and, where compressed, inflated) data message.
#[derive(Debug)]
pub struct MessageRecord<'a> {
    pub conn: ConnRef,
    pub from: Dir,
    pub opcode: OpCode,
    pub frames: u32,
    pub first_packet: u64,
    pub last_packet: u64,
    pub first_ts: f64,
    pub last_ts: f64,
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
    pub findings: &'a [Code],
}

/// Per-direction counts for the connection summary.
#[derive(Debug, Clone, Default)]
pub struct DirStats {
    pub frames: u64,
    pub messages: u64,
    /// WebSocket payload bytes on the wire.
    pub payload_bytes: u64,
    pub close_code: Option<u16>,
    pub close_reason: Option<String>,
}

/// How a connection ended up, for `conns`.
#[derive(Debug, Clone)]
pub struct ConnSummary {
    pub conn: ConnRef,
    pub first_packet: u64,
    pub last_packet: u64,
    pub first_ts: f64,
    pub last_ts: f64,
    /// Whether any WebSocket traffic or handshake was seen.
    pub websocket: bool,
    pub handshake_seen: bool,
    pub status: Option<u16>,
    pub accept_ok: Option<bool>,
    pub path: Option<String>,
    pub subprotocol: Option<String>,
    pub extensions: Option<String>,
    pub stats: [DirStats; 2],
    pub findings: Vec<Code>,
    /// The connection is TLS (and what its hellos said); `None` for plaintext.
    pub tls: Option<crate::tls::TlsInfo>,
}

/// An HTTP/1.x request or response head, on any connection and port.
#[derive(Debug)]
pub struct HttpHeadRecord<'a> {
    pub conn: ConnRef,
    pub from: Dir,
    pub packet: u64,
    pub ts: f64,
    pub head: &'a crate::http::HttpHead,
    /// The connection's round-trip time, from its TCP handshake, when captured.
    pub rtt: Option<f64>,
}

/// Body bytes of the current HTTP message in one direction (de-chunked).
#[derive(Debug)]
pub struct HttpBodyRecord<'a> {
    pub conn: ConnRef,
    pub from: Dir,
    pub packet: u64,
    pub ts: f64,
    pub bytes: &'a [u8],
}

/// The current HTTP message in one direction ended (`complete`), or the
/// connection ended with it still open (not `complete`).
#[derive(Debug)]
pub struct HttpEndRecord {
    pub conn: ConnRef,
    pub from: Dir,
    pub packet: u64,
    pub ts: f64,
    pub complete: bool,
}

/// What a TCP control segment did, for drawing a connection's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpKind {
    /// The client's SYN (no ACK).
    Syn,
    /// The server's SYN/ACK.
    SynAck,
    /// The client's ACK that completed the three-way handshake.
    Ack,
    Fin,
    Rst,
}

impl TcpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TcpKind::Syn => "SYN",
            TcpKind::SynAck => "SYN/ACK",
            TcpKind::Ack => "ACK",
            TcpKind::Fin => "FIN",
            TcpKind::Rst => "RST",
        }
    }
}

/// A TCP control segment of any connection: the three-way handshake, a FIN
/// or an RST (retransmitted ones too), when its packet arrived.
#[derive(Debug, Clone, Copy)]
pub struct TcpRecord {
    pub conn: ConnRef,
    /// Who sent it, once the client is known.
    pub from: Option<Dir>,
    pub packet: u64,
    pub ts: f64,
    pub kind: TcpKind,
}

/// An event of the pipeline.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    Tcp(&'a TcpRecord),
    Handshake(ConnRef, &'a Handshake),
    HttpHead(&'a HttpHeadRecord<'a>),
    HttpBody(&'a HttpBodyRecord<'a>),
    HttpEnd(&'a HttpEndRecord),
    Frame(&'a FrameRecord<'a>),
    Message(&'a MessageRecord<'a>),
    Finding(&'a Finding),
    ConnEnd(&'a ConnSummary),
}

/// Receives the event stream.
pub trait Sink {
    fn event(&mut self, ev: Event<'_>);
    /// The time of the capture's first packet (of any kind), before any
    /// event: the base every relative time counts from, as tshark's.
    fn capture_start(&mut self, _ts: f64) {}
}

impl<F: FnMut(Event<'_>)> Sink for F {
    fn event(&mut self, ev: Event<'_>) {
        self(ev)
    }
}

/// Sends every event to two sinks.
pub struct Tee<'a>(pub &'a mut dyn Sink, pub &'a mut dyn Sink);

impl Sink for Tee<'_> {
    fn event(&mut self, ev: Event<'_>) {
        self.0.event(ev);
        self.1.event(ev);
    }
    fn capture_start(&mut self, ts: f64) {
        self.0.capture_start(ts);
        self.1.capture_start(ts);
    }
}
