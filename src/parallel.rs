//! `--threads N`: the capture read in one thread, the connections decoded
//! in another, the output byte for byte that of one thread.
//!
//! Which mode runs when: `check` on a regular capture file, plain or gzip
//! (not standard input, a pipe or a live interface), with no `--filter` on
//! `conn`, runs sharded (`crate::shard`: N workers decoding their share of
//! the connections, the first of them also reading the file), and `check`
//! with several captures decodes up to N of them at once, each in one
//! thread (both in the binary's `check_threads`); every other command, and
//! `check` where sharding would not give one thread's output (a shared
//! limit reached), runs this module's reader thread and one decoding
//! thread.
//!
//! The reader thread runs the capture and packet stages (pcap-parser's
//! reader, link layers, IP, TCP, IP fragments put back together) and puts
//! what they give, in capture order, into batches: TCP segments (their
//! payload copied into the batch's buffer), capture-level findings, and the
//! key log text of pcapng Decryption Secrets Blocks. A bounded channel
//! carries the batches to the calling thread, which runs the flow table,
//! the carriers, the stages and the sink on them exactly as [`crate::run`]
//! does in one thread. Nothing that decides what is reported moved: one
//! flow table numbers the connections, evicts the least recently active
//! one and spends the capture-wide out-of-order budget, so the events and
//! their order are those of one thread by construction.
//!
//! Memory is bounded: at most [`QUEUE`] batches wait in the channel, each
//! at most [`BATCH_BYTES`] of payload (or one packet, if larger); a reader
//! ahead of the decoder waits (backpressure). A batch is sent when it is
//! full and before every read from the source, so that a pipe or a live
//! capture is decoded packet by packet as it arrives, never held back
//! waiting for a batch to fill.
//!
//! Why not several decoding threads here (Suricata's autofp: workers
//! chosen by a flow hash)? Connection numbers are counted in order of first
//! packet across all connections, eviction picks the least recently active
//! connection of all, and the out-of-order budget is shared by all: each a
//! decision over every connection at once. Sharded workers each see only
//! theirs, so a sharded run is exact only when no limit is reached, which
//! is known at the end; `check` prints only at the end and can decode the
//! capture again in one thread, streaming commands cannot (`crate::shard`).
//! See docs/performance.md.

use std::io::{self, Read};
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

use crate::capture::{self, CaptureSummary, NotACapture, Record};
use crate::config::Config;
use crate::event::{Event, Sink, StartRecord};
use crate::findings::Finding;
use crate::flow::FlowTable;
use crate::packet::Segment;
use crate::pipeline::{Packets, SegmentOut, truncated};
use crate::stage::Staged;

/// Batches waiting between the reader and the decoder.
pub const QUEUE: usize = 4;
/// Payload bytes past which a batch is sent.
pub const BATCH_BYTES: usize = 256 << 10;
/// Items past which a batch is sent.
const BATCH_ITEMS: usize = 2048;

/// What the reader found, in capture order.
pub(crate) enum Item {
    /// The capture's first record (its time).
    Start(f64),
    /// A TCP segment; its payload is `data[at..at + len]` of the batch.
    Segment {
        number: u64,
        ts: f64,
        src: SocketAddr,
        dst: SocketAddr,
        seq: u32,
        ack: Option<u32>,
        flags: u8,
        at: usize,
        len: usize,
        missing: u32,
        window: u16,
        wscale: Option<u8>,
    },
    /// A capture-level finding (link type, IP fragments).
    Finding(Box<Finding>),
    /// Key log text from a pcapng Decryption Secrets Block: `data[at..at + len]`.
    Secrets { at: usize, len: usize },
}

const SYN: u8 = 1;
const FIN: u8 = 2;
const RST: u8 = 4;
const PSH: u8 = 8;

#[derive(Default)]
pub(crate) struct Batch {
    items: Vec<Item>,
    data: Vec<u8>,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    fn full(&self) -> bool {
        self.data.len() >= BATCH_BYTES || self.items.len() >= BATCH_ITEMS
    }
    fn bytes(&mut self, b: &[u8]) -> (usize, usize) {
        let at = self.data.len();
        self.data.extend_from_slice(b);
        (at, b.len())
    }
}

pub(crate) enum Msg {
    Batch(Batch),
    /// The reader is done: what it read, or why the input is no capture.
    Done(Result<CaptureSummary, NotACapture>),
}

/// The reader thread's side of the channel: the batch being filled.
pub(crate) struct Batcher {
    cur: Batch,
    tx: SyncSender<Msg>,
    /// Emptied batches coming back, to be filled again.
    free: Receiver<Batch>,
    /// The decoder is gone (its sink asked to stop).
    closed: bool,
}

impl Batcher {
    /// A batcher sending on `tx`, taking emptied batches back from `free`.
    pub(crate) fn new(tx: SyncSender<Msg>, free: Receiver<Batch>) -> Self {
        Batcher {
            cur: Batch {
                items: Vec::with_capacity(BATCH_ITEMS),
                data: Vec::with_capacity(BATCH_BYTES + (64 << 10)),
            },
            tx,
            free,
            closed: false,
        }
    }

    /// Whether the receiving side is gone.
    pub(crate) fn closed(&self) -> bool {
        self.closed
    }

    /// Sends what is left and the end of the capture.
    pub(crate) fn done(&mut self, result: Result<CaptureSummary, NotACapture>) {
        self.flush();
        if !self.closed {
            let _ = self.tx.send(Msg::Done(result));
        }
    }

    /// Key log text, in capture order with the segments.
    pub(crate) fn secrets(&mut self, text: &[u8]) {
        let (at, len) = self.cur.bytes(text);
        self.push(Item::Secrets { at, len });
    }

    /// Sends the batch being filled, if anything is in it.
    pub(crate) fn flush(&mut self) {
        if self.cur.is_empty() || self.closed {
            return;
        }
        // A batch back from the decoder, or a new one sized for a full
        // batch (growing one by doubling would fault in fresh pages).
        let next = self.free.try_recv().unwrap_or_else(|_| Batch {
            items: Vec::with_capacity(BATCH_ITEMS),
            data: Vec::with_capacity(BATCH_BYTES + (64 << 10)),
        });
        let b = std::mem::replace(&mut self.cur, next);
        if self.tx.send(Msg::Batch(b)).is_err() {
            self.closed = true;
        }
    }

    fn push(&mut self, item: Item) {
        self.cur.items.push(item);
        if self.cur.full() {
            self.flush();
        }
    }
}

impl SegmentOut for Batcher {
    fn segment(&mut self, seg: &Segment<'_>, number: u64, ts: f64) {
        let (at, len) = self.cur.bytes(seg.payload);
        let flags = [
            (seg.syn, SYN),
            (seg.fin, FIN),
            (seg.rst, RST),
            (seg.psh, PSH),
        ]
        .iter()
        .fold(0, |a, &(on, bit)| if on { a | bit } else { a });
        self.push(Item::Segment {
            number,
            ts,
            src: seg.src,
            dst: seg.dst,
            seq: seg.seq,
            ack: seg.ack,
            flags,
            at,
            len,
            missing: seg.missing,
            window: seg.window,
            wscale: seg.wscale,
        });
    }
    fn finding(&mut self, f: &Finding) {
        self.push(Item::Finding(Box::new(f.clone())));
    }
}

fn lock(b: &Mutex<Batcher>) -> std::sync::MutexGuard<'_, Batcher> {
    b.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The source, sending what was read so far before every read from it (a
/// read from a pipe or a live capture may wait for the next packet).
struct FlushBeforeRead<R> {
    inner: R,
    batcher: Arc<Mutex<Batcher>>,
}

impl<R: Read> Read for FlushBeforeRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        lock(&self.batcher).flush();
        self.inner.read(buf)
    }
}

/// The reader thread: the capture and packet stages into batches.
fn reader<R: Read + Send>(input: R, tx: SyncSender<Msg>, free: Receiver<Batch>) {
    let batcher = Arc::new(Mutex::new(Batcher::new(tx.clone(), free)));
    let source = FlushBeforeRead {
        inner: input,
        batcher: batcher.clone(),
    };
    let mut p = Packets::new();
    let mut started = false;
    let on_secrets = |text: &[u8]| lock(&batcher).secrets(text);
    let result = capture::read_capture_with_secrets(source, on_secrets, |rec: &Record<'_>| {
        let mut b = lock(&batcher);
        if !started {
            started = true;
            b.push(Item::Start(rec.ts.as_f64()));
        }
        p.record(rec, &mut *b);
        if b.closed {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    let mut b = lock(&batcher);
    if result.as_ref().is_ok_and(|s| !s.stopped) {
        p.finish(&mut *b);
    }
    b.flush();
    let _ = tx.send(Msg::Done(result));
}

/// [`crate::run`] with the capture read in a thread of its own (`threads`
/// at least 2; else it is `run`). The same events in the same order; a
/// sink that answers `Break` ends the run at once (the reader thread, which
/// may be waiting on a pipe, ends at its next packet).
pub fn run<R: Read + Send + 'static>(
    input: R,
    cfg: &Config,
    threads: usize,
    sink: &mut dyn Sink,
) -> Result<CaptureSummary, NotACapture> {
    if threads < 2 {
        return crate::pipeline::run(input, cfg, sink);
    }
    // Keys a pcapng Decryption Secrets Block brings stay with this capture.
    let cfg = &Config {
        keylog: cfg.keylog.fork(),
        ..cfg.clone()
    };
    let (tx, rx) = sync_channel::<Msg>(QUEUE);
    // Room for every batch in flight: none is dropped and allocated again.
    let (free_tx, free_rx) = sync_channel::<Batch>(QUEUE + 2);
    let spawned = std::thread::Builder::new()
        .name("wsdissect-reader".into())
        .spawn(move || reader(input, tx, free_rx));
    if let Err(e) = spawned {
        return Err(NotACapture(format!("cannot start a thread: {e}")));
    }
    let mut out = Staged::new(cfg, sink);
    let mut flows = FlowTable::new(cfg);
    let mut last = 0;
    let stopped = |packets| {
        Ok(CaptureSummary {
            packets,
            stopped: true,
            ..CaptureSummary::default()
        })
    };
    loop {
        let Ok(msg) = rx.recv() else {
            // The reader thread died (it does not, but if it did): what was
            // read is decoded.
            flows.finish(&mut out);
            return Ok(CaptureSummary {
                packets: last,
                ..CaptureSummary::default()
            });
        };
        let mut batch = match msg {
            Msg::Batch(b) => b,
            Msg::Done(Err(e)) => return Err(e),
            Msg::Done(Ok(summary)) => {
                if out.stopped() {
                    return Ok(summary);
                }
                flows.finish(&mut out);
                if let Some(f) = truncated(&summary) {
                    let _ = out.event(Event::Finding(&f));
                }
                return Ok(summary);
            }
        };
        if !feed(&mut batch, cfg, &mut flows, &mut out, &mut last) {
            // Dropping the receiver tells the reader to stop.
            return stopped(last);
        }
        match free_tx.try_send(batch) {
            Ok(()) | Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

/// Runs one batch's items through the flow table, the stages and the sink
/// (`last`: the number of the last segment's packet); `false` when the sink
/// asked to stop.
pub(crate) fn feed(
    batch: &mut Batch,
    cfg: &Config,
    flows: &mut FlowTable<'_>,
    out: &mut Staged<'_>,
    last: &mut u64,
) -> bool {
    for item in batch.items.drain(..) {
        match item {
            Item::Start(ts) => {
                let _ = out.event(Event::Start(&StartRecord { ts }));
            }
            Item::Segment {
                number,
                ts,
                src,
                dst,
                seq,
                ack,
                flags,
                at,
                len,
                missing,
                window,
                wscale,
            } => {
                *last = number;
                let payload = batch.data.get(at..at + len).unwrap_or_default();
                let seg = Segment {
                    src,
                    dst,
                    seq,
                    ack,
                    syn: flags & SYN != 0,
                    fin: flags & FIN != 0,
                    rst: flags & RST != 0,
                    payload,
                    missing,
                    psh: flags & PSH != 0,
                    window,
                    wscale,
                };
                flows.segment(&seg, number, ts, out);
            }
            Item::Finding(f) => {
                let _ = out.event(Event::Finding(&f));
            }
            Item::Secrets { at, len } => {
                if let Some(text) = batch.data.get(at..at + len) {
                    cfg.keylog.add_text(text);
                }
            }
        }
        if out.stopped() {
            return false;
        }
    }
    batch.data.clear();
    true
}
