//! One capture file decoded by several threads at once, each owning a share
//! of the connections (Suricata's autofp): the `check` command's mode for a
//! regular file with `--threads 2` or more.
//!
//! Worker 0 reads the file once through the capture and packet stages,
//! numbers every record and puts IP fragments back together; it hashes
//! each TCP segment's address pair ([`crate::flow::shard_of`]) to one of
//! [`BUCKETS`] buckets, decodes the segments of its own buckets in its own
//! flow table, carriers, stages and sink, and copies every other segment
//! into the batch of the worker that owns it (the batches of
//! [`crate::parallel`], carried by bounded channels: a worker behind makes
//! worker 0 wait). Worker 0 owns fewer buckets than the others, as reading
//! is its work too ([`owners`]). Capture-level findings and the start of
//! the run are worker 0's; every worker takes the keys of pcapng
//! Decryption Secrets Blocks in capture order, as one thread does.
//!
//! (Until 2026-12-02 every worker read and sliced the whole file itself:
//! no copy between threads, but the kernel copied the file once per worker
//! and each sliced every packet. Reading once took the sharded `check`'s
//! CPU time from 0.42 s to 0.36 s on the 1 GiB benchmark capture; see
//! docs/performance.md.)
//!
//! Afterwards, connection numbers are made those of one thread: each
//! worker's table recorded the packet that opened each of its connections
//! ([`crate::flow::FlowStats::opened`]); at most one connection opens per
//! packet, so a connection's number is the rank of its opening packet
//! among all workers' ([`Sharded::ids`]). The caller renumbers its sinks
//! with them and merges them (`CheckSink::merge_shards`).
//!
//! Exactness: three decisions of the flow table are taken over all
//! connections at once: eviction at `max_connections` live connections,
//! the capture-wide out-of-order budget, and forgetting tombstones past
//! their limit. A sharded run gives one thread's output whenever none of
//! them is reached, which the workers' figures tell afterwards: the sum of
//! their peak live connections below the limit, the sum of their peak
//! out-of-order totals within the budget (the total at any moment is at
//! most that sum) and no worker's budget spent, the sum of their buried
//! connections within the tombstone limit. When any fails, or a worker
//! stopped or failed, [`run`] answers `None` and the caller decodes the
//! capture again in one thread (`check` prints only at the end, so nothing
//! has been written yet); but not after Ctrl-C, when the same packets
//! cannot be read again: that result is given, marked not exact
//! ([`Sharded::exact`]).

use std::cell::RefCell;
use std::io::Read;
use std::ops::ControlFlow;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::capture::{self, CaptureSummary, NotACapture};
use crate::config::Config;
use crate::event::{Event, Sink, StartRecord};
use crate::findings::Finding;
use crate::flow::{FlowStats, FlowTable, MAX_TOMBSTONES, shard_of};
use crate::packet::Segment;
use crate::parallel::{Batch, Batcher, Msg, QUEUE, feed};
use crate::pipeline::{Packets, SegmentOut, truncated};
use crate::stage::Staged;

/// What the workers of a sharded run gave, ready to be merged.
pub struct Sharded<S> {
    /// Each worker's sink, worker 0 first.
    pub sinks: Vec<S>,
    /// What worker 0 read.
    pub summary: CaptureSummary,
    /// The number one thread gives to worker `w`'s connection `l`: `ids[w][l]`.
    pub ids: Vec<Vec<u64>>,
    /// Whether this is one thread's result. Only an interrupted run
    /// (Ctrl-C) that reached a shared limit is given when it is not: the
    /// capture cannot be read again up to the same packet, and decoding
    /// it again would read nothing (the stop is still asked for).
    pub exact: bool,
    /// Of the 64 hash buckets of connections, how many worker 0 decoded
    /// (it also read the capture): fewer when reading was costly, more
    /// when keys were given, since decrypting is then most of the work.
    pub worker0_buckets: usize,
}

/// One worker's result.
struct Part<S> {
    sink: S,
    result: Result<CaptureSummary, NotACapture>,
    stats: FlowStats,
}

/// Hash buckets a connection's address pair falls into
/// ([`crate::flow::shard_of`]); [`owners`] deals them out to the workers.
const BUCKETS: usize = 64;

/// How many buckets of `owners` are worker 0's.
fn worker0_count(owners: &[u8; BUCKETS]) -> usize {
    owners.iter().filter(|&&o| o == 0).count()
}

/// What worker 0's reading costs against the decoding of all
/// connections, which sets its share of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// As much as decoding (it inflates a gzip capture): worker 0 decodes
    /// nothing of its own.
    Costly,
    /// Reading and slicing plain traffic.
    Plain,
    /// Keys are known from the start, so decoding decrypts TLS: reading
    /// costs a sixth of it.
    Decrypting,
}

/// Which worker owns each bucket. Worker 0 also reads and slices the whole
/// capture and deals the other shares out, so it takes a smaller share of
/// the connections:
///
/// - plain: `BUCKETS / (2 * workers)` (a quarter with two workers;
///   measured against a third, a fifth and a sixth, docs/performance.md,
///   "Step: one reader for the sharded check");
/// - decrypting: the share that evens the workers out when reading costs a
///   sixth of decoding, `(1 - (w - 1) / 6) / w` of the buckets, rounded up,
///   none from 7 workers on (27 of 64 with two workers, measured in "Step:
///   worker 0's share when decrypting"; more workers than two are the
///   model's, not measured on this 2-core machine);
/// - costly reading: none.
///
/// The rest go round-robin to the others.
fn owners(workers: usize, reading: Reading) -> [u8; BUCKETS] {
    let workers = workers.clamp(1, BUCKETS);
    let mut own = [0u8; BUCKETS];
    if workers == 1 {
        return own;
    }
    let first = match reading {
        Reading::Costly => 0,
        Reading::Plain => (BUCKETS / (2 * workers)).max(1),
        Reading::Decrypting => (BUCKETS * 7usize.saturating_sub(workers)).div_ceil(6 * workers),
    };
    for (b, o) in own.iter_mut().enumerate().skip(first) {
        *o = (1 + (b - first) % (workers - 1)) as u8;
    }
    own
}

/// Worker 0's output for the packet stages: its share of the segments to
/// its own flow table, every other share into that worker's batch.
struct Dealer<'a, 'c, 's> {
    flows: &'a mut FlowTable<'c>,
    out: &'a mut Staged<'s>,
    owners: &'a [u8; BUCKETS],
    others: &'a mut [Batcher],
}

impl SegmentOut for Dealer<'_, '_, '_> {
    fn segment(&mut self, seg: &Segment<'_>, number: u64, ts: f64) {
        let w = self.owners[shard_of(seg.src, seg.dst, BUCKETS)] as usize;
        match w.checked_sub(1) {
            None => self.flows.segment(seg, number, ts, self.out),
            Some(i) => {
                if let Some(b) = self.others.get_mut(i) {
                    b.segment(seg, number, ts);
                }
            }
        }
    }
    fn finding(&mut self, f: &Finding) {
        let _ = self.out.event(Event::Finding(f));
    }
}

/// Worker 0: reads the capture, decodes its share and deals the rest out.
fn reader<R: Read + Send, S: Sink>(
    input: R,
    cfg: &Config,
    owners: &[u8; BUCKETS],
    mut others: Vec<Batcher>,
    mut sink: S,
) -> Part<S> {
    let keylog = cfg.keylog.clone();
    let others = RefCell::new(&mut others);
    let on_secrets = |text: &[u8]| {
        keylog.add_text(text);
        for b in others.borrow_mut().iter_mut() {
            b.secrets(text);
        }
    };
    let (result, stats) = {
        let mut out = Staged::new(cfg, &mut sink);
        let mut p = Packets::new();
        let mut flows = FlowTable::new(cfg);
        let mut started = false;
        let result = capture::read_capture_with_secrets(input, on_secrets, |rec| {
            if !started {
                started = true;
                out.event(Event::Start(&StartRecord {
                    ts: rec.ts.as_f64(),
                }))?;
            }
            let mut others = others.borrow_mut();
            p.record(
                rec,
                &mut Dealer {
                    flows: &mut flows,
                    out: &mut out,
                    owners,
                    others: others.as_mut_slice(),
                },
            );
            if out.stopped() || others.iter().any(Batcher::closed) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        let mut others = others.borrow_mut();
        if let Ok(summary) = &result
            && !summary.stopped
            && !out.stopped()
        {
            p.finish(&mut Dealer {
                flows: &mut flows,
                out: &mut out,
                owners,
                others: others.as_mut_slice(),
            });
            flows.finish(&mut out);
            if let Some(f) = truncated(summary) {
                let _ = out.event(Event::Finding(&f));
            }
        }
        for b in others.iter_mut() {
            b.done(result.clone());
        }
        (result, flows.stats().clone())
    };
    Part {
        sink,
        result,
        stats,
    }
}

/// A worker above 0: decodes the segments worker 0 deals it.
fn worker<S: Sink>(
    rx: Receiver<Msg>,
    free: SyncSender<Batch>,
    cfg: &Config,
    mut sink: S,
) -> Part<S> {
    let mut last = 0;
    let (result, stats) = {
        let mut out = Staged::new(cfg, &mut sink);
        let mut flows = FlowTable::new(cfg);
        let result = loop {
            match rx.recv() {
                Ok(Msg::Batch(mut batch)) => {
                    if !feed(&mut batch, cfg, &mut flows, &mut out, &mut last) {
                        break Ok(CaptureSummary {
                            packets: last,
                            stopped: true,
                            ..CaptureSummary::default()
                        });
                    }
                    let _ = free.try_send(batch);
                }
                Ok(Msg::Done(result)) => {
                    if result.as_ref().is_ok_and(|s| !s.stopped) {
                        flows.finish(&mut out);
                    }
                    break result;
                }
                // Worker 0 ended without a word (it does not): refused.
                Err(_) => {
                    break Ok(CaptureSummary {
                        packets: last,
                        stopped: true,
                        ..CaptureSummary::default()
                    });
                }
            }
        };
        (result, flows.stats().clone())
    };
    Part {
        sink,
        result,
        stats,
    }
}

/// Decodes one capture with `workers` threads: worker 0 reads it from
/// `input` and decodes its share (none if `only_reads`: reading `input`
/// is costly, as inflating gzip is), the others decode theirs, each into
/// its own `make(index)` sink. `Ok(None)`: the result would not be one
/// thread's (a shared limit was reached, a sink stopped, a worker panicked
/// or could not be started); decode the capture in one thread instead.
pub fn run<R, S, M>(
    workers: usize,
    input: R,
    only_reads: bool,
    cfg: &Config,
    make: M,
) -> Result<Option<Sharded<S>>, NotACapture>
where
    R: Read + Send,
    S: Sink + Send,
    M: Fn(usize) -> S + Sync,
{
    let workers = workers.clamp(1, BUCKETS);
    // Keys a pcapng Decryption Secrets Block brings stay with this run;
    // each worker has its own copy, fed in capture order.
    let cfgs: Vec<Config> = (0..workers)
        .map(|_| Config {
            keylog: cfg.keylog.fork(),
            ..cfg.clone()
        })
        .collect();
    let reading = match only_reads {
        true => Reading::Costly,
        // Key files given up front (the fork holds those alone): TLS is
        // decrypted. Keys a capture brings in a Decryption Secrets Block
        // come too late to weigh.
        false if !cfgs[0].keylog.is_empty() => Reading::Decrypting,
        false => Reading::Plain,
    };
    let owners = owners(workers, reading);
    let worker0_buckets = worker0_count(&owners);
    let parts: Vec<Option<Part<S>>> = std::thread::scope(|s| {
        let make = &make;
        let mut batchers = Vec::new();
        let mut handles = Vec::new();
        for (i, cfg) in cfgs.iter().enumerate().skip(1) {
            let (tx, rx) = sync_channel::<Msg>(QUEUE);
            let (free_tx, free_rx) = sync_channel::<Batch>(QUEUE + 2);
            batchers.push(Batcher::new(tx, free_rx));
            handles.push(
                std::thread::Builder::new()
                    .name(format!("wsdissect-shard{i}"))
                    // As deep as the main thread's, which decodes in one thread.
                    .stack_size(8 << 20)
                    .spawn_scoped(s, move || worker(rx, free_tx, cfg, make(i))),
            );
        }
        let first = reader(input, &cfgs[0], &owners, batchers, make(0));
        std::iter::once(Some(first))
            .chain(handles.into_iter().map(|h| match h {
                Ok(h) => h.join().ok(),
                Err(_) => None,
            }))
            .collect()
    });
    let Some(parts) = parts.into_iter().collect::<Option<Vec<Part<S>>>>() else {
        return Ok(None);
    };
    let first = match &parts[0].result {
        Ok(summary) => summary.clone(),
        Err(e) => return Err(e.clone()),
    };
    // Worker 0's summary is `first`; the others' are copies of it, or
    // their own when their sink stopped.
    if parts
        .iter()
        .any(|p| p.result.as_ref().map_or(true, |s| s.stopped))
    {
        return Ok(None);
    }
    let sum = |f: fn(&FlowStats) -> usize| parts.iter().map(|p| f(&p.stats)).sum::<usize>();
    let exact = sum(|s| s.peak_live) < cfg.max_connections
        && sum(|s| s.peak_ooo) <= cfg.max_ooo_total
        && !parts.iter().any(|p| p.stats.ooo_spent)
        && sum(|s| s.buried) <= MAX_TOMBSTONES;
    if !exact && !first.interrupted {
        return Ok(None);
    }
    let ids = global_ids(parts.iter().map(|p| p.stats.opened.as_slice()));
    Ok(Some(Sharded {
        sinks: parts.into_iter().map(|p| p.sink).collect(),
        summary: first,
        ids,
        exact,
        worker0_buckets,
    }))
}

/// One thread's connection numbers: the rank of each connection's opening
/// packet among every worker's (ties, which one thread cannot have, by
/// worker).
fn global_ids<'a>(opened: impl Iterator<Item = &'a [u64]>) -> Vec<Vec<u64>> {
    let opened: Vec<&[u64]> = opened.collect();
    let mut all: Vec<(u64, usize, usize)> = opened
        .iter()
        .enumerate()
        .flat_map(|(w, o)| o.iter().enumerate().map(move |(l, &p)| (p, w, l)))
        .collect();
    all.sort_unstable();
    let mut ids: Vec<Vec<u64>> = opened.iter().map(|o| vec![0; o.len()]).collect();
    for (rank, &(_, w, l)) in all.iter().enumerate() {
        if let Some(id) = ids.get_mut(w).and_then(|v| v.get_mut(l)) {
            *id = rank as u64;
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_ranks_of_opening_packets() {
        let a: &[u64] = &[1, 5, 9];
        let b: &[u64] = &[2, 3, 10];
        assert_eq!(
            global_ids([a, b].into_iter()),
            vec![vec![0, 3, 4], vec![1, 2, 5]]
        );
    }

    fn share(workers: usize, reading: Reading) -> usize {
        worker0_count(&owners(workers, reading))
    }

    #[test]
    fn worker_0_takes_more_when_decoding_decrypts() {
        // Two workers: a quarter plain, 27 of 64 decrypting (the even
        // split when reading costs a sixth of decoding), none when reading
        // inflates.
        assert_eq!(share(2, Reading::Plain), 16);
        assert_eq!(share(2, Reading::Decrypting), 27);
        assert_eq!(share(2, Reading::Costly), 0);
        // The model: (1 - (w - 1) / 6) / w, rounded up; none from 7 on.
        assert_eq!(share(3, Reading::Decrypting), 15);
        assert_eq!(share(4, Reading::Decrypting), 8);
        assert_eq!(share(7, Reading::Decrypting), 0);
        for w in (0..=70).chain([usize::MAX]) {
            for r in [Reading::Plain, Reading::Decrypting, Reading::Costly] {
                let own = owners(w, r);
                let n = w.clamp(1, BUCKETS);
                // Every bucket has a worker that exists, and every worker
                // above 0 has a bucket.
                assert!(own.iter().all(|&o| usize::from(o) < n), "{w} {r:?}");
                for k in 1..n {
                    assert!(own.contains(&(k as u8)), "{w} {r:?}: worker {k} idle");
                }
            }
        }
    }
}
