//! The pipeline: capture -> packet -> tcp -> http -> ws, emitting events.
//!
//! Memory follows the number of open connections and what each must hold
//! (out-of-order bytes, one frame, one message), never the capture's size.

use std::collections::VecDeque;

use foldhash::HashMap;
use std::io::Read;
use std::net::SocketAddr;

use crate::capture::{self, CaptureSummary, NotACapture, Record};
use crate::config::Config;
use crate::event::{
    ConnRef, ConnSummary, Event, HttpBodyRecord, HttpEndRecord, HttpHeadRecord, Sink,
};
use crate::findings::{Code, Dir, Finding};
use crate::handshake::{self, Handshake};
use crate::http::{BodyMode, HttpError, HttpEvent, HttpHead, HttpParser};
use crate::packet::{self, Decoded, Segment};
use crate::tcp::{Chunk, GapKind, HalfStream, TcpNote};
use crate::tls::{self, TlsInfo, TlsSide};
use crate::ws::stream::{Ctx, WsDecoder};

/// What a direction's bytes are, as far as we know.
enum Proto {
    /// Nothing seen yet.
    Unknown,
    Http(HttpParser),
    /// The client sent an upgrade request; its next bytes wait for the answer.
    AwaitUpgrade,
    Ws(Box<WsDecoder>),
    /// TLS: recognised, its hellos read, nothing inside decoded.
    Tls(Box<TlsSide>),
    /// Not something we decode.
    Ignore,
}

#[derive(Debug, Clone, Copy)]
struct PendingRequest {
    head_method: bool,
    upgrade: bool,
}

/// Everything about a connection but its TCP reassembly.
struct ConnState {
    id: u64,
    /// Addresses by side: side 0 sent the connection's first packet.
    addr: [SocketAddr; 2],
    /// Which side is the client, once known.
    client_side: Option<usize>,
    proto: [Proto; 2],
    handshake: Option<Box<Handshake>>,
    handshake_emitted: bool,
    requests: VecDeque<PendingRequest>,
    pending_client: Vec<u8>,
    pending_overflow: bool,
    first_packet: u64,
    last_packet: u64,
    first_ts: f64,
    last_ts: f64,
    findings: Vec<Code>,
    websocket: bool,
    no_handshake_warned: bool,
    /// Bytes before the WebSocket frames were cut by the snapshot length
    /// (a snapped upgrade), as opposed to never captured.
    head_snapped: bool,
    /// TCP handshake times (SYN, SYN/ACK, the client's ACK), for the RTT.
    syn_ts: [Option<f64>; 3],
    /// Capture findings seen before the connection showed itself to be
    /// WebSocket; reported if it does, dropped if it never does.
    deferred: Vec<Finding>,
    /// Each side's SYN was seen: its stream offsets count from its start.
    start_seen: [bool; 2],
    /// The connection carries TLS (and the packet that showed it).
    tls: Option<(Box<TlsInfo>, u64)>,
}

/// Capture findings held per connection before it is known to be WebSocket.
const MAX_DEFERRED: usize = 32;

struct Conn {
    tcp: [HalfStream; 2],
    st: ConnState,
    rst: bool,
    /// Finalised: kept only so that stray packets do not open a new one.
    closed: bool,
}

/// Per-packet context handed down.
struct PacketCx<'a> {
    number: u64,
    ts: f64,
    cfg: &'a Config,
}

/// Runs the pipeline over one capture.
pub struct Analyzer<'c> {
    cfg: &'c Config,
    /// Live connections, boxed: the table stays small (a connection's
    /// state is some 600 bytes) and growing it copies pointers only.
    conns: HashMap<(SocketAddr, SocketAddr), Box<Conn>>,
    next_id: u64,
    notes: Vec<TcpNote>,
    unsupported_links: Vec<i32>,
    /// IP fragments of datagrams carrying TCP, being put back together.
    defrag: crate::defrag::Defragmenter,
    /// Which kinds of given-up datagram were reported (one finding each).
    frag_reported: [bool; 3],
    last_packet: u64,
    /// Out-of-order bytes held by all streams.
    ooo_total: usize,
    /// Port pairs of ended connections (by id), so that their stray packets
    /// do not open a new one; at most MAX_TOMBS, the oldest forgotten first.
    tombs: HashMap<(SocketAddr, SocketAddr), u64>,
    tomb_order: VecDeque<((SocketAddr, SocketAddr), u64)>,
}

/// Ended connections remembered (a few dozen bytes each).
const MAX_TOMBS: usize = 100_000;

fn flow_key(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b { (a, b) } else { (b, a) }
}

/// Reads a whole capture and sends its events to `sink`.
pub fn analyze<R: Read + Send>(
    input: R,
    cfg: &Config,
    sink: &mut dyn Sink,
) -> Result<CaptureSummary, NotACapture> {
    let mut a = Analyzer::new(cfg);
    let mut started = false;
    let summary = capture::read_capture(input, |rec| {
        if !started {
            started = true;
            sink.capture_start(rec.ts.as_f64());
        }
        a.record(rec, sink)
    })?;
    a.finish(sink);
    if let Some(p) = &summary.problem {
        let f = Finding {
            code: Code::CaptureTruncated,
            conn: None,
            from: None,
            packet: p.after_packet,
            offset: None,
            message: format!(
                "the capture file is damaged after packet {}: {}; everything before was decoded",
                p.after_packet, p.message
            ),
        };
        sink.event(Event::Finding(&f));
    }
    Ok(summary)
}

impl<'c> Analyzer<'c> {
    pub fn new(cfg: &'c Config) -> Self {
        Analyzer {
            cfg,
            conns: HashMap::default(),
            next_id: 0,
            notes: Vec::new(),
            unsupported_links: Vec::new(),
            defrag: crate::defrag::Defragmenter::default(),
            frag_reported: [false; 3],
            last_packet: 0,
            ooo_total: 0,
            tombs: HashMap::default(),
            tomb_order: VecDeque::new(),
        }
    }

    /// One capture record.
    pub fn record(&mut self, rec: &Record<'_>, sink: &mut dyn Sink) {
        self.last_packet = rec.number;
        match packet::decode(rec.link, rec.data) {
            Decoded::Tcp(seg) => self.segment(&seg, rec.number, rec.ts.as_f64(), sink),
            Decoded::UnsupportedLink(l) => {
                if !self.unsupported_links.contains(&l) && self.unsupported_links.len() < 16 {
                    self.unsupported_links.push(l);
                    let f = Finding {
                        code: Code::CaptureUnsupportedLink,
                        conn: None,
                        from: None,
                        packet: rec.number,
                        offset: None,
                        message: format!("link type {l} is not supported; its packets are skipped"),
                    };
                    sink.event(Event::Finding(&f));
                }
            }
            Decoded::IpFragment(frag) => {
                let ts = rec.ts.as_f64();
                let mut notes = Vec::new();
                let whole = self
                    .defrag
                    .add(&frag, rec.number, ts, &mut |n| notes.push(n));
                for n in notes {
                    self.frag_dropped(&n, sink);
                }
                if let Some(data) = whole {
                    // The datagram is numbered by the packet that completed it.
                    if let Decoded::Tcp(seg) = packet::reassembled_tcp(frag.src, frag.dst, &data) {
                        self.segment(&seg, rec.number, ts, sink);
                    }
                    self.defrag.recycle(data);
                }
            }
            Decoded::Other | Decoded::Malformed(_) => {}
        }
    }

    /// Reports a fragmented datagram that was given up (the first of each kind).
    fn frag_dropped(&mut self, n: &crate::defrag::DropNote, sink: &mut dyn Sink) {
        use crate::defrag::Dropped;
        let (i, code, what) = match n.why {
            Dropped::Incomplete => (
                0,
                Code::CaptureIpFragment,
                "a fragmented IP datagram carrying TCP never completed",
            ),
            Dropped::Evicted => (
                1,
                Code::LimitReached,
                "too many fragmented IP datagrams pending at once; the oldest was dropped",
            ),
            Dropped::Invalid => (
                2,
                Code::CaptureIpFragment,
                "the fragments of an IP datagram carrying TCP do not fit together; it was dropped, as receivers do",
            ),
        };
        if std::mem::replace(&mut self.frag_reported[i], true) {
            return;
        }
        let f = Finding {
            code,
            conn: None,
            from: None,
            packet: n.first_packet,
            offset: None,
            message: format!(
                "{what} (first fragment in packet {}, given up at packet {}: {}); its bytes are missing",
                n.first_packet, n.packet, n.detail
            ),
        };
        sink.event(Event::Finding(&f));
    }

    fn segment(&mut self, seg: &Segment<'_>, number: u64, ts: f64, sink: &mut dyn Sink) {
        let key = flow_key(seg.src, seg.dst);
        // The common case, one hash lookup: a segment of a known connection
        // that cannot start a new one.
        if !seg.syn
            && let Some(conn) = self.conns.get_mut(&key)
        {
            drive(
                conn,
                seg,
                number,
                ts,
                self.cfg,
                &mut self.notes,
                &mut self.ooo_total,
                sink,
            );
            if conn.closed {
                self.bury(key);
            }
            return;
        }
        if self.tombs.contains_key(&key) {
            if !seg.syn {
                return; // a stray packet of a connection that ended
            }
            self.tombs.remove(&key); // a new connection on the port pair
        }
        let pure_syn = seg.syn && seg.ack.is_none();
        // A new connection on a used port pair (or a stale entry).
        let reuse = match self.conns.get(&key) {
            Some(c) if c.closed => seg.syn,
            Some(c) if seg.syn => {
                let side = usize::from(c.st.addr[0] != seg.src);
                pure_syn && c.tcp[side].saw_syn && c.tcp[side].next_offset() > 0
                    || pure_syn && side == 1 && c.st.client_side == Some(0)
            }
            _ => false,
        };
        if reuse
            && let Some(mut old) = self.conns.remove(&key)
            && !old.closed
        {
            finalize(self.cfg, &mut old, number, ts, sink);
        }
        if !self.conns.contains_key(&key) {
            if self.conns.len() >= self.cfg.max_connections {
                self.evict(number, ts, sink);
            }
            let id = self.next_id;
            self.next_id += 1;
            self.conns.insert(
                key,
                Box::new(Conn {
                    tcp: [HalfStream::default(), HalfStream::default()],
                    st: ConnState::new(id, [seg.src, seg.dst], number, ts),
                    rst: false,
                    closed: false,
                }),
            );
        }
        if let Some(conn) = self.conns.get_mut(&key) {
            drive(
                conn,
                seg,
                number,
                ts,
                self.cfg,
                &mut self.notes,
                &mut self.ooo_total,
                sink,
            );
            if conn.closed {
                self.bury(key);
            }
        }
    }

    /// Replaces an ended connection by its port pair alone: its state is
    /// freed, and its stray packets are still recognised.
    fn bury(&mut self, key: (SocketAddr, SocketAddr)) {
        let Some(c) = self.conns.remove(&key) else {
            return;
        };
        self.tombs.insert(key, c.st.id);
        self.tomb_order.push_back((key, c.st.id));
        while self.tomb_order.len() > MAX_TOMBS {
            if let Some((k, id)) = self.tomb_order.pop_front()
                && self.tombs.get(&k) == Some(&id)
            {
                self.tombs.remove(&k);
            }
        }
    }

    /// Makes room by finalising the least recently active connection.
    fn evict(&mut self, number: u64, ts: f64, sink: &mut dyn Sink) {
        let victim = self
            .conns
            .iter()
            .min_by_key(|(_, c)| (!c.closed, c.st.last_packet))
            .map(|(k, _)| *k);
        if let Some(k) = victim
            && let Some(mut c) = self.conns.remove(&k)
            && !c.closed
        {
            self.ooo_total = self.ooo_total.saturating_sub(c.held());
            let f = Finding {
                code: Code::LimitReached,
                conn: Some(c.st.id),
                from: None,
                packet: number,
                offset: None,
                message: format!(
                    "more than {} connections are open at once; the least recently active one is closed early",
                    self.cfg.max_connections
                ),
            };
            sink.event(Event::Finding(&f));
            self.finalize(&mut c, number, ts, sink);
        }
    }

    fn finalize(&mut self, conn: &mut Conn, number: u64, ts: f64, sink: &mut dyn Sink) {
        finalize(self.cfg, conn, number, ts, sink);
    }

    /// The capture ended: every open connection is finalised, in id order.
    pub fn finish(&mut self, sink: &mut dyn Sink) {
        let mut notes = Vec::new();
        self.defrag.finish(self.last_packet, &mut |n| notes.push(n));
        for n in notes {
            self.frag_dropped(&n, sink);
        }
        let mut conns: Vec<Box<Conn>> = self
            .conns
            .drain()
            .map(|(_, c)| c)
            .filter(|c| !c.closed)
            .collect();
        conns.sort_by_key(|c| c.st.id);
        for mut c in conns {
            let (n, t) = (c.st.last_packet, c.st.last_ts);
            self.finalize(&mut c, n, t, sink);
        }
    }
}

/// Flushes a connection's streams and ends its decoders.
fn finalize(cfg: &Config, conn: &mut Conn, number: u64, ts: f64, sink: &mut dyn Sink) {
    let pcx = PacketCx { number, ts, cfg };
    let Conn { tcp, st, .. } = conn;
    for (side, t) in tcp.iter_mut().enumerate() {
        t.flush(&mut |c| st.deliver(side, c, &pcx, sink));
    }
    st.finish(&pcx, sink);
}

/// Feeds one segment to its connection; a connection that ends (RST, or
/// FIN both ways) is finalised and left as a tombstone.
#[allow(clippy::too_many_arguments)]
fn drive(
    conn: &mut Conn,
    seg: &Segment<'_>,
    number: u64,
    ts: f64,
    cfg: &Config,
    notes: &mut Vec<TcpNote>,
    ooo_total: &mut usize,
    sink: &mut dyn Sink,
) {
    if conn.closed {
        return;
    }
    let before = conn.held();
    drive_segment(conn, seg, number, ts, cfg, notes, sink);
    let mut after = conn.held();
    *ooo_total = ooo_total.saturating_sub(before) + after;
    if *ooo_total > cfg.max_ooo_total && after > 0 {
        // The capture-wide budget is spent: this connection stops waiting.
        let pcx = PacketCx { number, ts, cfg };
        let Conn { tcp, st, .. } = conn;
        for (side, t) in tcp.iter_mut().enumerate() {
            t.give_up(&mut |c| st.deliver(side, c, &pcx, sink));
        }
        for p in &mut st.proto {
            match p {
                Proto::Ws(d) => d.drop_hunt(),
                Proto::Tls(t) => t.gap(),
                _ => {}
            }
        }
        *ooo_total -= after;
        after = conn.held();
        *ooo_total += after;
    }
}

impl Conn {
    /// Out-of-order bytes this connection holds (and bytes held by a frame
    /// hunt on a stream caught mid-way, or for a TLS hello not yet whole).
    fn held(&self) -> usize {
        let hunt: usize = self
            .st
            .proto
            .iter()
            .map(|p| match p {
                Proto::Ws(d) => d.hunt_held(),
                Proto::Tls(t) => t.held(),
                _ => 0,
            })
            .sum();
        self.tcp[0].pending_bytes() + self.tcp[1].pending_bytes() + hunt
    }
}

fn drive_segment(
    conn: &mut Conn,
    seg: &Segment<'_>,
    number: u64,
    ts: f64,
    cfg: &Config,
    notes: &mut Vec<TcpNote>,
    sink: &mut dyn Sink,
) {
    let pure_syn = seg.syn && seg.ack.is_none();
    let side = usize::from(conn.st.addr[0] != seg.src);
    conn.st.last_packet = number;
    conn.st.last_ts = ts;
    let pcx = PacketCx { number, ts, cfg };
    if pure_syn && conn.st.client_side.is_none() {
        conn.st.client_side = Some(side);
    }
    let t = &mut conn.st.syn_ts;
    let mut kind = None;
    if pure_syn {
        t[0] = Some(ts);
        kind = Some(crate::event::TcpKind::Syn);
    } else if seg.syn && t[0].is_some() {
        t[1] = Some(ts);
        kind = Some(crate::event::TcpKind::SynAck);
    } else if t[1].is_some() && t[2].is_none() && conn.st.client_side == Some(side) {
        t[2] = Some(ts);
        kind = Some(crate::event::TcpKind::Ack);
    }
    // The connection's life as explain draws it: handshake, FIN, RST.
    if let Some(kind) = kind
        .or(seg.rst.then_some(crate::event::TcpKind::Rst))
        .or(seg.fin.then_some(crate::event::TcpKind::Fin))
    {
        sink.event(Event::Tcp(&crate::event::TcpRecord {
            conn: conn.st.conn_ref(),
            from: conn.st.dir_of(side),
            packet: number,
            ts,
            kind,
        }));
    }
    let Conn { tcp, st, .. } = conn;
    if let Some(ack) = seg.ack {
        let other = 1 - side;
        tcp[other].peer_ack(ack, &mut |c| st.deliver(other, c, &pcx, sink));
    }
    let mut seq = seg.seq;
    if seg.syn {
        tcp[side].syn(seg.seq);
        seq = seq.wrapping_add(1);
        st.start_seen[side] = tcp[side].saw_syn;
    }
    notes.clear();
    tcp[side].segment(
        seq,
        seg.payload,
        seg.missing,
        seg.fin,
        cfg,
        notes,
        &mut |c| st.deliver(side, c, &pcx, sink),
    );
    for note in notes.iter() {
        let TcpNote::OverlapConflict { offset, len } = *note;
        if st.is_websocket_side(side) {
            let from = st.dir_of(side);
            st.finding(sink, Code::TcpOverlapConflict, from, number, Some(offset), format!(
                "a retransmitted segment carries {len} bytes at stream offset {offset} that differ from the first copy; the first copy is kept"));
        }
    }
    if seg.rst {
        conn.rst = true;
    }
    if conn.rst || (conn.tcp[0].finished() && conn.tcp[1].finished()) {
        let tomb = Conn {
            tcp: Default::default(),
            st: conn.st.tombstone(),
            rst: true,
            closed: true,
        };
        let mut c = std::mem::replace(conn, tomb);
        finalize(cfg, &mut c, number, ts, sink);
    }
}

impl ConnState {
    fn new(id: u64, addr: [SocketAddr; 2], packet: u64, ts: f64) -> ConnState {
        ConnState {
            id,
            addr,
            client_side: None,
            proto: [Proto::Unknown, Proto::Unknown],
            handshake: None,
            handshake_emitted: false,
            requests: VecDeque::new(),
            pending_client: Vec::new(),
            pending_overflow: false,
            first_packet: packet,
            last_packet: packet,
            first_ts: ts,
            last_ts: ts,
            findings: Vec::new(),
            websocket: false,
            no_handshake_warned: false,
            head_snapped: false,
            syn_ts: [None; 3],
            deferred: Vec::new(),
            start_seen: [false; 2],
            tls: None,
        }
    }

    /// What stays of a finalised connection: enough to match its stray
    /// packets (addresses, roles) and to pick eviction victims (last packet).
    fn tombstone(&self) -> ConnState {
        let mut t = ConnState::new(self.id, self.addr, self.last_packet, self.last_ts);
        t.client_side = self.client_side;
        t.proto = [Proto::Ignore, Proto::Ignore];
        t
    }

    /// The round-trip time from the TCP handshake: SYN to the client's ACK
    /// (right wherever the capture was taken).
    fn rtt(&self) -> Option<f64> {
        match self.syn_ts {
            [Some(a), Some(_), Some(c)] if c >= a => Some(c - a),
            _ => None,
        }
    }

    fn conn_ref(&self) -> ConnRef {
        let c = self.client_side.unwrap_or(0);
        ConnRef {
            id: self.id,
            client: self.addr[c],
            server: self.addr[1 - c],
        }
    }

    fn dir_of(&self, side: usize) -> Option<Dir> {
        self.client_side
            .map(|c| if c == side { Dir::Client } else { Dir::Server })
    }

    fn is_websocket_side(&self, side: usize) -> bool {
        matches!(self.proto[side], Proto::Ws(_) | Proto::AwaitUpgrade) || self.handshake.is_some()
    }

    fn finding(
        &mut self,
        sink: &mut dyn Sink,
        code: Code,
        from: Option<Dir>,
        packet: u64,
        offset: Option<u64>,
        message: String,
    ) {
        self.findings.push(code);
        let f = Finding {
            code,
            conn: Some(self.id),
            from,
            packet,
            offset,
            message,
        };
        sink.event(Event::Finding(&f));
    }

    /// Reports capture findings held back, now that the connection is WebSocket.
    fn flush_deferred(&mut self, sink: &mut dyn Sink) {
        for f in std::mem::take(&mut self.deferred) {
            self.findings.push(f.code);
            sink.event(Event::Finding(&f));
        }
    }

    /// Hands reassembled bytes (or a gap) of one side to its protocol.
    fn deliver(&mut self, side: usize, chunk: Chunk<'_>, pcx: &PacketCx<'_>, sink: &mut dyn Sink) {
        match chunk {
            Chunk::Data { offset, bytes } => self.data(side, offset, bytes, pcx, sink),
            Chunk::Gap { offset, len, kind } => self.gap(side, offset, len, kind, pcx, sink),
        }
    }

    fn gap(
        &mut self,
        side: usize,
        offset: u64,
        len: u64,
        kind: GapKind,
        pcx: &PacketCx<'_>,
        sink: &mut dyn Sink,
    ) {
        let from = self.dir_of(side);
        if kind == GapKind::Snapped && !matches!(self.proto[side], Proto::Ws(_) | Proto::Ignore) {
            self.head_snapped = true;
        }
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
                    pcx.cfg.max_ooo_bytes, pcx.cfg.max_ooo_total
                ),
            ));
        }
        for (code, msg) in found {
            if self.is_websocket_side(side) || self.websocket {
                self.finding(sink, code, from, pcx.number, Some(offset), msg);
            } else if self.deferred.len() < MAX_DEFERRED {
                self.deferred.push(Finding {
                    code,
                    conn: Some(self.id),
                    from,
                    packet: pcx.number,
                    offset: Some(offset),
                    message: msg,
                });
            }
        }
        // The server's answer to an upgrade is being read: what of it was seen.
        let answering = self.client_side.is_some_and(|c| c != side)
            && self.handshake.as_ref().is_some_and(|h| h.status.is_none());
        let mut cut_answer = None;
        match &mut self.proto[side] {
            Proto::Ws(_) => {
                let mut proto = std::mem::replace(&mut self.proto[side], Proto::Unknown);
                if let Proto::Ws(d) = &mut proto {
                    self.with_ctx(side, pcx, sink, |d2, cx| d2.gap(len, cx), d);
                }
                self.proto[side] = proto;
            }
            Proto::Http(p) => {
                if answering {
                    cut_answer = p.partial_head();
                }
                p.gap();
                if p.is_broken() && self.handshake.is_none() {
                    // The head was lost (a snapped upgrade, say): look for frames instead.
                    self.proto[side] = Proto::Ws(Box::new(WsDecoder::without_handshake_relaxed(
                        self.websocket,
                    )));
                }
            }
            Proto::AwaitUpgrade => self.pending_overflow = true,
            Proto::Tls(t) => t.gap(),
            Proto::Unknown => {
                // The stream's start is lost: whatever follows is decoded without a handshake.
                self.proto[side] = Proto::Ws(Box::new(WsDecoder::without_handshake_relaxed(
                    self.websocket,
                )));
            }
            Proto::Ignore => {}
        }
        if let Some(head) = cut_answer {
            self.cut_answer(side, head, pcx, sink);
        }
    }

    /// The server's answer to an upgrade was cut (by the snapshot length, or
    /// lost) after `head`'s lines. A 101 is taken as read: the handshake is
    /// judged on what was seen, the client's frames are decoded from their
    /// start, and the server's are looked for past the lost bytes. Where the
    /// cut hid Sec-WebSocket-Extensions, RSV1 messages are inflated if they can be.
    fn cut_answer(&mut self, side: usize, head: HttpHead, pcx: &PacketCx<'_>, sink: &mut dyn Sink) {
        if head.status != Some(101) {
            return;
        }
        sink.event(Event::HttpHead(&HttpHeadRecord {
            conn: self.conn_ref(),
            from: Dir::Server,
            packet: pcx.number,
            ts: pcx.ts,
            head: &head,
            rtt: self.rtt(),
        }));
        self.requests.pop_front();
        if let Some(hs) = self.handshake.as_mut() {
            handshake::add_response(hs, head, pcx.number);
        }
        self.emit_handshake(pcx, sink);
        if let Proto::Ws(_) = self.after_response(side, 0, &[], pcx, sink) {
            self.proto[side] = Proto::Ws(Box::new(WsDecoder::after_cut_handshake()));
        }
    }

    /// Runs `f` on a decoder with a context for this side.
    fn with_ctx(
        &mut self,
        side: usize,
        pcx: &PacketCx<'_>,
        sink: &mut dyn Sink,
        f: impl FnOnce(&mut WsDecoder, &mut Ctx<'_>),
        d: &mut WsDecoder,
    ) {
        let mut cx = self.ctx(side, pcx, sink);
        let known = cx.from.is_some();
        f(d, &mut cx);
        let learned = cx.from;
        if !known && let Some(from) = learned {
            self.client_side = Some(if from == Dir::Client { side } else { 1 - side });
        }
        if d.saw_frames() {
            if d.no_handshake && !self.websocket {
                // This direction proved the connection WebSocket: the other
                // one, if still hunting, may lock on a shorter chain.
                let mut other = std::mem::replace(&mut self.proto[1 - side], Proto::Ignore);
                self.websocket = true;
                if let Proto::Ws(o) = &mut other
                    && o.is_hunting()
                    && !o.is_relaxed()
                {
                    self.relax(1 - side, pcx, sink, o);
                }
                self.proto[1 - side] = other;
            }
            self.websocket = true;
            if !self.deferred.is_empty() {
                self.flush_deferred(sink);
            }
            if d.no_handshake && !self.no_handshake_warned && self.handshake.is_none() {
                self.no_handshake_warned = true;
                let from = self.dir_of(side);
                let why = if self.head_snapped {
                    "was cut by the capture's snapshot length"
                } else {
                    "was not captured"
                };
                let at = d.locked_at.unwrap_or(pcx.number);
                self.finding(sink, Code::StreamNoHandshake, from, at, None, format!(
                    "WebSocket frames were found on a connection whose opening handshake {why}; extensions and roles are inferred"));
            }
        }
    }

    /// Tells a hunting decoder that the other direction proved the
    /// connection WebSocket (roles are known by now).
    fn relax(&mut self, side: usize, pcx: &PacketCx<'_>, sink: &mut dyn Sink, d: &mut WsDecoder) {
        d.relax(&mut self.ctx(side, pcx, sink));
    }

    /// A decoder's context for this side.
    fn ctx<'a>(&'a mut self, side: usize, pcx: &PacketCx<'a>, sink: &'a mut dyn Sink) -> Ctx<'a> {
        Ctx {
            conn: self.conn_ref(),
            from: self.dir_of(side),
            sender: self.addr[side],
            receiver: self.addr[1 - side],
            packet: pcx.number,
            ts: pcx.ts,
            cfg: pcx.cfg,
            sink,
            conn_findings: &mut self.findings,
        }
    }

    fn data(
        &mut self,
        side: usize,
        offset: u64,
        bytes: &[u8],
        pcx: &PacketCx<'_>,
        sink: &mut dyn Sink,
    ) {
        let mut proto = std::mem::replace(&mut self.proto[side], Proto::Ignore);
        if let Proto::Unknown = proto {
            proto = self.detect(side, offset, bytes, pcx);
        }
        if let Proto::Ws(d) = &proto
            && d.is_hunting()
            && tls::is_record_chain(bytes)
        {
            // A stream caught mid-way that turns out to be TLS records.
            self.mark_tls(pcx);
            proto = Proto::Tls(Box::new(TlsSide::mid_stream()));
        }
        match &mut proto {
            Proto::Ws(d) => self.with_ctx(side, pcx, sink, |d, cx| d.data(offset, bytes, cx), d),
            Proto::Tls(t) => {
                if let Some((info, _)) = self.tls.as_mut() {
                    t.data(bytes, info);
                }
            }
            Proto::Http(p) => {
                let is_client = self.dir_of(side) == Some(Dir::Client);
                let mut switched_at = None;
                let r = if is_client {
                    self.client_http(p, bytes, pcx, sink)
                } else {
                    self.server_http(p, bytes, pcx, sink)
                };
                match r {
                    Ok(used) => {
                        if p.is_switched() {
                            switched_at = Some(used);
                        }
                    }
                    Err((at, HttpError::BadChunk)) => {
                        let from = self.dir_of(side);
                        self.finding(sink, Code::HttpBadChunk, from, pcx.number, Some(offset + at as u64),
                            "the chunked transfer coding is malformed (RFC 9112 section 7.1); the rest of this direction is not decoded".into());
                        let cref = self.conn_ref();
                        if let Some(from) = from {
                            sink.event(Event::HttpEnd(&HttpEndRecord {
                                conn: cref,
                                from,
                                packet: pcx.number,
                                ts: pcx.ts,
                                complete: false,
                            }));
                        }
                        proto = Proto::Ignore;
                    }
                    Err(_) if self.start_seen[side] => {
                        // The direction began with this HTTP and broke: whatever
                        // follows is not WebSocket (no upgrade led to it).
                        proto = Proto::Ignore;
                    }
                    Err((at, _)) => {
                        // Not HTTP (or broken), caught mid-stream: try it as
                        // frames without a handshake.
                        let mut d = Box::new(WsDecoder::without_handshake_relaxed(self.websocket));
                        let rest = &bytes[at..];
                        self.with_ctx(
                            side,
                            pcx,
                            sink,
                            |d, cx| d.data(offset + at as u64, rest, cx),
                            &mut d,
                        );
                        proto = Proto::Ws(d);
                    }
                }
                if let Some(used) = switched_at {
                    let rest = &bytes[used..];
                    proto = if is_client {
                        self.pending_client.clear();
                        if self.pending_client.len() + rest.len() <= pcx.cfg.max_pending_bytes {
                            self.pending_client.extend_from_slice(rest);
                        } else {
                            self.pending_overflow = true;
                        }
                        Proto::AwaitUpgrade
                    } else {
                        self.proto[side] = Proto::Ignore;
                        self.after_response(side, offset + used as u64, rest, pcx, sink)
                    };
                }
            }
            Proto::AwaitUpgrade => {
                if self.pending_client.len() + bytes.len() <= pcx.cfg.max_pending_bytes {
                    self.pending_client.extend_from_slice(bytes);
                } else {
                    self.pending_overflow = true;
                }
            }
            Proto::Unknown | Proto::Ignore => {}
        }
        self.proto[side] = proto;
    }

    /// The connection is TLS, as first shown by packet `pcx.number`.
    fn mark_tls(&mut self, pcx: &PacketCx<'_>) {
        if self.tls.is_none() {
            self.tls = Some((Box::default(), pcx.number));
        }
    }

    /// Decides what a direction carries from its first bytes (at stream
    /// `offset`). A direction whose start was captured and is neither HTTP
    /// nor TLS is ignored: WebSocket is only ever reached by an upgrade, so
    /// frames are hunted for only where the beginning is missing.
    fn detect(&mut self, side: usize, offset: u64, bytes: &[u8], pcx: &PacketCx<'_>) -> Proto {
        let looks_request = {
            let m = bytes.iter().take_while(|b| b.is_ascii_uppercase()).count();
            m >= 3 && bytes.get(m) == Some(&b' ')
        };
        let looks_response = bytes.starts_with(b"HTTP/");
        let max = pcx.cfg.max_http_header_bytes;
        match self.client_side {
            Some(c) if c == side && looks_request => Proto::Http(HttpParser::new(true, max)),
            Some(c) if c != side && looks_response => Proto::Http(HttpParser::new(false, max)),
            None if looks_request => {
                self.client_side = Some(side);
                Proto::Http(HttpParser::new(true, max))
            }
            None if looks_response => {
                self.client_side = Some(1 - side);
                Proto::Http(HttpParser::new(false, max))
            }
            _ => {
                let from_start = self.start_seen[side] && offset == 0;
                if self.handshake.as_ref().is_some_and(|h| h.upgraded()) {
                    Proto::Ignore
                } else if tls::is_client_hello(bytes) && self.client_side.is_none_or(|c| c == side)
                {
                    self.client_side = Some(side);
                    self.mark_tls(pcx);
                    Proto::Tls(Box::new(TlsSide::new()))
                } else if tls::is_server_hello(bytes) && self.client_side.is_none_or(|c| c != side)
                {
                    self.client_side = Some(1 - side);
                    self.mark_tls(pcx);
                    Proto::Tls(Box::new(TlsSide::new()))
                } else if self.tls.is_some() {
                    Proto::Tls(Box::new(TlsSide::mid_stream()))
                } else if from_start {
                    Proto::Ignore
                } else if tls::is_record_chain(bytes) {
                    self.mark_tls(pcx);
                    Proto::Tls(Box::new(TlsSide::mid_stream()))
                } else {
                    Proto::Ws(Box::new(WsDecoder::without_handshake_relaxed(
                        self.websocket,
                    )))
                }
            }
        }
    }

    fn client_http(
        &mut self,
        p: &mut HttpParser,
        bytes: &[u8],
        pcx: &PacketCx<'_>,
        sink: &mut dyn Sink,
    ) -> Result<usize, (usize, HttpError)> {
        let cref = self.conn_ref();
        let rtt = self.rtt();
        let handshake = &mut self.handshake;
        let requests = &mut self.requests;
        let emitted = &mut self.handshake_emitted;
        let sink = std::cell::RefCell::new(sink);
        let r = p.feed(
            bytes,
            &mut |head: HttpHead| {
                sink.borrow_mut().event(Event::HttpHead(&HttpHeadRecord {
                    conn: cref,
                    from: Dir::Client,
                    packet: pcx.number,
                    ts: pcx.ts,
                    head: &head,
                    rtt,
                }));
                let upgrade = handshake::is_upgrade_request(&head);
                let method_head = head.method.as_deref() == Some("HEAD");
                let mode = BodyMode::for_request(&head);
                if upgrade && handshake.as_ref().is_none_or(|h| h.status.is_some()) {
                    let mut hs = handshake::from_request(head, pcx.number, pcx.ts);
                    handshake::report_oversized_request(&mut hs, pcx.cfg.max_http_header_bytes);
                    *handshake = Some(Box::new(hs));
                    *emitted = false;
                    requests.push_back(PendingRequest {
                        head_method: false,
                        upgrade: true,
                    });
                    return BodyMode::Switch;
                }
                requests.push_back(PendingRequest {
                    head_method: method_head,
                    upgrade: false,
                });
                mode
            },
            &mut |ev| http_event(*sink.borrow_mut(), cref, Dir::Client, pcx, ev),
        );
        if self.handshake.is_some() && !self.handshake_emitted {
            self.websocket = true;
        }
        r
    }

    fn server_http(
        &mut self,
        p: &mut HttpParser,
        bytes: &[u8],
        pcx: &PacketCx<'_>,
        sink: &mut dyn Sink,
    ) -> Result<usize, (usize, HttpError)> {
        let cref = self.conn_ref();
        let rtt = self.rtt();
        let handshake = &mut self.handshake;
        let requests = &mut self.requests;
        let mut answered_upgrade = None;
        let sink_cell = std::cell::RefCell::new(&mut *sink);
        let r = p.feed(
            bytes,
            &mut |head: HttpHead| {
                sink_cell
                    .borrow_mut()
                    .event(Event::HttpHead(&HttpHeadRecord {
                        conn: cref,
                        from: Dir::Server,
                        packet: pcx.number,
                        ts: pcx.ts,
                        head: &head,
                        rtt,
                    }));
                let status = head.status.unwrap_or(0);
                if (100..200).contains(&status) && status != 101 {
                    return BodyMode::None;
                }
                let req = requests.pop_front();
                if let Some(req) = req
                    && req.upgrade
                    && let Some(hs) = handshake.as_mut()
                {
                    let mode = if status == 101 {
                        BodyMode::Switch
                    } else {
                        BodyMode::for_response(&head, false)
                    };
                    handshake::add_response(hs, head, pcx.number);
                    answered_upgrade = Some(status == 101);
                    return mode;
                }
                if status == 101 {
                    return BodyMode::Switch; // an upgrade to something else
                }
                BodyMode::for_response(&head, req.is_some_and(|r| r.head_method))
            },
            &mut |ev| http_event(*sink_cell.borrow_mut(), cref, Dir::Server, pcx, ev),
        );
        if let Some(ok) = answered_upgrade {
            self.emit_handshake(pcx, sink);
            if !ok {
                // Rejected: the client's held bytes are HTTP again.
                if let Some(c) = self.client_side {
                    self.proto[c] =
                        Proto::Http(HttpParser::new(true, pcx.cfg.max_http_header_bytes));
                    let held = std::mem::take(&mut self.pending_client);
                    if !held.is_empty() {
                        self.data(c, 0, &held, pcx, sink);
                    }
                }
            }
        }
        r
    }

    fn emit_handshake(&mut self, pcx: &PacketCx<'_>, sink: &mut dyn Sink) {
        if self.handshake_emitted {
            return;
        }
        self.handshake_emitted = true;
        let Some(hs) = self.handshake.take() else {
            return;
        };
        let c = self.client_side;
        let cref = self.conn_ref();
        for (code, msg) in &hs.findings {
            let from = match code {
                Code::HandshakeKeyInvalid | Code::HandshakeVersionUnsupported => Some(Dir::Client),
                Code::HandshakeMissingHeader | Code::LimitReached
                    if hs.status.is_none() || msg.contains("request") =>
                {
                    Some(Dir::Client)
                }
                _ => Some(Dir::Server),
            };
            let packet = if from == Some(Dir::Client) {
                hs.packet
            } else {
                hs.response_packet.unwrap_or(pcx.number)
            };
            self.finding(
                sink,
                *code,
                from.filter(|_| c.is_some()),
                packet,
                None,
                msg.clone(),
            );
        }
        sink.event(Event::Handshake(cref, &hs));
        self.handshake = Some(hs);
    }

    /// The server's 101 arrived: both directions become WebSocket.
    fn after_response(
        &mut self,
        server_side: usize,
        offset: u64,
        rest: &[u8],
        pcx: &PacketCx<'_>,
        sink: &mut dyn Sink,
    ) -> Proto {
        let Some(hs) = self.handshake.as_ref() else {
            return Proto::Ignore;
        };
        if !hs.upgraded() {
            return Proto::Ignore;
        }
        let deflate = hs.deflate.clone();
        let on = deflate.is_some();
        let d = deflate.unwrap_or_default();
        let (mut server, client) = if hs.extensions_unknown {
            (
                Box::new(WsDecoder::negotiation_unknown()),
                Box::new(WsDecoder::negotiation_unknown()),
            )
        } else {
            (
                Box::new(WsDecoder::new(on, d.server_no_context_takeover)),
                Box::new(WsDecoder::new(on, d.client_no_context_takeover)),
            )
        };
        let client_side = 1 - server_side;
        self.websocket = true;
        self.proto[client_side] = Proto::Ws(client);
        let held = std::mem::take(&mut self.pending_client);
        if !held.is_empty() {
            let mut proto = std::mem::replace(&mut self.proto[client_side], Proto::Ignore);
            if let Proto::Ws(dc) = &mut proto {
                self.with_ctx(client_side, pcx, sink, |d, cx| d.data(0, &held, cx), dc);
            }
            self.proto[client_side] = proto;
        }
        if !rest.is_empty() {
            self.with_ctx(
                server_side,
                pcx,
                sink,
                |d, cx| d.data(offset, rest, cx),
                &mut server,
            );
        }
        Proto::Ws(server)
    }

    fn finish(&mut self, pcx: &PacketCx<'_>, sink: &mut dyn Sink) {
        for side in 0..2 {
            let mut proto = std::mem::replace(&mut self.proto[side], Proto::Ignore);
            match &mut proto {
                Proto::Ws(d) => self.with_ctx(side, pcx, sink, |d, cx| d.finish(cx), d),
                Proto::Http(p) => {
                    if let Some(from) = self.dir_of(side) {
                        let cref = self.conn_ref();
                        let open = p.in_body();
                        let mut ended = false;
                        p.close(&mut |ev| {
                            ended = true;
                            http_event(sink, cref, from, pcx, ev)
                        });
                        if open && !ended {
                            sink.event(Event::HttpEnd(&HttpEndRecord {
                                conn: cref,
                                from,
                                packet: pcx.number,
                                ts: pcx.ts,
                                complete: false,
                            }));
                        }
                    }
                }
                _ => {}
            }
            self.proto[side] = proto;
        }
        if self.handshake.is_some() && !self.handshake_emitted {
            self.emit_handshake(pcx, sink);
        }
        if !self.websocket
            && let Some((info, packet)) = &self.tls
        {
            let about = match (&info.sni, &info.alpn) {
                (Some(s), Some(a)) => format!(" (server name {s}, ALPN {a})"),
                (Some(s), None) => format!(" (server name {s})"),
                (None, Some(a)) => format!(" (ALPN {a})"),
                (None, None) => String::new(),
            };
            let packet = *packet;
            self.finding(sink, Code::TlsNoKeys, None, packet, None, format!(
                "this connection is TLS{about} and no secrets were given for it; nothing inside it is decoded"));
        }
        if !self.websocket && self.tls.is_none() {
            return;
        }
        let mut stats: [crate::event::DirStats; 2] = Default::default();
        for side in 0..2 {
            if let Proto::Ws(d) = &self.proto[side] {
                let dir = self.dir_of(side).unwrap_or(Dir::Client);
                stats[dir.index()] = d.stats.clone();
            }
        }
        let hs = self.handshake.as_deref();
        let summary = ConnSummary {
            conn: self.conn_ref(),
            first_packet: self.first_packet,
            last_packet: self.last_packet,
            first_ts: self.first_ts,
            last_ts: self.last_ts,
            websocket: self.websocket,
            handshake_seen: hs.is_some(),
            status: hs.and_then(|h| h.status),
            accept_ok: hs.and_then(|h| h.accept_ok),
            path: hs.map(|h| h.path.clone()),
            subprotocol: hs.and_then(|h| h.subprotocol.clone()),
            extensions: hs.and_then(|h| h.extensions.clone()),
            stats,
            findings: self.findings.clone(),
            tls: self
                .tls
                .as_ref()
                .filter(|_| !self.websocket)
                .map(|(i, _)| (**i).clone()),
        };
        sink.event(Event::ConnEnd(&summary));
    }
}

/// Passes an HTTP body event on as a pipeline event.
fn http_event(
    sink: &mut dyn Sink,
    conn: ConnRef,
    from: Dir,
    pcx: &PacketCx<'_>,
    ev: HttpEvent<'_>,
) {
    match ev {
        HttpEvent::Body(bytes) => sink.event(Event::HttpBody(&HttpBodyRecord {
            conn,
            from,
            packet: pcx.number,
            ts: pcx.ts,
            bytes,
        })),
        HttpEvent::End => sink.event(Event::HttpEnd(&HttpEndRecord {
            conn,
            from,
            packet: pcx.number,
            ts: pcx.ts,
            complete: true,
        })),
    }
}
