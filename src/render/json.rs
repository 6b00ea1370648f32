//! JSON lines, exactly as DESIGN.md fixes them (plus a few extra fields):
//! the one writer of every record type ([`write_record`]: `type`, then
//! `capture`, then the record's fields), and the sink that writes the
//! pipeline's records.

use std::io::Write;
use std::net::SocketAddr;
use std::ops::ControlFlow;

use serde::Serialize;

use super::{MessageTypes, Out, PayloadKind, PayloadMode, base64_into, hex_into};
use crate::event::{ConnSummary, Event, FrameRecord, MessageRecord, Sink};
use crate::findings::{Code, Finding};
use crate::handshake::Handshake;
use crate::ws::frame::OpCode;

/// Which record types a command prints.
#[derive(Debug, Clone, Copy, Default)]
pub struct Select {
    pub frames: bool,
    pub messages: bool,
    pub handshakes: bool,
    pub findings: bool,
    pub conns: bool,
    /// `sse-event` records.
    pub sse: bool,
}

/// Serialises borrowed codes as their strings.
struct Codes<'a>(&'a [Code]);

impl Serialize for Codes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|c| c.as_str()))
    }
}

/// `ip:port`, IPv6 as `[ip]:port` (SocketAddr's Display does exactly that).
struct Addr(SocketAddr);

impl Serialize for Addr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// A record of the JSON output, tagged by its `type`.
pub trait JsonRecord: Serialize {
    /// The `type` field.
    const TYPE: &'static str;
}

/// Writes one record as a JSON line into `line` (appended): `type`, then
/// `capture` when given, then the record's own fields.
pub fn write_record<T: JsonRecord + ?Sized>(
    line: &mut Vec<u8>,
    capture: Option<&str>,
    rec: &T,
) -> serde_json::Result<()> {
    write_tagged(line, T::TYPE, capture, rec)
}

/// [`write_record`] with the `type` given (for records whose type depends
/// on where they are written, like `explain`'s).
pub fn write_tagged<T: Serialize + ?Sized>(
    line: &mut Vec<u8>,
    ty: &str,
    capture: Option<&str>,
    rec: &T,
) -> serde_json::Result<()> {
    let start = line.len();
    line.extend_from_slice(b"{\"type\":");
    super::escape::json_into(line, ty)?;
    if let Some(c) = capture {
        line.extend_from_slice(b",\"capture\":");
        super::escape::json_into(line, c)?;
    }
    let at = line.len();
    if let Err(e) = super::escape::json_into(line, rec) {
        line.truncate(start);
        return Err(e);
    }
    // The record's opening brace joins the head; an empty record adds nothing.
    if line.get(at..) == Some(b"{}".as_slice()) {
        line.truncate(at);
        line.push(b'}');
    } else if let Some(b) = line.get_mut(at) {
        *b = b',';
    }
    line.push(b'\n');
    Ok(())
}

/// A frame record after its per-connection head (`type`, `capture`,
/// `conn`, `client`, `server`), which is formatted once per connection.
#[derive(Serialize)]
struct FrameJson<'a> {
    from: &'static str,
    packet: u64,
    ts: f64,
    fin: bool,
    rsv1: bool,
    rsv2: bool,
    rsv3: bool,
    opcode: u8,
    opcode_name: &'static str,
    masked: bool,
    mask_key: Option<&'a str>,
    payload_len: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_hex: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_base64: Option<&'a str>,
    /// `payload_text` of a text fragment that cuts a character: the cut
    /// bytes are U+FFFD there (the message record has the whole text).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    payload_lossy: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    payload_incomplete: bool,
    close_code: Option<u16>,
    close_reason: Option<&'a str>,
    first_packet: u64,
    segments: u32,
    findings: Codes<'a>,
}

#[derive(Serialize)]
struct MessageJson<'a> {
    conn: u64,
    client: Addr,
    server: Addr,
    carrier: &'static str,
    stream: Option<u32>,
    from: &'static str,
    opcode: u8,
    opcode_name: &'static str,
    frames: u32,
    packets: [u64; 2],
    ts: f64,
    compressed: bool,
    wire_len: u64,
    len: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_hex: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_base64: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    data_incomplete: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    undecodable: bool,
    findings: Codes<'a>,
}

#[derive(Serialize)]
struct HandshakeJson<'a> {
    conn: u64,
    client: Addr,
    server: Addr,
    carrier: &'static str,
    stream: Option<u32>,
    packet: u64,
    response_packet: Option<u64>,
    method: &'a str,
    /// RFC 8441 `:protocol` of an HTTP/2 extended CONNECT (absent over h1).
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<&'static str>,
    path: &'a str,
    host: Option<&'a str>,
    key: Option<&'a str>,
    version: Option<&'a str>,
    status: Option<u16>,
    accept: Option<&'a str>,
    accept_expected: Option<&'a str>,
    accept_ok: Option<bool>,
    subprotocol: Option<&'a str>,
    subprotocols_offered: &'a [String],
    extensions: Option<&'a str>,
    extensions_offered: Option<&'a str>,
    /// null in clear; the TLS it travelled in (DESIGN.md, second release).
    tls: Option<&'a crate::tls::TlsInfo>,
    findings: Vec<&'static str>,
}

/// The `finding` record.
#[derive(Serialize)]
pub struct FindingJson<'a> {
    code: &'static str,
    severity: &'static str,
    conn: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<u32>,
    from: Option<&'static str>,
    packet: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    message: &'a str,
}

impl JsonRecord for FindingJson<'_> {
    const TYPE: &'static str = "finding";
}

impl<'a> From<&'a Finding> for FindingJson<'a> {
    fn from(f: &'a Finding) -> Self {
        FindingJson {
            code: f.code.as_str(),
            severity: f.severity().as_str(),
            conn: f.conn(),
            stream: f.stream(),
            from: f.from().map(|d| d.as_str()),
            packet: f.packet(),
            offset: f.offset(),
            message: &f.message,
        }
    }
}

impl JsonRecord for MessageJson<'_> {
    const TYPE: &'static str = "message";
}

impl JsonRecord for HandshakeJson<'_> {
    const TYPE: &'static str = "handshake";
}

impl JsonRecord for ConnJson<'_> {
    const TYPE: &'static str = "conn";
}

impl JsonRecord for crate::sse::SseRecord {
    const TYPE: &'static str = "sse-event";
}

#[derive(Serialize)]
struct DirJson<'a> {
    frames: u64,
    messages: u64,
    payload_bytes: u64,
    close_code: Option<u16>,
    close_reason: Option<&'a str>,
}

#[derive(Serialize)]
struct ConnJson<'a> {
    conn: u64,
    client: Addr,
    server: Addr,
    packets: [u64; 2],
    first_ts: f64,
    last_ts: f64,
    duration: f64,
    handshake: bool,
    path: Option<&'a str>,
    status: Option<u16>,
    accept_ok: Option<bool>,
    subprotocol: Option<&'a str>,
    extensions: Option<&'a str>,
    /// null for plaintext (DESIGN.md, second release).
    tls: Option<&'a crate::tls::TlsInfo>,
    client_to_server: DirJson<'a>,
    server_to_client: DirJson<'a>,
    findings: Codes<'a>,
}

/// Serialises one record as a line through a reused buffer.
fn emit_into<W: Write, T: JsonRecord>(
    out: &mut Out<W>,
    line: &mut Vec<u8>,
    capture: Option<&str>,
    v: &T,
) {
    if !out.ok() {
        return;
    }
    line.clear();
    if write_record(line, capture, v).is_ok() {
        out.write_all(line);
    }
}

/// A frame record's per-session head, without its closing brace: the
/// record goes on after it.
fn frame_head(capture: Option<&str>, session: crate::session::SessionRef) -> Vec<u8> {
    #[derive(Serialize)]
    struct Head {
        conn: u64,
        client: Addr,
        server: Addr,
        carrier: &'static str,
        stream: Option<u32>,
    }
    impl JsonRecord for Head {
        const TYPE: &'static str = "frame";
    }
    let mut v = Vec::new();
    let _ = write_record(
        &mut v,
        capture,
        &Head {
            conn: session.conn,
            client: Addr(session.client),
            server: Addr(session.server),
            carrier: session.carrier.as_str(),
            stream: session.stream,
        },
    );
    v.pop(); // the newline
    v.pop(); // the closing brace
    v
}

/// Writes the selected records as JSON lines.
pub struct JsonSink<W: Write> {
    pub out: Out<W>,
    select: Select,
    payload: PayloadMode,
    capture: Option<String>,
    hex: String,
    hex2: String,
    key_hex: String,
    line: Vec<u8>,
    /// Each open connection's frame-record head, formatted once (formatting
    /// the endpoints per frame is costly).
    /// (by connection: several sessions may share one).
    frame_heads: foldhash::HashMap<u64, Vec<(crate::session::SessionRef, Vec<u8>)>>,
    /// The type of each direction's open message, for its continuations.
    types: MessageTypes,
}

impl<W: Write> JsonSink<W> {
    pub fn new(w: W, select: Select, payload: PayloadMode) -> Self {
        JsonSink {
            out: Out::new(w),
            select,
            payload,
            capture: None,
            hex: String::new(),
            hex2: String::new(),
            key_hex: String::new(),
            line: Vec::new(),
            frame_heads: foldhash::HashMap::default(),
            types: MessageTypes::default(),
        }
    }

    /// Names the capture in every record (the path as given, `-` for
    /// standard input).
    pub fn set_capture(&mut self, name: Option<String>) {
        self.capture = name;
        self.frame_heads.clear();
    }

    fn emit<T: JsonRecord>(&mut self, v: &T) {
        emit_into(&mut self.out, &mut self.line, self.capture.as_deref(), v);
    }

    fn frame(&mut self, f: &FrameRecord<'_>) {
        if let Some(k) = f.header.mask_key {
            hex_into(&k, &mut self.key_hex);
        }
        let key = f.header.mask_key.map(|_| self.key_hex.as_str());
        let capture = self.capture.as_deref();
        let session = f.session;
        let heads = self.frame_heads.entry(session.conn).or_default();
        let i = match heads.iter().position(|(s, _)| *s == session) {
            Some(i) => i,
            None => {
                heads.push((session, frame_head(capture, session)));
                heads.len() - 1
            }
        };
        let head = match heads.get(i) {
            Some((_, h)) => h.as_slice(),
            None => &[],
        };
        let kind = self.types.kind(f);
        let mut hex = std::mem::take(&mut self.hex);
        let (mut payload_hex, mut payload_text, mut payload_base64) = (None, None, None);
        let lossy_text;
        let mut payload_lossy = false;
        // One field kind per message, decided by its type: text messages
        // (all their fragments) as text, binary and compressed ones (deflate
        // data on the wire) as hex; pings and
        // pongs as text when they are UTF-8; close frames as hex (their
        // code and reason have their own fields).
        let as_text = match kind {
            PayloadKind::Text => true,
            PayloadKind::Binary | PayloadKind::Compressed => false,
            PayloadKind::Control => {
                f.close_code.is_none()
                    && f.header.opcode != OpCode::Close
                    && std::str::from_utf8(f.payload).is_ok()
            }
            PayloadKind::Unknown => std::str::from_utf8(f.payload).is_ok(),
        };
        match self.payload {
            PayloadMode::None => {}
            PayloadMode::Hex => {
                hex_into(f.payload, &mut hex);
                payload_hex = Some(hex.as_str());
            }
            PayloadMode::Base64 => {
                base64_into(f.payload, &mut hex);
                payload_base64 = Some(hex.as_str());
            }
            PayloadMode::Text if as_text => {
                lossy_text = String::from_utf8_lossy(f.payload);
                payload_lossy = matches!(lossy_text, std::borrow::Cow::Owned(_));
                payload_text = Some(lossy_text.as_ref());
            }
            PayloadMode::Text => {
                hex_into(f.payload, &mut hex);
                payload_hex = Some(hex.as_str());
            }
        }
        let reason = f.close_reason.map(String::from_utf8_lossy);
        let rec = FrameJson {
            from: f.from.as_str(),
            packet: f.packet,
            ts: f.ts,
            fin: f.header.fin,
            rsv1: f.header.rsv1,
            rsv2: f.header.rsv2,
            rsv3: f.header.rsv3,
            opcode: f.header.opcode.as_u8(),
            opcode_name: f.header.opcode.name(),
            masked: f.header.masked(),
            mask_key: key,
            payload_len: f.header.payload_len,
            payload_hex,
            payload_text,
            payload_base64,
            payload_lossy,
            payload_incomplete: !f.payload_complete && self.payload != PayloadMode::None,
            close_code: f.close_code,
            close_reason: reason.as_deref(),
            first_packet: f.first_packet,
            segments: f.segments,
            findings: Codes(f.findings),
        };
        if self.out.ok() {
            let line = &mut self.line;
            line.clear();
            line.extend_from_slice(head);
            let at = line.len();
            if super::escape::json_into(line, &rec).is_ok() {
                line[at] = b','; // the tail's opening brace joins the head
                line.push(b'\n');
                self.out.write_all(line);
            }
        }
        self.hex = hex;
    }

    fn message(&mut self, m: &MessageRecord<'_>) {
        let mut hex = std::mem::take(&mut self.hex);
        let mut b64 = std::mem::take(&mut self.hex2);
        let text = (m.opcode == OpCode::Text && m.decodable)
            .then(|| std::str::from_utf8(m.data).ok())
            .flatten();
        let (mut data_hex, mut data_base64) = (None, None);
        match self.payload {
            PayloadMode::None => {}
            PayloadMode::Hex => {
                hex_into(m.data, &mut hex);
                data_hex = Some(hex.as_str());
            }
            PayloadMode::Base64 => {
                base64_into(m.data, &mut b64);
                data_base64 = Some(b64.as_str());
            }
            PayloadMode::Text => {
                if text.is_none() {
                    hex_into(m.data, &mut hex);
                    data_hex = Some(hex.as_str());
                }
            }
        }
        let rec = MessageJson {
            conn: m.session.conn,
            client: Addr(m.session.client),
            server: Addr(m.session.server),
            carrier: m.session.carrier.as_str(),
            stream: m.session.stream,
            from: m.from.as_str(),
            opcode: m.opcode.as_u8(),
            opcode_name: m.opcode.name(),
            frames: m.frames,
            packets: [m.first_packet, m.last_packet],
            ts: m.last_ts,
            compressed: m.compressed,
            wire_len: m.wire_len,
            len: m.len,
            text: if self.payload == PayloadMode::Text {
                text
            } else {
                None
            },
            data_hex,
            data_base64,
            data_incomplete: !m.data_complete && self.payload != PayloadMode::None,
            undecodable: !m.decodable,
            findings: Codes(m.findings),
        };
        self.emit(&rec);
        self.hex = hex;
        self.hex2 = b64;
    }

    fn handshake(&mut self, s: crate::session::SessionRef, h: &Handshake) {
        let rec = HandshakeJson {
            conn: s.conn,
            client: Addr(s.client),
            server: Addr(s.server),
            carrier: s.carrier.as_str(),
            stream: s.stream,
            packet: h.packet,
            response_packet: h.response_packet,
            method: &h.method,
            protocol: (h.kind == crate::handshake::UpgradeKind::ExtendedConnect)
                .then_some("websocket"),
            path: &h.path,
            host: h.host.as_deref(),
            key: h.key.as_deref(),
            version: h.version.as_deref(),
            status: h.status,
            accept: h.accept.as_deref(),
            accept_expected: h.accept_expected.as_deref(),
            accept_ok: h.accept_ok,
            subprotocol: h.subprotocol.as_deref(),
            subprotocols_offered: &h.offered_protocols,
            extensions: h.extensions.as_deref(),
            extensions_offered: h.offered_extensions.as_deref(),
            tls: h.tls.as_ref(),
            findings: h.findings.iter().map(|f| f.code.as_str()).collect(),
        };
        self.emit(&rec);
    }

    fn conn(&mut self, c: &ConnSummary) {
        let dir = |i: usize| DirJson {
            frames: c.stats[i].frames,
            messages: c.stats[i].messages,
            payload_bytes: c.stats[i].payload_bytes,
            close_code: c.stats[i].close_code,
            close_reason: c.stats[i].close_reason.as_deref(),
        };
        let rec = ConnJson {
            conn: c.session.conn,
            client: Addr(c.session.client),
            server: Addr(c.session.server),
            packets: [c.first_packet, c.last_packet],
            first_ts: c.first_ts,
            last_ts: c.last_ts,
            duration: ((c.last_ts - c.first_ts) * 1e6).round() / 1e6,
            handshake: c.handshake_seen,
            path: c.path.as_deref(),
            status: c.status,
            accept_ok: c.accept_ok,
            subprotocol: c.subprotocol.as_deref(),
            extensions: c.extensions.as_deref(),
            tls: c.tls.as_ref(),
            client_to_server: dir(0),
            server_to_client: dir(1),
            findings: Codes(&c.findings),
        };
        self.emit(&rec);
    }

    /// Writes one finding record.
    pub fn finding(&mut self, f: &Finding) {
        self.emit(&FindingJson::from(f));
    }

    /// Writes one `sse-event` record.
    pub fn sse(&mut self, e: &crate::sse::SseRecord) {
        self.emit(e);
    }
}

impl<W: Write> Sink for JsonSink<W> {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        match ev {
            Event::Frame(f) if self.select.frames => self.frame(f),
            Event::Message(m) if self.select.messages => self.message(m),
            Event::Handshake(c, h) if self.select.handshakes => self.handshake(c, h),
            Event::Finding(f) if self.select.findings => self.finding(f),
            Event::Sse(e) if self.select.sse => self.sse(e),
            Event::ConnEnd(c) => {
                let conn = c.session.conn;
                self.frame_heads.remove(&conn);
                self.types.end(conn);
                if self.select.conns {
                    self.conn(c);
                }
            }
            _ => {}
        }
        if self.out.ok() {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    }

    fn withheld(&mut self, ev: Event<'_>) {
        if let Event::Frame(f) = ev {
            self.types.kind(f);
        }
    }
}
