//! TCP reassembly against a model: the stream's byte at offset `o` is
//! `content(o)`, segments arrive in any order, overlapping, repeated, cut
//! (snapped), with ACKs, FINs and sequence numbers that wrap. Whatever
//! arrives, the reassembler must deliver contiguous chunks in order, every
//! data byte equal to the model's, and never hold more than its caps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsdissect::Config;
use wsdissect::tcp::{Chunk, HalfStream};

fn content(o: u64) -> u8 {
    (o.wrapping_mul(7) ^ (o >> 8)) as u8
}

fuzz_target!(|data: &[u8]| {
    let Some((isn_bytes, ops)) = data.split_first_chunk::<4>() else { return };
    let isn = u32::from_le_bytes(*isn_bytes);
    let cfg = Config {
        max_ooo_bytes: 2048,
        max_ooo_segments: 16,
        ..Config::default()
    };
    let mut s = HalfStream::default();
    if isn & 1 == 0 {
        s.syn(isn);
    }
    let origin = isn.wrapping_add(1);
    // Without a SYN, stream offset 0 is where the first segment starts.
    let shift = std::cell::Cell::new(if isn & 1 == 0 { Some(0u64) } else { None });
    let mut next = None::<u64>;
    let mut check = |c: Chunk<'_>| {
        let (off, len) = match c {
            Chunk::Data { offset, bytes } => {
                let at = shift.get().expect("no data before the first segment");
                for (i, b) in bytes.iter().enumerate() {
                    let o = offset + i as u64;
                    assert_eq!(*b, content(at + o), "byte at stream offset {o}");
                }
                (offset, bytes.len() as u64)
            }
            Chunk::Gap { offset, len, .. } => (offset, len),
        };
        if let Some(n) = next {
            assert_eq!(off, n, "chunks are contiguous");
        }
        next = Some(off + len);
    };
    let mut notes = Vec::new();
    let mut buf = Vec::new();
    for op in ops.chunks_exact(4) {
        // Offsets relative to the origin, up to 64 KiB either side of it.
        let start = u64::from(u16::from_le_bytes([op[0], op[1]]));
        let len = u64::from(op[2]) * 4;
        let kind = op[3];
        let seq = origin.wrapping_add(start as u32);
        match kind % 8 {
            0 => s.peer_ack(seq, &mut check),
            1 => s.flush(&mut check),
            _ => {
                if shift.get().is_none() {
                    shift.set(Some(start));
                }
                buf.clear();
                buf.extend((start..start + len).map(content));
                let missing = if kind % 8 == 7 { u32::from(op[3] >> 3) } else { 0 };
                let keep = buf.len().saturating_sub(missing as usize);
                notes.clear();
                s.segment(seq, &buf[..keep], missing, kind & 0x80 != 0, &cfg, &mut notes, &mut check);
                assert!(notes.is_empty(), "identical retransmissions never conflict");
            }
        }
        assert!(s.pending_bytes() <= cfg.max_ooo_bytes);
    }
    s.flush(&mut check);
});
