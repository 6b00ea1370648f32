//! IP defragmentation: IPv4 and IPv6 fragments of datagrams that carry TCP
//! are put back together before the TCP stage, as a receiving kernel (and
//! tshark) does.
//!
//! Each datagram is rebuilt in etherparse's `IpDefragBuf` (which merges the
//! byte ranges and checks the ends). Its `IpDefragPool` is not used: it
//! takes strictly sliced packets only and, as its documentation says, has
//! no bound on what it holds. The pool here has three: pending datagrams,
//! bytes held by them, and a time-out in capture time. A datagram that
//! reaches one of them, or the end of the capture, incomplete is dropped
//! and reported; nothing is allocated in proportion to a length field (a
//! datagram's buffer is at most 64 KiB, the largest offset + length).
//!
//! Overlapping fragments with the same bytes (duplicates, retransmitted
//! fragments) are merged; overlapping fragments with different bytes make
//! the datagram void, as Linux does (RFC 5722), and are reported.

use std::collections::VecDeque;
use std::net::IpAddr;

use etherparse::defrag::IpDefragBuf;
use etherparse::{IpFragOffset, IpNumber};
use foldhash::HashMap;

use crate::packet::Fragment;

/// Datagrams being rebuilt at once.
pub const MAX_PENDING: usize = 4096;
/// Bytes held by all datagrams being rebuilt.
pub const MAX_BYTES: usize = 32 << 20;
/// Completed datagrams remembered for late duplicates.
const RECENT: usize = 64;
/// Seconds of capture time a datagram may wait for its missing fragments
/// (Linux's `ipfrag_time` default).
pub const TIMEOUT_SECS: f64 = 30.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
}

struct Pending {
    buf: IpDefragBuf,
    first_packet: u64,
    first_ts: f64,
    /// Matches the queue entry that made it (a key can be used again).
    serial: u64,
    /// Began with a fragment of a datagram completed lately: most likely a
    /// late duplicate, not worth a finding if nothing completes it.
    stray: bool,
}

/// Why a datagram was given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Its missing fragments never came (time-out or end of capture).
    Incomplete,
    /// A cap on pending datagrams or bytes pushed it out.
    Evicted,
    /// Fragments that overlap with different bytes, or that disagree on
    /// where the datagram ends, or are otherwise unusable.
    Invalid,
}

/// A datagram given up, for a finding.
#[derive(Debug, Clone, PartialEq)]
pub struct DropNote {
    pub why: Dropped,
    /// The packet that held its first fragment, and the packet at which it
    /// was given up.
    pub first_packet: u64,
    pub packet: u64,
    pub detail: String,
}

/// The pool of datagrams being rebuilt.
pub struct Defragmenter {
    pending: HashMap<Key, Pending>,
    /// Keys in the order their datagrams began, for time-outs and eviction.
    order: VecDeque<(Key, u64)>,
    serial: u64,
    bytes: usize,
    /// Spare buffers, so a steady stream of fragments does not allocate.
    spare: Vec<Vec<u8>>,
    latest_ts: f64,
    /// Datagrams completed lately: a stray copy of one of their fragments
    /// that arrives afterwards opens a datagram that never completes, and
    /// is not worth a finding.
    recent: VecDeque<Key>,
    max_pending: usize,
    max_bytes: usize,
    timeout: f64,
    /// Datagrams rebuilt, and datagrams given up.
    pub completed: u64,
    pub dropped: u64,
}

impl Default for Defragmenter {
    fn default() -> Self {
        Self::new(MAX_PENDING, MAX_BYTES, TIMEOUT_SECS)
    }
}

impl Defragmenter {
    pub fn new(max_pending: usize, max_bytes: usize, timeout: f64) -> Self {
        Defragmenter {
            pending: HashMap::default(),
            order: VecDeque::new(),
            serial: 0,
            bytes: 0,
            spare: Vec::new(),
            latest_ts: f64::NEG_INFINITY,
            recent: VecDeque::new(),
            max_pending: max_pending.max(1),
            max_bytes,
            timeout,
            completed: 0,
            dropped: 0,
        }
    }

    /// Datagrams being rebuilt.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Bytes held by them.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The buffers' sizes added up (what `bytes` keeps count of).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.pending.values().map(|p| p.buf.data().capacity()).sum()
    }

    /// Adds one fragment seen in packet `number` at capture time `ts`.
    /// Returns the datagram's whole payload when this fragment completed it
    /// (hand the buffer back with `recycle`); datagrams given up on the way
    /// are passed to `dropped`.
    pub fn add(
        &mut self,
        frag: &Fragment<'_>,
        number: u64,
        ts: f64,
        dropped: &mut dyn FnMut(DropNote),
    ) -> Option<Vec<u8>> {
        self.expire(ts, number, dropped);
        let key = Key {
            src: frag.src,
            dst: frag.dst,
            id: frag.id,
        };
        if !self.pending.contains_key(&key) {
            // Room for one more (its buffer can grow to 64 KiB).
            while !self.pending.is_empty()
                && (self.pending.len() >= self.max_pending
                    || self.bytes + usize::from(u16::MAX) > self.max_bytes)
            {
                if !self.evict_oldest(number, dropped) {
                    break;
                }
            }
            let data = self.spare.pop().unwrap_or_default();
            // A reused buffer is counted at its size from the start.
            self.bytes += data.capacity();
            self.serial += 1;
            self.pending.insert(
                key,
                Pending {
                    buf: IpDefragBuf::new(IpNumber::TCP, data, Vec::new()),
                    first_packet: number,
                    first_ts: ts,
                    serial: self.serial,
                    stray: self.recent.contains(&key),
                },
            );
            self.order.push_back((key, self.serial));
        }
        let p = self.pending.get_mut(&key)?;
        let before = p.buf.data().capacity();
        let result = if frag.cut {
            Err("the capture cut a fragment short".to_string())
        } else {
            add_checked(&mut p.buf, frag)
        };
        let after = p.buf.data().capacity();
        self.bytes = self.bytes + after - before.min(after);
        match result {
            Ok(()) if p.buf.is_complete() => {
                let p = self.remove(&key)?;
                self.completed += 1;
                if self.recent.len() >= RECENT {
                    self.recent.pop_front();
                }
                self.recent.push_back(key);
                let (data, _) = p.buf.take_bufs();
                Some(data)
            }
            Ok(()) => None,
            Err(detail) => {
                if let Some(p) = self.remove(&key) {
                    self.give_up(p, Dropped::Invalid, number, detail, dropped);
                }
                None
            }
        }
    }

    /// Hands a completed datagram's buffer back for reuse.
    pub fn recycle(&mut self, mut data: Vec<u8>) {
        if self.spare.len() < 16 {
            data.clear();
            self.spare.push(data);
        }
    }

    /// Gives up every datagram still incomplete (the capture ended).
    pub fn finish(&mut self, last_packet: u64, dropped: &mut dyn FnMut(DropNote)) {
        while let Some(p) = self.pop_oldest() {
            let detail = missing_detail(&p.buf);
            self.give_up(p, Dropped::Incomplete, last_packet, detail, dropped);
        }
    }

    /// Gives up datagrams older than the time-out.
    fn expire(&mut self, ts: f64, number: u64, dropped: &mut dyn FnMut(DropNote)) {
        if ts > self.latest_ts {
            self.latest_ts = ts;
        }
        while let Some(&(key, serial)) = self.order.front() {
            let Some(p) = self.pending.get(&key).filter(|p| p.serial == serial) else {
                // Completed or dropped already.
                self.order.pop_front();
                continue;
            };
            if self.latest_ts - p.first_ts <= self.timeout {
                break;
            }
            self.order.pop_front();
            if let Some(p) = self.remove(&key) {
                let detail = format!("{} after {:.0} s", missing_detail(&p.buf), self.timeout);
                self.give_up(p, Dropped::Incomplete, number, detail, dropped);
            }
        }
        // Keep the queue from growing with entries already settled.
        if self.order.len() > 2 * self.max_pending {
            let pending = &self.pending;
            self.order
                .retain(|(k, s)| pending.get(k).is_some_and(|p| p.serial == *s));
        }
    }

    /// Drops the oldest pending datagram; false when there is none.
    fn evict_oldest(&mut self, number: u64, dropped: &mut dyn FnMut(DropNote)) -> bool {
        let Some(p) = self.pop_oldest() else {
            return false;
        };
        let detail = missing_detail(&p.buf);
        self.give_up(p, Dropped::Evicted, number, detail, dropped);
        true
    }

    /// Takes the oldest datagram still pending out of the queue, passing
    /// over entries already completed or dropped.
    fn pop_oldest(&mut self) -> Option<Pending> {
        while let Some((key, serial)) = self.order.pop_front() {
            if self.pending.get(&key).is_some_and(|p| p.serial == serial)
                && let Some(p) = self.remove(&key)
            {
                return Some(p);
            }
        }
        None
    }

    /// Gives a pending datagram up: reported, its buffer recycled.
    fn give_up(
        &mut self,
        p: Pending,
        why: Dropped,
        packet: u64,
        detail: String,
        dropped: &mut dyn FnMut(DropNote),
    ) {
        self.report(
            p.stray,
            DropNote {
                why,
                first_packet: p.first_packet,
                packet,
                detail,
            },
            dropped,
        );
        self.give_back(p);
    }

    /// Reports a datagram given up, unless it only held late copies of
    /// fragments of a datagram already completed.
    fn report(&mut self, stray: bool, note: DropNote, dropped: &mut dyn FnMut(DropNote)) {
        self.dropped += 1;
        if note.why == Dropped::Invalid || !stray {
            dropped(note);
        }
    }

    fn remove(&mut self, key: &Key) -> Option<Pending> {
        let p = self.pending.remove(key)?;
        self.bytes = self.bytes.saturating_sub(p.buf.data().capacity());
        Some(p)
    }

    fn give_back(&mut self, p: Pending) {
        let (data, _) = p.buf.take_bufs();
        self.recycle(data);
    }
}

/// Adds a fragment, refusing one that overlaps what is there with
/// different bytes (identical overlaps, i.e. duplicates, are fine).
fn add_checked(buf: &mut IpDefragBuf, frag: &Fragment<'_>) -> Result<(), String> {
    let start = usize::from(frag.offset);
    let end = start + frag.payload.len();
    for r in buf.sections() {
        let (a, b) = (usize::from(r.start).max(start), usize::from(r.end).min(end));
        if a < b && buf.data().get(a..b) != frag.payload.get(a - start..b - start) {
            return Err(format!(
                "fragments overlap with different bytes at offset {a}..{b}"
            ));
        }
    }
    // The offset is a multiple of 8 by construction (13-bit field * 8).
    let offset = IpFragOffset::try_new(frag.offset / 8).map_err(|e| e.to_string())?;
    buf.add(offset, frag.more, frag.payload)
        .map_err(|e| e.to_string())
}

fn missing_detail(buf: &IpDefragBuf) -> String {
    let have: usize = buf
        .sections()
        .iter()
        .map(|r| usize::from(r.end - r.start))
        .sum();
    match buf.end() {
        Some(end) => format!("{have} of its {end} bytes arrived"),
        None => format!("{have} bytes arrived, its last fragment did not"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(id: u32, offset: u16, more: bool, payload: &[u8]) -> Fragment<'_> {
        Fragment {
            src: "192.0.2.1".parse().unwrap(),
            dst: "192.0.2.2".parse().unwrap(),
            id,
            offset,
            more,
            payload,
            cut: false,
        }
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn out_of_order_and_duplicated_fragments_complete_once() {
        let d = data(40);
        let mut pool = Defragmenter::default();
        let notes = std::cell::RefCell::new(Vec::new());
        let mut on = |n| notes.borrow_mut().push(n);
        assert!(
            pool.add(&frag(1, 16, true, &d[16..32]), 1, 0.0, &mut on)
                .is_none()
        );
        assert!(
            pool.add(&frag(1, 32, false, &d[32..]), 2, 0.0, &mut on)
                .is_none()
        );
        assert!(
            pool.add(&frag(1, 16, true, &d[16..32]), 3, 0.0, &mut on)
                .is_none()
        );
        let whole = pool.add(&frag(1, 0, true, &d[..24]), 4, 0.0, &mut on);
        assert_eq!(whole.as_deref(), Some(&d[..]));
        // A late copy of a fragment opens a datagram that never completes:
        // given up at the end, without a note.
        assert!(
            pool.add(&frag(1, 32, false, &d[32..]), 5, 0.0, &mut on)
                .is_none()
        );
        pool.finish(5, &mut on);
        assert!(notes.borrow().is_empty(), "{:?}", notes.borrow());
        assert_eq!((pool.pending(), pool.bytes()), (0, 0));
    }

    #[test]
    fn conflicting_overlap_voids_the_datagram() {
        let d = data(32);
        let mut other = d.clone();
        other[10] ^= 0xff;
        let mut pool = Defragmenter::default();
        let notes = std::cell::RefCell::new(Vec::new());
        let mut on = |n| notes.borrow_mut().push(n);
        assert!(
            pool.add(&frag(2, 0, true, &d[..16]), 1, 0.0, &mut on)
                .is_none()
        );
        assert!(
            pool.add(&frag(2, 8, false, &other[8..]), 2, 0.0, &mut on)
                .is_none()
        );
        assert_eq!(notes.borrow().len(), 1);
        assert_eq!(notes.borrow()[0].why, Dropped::Invalid);
        assert!(
            notes.borrow()[0].detail.contains("overlap"),
            "{:?}",
            notes.borrow()[0]
        );
        assert_eq!(pool.pending(), 0);
    }

    #[test]
    fn caps_and_time_out_bound_what_is_held() {
        let d = data(8);
        let mut pool = Defragmenter::new(10, 1 << 30, 30.0);
        let notes = std::cell::RefCell::new(Vec::new());
        let mut on = |n| notes.borrow_mut().push(n);
        for id in 0..100u32 {
            // A first fragment whose datagram never ends, at the last offset.
            pool.add(&frag(id, 65520, true, &d), u64::from(id), 0.0, &mut on);
            assert!(pool.pending() <= 10);
        }
        assert_eq!(notes.borrow().len(), 90);
        assert!(notes.borrow().iter().all(|n| n.why == Dropped::Evicted));
        assert!(pool.bytes() <= 10 * 65536);
        notes.borrow_mut().clear();
        let mut pool = Defragmenter::new(1000, 4 << 20, 30.0);
        let mut on = |n| notes.borrow_mut().push(n);
        for id in 0..1000u32 {
            pool.add(&frag(id, 65520, true, &d), 1, 0.0, &mut on);
            // Evicted buffers are reused: they count as soon as they are.
            assert_eq!(pool.bytes(), pool.held());
            assert!(pool.held() <= 4 << 20, "{}", pool.held());
        }
        notes.borrow_mut().clear();
        let mut pool = Defragmenter::default();
        let mut on = |n| notes.borrow_mut().push(n);
        pool.add(&frag(7, 0, true, &d), 1, 100.0, &mut on);
        pool.add(&frag(8, 0, true, &d), 2, 129.0, &mut on);
        assert!(notes.borrow().is_empty());
        pool.add(&frag(9, 0, true, &d), 3, 131.0, &mut on);
        assert_eq!(notes.borrow().len(), 1, "the first one timed out");
        assert_eq!(
            (notes.borrow()[0].first_packet, notes.borrow()[0].packet),
            (1, 3)
        );
        pool.finish(3, &mut on);
        assert_eq!(notes.borrow().len(), 3);
        assert_eq!(pool.pending(), 0);
    }
}
