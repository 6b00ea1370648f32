//! Shared by the targets of the newer modules: a counting allocator (so a
//! target can assert that what it fed never made the library hold more than
//! a bound, whatever a length field said) and a small input format of
//! directed pieces and gaps that fuzz/seed.sh writes from real streams.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// The system allocator, counting the bytes live and their peak.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Relaxed) + l.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Relaxed) + l.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let now = LIVE.fetch_add(new - l.size(), Relaxed) + new - l.size();
                PEAK.fetch_max(now, Relaxed);
            } else {
                LIVE.fetch_sub(l.size() - new, Relaxed);
            }
        }
        q
    }
}

/// Starts a measurement: the peak from now on is relative to what is live now.
pub fn mark() -> usize {
    let now = LIVE.load(Relaxed);
    PEAK.store(now, Relaxed);
    now
}

/// Bytes allocated at the peak since `mark` returned `base`, beyond `base`.
pub fn peak_since(base: usize) -> usize {
    PEAK.load(Relaxed).saturating_sub(base)
}

/// One step of a two-direction stream.
#[derive(Debug, Clone, Copy)]
pub enum Op<'a> {
    /// Bytes of direction 0 (client) or 1 (server).
    Data(u8, &'a [u8]),
    /// That many bytes of the direction are missing.
    Gap(u8, u64),
}

/// Reads `[h][len lo][len hi][bytes...]` steps: `h & 1` is the direction,
/// `h >> 1 == 0x7f` (h = 0xfe, 0xff) makes the step a gap of `len` bytes,
/// any other `h` carries `len` bytes (fewer when the input ends first).
pub fn ops(mut d: &[u8]) -> Vec<Op<'_>> {
    let mut out = Vec::new();
    while let [h, lo, hi, rest @ ..] = d {
        let len = usize::from(u16::from_le_bytes([*lo, *hi]));
        if h >> 1 == 0x7f {
            out.push(Op::Gap(h & 1, len as u64 + 1));
            d = rest;
        } else {
            let (now, later) = rest.split_at(len.min(rest.len()));
            out.push(Op::Data(h & 1, now));
            d = later;
        }
    }
    out
}

/// Text a finding or field may show: no control characters (capture bytes
/// are escaped before they can reach a terminal).
pub fn assert_clean(s: &str) {
    assert!(
        !s.chars().any(|c| c.is_control() && c != '\n'),
        "control character in {s:?}"
    );
}
