//! Several captures decoded at once (`--threads N` with several files):
//! each capture into its own sink, on up to N threads, and the output in
//! argument order, byte for byte what one capture after another prints.
//!
//! The capture at the head of the order streams: its worker hands its
//! bytes, in chunks, to the main thread, the only one that writes standard
//! output. A capture behind it holds its output in a spill (memory up to
//! [`SPILL_MEMORY`], then an unlinked temporary file) until every capture
//! before it is written; then the spill is copied out and it streams too.
//! What a capture has to say on standard error is held with it and said
//! in the same place. When the output closes, or a capture ends early
//! (Ctrl-C), every run ends and no capture after it is written.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};

use wsdissect::render::Out;

/// Output one capture holds in memory before it goes to a temporary file.
pub const SPILL_MEMORY: usize = 4 << 20;

/// A capture's writer hands its bytes on in chunks of about this size.
const CHUNK: usize = 64 << 10;

/// Chunks of the streaming capture on their way to the main thread.
const CHUNKS_IN_FLIGHT: usize = 4;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a capture's run reports when it is done.
pub struct Finished<C> {
    /// Its lines for standard error, in order (each without its newline).
    pub notes: Vec<String>,
    /// It could not be read (the exit status is 2).
    pub failed: bool,
    /// The run ended early (the output closed, Ctrl-C): nothing after it
    /// is decoded or written.
    pub last: bool,
    /// The state the command's output carries into the next capture's.
    pub carry: C,
}

enum Msg<C> {
    Chunk(Vec<u8>),
    Done(usize, Box<Finished<C>>),
}

/// A capture's output waiting for its turn.
struct Held<C> {
    /// The carry its run started from.
    guess: Option<C>,
    /// Streaming: chunks go to the main thread.
    direct: bool,
    mem: Vec<u8>,
    file: Option<File>,
    /// The spill could not be written: the output would be incomplete.
    error: Option<io::Error>,
}

impl<C> Held<C> {
    fn keep(&mut self, b: &[u8]) -> io::Result<()> {
        if self.file.is_none() && self.mem.len() + b.len() <= SPILL_MEMORY {
            self.mem.extend_from_slice(b);
            return Ok(());
        }
        let r = match &mut self.file {
            Some(f) => f.write_all(b),
            None => temp_file().and_then(|mut f| {
                let r = f.write_all(b);
                self.file = Some(f);
                r
            }),
        };
        if let Err(e) = r {
            let again = io::Error::new(e.kind(), e.to_string());
            self.error.get_or_insert(e);
            return Err(again);
        }
        Ok(())
    }
}

/// An anonymous temporary file: created, then unlinked at once.
fn temp_file() -> io::Result<File> {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    let mut last = None;
    for _ in 0..16 {
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".wsdissect-spill-{}-{n}", std::process::id()));
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => {
                std::fs::remove_file(&path)?;
                return Ok(f);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no temporary file")))
}

struct Slot<C> {
    held: Mutex<Held<C>>,
    /// Ends this capture's run: its reader reads an end, its writer fails.
    stop: Arc<AtomicBool>,
}

impl<C> Slot<C> {
    fn new(direct: bool) -> Self {
        Slot {
            held: Mutex::new(Held {
                guess: None,
                direct,
                mem: Vec::new(),
                file: None,
                error: None,
            }),
            stop: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// The writer of one capture's output.
pub struct CaptureOut<'a, C> {
    slot: &'a Slot<C>,
    tx: mpsc::SyncSender<Msg<C>>,
    buf: Vec<u8>,
}

impl<C> CaptureOut<'_, C> {
    fn closed() -> io::Error {
        io::Error::new(io::ErrorKind::BrokenPipe, "output closed")
    }

    fn hand_on(&mut self) -> io::Result<()> {
        if self.slot.stop.load(Ordering::Relaxed) {
            self.buf.clear();
            return Err(Self::closed());
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut held = lock(&self.slot.held);
        if held.direct {
            drop(held);
            let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
            self.tx.send(Msg::Chunk(chunk)).map_err(|_| Self::closed())
        } else {
            let r = held.keep(&self.buf);
            self.buf.clear();
            r
        }
    }
}

impl<C> Write for CaptureOut<'_, C> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.write_all(b).map(|()| b.len())
    }
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.hand_on()?;
        }
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.hand_on()
    }
}

/// A reader that reads an end once its capture's run is to stop.
struct Stoppable {
    r: Box<dyn Read + Send>,
    stop: Arc<AtomicBool>,
}

impl Read for Stoppable {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Ok(0);
        }
        self.r.read(buf)
    }
}

/// One capture's run, as the command's job sees it.
pub struct Job<'a, C> {
    /// The state the output of the captures before carries into this one's.
    pub carry: C,
    /// The writer of this capture's output (flushed at the end: its last
    /// bytes are handed on then).
    pub out: CaptureOut<'a, C>,
    pub run: Run<'a>,
}

/// Which capture, and how to read it.
pub struct Run<'a> {
    /// Its place among the captures.
    pub index: usize,
    pub path: &'a str,
    /// Threads for this capture's own decoding.
    pub threads: usize,
    /// Show a progress line (it is the one streaming when it starts).
    pub progress: bool,
    pub stop: Stop,
}

/// Ends a capture's run: its reader reads an end, its writer fails.
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// `r`, read until this run is told to stop.
    pub fn reader(&self, r: Box<dyn Read + Send>) -> Box<dyn Read + Send> {
        Box::new(Stoppable {
            r,
            stop: self.0.clone(),
        })
    }
}

/// Copies a held output to `out` and makes its capture stream.
fn release<W: Write, C>(held: &mut Held<C>, out: &mut Out<W>) -> io::Result<()> {
    held.direct = true;
    out.write_all(&std::mem::take(&mut held.mem));
    if let Some(mut f) = held.file.take() {
        f.rewind()?;
        let mut buf = vec![0; CHUNK];
        loop {
            let n = match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            out.write_all(&buf[..n]);
            if !out.ok() {
                break;
            }
        }
    }
    match held.error.take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Runs `job` over every capture, up to `threads` at once, writing their
/// output to `out` in order and their notes to standard error. Returns
/// whether every capture could be read, and the carry the last capture
/// written left.
///
/// `job` must end by flushing its writer (its last bytes are handed on
/// then) and returns the state its output carries into the next
/// capture's (a table's extra column, say); a capture that started from
/// a guess other than what the captures before it left is decoded again,
/// streaming, from the right one.
pub fn run<W, C, J>(captures: &[String], threads: usize, out: &mut Out<W>, job: J) -> (bool, C)
where
    W: Write,
    C: Clone + PartialEq + Default + Send + Sync,
    J: Fn(Job<'_, C>) -> Finished<C> + Sync,
{
    let k = captures.len();
    let at_once = threads.clamp(1, k.max(1));
    // Threads left for each capture's own decoding.
    let per_capture = (threads / at_once).max(1);
    let slots: Vec<Slot<C>> = (0..k).map(|i| Slot::new(i == 0)).collect();
    let next = AtomicUsize::new(0);
    let head = AtomicUsize::new(0);
    let cancel = AtomicBool::new(false);
    // The carry the captures written so far leave: a starting worker's guess.
    let known: Mutex<C> = Mutex::new(C::default());
    let (tx, rx) = mpsc::sync_channel::<Msg<C>>(CHUNKS_IN_FLIGHT);
    let mut ok = true;
    let mut workers = 0;
    let mut carry = C::default();
    std::thread::scope(|s| {
        for _ in 0..at_once {
            let tx = tx.clone();
            let (slots, next, head, cancel, known, job) =
                (&slots, &next, &head, &cancel, &known, &job);
            let spawned = std::thread::Builder::new()
                .name("wsdissect-capture".into())
                .spawn_scoped(s, move || {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= k || cancel.load(Ordering::SeqCst) {
                            break;
                        }
                        let slot = &slots[i];
                        let guess = {
                            let mut held = lock(&slot.held);
                            let g = lock(known).clone();
                            held.guess = Some(g.clone());
                            g
                        };
                        let j = Job {
                            run: Run {
                                index: i,
                                path: &captures[i],
                                threads: per_capture,
                                progress: head.load(Ordering::SeqCst) == i,
                                stop: Stop(slot.stop.clone()),
                            },
                            carry: guess,
                            out: CaptureOut {
                                slot,
                                tx: tx.clone(),
                                buf: Vec::with_capacity(CHUNK),
                            },
                        };
                        let f = job(j);
                        if tx.send(Msg::Done(i, Box::new(f))).is_err() {
                            break;
                        }
                    }
                });
            if spawned.is_ok() {
                workers += 1;
            }
        }
        drop(tx);
        if workers == 0 {
            eprintln!("wsdissect: cannot start a thread");
            ok = false;
            return;
        }
        let stop_all = || {
            cancel.store(true, Ordering::SeqCst);
            for s in &slots {
                s.stop.store(true, Ordering::SeqCst);
            }
        };
        let mut done: BTreeMap<usize, Box<Finished<C>>> = BTreeMap::new();
        let mut redo = false;
        let mut h = 0;
        while h < k {
            let mut f = match done.remove(&h) {
                Some(d) => d,
                None => match rx.recv() {
                    Ok(Msg::Chunk(c)) => {
                        out.write_all(&c);
                        if !out.ok() {
                            stop_all();
                        }
                        continue;
                    }
                    Ok(Msg::Done(i, f)) => {
                        done.insert(i, f);
                        continue;
                    }
                    // Every worker ended (they end only when told to).
                    Err(_) => break,
                },
            };
            if redo {
                // Its output began from the wrong state and was dropped:
                // decoded again, streaming (rare: a table's column that
                // appeared in an earlier capture).
                match again(h, &captures[h], per_capture, &carry, out, &job) {
                    Some(a) => *f = a,
                    None => {
                        stop_all();
                        break;
                    }
                }
            }
            for n in &f.notes {
                eprintln!("{n}");
            }
            if f.failed {
                ok = false;
            }
            carry = f.carry.clone();
            if f.last || !out.ok() {
                break;
            }
            *lock(&known) = carry.clone();
            h += 1;
            head.store(h, Ordering::SeqCst);
            if h == k {
                break;
            }
            let slot = &slots[h];
            let mut held = lock(&slot.held);
            redo = held.guess.as_ref().is_some_and(|g| *g != carry);
            if redo {
                // Its run ends soon; its result is replaced.
                slot.stop.store(true, Ordering::SeqCst);
                held.mem = Vec::new();
                held.file = None;
                continue;
            }
            if let Err(e) = release(&mut held, out) {
                if out.error.is_none() {
                    out.error = Some(e);
                }
                break;
            }
            if !out.ok() {
                break;
            }
        }
        stop_all();
        // The workers end (their readers read an end); what they still
        // send is dropped with the receiver.
        drop(rx);
    });
    (ok, carry)
}

/// One capture decoded again, streaming, from `carry`.
fn again<W, C, J>(
    index: usize,
    path: &str,
    threads: usize,
    carry: &C,
    out: &mut Out<W>,
    job: &J,
) -> Option<Finished<C>>
where
    W: Write,
    C: Clone + PartialEq + Default + Send + Sync,
    J: Fn(Job<'_, C>) -> Finished<C> + Sync,
{
    let slot = Slot::new(true);
    let (tx, rx) = mpsc::sync_channel::<Msg<C>>(CHUNKS_IN_FLIGHT);
    std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let j = Job {
                run: Run {
                    index,
                    path,
                    threads,
                    progress: true,
                    stop: Stop(slot.stop.clone()),
                },
                carry: carry.clone(),
                out: CaptureOut {
                    slot: &slot,
                    tx,
                    buf: Vec::with_capacity(CHUNK),
                },
            };
            job(j)
        });
        for m in rx {
            if let Msg::Chunk(c) = m {
                out.write_all(&c);
                if !out.ok() {
                    slot.stop.store(true, Ordering::SeqCst);
                }
            }
        }
        worker.join().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Output past the memory bound goes to the temporary file and comes
    /// back whole and in order.
    #[test]
    fn a_spill_past_its_memory_comes_back_in_order() {
        let mut held: Held<()> = Slot::new(false)
            .held
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        let mut want = Vec::new();
        let mut n = 0u32;
        while want.len() < 2 * SPILL_MEMORY + 12345 {
            let piece: Vec<u8> = (0..CHUNK + n as usize % 777)
                .map(|k| (k as u32 ^ n) as u8)
                .collect();
            held.keep(&piece).expect("kept");
            want.extend_from_slice(&piece);
            n += 1;
        }
        assert!(held.file.is_some(), "nothing went to the file");
        assert!(held.mem.len() <= SPILL_MEMORY);
        let mut out = Out::new(Vec::new());
        release(&mut held, &mut out).expect("released");
        assert!(held.direct && held.file.is_none() && held.mem.is_empty());
        assert!(
            out.w == want,
            "{} bytes back of {}",
            out.w.len(),
            want.len()
        );
    }
}
