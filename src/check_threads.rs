//! `check` with `--threads` 2 or more (a module of the binary): one regular
//! capture file decoded by several threads at once, each owning a share of
//! its connections (`wsdissect::shard`); several captures decoded at once,
//! one per thread, merged in argument order. The sink ends up as one
//! thread's would, and standard error gets the same lines in the same
//! order (the messages below are `run_all_noting`'s). Anything else (one
//! thread, standard input, a pipe, a live interface, a `--filter` on
//! `conn`, a shared limit reached) is `run_all`'s, as before.

use std::io::{self, IsTerminal, Read};
use std::ops::ControlFlow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use wsdissect::Config;
use wsdissect::capture::CaptureSummary;
use wsdissect::event::{Event, Sink};
use wsdissect::filter::Filter;
use wsdissect::findings::Code;
use wsdissect::render::check::CheckSink;
use wsdissect::render::filtered::{Filtered, records};

use super::{Common, escape_name, open, open_source};

/// A capture's sink in a thread of its own: the findings, and the
/// capture-level problems worth a line on stderr (as `WatchWs` notes them).
struct Noting {
    inner: Filtered<CheckSink>,
    problems: Vec<String>,
}

impl Noting {
    fn new(sink: &Filtered<CheckSink>, filter: Option<&Filter>, name: &str) -> Self {
        let mut inner = Filtered::new(
            CheckSink::new(sink.inner.allow.clone()),
            filter.cloned(),
            records::FINDINGS,
        );
        inner.inner.begin_capture(name);
        inner.set_capture(Some(name.to_string()));
        Noting {
            inner,
            problems: Vec::new(),
        }
    }
}

impl Sink for Noting {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        if let Event::Finding(f) = ev
            && f.code == Code::CaptureUnsupportedLink
            && self.problems.len() < 4
        {
            self.problems.push(f.message.clone());
        }
        self.inner.event(ev)
    }
    fn withheld(&mut self, ev: Event<'_>) {
        self.inner.withheld(ev);
    }
}

/// One capture decoded: its findings and its lines for stderr.
struct Unit {
    sink: CheckSink,
    lines: Vec<String>,
    /// The capture could be read.
    read: bool,
    /// Reading stopped (Ctrl-C, or the sink): no capture after it is read.
    last: bool,
}

/// The lines `run_all_noting` prints after a capture was read (`check`
/// does not say "no WebSocket connection").
fn lines_after(path: &str, problems: &[String], summary: &CaptureSummary) -> Vec<String> {
    if summary.stopped {
        // The output is closed (or failed): nothing more is said.
        return Vec::new();
    }
    crate::capture_lines(path, problems, summary, false)
}

/// Whether `path` can be read again when a sharded run is refused: a
/// regular file (not standard input, a pipe or a device; gzip is fine,
/// worker 0 alone inflates it).
fn shardable(path: &str) -> bool {
    path != "-" && std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// Whether `path` starts as gzip does (as `gunzip_if_gzip` tells it).
fn gzip(path: &str) -> bool {
    let mut magic = [0u8; 2];
    std::fs::File::open(path).is_ok_and(|mut f| f.read_exact(&mut magic).is_ok())
        && magic == super::GZIP_MAGIC
}

/// Runs `check`'s captures with `common.threads()` threads into `sink`,
/// when that is this module's case; `None` when it is not (nothing was
/// printed nor added to `sink`). `Some(all_read)` otherwise.
pub(crate) fn run(
    common: &Common,
    cfg: &Config,
    filter: Option<&Filter>,
    sink: &mut Filtered<CheckSink>,
) -> Option<bool> {
    let threads = common.threads();
    let sources = common.sources();
    if threads < 2 || common.interface.is_some() {
        return None;
    }
    match sources.as_slice() {
        [] => None,
        // Standard input twice: the second reads what the first left.
        s if s.iter().filter(|p| *p == "-").count() > 1 => None,
        [path] => sharded(common, cfg, filter, sink, path, threads),
        _ => Some(several(common, cfg, filter, sink, &sources, threads)),
    }
}

/// One capture file, its connections shared among `threads` workers.
fn sharded(
    common: &Common,
    cfg: &Config,
    filter: Option<&Filter>,
    sink: &mut Filtered<CheckSink>,
    path: &str,
    threads: usize,
) -> Option<bool> {
    // A filter on connection numbers would see each worker's own.
    if filter.is_some_and(|f| f.fields().contains(&"conn")) || !shardable(path) {
        return None;
    }
    // More workers than cores only adds hand-offs between them.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = threads.min(cores.max(2));
    let progress = wsdissect::progress::should_show(
        common.quiet,
        io::stderr().is_terminal(),
        io::stdout().is_terminal(),
    );
    let input = open(path, progress).ok()?;
    // Inflating gzip costs worker 0 as much as decoding its share would.
    let only_reads = gzip(path);
    let got = wsdissect::shard::run(workers, input, only_reads, cfg, |_| {
        Noting::new(sink, filter, path)
    });
    let sharded = got.ok().flatten()?;
    let lines = lines_after(path, &sharded.sinks[0].problems, &sharded.summary);
    let mut merged = CheckSink::new(sink.inner.allow.clone());
    merged.begin_capture(path);
    let parts = sharded.sinks.into_iter().map(|n| n.inner.inner).collect();
    if !merged.merge_shards(parts, &sharded.ids) {
        return None;
    }
    for l in lines {
        eprintln!("{l}");
    }
    if !sharded.exact {
        eprintln!(
            "wsdissect: {}: warning: decoded in {workers} threads past a limit shared by all connections (--max-connections or the out-of-order budget); after Ctrl-C it could not be decoded again in one thread, whose findings may differ",
            escape_name(path)
        );
    }
    sink.inner.append(merged);
    Some(true)
}

/// One capture in this thread, as `run_all_noting` does it.
fn unit(
    common: &Common,
    cfg: &Config,
    filter: Option<&Filter>,
    like: &Filtered<CheckSink>,
    path: &str,
) -> Unit {
    let mut noting = Noting::new(like, filter, path);
    let reason = match open_source(common, path, false) {
        Ok(r) => match wsdissect::parallel::run(r, cfg, 1, &mut noting) {
            Ok(summary) => {
                return Unit {
                    lines: lines_after(path, &noting.problems, &summary),
                    read: true,
                    last: summary.stopped || summary.interrupted,
                    sink: noting.inner.inner,
                };
            }
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    };
    noting.inner.inner.capture_error(reason.clone());
    Unit {
        sink: noting.inner.inner,
        lines: vec![format!("wsdissect: {}: {reason}", escape_name(path))],
        read: false,
        last: false,
    }
}

/// Several captures, up to `threads` at once, merged in argument order (no
/// progress line: several would overwrite each other).
fn several(
    common: &Common,
    cfg: &Config,
    filter: Option<&Filter>,
    sink: &mut Filtered<CheckSink>,
    sources: &[String],
    threads: usize,
) -> bool {
    let next = AtomicUsize::new(0);
    let done: Vec<Mutex<Option<Unit>>> = sources.iter().map(|_| Mutex::new(None)).collect();
    let like = &*sink;
    std::thread::scope(|s| {
        let work = || {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = sources.get(i) else {
                    break;
                };
                let u = unit(common, cfg, filter, like, path);
                let stop = u.last;
                if let Some(slot) = done.get(i) {
                    *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(u);
                }
                if stop {
                    // Ctrl-C (or a sink that stopped): no capture after this one is read.
                    next.fetch_add(sources.len(), Ordering::Relaxed);
                }
            }
        };
        for _ in 1..threads.min(sources.len()) {
            // As deep as the main thread's stack, which decodes in one thread;
            // a thread that cannot start leaves its captures to the others.
            let _ = std::thread::Builder::new()
                .name("wsdissect-capture".into())
                .stack_size(8 << 20)
                .spawn_scoped(s, work);
        }
        work();
    });
    let mut ok = true;
    for slot in done {
        let Some(u) = slot.into_inner().unwrap_or_else(|e| e.into_inner()) else {
            break;
        };
        for l in &u.lines {
            eprintln!("{l}");
        }
        ok &= u.read;
        sink.inner.append(u.sink);
        if u.last {
            break;
        }
    }
    ok
}
