//! Carriers: the byte-stream protocol of one TCP connection, both
//! directions. The flow table ([`crate::flow`]) hands each connection's
//! reassembled bytes to its [`Host`], which picks a carrier by its first
//! bytes (a registered [`Probe`] each) and feeds it from then on.
//!
//! - [`http1`]: HTTP/1.x, with the WebSocket upgrade as a state transition,
//!   and WebSocket streams whose start the capture lacks.
//! - [`tls`]: TLS, recognised by its hellos (or records, mid-stream).
//!
//! A carrier may hand its connection over to another ([`Cx::hand_over`]):
//! the HTTP/1.1 carrier does when a stream caught mid-way turns out to be
//! TLS records. To add a carrier: write it in its own file here and add its
//! probe to [`PROBES`]. A carrier that wraps another (TLS around HTTP) runs
//! [`probe`] over its plaintext; one that splits a connection into
//! sessions (HTTP/2) gives each its own [`SessionRef`].

pub mod h2;
pub mod http1;
pub mod tls;

use std::net::SocketAddr;
use std::ops::ControlFlow;

use crate::config::Config;
use crate::event::{ConnSummary, Event, Sink};
use crate::findings::{Code, Dir, Finding, Location};
use crate::session::SessionRef;
use crate::tcp::{Chunk, GapKind};
use crate::ws::record::{FrameRecord, MessageRecord, Output};
use crate::ws::session::Pings;
use crate::ws::stream::Ctx;

/// Capture findings held per connection before it shows itself to be
/// something we decode.
const MAX_DEFERRED: usize = 32;

/// What is known of a connection whatever carries it.
///
/// `repr(C)`: what every segment reads first (see `flow::Conn`).
#[derive(Debug)]
#[repr(C)]
pub struct Link {
    /// Which side is the client, once known.
    pub client_side: Option<usize>,
    /// WebSocket traffic or a handshake was seen.
    pub websocket: bool,
    /// Each side's SYN was seen: its stream offsets count from its start.
    pub start_seen: [bool; 2],
    /// `deferred` holds findings (read on every WebSocket segment, where
    /// the list itself lies in a colder line).
    any_deferred: bool,
    /// The connection's last packet so far, and its time.
    pub last_packet: u64,
    /// See `last_packet`.
    pub last_ts: f64,
    /// The connection's id, counted from 0 in order of first packet.
    pub id: u64,
    /// Addresses by side: side 0 sent the connection's first packet.
    pub addr: [SocketAddr; 2],
    /// TCP handshake times (SYN, SYN/ACK, the client's ACK), for the RTT.
    pub syn_ts: [Option<f64>; 3],
    /// The connection's first packet, and its time.
    pub first_packet: u64,
    /// See `first_packet`.
    pub first_ts: f64,
    /// The codes raised on the connection (for its summary).
    pub findings: Vec<Code>,
    /// Capture findings seen before the connection showed itself to be
    /// WebSocket; reported if it does, dropped if it never does.
    deferred: Vec<Finding>,
}

impl Link {
    /// A connection first seen at `packet`.
    pub fn new(id: u64, addr: [SocketAddr; 2], packet: u64, ts: f64) -> Self {
        Link {
            id,
            addr,
            client_side: None,
            start_seen: [false; 2],
            first_packet: packet,
            last_packet: packet,
            first_ts: ts,
            last_ts: ts,
            syn_ts: [None; 3],
            findings: Vec::new(),
            websocket: false,
            deferred: Vec::new(),
            any_deferred: false,
        }
    }

    /// The connection as a session reference (client first when known).
    pub fn session(&self) -> SessionRef {
        let c = self.client_side.unwrap_or(0);
        SessionRef::conn(self.id, self.addr[c], self.addr[1 - c])
    }

    /// The role of `side`, once the client is known.
    pub fn dir_of(&self, side: usize) -> Option<Dir> {
        self.client_side
            .map(|c| if c == side { Dir::Client } else { Dir::Server })
    }

    /// The round-trip time from the TCP handshake: SYN to the client's ACK
    /// (right wherever the capture was taken).
    pub fn rtt(&self) -> Option<f64> {
        match self.syn_ts {
            [Some(a), Some(_), Some(c)] if c >= a => Some(c - a),
            _ => None,
        }
    }
}

/// What a carrier is handed with each call: the connection, the packet
/// being processed, the caps, and where its events go.
pub struct Cx<'a> {
    /// The connection.
    pub link: &'a mut Link,
    /// The packet whose arrival delivered the bytes.
    pub packet: u64,
    /// Its time.
    pub ts: f64,
    /// Caps and what the consumer wants kept.
    pub cfg: &'a Config,
    /// Where events go (the stages, then the consumer).
    pub out: &'a mut dyn Sink,
    handover: Option<Box<dyn Carrier>>,
}

impl<'a> Cx<'a> {
    /// A context for one call into a carrier.
    pub fn new(
        link: &'a mut Link,
        packet: u64,
        ts: f64,
        cfg: &'a Config,
        out: &'a mut dyn Sink,
    ) -> Self {
        Cx {
            link,
            packet,
            ts,
            cfg,
            out,
            handover: None,
        }
    }

    /// Sends an event on. A consumer's request to stop is kept by the
    /// pipeline, which reads no further.
    pub fn emit(&mut self, ev: Event<'_>) {
        let _: ControlFlow<()> = self.out.event(ev);
    }

    /// Reports a finding on this connection (and counts it for its summary).
    pub fn report(&mut self, f: Finding) {
        self.link.findings.push(f.code);
        self.emit(Event::Finding(&f));
    }

    /// Reports a finding on the connection at the current packet.
    pub fn finding(
        &mut self,
        code: Code,
        from: Option<Dir>,
        packet: u64,
        offset: Option<u64>,
        message: String,
    ) {
        let at = Location::session(self.link.session())
            .from(from)
            .packet(packet)
            .offset(offset);
        self.report(Finding::new(code, at, message));
    }

    #[inline]
    /// The connection proved to carry WebSocket: capture findings held
    /// back are reported now.
    pub fn proven_websocket(&mut self) {
        self.link.websocket = true;
        if self.link.any_deferred {
            self.link.any_deferred = false;
            for f in std::mem::take(&mut self.link.deferred) {
                self.report(f);
            }
        }
    }

    /// Hands the connection over to `next`, which receives the bytes of
    /// the current call again (the caller must not have used them).
    pub fn hand_over(&mut self, next: Box<dyn Carrier>) {
        self.handover = Some(next);
    }
}

/// Turns a WebSocket decoder's output into events of the connection; with
/// `pings`, each pong is paired with the ping it answers.
struct WsOut<'a, 'b> {
    cx: &'a mut Cx<'b>,
    pings: Option<&'a mut Pings>,
    /// The consumer's [`Sink::wants`], asked once a call.
    wants: Option<u32>,
}

impl WsOut<'_, '_> {
    fn wants(&mut self) -> u32 {
        *self.wants.get_or_insert_with(|| self.cx.out.wants())
    }
}

impl Output for WsOut<'_, '_> {
    fn frame(&mut self, f: &FrameRecord<'_>) {
        match self.pings.as_deref_mut() {
            Some(p) => {
                let answers = p.frame(f);
                self.cx.emit(Event::Frame(&FrameRecord { answers, ..*f }));
            }
            None => self.cx.emit(Event::Frame(f)),
        }
    }
    fn message(&mut self, m: &MessageRecord<'_>) {
        self.cx.emit(Event::Message(m));
    }
    fn finding(&mut self, f: Finding) {
        self.cx.report(f);
    }
    fn wants_frames(&mut self) -> bool {
        self.wants() & crate::stage::kinds::FRAME != 0
    }
    fn wants_messages(&mut self) -> bool {
        self.wants() & crate::stage::kinds::MESSAGE != 0
    }
}

/// Runs `f` with a WebSocket decoder context for one direction of
/// `session` (`sender` to `receiver`, `from` when the role is known): how
/// every carrier drives a [`crate::ws::stream::WsDecoder`].
pub fn ws_call<T>(
    cx: &mut Cx<'_>,
    pings: Option<&mut Pings>,
    session: SessionRef,
    from: Option<Dir>,
    (sender, receiver): (SocketAddr, SocketAddr),
    f: impl FnOnce(&mut Ctx<'_>) -> T,
) -> T {
    let (packet, ts, cfg) = (cx.packet, cx.ts, cx.cfg);
    let mut out = WsOut {
        cx,
        pings,
        wants: None,
    };
    let mut w = Ctx {
        session,
        from,
        sender,
        receiver,
        packet,
        ts,
        cfg,
        out: &mut out,
    };
    f(&mut w)
}

/// A byte-stream protocol on one TCP connection, both directions. Sides
/// are 0 and 1 ([`Link::addr`]); [`Link::client_side`] says which is the
/// client once anyone knows.
pub trait Carrier {
    /// Bytes of one side, in stream order, starting at stream `offset`.
    fn data(&mut self, cx: &mut Cx<'_>, side: usize, offset: u64, bytes: &[u8]);
    /// `len` bytes of one side at `offset` are missing from the capture.
    fn gap(&mut self, cx: &mut Cx<'_>, side: usize, offset: u64, len: u64, kind: GapKind);
    /// The connection ended (or the capture did).
    fn finish(&mut self, cx: &mut Cx<'_>);
    /// Whether what `side` carries is decoded (then lost bytes and
    /// retransmission conflicts on it are reported at once).
    fn decodes(&self, side: usize) -> bool;
    /// Fills the connection's summary; whether it gets a `conns` row.
    fn summarize(&self, link: &Link, s: &mut ConnSummary) -> bool;
    /// Bytes held waiting for more (counted in the capture-wide budget).
    fn held(&self) -> usize {
        0
    }
    /// The capture-wide budget is spent: let go of what is held.
    fn release_held(&mut self) {}
}

/// A probe's test: the first bytes `bytes` of `side` (`from_start` when
/// the side's SYN was seen and nothing before is missing), at `packet`.
/// May settle [`Link::client_side`].
pub type ProbeFn = fn(
    link: &mut Link,
    side: usize,
    bytes: &[u8],
    from_start: bool,
    packet: u64,
) -> Option<Box<dyn Carrier>>;

/// Recognises a carrier by the first bytes of one side.
pub struct Probe {
    /// The carrier's name.
    pub name: &'static str,
    /// Looks at the first bytes `bytes` of `side` (at stream `offset`;
    /// `from_start` when the side's SYN was seen and nothing before is
    /// missing). May settle [`Link::client_side`].
    pub probe: ProbeFn,
}

/// Every carrier, tried in order. A side none recognises from its start
/// is left alone (the other side may still be recognised).
pub const PROBES: &[Probe] = &[tls::PROBE, h2::PROBE, http1::PROBE];

/// The carrier for a connection whose `side` starts with `bytes`, if any
/// recognises it.
pub fn probe(
    link: &mut Link,
    side: usize,
    bytes: &[u8],
    from_start: bool,
    packet: u64,
) -> Option<Box<dyn Carrier>> {
    PROBES
        .iter()
        .find_map(|p| (p.probe)(link, side, bytes, from_start, packet))
}

/// One connection: what is known of it and the carrier that decodes it.
///
/// `repr(C)`: what every segment reads first (see `flow::Conn`).
#[repr(C)]
pub struct Host {
    carrier: Option<Box<dyn Carrier>>,
    /// Sides whose start no carrier recognised: their bytes are dropped.
    mute: [bool; 2],
    /// What is known whatever carries it.
    pub link: Link,
}

impl Host {
    /// A connection first seen at `packet`, carrier unknown.
    pub fn new(link: Link) -> Self {
        Host {
            link,
            carrier: None,
            mute: [false; 2],
        }
    }

    /// Bytes held for later by the carrier.
    pub fn held(&self) -> usize {
        self.carrier.as_ref().map_or(0, |c| c.held())
    }

    /// The capture-wide budget is spent.
    pub fn release_held(&mut self) {
        if let Some(c) = self.carrier.as_mut() {
            c.release_held();
        }
    }

    /// Whether lost bytes on `side` matter.
    pub fn decodes(&self, side: usize) -> bool {
        self.link.websocket || self.carrier.as_ref().is_some_and(|c| c.decodes(side))
    }

    /// Hands a reassembled chunk (or a gap) of one side to the carrier.
    pub fn deliver(
        &mut self,
        side: usize,
        chunk: Chunk<'_>,
        packet: u64,
        ts: f64,
        cfg: &Config,
        out: &mut dyn Sink,
    ) {
        match chunk {
            Chunk::Data { offset, bytes } => {
                if self.mute[side] {
                    return;
                }
                // The common case: a carrier that keeps the connection.
                if let Some(carrier) = self.carrier.as_mut() {
                    let mut cx = Cx::new(&mut self.link, packet, ts, cfg, out);
                    carrier.data(&mut cx, side, offset, bytes);
                    let Some(next) = cx.handover.take() else {
                        return;
                    };
                    self.carrier = Some(next);
                    // The same bytes to the next carrier (at most twice more).
                    self.data_again(side, offset, bytes, packet, ts, cfg, out);
                    return;
                }
                if self.carrier.is_none() {
                    let from_start = self.link.start_seen[side] && offset == 0;
                    match probe(&mut self.link, side, bytes, from_start, packet) {
                        Some(c) => self.carrier = Some(c),
                        None => {
                            self.mute[side] = true;
                            return;
                        }
                    }
                }
                // A hand-over gives the same bytes to the next carrier (at most twice).
                for _ in 0..3 {
                    let Some(carrier) = self.carrier.as_mut() else {
                        return;
                    };
                    let mut cx = Cx::new(&mut self.link, packet, ts, cfg, out);
                    carrier.data(&mut cx, side, offset, bytes);
                    match cx.handover.take() {
                        Some(next) => self.carrier = Some(next),
                        None => break,
                    }
                }
            }
            Chunk::Gap { offset, len, kind } => {
                self.gap_findings(side, offset, len, kind, packet, cfg, out);
                if self.mute[side] {
                    return;
                }
                let carrier = match self.carrier.take() {
                    Some(c) => Some(c),
                    // The side's start is lost: the carrier for a stream caught mid-way.
                    None => probe(&mut self.link, side, &[], false, packet),
                };
                if let Some(mut carrier) = carrier {
                    let mut cx = Cx::new(&mut self.link, packet, ts, cfg, out);
                    carrier.gap(&mut cx, side, offset, len, kind);
                    self.carrier = Some(carrier);
                }
            }
        }
    }

    /// Gives the bytes of a call to the carrier they were handed over to
    /// (which may hand them over once more).
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    fn data_again(
        &mut self,
        side: usize,
        offset: u64,
        bytes: &[u8],
        packet: u64,
        ts: f64,
        cfg: &Config,
        out: &mut dyn Sink,
    ) {
        for _ in 0..2 {
            let Some(carrier) = self.carrier.as_mut() else {
                return;
            };
            let mut cx = Cx::new(&mut self.link, packet, ts, cfg, out);
            carrier.data(&mut cx, side, offset, bytes);
            match cx.handover.take() {
                Some(next) => self.carrier = Some(next),
                None => break,
            }
        }
    }

    /// Reports lost bytes, or holds the findings back until the connection
    /// shows itself to be something we decode.
    #[allow(clippy::too_many_arguments)]
    fn gap_findings(
        &mut self,
        side: usize,
        offset: u64,
        len: u64,
        kind: GapKind,
        packet: u64,
        cfg: &Config,
        out: &mut dyn Sink,
    ) {
        let from = self.link.dir_of(side);
        let (code, why) = match kind {
            GapKind::Lost => (Code::TcpGap, "were never captured"),
            GapKind::Snapped => (
                Code::TcpTruncated,
                "were cut off by the capture's snapshot length",
            ),
            GapKind::Overflow => (
                Code::TcpGap,
                "were skipped because the out-of-order buffer filled while waiting for them",
            ),
        };
        let msg = format!(
            "{len} bytes at stream offset {offset} from the {} {why}",
            from.map_or("peer", Dir::as_str)
        );
        let mut found = vec![(code, msg)];
        if kind == GapKind::Overflow {
            found.push((
                Code::LimitReached,
                format!(
                    "an out-of-order buffer cap ({} bytes per stream, {} in all) was reached",
                    cfg.max_ooo_bytes, cfg.max_ooo_total
                ),
            ));
        }
        let report = self.decodes(side);
        let at = Location::session(self.link.session())
            .from(from)
            .packet(packet)
            .offset(Some(offset));
        for (code, msg) in found {
            let f = Finding::new(code, at, msg);
            if report {
                self.link.findings.push(code);
                let _ = out.event(Event::Finding(&f));
            } else if self.link.deferred.len() < MAX_DEFERRED {
                self.link.deferred.push(f);
                self.link.any_deferred = true;
            }
        }
    }

    /// A retransmission carried different bytes than the first copy.
    pub fn overlap_conflict(
        &mut self,
        side: usize,
        offset: u64,
        len: u64,
        packet: u64,
        out: &mut dyn Sink,
    ) {
        if self.decodes(side) {
            let from = self.link.dir_of(side);
            let at = Location::session(self.link.session())
                .from(from)
                .packet(packet)
                .offset(Some(offset));
            self.link.findings.push(Code::TcpOverlapConflict);
            let f = Finding::new(
                Code::TcpOverlapConflict,
                at,
                format!(
                    "a retransmitted segment carries {len} bytes at stream offset {offset} that differ from the first copy; the first copy is kept"
                ),
            );
            let _ = out.event(Event::Finding(&f));
        }
    }

    /// The connection ended: the carrier finishes, and the summary goes out
    /// when the connection is one we decode.
    pub fn finish(&mut self, packet: u64, ts: f64, cfg: &Config, out: &mut dyn Sink) {
        let Some(mut carrier) = self.carrier.take() else {
            return;
        };
        let mut cx = Cx::new(&mut self.link, packet, ts, cfg, out);
        carrier.finish(&mut cx);
        let l = &self.link;
        let mut s = ConnSummary {
            session: l.session(),
            first_packet: l.first_packet,
            last_packet: l.last_packet,
            first_ts: l.first_ts,
            last_ts: l.last_ts,
            websocket: l.websocket,
            handshake_seen: false,
            status: None,
            accept_ok: None,
            path: None,
            subprotocol: None,
            extensions: None,
            stats: Default::default(),
            findings: l.findings.clone(),
            tls: None,
        };
        if carrier.summarize(l, &mut s) {
            let _ = out.event(Event::ConnEnd(&s));
        }
    }
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    /// `flow::Conn` counts on the carrier's pointer coming first in
    /// `Host` (its test `a_segments_tcp_state_and_carrier_lie_in_two_lines`).
    #[test]
    fn the_carrier_pointer_comes_first_in_host() {
        assert_eq!(std::mem::offset_of!(Host, carrier), 0);
    }
}
