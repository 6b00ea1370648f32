//! The flow table: TCP connections by address pair, their reassembly, port
//! reuse, eviction when too many are open, ended connections remembered as
//! tombstones (so their stray packets open nothing), and the capture-wide
//! budget of bytes held out of order. Each connection's reassembled bytes
//! go to its [`Host`], which knows nothing of the table.
//!
//! Memory follows the number of open connections and what each must hold
//! (out-of-order bytes, one frame, one message), never the capture's size.

use std::collections::VecDeque;
use std::net::SocketAddr;

use foldhash::HashMap;

use crate::carrier::{Host, Link};
use crate::config::Config;
use crate::event::{Event, SegmentRecord, Sink, TcpKind, TcpRecord};
use crate::findings::{Code, Dir, Finding, Location};
use crate::packet::Segment;
use crate::session::SessionRef;
use crate::tcp::{Chunk, HalfStream, TcpNote};

/// Ended connections remembered (a few dozen bytes each).
const MAX_TOMBS: usize = 100_000;

/// A connection's address pair, lower endpoint first, each as its address
/// in IPv6 form (IPv4 mapped, as before: the same pair whichever family it
/// came in) and its port. Hashed as one folded word: hashing the 36 bytes
/// cost more than the rest of the lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    lo: u128,
    hi: u128,
    /// The lower endpoint's port in the high half.
    ports: u32,
}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Collisions cost only a comparison; the map's hasher mixes the word.
        let fold = |x: u128| (x as u64) ^ ((x >> 64) as u64).rotate_left(23);
        state.write_u64(fold(self.lo) ^ fold(self.hi).rotate_left(32) ^ u64::from(self.ports));
    }
}

fn endpoint(a: SocketAddr) -> (u128, u16) {
    match a {
        // `to_ipv6_mapped().to_bits()` without the byte swaps.
        SocketAddr::V4(v4) => (0xffff << 32 | u128::from(v4.ip().to_bits()), v4.port()),
        SocketAddr::V6(v6) => (v6.ip().to_bits(), v6.port()),
    }
}

#[cfg(test)]
fn flow_key(a: SocketAddr, b: SocketAddr) -> Key {
    flow_key_dir(a, b).0
}

/// [`flow_key`], and whether `a` is the key's higher endpoint: two
/// segments of a connection came the same way when this agrees (what
/// [`side_of`] tells from the addresses, without reading them).
#[inline]
fn flow_key_dir(a: SocketAddr, b: SocketAddr) -> (Key, bool) {
    let (x, y) = (endpoint(a), endpoint(b));
    let flip = x > y;
    let (lo, hi) = if flip { (y, x) } else { (x, y) };
    let key = Key {
        lo: lo.0,
        hi: hi.0,
        ports: u32::from(lo.1) << 16 | u32::from(hi.1),
    };
    (key, flip)
}

/// The side (0: the connection's first sender, whose address is `addr0`)
/// that sent from `src`, the endpoints compared as the key compares them
/// (an IPv4-mapped IPv6 address is its IPv4 address).
fn side_of(addr0: SocketAddr, src: SocketAddr) -> usize {
    usize::from(endpoint(addr0) != endpoint(src))
}

/// The bucket (of `n`) of the connection of the address pair `a`, `b` in a
/// sharded run (`crate::shard`, which deals buckets out to workers): a
/// hash of the table's own canonical key, so both directions land in the
/// same bucket. Cheaper than hashing the 36-byte key (the reader hashes
/// every segment); an IPv4-mapped IPv6 address counts as its IPv4 address,
/// as in the key.
#[inline]
pub fn shard_of(a: SocketAddr, b: SocketAddr, n: usize) -> usize {
    fn fold(e: SocketAddr) -> u64 {
        let v4 = match e.ip() {
            std::net::IpAddr::V4(v4) => Some(v4),
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped(),
        };
        let ip = match (v4, e.ip()) {
            (Some(v4), _) => u64::from(u32::from(v4)),
            (None, std::net::IpAddr::V6(v6)) => {
                let x = u128::from(v6);
                (x as u64) ^ ((x >> 64) as u64).rotate_left(17)
            }
            (None, std::net::IpAddr::V4(_)) => 0,
        };
        (ip << 16 ^ u64::from(e.port())).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
    // A sum: the same both ways.
    let mut h = fold(a).wrapping_add(fold(b));
    h = (h ^ (h >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 29;
    (h % n.max(1) as u64) as usize
}

/// What a sharded run (`crate::shard`) needs to know of a table once the
/// capture ended: when each connection opened, and how close the table
/// came to the three limits decided over all connections at once.
#[derive(Debug, Clone, Default)]
pub struct FlowStats {
    /// The packet that opened each connection, by id.
    pub opened: Vec<u64>,
    /// Most connections tracked at once.
    pub peak_live: usize,
    /// Most out-of-order bytes held at once by all streams.
    pub peak_ooo: usize,
    /// Whether the out-of-order budget was ever spent (a stream gave up).
    pub ooo_spent: bool,
    /// Connections buried as tombstones (the oldest are forgotten past
    /// MAX_TOMBS).
    pub buried: usize,
}

/// Tombstones remembered at most (for [`FlowStats::buried`]).
pub const MAX_TOMBSTONES: usize = MAX_TOMBS;

/// `repr(C)` on a cache line's boundary, in the order a segment reads
/// the fields: the head, both directions (48 bytes each) and the
/// carrier's pointer fill the first two lines, `Link`'s per-segment
/// fields the third; the side a segment came from is told by `flip`, not
/// by comparing addresses (docs/performance.md, "Step: per-connection
/// state" and "Step: fewer lines a segment").
#[repr(C, align(64))]
struct Conn {
    /// [`Conn::held`] as it was when the last segment was done with (it
    /// changes only while one is): its share of the capture-wide budget.
    held: usize,
    /// Finalised: kept only so that stray packets do not open a new one.
    closed: bool,
    rst: bool,
    /// The SYN/ACK was seen and the client's ACK not yet (`Link::syn_ts`,
    /// which lies in a colder line): the client's next segment goes the
    /// general way, to be noted as that ACK.
    awaiting_ack: bool,
    /// [`flow_key_dir`]'s flag for side 0's segments: a segment's side is
    /// whether its flag differs (no read of the addresses, in a colder line).
    flip: bool,
    tcp: [HalfStream; 2],
    host: Host,
}

impl Conn {
    /// The side that sent a segment whose [`flow_key_dir`] flag is `flip`.
    fn side(&self, flip: bool) -> usize {
        usize::from(flip != self.flip)
    }

    /// Bytes held out of order and by the carrier.
    fn held(&self) -> usize {
        self.tcp[0].pending_bytes() + self.tcp[1].pending_bytes() + self.host.held()
    }
}

/// The connections of one capture.
pub struct FlowTable<'c> {
    cfg: &'c Config,
    /// Live connections, boxed: growing the table copies pointers only.
    conns: HashMap<Key, Box<Conn>>,
    next_id: u64,
    notes: Vec<TcpNote>,
    /// Out-of-order bytes held by all streams.
    ooo_total: usize,
    /// Port pairs of ended connections (by id), so that their stray packets
    /// do not open a new one; at most MAX_TOMBS, the oldest forgotten first.
    tombs: HashMap<Key, u64>,
    tomb_order: VecDeque<(Key, u64)>,
    /// With `Config::segment_log`: the tombstones' connections (session and
    /// first sender), so that their last segments are logged too.
    tomb_links: HashMap<Key, (SessionRef, SocketAddr, Option<usize>)>,
    /// In-order segments of quiet streams skip the general reassembly
    /// (off only to hold the fast path to the slow one in tests).
    fast: bool,
    stats: FlowStats,
}

impl<'c> FlowTable<'c> {
    /// An empty table.
    pub fn new(cfg: &'c Config) -> Self {
        FlowTable {
            cfg,
            conns: HashMap::default(),
            next_id: 0,
            notes: Vec::new(),
            ooo_total: 0,
            tombs: HashMap::default(),
            tomb_order: VecDeque::new(),
            tomb_links: HashMap::default(),
            fast: true,
            stats: FlowStats::default(),
        }
    }

    /// Turns the in-order fast path off (or on again): the events are the
    /// same either way; for tests that hold one to the other.
    #[doc(hidden)]
    pub fn set_fast_path(&mut self, on: bool) {
        self.fast = on;
    }

    /// When each connection opened, and the peaks of the shared limits.
    pub fn stats(&self) -> &FlowStats {
        &self.stats
    }

    /// One TCP segment.
    pub fn segment(&mut self, seg: &Segment<'_>, number: u64, ts: f64, out: &mut dyn Sink) {
        let (key, flip) = flow_key_dir(seg.src, seg.dst);
        // The common case, one hash lookup: a segment of a known connection
        // that cannot start a new one.
        if !seg.syn
            && let Some(conn) = self.conns.get_mut(&key)
        {
            let side = conn.side(flip);
            drive(
                conn,
                seg,
                side,
                number,
                ts,
                self.cfg,
                self.fast,
                &mut self.notes,
                &mut self.ooo_total,
                &mut self.stats,
                out,
            );
            if conn.closed {
                self.bury(key);
            }
            return;
        }
        self.open(key, flip, seg, number, ts, out);
    }

    /// A segment that may open a connection (a SYN, or the first segment
    /// of a connection caught mid-way), or a stray one of an ended
    /// connection: out of line, so that [`segment`](Self::segment)'s
    /// common case stays small.
    #[inline(never)]
    fn open(
        &mut self,
        key: Key,
        flip: bool,
        seg: &Segment<'_>,
        number: u64,
        ts: f64,
        out: &mut dyn Sink,
    ) {
        if self.tombs.contains_key(&key) {
            if !seg.syn {
                // A stray packet of a connection that ended.
                if let Some(&(session, addr0, client_side)) = self.tomb_links.get(&key) {
                    let side = side_of(addr0, seg.src);
                    let from =
                        client_side.map(|c| if c == side { Dir::Client } else { Dir::Server });
                    segment_event(session, side, from, seg, number, ts, out);
                }
                return;
            }
            self.tomb_links.remove(&key);
            self.tombs.remove(&key); // a new connection on the port pair
        }
        let pure_syn = seg.syn && seg.ack.is_none();
        // A new connection on a used port pair (or a stale entry).
        let reuse = match self.conns.get(&key) {
            Some(c) if c.closed => seg.syn,
            Some(c) if seg.syn => {
                let l = &c.host.link;
                let side = side_of(l.addr[0], seg.src);
                pure_syn && c.tcp[side].saw_syn && c.tcp[side].next_offset() > 0
                    || pure_syn && side == 1 && l.client_side == Some(0)
            }
            _ => false,
        };
        if reuse
            && let Some(mut old) = self.conns.remove(&key)
            && !old.closed
        {
            finalize(self.cfg, &mut old, number, ts, out);
        }
        if !self.conns.contains_key(&key) {
            if self.conns.len() >= self.cfg.max_connections {
                self.evict(number, ts, out);
            }
            let id = self.next_id;
            self.next_id += 1;
            let link = Link::new(id, [seg.src, seg.dst], number, ts);
            self.conns.insert(
                key,
                Box::new(Conn {
                    tcp: [HalfStream::default(), HalfStream::default()],
                    host: Host::new(link),
                    rst: false,
                    closed: false,
                    awaiting_ack: false,
                    flip,
                    held: 0,
                }),
            );
            self.stats.opened.push(number);
            self.stats.peak_live = self.stats.peak_live.max(self.conns.len());
        }
        if let Some(conn) = self.conns.get_mut(&key) {
            let side = conn.side(flip);
            drive(
                conn,
                seg,
                side,
                number,
                ts,
                self.cfg,
                self.fast,
                &mut self.notes,
                &mut self.ooo_total,
                &mut self.stats,
                out,
            );
            if conn.closed {
                self.bury(key);
            }
        }
    }

    /// Replaces an ended connection by its port pair alone: its state is
    /// freed, and its stray packets are still recognised.
    fn bury(&mut self, key: Key) {
        let Some(c) = self.conns.remove(&key) else {
            return;
        };
        let id = c.host.link.id;
        if self.cfg.segment_log {
            let l = &c.host.link;
            self.tomb_links
                .insert(key, (l.session(), l.addr[0], l.client_side));
        }
        self.tombs.insert(key, id);
        self.tomb_order.push_back((key, id));
        self.stats.buried += 1;
        while self.tomb_order.len() > MAX_TOMBS {
            if let Some((k, id)) = self.tomb_order.pop_front()
                && self.tombs.get(&k) == Some(&id)
            {
                self.tombs.remove(&k);
                self.tomb_links.remove(&k);
            }
        }
    }

    /// Makes room by finalising the least recently active connection.
    fn evict(&mut self, number: u64, ts: f64, out: &mut dyn Sink) {
        let victim = self
            .conns
            .iter()
            .min_by_key(|(_, c)| (!c.closed, c.host.link.last_packet))
            .map(|(k, _)| *k);
        if let Some(k) = victim
            && let Some(mut c) = self.conns.remove(&k)
            && !c.closed
        {
            self.ooo_total = self.ooo_total.saturating_sub(c.held());
            let at = Location::session(c.host.link.session()).packet(number);
            let f = Finding::new(
                Code::LimitReached,
                at,
                format!(
                    "more than {} connections are open at once; the least recently active one is closed early",
                    self.cfg.max_connections
                ),
            );
            let _ = out.event(Event::Finding(&f));
            finalize(self.cfg, &mut c, number, ts, out);
        }
    }

    /// The capture ended: every open connection is finalised, in id order.
    pub fn finish(&mut self, out: &mut dyn Sink) {
        let mut conns: Vec<Box<Conn>> = self
            .conns
            .drain()
            .map(|(_, c)| c)
            .filter(|c| !c.closed)
            .collect();
        conns.sort_by_key(|c| c.host.link.id);
        for mut c in conns {
            let (n, t) = (c.host.link.last_packet, c.host.link.last_ts);
            finalize(self.cfg, &mut c, n, t, out);
        }
    }
}

/// Flushes a connection's streams and ends its carrier.
fn finalize(cfg: &Config, conn: &mut Conn, number: u64, ts: f64, out: &mut dyn Sink) {
    let Conn { tcp, host, .. } = conn;
    for (side, t) in tcp.iter_mut().enumerate() {
        t.flush(&mut |c| host.deliver(side, c, number, ts, cfg, out));
    }
    host.finish(number, ts, cfg, out);
}

/// Feeds one segment to its connection; a connection that ends (RST, or
/// FIN both ways) is finalised and left as a tombstone.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn drive(
    conn: &mut Conn,
    seg: &Segment<'_>,
    side: usize,
    number: u64,
    ts: f64,
    cfg: &Config,
    fast: bool,
    notes: &mut Vec<TcpNote>,
    ooo_total: &mut usize,
    stats: &mut FlowStats,
    out: &mut dyn Sink,
) {
    // The common case first, the rest out of line.
    if fast
        && !cfg.segment_log
        && !conn.closed
        && let Some(delivered) = fast_segment(conn, seg, side, number, ts, cfg, out)
    {
        // Nothing reached the carrier: nothing can have changed what is held.
        if delivered {
            let after = conn.held();
            settle(conn, 0, after, number, ts, cfg, ooo_total, stats, out);
        }
        return;
    }
    drive_general(
        conn, seg, side, number, ts, cfg, fast, notes, ooo_total, stats, out,
    );
}

/// [`drive`] for any segment.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn drive_general(
    conn: &mut Conn,
    seg: &Segment<'_>,
    side: usize,
    number: u64,
    ts: f64,
    cfg: &Config,
    fast: bool,
    notes: &mut Vec<TcpNote>,
    ooo_total: &mut usize,
    stats: &mut FlowStats,
    out: &mut dyn Sink,
) {
    if cfg.segment_log {
        let link = &conn.host.link;
        let from = link.dir_of(side).or_else(|| {
            // A first SYN tells the client before the flow table records it.
            (seg.syn && seg.ack.is_none()).then_some(Dir::Client)
        });
        segment_event(link.session(), side, from, seg, number, ts, out);
    }
    if conn.closed {
        return;
    }
    let before = conn.held;
    let after = match fast.then(|| fast_segment(conn, seg, side, number, ts, cfg, out)) {
        // Nothing reached the carrier: nothing can have changed what is held.
        Some(Some(false)) => return,
        Some(Some(true)) => conn.held(),
        _ => {
            drive_segment(conn, seg, side, number, ts, cfg, notes, out);
            conn.held()
        }
    };
    settle(conn, before, after, number, ts, cfg, ooo_total, stats, out);
}

/// The connection held `before` bytes and holds `after` now: the
/// capture-wide budget is brought up to date, and when it is spent, this
/// connection stops waiting.
#[allow(clippy::too_many_arguments)]
#[inline]
fn settle(
    conn: &mut Conn,
    before: usize,
    mut after: usize,
    number: u64,
    ts: f64,
    cfg: &Config,
    ooo_total: &mut usize,
    stats: &mut FlowStats,
    out: &mut dyn Sink,
) {
    *ooo_total = ooo_total.saturating_sub(before) + after;
    stats.peak_ooo = stats.peak_ooo.max(*ooo_total);
    if *ooo_total > cfg.max_ooo_total && after > 0 {
        stats.ooo_spent = true;
        after = give_up(conn, after, number, ts, cfg, ooo_total, out);
    }
    conn.held = after;
}

/// The capture-wide budget is spent: the connection lets go of what it
/// holds. Returns what it still holds.
#[inline(never)]
fn give_up(
    conn: &mut Conn,
    held: usize,
    number: u64,
    ts: f64,
    cfg: &Config,
    ooo_total: &mut usize,
    out: &mut dyn Sink,
) -> usize {
    let Conn { tcp, host, .. } = conn;
    for (side, t) in tcp.iter_mut().enumerate() {
        t.give_up(&mut |c| host.deliver(side, c, number, ts, cfg, out));
    }
    host.release_held();
    *ooo_total -= held;
    let after = conn.held();
    *ooo_total += after;
    after
}

/// The common case without the general bookkeeping: a segment with no
/// SYN, FIN or RST and nothing cut, at the next expected byte of a stream
/// that holds nothing out of order, on a connection that holds nothing
/// and whose TCP handshake is not waiting for its last ACK. Does what
/// [`drive_segment`] would (the same events in the same order) and
/// returns whether bytes went to the carrier; `None`, with nothing
/// changed, for any other segment.
fn fast_segment(
    conn: &mut Conn,
    seg: &Segment<'_>,
    side: usize,
    number: u64,
    ts: f64,
    cfg: &Config,
    out: &mut dyn Sink,
) -> Option<bool> {
    if seg.syn || seg.fin || seg.rst || seg.missing != 0 || conn.held != 0 {
        return None;
    }
    let Conn {
        tcp,
        host,
        awaiting_ack,
        ..
    } = conn;
    let link = &mut host.link;
    if *awaiting_ack && link.client_side == Some(side) {
        return None; // perhaps the handshake's ACK: an event of its own
    }
    let [t0, t1] = tcp;
    let (this, other) = if side == 0 { (t0, t1) } else { (t1, t0) };
    if !other.is_quiet() {
        return None; // the ACK may release held bytes
    }
    let offset = this.take_in_order(seg.seq, seg.payload.len())?;
    link.last_packet = number;
    link.last_ts = ts;
    if let Some(ack) = seg.ack {
        // Nothing is held on the other side: nothing for the ACK to release.
        other.record_ack(ack);
    }
    if seg.payload.is_empty() {
        return Some(false);
    }
    let bytes = seg.payload;
    host.deliver(side, Chunk::Data { offset, bytes }, number, ts, cfg, out);
    Some(true)
}

/// Sends the segment as it is (explain's TCP section reads them), the
/// closing ACKs after a connection ended too.
fn segment_event(
    session: SessionRef,
    side: usize,
    from: Option<Dir>,
    seg: &Segment<'_>,
    number: u64,
    ts: f64,
    out: &mut dyn Sink,
) {
    let _ = out.event(Event::Segment(&SegmentRecord {
        session,
        from,
        side: side as u8,
        packet: number,
        ts,
        seq: seg.seq,
        ack: seg.ack,
        syn: seg.syn,
        fin: seg.fin,
        rst: seg.rst,
        psh: seg.psh,
        window: seg.window,
        wscale: seg.wscale,
        len: u32::try_from(seg.payload.len())
            .unwrap_or(u32::MAX)
            .saturating_add(seg.missing),
    }));
}

#[allow(clippy::too_many_arguments)]
fn drive_segment(
    conn: &mut Conn,
    seg: &Segment<'_>,
    side: usize,
    number: u64,
    ts: f64,
    cfg: &Config,
    notes: &mut Vec<TcpNote>,
    out: &mut dyn Sink,
) {
    let pure_syn = seg.syn && seg.ack.is_none();
    let link = &mut conn.host.link;
    link.last_packet = number;
    link.last_ts = ts;
    if pure_syn && link.client_side.is_none() {
        link.client_side = Some(side);
    }
    let t = &mut link.syn_ts;
    let mut kind = None;
    if pure_syn {
        t[0] = Some(ts);
        kind = Some(TcpKind::Syn);
    } else if seg.syn && t[0].is_some() {
        t[1] = Some(ts);
        kind = Some(TcpKind::SynAck);
    } else if t[1].is_some() && t[2].is_none() && link.client_side == Some(side) {
        t[2] = Some(ts);
        kind = Some(TcpKind::Ack);
    }
    conn.awaiting_ack = t[1].is_some() && t[2].is_none();
    // The connection's life as explain draws it: handshake, FIN, RST.
    if let Some(kind) = kind
        .or(seg.rst.then_some(TcpKind::Rst))
        .or(seg.fin.then_some(TcpKind::Fin))
    {
        let _ = out.event(Event::Tcp(&TcpRecord {
            session: link.session(),
            from: link.dir_of(side),
            packet: number,
            ts,
            kind,
        }));
    }
    let Conn { tcp, host, .. } = conn;
    if let Some(ack) = seg.ack {
        let other = 1 - side;
        tcp[other].peer_ack(ack, &mut |c| host.deliver(other, c, number, ts, cfg, out));
    }
    let mut seq = seg.seq;
    if seg.syn {
        tcp[side].syn(seg.seq);
        seq = seq.wrapping_add(1);
        host.link.start_seen[side] = tcp[side].saw_syn;
    }
    notes.clear();
    tcp[side].segment(
        seq,
        seg.payload,
        seg.missing,
        seg.fin,
        cfg,
        notes,
        &mut |c| host.deliver(side, c, number, ts, cfg, out),
    );
    for note in notes.iter() {
        let TcpNote::OverlapConflict { offset, len } = *note;
        host.overlap_conflict(side, offset, len, number, out);
    }
    if seg.rst {
        conn.rst = true;
    }
    if conn.rst || (conn.tcp[0].finished() && conn.tcp[1].finished()) {
        let link = &conn.host.link;
        let mut tomb_link = Link::new(link.id, link.addr, link.last_packet, link.last_ts);
        tomb_link.client_side = link.client_side;
        let tomb = Conn {
            tcp: Default::default(),
            host: Host::new(tomb_link),
            rst: true,
            closed: true,
            awaiting_ack: false,
            flip: conn.flip,
            held: 0,
        };
        let mut c = std::mem::replace(conn, tomb);
        finalize(cfg, &mut c, number, ts, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A segment of a known connection, in order, reads the head of
    /// `Conn`, both directions and the carrier's pointer (the first field
    /// of `Host`): two cache lines (docs/performance.md, "Step: fewer
    /// lines a segment").
    #[test]
    fn a_segments_tcp_state_and_carrier_lie_in_two_lines() {
        use std::mem::{align_of, offset_of, size_of};
        assert_eq!(align_of::<Conn>(), 64);
        let carrier_end =
            offset_of!(Conn, host) + size_of::<Option<Box<dyn crate::carrier::Carrier>>>();
        assert!(
            carrier_end <= 128,
            "the carrier pointer ends at byte {carrier_end}"
        );
    }

    #[test]
    fn key_is_the_pair_in_either_order_and_family() {
        let p = |s: &str| s.parse::<SocketAddr>().unwrap();
        let (a, a6, b) = (
            p("10.0.0.1:40000"),
            p("[::ffff:10.0.0.1]:40000"),
            p("10.0.0.2:80"),
        );
        assert_eq!(flow_key(a, b), flow_key(b, a));
        // As before: an IPv4 address and its mapped IPv6 form are one endpoint.
        assert_eq!(flow_key(a, b), flow_key(a6, b));
        assert_eq!(endpoint(a), endpoint(a6));
        let std::net::IpAddr::V4(v4) = a.ip() else {
            unreachable!()
        };
        assert_eq!(endpoint(a).0, v4.to_ipv6_mapped().to_bits());
        assert_ne!(flow_key(a, b), flow_key(a, p("10.0.0.2:81")));
        assert_ne!(flow_key(a, b), flow_key(p("10.0.0.1:40001"), b));
        assert_ne!(flow_key(a, b), flow_key(p("[fd00::1]:40000"), b));
    }
}

#[cfg(test)]
mod shard_tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    #[test]
    fn a_connection_has_one_shard_whichever_way_and_however_written() {
        let pairs = [
            ("10.0.0.1:40000", "10.0.0.2:80", "[::ffff:10.0.0.1]:40000"),
            (
                "192.168.1.7:5555",
                "8.8.8.8:443",
                "[::ffff:192.168.1.7]:5555",
            ),
        ];
        for (a, b, a6) in pairs {
            let (a, b, a6) = (addr(a), addr(b), addr(a6));
            // The same key in the table, the same worker.
            assert_eq!(flow_key(a, b), flow_key(a6, b));
            for n in 1..8 {
                assert_eq!(shard_of(a, b, n), shard_of(b, a, n));
                assert_eq!(shard_of(a, b, n), shard_of(a6, b, n));
                assert!(shard_of(a, b, n) < n);
            }
        }
    }

    #[test]
    fn connections_spread_over_the_workers() {
        let server = addr("10.0.0.2:8080");
        let v6 = addr("[2001:db8::2]:8080");
        for n in [2, 3, 4] {
            let mut per = vec![0usize; n];
            for port in 40000..42000u16 {
                per[shard_of(SocketAddr::from(([10, 0, 0, 1], port)), server, n)] += 1;
                let c6 = SocketAddr::new(addr("[2001:db8::1]:0").ip(), port);
                per[shard_of(c6, v6, n)] += 1;
            }
            let even = 4000 / n;
            assert!(
                per.iter().all(|&c| c > even * 8 / 10 && c < even * 12 / 10),
                "{n} workers: {per:?}"
            );
        }
    }
}
