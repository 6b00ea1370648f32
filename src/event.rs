//! The typed event stream the library emits. Every output (table, JSON
//! lines, check, explain, push) is a consumer of these events; nothing is
//! parsed twice and nothing in the pipeline prints.
//!
//! Events borrow from the pipeline: a consumer copies what it keeps. A
//! [`Sink`] answers each event with [`ControlFlow`]: `Break` ends the run
//! (nothing more is read), which is how `| head -1` and write errors stop it.

use std::ops::ControlFlow;

use crate::findings::{Code, Dir, Finding};
use crate::handshake::Handshake;

pub use crate::app::AppRecord;
pub use crate::session::{Carrier, SessionRef};
pub use crate::sse::SseRecord;
pub use crate::ws::record::{DirStats, FrameRecord, MessageRecord};

/// The capture began: the time of its first packet (of any kind), the base
/// every relative time counts from, as tshark's.
#[derive(Debug, Clone, Copy)]
pub struct StartRecord {
    /// Seconds since the epoch.
    pub ts: f64,
}

/// How a connection ended up, for `conns`.
#[derive(Debug, Clone)]
pub struct ConnSummary {
    /// The connection (no stream).
    pub session: SessionRef,
    /// Its first packet.
    pub first_packet: u64,
    /// Its last packet.
    pub last_packet: u64,
    /// The time of its first packet.
    pub first_ts: f64,
    /// The time of its last packet.
    pub last_ts: f64,
    /// Whether any WebSocket traffic or handshake was seen.
    pub websocket: bool,
    /// Whether an upgrade request was seen.
    pub handshake_seen: bool,
    /// The status of the answer to the upgrade.
    pub status: Option<u16>,
    /// Whether Sec-WebSocket-Accept matched the key.
    pub accept_ok: Option<bool>,
    /// The upgrade's request target.
    pub path: Option<String>,
    /// The subprotocol the server chose.
    pub subprotocol: Option<String>,
    /// The extensions the server accepted.
    pub extensions: Option<String>,
    /// Per direction: 0 client to server, 1 server to client.
    pub stats: [DirStats; 2],
    /// The codes raised on this connection, in order.
    pub findings: Vec<Code>,
    /// The connection is TLS (and what its hellos said); `None` for plaintext.
    pub tls: Option<crate::tls::TlsInfo>,
}

/// An HTTP request or response head, on any connection and port.
#[derive(Debug)]
pub struct HttpHeadRecord<'a> {
    /// The connection (and stream, over HTTP/2).
    pub session: SessionRef,
    /// Request (client) or response (server).
    pub from: Dir,
    /// The packet that completed the head.
    pub packet: u64,
    /// Its time.
    pub ts: f64,
    /// The head.
    pub head: &'a crate::http::HttpHead,
    /// The connection's round-trip time, from its TCP handshake, when captured.
    pub rtt: Option<f64>,
}

/// Body bytes of the current HTTP message in one direction (de-chunked).
#[derive(Debug)]
pub struct HttpBodyRecord<'a> {
    /// The connection (and stream, over HTTP/2).
    pub session: SessionRef,
    /// Which way.
    pub from: Dir,
    /// The packet that brought them.
    pub packet: u64,
    /// Its time.
    pub ts: f64,
    /// The bytes.
    pub bytes: &'a [u8],
}

/// The current HTTP message in one direction ended (`complete`), or the
/// connection ended with it still open (not `complete`).
#[derive(Debug)]
pub struct HttpEndRecord {
    /// The connection (and stream, over HTTP/2).
    pub session: SessionRef,
    /// Which way.
    pub from: Dir,
    /// The packet where it ended.
    pub packet: u64,
    /// Its time.
    pub ts: f64,
    /// Whether the message ended as its framing said.
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
    /// A FIN.
    Fin,
    /// An RST.
    Rst,
}

impl TcpKind {
    /// `"SYN"`, `"SYN/ACK"`, ...
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
    /// The connection.
    pub session: SessionRef,
    /// Who sent it, once the client is known.
    pub from: Option<Dir>,
    /// Its packet.
    pub packet: u64,
    /// Its time.
    pub ts: f64,
    /// What it was.
    pub kind: TcpKind,
}

/// Any TCP segment of any connection, as on the wire (sent only when
/// [`crate::config::Config::segment_log`] asks for them: `explain` reads
/// its connection's acknowledgments and keepalives from them).
#[derive(Debug, Clone, Copy)]
pub struct SegmentRecord {
    /// The connection.
    pub session: SessionRef,
    /// Who sent it, once the client is known.
    pub from: Option<Dir>,
    /// Which side of the connection sent it: 0 sent its first packet.
    pub side: u8,
    /// Its packet.
    pub packet: u64,
    /// Its time.
    pub ts: f64,
    /// The sequence number.
    pub seq: u32,
    /// The acknowledgment number, when the ACK flag is set.
    pub ack: Option<u32>,
    /// The SYN flag.
    pub syn: bool,
    /// The FIN flag.
    pub fin: bool,
    /// The RST flag.
    pub rst: bool,
    /// The PSH flag.
    pub psh: bool,
    /// The window field as on the wire.
    pub window: u16,
    /// The window scale a SYN announced.
    pub wscale: Option<u8>,
    /// Payload bytes (the IP header's count, captured or not).
    pub len: u32,
}

/// An event of the pipeline.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// The capture's first packet was read (before any other event).
    Start(&'a StartRecord),
    /// A TCP control segment.
    Tcp(&'a TcpRecord),
    /// Any TCP segment (only with `Config::segment_log`).
    Segment(&'a SegmentRecord),
    /// A WebSocket opening handshake, judged (after its findings).
    Handshake(SessionRef, &'a Handshake),
    /// An HTTP head.
    HttpHead(&'a HttpHeadRecord<'a>),
    /// HTTP body bytes.
    HttpBody(&'a HttpBodyRecord<'a>),
    /// An HTTP message ended.
    HttpEnd(&'a HttpEndRecord),
    /// A WebSocket frame (after its findings).
    Frame(&'a FrameRecord<'a>),
    /// A WebSocket data message (after its last frame).
    Message(&'a MessageRecord<'a>),
    /// A Server-Sent Event, dispatched (from the SSE stage).
    Sse(&'a SseRecord),
    /// A finding, from any stage.
    Finding(&'a Finding),
    /// A subprotocol unit (MQTT packet, STOMP frame, Engine.IO packet,
    /// GraphQL message), decoded by the app stage.
    App(&'a AppRecord),
    /// A carrier layer's detail for teaching (TLS records, HTTP/2 frames),
    /// only when [`crate::config::Config::layers`] asks for it (`explain`).
    Layer(&'a crate::layer::LayerRecord),
    /// A connection ended (WebSocket and TLS connections only).
    ConnEnd(&'a ConnSummary),
}

/// Receives the event stream.
pub trait Sink {
    /// One event. `Break` ends the run: no more input is read and no more
    /// events are sent (write errors and consumers that have what they
    /// want, like `| head -1`).
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()>;

    /// An event a filter (`--filter`) withheld: not to be shown, but a
    /// sink that follows state across events (the type of an open
    /// fragmented message, for its continuations) notes it. By default
    /// nothing.
    fn withheld(&mut self, _ev: Event<'_>) {}

    /// The kinds of event it reads, as [`crate::stage::kinds`] bits (by
    /// default every kind). A producer may leave out the events of a kind
    /// no one wants rather than build them: the WebSocket decoder does so
    /// for data frames and messages, which `check` does not read. A sink
    /// that wraps another forwards its `wants`, with what it reads itself.
    /// It may change after any event (the answer is asked again).
    fn wants(&self) -> u32 {
        u32::MAX
    }
}

/// Any closure over events is a sink that never stops the run.
impl<F: FnMut(Event<'_>)> Sink for F {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        self(ev);
        ControlFlow::Continue(())
    }
}

/// Sends every event to two sinks; stops when either does.
pub struct Tee<'a>(pub &'a mut dyn Sink, pub &'a mut dyn Sink);

impl Sink for Tee<'_> {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        let a = self.0.event(ev);
        let b = self.1.event(ev);
        if a.is_break() || b.is_break() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }
    fn withheld(&mut self, ev: Event<'_>) {
        self.0.withheld(ev);
        self.1.withheld(ev);
    }
    fn wants(&self) -> u32 {
        self.0.wants() | self.1.wants()
    }
}

/// Turns a WebSocket decoder's output into events for a sink (for driving
/// a [`crate::ws::stream::WsDecoder`] by hand).
pub struct ToSink<'a>(pub &'a mut dyn Sink);

impl crate::ws::record::Output for ToSink<'_> {
    fn frame(&mut self, f: &FrameRecord<'_>) {
        let _ = self.0.event(Event::Frame(f));
    }
    fn message(&mut self, m: &MessageRecord<'_>) {
        let _ = self.0.event(Event::Message(m));
    }
    fn finding(&mut self, f: Finding) {
        let _ = self.0.event(Event::Finding(&f));
    }
    fn wants_frames(&mut self) -> bool {
        self.0.wants() & crate::stage::kinds::FRAME != 0
    }
    fn wants_messages(&mut self) -> bool {
        self.0.wants() & crate::stage::kinds::MESSAGE != 0
    }
}
