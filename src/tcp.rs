//! TCP stage: per-direction stream reassembly.
//!
//! Sequence numbers become 64-bit stream offsets (offset 0 is the first byte
//! after the SYN, or the first byte seen when the capture began later). The
//! mapping is relative to the next expected byte, so it survives the 2^32
//! wrap. In-order segments are delivered straight from the record (no copy);
//! only out-of-order bytes are copied, into a bounded store.
//!
//! Invariant of [`HalfStream`]: every byte before `next` has been delivered
//! (as data or as a gap) exactly once, in order; `held` holds segments
//! starting after `next`, sorted by start, and its `bytes` is the sum of
//! their lengths, never above the configured cap; `held` is `None` when it
//! would hold nothing.
#![deny(clippy::indexing_slicing, clippy::cast_possible_truncation)]
#![warn(missing_docs)]

use crate::config::Config;

/// A TCP sequence number; comparisons survive the 2^32 wrap (RFC 1982).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// Signed distance from `other` to `self`, valid within +/- 2^31.
    pub fn diff(self, other: SeqNum) -> i64 {
        i64::from(self.0.wrapping_sub(other.0) as i32)
    }
    /// `n` bytes further on, wrapping at 2^32.
    pub fn advanced_by(self, n: u64) -> SeqNum {
        SeqNum(self.0.wrapping_add(low_u32(n)))
    }
}

/// `n` modulo 2^32: the low four bytes, taken without a truncating cast.
fn low_u32(n: u64) -> u32 {
    let [.., a, b, c, d] = n.to_be_bytes();
    u32::from_be_bytes([a, b, c, d])
}

/// The bytes of `data` from `skip` on, when there are any (`skip` below
/// `data.len()`); `None` otherwise.
fn tail_after(data: &[u8], skip: u64) -> Option<&[u8]> {
    let tail = data.get(usize::try_from(skip).ok()?..)?;
    (!tail.is_empty()).then_some(tail)
}

/// The bytes of `data` between offsets `from` and `to` (empty when the range
/// does not lie inside it).
fn range_of(data: &[u8], from: u64, to: u64) -> &[u8] {
    match (usize::try_from(from), usize::try_from(to)) {
        (Ok(from), Ok(to)) => data.get(from..to).unwrap_or_default(),
        _ => &[],
    }
}

/// Why bytes are missing from a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GapKind {
    /// Never captured (the peer acknowledged them, or the stream ended).
    Lost,
    /// Cut off by the capture's snapshot length.
    Snapped,
    /// Skipped because the out-of-order store was full.
    Overflow,
}

/// What the reassembler delivers, in stream order.
#[derive(Debug)]
pub enum Chunk<'a> {
    /// Stream bytes starting at `offset`.
    Data {
        /// Stream offset of the first byte.
        offset: u64,
        /// The bytes (borrowed from the record or the out-of-order store).
        bytes: &'a [u8],
    },
    /// `len` bytes at `offset` that will never be delivered.
    Gap {
        /// Stream offset of the first missing byte.
        offset: u64,
        /// How many bytes are missing.
        len: u64,
        /// Why they are missing.
        kind: GapKind,
    },
}

/// Something the reassembler noticed on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpNote {
    /// A retransmission or overlap carried different bytes than the first copy.
    OverlapConflict {
        /// Stream offset of the first differing byte.
        offset: u64,
        /// From the first to the last differing byte.
        len: u64,
    },
}

#[derive(Debug)]
struct Pending {
    start: u64,
    data: Vec<u8>,
    /// Snapped bytes after `data`.
    missing: u64,
}

impl Pending {
    fn end(&self) -> u64 {
        self.start + self.data.len() as u64 + self.missing
    }
}

/// The out-of-order store of a [`HalfStream`].
#[derive(Debug, Default)]
struct Held {
    /// Sorted by start.
    segs: Vec<Pending>,
    /// The sum of their lengths.
    bytes: usize,
}

/// `fin` when no FIN was seen (no stream reaches 2^64 bytes).
const NO_FIN: u64 = u64::MAX;

/// One direction of a TCP connection.
///
/// `repr(C)`, 48 bytes: the two directions and the head of `flow::Conn`
/// lie in two cache lines (docs/performance.md, "Step: fewer lines a
/// segment"); the out-of-order store, rarely used, is boxed.
#[derive(Debug)]
#[repr(C)]
pub struct HalfStream {
    /// Sequence number of stream offset 0.
    base: Option<SeqNum>,
    /// Next offset to deliver.
    next: u64,
    /// Highest offset the peer acknowledged.
    acked: u64,
    /// Where the FIN lies ([`NO_FIN`] before one is seen).
    fin: u64,
    held: Option<Box<Held>>,
    /// Offset 0 came right after a SYN (the stream start was captured).
    pub saw_syn: bool,
}

impl Default for HalfStream {
    fn default() -> Self {
        HalfStream {
            base: None,
            next: 0,
            acked: 0,
            fin: NO_FIN,
            held: None,
            saw_syn: false,
        }
    }
}

impl HalfStream {
    /// The next stream offset to deliver.
    pub fn next_offset(&self) -> u64 {
        self.next
    }

    /// The stream's origin is known (a SYN or a first segment was seen).
    pub fn has_base(&self) -> bool {
        self.base.is_some()
    }

    /// Bytes held in the out-of-order store.
    pub fn pending_bytes(&self) -> usize {
        self.held.as_ref().map_or(0, |h| h.bytes)
    }

    /// The held segments, first to last.
    fn segs(&self) -> &[Pending] {
        self.held.as_ref().map_or(&[], |h| &h.segs)
    }

    /// The first held segment.
    fn first(&self) -> Option<&Pending> {
        self.segs().first()
    }

    /// Takes the first held segment out; the store goes when empty.
    fn pop_first(&mut self) -> Option<Pending> {
        let h = self.held.as_mut()?;
        if h.segs.is_empty() {
            self.held = None;
            return None;
        }
        let p = h.segs.remove(0);
        h.bytes -= p.data.len();
        if h.segs.is_empty() {
            self.held = None;
        }
        Some(p)
    }

    /// Where the FIN lies, once one was seen.
    fn fin_at(&self) -> Option<u64> {
        (self.fin != NO_FIN).then_some(self.fin)
    }

    /// The byte after the FIN was delivered: the direction is finished.
    pub fn finished(&self) -> bool {
        self.fin_at().is_some_and(|f| self.next >= f)
    }

    /// Nothing is held out of order and no FIN was seen: the state in
    /// which a segment at the next expected byte is simply delivered.
    pub fn is_quiet(&self) -> bool {
        self.held.is_none() && self.fin == NO_FIN
    }

    /// The flow table's fast path: when this stream [`is_quiet`](Self::is_quiet),
    /// `len` bytes (none cut) at `seq` exactly where the next expected byte
    /// is are taken as delivered; returns their stream offset. `None` (and
    /// nothing changed) otherwise: [`segment`](Self::segment) decides. Both
    /// ways deliver the same chunk.
    pub fn take_in_order(&mut self, seq: u32, len: usize) -> Option<u64> {
        if !self.is_quiet() || self.offset_of(seq) != Some(self.next as i64) {
            return None;
        }
        let at = self.next;
        self.next += len as u64;
        Some(at)
    }

    /// A SYN from this side fixes the stream's origin.
    pub fn syn(&mut self, seq: u32) {
        if self.base.is_none() || (self.next == 0 && self.held.is_none()) {
            self.base = Some(SeqNum(seq).advanced_by(1));
            self.saw_syn = true;
        }
    }

    fn offset_of(&self, seq: u32) -> Option<i64> {
        let base = self.base?;
        let expected = base.advanced_by(self.next);
        Some(self.next as i64 + SeqNum(seq).diff(expected))
    }

    /// The peer acknowledged up to `ack`: bytes before it that never
    /// appeared were lost by the capture, not the network.
    pub fn peer_ack<F: FnMut(Chunk<'_>)>(&mut self, ack: u32, out: &mut F) {
        if self.record_ack(ack) {
            // Release pending segments the hole before them has been acknowledged for.
            self.release_acked(out);
        }
    }

    /// Notes the peer's acknowledgment; whether it reaches past the next
    /// byte to deliver. Alone (without [`peer_ack`](Self::peer_ack)'s
    /// release) only while nothing is held: then there is nothing to release.
    pub fn record_ack(&mut self, ack: u32) -> bool {
        let Some(off) = self.offset_of(ack) else {
            return false;
        };
        if off <= self.next as i64 {
            return false;
        }
        self.acked = self.acked.max(off as u64);
        true
    }

    fn release_acked<F: FnMut(Chunk<'_>)>(&mut self, out: &mut F) {
        while let Some(first) = self.first() {
            if self.acked < first.start || first.start <= self.next {
                break;
            }
            let start = first.start;
            out(Chunk::Gap {
                offset: self.next,
                len: start - self.next,
                kind: GapKind::Lost,
            });
            self.next = start;
            self.drain(out);
        }
    }

    /// One segment's payload. `missing` bytes follow it that the capture cut.
    /// Returns notes about conflicting overlaps.
    // The segment's fields, the config and the two outputs: bundling them
    // into a struct would only rename them at the one caller.
    #[allow(clippy::too_many_arguments)]
    pub fn segment<F: FnMut(Chunk<'_>)>(
        &mut self,
        seq: u32,
        payload: &[u8],
        missing: u32,
        fin: bool,
        cfg: &Config,
        notes: &mut Vec<TcpNote>,
        out: &mut F,
    ) {
        if self.base.is_none() {
            // Capture began after the SYN: this segment starts the stream.
            self.base = Some(SeqNum(seq));
        }
        let Some(start) = self.offset_of(seq) else {
            return;
        };
        let len = payload.len() as u64 + u64::from(missing);
        if fin {
            let f = (start + len as i64).max(0) as u64;
            // `f` < NO_FIN: no stream reaches 2^64 bytes.
            self.fin = self.fin.min(f.min(NO_FIN - 1));
        }
        if len == 0 {
            return;
        }
        let end = start + len as i64;
        if end <= self.next as i64 {
            return; // wholly old: a retransmission of delivered bytes
        }
        if start <= self.next as i64 {
            // In order (possibly overlapping what was delivered): zero-copy path.
            let skip = (self.next as i64 - start) as u64;
            let present = payload.len() as u64;
            if let Some(bytes) = tail_after(payload, skip) {
                out(Chunk::Data {
                    offset: self.next,
                    bytes,
                });
                self.next += bytes.len() as u64;
            }
            if missing > 0 {
                // `start` may lie before the stream's origin (negative).
                let gap_start = (start + present as i64).max(self.next as i64) as u64;
                let gap_len = end as u64 - gap_start;
                if gap_len > 0 {
                    out(Chunk::Gap {
                        offset: gap_start,
                        len: gap_len,
                        kind: GapKind::Snapped,
                    });
                    self.next = end as u64;
                }
            }
            self.drain(out);
            return;
        }
        // Out of order: keep a copy, within the caps.
        let start = start as u64;
        self.store(start, payload, u64::from(missing), cfg, notes, out);
        self.release_acked(out);
    }

    fn store<F: FnMut(Chunk<'_>)>(
        &mut self,
        start: u64,
        payload: &[u8],
        missing: u64,
        cfg: &Config,
        notes: &mut Vec<TcpNote>,
        out: &mut F,
    ) {
        // Compare with what is held already; held bytes win.
        let idx = self.segs().partition_point(|p| p.start < start);
        for p in self.segs().iter().skip(idx.saturating_sub(1)) {
            if p.start >= start + payload.len() as u64 {
                break;
            }
            let lo = p.start.max(start);
            let hi = (p.start + p.data.len() as u64).min(start + payload.len() as u64);
            if lo < hi {
                let a = range_of(&p.data, lo - p.start, hi - p.start);
                let b = range_of(payload, lo - start, hi - start);
                let first = a.iter().zip(b).position(|(x, y)| x != y);
                let last = a.iter().zip(b).rposition(|(x, y)| x != y);
                if let (Some(f), Some(l)) = (first, last) {
                    notes.push(TcpNote::OverlapConflict {
                        offset: lo + f as u64,
                        len: (l - f + 1) as u64,
                    });
                }
                if lo == start && hi == start + payload.len() as u64 {
                    return; // wholly inside a held segment
                }
            }
        }
        while self.pending_bytes() + payload.len() > cfg.max_ooo_bytes
            || self.segs().len() >= cfg.max_ooo_segments
        {
            // Full: give up on the oldest hole and deliver what is held.
            let Some(first) = self.first() else {
                break;
            };
            let first_start = first.start;
            out(Chunk::Gap {
                offset: self.next,
                len: first_start - self.next,
                kind: GapKind::Overflow,
            });
            self.next = first_start;
            self.drain(out);
            if start <= self.next {
                // The segment is now in order (or old): deliver it directly.
                let skip = self.next - start;
                if let Some(bytes) = tail_after(payload, skip) {
                    out(Chunk::Data {
                        offset: self.next,
                        bytes,
                    });
                    self.next += bytes.len() as u64;
                }
                self.drain(out);
                return;
            }
        }
        if payload.len() > cfg.max_ooo_bytes {
            // Larger than the whole store: skip to it and deliver it now.
            out(Chunk::Gap {
                offset: self.next,
                len: start - self.next,
                kind: GapKind::Overflow,
            });
            out(Chunk::Data {
                offset: start,
                bytes: payload,
            });
            self.next = start + payload.len() as u64 + missing;
            self.drain(out);
            return;
        }
        let held = self.held.get_or_insert_with(Box::default);
        let idx = held.segs.partition_point(|p| p.start <= start);
        held.bytes += payload.len();
        held.segs.insert(
            idx,
            Pending {
                start,
                data: payload.to_vec(),
                missing,
            },
        );
    }

    /// Delivers held segments that have become contiguous.
    fn drain<F: FnMut(Chunk<'_>)>(&mut self, out: &mut F) {
        while let Some(first) = self.first() {
            if first.start > self.next {
                break;
            }
            let Some(p) = self.pop_first() else { break };
            let end = p.end();
            if end <= self.next {
                continue;
            }
            if let Some(bytes) = tail_after(&p.data, self.next - p.start) {
                out(Chunk::Data {
                    offset: self.next,
                    bytes,
                });
                self.next = p.start + p.data.len() as u64;
            }
            if p.missing > 0 && end > self.next {
                out(Chunk::Gap {
                    offset: self.next,
                    len: end - self.next,
                    kind: GapKind::Snapped,
                });
                self.next = end;
            }
        }
    }

    /// The stream ends (FIN, RST or end of capture): whatever is held is
    /// delivered, with the holes before it as gaps.
    pub fn flush<F: FnMut(Chunk<'_>)>(&mut self, out: &mut F) {
        self.release_all(GapKind::Lost, out);
    }

    /// Memory is short (the capture-wide out-of-order budget is spent):
    /// stop waiting for this stream's holes and deliver what it holds.
    pub fn give_up<F: FnMut(Chunk<'_>)>(&mut self, out: &mut F) {
        self.release_all(GapKind::Overflow, out);
    }

    fn release_all<F: FnMut(Chunk<'_>)>(&mut self, kind: GapKind, out: &mut F) {
        while let Some(first) = self.first() {
            let start = first.start;
            if start > self.next {
                out(Chunk::Gap {
                    offset: self.next,
                    len: start - self.next,
                    kind,
                });
                self.next = start;
            }
            self.drain(out);
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    #[test]
    fn checked_helpers_agree_with_the_casts_and_slices_they_replace() {
        for n in [
            0u64,
            1,
            0xFFFF_FFFF,
            0x1_0000_0000,
            0x1234_5678_9ABC_DEF0,
            u64::MAX,
        ] {
            assert_eq!(low_u32(n), n as u32, "{n:#x}");
        }
        assert_eq!(SeqNum(u32::MAX).advanced_by(0x1_0000_0002), SeqNum(1));
        let d = [1u8, 2, 3, 4];
        for skip in 0..6u64 {
            let want = (skip < 4).then(|| &d[skip as usize..]);
            assert_eq!(tail_after(&d, skip), want, "skip {skip}");
        }
        assert_eq!(tail_after(&d, u64::MAX), None);
        assert_eq!(range_of(&d, 1, 3), &[2, 3]);
        assert_eq!(range_of(&d, 4, 4), &[] as &[u8]);
        assert_eq!(range_of(&d, 3, 5), &[] as &[u8]);
        assert_eq!(range_of(&d, 3, 2), &[] as &[u8]);
    }

    /// Collects delivered chunks as (offset, bytes) with gaps as `None`.
    fn run(
        segs: &[(u32, &[u8])],
        base: u32,
        cfg: &Config,
    ) -> (Vec<u8>, Vec<(u64, u64)>, Vec<TcpNote>) {
        let mut h = HalfStream::default();
        h.syn(base.wrapping_sub(1));
        let mut data = Vec::new();
        let mut gaps = Vec::new();
        let mut notes = Vec::new();
        let mut expect = 0u64;
        let mut out = |c: Chunk<'_>| match c {
            Chunk::Data { offset, bytes } => {
                assert_eq!(offset, expect);
                expect += bytes.len() as u64;
                data.extend_from_slice(bytes);
            }
            Chunk::Gap { offset, len, .. } => {
                assert_eq!(offset, expect);
                expect += len;
                gaps.push((offset, len));
                data.extend(std::iter::repeat_n(0u8, len as usize));
            }
        };
        for (seq, p) in segs {
            h.segment(*seq, p, 0, false, cfg, &mut notes, &mut out);
        }
        h.flush(&mut out);
        (data, gaps, notes)
    }

    #[test]
    fn seq_diff_survives_wrap() {
        assert_eq!(SeqNum(5).diff(SeqNum(u32::MAX - 4)), 10);
        assert_eq!(SeqNum(u32::MAX - 4).diff(SeqNum(5)), -10);
    }

    #[test]
    fn reorder_duplicate_and_wrap() {
        let base = u32::MAX - 3;
        let cfg = Config::default();
        let (data, gaps, notes) = run(
            &[
                (base.wrapping_add(4), b"efgh"),
                (base, b"abcd"),
                (base, b"abcd"),
                (base.wrapping_add(2), b"cdef"),
                (base.wrapping_add(8), b"ij"),
            ],
            base,
            &cfg,
        );
        assert_eq!(data, b"abcdefghij");
        assert!(gaps.is_empty());
        assert!(notes.is_empty());
    }

    #[test]
    fn conflicting_overlap_is_noted() {
        let cfg = Config::default();
        let (data, _, notes) = run(&[(10, b"ab"), (12, b"cd"), (12, b"xd")], 10, &cfg);
        assert_eq!(data, b"abcd");
        // Bytes 12.. were delivered before the conflicting copy: not comparable.
        assert!(notes.is_empty());
        let (data, _, notes) = run(&[(12, b"cd"), (12, b"xd"), (10, b"ab")], 10, &cfg);
        assert_eq!(data, b"abcd");
        assert_eq!(notes, vec![TcpNote::OverlapConflict { offset: 2, len: 1 }]);
    }

    #[test]
    fn hole_at_end_of_stream_is_a_gap() {
        let cfg = Config::default();
        let (data, gaps, _) = run(&[(0, b"ab"), (5, b"fg")], 0, &cfg);
        assert_eq!(gaps, vec![(2, 3)]);
        assert_eq!(&data[5..], b"fg");
    }

    /// Found by fuzzing (fuzz/fuzz_targets/tcp_reassembly.rs): a snapped
    /// segment that starts before the stream's first captured byte reported
    /// its cut bytes as a gap at offset 2^64 - 25, and its FIN 34 bytes late.
    #[test]
    fn snapped_segment_starting_before_the_origin() {
        let cfg = Config::default();
        let mut h = HalfStream::default();
        let mut notes = Vec::new();
        let mut chunks = Vec::new();
        let mut out = |c: Chunk<'_>| {
            chunks.push(match c {
                Chunk::Data { offset, bytes } => (offset, bytes.len() as u64, true),
                Chunk::Gap { offset, len, .. } => (offset, len, false),
            })
        };
        // No SYN: the first segment (4 bytes at seq 1000) is offset 0.
        h.segment(1000, b"abcd", 0, false, &cfg, &mut notes, &mut out);
        // 9 bytes at offset -34 are captured, 31 more were cut (to offset 6), then FIN.
        h.segment(1000 - 34, &[0; 9], 31, true, &cfg, &mut notes, &mut out);
        assert_eq!(chunks, vec![(0, 4, true), (4, 2, false)]);
        assert!(h.finished(), "the FIN sits at offset 6");
    }

    #[test]
    fn overflow_cap_forces_a_gap() {
        let cfg = Config {
            max_ooo_bytes: 4,
            ..Config::default()
        };
        let (data, gaps, _) = run(&[(0, b"a"), (3, b"dd"), (6, b"gg"), (9, b"j")], 0, &cfg);
        assert_eq!(gaps, vec![(1, 2), (5, 1), (8, 1)]);
        assert_eq!(data.len(), 10);
    }

    /// Model check: random segmentation, order and duplication of a known
    /// byte string always reassembles to that string.
    #[test]
    fn random_order_against_model() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for round in 0..300 {
            let len = (next() % 3000) as usize + 1;
            let truth: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let base = next() as u32;
            let mut segs = Vec::new();
            let mut at = 0;
            while at < len {
                let n = ((next() % 200) as usize + 1).min(len - at);
                segs.push((at, n));
                // Overlapping retransmissions with the same bytes.
                if next() % 5 == 0 {
                    let s = at.saturating_sub((next() % 50) as usize);
                    segs.push((s, (at + n - s).min(len - s)));
                }
                at += n;
            }
            for i in (1..segs.len()).rev() {
                if next() % 3 == 0 {
                    let j = (next() as usize) % (i + 1);
                    segs.swap(i, j);
                }
            }
            let owned: Vec<(u32, Vec<u8>)> = segs
                .iter()
                .map(|&(s, n)| (base.wrapping_add(s as u32), truth[s..s + n].to_vec()))
                .collect();
            let refs: Vec<(u32, &[u8])> = owned.iter().map(|(s, v)| (*s, &v[..])).collect();
            let (data, gaps, notes) = run(&refs, base, &Config::default());
            assert!(gaps.is_empty(), "round {round}");
            assert!(notes.is_empty(), "round {round}");
            assert_eq!(data, truth, "round {round}");
        }
    }
}
