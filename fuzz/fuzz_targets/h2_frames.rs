//! The HTTP/2 connection layer over arbitrary bytes of both directions, in
//! arbitrary pieces, with gaps, from the preface, after an h2c upgrade and
//! mid-connection. Nothing may panic; every event lies within the bytes
//! fed, names a stream where it must, and prints clean; the parsers hold
//! no more than they were given, the streams followed stay within the cap,
//! and memory stays bounded whatever the frame and HPACK lengths claim.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use wsdissect::findings::Dir;
use wsdissect::h2::{ConnLimits, Connection, Event, Start, hpack};

#[global_allocator]
static A: common::Counting = common::Counting;

const LIMITS: ConnLimits = ConnLimits {
    max_streams: 32,
    frame: wsdissect::h2::frame::FrameLimits {
        max_header_block: 16 << 10,
    },
    hpack: hpack::Limits {
        max_string: 4 << 10,
        max_header_list: 16 << 10,
        max_table: 8 << 10,
    },
};

fn dir(d: u8) -> Dir {
    if d == 0 { Dir::Client } else { Dir::Server }
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let (start, base_off) = match ctl & 3 {
        0 => (Start::Preface, [0, 0]),
        1 => {
            let o = [u64::from(ctl >> 2) * 7, u64::from(ctl >> 4) * 13];
            (
                Start::Upgrade {
                    client_offset: o[0],
                    server_offset: o[1],
                },
                o,
            )
        }
        _ => (Start::MidConnection, [0, 0]),
    };
    let step = match ctl >> 5 {
        0 => usize::MAX,
        n => usize::from(n) * 3,
    };
    let ops = common::ops(rest);
    let base = common::mark();
    let mut c = Connection::new(start, LIMITS);
    if ctl & 3 == 3 {
        // Settings from an HTTP2-Settings header: the first step's bytes.
        if let Some(common::Op::Data(_, b)) = ops.first() {
            c.upgrade_settings(b);
        }
    }
    let mut fed = [0u64; 2];
    let mut given = 0u64;
    let mut out = Vec::new();
    for op in &ops {
        match *op {
            common::Op::Data(d, b) => {
                for piece in b.chunks(step.min(b.len().max(1))) {
                    fed[usize::from(d)] += piece.len() as u64;
                    given += piece.len() as u64;
                    c.feed(dir(d), piece, &mut out);
                    check(&c, &mut out, &fed, base_off);
                }
            }
            common::Op::Gap(d, len) => {
                fed[usize::from(d)] += len;
                c.gap(dir(d), len);
            }
        }
        assert!(
            c.buffered() as u64 <= given,
            "{} bytes held of {given} fed",
            c.buffered()
        );
        assert!(
            c.open_streams() <= LIMITS.max_streams + 1,
            "{} streams",
            c.open_streams()
        );
        let peak = common::peak_since(base);
        // The connection's own state, one frame per direction at most, the
        // events of one piece: a fixed bound plus a multiple of the input.
        let bound = (4 << 20) + 64 * data.len();
        assert!(peak <= bound, "{peak} bytes allocated (bound {bound})");
    }
    c.finish(&mut out);
    check(&c, &mut out, &fed, base_off);
});

fn check(c: &Connection, out: &mut Vec<Event>, fed: &[u64; 2], base: [u64; 2]) {
    let end = |d: Dir| fed[usize::from(d == Dir::Server)] + base[usize::from(d == Dir::Server)];
    for d in [Dir::Client, Dir::Server] {
        assert!(
            c.offset(d) <= end(d),
            "offset {} past {}",
            c.offset(d),
            end(d)
        );
    }
    for ev in out.drain(..) {
        match ev {
            Event::Frame {
                from,
                offset,
                header,
            } => {
                assert!(
                    offset + 9 <= end(from),
                    "frame at {offset} past {}",
                    end(from)
                );
                assert!(header.length < 1 << 24);
            }
            Event::Data {
                from,
                stream,
                data,
                data_offset,
                ..
            } => {
                assert_ne!(stream, 0, "DATA on stream 0");
                assert!(data_offset + data.len() as u64 <= end(from));
            }
            Event::Headers {
                from,
                stream,
                fields,
                offset,
                ..
            } => {
                assert_ne!(stream, 0, "headers on stream 0");
                assert!(offset <= end(from));
                let size: usize = fields
                    .iter()
                    .map(|f| {
                        f.name.as_ref().map_or(0, Vec::len) + f.value.as_ref().map_or(0, Vec::len)
                    })
                    .sum();
                assert!(
                    size <= LIMITS.hpack.max_header_list,
                    "{size} bytes of headers kept"
                );
                for f in &fields {
                    for s in [&f.name, &f.value].into_iter().flatten() {
                        assert!(s.len() <= LIMITS.hpack.max_string);
                    }
                }
            }
            Event::RstStream { stream, .. } | Event::StreamClosed { stream } => {
                assert_ne!(stream, 0);
            }
            Event::Settings {
                from,
                values,
                offset,
                ..
            } => {
                assert!(offset <= end(from));
                assert!(values.len() * 6 <= (1 << 24));
            }
            Event::GoAway {
                from,
                offset,
                debug,
                ..
            } => {
                assert!(offset <= end(from));
                assert!(debug.len() < 1 << 24);
            }
            Event::ExtendedConnect { stream, .. } => assert_ne!(stream, 0),
            Event::Finding(f) => {
                common::assert_clean(&f.message);
                if let Some(d) = f.from {
                    assert!(
                        f.offset <= end(d),
                        "finding at {} past {}",
                        f.offset,
                        end(d)
                    );
                }
            }
            Event::Preface { offset } => assert!(offset + 24 <= end(Dir::Client)),
            Event::ConnectResponse { .. } => {}
        }
    }
}
