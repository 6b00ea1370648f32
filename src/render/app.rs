//! `wsdissect app`: the app stage's records ([`crate::app::AppRecord`]) as
//! a table for people, JSON lines (the `app` record of docs/schema.md,
//! through [`super::json::write_record`]) or CSV (a header row of the JSON
//! field names, RFC 4180 quoting).

use std::borrow::Cow;
use std::io::Write;
use std::ops::ControlFlow;

use serde::Serialize;
use serde_json::{Map, Value};

use super::json::{JsonRecord, write_record};
use super::width::{cols, truncate};
use super::{Out, PayloadMode, escape};
use crate::app::AppRecord;
use crate::event::{Event, Sink};

/// How `app` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppFormat {
    Table,
    Json,
    Csv,
}

/// The `app` record as JSON: `type` and `capture` come from
/// [`write_record`], then these fields, then the protocol's.
#[derive(Serialize)]
pub struct AppJson<'a> {
    protocol: &'static str,
    conn: u64,
    client: &'a str,
    server: &'a str,
    stream: Option<u64>,
    from: &'static str,
    packet: u64,
    ts: f64,
    kind: &'a str,
    #[serde(flatten)]
    fields: Cow<'a, Map<String, Value>>,
}

impl JsonRecord for AppJson<'_> {
    const TYPE: &'static str = "app";
}

impl<'a> AppJson<'a> {
    /// The record with its payload fields as `payload` asks: `text` keeps
    /// the decoders' choice (`payload_text` when UTF-8, else
    /// `payload_hex`; `body_*` alike), `hex` and `base64` give the bytes,
    /// `none` leaves them out.
    pub fn new(r: &'a AppRecord, payload: PayloadMode) -> Self {
        AppJson {
            protocol: r.protocol,
            conn: r.conn,
            client: &r.client,
            server: &r.server,
            stream: r.stream,
            from: r.from,
            packet: r.packet,
            ts: r.ts,
            kind: &r.kind,
            fields: payload_fields(&r.fields, payload),
        }
    }
}

/// The byte fields of the record kinds: `NAME_text` or `NAME_hex`.
const BYTE_FIELDS: [&str; 2] = ["payload", "body"];

fn payload_fields(f: &Map<String, Value>, mode: PayloadMode) -> Cow<'_, Map<String, Value>> {
    let has = BYTE_FIELDS
        .iter()
        .any(|n| f.contains_key(&format!("{n}_text")) || f.contains_key(&format!("{n}_hex")));
    if mode == PayloadMode::Text || !has {
        return Cow::Borrowed(f);
    }
    let mut m = Map::new();
    for (k, v) in f {
        let Some((name, form)) = k.rsplit_once('_') else {
            m.insert(k.clone(), v.clone());
            continue;
        };
        if !BYTE_FIELDS.contains(&name) || !(form == "text" || form == "hex") {
            m.insert(k.clone(), v.clone());
            continue;
        }
        let bytes = match (form, v.as_str()) {
            ("text", Some(s)) => s.as_bytes().to_vec(),
            ("hex", Some(h)) => unhex(h),
            _ => continue,
        };
        match mode {
            PayloadMode::None => {}
            PayloadMode::Hex => {
                let mut s = String::new();
                super::hex_into(&bytes, &mut s);
                m.insert(format!("{name}_hex"), Value::from(s));
            }
            PayloadMode::Base64 => {
                let mut s = String::new();
                super::base64_into(&bytes, &mut s);
                m.insert(format!("{name}_base64"), Value::from(s));
            }
            PayloadMode::Text => {}
        }
    }
    Cow::Owned(m)
}

fn unhex(h: &str) -> Vec<u8> {
    h.as_bytes()
        .chunks(2)
        .filter_map(|p| std::str::from_utf8(p).ok())
        .filter_map(|p| u8::from_str_radix(p, 16).ok())
        .collect()
}

/// The CSV columns: the JSON field names of the common fields and of each
/// protocol's main fields (a nested value is written as compact JSON).
pub const CSV_COLUMNS: [&str; 32] = [
    "type",
    "capture",
    "protocol",
    "conn",
    "client",
    "server",
    "stream",
    "from",
    "packet",
    "ts",
    "kind",
    "client_id",
    "topic",
    "qos",
    "retain",
    "dup",
    "packet_id",
    "reason_code",
    "properties",
    "payload_text",
    "payload_hex",
    "payload_base64",
    "headers",
    "body_text",
    "body_hex",
    "body_base64",
    "namespace",
    "event",
    "args",
    "ack_id",
    "id",
    "operation_name",
];

/// Prints the `app` records of a run.
pub struct AppSink<W: Write> {
    pub out: Out<W>,
    format: AppFormat,
    payload: PayloadMode,
    width: Option<usize>,
    capture: Option<String>,
    /// Show the capture's name in table rows (several captures).
    name_rows: bool,
    t0: Option<f64>,
    header_done: bool,
    line: Vec<u8>,
    /// Records of the current capture.
    pub count: u64,
}

impl<W: Write> AppSink<W> {
    pub fn new(w: W, format: AppFormat, payload: PayloadMode, width: Option<usize>) -> Self {
        AppSink {
            out: Out::new(w),
            format,
            payload,
            width,
            capture: None,
            name_rows: false,
            t0: None,
            header_done: false,
            line: Vec::new(),
            count: 0,
        }
    }

    /// The next capture: its name for the records (`name_rows`: also a
    /// line before its table rows).
    pub fn set_capture(&mut self, name: &str, name_rows: bool) {
        self.capture = Some(name.to_string());
        self.name_rows = name_rows;
        self.t0 = None;
        self.count = 0;
        if name_rows && self.format == AppFormat::Table {
            let l = format!("== {}\n", escape::terminal(name));
            self.out.write_all(l.as_bytes());
        }
    }

    fn record(&mut self, r: &AppRecord) {
        self.count += 1;
        match self.format {
            AppFormat::Json => {
                self.line.clear();
                let rec = AppJson::new(r, self.payload);
                if write_record(&mut self.line, self.capture.as_deref(), &rec).is_ok() {
                    self.out.write_all(&self.line);
                }
            }
            AppFormat::Csv => {
                if !self.header_done {
                    self.header_done = true;
                    let mut h = CSV_COLUMNS.join(",");
                    h.push_str("\r\n");
                    self.out.write_all(h.as_bytes());
                }
                let line = csv_row(r, self.capture.as_deref(), self.payload);
                self.out.write_all(line.as_bytes());
            }
            AppFormat::Table => {
                if !self.header_done {
                    self.header_done = true;
                    let h = row(
                        &["pkt", "time", "conn", "dir", "proto", "kind", "what"].map(String::from),
                        self.width,
                    );
                    self.out.write_all(h.as_bytes());
                }
                let t = r.ts - self.t0.unwrap_or(r.ts);
                let conn = match r.stream {
                    Some(s) => format!("{}/{s}", r.conn),
                    None => r.conn.to_string(),
                };
                let cells = [
                    r.packet.to_string(),
                    format!("{t:.6}"),
                    conn,
                    if r.from == "client" { "C>S" } else { "S>C" }.to_string(),
                    short_protocol(r.protocol).to_string(),
                    escape::terminal(&r.kind).into_owned(),
                    what(r, self.payload),
                ];
                let l = row(&cells, self.width);
                self.out.write_all(l.as_bytes());
            }
        }
    }
}

impl<W: Write> Sink for AppSink<W> {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        match ev {
            Event::Start(s) => {
                self.t0.get_or_insert(s.ts);
            }
            Event::App(r) => self.record(r),
            _ => {}
        }
        if self.out.ok() {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    }
}

/// The protocol column: `mqtt`, `stomp`, `sio` (Engine.IO/Socket.IO),
/// `gql` (graphql-transport-ws), `gqlws` (the legacy graphql-ws).
pub fn short_protocol(p: &str) -> &str {
    match p {
        "socketio" => "sio",
        "graphql-transport-ws" => "gql",
        "graphql-ws" => "gqlws",
        p => p,
    }
}

/// Column widths of the table (the last column takes the rest).
const WIDTHS: [usize; 6] = [6, 10, 4, 3, 5, 15];

/// One table line: fixed columns, the last one cut to the width.
fn row(cells: &[String], width: Option<usize>) -> String {
    let mut line = String::new();
    for (i, c) in cells.iter().enumerate() {
        match WIDTHS.get(i) {
            Some(&w) => {
                line.push_str(c);
                let pad = w.saturating_sub(cols(c)) + 1;
                line.extend(std::iter::repeat_n(' ', pad));
            }
            None => match width {
                Some(max) if cols(&line) + cols(c) > max => {
                    let room = max.saturating_sub(cols(&line));
                    line.push_str(&truncate(c, room));
                }
                _ => line.push_str(c),
            },
        }
    }
    let mut line = line.trim_end().to_string();
    line.push('\n');
    line
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

/// The table's last column: what the unit is about (topic, destination,
/// event, id), then its details and payload; terminal-safe.
pub fn what(r: &AppRecord, payload: PayloadMode) -> String {
    let g = |k: &str| r.get(k);
    let mut parts: Vec<String> = Vec::new();
    match r.protocol {
        "mqtt" => {
            if let Some(t) = g("topic") {
                parts.push(text(t));
            } else if let Some(Value::Array(subs)) = g("subscriptions") {
                let t: Vec<String> = subs
                    .iter()
                    .filter_map(|s| s.get("topic"))
                    .map(text)
                    .collect();
                parts.push(t.join(","));
            } else if let Some(Value::Array(t)) = g("topics") {
                parts.push(t.iter().map(text).collect::<Vec<_>>().join(","));
            } else if let Some(c) = g("client_id") {
                parts.push(format!("client_id={}", text(c)));
            }
            if let Some(q) = g("qos") {
                parts.push(format!("q{}", text(q)));
            }
            if g("retain") == Some(&Value::Bool(true)) {
                parts.push("retain".into());
            }
            if let Some(id) = g("packet_id") {
                parts.push(format!("id={}", text(id)));
            }
            if let Some(Value::Array(rcs)) = g("reason_codes") {
                parts.push(format!(
                    "rc={}",
                    rcs.iter().map(text).collect::<Vec<_>>().join(",")
                ));
            } else if let Some(rc) = g("reason_code") {
                parts.push(format!("rc={}", text(rc)));
            }
        }
        "stomp" => {
            if let Some(h) = g("headers") {
                for k in [
                    "destination",
                    "subscription",
                    "receipt",
                    "receipt-id",
                    "message",
                ] {
                    if let Some(v) = h.get(k) {
                        parts.push(format!("{k}={}", text(v)));
                        break;
                    }
                }
            }
        }
        "socketio" => {
            if let Some(ns) = g("namespace").map(text).filter(|n| n != "/") {
                parts.push(ns);
            }
            if let Some(e) = g("event") {
                parts.push(text(e));
            }
            if let Some(id) = g("ack_id") {
                parts.push(format!("ack={}", text(id)));
            }
            for k in ["args", "data", "payload"] {
                if let Some(v) = g(k) {
                    parts.push(text(v));
                    break;
                }
            }
        }
        _ => {
            if let Some(op) = g("operation_name") {
                parts.push(text(op));
            }
            if let Some(id) = g("id") {
                parts.push(format!("id={}", text(id)));
            }
            if let Some(p) = g("payload") {
                parts.push(text(p));
            }
        }
    }
    if payload != PayloadMode::None {
        let f = payload_fields(&r.fields, payload);
        for n in BYTE_FIELDS {
            for form in ["text", "hex", "base64"] {
                if let Some(v) = f.get(&format!("{n}_{form}")) {
                    parts.push(text(v));
                }
            }
        }
    }
    let s = parts.join(" ");
    escape::terminal(&s).into_owned()
}

/// One CSV line (CRLF-terminated) in [`CSV_COLUMNS`] order.
fn csv_row(r: &AppRecord, capture: Option<&str>, payload: PayloadMode) -> String {
    let f = payload_fields(&r.fields, payload);
    let mut line = String::new();
    for (i, col) in CSV_COLUMNS.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        let cell: Cow<'_, str> = match *col {
            "type" => "app".into(),
            "capture" => capture.unwrap_or("").into(),
            "protocol" => r.protocol.into(),
            "conn" => r.conn.to_string().into(),
            "client" => r.client.as_str().into(),
            "server" => r.server.as_str().into(),
            "stream" => r.stream.map(|s| s.to_string()).unwrap_or_default().into(),
            "from" => r.from.into(),
            "packet" => r.packet.to_string().into(),
            "ts" => r.ts.to_string().into(),
            "kind" => r.kind.as_str().into(),
            k => f.get(k).map(text).unwrap_or_default().into(),
        };
        csv_cell(&mut line, &cell);
    }
    line.push_str("\r\n");
    line
}

/// A cell, quoted when it holds a comma, a quote or a line break (RFC
/// 4180); control characters from the capture are escaped as in tables.
fn csv_cell(line: &mut String, cell: &str) {
    let cell = escape::terminal(cell);
    if cell.contains([',', '"', '\r', '\n']) {
        line.push('"');
        line.push_str(&cell.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(&cell);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting_per_rfc4180() {
        let mut l = String::new();
        csv_cell(&mut l, "a,\"b\"");
        assert_eq!(l, "\"a,\"\"b\"\"\"");
        let mut l = String::new();
        csv_cell(&mut l, "plain");
        assert_eq!(l, "plain");
        // A line break from the capture is escaped, never raw.
        let mut l = String::new();
        csv_cell(&mut l, "x\ny\x1b");
        assert_eq!(l, "x\\ny\\x1b");
    }

    #[test]
    fn payload_modes_rewrite_the_byte_fields() {
        let mut f = Map::new();
        f.insert("payload_text".into(), Value::from("hi"));
        f.insert("topic".into(), Value::from("t"));
        let hex = payload_fields(&f, PayloadMode::Hex);
        assert_eq!(hex.get("payload_hex"), Some(&Value::from("6869")));
        assert!(hex.get("payload_text").is_none());
        let b64 = payload_fields(&f, PayloadMode::Base64);
        assert_eq!(b64.get("payload_base64"), Some(&Value::from("aGk=")));
        let none = payload_fields(&f, PayloadMode::None);
        assert_eq!(none.len(), 1);
        assert_eq!(none.get("topic"), Some(&Value::from("t")));
        let mut g = Map::new();
        g.insert("body_hex".into(), Value::from("00ff"));
        let b = payload_fields(&g, PayloadMode::Base64);
        assert_eq!(b.get("body_base64"), Some(&Value::from("AP8=")));
    }
}
