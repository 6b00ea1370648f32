//! The same real capture in every classic pcap variant (both byte orders,
//! micro- and nanosecond timestamps) decodes to the same frames, and a
//! capture cut short still yields every frame before the cut.

use std::path::PathBuf;

use wsdissect::event::Event;
use wsdissect::{Config, run as analyze};

fn sample() -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples/node-fragments.pcap"))
        .unwrap()
}

fn u32_at(b: &[u8], at: usize, be: bool) -> u32 {
    let a = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if be {
        u32::from_be_bytes(a)
    } else {
        u32::from_le_bytes(a)
    }
}

/// Rewrites a little-endian microsecond pcap.
fn rewrite(src: &[u8], big_endian: bool, nanos: bool) -> Vec<u8> {
    assert_eq!(
        &src[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "little-endian microsecond pcap expected"
    );
    let put32 = |v: &mut Vec<u8>, x: u32| {
        v.extend_from_slice(&if big_endian {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        })
    };
    let put16 = |v: &mut Vec<u8>, x: u16| {
        v.extend_from_slice(&if big_endian {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        })
    };
    let mut out = Vec::new();
    put32(&mut out, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
    put16(&mut out, 2);
    put16(&mut out, 4);
    put32(&mut out, 0);
    put32(&mut out, 0);
    put32(&mut out, u32_at(src, 16, false));
    put32(&mut out, u32_at(src, 20, false));
    let mut at = 24;
    while at + 16 <= src.len() {
        let (sec, usec, cap, orig) = (
            u32_at(src, at, false),
            u32_at(src, at + 4, false),
            u32_at(src, at + 8, false),
            u32_at(src, at + 12, false),
        );
        put32(&mut out, sec);
        put32(&mut out, if nanos { usec * 1000 + 7 } else { usec });
        put32(&mut out, cap);
        put32(&mut out, orig);
        out.extend_from_slice(&src[at + 16..at + 16 + cap as usize]);
        at += 16 + cap as usize;
    }
    out
}

fn frames(bytes: &[u8]) -> Vec<(u64, f64, Vec<u8>)> {
    let mut v = Vec::new();
    analyze(bytes, &Config::default(), &mut |ev: Event<'_>| {
        if let Event::Frame(f) = ev {
            v.push((f.packet, f.ts, f.payload.to_vec()));
        }
    })
    .unwrap();
    v
}

#[test]
fn byte_order_and_timestamp_precision_do_not_matter() {
    let src = sample();
    let base = frames(&src);
    assert_eq!(base.len(), 124);
    for (be, ns) in [(true, false), (false, true), (true, true)] {
        let got = frames(&rewrite(&src, be, ns));
        assert_eq!(got.len(), base.len(), "be={be} ns={ns}");
        for (a, b) in got.iter().zip(&base) {
            assert_eq!((a.0, &a.2), (b.0, &b.2));
            // Nanoseconds add 7 ns: still the same microsecond.
            assert!((a.1 - b.1).abs() < 1e-6, "{} vs {}", a.1, b.1);
        }
    }
}

#[test]
fn a_file_cut_mid_record_keeps_every_frame_before_the_cut() {
    let src = sample();
    let base = frames(&src);
    for cut in [src.len() / 3, src.len() / 2, src.len() - 5] {
        let mut got = Vec::new();
        let mut truncated = false;
        analyze(
            &src[..cut],
            &Config::default(),
            &mut |ev: Event<'_>| match ev {
                Event::Frame(f) => got.push((f.packet, f.ts, f.payload.to_vec())),
                Event::Finding(f) if f.code.as_str() == "capture.truncated" => truncated = true,
                _ => {}
            },
        )
        .unwrap();
        assert!(truncated, "cut at {cut}");
        assert!(!got.is_empty() && got.len() <= base.len());
        if cut < src.len() / 2 + 1 {
            assert!(got.len() < base.len(), "cut at {cut}");
        }
        assert_eq!(got[..], base[..got.len()]);
    }
}
