//! explain's TCP section: the segments of the connection walked through,
//! for the course's two questions about TCP.
//!
//! - *Who acknowledges what*: for each frame, the segments that carried it
//!   and the segment of the other side that first acknowledged its last
//!   byte: a data segment (the ACK rode on it: piggybacked) or a pure ACK,
//!   how long after, and whether that ACK was delayed.
//! - *What keeps an idle connection open*: TCP keepalive probes and their
//!   answers, and the WebSocket ping/pong heartbeats, with their intervals.
//!
//! [`TcpLog`] reads the connection's segments as they come (one
//! [`SegmentRecord`] each, sent when `Config::segment_log` is on) in
//! bounded memory: a ring of the latest segments, the acknowledgments not
//! yet tied to a frame, capped lists.
//!
//! Classification follows Wireshark's `tcp.analysis` rules (so a tshark run
//! on the same packets agrees): a **keepalive** is a segment with 0 or 1
//! byte whose sequence number is one less than the next expected one
//! (`snd.nxt - 1`, RFC 9293 section 3.8.4), without SYN, FIN or RST; a
//! **keepalive ACK** is a segment without data that repeats its side's
//! previous sequence number, acknowledgment and window right after a
//! keepalive of the other side.
//!
//! A pure ACK is called **delayed** when it acknowledged two or more data
//! segments at once (RFC 1122 section 4.2.3.2 / RFC 9293 section 3.8.6.3:
//! a receiver may hold its ACK until a second full-sized segment arrives),
//! or when it left the receiver more than [`DELAYED_MS`] after the data
//! arrived there (the delayed-ACK timer; at most 500 ms by the RFCs, 40 ms
//! and up on Linux). The time is measured where the capture was taken, so
//! the round trip from there to the receiver (read off the TCP handshake)
//! is taken off first.

use std::collections::VecDeque;

use serde::Serialize;

use crate::event::SegmentRecord;
use crate::findings::Dir;

/// A pure ACK that left the receiver more than this long after the data is
/// a delayed ACK.
pub const DELAYED_MS: f64 = 10.0;
/// Segments remembered (to find those that carried a frame).
const RING: usize = 4096;
/// The same before the connection is chosen.
pub const PENDING_RING: usize = 16;
/// Data segments waiting for their acknowledgment, per side.
const UNACKED: usize = 4096;
/// Segments listed per frame.
const FRAME_SEGMENTS: usize = 8;
/// Keepalives, heartbeats and idle stretches listed.
const MAX_LIST: usize = 1000;
/// A stretch with no WebSocket data this long is an idle period.
const IDLE_S: f64 = 1.0;

/// What a segment was, as Wireshark's `tcp.analysis` would say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SegKind {
    Syn,
    SynAck,
    Fin,
    Rst,
    /// Carries data.
    Data,
    /// Data already sent (its end is not past the side's next sequence number).
    Retransmission,
    /// No data: an acknowledgment (or a window update).
    PureAck,
    KeepAlive,
    KeepAliveAck,
}

impl SegKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SegKind::Syn => "SYN",
            SegKind::SynAck => "SYN/ACK",
            SegKind::Fin => "FIN",
            SegKind::Rst => "RST",
            SegKind::Data => "data",
            SegKind::Retransmission => "retransmission",
            SegKind::PureAck => "pure ACK",
            SegKind::KeepAlive => "keepalive",
            SegKind::KeepAliveAck => "keepalive ACK",
        }
    }
}

/// One segment, as explain shows it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SegEx {
    pub packet: u64,
    /// Seconds since the capture's first packet.
    pub ts: f64,
    pub from: Option<Dir>,
    #[serde(skip)]
    pub side: u8,
    /// Relative sequence and acknowledgment numbers, as Wireshark shows them
    /// (1 is the first data byte when the SYN was captured).
    pub seq: i64,
    pub ack: Option<i64>,
    pub len: u32,
    /// The window in bytes (scaled when both SYNs announced a scale).
    pub window: u64,
    pub flags: &'static str,
    pub kind: SegKind,
}

/// The acknowledgment of a frame's last byte.
#[derive(Debug, Clone, Serialize)]
pub struct AckEx {
    /// The packet that carried it.
    pub packet: u64,
    /// `piggybacked` (on a data segment of the other side) or `pure`.
    pub how: &'static str,
    /// Milliseconds after the segment that brought the frame's last byte.
    pub after_ms: f64,
    /// Data segments of the frame's side it acknowledged at once.
    pub covers: u32,
    /// A pure ACK that was delayed (see the module's rule).
    pub delayed: bool,
    /// The sentence.
    pub says: String,
}

/// A frame's TCP: the segments that carried it and its acknowledgment.
#[derive(Debug, Clone, Serialize)]
pub struct FrameTcp {
    /// The segments that carried the frame's bytes: all of them up to 8,
    /// else the first 4 and the last 4.
    pub segments: Vec<SegEx>,
    /// How many segments carried them (of those kept).
    pub segment_count: usize,
    /// Its bytes in the side's stream, relative as Wireshark counts them.
    pub seq: i64,
    pub end: i64,
    pub ack: Option<AckEx>,
    /// Why there is no acknowledgment, when there is none.
    pub unacked: Option<String>,
}

/// A keepalive probe and its answer.
#[derive(Debug, Clone, Serialize)]
pub struct KeepaliveEx {
    pub packet: u64,
    pub from: Option<Dir>,
    /// Seconds since the capture's first packet.
    pub ts: f64,
    /// Seconds since the connection's previous segment that was no keepalive
    /// (or answer to one).
    pub idle_s: f64,
    /// Seconds since the previous probe of the same idle stretch.
    pub since_previous_s: Option<f64>,
    /// The keepalive ACK that answered it.
    pub answer: Option<u64>,
    pub answer_ms: Option<f64>,
}

/// A WebSocket ping as a heartbeat.
#[derive(Debug, Clone, Serialize)]
pub struct HeartbeatEx {
    pub frame: usize,
    pub packet: u64,
    pub from: Dir,
    pub ts: f64,
    /// Seconds since the previous ping (of either side).
    pub since_previous_s: Option<f64>,
    pub pong_frame: Option<usize>,
    pub rtt_ms: Option<f64>,
}

/// A stretch with no WebSocket bytes.
#[derive(Debug, Clone, Serialize)]
pub struct IdleEx {
    /// The last data segment before and the first after.
    pub from_packet: u64,
    pub to_packet: Option<u64>,
    pub seconds: f64,
    pub keepalives: u32,
}

/// Counts over the frames of one side: how their last bytes were acknowledged.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AckCounts {
    pub frames: u32,
    pub piggybacked: u32,
    pub pure: u32,
    pub delayed: u32,
    pub unacked: u32,
    /// Milliseconds from the data to its pure ACK: the shortest and longest.
    pub pure_min_ms: Option<f64>,
    pub pure_max_ms: Option<f64>,
}

/// The TCP section: counts, keepalives, heartbeats, idle stretches, and
/// the answers to the course's questions.
#[derive(Debug, Clone, Serialize)]
pub struct TcpStory {
    pub segments: u64,
    pub data_segments: u64,
    pub pure_acks: u64,
    pub keepalives: u64,
    pub keepalive_acks: u64,
    pub retransmissions: u64,
    /// Acknowledgment of the frames, by the side that sent them.
    pub client_frames: AckCounts,
    pub server_frames: AckCounts,
    /// The round trip from the capture point to each side (from the TCP
    /// handshake), milliseconds.
    pub rtt_to_client_ms: Option<f64>,
    pub rtt_to_server_ms: Option<f64>,
    pub keepalive_list: Vec<KeepaliveEx>,
    pub heartbeats: Vec<HeartbeatEx>,
    pub idle: Vec<IdleEx>,
    /// The connection's span, seconds.
    pub span_s: f64,
    /// The answers, from this capture's numbers.
    pub why_acks: String,
    pub how_long_idle: String,
    /// The delayed-ACK rule used.
    pub rule: String,
}

/// One side's sequence-space state.
#[derive(Debug, Default, Clone, Copy)]
struct Side {
    /// Sequence number of stream offset 0 (as the reassembler counts).
    base: Option<u32>,
    /// The SYN was seen (relative numbers count from it as Wireshark's do).
    syn: bool,
    data_seen: bool,
    /// Highest stream offset seen (to unwrap sequence numbers).
    hi: i64,
    /// Next expected sequence number (highest seq + len, SYN/FIN counted).
    nextseq: Option<u32>,
    /// Its latest acknowledgment number and window.
    lastack: Option<u32>,
    window: Option<u16>,
    wscale: Option<u8>,
    last_kind: Option<SegKind>,
    /// Highest offset of this side the other side acknowledged.
    acked: Option<i64>,
}

impl Side {
    fn offset(&self, seq: u32) -> Option<i64> {
        let base = self.base?;
        let expected = base.wrapping_add(self.hi as u32);
        Some(self.hi + i64::from(seq.wrapping_sub(expected) as i32))
    }
}

/// A data segment waiting for the other side's acknowledgment.
#[derive(Debug, Clone, Copy)]
struct Unacked {
    end: i64,
    ts: f64,
}

/// An acknowledgment that moved a side's acknowledged offset forward.
#[derive(Debug, Clone, Copy)]
pub struct AckMove {
    /// The side whose bytes it acknowledges.
    pub of_side: u8,
    pub upto: i64,
    pub packet: u64,
    pub ts: f64,
    pub pure: bool,
    /// It carried a FIN (the other side closing).
    pub fin: bool,
    /// Data segments it acknowledged, and when the newest of them arrived.
    pub covers: u32,
    pub newest_ts: Option<f64>,
}

/// The segment log of one connection.
#[derive(Debug)]
pub struct TcpLog {
    cap: usize,
    sides: [Side; 2],
    ring: VecDeque<SegEx>,
    unacked: [VecDeque<Unacked>; 2],
    /// The latest acknowledgment move of each side's bytes.
    pub last_move: [Option<AckMove>; 2],
    /// SYN, SYN/ACK and handshake-ACK times: the round trips.
    syn_ts: [Option<f64>; 3],
    syn_side: Option<u8>,
    /// The client's side, once known.
    client_side: Option<u8>,
    counts: [u64; 5],
    keepalives: Vec<KeepaliveEx>,
    keepalive_count: u64,
    keepalive_ack_count: u64,
    /// (side, list index) of keepalives waiting for an answer.
    probe_waiting: [Option<usize>; 2],
    last_probe_ts: [Option<f64>; 2],
    /// The time of the latest segment that was no keepalive or answer.
    last_busy_ts: Option<f64>,
    /// The latest data segment, and the keepalives since it.
    last_data: Option<(u64, f64)>,
    idle: Vec<IdleEx>,
    idle_keepalives: u32,
    heartbeats: Vec<HeartbeatEx>,
    first_ts: Option<f64>,
    last_ts: Option<f64>,
    acks: [AckCounts; 2],
    t0: f64,
}

impl TcpLog {
    pub fn new(cap: usize) -> Self {
        TcpLog {
            cap: cap.min(RING),
            sides: [Side::default(); 2],
            ring: VecDeque::new(),
            unacked: [VecDeque::new(), VecDeque::new()],
            last_move: [None; 2],
            syn_ts: [None; 3],
            syn_side: None,
            client_side: None,
            counts: [0; 5],
            keepalives: Vec::new(),
            keepalive_count: 0,
            keepalive_ack_count: 0,
            probe_waiting: [None; 2],
            last_probe_ts: [None; 2],
            last_busy_ts: None,
            last_data: None,
            idle: Vec::new(),
            idle_keepalives: 0,
            heartbeats: Vec::new(),
            first_ts: None,
            last_ts: None,
            acks: [AckCounts::default(), AckCounts::default()],
            t0: 0.0,
        }
    }

    /// The connection was chosen: keep as many segments as the chosen one does.
    pub fn widen(&mut self) {
        self.cap = RING;
    }

    /// The base of relative times (the capture's first packet).
    pub fn set_t0(&mut self, t0: f64) {
        self.t0 = t0;
    }

    /// Reads one segment; returns the acknowledgment move it made, if any.
    pub fn segment(&mut self, s: &SegmentRecord) -> Option<AckMove> {
        let side = usize::from(s.side.min(1));
        let other = 1 - side;
        self.first_ts.get_or_insert(s.ts);
        self.last_ts = Some(s.ts);
        match s.from {
            Some(Dir::Client) => self.client_side = Some(s.side.min(1)),
            Some(Dir::Server) => self.client_side = Some(1 - s.side.min(1)),
            None => {}
        }
        // Sequence space: the stream's origin as the reassembler fixes it.
        {
            let me = &mut self.sides[side];
            if s.syn {
                if me.base.is_none() || !me.data_seen {
                    me.base = Some(s.seq.wrapping_add(1));
                    me.syn = true;
                    me.hi = 0;
                }
                if s.wscale.is_some() {
                    me.wscale = s.wscale;
                }
            } else if me.base.is_none() {
                me.base = Some(s.seq);
            }
        }
        if s.syn && s.ack.is_none() {
            self.syn_ts[0] = Some(s.ts);
            self.syn_side = Some(s.side);
        } else if s.syn && self.syn_ts[0].is_some() {
            self.syn_ts[1] = Some(s.ts);
        } else if self.syn_ts[1].is_some()
            && self.syn_ts[2].is_none()
            && self.syn_side == Some(s.side)
        {
            self.syn_ts[2] = Some(s.ts);
        }
        let me = self.sides[side];
        let them = self.sides[other];
        let control = s.syn || s.fin || s.rst;
        // Wireshark's keepalive and keepalive-ACK rules.
        let keepalive =
            !control && s.len <= 1 && me.nextseq.is_some_and(|n| s.seq == n.wrapping_sub(1));
        let keepalive_ack = !keepalive
            && !control
            && s.len == 0
            && s.window != 0
            && me.window == Some(s.window)
            && me.nextseq == Some(s.seq)
            && me.lastack.is_some()
            && me.lastack == s.ack
            && them.last_kind == Some(SegKind::KeepAlive);
        let off = me.offset(s.seq).unwrap_or(0);
        let end = off + i64::from(s.len);
        let kind = if s.rst {
            SegKind::Rst
        } else if s.syn && s.ack.is_none() {
            SegKind::Syn
        } else if s.syn {
            SegKind::SynAck
        } else if keepalive {
            SegKind::KeepAlive
        } else if keepalive_ack {
            SegKind::KeepAliveAck
        } else if s.len > 0 && me.data_seen && end <= me.hi {
            SegKind::Retransmission
        } else if s.len > 0 {
            SegKind::Data
        } else if s.fin {
            SegKind::Fin
        } else {
            SegKind::PureAck
        };
        // The side's state after it.
        {
            let m = &mut self.sides[side];
            let adv = s
                .seq
                .wrapping_add(s.len + u32::from(s.syn) + u32::from(s.fin));
            if m.nextseq.is_none_or(|n| (adv.wrapping_sub(n) as i32) > 0) {
                m.nextseq = Some(adv);
            }
            if s.len > 0 {
                m.data_seen = true;
            }
            if end > m.hi && !s.syn {
                m.hi = end;
            }
            if s.ack.is_some() {
                m.lastack = s.ack;
            }
            m.window = Some(s.window);
            m.last_kind = Some(kind);
        }
        self.count(kind);
        if matches!(kind, SegKind::Data) {
            let q = &mut self.unacked[side];
            if q.len() >= UNACKED {
                q.pop_front();
            }
            q.push_back(Unacked { end, ts: s.ts });
        }
        self.keepalive_bookkeeping(s, side, kind);
        let ack_off = s.ack.and_then(|a| them.offset(a));
        let seg = SegEx {
            packet: s.packet,
            ts: s.ts - self.t0,
            from: s.from,
            side: s.side,
            seq: rel(&me, off, s.syn),
            ack: ack_off.map(|a| rel(&them, a, false)),
            len: s.len,
            window: u64::from(s.window) << self.scale(side, s.syn),
            flags: flags(s),
            kind,
        };
        if self.ring.len() >= self.cap {
            self.ring.pop_front();
        }
        self.ring.push_back(seg);
        // Does it acknowledge the other side's bytes further?
        let a = ack_off?;
        if kind == SegKind::KeepAliveAck || self.sides[other].acked.is_some_and(|x| a <= x) {
            return None;
        }
        self.sides[other].acked = Some(a);
        let mut covers = 0;
        let mut newest_ts = None;
        let q = &mut self.unacked[other];
        while let Some(u) = q.front() {
            if u.end > a {
                break;
            }
            covers += 1;
            newest_ts = Some(u.ts);
            q.pop_front();
        }
        let mv = AckMove {
            of_side: other as u8,
            upto: a,
            packet: s.packet,
            ts: s.ts,
            pure: s.len == 0,
            fin: s.fin,
            covers,
            newest_ts,
        };
        self.last_move[other] = Some(mv);
        Some(mv)
    }

    /// The window scale of a side's segments: both SYNs must have announced
    /// one (RFC 7323); never on the SYNs themselves.
    fn scale(&self, side: usize, syn: bool) -> u32 {
        match (syn, self.sides[0].wscale, self.sides[1].wscale) {
            (false, Some(_), Some(_)) => u32::from(self.sides[side].wscale.unwrap_or(0).min(14)),
            _ => 0,
        }
    }

    fn count(&mut self, kind: SegKind) {
        let i = match kind {
            SegKind::Data => 1,
            SegKind::PureAck => 2,
            SegKind::KeepAlive => 3,
            SegKind::Retransmission => 4,
            _ => 0,
        };
        if let Some(c) = self.counts.get_mut(i) {
            *c += 1;
        }
        if kind == SegKind::KeepAliveAck {
            self.keepalive_ack_count += 1;
        }
    }

    fn keepalive_bookkeeping(&mut self, s: &SegmentRecord, side: usize, kind: SegKind) {
        let t = s.ts - self.t0;
        match kind {
            SegKind::KeepAlive => {
                self.keepalive_count += 1;
                self.idle_keepalives += 1;
                let idle_s = self.last_busy_ts.map_or(0.0, |b| s.ts - b);
                let since_previous_s = self
                    .last_probe_ts
                    .get(side)
                    .copied()
                    .flatten()
                    .map(|p| s.ts - p);
                if let Some(p) = self.last_probe_ts.get_mut(side) {
                    *p = Some(s.ts);
                }
                if self.keepalives.len() < MAX_LIST {
                    if let Some(w) = self.probe_waiting.get_mut(side) {
                        *w = Some(self.keepalives.len());
                    }
                    self.keepalives.push(KeepaliveEx {
                        packet: s.packet,
                        from: s.from,
                        ts: t,
                        idle_s,
                        since_previous_s,
                        answer: None,
                        answer_ms: None,
                    });
                }
            }
            SegKind::KeepAliveAck => {
                if let Some(i) = self.probe_waiting.get_mut(1 - side).and_then(Option::take)
                    && let Some(k) = self.keepalives.get_mut(i)
                {
                    k.answer = Some(s.packet);
                    k.answer_ms = Some((t - k.ts) * 1000.0);
                }
            }
            _ => {
                self.last_busy_ts = Some(s.ts);
                // A new busy stretch: probes count their intervals afresh.
                self.last_probe_ts = [None; 2];
                self.probe_waiting = [None; 2];
            }
        }
        if matches!(kind, SegKind::Data | SegKind::Retransmission) {
            if let Some((p, ts)) = self.last_data
                && s.ts - ts >= IDLE_S
                && self.idle.len() < MAX_LIST
            {
                self.idle.push(IdleEx {
                    from_packet: p,
                    to_packet: Some(s.packet),
                    seconds: s.ts - ts,
                    keepalives: self.idle_keepalives,
                });
            }
            self.last_data = Some((s.packet, s.ts));
            self.idle_keepalives = 0;
        }
    }

    /// A ping frame of the connection (for the heartbeat list).
    pub fn ping(&mut self, frame: usize, packet: u64, from: Dir, ts: f64) {
        if self.heartbeats.len() >= MAX_LIST {
            return;
        }
        let since_previous_s = self.heartbeats.last().map(|h| ts - self.t0 - h.ts);
        self.heartbeats.push(HeartbeatEx {
            frame,
            packet,
            from,
            ts: ts - self.t0,
            since_previous_s,
            pong_frame: None,
            rtt_ms: None,
        });
    }

    /// The pong that answered the ping of frame `ping_frame`.
    pub fn pong(&mut self, ping_frame: usize, pong_frame: usize, rtt_ms: f64) {
        if let Some(h) = self
            .heartbeats
            .iter_mut()
            .rev()
            .find(|h| h.frame == ping_frame)
        {
            h.pong_frame = Some(pong_frame);
            h.rtt_ms = Some(rtt_ms);
        }
    }

    /// The round trip from the capture point to a side and back, from the
    /// TCP handshake (to the server: SYN to SYN/ACK; to the client: SYN/ACK
    /// to ACK), in seconds.
    fn rtt_to(&self, side: usize) -> Option<f64> {
        let client = usize::from(self.syn_side?);
        let [a, b, c] = self.syn_ts;
        if side == client {
            Some(c? - b?)
        } else {
            Some(b? - a?)
        }
    }

    /// The TCP of a frame that has just completed: `side` sent it, its
    /// bytes are at stream offsets `start..end`, its last byte came in
    /// `packet`. `None` when the frame's offsets are not the TCP stream's
    /// (TLS, HTTP/2) or its segments were not kept.
    pub fn frame(
        &self,
        side: usize,
        start: u64,
        end: u64,
        first_packet: u64,
        packet: u64,
    ) -> Option<FrameTcp> {
        let me = self.sides.get(side)?;
        let (start, end) = (i64::try_from(start).ok()?, i64::try_from(end).ok()?);
        let mut segs: Vec<SegEx> = Vec::new();
        let mut last_ok = false;
        let mut completing = false;
        for s in self.ring.iter().rev() {
            if usize::from(s.side) != side || s.len == 0 {
                continue;
            }
            if s.packet < first_packet {
                break;
            }
            if s.packet > packet {
                continue;
            }
            let off = s.seq - i64::from(me.syn);
            let s_end = off + i64::from(s.len);
            if s_end <= start || off >= end {
                continue;
            }
            if s_end >= end {
                last_ok = true;
            }
            if s.packet == packet {
                completing = true;
            }
            segs.push(*s);
        }
        // Its last byte came in one of these segments, and the packet that
        // completed it carried some of its bytes (with reordering, the late
        // segment that filled a hole): else these offsets are not the TCP
        // stream's (TLS, HTTP/2).
        if !(last_ok && completing) {
            return None;
        }
        segs.reverse();
        let segment_count = segs.len();
        if segs.len() > FRAME_SEGMENTS {
            segs.drain(FRAME_SEGMENTS / 2..segs.len() - FRAME_SEGMENTS / 2);
        }
        let syn = i64::from(me.syn);
        Some(FrameTcp {
            segments: segs,
            segment_count,
            seq: start + syn,
            end: end + syn,
            ack: None,
            unacked: None,
        })
    }

    /// The first segment of the other side whose acknowledgment covers
    /// `end` (relative) of `side`, among those kept (an ACK that came before
    /// the frame was complete: the capture missed some of the frame's bytes
    /// or the reassembler waited for the ACK to give up on a hole).
    pub fn earlier_ack(&self, side: usize, end: i64) -> Option<AckMove> {
        let s = self.ring.iter().find(|s| {
            usize::from(s.side) != side && s.ack.is_some_and(|a| a >= end) && s.kind != SegKind::Syn
        })?;
        Some(AckMove {
            of_side: side as u8,
            upto: end,
            packet: s.packet,
            ts: s.ts + self.t0,
            pure: s.len == 0,
            fin: s.flags.starts_with("FIN"),
            covers: 1,
            newest_ts: None,
        })
    }

    /// The acknowledgment `mv` of a frame whose last byte came at `data_ts`
    /// (epoch seconds), from side `side`.
    pub fn ack_of(&mut self, side: usize, mv: &AckMove, data_ts: f64) -> AckEx {
        let after_ms = (mv.ts - data_ts).max(0.0) * 1000.0;
        let rtt_ms = self.rtt_to(1 - side).unwrap_or(0.0) * 1000.0;
        let newest_ms = mv
            .newest_ts
            .map_or(after_ms, |t| (mv.ts - t).max(0.0) * 1000.0);
        let delayed = mv.pure && (mv.covers >= 2 || newest_ms - rtt_ms > DELAYED_MS);
        let who = match side {
            0 | 1 => self.dir_name(1 - side),
            _ => "the other side",
        };
        let says = if mv.pure {
            let why = if mv.covers >= 2 {
                format!(
                    "delayed: it acknowledged {} segments at once (RFC 1122 4.2.3.2: an ACK for at least every second segment)",
                    mv.covers
                )
            } else if delayed {
                format!(
                    "delayed: the receiver held it {:.1} ms (more than {DELAYED_MS} ms{}; RFC 1122 4.2.3.2 allows up to 500 ms)",
                    newest_ms - rtt_ms,
                    if rtt_ms >= 0.05 {
                        format!(" after taking off the {rtt_ms:.1} ms round trip to it")
                    } else {
                        String::new()
                    }
                )
            } else {
                "sent at once: the receiver had no data to send back".to_string()
            };
            format!(
                "a {} from {who}, packet #{}, {after_ms:.1} ms after; {why}",
                if mv.fin {
                    "segment without data (its FIN, closing)"
                } else {
                    "pure ACK"
                },
                mv.packet
            )
        } else {
            format!(
                "piggybacked on packet #{} (a data segment of {who}), {after_ms:.1} ms after",
                mv.packet
            )
        };
        let c = &mut self.acks[side.min(1)];
        if mv.pure {
            c.pure += 1;
            if delayed {
                c.delayed += 1;
            }
            c.pure_min_ms = Some(c.pure_min_ms.map_or(after_ms, |m| m.min(after_ms)));
            c.pure_max_ms = Some(c.pure_max_ms.map_or(after_ms, |m| m.max(after_ms)));
        } else {
            c.piggybacked += 1;
        }
        AckEx {
            packet: mv.packet,
            how: if mv.pure { "pure" } else { "piggybacked" },
            after_ms,
            covers: mv.covers,
            delayed,
            says,
        }
    }

    /// A frame of `side` went by (counted whether or not its ACK is found).
    pub fn count_frame(&mut self, side: usize) {
        if let Some(c) = self.acks.get_mut(side) {
            c.frames += 1;
        }
    }

    /// A frame of `side` whose acknowledgment never came.
    pub fn count_unacked(&mut self, side: usize) {
        if let Some(c) = self.acks.get_mut(side) {
            c.unacked += 1;
        }
    }

    /// "the client" or "the server" for a side (once the client is known).
    fn dir_name(&self, side: usize) -> &'static str {
        match self
            .client_side
            .or(self.syn_side)
            .map(|c| usize::from(c) == side)
        {
            Some(true) => "the client",
            Some(false) => "the server",
            None => "the other side",
        }
    }

    /// The side of a direction, once the client is known.
    pub fn side_of(&self, d: Dir) -> Option<usize> {
        let c = usize::from(self.client_side.or(self.syn_side)?);
        Some(if d == Dir::Client { c } else { 1 - c })
    }

    /// The section, once the capture has been read.
    pub fn story(&self) -> TcpStory {
        let c = self.side_of(Dir::Client).unwrap_or(0);
        let s = 1 - c;
        let keepalive_acks = self.keepalive_ack_count;
        let span_s = match (self.first_ts, self.last_ts) {
            (Some(a), Some(b)) => b - a,
            _ => 0.0,
        };
        let client_frames = self.acks[c].clone();
        let server_frames = self.acks[s].clone();
        let why_acks = why_acks(&client_frames, &server_frames);
        let how_long_idle = how_long(self, span_s);
        TcpStory {
            segments: self.counts.iter().sum::<u64>(),
            data_segments: self.counts[1],
            pure_acks: self.counts[2],
            keepalives: self.keepalive_count,
            keepalive_acks,
            retransmissions: self.counts[4],
            client_frames,
            server_frames,
            rtt_to_client_ms: self.rtt_to(c).map(|x| x * 1000.0),
            rtt_to_server_ms: self.rtt_to(s).map(|x| x * 1000.0),
            keepalive_list: self.keepalives.clone(),
            heartbeats: self.heartbeats.clone(),
            idle: self.idle.clone(),
            span_s,
            why_acks,
            how_long_idle,
            rule: format!(
                "A pure ACK is delayed when it acknowledged two or more segments at once, or when the receiver \
                 held it more than {DELAYED_MS} ms (the time from the data to its ACK at the capture point, less \
                 the round trip to the receiver measured on the TCP handshake): RFC 1122 section 4.2.3.2 and \
                 RFC 9293 section 3.8.6.3 let a receiver delay an ACK up to 500 ms, and ask for one at least \
                 every second full-sized segment."
            ),
        }
    }
}

/// A relative number as Wireshark shows it: the SYN is 0, the first data
/// byte 1 (when the SYN was captured).
fn rel(side: &Side, off: i64, syn: bool) -> i64 {
    if syn { 0 } else { off + i64::from(side.syn) }
}

fn flags(s: &SegmentRecord) -> &'static str {
    match (s.syn, s.fin, s.rst, s.psh, s.ack.is_some()) {
        (_, _, true, _, true) => "RST, ACK",
        (_, _, true, _, false) => "RST",
        (true, _, _, _, true) => "SYN, ACK",
        (true, _, _, _, false) => "SYN",
        (_, true, _, true, _) => "FIN, PSH, ACK",
        (_, true, _, false, _) => "FIN, ACK",
        (_, _, _, true, true) => "PSH, ACK",
        (_, _, _, true, false) => "PSH",
        (_, _, _, false, true) => "ACK",
        _ => "none",
    }
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Why one side seems to ACK and the other not, from the counts.
fn why_acks(c: &AckCounts, s: &AckCounts) -> String {
    if c.frames + s.frames == 0 {
        return "No frame of this connection could be tied to its TCP segments (its WebSocket bytes are \
                not the TCP stream's bytes, as over TLS or HTTP/2, or no frame was seen): the segments \
                are counted above, the acknowledgment of each frame is not."
            .to_string();
    }
    let side = |who: &str, other: &str, k: &AckCounts| -> String {
        if k.frames == 0 {
            return format!("{who} sent no frame.");
        }
        let mut parts = Vec::new();
        if k.piggybacked > 0 {
            parts.push(format!(
                "{} acknowledged on {other}'s own data segments (piggybacked: no separate ACK packet)",
                plural(k.piggybacked, "was", "were")
            ));
        }
        if k.pure > 0 {
            let range = match (k.pure_min_ms, k.pure_max_ms) {
                (Some(a), Some(b)) if (b - a).abs() < 0.05 => format!(", {a:.1} ms after"),
                (Some(a), Some(b)) => format!(", {a:.1} to {b:.1} ms after"),
                _ => String::new(),
            };
            parts.push(format!(
                "{} by pure ACKs from {other}{range} ({} delayed)",
                plural(k.pure, "was acknowledged", "were acknowledged"),
                k.delayed
            ));
        }
        if k.unacked > 0 {
            parts.push(format!(
                "{} no acknowledgment in the capture",
                plural(k.unacked, "had", "had")
            ));
        }
        format!(
            "Of the {} {who} sent, {}.",
            plural(k.frames, "frame", "frames"),
            parts.join("; ")
        )
    };
    format!(
        "{} {} TCP acknowledges bytes, not messages: a side with data of its own to send puts the ACK in that \
         segment's header (piggybacking), so its ACKs hide inside its answers; a side with nothing to send \
         must send a pure ACK, at once or after its delayed-ACK timer. That is why the side that only \
         receives pushes seems to be the only one that ACKs.",
        side("the client", "the server", c),
        side("the server", "the client", s),
    )
}

/// How long an idle connection stays open, from the capture.
fn how_long(log: &TcpLog, span_s: f64) -> String {
    let mut out =
        format!("TCP itself has no idle timeout: this connection stayed open {span_s:.1} s");
    if let Some(longest) = log
        .idle
        .iter()
        .max_by(|a, b| a.seconds.total_cmp(&b.seconds))
    {
        out.push_str(&format!(
            ", its longest stretch without WebSocket bytes {:.1} s (packets #{} to #{})",
            longest.seconds,
            longest.from_packet,
            longest.to_packet.unwrap_or(0)
        ));
    }
    out.push_str(". ");
    let k = &log.keepalives;
    if k.is_empty() {
        out.push_str(
            "No TCP keepalive probe appears (Linux sends them only on sockets with SO_KEEPALIVE, \
             after 7200 s of silence by default). ",
        );
    } else {
        let first = k.iter().map(|p| p.idle_s).fold(f64::INFINITY, f64::min);
        let gaps: Vec<f64> = k.iter().filter_map(|p| p.since_previous_s).collect();
        let answered = k.iter().filter(|p| p.answer.is_some()).count();
        let who = match k.first().and_then(|p| p.from) {
            Some(Dir::Client) => "the client's",
            Some(Dir::Server) => "the server's",
            None => "one side's",
        };
        out.push_str(&format!(
            "During idle stretches {who} kernel sent {} TCP keepalive probes (a segment repeating the last byte's \
             sequence number, seq = snd.nxt - 1, with no data), the first {first:.1} s into the silence{}; \
             {answered} were answered by an ACK. They tell the kernel the peer is still there, carry no data, \
             and are invisible to the application (the socket option SO_KEEPALIVE with TCP_KEEPIDLE and \
             TCP_KEEPINTVL set them; Linux's defaults are 7200 s and 75 s). ",
            k.len(),
            if gaps.is_empty() {
                String::new()
            } else {
                format!(
                    ", then every {:.1} s",
                    gaps.iter().sum::<f64>() / gaps.len() as f64
                )
            }
        ));
    }
    let h = &log.heartbeats;
    if h.is_empty() {
        out.push_str(
            "No WebSocket ping was sent: nothing at the WebSocket layer shows the connection alive, and a \
             proxy or NAT with an idle timeout (often 60 s) may drop it.",
        );
    } else {
        let gaps: Vec<f64> = h.iter().filter_map(|p| p.since_previous_s).collect();
        let rtts: Vec<f64> = h.iter().filter_map(|p| p.rtt_ms).collect();
        out.push_str(&format!(
            "At the WebSocket layer, {} pings were sent{}{}: heartbeats that proxies and NATs see as traffic \
             (resetting their idle timers) and that prove the peer's application, not just its kernel, is alive.",
            h.len(),
            if gaps.is_empty() {
                String::new()
            } else {
                format!(
                    ", one every {:.1} s",
                    gaps.iter().sum::<f64>() / gaps.len() as f64
                )
            },
            if rtts.is_empty() {
                String::new()
            } else {
                format!(
                    ", each answered by a pong ({} answered, in {:.1} ms on average)",
                    rtts.len(),
                    rtts.iter().sum::<f64>() / rtts.len() as f64
                )
            }
        ));
    }
    out
}

/// Milliseconds for people: "0.011 ms", "43.6 ms".
fn ms(x: f64) -> String {
    if x < 1.0 {
        format!("{x:.3} ms")
    } else {
        format!("{x:.1} ms")
    }
}

impl SegEx {
    /// "#8 (seq 200, 11 bytes, PSH, ACK)".
    pub fn brief(&self) -> String {
        format!(
            "#{} (seq {}, {} bytes, {})",
            self.packet, self.seq, self.len, self.flags
        )
    }
}

impl FrameTcp {
    /// The segments that carried the frame, in words.
    pub fn carried(&self) -> String {
        let mut list: Vec<String> = self.segments.iter().map(SegEx::brief).collect();
        let more = self.segment_count.saturating_sub(self.segments.len());
        if more > 0 {
            list.insert(self.segments.len() / 2, format!("… {more} more …"));
        }
        format!(
            "bytes {} to {} of its side's stream, in {}: {}",
            self.seq,
            self.end - 1,
            if self.segment_count == 1 {
                "packet".to_string()
            } else {
                format!("{} packets", self.segment_count)
            },
            list.join(", ")
        )
    }

    /// Its acknowledgment, in words.
    pub fn acked(&self) -> String {
        match (&self.ack, &self.unacked) {
            (Some(a), _) => format!("acknowledged (ack {}): {}", self.end, a.says),
            (None, Some(u)) => u.clone(),
            (None, None) => "its acknowledgment had not come when this was written".to_string(),
        }
    }
}

/// The section as plain-text lines (each a paragraph the caller wraps).
pub fn text_lines(t: &TcpStory) -> Vec<(usize, String)> {
    let mut v = vec![(
        3,
        format!(
            "{} segments: {} with data, {} pure ACKs, {} keepalive probes, {} keepalive ACKs, {} retransmissions.",
            t.segments,
            t.data_segments,
            t.pure_acks,
            t.keepalives,
            t.keepalive_acks,
            t.retransmissions
        ),
    )];
    v.push((3, format!("Who acknowledges what? {}", t.why_acks)));
    v.push((3, format!("The rule used: {}", t.rule)));
    if !t.keepalive_list.is_empty() {
        v.push((
            3,
            "TCP keepalive probes (tcp.analysis.keep_alive in Wireshark):".to_string(),
        ));
        for k in &t.keepalive_list {
            v.push((
                5,
                format!(
                    "packet #{} from the {} at +{:.3} s, {:.3} s after the last other segment{}; {}",
                    k.packet,
                    k.from.map_or("?", Dir::as_str),
                    k.ts,
                    k.idle_s,
                    k.since_previous_s
                        .map_or(String::new(), |s| format!(", {s:.3} s after the previous probe")),
                    match (k.answer, k.answer_ms) {
                        (Some(p), Some(m)) => format!("answered by keepalive ACK #{p} in {}", ms(m)),
                        _ => "no answer in the capture".to_string(),
                    }
                ),
            ));
        }
    }
    if !t.heartbeats.is_empty() {
        v.push((3, "WebSocket heartbeats (ping, then pong):".to_string()));
        for h in &t.heartbeats {
            v.push((
                5,
                format!(
                    "ping frame {} from the {} (packet #{}) at +{:.3} s{}; {}",
                    h.frame,
                    h.from.as_str(),
                    h.packet,
                    h.ts,
                    h.since_previous_s.map_or(String::new(), |s| format!(
                        ", {s:.3} s after the previous ping"
                    )),
                    match (h.pong_frame, h.rtt_ms) {
                        (Some(p), Some(m)) => format!("pong frame {p} after {}", ms(m)),
                        _ => "no pong in the capture".to_string(),
                    }
                ),
            ));
        }
    }
    if !t.idle.is_empty() {
        v.push((
            3,
            format!("Stretches with no WebSocket bytes for {IDLE_S:.0} s or more:"),
        ));
        for i in &t.idle {
            v.push((
                5,
                format!(
                    "packets #{} to #{}: {:.3} s, {} keepalive probe{}",
                    i.from_packet,
                    i.to_packet.unwrap_or(0),
                    i.seconds,
                    i.keepalives,
                    if i.keepalives == 1 { "" } else { "s" }
                ),
            ));
        }
    }
    v.push((
        3,
        format!(
            "How long does an idle connection stay open? {}",
            t.how_long_idle
        ),
    ));
    v
}

/// A frame card's TCP paragraph (numbers and fixed words only: nothing
/// from the capture's bytes needs escaping).
pub fn html_frame(out: &mut String, t: &FrameTcp) {
    let ackc = match &t.ack {
        Some(a) if a.how == "piggybacked" => "ack-piggy",
        Some(a) if a.delayed => "ack-delayed",
        Some(_) => "ack-pure",
        None => "ack-none",
    };
    out.push_str(&format!(
        "<p class=\"frame-tcp {ackc}\"><b>TCP:</b> {}.<br/>{}.</p>\n",
        t.carried(),
        t.acked()
    ));
}

/// The page's TCP section (always present: the contents link to it).
/// `shown`: the frames with a card on the page (the first ones).
pub fn html_section(out: &mut String, t: Option<&TcpStory>, shown: u64) {
    out.push_str(
        "<h2 id=\"tcp\">TCP: who acknowledges what, and what keeps a connection open</h2>\n",
    );
    let Some(t) = t else {
        out.push_str("<p>The connection's TCP segments were not read for this page.</p>\n");
        return;
    };
    out.push_str(&format!(
        "<p>{} segments: {} with data, {} pure ACKs, {} keepalive probes, {} keepalive ACKs, {} retransmissions.</p>\n",
        t.segments, t.data_segments, t.pure_acks, t.keepalives, t.keepalive_acks, t.retransmissions
    ));
    out.push_str("<table class=\"tcp-acks\"><tr><th>frames from</th><th>frames</th><th>ACK piggybacked</th><th>pure ACK</th><th>of them delayed</th><th>no ACK seen</th></tr>");
    for (who, c) in [("client", &t.client_frames), ("server", &t.server_frames)] {
        out.push_str(&format!(
            "<tr><td>{who}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.frames, c.piggybacked, c.pure, c.delayed, c.unacked
        ));
    }
    out.push_str("</table>\n");
    out.push_str(&format!(
        "<p class=\"answer\"><b>Who acknowledges what?</b> {}</p>\n<p class=\"meaning\">{}</p>\n",
        t.why_acks, t.rule
    ));
    if !t.keepalive_list.is_empty() {
        out.push_str("<h3>TCP keepalive probes</h3><table class=\"keepalives\"><tr><th>packet</th><th>from</th><th>time</th><th>idle before</th><th>since previous probe</th><th>answered by</th></tr>");
        for k in &t.keepalive_list {
            out.push_str(&format!(
                "<tr><td>#{}</td><td>{}</td><td class=\"mono\">+{:.3} s</td><td class=\"mono\">{:.3} s</td><td class=\"mono\">{}</td><td>{}</td></tr>",
                k.packet,
                k.from.map_or("?", Dir::as_str),
                k.ts,
                k.idle_s,
                k.since_previous_s.map_or("\u{2014}".to_string(), |s| format!("{s:.3} s")),
                match (k.answer, k.answer_ms) {
                    (Some(p), Some(m)) => format!("keepalive ACK #{p}, {}", ms(m)),
                    _ => "no answer".to_string(),
                }
            ));
        }
        out.push_str("</table>\n");
    }
    if !t.heartbeats.is_empty() {
        out.push_str("<h3>WebSocket heartbeats</h3><table class=\"heartbeats\"><tr><th>ping</th><th>from</th><th>packet</th><th>time</th><th>since previous ping</th><th>pong</th></tr>");
        for h in &t.heartbeats {
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>#{}</td><td class=\"mono\">+{:.3} s</td><td class=\"mono\">{}</td><td>{}</td></tr>",
                if h.frame as u64 <= shown {
                    format!("<a href=\"#frame-{0}\">frame {0}</a>", h.frame)
                } else {
                    format!("frame {}", h.frame)
                },
                h.from.as_str(),
                h.packet,
                h.ts,
                h.since_previous_s.map_or("\u{2014}".to_string(), |s| format!("{s:.3} s")),
                match (h.pong_frame, h.rtt_ms) {
                    (Some(p), Some(m)) => format!("frame {p}, {}", ms(m)),
                    _ => "no pong".to_string(),
                },
            ));
        }
        out.push_str("</table>\n");
    }
    out.push_str(&format!(
        "<p class=\"answer\"><b>How long does an idle connection stay open?</b> {}</p>\n",
        t.how_long_idle
    ));
}
