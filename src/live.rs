//! Live capture: a network interface read through libpcap (the `pcap`
//! crate), handed on as a pcap byte stream — a file header with the
//! interface's link type, then one record per packet — so the rest of the
//! pipeline reads it as it reads `tcpdump -U -w -` from a pipe. Wrapped in
//! [`crate::capture::LiveReader`], each packet is parsed as soon as it is
//! captured, and a `STOP` (Ctrl-C) ends the input with the end-of-capture
//! summary.
//!
//! Built only with the `live` cargo feature (on by default).

use std::io::{self, Read};
use std::sync::{Arc, Mutex};

use pcap::{Active, Capture, Device};

use crate::capture::{LiveReader, STOP};

/// Bytes of each packet kept (tcpdump's default): a loopback segment can
/// be 64 KiB, and a cut one would leave a gap in its stream.
const SNAPLEN: i32 = 262_144;
/// The kernel's capture buffer when not asked for another size: libpcap's
/// default (2 MB) fills in a burst of 30 loopback segments of 64 KiB while
/// a slow consumer (JSON of thousands of frames per packet) holds it, and
/// what does not fit is dropped.
const DEFAULT_BUFFER: usize = 16 << 20;
/// How long one wait for a packet lasts before the reader looks at `STOP`.
const POLL_MS: i32 = 100;
/// Interfaces a "no interface named" message lists at most.
const MAX_LISTED: usize = 12;
/// The classic pcap magic for microsecond time stamps, written little-endian.
const PCAP_MAGIC: u32 = 0xa1b2_c3d4;

/// What a live capture is asked to do.
#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    /// The interface, as libpcap names it (`lo`, `eth0`, `any`).
    pub interface: String,
    /// A BPF capture filter (`tcp port 8080`), applied in the kernel.
    pub filter: Option<String>,
    /// Stop after this many packets (those that pass the filter).
    pub count: Option<u64>,
    /// The kernel's capture buffer, in bytes (default 16 MiB).
    pub buffer_bytes: Option<usize>,
}

/// libpcap's counts for a live capture, as of the reader's last look
/// (after every 64 packets, every idle 100 ms, and at the end).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Packets the filter passed, dropped ones included.
    pub received: u64,
    /// Packets the kernel dropped because the capture buffer was full.
    pub dropped: u64,
    /// Packets the interface or its driver dropped.
    pub if_dropped: u64,
}

/// A live capture as a pcap byte stream (see the module's text), with
/// libpcap's counts.
pub struct LiveCapture {
    reader: LiveReader,
    stats: Arc<Mutex<LiveStats>>,
}

impl LiveCapture {
    pub fn stats(&self) -> LiveStats {
        self.stats.lock().map(|s| *s).unwrap_or_default()
    }
}

impl Read for LiveCapture {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

/// Why a live capture could not start. Its text quotes the filter as
/// given; callers escape it before printing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveError {
    /// No interface of that name.
    NoSuchInterface { name: String, known: Vec<String> },
    /// libpcap could not open the interface (privileges, mostly).
    Open { name: String, reason: String },
    /// The capture filter does not compile.
    BadFilter { filter: String, reason: String },
}

/// The text leaves out the interface's name: the caller prefixes it.
impl std::fmt::Display for LiveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LiveError::NoSuchInterface { known, .. } if known.is_empty() => {
                f.write_str("no such interface")
            }
            LiveError::NoSuchInterface { known, .. } => {
                write!(f, "no such interface (there are: {})", known.join(", "))
            }
            LiveError::Open { reason, .. } => write!(f, "cannot capture: {reason}"),
            LiveError::BadFilter { filter, reason } => {
                write!(f, "bad capture filter '{filter}': {reason}")
            }
        }
    }
}

impl std::error::Error for LiveError {}

/// The text of a libpcap error, without the crate's "libpcap error: " prefix.
fn pcap_reason(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Opens `opts.interface` (immediate mode: each packet is handed over as
/// it arrives, not in blocks), sets the filter, and returns the packets as
/// a pcap byte stream that ends after `opts.count` packets or at `STOP`.
pub fn open(opts: &LiveOptions) -> Result<LiveCapture, LiveError> {
    let cap = activate(opts)?;
    let stats = Arc::new(Mutex::new(LiveStats::default()));
    let stream = PcapStream::new(cap, opts.count, stats.clone());
    Ok(LiveCapture {
        reader: LiveReader::new(stream),
        stats,
    })
}

fn activate(opts: &LiveOptions) -> Result<Capture<Active>, LiveError> {
    let name = opts.interface.as_str();
    let buffer = opts
        .buffer_bytes
        .unwrap_or(DEFAULT_BUFFER)
        .clamp(SNAPLEN as usize, i32::MAX as usize) as i32;
    let opened = Capture::from_device(name).and_then(|c| {
        c.snaplen(SNAPLEN)
            .immediate_mode(true)
            .buffer_size(buffer)
            .timeout(POLL_MS)
            .open()
    });
    let mut cap = match opened {
        Ok(cap) => cap,
        Err(e) => {
            // A mistyped name gets the list of interfaces rather than
            // libpcap's "No such device exists (SIOCGIFHWADDR: ...)". Asked
            // only after the open failed: an interface the list leaves out
            // may still open.
            if let Ok(devices) = Device::list()
                && !devices.iter().any(|d| d.name == name)
            {
                let mut known: Vec<String> = devices.into_iter().map(|d| d.name).collect();
                known.truncate(MAX_LISTED);
                return Err(LiveError::NoSuchInterface {
                    name: name.to_string(),
                    known,
                });
            }
            return Err(LiveError::Open {
                name: name.to_string(),
                reason: pcap_reason(&e),
            });
        }
    };
    if let Some(filter) = &opts.filter {
        cap.filter(filter, true).map_err(|e| LiveError::BadFilter {
            filter: filter.clone(),
            reason: pcap_reason(&e),
        })?;
    }
    Ok(cap)
}

/// The pcap file header for packets of link type `link`.
fn file_header(link: i32) -> [u8; 24] {
    let mut h = [0u8; 24];
    h[0..4].copy_from_slice(&PCAP_MAGIC.to_le_bytes());
    h[4..6].copy_from_slice(&2u16.to_le_bytes());
    h[6..8].copy_from_slice(&4u16.to_le_bytes());
    // 8..16: time zone and accuracy, zero.
    h[16..20].copy_from_slice(&(SNAPLEN as u32).to_le_bytes());
    h[20..24].copy_from_slice(&(link as u32).to_le_bytes());
    h
}

/// Appends one pcap record (16-byte header, then the bytes captured).
fn push_record(out: &mut Vec<u8>, secs: i64, usecs: i64, data: &[u8], orig_len: u32) {
    // pcap's fields are 32-bit: seconds past 2106 wrap, as tcpdump's do.
    out.extend_from_slice(&(secs as u32).to_le_bytes());
    out.extend_from_slice(&(usecs.clamp(0, 999_999) as u32).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&orig_len.to_le_bytes());
    out.extend_from_slice(data);
}

/// A live capture as a pcap byte stream: each `read` hands over (the rest
/// of) one record, so nothing waits for a buffer to fill.
struct PcapStream {
    cap: Capture<Active>,
    pending: Vec<u8>,
    pos: usize,
    left: Option<u64>,
    stats: Arc<Mutex<LiveStats>>,
    /// Packets since the counts were last read.
    since_look: u32,
}

impl PcapStream {
    fn new(cap: Capture<Active>, count: Option<u64>, stats: Arc<Mutex<LiveStats>>) -> Self {
        let header = file_header(cap.get_datalink().0);
        PcapStream {
            cap,
            pending: header.to_vec(),
            pos: 0,
            left: count,
            stats,
            since_look: 0,
        }
    }

    /// Reads libpcap's counts into `stats`.
    fn look(&mut self) {
        self.since_look = 0;
        if let Ok(s) = self.cap.stats()
            && let Ok(mut st) = self.stats.lock()
        {
            *st = LiveStats {
                received: u64::from(s.received),
                dropped: u64::from(s.dropped),
                if_dropped: u64::from(s.if_dropped),
            };
        }
    }

    /// Waits for the next packet into `pending`; false at the end (the
    /// count reached, `STOP`, or a read error, returned as such).
    // `i64::from`: time_t and suseconds_t are i64 here, 32-bit elsewhere.
    #[allow(clippy::useless_conversion)]
    fn next(&mut self) -> io::Result<bool> {
        if self.left == Some(0) {
            self.look();
            return Ok(false);
        }
        loop {
            if STOP.load(std::sync::atomic::Ordering::Relaxed) {
                self.look();
                return Ok(false);
            }
            match self.cap.next_packet() {
                Ok(p) => {
                    self.pending.clear();
                    self.pos = 0;
                    let ts = p.header.ts;
                    push_record(
                        &mut self.pending,
                        i64::from(ts.tv_sec),
                        i64::from(ts.tv_usec),
                        p.data,
                        p.header.len,
                    );
                    if let Some(n) = &mut self.left {
                        *n -= 1;
                    }
                    self.since_look += 1;
                    if self.since_look >= 64 {
                        self.look();
                    }
                    return Ok(true);
                }
                Err(pcap::Error::TimeoutExpired) => self.look(),
                Err(e) => return Err(io::Error::other(pcap_reason(&e))),
            }
        }
    }
}

impl Read for PcapStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.pending.len() && !self.next()? {
            return Ok(0);
        }
        let n = buf.len().min(self.pending.len() - self.pos);
        buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_a_pcap_file_the_capture_stage_reads_back() {
        let mut bytes = file_header(1).to_vec();
        push_record(&mut bytes, 1_700_000_000, 123_456, b"abcdef", 60);
        push_record(&mut bytes, 1_700_000_001, 7, b"xy", 2);
        let mut seen = Vec::new();
        let summary = crate::capture::read_capture(&bytes[..], |r| {
            seen.push((r.number, r.ts, r.link, r.data.to_vec(), r.orig_len));
        })
        .unwrap();
        assert!(summary.problem.is_none(), "{:?}", summary.problem);
        let ts = |secs, nanos| crate::capture::Timestamp { secs, nanos };
        assert_eq!(
            seen,
            vec![
                (1, ts(1_700_000_000, 123_456_000), 1, b"abcdef".to_vec(), 60),
                (2, ts(1_700_000_001, 7_000), 1, b"xy".to_vec(), 2),
            ]
        );
    }

    #[test]
    fn a_missing_interface_is_named_with_the_ones_there_are() {
        let e = LiveError::NoSuchInterface {
            name: "eht0".into(),
            known: vec!["lo".into(), "eth0".into()],
        };
        assert_eq!(e.to_string(), "no such interface (there are: lo, eth0)");
    }
}
