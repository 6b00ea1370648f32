//! `wsdissect._native`: the Rust side of the Python package.
//!
//! One entry point, [`stream`]: a thread runs the library's pipeline over a
//! capture file, the JSON writer of the command-line program
//! (`render::json::JsonSink`) turns its events into JSON lines, and the lines
//! come back to Python in chunks of whole lines. So every record a Python
//! caller sees is the CLI's JSON record, byte for byte, and the dissection
//! runs without the GIL (the thread never takes it; the caller releases it
//! while it waits for a chunk).

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read, Write};
use std::ops::ControlFlow;
use std::rc::Rc;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use pyo3::create_exception;
use pyo3::exceptions::{
    PyFileNotFoundError, PyIsADirectoryError, PyOSError, PyPermissionError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use wsdissect::event::{Event, Sink};
use wsdissect::findings::Code;
use wsdissect::render::PayloadMode;
use wsdissect::render::app::{AppFormat, AppSink};
use wsdissect::render::filtered::{FindingView, PushView, records};
use wsdissect::render::json::{FindingJson, JsonSink, Select, write_record};
use wsdissect::{Config, run};

create_exception!(
    _native,
    CaptureError,
    PyValueError,
    "The file is not a capture wsdissect can read (not pcap or pcapng, or a link type it does not know)."
);

/// Bytes of JSON lines handed to Python at once (a chunk ends at a line's end).
const CHUNK: usize = 4 << 20;
/// Chunks in flight between the dissecting thread and Python.
const IN_FLIGHT: usize = 4;
/// Capture-level problems reported as warnings, at most.
const MAX_PROBLEMS: usize = 4;

/// What crosses from the dissecting thread to Python.
enum Msg {
    /// Whole JSON lines, and the length of the longest.
    Chunk(Vec<u8>, usize),
    /// The run ended: warnings, or why the capture could not be read.
    Done(Result<Vec<String>, Failure>),
}

enum Failure {
    Io(io::Error),
    NotACapture(String),
}

/// Collects JSON lines and sends them on in chunks.
struct ChunkWriter {
    buf: Vec<u8>,
    longest: usize,
    tx: SyncSender<Msg>,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let buf = std::mem::take(&mut self.buf);
        let longest = std::mem::take(&mut self.longest);
        self.tx
            .send(Msg::Chunk(buf, longest))
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))
    }
}

impl Write for ChunkWriter {
    /// The JSON writer hands over one whole line a call.
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        self.longest = self.longest.max(b.len());
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The one chunk writer, shared by the record writers of one run (JSON
/// records and app records: each writes whole lines).
#[derive(Clone)]
struct Shared(Rc<RefCell<ChunkWriter>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().write(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// App records into the shared writer; for tables, with their nested
/// objects as JSON text (`render::columns::Kind::Json`), as the Parquet
/// files of `app --format parquet` hold them.
struct AppLines {
    w: Shared,
    json_text: bool,
}

impl Write for AppLines {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        if !self.json_text {
            return self.w.write(b);
        }
        let mut rec: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(b)?;
        wsdissect::render::columns::json_text_fields(&mut rec, wsdissect::render::columns::APP);
        let mut line = serde_json::to_vec(&rec)?;
        line.push(b'\n');
        self.w.write_all(&line)?;
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A sink behind a reference, as a sink (for `Filtered`).
struct Dyn<'a>(&'a mut dyn Sink);

impl Sink for Dyn<'_> {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        self.0.event(ev)
    }
    fn withheld(&mut self, ev: Event<'_>) {
        self.0.withheld(ev);
    }
}

/// Passes events on, keeping the capture-level problems the command-line
/// program prints on standard error (link types whose packets are skipped).
struct Watch<'a> {
    inner: &'a mut dyn Sink,
    problems: Vec<String>,
}

impl Sink for Watch<'_> {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        if let Event::Finding(f) = ev
            && f.code == Code::CaptureUnsupportedLink
            && self.problems.len() < MAX_PROBLEMS
        {
            self.problems.push(f.message.clone());
        }
        self.inner.event(ev)
    }
}

/// Opens a capture as the command-line program does: a directory is an
/// error, a gzip stream (by its magic bytes) is inflated on the way.
fn open(path: &str) -> io::Result<Box<dyn Read + Send>> {
    let f = File::open(path)?;
    if f.metadata()?.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::IsADirectory,
            "is a directory",
        ));
    }
    let mut r = io::BufReader::with_capacity(1 << 16, f);
    let gz = {
        use io::BufRead;
        r.fill_buf()?.starts_with(&[0x1f, 0x8b])
    };
    if gz {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(r)))
    } else {
        Ok(Box::new(r))
    }
}

/// What to dissect and which records to write.
#[derive(Clone)]
struct Request {
    path: String,
    select: Select,
    push: bool,
    app: bool,
    payload: PayloadMode,
    /// NSS key log files for TLS.
    keylog: Vec<String>,
    /// The command line's --filter.
    filter: Option<wsdissect::filter::Filter>,
    /// The command line's --decode-as.
    decode_as: Option<wsdissect::app::Protocol>,
    /// App records with nested objects as JSON text (for tables).
    json_text: bool,
}

/// Runs one capture into `w`; returns the warnings.
fn dissect(req: &Request, w: ChunkWriter) -> Result<Vec<String>, Failure> {
    let reader = open(&req.path).map_err(Failure::Io)?;
    // The key log files, as the command line's --keylog reads them.
    let mut keys = wsdissect::tlscore::KeyLog::new();
    for k in &req.keylog {
        let f = File::open(k).map_err(Failure::Io)?;
        keys.read_from(io::BufReader::new(f)).map_err(Failure::Io)?;
    }
    // Keep only what the records show (as the command-line program does):
    // payloads shown or filtered on; whole messages for the app decoders.
    let reads_payload = req.filter.as_ref().is_some_and(reads_payload);
    let wanted = req.payload != PayloadMode::None || reads_payload;
    let cfg = Config {
        keep_frame_payload: req.select.frames && wanted,
        keep_message_data: (req.select.messages && wanted) || req.app,
        keylog: wsdissect::tlscore::KeyRing::new(keys),
        decode_as: req.decode_as,
        ..Config::default()
    };
    let shared = Shared(Rc::new(RefCell::new(w)));
    let mut json = JsonSink::new(shared.clone(), req.select, req.payload);
    json.set_capture(Some(req.path.clone()));
    let app_lines = AppLines {
        w: shared.clone(),
        json_text: req.json_text,
    };
    let mut app = AppSink::new(app_lines, AppFormat::Json, req.payload, None);
    app.set_capture(&req.path, false);
    let mut push = wsdissect::push::PushSink::new();
    let summary = {
        let (mut tee, mut tee2);
        let inner: &mut dyn Sink = match (req.push, req.app) {
            (false, false) => &mut json,
            (true, false) => {
                tee = wsdissect::event::Tee(&mut json, &mut push);
                &mut tee
            }
            (false, true) => {
                tee = wsdissect::event::Tee(&mut json, &mut app);
                &mut tee
            }
            (true, true) => {
                tee2 = wsdissect::event::Tee(&mut app, &mut push);
                tee = wsdissect::event::Tee(&mut json, &mut tee2);
                &mut tee
            }
        };
        // The filter keeps the records of the kinds asked for, as the
        // command line's --filter does.
        let kinds = [
            (req.select.frames, records::FRAMES),
            (req.select.messages, records::MESSAGES),
            (req.select.handshakes, wsdissect::stage::kinds::HANDSHAKE),
            (req.select.conns, wsdissect::stage::kinds::CONN_END),
            (req.select.findings, records::FINDINGS),
            (req.select.sse, wsdissect::stage::kinds::SSE),
            (req.app, records::APPS),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |acc, (_, k)| acc | k);
        let mut filtered =
            wsdissect::render::filtered::Filtered::new(Dyn(inner), req.filter.clone(), kinds);
        filtered.set_capture(Some(req.path.clone()));
        let mut watch = Watch {
            inner: &mut filtered,
            problems: Vec::new(),
        };
        let summary = run(reader, &cfg, &mut watch).map_err(|e| Failure::NotACapture(e.0))?;
        (summary, watch.problems)
    };
    let (summary, mut warnings) = summary;
    if req.push {
        // As `push --format json` ends: a record per channel, then (when
        // findings are wanted too) the findings of push classification.
        let capture = Some(req.path.as_str());
        let mut line = Vec::new();
        let keep_push = |c: &wsdissect::push::PushRecord| {
            req.filter.as_ref().is_none_or(|f| {
                f.matches(&PushView {
                    channel: c,
                    capture,
                })
            })
        };
        for p in push.finish().iter().filter(|c| keep_push(c)) {
            line.clear();
            if write_record(&mut line, capture, p).is_ok() {
                json.out.write_all(&line);
            }
        }
        if req.select.findings {
            let keep = |x: &&wsdissect::findings::Finding| {
                req.filter.as_ref().is_none_or(|f| {
                    f.matches(&FindingView {
                        finding: x,
                        capture,
                    })
                })
            };
            for f in push.findings.iter().filter(keep) {
                line.clear();
                if write_record(&mut line, capture, &FindingJson::from(f)).is_ok() {
                    json.out.write_all(&line);
                }
            }
        }
    }
    if let Some(p) = &summary.problem {
        warnings.push(format!(
            "the capture appears to have been cut short or damaged after packet {}: {}; everything before it was decoded",
            p.after_packet, p.message
        ));
    }
    if json.out.error.is_none() && app.out.error.is_none() {
        // A closed receiver (the caller stopped iterating) is no error.
        let _ = shared.0.borrow_mut().send();
    }
    Ok(warnings)
}

/// Whether the filter reads payload bytes (so they must be kept), as the
/// command line decides it.
fn reads_payload(f: &wsdissect::filter::Filter) -> bool {
    const PAYLOAD: &[&str] = &[
        "text",
        "payload_text",
        "payload_hex",
        "payload_base64",
        "data_hex",
        "data_base64",
    ];
    f.fields().iter().any(|n| PAYLOAD.contains(n))
}

fn payload_mode(s: &str) -> PyResult<PayloadMode> {
    match s {
        "none" => Ok(PayloadMode::None),
        "text" => Ok(PayloadMode::Text),
        "hex" => Ok(PayloadMode::Hex),
        "base64" => Ok(PayloadMode::Base64),
        _ => Err(PyValueError::new_err(format!(
            "payload must be one of 'none', 'text', 'hex', 'base64', not {s:?}"
        ))),
    }
}

fn select(kinds: &[String]) -> PyResult<(Select, bool, bool)> {
    let mut s = Select::default();
    let mut push = false;
    let mut app = false;
    for k in kinds {
        match k.as_str() {
            "app" => app = true,
            "frame" => s.frames = true,
            "message" => s.messages = true,
            "handshake" => s.handshakes = true,
            "conn" => s.conns = true,
            "finding" => s.findings = true,
            "sse-event" => s.sse = true,
            "push" => push = true,
            _ => {
                return Err(PyValueError::new_err(format!(
                    "unknown record type {k:?} (frame, message, handshake, conn, finding, sse-event, push, app)"
                )));
            }
        }
    }
    Ok((s, push, app))
}

fn to_pyerr(path: &str, f: Failure) -> PyErr {
    match f {
        Failure::NotACapture(m) => CaptureError::new_err(format!("{path}: {m}")),
        Failure::Io(e) => {
            let msg = format!("{path}: {e}");
            match e.kind() {
                io::ErrorKind::NotFound => PyFileNotFoundError::new_err(msg),
                io::ErrorKind::PermissionDenied => PyPermissionError::new_err(msg),
                io::ErrorKind::IsADirectory => PyIsADirectoryError::new_err(msg),
                _ => PyOSError::new_err(msg),
            }
        }
    }
}

/// JSON lines of one capture, in chunks of whole lines (`bytes`); iterate it.
///
/// When it is exhausted, `warnings` holds what the command-line program
/// would print on standard error (a capture cut short, link types skipped).
#[pyclass(module = "wsdissect._native")]
struct Stream {
    path: String,
    rx: Mutex<Option<Receiver<Msg>>>,
    /// The longest line of the last chunk returned (bytes).
    #[pyo3(get)]
    longest: usize,
    #[pyo3(get)]
    warnings: Vec<String>,
}

#[pymethods]
impl Stream {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Py<PyBytes>>> {
        let rx = match self.rx.lock() {
            Ok(mut g) => g.take(),
            Err(_) => None,
        };
        let Some(rx) = rx else {
            return Ok(None);
        };
        let (rx, msg) = py.detach(move || {
            let msg = rx.recv();
            (rx, msg)
        });
        match msg {
            Ok(Msg::Chunk(b, longest)) => {
                if let Ok(mut g) = self.rx.lock() {
                    *g = Some(rx);
                }
                self.longest = longest;
                Ok(Some(PyBytes::new(py, &b).unbind()))
            }
            Ok(Msg::Done(Ok(w))) => {
                self.warnings = w;
                Ok(None)
            }
            Ok(Msg::Done(Err(f))) => Err(to_pyerr(&self.path, f)),
            // The thread ended without a word: it cannot, but end quietly.
            Err(_) => Ok(None),
        }
    }
}

/// Starts dissecting `path` on a thread of its own; returns the chunks of
/// JSON lines of the record types in `kinds` (`frame`, `message`,
/// `handshake`, `conn`, `finding`, `sse-event`, `push`, `app`), payloads as
/// `payload` says (`none`, `text`, `hex`, `base64`); `filter` and
/// `decode_as` as the command line's `--filter` and `--decode-as`;
/// `json_text`: app records' nested objects as JSON text.
#[pyfunction]
#[pyo3(signature = (path, kinds, payload, keylog = Vec::new(), filter = None, decode_as = None, json_text = false))]
fn stream(
    path: String,
    kinds: Vec<String>,
    payload: &str,
    keylog: Vec<String>,
    filter: Option<&str>,
    decode_as: Option<&str>,
    json_text: bool,
) -> PyResult<Stream> {
    let (select, push, app) = select(&kinds)?;
    let filter = match filter {
        None => None,
        Some(expr) => Some(
            wsdissect::filter::Filter::parse(expr)
                .map_err(|e| PyValueError::new_err(e.to_string()))?,
        ),
    };
    let decode_as = match decode_as {
        None => None,
        Some(name) => Some(wsdissect::app::Protocol::from_name(name).ok_or_else(|| {
            PyValueError::new_err(format!(
                "unknown subprotocol {name:?}; known: mqtt, stomp, socketio, graphql-ws, graphql-transport-ws"
            ))
        })?),
    };
    let req = Request {
        path: path.clone(),
        select,
        push,
        app,
        payload: payload_mode(payload)?,
        keylog,
        filter,
        decode_as,
        json_text,
    };
    let (tx, rx) = sync_channel(IN_FLIGHT);
    let done = tx.clone();
    std::thread::Builder::new()
        .name("wsdissect".into())
        .spawn(move || {
            let w = ChunkWriter {
                buf: Vec::new(),
                longest: 0,
                tx,
            };
            let r = dissect(&req, w);
            let _ = done.send(Msg::Done(r));
        })
        .map_err(|e| PyOSError::new_err(format!("cannot start a thread: {e}")))?;
    Ok(Stream {
        path,
        rx: Mutex::new(Some(rx)),
        longest: 0,
        warnings: Vec::new(),
    })
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(stream, m)?)?;
    m.add_class::<Stream>()?;
    m.add("CaptureError", m.py().get_type::<CaptureError>())?;
    Ok(())
}
