//! JSON lines, exactly as DESIGN.md fixes them (plus a few extra fields):
//! the one writer of every record type ([`write_record`]: `type`, then
//! `capture`, then the record's fields), and the sink that writes the
//! pipeline's records.

use std::io::Write;
use std::net::SocketAddr;
use std::ops::ControlFlow;

use serde::Serialize;

use super::escape::json_str_into;
use super::{MessageTypes, Out, PayloadKind, PayloadMode, base64_into, hex_into};
use crate::event::{ConnSummary, Event, FrameRecord, MessageRecord, SessionRef, Sink};
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

/// Bytes written as a lowercase hex string.
#[derive(Clone, Copy)]
struct Hex<'a>(&'a [u8]);

impl Serialize for Hex<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut h = String::new();
        hex_into(self.0, &mut h);
        s.serialize_str(&h)
    }
}

/// Bytes written as a base64 string (standard alphabet, padded).
#[derive(Clone, Copy)]
struct B64<'a>(&'a [u8]);

impl Serialize for B64<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut b = String::new();
        base64_into(self.0, &mut b);
        s.serialize_str(&b)
    }
}

/// The writers of the frequent records' values, straight into the line:
/// the same bytes as their derived `Serialize` gives through
/// [`super::escape::json_into`] (numbers by serde_json's own formatter,
/// strings by the one-pass escaper), without serde's per-field calls.
mod put {
    use serde_json::ser::{CompactFormatter, Formatter};

    use super::{B64, Hex};
    use crate::findings::Code;

    /// `,"name":` (a constant: the key needs no escaping).
    macro_rules! key {
        ($o:expr, $k:literal) => {
            $o.extend_from_slice(concat!(",\"", $k, "\":").as_bytes())
        };
    }
    pub(super) use key;

    pub fn u64(o: &mut Vec<u8>, v: u64) {
        // Writing to a Vec cannot fail.
        let _ = CompactFormatter.write_u64(o, v);
    }

    /// As serde_json: finite numbers by its float formatter, NaN and
    /// infinities as `null`.
    pub fn f64(o: &mut Vec<u8>, v: f64) {
        if v.is_finite() {
            let _ = CompactFormatter.write_f64(o, v);
        } else {
            o.extend_from_slice(b"null");
        }
    }

    /// A capture time, the same bytes as [`f64`] writes (the shortest
    /// decimal that reads back as the same double), with no float
    /// formatting when the double is the one nearest a whole number of
    /// microseconds from 1 s to 2^33 s, as every packet's time up to the
    /// year 2242 is ([`crate::capture::Timestamp::as_f64`]). There a
    /// double's spacing is under 10^-6, so no other decimal of six places
    /// or fewer reads back as it: its shortest decimal is the
    /// microseconds' own, trailing zeros dropped (`.0` when none is left).
    /// Anything else goes to the float formatter.
    pub fn ts(o: &mut Vec<u8>, v: f64) {
        if !ts_of_micros(o, v) {
            f64(o, v)
        }
    }

    /// [`ts`]'s digits when `v` is such a time (true), else nothing
    /// written (false).
    pub(super) fn ts_of_micros(o: &mut Vec<u8>, v: f64) -> bool {
        const TOP: f64 = (1u64 << 33) as f64;
        if (1.0..TOP).contains(&v) {
            // 10^6 <= x < 2^53: the cast truncates, the subtraction is exact,
            // and x is rounded half up (adding 0.5 instead would round an
            // exact tie to even past 2^52). v is within half its spacing
            // (<= 2^-21) of the microseconds it stands for and the product
            // rounds by at most 0.5, so x is within 0.98 of them: they are
            // the rounding or one either side. A microsecond count is v's
            // when it reads back as v (both exact as doubles; the division
            // rounds once, to nearest).
            let x = v * 1e6;
            let t = x as i64;
            let near = (t + i64::from(x - t as f64 >= 0.5)) as u64;
            let is_v = |us: u64| us as f64 / 1e6 == v;
            let found = if is_v(near) {
                Some(near)
            } else {
                [near - 1, near + 1].into_iter().find(|&us| is_v(us))
            };
            if let Some(us) = found {
                let secs = us / 1_000_000;
                let frac = (us - secs * 1_000_000) as u32;
                // Ten digits of seconds (under 2^33), the point, six
                // places: written two digits at a time, then the leading
                // and trailing zeros dropped (one kept after the point).
                let (hi, lo) = ((secs / 100_000_000) as u32, (secs % 100_000_000) as u32);
                let mut b = [0u8; 17];
                for (at, n) in [
                    (0, hi),
                    (2, lo / 1_000_000),
                    (4, lo / 10_000 % 100),
                    (6, lo / 100 % 100),
                    (8, lo % 100),
                    (11, frac / 10_000),
                    (13, frac / 100 % 100),
                    (15, frac % 100),
                ] {
                    b[at..at + 2].copy_from_slice(pair(n as usize));
                }
                b[10] = b'.';
                let mut end = 17;
                while b[end - 1] == b'0' {
                    end -= 1;
                }
                if end == 11 {
                    end = 12;
                }
                if secs >= 1_000_000_000 {
                    // Every time since 2001: a copy of fixed size.
                    let keep = o.len() + end;
                    o.extend_from_slice(&b);
                    o.truncate(keep);
                } else {
                    let start = b[..9].iter().position(|&c| c != b'0').unwrap_or(9);
                    o.extend_from_slice(&b[start..end]);
                }
                return true;
            }
        }
        false
    }

    /// The two decimal digits of `n` (below 100).
    fn pair(n: usize) -> &'static [u8] {
        const PAIRS: &[u8; 200] = b"\
            0001020304050607080910111213141516171819\
            2021222324252627282930313233343536373839\
            4041424344454647484950515253545556575859\
            6061626364656667686970717273747576777879\
            8081828384858687888990919293949596979899";
        &PAIRS[2 * n..2 * n + 2]
    }

    pub fn bool(o: &mut Vec<u8>, v: bool) {
        o.extend_from_slice(if v { b"true" } else { b"false" });
    }

    pub fn opt_u64(o: &mut Vec<u8>, v: Option<u64>) {
        match v {
            Some(v) => u64(o, v),
            None => o.extend_from_slice(b"null"),
        }
    }

    pub fn opt_str(o: &mut Vec<u8>, v: Option<&str>) {
        match v {
            Some(v) => super::json_str_into(o, v),
            None => o.extend_from_slice(b"null"),
        }
    }

    /// Hex digits need no escaping (const-hex encodes, with SIMD where the
    /// CPU has it, into the line sized once).
    pub fn hex(o: &mut Vec<u8>, h: Hex<'_>) {
        if let Ok(k) = <&[u8; 4]>::try_from(h.0) {
            // A mask key (every masked frame has one): a table is cheaper
            // than sizing the line for the encoder.
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            let mut d = [b'"'; 10];
            for (pair, b) in d[1..9].chunks_exact_mut(2).zip(k) {
                pair[0] = DIGITS[usize::from(b >> 4)];
                pair[1] = DIGITS[usize::from(b & 15)];
            }
            o.extend_from_slice(&d);
            return;
        }
        let at = o.len();
        o.resize(at + h.0.len() * 2 + 2, b'"');
        let encoded = o
            .get_mut(at + 1..at + 1 + h.0.len() * 2)
            .map(|dst| const_hex::encode_to_slice(h.0, dst));
        debug_assert!(matches!(encoded, Some(Ok(()))), "sized above");
    }

    /// The base64 alphabet needs no escaping.
    pub fn b64(o: &mut Vec<u8>, b: B64<'_>) {
        use base64::Engine;
        let engine = &base64::engine::general_purpose::STANDARD;
        o.push(b'"');
        let at = o.len();
        let n = base64::encoded_len(b.0.len(), true).unwrap_or(0);
        o.resize(at + n, 0);
        let done = o.get_mut(at..).map(|dst| engine.encode_slice(b.0, dst));
        if !matches!(done, Some(Ok(k)) if k == n) {
            o.truncate(at);
            o.extend_from_slice(engine.encode(b.0).as_bytes());
        }
        o.push(b'"');
    }

    /// `,"findings":` and the codes.
    pub fn findings(o: &mut Vec<u8>, codes: &[Code]) {
        if codes.is_empty() {
            o.extend_from_slice(b",\"findings\":[]");
        } else {
            key!(o, "findings");
            self::codes(o, codes);
        }
    }

    pub fn codes(o: &mut Vec<u8>, codes: &[Code]) {
        o.push(b'[');
        for (i, c) in codes.iter().enumerate() {
            if i > 0 {
                o.push(b',');
            }
            super::json_str_into(o, c.as_str());
        }
        o.push(b']');
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
    mask_key: Option<Hex<'a>>,
    payload_len: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_hex: Option<Hex<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_base64: Option<B64<'a>>,
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
    data_hex: Option<Hex<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_base64: Option<B64<'a>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    data_incomplete: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    undecodable: bool,
    findings: Codes<'a>,
}

impl FrameJson<'_> {
    /// Appends the record's fields as its derived `Serialize` writes them,
    /// each after a comma, without the braces (the record's head comes
    /// before them).
    fn write_fields(&self, o: &mut Vec<u8>) {
        use put::key;
        match self.from {
            "client" => o.extend_from_slice(b",\"from\":\"client\",\"packet\":"),
            "server" => o.extend_from_slice(b",\"from\":\"server\",\"packet\":"),
            other => {
                key!(o, "from");
                json_str_into(o, other);
                key!(o, "packet");
            }
        }
        put::u64(o, self.packet);
        key!(o, "ts");
        put::ts(o, self.ts);
        // `fin` to `mask_key`'s key depend on six small values: written
        // once each into a table (an opcode whose name is not its own, which
        // the frame path never makes, is written field by field).
        let bits = [self.fin, self.rsv1, self.rsv2, self.rsv3, self.masked];
        match flag_run(self.opcode, self.opcode_name, bits) {
            Some(run) => o.extend_from_slice(run),
            None => write_flag_run(o, self.opcode, self.opcode_name, bits),
        }
        match self.mask_key {
            Some(k) => put::hex(o, k),
            None => o.extend_from_slice(b"null"),
        }
        key!(o, "payload_len");
        put::u64(o, self.payload_len);
        if let Some(h) = self.payload_hex {
            key!(o, "payload_hex");
            put::hex(o, h);
        }
        if let Some(t) = self.payload_text {
            key!(o, "payload_text");
            json_str_into(o, t);
        }
        if let Some(b) = self.payload_base64 {
            key!(o, "payload_base64");
            put::b64(o, b);
        }
        if self.payload_lossy {
            key!(o, "payload_lossy");
            put::bool(o, true);
        }
        if self.payload_incomplete {
            key!(o, "payload_incomplete");
            put::bool(o, true);
        }
        if self.close_code.is_none() && self.close_reason.is_none() {
            o.extend_from_slice(b",\"close_code\":null,\"close_reason\":null,\"first_packet\":");
        } else {
            key!(o, "close_code");
            put::opt_u64(o, self.close_code.map(u64::from));
            key!(o, "close_reason");
            put::opt_str(o, self.close_reason);
            key!(o, "first_packet");
        }
        put::u64(o, self.first_packet);
        key!(o, "segments");
        put::u64(o, self.segments.into());
        put::findings(o, self.findings.0);
    }
}

/// A frame's fields from `fin` to the key of `mask_key` (`bits` are fin,
/// rsv1, rsv2, rsv3 and masked), field by field.
fn write_flag_run(o: &mut Vec<u8>, opcode: u8, opcode_name: &str, bits: [bool; 5]) {
    use put::key;
    let [fin, rsv1, rsv2, rsv3, masked] = bits;
    key!(o, "fin");
    put::bool(o, fin);
    key!(o, "rsv1");
    put::bool(o, rsv1);
    key!(o, "rsv2");
    put::bool(o, rsv2);
    key!(o, "rsv3");
    put::bool(o, rsv3);
    key!(o, "opcode");
    put::u64(o, opcode.into());
    key!(o, "opcode_name");
    json_str_into(o, opcode_name);
    key!(o, "masked");
    put::bool(o, masked);
    key!(o, "mask_key");
}

/// Whether `opcode` is a four-bit opcode and `name` its own name (what
/// the run tables were written with).
fn named_opcode(opcode: u8, name: &str) -> bool {
    let own = OpCode::from_u8(opcode).name();
    opcode <= 15 && (std::ptr::eq(own, name) || own == name)
}

/// [`write_flag_run`]'s bytes from a table of all 512 (16 opcodes, five
/// flags), built on first use; `None` for an opcode over 15 or a name that
/// is not the opcode's own.
fn flag_run(opcode: u8, opcode_name: &str, bits: [bool; 5]) -> Option<&'static [u8]> {
    static RUNS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    if !named_opcode(opcode, opcode_name) {
        return None;
    }
    let runs = RUNS.get_or_init(|| {
        (0..512u16)
            .map(|i| {
                let op = (i >> 5) as u8;
                let bits = std::array::from_fn(|b| i & (1 << b) != 0);
                let mut o = Vec::new();
                write_flag_run(&mut o, op, OpCode::from_u8(op).name(), bits);
                o
            })
            .collect()
    });
    let i = usize::from(opcode) << 5
        | bits
            .iter()
            .enumerate()
            .fold(0, |acc, (b, &on)| acc | usize::from(on) << b);
    runs.get(i).map(Vec::as_slice)
}

impl MessageJson<'_> {
    /// Appends the record's fields after its session's (`from` on) as its
    /// derived `Serialize` writes them, each after a comma, without the
    /// closing brace.
    fn write_fields(&self, o: &mut Vec<u8>) {
        use put::key;
        match message_run(self.from, self.opcode, self.opcode_name) {
            Some(run) => o.extend_from_slice(run),
            None => write_message_run(o, self.from, self.opcode, self.opcode_name),
        }
        put::u64(o, self.frames.into());
        key!(o, "packets");
        o.push(b'[');
        put::u64(o, self.packets[0]);
        o.push(b',');
        put::u64(o, self.packets[1]);
        o.push(b']');
        key!(o, "ts");
        put::ts(o, self.ts);
        key!(o, "compressed");
        put::bool(o, self.compressed);
        key!(o, "wire_len");
        put::u64(o, self.wire_len);
        key!(o, "len");
        put::u64(o, self.len);
        if let Some(t) = self.text {
            key!(o, "text");
            json_str_into(o, t);
        }
        if let Some(h) = self.data_hex {
            key!(o, "data_hex");
            put::hex(o, h);
        }
        if let Some(b) = self.data_base64 {
            key!(o, "data_base64");
            put::b64(o, b);
        }
        if self.data_incomplete {
            key!(o, "data_incomplete");
            put::bool(o, true);
        }
        if self.undecodable {
            key!(o, "undecodable");
            put::bool(o, true);
        }
        put::findings(o, self.findings.0);
    }
}

/// A message's fields from `from` to the key of `frames`, field by field.
fn write_message_run(o: &mut Vec<u8>, from: &str, opcode: u8, opcode_name: &str) {
    use put::key;
    key!(o, "from");
    json_str_into(o, from);
    key!(o, "opcode");
    put::u64(o, opcode.into());
    key!(o, "opcode_name");
    json_str_into(o, opcode_name);
    key!(o, "frames");
}

/// [`write_message_run`]'s bytes from a table (client or server, 16
/// opcodes), built on first use; `None` for anything else.
fn message_run(from: &str, opcode: u8, opcode_name: &str) -> Option<&'static [u8]> {
    static RUNS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    if !named_opcode(opcode, opcode_name) {
        return None;
    }
    let side = match from {
        "client" => 0,
        "server" => 1,
        _ => return None,
    };
    let runs = RUNS.get_or_init(|| {
        (0..32u8)
            .map(|i| {
                let mut o = Vec::new();
                let from = if i & 16 == 0 { "client" } else { "server" };
                let op = i & 15;
                write_message_run(&mut o, from, op, OpCode::from_u8(op).name());
                o
            })
            .collect()
    });
    runs.get(side << 4 | usize::from(opcode)).map(Vec::as_slice)
}

/// The fields a frame or message record has before its own, after `type`:
/// `capture` when given, then the session's `conn`, `client`, `server`,
/// `carrier` and `stream`, each after a comma (formatted once per session:
/// formatting the endpoints per record is costly).
fn session_head(capture: Option<&str>, s: SessionRef) -> Vec<u8> {
    use put::key;
    let mut o = Vec::new();
    if let Some(c) = capture {
        key!(o, "capture");
        json_str_into(&mut o, c);
    }
    key!(o, "conn");
    put::u64(&mut o, s.conn);
    key!(o, "client");
    json_str_into(&mut o, &s.client.to_string());
    key!(o, "server");
    json_str_into(&mut o, &s.server.to_string());
    key!(o, "carrier");
    json_str_into(&mut o, s.carrier.as_str());
    key!(o, "stream");
    put::opt_u64(&mut o, s.stream.map(u64::from));
    o
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

/// The heads of one connection's sessions ([`session_head`]). The first is
/// kept in the table's own slot: most connections carry one session, and
/// a frame's head is then found without following a pointer to a list
/// (with thousands of connections taking turns, each such step is a miss).
struct Heads {
    first: (SessionRef, Box<[u8]>),
    more: Vec<(SessionRef, Box<[u8]>)>,
}

/// Writes the selected records as JSON lines.
pub struct JsonSink<W: Write> {
    pub out: Out<W>,
    select: Select,
    payload: PayloadMode,
    capture: Option<String>,
    line: Vec<u8>,
    /// Each open session's frame and message head ([`session_head`]),
    /// formatted once (by connection: several sessions may share one).
    frame_heads: foldhash::HashMap<u64, Heads>,
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

    /// The head of `session`'s records ([`session_head`]), formatted once.
    fn head(&mut self, session: SessionRef) -> &[u8] {
        let capture = self.capture.as_deref();
        let made = || session_head(capture, session).into_boxed_slice();
        let heads = self
            .frame_heads
            .entry(session.conn)
            .or_insert_with(|| Heads {
                first: (session, made()),
                more: Vec::new(),
            });
        if heads.first.0 == session {
            return &heads.first.1;
        }
        let i = match heads.more.iter().position(|(s, _)| *s == session) {
            Some(i) => i,
            None => {
                heads.more.push((session, made()));
                heads.more.len() - 1
            }
        };
        heads.more.get(i).map_or(&[], |(_, h)| h)
    }

    /// Writes the line in `self.line` (taken back after).
    fn write_line(&mut self, line: Vec<u8>) {
        self.out.write_all(&line);
        self.line = line;
    }

    fn frame(&mut self, f: &FrameRecord<'_>) {
        if !self.out.ok() {
            return;
        }
        // The message type only decides how a payload is shown.
        let kind = match self.payload {
            PayloadMode::None => PayloadKind::Unknown,
            _ => self.types.kind(f),
        };
        let (mut payload_hex, mut payload_text, mut payload_base64) = (None, None, None);
        let lossy_text;
        let mut payload_lossy = false;
        // One field kind per message, decided by its type: text messages
        // (all their fragments) as text, binary and compressed ones (deflate
        // data on the wire) as hex; pings and
        // pongs as text when they are UTF-8; close frames as hex (their
        // code and reason have their own fields).
        let as_text = || super::frame_payload_as_text(f, kind);
        match self.payload {
            PayloadMode::None => {}
            PayloadMode::Hex => payload_hex = Some(Hex(f.payload)),
            PayloadMode::Base64 => payload_base64 = Some(B64(f.payload)),
            PayloadMode::Text if as_text() => {
                lossy_text = match simdutf8::basic::from_utf8(f.payload) {
                    Ok(t) => std::borrow::Cow::Borrowed(t),
                    Err(_) => String::from_utf8_lossy(f.payload),
                };
                payload_lossy = matches!(lossy_text, std::borrow::Cow::Owned(_));
                payload_text = Some(lossy_text.as_ref());
            }
            PayloadMode::Text => payload_hex = Some(Hex(f.payload)),
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
            mask_key: f.header.mask_key.as_ref().map(|k| Hex(k)),
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
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        line.extend_from_slice(b"{\"type\":\"frame\"");
        line.extend_from_slice(self.head(f.session));
        rec.write_fields(&mut line);
        line.extend_from_slice(b"}\n");
        self.write_line(line);
    }

    fn message(&mut self, m: &MessageRecord<'_>) {
        if !self.out.ok() {
            return;
        }
        let text = (m.opcode == OpCode::Text && m.decodable)
            .then(|| simdutf8::basic::from_utf8(m.data).ok())
            .flatten();
        let (mut data_hex, mut data_base64) = (None, None);
        match self.payload {
            PayloadMode::None => {}
            PayloadMode::Hex => data_hex = Some(Hex(m.data)),
            PayloadMode::Base64 => data_base64 = Some(B64(m.data)),
            PayloadMode::Text => {
                if text.is_none() {
                    data_hex = Some(Hex(m.data));
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
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        line.extend_from_slice(b"{\"type\":\"message\"");
        line.extend_from_slice(self.head(m.session));
        rec.write_fields(&mut line);
        line.extend_from_slice(b"}\n");
        self.write_line(line);
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

#[cfg(test)]
mod tests {
    //! The direct writers against the derived `Serialize` they replaced (the
    //! reference): the same bytes for random records.
    use std::net::SocketAddr;

    use proptest::prelude::*;

    use super::*;
    use crate::render::escape;
    use crate::session::Carrier;

    /// The frame head as it was written before the direct writers: the
    /// session's fields through serde.
    fn serde_frame_head(capture: Option<&str>, session: SessionRef) -> Vec<u8> {
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
        write_record(
            &mut v,
            capture,
            &Head {
                conn: session.conn,
                client: Addr(session.client),
                server: Addr(session.server),
                carrier: session.carrier.as_str(),
                stream: session.stream,
            },
        )
        .unwrap();
        v.pop(); // the newline
        v.pop(); // the closing brace
        v
    }

    /// A record's line as the direct writers write it: `type`, the
    /// session's head, then `write` (the record's own fields).
    fn direct_line(
        ty: &str,
        capture: Option<&str>,
        session: SessionRef,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> String {
        let mut line = format!("{{\"type\":\"{ty}\"").into_bytes();
        line.extend_from_slice(&session_head(capture, session));
        write(&mut line);
        line.extend_from_slice(b"}\n");
        String::from_utf8(line).unwrap()
    }

    /// A frame record's line written by the direct writers, and as serde
    /// writes it (the reference).
    fn frame_lines(
        capture: Option<&str>,
        session: SessionRef,
        rec: &FrameJson,
    ) -> (String, String) {
        let mut reference = serde_frame_head(capture, session);
        let at = reference.len();
        escape::json_into(&mut reference, rec).unwrap();
        reference[at] = b',';
        reference.push(b'\n');
        let line = direct_line("frame", capture, session, |o| rec.write_fields(o));
        (line, String::from_utf8(reference).unwrap())
    }

    /// The same for a message record.
    fn message_lines(
        capture: Option<&str>,
        session: SessionRef,
        rec: &MessageJson,
    ) -> (String, String) {
        let mut reference = Vec::new();
        write_record(&mut reference, capture, rec).unwrap();
        let line = direct_line("message", capture, session, |o| rec.write_fields(o));
        (line, String::from_utf8(reference).unwrap())
    }

    /// Strings of every byte class: C0 controls, DEL, C1 controls, quotes,
    /// backslashes, other non-ASCII, emoji, plain ASCII.
    fn text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            (0u32..0x20).prop_map(|c| char::from_u32(c).unwrap()),
            Just('\u{7f}'),
            (0x80u32..0xa0).prop_map(|c| char::from_u32(c).unwrap()),
            (0xa0u32..0x800).prop_map(|c| char::from_u32(c).unwrap()),
            prop_oneof![Just('"'), Just('\\'), Just('/'), Just('\u{2028}')],
            Just('\u{1f600}'),
            (0x20u32..0x7f).prop_map(|c| char::from_u32(c).unwrap()),
            any::<char>(),
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|v| v.into_iter().collect())
    }

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..40)
    }

    fn num() -> impl Strategy<Value = u64> {
        prop_oneof![any::<u64>(), Just(0), Just(u64::MAX), 0u64..1000]
    }

    /// Capture timestamps (microseconds and nanoseconds), and any float
    /// at all (NaN and the infinities are `null`).
    fn time() -> impl Strategy<Value = f64> {
        prop_oneof![
            (0u64..4_000_000_000_000_000).prop_map(|us| us as f64 / 1e6),
            (0u64..u64::MAX).prop_map(|ns| ns as f64 / 1e9),
            any::<f64>(),
            Just(0.0),
            Just(-0.0),
        ]
    }

    fn codes() -> impl Strategy<Value = Vec<Code>> {
        proptest::collection::vec(proptest::sample::select(Code::ALL), 0..4)
    }

    fn session() -> impl Strategy<Value = SessionRef> {
        (
            num(),
            any::<SocketAddr>(),
            any::<SocketAddr>(),
            any::<bool>(),
            any::<Option<u32>>(),
        )
            .prop_map(|(conn, client, server, h2, stream)| SessionRef {
                conn,
                client,
                server,
                carrier: if h2 { Carrier::H2 } else { Carrier::H1 },
                stream,
            })
    }

    fn opcode() -> impl Strategy<Value = OpCode> {
        (0u8..16).prop_map(OpCode::from_u8)
    }

    fn capture() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(text())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        #[test]
        fn frame_lines_are_what_serde_wrote(
            (capture, session, from_client, packet, ts, flags) in
                (capture(), session(), any::<bool>(), num(), time(), any::<[bool; 6]>()),
            (op, key, payload_len, payload, mode, close_code, reason) in
                (opcode(), any::<Option<[u8; 4]>>(), num(), bytes(), 0u8..4,
                 any::<Option<u16>>(), proptest::option::of(text())),
            (text, first_packet, segments, codes) in (text(), num(), any::<u32>(), codes()),
        ) {
            let rec = FrameJson {
                from: if from_client { "client" } else { "server" },
                packet,
                ts,
                fin: flags[0],
                rsv1: flags[1],
                rsv2: flags[2],
                rsv3: flags[3],
                opcode: op.as_u8(),
                opcode_name: op.name(),
                masked: key.is_some(),
                mask_key: key.as_ref().map(|k| Hex(k)),
                payload_len,
                payload_hex: (mode == 1).then_some(Hex(&payload)),
                payload_text: (mode == 2).then_some(text.as_str()),
                payload_base64: (mode == 3).then_some(B64(&payload)),
                payload_lossy: flags[4],
                payload_incomplete: flags[5],
                close_code,
                close_reason: reason.as_deref(),
                first_packet,
                segments,
                findings: Codes(&codes),
            };
            let (line, reference) = frame_lines(capture.as_deref(), session, &rec);
            prop_assert_eq!(line, reference);
        }

        #[test]
        fn message_lines_are_what_serde_wrote(
            (capture, session, from_client, op, frames, packets, ts) in
                (capture(), session(), any::<bool>(), opcode(), any::<u32>(), (num(), num()), time()),
            (compressed, wire_len, len, data, text, mode, flags, codes) in
                (any::<bool>(), num(), num(), bytes(), text(), 0u8..4, any::<[bool; 2]>(), codes()),
        ) {
            let rec = MessageJson {
                conn: session.conn,
                client: Addr(session.client),
                server: Addr(session.server),
                carrier: session.carrier.as_str(),
                stream: session.stream,
                from: if from_client { "client" } else { "server" },
                opcode: op.as_u8(),
                opcode_name: op.name(),
                frames,
                packets: [packets.0, packets.1],
                ts,
                compressed,
                wire_len,
                len,
                text: (mode == 1).then_some(text.as_str()),
                data_hex: (mode == 2).then_some(Hex(&data)),
                data_base64: (mode == 3).then_some(B64(&data)),
                data_incomplete: flags[0],
                undecodable: flags[1],
                findings: Codes(&codes),
            };
            let (line, reference) = message_lines(capture.as_deref(), session, &rec);
            prop_assert_eq!(line, reference);
        }
    }

    /// `put::ts` writes what serde_json's float formatter writes (`put::f64`),
    /// for every microsecond of windows at its range's ends and inside it,
    /// the doubles either side of each (which it must leave to the
    /// formatter), and the times of pcap records to the nanosecond; and
    /// that every whole microsecond from 1 s to 2^33 s takes the digits'
    /// way, not the formatter's.
    #[test]
    fn capture_times_are_what_serde_wrote() {
        const TOP: u64 = 1 << 33;
        fn by_digits(us: u64) {
            let v = us as f64 / 1e6;
            let expected = (1_000_000..TOP * 1_000_000).contains(&us);
            assert_eq!(put::ts_of_micros(&mut Vec::new(), v), expected, "{us} us");
        }
        fn both(v: f64) {
            let (mut fast, mut reference) = (Vec::new(), Vec::new());
            put::ts(&mut fast, v);
            put::f64(&mut reference, v);
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(reference).unwrap(),
                "{v:e} ({:#x})",
                v.to_bits()
            );
        }
        for start in [0, 1, 999_999, 1 << 20, 1 << 32, 1_700_000_000, TOP - 1, TOP] {
            for us in start * 1_000_000..start * 1_000_000 + 60_000 {
                by_digits(us);
                let v = us as f64 / 1e6;
                both(v);
                both(v.next_up());
                both(v.next_down());
            }
        }
        for s in [
            0i64,
            1,
            59,
            1_700_000_000,
            4_102_444_800,
            (TOP - 1) as i64,
            TOP as i64,
            -5,
        ] {
            for nanos in (0..1_000_000_000).step_by(999_983) {
                both(crate::capture::Timestamp { secs: s, nanos }.as_f64());
                if let Ok(secs) = u64::try_from(s) {
                    by_digits(secs * 1_000_000 + u64::from(nanos / 1000));
                }
            }
        }
        for v in [
            f64::NAN,
            f64::INFINITY,
            -1.5,
            -0.0,
            1e-7,
            0.5,
            1e300,
            f64::MIN_POSITIVE,
        ] {
            both(v);
        }
    }

    /// The tables of fixed runs hold only what the field-by-field writers
    /// write: records whose `from` or `opcode_name` the tables do not
    /// know (another side's name, a name that is not the opcode's own, an
    /// opcode over 15) are written field by field, as serde writes them.
    #[test]
    fn records_outside_the_tables_are_what_serde_wrote() {
        let session = SessionRef {
            conn: 7,
            client: "10.0.0.1:40000".parse().unwrap(),
            server: "[fd00::1]:443".parse().unwrap(),
            carrier: Carrier::H1,
            stream: None,
        };
        let key = [1u8, 2, 3, 4];
        for (from, opcode, opcode_name) in [
            ("client", 1, "text"),
            ("server", 2, "text"),
            ("client", 1, "te\"xt"),
            ("both\u{1b}", 9, "ping"),
            ("server", 16, "reserved"),
            ("server", 255, "continuation"),
        ] {
            let rec = FrameJson {
                from,
                packet: 3,
                ts: 1.5,
                fin: true,
                rsv1: false,
                rsv2: true,
                rsv3: false,
                opcode,
                opcode_name,
                masked: true,
                mask_key: Some(Hex(&key)),
                payload_len: 4,
                payload_hex: None,
                payload_text: None,
                payload_base64: None,
                payload_lossy: false,
                payload_incomplete: false,
                close_code: None,
                close_reason: None,
                first_packet: 2,
                segments: 1,
                findings: Codes(&[]),
            };
            let (line, reference) = frame_lines(None, session, &rec);
            assert_eq!(line, reference);

            let rec = MessageJson {
                conn: session.conn,
                client: Addr(session.client),
                server: Addr(session.server),
                carrier: session.carrier.as_str(),
                stream: session.stream,
                from,
                opcode,
                opcode_name,
                frames: 1,
                packets: [2, 3],
                ts: 1.5,
                compressed: false,
                wire_len: 4,
                len: 4,
                text: None,
                data_hex: None,
                data_base64: None,
                data_incomplete: false,
                undecodable: false,
                findings: Codes(&[]),
            };
            let (line, reference) = message_lines(None, session, &rec);
            assert_eq!(line, reference);
        }
    }

    /// A base64 payload of every length class writes as the engine encodes it.
    #[test]
    fn hex_and_base64_fields() {
        for n in 0..70usize {
            let data: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let mut o = Vec::new();
            put::b64(&mut o, B64(&data));
            assert_eq!(o, escape::json_string(&B64(&data)).into_bytes());
            let mut o = b"[".to_vec();
            put::hex(&mut o, Hex(&data));
            let digits: String = data.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(o, format!("[\"{digits}\"").into_bytes());
        }
    }
}
