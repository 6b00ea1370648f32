//! The pipeline: capture -> packet -> flow table -> carriers -> stages ->
//! the consumer's [`Sink`].
//!
//! [`run`] reads a capture once, start to end (or until the sink asks to
//! stop), and sends every event in order.

use std::io::Read;
use std::ops::ControlFlow;

use crate::capture::{self, CaptureSummary, NotACapture, Record};
use crate::config::Config;
use crate::defrag::{Defragmenter, DropNote, Dropped};
use crate::event::{Event, Sink, StartRecord};
use crate::findings::{Code, Finding, Location};
use crate::flow::FlowTable;
use crate::packet::{self, Decoded, Segment};
use crate::stage::Staged;

/// Reads a whole capture and sends its events to `sink`.
///
/// Returns an error only when the input is not a capture at all. A sink
/// that answers `Break` ends the run: no more of the input is read
/// ([`CaptureSummary::stopped`]).
pub fn run<R: Read + Send>(
    input: R,
    cfg: &Config,
    sink: &mut dyn Sink,
) -> Result<CaptureSummary, NotACapture> {
    // Keys a pcapng Decryption Secrets Block brings stay with this capture.
    let cfg = &Config {
        keylog: cfg.keylog.fork(),
        ..cfg.clone()
    };
    let keylog = cfg.keylog.clone();
    let on_secrets = |text: &[u8]| keylog.add_text(text);
    let mut out = Staged::new(cfg, sink);
    let mut p = Packets::new();
    let mut flows = FlowTable::new(cfg);
    let mut started = false;
    let summary = capture::read_capture_with_secrets(input, on_secrets, |rec| {
        if !started {
            started = true;
            out.event(Event::Start(&StartRecord {
                ts: rec.ts.as_f64(),
            }))?;
        }
        p.record(
            rec,
            &mut Direct {
                flows: &mut flows,
                out: &mut out,
            },
        );
        if out.stopped() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    if out.stopped() {
        return Ok(summary);
    }
    p.finish(&mut Direct {
        flows: &mut flows,
        out: &mut out,
    });
    flows.finish(&mut out);
    if let Some(f) = truncated(&summary) {
        let _ = out.event(Event::Finding(&f));
    }
    Ok(summary)
}

/// The finding for a capture damaged after some packet, if it was.
pub(crate) fn truncated(summary: &CaptureSummary) -> Option<Finding> {
    summary.problem.as_ref().map(|pr| {
        Finding::new(
            Code::CaptureTruncated,
            Location::capture(pr.after_packet),
            format!(
                "the capture file is damaged after packet {}: {}; everything before was decoded",
                pr.after_packet, pr.message
            ),
        )
    })
}

/// Where the packet stage's output goes: TCP segments to the flow table,
/// capture-level findings to the stream. Single-threaded, straight on
/// ([`Direct`]); with `--threads`, into batches for the flow thread
/// (`crate::parallel`).
pub(crate) trait SegmentOut {
    /// A TCP segment of packet `number`.
    fn segment(&mut self, seg: &Segment<'_>, number: u64, ts: f64);
    /// A capture-level finding.
    fn finding(&mut self, f: &Finding);
}

/// The flow table and the output, in this thread.
struct Direct<'a, 'c, 's> {
    flows: &'a mut FlowTable<'c>,
    out: &'a mut Staged<'s>,
}

impl SegmentOut for Direct<'_, '_, '_> {
    fn segment(&mut self, seg: &Segment<'_>, number: u64, ts: f64) {
        self.flows.segment(seg, number, ts, self.out);
    }
    fn finding(&mut self, f: &Finding) {
        let _ = self.out.event(Event::Finding(f));
    }
}

/// Packets to TCP segments: link types, IP fragments (the flow table is
/// the [`SegmentOut`]'s).
pub(crate) struct Packets {
    unsupported_links: Vec<i32>,
    /// IP fragments of datagrams carrying TCP, being put back together.
    defrag: Defragmenter,
    /// Which kinds of given-up datagram were reported (one finding each).
    frag_reported: [bool; 3],
    last_packet: u64,
}

impl Packets {
    pub(crate) fn new() -> Self {
        Packets {
            unsupported_links: Vec::new(),
            defrag: Defragmenter::default(),
            frag_reported: [false; 3],
            last_packet: 0,
        }
    }

    /// One capture record.
    pub(crate) fn record(&mut self, rec: &Record<'_>, out: &mut impl SegmentOut) {
        self.last_packet = rec.number;
        match packet::decode(rec.link, rec.data) {
            Decoded::Tcp(seg) => out.segment(&seg, rec.number, rec.ts.as_f64()),
            Decoded::UnsupportedLink(l) => {
                if !self.unsupported_links.contains(&l) && self.unsupported_links.len() < 16 {
                    self.unsupported_links.push(l);
                    let f = Finding::new(
                        Code::CaptureUnsupportedLink,
                        Location::capture(rec.number),
                        format!("link type {l} is not supported; its packets are skipped"),
                    );
                    out.finding(&f);
                }
            }
            Decoded::IpFragment(frag) => {
                let ts = rec.ts.as_f64();
                let mut notes = Vec::new();
                let whole = self
                    .defrag
                    .add(&frag, rec.number, ts, &mut |n| notes.push(n));
                for n in notes {
                    self.frag_dropped(&n, out);
                }
                if let Some(data) = whole {
                    // The datagram is numbered by the packet that completed it.
                    if let Decoded::Tcp(seg) = packet::reassembled_tcp(frag.src, frag.dst, &data) {
                        out.segment(&seg, rec.number, ts);
                    }
                    self.defrag.recycle(data);
                }
            }
            Decoded::Other | Decoded::Malformed(_) => {}
        }
    }

    /// Reports a fragmented datagram that was given up (the first of each kind).
    fn frag_dropped(&mut self, n: &DropNote, out: &mut impl SegmentOut) {
        let (i, code, what) = match n.why {
            Dropped::Incomplete => (
                0,
                Code::CaptureIpFragment,
                "a fragmented IP datagram carrying TCP never completed",
            ),
            Dropped::Evicted => (
                1,
                Code::LimitReached,
                "too many fragmented IP datagrams pending at once; the oldest was dropped",
            ),
            Dropped::Invalid => (
                2,
                Code::CaptureIpFragment,
                "the fragments of an IP datagram carrying TCP do not fit together; it was dropped, as receivers do",
            ),
        };
        if std::mem::replace(&mut self.frag_reported[i], true) {
            return;
        }
        let f = Finding::new(
            code,
            Location::capture(n.first_packet),
            format!(
                "{what} (first fragment in packet {}, given up at packet {}: {}); its bytes are missing",
                n.first_packet, n.packet, n.detail
            ),
        );
        out.finding(&f);
    }

    /// The capture ended: fragments never completed are reported (the
    /// flow table is finished after, by its owner).
    pub(crate) fn finish(&mut self, out: &mut impl SegmentOut) {
        let mut notes = Vec::new();
        self.defrag.finish(self.last_packet, &mut |n| notes.push(n));
        for n in notes {
            self.frag_dropped(&n, out);
        }
    }
}
