//! The permessage-deflate inflater over arbitrary compressed bytes, in
//! arbitrary pieces, across messages, with context takeover or resets:
//! its output stays within the cap, and it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsdissect::ws::deflate::Inflater;

const MAX_OUT: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else { return };
    let mut inf = Inflater::new(MAX_OUT, 100);
    // Messages are separated by 0xFE bytes in the input.
    for (i, msg) in rest.split(|&b| b == 0xFE).enumerate() {
        if ctl & 1 != 0 && i > 0 {
            inf.reset();
        }
        inf.begin_message();
        let mut out = 0u64;
        let mut sink = |b: &[u8]| out += b.len() as u64;
        let step = 1 + usize::from(ctl >> 1);
        let mut ok = true;
        for piece in msg.chunks(step) {
            if inf.push(piece, &mut sink).is_err() {
                ok = false;
                break;
            }
        }
        if ok {
            let _ = inf.finish(&mut sink);
        }
        // One inflate step may overshoot by at most its output buffer.
        assert!(out <= MAX_OUT + (1 << 17), "{out} bytes out");
        assert_eq!(out, inf.produced());
        if !ok {
            // After an error the next message starts from a fresh window.
            inf.reset();
        }
    }
});
