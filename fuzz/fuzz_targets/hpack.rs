//! The HPACK decoder over arbitrary header blocks, one decoder that saw the
//! connection from its start and one that joined mid-connection, fed the
//! same blocks. Nothing may panic; each table stays within its cap and its
//! accounting; strings and header lists within theirs; and the decoder
//! without history never resolves a field differently from the one with
//! it ("unknown, never wrong").
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use wsdissect::h2::hpack::{Decoder, ENTRY_OVERHEAD, Limits, Signal};

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        max_string: 64 << (ctl & 7),
        max_header_list: 16 << 10,
        max_table: 256 << ((ctl >> 3) & 7),
    };
    let mut full = Decoder::new(limits);
    let mut mid = Decoder::mid_connection(limits);
    if ctl & 0x40 != 0 {
        let v = u32::from(ctl) * 64;
        full.set_settings_limit(v);
        mid.set_settings_limit(v);
    }
    for op in common::ops(rest) {
        let common::Op::Data(_, block) = op else {
            // A lost block: the full decoder loses its history too.
            full.lose_context();
            mid.lose_context();
            continue;
        };
        let a = full.decode(block);
        let b = mid.decode(block);
        for (d, blk) in [(&full, &a), (&mid, &b)] {
            assert!(
                d.size() <= limits.max_table,
                "table of {} bytes, cap {}",
                d.size(),
                limits.max_table
            );
            // The table's size counts what we hold; a string too long to
            // keep still counts its length, so the size may be larger.
            let (mut sum, mut all_known) = (0, true);
            for i in 1..=d.len() {
                let (n, v) = d.entry(i).expect("an entry below len");
                sum += n.map_or(0, <[u8]>::len) + v.map_or(0, <[u8]>::len) + ENTRY_OVERHEAD;
                all_known &= n.is_some() && v.is_some();
            }
            assert!(d.entry(d.len() + 1).is_none());
            assert!(
                sum <= d.size(),
                "size {} under the entries' {sum}",
                d.size()
            );
            if all_known {
                assert_eq!(sum, d.size(), "size of a table of known entries");
            }
            let mut list = 0;
            for f in &blk.fields {
                for s in [&f.name, &f.value].into_iter().flatten() {
                    assert!(s.len() <= limits.max_string, "string of {}", s.len());
                }
                list += f.name.as_ref().map_or(0, Vec::len)
                    + f.value.as_ref().map_or(0, Vec::len)
                    + ENTRY_OVERHEAD;
            }
            assert!(list <= limits.max_header_list, "header list of {list}");
        }
        let capped = |blk: &wsdissect::h2::hpack::Block| {
            blk.signals
                .iter()
                .any(|s| matches!(s, Signal::HeaderListTooLarge { .. }))
        };
        if !capped(&a) && !capped(&b) {
            assert_eq!(a.fields.len(), b.fields.len(), "same bytes, same fields");
            for (x, y) in a.fields.iter().zip(&b.fields) {
                if let (Some(p), Some(q)) = (&x.name, &y.name) {
                    assert_eq!(p, q, "name resolved differently");
                }
                if let (Some(p), Some(q)) = (&x.value, &y.value) {
                    assert_eq!(p, q, "value resolved differently");
                }
                assert_eq!(x.never_indexed, y.never_indexed);
            }
        }
    }
});
