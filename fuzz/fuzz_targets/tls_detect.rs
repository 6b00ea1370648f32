//! TLS recognition (src/tls.rs) over arbitrary bytes: the hello and record
//! chain tests on every piece, and each direction's hello reader fed in
//! pieces with gaps, from the start or mid-stream. Nothing may panic, a
//! direction never holds more than one record, what it shows is printable,
//! and a direction caught mid-way shows nothing.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use wsdissect::tls::{TlsInfo, TlsSide, is_client_hello, is_record_chain, is_server_hello};
use wsdissect::tlscore::record::MAX_RECORD;

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let mid = ctl & 1 != 0;
    let mut sides = if mid {
        [TlsSide::mid_stream(), TlsSide::mid_stream()]
    } else {
        [TlsSide::new(), TlsSide::new()]
    };
    let mut info = TlsInfo::default();
    let mut seen = [0u64; 2];
    for op in common::ops(rest) {
        match op {
            common::Op::Data(d, b) => {
                let (ch, sh) = (is_client_hello(b), is_server_hello(b));
                assert!(!(ch && sh));
                if ch || sh {
                    assert_eq!(b[0], 0x16);
                }
                if is_record_chain(b) {
                    let len = usize::from(u16::from_be_bytes([b[3], b[4]]));
                    assert!(5 + len <= b.len() && len <= MAX_RECORD);
                }
                let s = &mut sides[usize::from(d)];
                s.data(b, &mut info);
                seen[usize::from(d)] += b.len() as u64;
                assert_eq!(s.bytes, seen[usize::from(d)]);
                assert!(s.held() <= MAX_RECORD + 5, "{} bytes held", s.held());
            }
            common::Op::Gap(d, _) => {
                sides[usize::from(d)].gap();
                assert_eq!(sides[usize::from(d)].held(), 0);
            }
        }
    }
    if mid {
        assert_eq!(
            info,
            TlsInfo::default(),
            "a direction caught mid-way reads no hello"
        );
    }
    for t in [&info.version, &info.cipher, &info.sni, &info.alpn]
        .into_iter()
        .flatten()
    {
        common::assert_clean(t);
    }
});
