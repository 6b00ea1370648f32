//! One capture file decoded by several threads at once, each owning a share
//! of the connections (Suricata's autofp, without its reader thread): the
//! `check` command's mode for a regular file with `--threads 2` or more.
//!
//! Every worker opens and reads the whole file itself through the capture
//! and packet stages (reading and slicing are cheap; nothing is copied
//! between threads), numbers every record, and puts IP fragments back
//! together; it hands on only the TCP segments whose address pair hashes
//! to it ([`crate::flow::shard_of`]) to its own flow table, carriers,
//! stages and sink. Capture-level findings and the start of the run come
//! from worker 0 alone; every worker takes the keys of pcapng Decryption
//! Secrets Blocks, in capture order, as one thread does.
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
//! connections within the tombstone limit. When any fails, or the workers
//! disagree on what they read, [`run`] answers `None` and the caller
//! decodes the capture again in one thread (`check` prints only at the
//! end, so nothing has been written yet).

use std::io::Read;
use std::ops::ControlFlow;

use crate::capture::{self, CaptureSummary, NotACapture};
use crate::config::Config;
use crate::event::{Event, Sink, StartRecord};
use crate::findings::Finding;
use crate::flow::{FlowStats, FlowTable, MAX_TOMBSTONES, shard_of};
use crate::packet::Segment;
use crate::pipeline::{Packets, SegmentOut, truncated};
use crate::stage::Staged;

/// What the workers of a sharded run gave, ready to be merged.
pub struct Sharded<S> {
    /// Each worker's sink, worker 0 first.
    pub sinks: Vec<S>,
    /// What was read (worker 0's pass; every worker read the same).
    pub summary: CaptureSummary,
    /// The number one thread gives to worker `w`'s connection `l`: `ids[w][l]`.
    pub ids: Vec<Vec<u64>>,
}

/// One worker's result.
struct Part<S> {
    sink: S,
    result: Result<CaptureSummary, NotACapture>,
    stats: FlowStats,
}

/// The segments of this worker's share to its flow table; capture-level
/// findings to its output only in worker 0.
struct ShardOut<'a, 'c, 's> {
    flows: &'a mut FlowTable<'c>,
    out: &'a mut Staged<'s>,
    index: usize,
    workers: usize,
}

impl SegmentOut for ShardOut<'_, '_, '_> {
    fn segment(&mut self, seg: &Segment<'_>, number: u64, ts: f64) {
        if shard_of(seg.src, seg.dst, self.workers) == self.index {
            self.flows.segment(seg, number, ts, self.out);
        }
    }
    fn finding(&mut self, f: &Finding) {
        if self.index == 0 {
            let _ = self.out.event(Event::Finding(f));
        }
    }
}

/// Worker `index` of `workers`: [`crate::pipeline::run`] over its share.
fn worker<R: Read + Send, S: Sink>(
    input: R,
    cfg: &Config,
    index: usize,
    workers: usize,
    mut sink: S,
) -> Part<S> {
    // Keys a pcapng Decryption Secrets Block brings stay with this pass.
    let cfg = &Config {
        keylog: cfg.keylog.fork(),
        ..cfg.clone()
    };
    let keylog = cfg.keylog.clone();
    let on_secrets = |text: &[u8]| keylog.add_text(text);
    let (result, stats) = {
        let mut out = Staged::new(cfg, &mut sink);
        let mut p = Packets::new();
        let mut flows = FlowTable::new(cfg);
        let mut started = false;
        let result = capture::read_capture_with_secrets(input, on_secrets, |rec| {
            if !started {
                started = true;
                if index == 0 {
                    out.event(Event::Start(&StartRecord {
                        ts: rec.ts.as_f64(),
                    }))?;
                }
            }
            let mut to = ShardOut {
                flows: &mut flows,
                out: &mut out,
                index,
                workers,
            };
            p.record(rec, &mut to);
            if out.stopped() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        if let Ok(summary) = &result
            && !out.stopped()
        {
            p.finish(&mut ShardOut {
                flows: &mut flows,
                out: &mut out,
                index,
                workers,
            });
            flows.finish(&mut out);
            if index == 0
                && let Some(f) = truncated(summary)
            {
                let _ = out.event(Event::Finding(&f));
            }
        }
        (result, flows.stats().clone())
    };
    Part {
        sink,
        result,
        stats,
    }
}

/// Decodes one capture with `workers` threads, each reading it from its own
/// `open(index)` (a regular file opened again) into its own `make(index)`
/// sink. `Ok(None)`: the result would not be one thread's (a shared limit
/// was reached, a sink stopped, a reader could not be opened, the passes
/// disagree); decode the capture in one thread instead.
pub fn run<R, S, O, M>(
    workers: usize,
    open: O,
    cfg: &Config,
    make: M,
) -> Result<Option<Sharded<S>>, NotACapture>
where
    R: Read + Send,
    S: Sink + Send,
    O: Fn(usize) -> Option<R> + Sync,
    M: Fn(usize) -> S + Sync,
{
    let workers = workers.max(1);
    let parts: Vec<Option<Part<S>>> = std::thread::scope(|s| {
        let (open, make) = (&open, &make);
        let handles: Vec<_> = (1..workers)
            .map(|i| {
                std::thread::Builder::new()
                    .name(format!("wsdissect-shard{i}"))
                    // As deep as the main thread's, which decodes in one thread.
                    .stack_size(8 << 20)
                    .spawn_scoped(s, move || {
                        open(i).map(|input| worker(input, cfg, i, workers, make(i)))
                    })
            })
            .collect();
        let first = open(0).map(|input| worker(input, cfg, 0, workers, make(0)));
        std::iter::once(first)
            .chain(handles.into_iter().map(|h| match h {
                Ok(h) => h.join().ok().flatten(),
                Err(_) => None,
            }))
            .collect()
    });
    let Some(parts) = parts.into_iter().collect::<Option<Vec<Part<S>>>>() else {
        return Ok(None);
    };
    let mut results = parts.iter().map(|p| &p.result);
    let first = match results.next() {
        Some(Ok(summary)) => summary.clone(),
        Some(Err(e)) => {
            // Not a capture: every pass says so alike, or one thread decides.
            return match parts.iter().all(|p| p.result.as_ref().err() == Some(e)) {
                true => Err(e.clone()),
                false => Ok(None),
            };
        }
        None => return Ok(None),
    };
    let rest: Vec<&CaptureSummary> = results.filter_map(|r| r.as_ref().ok()).collect();
    if rest.len() + 1 != parts.len() || first.stopped || rest.iter().any(|s| s.stopped) {
        return Ok(None);
    }
    // Interrupted (Ctrl-C): each pass stopped at its own packet; what was
    // read is decoded, as in one thread (which packet is a matter of timing
    // either way). Else every pass read the same.
    let mut first = first;
    first.interrupted |= rest.iter().any(|s| s.interrupted);
    let agree = first.interrupted
        || rest
            .iter()
            .all(|s| s.packets == first.packets && s.problem == first.problem);
    if !agree {
        return Ok(None);
    }
    let sum = |f: fn(&FlowStats) -> usize| parts.iter().map(|p| f(&p.stats)).sum::<usize>();
    let exact = sum(|s| s.peak_live) < cfg.max_connections
        && sum(|s| s.peak_ooo) <= cfg.max_ooo_total
        && !parts.iter().any(|p| p.stats.ooo_spent)
        && sum(|s| s.buried) <= MAX_TOMBSTONES;
    if !exact {
        return Ok(None);
    }
    let ids = global_ids(parts.iter().map(|p| p.stats.opened.as_slice()));
    Ok(Some(Sharded {
        sinks: parts.into_iter().map(|p| p.sink).collect(),
        summary: first,
        ids,
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
}
