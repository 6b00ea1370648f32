//! IP defragmentation over arbitrary fragment sequences: any order,
//! overlaps, duplicates, conflicting bytes, cut fragments, offsets up to the
//! 64 KiB limit, IPv4 and IPv6 keys, capture time going forwards and
//! backwards. The pool never holds more datagrams or bytes than its caps
//! (checked on its counters and on the allocator), a rebuilt datagram is
//! byte-exact when its fragments agreed, and drop notes are printable.
#![no_main]

mod common;

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use wsdissect::defrag::{Defragmenter, DropNote};
use wsdissect::packet::Fragment;

#[global_allocator]
static A: common::Counting = common::Counting;

/// The datagram's byte at `o`: fragments of the same id agree unless flipped.
fn content(id: u32, o: usize) -> u8 {
    (o as u32).wrapping_mul(31).wrapping_add(id) as u8 ^ (o >> 8) as u8
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let max_pending = 1 + usize::from(ctl & 7);
    let max_bytes = (1 + usize::from((ctl >> 3) & 7)) << 16;
    let timeout = if ctl & 0x40 != 0 { 0.5 } else { 30.0 };
    let base = common::mark();
    let mut d = Defragmenter::new(max_pending, max_bytes, timeout);
    let v4: [IpAddr; 2] = ["192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap()];
    let v6: [IpAddr; 2] = [
        "2001:db8::1".parse().unwrap(),
        "2001:db8::2".parse().unwrap(),
    ];
    let mut payload = Vec::new();
    let mut ts = 0.0f64;
    let mut check = |n: DropNote| {
        common::assert_clean(&n.detail);
        assert!(n.first_packet <= n.packet);
    };
    for (i, op) in rest.chunks_exact(6).enumerate() {
        let [k, lo, hi, len, flags, dt] = *op else {
            unreachable!()
        };
        let (v6k, dir) = (flags & 8 != 0, usize::from(flags & 16 != 0));
        let addrs = if v6k { v6 } else { v4 };
        // Ids with the high bit may get conflicting bytes; the others never do.
        let id = u32::from(k & 0x0f) | if flags & 0x20 != 0 { 0x8000 } else { 0 };
        let flip = id & 0x8000 != 0 && flags & 0x40 != 0;
        let offset = u16::from_le_bytes([lo, hi]) & !7;
        let len = usize::from(len) * 8 + usize::from(k >> 4);
        payload.clear();
        payload.extend((0..len).map(|j| content(id, usize::from(offset) + j) ^ u8::from(flip)));
        let frag = Fragment {
            src: addrs[dir],
            dst: addrs[1 - dir],
            id,
            offset,
            more: flags & 1 != 0,
            payload: &payload,
            cut: flags & 2 != 0,
        };
        ts += f64::from(dt) / 16.0 - if flags & 4 != 0 { 4.0 } else { 0.0 };
        let number = i as u64 + 1;
        if let Some(dg) = d.add(&frag, number, ts, &mut check) {
            if id & 0x8000 == 0 {
                for (o, b) in dg.iter().enumerate() {
                    assert_eq!(*b, content(id, o), "byte {o} of datagram {id}");
                }
            }
            d.recycle(dg);
        }
        assert!(
            d.pending() <= max_pending,
            "{} pending, cap {max_pending}",
            d.pending()
        );
        assert!(
            d.bytes() <= max_bytes + (1 << 17),
            "{} bytes, cap {max_bytes}",
            d.bytes()
        );
        let peak = common::peak_since(base);
        // The datagrams' buffers, the spares, the maps and this target's payload.
        let bound = 2 * max_bytes + (1 << 20);
        assert!(peak <= bound, "{peak} bytes allocated (bound {bound})");
    }
    d.finish(u64::MAX, &mut check);
    assert_eq!(d.pending(), 0);
    assert_eq!(d.bytes(), 0);
});
