//! `--format csv`: the JSON records as CSV rows (RFC 4180: quoted where
//! needed, CRLF line ends), under a header row of the JSON field names.
//!
//! A row holds the same values as the JSON record: each record is written
//! by the one JSON writer ([`super::json`]) and its fields laid out in the
//! columns of its type. Nested objects are flattened with dotted names
//! (`client_to_server.frames`, `tls.sni`), lists are joined with `;`
//! (`packets` `12;40`, `findings` `tcp.gap;frame.client-unmasked`),
//! booleans are `true`/`false`, numbers are written as in the JSON, and a
//! field that is null or that the record leaves out is an empty cell.
//!
//! Values are written as they are, control characters included (CSV
//! quotes them), so a program reads back exactly what the JSON holds;
//! written to a terminal, control characters are escaped (`\x1b`), as
//! everywhere in the program's output.

use std::io::{self, Write};
use std::ops::ControlFlow;

use serde_json::{Map, Value};

use super::json::{JsonSink, Select};
use super::{Out, PayloadMode, escape};
use crate::event::{Event, Sink};

/// The record type of a CSV output and its columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvRecord {
    Frame,
    Message,
    Conn,
    Finding,
    Push,
}

impl CsvRecord {
    /// The `type` of the JSON records laid out.
    pub fn type_name(self) -> &'static str {
        match self {
            CsvRecord::Frame => "frame",
            CsvRecord::Message => "message",
            CsvRecord::Conn => "conn",
            CsvRecord::Finding => "finding",
            CsvRecord::Push => "push",
        }
    }

    /// The header: the JSON field names of this record type, in the JSON's
    /// order (the payload fields `payload` gives).
    pub fn columns(self, payload: PayloadMode) -> Vec<&'static str> {
        let mut c = vec!["type", "capture"];
        match self {
            CsvRecord::Frame => {
                c.extend([
                    "conn",
                    "client",
                    "server",
                    "carrier",
                    "stream",
                    "from",
                    "packet",
                    "ts",
                    "fin",
                    "rsv1",
                    "rsv2",
                    "rsv3",
                    "opcode",
                    "opcode_name",
                    "masked",
                    "mask_key",
                    "payload_len",
                ]);
                match payload {
                    PayloadMode::None => {}
                    PayloadMode::Text => c.extend(["payload_hex", "payload_text", "payload_lossy"]),
                    PayloadMode::Hex => c.push("payload_hex"),
                    PayloadMode::Base64 => c.push("payload_base64"),
                }
                if payload != PayloadMode::None {
                    c.push("payload_incomplete");
                }
                c.extend([
                    "close_code",
                    "close_reason",
                    "first_packet",
                    "segments",
                    "findings",
                ]);
            }
            CsvRecord::Message => {
                c.extend([
                    "conn",
                    "client",
                    "server",
                    "carrier",
                    "stream",
                    "from",
                    "opcode",
                    "opcode_name",
                    "frames",
                    "packets",
                    "ts",
                    "compressed",
                    "wire_len",
                    "len",
                ]);
                match payload {
                    PayloadMode::None => {}
                    PayloadMode::Text => c.extend(["text", "data_hex"]),
                    PayloadMode::Hex => c.push("data_hex"),
                    PayloadMode::Base64 => c.push("data_base64"),
                }
                if payload != PayloadMode::None {
                    c.push("data_incomplete");
                }
                c.extend(["undecodable", "findings"]);
            }
            CsvRecord::Conn => c.extend([
                "conn",
                "client",
                "server",
                "packets",
                "first_ts",
                "last_ts",
                "duration",
                "handshake",
                "path",
                "status",
                "accept_ok",
                "subprotocol",
                "extensions",
                "tls.version",
                "tls.cipher",
                "tls.sni",
                "tls.alpn",
                "tls.decrypted",
                "client_to_server.frames",
                "client_to_server.messages",
                "client_to_server.payload_bytes",
                "client_to_server.close_code",
                "client_to_server.close_reason",
                "server_to_client.frames",
                "server_to_client.messages",
                "server_to_client.payload_bytes",
                "server_to_client.close_code",
                "server_to_client.close_reason",
                "findings",
            ]),
            CsvRecord::Finding => c.extend([
                "code", "severity", "conn", "stream", "from", "packet", "offset", "message",
            ]),
            CsvRecord::Push => c.extend([
                "technique",
                "client",
                "server",
                "method",
                "host",
                "path",
                "conns",
                "requests",
                "events",
                "first_ts",
                "last_ts",
                "mean_interval",
                "mean_hold",
                "events_per_request",
                "reconnects",
                "last_event_ids",
                "open",
                "rtt",
                "hold_threshold",
                "reason",
            ]),
        }
        c
    }
}

/// Lays a record's fields into the cells of their columns (nested objects
/// by dotted names); fields with no column are left out.
fn fill(
    index: &foldhash::HashMap<&'static str, usize>,
    prefix: &str,
    obj: &Map<String, Value>,
    cells: &mut [String],
) {
    for (k, v) in obj {
        let name = if prefix.is_empty() {
            std::borrow::Cow::Borrowed(k.as_str())
        } else {
            std::borrow::Cow::Owned(format!("{prefix}.{k}"))
        };
        match v {
            Value::Object(o) => fill(index, &name, o, cells),
            v => {
                if let Some(c) = index.get(name.as_ref()).and_then(|&i| cells.get_mut(i)) {
                    *c = cell(v);
                }
            }
        }
    }
}

/// One value as a cell: strings as they are, numbers and booleans as in
/// the JSON, null empty, lists joined with `;`.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(";"),
        Value::Object(_) => v.to_string(),
        Value::Bool(_) | Value::Number(_) => v.to_string(),
    }
}

/// Writes CSV rows of one record type from its JSON lines.
pub struct CsvRows<W: Write> {
    pub out: Out<W>,
    record: CsvRecord,
    columns: Vec<&'static str>,
    /// Each column's place.
    index: foldhash::HashMap<&'static str, usize>,
    escape: bool,
    /// One row, reused.
    buf: Vec<u8>,
}

impl<W: Write> CsvRows<W> {
    /// Writes the header row at once (an output with no record still says
    /// what its columns are). With `escape`, control characters in cells
    /// are escaped (for a terminal).
    pub fn new(w: W, record: CsvRecord, payload: PayloadMode, escape: bool) -> Self {
        let mut rows = Self::continuing(w, record, payload, escape);
        let header = rows.columns.clone();
        rows.write_row(header.iter().copied());
        rows
    }

    /// Without the header row: the rows of a later part of an output that
    /// has it (the next capture's, written apart).
    pub fn continuing(w: W, record: CsvRecord, payload: PayloadMode, escape: bool) -> Self {
        let columns = record.columns(payload);
        let index = columns.iter().enumerate().map(|(i, &c)| (c, i)).collect();
        CsvRows {
            out: Out::new(w),
            record,
            columns,
            index,
            escape,
            buf: Vec::new(),
        }
    }

    fn write_row<'s>(&mut self, cells: impl IntoIterator<Item = &'s str>) {
        let cells: Vec<std::borrow::Cow<'s, str>> = cells
            .into_iter()
            .map(|c| {
                if self.escape {
                    escape::terminal(c)
                } else {
                    std::borrow::Cow::Borrowed(c)
                }
            })
            .collect();
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        let res = {
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .buffer_capacity(1024)
                .from_writer(&mut buf);
            w.write_record(cells.iter().map(|c| c.as_bytes()))
                .and_then(|()| w.flush().map_err(csv::Error::from))
        };
        match res {
            Ok(()) => self.out.write_all(&buf),
            Err(e) => {
                if self.out.error.is_none() {
                    self.out.error = Some(io::Error::other(e.to_string()));
                }
            }
        }
        self.buf = buf;
    }

    /// One JSON record (a line of the JSON writer); records of another
    /// type are skipped.
    pub fn json_line(&mut self, line: &[u8]) {
        let Ok(Value::Object(rec)) = serde_json::from_slice::<Value>(line) else {
            return;
        };
        if rec.get("type").and_then(Value::as_str) != Some(self.record.type_name()) {
            return;
        }
        let mut cells = vec![String::new(); self.columns.len()];
        fill(&self.index, "", &rec, &mut cells);
        self.write_row(cells.iter().map(String::as_str));
    }

    /// Every line of a block of JSON lines.
    pub fn json_lines(&mut self, lines: &[u8]) {
        for l in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            self.json_line(l);
        }
    }
}

/// The pipeline's records as CSV: the JSON sink's records, re-laid as rows.
pub struct CsvSink<W: Write> {
    json: JsonSink<Vec<u8>>,
    pub rows: CsvRows<W>,
}

impl<W: Write> CsvSink<W> {
    /// `record` is `Frame`, `Message` or `Conn`.
    pub fn new(w: W, record: CsvRecord, payload: PayloadMode, escape: bool) -> Self {
        Self::with_rows(CsvRows::new(w, record, payload, escape), record, payload)
    }

    /// Without the header row (see [`CsvRows::continuing`]).
    pub fn continuing(w: W, record: CsvRecord, payload: PayloadMode, escape: bool) -> Self {
        Self::with_rows(
            CsvRows::continuing(w, record, payload, escape),
            record,
            payload,
        )
    }

    fn with_rows(rows: CsvRows<W>, record: CsvRecord, payload: PayloadMode) -> Self {
        let select = Select {
            frames: record == CsvRecord::Frame,
            messages: record == CsvRecord::Message,
            conns: record == CsvRecord::Conn,
            ..Select::default()
        };
        CsvSink {
            json: JsonSink::new(Vec::new(), select, payload),
            rows,
        }
    }

    /// Names the capture in every record.
    pub fn set_capture(&mut self, name: Option<String>) {
        self.json.set_capture(name);
    }

    fn drain(&mut self) {
        let buf = std::mem::take(&mut self.json.out.w);
        if !buf.is_empty() {
            self.rows.json_lines(&buf);
        }
        let mut buf = buf;
        buf.clear();
        self.json.out.w = buf;
    }
}

impl<W: Write> Sink for CsvSink<W> {
    fn event(&mut self, ev: Event<'_>) -> ControlFlow<()> {
        let flow = self.json.event(ev);
        self.drain();
        if flow.is_break() || !self.rows.out.ok() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    fn withheld(&mut self, ev: Event<'_>) {
        self.json.withheld(ev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_quote_and_flatten() {
        let mut rows = CsvRows::new(Vec::new(), CsvRecord::Finding, PayloadMode::None, false);
        rows.json_line(
            br#"{"type":"finding","capture":"a,b","code":"tcp.gap","severity":"warning","conn":3,"from":null,"packet":7,"message":"say \"hi\"\nthen\u001b[2J"}"#,
        );
        rows.json_line(br#"{"type":"summary","errors":0}"#);
        let text = String::from_utf8(rows.out.w).unwrap();
        assert_eq!(
            text,
            "type,capture,code,severity,conn,stream,from,packet,offset,message\r\n\
             finding,\"a,b\",tcp.gap,warning,3,,,7,,\"say \"\"hi\"\"\nthen\u{1b}[2J\"\r\n"
        );
        let mut rows = CsvRows::new(Vec::new(), CsvRecord::Conn, PayloadMode::None, true);
        rows.json_line(
            br#"{"type":"conn","conn":1,"packets":[4,9],"tls":null,"client_to_server":{"frames":2,"close_reason":"\u001b"},"findings":["a","b"]}"#,
        );
        let text = String::from_utf8(rows.out.w).unwrap();
        let row = text.lines().nth(1).unwrap();
        assert!(row.starts_with("conn,,1,,,4;9,"), "{row}");
        assert!(row.contains(",2,,,,\\x1b,"), "{row}");
        assert!(row.ends_with(",a;b"), "{row}");
    }
}
