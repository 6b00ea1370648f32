//! The thin binary: flags become a config, a sink is chosen, the library runs.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Read, Write};
use std::ops::ControlFlow;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod check_threads;
mod help;
mod multi;

use wsdissect::Config;
use wsdissect::event::Sink;
use wsdissect::findings::{Code, Severity};
use wsdissect::progress::Progress;
use wsdissect::render::PayloadMode;
use wsdissect::render::check::CheckSink;
use wsdissect::render::csv::{CsvRecord, CsvRows, CsvSink};
use wsdissect::render::filtered::{Filtered, records};
use wsdissect::render::json::{JsonSink, Select};
use wsdissect::render::table::{TableKind, TableSink};

#[derive(Parser)]
#[command(
    name = "wsdissect",
    version,
    about = "Dissect WebSocket traffic in pcap and pcapng captures",
    after_help = help::top()
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    /// Colour in tables and text (never in JSON, CSV or HAR): auto colours a terminal, unless
    /// NO_COLOR is set (CLICOLOR_FORCE colours a pipe too).
    #[arg(long, value_enum, global = true, default_value_t = ColorWhen::Auto)]
    color: ColorWhen,
}

#[derive(Subcommand)]
enum Cmd {
    /// Every WebSocket frame.
    #[command(after_help = help::frames())]
    Frames(ListArgs),
    /// Reassembled (and inflated) messages.
    #[command(after_help = help::messages())]
    Messages(ListArgs),
    /// One row per WebSocket connection: handshake, counts, close codes.
    #[command(after_help = help::conns(), mut_arg("payload", |a| a.hide(true)))]
    Conns(ListArgs),
    /// Findings (RFC 6455 / RFC 7692 violations, capture problems); exit 1 on errors.
    #[command(
        after_help = help::check(),
        mut_arg("captures", |a| a.required(false).required_unless_present("list_codes"))
    )]
    Check(CheckArgs),
    /// A teaching walkthrough of one connection: handshake, accept key, every header bit, unmasking.
    #[command(after_help = help::explain())]
    Explain(ExplainArgs),
    /// Which server-push technique each channel uses: polling, long polling, iframe streaming, SSE, WebSocket.
    #[command(after_help = help::push())]
    Push(PushArgs),
    /// Subprotocol messages: MQTT, STOMP, Socket.IO/Engine.IO, GraphQL over WebSocket.
    #[command(after_help = help::app())]
    App(AppArgs),
    /// Figures per connection and for the capture: bytes, sizes, rates, round trips, closes.
    #[command(after_help = help::stats(), mut_arg("filter", |a| a.help(STATS_FILTER_HELP)))]
    Stats(StatsArgs),
    /// The course in order, from captures built into the binary: HTML pages in -o DIR, or text.
    Lesson(LessonArgs),
    /// One self-contained HTML page: summary, connections, charts, findings linked to packets.
    #[command(after_help = help::report())]
    Report(ReportArgs),
}

#[derive(Args)]
struct ReportArgs {
    #[command(flatten)]
    common: Common,
    /// The HTML file to write (required; `-` writes standard output).
    #[arg(short = 'o', long, value_name = "FILE.html", display_order = 1)]
    output: Option<String>,
}

const STATS_FILTER_HELP: &str = "Count only the frames, messages, findings and app records that match \
EXPR (the filter applies before counting; fields as in the JSON records, see docs/filter.md), e.g. \
'from == server'";

#[derive(Args)]
struct StatsArgs {
    #[command(flatten)]
    common: Common,
    /// A table for people (a row per connection, then the capture's summary), JSON lines (stats
    /// records) or CSV (the JSON fields as columns, nested ones with dotted names).
    #[arg(long, value_enum, default_value_t = ListFormat::Table, display_order = 1)]
    format: ListFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LessonFormat {
    Html,
    Text,
}

#[derive(Args)]
struct LessonArgs {
    /// Where to write index.html, one page per chapter and the captures (created if missing).
    #[arg(short = 'o', long, value_name = "DIR")]
    output: Option<std::path::PathBuf>,
    /// html: linked pages in -o DIR; text: the same course on standard output.
    #[arg(long, value_enum, default_value_t = LessonFormat::Html)]
    format: LessonFormat,
}

fn lesson(a: LessonArgs) -> ExitCode {
    match (a.format, a.output) {
        (LessonFormat::Text, None) => {
            let mut out = wsdissect::render::Out::new(BufWriter::new(io::stdout().lock()));
            out.write_all(wsdissect::lesson::text().as_bytes());
            match finish_output(out) {
                Ok(()) => ExitCode::SUCCESS,
                Err(code) => code,
            }
        }
        (LessonFormat::Text, Some(_)) => {
            eprintln!(
                "wsdissect: lesson --format text prints to standard output; -o is for the HTML pages"
            );
            ExitCode::from(2)
        }
        (LessonFormat::Html, None) => {
            eprintln!("wsdissect: lesson needs -o DIR for its HTML pages (or --format text)");
            ExitCode::from(2)
        }
        (LessonFormat::Html, Some(dir)) => match wsdissect::lesson::write_dir(&dir) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("wsdissect: lesson: {e}");
                ExitCode::from(2)
            }
        },
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AppFormatArg {
    Table,
    Json,
    Csv,
    // A Parquet file (-o FILE) of the app records (docs/parquet.md). A
    // plain comment: a doc comment would make clap list every value with
    // its own help (tests/output.rs wants the option's line described).
    Parquet,
}

#[derive(Args)]
struct AppArgs {
    #[command(flatten)]
    common: Common,
    /// A table for people, JSON lines (app records), CSV (a header row of the JSON field names) or
    /// Parquet (-o FILE).
    #[arg(long, value_enum, default_value_t = AppFormatArg::Table, display_order = 1)]
    format: AppFormatArg,
    #[command(flatten)]
    output: OutputArg,
    /// How MQTT payloads and STOMP bodies appear: text (as text when UTF-8, else hex), hex,
    /// base64, or none [default: text]
    #[arg(long, value_enum, display_order = 2)]
    payload: Option<PayloadMode>,
    /// Decode every WebSocket session as PROTO (mqtt, stomp, socketio, graphql-ws,
    /// graphql-transport-ws), whatever was negotiated; sessions caught without their handshake too.
    #[arg(long, value_name = "PROTO", value_parser = parse_protocol, display_order = 3)]
    decode_as: Option<wsdissect::app::Protocol>,
}

fn parse_protocol(s: &str) -> Result<wsdissect::app::Protocol, String> {
    wsdissect::app::Protocol::from_name(s).ok_or_else(|| {
        "unknown subprotocol; known: mqtt, stomp, socketio, graphql-ws, graphql-transport-ws"
            .to_string()
    })
}

#[derive(Args)]
struct PushArgs {
    #[command(flatten)]
    common: Common,
    /// A table per channel for people, JSON lines (push, sse-event and finding records), or CSV
    /// (a row per channel).
    #[arg(long, value_enum, default_value_t = ListFormat::Table, display_order = 1)]
    format: ListFormat,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExplainFormat {
    Text,
    Html,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorWhen {
    Never,
    Auto,
    Always,
}

#[derive(Args)]
struct ExplainArgs {
    #[command(flatten)]
    common: Common,
    /// text for a terminal, html for a classroom projector (one self-contained file), json for tools.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Text, display_order = 1)]
    format: ExplainFormat,
    /// The connection to walk through (ids as in `conns`); default: the first WebSocket connection.
    #[arg(long, value_name = "ID")]
    conn: Option<u64>,
    /// Only this frame of the connection (numbered from 1, as in the walkthrough).
    #[arg(long, value_name = "N")]
    frame: Option<usize>,
    /// Only the frames packet N carried (and their connection).
    #[arg(long, value_name = "N")]
    packet: Option<u64>,
    /// Over HTTP/2: the WebSocket session of this stream (several may share a connection); default: the first
    #[arg(long, value_name = "ID")]
    stream: Option<u32>,
    /// At most N frames in detail.
    #[arg(long, value_name = "N", default_value_t = 200, help_heading = "Limits")]
    max_frames: usize,
}

#[derive(Args, Clone)]
struct Common {
    /// Capture files (pcap or pcapng); `-` reads standard input.
    #[arg(required_unless_present = "interface", value_name = "CAPTURE")]
    captures: Vec<String>,
    /// Capture live from this network interface (libpcap; needs root or CAP_NET_RAW) instead of
    /// reading files. Ctrl-C ends it with the summary a file would give.
    // Not `conflicts_with = "captures"`: clap would then drop the `requires`
    // of -f and -c whenever files are named (see `live_args_conflict`).
    #[arg(short = 'i', long, value_name = "IFACE", help_heading = "Live capture")]
    interface: Option<String>,
    /// A BPF capture filter for -i, as tcpdump takes it: 'tcp port 8080'.
    #[arg(
        short = 'f',
        long,
        value_name = "BPF",
        requires = "interface",
        help_heading = "Live capture"
    )]
    capture_filter: Option<String>,
    /// With -i: stop after N packets (of those the capture filter passes).
    #[arg(
        short = 'c',
        long,
        value_name = "N",
        requires = "interface",
        value_parser = clap::value_parser!(u64).range(1..),
        help_heading = "Live capture"
    )]
    count: Option<u64>,
    /// With -i: the kernel's capture buffer, in KiB, as tcpdump's -B [default: 16384]. Packets
    /// that arrive while it is full are dropped (a warning at the end counts them).
    #[arg(
        short = 'B',
        long,
        value_name = "KiB",
        requires = "interface",
        value_parser = clap::value_parser!(u64).range(1..=(2 << 20)),
        help_heading = "Live capture"
    )]
    buffer_size: Option<u64>,
    /// Bytes of one frame's payload kept for output.
    #[arg(long, value_name = "BYTES", default_value_t = Config::default().max_frame_bytes, help_heading = "Limits")]
    max_frame_bytes: usize,
    /// Bytes of one message kept for output.
    #[arg(long, value_name = "BYTES", default_value_t = Config::default().max_message_bytes, help_heading = "Limits")]
    max_message_bytes: usize,
    /// Bytes one compressed message may inflate to before the rest is skipped.
    #[arg(long, value_name = "BYTES", default_value_t = Config::default().max_inflated_bytes, help_heading = "Limits")]
    max_inflated_bytes: u64,
    /// Out-of-order bytes held per stream direction while waiting for a hole.
    #[arg(long, value_name = "BYTES", default_value_t = Config::default().max_ooo_bytes, help_heading = "Limits")]
    max_ooo_bytes: usize,
    /// Connections tracked at once (past it, the oldest idle one is closed).
    #[arg(long, value_name = "N", default_value_t = Config::default().max_connections, help_heading = "Limits")]
    max_connections: usize,
    /// NSS key log file (SSLKEYLOGFILE format) to decrypt TLS with (repeatable); SSLKEYLOGFILE
    /// is read too when set, and pcapng Decryption Secrets Blocks need no flag.
    #[arg(long, value_name = "FILE", display_order = 80)]
    keylog: Vec<String>,
    /// No progress line on standard error (it is shown only on a terminal).
    #[arg(long, short, display_order = 90)]
    quiet: bool,
    /// Keep only the records that match EXPR (fields as in the JSON records; see docs/filter.md),
    /// e.g. 'from == server and len > 64k'.
    #[arg(long, short = 'Y', value_name = "EXPR", display_order = 3)]
    filter: Option<String>,
    /// Threads: 2 or more read the capture in one thread while another decodes it; several
    /// capture files are decoded N at once, output in argument order; `check` on a capture file
    /// shares its connections among up to N decoding threads (same output, byte for byte, as 1)
    /// [default: the machine's cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), display_order = 95)]
    threads: Option<u64>,
}

impl Common {
    /// `--threads`, or the machine's cores.
    fn threads(&self) -> usize {
        self.threads
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ListFormat {
    Table,
    Json,
    Csv,
    // A Parquet file (-o FILE): a column per JSON field (docs/parquet.md).
    Parquet,
    Har,
}

/// `-o FILE`: where `--format parquet` writes.
#[derive(Args)]
struct OutputArg {
    /// The file --format parquet writes (required with it; `-` for standard output when that is
    /// not a terminal).
    #[arg(short = 'o', long, value_name = "FILE", display_order = 2)]
    output: Option<String>,
}

#[derive(Args)]
struct ListArgs {
    #[command(flatten)]
    common: Common,
    /// Output format: a table for people, JSON lines for programs, CSV (the JSON fields as
    /// columns), or Parquet (-o FILE).
    #[arg(long, value_enum, default_value_t = ListFormat::Table, display_order = 1)]
    format: ListFormat,
    #[command(flatten)]
    output: OutputArg,
    /// How payloads appear: text (text messages as text, binary ones as hex), hex, base64, or none
    /// [default: text; frames --format json: none]
    #[arg(long, value_enum, display_order = 2)]
    payload: Option<PayloadMode>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    Table,
    Json,
    Junit,
    Csv,
    // A Parquet file (-o FILE) of the finding records.
    Parquet,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    Warning,
    Error,
}

#[derive(Args)]
struct CheckArgs {
    #[command(flatten)]
    common: Common,
    /// Output format: findings grouped by connection, JSON lines (finding records and a summary),
    /// JUnit XML for CI (a test case per connection), CSV (a row per finding), or Parquet (-o FILE,
    /// the finding records).
    #[arg(long, value_enum, default_value_t = CheckFormat::Table, display_order = 1)]
    format: CheckFormat,
    #[command(flatten)]
    output: OutputArg,
    /// Lowest severity that makes the exit status 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    fail_on: FailOn,
    /// A finding code to ignore (repeatable).
    #[arg(long, value_name = "CODE", value_parser = parse_code)]
    allow: Vec<Code>,
    /// Print every finding code with its severity and meaning (as a table, or JSON lines with
    /// --format json), and exit.
    #[arg(long)]
    list_codes: bool,
}

/// Push channels `explain` describes (the rest are counted).
const EXPLAIN_PUSH_CHANNELS: usize = 20;

/// Payload bytes a table row can preview (close reasons included).
const TABLE_PREVIEW_BYTES: usize = 256;

fn parse_code(s: &str) -> Result<Code, String> {
    Code::parse(s).ok_or_else(|| {
        let all: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        format!("unknown finding code; known codes: {}", all.join(", "))
    })
}

impl Common {
    /// What the run reads: the capture files, or the interface of `-i`.
    fn sources(&self) -> Vec<String> {
        match &self.interface {
            Some(iface) => vec![iface.clone()],
            None => self.captures.clone(),
        }
    }
}

/// Opens a source of `Common::sources`: with `-i`, the live interface.
fn open_source(common: &Common, path: &str, progress: bool) -> io::Result<Box<dyn Read + Send>> {
    if common.interface.is_none() {
        return open(path, progress);
    }
    let r = open_live(common)?;
    if !common.quiet {
        eprintln!("wsdissect: capturing on '{}'", escape_name(path));
    }
    if !progress {
        return Ok(r);
    }
    let every = std::time::Duration::from_millis(250);
    Ok(Box::new(Progress::new(r, io::stderr(), path, None, every)))
}

#[cfg(feature = "live")]
fn open_live(common: &Common) -> io::Result<Box<dyn Read + Send>> {
    let opts = wsdissect::live::LiveOptions {
        interface: common.interface.clone().unwrap_or_default(),
        filter: common.capture_filter.clone(),
        count: common.count,
        buffer_bytes: common
            .buffer_size
            .map(|k| (k as usize).saturating_mul(1024)),
    };
    match wsdissect::live::open(&opts) {
        Ok(cap) => Ok(Box::new(SayDrops {
            cap,
            name: escape_name(&opts.interface),
            said: false,
        })),
        // libpcap's text may quote the name or the filter.
        Err(e) => Err(io::Error::other(escape_name(&e.to_string()))),
    }
}

/// At the end of a live capture, a warning on stderr when the kernel
/// dropped packets (their streams have gaps there).
#[cfg(feature = "live")]
struct SayDrops {
    cap: wsdissect::live::LiveCapture,
    name: String,
    said: bool,
}

#[cfg(feature = "live")]
impl Read for SayDrops {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.cap.read(buf)?;
        if n == 0 && !self.said {
            self.said = true;
            let s = self.cap.stats();
            if s.dropped > 0 {
                eprintln!(
                    "wsdissect: {}: warning: the kernel dropped {} of {} packets, its capture buffer full (-B raises it); their streams have gaps",
                    self.name, s.dropped, s.received
                );
            }
            if s.if_dropped > 0 {
                eprintln!(
                    "wsdissect: {}: warning: the interface dropped {} packets while capturing",
                    self.name, s.if_dropped
                );
            }
        }
        Ok(n)
    }
}

#[cfg(not(feature = "live"))]
fn open_live(_: &Common) -> io::Result<Box<dyn Read + Send>> {
    Err(io::Error::other(
        "this wsdissect was built without live capture (cargo feature `live`); \
         capture with tcpdump instead: tcpdump -i IFACE -U -w - | wsdissect frames -",
    ))
}

fn config(c: &Common) -> Config {
    Config {
        max_frame_bytes: c.max_frame_bytes,
        max_message_bytes: c.max_message_bytes,
        max_inflated_bytes: c.max_inflated_bytes,
        max_ooo_bytes: c.max_ooo_bytes,
        max_connections: c.max_connections.max(1),
        keylog: keylog(c),
        ..Config::default()
    }
}

/// The key log files of `--keylog` and `SSLKEYLOGFILE`. A `--keylog` file
/// that cannot be read ends the run (exit 2); an `SSLKEYLOGFILE` that does
/// not exist (yet: browsers create it) is a warning. Lines that are not key
/// log lines are skipped and counted.
fn keylog(c: &Common) -> wsdissect::tlscore::KeyRing {
    use wsdissect::tlscore::{KeyLog, KeyRing};
    let mut keys = KeyLog::new();
    let env = std::env::var_os("SSLKEYLOGFILE").filter(|v| !v.is_empty());
    let files = c
        .keylog
        .iter()
        .map(|f| (std::path::PathBuf::from(f), true))
        .chain(env.map(|f| (std::path::PathBuf::from(f), false)));
    for (path, given) in files {
        let name = escape_name(&path.to_string_lossy());
        let before = keys.stats;
        let read = File::open(&path).and_then(|f| {
            if f.metadata()?.is_dir() {
                return Err(io::Error::other("is a directory"));
            }
            keys.read_from(io::BufReader::new(f))
        });
        match read {
            Ok(()) => {
                let garbage = keys.stats.garbage - before.garbage;
                if garbage > 0 && !c.quiet {
                    let entries = keys.stats.entries - before.entries;
                    eprintln!(
                        "wsdissect: key log {name}: {garbage} line{} not in the key log format skipped ({entries} secret{} read)",
                        if garbage == 1 { "" } else { "s" },
                        if entries == 1 { "" } else { "s" }
                    );
                }
            }
            Err(e) if given => {
                eprintln!("wsdissect: key log {name}: {e}");
                std::process::exit(2);
            }
            Err(e) => eprintln!("wsdissect: warning: SSLKEYLOGFILE {name}: {e}; not used"),
        }
    }
    KeyRing::new(keys)
}

/// The `--filter` expression, compiled before any capture is read; a bad
/// one is reported (with a caret under its column) as exit status 2.
fn parse_filter(c: &Common) -> Result<Option<wsdissect::filter::Filter>, ExitCode> {
    match c.filter.as_deref().map(wsdissect::filter::Filter::parse) {
        None => Ok(None),
        Some(Ok(f)) => Ok(Some(f)),
        Some(Err(e)) => {
            eprintln!("wsdissect: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// Whether the filter reads payload bytes (so they must be kept, whole).
fn filter_reads_payload(f: Option<&wsdissect::filter::Filter>) -> bool {
    const PAYLOAD: &[&str] = &[
        "text",
        "payload_text",
        "payload_hex",
        "payload_base64",
        "data_hex",
        "data_base64",
    ];
    f.is_some_and(|f| f.fields().iter().any(|n| PAYLOAD.contains(n)))
}

/// Opens a capture; with `progress`, reading it redraws a status line on stderr.
/// A pipe, FIFO or terminal is read live (`capture::LiveReader`); a gzip
/// stream (by its magic bytes) is inflated on the way.
fn open(path: &str, progress: bool) -> io::Result<Box<dyn Read + Send>> {
    use wsdissect::capture::LiveReader;
    let (r, total): (Box<dyn Read + Send>, _) = if path == "-" {
        if stdin_is_file() {
            (Box::new(io::stdin()), None)
        } else {
            (Box::new(LiveReader::new(io::stdin())), None)
        }
    } else {
        let f = File::open(path)?;
        let meta = f.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::other("is a directory"));
        }
        if meta.is_file() {
            (Box::new(f), Some(meta.len()))
        } else {
            (Box::new(LiveReader::new(f)), None)
        }
    };
    let r = gunzip_if_gzip(r)?;
    if !progress {
        return Ok(r);
    }
    let every = std::time::Duration::from_millis(250);
    Ok(Box::new(Progress::new(r, io::stderr(), path, total, every)))
}

/// The first two bytes of a gzip file.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Inflates the input when it starts with gzip's magic bytes (`.pcap.gz`,
/// as tshark reads them), streaming; else hands it on unchanged.
fn gunzip_if_gzip(mut r: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let mut magic = Vec::with_capacity(2);
    while magic.len() < 2 {
        let mut b = [0u8; 2];
        let n = match r.read(&mut b[..2 - magic.len()]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        magic.extend_from_slice(&b[..n]);
    }
    let gzip = magic == GZIP_MAGIC;
    let r = io::Cursor::new(magic).chain(r);
    if gzip {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(r)))
    } else {
        Ok(Box::new(r))
    }
}

/// Whether records should reach the reader as soon as they are decoded:
/// some input is a pipe, FIFO or terminal (a live capture), or stdout is a
/// terminal. Else output goes through a big buffer.
fn is_live(common: &Common) -> bool {
    io::stdout().is_terminal()
        || common.interface.is_some()
        || common.captures.iter().any(|p| {
            if p == "-" {
                !stdin_is_file()
            } else {
                std::fs::metadata(p).is_ok_and(|m| !m.is_file() && !m.is_dir())
            }
        })
}

/// Standard input redirected from a regular file (`< capture.pcap`).
fn stdin_is_file() -> bool {
    std::fs::metadata("/dev/stdin").is_ok_and(|m| m.is_file())
}

/// Standard output: buffered for files, written through (line by line: std's
/// stdout is line-buffered) when live.
enum Stdout {
    Buffered(BufWriter<io::StdoutLock<'static>>),
    Live(io::StdoutLock<'static>),
}

impl Stdout {
    fn new(live: bool) -> Self {
        if live {
            Stdout::Live(io::stdout().lock())
        } else {
            Stdout::Buffered(BufWriter::with_capacity(1 << 16, io::stdout().lock()))
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stdout::Buffered(w) => w.write(buf),
            Stdout::Live(w) => w.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Stdout::Buffered(w) => w.write_all(buf),
            Stdout::Live(w) => w.write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stdout::Buffered(w) => w.flush(),
            Stdout::Live(w) => w.flush(),
        }
    }
}

/// A table whose held rows (`conns` prints them in batches, for aligned
/// columns) are printed as each one is complete when the run is live.
struct RowsNow<W: Write> {
    table: TableSink<W>,
    live: bool,
}

impl<W: Write> Sink for RowsNow<W> {
    fn event(&mut self, ev: wsdissect::event::Event<'_>) -> ControlFlow<()> {
        let row_done = matches!(ev, wsdissect::event::Event::ConnEnd(_));
        let flow = self.table.event(ev);
        if self.live && row_done {
            self.table.flush();
        }
        flow
    }

    fn withheld(&mut self, ev: wsdissect::event::Event<'_>) {
        self.table.withheld(ev);
    }
}

/// Passes events on, noting whether any WebSocket connection showed up.
struct WatchWs<'a> {
    inner: &'a mut dyn Sink,
    seen: bool,
    /// Capture-level problems worth a line on stderr (besides a file cut
    /// short): link types whose packets are all skipped.
    problems: Vec<String>,
}

impl Sink for WatchWs<'_> {
    fn event(&mut self, ev: wsdissect::event::Event<'_>) -> ControlFlow<()> {
        use wsdissect::event::Event;
        match ev {
            Event::Frame(_) | Event::Handshake(..) => self.seen = true,
            Event::ConnEnd(c) if c.websocket => self.seen = true,
            Event::Finding(f)
                if f.code == Code::CaptureUnsupportedLink && self.problems.len() < 4 =>
            {
                self.problems.push(f.message.clone());
            }
            _ => {}
        }
        self.inner.event(ev)
    }

    /// The inner sink's, and a first frame while none was seen.
    fn wants(&self) -> u32 {
        use wsdissect::stage::kinds::{CONN_END, FINDING, FRAME, HANDSHAKE};
        let first = if self.seen { 0 } else { FRAME };
        self.inner.wants() | first | HANDSHAKE | CONN_END | FINDING
    }
}

/// The explain sink, telling the pipeline which connection keeps payloads
/// once it has chosen the one it shows.
struct KeepChosen<'a, 'b> {
    inner: &'a mut wsdissect::explain::ExplainSink<'b>,
    keep: wsdissect::config::KeepFor,
}

impl Sink for KeepChosen<'_, '_> {
    fn event(&mut self, ev: wsdissect::event::Event<'_>) -> ControlFlow<()> {
        let r = self.inner.event(ev);
        if let Some(c) = self.inner.chosen_conn() {
            self.keep.choose(c);
        }
        r
    }
    fn withheld(&mut self, ev: wsdissect::event::Event<'_>) {
        self.inner.withheld(ev);
    }
}

/// Runs every capture through `sink`; returns whether all could be read.
/// With `say_none`, a capture without any WebSocket connection gets a line
/// on stderr (else the command would print nothing at all).
fn run_all<S: Sink>(
    common: &Common,
    cfg: &Config,
    sink: &mut S,
    mut before: impl FnMut(&mut S, &str),
    mut failed: impl FnMut(&mut S, String),
) -> bool {
    run_all_noting(common, cfg, sink, false, &mut before, &mut failed)
}

fn run_all_noting<S: Sink>(
    common: &Common,
    cfg: &Config,
    sink: &mut S,
    say_none: bool,
    before: &mut dyn FnMut(&mut S, &str),
    failed: &mut dyn FnMut(&mut S, String),
) -> bool {
    let mut ok = true;
    let progress = wsdissect::progress::should_show(
        common.quiet,
        io::stderr().is_terminal(),
        io::stdout().is_terminal(),
    );
    for path in &common.sources() {
        before(sink, path);
        let reason = match open_source(common, path, progress) {
            Ok(r) => {
                // pcap-parser reads through its own buffer: no second one.
                let mut watch = WatchWs {
                    inner: sink,
                    seen: false,
                    problems: Vec::new(),
                };
                match wsdissect::parallel::run(r, cfg, common.threads(), &mut watch) {
                    Ok(summary) if summary.stopped => {
                        // The output is closed (or failed): nothing more to do.
                        break;
                    }
                    Ok(summary) => {
                        let no_ws = say_none && !watch.seen;
                        for line in capture_lines(path, &watch.problems, &summary, no_ws) {
                            eprintln!("{line}");
                        }
                        if summary.interrupted {
                            break;
                        }
                        continue;
                    }
                    Err(e) => e.to_string(),
                }
            }
            Err(e) => e.to_string(),
        };
        eprintln!("wsdissect: {}: {reason}", escape_name(path));
        failed(sink, reason);
        ok = false;
    }
    ok
}

/// Several capture files decoded at once (`multi`): with `--threads` 2 or
/// more, not live, not standard input, not `-i`.
fn several(common: &Common, live: bool) -> bool {
    common.interface.is_none()
        && !live
        && common.captures.len() > 1
        && common.threads() > 1
        && !common.captures.iter().any(|p| p == "-")
}

/// One capture of several (`multi::run`) through `sink`: the run and the
/// lines on stderr of `run_all_noting`, the lines held for their turn.
fn decode_held<S: Sink>(
    common: &Common,
    cfg: &Config,
    job: &multi::Run<'_>,
    sink: &mut S,
    say_none: bool,
) -> multi::Finished<()> {
    let path = job.path;
    let mut notes = Vec::new();
    let progress = job.progress
        && wsdissect::progress::should_show(
            common.quiet,
            io::stderr().is_terminal(),
            io::stdout().is_terminal(),
        );
    let reason = match open_source(common, path, progress) {
        Ok(r) => {
            let mut watch = WatchWs {
                inner: sink,
                seen: false,
                problems: Vec::new(),
            };
            let r = job.stop.reader(r);
            match wsdissect::parallel::run(r, cfg, job.threads, &mut watch) {
                Ok(summary) if summary.stopped => {
                    return multi::Finished {
                        notes,
                        failed: false,
                        last: true,
                        carry: (),
                    };
                }
                Ok(summary) => {
                    let no_ws = say_none && !watch.seen;
                    notes.extend(capture_lines(path, &watch.problems, &summary, no_ws));
                    return multi::Finished {
                        notes,
                        failed: false,
                        last: summary.interrupted,
                        carry: (),
                    };
                }
                Err(e) => e.to_string(),
            }
        }
        Err(e) => e.to_string(),
    };
    notes.push(format!("wsdissect: {}: {reason}", escape_name(path)));
    multi::Finished {
        notes,
        failed: true,
        last: false,
        carry: (),
    }
}

/// The held lines and outcome of a capture, with the carry of its output.
fn carrying<C>(f: multi::Finished<()>, carry: C) -> multi::Finished<C> {
    multi::Finished {
        notes: f.notes,
        failed: f.failed,
        last: f.last,
        carry,
    }
}

/// What stderr says after a capture was read, in order: link types whose
/// packets were all skipped (`problems`), a damaged end, "no WebSocket
/// connection" (`no_ws`, unless interrupted), an interruption.
fn capture_lines(
    path: &str,
    problems: &[String],
    summary: &wsdissect::capture::CaptureSummary,
    no_ws: bool,
) -> Vec<String> {
    let mut lines: Vec<String> = problems
        .iter()
        .map(|p| format!("wsdissect: {}: warning: {p}", escape_name(path)))
        .collect();
    if let Some(p) = &summary.problem {
        lines.push(format!(
            "wsdissect: {}: warning: the capture appears to have been cut short or damaged after packet {}: {}; everything before it was decoded",
            escape_name(path),
            p.after_packet,
            p.message
        ));
    }
    if no_ws && !summary.interrupted {
        lines.push(format!(
            "wsdissect: no WebSocket connection in {}",
            escape_name(path)
        ));
    }
    if summary.interrupted {
        lines.push(format!(
            "wsdissect: {}: interrupted after packet {}; what was read is decoded",
            escape_name(path),
            summary.packets
        ));
    }
    lines
}

/// A file name for a message line: control characters escaped (the one
/// terminal escaper of the program).
fn escape_name(path: &str) -> String {
    wsdissect::render::escape::terminal(path).into_owned()
}

/// Runs one capture of several through `sink` (commands that print per capture).
fn run_one<S: Sink>(common: &Common, path: &str, cfg: &Config, sink: &mut S) -> bool {
    let one = Common {
        captures: vec![path.to_string()],
        ..common.clone()
    };
    run_all(&one, cfg, sink, |_, _| {}, |_, _| {})
}

/// 0 when every capture could be read, else 2.
fn exit_status(all_read: bool) -> ExitCode {
    if all_read {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

fn finish_output<W: Write>(out: wsdissect::render::Out<W>) -> Result<(), ExitCode> {
    match out.finish() {
        Ok(()) => Ok(()),
        Err(e) if is_broken_pipe(&e) => Err(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("wsdissect: cannot write output: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// The writer of `--format parquet` (the JSON lines of the records, into
/// Parquet); without the cargo feature `parquet` none is ever made.
#[cfg(feature = "parquet")]
type ParquetOut = wsdissect::render::parquet::ParquetLines<Box<dyn Write + Send>>;
#[cfg(not(feature = "parquet"))]
type ParquetOut = io::Sink;

/// Checks `--format` against `-o` (and this build) before any capture is
/// read; with `--format parquet`, opens the file for `record_type` records.
fn parquet_out(
    parquet: bool,
    o: &OutputArg,
    record_type: &'static str,
) -> Result<Option<ParquetOut>, ExitCode> {
    use wsdissect::render::columns::parquet_target;
    let target = parquet_target(
        parquet,
        cfg!(feature = "parquet"),
        o.output.as_deref(),
        io::stdout().is_terminal(),
    );
    match target {
        Ok(None) => Ok(None),
        Ok(Some(path)) => open_parquet(path, record_type).map(Some),
        Err(m) => {
            eprintln!("wsdissect: {m}");
            Err(ExitCode::from(2))
        }
    }
}

#[cfg(feature = "parquet")]
fn open_parquet(path: &str, record_type: &'static str) -> Result<ParquetOut, ExitCode> {
    let w: Box<dyn Write + Send> = if path == "-" {
        Box::new(BufWriter::with_capacity(1 << 16, io::stdout()))
    } else {
        match File::create(path) {
            Ok(f) => Box::new(BufWriter::with_capacity(1 << 16, f)),
            Err(e) => {
                eprintln!("wsdissect: {}: {e}", escape_name(path));
                return Err(ExitCode::from(2));
            }
        }
    };
    wsdissect::render::parquet::ParquetLines::new(w, record_type).map_err(|e| {
        eprintln!("wsdissect: {}: {e}", escape_name(path));
        ExitCode::from(2)
    })
}

#[cfg(not(feature = "parquet"))]
fn open_parquet(_: &str, _: &'static str) -> Result<ParquetOut, ExitCode> {
    // parquet_target refuses first; nothing is written.
    eprintln!("wsdissect: {}", wsdissect::render::columns::NO_PARQUET);
    Err(ExitCode::from(2))
}

/// Writes the last row group and the footer of a Parquet output.
fn finish_parquet(out: wsdissect::render::Out<ParquetOut>) -> Result<(), ExitCode> {
    let done = match out.error {
        Some(e) => Err(e),
        #[cfg(feature = "parquet")]
        None => out.w.finish().map(|_| ()),
        #[cfg(not(feature = "parquet"))]
        None => Ok(()),
    };
    done.map_err(|e| {
        eprintln!("wsdissect: cannot write output: {e}");
        ExitCode::from(2)
    })
}

/// The payload mode of JSON and CSV records (`--payload`, else text for
/// messages and none for frames), and what the run keeps for it.
/// The JSON records of a list command (`handshakes`: conns' handshake
/// records too), filtered, into `out`: standard output, or the Parquet
/// writer, which takes the same lines. Whether every capture was read, and
/// the writer to finish.
#[allow(clippy::too_many_arguments)]
fn json_records<W: Write>(
    common: &Common,
    cfg: &Config,
    kind: TableKind,
    handshakes: bool,
    payload: PayloadMode,
    out: W,
    filter: Option<wsdissect::filter::Filter>,
    records: u32,
) -> (bool, wsdissect::render::Out<W>) {
    let mut sink = json_sink(kind, handshakes, payload, out, filter, records);
    let ok = run_all_noting(
        common,
        cfg,
        &mut sink,
        true,
        &mut |s, name| {
            s.inner.set_capture(Some(name.to_string()));
            s.set_capture(Some(name.to_string()));
        },
        &mut |_, _| {},
    );
    (ok, sink.inner.out)
}

/// The JSON writer of a list command's records, filtered.
fn json_sink<W: Write>(
    kind: TableKind,
    handshakes: bool,
    payload: PayloadMode,
    out: W,
    filter: Option<wsdissect::filter::Filter>,
    records: u32,
) -> Filtered<JsonSink<W>> {
    let select = Select {
        frames: kind == TableKind::Frames,
        messages: kind == TableKind::Messages,
        handshakes,
        conns: kind == TableKind::Conns,
        findings: false,
        sse: false,
    };
    Filtered::new(JsonSink::new(out, select, payload), filter, records)
}

fn record_payload(
    kind: TableKind,
    asked: Option<PayloadMode>,
    reads_payload: bool,
    cfg: &mut Config,
) -> PayloadMode {
    let payload = asked.unwrap_or(match kind {
        TableKind::Messages => PayloadMode::Text,
        _ => PayloadMode::None,
    });
    let wanted = payload != PayloadMode::None || reads_payload;
    cfg.keep_frame_payload = kind == TableKind::Frames && wanted;
    cfg.keep_message_data = kind == TableKind::Messages && wanted;
    payload
}

fn list(kind: TableKind, a: ListArgs, color: bool) -> ExitCode {
    if kind == TableKind::Conns && a.payload.is_some() {
        eprintln!(
            "wsdissect: conns shows counts, not payloads: --payload does not apply (use frames or messages)"
        );
        return ExitCode::from(2);
    }
    let filter = match parse_filter(&a.common) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let records = match kind {
        TableKind::Frames => records::FRAMES,
        TableKind::Messages => records::MESSAGES,
        TableKind::Conns => records::CONNS,
    };
    let record_type = match kind {
        TableKind::Frames => "frame",
        TableKind::Messages => "message",
        TableKind::Conns => "conn",
    };
    let parquet = match parquet_out(a.format == ListFormat::Parquet, &a.output, record_type) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let reads_payload = filter_reads_payload(filter.as_ref());
    let mut cfg = config(&a.common);
    let live = is_live(&a.common);
    let stdout = Stdout::new(live);
    let many = a.common.captures.len() > 1;
    let ok = match a.format {
        ListFormat::Parquet => {
            // The JSON records (conns: not its handshake records), into columns.
            let Some(pq) = parquet else {
                return ExitCode::from(2);
            };
            let payload = record_payload(kind, a.payload, reads_payload, &mut cfg);
            let (ok, out) =
                json_records(&a.common, &cfg, kind, false, payload, pq, filter, records);
            if let Err(code) = finish_parquet(out) {
                return code;
            }
            ok
        }
        ListFormat::Har => {
            if kind != TableKind::Messages || filter.is_some() {
                eprintln!(
                    "wsdissect: --format har is for `messages`, without --filter (one document of every exchange)"
                );
                return ExitCode::from(2);
            }
            cfg.keep_message_data = true;
            cfg.max_message_bytes = cfg.max_message_bytes.min(wsdissect::render::har::MAX_BODY);
            let mut sink = wsdissect::render::har::HarSink::new();
            let ok = run_all_noting(
                &a.common,
                &cfg,
                &mut sink,
                false,
                &mut |_, _| {},
                &mut |_, _| {},
            );
            let mut out = wsdissect::render::Out::new(stdout);
            out.write_all(sink.finish().as_bytes());
            if sink.dropped_entries > 0 {
                eprintln!(
                    "wsdissect: warning: {} HTTP exchanges past the HAR's cap of {} left out",
                    sink.dropped_entries,
                    wsdissect::render::har::MAX_ENTRIES
                );
            }
            if let Err(code) = finish_output(out) {
                return code;
            }
            ok
        }
        ListFormat::Json => {
            let payload = record_payload(kind, a.payload, reads_payload, &mut cfg);
            let handshakes = kind == TableKind::Conns;
            if several(&a.common, live) {
                // Each capture into its own writer, in argument order.
                let mut out = wsdissect::render::Out::new(stdout);
                let (ok, _) = multi::run(&a.common.captures, a.common.threads(), &mut out, |job| {
                    let name = Some(job.run.path.to_string());
                    let mut sink =
                        json_sink(kind, handshakes, payload, job.out, filter.clone(), records);
                    sink.inner.set_capture(name.clone());
                    sink.set_capture(name);
                    let f = decode_held(&a.common, &cfg, &job.run, &mut sink, true);
                    let _ = sink.inner.out.w.flush();
                    f
                });
                if let Err(code) = finish_output(out) {
                    return code;
                }
                return exit_status(ok);
            }
            let (ok, out) = json_records(
                &a.common, &cfg, kind, handshakes, payload, stdout, filter, records,
            );
            if let Err(code) = finish_output(out) {
                return code;
            }
            ok
        }
        ListFormat::Csv => {
            // The same records, payloads and defaults as JSON, as rows.
            let payload = record_payload(kind, a.payload, reads_payload, &mut cfg);
            let record = match kind {
                TableKind::Frames => CsvRecord::Frame,
                TableKind::Messages => CsvRecord::Message,
                TableKind::Conns => CsvRecord::Conn,
            };
            let escape = io::stdout().is_terminal();
            if several(&a.common, live) {
                // Each capture into its own writer, in argument order; the
                // header row once, with the first.
                let mut out = wsdissect::render::Out::new(stdout);
                let (ok, _) = multi::run(&a.common.captures, a.common.threads(), &mut out, |job| {
                    let name = Some(job.run.path.to_string());
                    let csv = if job.run.index == 0 {
                        CsvSink::new(job.out, record, payload, escape)
                    } else {
                        CsvSink::continuing(job.out, record, payload, escape)
                    };
                    let mut sink = Filtered::new(csv, filter.clone(), records);
                    sink.inner.set_capture(name.clone());
                    sink.set_capture(name);
                    let f = decode_held(&a.common, &cfg, &job.run, &mut sink, true);
                    let _ = sink.inner.rows.out.w.flush();
                    f
                });
                if let Err(code) = finish_output(out) {
                    return code;
                }
                return exit_status(ok);
            }
            let csv = CsvSink::new(stdout, record, payload, escape);
            let mut sink = Filtered::new(csv, filter, records);
            let ok = run_all_noting(
                &a.common,
                &cfg,
                &mut sink,
                true,
                &mut |s, name| {
                    s.inner.set_capture(Some(name.to_string()));
                    s.set_capture(Some(name.to_string()));
                },
                &mut |_, _| {},
            );
            if let Err(code) = finish_output(sink.inner.rows.out) {
                return code;
            }
            ok
        }
        ListFormat::Table => {
            // A table shows a preview: keep no more than it can show.
            cfg.keep_frame_payload = kind == TableKind::Frames;
            cfg.keep_message_data = kind == TableKind::Messages;
            // (A filter on the payload reads all of it, as in JSON.)
            if !reads_payload {
                cfg.max_frame_bytes = cfg.max_frame_bytes.min(TABLE_PREVIEW_BYTES);
                cfg.max_message_bytes = cfg.max_message_bytes.min(TABLE_PREVIEW_BYTES);
            }
            if several(&a.common, live) {
                // Each capture into its own table, in argument order; the
                // stream column, once an HTTP/2 record showed it, stays.
                let mut out = wsdissect::render::Out::new(stdout);
                let width = wsdissect::render::width::output_width();
                let (ok, _) = multi::run(&a.common.captures, a.common.threads(), &mut out, |job| {
                    let name = Some(job.run.path.to_string());
                    let rows = RowsNow {
                        table: TableSink::new(job.out, kind)
                            .payload(a.payload.unwrap_or(PayloadMode::Text))
                            .width(width)
                            .color(color)
                            .with_stream_column(job.carry),
                        live,
                    };
                    let mut sink = Filtered::new(rows, filter.clone(), records);
                    sink.inner.table.set_capture(name.clone());
                    sink.set_capture(name);
                    let f = decode_held(&a.common, &cfg, &job.run, &mut sink, true);
                    let mut table = sink.inner.table;
                    table.flush();
                    let _ = table.out.w.flush();
                    carrying(f, table.stream_column())
                });
                if let Err(code) = finish_output(out) {
                    return code;
                }
                return exit_status(ok);
            }
            let rows = RowsNow {
                table: TableSink::new(stdout, kind)
                    .payload(a.payload.unwrap_or(PayloadMode::Text))
                    .width(wsdissect::render::width::output_width())
                    .color(color),
                live,
            };
            let mut sink = Filtered::new(rows, filter, records);
            let ok = run_all_noting(
                &a.common,
                &cfg,
                &mut sink,
                true,
                &mut |s, name| {
                    s.inner.table.set_capture(many.then(|| name.to_string()));
                    s.set_capture(Some(name.to_string()));
                },
                &mut |_, _| {},
            );
            let mut sink = sink.inner.table;
            sink.flush();
            if let Err(code) = finish_output(sink.out) {
                return code;
            }
            ok
        }
    };
    exit_status(ok)
}

fn check(a: CheckArgs, color: bool) -> ExitCode {
    if a.list_codes {
        let mut out = wsdissect::render::Out::new(BufWriter::new(io::stdout().lock()));
        let text = wsdissect::render::check::list_codes(
            a.format == CheckFormat::Json,
            wsdissect::render::width::output_width(),
        );
        out.write_all(text.as_bytes());
        return match finish_output(out) {
            Ok(()) => ExitCode::SUCCESS,
            Err(code) => code,
        };
    }
    let filter = match parse_filter(&a.common) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let parquet = match parquet_out(a.format == CheckFormat::Parquet, &a.output, "finding") {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut cfg = config(&a.common);
    cfg.keep_frame_payload = false;
    cfg.keep_message_data = false;
    // The findings that pass the filter are reported, and decide the exit status.
    let mut check_sink = CheckSink::new(a.allow.clone());
    check_sink.color = color;
    let shard_filter = filter.clone();
    let mut sink = Filtered::new(check_sink, filter, records::FINDINGS);
    // With --threads 2 or more: several threads at once where that is exact.
    let threaded = check_threads::run(&a.common, &cfg, shard_filter.as_ref(), &mut sink);
    let ok = threaded.unwrap_or_else(|| {
        run_all(
            &a.common,
            &cfg,
            &mut sink,
            |s, name| {
                s.inner.begin_capture(name);
                s.set_capture(Some(name.to_string()));
            },
            |s, reason| s.inner.capture_error(reason),
        )
    });
    let sink = sink.inner;
    let fail_on = match a.fail_on {
        FailOn::Warning => Severity::Warning,
        FailOn::Error => Severity::Error,
    };
    let mut out = wsdissect::render::Out::new(BufWriter::new(io::stdout().lock()));
    match a.format {
        CheckFormat::Table => sink.render_table(&mut out, wsdissect::render::width::output_width()),
        CheckFormat::Json => sink.render_json(&mut out),
        CheckFormat::Junit => sink.render_junit(&mut out, fail_on),
        CheckFormat::Csv => {
            let mut json = wsdissect::render::Out::new(Vec::new());
            sink.render_json(&mut json);
            let tty = io::stdout().is_terminal();
            let mut rows = CsvRows::new(Vec::new(), CsvRecord::Finding, PayloadMode::None, tty);
            rows.json_lines(&json.w);
            out.write_all(&rows.out.w);
        }
        CheckFormat::Parquet => {
            // The finding records of the JSON (not its summary), into columns.
            if let Some(pq) = parquet {
                let mut pq = wsdissect::render::Out::new(pq);
                sink.render_json(&mut pq);
                if let Err(code) = finish_parquet(pq) {
                    return code;
                }
            }
        }
    }
    if let Err(code) = finish_output(out) {
        return code;
    }
    if !ok {
        ExitCode::from(2)
    } else if sink.fails(fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn explain(a: ExplainArgs, color: bool) -> ExitCode {
    use wsdissect::explain::{ExplainSink, Format, Selection};
    let filter = match parse_filter(&a.common) {
        Ok(f) => f,
        Err(code) => return code,
    };
    if filter.is_some() && a.common.captures.iter().any(|p| p == "-") {
        eprintln!(
            "wsdissect: explain --filter reads the capture twice (to find the connection first): give a file, not standard input"
        );
        return ExitCode::from(2);
    }
    let mut cfg = config(&a.common);
    cfg.keep_frame_payload = true;
    cfg.keep_message_data = true;
    cfg.max_frame_bytes = cfg.max_frame_bytes.min(64 << 10);
    cfg.max_message_bytes = cfg.max_message_bytes.min(64 << 10);
    // The TLS records and HTTP/2 frames beneath, for the walkthrough.
    cfg.layers = true;
    // The TCP section reads the connection's segments.
    cfg.segment_log = true;
    let sel = Selection {
        conn: a.conn,
        frame: a.frame,
        packet: a.packet,
        max_frames: Some(a.max_frames),
        stream: a.stream,
    };
    let out = std::cell::RefCell::new(wsdissect::render::Out::new(BufWriter::new(
        io::stdout().lock(),
    )));
    let mut ok = true;
    for path in &a.common.sources() {
        let mut sel = sel.clone();
        // --filter: the walkthrough is of the first connection with a
        // record that passes it (among --conn's, --packet's).
        if let Some(f) = &filter {
            let found = open(path, false).map(|r| {
                wsdissect::render::filtered::first_matching_conn(r, &cfg, f, sel.conn, path)
            });
            match found {
                Ok(Ok(Some(c))) => sel.conn = Some(c),
                Ok(Ok(None)) => {
                    eprintln!(
                        "wsdissect: {}: no record matches the filter",
                        escape_name(path)
                    );
                    ok = false;
                    continue;
                }
                Ok(Err(e)) => {
                    eprintln!("wsdissect: {}: {e}", escape_name(path));
                    ok = false;
                    continue;
                }
                Err(e) => {
                    eprintln!("wsdissect: {}: {e}", escape_name(path));
                    ok = false;
                    continue;
                }
            }
        }
        let format = match a.format {
            ExplainFormat::Text => Format::Text(wsdissect::explain::text::Style { color }),
            ExplainFormat::Html => Format::Html,
            ExplainFormat::Json => Format::Json,
        };
        // The walkthrough is written as the frames arrive, in one pass
        // (--packet counts the frames of every connection that may be the
        // packet's until one is).
        let emit = Box::new(|b: &[u8]| out.borrow_mut().write_all(b));
        let mut sink = ExplainSink::new(sel.clone(), path, format, emit);
        // Payloads are kept for the connection shown only (--packet: for
        // all, until the packet tells which).
        let keep = match sel.packet {
            Some(_) => wsdissect::config::KeepFor::default(),
            None => wsdissect::config::KeepFor::one(sel.conn),
        };
        let cfg = Config {
            keep_for: keep.clone(),
            ..cfg.clone()
        };
        let mut keeping = KeepChosen {
            inner: &mut sink,
            keep,
        };
        // The push techniques are explained from the same pass.
        let mut push = wsdissect::push::PushSink::new();
        let mut tee = wsdissect::event::Tee(&mut keeping, &mut push);
        if !run_one(&a.common, path, &cfg, &mut tee) {
            ok = false;
            continue;
        }
        let (mut channels, mut not_shown) = (Vec::new(), 0);
        if sel.frame.is_none() && sel.packet.is_none() {
            channels = push.finish();
            // A teaching page, not an inventory: `wsdissect push` lists them all.
            not_shown = channels.len().saturating_sub(EXPLAIN_PUSH_CHANNELS);
            channels.truncate(EXPLAIN_PUSH_CHANNELS);
        }
        // What was asked for by --conn, --frame, --packet or --stream is not there.
        let asked = sel.conn.is_some()
            || sel.frame.is_some()
            || sel.packet.is_some()
            || sel.stream.is_some();
        if let Some(nf) = sink.finish(channels, not_shown)
            && asked
        {
            eprintln!("wsdissect: {path}: {nf}");
            ok = false;
        }
    }
    let out = out.into_inner();
    if let Err(code) = finish_output(out) {
        return code;
    }
    exit_status(ok)
}

fn push(a: PushArgs) -> ExitCode {
    use wsdissect::render::filtered::SseView;
    if a.format == ListFormat::Parquet {
        eprintln!(
            "wsdissect: push writes no Parquet (frames, messages, conns, app and check do); use --format json or csv"
        );
        return ExitCode::from(2);
    }
    let filter = match parse_filter(&a.common) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let filter = filter.as_ref();
    if a.format == ListFormat::Har {
        eprintln!("wsdissect: --format har is for `messages`");
        return ExitCode::from(2);
    }
    let mut cfg = config(&a.common);
    cfg.keep_frame_payload = false;
    cfg.keep_message_data = false;
    // SSE events are written as they are decoded; the channels after each capture.
    let out = std::cell::RefCell::new(wsdissect::render::Out::new(Stdout::new(is_live(&a.common))));
    let mut ok = true;
    let many = a.common.captures.len() > 1;
    let width = wsdissect::render::width::output_width();
    // CSV: one header row, then a row per channel of every capture.
    let mut csv = (a.format == ListFormat::Csv).then(|| {
        CsvRows::new(
            Vec::new(),
            CsvRecord::Push,
            PayloadMode::None,
            io::stdout().is_terminal(),
        )
    });
    if several(&a.common, is_live(&a.common)) {
        // Each capture into its own writer, in argument order; the CSV
        // header once, with the first capture read (the carry: written).
        let escape = io::stdout().is_terminal();
        let mut o = out.borrow_mut();
        let (ok, header_done) = multi::run(&a.common.captures, a.common.threads(), &mut o, |job| {
            let multi::Job {
                carry: header_done,
                out: w,
                run,
            } = job;
            let w = std::cell::RefCell::new(wsdissect::render::Out::new(w));
            let path = run.path;
            let capture = Some(path);
            let mut sink = wsdissect::push::PushSink::new();
            if a.format == ListFormat::Json {
                sink = sink.on_sse(|e| {
                    if filter.is_some_and(|f| !f.matches(&SseView { event: e, capture })) {
                        return;
                    }
                    let line = wsdissect::push::render::sse_line(e, capture);
                    w.borrow_mut().write_all(line.as_bytes());
                });
            }
            let f = decode_held(&a.common, &cfg, &run, &mut sink, false);
            let mut done = header_done;
            if !f.failed {
                let mut csv = (a.format == ListFormat::Csv).then(|| {
                    done = true;
                    let rows = if header_done {
                        CsvRows::continuing
                    } else {
                        CsvRows::new
                    };
                    rows(Vec::new(), CsvRecord::Push, PayloadMode::None, escape)
                });
                let text = push_text(a.format, filter, &mut sink, path, many, width, csv.as_mut());
                drop(sink);
                w.borrow_mut().write_all(text.as_bytes());
            } else {
                drop(sink);
            }
            let _ = w.into_inner().w.flush();
            carrying(f, done)
        });
        if a.format == ListFormat::Csv && !header_done {
            // The header, when no capture could be read.
            let rows = CsvRows::new(Vec::new(), CsvRecord::Push, PayloadMode::None, escape);
            o.write_all(&rows.out.w);
        }
        drop(o);
        if let Err(code) = finish_output(out.into_inner()) {
            return code;
        }
        return exit_status(ok);
    }
    for path in &a.common.sources() {
        let capture = Some(path.as_str());
        let mut sink = wsdissect::push::PushSink::new();
        if a.format == ListFormat::Json {
            sink = sink.on_sse(|e| {
                if filter.is_some_and(|f| !f.matches(&SseView { event: e, capture })) {
                    return;
                }
                let line = wsdissect::push::render::sse_line(e, capture);
                out.borrow_mut().write_all(line.as_bytes());
            });
        }
        if !run_one(&a.common, path, &cfg, &mut sink) {
            ok = false;
            continue;
        }
        let text = push_text(a.format, filter, &mut sink, path, many, width, csv.as_mut());
        out.borrow_mut().write_all(text.as_bytes());
    }
    if let Some(rows) = &csv {
        // The header, when no capture could be read.
        out.borrow_mut().write_all(&rows.out.w);
    }
    if let Err(code) = finish_output(out.into_inner()) {
        return code;
    }
    exit_status(ok)
}

/// `push`'s output of one capture, after its run: its channels and
/// findings that pass the filter (the classification itself sees the
/// whole capture), in the format asked for; CSV rows under `csv`'s header.
#[allow(clippy::too_many_arguments)]
fn push_text(
    format: ListFormat,
    filter: Option<&wsdissect::filter::Filter>,
    sink: &mut wsdissect::push::PushSink<'_>,
    path: &str,
    many: bool,
    width: Option<usize>,
    csv: Option<&mut CsvRows<Vec<u8>>>,
) -> String {
    use wsdissect::render::filtered::{FindingView, PushView};
    let capture = Some(path);
    let mut channels = sink.finish();
    let mut findings = std::mem::take(&mut sink.findings);
    if let Some(f) = filter {
        channels.retain(|c| {
            f.matches(&PushView {
                channel: c,
                capture,
            })
        });
        findings.retain(|x| {
            f.matches(&FindingView {
                finding: x,
                capture,
            })
        });
    }
    match format {
        ListFormat::Json => wsdissect::push::render::json_lines_of(&channels, &findings, capture),
        ListFormat::Table if filter.is_some() && channels.is_empty() && findings.is_empty() => {
            let mut t = String::new();
            if many {
                t.push_str(&escape_name(path));
                t.push('\n');
            }
            t.push_str("no channel matches the filter\n");
            t
        }
        ListFormat::Csv => {
            let lines = wsdissect::push::render::json_lines_of(&channels, &[], capture);
            csv.map_or_else(String::new, |rows| {
                rows.json_lines(lines.as_bytes());
                String::from_utf8_lossy(&std::mem::take(&mut rows.out.w)).into_owned()
            })
        }
        ListFormat::Table | ListFormat::Har => {
            wsdissect::push::render::table_of(&channels, &findings, many.then_some(path), width)
        }
        // Refused before any capture is read.
        ListFormat::Parquet => String::new(),
    }
}

/// `-i` with capture files: a usage error (exits 2).
fn live_args_conflict(cli: &Cli) {
    let common = match &cli.cmd {
        Cmd::Frames(a) | Cmd::Messages(a) | Cmd::Conns(a) => &a.common,
        Cmd::Check(a) => &a.common,
        Cmd::Explain(a) => &a.common,
        Cmd::Push(a) => &a.common,
        Cmd::App(a) => &a.common,
        Cmd::Lesson(_) => return,
        Cmd::Stats(a) => &a.common,
        Cmd::Report(a) => &a.common,
    };
    if common.interface.is_some() && !common.captures.is_empty() {
        use clap::CommandFactory;
        Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "-i reads a live interface: name no capture files with it",
            )
            .exit();
    }
}

fn app(a: AppArgs) -> ExitCode {
    use wsdissect::render::app::{AppFormat, AppSink};
    let mut cfg = config(&a.common);
    // The decoders read whole message bodies; frame payloads are not shown.
    cfg.keep_frame_payload = false;
    cfg.keep_message_data = true;
    cfg.decode_as = a.decode_as;
    let format = match a.format {
        AppFormatArg::Table => AppFormat::Table,
        AppFormatArg::Json | AppFormatArg::Parquet => AppFormat::Json,
        AppFormatArg::Csv => AppFormat::Csv,
    };
    let width = match format {
        AppFormat::Table => wsdissect::render::width::output_width(),
        _ => None,
    };
    let payload = a.payload.unwrap_or(PayloadMode::Text);
    let filter = match parse_filter(&a.common) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let parquet = match parquet_out(a.format == AppFormatArg::Parquet, &a.output, "app") {
        Ok(p) => p,
        Err(code) => return code,
    };
    if let Some(pq) = parquet {
        // The JSON records, into columns.
        let mut sink = Filtered::new(
            AppSink::new(pq, format, payload, width),
            filter,
            records::APPS,
        );
        let many = a.common.captures.len() > 1;
        let ok = run_all(
            &a.common,
            &cfg,
            &mut sink,
            |s, name| {
                s.set_capture(Some(name.to_string()));
                s.inner.set_capture(name, many);
            },
            |_, _| {},
        );
        if let Err(code) = finish_parquet(sink.inner.out) {
            return code;
        }
        return exit_status(ok);
    }
    let stdout = Stdout::new(is_live(&a.common));
    let mut sink = Filtered::new(
        AppSink::new(stdout, format, payload, width),
        filter,
        records::APPS,
    );
    let many = a.common.captures.len() > 1;
    // Say so on stderr when a capture holds nothing to decode.
    let mut last: Option<String> = None;
    let say_none = |s: &AppSink<Stdout>, last: &Option<String>| {
        if let Some(name) = last
            && s.count == 0
        {
            eprintln!(
                "wsdissect: no subprotocol messages in {} (--decode-as PROTO decodes sessions that negotiated none)",
                escape_name(name)
            );
        }
    };
    let ok = run_all(
        &a.common,
        &cfg,
        &mut sink,
        |s, name| {
            say_none(&s.inner, &last);
            last = Some(name.to_string());
            s.set_capture(Some(name.to_string()));
            s.inner.set_capture(name, many);
        },
        |s, _| s.inner.count = u64::MAX,
    );
    let sink = sink.inner;
    if sink.out.ok() {
        say_none(&sink, &last);
    }
    if let Err(code) = finish_output(sink.out) {
        return code;
    }
    exit_status(ok)
}

fn stats(a: StatsArgs) -> ExitCode {
    use wsdissect::stage::kinds;
    use wsdissect::stats::StatsCollector;
    let filter = match parse_filter(&a.common) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let mut cfg = config(&a.common);
    // Subprotocol records are decoded from whole messages; frame payloads
    // are kept only for a filter that reads them.
    cfg.keep_message_data = true;
    cfg.keep_frame_payload = filter_reads_payload(filter.as_ref());
    let filtering = filter.is_some();
    let records = kinds::FRAME | kinds::MESSAGE | kinds::FINDING | kinds::APP;
    let mut sink = Filtered::new(StatsCollector::new(), filter, records);
    let tty = io::stdout().is_terminal();
    let width = wsdissect::render::width::output_width();
    let many = a.common.sources().len() > 1;
    let mut json = Vec::new();
    let mut out = wsdissect::render::Out::new(BufWriter::new(io::stdout().lock()));
    if matches!(a.format, ListFormat::Parquet | ListFormat::Har) {
        eprintln!("wsdissect: stats writes --format table, json or csv");
        return ExitCode::from(2);
    }
    let mut ok = true;
    for path in &a.common.sources() {
        sink.inner = StatsCollector::new().records_only(filtering);
        sink.set_capture(Some(path.clone()));
        if !run_one(&a.common, path, &cfg, &mut sink) {
            ok = false;
            continue;
        }
        let stats = sink.inner.stats();
        match a.format {
            ListFormat::Table => {
                let mut t =
                    wsdissect::render::stats::table(&stats, many.then_some(path.as_str()), width);
                if many {
                    t.push('\n');
                }
                out.write_all(t.as_bytes());
            }
            ListFormat::Json => {
                let mut lines = Vec::new();
                wsdissect::render::stats::json_lines(&stats, Some(path), &mut lines);
                out.write_all(&lines);
            }
            ListFormat::Csv => wsdissect::render::stats::json_lines(&stats, Some(path), &mut json),
            // Refused before the loop.
            ListFormat::Parquet | ListFormat::Har => {}
        }
    }
    if a.format == ListFormat::Csv {
        match wsdissect::render::stats::csv_of(&json, tty) {
            Ok(b) => out.write_all(&b),
            Err(e) => {
                eprintln!("wsdissect: cannot write CSV: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if let Err(code) = finish_output(out) {
        return code;
    }
    exit_status(ok)
}

/// `report -o FILE.html`: every capture read into its report, then one page.
fn report(a: ReportArgs) -> ExitCode {
    use wsdissect::report::ReportSink;
    use wsdissect::stage::kinds;
    let Some(output) = a.output.clone() else {
        eprintln!(
            "wsdissect: report needs -o FILE.html (the page to write; -o - writes standard output)"
        );
        return ExitCode::from(2);
    };
    let filter = match parse_filter(&a.common) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let mut cfg = config(&a.common);
    cfg.keep_frame_payload = filter_reads_payload(filter.as_ref());
    cfg.keep_message_data = cfg.keep_frame_payload;
    let mut reports = Vec::new();
    let mut ok = true;
    for path in &a.common.sources() {
        // As stats: the filter chooses the records counted, and with it
        // only the connections it chose are listed.
        let records = kinds::FRAME | kinds::MESSAGE | kinds::FINDING | kinds::APP;
        let sink = ReportSink::new(path, filter.is_some());
        let mut sink = Filtered::new(sink, filter.clone(), records);
        sink.set_capture(Some(path.clone()));
        if !run_all(
            &Common {
                captures: vec![path.clone()],
                ..a.common.clone()
            },
            &cfg,
            &mut sink,
            |_, _| {},
            |s, why| s.inner.problem(why),
        ) {
            ok = false;
        }
        reports.push(sink.inner.finish());
    }
    let html = wsdissect::report::page(&reports);
    let written = if output == "-" {
        let mut out = wsdissect::render::Out::new(BufWriter::new(io::stdout().lock()));
        out.write_all(html.as_bytes());
        finish_output(out)
    } else {
        std::fs::write(&output, html).map_err(|e| {
            eprintln!("wsdissect: cannot write {}: {e}", escape_name(&output));
            ExitCode::from(2)
        })
    };
    if let Err(code) = written {
        return code;
    }
    exit_status(ok)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    live_args_conflict(&cli);
    // Ctrl-C ends the capture where it is: what was read is decoded and
    // printed, with the summary. A second Ctrl-C exits at once.
    {
        use signal_hook::consts::SIGINT;
        use wsdissect::capture::STOP;
        let _ = signal_hook::flag::register_conditional_shutdown(SIGINT, 130, &STOP);
        let _ = signal_hook::flag::register(SIGINT, &STOP);
    }
    let color = wsdissect::render::color::enabled(
        match cli.color {
            ColorWhen::Always => Some(true),
            ColorWhen::Never => Some(false),
            ColorWhen::Auto => None,
        },
        io::stdout().is_terminal(),
    );
    match cli.cmd {
        Cmd::Frames(a) => list(TableKind::Frames, a, color),
        Cmd::Messages(a) => list(TableKind::Messages, a, color),
        Cmd::Conns(a) => list(TableKind::Conns, a, color),
        Cmd::Check(a) => check(a, color),
        Cmd::Explain(a) => explain(a, color),
        Cmd::Push(a) => push(a),
        Cmd::App(a) => app(a),
        Cmd::Lesson(a) => lesson(a),
        Cmd::Stats(a) => stats(a),
        Cmd::Report(a) => report(a),
    }
}
