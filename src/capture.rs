//! Capture stage: pcap and pcapng records, streamed through pcap-parser's
//! bounded circular buffer. A record borrowed from the buffer dies at the
//! next read, so this stage hands each one to a callback and keeps nothing.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader, nom};

use crate::packet::linktype;
pub use crate::packet::linktype::LinkType;

/// Initial size of the reader's buffer; it grows (to `MAX_RECORD`) only for
/// a record larger than this.
const READ_BUFFER: usize = 1 << 20;
/// The largest record we accept; beyond it the file is taken as corrupt.
const MAX_RECORD: usize = 64 << 20;

/// Set (by the binary's SIGINT handler) to end the capture being read where
/// it is, as if the file ended there: the records already read are decoded,
/// no more are read, and the connections are finished through the same
/// end-of-capture path.
pub static STOP: AtomicBool = AtomicBool::new(false);

fn stopped() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// Bytes one read from a pipe hands over at most.
const PIPE_CHUNK: usize = 64 << 10;

/// A reader for pipes, FIFOs and terminals: a thread does the blocking
/// reads and hands over each chunk as it arrives, so a live capture is
/// parsed as soon as its bytes are there, and a `STOP` ends the input
/// (end of file) even while the other end is silent.
pub struct LiveReader {
    rx: mpsc::Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
}

impl LiveReader {
    pub fn new<R: Read + Send + 'static>(mut inner: R) -> Self {
        let (tx, rx) = mpsc::sync_channel(16);
        std::thread::spawn(move || {
            loop {
                let mut buf = vec![0u8; PIPE_CHUNK];
                match inner.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        buf.truncate(n);
                        if tx.send(Ok(buf)).is_err() {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
        });
        LiveReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
            done: false,
        }
    }
}

impl Read for LiveReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.chunk.len() {
            if self.done || stopped() {
                return Ok(0);
            }
            match self.rx.recv_timeout(Duration::from_millis(50)) {
                Ok(Ok(c)) => {
                    self.chunk = c;
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => self.done = true,
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads the start of the input until it holds the whole file header (a
/// pipe may deliver it in pieces, and the format is told from the first
/// read): 24 bytes, or a pcapng section header block's whole length.
fn read_prefix<R: Read>(input: &mut R) -> io::Result<Vec<u8>> {
    const PCAPNG_SHB: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
    const MAX_PREFIX: usize = 64 << 10;
    let mut v = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let want = if v.len() >= 12 && v[..4] == PCAPNG_SHB {
            // Block length at 4..8, in the byte order of the magic at 8..12.
            let len = [v[4], v[5], v[6], v[7]];
            let n = if v[8..12] == [0x4d, 0x3c, 0x2b, 0x1a] {
                u32::from_be_bytes(len)
            } else {
                u32::from_le_bytes(len)
            };
            (n as usize).clamp(24, MAX_PREFIX)
        } else {
            24
        };
        if v.len() >= want {
            return Ok(v);
        }
        let n = match input.read(&mut buf[..(want - v.len()).min(4096)]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(v);
        }
        v.extend_from_slice(&buf[..n]);
    }
}

/// A time in the capture, in seconds and nanoseconds since the epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    /// Seconds since the epoch, to the microsecond: the double nearest
    /// `secs + micros / 10^6`, so that it prints as that decimal until
    /// 2^33 s (the year 2242; past it a double cannot tell microseconds
    /// apart). Adding two rounded doubles, as before, gave
    /// `1.0036909999999999` for 1.003691 s near 1970. Whole microseconds
    /// up to 2^53 are exact as a double and the one division rounds once.
    pub fn as_f64(self) -> f64 {
        // |secs| * 10^6 + 999,999 < 2^53: exact as an integer and a double.
        const EXACT: u64 = (1 << 53) / 1_000_000 - 1;
        let micros = i64::from(self.nanos / 1000);
        if self.secs.unsigned_abs() <= EXACT {
            (self.secs * 1_000_000 + micros) as f64 / 1e6
        } else {
            self.secs as f64 + micros as f64 / 1e6
        }
    }
    /// Seconds from `earlier` to `self` (negative if earlier is later).
    pub fn since(self, earlier: Timestamp) -> f64 {
        (self.secs - earlier.secs) as f64 + (f64::from(self.nanos) - f64::from(earlier.nanos)) / 1e9
    }
}

/// One packet record.
#[derive(Debug)]
pub struct Record<'a> {
    /// 1-based number of the packet in the capture.
    pub number: u64,
    pub ts: Timestamp,
    pub link: LinkType,
    pub data: &'a [u8],
    /// The length of the packet on the wire (greater than `data.len()` when
    /// the capture cut it at its snapshot length).
    pub orig_len: u32,
}

/// A problem with the capture file itself, found after it was recognised.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureProblem {
    /// The packet number after which it happened.
    pub after_packet: u64,
    pub message: String,
}

/// What one pass over a capture saw.
#[derive(Debug, Clone, Default)]
pub struct CaptureSummary {
    pub packets: u64,
    pub bytes_read: u64,
    /// Set when the file ended early or a block was corrupt.
    pub problem: Option<CaptureProblem>,
    /// Reading stopped at a `STOP` (SIGINT) rather than at the end.
    pub interrupted: bool,
    /// Reading stopped because the consumer asked (its output closed, or it
    /// had what it wanted).
    pub stopped: bool,
}

/// A capture that cannot be read at all.
#[derive(Debug, Clone, PartialEq)]
pub struct NotACapture(pub String);

impl std::fmt::Display for NotACapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotACapture {}

#[derive(Debug, Clone, Copy)]
struct Interface {
    link: LinkType,
    /// Timestamp units per second.
    resolution: u64,
    offset: i64,
}

/// Reads every record of a pcap or pcapng stream and hands it to `on_record`.
///
/// Returns an error only when the input is not a capture at all; a file cut
/// short or corrupt midway is reported in the summary after every record
/// before the damage was delivered.
pub fn read_capture<R, F>(input: R, mut on_record: F) -> Result<CaptureSummary, NotACapture>
where
    R: Read + Send,
    F: FnMut(&Record<'_>),
{
    read_capture_until(input, |r| {
        on_record(r);
        std::ops::ControlFlow::Continue(())
    })
}

/// [`read_capture`], until `on_record` answers `Break`: then no more of the
/// input is read ([`CaptureSummary::stopped`]).
pub fn read_capture_until<R, F>(input: R, on_record: F) -> Result<CaptureSummary, NotACapture>
where
    R: Read + Send,
    F: FnMut(&Record<'_>) -> std::ops::ControlFlow<()>,
{
    read_capture_with_secrets(input, |_| {}, on_record)
}

/// The pcapng Decryption Secrets Block type of a TLS key log ("TLSK").
pub const SECRETS_TLS_KEY_LOG: u32 = 0x544c_534b;

/// [`read_capture_until`], and the text of every pcapng Decryption Secrets
/// Block of type TLS key log goes to `on_secrets` where it stands in the
/// file (between the packets before and after it).
pub fn read_capture_with_secrets<R, F, S>(
    mut input: R,
    mut on_secrets: S,
    on_record: F,
) -> Result<CaptureSummary, NotACapture>
where
    R: Read + Send,
    F: FnMut(&Record<'_>) -> std::ops::ControlFlow<()>,
    S: FnMut(&[u8]),
{
    let prefix = match read_prefix(&mut input) {
        Ok(p) => p,
        Err(e) => return Err(NotACapture(format!("cannot read: {e}"))),
    };
    // The format is told from the prefix as pcap-parser's `create_reader`
    // tells it, but the reader is its concrete type, not a boxed one.
    if prefix.is_empty() {
        return Err(not_a_capture(PcapError::Eof));
    }
    let pcapng = pcap_parser::pcapng::parse_sectionheaderblock(&prefix).is_ok();
    if !pcapng {
        match pcap_parser::parse_pcap_header(&prefix) {
            Ok(_) => {}
            Err(nom::Err::Incomplete(_)) => return Err(not_a_capture(PcapError::Incomplete(0))),
            Err(_) => return Err(not_a_capture(PcapError::HeaderNotRecognized)),
        }
    }
    let input = io::Cursor::new(prefix).chain(input);
    if pcapng {
        match PcapNGReader::new(READ_BUFFER, input) {
            Ok(reader) => read_records(reader, &mut on_secrets, on_record),
            Err(e) => Err(not_a_capture(e)),
        }
    } else {
        match LegacyPcapReader::new(READ_BUFFER, input) {
            Ok(reader) => read_records(reader, &mut on_secrets, on_record),
            Err(e) => Err(not_a_capture(e)),
        }
    }
}

/// Why a file whose reader could not be made is not a capture.
fn not_a_capture(e: PcapError<&[u8]>) -> NotACapture {
    match e {
        PcapError::Eof => NotACapture("empty file".into()),
        PcapError::HeaderNotRecognized | PcapError::NomError(..) | PcapError::OwnedNomError(..) => {
            NotACapture("not a pcap or pcapng capture (unrecognised file header)".into())
        }
        PcapError::Incomplete(_) | PcapError::UnexpectedEof => {
            NotACapture("too short to be a pcap or pcapng capture".into())
        }
        e => NotACapture(format!("cannot read capture: {e:?}")),
    }
}

/// The records of a capture whose reader is made.
///
/// A record is consumed without moving the buffer: the reader moves the
/// bytes left (a record cut at the buffer's end) to the buffer's start only
/// when it refills it, so reading costs what the records cost, not a shift
/// of half the buffer every half a buffer.
fn read_records<P, F>(
    mut reader: P,
    on_secrets: &mut dyn FnMut(&[u8]),
    mut on_record: F,
) -> Result<CaptureSummary, NotACapture>
where
    P: PcapReaderIterator,
    F: FnMut(&Record<'_>) -> std::ops::ControlFlow<()>,
{
    let mut summary = CaptureSummary::default();
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut legacy: Option<Interface> = None;
    let mut capacity = READ_BUFFER;
    let mut last_ts = Timestamp::default();
    let mut saw_header = false;
    // The consumer asked to stop: no more records are read.
    let mut halt = false;
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                summary.bytes_read += offset as u64;
                match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        saw_header = true;
                        // One link type for the whole file: nothing in it can be read.
                        if !linktype::is_supported(h.network.0) {
                            return Err(NotACapture(format!(
                                "unsupported link type {} (wsdissect reads Ethernet, raw IP, \
                                 Linux cooked v1/v2 and BSD loopback captures)",
                                h.network.0
                            )));
                        }
                        legacy = Some(Interface {
                            link: h.network.0,
                            resolution: if h.is_nanosecond_precision() {
                                1_000_000_000
                            } else {
                                1_000_000
                            },
                            offset: 0,
                        });
                    }
                    PcapBlockOwned::Legacy(b) => {
                        if let Some(iface) = legacy {
                            summary.packets += 1;
                            let nanos = if iface.resolution == 1_000_000_000 {
                                b.ts_usec.min(999_999_999)
                            } else {
                                b.ts_usec.min(999_999).saturating_mul(1000)
                            };
                            last_ts = Timestamp {
                                secs: i64::from(b.ts_sec),
                                nanos,
                            };
                            halt |= on_record(&Record {
                                number: summary.packets,
                                ts: last_ts,
                                link: iface.link,
                                data: b.data,
                                orig_len: b.origlen,
                            })
                            .is_break();
                        }
                    }
                    PcapBlockOwned::NG(block) => {
                        saw_header = true;
                        match block {
                            Block::SectionHeader(_) => interfaces.clear(),
                            Block::InterfaceDescription(idb) => interfaces.push(Interface {
                                link: idb.linktype.0,
                                resolution: idb.ts_resolution().unwrap_or(1_000_000).max(1),
                                offset: idb.ts_offset(),
                            }),
                            Block::EnhancedPacket(epb) => {
                                summary.packets += 1;
                                match interfaces.get(epb.if_id as usize) {
                                    Some(iface) => {
                                        let raw =
                                            (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                                        last_ts =
                                            ts_from_units(raw, iface.resolution, iface.offset);
                                        let caplen = (epb.caplen as usize).min(epb.data.len());
                                        halt |= on_record(&Record {
                                            number: summary.packets,
                                            ts: last_ts,
                                            link: iface.link,
                                            data: &epb.data[..caplen],
                                            orig_len: epb.origlen,
                                        })
                                        .is_break();
                                    }
                                    None => {
                                        halt |= on_record(&Record {
                                            number: summary.packets,
                                            ts: last_ts,
                                            link: -1,
                                            data: &[],
                                            orig_len: 0,
                                        })
                                        .is_break()
                                    }
                                }
                            }
                            Block::SimplePacket(spb) => {
                                summary.packets += 1;
                                let link = interfaces.first().map_or(-1, |i| i.link);
                                halt |= on_record(&Record {
                                    number: summary.packets,
                                    ts: last_ts,
                                    link,
                                    data: spb.data,
                                    orig_len: spb.origlen,
                                })
                                .is_break();
                            }
                            Block::DecryptionSecrets(dsb)
                                if dsb.secrets_type.0 == SECRETS_TLS_KEY_LOG =>
                            {
                                on_secrets(dsb.data)
                            }
                            _ => {}
                        }
                    }
                }
                reader.consume_noshift(offset);
                if halt {
                    summary.stopped = true;
                    break;
                }
            }
            Err(PcapError::Eof) => {
                // A live input ended by STOP reads as the end of the file.
                summary.interrupted = stopped();
                break;
            }
            Err(PcapError::Incomplete(_)) => {
                // At a STOP, the records already read are decoded; no more
                // are read.
                if stopped() {
                    summary.interrupted = true;
                    break;
                }
                if reader.reader_exhausted() {
                    summary.problem = Some(problem(
                        summary.packets,
                        "the file ends in the middle of a record",
                    ));
                    break;
                }
                if reader.refill().is_err() {
                    summary.problem = Some(problem(summary.packets, "read error"));
                    break;
                }
            }
            Err(PcapError::BufferTooSmall) if stopped() => {
                summary.interrupted = true;
                break;
            }
            Err(PcapError::BufferTooSmall) => {
                capacity *= 2;
                if capacity > MAX_RECORD || !reader.grow(capacity) {
                    summary.problem = Some(problem(
                        summary.packets,
                        &format!(
                            "a record is larger than {} MiB; the rest of the file is unreadable",
                            MAX_RECORD >> 20
                        ),
                    ));
                    break;
                }
                if reader.refill().is_err() {
                    summary.problem = Some(problem(summary.packets, "read error"));
                    break;
                }
            }
            Err(PcapError::UnexpectedEof) if stopped() => {
                summary.interrupted = true;
                break;
            }
            Err(PcapError::UnexpectedEof) => {
                summary.problem = Some(problem(
                    summary.packets,
                    "the file ends in the middle of a record",
                ));
                break;
            }
            Err(e) => {
                let what = match e {
                    PcapError::ReadError => "read error".to_string(),
                    _ => "a corrupt block (inconsistent length or header)".to_string(),
                };
                summary.problem = Some(problem(summary.packets, &what));
                break;
            }
        }
    }
    if !saw_header {
        return Err(NotACapture("not a pcap or pcapng capture".into()));
    }
    Ok(summary)
}

fn problem(after_packet: u64, message: &str) -> CaptureProblem {
    CaptureProblem {
        after_packet,
        message: message.to_string(),
    }
}

/// Converts a pcapng timestamp in `resolution` units per second.
fn ts_from_units(raw: u64, resolution: u64, offset: i64) -> Timestamp {
    let secs = raw / resolution;
    let frac = raw % resolution;
    // frac < resolution, so frac * 1e9 / resolution < 1e9; u128 avoids overflow.
    let nanos = (u128::from(frac) * 1_000_000_000 / u128::from(resolution)) as u32;
    Timestamp {
        secs: (secs as i64).saturating_add(offset),
        nanos,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every packet time prints as its decimal microseconds, near 1970 (where
    /// adding two rounded doubles did not: 17% of the microseconds of the
    /// first second came out as `x.xxxxxx9999999999`) and today.
    #[test]
    fn packet_times_print_as_their_microseconds() {
        let mut wrong = Vec::new();
        for secs in [
            0i64,
            1,
            59,
            86_399,
            1_000_000_000,
            1_700_000_000,
            1 << 31,
            (1 << 32) - 1,
        ] {
            // Every microsecond of the first two seconds, a stride elsewhere.
            let step = if secs < 2 { 1 } else { 7 };
            for micros in (0..1_000_000u32).step_by(step) {
                let ts = Timestamp {
                    secs,
                    nanos: micros * 1000 + 999,
                };
                let want = match micros {
                    0 => secs.to_string(),
                    m => format!("{secs}.{m:06}").trim_end_matches('0').to_string(),
                };
                let got = ts.as_f64().to_string();
                if got != want && wrong.len() < 5 {
                    wrong.push((want, got));
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:?}");
        // Before 1970 and far ahead: still the nearest double.
        let t = Timestamp {
            secs: -1,
            nanos: 500_000_000,
        };
        assert_eq!(t.as_f64(), -0.5);
        let t = Timestamp {
            secs: i64::MAX / 2,
            nanos: 0,
        };
        assert_eq!(t.as_f64(), (i64::MAX / 2) as f64);
    }

    #[test]
    fn pcapng_units_convert_to_nanoseconds() {
        let t = ts_from_units(1_700_000_000_123_456, 1_000_000, 0);
        assert_eq!(
            t,
            Timestamp {
                secs: 1_700_000_000,
                nanos: 123_456_000
            }
        );
        let t = ts_from_units(1_700_000_000_123_456_789, 1_000_000_000, 0);
        assert_eq!(t.nanos, 123_456_789);
        // 2^-10 resolution
        let t = ts_from_units(1024 * 5 + 512, 1024, 0);
        assert_eq!(
            t,
            Timestamp {
                secs: 5,
                nanos: 500_000_000
            }
        );
    }

    #[test]
    fn non_captures_are_refused_with_a_reason() {
        let e = read_capture(&b""[..], |_| {}).unwrap_err();
        assert!(e.0.contains("empty"), "{e}");
        let e = read_capture(&b"GET / HTTP/1.1\r\nHost: example\r\n\r\n"[..], |_| {}).unwrap_err();
        assert!(e.0.contains("not a pcap"), "{e}");
    }

    fn legacy_header(magic: [u8; 4], link: u32) -> Vec<u8> {
        let mut v = magic.to_vec();
        v.extend_from_slice(&2u16.to_le_bytes());
        v.extend_from_slice(&4u16.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&65535u32.to_le_bytes());
        v.extend_from_slice(&link.to_le_bytes());
        v
    }

    fn legacy_record(v: &mut Vec<u8>, sec: u32, frac: u32, data: &[u8]) {
        for x in [sec, frac, data.len() as u32, data.len() as u32] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(data);
    }

    #[test]
    fn nanosecond_pcap_and_truncated_tail() {
        let mut v = legacy_header([0x4d, 0x3c, 0xb2, 0xa1], 101);
        legacy_record(&mut v, 10, 123_456_789, b"abc");
        legacy_record(&mut v, 11, 5, b"defg");
        v.truncate(v.len() - 2);
        let mut seen = Vec::new();
        let s = read_capture(&v[..], |r| {
            seen.push((r.number, r.ts, r.data.to_vec(), r.link))
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![(
                1,
                Timestamp {
                    secs: 10,
                    nanos: 123_456_789
                },
                b"abc".to_vec(),
                101
            )]
        );
        assert!(s.problem.unwrap().message.contains("middle of a record"));
    }

    /// Counts the reads that delivered bytes.
    struct CountingReader<'a> {
        data: &'a [u8],
        reads: usize,
    }

    impl Read for CountingReader<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.data.read(buf)?;
            self.reads += usize::from(n > 0);
            Ok(n)
        }
    }

    #[test]
    fn records_are_moved_in_the_buffer_only_at_a_refill() {
        // 10 MiB of 1,000-byte records: ten buffers' worth.
        let mut v = legacy_header([0xd4, 0xc3, 0xb2, 0xa1], 1);
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let records = 10 * READ_BUFFER / 1016;
        for n in 0..records {
            legacy_record(&mut v, n as u32, 0, &data);
        }
        let mut input = CountingReader { data: &v, reads: 0 };
        let mut last = 0usize;
        let mut moves = 0usize;
        let mut seen = 0usize;
        let s = read_capture(&mut input, |r| {
            assert_eq!(r.data, &data[..]);
            // A record that starts before the one read before it was moved
            // there: the buffer's bytes were shifted to its start.
            let at = r.data.as_ptr() as usize;
            moves += usize::from(at < last);
            last = at;
            seen += 1;
        })
        .unwrap();
        assert_eq!(seen, records);
        assert!(s.problem.is_none());
        // Shifting on every consume past half the buffer moves it twice a
        // read (~1,000 records a shift of half a MiB each); moving only the
        // partial record at a refill, once.
        assert!(input.reads >= 10, "{} reads", input.reads);
        assert!(
            moves <= input.reads,
            "the buffer moved {moves} times for {} reads",
            input.reads
        );
    }

    #[test]
    fn a_record_larger_than_the_buffer_grows_it_mid_stream() {
        // Small records, one of 3 MiB (the buffer is 1 MiB and partly
        // consumed when it comes), small records again.
        let mut v = legacy_header([0xd4, 0xc3, 0xb2, 0xa1], 1);
        let small: Vec<u8> = (0..600u32).map(|i| (i * 7) as u8).collect();
        let big: Vec<u8> = (0..3 << 20).map(|i: u32| (i >> 3) as u8).collect();
        for n in 0..1000 {
            legacy_record(&mut v, n, 0, &small);
        }
        legacy_record(&mut v, 1000, 0, &big);
        for n in 1001..2001 {
            legacy_record(&mut v, n, 0, &small);
        }
        let mut lens = Vec::new();
        let s = read_capture(&v[..], |r| {
            let want: &[u8] = if r.data.len() == big.len() {
                &big
            } else {
                &small
            };
            assert_eq!(r.data, want, "record {}", r.number);
            lens.push(r.data.len());
        })
        .unwrap();
        assert!(s.problem.is_none(), "{:?}", s.problem);
        assert_eq!(lens.len(), 2001);
        assert_eq!(lens[1000], big.len());
        assert_eq!(s.bytes_read, v.len() as u64);
    }

    #[test]
    fn absurd_caplen_is_a_problem_not_an_allocation() {
        let mut v = legacy_header([0xd4, 0xc3, 0xb2, 0xa1], 1);
        legacy_record(&mut v, 1, 0, b"xyz");
        // A record header claiming 4 GiB of data.
        for x in [2u32, 0, u32::MAX - 1, u32::MAX - 1] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(&[0; 64]);
        let mut n = 0;
        let s = read_capture(&v[..], |_| n += 1).unwrap();
        assert_eq!(n, 1);
        assert!(s.problem.is_some());
    }
}
